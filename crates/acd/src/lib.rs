//! Automatic call distribution for Lifeline, sans-IO: queues, agents, strategies,
//! tiers, skills, penalties, wrap-up, auto-pause, priorities, callbacks, estimated
//! wait and live statistics, with no clock, no sockets and no global randomness.
//!
//! ## Run loop
//! The engine owns one [`Acd`] and feeds it, one call at a time, what happens: callers
//! joining and leaving ([`Acd::enqueue`], [`Acd::abandon`], [`Acd::exit_with_key`],
//! [`Acd::request_callback`]), offers answered or failed ([`Acd::offer_answered`],
//! [`Acd::offer_failed`]), calls ending ([`Acd::call_ended`], [`Acd::transferred`]),
//! agents' status and membership ([`Acd::set_status`], [`Acd::add_member`], …) and
//! the passing of time ([`Acd::handle_timeout`] when [`Acd::poll_timeout`] is
//! reached). After each call it drains [`Acd::poll_output`] until `None`: offers to
//! ring, offers to cancel, exits, announcements, queue-log events and agent changes.
//! Every `now` comes from the engine and must not go backwards.
//!
//! ```no_run
//! # use std::time::Instant;
//! use lifeline_acd::{Acd, AgentSettings, Join, Member, Output, QueueSettings, Status};
//! # fn engine(now: Instant) -> Result<(), Box<dyn std::error::Error>> {
//! let mut acd = Acd::new(7);
//! acd.set_queue("citizen", QueueSettings::default());
//! acd.set_agent("1001", AgentSettings::default());
//! acd.add_member(now, "citizen", "1001", Member::default())?;
//! acd.set_status(now, "1001", Status::Available)?;
//! let position = acd.enqueue(now, 42, "citizen", Join::default())?;
//! while let Some(output) = acd.poll_output() {
//!     match output {
//!         Output::Offer { offer, agent, .. } => { /* ring `agent`, then report the offer */ }
//!         Output::Event(event) => { /* append to the queue log */ }
//!         _ => {}
//!     }
//! }
//! // Sleep until `acd.poll_timeout()`, then `acd.handle_timeout(now)` and drain again.
//! # Ok(())
//! # }
//! ```
//!
//! ## Who gets which caller
//! A queue orders its callers by priority (higher first), then by arrival. An idle,
//! available agent takes the best caller it is eligible for across all its queues:
//! highest caller priority, then highest queue weight ([`QueueSettings::priority`]),
//! then longest in the ACD. Eligible means the agent has all the caller's skills, the
//! caller has waited `L × tier_wait` for an agent at tier level `L` (tiers where no
//! member is available are skipped), and the member penalty is within the widened
//! limit. When several idle agents are eligible for the same caller, the queue's
//! [`Strategy`] picks; `ringall` rings them all. Wrap-up belongs to the agent: no
//! queue offers it a call until wrap-up ends. The rules, and how they stay cheap with
//! thousands of callers, are in `dispatch.rs`.
//!
//! ## Times
//! Per-queue times (hold time, ASA, service level, queue timeout, tiers, penalties,
//! `waited` in offers) count from the caller's `ENTERQUEUE` in that queue. Only the
//! order keeps the caller's first arrival after an overflow, so an overflowed caller
//! is not sent to the back of the new queue.
//!
//! | module | owns |
//! |---|---|
//! | `acd.rs` | [`Acd`], configuration, membership, agent status, the queue-log writer |
//! | `calls.rs` | joining, leaving, callbacks, answers, completions |
//! | `dispatch.rs` | matching callers with agents; offers and their endings |
//! | `strategy.rs` | the strategies as one pure ranking |
//! | `timers.rs` | ring timeouts, wrap-up, queue timeouts, widening steps, announcements |
//! | `settings.rs` | [`QueueSettings`], [`AgentSettings`], [`Member`], [`Strategy`] |
//! | `agent.rs`, `caller.rs`, `queue.rs` | agents' status and state, queued callers, per-queue order and staffing |
//! | `events.rs` | [`Output`] and the [`QueueEvent`] log |
//! | `stats.rs`, `snapshot.rs` | live statistics; [`QueueSnapshot`], [`AgentSnapshot`] |
//! | `skills.rs`, `rng.rs` | skill bit sets; the seeded generator |
//!
//! Dependencies: std, serde (snapshots), thiserror.

mod acd;
mod agent;
mod caller;
mod calls;
mod dispatch;
mod error;
mod events;
mod queue;
mod rng;
mod settings;
mod skills;
mod snapshot;
mod stats;
mod strategy;
mod timers;

pub use acd::Acd;
pub use agent::{State, Status};
pub use caller::{Connected, EndedBy, Join, OfferFailure, Position};
pub use dispatch::MIN_RING_TIMEOUT;
pub use error::{AcdError, JoinError, StaleOffer};
pub use events::{EventKind, ExitReason, NO_QUEUE, Output, QueueEvent};
pub use settings::{
    AUTO_PAUSE_REASON, AgentSettings, EmptyRule, Member, PenaltyWiden, QueueSettings, Strategy,
    UnknownStrategy,
};
pub use snapshot::{AgentSnapshot, QueueSnapshot};

/// The engine's id for a caller (its call).
pub type CallerId = u64;
/// An offer of a caller to an agent, allocated by the ACD; never reused.
pub type OfferId = u64;
