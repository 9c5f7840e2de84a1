//! A [`WebRtcLeg`] against an in-process str0m *client* (full ICE, PCMU, like a
//! browser), in virtual time, through a tiny virtual network with fake addresses: the
//! harness is here, the tests in the submodules by concern.

mod liveness;
mod media;
mod offers;
mod stun;

use super::*;
use crate::dtmf::encode_event;
use proptest::prelude::*;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::Direction;

/// The leg's advertised candidate (public address, shared port).
const LEG_PUBLIC: &str = "203.0.113.10:3478";
/// The shared socket's own address: bound to the wildcard, unlike the candidate.
const LEG_LOCAL: &str = "0.0.0.0:3478";
const CLIENT: &str = "198.51.100.7:50000";
/// One-way delay of the virtual network.
const LATENCY: Duration = Duration::from_millis(1);
/// telephone-event/8000 as Chromium numbers it.
const CLIENT_DTMF_PT: u8 = 126;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(inactivity: Option<Duration>) -> WebRtcConfig {
    WebRtcConfig {
        candidate: addr(LEG_PUBLIC),
        inactivity,
    }
}

/// A browser-like peer: full ICE, RTP mode, the given codecs plus telephone-event/8000.
fn browser(now: Instant, codecs: &[Codec]) -> Rtc {
    let mut cfg = RtcConfig::new().clear_codecs().set_rtp_mode(true);
    for codec in codecs {
        cfg = match codec {
            Codec::Opus => cfg.enable_opus(true, false),
            Codec::PCMU => cfg.enable_pcmu(true, false),
            Codec::PCMA => cfg.enable_pcma(true, false),
            Codec::Vp8 => cfg.enable_vp8(true),
            other => panic!("not in the test browser: {other:?}"),
        };
    }
    cfg.codec_config().add_config(
        Pt::from(CLIENT_DTMF_PT),
        None,
        Codec::Tele,
        Frequency::EIGHT_KHZ,
        None,
        FormatParams::default(),
    );
    let mut rtc = cfg.build(now);
    rtc.add_local_candidate(Candidate::host(addr(CLIENT), "udp").unwrap());
    rtc
}

