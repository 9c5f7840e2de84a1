//! Login over HTTP: `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me`, and
//! the session lookup the other handlers use (cookie `lifeline_session`, or
//! `Authorization: Bearer TOKEN`, or `?token=` for WebSockets, which cannot set headers).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{LoginError, UserInfo};
use crate::{ApiError, AppState};

/// The session cookie's name.
pub const COOKIE: &str = "lifeline_session";

/// Password checks running at once.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The session token a request carries, if any.
pub(crate) fn token_of(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v);
    bearer
        .or(cookie)
        .or(query_token)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The logged-in user of a request if their role is one of `roles`: 401 without a
/// session, 403 with the wrong role.
pub(crate) fn require(
    s: &AppState,
    headers: &HeaderMap,
    roles: &[&str],
) -> Result<UserInfo, ApiError> {
    let user = user_of(s, headers, None)?;
    if roles.contains(&user.role) {
        Ok(user)
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} may not do this",
            user.role
        )))
    }
}

/// Roles that manage calls and agents.
pub(crate) const SUPERVISORS: &[&str] = &["supervisor", "admin"];

/// The logged-in user of a request, or 401.
pub(crate) fn user_of(
    s: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<UserInfo, ApiError> {
    token_of(headers, query_token)
        .and_then(|t| s.accounts.session(&t))
        .ok_or_else(|| ApiError::Unauthorized("log in first".into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    user: String,
    password: String,
}

/// Opens a session: the token (also as an HttpOnly cookie) and the user.
pub(crate) async fn login(
    State(s): State<AppState>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(c) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let accounts = s.accounts.clone();
    // argon2 is slow and takes 19 MiB on purpose: keep it off the async workers, and
    // run few at once so a burst of logins does not balloon the process.
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("login failed".into()))?;
    let result = tokio::task::spawn_blocking(move || accounts.login(&c.user, &c.password))
        .await
        .map_err(|_| ApiError::Unavailable("login failed".into()))?;
    match result {
        Ok((token, user)) => {
            let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
            let mut resp =
                Json(serde_json::json!({ "token": token, "user": user })).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(LoginError::Refused) => Err(ApiError::Unauthorized(LoginError::Refused.to_string())),
        Err(e @ LoginError::LockedOut) => Err(ApiError::TooManyRequests(e.to_string())),
    }
}

/// Ends the request's session.
pub(crate) async fn logout(State(s): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    if let Some(t) = token_of(&headers, None) {
        s.accounts.logout(&t);
    }
    let clear = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    (
        StatusCode::OK,
        [(header::SET_COOKIE, clear)],
        Json(serde_json::json!({ "logged_out": true })),
    )
}

/// The logged-in user.
pub(crate) async fn me(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    user_of(&s, &headers, None).map(Json)
}
