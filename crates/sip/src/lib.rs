//! SIP for Lifeline: messages, transactions, dialogs, digest authentication and the
//! registrar, all sans-IO.
//!
//! Nothing in this crate opens a socket, spawns a task or reads the clock. The runtime
//! feeds it bytes and the current [`std::time::Instant`], and drains what it wants sent
//! and when it next needs waking — the shape of str0m's `Rtc`. That makes every timer
//! of RFC 3261 §17 testable in virtual time.
//!
//! Layers, bottom up:
//! - [`parse`], [`framing`]: bytes to validated [`Message`]s (our own parser: see
//!   `docs/sip-parser.md` for why, and the RFC 4475 results).
//! - [`uri`], [`address`], [`via`], [`cseq`], [`header`]: typed views of header values.

pub mod address;
pub mod auth;
pub mod cseq;
pub mod dialog;
pub mod endpoint;
pub mod framing;
pub mod grammar;
pub mod header;
pub mod message;
pub mod method;
pub mod parse;
pub mod registrar;
pub mod sdp;
pub mod transaction;
pub mod uas;
pub mod uri;
pub mod via;

pub use address::NameAddr;
pub use cseq::CSeq;
pub use header::{HeaderName, Headers};
pub use message::{Message, Request, Response, SipMessage};
pub use method::Method;
pub use parse::{ParseError, Transport, parse};
pub use uri::Uri;
pub use via::Via;
