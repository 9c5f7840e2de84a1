//! Call records: the core reports start, answer and end of every call attempt here,
//! without waiting; one writer task applies them to the store in order.
//!
//! The core must never block on the database, and a record must never be dropped: the
//! channel is unbounded (its depth is the writer's backlog, visible in stats) and the
//! writer drains it before exiting, so a graceful shutdown flushes every record.

use std::collections::HashMap;
use std::time::SystemTime;

use lifeline_sip::{Request, SipMessage};
pub use lifeline_store::CallResult;
use lifeline_store::{NewCall, Store, Timestamp};
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
    },
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
    pub fn end(&self, call: u64, result: CallResult, cause: &str) {
        let _ = self.tx.send(Op::End {
            call,
            at: SystemTime::now(),
            result,
            cause: cause.to_owned(),
        });
    }
}

async fn writer(store: Store, mut rx: mpsc::UnboundedReceiver<Op>) {
    let mut ids: HashMap<u64, i64> = HashMap::new();
    while let Some(op) = rx.recv().await {
        let outcome = match op {
            Op::Start { call, new } => store.start_call(&new).await.map(|id| {
                ids.insert(call, id);
            }),
            Op::Answer { call, at } => match ids.get(&call) {
                Some(id) => store
                    .answer_call(*id, Timestamp::from_system_time(at))
                    .await
                    .map(drop),
                None => Ok(()),
            },
            Op::End {
                call,
                at,
                result,
                cause,
            } => match ids.remove(&call) {
                Some(id) => store
                    .end_call(id, Timestamp::from_system_time(at), result, Some(&cause))
                    .await
                    .map(drop),
                None => Ok(()),
            },
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, "call record write failed");
        }
    }
}
