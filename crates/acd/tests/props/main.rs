//! Property test: random sequences of everything the engine can do to the ACD (joins,
//! hang-ups, keys, callbacks, answers, failures, call ends, transfers, status and
//! membership changes, time passing), replayed through an independent model that
//! checks after every output and every step:
//!
//! - an agent is offered only when available, idle and past wrap-up, one caller at a
//!   time, and only callers it is eligible for;
//! - a caller rings one agent at a time except in ringall queues;
//! - no better eligible caller (priority, queue weight, arrival) was waiting for the
//!   agent when an offer was made, across all its queues;
//! - at rest, no idle available agent could take a waiting caller;
//! - every caller that entered ends in exactly one terminal event per queue stay, or is
//!   still waiting, ringing or connected; snapshots agree with the model;
//! - `queues()` statistics equal a recount of the emitted events.

#![allow(clippy::unwrap_used)]

mod model;
mod recount;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lifeline_acd::{
    Acd, AgentSettings, EmptyRule, EndedBy, Join, JoinError, Member, OfferFailure, PenaltyWiden,
    QueueSettings, Status, Strategy as Routing,
};
use model::{Model, Phase};
use proptest::prelude::*;

const SKILLS: [&str; 3] = ["fr", "de", "it"];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn queues() -> BTreeMap<String, QueueSettings> {
    let ra = QueueSettings {
        strategy: Routing::RingAll,
        timeout: Some(secs(90)),
        ..QueueSettings::default()
    };
    let li = QueueSettings {
        strategy: Routing::Linear,
        priority: 5,
        timeout: Some(secs(120)),
        overflow: Some("ra".into()),
        max_len: Some(8),
        tier_wait: Some(secs(10)),
        penalty_widen: Some(PenaltyWiden {
            every: secs(15),
            step: 1,
            start: 0,
        }),
        announce_every: Some(secs(20)),
        exit_key: Some('0'),
        leave_empty: EmptyRule::NoAvailable,
        ..QueueSettings::default()
    };
    let wr = QueueSettings {
        strategy: Routing::WRandom,
        priority: 2,
        timeout: Some(secs(60)),
        voicemail_on_timeout: true,
        join_empty: EmptyRule::NoAvailable,
        leave_empty: EmptyRule::NoMembers,
        ring_timeout: Some(secs(8)),
        service_level: secs(10),
        ..QueueSettings::default()
    };
    let rr = QueueSettings {
        strategy: Routing::RrMemory,
        exit_key: Some('0'),
        tier_wait: Some(secs(5)),
        ..QueueSettings::default()
    };
    [("ra", ra), ("li", li), ("wr", wr), ("rr", rr)]
        .into_iter()
        .map(|(n, s)| (n.to_owned(), s))
        .collect()
}

fn agents() -> BTreeMap<String, AgentSettings> {
    let table: [(&str, &[&str], u64, Option<u32>); 6] = [
        ("a0", &["fr"], 0, None),
        ("a1", &["fr", "de"], 5, Some(3)),
        ("a2", &[], 20, None),
        ("a3", &["de"], 0, Some(2)),
        ("a4", &["fr", "de", "it"], 10, None),
        ("a5", &["it"], 0, None),
    ];
    table
        .into_iter()
        .map(|(id, skills, wrap, max)| {
            let settings = AgentSettings {
                wrap_up: secs(wrap),
                ring_timeout: secs(if id == "a2" { 10 } else { 15 }),
                max_no_answer: max,
                skills: skills.iter().map(|s| (s.to_string(), 1)).collect(),
            };
            (id.to_owned(), settings)
        })
        .collect()
}

