//! Authorization and WWW-Authenticate values through the Digest parsers and the
//! verifier. The text `NONCE` in the input is replaced by a nonce the authenticator
//! issued, and a parsed credential's `response` by the right hash for password `pw`,
//! so that the fuzzer reaches the nonce-count and replay logic. Asserts that the same
//! credentials never verify twice, and that our answer to any parsed challenge parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_sip::auth::{
    DigestAuthenticator, DigestChallenge, DigestCredentials, ha1, response_hash,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut auth = DigestAuthenticator::new("lifeline", [7; 32], 300);
    let nonce = auth.new_nonce(1_000);
    let text = text.replace("NONCE", &nonce);

    if let Ok(c) = DigestCredentials::parse(&text) {
        let _ = c.nonce_count();
        let ha1 = ha1(c.algorithm, &c.username, &c.realm, "pw");
        let qop = match (&c.qop, &c.nc, &c.cnonce) {
            (Some(_), Some(nc), Some(cn)) => Some((nc.as_str(), cn.as_str())),
            _ => None,
        };
        let right = response_hash(c.algorithm, &ha1, "REGISTER", &c.uri, &c.nonce, qop);
        let header = if c.response.is_empty() {
            text.clone()
        } else {
            text.replacen(&c.response, &right, 1)
        };
        let lookup = |_: &str| Some("pw".to_owned());
        let first = auth.verify(1_010, "REGISTER", &header, lookup);
        let second = auth.verify(1_020, "REGISTER", &header, lookup);
        assert!(
            !(first.is_ok() && second.is_ok()),
            "the same credentials verified twice"
        );
        auth.prune(100_000);
    }

    if let Ok(ch) = DigestChallenge::parse(&text) {
        let answer = ch.authorize("alice", "pw", "INVITE", "sip:x@y", "c\"n", 1);
        let c = DigestCredentials::parse(&answer).expect("our own Authorization must parse");
        assert_eq!(
            (&c.realm, &c.nonce, &c.opaque),
            (&ch.realm, &ch.nonce, &ch.opaque)
        );
    }
});
