//! The ACD end to end, with real sipp agents (registered UAS phones) and callers:
//! calls distributed round robin (`rrmemory`), an agent who does not answer is
//! auto-paused and the call goes to the next, wrap-up holds an agent back, agents log
//! in by API and by feature code (`*41`, digest-challenged), and every call record,
//! queue log line and live statistic says what happened.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::process::Child;
use std::time::Duration;

use common::raw_call::RawCall;
use common::ws::WsClient;
use common::{Lifeline, RtpSink, assert_sipp_ok, free_port, register, sipp, sipp_spawn, wait_for};

/// Test agents and queues on top of the demo config: `12381` round robin over 5001 and
/// 5002; `12382` linear over 5003 (auto-paused after one unanswered offer) then 5004,
/// ringing 2 s each; `12383` to 5005 alone, with 3 s of wrap-up.
const ACD_CONFIG: &str = r#"
[[users]]
id = "5001"
password = "pw5001"

[[users]]
id = "5002"
password = "pw5002"

[[users]]
id = "5003"
password = "pw5003"
max_no_answer = 1

[[users]]
id = "5004"
password = "pw5004"

[[users]]
id = "5005"
password = "pw5005"
wrap_up_secs = 3

[[users]]
id = "5006"
password = "pw5006"

[[queues]]
name = "t-survey"
strategy = "linear"
members = ["5006"]
satisfaction_survey = true

[[queues]]
name = "t-timeout"
strategy = "linear"
timeout_secs = 1

[[users]]
id = "5007"
password = "pw5007"

[[queues]]
name = "t-callback"
strategy = "linear"
members = ["5007"]
callback_key = "*"
callback_on_abandon = true

[[numbers]]
number = "12386"
name = "Callback test line"
kind = "queue"
queue = "t-callback"

[[queues]]
name = "t-voicemail"
strategy = "linear"
timeout_secs = 1
voicemail_on_timeout = true

[[numbers]]
number = "12387"
name = "Queue voicemail test line"
kind = "queue"
queue = "t-voicemail"

[[numbers]]
number = "12384"
name = "Survey test line"
kind = "queue"
queue = "t-survey"

[[numbers]]
number = "12385"
name = "Timeout test line"
kind = "queue"
queue = "t-timeout"

[[queues]]
name = "t-rr"
strategy = "rrmemory"
members = ["5001", "5002"]

[[queues]]
name = "t-pause"
strategy = "linear"
members = ["5003", "5004"]
ring_timeout_secs = 2

[[queues]]
name = "t-wrap"
strategy = "linear"
members = ["5005"]

[[numbers]]
number = "12381"
name = "Round robin test line"
kind = "queue"
queue = "t-rr"

[[numbers]]
number = "12382"
name = "Auto-pause test line"
kind = "queue"
queue = "t-pause"

[[numbers]]
number = "12383"
name = "Wrap-up test line"
kind = "queue"
queue = "t-wrap"
"#;

fn start() -> (tempfile::TempDir, Lifeline) {
    let config = common::demo_config_plus(ACD_CONFIG);
    let server = Lifeline::start_with_config(&config.path().join("lifeline.toml"));
    (config, server)
}

/// A registered sipp phone for `user` running `scenario` for `calls` calls.
fn phone(server: &Lifeline, user: &str, scenario: &str, calls: u32) -> (Child, RtpSink) {
    let port = free_port();
    let rtp = RtpSink::bind();
    let (port_arg, calls_arg, rtp_arg) =
        (port.to_string(), calls.to_string(), rtp.port.to_string());
    let mut args = vec!["-p", &port_arg, "-m", &calls_arg];
    // Only a phone that answers has media.
    if scenario == "agent_answer.xml" {
        args.extend(["-set", "rtp_port", &rtp_arg]);
    }
    let child = sipp_spawn(scenario, server.sip, "udp", &args);
    register(server, "udp", user, &format!("pw{user}"), port);
    (child, rtp)
}

fn set_status(server: &Lifeline, agent: &str, body: &str) -> serde_json::Value {
    let (status, json) = server.post_json(&format!("/api/v1/agents/{agent}/status"), body);
    assert_eq!(status, 200, "{json}");
    json
}

