//! The agent console protocol (`docs/softphone.md`) without a browser: a test client
//! logs in, opens `/api/v1/agent/ws` and speaks the JSON messages itself. Checks what
//! a browser cannot easily show: login is required, a declined offer goes to the next
//! agent and counts as unanswered, a caller who hangs up while the console rings
//! cancels the offer, a second console replaces the first, and bad messages get an
//! error without closing the socket.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::time::Duration;

use common::ws::WsClient;
use common::{Lifeline, RtpSink, assert_sipp_ok, sipp_spawn};

const WAIT: Duration = Duration::from_secs(15);

fn login(server: &Lifeline, agent: &str) -> String {
    let body = format!(r#"{{"user": "{agent}", "password": "pw{agent}"}}"#);
    let (status, json) = server.post_json("/api/v1/login", &body);
    assert_eq!(status, 200, "{json}");
    json["token"].as_str().unwrap().to_owned()
}

/// A console for `agent`, available.
fn console(server: &Lifeline, agent: &str) -> WsClient {
    let token = login(server, agent);
    let mut ws = WsClient::connect(server.http, &format!("/api/v1/agent/ws?token={token}"));
    let welcome = ws.wait_json("welcome", WAIT, |v| v["type"] == "welcome");
    assert_eq!(welcome["agent"]["id"], agent, "{welcome}");
    ws.send_text(r#"{"type": "status", "status": "available"}"#);
    ws.wait_json("available", WAIT, |v| {
        v["type"] == "agent" && v["agent"]["status"] == "available"
    });
    ws
}

fn caller(server: &Lifeline, hold_ms: &str) -> std::process::Child {
    let rtp = RtpSink::bind();
    sipp_spawn(
        "call.xml",
        server.sip,
        "udp",
        &[
            "-s",
            "12345",
            "-d",
            hold_ms,
            "-set",
            "rtp_port",
            &rtp.port.to_string(),
        ],
    )
}

#[test]
fn the_console_needs_a_login() {
    let server = Lifeline::start();
    let (status, _) = common::json_of(common::http_request(
        server.http,
        "GET",
        "/api/v1/agent/ws",
        "",
        None,
    ));
    assert_eq!(status, 401);
    let (status, body) =
        server.post_json("/api/v1/login", r#"{"user": "1001", "password": "wrong"}"#);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "wrong user or password");
    let token = login(&server, "2001");
    let (status, _) = common::json_of(common::http_request(
        server.http,
        "GET",
        &format!("/api/v1/agent/ws?token={token}"),
        "",
        None,
    ));
    assert_eq!(status, 403, "a dispatcher does not answer calls");
}

#[test]
fn a_declined_offer_goes_to_the_next_agent() {
    let server = Lifeline::start();
    let mut first = console(&server, "1001");
    let mut second = console(&server, "1002");
    let call = caller(&server, "3000");
    // rrmemory offers one agent; whoever rings declines, the other is offered next.
    let incoming = |text: Option<String>| -> Option<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(&text?).ok()?;
        (v["type"] == "incoming").then_some(v)
    };
    let (mut ringing, mut other, offered) = {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = incoming(first.next_text(Duration::from_millis(100))) {
                break (first, second, v);
            }
            if let Some(v) = incoming(second.next_text(Duration::from_millis(100))) {
                break (second, first, v);
            }
            assert!(std::time::Instant::now() < deadline, "no console rang");
        }
    };
    let offer = offered["offer"].as_u64().unwrap();
    ringing.send_text(&format!(r#"{{"type": "decline", "offer": {offer}}}"#));
    let incoming = other.wait_json("the other agent rings", WAIT, |v| v["type"] == "incoming");
    assert_eq!(incoming["queue"], "citizen", "{incoming}");
    assert_eq!(incoming["caller"], "13800138000", "{incoming}");
    // The caller hangs up while it rings: the offer is cancelled.
    assert_sipp_ok(&call.wait_with_output().unwrap(), "the caller", &server);
    let cancelled = other.wait_json("cancelled", WAIT, |v| v["type"] == "cancelled");
    assert_eq!(cancelled["reason"], "caller_left", "{cancelled}");
    let (_, agents) = server.get("/api/v1/agents");
    let decliner = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["missed"] == 1)
        .cloned();
    assert!(decliner.is_some(), "the decline counts as missed: {agents}");
}

#[test]
fn a_second_console_replaces_the_first_and_bad_messages_get_errors() {
    let server = Lifeline::start();
    let mut first = console(&server, "1003");
    first.send_text("{not json");
    let error = first.wait_json("error", WAIT, |v| v["type"] == "error");
    assert!(
        error["message"].as_str().unwrap().contains("bad message"),
        "{error}"
    );
    first.send_text(r#"{"type": "status", "status": "lunch"}"#);
    first.wait_json("status error", WAIT, |v| {
        v["type"] == "error" && v["message"].as_str().unwrap_or("").contains("lunch")
    });
    first.send_text(r#"{"type": "ping"}"#);
    first.wait_json("pong", WAIT, |v| v["type"] == "pong");
    let _second = console(&server, "1003");
    first.wait_json("replaced", WAIT, |v| v["type"] == "replaced");
    // The agent is still available: replacing a console keeps its state.
    let (_, agents) = server.get("/api/v1/agents");
    let agent = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "1003")
        .cloned()
        .unwrap();
    assert_eq!(agent["status"], "available", "{agent}");
}
