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

/// Sends µ-law RTP from `sock` to `to`: `frames` frames of `samples(n)` starting at
/// sequence `seq`.
fn send_audio(
    sock: &UdpSocket,
    to: std::net::SocketAddr,
    seq: &mut u16,
    frames: usize,
    f: impl Fn(usize) -> i16,
) {
    let mut pkt = Vec::new();
    let start = Instant::now();
    for i in 0..frames {
        let payload: Vec<u8> = (0..160)
            .map(|k| lifeline_media::g711::linear_to_ulaw(f(i * 160 + k)))
            .collect();
        let header = lifeline_media::rtp::RtpHeader {
            payload_type: 0,
            marker: i == 0,
            sequence: *seq,
            timestamp: u32::from(*seq) * 160,
            ssrc: 0x1234_5678,
        };
        header.write(&payload, &mut pkt);
        sock.send_to(&pkt, to).unwrap();
        *seq = seq.wrapping_add(1);
        // Real-time pacing: a frame every 20 ms, waited for on the socket itself.
        let due = start + Duration::from_millis(20 * (i as u64 + 1));
        wait_for("the next frame slot", Duration::from_secs(5), || {
            (Instant::now() >= due).then_some(())
        });
    }
}

#[test]
fn in_band_tones_are_detected_as_digits() {
    let server = Lifeline::start();
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
        "INVITE sip:12399@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bKinband;rport\r\n\
         From: <sip:13900000000@127.0.0.1>;tag=ib\r\nTo: <sip:12399@127.0.0.1>\r\nCall-ID: inband1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:13900000000@127.0.0.1:{sp}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sig.send_to(invite.as_bytes(), server.sip).unwrap();
    let mut buf = [0u8; 4096];
    let ok = wait_for("200 OK", Duration::from_secs(10), || {
        let n = sig.recv(&mut buf).ok()?;
        let t = String::from_utf8_lossy(&buf[..n]).into_owned();
        t.starts_with("SIP/2.0 200").then_some(t)
    });
    let tag = ok
        .lines()
        .find(|l| l.starts_with("To:"))
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let ack = format!(
        "ACK sip:lifeline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bKinbandack;rport\r\n\
         From: <sip:13900000000@127.0.0.1>;tag=ib\r\nTo: <sip:12399@127.0.0.1>;tag={tag}\r\nCall-ID: inband1\r\n\
         CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sig.send_to(ack.as_bytes(), server.sip).unwrap();
    // Lifeline's RTP port, from its SDP answer.
    let port: u16 = ok
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut seq = 1;
    // Silence through the welcome, then key 2 (697 + 1336 Hz) for 100 ms, then silence.
    send_audio(&media, to, &mut seq, 300, |_| 0);
    let tone = |n: usize| {
        let t = n as f64 / 8000.0;
        (6000.0
            * ((2.0 * std::f64::consts::PI * 697.0 * t).sin()
                + (2.0 * std::f64::consts::PI * 1336.0 * t).sin())) as i16
    };
    send_audio(&media, to, &mut seq, 5, tone);
    send_audio(&media, to, &mut seq, 50, |_| 0);
    let bye = format!(
        "BYE sip:lifeline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bKinbandbye;rport\r\n\
         From: <sip:13900000000@127.0.0.1>;tag=ib\r\nTo: <sip:12399@127.0.0.1>;tag={tag}\r\nCall-ID: inband1\r\n\
         CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sig.send_to(bye.as_bytes(), server.sip).unwrap();
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
