//! The RTP port range type.
//!
//! This module owns [`PortRange`], the validated value of `server.rtp_ports`, and its
//! parsing from the `"LO-HI"` text form.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// The highest port an RTP range may use: the ephemeral range starts at 32768, and
/// outgoing connections must not collide with media ports.
pub const MAX_RTP_PORT: u16 = 32767;

/// An inclusive range of UDP ports for RTP, from `"LO-HI"`.
///
/// Invariants: `LO` is even and at least 2 (RTP takes even ports, RTCP the odd port
/// above), `LO < HI`, and `HI` is at most [`MAX_RTP_PORT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    /// Checks the invariants; the error says which one fails.
    pub fn new(lo: u16, hi: u16) -> Result<Self, PortRangeError> {
        let reason = if lo == 0 {
            "LO must not be 0".to_owned()
        } else if !lo.is_multiple_of(2) {
            format!("LO {lo} is odd")
        } else if lo >= hi {
            format!("LO {lo} is not below HI {hi}")
        } else if hi > MAX_RTP_PORT {
            format!("HI {hi} is not below 32768")
        } else {
            return Ok(Self { lo, hi });
        };
        Err(PortRangeError {
            text: format!("{lo}-{hi}"),
            reason,
        })
    }

    /// The first port (even).
    pub fn start(&self) -> u16 {
        self.lo
    }

    /// The last port (inclusive).
    pub fn end(&self) -> u16 {
        self.hi
    }

    /// The ports as a `RangeInclusive`.
    pub fn ports(&self) -> RangeInclusive<u16> {
        self.lo..=self.hi
    }

    /// The even ports available for RTP (each paired with the odd port above for RTCP
    /// when that is in range too).
    pub fn rtp_ports(&self) -> impl Iterator<Item = u16> + use<> {
        (self.lo..=self.hi).step_by(2)
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.ports().contains(&port)
    }

    /// The number of ports in the range (at least 2).
    pub fn len(&self) -> usize {
        usize::from(self.hi - self.lo) + 1
    }

    /// Always false: a valid range holds at least two ports.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.lo, self.hi)
    }
}

impl From<PortRange> for RangeInclusive<u16> {
    fn from(range: PortRange) -> Self {
        range.ports()
    }
}

/// Why a text is not a valid [`PortRange`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected \"LO-HI\" with LO even and HI below 32768, got \"{text}\" ({reason})")]
pub struct PortRangeError {
    text: String,
    reason: String,
}

impl FromStr for PortRange {
    type Err = PortRangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| PortRangeError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (lo, hi) = text.split_once('-').ok_or_else(|| error("no \"-\""))?;
        let port = |s: &str, which: &str| {
            s.trim()
                .parse::<u16>()
                .map_err(|_| error(&format!("{which} is not a port number")))
        };
        let (lo, hi) = (port(lo, "LO")?, port(hi, "HI")?);
        Self::new(lo, hi).map_err(|e| error(&e.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_ranges() {
        let range: PortRange = "20000-20999".parse().unwrap();
        assert_eq!(
            (range.start(), range.end(), range.len()),
            (20000, 20999, 1000)
        );
        assert_eq!(range.rtp_ports().count(), 500);
        assert!(range.contains(20500) && !range.contains(21000));
        assert_eq!(range.to_string(), "20000-20999");
        assert_eq!(RangeInclusive::from(range), 20000..=20999);
        assert_eq!("10000 - 10001".parse::<PortRange>().unwrap().len(), 2);
    }

    #[test]
    fn rejects_invalid_ranges_with_the_reason() {
        for (text, reason) in [
            ("30000-40000", "HI 40000 is not below 32768"),
            ("20001-20999", "LO 20001 is odd"),
            ("20000-20000", "LO 20000 is not below HI 20000"),
            ("21000-20000", "LO 21000 is not below HI 20000"),
            ("0-100", "LO must not be 0"),
            ("20000", "no \"-\""),
            ("a-20999", "LO is not a port number"),
            ("20000-70000", "HI is not a port number"),
        ] {
            let error = text.parse::<PortRange>().unwrap_err().to_string();
            assert_eq!(
                error,
                format!(
                    "expected \"LO-HI\" with LO even and HI below 32768, got \"{text}\" ({reason})"
                )
            );
        }
    }
}
