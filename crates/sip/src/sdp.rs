//! SDP (RFC 4566): parsing and encoding session descriptions, and the RFC 3264
//! offer/answer that Lifeline needs for audio calls: G.711 (PCMU or PCMA, one codec
//! per call) plus RFC 4733 telephone-events.
//!
//! The parser is lenient where peers differ (CRLF or LF, blank lines, unknown lines and
//! attributes are kept, a missing `t=` means `0 0`) and precise where a defect matters:
//! an error names the line number and what is wrong with it. What is not modelled
//! (`i=`, `b=`, `k=`, extra `t=`, unknown attributes, ...) is kept and written back, so
//! `parse(encode(x)) == x`.

use std::fmt;

mod negotiate;
mod parse;

pub use negotiate::{Codec, Negotiated, answer, negotiated_from_answer, offer, restrict_to};
pub use parse::parse;

/// Why SDP was rejected or could not be negotiated. Any error from [`answer`] means
/// the offer is not acceptable: answer 488.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// A line is malformed.
    #[error("SDP line {line}: {reason}")]
    Syntax {
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A mandatory line is absent.
    #[error("SDP lacks a {0} line")]
    Missing(&'static str),
    /// No usable audio stream offers (or answers with) PCMU or PCMA.
    #[error("no common audio codec")]
    NoCommonCodec,
    /// The connection address of the chosen stream is absent or not an IP address.
    #[error("unusable connection address: {0}")]
    BadAddress(String),
}

/// The media direction attribute (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `sendrecv` (the default).
    #[default]
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses an attribute name.
    pub fn from_attr(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str() == name)
    }

    /// The direction from whether one sends and receives.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// True if this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// True if this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction seen from the other side (sendonly ↔ recvonly).
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

/// The `o=` line. Network type `IN`; the address type is IP6 when `addr` has a colon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name (`-` when none).
    pub username: String,
    /// The session id.
    pub sess_id: u64,
    /// The session version: bump it whenever the description changes.
    pub sess_version: u64,
    /// The unicast address of the originator.
    pub addr: String,
}

/// An `a=rtpmap` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub pt: u8,
    /// The encoding name as written (`PCMU`, `telephone-event`, ...).
    pub encoding: String,
    /// The clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count, if written.
    pub channels: Option<u16>,
}

impl RtpMap {
    /// An rtpmap with no channel count.
    pub fn new(pt: u8, encoding: &str, clock_rate: u32) -> RtpMap {
        RtpMap {
            pt,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
        }
    }

