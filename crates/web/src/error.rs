//! The one error type of the HTTP edge: a status and a message safe to show, with the
//! underlying cause logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request needs a login.
    #[error("{0}")]
    Unauthorized(String),
    /// The logged-in user may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try later.
    #[error("{0}")]
    TooManyRequests(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// A dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed.
    #[error("storage error")]
    Store(#[from] lifeline_store::StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(e) => {
                tracing::error!(error = %e, "api storage failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
