//! End-to-end SIP against the real binary with real sipp peers, over UDP and TCP:
//! registration with digest auth, hotline calls hung up by either side, a caller's
//! CANCEL carried to a ringing phone, a call bridged to a registered phone, and the
//! call record each one leaves.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on setup failure by design

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{Lifeline, RtpSink, assert_sipp_ok, free_port, register, sipp, sipp_spawn, wait_for};

fn registration_with_digest(transport: &str) {
    let server = Lifeline::start();
    register(&server, transport, "1001", "pw1001", 5099);
    let out = sipp(
        "register_refused.xml",
        server.sip,
        transport,
        &[
            "-au",
            "1002",
            "-ap",
            "wrong",
            "-set",
            "user",
            "1002",
            "-set",
            "contact_port",
            "5099",
        ],
    );
    assert_sipp_ok(&out, "register with a wrong password", &server);
    let out = sipp(
        "register_refused.xml",
        server.sip,
        transport,
        &[
            "-au",
            "7777",
            "-ap",
            "pw",
            "-set",
            "user",
            "7777",
            "-set",
            "contact_port",
            "5099",
        ],
    );
    assert_sipp_ok(&out, "register of an unknown user", &server);
    let (_, stats) = server.get("/api/v1/stats");
    assert_eq!(stats["registrations"], 1, "{stats}");
}

#[test]
fn registration_with_digest_udp() {
    registration_with_digest("udp");
}

#[test]
fn registration_with_digest_tcp() {
    registration_with_digest("tcp");
}

