//! The CSeq header (RFC 3261 §20.16).

use std::fmt;

use crate::method::Method;

/// A CSeq value: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (below 2^31).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1234 INVITE`.
    pub fn parse(text: &str) -> Result<CSeq, String> {
        let mut it = text.split_whitespace();
        let (Some(num), Some(method), None) = (it.next(), it.next(), it.next()) else {
            return Err(format!("CSeq {text:?} is not \"number method\""));
        };
        let seq = num
            .parse::<u32>()
            .ok()
            .filter(|n| *n < 1 << 31 && num.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| format!("CSeq number {num:?} is not below 2^31"))?;
        let method = Method::parse(method)
            .ok_or_else(|| format!("CSeq method {method:?} is not a token"))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
