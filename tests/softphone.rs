//! The browser softphone end to end: real headless Chromium (Debian's `chromium`,
//! driven by `tests/browser/softphone.mjs` with playwright-core) logs an agent in to the
//! console, goes available and answers a call that real sipp places to 12345 on A-law.
//! sipp echoes every RTP packet it receives, so the browser's (fake microphone) audio
//! must cross Lifeline to the caller and come back: the browser's `getStats()` shows
//! inbound packets with audio energy only if both directions work (PCMU in the browser,
//! PCMA on the SIP side). The call record names the agent.
//!
//! The supervisor wallboard (`/wallboard`) is checked the same way: it shows the
//! queues and agents and picks up an agent's status change from the live feed.
//!
//! Skipped with a message when Chromium or the Node packages are missing (the test
//! command installs both: `scripts/services.sh`).

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Lifeline, assert_sipp_ok, free_port, sipp_spawn, wait_for};

fn browser_ready() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let modules = common::root().join("tests/browser/node_modules/playwright-core");
    let ok = std::path::Path::new(&chromium).exists() && modules.exists();
    if !ok {
        assert!(
            std::env::var_os("LIFELINE_REQUIRE_BROWSER").is_none(),
            "Chromium or tests/browser/node_modules missing (run scripts/services.sh)"
        );
        eprintln!("skipped: Chromium or playwright-core not installed");
    }
    ok
}

/// Runs the console script as `agent`; returns its JSON verdict.
fn console(server: &Lifeline, agent: &str, extra: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new("node");
    cmd.arg(common::root().join("tests/browser/softphone.mjs"))
        .env("LIFELINE_HTTP", format!("http://{}", server.http))
        .env("AGENT_USER", agent)
        .env("AGENT_PASSWORD", format!("pw{agent}"))
        .env("RING_WAIT_MS", "30000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("node runs")
}

fn verdict(child: std::process::Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "no verdict from the console script: {stdout}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A sipp caller to 12345 on A-law that echoes all RTP back and hangs up after
/// `hold_ms`.
fn echo_caller(server: &Lifeline, hold_ms: &str) -> std::process::Child {
    let media = free_port().to_string();
    sipp_spawn(
        "call_pcma.xml",
        server.sip,
        "udp",
        &[
            "-s",
            "12345",
            "-d",
            hold_ms,
            "-mi",
            "127.0.0.1",
            "-mp",
            &media,
            "-rtp_echo",
            "-set",
            "rtp_port",
            &media,
        ],
    )
}

fn agent_status(server: &Lifeline, id: &str) -> String {
    let (_, agents) = server.get("/api/v1/agents");
    agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == id))
        .and_then(|a| a["status"].as_str())
        .unwrap_or("")
        .to_owned()
}

fn call_with_browser_agent(hangup_by_agent: bool) {
    if !browser_ready() {
        return;
    }
    let server = Lifeline::start();
    let extra: &[(&str, &str)] = if hangup_by_agent {
        &[("HOLD_MS", "3000"), ("HANGUP", "1")]
    } else {
        &[("HOLD_MS", "3000")]
    };
    let browser = console(&server, "1001", extra);
    wait_for(
        "the agent available in the browser",
        Duration::from_secs(30),
        || (agent_status(&server, "1001") == "available").then_some(()),
    );
    let hold = if hangup_by_agent { "30000" } else { "8000" };
    let caller = echo_caller(&server, hold);
    let v = verdict(browser);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["codec"], "audio/PCMU", "{v}");
    assert!(
        v["inbound_packets"].as_u64().unwrap_or(0) > 50,
        "the browser hears the caller: {v}"
    );
    assert!(
        v["outbound_packets"].as_u64().unwrap_or(0) > 50,
        "the browser sends: {v}"
    );
    assert!(
        v["inbound_energy"].as_f64().unwrap_or(0.0) > 0.0,
        "the browser's own audio came back through the caller: {v}"
    );
    if hangup_by_agent {
        // The caller is hung up by Lifeline after the agent; sipp expects to send BYE
        // itself, so it is stopped here.
        let rec = server.wait_call("the record", |c| {
            c["to"] == "12345" && !c["ended_at"].is_null()
        });
        assert_eq!(rec["cause"], "callee hung up", "{rec}");
        assert_eq!(rec["agent"], "1001", "{rec}");
        let mut caller = caller;
        let _ = caller.kill();
        let _ = caller.wait();
    } else {
        assert_sipp_ok(&caller.wait_with_output().unwrap(), "the caller", &server);
        let rec = server.wait_call("the record", |c| {
            c["to"] == "12345" && !c["ended_at"].is_null()
        });
        assert_eq!(rec["cause"], "caller hung up", "{rec}");
        assert_eq!(rec["agent"], "1001", "{rec}");
        assert_eq!(rec["queue"], "citizen", "{rec}");
    }
}

#[test]
fn a_browser_agent_answers_and_the_caller_hangs_up() {
    call_with_browser_agent(false);
}

#[test]
fn a_browser_agent_answers_and_hangs_up() {
    call_with_browser_agent(true);
}

#[test]
fn a_browser_agent_transfers_the_caller_to_another_browser_agent() {
    if !browser_ready() {
        return;
    }
    let server = Lifeline::start();
    // 1002 is on break: the queue offers it nothing, but a transfer still rings it.
    let second = console(&server, "1002", &[("STATUS", "break"), ("HOLD_MS", "3000")]);
    wait_for(
        "1002 on break in the browser",
        Duration::from_secs(30),
        || (agent_status(&server, "1002") == "break").then_some(()),
    );
    let first = console(
        &server,
        "1001",
        &[("HOLD_MS", "2000"), ("TRANSFER_TO", "1002")],
    );
    wait_for(
        "1001 available in the browser",
        Duration::from_secs(30),
        || (agent_status(&server, "1001") == "available").then_some(()),
    );
    let caller = echo_caller(&server, "14000");
    let v1 = verdict(first);
    assert_eq!(v1["ok"], true, "{v1}");
    assert_eq!(v1["cause"], "transferred", "{v1}");
    let v2 = verdict(second);
    assert_eq!(v2["ok"], true, "{v2}\n{}", server.log());
    assert!(
        v2["inbound_energy"].as_f64().unwrap_or(0.0) > 0.0,
        "audio flows with the second agent: {v2}"
    );
    assert_sipp_ok(&caller.wait_with_output().unwrap(), "the caller", &server);
    let rec = server.wait_call("the record", |c| {
        c["to"] == "12345" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["agent"], "1002", "{rec}");
    let (_, log) = server.get(&format!(
        "/api/v1/queue_log?call_id={}",
        rec["call_id"].as_str().unwrap()
    ));
    let events: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["ENTERQUEUE", "CONNECT", "BLINDTRANSFER"], "{log}");
}

#[test]
fn the_wallboard_shows_queues_and_pushes_agent_changes() {
    if !browser_ready() {
        return;
    }
    let server = Lifeline::start();
    let out = Command::new("node")
        .arg(common::root().join("tests/browser/wallboard.mjs"))
        .env("LIFELINE_HTTP", format!("http://{}", server.http))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|_| {
            panic!(
                "no verdict: {stdout}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert_eq!(v["ok"], true, "{v}");
}
