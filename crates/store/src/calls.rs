//! Owns call records: the model ([`CallRecord`], [`CallResult`], [`NewCall`]), its JSON
//! shape, and the queries of a call's life in the `calls` table.
//!
//! ```text
//! start_call ──> in_progress ──answer_call──> in_progress (answered_at set)
//!                    │                              │
//!                    └────────── end_call ──────────┴──> final result (first end wins)
//!                    └── mark_unfinished_as_cut (startup after a crash) ──> failed
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{self, StoreError};
use crate::store::{Store, on_pool};
use crate::time::Timestamp;

/// The cause recorded by [`Store::mark_unfinished_as_cut`] at startup for calls that a
/// previous run left unfinished.
pub const RESTART_CAUSE: &str = "cut: server restart";

/// How a call ended, or [`InProgress`](CallResult::InProgress) while it has not.
///
/// Serialized (JSON and database) in snake_case: `in_progress`, `answered`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// The call has not ended yet.
    InProgress,
    /// The call was answered and then ended normally.
    Answered,
    /// The caller gave up before an answer (CANCEL, or hung up in the IVR or queue).
    Cancelled,
    /// Lifeline or the callee refused the call (e.g. 403, 603).
    Rejected,
    /// The dialled number has no flow or destination (404).
    NotFound,
    /// Nobody answered in time (408, 480, queue timeout).
    NoAnswer,
    /// An error ended the call (5xx, media failure, server restart).
    Failed,
    /// The destination was busy (486, 600).
    Busy,
}

impl CallResult {
    /// Every result, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::InProgress,
        Self::Answered,
        Self::Cancelled,
        Self::Rejected,
        Self::NotFound,
        Self::NoAnswer,
        Self::Failed,
        Self::Busy,
    ];

    /// The snake_case name, as serialized and stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Answered => "answered",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::NotFound => "not_found",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
            Self::Busy => "busy",
        }
    }

    /// Whether this result ends a call (everything but `in_progress`).
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::InProgress)
    }
}

impl fmt::Display for CallResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not the snake_case name of a [`CallResult`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown call result {0:?}")]
pub struct UnknownCallResult(pub String);

impl FromStr for CallResult {
    type Err = UnknownCallResult;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownCallResult(s.to_owned()))
    }
}

/// A call as stored: serialized to JSON with exactly these snake_case field names, times as
/// RFC 3339 UTC strings with milliseconds, absent values as `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// Record id, increasing with each call started (newest is highest).
    pub id: i64,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// The caller, as in the From header (URI or number).
    pub from: String,
    /// The dialled destination, as in the To header or Request-URI (URI or number).
    pub to: String,
    /// The transport the call arrived on (`udp`, `tcp`, `tls`, `ws`, `wss`, …).
    pub transport: String,
    /// When the INVITE arrived.
    pub started_at: Timestamp,
    /// When the call was answered, if it was.
    pub answered_at: Option<Timestamp>,
    /// When the call ended, if it has.
    pub ended_at: Option<Timestamp>,
    /// How it ended, or `in_progress`.
    pub result: CallResult,
    /// Why it ended, when known: a SIP status or reason, a hang-up side, `cut: …`.
    pub cause: Option<String>,
    /// The caller's path through the IVR (a JSON array of steps), once the call ended.
    pub ivr_path: Option<serde_json::Value>,
    /// Where to fetch the call's recording (`/api/v1/calls/{id}/recording`), if any.
    pub recording: Option<String>,
    /// The recording's file, relative to the data directory (never serialized).
    #[serde(skip)]
    pub recording_file: Option<String>,
    /// The queue the caller waited in, if it was queued.
    pub queue: Option<String>,
    /// The agent who took the call.
    pub agent: Option<String>,
    /// Seconds in the queue before an agent answered or the caller left.
    pub wait_seconds: Option<f64>,
    /// The caller's rating after the call.
    pub satisfaction: Option<i32>,
}

/// The API path of call `id`'s recording.
pub fn recording_url(id: i64) -> String {
    format!("/api/v1/calls/{id}/recording")
}

/// A call starting, for [`Store::start_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// The caller, as in the From header.
    pub from: String,
    /// The dialled destination.
    pub to: String,
    /// The transport the call arrived on.
    pub transport: String,
    /// When the INVITE arrived.
    pub started_at: Timestamp,
}

/// A `calls` row as selected by [`select_calls!`], in column order.
type Row = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i32>,
);

/// `SELECT <every column of a record> FROM calls <rest>`.
macro_rules! select_calls {
    ($rest:literal) => {
        concat!(
            "SELECT id, call_id, caller, callee, transport, started_at, answered_at, ended_at, \
             result, cause, ivr_path, recording, queue, agent, wait_ms, satisfaction FROM calls ",
            $rest
        )
    };
}

