//! Registrar behaviour in virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lifeline_sip::registrar::Registrar;
use lifeline_sip::{HeaderName, Message, Request, Response, Transport, parse};

fn req(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
    let mut t = format!(
        "REGISTER sip:lifeline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK{cseq}{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@lifeline.test>;tag=a1\r\n\
         To: <sip:1001@lifeline.test>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n"
    );
    for c in contacts {
        t.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        t.push_str(&format!("Expires: {e}\r\n"));
    }
    t.push_str("Content-Length: 0\r\n\r\n");
    match parse(t.as_bytes(), Transport::Datagram).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn src() -> SocketAddr {
    "10.0.0.5:5060".parse().unwrap()
}

fn listed(resp: &Response) -> Vec<String> {
    resp.headers
        .get_all(&HeaderName::CONTACT)
        .map(str::to_owned)
        .collect()
}

fn setup() -> (Registrar, Instant) {
    (Registrar::new(60, 3600, 600), Instant::now())
}

#[test]
fn register_refresh_and_query() {
    let (mut r, t0) = setup();
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 1, &["<sip:1001@10.0.0.5:5060;transport=udp>"], None),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        listed(&resp),
        vec!["<sip:1001@10.0.0.5:5060;transport=udp>;expires=600"]
    );
    let b = r.contacts(t0, "1001")[0].clone();
    assert_eq!(
        (b.call_id.as_str(), b.cseq, b.transport.as_str(), b.source),
        ("c1", 1, "UDP", src())
    );
    assert_eq!(b.contact.uri.params.value("transport"), Some("udp"));

    // Refresh 100 s later with Expires 300: same binding, new expiry.
    let t1 = t0 + Duration::from_secs(100);
    let resp = r.register(
        t1,
        "1001",
        &req("c1", 2, &["<sip:1001@10.0.0.5:5060>"], Some(300)),
        src(),
        "UDP",
    );
    assert_eq!(listed(&resp), vec!["<sip:1001@10.0.0.5:5060>;expires=300"]);
    assert_eq!(r.binding_count(), 1);
    assert_eq!(r.next_expiry(), Some(t1 + Duration::from_secs(300)));

    // A query (no Contact) lists what is bound, with the remaining time.
    let t2 = t1 + Duration::from_secs(50);
    let resp = r.register(t2, "1001", &req("q", 1, &[], None), src(), "UDP");
    assert_eq!(resp.status, 200);
    assert_eq!(listed(&resp), vec!["<sip:1001@10.0.0.5:5060>;expires=250"]);
    assert_eq!(r.binding_count(), 1);
}

#[test]
fn multiple_contacts_with_own_expiry_and_q() {
    let (mut r, t0) = setup();
    let resp = r.register(
        t0,
        "1001",
        &req(
            "c1",
            1,
            &[
                "<sip:a@10.0.0.5>;expires=120;q=0.5",
                "<sip:b@10.0.0.6>;q=0.9, <sip:c@10.0.0.7>",
            ],
            Some(900),
        ),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(listed(&resp).len(), 3);
    let users: Vec<_> = r
        .contacts(t0, "1001")
        .iter()
        .map(|b| b.contact.uri.user.clone().unwrap())
        .collect();
    assert_eq!(users, ["c", "b", "a"]);
    let a = r
        .contacts(t0, "1001")
        .into_iter()
        .find(|b| b.contact.uri.user.as_deref() == Some("a"))
        .unwrap();
    assert_eq!(a.expires_at, t0 + Duration::from_secs(120));
    // The Expires header (900, below the 3600 maximum) applies to the others.
    let c = r
        .contacts(t0, "1001")
        .into_iter()
        .find(|b| b.contact.uri.user.as_deref() == Some("c"))
        .unwrap();
    assert_eq!(c.expires_at, t0 + Duration::from_secs(900));
    assert_eq!(r.next_expiry(), Some(t0 + Duration::from_secs(120)));
    assert!(r.contacts(t0, "1002").is_empty());
}

#[test]
fn unregister_one_then_all() {
    let (mut r, t0) = setup();
    r.register(
        t0,
        "1001",
        &req("c1", 1, &["<sip:a@10.0.0.5>", "<sip:b@10.0.0.6>"], None),
        src(),
        "UDP",
    );
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 2, &["<sip:a@10.0.0.5>;expires=0"], None),
        src(),
        "UDP",
    );
    assert_eq!(listed(&resp), vec!["<sip:b@10.0.0.6>;expires=600"]);
    // Another Call-ID may remove it.
    let resp = r.register(
        t0,
        "1001",
        &req("c9", 1, &["<sip:b@10.0.0.6>"], Some(0)),
        src(),
        "UDP",
    );
    assert!(listed(&resp).is_empty());
    assert_eq!(r.binding_count(), 0);

    r.register(
        t0,
        "1001",
        &req("c1", 3, &["<sip:a@host.EXAMPLE>", "<sip:b@x>"], None),
        src(),
        "UDP",
    );
    assert_eq!(r.binding_count(), 2);
    // Host compared case-insensitively: this refreshes, it does not add.
    r.register(
        t0,
        "1001",
        &req("c1", 4, &["<sip:a@HOST.example>;foo"], None),
        src(),
        "UDP",
    );
    assert_eq!(r.binding_count(), 2);
    let resp = r.register(t0, "1001", &req("c1", 5, &["*"], Some(0)), src(), "UDP");
    assert_eq!(resp.status, 200);
    assert!(listed(&resp).is_empty());
    assert_eq!(r.binding_count(), 0);
}