fn hotline_call_hung_up_by_caller(transport: &str) {
    let server = Lifeline::start();
    let sink = RtpSink::bind();
    let out = sipp(
        "call.xml",
        server.sip,
        transport,
        &[
            "-s",
            "12345",
            "-set",
            "rtp_port",
            &sink.port.to_string(),
            "-d",
            "1500",
        ],
    );
    assert_sipp_ok(&out, "call 12345", &server);
    // 1.5 s of held call at 50 packets/s: RTP flows from Lifeline's anchored port.
    let packets = sink.count();
    assert!(packets >= 25, "only {packets} RTP packets from Lifeline");
    let rec = server.wait_call("an ended 12345 record", |c| {
        c["to"] == "12345" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["result"], "answered", "{rec}");
    assert_eq!(rec["cause"], "caller hung up", "{rec}");
    assert!(
        !rec["answered_at"].is_null() && !rec["started_at"].is_null(),
        "{rec}"
    );
    assert!(
        rec["call_id"].as_str().is_some_and(|c| !c.is_empty()),
        "{rec}"
    );
    assert!(
        rec["from"]
            .as_str()
            .is_some_and(|f| f.contains("13800138000")),
        "{rec}"
    );
}

#[test]
fn hotline_call_hung_up_by_caller_udp() {
    hotline_call_hung_up_by_caller("udp");
}

#[test]
fn hotline_call_hung_up_by_caller_tcp() {
    hotline_call_hung_up_by_caller("tcp");
}

fn hotline_call_hung_up_by_lifeline(transport: &str) {
    let server = Lifeline::start();
    let sink = RtpSink::bind();
    let caller = sipp_spawn(
        "call_hungup_by_lifeline.xml",
        server.sip,
        transport,
        &["-s", "12333", "-set", "rtp_port", &sink.port.to_string()],
    );
    let rec = server.wait_call("an answered 12333 call", |c| {
        c["to"] == "12333" && !c["answered_at"].is_null()
    });
    wait_for("RTP from Lifeline", Duration::from_secs(10), || {
        (sink.count() > 5).then_some(())
    });
    let (status, body) = server.post(&format!("/api/v1/calls/{}/hangup", rec["id"]));
    assert_eq!(status, 202, "{body}");
    let out = caller.wait_with_output().unwrap();
    assert_sipp_ok(&out, "call hung up by lifeline", &server);
    let rec = server.wait_call("the ended record", |c| {
        c["id"] == rec["id"] && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "hung up by lifeline", "{rec}");
    assert_eq!(rec["result"], "answered", "{rec}");
    let (status, _) = server.post(&format!("/api/v1/calls/{}/hangup", rec["id"]));
    assert_eq!(status, 409, "a finished call cannot be hung up again");
}

#[test]
fn hotline_call_hung_up_by_lifeline_udp() {
    hotline_call_hung_up_by_lifeline("udp");
}

#[test]
fn hotline_call_hung_up_by_lifeline_tcp() {
    hotline_call_hung_up_by_lifeline("tcp");
}

fn caller_cancels_while_phone_rings(transport: &str) {
    let server = Lifeline::start();
    let phone_port = free_port();
    let phone = sipp_spawn(
        "agent_ring.xml",
        server.sip,
        transport,
        &["-p", &phone_port.to_string()],
    );
    register(&server, transport, "1001", "pw1001", phone_port);
    let sink = RtpSink::bind();
    let out = sipp(
        "call_cancel.xml",
        server.sip,
        transport,
        &["-s", "1001", "-set", "rtp_port", &sink.port.to_string()],
    );
    assert_sipp_ok(&out, "caller cancel", &server);
    let out = phone.wait_with_output().unwrap();
    assert_sipp_ok(&out, "ringing phone receives the CANCEL", &server);
    let rec = server.wait_call("a cancelled record", |c| {
        c["to"] == "1001" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["result"], "cancelled", "{rec}");
    assert_eq!(rec["cause"], "caller cancelled", "{rec}");
    assert!(rec["answered_at"].is_null(), "{rec}");
}

#[test]
fn caller_cancels_while_phone_rings_udp() {
    caller_cancels_while_phone_rings("udp");
}

#[test]
fn caller_cancels_while_phone_rings_tcp() {
    caller_cancels_while_phone_rings("tcp");
}

fn call_bridged_to_a_registered_phone(transport: &str) {
    let server = Lifeline::start();
    let phone_port = free_port();
    let phone_rtp = RtpSink::bind();
    let phone = sipp_spawn(
        "agent_answer.xml",
        server.sip,
        transport,
        &[
            "-p",
            &phone_port.to_string(),
            "-set",
            "rtp_port",
            &phone_rtp.port.to_string(),
        ],
    );
    register(&server, transport, "1002", "pw1002", phone_port);
    let caller_rtp = RtpSink::bind();
    let out = sipp(
        "call.xml",
        server.sip,
        transport,
        &[
            "-s",
            "1002",
            "-set",
            "rtp_port",
            &caller_rtp.port.to_string(),
            "-d",
            "500",
        ],
    );
    assert_sipp_ok(&out, "call to 1002", &server);
    let out = phone.wait_with_output().unwrap();
    assert_sipp_ok(&out, "phone answers and gets the caller's BYE", &server);
    let rec = server.wait_call("the bridged record", |c| {
        c["to"] == "1002" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["result"], "answered", "{rec}");
    assert_eq!(rec["cause"], "caller hung up", "{rec}");
}

#[test]
fn call_bridged_to_a_registered_phone_udp() {
    call_bridged_to_a_registered_phone("udp");
}

#[test]
fn call_bridged_to_a_registered_phone_tcp() {
    call_bridged_to_a_registered_phone("tcp");
}

/// Raw SIP over UDP from the test itself, for the cases sipp cannot express simply.
/// An INVITE to `to`: a number or user (`sip:{to}@127.0.0.1`) or a whole URI.
fn invite(call_id: &str, to: &str, port: u16) -> String {
    let uri = if to.contains(':') {
        to.to_owned()
    } else {
        format!("sip:{to}@127.0.0.1")
    };
    let sdp = format!(
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    );
    format!(
        "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id};rport\r\n\
         From: <sip:13900000000@127.0.0.1>;tag=f{call_id}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:13900000000@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn recv_status(sock: &UdpSocket, want: u16) -> String {
    let mut buf = [0u8; 4096];
    wait_for(
        &format!("a {want} response"),
        Duration::from_secs(10),
        || {
            let n = sock.recv(&mut buf).ok()?;
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            text.starts_with(&format!("SIP/2.0 {want} "))
                .then_some(text)
        },
    )
}

#[test]
fn unknown_number_gets_404_and_a_record() {
    let server = Lifeline::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.send_to(invite("nf1", "99999", port).as_bytes(), server.sip)
        .unwrap();
    recv_status(&sock, 404);
    let rec = server.wait_call("the not_found record", |c| c["call_id"] == "nf1");
    assert_eq!(rec["result"], "not_found", "{rec}");
}

#[test]
fn a_caller_that_vanishes_before_ack_is_cleaned_up() {
    // A short T1 makes the 64×T1 ACK wait 3.2 s instead of 32 s.
    let server = Lifeline::start_with(&["--sip-t1-ms", "50"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.send_to(invite("gone1", "12345", port).as_bytes(), server.sip)
        .unwrap();
    recv_status(&sock, 200);
    // Never ACK: the 200 is retransmitted, then the call is torn down.
    let rec = server.wait_call("the vanished caller's record", |c| {
        c["call_id"] == "gone1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "no ack for 200", "{rec}");
    wait_for("no call left in progress", Duration::from_secs(10), || {
        (server.get("/api/v1/stats").1["calls"] == 0).then_some(())
    });
}

#[test]
fn graceful_stop_ends_calls_and_keeps_records() {
    let server = Lifeline::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.send_to(invite("stop1", "110", port).as_bytes(), server.sip)
        .unwrap();
    recv_status(&sock, 200);
    server.wait_call("the emergency call record", |c| {
        c["call_id"] == "stop1" && !c["answered_at"].is_null()
    });
    let (status, data) = server.stop();
    assert!(status.success(), "lifeline exited with {status}");
    recv_bye(&sock);
    let again = Lifeline::start_in(data, &[]);
    let rec = again.wait_call("the record after restart", |c| c["call_id"] == "stop1");
    assert_eq!(rec["cause"], "server shutdown", "{rec}");
    assert_eq!(rec["result"], "answered", "{rec}");
}

fn recv_bye(sock: &UdpSocket) {
    let mut buf = [0u8; 4096];
    wait_for("a BYE", Duration::from_secs(10), || {
        let n = sock.recv(&mut buf).ok()?;
        buf[..n].starts_with(b"BYE ").then_some(())
    });
}

#[test]
fn emergency_urn_and_tel_uris_reach_their_numbers() {
    let server = Lifeline::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.send_to(
        invite("sos1", "urn:service:sos", port).as_bytes(),
        server.sip,
    )
    .unwrap();
    recv_status(&sock, 200);
    sock.send_to(invite("tel1", "tel:12345", port).as_bytes(), server.sip)
        .unwrap();
    recv_status(&sock, 200);
    let sos = server.wait_call("the SOS record", |c| {
        c["call_id"] == "sos1" && !c["answered_at"].is_null()
    });
    assert_eq!(sos["to"], "urn:service:sos", "{sos}");
    let tel = server.wait_call("the tel: record", |c| {
        c["call_id"] == "tel1" && !c["answered_at"].is_null()
    });
    assert_eq!(tel["to"], "12345", "{tel}");
}

/// The To tag Lifeline put in a response.
fn to_tag(resp: &str) -> String {
    let to = resp.lines().find(|l| l.starts_with("To:")).unwrap();
    to.split("tag=").nth(1).unwrap().trim().to_owned()
}

/// An in-dialog request from the caller of `invite(call_id, ..)`.
fn in_dialog(
    method: &str,
    call_id: &str,
    tag: &str,
    cseq: u32,
    port: u16,
    sdp_port: Option<u16>,
) -> String {
    let body = sdp_port
        .map(|p| format!("v=0\r\no=t 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {p} RTP/AVP 0\r\n"))
        .unwrap_or_default();
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:lifeline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id}{cseq}{method};rport\r\n\
         From: <sip:13900000000@127.0.0.1>;tag=f{call_id}\r\nTo: <sip:12345@127.0.0.1>;tag={tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\nContact: <sip:13900000000@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n\
         {ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn reinvite_moves_media_and_out_of_order_requests_are_refused() {
    let server = Lifeline::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.send_to(invite("re1", "12345", port).as_bytes(), server.sip)
        .unwrap();
    let ok = recv_status(&sock, 200);
    let tag = to_tag(&ok);
    sock.send_to(
        in_dialog("ACK", "re1", &tag, 1, port, None).as_bytes(),
        server.sip,
    )
    .unwrap();
    // Move the media to another port with a re-INVITE: RTP follows.
    let moved = RtpSink::bind();
    sock.send_to(
        in_dialog("INVITE", "re1", &tag, 2, port, Some(moved.port)).as_bytes(),
        server.sip,
    )
    .unwrap();
    let answer = recv_status(&sock, 200);
    assert!(
        answer.contains("m=audio "),
        "the re-INVITE gets an SDP answer: {answer}"
    );
    sock.send_to(
        in_dialog("ACK", "re1", &tag, 2, port, None).as_bytes(),
        server.sip,
    )
    .unwrap();
    wait_for("RTP at the new address", Duration::from_secs(10), || {
        (moved.count() > 5).then_some(())
    });
    // A request with an older CSeq is refused; the call goes on.
    sock.send_to(
        in_dialog("BYE", "re1", &tag, 1, port, None).as_bytes(),
        server.sip,
    )
    .unwrap();
    recv_status(&sock, 500);
    sock.send_to(
        in_dialog("BYE", "re1", &tag, 3, port, None).as_bytes(),
        server.sip,
    )
    .unwrap();
    recv_status(&sock, 200);
    let rec = server.wait_call("the ended record", |c| {
        c["call_id"] == "re1" && !c["ended_at"].is_null()
    });
    assert_eq!(rec["cause"], "caller hung up", "{rec}");
}
