//! Turning bytes into a validated [`Message`].
//!
//! Parsing is strict where RFC 3261 and RFC 4475 ask for rejection and lenient where
//! they ask for robustness (folded lines, odd LWS, compact names, unknown headers and
//! methods, leading CRLFs). A rejection is a [`ParseError`] carrying the status code
//! to answer with and a reason phrase naming the defect; when the bytes held enough of
//! a request to address a response, [`ParseError::response`] builds it.

use crate::address::NameAddr;
use crate::cseq::CSeq;
use crate::header::{HeaderName, Headers};
use crate::message::{Message, Request, Response};
use crate::method::Method;
use crate::uri::Uri;
use crate::via::Via;

/// How the message arrived: this decides what a missing Content-Length means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One message per datagram: the body is the rest of the datagram unless
    /// Content-Length says less.
    Datagram,
    /// A byte stream: Content-Length is mandatory.
    Stream,
}

/// A message that must be rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}")]
pub struct ParseError {
    /// The status code to answer with (400, 416, 505, ...).
    pub code: u16,
    /// A reason phrase naming the defect.
    pub reason: String,
    /// What was read of the message, to address an error response.
    pub head: Option<PartialRequest>,
}

/// The parts of a rejected request needed to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialRequest {
    /// The method from the request line.
    pub method: Method,
    /// The headers that were read.
    pub headers: Headers,
}

impl ParseError {
    fn new(code: u16, reason: impl Into<String>) -> ParseError {
        ParseError {
            code,
            // Reasons quote the defect, which may hold control characters (a lone LF).
            reason: sanitize_reason(&reason.into()),
            head: None,
        }
    }

    /// The error response to send (to the source address: the request's Via may be
    /// what is broken), or `None` when the message was a response or an ACK. It copies
    /// whichever of Via, From, To, Call-ID and CSeq the request had.
    pub fn response(&self) -> Option<Response> {
        let head = self.head.as_ref()?;
        if head.method == Method::Ack {
            return None;
        }
        let req = Request {
            method: head.method.clone(),
            uri: Uri::sip(None, "invalid", None),
            headers: head.headers.clone(),
            body: Vec::new(),
        };
        let reason = sanitize_reason(&self.reason);
        Some(Response::for_request(&req, self.code, Some(&reason)))
    }
}

/// Reason phrases go on the status line: keep them printable and short.
fn sanitize_reason(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    clean.chars().take(120).collect()
}

/// Largest message head we accept (start line plus headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest body we accept.
pub const MAX_BODY: usize = 256 * 1024;

