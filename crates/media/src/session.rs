//! [`MediaSession`]: the sans-IO media state of one call leg — everything the engine
//! needs to drive one RTP socket. It owns, for that leg:
//!
//! | concern | how |
//! |---|---|
//! | where to send | symmetric RTP latching on the source of received packets |
//! | what arrives | RTP/RTCP demultiplexing, [`RtcpStats`], [`JitterBuffer`], RFC 4733 [`DtmfReceiver`], in-band [`InbandDetector`] |
//! | what leaves | a 20 ms send clock playing [`PlayItem`]s, relayed audio, or silence; RTCP SR + SDES every 5 s |
//! | recording | the caller's decoded audio and what this leg sends, into a [`Recorder`] |
//! | liveness | an inactivity timeout |
//!
//! ## Run loop
//! Feed datagrams with [`MediaSession::receive`], call [`MediaSession::handle_timeout`]
//! when [`MediaSession::poll_timeout`] is reached, and after each of those drain
//! [`MediaSession::poll_transmit`] and [`MediaSession::poll_event`] until `None`. The
//! session never reads the clock: every `now` comes from the caller and must not go
//! backwards.
//!
//! ## Sending
//! One frame per 20 ms tick: the playlist if one is active, else relayed audio if the
//! engine has called [`MediaSession::send_audio`] in the last 60 ms, else silence (so
//! NAT bindings and the far end's jitter buffer stay fed). Relayed packets go out at
//! once, restamped with this leg's SSRC, sequence and a timestamp that never runs
//! behind wall time; an active playlist takes priority over relayed audio. After a
//! stall the clock sends at most [`MAX_BURST`] frames to catch up and skips the rest
//! (timestamps jump, marker set); frames sent a frame late or more count as late.
//!
//! ## Receiving
//! Only RTP of the negotiated audio or telephone-event payload type counts. Before
//! anything has been received, the first such packet latches `remote` to its source;
//! afterwards a new source takes over only after [`LATCH_PACKETS`] consecutive packets
//! (one packet from the current remote resets the count). Audio enters the jitter
//! buffer; each tick plays one frame out to the in-band detector (if enabled and no
//! RFC 4733 event has been seen on the leg — a peer that sends events is not listened
//! to for tones, so nothing is reported twice) and to the recorder. RTCP is recognised
//! by payload type 192–223 (RFC 5761); receiving it on the RTP port from the RTP
//! source switches this leg's own RTCP to the same port (rtcp-mux), else RTCP goes
//! to the remote's port + 1.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dtmf::DtmfReceiver;
use crate::g711::{decode_into, silence_byte};
use crate::goertzel::InbandDetector;
use crate::jitter::{Frame, JitterBuffer, JitterStats};
use crate::playback::Player;
pub use crate::playback::{PlayItem, ToneKind};
use crate::recorder::Recorder;
use crate::rtcp::{ReportBlock, RtcpStats};
use crate::tone::{FRAME_SAMPLES, Law};

/// The send clock's period.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Most frames sent in one [`MediaSession::handle_timeout`] to catch up after a stall.
pub const MAX_BURST: u32 = 2;
/// Consecutive packets from a new source before `remote` moves to it.
pub const LATCH_PACKETS: u8 = 5;
/// Interval between RTCP sender reports.
pub const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Jitter buffer depth in frames.
pub const JITTER_DEPTH: u16 = 3;
/// Most recording kept between drains by the engine.
pub const RECORDER_BUFFER: Duration = Duration::from_secs(10);
/// Relayed audio keeps the send clock quiet this long after the last relayed packet.
const RELAY_HOLD: Duration = Duration::from_millis(60);
/// A stall longer than this many frames is skipped without playing frames out.
const MAX_SKIP_PROCESSED: u64 = 50;
const CLOCK_RATE: u64 = 8000;

/// How the session is set up (from the SDP offer/answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// G.711 law of the audio payload type.
    pub law: Law,
    /// Audio payload type (0 PCMU, 8 PCMA).
    pub payload_type: u8,
    /// telephone-event payload type, if negotiated.
    pub dtmf_pt: Option<u8>,
    /// Where to send, from SDP (latching may move it).
    pub remote: SocketAddr,
    /// Our SSRC (random, from the engine).
    pub ssrc: u32,
    /// First sequence number (random, from the engine).
    pub seq: u16,
    /// First RTP timestamp (random, from the engine).
    pub ts: u32,
    /// Listen for in-band DTMF tones in received audio.
    pub inband_dtmf: bool,
    /// Report [`SessionEvent::Inactive`] after this long without a packet.
    pub inactivity: Option<Duration>,
    /// Keep a two-channel [`Recorder`].
    pub record: bool,
}

/// How a digit arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfVia {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio.
    Inband,
}

/// Something the engine should act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// A key press.
    Digit {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// How it arrived.
        via: DtmfVia,
    },
    /// The playlist with this id played to its end.
    PlaybackDone(u64),
    /// Nothing received for the inactivity timeout (reported once per silence).
    Inactive,
    /// Packets now go to this address (latching).
    RemoteChanged(SocketAddr),
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// The packet.
    pub bytes: Vec<u8>,
}

