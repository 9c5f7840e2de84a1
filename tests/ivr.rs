//! The IVR end to end: a caller's keypad (RFC 2833 events from real sipp, and in-band
//! tones in the audio) walks the 12333-style menu on the 24-hour line 12399; the call
//! record keeps the path taken and a two-channel recording of the call.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

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

/// Mean square of each channel of a 16-bit stereo WAV: (caller, Lifeline).
fn channel_energy(wav: &[u8]) -> (i64, i64) {
    assert!(wav.len() > 44 && &wav[..4] == b"RIFF", "a WAV file");
    let samples: Vec<i64> = wav[44..]
        .chunks_exact(2)
        .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect();
    let n = (samples.len() / 2).max(1) as i64;
    let left: i64 = samples.iter().step_by(2).map(|s| s * s).sum();
    let right: i64 = samples.iter().skip(1).step_by(2).map(|s| s * s).sum();
    (left / n, right / n)
}

/// A caller placed with raw SIP over UDP, sending its own µ-law audio.
struct RawCall {
    sig: UdpSocket,
    media: UdpSocket,
    /// Lifeline's RTP address, from its SDP answer.
    to: std::net::SocketAddr,
    call_id: String,
    number: String,
    tag: String,
    seq: u16,
}

impl RawCall {
    /// INVITE (PCMU only: keys can only come in band), 200, ACK.
    fn place(server: &Lifeline, number: &str, call_id: &str) -> RawCall {
        let sig = UdpSocket::bind("127.0.0.1:0").unwrap();
        sig.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let media = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (sp, mp) = (
            sig.local_addr().unwrap().port(),
            media.local_addr().unwrap().port(),
        );
        let sdp = format!(
            "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {mp} RTP/AVP 0\r\n"
        );
        let invite = format!(
            "INVITE sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bK{call_id}i;rport\r\n\
             From: <sip:13900000000@127.0.0.1>;tag=rc\r\nTo: <sip:{number}@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:13900000000@127.0.0.1:{sp}>\r\nMax-Forwards: 70\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        sig.send_to(invite.as_bytes(), server.sip).unwrap();
        let ok = Self::recv(&sig, "SIP/2.0 200");
        let tag = ok
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap()
            .split("tag=")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        let port: u16 = ok
            .lines()
            .find(|l| l.starts_with("m=audio "))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut call = RawCall {
            sig,
            media,
            to: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            call_id: call_id.to_owned(),
            number: number.to_owned(),
            tag,
            seq: 1,
        };
        call.request("ACK", 1, server);
        call
    }

    fn recv(sig: &UdpSocket, prefix: &str) -> String {
        let mut buf = [0u8; 4096];
        wait_for(prefix, Duration::from_secs(30), || {
            let n = sig.recv(&mut buf).ok()?;
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            t.starts_with(prefix).then_some(t)
        })
    }

    fn request(&mut self, method: &str, cseq: u32, server: &Lifeline) {
        let sp = self.sig.local_addr().unwrap().port();
        let (number, call_id, tag) = (&self.number, &self.call_id, &self.tag);
        let msg = format!(
            "{method} sip:lifeline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bK{call_id}{method};rport\r\n\
             From: <sip:13900000000@127.0.0.1>;tag=rc\r\nTo: <sip:{number}@127.0.0.1>;tag={tag}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        self.sig.send_to(msg.as_bytes(), server.sip).unwrap();
    }

    /// Sends `frames` 20 ms frames of `f(sample index)`, paced in real time.
    fn send_audio(&mut self, frames: usize, f: impl Fn(usize) -> i16) {
        let mut pkt = Vec::new();
        let start = Instant::now();
        for i in 0..frames {
            let payload: Vec<u8> = (0..160)
                .map(|k| lifeline_media::g711::linear_to_ulaw(f(i * 160 + k)))
                .collect();
            let header = lifeline_media::rtp::RtpHeader {
                payload_type: 0,
                marker: i == 0,
                sequence: self.seq,
                timestamp: u32::from(self.seq) * 160,
                ssrc: 0x1234_5678,
            };
            header.write(&payload, &mut pkt);
            self.media.send_to(&pkt, self.to).unwrap();
            self.seq = self.seq.wrapping_add(1);
            let due = start + Duration::from_millis(20 * (i as u64 + 1));
            wait_for("the next frame slot", Duration::from_secs(5), || {
                (Instant::now() >= due).then_some(())
            });
        }
    }
}

/// A DTMF key as audio: the two tones of `(low, high)` Hz.
fn dtmf(low: f64, high: f64) -> impl Fn(usize) -> i16 {
    move |n| {
        let t = n as f64 / 8000.0;
        (6000.0
            * ((2.0 * std::f64::consts::PI * low * t).sin()
                + (2.0 * std::f64::consts::PI * high * t).sin())) as i16
    }
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
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().map(Result::unwrap) {
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&common::root().join("sip-config"), dir.path());
    let mut flows = std::fs::read_to_string(dir.path().join("flows.toml")).unwrap();
    flows.push_str(
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
    );
    std::fs::write(dir.path().join("flows.toml"), flows).unwrap();
    dir
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

/// The DTMF tones of a key: (row, column) frequencies.
fn key_tones(key: char) -> (f64, f64) {
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0];
    let (r, c) = match key {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        '*' => (3, 0),
        '0' => (3, 1),
        _ => (3, 2),
    };
    (rows[r], cols[c])
}

impl RawCall {
    /// Presses `keys` in band: 100 ms of tone, 100 ms of silence each.
    fn press(&mut self, keys: &str) {
        for k in keys.chars() {
            let (low, high) = key_tones(k);
            self.send_audio(5, dtmf(low, high));
            self.send_audio(5, |_| 0);
        }
    }
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
