//! Transfers out of the IVR, end to end: a caller transferred to a user's registered
//! phone (real sipp echoing RTP) talks to it through Lifeline's media session, and the
//! recording holds both sides; a transfer to a number continues in that number's flow;
//! a transfer to a phone that is not registered ends the call with that cause.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::time::Duration;

use common::raw_call::{RawCall, channel_energy};
use common::{Lifeline, assert_sipp_ok, free_port, register, sipp_spawn, wait_for};

/// The demo config plus test lines: `12391` transfers to user 1002, `12392` to the
/// 12399 menu (a configured number), `12393` to user 1003 (never registered here).
fn transfer_config() -> tempfile::TempDir {
    let mut extra = String::new();
    for (number, flow, target) in [
        ("12391", "to-1002", "1002"),
        ("12392", "to-menu", "12399"),
        ("12393", "to-1003", "1003"),
    ] {
        extra.push_str(&format!(
            r#"
[[flows]]
name = "{flow}"
start = "go"
[flows.nodes.go]
type = "transfer"
number = "{target}"

[[numbers]]
number = "{number}"
name = "Transfer test {number}"
kind = "ivr"
flow = "{flow}"
"#
        ));
    }
    common::demo_config_plus(&extra)
}

fn steps(rec: &serde_json::Value) -> Vec<String> {
    rec["ivr_path"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["node"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn tone(n: usize) -> i16 {
    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8000.0).sin()) as i16
}

#[test]
fn transfer_to_a_registered_phone_bridges_audio_both_ways() {
    let config = transfer_config();
    let server = Lifeline::start_with_config(&config.path().join("lifeline.toml"));
    let (phone_port, phone_media) = (free_port(), free_port());
    // The phone answers and echoes every RTP packet back to its sender.
    let phone = sipp_spawn(
        "agent_answer.xml",
        server.sip,
        "udp",
        &[
            "-p",
            &phone_port.to_string(),
            "-mp",
            &phone_media.to_string(),
            "-rtp_echo",
            "-set",
            "rtp_port",
            &phone_media.to_string(),
        ],
    );
    register(&server, "udp", "1002", "pw1002", phone_port);
    let mut call = RawCall::place(&server, "12391", "xfer1");
    // Ringback, the phone answers; a second of tone goes to the phone and comes back.
    call.send_audio(50, |_| 0);
    call.send_audio(50, tone);
    call.send_audio(10, |_| 0);
    let voiced = call.voiced_packets();
    assert!(
        voiced >= 20,
        "the caller hears its own tone echoed by the phone ({voiced} voiced packets)"
    );
    call.request("BYE", 2, &server);
    let out = phone.wait_with_output().unwrap();
    assert_sipp_ok(&out, "the phone answers and gets the BYE", &server);
    let rec = server.wait_call("the transferred call's record", |c| {
        c["call_id"] == "xfer1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["result"], "answered", "{rec}");
    assert_eq!(rec["cause"], "caller hung up", "{rec}");
    assert_eq!(steps(&rec), ["go"], "{rec}");
    let (status, wav) = server.get_raw(rec["recording"].as_str().expect("a recording"));
    assert_eq!(status, 200);
    let (caller, phone) = channel_energy(&wav);
    assert!(
        caller > 0 && phone > 0,
        "both sides recorded: {caller} {phone}"
    );
}

#[test]
fn transfer_to_a_number_continues_in_its_flow() {
    let config = transfer_config();
    let server = Lifeline::start_with_config(&config.path().join("lifeline.toml"));
    let mut call = RawCall::place(&server, "12392", "xfer2");
    // The 12399 welcome starts playing: prompt audio reaches the caller.
    wait_for("welcome audio", Duration::from_secs(10), || {
        (call.voiced_packets() > 0).then_some(())
    });
    call.request("BYE", 2, &server);
    let rec = server.wait_call("the record", |c| {
        c["call_id"] == "xfer2" && !c["ended_at"].is_null()
    });
    let path = steps(&rec);
    assert_eq!(path.first().map(String::as_str), Some("go"), "{path:?}");
    assert!(
        path.len() > 1,
        "the 12333 flow ran after the transfer: {path:?}"
    );
}

#[test]
fn transfer_to_an_unregistered_phone_ends_the_call() {
    let config = transfer_config();
    let server = Lifeline::start_with_config(&config.path().join("lifeline.toml"));
    let call = RawCall::place(&server, "12393", "xfer3");
    let bye = RawCall::recv(&call.sig, "BYE ");
    assert!(bye.contains("Call-ID: xfer3"), "{bye}");
    let rec = server.wait_call("the record", |c| {
        c["call_id"] == "xfer3" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "transfer failed", "{rec}");
}