/// Counters of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload octets sent.
    pub octets_sent: u64,
    /// RTP packets accepted from the remote.
    pub packets_received: u64,
    /// Cumulative packets lost from the current remote source (RFC 3550 §A.3).
    pub packets_lost: i64,
    /// Interarrival jitter of the remote source, in timestamp units (1/8 ms).
    pub jitter: u32,
    /// Frames sent one frame period or more after they were due.
    pub late_sends: u64,
    /// Frames skipped after a stall.
    pub skipped_frames: u64,
    /// Datagrams ignored: not RTP/RTCP, foreign payload type, or an unlatched source.
    pub ignored: u64,
    /// RTCP compounds sent and received.
    pub rtcp_sent: u64,
    /// RTCP compounds received.
    pub rtcp_received: u64,
    /// The jitter buffer's counters.
    pub jitter_buffer: JitterStats,
    /// The remote's last report block about our stream.
    pub remote_report: Option<ReportBlock>,
}

/// The media state of one call leg. See the module documentation.
#[derive(Debug)]
pub struct MediaSession {
    cfg: SessionConfig,
    start: Instant,
    remote: SocketAddr,
    rtcp_mux: bool,
    received_any: bool,
    candidate: Option<(SocketAddr, u8)>,
    cname: String,
    wallclock: Option<(Instant, Duration)>,

    // Send side.
    seq: u16,
    tick: u64,
    next_tick: Instant,
    last_sent: Option<(u32, u32)>,
    marker: bool,
    player: Player,
    relay_last: Option<Instant>,
    relay_frame: Option<u64>,
    next_rtcp: Instant,

    // Receive side.
    remote_ssrc: Option<u32>,
    rtcp_stats: RtcpStats,
    jitter: JitterBuffer,
    dtmf: DtmfReceiver,
    inband: Option<InbandDetector>,
    rfc4733_seen: bool,
    last_sr: Option<(u32, Instant)>,
    last_rx: Instant,
    inactive_reported: bool,

    recorder: Option<Recorder>,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    stats: SessionStats,
    pcm: [i16; FRAME_SAMPLES],
    out_payload: [u8; FRAME_SAMPLES],
    out_pcm: [i16; FRAME_SAMPLES],
}

#[path = "session_io.rs"]
mod io;
#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

impl MediaSession {
    /// A session whose send clock starts at `now` (the first frame is due at once).
    pub fn new(config: SessionConfig, now: Instant) -> MediaSession {
        MediaSession {
            start: now,
            remote: config.remote,
            rtcp_mux: false,
            received_any: false,
            candidate: None,
            cname: format!("lifeline-{:08x}", config.ssrc),
            wallclock: None,
            seq: config.seq,
            tick: 0,
            next_tick: now,
            last_sent: None,
            marker: true,
            player: Player::new(config.law),
            relay_last: None,
            relay_frame: None,
            next_rtcp: now + RTCP_INTERVAL,
            remote_ssrc: None,
            rtcp_stats: RtcpStats::new(CLOCK_RATE as u32),
            jitter: JitterBuffer::new(JITTER_DEPTH),
            dtmf: DtmfReceiver::new(),
            inband: config.inband_dtmf.then(InbandDetector::new),
            rfc4733_seen: false,
            last_sr: None,
            last_rx: now,
            inactive_reported: false,
            recorder: config
                .record
                .then(|| Recorder::new(config.law, RECORDER_BUFFER)),
            transmits: VecDeque::with_capacity(4),
            spare: Vec::new(),
            events: VecDeque::new(),
            stats: SessionStats {
                packets_sent: 0,
                octets_sent: 0,
                packets_received: 0,
                packets_lost: 0,
                jitter: 0,
                late_sends: 0,
                skipped_frames: 0,
                ignored: 0,
                rtcp_sent: 0,
                rtcp_received: 0,
                jitter_buffer: JitterStats::default(),
                remote_report: None,
            },
            pcm: [0; FRAME_SAMPLES],
            out_payload: [0; FRAME_SAMPLES],
            out_pcm: [0; FRAME_SAMPLES],
            cfg: config,
        }
    }

    /// Where RTP goes now.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Points the leg at a new address (re-INVITE); the next packet may latch again.
    pub fn set_remote(&mut self, remote: SocketAddr) {
        self.remote = remote;
        self.received_any = false;
        self.candidate = None;
    }

    /// Sends RTCP to the RTP address (true) or to its port + 1 (false, the default).
    pub fn set_rtcp_mux(&mut self, mux: bool) {
        self.rtcp_mux = mux;
    }

    /// The CNAME sent in SDES (default `lifeline-<ssrc>`).
    pub fn set_cname(&mut self, cname: String) {
        self.cname = cname;
    }

    /// Anchors the NTP timestamps of sender reports: `now` corresponds to
    /// `since_unix_epoch`. Without it they count from the session's start.
    pub fn set_wallclock(&mut self, now: Instant, since_unix_epoch: Duration) {
        self.wallclock = Some((now, since_unix_epoch));
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.cfg.ssrc
    }

