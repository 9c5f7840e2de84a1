//! RFC 4733 telephone-events for DTMF: the payload format, the packet sequence a
//! sender emits for one key press, and [`DtmfReceiver`], which turns a received event
//! stream into digits, each reported exactly once.
//!
//! Only the sixteen DTMF events are digits: codes 0–9, `*` (10), `#` (11) and A–D
//! (12–15). Other events (flash, fax tones) are consumed silently.

use std::time::Duration;

use crate::rtp::RtpHeader;

/// Length of a telephone-event payload.
pub const EVENT_LEN: usize = 4;
/// Samples between two packets of one event (20 ms at 8 kHz).
pub const PACKET_SAMPLES: u16 = 160;
/// How many times the final (end) packet of an event is sent (RFC 4733 §2.5.1.4).
pub const END_REPEATS: usize = 3;

const DIGITS: &[u8; 16] = b"0123456789*#ABCD";

/// The event code of a DTMF digit (`0`–`9`, `*`, `#`, `A`–`D`, lower case accepted).
pub fn digit_code(digit: char) -> Option<u8> {
    let upper = digit.to_ascii_uppercase();
    DIGITS
        .iter()
        .position(|d| char::from(*d) == upper)
        .map(|p| p as u8)
}

/// The digit of an event code, if it is one of the sixteen DTMF events.
pub fn code_digit(code: u8) -> Option<char> {
    DIGITS.get(usize::from(code)).map(|d| char::from(*d))
}

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code.
    pub code: u8,
    /// End bit: the event has ended.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first four octets of `payload`; `None` if it is shorter.
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let b = payload.get(..EVENT_LEN)?;
        Some(TelephoneEvent {
            code: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The four payload octets (the reserved bit is zero).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.code,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// One packet of an outgoing event. The sender gives every packet of the event the
/// same RTP timestamp (the event's start), consecutive sequence numbers, and sends
/// them 20 ms apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Marker bit: set on the first packet of the event only.
    pub marker: bool,
    /// The telephone-event payload.
    pub payload: [u8; EVENT_LEN],
}

/// The packets a sender emits for one key press of `digit` lasting `duration`
/// (at 8 kHz; capped at 65535 samples, about 8.2 s): progress packets whose duration
/// grows by 160 samples every 20 ms, then three end packets carrying the total.
/// `None` if `digit` is not a DTMF digit.
pub fn encode_event(digit: char, duration: Duration, volume: u8) -> Option<Vec<EventPacket>> {
    let code = digit_code(digit)?;
    let total = u16::try_from(duration.as_millis() * 8)
        .unwrap_or(u16::MAX)
        .max(1);
    let progress = total.div_ceil(PACKET_SAMPLES) - 1;
    let event = |end, duration| TelephoneEvent {
        code,
        end,
        volume,
        duration,
    };
    let mut packets: Vec<EventPacket> = (1..=progress)
        .map(|k| event(false, k * PACKET_SAMPLES))
        .chain(std::iter::repeat_n(event(true, total), END_REPEATS))
        .map(|e| EventPacket {
            marker: false,
            payload: e.to_bytes(),
        })
        .collect();
    packets[0].marker = true;
    Some(packets)
}

/// Turns received telephone-event packets into digits.
///
/// A digit is reported on the **first packet of a new event** (a timestamp later than
/// the last event's), whether that is the start packet, a progress packet or an end
/// packet, so an IVR reacts at once and a lost start packet costs nothing. Later
/// packets of the same event (progress, redundant end packets, retransmissions) and
/// reordered packets of older events (earlier timestamps) are ignored. A new SSRC
/// starts afresh.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    last: Option<(u32, u32)>,
}

impl DtmfReceiver {
    /// A receiver that has seen no event.
    pub fn new() -> DtmfReceiver {
        DtmfReceiver::default()
    }