/// The client's offer for one sendrecv media of `kind`.
fn offer(rtc: &mut Rtc, kind: MediaKind) -> (Mid, String, SdpPendingOffer) {
    let mut api = rtc.sdp_api();
    let mid = api.add_media(kind, Direction::SendRecv, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    (mid, offer.to_sdp_string(), pending)
}

/// An offer from a fresh client with `codecs`, for an audio media.
fn offer_with(codecs: &[Codec], kind: MediaKind) -> String {
    let now = Instant::now();
    let mut rtc = browser(now, codecs);
    offer(&mut rtc, kind).1
}

fn is_rtp_or_rtcp(b: &[u8]) -> bool {
    matches!(b.first(), Some(128..=191))
}

/// An RTP packet the client received: (payload type, seq, timestamp, marker, payload).
type Received = (u8, u16, u32, bool, Vec<u8>);

/// The leg and the client, and the datagrams in flight between them.
struct Net {
    t0: Instant,
    now: Instant,
    leg: WebRtcLeg,
    answer: String,
    client: Rtc,
    mid: Mid,
    client_timeout: Instant,
    to_leg: VecDeque<(Instant, Vec<u8>)>,
    to_client: VecDeque<(Instant, Vec<u8>)>,
    leg_events: Vec<(Instant, WebRtcEvent)>,
    client_events: Vec<(Instant, Event)>,
    /// Client → leg datagrams matching this are lost.
    drop_to_leg: fn(&[u8]) -> bool,
    /// Every STUN binding request the client sent.
    stun_requests: Vec<(Instant, Vec<u8>)>,
    /// Real time spent in the leg's `receive` and `send_audio` (for `media_cost`).
    leg_cpu: Duration,
}

impl Net {
    fn new(codecs: &[Codec], cfg: WebRtcConfig) -> Net {
        let t0 = Instant::now();
        let mut client = browser(t0, codecs);
        let (mid, offer_sdp, pending) = offer(&mut client, MediaKind::Audio);
        let (leg, answer) = WebRtcLeg::accept_offer(&offer_sdp, &cfg, t0).unwrap();
        client
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        let mut net = Net {
            t0,
            now: t0,
            leg,
            answer,
            client,
            mid,
            client_timeout: t0,
            to_leg: VecDeque::new(),
            to_client: VecDeque::new(),
            leg_events: Vec::new(),
            client_events: Vec::new(),
            drop_to_leg: |_| false,
            stun_requests: Vec::new(),
            leg_cpu: Duration::ZERO,
        };
        net.drain_client();
        net.collect_leg();
        net
    }

    fn drain_client(&mut self) {
        loop {
            let output = self.client.poll_output();
            match self.client_ok(output) {
                None => break,
                Some(Output::Timeout(t)) => {
                    self.client_timeout = t;
                    break;
                }
                Some(Output::Transmit(t)) => {
                    assert_eq!(t.destination, addr(LEG_PUBLIC));
                    let bytes: Vec<u8> = t.contents.into();
                    if stun_local_ufrag(&bytes).is_some() {
                        self.stun_requests.push((self.now, bytes.clone()));
                    }
                    if !(self.drop_to_leg)(&bytes) {
                        self.to_leg.push_back((self.now + LATENCY, bytes));
                    }
                }
                Some(Output::Event(e)) => self.client_events.push((self.now, e)),
            }
        }
    }

    /// The client's result; an error is fine only if it ended the client (as a DTLS
    /// handshake that timed out does).
    fn client_ok<T>(&self, r: Result<T, str0m::RtcError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) if self.client.is_alive() => panic!("client: {e}"),
            Err(_) => None,
        }
    }

    fn collect_leg(&mut self) {
        while let Some((to, bytes)) = self.leg.poll_transmit() {
            assert_eq!(to, addr(CLIENT));
            self.to_client.push_back((self.now + LATENCY, bytes));
        }
        while let Some(e) = self.leg.poll_event() {
            self.leg_events.push((self.now, e));
        }
    }

    /// Everything due at `self.now`: deliveries, then timeouts.
    fn step(&mut self) {
        let now = self.now;
        while self.to_leg.front().is_some_and(|(t, _)| *t <= now) {
            let (_, bytes) = self.to_leg.pop_front().unwrap();
            self.leg.receive(now, addr(CLIENT), addr(LEG_LOCAL), &bytes);
            self.collect_leg();
        }
        while self.to_client.front().is_some_and(|(t, _)| *t <= now) {
            let (_, bytes) = self.to_client.pop_front().unwrap();
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: addr(LEG_PUBLIC),
                    destination: addr(CLIENT),
                    contents: bytes.as_slice().try_into().unwrap(),
                },
            );
            let r = self.client.handle_input(input);
            self.client_ok(r);
            self.drain_client();
        }
        if self.client_timeout <= now {
            let r = self.client.handle_input(Input::Timeout(now));
            self.client_ok(r);
            self.drain_client();
        }
        if self.leg.poll_timeout().is_some_and(|t| t <= now) {
            self.leg.handle_timeout(now);
            self.collect_leg();
        }
    }

    /// Runs the network and both peers until `end`, event by event (at least 1 ms apart).
    fn run_until(&mut self, end: Instant) {
        while self.now < end {
            let next = [
                Some(self.client_timeout),
                self.leg.poll_timeout(),
                self.to_leg.front().map(|(t, _)| *t),
                self.to_client.front().map(|(t, _)| *t),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
            self.now = next.max(self.now + ms(1)).min(end);
            self.step();
        }
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs until the leg reports Connected (at most 2 s); returns how long it took.
    fn connect(&mut self) -> Duration {
        let limit = self.now + Duration::from_secs(2);
        while !self.leg_connected() || !self.client.is_connected() {
            assert!(self.now < limit, "not connected after 2 s");
            self.run_for(ms(1));
        }
        self.now - self.t0
    }

    fn leg_connected(&self) -> bool {
        self.leg_events
            .iter()
            .any(|(_, e)| *e == WebRtcEvent::Connected)
    }

    fn leg_events(&self, f: impl Fn(&WebRtcEvent) -> bool) -> Vec<(Instant, WebRtcEvent)> {
        self.leg_events
            .iter()
            .filter(|(_, e)| f(e))
            .cloned()
            .collect()
    }

    fn audio_received_by_leg(&self) -> Vec<Vec<u8>> {
        self.leg_events
            .iter()
            .filter_map(|(_, e)| match e {
                WebRtcEvent::Audio(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    fn disconnects(&self) -> Vec<Instant> {
        self.leg_events(|e| *e == WebRtcEvent::Disconnected)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    /// The client writes one RTP packet on its audio stream.
    fn client_send(&mut self, pt: u8, seq: u64, ts: u32, marker: bool, payload: &[u8]) {
        let now = self.now;
        let mut api = self.client.direct_api();
        let tx = api.stream_tx_by_mid(self.mid, None).unwrap();
        tx.write_rtp(
            RtpWrite::new(Pt::from(pt), SeqNo::from(seq), ts, now, payload).marker(marker),
        );
        self.drain_client();
        self.client.handle_input(Input::Timeout(now)).unwrap();
        self.drain_client();
    }

    /// The leg sends one frame now.
    fn leg_send(&mut self, payload: &[u8]) -> bool {
        let cpu = Instant::now();
        let sent = self.leg.send_audio(self.now, payload);
        self.leg_cpu += cpu.elapsed();
        self.collect_leg();
        sent
    }

    fn client_received(&self) -> Vec<Received> {
        self.client_events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::RtpPacket(p) => Some((
                    *p.header.payload_type,
                    p.header.sequence_number,
                    p.header.timestamp,
                    p.header.marker,
                    p.payload.to_vec(),
                )),
                _ => None,
            })
            .collect()
    }
}

/// A distinct 160-byte PCMU frame.
fn frame(i: usize) -> Vec<u8> {
    (0..160).map(|k| (i * 7 + k) as u8).collect()
}

/// The `m=audio` line's formats and every `a=rtpmap` of `sdp`.
fn audio_formats(sdp: &str) -> (Vec<String>, Vec<String>) {
    let m = sdp
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("an m=audio line");
    let formats = m.split_whitespace().skip(3).map(String::from).collect();
    let maps = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .map(String::from)
        .collect();
    (formats, maps)
}