fn record_from_row(row: Row) -> Result<CallRecord, StoreError> {
    let (
        id,
        call_id,
        from,
        to,
        transport,
        started_at,
        answered_at,
        ended_at,
        result,
        cause,
        ivr_path,
        recording_file,
        queue,
        agent,
        wait_ms,
        satisfaction,
    ) = row;
    let result = result
        .parse()
        .map_err(|UnknownCallResult(value)| StoreError::UnknownResult { id, value })?;
    Ok(CallRecord {
        id,
        call_id,
        from,
        to,
        transport,
        started_at: Timestamp::from_unix_ms(started_at),
        answered_at: answered_at.map(Timestamp::from_unix_ms),
        ended_at: ended_at.map(Timestamp::from_unix_ms),
        result,
        cause,
        // A path that does not parse as JSON is shown as the text it is.
        ivr_path: ivr_path
            .map(|p| serde_json::from_str(&p).unwrap_or(serde_json::Value::String(p))),
        recording: recording_file.as_ref().map(|_| recording_url(id)),
        recording_file,
        queue,
        agent,
        wait_seconds: wait_ms.map(|ms| ms as f64 / 1000.0),
        satisfaction,
    })
}

impl Store {
    /// Records a call that has just started (result `in_progress`) and returns its id.
    pub async fn start_call(&self, call: &NewCall) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO calls (call_id, caller, callee, transport, started_at, result) \
                           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(SQL)
                .bind(call.call_id.as_str())
                .bind(call.from.as_str())
                .bind(call.to.as_str())
                .bind(call.transport.as_str())
                .bind(call.started_at.unix_ms())
                .bind(CallResult::InProgress.as_str())
                .fetch_one(pool)
                .await
        })
        .map_err(error::query("start_call"))
    }

    /// Records that call `id` was answered at `at`. Returns `false`, changing nothing, if
    /// it was already answered or has ended.
    pub async fn answer_call(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE calls SET answered_at = $2 \
                           WHERE id = $1 AND answered_at IS NULL AND ended_at IS NULL";
        let changed = on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id)
                .bind(at.unix_ms())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(error::query("answer_call"))?;
        self.changed_or_not_found(id, changed, "answer_call").await
    }

    /// Records that call `id` ended at `at` with `result` and an optional `cause`. The
    /// first end wins: returns `false`, changing nothing, if the call had already ended.
    /// `result` must be final (not [`CallResult::InProgress`]).
    pub async fn end_call(
        &self,
        id: i64,
        at: Timestamp,
        result: CallResult,
        cause: Option<&str>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE calls SET ended_at = $2, result = $3, cause = $4 \
                           WHERE id = $1 AND ended_at IS NULL";
        if !result.is_final() {
            return Err(StoreError::NotAFinalResult { id });
        }
        let changed = on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id)
                .bind(at.unix_ms())
                .bind(result.as_str())
                .bind(cause)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(error::query("end_call"))?;
        self.changed_or_not_found(id, changed, "end_call").await
    }

    /// `Ok(true)` if an update changed the row, `Ok(false)` if the row exists unchanged,
    /// [`StoreError::CallNotFound`] if there is no such row.
    async fn changed_or_not_found(
        &self,
        id: i64,
        rows_changed: u64,
        op: &'static str,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM calls WHERE id = $1";
        if rows_changed > 0 {
            return Ok(true);
        }
        let count = on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(SQL).bind(id).fetch_one(pool).await
        })
        .map_err(error::query(op))?;
        if count == 0 {
            Err(StoreError::CallNotFound { id })
        } else {
            Ok(false)
        }
    }

    /// At most `limit` records, newest first (by id, descending); with `before_id`, only
    /// records older than that id (the last id of the previous page).
    pub async fn list_calls(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<CallRecord>, StoreError> {
        const SQL: &str = select_calls!("WHERE id < $1 ORDER BY id DESC LIMIT $2");
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, Row>(SQL)
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(error::query("list_calls"))?;
        rows.into_iter().map(record_from_row).collect()
    }

    /// The record with this id, if any.
    pub async fn get_call(&self, id: i64) -> Result<Option<CallRecord>, StoreError> {
        const SQL: &str = select_calls!("WHERE id = $1");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, Row>(SQL).bind(id).fetch_optional(pool).await
        })
        .map_err(error::query("get_call"))?;
        row.map(record_from_row).transpose()
    }

    /// Ends every unfinished call as [`CallResult::Failed`] at `at` with `cause` (normally
    /// [`RESTART_CAUSE`]), and returns how many there were. Run once at startup, before
    /// any call is taken: calls still `in_progress` then were cut by a crash or kill.
    pub async fn mark_unfinished_as_cut(
        &self,
        at: Timestamp,
        cause: &str,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE calls SET ended_at = $1, result = $2, cause = $3 \
                           WHERE ended_at IS NULL";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(at.unix_ms())
                .bind(CallResult::Failed.as_str())
                .bind(cause)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(error::query("mark_unfinished_as_cut"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_serialize_as_their_stored_names_and_parse_back() {
        for result in CallResult::ALL {
            let json = serde_json::to_value(result).unwrap();
            assert_eq!(json, serde_json::Value::from(result.as_str()));
            assert_eq!(result.as_str().parse::<CallResult>(), Ok(result));
        }
        assert_eq!(
            "hung_up".parse::<CallResult>(),
            Err(UnknownCallResult("hung_up".to_owned()))
        );
        assert!(!CallResult::InProgress.is_final());
        assert!(CallResult::ALL[1..].iter().all(|r| r.is_final()));
    }

    #[test]
    fn migrations_allow_every_known_result() {
        for sql in [
            include_str!("../migrations/sqlite/0001_calls.sql"),
            include_str!("../migrations/postgres/0001_calls.sql"),
        ] {
            for result in CallResult::ALL {
                assert!(sql.contains(&format!("'{result}'")), "{result} missing");
            }
        }
    }
}
