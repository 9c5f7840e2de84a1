//! Many call-record changes in one transaction.
//!
//! A busy call centre starts, answers and ends thousands of calls a second. Writing each
//! change as its own statement and commit costs a commit per change; the engine instead
//! queues changes and writes them with [`Store::write_calls`], where a short call that
//! started and ended within one batch becomes a single INSERT.

use crate::calls::{CallResult, NewCall};
use crate::error::{self, StoreError};
use crate::store::{Store, on_pool};
use crate::time::Timestamp;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// When.
    pub at: Timestamp,
    /// The final result (never [`CallResult::InProgress`]).
    pub result: CallResult,
    /// Why.
    pub cause: Option<String>,
    /// The caller's path through the IVR, as a JSON array.
    pub ivr_path: Option<serde_json::Value>,
    /// The recording file, relative to the data directory.
    pub recording: Option<String>,
    /// What the ACD did with the call, if it was queued.
    pub queued: Option<Queued>,
    /// The caller's rating after the call (1–5 by default).
    pub satisfaction: Option<u8>,
}

/// A queued call's outcome, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The queue the caller waited in (the last one, after an overflow).
    pub queue: String,
    /// The agent who took the call, if one did.
    pub agent: Option<String>,
    /// Milliseconds waited before an agent answered or the caller left the queue.
    pub wait_ms: i64,
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallWrite {
    /// A new record, already answered and/or ended if that happened before it was
    /// written.
    Insert {
        /// The call.
        call: NewCall,
        /// When it was answered, if it was.
        answered_at: Option<Timestamp>,
        /// How it ended, if it has.
        end: Option<CallEnd>,
    },
    /// Record `id` was answered (no change if it already was, or has ended).
    Answer {
        /// The record.
        id: i64,
        /// When.
        at: Timestamp,
    },
    /// Record `id` ended (no change if it already had: the first end wins).
    End {
        /// The record.
        id: i64,
        /// How.
        end: CallEnd,
    },
}

impl Store {
    /// Applies `writes` in order in one transaction, all or nothing, and returns the ids
    /// of the inserted records, one per [`CallWrite::Insert`] in order.
    pub async fn write_calls(&self, writes: &[CallWrite]) -> Result<Vec<i64>, StoreError> {
        const INSERT: &str = "INSERT INTO calls \
             (call_id, caller, callee, transport, started_at, answered_at, ended_at, result, cause, \
              ivr_path, recording, queue, agent, wait_ms, satisfaction) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";
        const ANSWER: &str = "UPDATE calls SET answered_at = $2 \
                              WHERE id = $1 AND answered_at IS NULL AND ended_at IS NULL";
        const END: &str = "UPDATE calls SET ended_at = $2, result = $3, cause = $4, \
                           ivr_path = $5, recording = $6, queue = $7, agent = $8, wait_ms = $9, \
                           satisfaction = $10 WHERE id = $1 AND ended_at IS NULL";
        for w in writes {
            let end = match w {
                CallWrite::Insert { end, .. } => end.as_ref(),
                CallWrite::End { end, .. } => Some(end),
                CallWrite::Answer { .. } => None,
            };
            if end.is_some_and(|e| !e.result.is_final()) {
                let id = if let CallWrite::End { id, .. } = w {
                    *id
                } else {
                    0
                };
                return Err(StoreError::NotAFinalResult { id });
            }
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(error::query("write_calls"))?;
            let mut ids = Vec::new();
            for w in writes {
                match w {
                    CallWrite::Insert { call, answered_at, end } => {
                        let result = end.as_ref().map_or(CallResult::InProgress, |e| e.result);
                        let id = sqlx::query_scalar::<_, i64>(INSERT)
                            .bind(call.call_id.as_str())
                            .bind(call.from.as_str())
                            .bind(call.to.as_str())
                            .bind(call.transport.as_str())
                            .bind(call.started_at.unix_ms())
                            .bind(answered_at.map(Timestamp::unix_ms))
                            .bind(end.as_ref().map(|e| e.at.unix_ms()))
                            .bind(result.as_str())
                            .bind(end.as_ref().and_then(|e| e.cause.as_deref()))
                            .bind(end.as_ref().and_then(|e| e.ivr_path.as_ref().map(|p| p.to_string())))
                            .bind(end.as_ref().and_then(|e| e.recording.as_deref()))
                            .bind(end.as_ref().and_then(|e| e.queued.as_ref()).map(|q| q.queue.as_str()))
                            .bind(end.as_ref().and_then(|e| e.queued.as_ref()).and_then(|q| q.agent.as_deref()))
                            .bind(end.as_ref().and_then(|e| e.queued.as_ref()).map(|q| q.wait_ms))
                            .bind(end.as_ref().and_then(|e| e.satisfaction).map(i32::from))
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(error::query("write_calls insert"))?;
                        ids.push(id);
                    }
                    CallWrite::Answer { id, at } => {
                        sqlx::query(ANSWER)
                            .bind(id)
                            .bind(at.unix_ms())
                            .execute(&mut *tx)
                            .await
                            .map_err(error::query("write_calls answer"))?;
                    }
                    CallWrite::End { id, end } => {
                        sqlx::query(END)
                            .bind(id)
                            .bind(end.at.unix_ms())
                            .bind(end.result.as_str())
                            .bind(end.cause.as_deref())
                            .bind(end.ivr_path.as_ref().map(|p| p.to_string()))
                            .bind(end.recording.as_deref())
                            .bind(end.queued.as_ref().map(|q| q.queue.as_str()))
                            .bind(end.queued.as_ref().and_then(|q| q.agent.as_deref()))
                            .bind(end.queued.as_ref().map(|q| q.wait_ms))
                            .bind(end.satisfaction.map(i32::from))
                            .execute(&mut *tx)
                            .await
                            .map_err(error::query("write_calls end"))?;
                    }
                }
            }
            tx.commit().await.map_err(error::query("write_calls commit"))?;
            Ok(ids)
        })
    }
}
