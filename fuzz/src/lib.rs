//! Checks shared by the fuzz targets: the same properties as
//! `crates/sip/tests/parser_properties.rs`, asserted so that libFuzzer reports a
//! violation as a crash.

use lifeline_sip::parse::{MAX_HEAD, find_head_end};
use lifeline_sip::{Message, SipMessage, Transport, parse};

/// The codes the message layer may answer with.
pub const PARSER_CODES: [u16; 5] = [400, 413, 416, 505, 513];

/// What must survive `parse(encode(m))`: method or status, Call-ID, CSeq, top Via
/// branch and body.
pub type Essentials = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<u8>,
);

/// The [`Essentials`] of a message.
pub fn essentials(m: &Message) -> Essentials {
    let (kind, sip): (String, &dyn SipMessage) = match m {
        Message::Request(r) => (r.method.to_string(), r),
        Message::Response(r) => (r.status.to_string(), r),
    };
    (
        kind,
        sip.call_id().map(str::to_owned),
        sip.cseq().map(|c| c.to_string()),
        sip.top_via().and_then(|v| v.branch().map(str::to_owned)),
        sip.body().to_vec(),
    )
}

/// Parses `bytes` over both transports: a rejection carries a parser code and a clean
/// reason that its response repeats; an accepted message round-trips through `encode`.
pub fn check_message(bytes: &[u8]) {
    for transport in [Transport::Datagram, Transport::Stream] {
        match parse(bytes, transport) {
            Err(err) => {
                assert!(PARSER_CODES.contains(&err.code), "code {}", err.code);
                assert!(!err.reason.is_empty(), "empty reason");
                assert!(
                    !err.reason.contains(['\r', '\n']),
                    "CR/LF in {:?}",
                    err.reason
                );
                if let Some(resp) = err.response() {
                    let line = format!("SIP/2.0 {} {}\r\n", err.code, err.reason);
                    assert!(resp.encode().starts_with(line.as_bytes()), "status line");
                }
            }
            Ok(msg) => {
                let wire = msg.encode();
                let again = match parse(&wire, Transport::Datagram) {
                    Ok(m) => m,
                    // Encoding expands compact header names and adds Content-Length, so a
                    // head just under the limit may grow past it (see docs/fuzzing.md).
                    Err(e)
                        if e.code == 513 && find_head_end(&wire).is_some_and(|h| h > MAX_HEAD) =>
                    {
                        continue;
                    }
                    Err(e) => panic!("re-encoded message rejected: {e}\n{}", wire.escape_ascii()),
                };
                assert_eq!(essentials(&again), essentials(&msg));
                assert!(again.encode() == wire, "encoding is not canonical");
            }
        }
    }
}
