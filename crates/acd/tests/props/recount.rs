//! Checks of the ACD's read side against the event log and the model: statistics
//! recounted from events, caller outcomes, and snapshots.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lifeline_acd::{Acd, CallerId, EventKind, QueueEvent, QueueSettings};

use crate::model::{Model, Phase};

/// Recounts each queue's statistics from the log and compares them with `queues()`.
pub fn check_statistics(
    acd: &Acd,
    log: &[QueueEvent],
    settings: &BTreeMap<String, QueueSettings>,
    now: Instant,
) -> Result<(), String> {
    #[derive(Default)]
    struct Count {
        offered: u64,
        answered: u64,
        abandoned: u64,
        timed_out: u64,
        exited: u64,
        completed: u64,
        in_target: u64,
        hold: Duration,
        talk: Duration,
        estimate: Option<Duration>,
    }
    let mut counts: BTreeMap<&str, Count> = BTreeMap::new();
    let mut entered: BTreeMap<CallerId, Instant> = BTreeMap::new();
    let mut connected: BTreeMap<CallerId, Instant> = BTreeMap::new();
    for e in log {
        let c = counts.entry(e.queue.as_str()).or_default();
        let caller = e.caller.unwrap_or_default();
        match e.kind {
            EventKind::EnterQueue => {
                c.offered += 1;
                entered.insert(caller, e.at);
            }
            EventKind::Connect => {
                let hold = e.at - entered[&caller];
                c.answered += 1;
                c.hold += hold;
                c.in_target += u64::from(hold <= settings[&e.queue].service_level);
                c.estimate = Some(
                    c.estimate
                        .map_or(hold, |old| old.mul_f64(0.8) + hold.mul_f64(0.2)),
                );
                connected.insert(caller, e.at);
            }
            EventKind::CompleteCaller | EventKind::CompleteAgent | EventKind::BlindTransfer => {
                c.completed += 1;
                c.talk += e.at - connected[&caller];
            }
            EventKind::Abandon => c.abandoned += 1,
            EventKind::ExitWithTimeout => c.timed_out += 1,
            EventKind::ExitEmpty | EventKind::ExitWithKey | EventKind::ExitOverflow => {
                c.exited += 1
            }
            _ => {}
        }
    }
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (a, b) => a.is_none() && b.is_none(),
    };
    let pct = |part: u64, whole: u64| (whole > 0).then(|| part as f64 * 100.0 / whole as f64);
    let mean = |total: Duration, n: u64| (n > 0).then(|| total.as_secs_f64() / n as f64);
    for q in acd.queues(now) {
        let c = counts.remove(q.name.as_str()).unwrap_or_default();
        let ok = q.offered == c.offered
            && q.answered == c.answered
            && q.abandoned == c.abandoned
            && q.timed_out == c.timed_out
            && q.exited == c.exited
            && close(
                q.service_level_pct,
                pct(c.in_target, c.answered + c.abandoned + c.timed_out),
            )
            && close(q.abandon_rate_pct, pct(c.abandoned, c.offered))
            && close(q.asa_secs, mean(c.hold, c.answered))
            && close(q.aht_secs, mean(c.talk, c.completed))
            && close(q.estimated_wait_secs, c.estimate.map(|d| d.as_secs_f64()));
        if !ok {
            return Err(format!(
                "statistics of {} differ from the log: {q:?}",
                q.name
            ));
        }
    }
    Ok(())
}

