//! RFC 3261 §17 transactions in virtual time: retransmission schedules, timer expiry,
//! absorption, CANCEL races and the 2xx/ACK handshake. No sockets, no sleeps: time is
//! an `Instant` we move by hand.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on setup failure by design

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lifeline_sip::endpoint::{Endpoint, EndpointConfig, Event, Output};
use lifeline_sip::transaction::{Peer, Timers, TransportKind, TxId};
use lifeline_sip::{Message, Request, Response, Transport, parse};

const ALICE: &str = "192.0.2.10:5060";

fn endpoint() -> Endpoint {
    Endpoint::new(EndpointConfig {
        timers: Timers::default(),
        sent_by: "192.0.2.1:5060".into(),
        id_prefix: "t".into(),
    })
}

fn peer(transport: TransportKind) -> Peer {
    Peer {
        addr: ALICE.parse().unwrap(),
        transport,
        conn: None,
    }
}

fn request(method: &str, branch: &str, extra: &str) -> Request {
    let text = format!(
        "{method} sip:12345@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}\r\n\
         From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:12345@192.0.2.1>{extra}\r\nCall-ID: c1@example.com\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    match parse(text.as_bytes(), Transport::Datagram).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn response_to(req_bytes: &[u8], status: u16, to_tag: &str) -> Response {
    let Message::Request(req) = parse(req_bytes, Transport::Datagram).unwrap() else {
        unreachable!()
    };
    let mut resp = Response::for_request(&req, status, None);
    resp.set_to_tag(to_tag);
    resp
}

/// Drains the endpoint: (transmitted first lines, events).
fn drain(ep: &mut Endpoint) -> (Vec<(Vec<u8>, SocketAddr)>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Transmit { peer, bytes } => sent.push((bytes, peer.addr)),
            Output::Event(e) => events.push(*e),
        }
    }
    (sent, events)
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Advances virtual time to `until`, firing every timer on the way; returns the
/// offsets (ms from `start`) at which something was transmitted, and the events.
fn run_until(ep: &mut Endpoint, start: Instant, until: Instant) -> (Vec<u128>, Vec<Event>) {
    let (mut at, mut events) = (Vec::new(), Vec::new());
    while let Some(t) = ep.poll_timeout() {
        if t > until {
            break;
        }
        ep.handle_timeout(t);
        let (sent, ev) = drain(ep);
        at.extend(sent.iter().map(|_| (t - start).as_millis()));
        events.extend(ev);
    }
    (at, events)
}

/// Feeds an INVITE with `branch` to `ep` and returns it with its server transaction.
fn received_invite(ep: &mut Endpoint, t0: Instant, branch: &str) -> (Request, TxId) {
    let inv = request("INVITE", branch, "");
    ep.handle_request(t0, inv.clone(), peer(TransportKind::Udp));
    (inv, server_tx(&drain(ep).1))
}

fn server_tx(events: &[Event]) -> TxId {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request { tx, .. } => Some(*tx),
            _ => None,
        })
        .expect("a Request event")
}

#[test]
fn non_invite_client_retransmits_timer_e_then_times_out_with_f() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let tx = ep.send_request(t0, request("OPTIONS", "x", ""), peer(TransportKind::Udp));
    drain(&mut ep);
    let (at, events) = run_until(&mut ep, t0, t0 + Duration::from_secs(40));
    // 0.5, 1.5, 3.5, 7.5, then every T2 = 4 s until Timer F at 32 s.
    assert_eq!(
        at,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(matches!(events.as_slice(), [Event::Timeout { tx: t }] if *t == tx));
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn invite_client_timer_a_doubles_without_cap_until_b() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    ep.send_request(t0, request("INVITE", "x", ""), peer(TransportKind::Udp));
    drain(&mut ep);
    let (at, events) = run_until(&mut ep, t0, t0 + Duration::from_secs(40));
    assert_eq!(at, vec![500, 1500, 3500, 7500, 15500, 31500]);
    assert!(matches!(events.as_slice(), [Event::Timeout { .. }]));
}

#[test]
fn reliable_transport_never_retransmits() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    ep.send_request(t0, request("INVITE", "x", ""), peer(TransportKind::Tcp));
    drain(&mut ep);
    let (at, events) = run_until(&mut ep, t0, t0 + Duration::from_secs(40));
    assert!(at.is_empty());
    assert!(matches!(events.as_slice(), [Event::Timeout { .. }]));
}

