//! The registrar (RFC 3261 §10.3): the location service's bindings from a user's
//! address-of-record to the contacts of its phones, and the REGISTER processing that
//! adds, refreshes, queries and removes them.
//!
//! It is pure: time comes in as an [`Instant`], and authentication and the check that
//! the To AOR belongs to the user are the caller's job. [`Registrar::register`] returns
//! the final response; the caller adds the To tag and whatever else it sends.
//!
//! Contacts are matched by scheme, user, host (case-insensitive) and port, so a phone
//! that changes its Contact parameters refreshes its binding instead of adding one. A
//! REGISTER is applied all or nothing: a 423 or an out-of-order CSeq changes nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::address::NameAddr;
use crate::header::HeaderName;
use crate::message::{Request, Response, SipMessage};
use crate::uri::Uri;

/// One contact bound to an address-of-record.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The Contact as sent, URI parameters and header parameters kept.
    pub contact: NameAddr,
    /// When the binding lapses.
    pub expires_at: Instant,
    /// The Call-ID of the REGISTER that made or last refreshed it.
    pub call_id: String,
    /// The CSeq number of that REGISTER.
    pub cseq: u32,
    /// The `q` parameter, if any.
    pub q: Option<f32>,
    /// Where the REGISTER came from (for NAT traversal: send requests here).
    pub source: SocketAddr,
    /// The transport it came over (`UDP`, `TCP`, ...).
    pub transport: String,
}

impl Binding {
    /// Whole seconds left before `expires_at`, rounded up.
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

/// The bindings of every user, and the expiry policy.
#[derive(Debug, Clone)]
pub struct Registrar {
    bindings: HashMap<String, Vec<Binding>>,
    min_expires: u32,
    max_expires: u32,
    default_expires: u32,
}

impl Default for Registrar {
    /// Min 60 s, max 7200 s, default 3600 s.
    fn default() -> Registrar {
        Registrar::new(60, 7200, 3600)
    }
}

/// True if two contact URIs name the same contact (scheme, user, host, port).
pub fn same_contact(a: &Uri, b: &Uri) -> bool {
    a.scheme == b.scheme
        && a.user_unescaped() == b.user_unescaped()
        && a.host.eq_ignore_ascii_case(&b.host)
        && a.port == b.port
        && a.opaque == b.opaque
}

/// Parses delta-seconds, saturating at `u32::MAX`; `None` if not all digits.
fn delta_seconds(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u32>().unwrap_or(u32::MAX))
}

/// Parses a qvalue (`0` to `1` with up to three decimals).
fn qvalue(s: &str) -> Option<f32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok =
        matches!(int, "0" | "1") && frac.len() <= 3 && frac.bytes().all(|b| b.is_ascii_digit());
    let q: f32 = s.parse().ok()?;
    (ok && q <= 1.0).then_some(q)
}

/// One Contact of a REGISTER, with the expiry it asks for.
struct Update {
    contact: NameAddr,
    expires: u32,
    q: Option<f32>,
}

impl Registrar {
    /// A registrar with the given policy (seconds). `max` is raised to `min` if below
    /// it, and `default` is kept between them.
    pub fn new(min_expires: u32, max_expires: u32, default_expires: u32) -> Registrar {
        let max_expires = max_expires.max(min_expires);
        Registrar {
            bindings: HashMap::new(),
            min_expires,
            max_expires,
            default_expires: default_expires.clamp(min_expires, max_expires),
        }
    }

