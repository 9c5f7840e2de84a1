//! The queue strategies as one pure decision: given the eligible idle agents for a
//! caller (in member order), which one rings, or all of them. Eligibility (status,
//! state, skills, tiers, penalties) is decided before; this module only ranks.
//!
//! Ties go to the earlier member, so every strategy except `random` / `wrandom` is
//! deterministic from its inputs, and those two draw from the ACD's seeded generator.

use std::time::Instant;

use crate::agent::AgentIx;
use crate::rng::Rng;
use crate::settings::Strategy;

/// An agent that may take the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) agent: AgentIx,
    /// Position in the queue's member order.
    pub(crate) order: usize,
    pub(crate) penalty: u32,
    pub(crate) last_call_end: Option<Instant>,
    /// Calls answered in this queue.
    pub(crate) answered: u64,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Ring every candidate.
    All,
    /// Ring this one (an index into the candidates).
    One(usize),
}

/// Chooses among `candidates` (non-empty, in member order). `rr_last` is the member
/// order of the agent this queue offered last, if it is still a member.
pub(crate) fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    rr_last: Option<usize>,
    rng: &mut Rng,
) -> Pick {
    debug_assert!(!candidates.is_empty());
    match strategy {
        Strategy::RingAll => Pick::All,
        Strategy::Linear => Pick::One(0),
        Strategy::RrMemory => {
            let next = rr_last.and_then(|last| candidates.iter().position(|c| c.order > last));
            Pick::One(next.unwrap_or(0))
        }
        // `None` (never had a call) sorts first.
        Strategy::LeastRecent => Pick::One(first_min(candidates.iter().map(|c| c.last_call_end))),
        Strategy::FewestCalls => Pick::One(first_min(candidates.iter().map(|c| c.answered))),
        Strategy::Random => Pick::One(rng.below(candidates.len())),
        Strategy::WRandom => {
            let weight = |c: &Candidate| 1.0 / (1.0 + f64::from(c.penalty));
            let total: f64 = candidates.iter().map(weight).sum();
            let mut draw = rng.unit() * total;
            let chosen = candidates.iter().position(|c| {
                draw -= weight(c);
                draw < 0.0
            });
            // Rounding can leave a sliver past the last weight.
            Pick::One(chosen.unwrap_or(candidates.len() - 1))
        }
    }
}

/// The index of the smallest key; ties go to the first (member order).
fn first_min<K: Ord>(keys: impl Iterator<Item = K>) -> usize {
    keys.enumerate()
        .min_by(|a, b| a.1.cmp(&b.1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;
