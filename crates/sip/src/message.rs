//! SIP requests and responses: the in-memory model every other module works on, and
//! its wire encoding.
//!
//! Messages are built by [`crate::parse`] (which validates them) or by the constructors
//! here. Encoding always writes a `Content-Length` that matches the body, whatever the
//! header list says, so a message we send can never be mis-framed.

use std::fmt::Write as _;

use crate::address::NameAddr;
use crate::cseq::CSeq;
use crate::header::{HeaderName, Headers};
use crate::method::Method;
use crate::uri::Uri;
use crate::via::Via;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method of the request line.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Header fields in order.
    pub headers: Headers,
    /// The body (may be empty).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (100–699).
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in order.
    pub headers: Headers,
    /// The body (may be empty).
    pub body: Vec<u8>,
}

/// Either kind of SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// Typed accessors shared by requests and responses. They return `None` when the
/// header is absent or malformed; messages from [`crate::parse`] have valid
/// Via/From/To/Call-ID/CSeq, so for those they only fail for optional headers.
pub trait SipMessage {
    /// The header list.
    fn headers(&self) -> &Headers;
    /// The header list, mutably.
    fn headers_mut(&mut self) -> &mut Headers;
    /// The body.
    fn body(&self) -> &[u8];

    /// The Call-ID.
    fn call_id(&self) -> Option<&str> {
        self.headers().get(&HeaderName::CALL_ID)
    }
    /// The CSeq.
    fn cseq(&self) -> Option<CSeq> {
        self.headers()
            .get(&HeaderName::CSEQ)
            .and_then(|v| CSeq::parse(v).ok())
    }
    /// The topmost Via.
    fn top_via(&self) -> Option<Via> {
        self.headers()
            .list(&HeaderName::VIA)
            .first()
            .and_then(|v| Via::parse(v).ok())
    }
    /// Every Via, top first.
    fn vias(&self) -> Vec<Via> {
        self.headers()
            .list(&HeaderName::VIA)
            .into_iter()
            .filter_map(|v| Via::parse(v).ok())
            .collect()
    }
    /// The From address.
    fn from(&self) -> Option<NameAddr> {
        self.headers()
            .get(&HeaderName::FROM)
            .and_then(|v| NameAddr::parse(v).ok())
    }
    /// The To address.
    fn to(&self) -> Option<NameAddr> {
        self.headers()
            .get(&HeaderName::TO)
            .and_then(|v| NameAddr::parse(v).ok())
    }
    /// Every Contact address (an empty list for `Contact: *`).
    fn contacts(&self) -> Vec<NameAddr> {
        self.headers()
            .list(&HeaderName::CONTACT)
            .into_iter()
            .filter(|c| *c != "*")
            .filter_map(|c| NameAddr::parse(c).ok())
            .collect()
    }
    /// The Content-Type, lower-cased without parameters.
    fn content_type(&self) -> Option<String> {
        self.headers().get(&HeaderName::CONTENT_TYPE).map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
    /// The Expires header as seconds.
    fn expires(&self) -> Option<u32> {
        self.headers()
            .get(&HeaderName::EXPIRES)
            .and_then(|v| v.trim().parse().ok())
    }
}

impl SipMessage for Request {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn body(&self) -> &[u8] {
        &self.body
    }
}

impl SipMessage for Response {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn body(&self) -> &[u8] {
        &self.body
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The Max-Forwards value, if present and valid.
    pub fn max_forwards(&self) -> Option<u8> {
        self.headers
            .get(&HeaderName::MAX_FORWARDS)
            .and_then(|v| v.trim().parse().ok())
    }

    /// Encodes the request for the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        encode_rest(&mut head, &self.headers, &self.body)
    }
}

impl Response {
    /// A response with the headers RFC 3261 §8.2.6.2 copies from the request: every Via,
    /// From, To, Call-ID, CSeq (and Timestamp). The reason phrase defaults to the
    /// standard one when `reason` is `None`.
    pub fn for_request(req: &Request, status: u16, reason: Option<&str>) -> Response {
        let mut headers = Headers::new();
        for h in req.headers.iter() {
            let n = &h.name;
            if *n == HeaderName::VIA
                || *n == HeaderName::FROM
                || *n == HeaderName::TO
                || *n == HeaderName::CALL_ID
                || *n == HeaderName::CSEQ
                || *n == HeaderName::TIMESTAMP
            {
                headers.push(n.clone(), h.value.clone());
            }
        }
        Response {
            status,
            reason: reason
                .map(str::to_owned)
                .unwrap_or_else(|| reason_phrase(status).to_owned()),
            headers,
            body: Vec::new(),
        }
    }

    /// Sets the To tag (if the To header has none yet).
    pub fn set_to_tag(&mut self, tag: &str) {
        if let Some(mut to) = self.to()
            && to.tag().is_none()
        {
            to.params.set("tag", Some(tag));
            self.headers.set(HeaderName::TO, to.to_string());
        }
    }

    /// Encodes the response for the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = format!("SIP/2.0 {} {}\r\n", self.status, self.reason);
        encode_rest(&mut head, &self.headers, &self.body)
    }
}

impl Message {
    /// Encodes the message for the wire.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.encode(),
            Message::Response(r) => r.encode(),
        }
    }
}

fn encode_rest(head: &mut String, headers: &Headers, body: &[u8]) -> Vec<u8> {
    for h in headers.iter() {
        if h.name != HeaderName::CONTENT_LENGTH {
            let _ = write!(head, "{}: {}\r\n", h.name, h.value);
        }
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
    let mut out = head.clone().into_bytes();
    out.extend_from_slice(body);
    out
}

/// The standard reason phrase for a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        424 => "Bad Location Information",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => match status / 100 {
            1 => "Trying",
            2 => "OK",
            3 => "Redirect",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}