/// Each agent's possible memberships: (queue, penalty, tier).
fn memberships(agent: usize) -> &'static [(&'static str, u32, u32)] {
    const TABLE: [&[(&str, u32, u32)]; 6] = [
        &[("ra", 0, 0), ("li", 0, 0)],
        &[("li", 1, 1), ("wr", 0, 0)],
        &[("li", 2, 2), ("rr", 0, 0), ("ra", 0, 0)],
        &[("wr", 3, 0), ("rr", 1, 1)],
        &[("li", 0, 1), ("wr", 1, 0), ("rr", 0, 0)],
        &[("ra", 0, 0), ("rr", 2, 0)],
    ];
    TABLE[agent]
}

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        queue: usize,
        priority: u8,
        skills: u8,
    },
    Abandon(usize),
    Key(usize, bool),
    Callback(usize),
    Answer(usize),
    Stale(usize),
    Fail(usize, u8),
    End(usize, bool),
    Transfer(usize),
    Status(usize, u8),
    Member(usize, usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, prop_oneof![4 => 0..3u8, 1 => Just(255u8)], prop_oneof![3 => Just(0u8), 1 => 0..8u8])
            .prop_map(|(queue, priority, skills)| Op::Enqueue { queue, priority, skills }),
        2 => any::<usize>().prop_map(Op::Abandon),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, right)| Op::Key(i, right)),
        1 => any::<usize>().prop_map(Op::Callback),
        6 => any::<usize>().prop_map(Op::Answer),
        1 => any::<usize>().prop_map(Op::Stale),
        2 => (any::<usize>(), 0..4u8).prop_map(|(i, why)| Op::Fail(i, why)),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(i, by)| Op::End(i, by)),
        1 => any::<usize>().prop_map(Op::Transfer),
        3 => (0..6usize, 0..3u8).prop_map(|(a, s)| Op::Status(a, s)),
        1 => (0..6usize, any::<usize>()).prop_map(|(a, k)| Op::Member(a, k)),
        6 => (0..40u64).prop_map(Op::Advance),
    ]
}

struct Run {
    acd: Acd,
    model: Model,
    now: Instant,
    next_caller: u64,
}

impl Run {
    fn new(seed: u64) -> Result<Run, String> {
        let mut run = Run {
            acd: Acd::new(seed),
            model: Model::new(queues(), agents()),
            now: Instant::now(),
            next_caller: 1,
        };
        for (name, settings) in queues() {
            run.acd.set_queue(&name, settings);
        }
        for (id, settings) in agents() {
            run.acd.set_agent(&id, settings);
        }
        for agent in 0..6 {
            for &(queue, penalty, tier) in memberships(agent) {
                let id = format!("a{agent}");
                run.acd
                    .add_member(run.now, queue, &id, Member { penalty, tier })
                    .map_err(|e| e.to_string())?;
            }
            run.acd
                .set_status(run.now, &format!("a{agent}"), Status::Available)
                .map_err(|e| e.to_string())?;
            run.drain()?;
        }
        Ok(run)
    }

    fn drain(&mut self) -> Result<(), String> {
        while let Some(out) = self.acd.poll_output() {
            self.model.apply(&out, self.now)?;
        }
        Ok(())
    }

    fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
        (!items.is_empty()).then(|| items[i % items.len()])
    }

    fn live_callers(&self) -> Vec<u64> {
        let live = |c: &&model::Caller| !matches!(c.phase, Phase::Done);
        self.model
            .callers
            .iter()
            .filter(|(_, c)| live(c))
            .map(|(&id, _)| id)
            .collect()
    }

    fn connected(&self) -> Vec<u64> {
        let on_call = |c: &model::Caller| matches!(c.phase, Phase::Connected(_));
        self.model
            .callers
            .iter()
            .filter(|(_, c)| on_call(c))
            .map(|(&id, _)| id)
            .collect()
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        let now = self.now;
        match *op {
            Op::Enqueue {
                queue,
                priority,
                skills,
            } => {
                let name = ["ra", "li", "wr", "rr"][queue];
                let caller = self.next_caller;
                self.next_caller += 1;
                let wanted: BTreeSet<String> = (0..3)
                    .filter(|b| skills & (1 << b) != 0)
                    .map(|b| SKILLS[b].to_owned())
                    .collect();
                let settings = &self.model.queues[name];
                let expected = if settings
                    .max_len
                    .is_some_and(|max| self.model.queue_len(name) >= max)
                {
                    Err(JoinError::Full)
                } else if self.model.empty_rule_holds(name, settings.join_empty) {
                    Err(JoinError::Empty)
                } else {
                    Ok(())
                };
                self.model.joining.insert(caller, wanted.clone());
                let join = Join {
                    priority,
                    skills: wanted.into_iter().collect(),
                };
                let got = self.acd.enqueue(now, caller, name, join).map(|_| ());
                if got != expected {
                    return Err(format!(
                        "enqueue {caller} in {name}: {got:?}, expected {expected:?}"
                    ));
                }
            }
            Op::Abandon(i) => {
                if let Some(caller) = Self::pick(&self.live_callers(), i) {
                    self.acd.abandon(now, caller);
                }
            }
            Op::Key(i, right) => {
                if let Some(caller) = Self::pick(&self.live_callers(), i) {
                    let key = if right { '0' } else { '5' };
                    let c = &self.model.callers[&caller];
                    let expected = c.on_hold() && self.model.queues[&c.queue].exit_key == Some(key);
                    if self.acd.exit_with_key(now, caller, key) != expected {
                        return Err(format!("exit_with_key({caller}, {key}) != {expected}"));
                    }
                }
            }
            Op::Callback(i) => {
                if let Some(caller) = Self::pick(&self.live_callers(), i) {
                    let expected = self.model.callers[&caller].on_hold();
                    if self.acd.request_callback(now, caller, "+10000").is_ok() != expected {
                        return Err(format!("request_callback({caller}) should be {expected}"));
                    }
                }
            }
            Op::Answer(i) => {
                let open: Vec<u64> = self.model.offers.keys().copied().collect();
                if let Some(offer) = Self::pick(&open, i) {
                    let connected = self
                        .acd
                        .offer_answered(now, offer)
                        .map_err(|e| e.to_string())?;
                    if connected.caller != self.model.offers[&offer].caller {
                        return Err("connected the wrong caller".into());
                    }
                }
            }
            Op::Stale(i) => {
                if let Some(offer) = Self::pick(&self.model.closed_offers, i)
                    && self.acd.offer_answered(now, offer).is_ok()
                {
                    return Err(format!("closed offer {offer} answered"));
                }
            }
            Op::Fail(i, why) => {
                let open: Vec<u64> = self.model.offers.keys().copied().collect();
                if let Some(offer) = Self::pick(&open, i) {
                    let why = [
                        OfferFailure::NoAnswer,
                        OfferFailure::Busy,
                        OfferFailure::Rejected,
                        OfferFailure::Unreachable,
                    ][usize::from(why)];
                    self.acd.offer_failed(now, offer, why);
                }
            }
            Op::End(i, by_agent) => {
                if let Some(caller) = Self::pick(&self.connected(), i) {
                    let by = if by_agent {
                        EndedBy::Agent
                    } else {
                        EndedBy::Caller
                    };
                    self.acd.call_ended(now, caller, by);
                }
            }
            Op::Transfer(i) => {
                if let Some(caller) = Self::pick(&self.connected(), i) {
                    self.acd.transferred(now, caller);
                }
            }
            Op::Status(agent, status) => {
                let status = match status {
                    0 => Status::LoggedOut,
                    1 => Status::Available,
                    _ => Status::Break {
                        reason: "coffee".into(),
                    },
                };
                self.acd
                    .set_status(now, &format!("a{agent}"), status)
                    .map_err(|e| e.to_string())?;
            }
            Op::Member(agent, k) => {
                let id = format!("a{agent}");
                let table = memberships(agent);
                let (queue, penalty, tier) = table[k % table.len()];
                let result = if self.model.is_member(queue, &id) {
                    self.acd.remove_member(now, queue, &id)
                } else {
                    self.acd
                        .add_member(now, queue, &id, Member { penalty, tier })
                };
                result.map_err(|e| e.to_string())?;
            }
            Op::Advance(by) => return self.advance(secs(by)),
        }
        self.drain()
    }

    /// Moves time on, stopping at every deadline the ACD asks for.
    fn advance(&mut self, by: Duration) -> Result<(), String> {
        let target = self.now + by;
        while let Some(deadline) = self.acd.poll_timeout().filter(|&d| d <= target) {
            self.now = self.now.max(deadline);
            self.acd.handle_timeout(self.now);
            self.drain()?;
            self.model.check_at_rest(self.now)?;
        }
        self.now = target;
        self.acd.handle_timeout(self.now);
        self.drain()
    }

    fn check(&self) -> Result<(), String> {
        self.model.check_at_rest(self.now)?;
        recount::check_snapshots(&self.acd, &self.model, self.now)?;
        recount::check_statistics(&self.acd, &self.model.log, &self.model.queues, self.now)?;
        recount::check_outcomes(&self.model.log)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn acd_keeps_its_invariants(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..250)) {
        let mut run = Run::new(seed).map_err(TestCaseError::fail)?;
        for (i, op) in ops.iter().enumerate() {
            run.step(op)
                .and_then(|()| run.check())
                .map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        }
    }
}
