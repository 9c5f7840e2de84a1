//! Call records: the core reports start, answer and end of every call attempt here,
//! without waiting; one writer task applies them to the store in order, in batches of
//! up to `BATCH` changes per transaction. Queue events travel the same way and are
//! appended to the queue log after each batch of records.
//!
//! The core must never block on the database, and a record must never be dropped: the
//! channel is unbounded (its depth is the writer's backlog, visible in stats) and the
//! writer drains it before exiting, so a graceful shutdown flushes every record.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use lifeline_sip::{Request, SipMessage};
pub use lifeline_store::CallResult;
use lifeline_store::{CallEnd, CallWrite, NewCall, QueueLogEntry, Queued, Store, Timestamp};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

enum Op {
    Start {
        call: u64,
        new: NewCall,
    },
    Answer {
        call: u64,
        at: SystemTime,
    },
    End {
        call: u64,
        at: SystemTime,
        result: CallResult,
        cause: String,
        extras: EndExtras,
    },
    QueueEvent(QueueLogEntry),
}

/// What else is kept with a call when it ends.
#[derive(Debug, Clone, Default)]
pub struct EndExtras {
    /// The caller's path through the IVR.
    pub ivr_path: Option<serde_json::Value>,
    /// The recording file, relative to the data directory.
    pub recording: Option<String>,
    /// What the ACD did with the call.
    pub queued: Option<Queued>,
    /// The caller's rating after the call.
    pub satisfaction: Option<u8>,
}

/// The sending side, owned by the core.
#[derive(Debug, Clone)]
pub struct Records {
    tx: mpsc::UnboundedSender<Op>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record op")
    }
}

impl Records {
    /// Starts the writer; it ends once every `Records` clone is dropped and the backlog
    /// is written.
    pub fn spawn(store: Store) -> (Records, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Records { tx }, tokio::spawn(writer(store, rx)))
    }

    /// A call attempt began.
    pub fn start(&self, call: u64, invite: &Request, dialled: &str) {
        let transport = invite
            .top_via()
            .map(|v| v.transport.to_ascii_lowercase())
            .unwrap_or_default();
        let from = invite.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let new = NewCall {
            call_id: invite.call_id().unwrap_or("").to_owned(),
            from,
            to: dialled.to_owned(),
            transport,
            started_at: Timestamp::from_system_time(SystemTime::now()),
        };
        let _ = self.tx.send(Op::Start { call, new });
    }

    /// The call was answered.
    pub fn answer(&self, call: u64) {
        let _ = self.tx.send(Op::Answer {
            call,
            at: SystemTime::now(),
        });
    }

    /// The call ended.
    pub fn end(&self, call: u64, result: CallResult, cause: &str, extras: EndExtras) {
        let _ = self.tx.send(Op::End {
            call,
            at: SystemTime::now(),
            result,
            cause: cause.to_owned(),
            extras,
        });
    }

    /// A queue event, for the queue log.
    pub fn queue_event(&self, entry: QueueLogEntry) {
        let _ = self.tx.send(Op::QueueEvent(entry));
    }
}

/// Most operations written in one transaction.
const BATCH: usize = 1024;
/// Attempts at a batch before it is written one change at a time.
const ATTEMPTS: u32 = 5;

async fn writer(store: Store, mut rx: mpsc::UnboundedReceiver<Op>) {
    let mut ids: HashMap<u64, i64> = HashMap::new();
    let mut ops = Vec::with_capacity(BATCH);
    let mut events = Vec::new();
    while rx.recv_many(&mut ops, BATCH).await > 0 {
        let (writes, keys) = coalesce(ops.drain(..), &mut ids, &mut events);
        let inserted = if writes.is_empty() {
            Vec::new()
        } else {
            write_with_retry(&store, &writes).await
        };
        write_events(&store, &mut events).await;
        // Calls still in progress keep their record id for the changes to come.
        let open = writes.iter().filter_map(|w| match w {
            CallWrite::Insert { end, .. } => Some(end.is_none()),
            _ => None,
        });
        for ((key, id), open) in keys.into_iter().zip(inserted).zip(open) {
            if let (true, Some(id)) = (open, id) {
                ids.insert(key, id);
            }
        }
    }
}

/// Turns queued operations into writes: a call started in this batch becomes one
/// INSERT carrying its answer and end; changes to calls stored earlier become UPDATEs.
/// Returns the writes and, per INSERT in order, the call it is for.
fn coalesce(
    ops: impl Iterator<Item = Op>,
    ids: &mut HashMap<u64, i64>,
    events: &mut Vec<QueueLogEntry>,
) -> (Vec<CallWrite>, Vec<u64>) {
    let mut writes = Vec::new();
    let mut keys = Vec::new();
    let mut pending: HashMap<u64, usize> = HashMap::new();
    for op in ops {
        match op {
            Op::Start { call, new } => {
                pending.insert(call, writes.len());
                keys.push(call);
                writes.push(CallWrite::Insert {
                    call: new,
                    answered_at: None,
                    end: None,
                });
            }
            Op::Answer { call, at } => {
                let at = Timestamp::from_system_time(at);
                match pending.get(&call).map(|i| &mut writes[*i]) {
                    Some(CallWrite::Insert { answered_at, .. }) => *answered_at = Some(at),
                    _ => {
                        if let Some(&id) = ids.get(&call) {
                            writes.push(CallWrite::Answer { id, at });
                        }
                    }
                }
            }
            Op::End {
                call,
                at,
                result,
                cause,
                extras,
            } => {
                let end = CallEnd {
                    at: Timestamp::from_system_time(at),
                    result,
                    cause: Some(cause),
                    ivr_path: extras.ivr_path,
                    recording: extras.recording,
                    queued: extras.queued,
                    satisfaction: extras.satisfaction,
                };
                match pending.get(&call).map(|i| &mut writes[*i]) {
                    Some(CallWrite::Insert { end: slot, .. }) => *slot = Some(end),
                    _ => {
                        if let Some(id) = ids.remove(&call) {
                            writes.push(CallWrite::End { id, end });
                        }
                    }
                }
            }
            Op::QueueEvent(e) => events.push(e),
        }
    }
    (writes, keys)
}

/// Appends queue events, retrying with backoff like the records; events that still
/// cannot be written are logged and dropped (the call records keep the outcome).
async fn write_events(store: &Store, events: &mut Vec<QueueLogEntry>) {
    if events.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match store.append_queue_log(events).await {
            Ok(()) => break,
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(error = %e, events = events.len(), "queue events lost");
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "queue log write failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    events.clear();
}

/// Writes a batch, retrying a failed transaction with backoff; if it keeps failing the
/// changes are written one by one, so one bad row cannot cost the others. Returns the
/// id of each INSERT in order (`None` where it could not be written).
async fn write_with_retry(store: &Store, writes: &[CallWrite]) -> Vec<Option<i64>> {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match store.write_calls(writes).await {
            Ok(ids) => return ids.into_iter().map(Some).collect(),
            Err(e) => {
                tracing::warn!(error = %e, attempt, changes = writes.len(), "call record batch failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    let mut ids = Vec::new();
    for w in writes {
        let is_insert = matches!(w, CallWrite::Insert { .. });
        match store.write_calls(std::slice::from_ref(w)).await {
            Ok(mut one) => ids.extend(one.pop().map(Some)),
            Err(e) => {
                tracing::error!(error = %e, "call record lost");
                if is_insert {
                    ids.push(None);
                }
            }
        }
    }
    ids
}
