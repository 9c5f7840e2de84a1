//! RTCP (RFC 3550 §6): Sender and Receiver Reports with one report block, compound
//! packets with an SDES CNAME, and [`RtcpStats`], the receiver-side accounting behind a
//! report block (sequence tracking per §A.1, loss per §A.3, interarrival jitter per
//! §6.4.1/§A.8).
//!
//! Wall-clock time for the NTP field is the caller's business: this module converts a
//! [`Duration`] since some epoch into NTP format and never reads a clock.

use std::time::{Duration, Instant};

/// RTCP packet type of a Sender Report.
pub const PT_SR: u8 = 200;
/// RTCP packet type of a Receiver Report.
pub const PT_RR: u8 = 201;
/// RTCP packet type of Source Description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type of BYE.
pub const PT_BYE: u8 = 203;

const SDES_CNAME: u8 = 1;
const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;

/// The sender-information section of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP timestamp (seconds in the high 32 bits, fraction in the low 32).
    pub ntp: u64,
    /// The RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the stream started.
    pub packet_count: u32,
    /// Payload octets sent since the stream started.
    pub octet_count: u32,
}

/// One reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (signed 24-bit: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source.
    pub last_sr: u32,
    /// Delay since that SR was received, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// A Sender Report (with `sender`) or a Receiver Report (without), with at most one
/// report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// SSRC of the packet's sender.
    pub ssrc: u32,
    /// Sender information: `Some` makes this an SR.
    pub sender: Option<SenderInfo>,
    /// The report block, if the sender has received anything.
    pub block: Option<ReportBlock>,
}

/// A parsed compound RTCP packet: its leading report and the CNAME from its SDES.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compound<'a> {
    /// The leading SR or RR. When it carries several report blocks, only the first.
    pub report: Report,
    /// The CNAME item for `report.ssrc`, if an SDES packet carries one.
    pub cname: Option<&'a str>,
}

/// Why an RTCP packet was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Fewer bytes than a header, or a length field running past the datagram.
    #[error("rtcp packet truncated")]
    Truncated,
    /// Version field is not 2.
    #[error("rtcp version is not 2")]
    BadVersion,
    /// The compound does not start with an SR or RR (RFC 3550 §6.1).
    #[error("rtcp compound does not start with a sender or receiver report")]
    NoReport,
}

