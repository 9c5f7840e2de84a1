//! The queue event log: every ACD event (ENTERQUEUE, CONNECT, ABANDON, …) with its
//! time, queue, agent and fields, linked to the call record by the caller's SIP
//! Call-ID. Reporting tools read it the way they read a `queue_log` file.

use serde::Serialize;

use crate::error::{self, StoreError};
use crate::store::{Store, on_pool};
use crate::time::Timestamp;

/// One queue event, as stored and listed (serialized with these field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueLogEntry {
    /// When it happened.
    pub at: Timestamp,
    /// The caller leg's SIP Call-ID (`calls.call_id`), for events about a caller.
    pub call_id: Option<String>,
    /// The queue, or `NONE` for agent events that belong to no queue.
    pub queue: String,
    /// The agent, for events about one.
    pub agent: Option<String>,
    /// The event name (`ENTERQUEUE`, `CONNECT`, …).
    pub event: String,
    /// The event's fields, in queue_log order (hold time, talk time, position, …).
    pub data: Vec<String>,
}

type Row = (i64, Option<String>, String, Option<String>, String, String);

impl Store {
    /// Appends `entries` in one transaction.
    pub async fn append_queue_log(&self, entries: &[QueueLogEntry]) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO queue_log (at, call_id, queue, agent, event, data) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        if entries.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(error::query("append_queue_log"))?;
            for e in entries {
                let data = serde_json::to_string(&e.data).unwrap_or_else(|_| "[]".into());
                sqlx::query(SQL)
                    .bind(e.at.unix_ms())
                    .bind(e.call_id.as_deref())
                    .bind(e.queue.as_str())
                    .bind(e.agent.as_deref())
                    .bind(e.event.as_str())
                    .bind(data)
                    .execute(&mut *tx)
                    .await
                    .map_err(error::query("append_queue_log"))?;
            }
            tx.commit().await.map_err(error::query("append_queue_log commit"))
        })
    }

    /// The events of the call with SIP Call-ID `call_id`, oldest first; with `None`,
    /// the newest `limit` events of all calls, oldest first.
    pub async fn queue_log(
        &self,
        call_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<QueueLogEntry>, StoreError> {
        const BY_CALL: &str = "SELECT at, call_id, queue, agent, event, data FROM queue_log \
                               WHERE call_id = $1 ORDER BY id LIMIT $2";
        const NEWEST: &str = "SELECT at, call_id, queue, agent, event, data FROM \
                              (SELECT * FROM queue_log ORDER BY id DESC LIMIT $1) AS newest \
                              ORDER BY id";
        let rows: Vec<Row> = on_pool!(self, pool => match call_id {
            Some(c) => sqlx::query_as(BY_CALL).bind(c).bind(limit).fetch_all(pool).await,
            None => sqlx::query_as(NEWEST).bind(limit).fetch_all(pool).await,
        })
        .map_err(error::query("queue_log"))?;
        Ok(rows
            .into_iter()
            .map(|(at, call_id, queue, agent, event, data)| QueueLogEntry {
                at: Timestamp::from_unix_ms(at),
                call_id,
                queue,
                agent,
                event,
                data: serde_json::from_str(&data).unwrap_or_else(|_| vec![data]),
            })
            .collect())
    }
}