#[test]
fn server_invite_error_final_retransmits_g_until_ack() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let inv = request("INVITE", "z9hG4bKa", "");
    ep.handle_request(t0, inv.clone(), peer(TransportKind::Udp));
    let (sent, events) = drain(&mut ep);
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 100 Trying");
    let tx = server_tx(&events);
    ep.respond(t0, tx, Response::for_request(&inv, 486, None));
    drain(&mut ep);
    // Timer G: 0.5, 1.5, 3.5 s ...
    let (at, _) = run_until(&mut ep, t0, t0 + Duration::from_millis(4000));
    assert_eq!(at, vec![500, 1500, 3500]);
    // The ACK (same branch) confirms: no more retransmissions, gone after T4.
    ep.handle_request(
        t0 + Duration::from_secs(4),
        request("ACK", "z9hG4bKa", ";tag=srv"),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert!(
        sent.is_empty() && events.is_empty(),
        "ACK for a non-2xx is absorbed by the transaction"
    );
    let (at, _) = run_until(&mut ep, t0, t0 + Duration::from_secs(60));
    assert!(at.is_empty());
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn server_invite_error_final_without_ack_gives_up_at_h() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKh");
    ep.respond(t0, tx, Response::for_request(&inv, 404, None));
    drain(&mut ep);
    let (at, _) = run_until(&mut ep, t0, t0 + Duration::from_secs(40));
    assert_eq!(
        at,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn two_hundred_is_retransmitted_until_the_ack_and_the_ack_reaches_the_tu() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKok");
    let mut ok = Response::for_request(&inv, 200, None);
    ok.set_to_tag("srv");
    ep.respond(t0, tx, ok);
    drain(&mut ep);
    let (at, _) = run_until(&mut ep, t0, t0 + Duration::from_millis(1600));
    assert_eq!(at, vec![500, 1500]);
    // ACK for a 2xx is its own transaction (new branch).
    ep.handle_request(
        t0 + Duration::from_millis(1600),
        request("ACK", "z9hG4bKack", ";tag=srv"),
        peer(TransportKind::Udp),
    );
    let (_, events) = drain(&mut ep);
    assert!(matches!(events.as_slice(), [Event::Ack { invite_tx: Some(t), .. }] if *t == tx));
    let (at, events) = run_until(&mut ep, t0, t0 + Duration::from_secs(60));
    assert!(at.is_empty() && events.is_empty());
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn two_hundred_never_acked_raises_ack_timeout() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKna");
    ep.respond(t0, tx, Response::for_request(&inv, 200, None));
    drain(&mut ep);
    let (at, events) = run_until(&mut ep, t0, t0 + Duration::from_secs(40));
    assert_eq!(
        at,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(matches!(events.as_slice(), [Event::AckTimeout { tx: t }] if *t == tx));
}

#[test]
fn retransmitted_requests_are_absorbed_and_answered_with_the_last_response() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKr");
    let mut ringing = Response::for_request(&inv, 180, None);
    ringing.set_to_tag("srv");
    ep.respond(t0, tx, ringing);
    drain(&mut ep);
    ep.handle_request(
        t0 + Duration::from_millis(500),
        inv.clone(),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty(), "a retransmission is not a new request");
    assert_eq!(sent.len(), 1);
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 180 Ringing");

    let bye = request("BYE", "z9hG4bKb", ";tag=srv");
    ep.handle_request(t0, bye.clone(), peer(TransportKind::Udp));
    let btx = server_tx(&drain(&mut ep).1);
    ep.respond(t0, btx, Response::for_request(&bye, 200, None));
    drain(&mut ep);
    ep.handle_request(t0 + Duration::from_secs(1), bye, peer(TransportKind::Udp));
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 200 OK");
    assert_eq!(ep.stats().absorbed, 2);
}

#[test]
fn cancel_of_a_ringing_invite_gets_200_and_the_tu_answers_487() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKc");
    ep.respond(t0, tx, Response::for_request(&inv, 180, None));
    drain(&mut ep);
    ep.handle_request(
        t0,
        request("CANCEL", "z9hG4bKc", ""),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 200 OK");
    assert!(String::from_utf8_lossy(&sent[0].0).contains("CSeq: 1 CANCEL"));
    assert!(matches!(events.as_slice(), [Event::Cancelled { invite_tx }] if *invite_tx == tx));
    ep.respond(t0, tx, Response::for_request(&inv, 487, None));
    let (sent, _) = drain(&mut ep);
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 487 Request Terminated");
}

#[test]
fn cancel_after_the_final_response_does_not_cancel() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let (inv, tx) = received_invite(&mut ep, t0, "z9hG4bKd");
    ep.respond(t0, tx, Response::for_request(&inv, 200, None));
    drain(&mut ep);
    ep.handle_request(
        t0,
        request("CANCEL", "z9hG4bKd", ""),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 200 OK");
    assert!(events.is_empty(), "the race is lost: the call stays up");
}

#[test]
fn cancel_matching_nothing_gets_481() {
    let mut ep = endpoint();
    ep.handle_request(
        Instant::now(),
        request("CANCEL", "z9hG4bKnone", ""),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert_eq!(
        first_line(&sent[0].0),
        "SIP/2.0 481 Call/Transaction Does Not Exist"
    );
    assert!(events.is_empty());
}

#[test]
fn client_cancel_waits_for_a_provisional_response() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let tx = ep.send_request(
        t0,
        request("INVITE", "ignored", ""),
        peer(TransportKind::Udp),
    );
    let (sent, _) = drain(&mut ep);
    let invite_bytes = sent[0].0.clone();
    ep.cancel(t0, tx);
    assert!(
        drain(&mut ep).0.is_empty(),
        "no CANCEL before a provisional response"
    );
    ep.cancel(t0, tx);
    ep.handle_response(t0, response_to(&invite_bytes, 180, "b"));
    let (sent, events) = drain(&mut ep);
    assert!(matches!(events.as_slice(), [Event::Response { .. }]));
    assert_eq!(sent.len(), 1, "asking twice sends one CANCEL");
    ep.cancel(t0, tx);
    assert!(drain(&mut ep).0.is_empty(), "nor does asking again later");
    let cancel = String::from_utf8_lossy(&sent[0].0).into_owned();
    assert!(cancel.starts_with("CANCEL sip:12345@192.0.2.1 SIP/2.0"));
    assert!(cancel.contains("CSeq: 1 CANCEL"));
    let inv_text = String::from_utf8_lossy(&invite_bytes).into_owned();
    let branch = |t: &str| {
        t.split("branch=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        branch(&cancel),
        branch(&inv_text),
        "CANCEL carries the INVITE's branch"
    );
    // The 487 is ACKed by the transaction itself, and a retransmitted 487 re-ACKed.
    ep.handle_response(t0, response_to(&invite_bytes, 487, "b"));
    let (sent, events) = drain(&mut ep);
    assert!(first_line(&sent[0].0).starts_with("ACK "));
    assert!(
        matches!(events.as_slice(), [Event::Response { response, .. }] if response.status == 487)
    );
    ep.handle_response(t0, response_to(&invite_bytes, 487, "b"));
    let (sent, events) = drain(&mut ep);
    assert!(first_line(&sent[0].0).starts_with("ACK ") && events.is_empty());
}

#[test]
fn merged_requests_get_482() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    ep.handle_request(
        t0,
        request("INVITE", "z9hG4bKm1", ""),
        peer(TransportKind::Udp),
    );
    drain(&mut ep);
    ep.handle_request(
        t0,
        request("INVITE", "z9hG4bKm2", ""),
        peer(TransportKind::Udp),
    );
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 482 Merged Request");
}

#[test]
fn rport_and_received_steer_the_response() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    let text = "OPTIONS sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;rport\r\n\
                From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: nat\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let Message::Request(req) = parse(text.as_bytes(), Transport::Datagram).unwrap() else {
        unreachable!()
    };
    let nat = Peer {
        addr: "203.0.113.7:40000".parse().unwrap(),
        transport: TransportKind::Udp,
        conn: None,
    };
    ep.handle_request(t0, req, nat);
    let (_, events) = drain(&mut ep);
    let Event::Request { tx, request, .. } = &events[0] else {
        panic!()
    };
    let via = request.headers.get(&lifeline_sip::HeaderName::VIA).unwrap();
    assert!(
        via.contains("rport=40000") && via.contains("received=203.0.113.7"),
        "{via}"
    );
    ep.respond(t0, *tx, Response::for_request(request, 200, None));
    let (sent, _) = drain(&mut ep);
    assert_eq!(
        sent[0].1,
        "203.0.113.7:40000".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn a_request_carrying_our_own_via_is_a_loop() {
    let mut ep = endpoint();
    let text = "OPTIONS sip:192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx\r\n\
                Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKt99\r\n\
                From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: loop\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let Message::Request(req) = parse(text.as_bytes(), Transport::Datagram).unwrap() else {
        unreachable!()
    };
    ep.handle_request(Instant::now(), req, peer(TransportKind::Udp));
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(first_line(&sent[0].0), "SIP/2.0 482 Loop Detected");
}
