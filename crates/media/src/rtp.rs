//! RTP fixed header (RFC 3550 §5.1): building packets, reading the fields a relay
//! rewrites, and locating the payload past CSRCs, a header extension and padding.

/// Length of the fixed RTP header without CSRCs.
pub const HEADER_LEN: usize = 12;

/// The fixed-header fields Lifeline sets when it originates a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (0 PCMU, 8 PCMA, dynamic for telephone-event).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Writes the header followed by `payload` into `out` (cleared first).
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.push(0x80);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// Reads the fixed header of `packet`; `None` if it is not RTP version 2 or is
    /// shorter than the header.
    pub fn read(packet: &[u8]) -> Option<RtpHeader> {
        if packet.len() < HEADER_LEN || packet[0] >> 6 != 2 {
            return None;
        }
        Some(RtpHeader {
            payload_type: packet[1] & 0x7F,
            marker: packet[1] & 0x80 != 0,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        })
    }
}

/// Reads the fixed header and returns it with the payload, skipping CSRC identifiers
/// and a header extension and removing padding; `None` if any of those lengths runs
/// past the packet.
pub fn split(packet: &[u8]) -> Option<(RtpHeader, &[u8])> {
    let header = RtpHeader::read(packet)?;
    let csrc_count = usize::from(packet[0] & 0x0F);
    let mut start = HEADER_LEN + 4 * csrc_count;
    if packet[0] & 0x10 != 0 {
        let ext = packet.get(start..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    let mut end = packet.len();
    if packet[0] & 0x20 != 0 {
        let pad = usize::from(*packet.last()?);
        if pad == 0 {
            return None;
        }
        end = end.checked_sub(pad)?;
    }
    if start > end {
        return None;
    }
    Some((header, &packet[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let h = RtpHeader {
            payload_type: 8,
            marker: true,
            sequence: 65535,
            timestamp: 160,
            ssrc: 0xdead_beef,
        };
        let mut out = Vec::new();
        h.write(&[1, 2, 3], &mut out);
        assert_eq!(out.len(), HEADER_LEN + 3);
        assert_eq!(RtpHeader::read(&out), Some(h));
        assert_eq!(RtpHeader::read(&out[..5]), None);
    }

    #[test]
    fn split_skips_csrcs_extension_and_padding() {
        let h = RtpHeader {
            payload_type: 0,
            marker: false,
            sequence: 1,
            timestamp: 2,
            ssrc: 3,
        };
        let mut out = Vec::new();
        h.write(&[9, 9], &mut out);
        assert_eq!(split(&out), Some((h, &[9u8, 9][..])));

        // One CSRC, a one-word extension, two bytes of payload, two of padding.
        let mut p = vec![0x80 | 0x20 | 0x10 | 0x01];
        p.extend_from_slice(&out[1..12]);
        p.extend_from_slice(&[0, 0, 0, 7]); // CSRC
        p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // extension
        p.extend_from_slice(&[5, 6, 0, 2]); // payload + padding
        assert_eq!(split(&p).map(|(_, b)| b), Some(&[5u8, 6][..]));

        // Lengths that run past the packet.
        let mut bad = p.clone();
        bad[0] = 0x80 | 0x0F;
        assert_eq!(split(&bad), None);
        let mut bad = p.clone();
        *bad.last_mut().unwrap() = 200;
        assert_eq!(split(&bad), None);
    }
}
