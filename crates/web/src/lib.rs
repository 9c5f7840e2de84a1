//! The HTTP API of Lifeline (axum): health, call records, recordings, voice messages,
//! live counters, and the ACD (`acd.rs`).
//!
//! Paths are public contracts (`docs/api.md`): `GET /healthz`, `GET /api/v1/calls`,
//! `GET /api/v1/calls/{id}`, `GET /api/v1/calls/{id}/recording`,
//! `POST /api/v1/calls/{id}/hangup`, `GET /api/v1/voicemails`,
//! `GET /api/v1/voicemails/{id}`, `GET /api/v1/voicemails/{id}/audio`,
//! `GET /api/v1/stats`, `GET /api/v1/agents`, `POST /api/v1/agents/{id}/status`,
//! `GET /api/v1/queues`, `GET /api/v1/queue_log`, WebSocket `/api/v1/events`. Every
//! error is JSON
//! `{"error": "..."}` with a status that says whose fault it was (a malformed id in a
//! path too); details stay in the logs.

mod acd;
pub mod auth;
mod console;
mod error;
mod session;
mod ui;

use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lifeline_engine::EngineHandle;
use lifeline_store::Store;
use serde::Deserialize;

pub use crate::error::ApiError;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The record store.
    pub store: Store,
    /// The running engine.
    pub engine: EngineHandle,
    /// The data directory recordings and voice messages are stored under.
    pub data_dir: PathBuf,
    /// Console users and sessions.
    pub accounts: std::sync::Arc<auth::Accounts>,
}

/// The API router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/calls", get(list_calls))
        .route("/api/v1/calls/{id}", get(get_call))
        .route("/api/v1/calls/{id}/hangup", post(hangup))
        .route("/api/v1/calls/{id}/recording", get(call_recording))
        .route("/api/v1/voicemails", get(list_voicemails))
        .route("/api/v1/voicemails/{id}", get(get_voicemail))
        .route("/api/v1/voicemails/{id}/audio", get(voicemail_audio))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/agents", get(acd::list_agents))
        .route("/api/v1/agents/{id}/status", post(acd::set_agent_status))
        .route("/api/v1/queues", get(acd::list_queues))
        .route("/api/v1/queue_log", get(acd::queue_log))
        .route("/api/v1/events", get(acd::events))
        .route("/api/v1/login", post(session::login))
        .route("/api/v1/logout", post(session::logout))
        .route("/api/v1/me", get(session::me))
        .route("/api/v1/agent/ws", get(console::agent_ws))
        .route(
            "/agent",
            get(|| async { axum::response::Redirect::permanent("/agent/") }),
        )
        .route(
            "/wallboard",
            get(|| async { axum::response::Redirect::temporary("/agent/wallboard.html") }),
        )
        .route("/agent/", get(ui::agent_index))
        .route("/agent/{*path}", get(ui::agent_file))
        .fallback(|| async { ApiError::NotFound("no such path".into()) })
        .with_state(state)
}

/// Ready when the core answers and the database does.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    let sip = s.engine.stats().await.is_some();
    let storage = s.store.ping().await.is_ok();
    let status = if sip && storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "sip": sip, "storage": storage })),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<u32>,
    before: Option<i64>,
}

/// Validates `limit` (1..=1000, default 100) and `before` of a list request.
fn page_of(page: Result<Query<Page>, QueryRejection>) -> Result<(u32, Option<i64>), ApiError> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..=1000, got {limit}"
        )));
    }
    Ok((limit, page.before))
}

/// A numeric id from the path, or a JSON 400 saying what is wrong with it.
fn id_of(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// Call records, newest first; `before` pages backwards by record id.
async fn list_calls(
    State(s): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, before) = page_of(page)?;
    Ok(Json(s.store.list_calls(limit, before).await?))
}

async fn get_call(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let id = id_of(id)?;
    match s.store.get_call(id).await? {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::NotFound(format!("no call record {id}"))),
    }
}

/// Hangs up a call in progress (an operator's forced release).
async fn hangup(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let user = session::require(&s, &headers, session::SUPERVISORS)?;
    let id = id_of(id)?;
    tracing::info!(user = %user.id, call = id, "operator hangup");
    let Some(call) = s.store.get_call(id).await? else {
        return Err(ApiError::NotFound(format!("no call record {id}")));
    };
    if s.engine.hangup(&call.call_id).await {
        Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "id": id, "hangup": "requested" })),
        ))
    } else {
        Err(ApiError::Conflict(format!("call {id} is not in progress")))
    }
}

/// The call's recording as a WAV file (channel 1 the caller, channel 2 Lifeline or the
/// agent).
async fn call_recording(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    // Recordings are personal data: supervisors only, and every access is logged.
    let user = session::require(&s, &headers, session::SUPERVISORS)?;
    let id = id_of(id)?;
    tracing::info!(user = %user.id, call = id, "recording accessed");
    let call = s
        .store
        .get_call(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no call record {id}")))?;
    let file = call
        .recording_file
        .ok_or_else(|| ApiError::NotFound(format!("call {id} has no recording")))?;
    wav_file(&s.data_dir, &file).await
}

/// Voice messages, newest first.
async fn list_voicemails(
    State(s): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, before) = page_of(page)?;
    Ok(Json(s.store.list_voicemails(limit, before).await?))
}

async fn get_voicemail(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let id = id_of(id)?;
    match s.store.get_voicemail(id).await? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::NotFound(format!("no voice message {id}"))),
    }
}

async fn voicemail_audio(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let user = session::require(&s, &headers, session::SUPERVISORS)?;
    let id = id_of(id)?;
    tracing::info!(user = %user.id, voicemail = id, "voice message accessed");
    let v = s
        .store
        .get_voicemail(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no voice message {id}")))?;
    wav_file(&s.data_dir, &v.file).await
}

/// Serves a WAV file stored under the data directory. The paths come from our own
/// database, but one that could leave the directory is still refused.
async fn wav_file(data_dir: &FsPath, relative: &str) -> Result<Response, ApiError> {
    let rel = FsPath::new(relative);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        tracing::error!(
            path = relative,
            "refusing a stored media path outside the data dir"
        );
        return Err(ApiError::NotFound("no such audio".into()));
    }
    match tokio::fs::read(data_dir.join(rel)).await {
        Ok(bytes) => Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ApiError::NotFound("the audio file is missing".into()))
        }
        Err(e) => {
            tracing::error!(error = %e, "reading stored audio failed");
            Err(ApiError::Unavailable("the audio cannot be read".into()))
        }
    }
}

async fn stats(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    s.engine
        .stats()
        .await
        .map(Json)
        .ok_or(ApiError::Unavailable("sip core is not running".into()))
}