fn agent(server: &Lifeline, id: &str) -> serde_json::Value {
    let (status, agents) = server.get("/api/v1/agents");
    assert_eq!(status, 200, "{agents}");
    agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("agent {id} not listed: {agents}"))
}

fn queue(server: &Lifeline, name: &str) -> serde_json::Value {
    let (status, queues) = server.get("/api/v1/queues");
    assert_eq!(status, 200, "{queues}");
    queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("queue {name} not listed: {queues}"))
}

/// A caller to `number` who stays `hold_ms` after Lifeline answers, then hangs up.
fn caller(server: &Lifeline, number: &str, hold_ms: u32) -> Child {
    let rtp = RtpSink::bind();
    sipp_spawn(
        "call.xml",
        server.sip,
        "udp",
        &[
            "-s",
            number,
            "-d",
            &hold_ms.to_string(),
            "-set",
            "rtp_port",
            &rtp.port.to_string(),
        ],
    )
}

/// The ended records of calls to `number`, oldest first, once there are `n`.
fn records(server: &Lifeline, number: &str, n: usize) -> Vec<serde_json::Value> {
    wait_for(
        &format!("{n} records of {number}"),
        Duration::from_secs(20),
        || {
            let mut calls: Vec<_> = server
                .calls()
                .into_iter()
                .filter(|c| c["to"] == number && !c["ended_at"].is_null())
                .collect();
            calls.reverse();
            (calls.len() >= n).then_some(calls)
        },
    )
}