/// Parses one complete message.
pub fn parse(bytes: &[u8], transport: Transport) -> Result<Message, ParseError> {
    let bytes = skip_leading_crlf(bytes);
    // A datagram ends the message: one without the blank line is all head.
    let (head_end, rest) = match (find_head_end(bytes), transport) {
        (Some(end), _) => (end, &bytes[end + 4..]),
        (None, Transport::Datagram) => {
            let end = bytes.len() - if bytes.ends_with(b"\r\n") { 2 } else { 0 };
            (end, &bytes[bytes.len()..])
        }
        (None, Transport::Stream) => return Err(ParseError::new(400, "Incomplete Message Head")),
    };
    if head_end > MAX_HEAD {
        return Err(ParseError::new(513, "Message Head Too Large"));
    }
    let head = std::str::from_utf8(&bytes[..head_end])
        .map_err(|_| ParseError::new(400, "Header Is Not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or("");
    let kind = parse_start_line(start);
    // Even a broken request line names its method, which is enough to answer it.
    let method = match &kind {
        Ok(StartLine::Request { method, .. }) => Some(method.clone()),
        Ok(StartLine::Response { .. }) => None,
        Err(_)
            if start
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) =>
        {
            None
        }
        Err(_) => start.split(' ').next().and_then(Method::parse),
    };
    let headers = parse_headers(lines)
        .map_err(|reason| attach(ParseError::new(400, reason), &method, None))?;
    let kind = kind.map_err(|e| attach(e, &method, Some(&headers)))?;
    let body =
        extract_body(&headers, rest, transport).map_err(|e| attach(e, &method, Some(&headers)))?;
    match kind {
        StartLine::Request { method, uri } => {
            let req = Request {
                method,
                uri,
                headers,
                body,
            };
            validate_request(&req)
                .map_err(|e| attach(e, &Some(req.method.clone()), Some(&req.headers)))?;
            Ok(Message::Request(req))
        }
        StartLine::Response { status, reason } => {
            let resp = Response {
                status,
                reason,
                headers,
                body,
            };
            validate_common(&resp.headers)?;
            Ok(Message::Response(resp))
        }
    }
}

fn attach(mut e: ParseError, method: &Option<Method>, headers: Option<&Headers>) -> ParseError {
    if let (Some(method), Some(headers)) = (method, headers) {
        e.head = Some(PartialRequest {
            method: method.clone(),
            headers: headers.clone(),
        });
    }
    e
}

/// Strips the CRLFs a sender may put before a start line (RFC 3261 §7.5).
pub fn skip_leading_crlf(mut bytes: &[u8]) -> &[u8] {
    while let Some(rest) = bytes.strip_prefix(b"\r\n") {
        bytes = rest;
    }
    bytes
}

/// The offset of the blank line ending the head, if the head is complete.
pub fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: u16, reason: String },
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = strip_version_prefix(line) {
        let (code, reason) = match rest.split_once(' ') {
            Some((c, r)) => (c, r),
            None => (rest, ""),
        };
        let status = code
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=699).contains(s) && code.len() == 3)
            .ok_or_else(|| ParseError::new(400, format!("Bad Status Code {code:?}")))?;
        return Ok(StartLine::Response {
            status,
            reason: reason.to_owned(),
        });
    }
    let (method_text, rest) = line
        .split_once(' ')
        .ok_or_else(|| ParseError::new(400, "Malformed Request Line"))?;
    let method =
        Method::parse(method_text).ok_or_else(|| ParseError::new(400, "Bad Method Token"))?;
    let (uri_text, version) = rest
        .rsplit_once(' ')
        .ok_or_else(|| ParseError::new(400, "Malformed Request Line"))?;
    if uri_text.is_empty() || uri_text.contains(char::is_whitespace) {
        return Err(ParseError::new(400, "Whitespace In Request-URI"));
    }
    check_version(version)?;
    let uri = match Uri::parse(uri_text) {
        Ok(u) => u,
        Err(e) => return Err(ParseError::new(400, format!("Bad Request-URI: {e}"))),
    };
    if !uri.is_supported_scheme() {
        return Err(ParseError::new(416, "Unsupported URI Scheme"));
    }
    Ok(StartLine::Request { method, uri })
}

fn strip_version_prefix(line: &str) -> Option<&str> {
    let prefix = line.get(..4)?;
    if !prefix.eq_ignore_ascii_case("SIP/") {
        return None;
    }
    let (version, rest) = line.split_once(' ')?;
    check_version(version).ok()?;
    Some(rest)
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let looks_like_sip = version
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && version[4..].chars().all(|c| c.is_ascii_digit() || c == '.')
        && version.len() > 4;
    if looks_like_sip {
        Err(ParseError::new(505, "Version Not Supported"))
    } else {
        Err(ParseError::new(400, format!("Bad SIP Version {version:?}")))
    }
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Headers, String> {
    let mut unfolded: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = unfolded
                .last_mut()
                .ok_or("Folded Line Before First Header")?;
            last.push(' ');
            last.push_str(line.trim());
        } else {
            unfolded.push(line.to_owned());
        }
    }
    let mut headers = Headers::new();
    for line in &unfolded {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("Header Line Without Colon: {}", short(line)))?;
        let name = name.trim_end_matches([' ', '\t']);
        if !crate::grammar::is_token(name) {
            return Err(format!("Bad Header Name {}", short(name)));
        }
        headers.push(HeaderName::from_wire(name), value.trim());
    }
    Ok(headers)
}

fn short(s: &str) -> String {
    let s: String = s.chars().take(40).collect();
    format!("{s:?}")
}

fn content_length(headers: &Headers) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for v in headers.get_all(&HeaderName::CONTENT_LENGTH) {
        let n = v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|_| !v.trim().is_empty() && v.trim().chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| ParseError::new(400, format!("Bad Content-Length {}", short(v))))?;
        if found.is_some() {
            return Err(ParseError::new(400, "Multiple Content-Length Headers"));
        }
        found = Some(n);
    }
    Ok(found)
}

