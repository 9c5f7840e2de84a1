//! Cutting a TCP (or TLS) byte stream into whole SIP messages.
//!
//! The framer buffers what the socket delivered and hands out one frame at a time:
//! a whole message (head plus Content-Length bytes of body), a keep-alive ping
//! (`CRLF CRLF`, RFC 5626 §3.5.1, which the owner answers with a single CRLF), or
//! nothing yet. It never parses headers beyond Content-Length, so a malformed message
//! is still cut at the right place and answered by the parser with a 400, and the
//! connection stays usable. A head or body over the limits is a [`FramingError`]:
//! the owner closes the connection.

use crate::header::HeaderName;
use crate::parse::{MAX_BODY, MAX_HEAD, find_head_end};

/// One unit cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message's bytes.
    Message(Vec<u8>),
    /// A double-CRLF keep-alive ping; answer with `\r\n`.
    Ping,
}

/// The stream can no longer be framed; close it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// No end of head within [`MAX_HEAD`] bytes.
    #[error("message head exceeds {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// Content-Length is missing, repeated or not a number, so the body cannot be cut.
    #[error("cannot frame message: {0}")]
    BadContentLength(&'static str),
    /// Content-Length above [`MAX_BODY`].
    #[error("body of {0} bytes exceeds {MAX_BODY}")]
    BodyTooLarge(usize),
}

/// Accumulates stream bytes and yields frames.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Inside a run of CR/LF bytes that is not a ping (already dropped in part), so
    /// that how the run was split into reads does not decide whether a ping is seen.
    in_crlf_run: bool,
    /// Bytes at the front of `buf` already searched for the end of the head, so a head
    /// trickled in byte by byte costs linear, not quadratic, time.
    scanned: usize,
    /// Once the head is complete: the length of the whole message being waited for.
    pending: Option<usize>,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> StreamFramer {
        StreamFramer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        if let Some(total) = self.pending {
            return Ok(self.cut(total));
        }
        if self.scanned > 0 {
            return self.find_head();
        }
        if !self.in_crlf_run && self.buf.starts_with(b"\r\n\r\n") {
            self.buf.drain(..4);
            return Ok(Some(Frame::Ping));
        }
        let skip = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if skip == self.buf.len() {
            if skip >= 4 || self.in_crlf_run {
                self.buf.clear();
                self.in_crlf_run = true;
            }
            return Ok(None);
        }
        self.in_crlf_run = false;
        if skip > 0 {
            self.buf.drain(..skip);
        }
        self.find_head()
    }

    /// Continues the search for the blank line ending the head where the last one
    /// stopped (backing up 3 bytes, in case the CRLF CRLF straddles two reads).
    fn find_head(&mut self) -> Result<Option<Frame>, FramingError> {
        let from = self.scanned.saturating_sub(3);
        let Some(head_end) = find_head_end(&self.buf[from..]).map(|i| from + i) else {
            self.scanned = self.buf.len();
            return if self.buf.len() > MAX_HEAD {
                Err(FramingError::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        if head_end > MAX_HEAD {
            return Err(FramingError::HeadTooLarge);
        }
        let body_len = head_content_length(&self.buf[..head_end])?;
        if body_len > MAX_BODY {
            return Err(FramingError::BodyTooLarge(body_len));
        }
        Ok(self.cut(head_end + 4 + body_len))
    }

    /// Hands out the first `total` bytes as a message once they are all here.
    fn cut(&mut self, total: usize) -> Option<Frame> {
        if self.buf.len() < total {
            self.pending = Some(total);
            return None;
        }
        self.pending = None;
        self.scanned = 0;
        let rest = self.buf.split_off(total);
        Some(Frame::Message(std::mem::replace(&mut self.buf, rest)))
    }
}

/// Finds Content-Length (or `l`) in a raw head without parsing anything else.
fn head_content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found = None;
    for line in head.split(|b| *b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        if HeaderName::from_wire(name.trim()) != HeaderName::CONTENT_LENGTH {
            continue;
        }
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let n = value
            .trim()
            .parse::<usize>()
            .map_err(|_| FramingError::BadContentLength("not a number"))?;
        if found.replace(n).is_some_and(|prev| prev != n) {
            return Err(FramingError::BadContentLength("conflicting values"));
        }
    }
    found.ok_or(FramingError::BadContentLength(
        "missing on a stream transport",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";

    #[test]
    fn partial_reads_and_pipelining() {
        let mut f = StreamFramer::new();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(MSG);
        let mut frames = Vec::new();
        for chunk in stream.chunks(7) {
            f.push(chunk);
            while let Some(fr) = f.next_frame().unwrap() {
                frames.push(fr);
            }
        }
        assert_eq!(
            frames,
            vec![
                Frame::Ping,
                Frame::Message(MSG.to_vec()),
                Frame::Message(MSG.to_vec())
            ]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn missing_length_is_an_error() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(FramingError::BadContentLength(_))
        ));
    }

    #[test]
    fn a_trickled_head_is_scanned_once() {
        // One byte per read: the framer must still find the head end, and the body
        // arriving later completes the same message.
        let mut f = StreamFramer::new();
        let mut frames = Vec::new();
        for b in MSG {
            f.push(std::slice::from_ref(b));
            if let Some(fr) = f.next_frame().unwrap() {
                frames.push(fr);
            }
        }
        assert_eq!(frames, vec![Frame::Message(MSG.to_vec())]);
        assert_eq!((f.scanned, f.pending), (0, None));
    }

    #[test]
    fn oversized_head_is_an_error() {
        let mut f = StreamFramer::new();
        f.push(&vec![b'a'; MAX_HEAD + 10]);
        assert_eq!(f.next_frame(), Err(FramingError::HeadTooLarge));
    }
}
