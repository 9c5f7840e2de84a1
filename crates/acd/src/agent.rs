//! Agents: the status the agent chooses ([`Status`]: logged out, available, on break)
//! and the state the ACD drives ([`State`]: idle, ringing, on call, wrap-up), kept
//! apart so that neither can get stuck because of the other. A status change never
//! interrupts a call: logging out on a call takes effect for offers at once, and the
//! call, then its wrap-up, run their course.
//!
//! ```text
//!          offer              answered                 call ends
//!   Idle ─────────► Ringing ───────────► OnCall ───────────────────► WrapUp{until}
//!    ▲                 │ failed / cancelled         (zero wrap-up) │        │
//!    └─────────────────┴───────────────────────────────────────────┴────────┘
//! ```
//!
//! An agent is offered a caller only when it is `Available` and `Idle`, and wrap-up
//! belongs to the agent, not to a queue: no queue offers a call until it ends.

use std::time::Instant;

use crate::settings::{AgentSettings, Member};
use crate::skills::SkillSet;
use crate::{CallerId, OfferId};

/// What the agent has chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Not working; offered nothing.
    #[default]
    LoggedOut,
    /// Ready for calls.
    Available,
    /// Logged in but taking no calls.
    Break {
        /// Why (shown to supervisors, logged with `PAUSE`).
        reason: String,
    },
}

impl Status {
    /// `logged_out`, `available` or `break`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::LoggedOut => "logged_out",
            Status::Available => "available",
            Status::Break { .. } => "break",
        }
    }
}

/// Where the agent is in handling calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Free.
    Idle,
    /// Chosen for a caller, the offer not yet ringing. The ACD hands offers out ready
    /// to ring, so it never reports this state itself; it exists for engines that
    /// show the time spent setting up the agent leg.
    Reserved,
    /// An offer is ringing.
    Ringing,
    /// Talking to a caller.
    OnCall,
    /// After-call work until `until`.
    WrapUp {
        /// When wrap-up ends.
        until: Instant,
    },
}

impl State {
    /// `idle`, `reserved`, `ringing`, `on_call` or `wrap_up`.
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Reserved => "reserved",
            State::Ringing => "ringing",
            State::OnCall => "on_call",
            State::WrapUp { .. } => "wrap_up",
        }
    }
}

/// Index of an agent in the ACD's table (agents are never removed).
pub(crate) type AgentIx = usize;
/// Index of a queue in the ACD's table (queues are never removed).
pub(crate) type QueueIx = usize;

/// The state with what it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    Idle,
    Ringing { offer: OfferId },
    OnCall { caller: CallerId },
    WrapUp { until: Instant },
}

/// An agent's membership of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) queue: QueueIx,
    pub(crate) member: Member,
    /// Calls answered in this queue since joining it (for `fewestcalls`).
    pub(crate) answered: u64,
}

/// One agent.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) settings: AgentSettings,
    pub(crate) skills: SkillSet,
    pub(crate) status: Status,
    pub(crate) activity: Activity,
    /// When `activity` last changed.
    pub(crate) since: Option<Instant>,
    pub(crate) logged_in_at: Option<Instant>,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) last_call_end: Option<Instant>,
    pub(crate) answered: u64,
    pub(crate) missed: u64,
    /// Consecutive failed offers, for auto-pause.
    pub(crate) missed_in_row: u32,
}

impl Agent {
    pub(crate) fn new(id: &str, settings: AgentSettings, skills: SkillSet) -> Agent {
        Agent {
            id: id.to_owned(),
            settings,
            skills,
            status: Status::LoggedOut,
            activity: Activity::Idle,
            since: None,
            logged_in_at: None,
            memberships: Vec::new(),
            last_call_end: None,
            answered: 0,
            missed: 0,
            missed_in_row: 0,
        }
    }

    /// Whether the ACD may offer this agent a caller now.
    pub(crate) fn offerable(&self) -> bool {
        self.status == Status::Available && self.activity == Activity::Idle
    }

    pub(crate) fn state(&self) -> State {
        match self.activity {
            Activity::Idle => State::Idle,
            Activity::Ringing { .. } => State::Ringing,
            Activity::OnCall { .. } => State::OnCall,
            Activity::WrapUp { until } => State::WrapUp { until },
        }
    }

    pub(crate) fn membership(&self, queue: QueueIx) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.queue == queue)
    }

    pub(crate) fn membership_mut(&mut self, queue: QueueIx) -> Option<&mut Membership> {
        self.memberships.iter_mut().find(|m| m.queue == queue)
    }
}