/// Converts a duration since the NTP epoch (1900) into the 64-bit NTP format.
pub fn ntp_from_duration(since_1900: Duration) -> u64 {
    let frac = (u64::from(since_1900.subsec_nanos()) << 32) / 1_000_000_000;
    (since_1900.as_secs() << 32) | frac
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The middle 32 bits of an NTP timestamp, as carried in a report block's LSR field.
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration in the 1/65536 s units of the DLSR field (saturating).
pub fn dlsr_units(delay: Duration) -> u32 {
    let units = delay.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

fn push_header(out: &mut Vec<u8>, count: u8, pt: u8, words_after_header: usize) {
    out.push(0x80 | (count & 0x1F));
    out.push(pt);
    out.extend_from_slice(&(words_after_header as u16).to_be_bytes());
}

fn push_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
    out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
    out.extend_from_slice(&b.extended_highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.last_sr.to_be_bytes());
    out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
}

/// Writes `report` followed by an SDES packet carrying `cname` (truncated to 255 bytes)
/// into `out` (cleared first): the minimal compound packet of RFC 3550 §6.1.
pub fn write_compound(report: &Report, cname: &str, out: &mut Vec<u8>) {
    out.clear();
    let blocks = usize::from(report.block.is_some());
    let body = 4 + report.sender.map_or(0, |_| SENDER_INFO_LEN) + blocks * REPORT_BLOCK_LEN;
    let pt = if report.sender.is_some() {
        PT_SR
    } else {
        PT_RR
    };
    push_header(out, blocks as u8, pt, body / 4);
    out.extend_from_slice(&report.ssrc.to_be_bytes());
    if let Some(s) = &report.sender {
        out.extend_from_slice(&s.ntp.to_be_bytes());
        out.extend_from_slice(&s.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&s.packet_count.to_be_bytes());
        out.extend_from_slice(&s.octet_count.to_be_bytes());
    }
    if let Some(b) = &report.block {
        push_block(out, b);
    }

    let name = &cname.as_bytes()[..cname.len().min(255)];
    // SSRC, CNAME item (type, length, text), then at least one zero octet, to a word.
    let chunk = (4 + 2 + name.len() + 1).next_multiple_of(4);
    push_header(out, 1, PT_SDES, chunk / 4);
    let start = out.len();
    out.extend_from_slice(&report.ssrc.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.resize(start + chunk, 0);
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_block(b: &[u8]) -> ReportBlock {
    let word = be32(b, 4);
    // Sign-extend the 24-bit cumulative loss.
    let lost = ((word << 8) as i32) >> 8;
    ReportBlock {
        ssrc: be32(b, 0),
        fraction_lost: (word >> 24) as u8,
        cumulative_lost: lost,
        extended_highest_seq: be32(b, 8),
        jitter: be32(b, 12),
        last_sr: be32(b, 16),
        delay_since_last_sr: be32(b, 20),
    }
}

fn parse_report(pt: u8, count: usize, body: &[u8]) -> Result<Report, RtcpError> {
    let info_len = if pt == PT_SR { SENDER_INFO_LEN } else { 0 };
    if body.len() < 4 + info_len + count * REPORT_BLOCK_LEN {
        return Err(RtcpError::Truncated);
    }
    let sender = (pt == PT_SR).then(|| SenderInfo {
        ntp: (u64::from(be32(body, 4)) << 32) | u64::from(be32(body, 8)),
        rtp_timestamp: be32(body, 12),
        packet_count: be32(body, 16),
        octet_count: be32(body, 20),
    });
    let first = 4 + info_len;
    Ok(Report {
        ssrc: be32(body, 0),
        sender,
        block: (count > 0).then(|| parse_block(&body[first..first + REPORT_BLOCK_LEN])),
    })
}

/// Finds the CNAME of `ssrc` in an SDES packet body.
fn parse_cname(count: usize, mut body: &[u8], ssrc: u32) -> Option<&str> {
    for _ in 0..count {
        if body.len() < 4 {
            return None;
        }
        let chunk_ssrc = be32(body, 0);
        let mut at = 4;
        while let Some(&kind) = body.get(at) {
            if kind == 0 {
                break;
            }
            let len = usize::from(*body.get(at + 1)?);
            let text = body.get(at + 2..at + 2 + len)?;
            if kind == SDES_CNAME && chunk_ssrc == ssrc {
                return std::str::from_utf8(text).ok();
            }
            at += 2 + len;
        }
        // Skip the terminating null octet(s) to the next word boundary.
        body = body.get((at + 1).next_multiple_of(4)..)?;
    }
    None
}

/// True if `packet` looks like RTCP rather than RTP when both share a port: the second
/// octet is an RTCP packet type in 192..=223 (RFC 5761 §4).
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.len() >= 4 && packet[0] >> 6 == 2 && (192..=223).contains(&packet[1])
}

/// Parses a compound RTCP packet: the leading SR/RR and, from any SDES packet, the
/// CNAME of the same SSRC. Other packet types (BYE, APP, feedback) are skipped.
pub fn parse_compound(packet: &[u8]) -> Result<Compound<'_>, RtcpError> {
    let mut rest = packet;
    let mut report = None;
    let mut cname = None;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpError::Truncated);
        }
        if rest[0] >> 6 != 2 {
            return Err(RtcpError::BadVersion);
        }
        let count = usize::from(rest[0] & 0x1F);
        let pt = rest[1];
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        let Some(whole) = rest.get(..len) else {
            return Err(RtcpError::Truncated);
        };
        let mut body = &whole[4..];
        if whole[0] & 0x20 != 0 {
            let pad = usize::from(whole[len - 1]);
            body = body.get(..body.len().saturating_sub(pad)).unwrap_or(&[]);
        }
        match (pt, &report) {
            (PT_SR | PT_RR, None) => report = Some(parse_report(pt, count, body)?),
            (_, None) => return Err(RtcpError::NoReport),
            (PT_SDES, Some(r)) if cname.is_none() => cname = parse_cname(count, body, r.ssrc),
            _ => {}
        }
        rest = &rest[len..];
    }
    let report = report.ok_or(RtcpError::Truncated)?;
    Ok(Compound { report, cname })
}

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// Receiver-side statistics for one RTP source: what a report block says about it.
///
/// Feed every packet of the source with [`RtcpStats::update`] (audio: sequence and
/// jitter) or [`RtcpStats::update_sequence`] (packets whose timestamp is not a
/// sampling instant, such as telephone-events: sequence only). A sequence jump of more
/// than 3000 is taken as a restarted stream once two packets in a row agree (§A.1).
#[derive(Debug, Clone)]
pub struct RtcpStats {
    clock_rate: u32,
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    bad_seq: Option<u16>,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    epoch: Option<Instant>,
    last_transit: Option<u32>,
    /// Jitter scaled by 16 (the fixed-point form of §A.8).
    jitter_x16: u32,
}

