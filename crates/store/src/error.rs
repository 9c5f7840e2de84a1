//! Owns [`StoreError`]: what failed (opening, migrating, which query), with the underlying
//! error kept as its source. Messages never include a database URL or password.

use std::path::PathBuf;

use crate::store::Backend;

/// An error from the store. Each variant names the step that failed; the cause, if any,
/// is kept as [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite data directory could not be created.
    #[error("cannot create data directory {}", path.display())]
    CreateDataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database URL names a backend the store does not support.
    #[error(
        "unsupported database url scheme {scheme:?} (expected postgres://, postgresql:// or sqlite:)"
    )]
    UnsupportedUrl {
        /// The URL's scheme (the text before the first `:`), never the rest of the URL.
        scheme: String,
    },
    /// The database URL could not be parsed.
    #[error("invalid {backend} database url")]
    InvalidUrl {
        /// The backend the URL's scheme selected.
        backend: Backend,
        /// The parse error.
        source: sqlx::Error,
    },
    /// Connecting to the database failed.
    #[error("cannot open {backend} database {target}")]
    Open {
        /// The backend.
        backend: Backend,
        /// The SQLite file, or PostgreSQL `host:port/database` (no credentials).
        target: String,
        /// The connection error.
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("cannot migrate {backend} database {target}")]
    Migrate {
        /// The backend.
        backend: Backend,
        /// The SQLite file, or PostgreSQL `host:port/database` (no credentials).
        target: String,
        /// The migration error.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store operation {op} failed")]
    Query {
        /// The store operation, e.g. `"end_call"`.
        op: &'static str,
        /// The database error.
        source: sqlx::Error,
    },
    /// No call record has this id.
    #[error("no call record with id {id}")]
    CallNotFound {
        /// The record id asked for.
        id: i64,
    },
    /// [`Store::end_call`](crate::Store::end_call) was given
    /// [`CallResult::InProgress`](crate::CallResult::InProgress), which is not an end.
    #[error("cannot end call {id} with result in_progress")]
    NotAFinalResult {
        /// The record id.
        id: i64,
    },
    /// A stored row holds a result this version does not know (a newer schema's data?).
    #[error("call {id} has unknown result {value:?} in the database")]
    UnknownResult {
        /// The record id.
        id: i64,
        /// The stored text.
        value: String,
    },
}

/// Maps a query error to [`StoreError::Query`] for the operation `op`.
pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { op, source }
}
