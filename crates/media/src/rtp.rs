//! RTP fixed header (RFC 3550 §5.1): building packets and reading the fields a relay
//! rewrites.

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
}