impl RtcpStats {
    /// Statistics for a source with the given RTP clock rate (8000 for G.711).
    pub fn new(clock_rate: u32) -> RtcpStats {
        RtcpStats {
            clock_rate,
            started: false,
            base_seq: 0,
            max_seq: 0,
            cycles: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            last_transit: None,
            jitter_x16: 0,
        }
    }

    fn restart(&mut self, seq: u16) {
        self.started = true;
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.last_transit = None;
    }

    /// Sequence accounting for one packet; false if it was set aside as a jump.
    fn track(&mut self, seq: u16) -> bool {
        if !self.started {
            self.restart(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(1 << 16);
                }
                self.max_seq = seq;
            } else if delta <= u16::MAX - MAX_MISORDER {
                if self.bad_seq != Some(seq) {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return false;
                }
                self.restart(seq);
            }
            // Otherwise a duplicate or reordered packet: counted, max unchanged.
        }
        self.received = self.received.wrapping_add(1);
        true
    }

    /// Accounts an audio packet that arrived at `arrival`: sequence, loss and jitter.
    pub fn update(&mut self, sequence: u16, timestamp: u32, arrival: Instant) {
        if !self.track(sequence) {
            return;
        }
        let epoch = *self.epoch.get_or_insert(arrival);
        let nanos = arrival.saturating_duration_since(epoch).as_nanos();
        let arrival_ts = (nanos * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival_ts.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
            // J += (|D| - J) / 16, with J kept scaled by 16.
            self.jitter_x16 = self
                .jitter_x16
                .wrapping_add(d)
                .wrapping_sub((self.jitter_x16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Accounts a packet for sequence and loss only.
    pub fn update_sequence(&mut self, sequence: u16) {
        self.track(sequence);
    }

    /// Packets received (duplicates included, as RFC 3550 counts them).
    pub fn packets_received(&self) -> u32 {
        self.received
    }

    /// Extended highest sequence number received.
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    fn expected(&self) -> u32 {
        if !self.started {
            return 0;
        }
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative packets lost: expected minus received (negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_x16 >> 4
    }

    /// A report block on source `ssrc` (LSR/DLSR left zero for the caller to fill);
    /// starts a new interval for the fraction lost.
    pub fn report_block(&mut self, ssrc: u32) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr: 0,
            delay_since_last_sr: 0,
        }
    }
}

#[cfg(test)]
#[path = "rtcp_tests.rs"]
mod tests;
