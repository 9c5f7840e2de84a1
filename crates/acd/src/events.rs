//! What comes out of the ACD: [`Output`]s for the engine and the [`QueueEvent`] log.
//!
//! Event names are Asterisk's queue_log names, so the reports and tools call-centre
//! staff already use can read Lifeline's log; the data fields keep Asterisk's order
//! where Lifeline has the same facts. Every count in [`crate::QueueSnapshot`] is a
//! recount of these events.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{CallerId, OfferId};

/// Something the engine should do or know. Drain with [`crate::Acd::poll_output`]
/// after every call into the ACD.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Ring `agent` for `caller` (ringall yields several at once, one per agent).
    Offer {
        /// Names this offer in [`crate::Acd::offer_answered`] / [`crate::Acd::offer_failed`].
        offer: OfferId,
        /// The waiting caller (or callback entry).
        caller: CallerId,
        /// The agent to ring.
        agent: String,
        /// The queue the caller waits in.
        queue: String,
        /// How long the caller has waited in this queue.
        waited: Duration,
        /// `Some(number)` for a callback entry: ring the agent first, then call the
        /// number.
        callback: Option<String>,
    },
    /// Stop ringing this offer (ring timeout, another agent answered a ringall offer,
    /// the caller left, the agent went on break). The ACD has already settled it; the
    /// engine only cancels the agent leg.
    CancelOffer {
        /// The offer to cancel.
        offer: OfferId,
    },
    /// The caller leaves `queue` without an agent.
    Exit {
        /// The caller.
        caller: CallerId,
        /// The queue it leaves.
        queue: String,
        /// Why, and what the engine should do next.
        reason: ExitReason,
    },
    /// Tell a waiting caller its place and the estimated wait.
    Announce {
        /// The caller.
        caller: CallerId,
        /// 1-based position in its queue.
        position: usize,
        /// The queue's estimated wait, once known.
        estimated_wait: Option<Duration>,
    },
    /// A line for the queue log.
    Event(QueueEvent),
    /// An agent's status or state changed (for live views).
    AgentChanged {
        /// The agent's id.
        agent: String,
    },
}

/// Why a caller left a queue without an agent (see [`Output::Exit`]). Leaving by
/// hanging up ([`crate::Acd::abandon`]) or by key ([`crate::Acd::exit_with_key`]) is
/// the engine's own doing and produces no `Exit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The queue timeout passed: play a message and hang up.
    Timeout,
    /// The queue's `leave_empty` rule holds: no agent to wait for.
    Empty,
    /// The queue timeout passed and the caller now waits in queue `to` (it stays in
    /// the ACD; keep the hold music playing).
    Overflow {
        /// The queue the caller moved to.
        to: String,
    },
    /// The queue timeout passed: take a voicemail message.
    Voicemail,
}

