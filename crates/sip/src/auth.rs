//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760 SHA-256): the
//! server side that challenges and verifies requests, plus the client side computation.
//!
//! Nonces are self-validating, so issuing a challenge stores nothing: a nonce carries
//! its issue time (unix seconds, given by the caller), a per-authenticator counter and a
//! keyed SHA-256 MAC over both. State is kept only for nonces that have authenticated a
//! request, to reject replays (a repeated or lower `nc`, or a second use of a nonce
//! without `qop`). That state is bounded: expired nonces are pruned, and when the cap is
//! reached the oldest nonces are evicted and later treated as stale, never as fresh.
//! Only `qop=auth` is supported; `auth-int` and the `-sess` algorithms are refused.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::grammar::quote;

mod digest;

pub use digest::{
    Algorithm, DigestChallenge, DigestCredentials, client_response, ha1, response_hash,
};

/// Why a request's credentials were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials (an empty header value): challenge.
    #[error("no credentials")]
    Missing,
    /// The header is not a well-formed Digest credential.
    #[error("malformed credentials: {0}")]
    Malformed(String),
    /// The credentials are for another realm.
    #[error("credentials for another realm")]
    WrongRealm,
    /// The lookup knows no such user.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// The nonce is ours and the response is right, but the nonce has expired (or was
    /// evicted): re-challenge with `stale=true`.
    #[error("stale nonce")]
    StaleNonce,
    /// The nonce was not issued by this authenticator.
    #[error("nonce not issued here")]
    BadNonce,
    /// The nonce count was already used, or a nonce without qop was used twice.
    #[error("replayed nonce count")]
    Replay,
    /// The response hash is wrong (wrong password, or a tampered request).
    #[error("wrong response")]
    BadResponse,
    /// An algorithm other than MD5 or SHA-256.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A qop other than `auth`.
    #[error("unsupported qop")]
    UnsupportedQop,
}

/// HMAC-SHA256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The default cap on remembered nonces.
pub const DEFAULT_MAX_NONCES: usize = 100_000;

/// Hex digits of the MAC kept in a nonce (128 bits).
const MAC_HEX: usize = 32;

/// What is remembered of a nonce that authenticated a request.
#[derive(Debug, Clone, Copy)]
struct NonceUse {
    /// The highest nonce count accepted; `u64::MAX` once used without qop.
    max_nc: u64,
}

/// The server side: issues challenges and verifies credentials for one realm.
#[derive(Debug, Clone)]
pub struct DigestAuthenticator {
    realm: String,
    secret: [u8; 32],
    nonce_ttl_secs: u64,
    counter: u64,
    max_nonces: usize,
    /// Nonces that authenticated a request, keyed by (issue time, counter).
    used: BTreeMap<(u64, u64), NonceUse>,
    /// Nonces at or below this key were evicted: they are answered as stale.
    evicted_up_to: Option<(u64, u64)>,
    /// Algorithms challenged with, most preferred first; responses in others are refused.
    algorithms: Vec<Algorithm>,
}

impl DigestAuthenticator {
    /// An authenticator for `realm`, keyed by `secret` (random, from the caller), whose
    /// nonces are valid for `nonce_ttl_secs`.
    pub fn new(
        realm: impl Into<String>,
        secret: [u8; 32],
        nonce_ttl_secs: u64,
    ) -> DigestAuthenticator {
        DigestAuthenticator {
            realm: realm.into(),
            secret,
            nonce_ttl_secs,
            counter: 0,
            max_nonces: DEFAULT_MAX_NONCES,
            used: BTreeMap::new(),
            evicted_up_to: None,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }

    /// Sets the algorithms to challenge with, most preferred first (RFC 8760 §2.4: the
    /// client uses the topmost it supports). Many deployed phones and sipp read only
    /// the first challenge and know only MD5; put MD5 first for them. An empty list
    /// keeps the default, SHA-256 then MD5.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> DigestAuthenticator {
        if !algorithms.is_empty() {
            self.algorithms = algorithms.to_vec();
        }
        self
    }