    /// True for `name/rate` (name case-insensitive), mono.
    fn is(&self, name: &str, rate: u32) -> bool {
        self.encoding.eq_ignore_ascii_case(name)
            && self.clock_rate == rate
            && self.channels.is_none_or(|c| c == 1)
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type (`audio`, `video`, ...).
    pub kind: String,
    /// The transport port (0 = stream rejected or disabled).
    pub port: u16,
    /// The `/count` after the port, if written.
    pub port_count: Option<u16>,
    /// The transport protocol (`RTP/AVP`, `RTP/SAVPF`, ...).
    pub proto: String,
    /// Payload types, for RTP protocols.
    pub formats: Vec<u8>,
    /// Format tokens, for other protocols (`t38`, `*`, ...).
    pub other_formats: Vec<String>,
    /// The media-level `c=` address.
    pub connection: Option<String>,
    /// `a=rtpmap` attributes in order.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` attributes: payload type and parameters.
    pub fmtp: Vec<(u8, String)>,
    /// The direction (the session-level one when the section has none).
    pub direction: Direction,
    /// `a=ptime`, in milliseconds.
    pub ptime: Option<u32>,
    /// Other attributes: name and value.
    pub attributes: Vec<(String, Option<String>)>,
    /// Other lines (`i=`, `b=`, `k=`, ...): type letter and value.
    pub lines: Vec<(char, String)>,
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`.
    pub session_name: String,
    /// The session-level `c=` address.
    pub connection: Option<String>,
    /// The first `t=` value (`0 0` when absent).
    pub timing: String,
    /// Session-level attributes: name and value.
    pub attributes: Vec<(String, Option<String>)>,
    /// Other session-level lines (`i=`, `u=`, `b=`, extra `t=`, `r=`, `z=`, ...).
    pub lines: Vec<(char, String)>,
    /// The media sections in order.
    pub media: Vec<MediaDescription>,
}

impl MediaDescription {
    /// An empty section.
    pub fn new(kind: &str, port: u16, proto: &str) -> MediaDescription {
        MediaDescription {
            kind: kind.to_owned(),
            port,
            port_count: None,
            proto: proto.to_owned(),
            formats: Vec::new(),
            other_formats: Vec::new(),
            connection: None,
            rtpmaps: Vec::new(),
            fmtp: Vec::new(),
            direction: Direction::SendRecv,
            ptime: None,
            attributes: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// The rtpmap of `pt`: the written one, else the RFC 3551 static assignment.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        if let Some(m) = self.rtpmaps.iter().find(|m| m.pt == pt) {
            return Some(m.clone());
        }
        let (name, rate) = match pt {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            4 => ("G723", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            13 => ("CN", 8000),
            18 => ("G729", 8000),
            _ => return None,
        };
        Some(RtpMap::new(pt, name, rate))
    }

    /// The `a=fmtp` parameters of `pt`.
    pub fn fmtp_of(&self, pt: u8) -> Option<&str> {
        self.fmtp
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, f)| f.as_str())
    }
}

fn addr_type(addr: &str) -> &'static str {
    if addr.contains(':') { "IP6" } else { "IP4" }
}

/// Where a line type goes among the session-level lines (RFC 4566 §5 order).
fn session_rank(ty: char) -> u8 {
    match ty {
        'i' | 'u' | 'e' | 'p' => 0,
        'b' => 1,
        _ => 2,
    }
}

fn write_attr(f: &mut fmt::Formatter<'_>, name: &str, value: Option<&str>) -> fmt::Result {
    match value {
        Some(v) => write!(f, "a={name}:{v}\r\n"),
        None => write!(f, "a={name}\r\n"),
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(c) = self.port_count {
            write!(f, "/{c}")?;
        }
        write!(f, " {}", self.proto)?;
        for pt in &self.formats {
            write!(f, " {pt}")?;
        }
        for other in &self.other_formats {
            write!(f, " {other}")?;
        }
        f.write_str("\r\n")?;
        for (ty, v) in self.lines.iter().filter(|(t, _)| *t == 'i') {
            write!(f, "{ty}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        for (ty, v) in self.lines.iter().filter(|(t, _)| *t != 'i') {
            write!(f, "{ty}={v}\r\n")?;
        }
        for m in &self.rtpmaps {
            write!(f, "a=rtpmap:{} {}/{}", m.pt, m.encoding, m.clock_rate)?;
            match m.channels {
                Some(c) => write!(f, "/{c}\r\n")?,
                None => f.write_str("\r\n")?,
            }
        }
        for (pt, params) in &self.fmtp {
            write!(f, "a=fmtp:{pt} {params}\r\n")?;
        }
        if let Some(p) = self.ptime {
            write!(f, "a=ptime:{p}\r\n")?;
        }
        write_attr(f, self.direction.as_str(), None)?;
        for (n, v) in &self.attributes {
            write_attr(f, n, v.as_deref())?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\n",
            o.username,
            o.sess_id,
            o.sess_version,
            addr_type(&o.addr),
            o.addr
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        let lines = |rank: u8| {
            self.lines
                .iter()
                .filter(move |(t, _)| session_rank(*t) == rank)
        };
        for (ty, v) in lines(0) {
            write!(f, "{ty}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {c}\r\n", addr_type(c))?;
        }
        for (ty, v) in lines(1) {
            write!(f, "{ty}={v}\r\n")?;
        }
        write!(f, "t={}\r\n", self.timing)?;
        for (ty, v) in lines(2) {
            write!(f, "{ty}={v}\r\n")?;
        }
        for (n, v) in &self.attributes {
            write_attr(f, n, v.as_deref())?;
        }
        self.media.iter().try_for_each(|m| write!(f, "{m}"))
    }
}

impl SessionDescription {
    /// The wire form (CRLF line ends).
    pub fn encode(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}
