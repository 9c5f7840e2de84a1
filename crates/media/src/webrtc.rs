//! [`WebRtcLeg`]: the sans-IO WebRTC leg of a browser agent — one `str0m::Rtc` per
//! call, answering the browser's offer and carrying its audio as PCMU RTP, so the
//! engine can relay it to the SIP caller's [`crate::session::MediaSession`] without
//! transcoding (browsers must implement PCMU, RFC 7874). It owns, for that leg:
//!
//! | concern | how |
//! |---|---|
//! | negotiation | [`WebRtcLeg::accept_offer`]: PCMU only (numbered as the browser numbered it), telephone-event/8000 if offered, `a=ice-lite`, one host candidate |
//! | transport | str0m: ICE-lite (answers the browser's checks, never checks itself), DTLS-SRTP, RTCP reports, NACK/TWCC feedback as str0m does it |
//! | what arrives | [`WebRtcEvent::Audio`] per PCMU packet, [`WebRtcEvent::Dtmf`] per RFC 4733 key press ([`DtmfReceiver`]) |
//! | what leaves | [`WebRtcLeg::send_audio`]: this leg's own SSRC, sequence and timestamps |
//! | liveness | ICE timeout, DTLS close, a connect timeout and an inactivity timeout, all reported once as [`WebRtcEvent::Disconnected`] |
//!
//! ## One UDP port for every leg
//! The engine owns one shared UDP socket and a demultiplexer; each leg lives in the
//! task that owns its call. A browser's first datagrams are STUN binding requests
//! whose USERNAME is `<our ufrag>:<its ufrag>`: [`stun_local_ufrag`] reads ours, which
//! the engine maps to the leg ([`WebRtcLeg::local_ufrag`]); DTLS and SRTP that follow
//! come from the address that sent those requests. Every datagram handed to
//! [`WebRtcLeg::receive`] is presented to str0m as addressed to the advertised
//! candidate, whatever the socket's own address (`0.0.0.0`, or a private address
//! behind a 1:1 NAT): ICE only answers requests that reach one of its candidates.
//!
//! ## Run loop
//! As for [`crate::session::MediaSession`]: feed datagrams with [`WebRtcLeg::receive`],
//! call [`WebRtcLeg::handle_timeout`] when [`WebRtcLeg::poll_timeout`] is reached, and
//! after each of those (and after [`WebRtcLeg::send_audio`]) drain
//! [`WebRtcLeg::poll_transmit`] and [`WebRtcLeg::poll_event`] until `None`. Every
//! `now` comes from the caller and must not go backwards. Internally each input to
//! str0m is followed by a full drain of `Rtc::poll_output` into this leg's queues, as
//! str0m requires (one mutation, then drain until `Output::Timeout`).
//!
//! str0m itself is sans-IO but not clock-free or seed-free: it draws its SSRCs, ICE
//! credentials and DTLS certificate from its own randomness, and anchors RTCP's NTP
//! timestamps to the wall clock once per process. This leg's first sequence number and
//! timestamp are derived from the SSRC str0m chose.
//!
//! ## Sending
//! [`WebRtcLeg::send_audio`] sends at once (str0m in RTP mode, no packetization).
//! Timestamps advance by the payload's length (160 per 20 ms PCMU frame) and never run
//! behind wall time: the first frame starts the leg's clock, a frame sent after a
//! pause takes the timestamp of the 20 ms slot it falls in, with the marker bit set (a
//! new talkspurt for the browser's jitter buffer), and frames sent in a burst take
//! consecutive timestamps.
//!
//! ## Liveness
//! [`WebRtcEvent::Disconnected`] is reported once, after which the leg is dead
//! ([`WebRtcLeg::is_alive`] is false, nothing more is sent or reported) when:
//! ICE fails (no binding request from the browser for 15 s, str0m's ICE-lite limit);
//! the browser closes DTLS; str0m meets a fatal error (e.g. a DTLS fingerprint that
//! does not match the offer); the leg is not connected [`CONNECT_TIMEOUT`] after the
//! offer; or no RTP/RTCP arrived for [`WebRtcConfig::inactivity`] (counted from the
//! offer, then from each RTP/RTCP datagram str0m accepted: STUN consent checks keep
//! ICE up but do not count, so a browser whose media stopped is noticed too).

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, RtpPacket, RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use crate::dtmf::DtmfReceiver;
use crate::rtp::RtpHeader;

