//! Everything that happens by the clock: ring timeouts, wrap-up ends, queue timeouts,
//! tier and penalty widening steps, and periodic announcements.
//!
//! One binary heap holds every deadline. Nothing is ever removed from it: each entry
//! is checked on expiry against the deadline its owner holds now (the offer's, the
//! agent's wrap-up, the caller's `timeout_at` / `widen_at` / `announce_at`), and
//! skipped if they differ. [`Acd::poll_timeout`] may therefore wake the engine for a
//! deadline that turns out stale; [`Acd::handle_timeout`] then just clears it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::acd::Acd;
use crate::agent::{Activity, AgentIx, QueueIx};
use crate::caller::{Entry, Phase};
use crate::events::Output;
use crate::queue::Queue;
use crate::settings::steps_elapsed;
use crate::{CallerId, OfferId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Ring(OfferId),
    WrapUp(AgentIx),
    Caller(CallerId, CallerTimer),
}

/// A queued caller's deadlines, each held in its [`Entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CallerTimer {
    /// The queue timeout (`Entry::timeout_at`).
    Timeout,
    /// The next tier or penalty step (`Entry::widen_at`).
    Widen,
    /// The next announcement (`Entry::announce_at`).
    Announce,
}

impl Entry {
    fn deadline(&mut self, timer: CallerTimer) -> &mut Option<Instant> {
        match timer {
            CallerTimer::Timeout => &mut self.timeout_at,
            CallerTimer::Widen => &mut self.widen_at,
            CallerTimer::Announce => &mut self.announce_at,
        }
    }
}

/// The deadline heap.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
}

impl Timers {
    pub(crate) fn ring(&mut self, at: Instant, offer: OfferId) {
        self.push(at, Timer::Ring(offer));
    }

    pub(crate) fn wrap_up(&mut self, at: Instant, agent: AgentIx) {
        self.push(at, Timer::WrapUp(agent));
    }

    fn push(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(due)| due)
    }
}

impl Acd {
    /// Runs everything due at or before `now`. Call it when [`Acd::poll_timeout`] is
    /// reached (calling it early or often is harmless); `now` must not go backwards.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Ring(offer) => {
                    if self.offers.get(&offer).is_some_and(|o| o.deadline == at) {
                        self.ring_timeout(now, offer);
                    }
                }
                Timer::WrapUp(ai) => {
                    if self.agents[ai].activity == (Activity::WrapUp { until: at }) {
                        self.set_activity(now, ai, Activity::Idle);
                    }
                }
                Timer::Caller(caller, kind) => {
                    let due = self
                        .callers
                        .get_mut(&caller)
                        .is_some_and(|e| *e.deadline(kind) == Some(at));
                    if due {
                        match kind {
                            CallerTimer::Timeout => self.time_out(now, caller),
                            CallerTimer::Widen => self.widen(now, caller),
                            CallerTimer::Announce => self.announce(now, caller),
                        }
                    }
                }
            }
        }
        self.settle(now);
    }

    /// When to call [`Acd::handle_timeout`] next: the earliest deadline, or at once
    /// (the latest `now` seen) when a change made without `now` is still to settle.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let pending = self.last_now.filter(|_| self.unsettled());
        match (self.timers.next(), pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A tier or penalty step passed: the caller may be eligible for more agents.
    fn widen(&mut self, now: Instant, caller: CallerId) {
        let Some(entry) = self.callers.get(&caller) else {
            return;
        };
        let next = next_widen(&self.queues[entry.queue], entry, now);
        let waiting = entry.phase == Phase::Waiting;
        self.set_caller_timer(caller, CallerTimer::Widen, next);
        if waiting {
            self.dirty_callers.push(caller);
        }
    }

    fn announce(&mut self, now: Instant, caller: CallerId) {
        let Some(entry) = self.callers.get(&caller) else {
            return;
        };
        let queue = &self.queues[entry.queue];
        let next = queue
            .settings
            .announce_every
            .and_then(|every| next_step(entry.entered, entry.waited(now), every));
        // Ringing callers hear the agent being rung, not an announcement.
        if entry.phase == Phase::Waiting {
            self.outputs.push_back(Output::Announce {
                caller,
                position: queue.position(&entry.place),
                estimated_wait: queue.stats.estimated_wait,
            });
        }
        self.set_caller_timer(caller, CallerTimer::Announce, next);
    }

    /// Recomputes the timers of every caller in `qi` (settings or members changed),
    /// and lets its idle members look for callers again.
    pub(crate) fn retime_queue(&mut self, now: Instant, qi: QueueIx) {
        let queue = &self.queues[qi];
        let callers: Vec<CallerId> = queue
            .waiting
            .iter()
            .chain(&queue.ringing)
            .map(|p| p.caller)
            .collect();
        for caller in callers {
            self.retime_caller(now, caller);
        }
        self.dirty_agents
            .extend(self.queues[qi].members.iter().copied());
    }

    /// Sets a queued caller's timeout, widening and announcement deadlines from its
    /// queue's settings. Callback entries have no timeout and no announcements.
    pub(crate) fn retime_caller(&mut self, now: Instant, caller: CallerId) {
        let Some(entry) = self.callers.get(&caller) else {
            return;
        };
        let settings = &self.queues[entry.queue].settings;
        let on_hold = entry.on_hold();
        let timeout = settings
            .timeout
            .filter(|_| on_hold)
            .and_then(|timeout| entry.entered.checked_add(timeout));
        let announce = settings
            .announce_every
            .filter(|_| on_hold)
            .and_then(|every| next_step(entry.entered, entry.waited(now), every));
        let widen = next_widen(&self.queues[entry.queue], entry, now);
        self.set_caller_timer(caller, CallerTimer::Timeout, timeout);
        self.set_caller_timer(caller, CallerTimer::Announce, announce);
        self.set_caller_timer(caller, CallerTimer::Widen, widen);
    }

    /// Sets one of a caller's deadlines (`None` clears it) and arms it.
    fn set_caller_timer(&mut self, caller: CallerId, timer: CallerTimer, at: Option<Instant>) {
        let Some(entry) = self.callers.get_mut(&caller) else {
            return;
        };
        *entry.deadline(timer) = at;
        if let Some(at) = at {
            self.timers.push(at, Timer::Caller(caller, timer));
        }
    }
}

/// The next tier or penalty step for a caller, while a step can still admit a member.
fn next_widen(queue: &Queue, entry: &Entry, now: Instant) -> Option<Instant> {
    let waited = entry.waited(now);
    let staffing = &queue.staffing;
    let tier = queue
        .settings
        .tier_wait
        .filter(|&step| steps_elapsed(waited, step) < u128::from(staffing.max_tier))
        .and_then(|step| next_step(entry.entered, waited, step));
    let penalty = queue
        .settings
        .penalty_widen
        .filter(|widen| widen.max_penalty(waited) < staffing.max_penalty)
        .and_then(|widen| next_step(entry.entered, waited, widen.every));
    match (tier, penalty) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first `start + k × period` after `start + waited`.
fn next_step(start: Instant, waited: Duration, period: Duration) -> Option<Instant> {
    if period.is_zero() {
        return None;
    }
    let k = u32::try_from(steps_elapsed(waited, period) + 1).ok()?;
    start.checked_add(period.checked_mul(k)?)
}
