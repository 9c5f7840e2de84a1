//! `stun_local_ufrag`: real binding requests, truncations and junk (with proptests).

use super::*;

#[test]
fn stun_local_ufrag_reads_a_real_binding_request() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    let (_, request) = net.stun_requests[0].clone();
    assert_eq!(stun_local_ufrag(&request), Some(net.leg.local_ufrag()));
    let client_ufrag = net.client.direct_api().local_ice_credentials().ufrag;
    let username = format!("{}:{}", net.leg.local_ufrag(), client_ufrag);
    assert!(
        request
            .windows(username.len())
            .any(|w| w == username.as_bytes())
    );
    // Every truncation is rejected; nothing else the client sent is a request.
    for n in 0..request.len() {
        assert_eq!(stun_local_ufrag(&request[..n]), None, "truncated to {n}");
    }
    net.client_send(0, 1, 0, true, &frame(0));
    for (_, bytes) in &net.to_leg {
        assert_eq!(stun_local_ufrag(bytes), None);
    }
}

/// A binding request with the given USERNAME value (and a trailing PRIORITY).
fn binding_request(username: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&STUN_USERNAME.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username);
    attrs.resize(attrs.len().div_ceil(4) * 4, 0);
    attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0x6E, 0x00, 0x01, 0xFF]);
    let mut out = Vec::new();
    out.extend_from_slice(&STUN_BINDING_REQUEST.to_be_bytes());
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&STUN_MAGIC_COOKIE);
    out.extend_from_slice(&[7; 12]);
    out.extend_from_slice(&attrs);
    out
}

#[test]
fn stun_local_ufrag_rejects_junk() {
    let good = binding_request(b"abcd:wxyz1");
    assert_eq!(stun_local_ufrag(&good), Some("abcd"));
    // USERNAME after another attribute.
    let mut later = good.clone();
    let priority: Vec<u8> = later.drain(36..44).collect();
    later.splice(20..20, priority);
    assert_eq!(stun_local_ufrag(&later), Some("abcd"));

    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        stun_local_ufrag_owned(&b)
    };
    assert_eq!(mutate(&|b| b[0] = 0x01), None, "binding response type");
    assert_eq!(mutate(&|b| b[1] = 0x11), None, "indication");
    assert_eq!(mutate(&|b| b[4] = 0), None, "no magic cookie");
    assert_eq!(mutate(&|b| b[3] += 2), None, "length not a multiple of 4");
    assert_eq!(mutate(&|b| b[3] += 4), None, "length past the datagram");
    assert_eq!(mutate(&|b| b[23] = 200), None, "attribute past the message");
    assert_eq!(mutate(&|b| b[23] = 0), None, "empty username");

    for junk in [
        &b""[..],
        &[0; 19],
        &[0; 20], // type 0: not a binding request
        &[0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
        &[22, 254, 253, 0, 0],
    ] {
        assert_eq!(stun_local_ufrag(junk), None, "{junk:?}");
    }
    assert_eq!(
        stun_local_ufrag(&binding_request(b"abcdwxyz")),
        None,
        "no colon"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b":wxyz")),
        None,
        "empty local"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b"abcd:")),
        None,
        "empty remote"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b"\xff\xfe:x")),
        None,
        "not UTF-8"
    );
    // A request without USERNAME.
    let mut bare = good[..20].to_vec();
    bare[2..4].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(stun_local_ufrag(&bare), None);
}

fn stun_local_ufrag_owned(b: &[u8]) -> Option<String> {
    stun_local_ufrag(b).map(String::from)
}

proptest! {
    #[test]
    fn stun_local_ufrag_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = stun_local_ufrag(&bytes);
    }

    #[test]
    fn stun_local_ufrag_survives_mutated_requests(
        username in proptest::collection::vec(any::<u8>(), 0..40),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let mut b = binding_request(&username);
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        b.truncate(cut % (b.len() + 1));
        if let Some(ufrag) = stun_local_ufrag(&b) {
            // What it returns is a part of the datagram, before a ':'.
            let start = ufrag.as_ptr() as usize - b.as_ptr() as usize;
            prop_assert!(start + ufrag.len() < b.len());
            prop_assert_eq!(b[start + ufrag.len()], b':');
            prop_assert!(!ufrag.is_empty());
        }
    }
}
