//! The browser consoles of `dispatch-ui/`, embedded at build time (`build.rs`) and
//! served under `/agent/` with a content type from the file name. `/agent/` itself is
//! the agent console, `agent.html`.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    }
}

fn file(path: &str) -> Response {
    match UI_FILES.iter().find(|(name, _)| *name == path) {
        Some((name, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(name)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `/agent/`: the agent console.
pub(crate) async fn agent_index() -> Response {
    file("agent.html")
}

/// `/agent/{file}`: the console's scripts and styles.
pub(crate) async fn agent_file(Path(path): Path<String>) -> Response {
    file(&path)
}
