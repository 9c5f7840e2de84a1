//! Errors of the ACD's operations. Each names the thing that was wrong, so the engine
//! can log it and the HTTP API can answer with it.

use crate::{CallerId, OfferId};

/// A request the ACD cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No queue has this name.
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    /// No agent has this id.
    #[error("unknown agent {0:?}")]
    UnknownAgent(String),
    /// The agent is not a member of the queue.
    #[error("agent {agent:?} is not a member of queue {queue:?}")]
    NotMember {
        /// The queue.
        queue: String,
        /// The agent.
        agent: String,
    },
    /// The caller is not in the ACD.
    #[error("caller {0} is not queued")]
    UnknownCaller(CallerId),
    /// The caller is connected to an agent, or already a callback entry.
    #[error("caller {0} is not waiting")]
    NotWaiting(CallerId),
}

/// Why [`crate::Acd::enqueue`] refused a caller. Nothing is logged for a refused caller:
/// it never entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// No queue has this name.
    #[error("unknown queue")]
    UnknownQueue,
    /// The queue holds `max_len` callers.
    #[error("queue is full")]
    Full,
    /// The queue's `join_empty` rule holds.
    #[error("queue has no agents to wait for")]
    Empty,
    /// The caller id is already in the ACD (waiting, ringing or connected).
    #[error("caller is already queued")]
    AlreadyQueued,
}

/// [`crate::Acd::offer_answered`] for an offer that was already cancelled or timed out:
/// the engine hangs up the agent leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("offer {0} is no longer active")]
pub struct StaleOffer(pub OfferId);
