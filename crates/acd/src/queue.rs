//! One queue's live state: its members in configured order, its callers in order of
//! [`Place`] (two ordered sets: waiting for an offer, and ringing), and a summary of
//! its members' statuses ([`Staffing`]) that the empty rules and the tier rule read.
//!
//! The ordered sets make the decision path cheap at scale: the best caller of a queue
//! is the first waiting entry an agent is eligible for, usually the very first, and a
//! position is counted from whichever end of the sets is nearer.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::time::Instant;

use crate::agent::{Agent, AgentIx, QueueIx, Status};
use crate::caller::{Entry, Place};
use crate::settings::{EmptyRule, Member, QueueSettings, steps_elapsed};
use crate::stats::QueueStats;

/// Members' statuses, refreshed whenever a member's status or the membership changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Staffing {
    /// Members not logged out.
    pub(crate) logged_in: usize,
    /// Members available (logged in, not on break).
    pub(crate) available: usize,
    /// Distinct tiers with at least one available member, ascending.
    pub(crate) staffed_tiers: Vec<u32>,
    /// Highest member tier and penalty: waits past these widen nothing more.
    pub(crate) max_tier: u32,
    pub(crate) max_penalty: u32,
}

impl Staffing {
    /// The tier level that gates `tier`: how many lower tiers have someone available.
    /// Tiers with nobody available are skipped.
    pub(crate) fn level(&self, tier: u32) -> u32 {
        let below = self.staffed_tiers.partition_point(|&t| t < tier);
        u32::try_from(below).unwrap_or(u32::MAX)
    }

    /// Whether `rule` holds.
    pub(crate) fn holds(&self, rule: EmptyRule) -> bool {
        match rule {
            EmptyRule::Never => false,
            EmptyRule::NoMembers => self.logged_in == 0,
            EmptyRule::NoAvailable => self.available == 0,
        }
    }
}

/// One queue.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) name: String,
    pub(crate) settings: QueueSettings,
    /// Members in configured order (`linear` and `rrmemory` follow it).
    pub(crate) members: Vec<AgentIx>,
    /// Callers (and callback entries) waiting for an offer.
    pub(crate) waiting: BTreeSet<Place>,
    /// Callers with offers out.
    pub(crate) ringing: BTreeSet<Place>,
    /// Callback entries among `waiting` and `ringing`.
    pub(crate) callbacks: usize,
    /// The agent offered last (`rrmemory`).
    pub(crate) rr_last: Option<AgentIx>,
    pub(crate) staffing: Staffing,
    pub(crate) stats: QueueStats,
}

impl Queue {
    pub(crate) fn new(name: &str, settings: QueueSettings) -> Queue {
        Queue {
            name: name.to_owned(),
            settings,
            members: Vec::new(),
            waiting: BTreeSet::new(),
            ringing: BTreeSet::new(),
            callbacks: 0,
            rr_last: None,
            staffing: Staffing::default(),
            stats: QueueStats::default(),
        }
    }

    /// Callers in the queue (waiting, ringing, callbacks), not counting connected ones.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len() + self.ringing.len()
    }

    /// 1-based position of `place`, whether it is in the queue or about to join.
    pub(crate) fn position(&self, place: &Place) -> usize {
        count_before(&self.waiting, place) + count_before(&self.ringing, place) + 1
    }

    /// Whether `agent`, a member with `member` settings, may take `entry` now: it has
    /// all the caller's skills, the caller has waited out the agent's tier level, and
    /// the member penalty is within the widened limit. (Status and state are the
    /// caller's to check.)
    pub(crate) fn admits(
        &self,
        entry: &Entry,
        agent: &Agent,
        member: Member,
        now: Instant,
    ) -> bool {
        if !entry.skills.is_subset(&agent.skills) {
            return false;
        }
        let waited = entry.waited(now);
        if let Some(step) = self.settings.tier_wait {
            let level = self.staffing.level(member.tier);
            if level > 0 && steps_elapsed(waited, step) < u128::from(level) {
                return false;
            }
        }
        self.settings
            .penalty_widen
            .is_none_or(|widen| member.penalty <= widen.max_penalty(waited))
    }

    /// Recomputes [`Staffing`] from the members' statuses; `qi` is this queue's index.
    pub(crate) fn refresh_staffing(&mut self, qi: QueueIx, agents: &[Agent]) {
        let mut staffing = Staffing::default();
        for &ai in &self.members {
            let agent = &agents[ai];
            let Some(membership) = agent.membership(qi).map(|m| m.member) else {
                continue;
            };
            staffing.max_tier = staffing.max_tier.max(membership.tier);
            staffing.max_penalty = staffing.max_penalty.max(membership.penalty);
            if agent.status != Status::LoggedOut {
                staffing.logged_in += 1;
            }
            if agent.status == Status::Available {
                staffing.available += 1;
                staffing.staffed_tiers.push(membership.tier);
            }
        }
        staffing.staffed_tiers.sort_unstable();
        staffing.staffed_tiers.dedup();
        self.staffing = staffing;
    }
}

/// How many elements of `set` sort before `place`, walking from both ends at once so
/// the cost is the distance to the nearer end.
fn count_before(set: &BTreeSet<Place>, place: &Place) -> usize {
    let mut before = set.range(..*place);
    let mut after = set.range((Bound::Excluded(*place), Bound::Unbounded));
    let contains = usize::from(set.contains(place));
    let mut seen = 0;
    loop {
        if before.next_back().is_none() {
            return seen;
        }
        if after.next().is_none() {
            return set.len() - contains - seen;
        }
        seen += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use super::*;

    fn place(priority: u8, seq: u64) -> Place {
        Place {
            priority: Reverse(priority),
            seq,
            caller: seq,
        }
    }

    #[test]
    fn count_before_from_either_end() {
        let set: BTreeSet<Place> = (0..10).map(|i| place(0, i * 2)).collect();
        for probe in 0..22 {
            let p = place(0, probe);
            let expected = set.iter().filter(|x| **x < p).count();
            assert_eq!(count_before(&set, &p), expected, "probe {probe}");
        }
        assert_eq!(count_before(&set, &place(1, 100)), 0);
        assert_eq!(count_before(&BTreeSet::new(), &place(0, 1)), 0);
    }
}
