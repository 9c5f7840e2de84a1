//! The Digest wire format and arithmetic shared by both sides: the algorithms, parsing
//! of credentials and challenges, the RFC 2617/7616 hashes, and the client's answer.

use std::fmt;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::AuthError;
use crate::grammar::{is_token_char, quote, take_quoted};

/// The hash algorithm of a digest challenge or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the SIP default when no algorithm is named).
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses a wire name (case-insensitive); `None` for anything else, `-sess` included.
    pub fn from_wire(name: &str) -> Option<Algorithm> {
        if name.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if name.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hash_hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of a `Digest` Authorization or Proxy-Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri`: compare it with the Request-URI.
    pub uri: String,
    /// `response`, as sent.
    pub response: String,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Algorithm,
    /// `qop`, lower-cased (`None` for RFC 2069 style credentials).
    pub qop: Option<String>,
    /// `nc` as sent (eight hex digits).
    pub nc: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `opaque`.
    pub opaque: Option<String>,
}

/// Parses `Digest k=v, k="v", ...` into lower-cased keys and unquoted values, rejecting
/// another scheme and duplicate keys.
fn parse_digest_params(value: &str) -> Result<Vec<(String, String)>, AuthError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let split = value
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(value.len());
    let (scheme, mut rest) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::Malformed(format!(
            "scheme {scheme:?} is not Digest"
        )));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let key_end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        if key.is_empty() {
            return Err(AuthError::Malformed(format!(
                "expected a parameter name at {rest:?}"
            )));
        }
        rest = rest[key_end..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| AuthError::Malformed(format!("parameter {key} has no value")))?
            .trim_start();
        let val = if rest.starts_with('"') {
            let (v, after) = take_quoted(rest)
                .ok_or_else(|| AuthError::Malformed(format!("unterminated quote in {key}")))?;
            rest = after;
            v
        } else {
            let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
            if end == 0 {
                return Err(AuthError::Malformed(format!(
                    "parameter {key} has an empty value"
                )));
            }
            let v = rest[..end].to_owned();
            rest = &rest[end..];
            v
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(AuthError::Malformed(format!("duplicate parameter {key}")));
        }
        out.push((key, val));
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.is_empty() {
            return Err(AuthError::Malformed(format!("expected ',' at {rest:?}")));
        }
    }
    Ok(out)
}

fn take(params: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let pos = params.iter().position(|(k, _)| k == key)?;
    Some(params.remove(pos).1)
}

impl DigestCredentials {
    /// Parses an Authorization or Proxy-Authorization header value. Unknown parameters
    /// are ignored; `username`, `realm`, `nonce`, `uri` and `response` are required, and
    /// `nc` and `cnonce` too when `qop` is present.
    pub fn parse(value: &str) -> Result<DigestCredentials, AuthError> {
        let mut p = parse_digest_params(value)?;
        let mut required = |key: &str| {
            take(&mut p, key).ok_or_else(|| AuthError::Malformed(format!("missing {key}")))
        };
        let username = required("username")?;
        let realm = required("realm")?;
        let nonce = required("nonce")?;
        let uri = required("uri")?;
        let response = required("response")?;
        let algorithm = match take(&mut p, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_wire(&a).ok_or(AuthError::UnsupportedAlgorithm)?,
        };
        if take(&mut p, "userhash").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(AuthError::Malformed("userhash is not supported".into()));
        }
        let qop = take(&mut p, "qop").map(|q| q.to_ascii_lowercase());
        let nc = take(&mut p, "nc");
        let cnonce = take(&mut p, "cnonce");
        if let Some(q) = &qop {
            if q != "auth" {
                return Err(AuthError::UnsupportedQop);
            }
            match &nc {
                Some(n) if n.len() == 8 && n.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                Some(n) => {
                    return Err(AuthError::Malformed(format!(
                        "nc {n:?} is not eight hex digits"
                    )));
                }
                None => return Err(AuthError::Malformed("qop without nc".into())),
            }
            if cnonce.as_deref().is_none_or(str::is_empty) {
                return Err(AuthError::Malformed("qop without cnonce".into()));
            }
        }
        let opaque = take(&mut p, "opaque");
        Ok(DigestCredentials {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            qop,
            nc,
            cnonce,
            opaque,
        })
    }

    /// The nonce count as a number (`None` without qop).
    pub fn nonce_count(&self) -> Option<u32> {
        self.nc
            .as_deref()
            .and_then(|n| u32::from_str_radix(n, 16).ok())
    }
}

/// The parameters of a `Digest` WWW-Authenticate or Proxy-Authenticate header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Algorithm,
    /// True if the `qop` options include `auth`.
    pub qop_auth: bool,
    /// `opaque`, to be echoed.
    pub opaque: Option<String>,
    /// `stale=true`.
    pub stale: bool,
}

impl DigestChallenge {
    /// Parses a challenge header value.
    pub fn parse(value: &str) -> Result<DigestChallenge, AuthError> {
        let mut p = parse_digest_params(value)?;
        let realm =
            take(&mut p, "realm").ok_or_else(|| AuthError::Malformed("missing realm".into()))?;
        let nonce =
            take(&mut p, "nonce").ok_or_else(|| AuthError::Malformed("missing nonce".into()))?;
        let algorithm = match take(&mut p, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_wire(&a).ok_or(AuthError::UnsupportedAlgorithm)?,
        };
        let qop_auth = take(&mut p, "qop")
            .is_some_and(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
        let opaque = take(&mut p, "opaque");
        let stale = take(&mut p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true"));
        Ok(DigestChallenge {
            realm,
            nonce,
            algorithm,
            qop_auth,
            opaque,
            stale,
        })
    }

    /// The Authorization header value answering this challenge. `nc` and `cnonce` are
    /// used when the challenge offers `qop=auth`.
    pub fn authorize(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let nc_text = format!("{nc:08x}");
        let qop = self.qop_auth.then_some((nc_text.as_str(), cnonce));
        let ha1 = ha1(self.algorithm, username, &self.realm, password);
        let response = response_hash(self.algorithm, &ha1, method, uri, &self.nonce, qop);
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm
        );
        if let Some((nc, cnonce)) = qop {
            out.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
        }
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque={}", quote(o)));
        }
        out
    }
}

/// `H(username:realm:password)`.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&format!("{username}:{realm}:{password}"))
}

/// The request digest: `H(HA1:nonce:nc:cnonce:qop:HA2)` with `qop=auth`
/// (`qop` = `Some((nc, cnonce))`), or `H(HA1:nonce:HA2)` without qop, where
/// `HA2 = H(method:uri)`.
pub fn response_hash(
    algorithm: Algorithm,
    ha1: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha2 = algorithm.hash_hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => {
            algorithm.hash_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
        }
        None => algorithm.hash_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Client side in one call: parses the challenge header value and returns the
/// Authorization header value answering it (for a UAC, and for end-to-end tests).
pub fn client_response(
    challenge: &str,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    Ok(DigestChallenge::parse(challenge)?.authorize(username, password, method, uri, cnonce, nc))
}