/// The kind of a queue-log line. [`EventKind::as_str`] gives the queue_log name.
///
/// Lifeline adds four kinds to Asterisk's: `AGENTLOGIN` / `AGENTLOGOFF` (status changes
/// from and to logged out), `CALLBACKREQUEST` (a waiting caller asked to be called
/// back) and `EXITOVERFLOW` (the queue timeout moved the caller to another queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventKind {
    /// A caller joined. Data: priority, position.
    #[serde(rename = "ENTERQUEUE")]
    EnterQueue,
    /// An agent answered. Data: hold time (s), offer id, ring time (s).
    #[serde(rename = "CONNECT")]
    Connect,
    /// The caller hung up a connected call. Data: hold (s), talk (s), original position.
    #[serde(rename = "COMPLETECALLER")]
    CompleteCaller,
    /// The agent hung up a connected call. Data: hold (s), talk (s), original position.
    #[serde(rename = "COMPLETEAGENT")]
    CompleteAgent,
    /// The caller hung up while waiting or ringing. Data: position, original position,
    /// wait (s).
    #[serde(rename = "ABANDON")]
    Abandon,
    /// The queue timeout passed. Data: position, original position, wait (s).
    #[serde(rename = "EXITWITHTIMEOUT")]
    ExitWithTimeout,
    /// The `leave_empty` rule held. Data: position, original position, wait (s).
    #[serde(rename = "EXITEMPTY")]
    ExitEmpty,
    /// The caller pressed the exit key. Data: key, position, original position, wait (s).
    #[serde(rename = "EXITWITHKEY")]
    ExitWithKey,
    /// The queue timeout moved the caller on (Lifeline's own). Data: position, original
    /// position, wait (s), target queue.
    #[serde(rename = "EXITOVERFLOW")]
    ExitOverflow,
    /// An offer failed (no answer, busy, rejected, unreachable). Data: ring time (ms),
    /// reason.
    #[serde(rename = "RINGNOANSWER")]
    RingNoAnswer,
    /// The ACD withdrew an offer (caller left, another agent answered, agent paused or
    /// removed). Data: ring time (ms).
    #[serde(rename = "RINGCANCELED")]
    RingCanceled,
    /// The agent transferred the caller away. Data: hold (s), talk (s), original position.
    #[serde(rename = "BLINDTRANSFER")]
    BlindTransfer,
    /// An agent became a member. Data: penalty, tier.
    #[serde(rename = "ADDMEMBER")]
    AddMember,
    /// An agent stopped being a member.
    #[serde(rename = "REMOVEMEMBER")]
    RemoveMember,
    /// An agent went on break. Data: reason.
    #[serde(rename = "PAUSE")]
    Pause,
    /// An agent came back from break.
    #[serde(rename = "UNPAUSE")]
    Unpause,
    /// An agent logged in (Lifeline's own).
    #[serde(rename = "AGENTLOGIN")]
    AgentLogin,
    /// An agent logged out (Lifeline's own). Data: seconds logged in.
    #[serde(rename = "AGENTLOGOFF")]
    AgentLogoff,
    /// A waiting caller became a callback entry (Lifeline's own). Data: position. The
    /// number is not logged: it is personal data.
    #[serde(rename = "CALLBACKREQUEST")]
    CallbackRequest,
}

impl EventKind {
    /// The queue_log name, e.g. `ENTERQUEUE`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EnterQueue => "ENTERQUEUE",
            EventKind::Connect => "CONNECT",
            EventKind::CompleteCaller => "COMPLETECALLER",
            EventKind::CompleteAgent => "COMPLETEAGENT",
            EventKind::Abandon => "ABANDON",
            EventKind::ExitWithTimeout => "EXITWITHTIMEOUT",
            EventKind::ExitEmpty => "EXITEMPTY",
            EventKind::ExitWithKey => "EXITWITHKEY",
            EventKind::ExitOverflow => "EXITOVERFLOW",
            EventKind::RingNoAnswer => "RINGNOANSWER",
            EventKind::RingCanceled => "RINGCANCELED",
            EventKind::BlindTransfer => "BLINDTRANSFER",
            EventKind::AddMember => "ADDMEMBER",
            EventKind::RemoveMember => "REMOVEMEMBER",
            EventKind::Pause => "PAUSE",
            EventKind::Unpause => "UNPAUSE",
            EventKind::AgentLogin => "AGENTLOGIN",
            EventKind::AgentLogoff => "AGENTLOGOFF",
            EventKind::CallbackRequest => "CALLBACKREQUEST",
        }
    }
}

/// One queue-log line.
///
/// Agent status events (`PAUSE`, `UNPAUSE`, `AGENTLOGIN`, `AGENTLOGOFF`) are written
/// once per queue the agent is a member of, or once with queue `NONE` when it is in
/// none, as Asterisk does for pauses in all queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    /// When it happened.
    pub at: Instant,
    /// The queue (or `NONE`).
    pub queue: String,
    /// The caller, for caller events.
    pub caller: Option<CallerId>,
    /// The agent, for agent events.
    pub agent: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// Details, as listed on each [`EventKind`]; durations are whole seconds unless
    /// marked ms.
    pub data: Vec<String>,
}

/// The queue name of agent events for an agent in no queue.
pub const NO_QUEUE: &str = "NONE";
