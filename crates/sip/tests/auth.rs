//! Digest authentication: known vectors, round trips and the rejection paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifeline_sip::auth::{
    Algorithm, AuthError, DigestAuthenticator, DigestChallenge, DigestCredentials, client_response,
    ha1, response_hash,
};
use md5::Md5;
use sha2::{Digest, Sha256};

const REALM: &str = "lifeline.test";
const T0: u64 = 1_700_000_000;

fn auth() -> DigestAuthenticator {
    DigestAuthenticator::new(REALM, [7u8; 32], 300)
}

fn lookup(user: &str) -> Option<String> {
    (user == "1001").then(|| "s3cret".to_owned())
}

/// The client computation written out independently of the crate.
fn h(alg: &str, s: &str) -> String {
    match alg {
        "MD5" => hex::encode(Md5::digest(s.as_bytes())),
        _ => hex::encode(Sha256::digest(s.as_bytes())),
    }
}

fn independent_header(alg: &str, nonce: &str, password: &str, method: &str, nc: u32) -> String {
    let uri = "sip:lifeline.test";
    let nc = format!("{nc:08x}");
    let ha1 = h(alg, &format!("1001:{REALM}:{password}"));
    let ha2 = h(alg, &format!("{method}:{uri}"));
    let resp = h(alg, &format!("{ha1}:{nonce}:{nc}:abc123:auth:{ha2}"));
    format!(
        "Digest username=\"1001\",realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{resp}\", algorithm={alg}, qop=auth, nc={nc}, cnonce=\"abc123\""
    )
}

fn nonce_of(challenge: &str) -> String {
    DigestChallenge::parse(challenge).unwrap().nonce
}

#[test]
fn rfc2617_md5_vector() {
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    let r = response_hash(
        Algorithm::Md5,
        &ha1,
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        Some(("00000001", "0a4f113b")),
    );
    assert_eq!(r, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_sha256_vector() {
    let ha1 = ha1(
        Algorithm::Sha256,
        "Mufasa",
        "http-auth@example.org",
        "Circle of Life",
    );
    let r = response_hash(
        Algorithm::Sha256,
        &ha1,
        "GET",
        "/dir/index.html",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
    );
    assert_eq!(
        r,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn challenge_offers_sha256_then_md5() {
    let mut a = auth();
    let c = a.challenge(T0, false);
    assert_eq!(c.len(), 2);
    let first = DigestChallenge::parse(&c[0]).unwrap();
    let second = DigestChallenge::parse(&c[1]).unwrap();
    assert_eq!(
        (first.algorithm, second.algorithm),
        (Algorithm::Sha256, Algorithm::Md5)
    );
    assert!(first.qop_auth && !first.stale);
    assert_eq!(first.realm, REALM);
    assert_ne!(first.nonce, second.nonce);
    assert!(!first.nonce.contains(['"', ',', ' ']));
    assert!(
        a.challenge(T0, true)
            .iter()
            .all(|v| v.ends_with("stale=true"))
    );
}

#[test]
fn md5_and_sha256_round_trip() {
    let mut a = auth();
    for (i, alg) in ["SHA-256", "MD5"].into_iter().enumerate() {
        let nonce = nonce_of(&a.challenge(T0, false)[i]);
        let hv = independent_header(alg, &nonce, "s3cret", "REGISTER", 1);
        assert_eq!(
            a.verify(T0 + 5, "REGISTER", &hv, lookup),
            Ok("1001".to_owned())
        );
        // The next request on the same nonce with a higher count is fine.
        let hv = independent_header(alg, &nonce, "s3cret", "INVITE", 2);
        assert_eq!(
            a.verify(T0 + 6, "INVITE", &hv, lookup),
            Ok("1001".to_owned())
        );
    }
    assert_eq!(a.remembered_nonces(), 2);
}

#[test]
fn crate_client_matches_server() {
    let mut a = auth();
    for c in a.challenge(T0, false) {
        let hv = client_response(
            &c,
            "1001",
            "s3cret",
            "REGISTER",
            "sip:lifeline.test",
            "xyz",
            1,
        )
        .unwrap();
        assert_eq!(a.verify(T0, "REGISTER", &hv, lookup), Ok("1001".to_owned()));
    }
}

#[test]
fn wrong_password_and_method() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[0]);
    let hv = independent_header("SHA-256", &nonce, "guess", "REGISTER", 1);
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::BadResponse)
    );
    let hv = independent_header("SHA-256", &nonce, "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0, "INVITE", &hv, lookup),
        Err(AuthError::BadResponse)
    );
    let hv = hv.replace("1001", "1002");
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::UnknownUser("1002".into()))
    );
}

#[test]
fn expired_nonce_is_stale() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[1]);
    let hv = independent_header("MD5", &nonce, "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0 + 301, "REGISTER", &hv, lookup),
        Err(AuthError::StaleNonce)
    );
    // A wrong password on an expired nonce is not "stale" (RFC 7616 §3.3).
    let hv = independent_header("MD5", &nonce, "bad", "REGISTER", 1);
    assert_eq!(
        a.verify(T0 + 301, "REGISTER", &hv, lookup),
        Err(AuthError::BadResponse)
    );
}