    /// Changes the cap on remembered nonces (at least 1).
    pub fn with_max_nonces(mut self, max: usize) -> DigestAuthenticator {
        self.max_nonces = max.max(1);
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many nonces are remembered for replay protection.
    pub fn remembered_nonces(&self) -> usize {
        self.used.len()
    }

    fn mac_hex(&self, issued: u64, counter: u64) -> String {
        let mut msg = [0u8; 16];
        msg[..8].copy_from_slice(&issued.to_be_bytes());
        msg[8..].copy_from_slice(&counter.to_be_bytes());
        let mut h = hex::encode(hmac_sha256(&self.secret, &msg));
        h.truncate(MAC_HEX);
        h
    }

    /// A fresh nonce issued at `now_secs`.
    pub fn new_nonce(&mut self, now_secs: u64) -> String {
        self.counter = self.counter.wrapping_add(1);
        format!(
            "{now_secs:016x}{:016x}{}",
            self.counter,
            self.mac_hex(now_secs, self.counter)
        )
    }

    /// Checks a nonce's MAC, returning its (issue time, counter).
    fn decode_nonce(&self, nonce: &str) -> Option<(u64, u64)> {
        if nonce.len() != 32 + MAC_HEX || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let issued = u64::from_str_radix(&nonce[..16], 16).ok()?;
        let counter = u64::from_str_radix(&nonce[16..32], 16).ok()?;
        let mac = self.mac_hex(issued, counter);
        constant_time_eq(mac.as_bytes(), nonce[32..].to_ascii_lowercase().as_bytes())
            .then_some((issued, counter))
    }

    /// The WWW-Authenticate (or Proxy-Authenticate) values for a 401 (407): one
    /// challenge per configured algorithm in preference order (RFC 8760 §2.4), each
    /// with its own nonce.
    pub fn challenge(&mut self, now_secs: u64, stale: bool) -> Vec<String> {
        self.algorithms
            .clone()
            .into_iter()
            .map(|alg| {
                let nonce = self.new_nonce(now_secs);
                let mut v = format!(
                    "Digest realm={}, nonce=\"{nonce}\", qop=\"auth\", algorithm={alg}",
                    quote(&self.realm)
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Verifies an Authorization (or Proxy-Authorization) header value for a request
    /// with `method`, returning the authenticated username. `lookup` gives a user's
    /// plaintext password. On [`AuthError::StaleNonce`] re-challenge with `stale=true`;
    /// on other errors challenge again (or answer 403). The `uri` parameter is not
    /// compared with the Request-URI here: use [`DigestCredentials::parse`] for that.
    pub fn verify(
        &mut self,
        now_secs: u64,
        method: &str,
        header_value: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<String, AuthError> {
        let creds = DigestCredentials::parse(header_value)?;
        if creds.realm != self.realm {
            return Err(AuthError::WrongRealm);
        }
        if !self.algorithms.contains(&creds.algorithm) {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let key = self.decode_nonce(&creds.nonce).ok_or(AuthError::BadNonce)?;
        let password = lookup(&creds.username)
            .ok_or_else(|| AuthError::UnknownUser(creds.username.clone()))?;
        let ha1 = ha1(creds.algorithm, &creds.username, &creds.realm, &password);
        let qop = match (&creds.nc, &creds.cnonce) {
            (Some(nc), Some(cnonce)) if creds.qop.is_some() => Some((nc.as_str(), cnonce.as_str())),
            _ => None,
        };
        let expected = response_hash(creds.algorithm, &ha1, method, &creds.uri, &creds.nonce, qop);
        if !constant_time_eq(
            expected.as_bytes(),
            creds.response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(AuthError::BadResponse);
        }
        self.prune(now_secs);
        let (issued, _) = key;
        if now_secs.saturating_sub(issued) > self.nonce_ttl_secs {
            return Err(AuthError::StaleNonce);
        }
        let nc = match creds.qop {
            Some(_) => u64::from(
                creds
                    .nonce_count()
                    .ok_or_else(|| AuthError::Malformed("bad nc".into()))?,
            ),
            None => u64::MAX,
        };
        match self.used.get_mut(&key) {
            Some(state) => {
                if nc <= state.max_nc {
                    return Err(AuthError::Replay);
                }
                state.max_nc = nc;
            }
            None => {
                if self.evicted_up_to.is_some_and(|floor| key <= floor) {
                    return Err(AuthError::StaleNonce);
                }
                while self.used.len() >= self.max_nonces {
                    if let Some((oldest, _)) = self.used.pop_first() {
                        self.evicted_up_to =
                            Some(self.evicted_up_to.map_or(oldest, |f| f.max(oldest)));
                    }
                }
                self.used.insert(key, NonceUse { max_nc: nc });
            }
        }
        Ok(creds.username)
    }

    /// Forgets nonces that have expired by `now_secs`.
    pub fn prune(&mut self, now_secs: u64) {
        let Some(cutoff) = now_secs.checked_sub(self.nonce_ttl_secs) else {
            return;
        };
        // Keys issued before `cutoff` are expired; keep (cutoff, 0) and later.
        if self
            .used
            .first_key_value()
            .is_some_and(|(k, _)| k.0 < cutoff)
        {
            self.used = self.used.split_off(&(cutoff, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case1() {
        // A 20-byte key zero-padded to 32 bytes gives the same HMAC.
        let mut key = [0u8; 32];
        key[..20].fill(0x0b);
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }
}
