//! Matching callers with agents, and the offers that result.
//!
//! **The rule.** An idle available agent takes the best caller it is eligible for over
//! all its queues: highest caller priority, then highest queue weight, then longest
//! in the ACD ([`Rank`]). When several idle agents may take the same caller, the
//! caller's queue strategy chooses among them (ringall rings them all).
//!
//! **How it stays cheap.** After every operation the ACD is at rest: no idle available
//! agent is eligible for a waiting caller. So only what an operation touched can
//! match: agents that became free or eligible for more (`dirty_agents`) and callers
//! that started or resumed waiting or crossed a tier or penalty step
//! (`dirty_callers`). [`Acd::dispatch`] turns each dirty agent into its best caller
//! (a walk from the head of each of its queues, stopping at the first eligible entry),
//! puts those and the dirty callers in one ordered set, and serves them best first.
//! Serving the best candidate first is what makes the two directions agree: when
//! caller C is served, every idle agent eligible for C has nothing better to take, so
//! the strategy may pick any of them. An agent not picked looks again.
//!
//! **Offers.** An offer ends in one of four ways: answered (`calls.rs`), failed as
//! reported by the engine (`RINGNOANSWER`), timed out (`CancelOffer` then
//! `RINGNOANSWER`), or withdrawn by the ACD (`CancelOffer` then `RINGCANCELED`). A
//! failed caller waits again in its place and avoids that agent once if another is
//! eligible.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::acd::{Acd, Line, Offer};
use crate::agent::{Activity, AgentIx};
use crate::caller::{OfferFailure, Phase};
use crate::events::{EventKind, Output};
use crate::settings::Strategy;
use crate::strategy::{Candidate, Pick, pick};
use crate::{CallerId, OfferId};

/// The shortest ring: a zero setting would have offers time out as they are made.
pub const MIN_RING_TIMEOUT: Duration = Duration::from_secs(1);

/// A caller's rank for an agent choosing across queues (smaller is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    priority: Reverse<u8>,
    queue_weight: Reverse<u8>,
    seq: u64,
    caller: CallerId,
}

impl Acd {
    /// Makes every match the last operation allowed (see the module documentation).
    pub(crate) fn dispatch(&mut self, now: Instant) {
        // Candidate callers, best first, with the dirty agents that chose each.
        let mut pending: BTreeMap<Rank, Vec<AgentIx>> = BTreeMap::new();
        for ai in std::mem::take(&mut self.dirty_agents) {
            self.look_for_caller(&mut pending, ai, now);
        }
        for caller in std::mem::take(&mut self.dirty_callers) {
            if let Some(rank) = self.waiting_rank(caller) {
                pending.entry(rank).or_default();
            }
        }
        while let Some((rank, agents)) = pending.pop_first() {
            self.serve(now, rank.caller);
            for ai in agents {
                self.look_for_caller(&mut pending, ai, now);
            }
        }
    }

    /// Adds an idle available agent's best caller to `pending`.
    fn look_for_caller(
        &self,
        pending: &mut BTreeMap<Rank, Vec<AgentIx>>,
        ai: AgentIx,
        now: Instant,
    ) {
        let agent = &self.agents[ai];
        if !agent.offerable() {
            return;
        }
        let mut best: Option<Rank> = None;
        for membership in &agent.memberships {
            let queue = &self.queues[membership.queue];
            let queue_weight = Reverse(queue.settings.priority);
            for place in &queue.waiting {
                let rank = Rank {
                    priority: place.priority,
                    queue_weight,
                    seq: place.seq,
                    caller: place.caller,
                };
                // Ranks only grow along a queue: nothing further can beat `best`.
                if best.is_some_and(|b| rank >= b) {
                    break;
                }
                let Some(entry) = self.callers.get(&place.caller) else {
                    continue;
                };
                if queue.admits(entry, agent, membership.member, now) {
                    best = Some(rank);
                    break;
                }
            }
        }
        if let Some(rank) = best {
            pending.entry(rank).or_default().push(ai);
        }
    }

    fn waiting_rank(&self, caller: CallerId) -> Option<Rank> {
        let entry = self.callers.get(&caller)?;
        if entry.phase != Phase::Waiting {
            return None;
        }
        Some(Rank {
            priority: entry.place.priority,
            queue_weight: Reverse(self.queues[entry.queue].settings.priority),
            seq: entry.place.seq,
            caller,
        })
    }

