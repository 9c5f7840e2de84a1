//! The agent console's WebSocket, `GET /api/v1/agent/ws` (`docs/softphone.md`): it
//! checks the session, attaches the console to the engine, and then only moves JSON
//! both ways — every decision is the engine's.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use lifeline_engine::{EngineHandle, FromConsole, ToConsole};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::session::user_of;
use crate::{ApiError, AppState};

/// Largest message a console may send (an SDP offer is a few kB).
const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
pub(crate) struct WsQuery {
    token: Option<String>,
}

/// Upgrades a logged-in agent's request to the console WebSocket.
pub(crate) async fn agent_ws(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<WsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<impl IntoResponse, ApiError> {
    // Who comes first: an unknown client learns nothing but that it must log in.
    let user = user_of(&s, &headers, q.token.as_deref())?;
    if !matches!(user.role, "agent" | "supervisor" | "admin") {
        return Err(ApiError::Forbidden(format!(
            "a {} does not answer calls",
            user.role
        )));
    }
    let ws = ws.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let engine = s.engine.clone();
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        // An idle console costs little: small buffers (messages are a few kB).
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| run(socket, engine, user.id)))
}

async fn send(socket: &mut WebSocket, msg: &ToConsole) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

async fn run(mut socket: WebSocket, engine: EngineHandle, agent: String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let Some(conn) = engine.attach_console(&agent, tx).await else {
        return;
    };
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(msg) = out else { break };
                let replaced = matches!(msg, ToConsole::Replaced);
                if !send(&mut socket, &msg).await || replaced {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromConsole>(&text) {
                    Ok(msg) => engine.console(&agent, conn, msg).await,
                    Err(e) => {
                        let error = ToConsole::Error { message: format!("bad message: {e}"), offer: None };
                        if !send(&mut socket, &error).await {
                            break;
                        }
                    }
                },
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    engine.detach_console(&agent, conn).await;
}
