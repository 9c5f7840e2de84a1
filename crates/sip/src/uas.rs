//! The checks a UAS makes before acting on a request (RFC 3261 §8.2.1–§8.2.3):
//! method, required extensions, body type. Address checks (404, 416) belong to the
//! caller, which knows what is provisioned.

use crate::header::HeaderName;
use crate::message::{Request, Response, SipMessage};
use crate::method::Method;

/// What this UAS implements.
#[derive(Debug, Clone)]
pub struct UasPolicy {
    /// Methods we act on, in the order the `Allow` header lists them.
    pub allowed: Vec<Method>,
    /// Option tags we support (`Supported`); a `Require` outside this set gets 420.
    pub supported: Vec<String>,
    /// Body types we accept on requests that carry a session description.
    pub accepted_bodies: Vec<String>,
}

impl UasPolicy {
    /// The `Allow` header value.
    pub fn allow_header(&self) -> String {
        self.allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The response to send instead of acting on `req`, if one of the generic checks fails.
pub fn precheck(req: &Request, policy: &UasPolicy) -> Option<Response> {
    if !policy.allowed.contains(&req.method) {
        let code = if matches!(req.method, Method::Other(_)) {
            501
        } else {
            405
        };
        let mut resp = Response::for_request(req, code, None);
        resp.headers.push(HeaderName::ALLOW, policy.allow_header());
        return Some(resp);
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<&str> = req
            .headers
            .list(&HeaderName::REQUIRE)
            .into_iter()
            .filter(|tag| !policy.supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if !unsupported.is_empty() {
            let mut resp = Response::for_request(req, 420, None);
            resp.headers
                .push(HeaderName::UNSUPPORTED, unsupported.join(", "));
            return Some(resp);
        }
    }
    None
}

/// 415 if `req` carries a body of a type we cannot read (checked after the address,
/// as §8.2 orders it).
pub fn check_body(req: &Request, policy: &UasPolicy) -> Option<Response> {
    if req.body.is_empty() {
        return None;
    }
    let ct = req.content_type().unwrap_or_default();
    if policy
        .accepted_bodies
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&ct))
    {
        return None;
    }
    let mut resp = Response::for_request(req, 415, None);
    resp.headers
        .push(HeaderName::ACCEPT, policy.accepted_bodies.join(", "));
    Some(resp)
}