    /// Offers a waiting caller to the eligible idle agents of its queue that its
    /// strategy picks.
    fn serve(&mut self, now: Instant, caller: CallerId) {
        let Some(entry) = self
            .callers
            .get(&caller)
            .filter(|e| e.phase == Phase::Waiting)
        else {
            return;
        };
        let queue = &self.queues[entry.queue];
        let mut candidates: Vec<Candidate> = Vec::new();
        for (order, &ai) in queue.members.iter().enumerate() {
            let agent = &self.agents[ai];
            let Some(membership) = agent.membership(entry.queue) else {
                continue;
            };
            if agent.offerable() && queue.admits(entry, agent, membership.member, now) {
                candidates.push(Candidate {
                    agent: ai,
                    order,
                    penalty: membership.member.penalty,
                    last_call_end: agent.last_call_end,
                    answered: membership.answered,
                });
            }
        }
        if candidates.is_empty() {
            return;
        }
        let strategy = queue.settings.strategy;
        if strategy != Strategy::RingAll
            && candidates.len() > 1
            && let Some(avoid) = entry.avoid
        {
            candidates.retain(|c| c.agent != avoid);
        }
        let rr_last = queue
            .rr_last
            .and_then(|last| queue.members.iter().position(|&m| m == last));
        match pick(strategy, &candidates, rr_last, &mut self.rng) {
            Pick::All => {
                for candidate in candidates {
                    self.ring(now, caller, candidate.agent);
                }
            }
            Pick::One(i) => self.ring(now, caller, candidates[i].agent),
        }
    }

    /// Creates an offer of `caller` to agent `ai` and rings it.
    fn ring(&mut self, now: Instant, caller: CallerId, ai: AgentIx) {
        let Some(entry) = self.callers.get_mut(&caller) else {
            return;
        };
        let offer = self.next_offer;
        self.next_offer += 1;
        let qi = entry.queue;
        let queue = &mut self.queues[qi];
        match &mut entry.phase {
            Phase::Ringing { offers } => offers.push(offer),
            phase => {
                *phase = Phase::Ringing {
                    offers: vec![offer],
                };
                queue.waiting.remove(&entry.place);
                queue.ringing.insert(entry.place);
            }
        }
        entry.avoid = None;
        queue.rr_last = Some(ai);
        let agent = &self.agents[ai];
        let ring_timeout = queue
            .settings
            .ring_timeout
            .unwrap_or(agent.settings.ring_timeout);
        let deadline = now.checked_add(ring_timeout).unwrap_or(now);
        self.offers.insert(
            offer,
            Offer {
                caller,
                agent: ai,
                queue: qi,
                rung_at: now,
                deadline,
            },
        );
        self.timers.ring(deadline, offer);
        self.outputs.push_back(Output::Offer {
            offer,
            caller,
            agent: agent.id.clone(),
            queue: queue.name.clone(),
            waited: entry.waited(now),
            callback: entry.callback.clone(),
        });
        self.set_activity(now, ai, Activity::Ringing { offer });
    }

    /// Cancels an offer on the ACD's own account (`CancelOffer`, `RINGCANCELED`).
    pub(crate) fn withdraw_offer(&mut self, now: Instant, offer: OfferId) {
        self.outputs.push_back(Output::CancelOffer { offer });
        self.end_offer(now, offer, None);
    }

    /// Withdraws every offer out for `caller`; it is left waiting.
    pub(crate) fn withdraw_offers(&mut self, now: Instant, caller: CallerId) {
        if let Some(Phase::Ringing { offers }) = self.callers.get(&caller).map(|e| e.phase.clone())
        {
            for offer in offers {
                self.withdraw_offer(now, offer);
            }
        }
    }

    /// The engine reports an offer failed (`RINGNOANSWER`).
    pub(crate) fn fail_offer(&mut self, now: Instant, offer: OfferId, why: OfferFailure) {
        self.end_offer(now, offer, Some(why));
    }

    /// The ring timeout passed: cancel and count as unanswered.
    pub(crate) fn ring_timeout(&mut self, now: Instant, offer: OfferId) {
        self.outputs.push_back(Output::CancelOffer { offer });
        self.end_offer(now, offer, Some(OfferFailure::NoAnswer));
    }

    /// Settles an offer that was not answered: logs it, frees the agent, and puts the
    /// caller back to waiting when it has no other offer out. `failure` is `None` for
    /// a withdrawal.
    fn end_offer(&mut self, now: Instant, offer: OfferId, failure: Option<OfferFailure>) {
        let Some(o) = self.offers.remove(&offer) else {
            return;
        };
        let ring_ms = now
            .saturating_duration_since(o.rung_at)
            .as_millis()
            .to_string();
        let (kind, data) = match failure {
            Some(why) => (
                EventKind::RingNoAnswer,
                vec![ring_ms, why.as_str().to_owned()],
            ),
            None => (EventKind::RingCanceled, vec![ring_ms]),
        };
        let line = Line {
            kind,
            queue: o.queue,
            caller: Some(o.caller),
            agent: Some(o.agent),
            data,
        };
        self.log(now, line, Duration::ZERO);
        if let Some(entry) = self.callers.get_mut(&o.caller)
            && let Phase::Ringing { offers } = &mut entry.phase
        {
            offers.retain(|&id| id != offer);
            if offers.is_empty() {
                entry.phase = Phase::Waiting;
                if failure.is_some() {
                    entry.avoid = Some(o.agent);
                }
                let queue = &mut self.queues[o.queue];
                queue.ringing.remove(&entry.place);
                queue.waiting.insert(entry.place);
                self.dirty_callers.push(o.caller);
            }
        }
        if self.agents[o.agent].activity == (Activity::Ringing { offer }) {
            self.set_activity(now, o.agent, Activity::Idle);
        }
        if failure.is_some() {
            self.count_missed(now, o.agent);
        }
    }
}
