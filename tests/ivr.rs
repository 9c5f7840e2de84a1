//! The IVR end to end: a caller's keypad (RFC 2833 events from real sipp, and in-band
//! tones in the audio) walks the 12333-style menu on the 24-hour line 12399; the call
//! record keeps the path taken and a two-channel recording of the call.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::time::Duration;

use common::raw_call::{RawCall, channel_energy, dtmf};
use common::{Lifeline, RtpSink, assert_sipp_ok, free_port, sipp, wait_for};

/// The steps of a record's `ivr_path`, as "node:digits".
fn steps(rec: &serde_json::Value) -> Vec<String> {
    rec["ivr_path"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{}:{}",
                        s["node"].as_str().unwrap_or(""),
                        s["digits"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn rfc2833_digit_from_sipp_selects_the_menu_branch() {
    let server = Lifeline::start();
    let sink = RtpSink::bind();
    let media_port = free_port().to_string();
    let out = sipp(
        "ivr_dtmf.xml",
        server.sip,
        "udp",
        &[
            "-s",
            "12399",
            "-set",
            "rtp_port",
            &sink.port.to_string(),
            "-mi",
            "127.0.0.1",
            "-mp",
            &media_port,
        ],
    );
    assert_sipp_ok(&out, "ivr call pressing 1", &server);
    let rec = server.wait_call("the IVR record", |c| {
        c["to"] == "12399" && !c["ended_at"].is_null()
    });
    let path = steps(&rec);
    assert!(path.iter().any(|s| s == "main:1"), "menu took 1: {path:?}");
    assert!(
        path.iter().any(|s| s.starts_with("social-insurance")),
        "went to the queue: {path:?}"
    );
    // The welcome and menu prompts were heard (50 packets/s for ~6 s before latching moved
    // the stream to sipp's media port).
    assert!(sink.count() > 100, "only {} prompt packets", sink.count());
    let url = rec["recording"].as_str().expect("a recording");
    let (status, wav) = server.get_raw(url);
    assert_eq!(status, 200, "the recording is served");
    let (_, other) = channel_energy(&wav);
    assert!(
        other > 1_000_000,
        "Lifeline's channel holds the prompts ({other})"
    );
}

#[test]
fn in_band_tones_are_detected_as_digits() {
    let server = Lifeline::start();
    let mut call = RawCall::place(&server, "12399", "inband1");
    // Silence through the welcome, then key 2 for 100 ms, then silence.
    call.send_audio(300, |_| 0);
    call.send_audio(5, dtmf(697.0, 1336.0));
    call.send_audio(50, |_| 0);
    call.request("BYE", 2, &server);
    let rec = server.wait_call("the in-band record", |c| {
        c["call_id"] == "inband1" && !c["ended_at"].is_null()
    });
    let path = steps(&rec);
    assert!(
        path.iter().any(|s| s == "main:2"),
        "in-band 2 chose employment: {path:?}"
    );
    let (status, wav) = server.get_raw(rec["recording"].as_str().expect("a recording"));
    assert_eq!(status, 200);
    let (caller, _) = channel_energy(&wav);
    assert!(caller > 0, "the caller's channel holds the tone they sent");
}

/// A copy of the demo config with `12398`: the 12333 menu on a schedule that never
/// opens, so the after-hours branch runs whatever the time.
fn closed_line_config() -> tempfile::TempDir {
    common::demo_config_plus(
        r#"
[[schedules]]
name = "never"
utc_offset_minutes = 0

[[flows]]
name = "12333-closed"
nodes_from = "12333"

[flows.nodes.hours]
type = "hours"
schedule = "never"
open = "welcome"
closed = "closed"

[[numbers]]
number = "12398"
name = "Always-closed test line"
kind = "ivr"
flow = "12333-closed"
"#,
    )
}

#[test]
fn after_hours_callers_leave_a_voice_message() {
    let config = closed_line_config();
    let server = Lifeline::start_with_config(&config.path().join("lifeline.toml"));
    let mut call = RawCall::place(&server, "12398", "vm1");
    // The closed message, the invitation and the beep take about 15.6 s.
    call.send_audio(820, |_| 0);
    // Two seconds of "speech" (a 300 Hz tone), then # in band (941 + 1477 Hz).
    call.send_audio(100, |n| {
        (8000.0 * (2.0 * std::f64::consts::PI * 300.0 * n as f64 / 8000.0).sin()) as i16
    });
    call.send_audio(5, dtmf(941.0, 1477.0));
    // Goodbye, then Lifeline hangs up.
    let bye = RawCall::recv(&call.sig, "BYE ");
    assert!(bye.contains("Call-ID: vm1"), "{bye}");
    let rec = server.wait_call("the voicemail call's record", |c| {
        c["call_id"] == "vm1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "ivr hung up", "{rec}");
    let path = steps(&rec);
    assert!(path.iter().any(|s| s.starts_with("voicemail")), "{path:?}");
    let msg = wait_for("the voice message", Duration::from_secs(10), || {
        let (_, list) = server.get("/api/v1/voicemails");
        list.as_array()
            .and_then(|l| l.iter().find(|v| v["call_id"] == "vm1").cloned())
    });
    assert_eq!(msg["dialled"], "12398", "{msg}");
    let ms = msg["duration_ms"].as_i64().unwrap();
    assert!(
        (1_500..=4_000).contains(&ms),
        "about two seconds of message, got {ms} ms"
    );
    let (status, wav) = server.get_raw(msg["audio"].as_str().unwrap());
    assert_eq!(status, 200);
    assert!(
        wav.len() > 44 + 2 * 8000,
        "a WAV with the message: {} bytes",
        wav.len()
    );
}

#[test]
fn self_service_balance_query_reads_the_database() {
    let server = Lifeline::start();
    let csv = std::fs::read_to_string(common::root().join("sip-config/selfservice/balances.csv"))
        .unwrap();
    // The ID of the first demo row (the value is read back as audio, not kept).
    let id = csv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("key,"))
        .find_map(|l| l.split_once(',').map(|(id, _)| id))
        .expect("a demo row");
    let mut call = RawCall::place(&server, "12399", "bal1");
    call.send_audio(250, |_| 0); // the welcome
    call.press("9");
    call.send_audio(25, |_| 0);
    call.press(&format!("{id}#"));
    call.send_audio(100, |_| 0); // the lookup and the start of the answer
    call.request("BYE", 2, &server);
    let rec = server.wait_call("the query record", |c| {
        c["call_id"] == "bal1" && !c["ended_at"].is_null()
    });
    let path = rec["ivr_path"].as_array().cloned().unwrap_or_default();
    let step = |node: &str, field: &str| {
        path.iter()
            .find(|s| s["node"] == node)
            .and_then(|s| s[field].as_str())
            .map(str::to_owned)
    };
    assert_eq!(step("main", "digits").as_deref(), Some("9"), "{path:?}");
    assert_eq!(
        step("enter-id", "digits").as_deref(),
        Some(id),
        "the ID, without the # that ended it: {path:?}"
    );
    assert_eq!(
        step("lookup", "result").as_deref(),
        Some("found"),
        "found in the database table: {path:?}"
    );
    assert!(
        path.iter().any(|s| s["node"] == "balance"),
        "the balance was read back: {path:?}"
    );
}