    /// Feeds one telephone-event packet; returns the digit if it starts a new event.
    pub fn on_packet(&mut self, header: &RtpHeader, payload: &[u8]) -> Option<char> {
        let event = TelephoneEvent::parse(payload)?;
        if let Some((ssrc, ts)) = self.last
            && ssrc == header.ssrc
            && (header.timestamp.wrapping_sub(ts) as i32) <= 0
        {
            return None;
        }
        self.last = Some((header.ssrc, header.timestamp));
        code_digit(event.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RTP headers for `packets` of one event starting at `ts`, sequence from `seq`.
    fn stream(digit: char, ms: u64, seq: u16, ts: u32) -> Vec<(RtpHeader, [u8; 4])> {
        encode_event(digit, Duration::from_millis(ms), 10)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let h = RtpHeader {
                    payload_type: 101,
                    marker: p.marker,
                    sequence: seq.wrapping_add(i as u16),
                    timestamp: ts,
                    ssrc: 77,
                };
                (h, p.payload)
            })
            .collect()
    }

    fn feed(rx: &mut DtmfReceiver, packets: &[(RtpHeader, [u8; 4])]) -> String {
        packets
            .iter()
            .filter_map(|(h, p)| rx.on_packet(h, p))
            .collect()
    }

    #[test]
    fn codes_and_digits_map_both_ways() {
        for (code, d) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(digit_code(d), Some(code as u8));
            assert_eq!(code_digit(code as u8), Some(d));
        }
        assert_eq!(digit_code('a'), Some(12));
        assert_eq!(digit_code('E'), None);
        assert_eq!(code_digit(16), None);
    }

    #[test]
    fn sender_sequence_has_growing_duration_marker_and_three_ends() {
        let packets = encode_event('5', Duration::from_millis(100), 10).unwrap();
        let events: Vec<_> = packets
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .collect();
        let durations: Vec<u16> = events.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        assert!(
            events[..4]
                .iter()
                .all(|e| !e.end && e.code == 5 && e.volume == 10)
        );
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        // A press shorter than a packet is three end packets, the first with the marker.
        let short = encode_event('#', Duration::from_millis(10), 0).unwrap();
        assert_eq!(short.len(), 3);
        assert!(short[0].marker);
        assert_eq!(encode_event('x', Duration::from_millis(10), 0), None);
    }

    #[test]
    fn payload_round_trips() {
        let e = TelephoneEvent {
            code: 11,
            end: true,
            volume: 63,
            duration: 0xABCD,
        };
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Some(e));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn every_digit_is_reported_once_per_press() {
        let mut rx = DtmfReceiver::new();
        let mut all = Vec::new();
        let (mut seq, mut ts) = (65_530u16, u32::MAX - 2000);
        for d in "0123456789*#ABCD".chars() {
            let s = stream(d, 120, seq, ts);
            seq = seq.wrapping_add(s.len() as u16 + 5);
            ts = ts.wrapping_add(2000);
            all.extend(s);
        }
        assert_eq!(feed(&mut rx, &all), "0123456789*#ABCD");
    }

    #[test]
    fn lost_start_and_duplicates_and_reordering_do_not_double_report() {
        let mut rx = DtmfReceiver::new();
        let first = stream('1', 100, 10, 8000);
        let second = stream('1', 100, 30, 16_000);
        // Start and two progress packets of the first press lost: the end reports it.
        assert_eq!(feed(&mut rx, &first[3..]), "1");
        // The same key again is a new event (new timestamp).
        assert_eq!(feed(&mut rx, &second[..2]), "1");
        // A straggler from the first press, reordered after the second, is ignored,
        // as are retransmitted end packets of the second.
        assert_eq!(feed(&mut rx, &first[..1]), "");
        assert_eq!(feed(&mut rx, &second), "");
        // Only end packets of a press survive: still reported once.
        let third = stream('9', 100, 50, 24_000);
        assert_eq!(feed(&mut rx, &third[third.len() - 2..]), "9");
        // Non-DTMF events and short payloads are consumed silently.
        let (mut h, _) = third[0];
        h.timestamp = 30_000;
        assert_eq!(rx.on_packet(&h, &[16, 0x80, 0, 160]), None);
        assert_eq!(rx.on_packet(&h, &[1]), None);
    }

    #[test]
    fn a_new_ssrc_starts_afresh() {
        let mut rx = DtmfReceiver::new();
        let a = stream('4', 60, 1, 50_000);
        assert_eq!(feed(&mut rx, &a), "4");
        let mut b = stream('4', 60, 1, 100);
        for (h, _) in &mut b {
            h.ssrc = 78;
        }
        assert_eq!(feed(&mut rx, &b), "4");
    }
}
