//! The ACD over HTTP: agents' status and state, logging agents in and out and on
//! break, live queue statistics, and the queue event log.
//!
//! `GET /api/v1/agents`, `POST /api/v1/agents/{id}/status` with
//! `{"status": "available" | "break" | "logged_out", "reason": "..."}`,
//! `GET /api/v1/queues`, `GET /api/v1/queue_log[?call_id=…&limit=…]`, and the
//! WebSocket `/api/v1/events`: the current queues and agents on connect, then fresh
//! snapshots after every change (at most four a second) and each queue event.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use lifeline_engine::{EngineHandle, LiveEvent, Status, parse_status};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::session::{SUPERVISORS, user_of};
use crate::{ApiError, AppState};

/// Longest break reason kept.
const MAX_REASON: usize = 200;

/// Every agent with its status, state and queues.
pub(crate) async fn list_agents(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    s.engine
        .agents()
        .await
        .map(Json)
        .ok_or(ApiError::Unavailable("sip core is not running".into()))
}

/// The body of a status change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusChange {
    status: String,
    reason: Option<String>,
}

/// What a status change asks for, or why it is not valid.
fn status_of(change: StatusChange) -> Result<Status, ApiError> {
    if change
        .reason
        .as_ref()
        .is_some_and(|r| r.trim().chars().count() > MAX_REASON)
    {
        return Err(ApiError::BadRequest(format!(
            "reason is longer than {MAX_REASON} characters"
        )));
    }
    parse_status(&change.status, change.reason).map_err(ApiError::BadRequest)
}

/// Logs an agent in or out, or puts it on break; answers with the agent as it is now.
pub(crate) async fn set_agent_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<StatusChange>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    // Agents change their own status; supervisors and administrators anyone's.
    let user = user_of(&s, &headers, None)?;
    if user.id != id && !SUPERVISORS.contains(&user.role) {
        return Err(ApiError::Forbidden(format!(
            "{} may change only their own status",
            user.id
        )));
    }
    let Json(change) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = status_of(change)?;
    match s.engine.set_agent_status(&id, status).await {
        Some(Ok(agent)) => Ok(Json(agent)),
        Some(Err(e)) => Err(ApiError::NotFound(e)),
        None => Err(ApiError::Unavailable("sip core is not running".into())),
    }
}

/// Live statistics of every queue.
pub(crate) async fn list_queues(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    s.engine
        .queues()
        .await
        .map(Json)
        .ok_or(ApiError::Unavailable("sip core is not running".into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogQuery {
    call_id: Option<String>,
    limit: Option<u32>,
}

/// Queue events: of one call (by its SIP Call-ID), or the newest of all.
pub(crate) async fn queue_log(
    State(s): State<AppState>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..=1000, got {limit}"
        )));
    }
    Ok(Json(
        s.store
            .queue_log(q.call_id.as_deref(), i64::from(limit))
            .await?,
    ))
}

/// The live feed of queues, agents and queue events over a WebSocket.
pub(crate) async fn events(State(s): State<AppState>, ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(move |socket| live_feed(socket, s.engine))
}

/// Current snapshots of queues and agents, as the feed sends them.
async fn snapshots(engine: &EngineHandle) -> Vec<LiveEvent> {
    let mut out = Vec::new();
    if let Some(queues) = engine.queues().await {
        out.push(LiveEvent::Queues { queues });
    }
    if let Some(agents) = engine.agents().await {
        out.push(LiveEvent::Agents { agents });
    }
    out
}

/// Sends one event; false once the socket is gone.
async fn send(socket: &mut WebSocket, event: &LiveEvent) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "live event not serializable");
            true
        }
    }
}

/// Sends the current snapshots; false once the socket is gone.
async fn send_snapshots(socket: &mut WebSocket, engine: &EngineHandle) -> bool {
    for event in snapshots(engine).await {
        if !send(socket, &event).await {
            return false;
        }
    }
    true
}

async fn live_feed(mut socket: WebSocket, engine: EngineHandle) {
    // Subscribe before the snapshots, so no change falls between them and the feed.
    let mut rx = engine.subscribe();
    if !send_snapshots(&mut socket, &engine).await {
        return;
    }
    loop {
        let alive = tokio::select! {
            update = rx.recv() => match update {
                Ok(event) => send(&mut socket, &event).await,
                // Fell behind: skip what was missed and start again from snapshots.
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live view lagged; resending snapshots");
                    send_snapshots(&mut socket, &engine).await
                }
                Err(RecvError::Closed) => false,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_)) | Err(_)) | None => false,
                // Pings are answered by axum; anything else a client sends is ignored.
                Some(Ok(_)) => true,
            },
        };
        if !alive {
            return;
        }
    }
}