#[test]
fn forged_or_foreign_nonce_is_bad() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[1]);
    // Move the issue time forward: the MAC no longer matches.
    let forged = format!("{:016x}{}", T0 + 1000, &nonce[16..]);
    let hv = independent_header("MD5", &forged, "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0 + 1000, "REGISTER", &hv, lookup),
        Err(AuthError::BadNonce)
    );
    let hv = independent_header(
        "MD5",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "s3cret",
        "REGISTER",
        1,
    );
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::BadNonce)
    );
    // Another secret issues nonces this one rejects.
    let mut other = DigestAuthenticator::new(REALM, [8u8; 32], 300);
    let theirs = nonce_of(&other.challenge(T0, false)[1]);
    let hv = independent_header("MD5", &theirs, "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::BadNonce)
    );
}

#[test]
fn replayed_or_lower_nc_rejected() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[0]);
    let hv3 = independent_header("SHA-256", &nonce, "s3cret", "REGISTER", 3);
    assert!(a.verify(T0, "REGISTER", &hv3, lookup).is_ok());
    assert_eq!(
        a.verify(T0, "REGISTER", &hv3, lookup),
        Err(AuthError::Replay)
    );
    let hv2 = independent_header("SHA-256", &nonce, "s3cret", "REGISTER", 2);
    assert_eq!(
        a.verify(T0, "REGISTER", &hv2, lookup),
        Err(AuthError::Replay)
    );
    let hv4 = independent_header("SHA-256", &nonce, "s3cret", "REGISTER", 4);
    assert!(a.verify(T0, "REGISTER", &hv4, lookup).is_ok());
}

#[test]
fn no_qop_accepted_once() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[1]);
    let uri = "sip:lifeline.test";
    let ha1 = h("MD5", &format!("1001:{REALM}:s3cret"));
    let ha2 = h("MD5", &format!("REGISTER:{uri}"));
    let resp = h("MD5", &format!("{ha1}:{nonce}:{ha2}"));
    let hv = format!(
        "Digest username=\"1001\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\""
    );
    assert_eq!(a.verify(T0, "REGISTER", &hv, lookup), Ok("1001".to_owned()));
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::Replay)
    );
}

#[test]
fn eviction_turns_into_stale_not_fresh() {
    let mut a = auth().with_max_nonces(2);
    let nonces: Vec<String> = (0..3)
        .map(|i| nonce_of(&a.challenge(T0 + i, false)[0]))
        .collect();
    for n in &nonces {
        let hv = independent_header("SHA-256", n, "s3cret", "REGISTER", 1);
        assert!(a.verify(T0 + 10, "REGISTER", &hv, lookup).is_ok());
    }
    assert_eq!(a.remembered_nonces(), 2);
    let hv = independent_header("SHA-256", &nonces[0], "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0 + 10, "REGISTER", &hv, lookup),
        Err(AuthError::StaleNonce)
    );
    // Expired nonces are pruned.
    a.prune(T0 + 1000);
    assert_eq!(a.remembered_nonces(), 0);
}

#[test]
fn parsing_and_policy_errors() {
    let mut a = auth();
    let nonce = nonce_of(&a.challenge(T0, false)[0]);
    let good = independent_header("SHA-256", &nonce, "s3cret", "REGISTER", 1);
    assert_eq!(
        a.verify(T0, "REGISTER", "  ", lookup),
        Err(AuthError::Missing)
    );
    assert!(matches!(
        a.verify(T0, "REGISTER", "Basic dXNlcjpwdw==", lookup),
        Err(AuthError::Malformed(_))
    ));
    let cases = [
        (
            good.replace("uri=\"sip:lifeline.test\", ", ""),
            "missing uri",
        ),
        (
            good.replace("cnonce=\"abc123\"", "cnonce=\"abc"),
            "unterminated",
        ),
        (good.replace("nc=00000001", "nc=1"), "eight hex"),
        (format!("{good}, nc=00000002"), "duplicate"),
    ];
    for (hv, what) in cases {
        match a.verify(T0, "REGISTER", &hv, lookup) {
            Err(AuthError::Malformed(m)) => assert!(m.contains(what), "{m} lacks {what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let hv = good.replace("qop=auth", "qop=auth-int");
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::UnsupportedQop)
    );
    let hv = good.replace("algorithm=SHA-256", "algorithm=SHA-256-sess");
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::UnsupportedAlgorithm)
    );
    let hv = good.replace(REALM, "elsewhere");
    assert_eq!(
        a.verify(T0, "REGISTER", &hv, lookup),
        Err(AuthError::WrongRealm)
    );
    assert_eq!(
        a.verify(T0, "REGISTER", &good, lookup),
        Ok("1001".to_owned())
    );
}

#[test]
fn credentials_parse_quotes_case_and_tokens() {
    let v = r#"digest USERNAME="a\"b", Realm="r", nonce="n",uri="sip:x@y;transport=tcp" , response="ABC",
        algorithm=md5, QOP="AUTH", nc=0000000a, cnonce="c,d", opaque="o", extra=tok"#;
    let c = DigestCredentials::parse(v).unwrap();
    assert_eq!(c.username, "a\"b");
    assert_eq!(c.uri, "sip:x@y;transport=tcp");
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.qop.as_deref(), Some("auth"));
    assert_eq!(c.nonce_count(), Some(10));
    assert_eq!(c.cnonce.as_deref(), Some("c,d"));
    assert_eq!(c.opaque.as_deref(), Some("o"));
}