    /// Starts a playlist, replacing whatever was playing (the replaced one reports no
    /// completion); returns its id for [`SessionEvent::PlaybackDone`]. An empty list
    /// completes at the next tick.
    pub fn play(&mut self, items: Vec<PlayItem>) -> u64 {
        self.player.play(items)
    }

    /// Stops playback: silence (or relayed audio) from the next tick.
    pub fn stop(&mut self) {
        self.player.stop();
    }

    /// The id of the playlist in progress.
    pub fn playing(&self) -> Option<u64> {
        self.player.playing()
    }

    /// The recorder, if the session records.
    pub fn recorder_mut(&mut self) -> Option<&mut Recorder> {
        self.recorder.as_mut()
    }

    /// Takes the recorder out (end of call), to drain it or `finish_into` a file.
    pub fn take_recorder(&mut self) -> Option<Recorder> {
        self.recorder.take()
    }

    /// Counters so far.
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            packets_lost: self.rtcp_stats.cumulative_lost(),
            jitter: self.rtcp_stats.jitter(),
            jitter_buffer: self.jitter.stats(),
            ..self.stats
        }
    }

    /// When [`MediaSession::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_tick.min(self.next_rtcp);
        if let Some(limit) = self.cfg.inactivity
            && !self.inactive_reported
        {
            t = t.min(self.last_rx + limit);
        }
        Some(t)
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let (to, bytes) = self.transmits.pop_front()?;
        Some(Transmit { to, bytes })
    }

    /// The next datagram to send, swapped into `buf` (whose old allocation the session
    /// reuses): no allocation per packet once warmed up.
    pub fn poll_transmit_into(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let (to, mut bytes) = self.transmits.pop_front()?;
        std::mem::swap(buf, &mut bytes);
        if self.spare.len() < 8 {
            bytes.clear();
            self.spare.push(bytes);
        }
        Some(to)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Runs the send clock, RTCP and the inactivity timer up to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut sent = 0;
        while self.next_tick <= now {
            if sent == MAX_BURST {
                self.skip_to(now);
                break;
            }
            if now.saturating_duration_since(self.next_tick) >= FRAME_DURATION {
                self.stats.late_sends += 1;
            }
            self.on_tick(true);
            sent += 1;
        }
        if now >= self.next_rtcp {
            self.send_rtcp(now);
            self.next_rtcp += RTCP_INTERVAL;
            if self.next_rtcp <= now {
                self.next_rtcp = now + RTCP_INTERVAL;
            }
        }
        if let Some(limit) = self.cfg.inactivity
            && !self.inactive_reported
            && now >= self.last_rx + limit
        {
            self.inactive_reported = true;
            self.events.push_back(SessionEvent::Inactive);
        }
    }

    /// Skips every tick due by `now` without sending (after a stall).
    fn skip_to(&mut self, now: Instant) {
        let behind =
            (now.duration_since(self.next_tick).as_nanos() / FRAME_DURATION.as_nanos()) as u64 + 1;
        self.stats.skipped_frames += behind;
        self.marker = true;
        if behind <= MAX_SKIP_PROCESSED {
            for _ in 0..behind {
                self.on_tick(false);
            }
        } else {
            self.jitter.reset();
            self.tick += behind;
            self.next_tick += Duration::from_millis(20 * behind);
        }
    }

    /// One 20 ms tick: play one received frame out, produce one frame to send.
    fn on_tick(&mut self, send: bool) {
        let index = self.tick;
        self.tick += 1;
        self.next_tick += FRAME_DURATION;

        match self.jitter.pop() {
            Frame::Audio { payload, .. } => {
                let n = decode_into(self.cfg.law, payload, &mut self.pcm);
                self.pcm[n..].fill(0);
                if let Some(rec) = &mut self.recorder {
                    rec.push_caller(index, payload);
                }
            }
            Frame::Missing => self.pcm.fill(0),
        }
        if let Some(detector) = &mut self.inband
            && !self.rfc4733_seen
            && let Some(digit) = detector.process(&self.pcm)
        {
            self.events.push_back(SessionEvent::Digit {
                digit,
                via: DtmfVia::Inband,
            });
        }

        let played = self
            .player
            .next_frame(&mut self.out_payload, &mut self.out_pcm);
        if let Some(id) = played.done {
            self.events.push_back(SessionEvent::PlaybackDone(id));
        }
        let timestamp = self
            .cfg
            .ts
            .wrapping_add((index * FRAME_SAMPLES as u64) as u32);
        if played.filled {
            if played.audible
                && let Some(rec) = &mut self.recorder
            {
                rec.push_other(index, &self.out_payload);
            }
        } else {
            let due = self.start + Duration::from_millis(20 * index);
            let relaying = self
                .relay_last
                .is_some_and(|t| due.saturating_duration_since(t) < RELAY_HOLD);
            if relaying {
                return;
            }
            self.out_payload.fill(silence_byte(self.cfg.law));
        }
        if send {
            let payload = self.out_payload;
            self.send_rtp(&payload, timestamp);
        }
    }
}