    /// Processes a REGISTER for `user` received from `source` over `transport`, and
    /// returns the final response: 200 listing every current binding with its
    /// remaining `expires`, 400 for a bad Contact or wildcard, 423 with `Min-Expires`
    /// for a too-brief interval, 500 for a CSeq not above the stored one on the same
    /// Call-ID. A REGISTER without Contact is a query.
    pub fn register(
        &mut self,
        now: Instant,
        user: &str,
        req: &Request,
        source: SocketAddr,
        transport: &str,
    ) -> Response {
        let (Some(call_id), Some(cseq)) = (req.call_id(), req.cseq()) else {
            return Response::for_request(req, 400, Some("Missing Call-ID or CSeq"));
        };
        let header_expires = req
            .headers
            .get(&HeaderName::EXPIRES)
            .and_then(delta_seconds);
        let raw = req.headers.list(&HeaderName::CONTACT);
        let out_of_order = |b: &Binding| b.call_id == call_id && cseq.seq <= b.cseq;

        if raw.contains(&"*") {
            if raw.len() != 1 || header_expires != Some(0) {
                return Response::for_request(req, 400, Some("Invalid Wildcard Contact"));
            }
            let current = self
                .bindings
                .get(user)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if current.iter().any(out_of_order) {
                return Response::for_request(req, 500, Some("Out Of Order REGISTER"));
            }
            self.bindings.remove(user);
            return self.ok(now, user, req);
        }

        let mut updates = Vec::with_capacity(raw.len());
        for text in raw {
            let Ok(contact) = NameAddr::parse(text) else {
                return Response::for_request(req, 400, Some("Bad Contact"));
            };
            let expires = contact
                .params
                .value("expires")
                .and_then(delta_seconds)
                .or(header_expires)
                .unwrap_or(self.default_expires);
            let q = match contact.params.value("q") {
                None => None,
                Some(v) => match qvalue(v) {
                    Some(q) => Some(q),
                    None => return Response::for_request(req, 400, Some("Bad Contact q-value")),
                },
            };
            if expires != 0 && expires < self.min_expires {
                let mut resp = Response::for_request(req, 423, None);
                resp.headers
                    .push(HeaderName::MIN_EXPIRES, self.min_expires.to_string());
                return resp;
            }
            updates.push(Update {
                contact,
                expires: expires.min(self.max_expires),
                q,
            });
        }
        let current = self
            .bindings
            .get(user)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let reordered = updates.iter().any(|u| {
            current
                .iter()
                .any(|b| same_contact(&b.contact.uri, &u.contact.uri) && out_of_order(b))
        });
        if reordered {
            return Response::for_request(req, 500, Some("Out Of Order REGISTER"));
        }

        let list = self.bindings.entry(user.to_owned()).or_default();
        for u in updates {
            let existing = list
                .iter()
                .position(|b| same_contact(&b.contact.uri, &u.contact.uri));
            if u.expires == 0 {
                if let Some(i) = existing {
                    list.remove(i);
                }
                continue;
            }
            let expires_at = now + Duration::from_secs(u64::from(u.expires));
            let binding = Binding {
                contact: u.contact,
                expires_at,
                call_id: call_id.to_owned(),
                cseq: cseq.seq,
                q: u.q,
                source,
                transport: transport.to_owned(),
            };
            match existing {
                Some(i) => list[i] = binding,
                None => list.push(binding),
            }
        }
        list.retain(|b| b.expires_at > now);
        if list.is_empty() {
            self.bindings.remove(user);
        }
        self.ok(now, user, req)
    }

    /// The 200 listing the user's current bindings.
    fn ok(&self, now: Instant, user: &str, req: &Request) -> Response {
        let mut resp = Response::for_request(req, 200, None);
        for b in self.contacts(now, user) {
            let mut c = b.contact.clone();
            c.params
                .set("expires", Some(&b.remaining_secs(now).to_string()));
            resp.headers.push(HeaderName::CONTACT, c.to_string());
        }
        resp
    }

    /// The user's unexpired bindings, highest `q` first (no `q` ranks as 1.0), in
    /// registration order among equals.
    pub fn contacts(&self, now: Instant, user: &str) -> Vec<&Binding> {
        let mut out: Vec<&Binding> = self
            .bindings
            .get(user)
            .map(|l| l.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| b.q.unwrap_or(1.0).total_cmp(&a.q.unwrap_or(1.0)));
        out
    }

    /// Removes every binding expired at `now`.
    pub fn expire(&mut self, now: Instant) {
        self.bindings.retain(|_, list| {
            list.retain(|b| b.expires_at > now);
            !list.is_empty()
        });
    }

    /// When the next binding lapses (when to call [`Registrar::expire`]).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// The number of stored bindings (expired ones included until [`Registrar::expire`]).
    pub fn binding_count(&self) -> usize {
        self.bindings.values().map(Vec::len).sum()
    }

    /// Every user with stored bindings, and those bindings (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Binding])> {
        self.bindings
            .iter()
            .map(|(u, l)| (u.as_str(), l.as_slice()))
    }

    /// Removes all of a user's bindings (an administrative unregister).
    pub fn remove_user(&mut self, user: &str) {
        self.bindings.remove(user);
    }

    /// The smallest accepted non-zero expiry, in seconds.
    pub fn min_expires(&self) -> u32 {
        self.min_expires
    }
}