/// A leg not connected (ICE and DTLS) this long after its offer is disconnected.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The payload type telephone-event/8000 gets in our codec table; the answer uses the
/// browser's number for it.
const TELEPHONE_EVENT_PT: u8 = 101;
/// The frame slot the send clock rounds to, and its length in samples at 8 kHz.
const FRAME: Duration = Duration::from_millis(20);
const FRAME_SAMPLES: u64 = 160;
/// One sample at 8 kHz.
const SAMPLE_NANOS: u64 = 125_000;
/// STUN (RFC 5389): header length, magic cookie, binding request, USERNAME.
const STUN_HEADER_LEN: usize = 20;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const STUN_BINDING_REQUEST: u16 = 0x0001;
const STUN_USERNAME: u16 = 0x0006;

/// How a leg is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebRtcConfig {
    /// The address put in the answer's one host candidate: the public address and the
    /// shared WebRTC UDP port.
    pub candidate: SocketAddr,
    /// Report [`WebRtcEvent::Disconnected`] after this long without RTP/RTCP from the
    /// browser (see the module documentation); `None` leaves it to ICE.
    pub inactivity: Option<Duration>,
}

/// Why a browser's offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebRtcError {
    /// The offer is not SDP str0m can parse.
    #[error("unparsable SDP offer: {0}")]
    Sdp(String),
    /// The offer has no (enabled) `m=audio` section.
    #[error("the offer has no audio")]
    NoAudio,
    /// The offer's audio has no PCMU/8000, the only codec Lifeline bridges.
    #[error(
        "the offer's audio has no PCMU/8000, the only codec Lifeline bridges (offered: {offered})"
    )]
    NoPcmu {
        /// The codecs offered, e.g. `opus/48000, telephone-event/8000`.
        offered: String,
    },
    /// [`WebRtcConfig::candidate`] cannot be an ICE host candidate (unspecified,
    /// multicast, broadcast or link-local address).
    #[error("bad candidate address {addr}: {reason}")]
    Candidate {
        /// The configured address.
        addr: SocketAddr,
        /// What ICE said.
        reason: String,
    },
    /// str0m refused the offer (e.g. no DTLS fingerprint, or an ICE-lite browser).
    #[error("offer refused: {0}")]
    Negotiation(String),
}

/// Something the engine should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRtcEvent {
    /// ICE and DTLS are up: media flows both ways from now on.
    Connected,
    /// The payload of one PCMU packet from the browser (normally 160 bytes, 20 ms).
    Audio(Vec<u8>),
    /// A key press from the browser (RFC 4733 telephone-event): `0`–`9`, `*`, `#`,
    /// `A`–`D`, reported once per press, on its first packet to arrive.
    Dtmf(char),
    /// The leg is dead (see the module documentation); reported once.
    Disconnected,
}

/// The WebRTC leg of one browser agent. See the module documentation.
pub struct WebRtcLeg {
    rtc: Rtc,
    candidate: SocketAddr,
    inactivity: Option<Duration>,
    ufrag: String,
    mid: Mid,
    pcmu_pt: Pt,
    dtmf_pt: Option<Pt>,
    created: Instant,
    last_rx: Instant,
    rtc_timeout: Option<Instant>,
    connected: bool,
    alive: bool,
    dtmf: DtmfReceiver,

    // Send side.
    seq: u64,
    ts_base: u32,
    clock: Option<SendClock>,

    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<WebRtcEvent>,
}

