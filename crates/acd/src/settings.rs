//! What an operator configures: a queue's [`QueueSettings`] (strategy, limits, timers,
//! tiers and penalty widening, exits), an agent's [`AgentSettings`] (wrap-up, ring
//! timeout, auto-pause, skills) and the [`Member`] link between them. Plain data with
//! Asterisk-like defaults; the engine builds these from `sip-config/`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a queue picks among the idle agents that may take its next caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Ring every eligible idle agent at once; the first to answer wins.
    #[default]
    RingAll,
    /// The first eligible agent in member order.
    Linear,
    /// Round robin: the first eligible agent after the one offered last in this queue.
    RrMemory,
    /// The agent whose last call ended longest ago (agents with no call yet first).
    LeastRecent,
    /// The agent with the fewest calls answered in this queue.
    FewestCalls,
    /// A uniformly random eligible agent (seeded, see [`crate::Acd::new`]).
    Random,
    /// A random eligible agent weighted by `1 / (1 + penalty)`: a lower penalty is
    /// more likely.
    WRandom,
}

impl Strategy {
    /// Every strategy, in documentation order.
    pub const ALL: [Strategy; 7] = [
        Strategy::RingAll,
        Strategy::Linear,
        Strategy::RrMemory,
        Strategy::LeastRecent,
        Strategy::FewestCalls,
        Strategy::Random,
        Strategy::WRandom,
    ];

    /// The configuration name (`ringall`, `linear`, `rrmemory`, `leastrecent`,
    /// `fewestcalls`, `random`, `wrandom`).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RingAll => "ringall",
            Strategy::Linear => "linear",
            Strategy::RrMemory => "rrmemory",
            Strategy::LeastRecent => "leastrecent",
            Strategy::FewestCalls => "fewestcalls",
            Strategy::Random => "random",
            Strategy::WRandom => "wrandom",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A strategy name that is not one of [`Strategy::as_str`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown queue strategy {0:?} (expected ringall, linear, rrmemory, leastrecent, fewestcalls, random or wrandom)"
)]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.as_str() == s)
            .ok_or_else(|| UnknownStrategy(s.to_owned()))
    }
}

/// A condition on a queue's members, used to refuse joining ([`QueueSettings::join_empty`])
/// or to send waiting callers away ([`QueueSettings::leave_empty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyRule {
    /// Never holds: callers always join / never leave for lack of agents.
    #[default]
    Never,
    /// Holds when no member is logged in.
    NoMembers,
    /// Holds when no member is available (logged in and not on break). Busy agents
    /// still count as available: they will be free again.
    NoAvailable,
}

/// Penalty widening: the highest member penalty allowed to take a caller grows with the
/// caller's wait, `start + step × floor(waited / every)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PenaltyWiden {
    /// How often the limit grows.
    pub every: Duration,
    /// By how much it grows each time.
    pub step: u32,
    /// The limit when the caller joins.
    pub start: u32,
}

impl PenaltyWiden {
    /// The highest penalty allowed after `waited`.
    pub fn max_penalty(&self, waited: Duration) -> u32 {
        let steps = steps_elapsed(waited, self.every);
        let steps = u32::try_from(steps).unwrap_or(u32::MAX);
        self.start.saturating_add(self.step.saturating_mul(steps))
    }
}

/// `floor(waited / every)`, with a zero period counting as already fully widened.
pub(crate) fn steps_elapsed(waited: Duration, every: Duration) -> u128 {
    if every.is_zero() {
        return u128::from(u32::MAX);
    }
    waited.as_nanos() / every.as_nanos()
}

