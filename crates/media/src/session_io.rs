//! The packet paths of [`MediaSession`]: receiving (demultiplexing, latching, RFC 4733,
//! jitter buffer, RTCP) and sending (RTP restamping, relayed audio, RTCP reports).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{CLOCK_RATE, DtmfVia, FRAME_DURATION, LATCH_PACKETS, MediaSession, SessionEvent};
use crate::rtcp::{self, Report, SenderInfo};
use crate::rtp::{self, RtpHeader};
use crate::tone::FRAME_SAMPLES;

impl MediaSession {
    /// Feeds a datagram that arrived at `now` from `from`. Returns the audio payload of
    /// an accepted RTP packet (borrowed from `packet`) so a bridged call can hand it
    /// straight to the other leg's [`MediaSession::send_audio`]; `None` for anything
    /// else (RTCP, events, ignored datagrams).
    pub fn receive<'p>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &'p [u8],
    ) -> Option<&'p [u8]> {
        if rtcp::is_rtcp(packet) {
            self.receive_rtcp(now, from, packet);
            return None;
        }
        let Some((header, payload)) = rtp::split(packet) else {
            self.stats.ignored += 1;
            return None;
        };
        let is_audio = header.payload_type == self.cfg.payload_type;
        if !is_audio && Some(header.payload_type) != self.cfg.dtmf_pt {
            self.stats.ignored += 1;
            return None;
        }
        if !self.latch(from) {
            self.stats.ignored += 1;
            return None;
        }
        self.last_rx = now;
        self.inactive_reported = false;
        self.stats.packets_received += 1;
        if self.remote_ssrc != Some(header.ssrc) {
            if self.remote_ssrc.is_some() {
                self.restart_receiver();
            }
            self.remote_ssrc = Some(header.ssrc);
        }
        if is_audio {
            self.rtcp_stats
                .update(header.sequence, header.timestamp, now);
            self.jitter.push(header.sequence, header.timestamp, payload);
            return Some(payload);
        }
        self.rtcp_stats.update_sequence(header.sequence);
        self.rfc4733_seen = true;
        if let Some(digit) = self.dtmf.on_packet(&header, payload) {
            self.events.push_back(SessionEvent::Digit {
                digit,
                via: DtmfVia::Rfc4733,
            });
        }
        None
    }

    /// A new source on the leg: statistics and buffers start over.
    fn restart_receiver(&mut self) {
        self.rtcp_stats = crate::rtcp::RtcpStats::new(CLOCK_RATE as u32);
        self.jitter.reset();
        self.last_sr = None;
        if let Some(d) = &mut self.inband {
            d.reset();
        }
    }

    /// Symmetric RTP: whether a packet from `from` is accepted, moving `remote` to it
    /// when it is the first packet at all or the `LATCH_PACKETS`th in a row.
    fn latch(&mut self, from: SocketAddr) -> bool {
        if from == self.remote {
            self.received_any = true;
            self.candidate = None;
            return true;
        }
        let count = match self.candidate {
            Some((addr, n)) if addr == from => n + 1,
            _ => 1,
        };
        if self.received_any && count < LATCH_PACKETS {
            self.candidate = Some((from, count));
            return false;
        }
        self.remote = from;
        self.received_any = true;
        self.candidate = None;
        self.events.push_back(SessionEvent::RemoteChanged(from));
        true
    }

    fn receive_rtcp(&mut self, now: Instant, from: SocketAddr, packet: &[u8]) {
        if from.ip() != self.remote.ip() {
            self.stats.ignored += 1;
            return;
        }
        let Ok(compound) = rtcp::parse_compound(packet) else {
            self.stats.ignored += 1;
            return;
        };
        self.stats.rtcp_received += 1;
        self.last_rx = now;
        self.inactive_reported = false;
        if from == self.remote {
            self.rtcp_mux = true;
        }
        let report = compound.report;
        if let Some(sender) = report.sender {
            self.last_sr = Some((rtcp::ntp_middle(sender.ntp), now));
        }
        if let Some(block) = report.block.filter(|b| b.ssrc == self.cfg.ssrc) {
            self.stats.remote_report = Some(block);
        }
    }

    /// Sends a payload relayed from the other leg of a bridged call, at once, unless a
    /// playlist is active (then it is dropped and `false` returned). The payload must
    /// be in this leg's law (the engine transcodes with [`crate::g711`] otherwise).
    /// It is also recorded as the other side's audio.
    pub fn send_audio(&mut self, now: Instant, payload: &[u8]) -> bool {
        if self.player.playing().is_some() {
            return false;
        }
        self.relay_last = Some(now);
        let elapsed = now.saturating_duration_since(self.start);
        let frames = (elapsed.as_nanos() / FRAME_DURATION.as_nanos()) as u64;
        let timestamp = self
            .cfg
            .ts
            .wrapping_add((frames * FRAME_SAMPLES as u64) as u32);
        self.send_rtp(payload, timestamp);
        if let Some(rec) = &mut self.recorder {
            // Consecutive relayed frames take consecutive slots, a little ahead of the
            // clock at most, so a burst is not written over itself.
            let index = match self.relay_frame {
                Some(last) if last + 1 >= frames && last < frames + 3 => last + 1,
                _ => frames,
            };
            self.relay_frame = Some(index);
            rec.push_other(index, payload);
        }
        true
    }

    /// Queues one RTP packet; `timestamp` is the clock's proposal, raised if needed so
    /// timestamps never go back or overlap the previous packet.
    pub(super) fn send_rtp(&mut self, payload: &[u8], timestamp: u32) {
        let timestamp = match self.last_sent {
            Some((ts, len)) => {
                let floor = ts.wrapping_add(len);
                if (timestamp.wrapping_sub(floor) as i32) < 0 {
                    floor
                } else {
                    timestamp
                }
            }
            None => timestamp,
        };
        let header = RtpHeader {
            payload_type: self.cfg.payload_type,
            marker: std::mem::take(&mut self.marker),
            sequence: self.seq,
            timestamp,
            ssrc: self.cfg.ssrc,
        };
        self.seq = self.seq.wrapping_add(1);
        self.last_sent = Some((timestamp, payload.len() as u32));
        let mut buf = self.spare.pop().unwrap_or_default();
        header.write(payload, &mut buf);
        self.transmits.push_back((self.remote, buf));
        self.stats.packets_sent += 1;
        self.stats.octets_sent += payload.len() as u64;
    }

    fn rtcp_destination(&self) -> SocketAddr {
        let mut to = self.remote;
        if !self.rtcp_mux {
            to.set_port(to.port().wrapping_add(1));
        }
        to
    }

    /// Queues an SR (with a report block once anything was received) and SDES CNAME.
    pub(super) fn send_rtcp(&mut self, now: Instant) {
        let since_start = now.saturating_duration_since(self.start);
        let ntp = match self.wallclock {
            Some((at, unix)) => {
                let wall = unix + now.saturating_duration_since(at);
                rtcp::ntp_from_duration(wall + Duration::from_secs(rtcp::NTP_UNIX_OFFSET_SECS))
            }
            None => rtcp::ntp_from_duration(since_start),
        };
        let samples = since_start.as_nanos() * u128::from(CLOCK_RATE) / 1_000_000_000;
        let block = self.remote_ssrc.map(|ssrc| {
            let mut b = self.rtcp_stats.report_block(ssrc);
            if let Some((lsr, at)) = self.last_sr {
                b.last_sr = lsr;
                b.delay_since_last_sr = rtcp::dlsr_units(now.saturating_duration_since(at));
            }
            b
        });
        let report = Report {
            ssrc: self.cfg.ssrc,
            sender: Some(SenderInfo {
                ntp,
                rtp_timestamp: self.cfg.ts.wrapping_add(samples as u32),
                packet_count: self.stats.packets_sent as u32,
                octet_count: self.stats.octets_sent as u32,
            }),
            block,
        };
        let mut buf = self.spare.pop().unwrap_or_default();
        rtcp::write_compound(&report, &self.cname, &mut buf);
        let to = self.rtcp_destination();
        self.transmits.push_back((to, buf));
        self.stats.rtcp_sent += 1;
    }
}
