//! Lifeline's persistence: the system of record for calls, over SQLite (the default, a
//! file under the data directory) or PostgreSQL (when a `postgres://` URL is given).
//!
//! | module | owns |
//! |---|---|
//! | [`store`](crate::Store) | opening the database, backend choice, migrations, health ping |
//! | `calls` | the call-record model ([`CallRecord`], [`CallResult`], [`NewCall`]) and its queries |
//! | `selfservice` | self-service lookup tables the IVR reads ([`Store::lookup`]) |
//! | `voicemail` | voice messages left by callers ([`Voicemail`]) |
//! | `batch` | [`Store::write_calls`]: many changes in one transaction ([`CallWrite`]) |
//! | `time` | [`Timestamp`]: unix milliseconds, rendered as RFC 3339 UTC |
//! | `error` | [`StoreError`] |
//! | `migrations` | the embedded schema migrations, one SQL file per backend and version |
//!
//! # Design
//! - **One query path.** Every query is written once with `$n` placeholders, which both
//!   SQLite and PostgreSQL accept, and runs on whichever pool the [`Store`] holds. Only the
//!   schema differs per backend (identity columns, integer widths), so migrations live in
//!   `migrations/sqlite/` and `migrations/postgres/`, paired by version in one table and
//!   applied on [`Store::open`].
//! - **No clock.** The store never reads the time: callers pass a [`Timestamp`] (from a
//!   [`std::time::SystemTime`] or unix milliseconds). Times are stored as integer unix
//!   milliseconds and rendered as RFC 3339 UTC with milliseconds.
//! - **Call lifecycle.** [`Store::start_call`] → [`Store::answer_call`] (optional) →
//!   [`Store::end_call`]. A call is unfinished (`in_progress`) exactly while it has no end
//!   time; the schema enforces it. Ending is idempotent: the first end wins. At startup,
//!   [`Store::mark_unfinished_as_cut`] closes the calls a crashed run left open.

mod batch;
mod calls;
mod error;
mod migrations;
mod queue_log;
mod selfservice;
mod store;
mod time;
mod voicemail;

pub use batch::{CallEnd, CallWrite, Queued};
pub use calls::{CallRecord, CallResult, NewCall, RESTART_CAUSE, UnknownCallResult, recording_url};
pub use error::StoreError;
pub use queue_log::QueueLogEntry;
pub use store::{Backend, SQLITE_FILE_NAME, Store};
pub use time::Timestamp;
pub use voicemail::{NewVoicemail, Voicemail};