/// One queue's configuration.
///
/// Defaults follow Asterisk: `ringall`, weight 0, no queue timeout, no length limit,
/// callers join and stay whatever the agents' states (`EmptyRule::Never`), tiers and
/// penalties not used, service level 20 s, no announcements, no exit key, no overflow,
/// no voicemail, ring timeouts from each agent.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSettings {
    /// How an agent is picked.
    pub strategy: Strategy,
    /// The queue's weight: an agent in several queues takes the caller of the
    /// higher-weight queue when the callers' priorities tie (before comparing waits).
    pub priority: u8,
    /// How long a caller may wait before leaving with [`crate::ExitReason::Timeout`]
    /// (or overflowing, or going to voicemail). Callback entries never time out.
    pub timeout: Option<Duration>,
    /// Most callers in the queue (waiting, ringing or callback entries); a join beyond
    /// it fails with [`crate::JoinError::Full`].
    pub max_len: Option<usize>,
    /// Callers are refused ([`crate::JoinError::Empty`]) when this holds.
    pub join_empty: EmptyRule,
    /// Waiting callers leave ([`crate::ExitReason::Empty`]) when this holds. Checked
    /// whenever a caller joins and whenever a member's status or the membership
    /// changes, which are the only things the rules depend on, so no periodic check is
    /// needed; callback entries stay.
    pub leave_empty: EmptyRule,
    /// Tier step: a member at tier level `L` may take a caller once it has waited
    /// `L × tier_wait`. Levels count only lower tiers with an available member, so
    /// empty tiers are skipped. `None` ignores tiers.
    pub tier_wait: Option<Duration>,
    /// Penalty widening; `None` lets every member penalty take every caller.
    pub penalty_widen: Option<PenaltyWiden>,
    /// Answer-time target for the service level.
    pub service_level: Duration,
    /// Announce position and estimated wait to each waiting caller this often, counted
    /// from when it joined (the engine announces the position at joining itself).
    /// Callers being rung and callback entries are skipped.
    pub announce_every: Option<Duration>,
    /// A DTMF key that lets a waiting caller leave ([`crate::Acd::exit_with_key`]).
    pub exit_key: Option<char>,
    /// On queue timeout, move the caller to this queue (keeping its priority and its
    /// place by arrival) instead of letting it go. Not taken if that queue refuses
    /// the caller (full, or its `join_empty` rule holds) or the caller already
    /// overflowed out of it, so overflow chains never loop.
    pub overflow: Option<String>,
    /// On queue timeout (without a usable overflow), send the caller to voicemail.
    pub voicemail_on_timeout: bool,
    /// Overrides each agent's [`AgentSettings::ring_timeout`] for this queue's offers
    /// (at least [`crate::MIN_RING_TIMEOUT`]).
    pub ring_timeout: Option<Duration>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            strategy: Strategy::RingAll,
            priority: 0,
            timeout: None,
            max_len: None,
            join_empty: EmptyRule::Never,
            leave_empty: EmptyRule::Never,
            tier_wait: None,
            penalty_widen: None,
            service_level: Duration::from_secs(20),
            announce_every: None,
            exit_key: None,
            overflow: None,
            voicemail_on_timeout: false,
            ring_timeout: None,
        }
    }
}

/// One agent's configuration; the same across all the agent's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// After-call work: no queue offers the agent a call for this long after any call
    /// ends.
    pub wrap_up: Duration,
    /// How long an offer rings before it counts as unanswered, unless the queue sets
    /// its own (at least [`crate::MIN_RING_TIMEOUT`]).
    pub ring_timeout: Duration,
    /// After this many consecutive failed offers the agent is put on break with the
    /// reason [`AUTO_PAUSE_REASON`].
    pub max_no_answer: Option<u32>,
    /// Skills and levels. A caller's required skills must all be present; the level is
    /// kept for the engine and reports.
    pub skills: BTreeMap<String, u8>,
}

/// The break reason set by auto-pause.
pub const AUTO_PAUSE_REASON: &str = "auto-paused: no answer";

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            wrap_up: Duration::ZERO,
            ring_timeout: Duration::from_secs(15),
            max_no_answer: None,
            skills: BTreeMap::new(),
        }
    }
}

/// An agent's membership of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Member {
    /// Higher penalties are offered later (see [`PenaltyWiden`]) and less often by
    /// [`Strategy::WRandom`].
    pub penalty: u32,
    /// Tier level; 0 is the first tier (see [`QueueSettings::tier_wait`]).
    pub tier: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.as_str().parse::<Strategy>(), Ok(strategy));
        }
        assert_eq!(
            "roundrobin".parse::<Strategy>(),
            Err(UnknownStrategy("roundrobin".into()))
        );
    }

    #[test]
    fn penalty_widens_in_steps() {
        let widen = PenaltyWiden {
            every: Duration::from_secs(10),
            step: 5,
            start: 1,
        };
        assert_eq!(widen.max_penalty(Duration::from_secs(9)), 1);
        assert_eq!(widen.max_penalty(Duration::from_secs(10)), 6);
        assert_eq!(widen.max_penalty(Duration::from_secs(25)), 11);
    }
}