/// Where the send clock stands: when its first frame went out, and the sample offset
/// (from that frame's timestamp) the next frame may use at the earliest.
#[derive(Debug, Clone, Copy)]
struct SendClock {
    start: Instant,
    next: u64,
}

#[cfg(test)]
#[path = "webrtc_tests/mod.rs"]
mod tests;

impl fmt::Debug for WebRtcLeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebRtcLeg")
            .field("candidate", &self.candidate)
            .field("ufrag", &self.ufrag)
            .field("mid", &self.mid)
            .field("pcmu_pt", &self.pcmu_pt)
            .field("dtmf_pt", &self.dtmf_pt)
            .field("connected", &self.connected)
            .field("alive", &self.alive)
            .finish_non_exhaustive()
    }
}

impl WebRtcLeg {
    /// Accepts a browser's SDP offer and returns the leg with its SDP answer: PCMU
    /// only (with the payload type the browser gave it), telephone-event/8000 if
    /// offered, `a=ice-lite`, and one host candidate, `cfg.candidate`. Refused with
    /// [`WebRtcError`] when the offer is not SDP, has no audio, or offers no PCMU.
    pub fn accept_offer(
        offer_sdp: &str,
        cfg: &WebRtcConfig,
        now: Instant,
    ) -> Result<(WebRtcLeg, String), WebRtcError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| WebRtcError::Sdp(e.to_string()))?;
        let scan = scan_offer(offer_sdp);
        if !scan.audio {
            return Err(WebRtcError::NoAudio);
        }
        if !scan.pcmu {
            return Err(no_pcmu(scan.codecs));
        }
        let candidate =
            Candidate::host(cfg.candidate, "udp").map_err(|e| WebRtcError::Candidate {
                addr: cfg.candidate,
                reason: e.to_string(),
            })?;

        // Only the MID header extension: the others (transport-wide congestion control
        // above all, whose send history alone is ~90 kB per leg) serve bandwidth
        // estimation for video, and a fixed 64 kbit/s PCMU stream needs none of it.
        let mut config = RtcConfig::new()
            .clear_codecs()
            .enable_pcmu(true, false)
            .clear_extension_map()
            .set_extension(4, Extension::RtpMid)
            .set_rtp_mode(true)
            .set_ice_lite(true);
        config.codec_config().add_config(
            Pt::from(TELEPHONE_EVENT_PT),
            None,
            Codec::Tele,
            Frequency::EIGHT_KHZ,
            None,
            FormatParams::default(),
        );
        let mut rtc = config.build(now);
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;

        let mut leg = WebRtcLeg {
            rtc,
            candidate: cfg.candidate,
            inactivity: cfg.inactivity,
            ufrag,
            mid: Mid::from("0"),
            pcmu_pt: Pt::from(0),
            dtmf_pt: None,
            created: now,
            last_rx: now,
            rtc_timeout: None,
            connected: false,
            alive: true,
            dtmf: DtmfReceiver::new(),
            seq: 0,
            ts_base: 0,
            clock: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        leg.rtc.add_local_candidate(candidate);
        leg.drain();
        let answer = leg
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| WebRtcError::Negotiation(e.to_string()))?;
        leg.drain();
        if !leg.alive {
            return Err(WebRtcError::Negotiation("str0m closed the session".into()));
        }
        leg.choose_media(&scan.mids, scan.codecs)?;
        Ok((leg, answer.to_sdp_string()))
    }

    /// Picks the first audio media whose negotiated payload types include PCMU, and
    /// seeds the send side from its SSRC. (str0m's `MediaAdded` comes only with a later
    /// input, so the offer's mids are used.)
    fn choose_media(&mut self, mids: &[String], offered: Vec<String>) -> Result<(), WebRtcError> {
        let codecs = self.rtc.codec_config();
        let pt_of = |media: Option<&str0m::media::Media>, codec: Codec| {
            media?.remote_pts().iter().copied().find(|pt| {
                codecs
                    .find(|p| p.pt() == *pt && p.spec().codec == codec)
                    .is_some_and(|p| codec != Codec::Tele || p.spec().clock_rate.get() == 8000)
            })
        };
        let chosen = mids.iter().find_map(|mid| {
            let mid = Mid::from(mid.as_str());
            let media = self.rtc.media(mid).filter(|m| m.kind() == MediaKind::Audio);
            let pcmu = pt_of(media, Codec::PCMU)?;
            Some((mid, pcmu, pt_of(media, Codec::Tele)))
        });
        let Some((mid, pcmu_pt, dtmf_pt)) = chosen else {
            return Err(no_pcmu(offered));
        };
        self.mid = mid;
        self.pcmu_pt = pcmu_pt;
        self.dtmf_pt = dtmf_pt;
        if let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None) {
            let ssrc = *tx.ssrc();
            let mixed = ssrc.wrapping_mul(0x9E37_79B9);
            self.seq = u64::from(mixed >> 17);
            self.ts_base = mixed.rotate_left(11) ^ 0x5BD1_E995;
        }
        Ok(())
    }

    /// The local ICE ufrag: the first half of the STUN USERNAME the browser sends
    /// (see [`stun_local_ufrag`]).
    pub fn local_ufrag(&self) -> &str {
        &self.ufrag
    }

    /// The payload type of PCMU in this leg's RTP (as the browser numbered it).
    pub fn pcmu_payload_type(&self) -> u8 {
        *self.pcmu_pt
    }

    /// The payload type of telephone-event/8000, if the browser offered it.
    pub fn dtmf_payload_type(&self) -> Option<u8> {
        self.dtmf_pt.map(|pt| *pt)
    }

    /// Feeds a datagram received at `now` from `from` on the shared socket (`to` is that
    /// socket's local address; str0m is told it reached the advertised candidate, see
    /// the module documentation). Datagrams str0m does not recognise as this leg's
    /// (STUN for another ufrag, traffic from an unknown address, junk) are ignored.
    pub fn receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, datagram: &[u8]) {
        let _ = to;
        if !self.alive {
            return;
        }
        let Ok(contents) = datagram.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.candidate,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            return;
        }
        // RTP and RTCP start with 128..=191 (RFC 7983); STUN and DTLS do not count
        // towards the inactivity timer.
        let media = matches!(datagram.first(), Some(128..=191));
        if self.rtc.handle_input(input).is_ok() && media {
            self.last_rx = now;
        }
        self.drain();
        self.check_timers(now);
    }

    /// Sends one PCMU payload (normally a 20 ms frame, 160 bytes) to the browser at
    /// once, with this leg's SSRC, next sequence number and a timestamp that advances
    /// by the payload's length and never runs behind wall time (see the module
    /// documentation). False, and the frame dropped, if the leg is not connected (yet,
    /// or any more) or does not send (the browser offered `sendonly`).
    pub fn send_audio(&mut self, now: Instant, payload: &[u8]) -> bool {
        if !self.alive || !self.connected {
            return false;
        }
        let (offset, marker, start) = match self.clock {
            None => (0, true, now),
            Some(clock) => {
                let elapsed = now.saturating_duration_since(clock.start).as_nanos();
                let slot = (elapsed / FRAME.as_nanos()) as u64 * FRAME_SAMPLES;
                (slot.max(clock.next), slot > clock.next, clock.start)
            }
        };
        let timestamp = self.ts_base.wrapping_add(offset as u32);
        let wallclock = start + Duration::from_nanos(offset * SAMPLE_NANOS);
        let write = RtpWrite::new(
            self.pcmu_pt,
            SeqNo::from(self.seq),
            timestamp,
            wallclock,
            payload,
        )
        .marker(marker);
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(self.mid, None) else {
            return false;
        };
        tx.write_rtp(write);
        self.seq += 1;
        self.clock = Some(SendClock {
            start,
            next: offset + payload.len() as u64,
        });
        self.drain();
        // str0m releases queued RTP when time moves on.
        self.handle_timeout(now);
        true
    }

    /// The next datagram to send on the shared socket: (destination, bytes).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<WebRtcEvent> {
        self.events.pop_front()
    }

    /// When [`WebRtcLeg::handle_timeout`] should next be called; `None` once the leg
    /// is dead.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.alive {
            return None;
        }
        let mut t = self.rtc_timeout;
        let mut earliest = |deadline: Instant| {
            t = Some(t.map_or(deadline, |t| t.min(deadline)));
        };
        if !self.connected {
            earliest(self.created + CONNECT_TIMEOUT);
        }
        if let Some(limit) = self.inactivity {
            earliest(self.last_rx + limit);
        }
        t
    }

    /// Runs str0m's timers (ICE, DTLS retransmissions, RTCP, feedback) and this leg's
    /// connect and inactivity timeouts up to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.alive {
            return;
        }
        if self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.fail();
        }
        self.drain();
        self.check_timers(now);
    }

    /// Ends the leg from our side: DTLS close_notify and RTCP BYE are queued for
    /// [`WebRtcLeg::poll_transmit`], so the browser learns at once. No
    /// [`WebRtcEvent::Disconnected`] follows (the engine knows).
    pub fn close(&mut self, now: Instant) {
        if !self.alive {
            return;
        }
        let _ = self.rtc.handle_input(Input::Timeout(now));
        self.drain();
        self.alive = false;
        if self.rtc.close().is_err() {
            self.rtc.disconnect();
        }
        self.drain();
    }

    /// Whether the leg is still usable (not disconnected or closed).
    pub fn is_alive(&self) -> bool {
        self.alive
    }

    /// Whether ICE and DTLS are up ([`WebRtcEvent::Connected`] was reported) and the
    /// leg is alive.
    pub fn is_connected(&self) -> bool {
        self.alive && self.connected
    }

    fn check_timers(&mut self, now: Instant) {
        if !self.alive {
            return;
        }
        let connect_late = !self.connected && now >= self.created + CONNECT_TIMEOUT;
        let inactive = self.inactivity.is_some_and(|d| now >= self.last_rx + d);
        if connect_late || inactive {
            self.fail();
        }
    }

    /// The leg is dead: report it once and stop str0m.
    fn fail(&mut self) {
        if self.alive {
            self.alive = false;
            self.events.push_back(WebRtcEvent::Disconnected);
        }
        self.rtc.disconnect();
    }

    /// Drains `Rtc::poll_output` until its timeout: transmits and events into the
    /// queues. Runs after every input to str0m.
    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.rtc_timeout = Some(t);
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    self.transmits.push_back((t.destination, t.contents.into()));
                }
                Ok(Output::Event(e)) => self.on_event(e),
                Err(_) => {
                    self.fail();
                    break;
                }
            }
        }
        if !self.rtc.is_alive() {
            self.fail();
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected if self.alive && !self.connected => {
                self.connected = true;
                self.events.push_back(WebRtcEvent::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => self.fail(),
            // The browser closed DTLS; str0m drains its own close output before it
            // reports itself dead, so it is not stopped here.
            Event::Closed if self.alive => {
                self.alive = false;
                self.events.push_back(WebRtcEvent::Disconnected);
            }
            Event::RtpPacket(packet) => self.on_rtp(packet),
            _ => {}
        }
    }

    fn on_rtp(&mut self, packet: RtpPacket) {
        if !self.alive {
            return;
        }
        let pt = packet.header.payload_type;
        if pt == self.pcmu_pt {
            self.events
                .push_back(WebRtcEvent::Audio(packet.payload.to_vec()));
        } else if Some(pt) == self.dtmf_pt {
            let header = RtpHeader {
                payload_type: *pt,
                marker: packet.header.marker,
                sequence: packet.header.sequence_number,
                timestamp: packet.header.timestamp,
                ssrc: *packet.header.ssrc,
            };
            if let Some(digit) = self.dtmf.on_packet(&header, &packet.payload) {
                self.events.push_back(WebRtcEvent::Dtmf(digit));
            }
        }
    }
}