fn events(server: &Lifeline, call_id: &str) -> Vec<String> {
    let (status, log) = server.get(&format!("/api/v1/queue_log?call_id={call_id}"));
    assert_eq!(status, 200, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rrmemory_alternates_agents_and_records_queue_agent_and_wait() {
    let (_config, server) = start();
    let (p1, _r1) = phone(&server, "5001", "agent_answer.xml", 2);
    let (p2, _r2) = phone(&server, "5002", "agent_answer.xml", 2);
    for a in ["5001", "5002"] {
        let now = set_status(&server, a, r#"{"status": "available"}"#);
        assert_eq!(now["status"], "available", "{now}");
    }
    for i in 1..=4 {
        let out = caller(&server, "12381", 1500).wait_with_output().unwrap();
        assert_sipp_ok(&out, "a caller to the round-robin queue", &server);
        // Each call is over (and its agent free) before the next caller.
        records(&server, "12381", i);
    }
    for p in [p1, p2] {
        assert_sipp_ok(&p.wait_with_output().unwrap(), "an agent phone", &server);
    }
    let recs = records(&server, "12381", 4);
    let agents: Vec<&str> = recs.iter().map(|r| r["agent"].as_str().unwrap()).collect();
    assert!(
        agents.windows(2).all(|w| w[0] != w[1]),
        "rrmemory alternates: {agents:?}"
    );
    for r in &recs {
        assert_eq!(r["queue"], "t-rr", "{r}");
        assert_eq!(r["result"], "answered", "{r}");
        assert!(r["wait_seconds"].as_f64().unwrap() < 5.0, "{r}");
        let ev = events(&server, r["call_id"].as_str().unwrap());
        assert_eq!(ev, ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"], "{r}");
    }
    let q = queue(&server, "t-rr");
    assert_eq!(
        (q["offered"].as_u64(), q["answered"].as_u64()),
        (Some(4), Some(4)),
        "{q}"
    );
    assert_eq!(q["abandoned"], 0, "{q}");
}

#[test]
fn an_agent_who_does_not_answer_is_auto_paused_and_the_next_takes_the_call() {
    let (_config, server) = start();
    let (ringer, _r3) = phone(&server, "5003", "agent_ring.xml", 1);
    let (answerer, _r4) = phone(&server, "5004", "agent_answer.xml", 1);
    // Both log in from the phone with *41 (a 407 challenge answered with their password).
    for user in ["5003", "5004"] {
        let out = sipp(
            "feature_code.xml",
            server.sip,
            "udp",
            &[
                "-s",
                "*41",
                "-au",
                user,
                "-ap",
                &format!("pw{user}"),
                "-set",
                "user",
                user,
                "-set",
                "rtp_port",
                &free_port().to_string(),
            ],
        );
        assert_sipp_ok(&out, "*41 from the agent's phone", &server);
        assert_eq!(agent(&server, user)["status"], "available");
    }
    let out = caller(&server, "12382", 6000).wait_with_output().unwrap();
    assert_sipp_ok(&out, "the caller", &server);
    assert_sipp_ok(
        &ringer.wait_with_output().unwrap(),
        "the phone that rings out",
        &server,
    );
    assert_sipp_ok(
        &answerer.wait_with_output().unwrap(),
        "the phone that answers",
        &server,
    );
    let rec = &records(&server, "12382", 1)[0];
    assert_eq!(rec["agent"], "5004", "{rec}");
    let paused = agent(&server, "5003");
    assert_eq!(paused["status"], "break", "{paused}");
    assert!(
        paused["reason"].as_str().unwrap().contains("auto-paused"),
        "{paused}"
    );
    let ev = events(&server, rec["call_id"].as_str().unwrap());
    assert_eq!(
        ev,
        ["ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETECALLER"],
        "{rec}"
    );
}

#[test]
fn wrap_up_holds_the_agent_back_before_the_next_caller() {
    let (_config, server) = start();
    let (agent_phone, _r) = phone(&server, "5005", "agent_answer.xml", 2);
    set_status(&server, "5005", r#"{"status": "available"}"#);
    let first = caller(&server, "12383", 1000);
    wait_for(
        "the first caller connected",
        Duration::from_secs(10),
        || (agent(&server, "5005")["state"] == "on_call").then_some(()),
    );
    let second = caller(&server, "12383", 6000);
    assert_sipp_ok(
        &first.wait_with_output().unwrap(),
        "the first caller",
        &server,
    );
    wait_for(
        "wrap-up after the first call",
        Duration::from_secs(10),
        || (agent(&server, "5005")["state"] == "wrap_up").then_some(()),
    );
    assert_sipp_ok(
        &second.wait_with_output().unwrap(),
        "the second caller",
        &server,
    );
    assert_sipp_ok(
        &agent_phone.wait_with_output().unwrap(),
        "the agent",
        &server,
    );
    let recs = records(&server, "12383", 2);
    let waited = recs[1]["wait_seconds"].as_f64().unwrap();
    assert!(
        waited >= 2.8,
        "the second caller waited out the wrap-up: {}",
        recs[1]
    );
    assert_eq!(recs[1]["agent"], "5005");
}

#[test]
fn agent_status_api_validates_its_input() {
    let (_config, server) = start();
    let path = "/api/v1/agents/5001/status";
    let body = r#"{"status": "available"}"#;
    let (status, _) = common::json_of(common::http_request(server.http, "POST", path, body, None));
    assert_eq!(status, 401, "a status change needs a login");
    let (_, login) = server.post_json("/api/v1/login", r#"{"user": "5002", "password": "pw5002"}"#);
    let agent_token = login["token"].as_str().unwrap();
    let (status, _) = common::json_of(common::http_request(
        server.http,
        "POST",
        path,
        body,
        Some(agent_token),
    ));
    assert_eq!(status, 403, "an agent changes only their own status");
    let own = "/api/v1/agents/5002/status";
    let (status, _) = common::json_of(common::http_request(
        server.http,
        "POST",
        own,
        body,
        Some(agent_token),
    ));
    assert_eq!(status, 200, "but does change their own");
    let (status, body) =
        server.post_json("/api/v1/agents/9999/status", r#"{"status": "available"}"#);
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.post_json("/api/v1/agents/5001/status", r#"{"status": "lunch"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("lunch"), "{body}");
    let (status, body) = server.post_json("/api/v1/agents/5001/status", "{");
    assert_eq!(status, 400, "{body}");
    let now = set_status(&server, "5001", r#"{"status": "break", "reason": "lunch"}"#);
    assert_eq!(
        (now["status"].as_str(), now["reason"].as_str()),
        (Some("break"), Some("lunch"))
    );
    let demo = agent(&server, "1001");
    assert_eq!(demo["status"], "logged_out", "{demo}");
    assert!(
        demo["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q == "citizen"),
        "{demo}"
    );
    let (status, body) = server.get("/api/v1/calls/abc");
    assert_eq!(status, 400, "a malformed id gets a JSON error: {body}");
    assert!(body["error"].is_string(), "{body}");
}

#[test]
fn a_caller_rates_the_call_after_the_agent_hangs_up() {
    let (_config, server) = start();
    let port = free_port();
    let rtp = RtpSink::bind();
    let agent_phone = sipp_spawn(
        "agent_hangup.xml",
        server.sip,
        "udp",
        &[
            "-p",
            &port.to_string(),
            "-d",
            "1000",
            "-set",
            "rtp_port",
            &rtp.port.to_string(),
        ],
    );
    register(&server, "udp", "5006", "pw5006", port);
    set_status(&server, "5006", r#"{"status": "available"}"#);
    let mut call = RawCall::place(&server, "12384", "survey1");
    // The agent answers at once and hangs up after a second; the question follows.
    call.send_audio(150, |_| 0);
    call.press("4");
    let bye = RawCall::recv(&call.sig, "BYE ");
    assert!(bye.contains("Call-ID: survey1"), "{bye}");
    assert_sipp_ok(
        &agent_phone.wait_with_output().unwrap(),
        "the agent who hangs up",
        &server,
    );
    let rec = server.wait_call("the surveyed call", |c| {
        c["call_id"] == "survey1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["satisfaction"], 4, "{rec}");
    assert_eq!(rec["agent"], "5006", "{rec}");
    assert_eq!(rec["cause"], "callee hung up", "{rec}");
    assert_eq!(
        events(&server, "survey1"),
        ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    );
}

#[test]
fn a_caller_nobody_takes_leaves_at_the_queue_timeout() {
    let (_config, server) = start();
    let rtp = RtpSink::bind();
    let out = sipp(
        "call_hungup_by_lifeline.xml",
        server.sip,
        "udp",
        &["-s", "12385", "-set", "rtp_port", &rtp.port.to_string()],
    );
    assert_sipp_ok(&out, "the caller Lifeline hangs up", &server);
    let rec = &records(&server, "12385", 1)[0];
    assert_eq!(rec["cause"], "queue timeout", "{rec}");
    assert_eq!(rec["queue"], "t-timeout", "{rec}");
    assert!(rec["agent"].is_null(), "{rec}");
    assert!(rec["wait_seconds"].as_f64().unwrap() >= 0.9, "{rec}");
    let ev = events(&server, rec["call_id"].as_str().unwrap());
    assert_eq!(ev, ["ENTERQUEUE", "EXITWITHTIMEOUT"], "{rec}");
    let q = queue(&server, "t-timeout");
    assert_eq!(q["timed_out"], 1, "{q}");
}

#[test]
fn the_live_feed_pushes_agent_changes_and_queue_events() {
    let (_config, server) = start();
    let mut feed = WsClient::connect(server.http, "/api/v1/events");
    let first = feed.wait_json("the queues snapshot", Duration::from_secs(5), |v| {
        v["type"] == "queues"
    });
    assert!(
        first["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "citizen"),
        "{first}"
    );
    feed.wait_json("the agents snapshot", Duration::from_secs(5), |v| {
        v["type"] == "agents"
    });
    set_status(
        &server,
        "5001",
        r#"{"status": "break", "reason": "training"}"#,
    );
    feed.wait_json("5001 on break", Duration::from_secs(5), |v| {
        v["type"] == "agents"
            && v["agents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == "5001" && a["status"] == "break" && a["reason"] == "training")
    });
    let rtp = RtpSink::bind();
    let caller = sipp_spawn(
        "call_hungup_by_lifeline.xml",
        server.sip,
        "udp",
        &["-s", "12385", "-set", "rtp_port", &rtp.port.to_string()],
    );
    let entered = feed.wait_json("ENTERQUEUE", Duration::from_secs(10), |v| {
        v["type"] == "queue_event" && v["event"]["event"] == "ENTERQUEUE"
    });
    assert_eq!(entered["event"]["queue"], "t-timeout", "{entered}");
    feed.wait_json("EXITWITHTIMEOUT", Duration::from_secs(10), |v| {
        v["type"] == "queue_event" && v["event"]["event"] == "EXITWITHTIMEOUT"
    });
    assert_sipp_ok(&caller.wait_with_output().unwrap(), "the caller", &server);
}

#[test]
fn a_caller_who_asks_for_a_callback_is_called_back_when_an_agent_is_free() {
    let (_config, server) = start();
    // The resident (sipp) calls while the only agent is logged out and presses *.
    let (resident_port, media_port) = (free_port(), free_port());
    let rtp = RtpSink::bind();
    let out = sipp(
        "callback_request.xml",
        server.sip,
        "udp",
        &[
            "-s",
            "12386",
            "-p",
            &resident_port.to_string(),
            "-mi",
            "127.0.0.1",
            "-mp",
            &media_port.to_string(),
            "-set",
            "rtp_port",
            &rtp.port.to_string(),
        ],
    );
    assert_sipp_ok(&out, "the resident who asks for a callback", &server);
    let first = records(&server, "12386", 1).remove(0);
    assert_eq!(first["cause"], "callback requested", "{first}");
    assert_eq!(queue(&server, "t-callback")["callbacks_pending"], 1);
    // The resident's phone waits for the call back on the port it called from, and
    // hangs up a second after answering; then the agent logs in.
    let resident = sipp_spawn(
        "agent_hangup.xml",
        server.sip,
        "udp",
        &[
            "-p",
            &resident_port.to_string(),
            "-d",
            "1000",
            "-set",
            "rtp_port",
            &RtpSink::bind().port.to_string(),
        ],
    );
    let (agent_phone, _rtp) = phone(&server, "5007", "agent_answer.xml", 1);
    set_status(&server, "5007", r#"{"status": "available"}"#);
    assert_sipp_ok(
        &resident.wait_with_output().unwrap(),
        "the resident called back",
        &server,
    );
    assert_sipp_ok(
        &agent_phone.wait_with_output().unwrap(),
        "the agent",
        &server,
    );
    let back = server.wait_call("the callback's record", |c| {
        c["to"] == "13800138000" && !c["ended_at"].is_null()
    });
    assert_eq!(back["result"], "answered", "{back}");
    assert_eq!(back["agent"], "5007", "{back}");
    assert_eq!(back["queue"], "t-callback", "{back}");
    assert_eq!(back["cause"], "caller hung up", "{back}");
    assert_eq!(
        events(&server, first["call_id"].as_str().unwrap()),
        ["ENTERQUEUE", "CALLBACKREQUEST", "CONNECT", "COMPLETECALLER"]
    );
    assert_eq!(queue(&server, "t-callback")["callbacks_pending"], 0);
}

#[test]
fn a_queue_that_times_out_into_voicemail_keeps_the_message() {
    let (_config, server) = start();
    let mut call = RawCall::place(&server, "12387", "qvm1");
    // One second in the queue, the invitation (about 7 s) and the beep.
    call.send_audio(550, |_| 0);
    call.send_audio(50, |n| {
        (8000.0 * (2.0 * std::f64::consts::PI * 300.0 * n as f64 / 8000.0).sin()) as i16
    });
    call.press("#");
    let bye = RawCall::recv(&call.sig, "BYE ");
    assert!(bye.contains("Call-ID: qvm1"), "{bye}");
    let rec = server.wait_call("the record", |c| {
        c["call_id"] == "qvm1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "queue voicemail", "{rec}");
    let msg = wait_for("the voice message", Duration::from_secs(10), || {
        let (_, list) = server.get("/api/v1/voicemails");
        list.as_array()?
            .iter()
            .find(|v| v["call_id"] == "qvm1")
            .cloned()
    });
    assert_eq!(msg["dialled"], "12387", "{msg}");
    assert!(msg["duration_ms"].as_i64().unwrap() >= 900, "{msg}");
}

#[test]
fn a_caller_who_gives_up_waiting_is_kept_for_a_callback() {
    let (_config, server) = start();
    let rtp = RtpSink::bind();
    let out = sipp(
        "call.xml",
        server.sip,
        "udp",
        &[
            "-s",
            "12386",
            "-d",
            "500",
            "-set",
            "rtp_port",
            &rtp.port.to_string(),
        ],
    );
    assert_sipp_ok(&out, "the caller who hangs up", &server);
    let rec = records(&server, "12386", 1).remove(0);
    assert_eq!(rec["cause"], "caller hung up", "{rec}");
    assert_eq!(
        events(&server, rec["call_id"].as_str().unwrap()),
        ["ENTERQUEUE", "CALLBACKREQUEST"]
    );
    let q = queue(&server, "t-callback");
    assert_eq!(
        (q["callbacks_pending"].as_u64(), q["abandoned"].as_u64()),
        (Some(1), Some(0)),
        "{q}"
    );
}