/// Each caller's events follow ENTERQUEUE → (CONNECT → completion | exit), with an
/// overflow exit followed at once by ENTERQUEUE in the next queue, and nothing after a
/// terminal event.
pub fn check_outcomes(log: &[QueueEvent]) -> Result<(), String> {
    #[derive(Debug, Clone, PartialEq)]
    enum Stay {
        In(String),
        Connected(String),
        Moving,
        Finished,
    }
    let mut stays: BTreeMap<CallerId, Stay> = BTreeMap::new();
    for e in log.iter().filter(|e| e.caller.is_some()) {
        let caller = e.caller.unwrap_or_default();
        let stay = stays.get(&caller).cloned();
        let next = match (e.kind, stay) {
            (EventKind::EnterQueue, None | Some(Stay::Moving)) => Stay::In(e.queue.clone()),
            (EventKind::Connect, Some(Stay::In(q))) if q == e.queue => Stay::Connected(q),
            (
                EventKind::CompleteCaller | EventKind::CompleteAgent | EventKind::BlindTransfer,
                Some(Stay::Connected(q)),
            ) if q == e.queue => Stay::Finished,
            (
                EventKind::Abandon
                | EventKind::ExitWithTimeout
                | EventKind::ExitEmpty
                | EventKind::ExitWithKey,
                Some(Stay::In(q)),
            ) if q == e.queue => Stay::Finished,
            (EventKind::ExitOverflow, Some(Stay::In(q))) if q == e.queue => Stay::Moving,
            (
                EventKind::RingNoAnswer | EventKind::RingCanceled | EventKind::CallbackRequest,
                Some(Stay::In(q)),
            ) if q == e.queue => Stay::In(q),
            // A ringall offer cancelled right after another agent answered.
            (EventKind::RingCanceled, Some(Stay::Connected(q))) if q == e.queue => {
                Stay::Connected(q)
            }
            (kind, stay) => {
                return Err(format!("caller {caller}: {} while {stay:?}", kind.as_str()));
            }
        };
        stays.insert(caller, next);
    }
    match stays.iter().find(|(_, s)| **s == Stay::Moving) {
        Some((caller, _)) => Err(format!("caller {caller} overflowed into nowhere")),
        None => Ok(()),
    }
}

/// Agent and queue snapshots agree with the model.
pub fn check_snapshots(acd: &Acd, model: &Model, now: Instant) -> Result<(), String> {
    for snapshot in acd.agents(now) {
        let a = &model.agents[&snapshot.id];
        let status = match (a.logged_in, a.available) {
            (false, _) => "logged_out",
            (true, true) => "available",
            (true, false) => "break",
        };
        let state = if a.offer.is_some() {
            "ringing"
        } else if a.on_call.is_some() {
            "on_call"
        } else if a.wrap_until.is_some_and(|w| w > now) {
            "wrap_up"
        } else {
            "idle"
        };
        let caller = a.offer.map(|o| model.offers[&o].caller).or(a.on_call);
        if (snapshot.status, snapshot.state, snapshot.caller) != (status, state, caller) {
            return Err(format!(
                "agent {snapshot:?} but model says {status} {state} {caller:?}"
            ));
        }
    }
    for q in acd.queues(now) {
        let in_queue = model
            .callers
            .values()
            .filter(|c| c.queue == q.name && c.in_queue());
        let waiting = in_queue.clone().count();
        let callbacks = in_queue.filter(|c| c.callback).count();
        let mut members: Vec<&str> = model
            .members
            .keys()
            .filter(|(queue, _)| *queue == q.name)
            .map(|(_, a)| a.as_str())
            .collect();
        let mut listed: Vec<&str> = q.members.iter().map(String::as_str).collect();
        members.sort_unstable();
        listed.sort_unstable();
        if (q.waiting, q.callbacks_pending, &listed) != (waiting, callbacks, &members) {
            return Err(format!(
                "queue {q:?} but model has {waiting} waiting, {callbacks} callbacks"
            ));
        }
    }
    let connected = model
        .callers
        .values()
        .filter(|c| matches!(c.phase, Phase::Connected(_)))
        .count();
    let on_call = acd
        .agents(now)
        .iter()
        .filter(|a| a.state == "on_call")
        .count();
    if connected != on_call {
        return Err(format!(
            "{connected} callers connected but {on_call} agents on call"
        ));
    }
    Ok(())
}
