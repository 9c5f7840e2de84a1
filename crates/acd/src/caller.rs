//! Callers in queues: what the engine passes when a caller joins ([`Join`]), what it
//! learns back ([`Position`], [`Connected`]), and the ACD's record of each queued
//! caller ([`Entry`]) through its phases:
//!
//! ```text
//! enqueue ─► Waiting ──offer──► Ringing ──answered──► Connected ──ended──► (gone)
//!              ▲  │ callback ▲      │ all offers failed
//!              │  └──────────┘      │
//!              └────────────────────┘
//! ```
//!
//! A callback entry is a waiting entry whose caller has hung up: it keeps its place
//! and priority, and is offered with the number to call.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::agent::{AgentIx, QueueIx};
use crate::skills::SkillSet;
use crate::{CallerId, OfferId};

/// How a caller joins a queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Join {
    /// Higher is served first; the engine passes 255 for emergency callers.
    pub priority: u8,
    /// The agent must have every one of these skills.
    pub skills: Vec<String>,
}

/// Where a caller stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Position {
    /// 1-based place in the queue.
    pub position: usize,
    /// The queue's estimated wait, once an answered call has given one.
    pub estimated_wait: Option<Duration>,
}

/// Why an offer was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferFailure {
    /// Rang without answer (the engine's own timer, or the phone's).
    NoAnswer,
    /// The agent's phone was busy.
    Busy,
    /// The agent declined.
    Rejected,
    /// The agent's phone could not be reached.
    Unreachable,
}

impl OfferFailure {
    /// `no_answer`, `busy`, `rejected` or `unreachable`.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferFailure::NoAnswer => "no_answer",
            OfferFailure::Busy => "busy",
            OfferFailure::Rejected => "rejected",
            OfferFailure::Unreachable => "unreachable",
        }
    }
}

/// Who ended a connected call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndedBy {
    /// The caller hung up (`COMPLETECALLER`).
    Caller,
    /// The agent hung up (`COMPLETEAGENT`).
    Agent,
}

/// An answered offer: bridge these two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The caller.
    pub caller: CallerId,
    /// The agent who answered.
    pub agent: String,
    /// The queue.
    pub queue: String,
    /// How long the caller waited in the queue (its hold time).
    pub waited: Duration,
}

/// A caller's place: priority first (higher first), then arrival (earlier first).
/// `seq` is global and kept through an overflow, so it also orders callers of
/// different queues by how long they have been in the ACD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Place {
    pub(crate) priority: Reverse<u8>,
    pub(crate) seq: u64,
    pub(crate) caller: CallerId,
}

/// What a queued caller is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    Waiting,
    /// Offers out (several only for ringall).
    Ringing {
        offers: Vec<OfferId>,
    },
    Connected {
        agent: AgentIx,
        at: Instant,
    },
}

/// One caller in a queue.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) queue: QueueIx,
    pub(crate) place: Place,
    pub(crate) skills: SkillSet,
    /// When it entered this queue: every per-queue time counts from here.
    pub(crate) entered: Instant,
    pub(crate) orig_position: usize,
    pub(crate) phase: Phase,
    pub(crate) callback: Option<String>,
    /// The agent whose offer just failed: offered last if another is eligible.
    pub(crate) avoid: Option<AgentIx>,
    pub(crate) timeout_at: Option<Instant>,
    pub(crate) widen_at: Option<Instant>,
    pub(crate) announce_at: Option<Instant>,
    /// Queues this caller overflowed out of: it never overflows back into one.
    pub(crate) left: Vec<QueueIx>,
}

impl Entry {
    pub(crate) fn waited(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.entered)
    }

    /// Waiting or ringing, and not a callback: the caller is on the line in the queue.
    pub(crate) fn on_hold(&self) -> bool {
        self.callback.is_none() && !matches!(self.phase, Phase::Connected { .. })
    }
}
