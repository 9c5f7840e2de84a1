//! The HTTP API of Lifeline (axum): health, call records and live counters.
//!
//! Paths are public contracts (`docs/api.md`): `GET /healthz`, `GET /api/v1/calls`,
//! `GET /api/v1/calls/{id}`, `POST /api/v1/calls/{id}/hangup`, `GET /api/v1/stats`.
//! Every error is JSON `{"error": "..."}` with a status that says whose fault it was;
//! details stay in the logs.

mod error;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
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
}

/// The API router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/calls", get(list_calls))
        .route("/api/v1/calls/{id}", get(get_call))
        .route("/api/v1/calls/{id}/hangup", post(hangup))
        .route("/api/v1/stats", get(stats))
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

/// Call records, newest first; `before` pages backwards by record id.
async fn list_calls(
    State(s): State<AppState>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..=1000, got {limit}"
        )));
    }
    let calls = s.store.list_calls(limit, page.before).await?;
    Ok(Json(calls))
}

async fn get_call(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.get_call(id).await? {
        Some(c) => Ok(Json(c)),
        None => Err(ApiError::NotFound(format!("no call record {id}"))),
    }
}

/// Hangs up a call in progress (an operator's forced release).
async fn hangup(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
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

async fn stats(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    s.engine
        .stats()
        .await
        .map(Json)
        .ok_or(ApiError::Unavailable("sip core is not running".into()))
}