#[test]
fn wildcard_rules() {
    let (mut r, t0) = setup();
    r.register(
        t0,
        "1001",
        &req("c1", 5, &["<sip:a@x>"], None),
        src(),
        "UDP",
    );
    for bad in [
        req("c1", 6, &["*"], None),
        req("c1", 6, &["*"], Some(60)),
        req("c1", 6, &["*", "<sip:b@x>"], Some(0)),
    ] {
        assert_eq!(r.register(t0, "1001", &bad, src(), "UDP").status, 400);
    }
    // Same Call-ID with an old CSeq: the whole request fails and nothing is removed.
    assert_eq!(
        r.register(t0, "1001", &req("c1", 5, &["*"], Some(0)), src(), "UDP")
            .status,
        500
    );
    assert_eq!(r.binding_count(), 1);
    // Another Call-ID may remove it whatever its CSeq.
    assert_eq!(
        r.register(t0, "1001", &req("other", 1, &["*"], Some(0)), src(), "UDP")
            .status,
        200
    );
    assert_eq!(r.binding_count(), 0);
}

#[test]
fn too_brief_is_423_and_changes_nothing() {
    let (mut r, t0) = setup();
    r.register(
        t0,
        "1001",
        &req("c1", 1, &["<sip:a@x>"], None),
        src(),
        "UDP",
    );
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 2, &["<sip:a@x>;expires=30", "<sip:b@x>"], None),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 423);
    assert_eq!(resp.headers.get(&HeaderName::MIN_EXPIRES), Some("60"));
    assert_eq!(r.binding_count(), 1);
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 3, &["<sip:b@x>"], Some(59)),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 423);
    assert_eq!(
        r.register(
            t0,
            "1001",
            &req("c1", 4, &["<sip:b@x>"], Some(60)),
            src(),
            "UDP"
        )
        .status,
        200
    );
}

#[test]
fn long_expiry_is_clamped() {
    let (mut r, t0) = setup();
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 1, &["<sip:a@x>;expires=99999999999"], None),
        src(),
        "TCP",
    );
    assert_eq!(listed(&resp), vec!["<sip:a@x>;expires=3600"]);
    assert_eq!(r.contacts(t0, "1001")[0].transport, "TCP");
}

#[test]
fn expiry_pruning() {
    let (mut r, t0) = setup();
    r.register(
        t0,
        "1001",
        &req(
            "c1",
            1,
            &["<sip:a@x>;expires=60", "<sip:b@x>;expires=120"],
            None,
        ),
        src(),
        "UDP",
    );
    r.register(
        t0,
        "1002",
        &req("c2", 1, &["<sip:c@x>"], Some(90)),
        src(),
        "UDP",
    );
    let at = |s| t0 + Duration::from_secs(s);
    assert_eq!(r.next_expiry(), Some(at(60)));
    assert_eq!(
        r.contacts(at(60), "1001").len(),
        1,
        "expired at its instant"
    );
    r.expire(at(60));
    assert_eq!(r.binding_count(), 2);
    assert_eq!(r.next_expiry(), Some(at(90)));
    r.expire(at(200));
    assert_eq!((r.binding_count(), r.next_expiry()), (0, None));
    assert_eq!(r.iter().count(), 0);
}

#[test]
fn cseq_ordering() {
    let (mut r, t0) = setup();
    r.register(
        t0,
        "1001",
        &req("c1", 10, &["<sip:a@x>"], None),
        src(),
        "UDP",
    );
    // Same Call-ID, same or lower CSeq: rejected, binding untouched.
    for seq in [10, 9] {
        let resp = r.register(
            t0,
            "1001",
            &req("c1", seq, &["<sip:a@x>"], Some(0)),
            src(),
            "UDP",
        );
        assert_eq!(resp.status, 500);
        assert_eq!(r.binding_count(), 1);
    }
    // Higher CSeq refreshes; a different Call-ID replaces the binding for that contact.
    let t1 = t0 + Duration::from_secs(10);
    assert_eq!(
        r.register(
            t1,
            "1001",
            &req("c1", 11, &["<sip:a@x>"], None),
            src(),
            "UDP"
        )
        .status,
        200
    );
    let resp = r.register(
        t1,
        "1001",
        &req("rebooted", 1, &["<sip:a@x;ob>"], None),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 200);
    let b = r.contacts(t1, "1001");
    assert_eq!(
        (b.len(), b[0].call_id.as_str(), b[0].cseq),
        (1, "rebooted", 1)
    );
    assert!(b[0].contact.uri.params.has("ob"));
}

#[test]
fn bad_contacts_are_400() {
    let (mut r, t0) = setup();
    let resp = r.register(
        t0,
        "1001",
        &req("c1", 1, &["<sip:a@x>;q=1.5"], None),
        src(),
        "UDP",
    );
    assert_eq!(resp.status, 400);
    assert_eq!(r.binding_count(), 0);
    assert_eq!(Registrar::default().min_expires(), 60);
}