fn no_pcmu(codecs: Vec<String>) -> WebRtcError {
    let offered = if codecs.is_empty() {
        "nothing".to_string()
    } else {
        codecs.join(", ")
    };
    WebRtcError::NoPcmu { offered }
}

/// What an offer's audio sections carry, read from the SDP text.
#[derive(Debug, Default)]
struct OfferScan {
    /// An `m=audio` section with a non-zero port.
    audio: bool,
    /// PCMU/8000 among its formats (static payload type 0 or an rtpmap).
    pcmu: bool,
    /// `name/rate[/channels]` of every audio format, in offer order.
    codecs: Vec<String>,
    /// The `a=mid` of each enabled audio section, in offer order.
    mids: Vec<String>,
}

fn scan_offer(sdp: &str) -> OfferScan {
    let mut scan = OfferScan::default();
    // The formats of the current m=audio section, and whether each has an rtpmap.
    let mut formats: Option<Vec<(String, bool)>> = None;
    // Static payload type 0 without an rtpmap is PCMU/8000 (RFC 3551).
    fn finish(formats: &mut Option<Vec<(String, bool)>>, scan: &mut OfferScan) {
        for (pt, mapped) in formats.take().unwrap_or_default() {
            if !mapped && pt == "0" {
                scan.pcmu = true;
                scan.codecs.push("PCMU/8000".into());
            }
        }
    }
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            finish(&mut formats, &mut scan);
            let mut fields = m.split_whitespace();
            let kind = fields.next();
            let port = fields.next().and_then(|p| p.split('/').next());
            let _proto = fields.next();
            if kind == Some("audio") && port.is_some_and(|p| p != "0") {
                scan.audio = true;
                formats = Some(fields.map(|f| (f.to_string(), false)).collect());
            }
        } else if let (Some(_), Some(mid)) = (&formats, line.strip_prefix("a=mid:")) {
            scan.mids.push(mid.trim().to_string());
        } else if let (Some(formats), Some(map)) = (&mut formats, line.strip_prefix("a=rtpmap:")) {
            let mut parts = map.splitn(2, ' ');
            let (Some(pt), Some(codec)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some(entry) = formats.iter_mut().find(|(f, _)| f == pt) else {
                continue;
            };
            entry.1 = true;
            let codec = codec.trim();
            let mut spec = codec.split('/');
            if spec.next().is_some_and(|n| n.eq_ignore_ascii_case("PCMU"))
                && spec.next() == Some("8000")
            {
                scan.pcmu = true;
            }
            scan.codecs.push(codec.to_string());
        }
    }
    finish(&mut formats, &mut scan);
    scan
}

/// For the engine's demultiplexer (which owns the shared socket and routes each
/// datagram to the task that owns its leg): if `datagram` is a STUN binding request,
/// the local ufrag from its USERNAME attribute (`local:remote`, RFC 8445 §7.2.2);
/// else `None`. Pure parsing; never panics, whatever the input.
pub fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    let header = datagram.get(..STUN_HEADER_LEN)?;
    if u16::from_be_bytes([header[0], header[1]]) != STUN_BINDING_REQUEST
        || header[4..8] != STUN_MAGIC_COOKIE
    {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if length % 4 != 0 {
        return None;
    }
    let mut attributes = datagram.get(STUN_HEADER_LEN..STUN_HEADER_LEN + length)?;
    while attributes.len() >= 4 {
        let kind = u16::from_be_bytes([attributes[0], attributes[1]]);
        let len = usize::from(u16::from_be_bytes([attributes[2], attributes[3]]));
        let value = attributes.get(4..4 + len)?;
        if kind == STUN_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            let (local, remote) = username.split_once(':')?;
            return (!local.is_empty() && !remote.is_empty()).then_some(local);
        }
        let padded = 4 + len.div_ceil(4) * 4;
        attributes = attributes.get(padded..)?;
    }
    None
}
