//! Every RFC 4475 torture message sent over UDP to a running Lifeline gets the
//! treatment the RFC asks of a registrar/UAS (the `lifeline` column of
//! `crates/sip/tests/rfc4475/expected.toml`), and the server keeps answering OPTIONS
//! after each one.
//!
//! The only change made to the RFC's bytes: `;rport` is added to the top Via, as an
//! RFC 3581 client would, so that responses come back to this test's socket instead of
//! the example hosts' port 5060.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on setup failure by design

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{Lifeline, root};

#[derive(serde::Deserialize)]
struct Expectation {
    lifeline: String,
}

/// Inserts `;rport` at the end of the first Via value of the top Via field.
fn with_rport(msg: &[u8]) -> Vec<u8> {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(msg.len());
    let mut line_start = msg
        .iter()
        .position(|b| *b == b'\n')
        .map_or(msg.len(), |i| i + 1);
    while line_start < head_end {
        let line_end = msg[line_start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(msg.len(), |i| line_start + i);
        let line = &msg[line_start..line_end];
        let name = line.split(|b| *b == b':').next().unwrap_or(&[]);
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        if name == "via" || name == "v" {
            // The field runs over folded continuation lines.
            let mut end = line_end;
            while end + 2 < msg.len() && matches!(msg[end + 2], b' ' | b'\t') {
                end = msg[end + 2..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(msg.len(), |i| end + 2 + i);
            }
            let field = &msg[line_start..end];
            let at = field
                .iter()
                .position(|b| *b == b',')
                .map_or(end, |i| line_start + i);
            let mut out = msg[..at].to_vec();
            out.extend_from_slice(b";rport");
            out.extend_from_slice(&msg[at..]);
            return out;
        }
        line_start = line_end + 2;
    }
    msg.to_vec()
}

/// The final (non-100) status of what comes back within `window`, if anything.
fn final_status(sock: &UdpSocket, window: Duration) -> Option<u16> {
    let deadline = Instant::now() + window;
    let mut buf = [0u8; 65536];
    while Instant::now() < deadline {
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let text = String::from_utf8_lossy(&buf[..n]);
        let status = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse::<u16>().ok());
        match status {
            Some(100) | None => continue,
            Some(s) => return Some(s),
        }
    }
    None
}

fn options_ok(sock: &UdpSocket, server: &Lifeline, n: usize) -> bool {
    let port = sock.local_addr().unwrap().port();
    let msg = format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKalive{n};rport\r\n\
         From: <sip:probe@127.0.0.1>;tag=p{n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: alive{n}\r\nCSeq: 1 OPTIONS\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(msg.as_bytes(), server.sip).unwrap();
    final_status(sock, Duration::from_secs(5)) == Some(200)
}

#[test]
fn all_49_torture_messages_over_udp() {
    let server = Lifeline::start();
    let dir = root().join("crates/sip/tests/rfc4475");
    let table: BTreeMap<String, Expectation> =
        toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
    let mut report = Vec::new();
    let mut wrong = 0;
    for (i, (name, e)) in table.iter().enumerate() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let bytes = with_rport(&std::fs::read(dir.join(format!("{name}.dat"))).unwrap());
        sock.send_to(&bytes, server.sip).unwrap();
        // A message that must go unanswered is given a bounded window to prove it.
        let window = if e.lifeline == "none" {
            Duration::from_millis(400)
        } else {
            Duration::from_secs(5)
        };
        let got = final_status(&sock, window).map_or("none".to_owned(), |s| s.to_string());
        let alive = options_ok(&sock, &server, i);
        let ok = got == e.lifeline && alive;
        wrong += usize::from(!ok);
        report.push(format!(
            "{:<10} expected {:<4} got {:<4} {}",
            name,
            e.lifeline,
            got,
            if alive { "" } else { "SERVER DOWN" }
        ));
    }
    println!("{}", report.join("\n"));
    assert_eq!(
        wrong,
        0,
        "{wrong} of {} wrong:\n{}\n--- log ---\n{}",
        table.len(),
        report.join("\n"),
        server.log()
    );
}