fn extract_body(
    headers: &Headers,
    rest: &[u8],
    transport: Transport,
) -> Result<Vec<u8>, ParseError> {
    let len = match (content_length(headers)?, transport) {
        (Some(n), _) => n,
        (None, Transport::Datagram) => rest.len(),
        (None, Transport::Stream) => return Err(ParseError::new(400, "Missing Content-Length")),
    };
    if len > MAX_BODY {
        return Err(ParseError::new(413, "Body Too Large"));
    }
    if len > rest.len() {
        return Err(ParseError::new(400, "Content-Length Larger Than Body"));
    }
    Ok(rest[..len].to_vec())
}

/// Single-valued headers that must not repeat with different values.
const SINGLE: [HeaderName; 5] = [
    HeaderName::CALL_ID,
    HeaderName::CSEQ,
    HeaderName::FROM,
    HeaderName::TO,
    HeaderName::MAX_FORWARDS,
];

fn validate_common(h: &Headers) -> Result<CSeq, ParseError> {
    for name in [
        HeaderName::VIA,
        HeaderName::FROM,
        HeaderName::TO,
        HeaderName::CALL_ID,
        HeaderName::CSEQ,
    ] {
        if !h.contains(&name) {
            return Err(ParseError::new(400, format!("Missing {name} Header")));
        }
    }
    for name in SINGLE {
        if h.get_all(&name).count() > 1 {
            return Err(ParseError::new(400, format!("Multiple {name} Headers")));
        }
    }
    let vias = h.list(&HeaderName::VIA);
    if vias.is_empty() {
        return Err(ParseError::new(400, "Empty Via Header"));
    }
    for v in vias {
        Via::parse(v).map_err(|e| ParseError::new(400, format!("Bad Via Header: {}", e.0)))?;
    }
    for name in [HeaderName::FROM, HeaderName::TO] {
        let value = h.get(&name).unwrap_or("");
        NameAddr::parse(value)
            .map_err(|e| ParseError::new(400, format!("Bad {name} Header: {e}")))?;
    }
    let call_id = h.get(&HeaderName::CALL_ID).unwrap_or("");
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err(ParseError::new(400, "Bad Call-ID Header"));
    }
    let cseq = CSeq::parse(h.get(&HeaderName::CSEQ).unwrap_or(""))
        .map_err(|e| ParseError::new(400, format!("Bad CSeq Header: {e}")))?;
    Ok(cseq)
}

fn validate_request(req: &Request) -> Result<(), ParseError> {
    let h = &req.headers;
    let cseq = validate_common(h)?;
    if cseq.method != req.method && !matches!(req.method, Method::Other(_)) {
        return Err(ParseError::new(
            400,
            "CSeq Method Does Not Match Request Method",
        ));
    }
    if let Some(mf) = h.get(&HeaderName::MAX_FORWARDS) {
        let ok = !mf.is_empty()
            && mf.chars().all(|c| c.is_ascii_digit())
            && mf.parse::<u32>().is_ok_and(|n| n <= 255);
        if !ok {
            return Err(ParseError::new(
                400,
                format!("Bad Max-Forwards {}", short(mf)),
            ));
        }
    }
    if let Some(exp) = h.get(&HeaderName::EXPIRES)
        && (exp.is_empty() || !exp.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ParseError::new(400, format!("Bad Expires {}", short(exp))));
    }
    if req.uri.headers.is_some() {
        return Err(ParseError::new(400, "Request-URI Must Not Carry Headers"));
    }
    if req.method == Method::Register
        && let Some(to) = h.get(&HeaderName::TO).and_then(|t| NameAddr::parse(t).ok())
        && !matches!(
            to.uri.scheme,
            crate::uri::Scheme::Sip | crate::uri::Scheme::Sips
        )
    {
        return Err(ParseError::new(400, "REGISTER To Must Be A SIP URI"));
    }
    for c in h.list(&HeaderName::CONTACT) {
        if c != "*" {
            NameAddr::parse(c)
                .map_err(|e| ParseError::new(400, format!("Bad Contact Header: {e}")))?;
        }
    }
    Ok(())
}
