//! A [`WebRtcLeg`] against an in-process str0m *client* (full ICE, PCMU, like a
//! browser), in virtual time, through a tiny virtual network with fake addresses.

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

#[test]
fn connects_and_answers_ice_lite_with_one_host_candidate() {
    let mut net = Net::new(&[Codec::PCMU], config(Some(Duration::from_secs(10))));
    let answer = net.answer.clone();
    assert!(answer.contains("a=ice-lite"), "{answer}");
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert_eq!(candidates.len(), 1, "{answer}");
    assert!(
        candidates[0].contains("203.0.113.10 3478 typ host"),
        "{answer}"
    );
    assert!(answer.contains(&format!("a=ice-ufrag:{}", net.leg.local_ufrag())));
    assert!(!net.leg.is_connected());

    let took = net.connect();
    assert!(took < ms(500), "took {took:?}");
    assert!(net.client.is_connected());
    assert!(net.leg.is_connected() && net.leg.is_alive());
    // Connected once, and it stays up (STUN consent, RTCP) with nothing else said.
    net.run_for(Duration::from_secs(8));
    assert_eq!(net.leg_events(|_| true).len(), 1, "{:?}", net.leg_events);
    assert!(net.leg.is_connected());
}

#[test]
fn audio_flows_both_ways_unchanged() {
    let mut net = Net::new(&[Codec::PCMU], config(Some(Duration::from_secs(10))));
    assert_eq!(net.leg.pcmu_payload_type(), 0);
    assert!(
        !net.leg_send(&frame(0)),
        "nothing is sent before ICE and DTLS are up"
    );
    net.connect();

    let frames: Vec<Vec<u8>> = (0..50).map(frame).collect();
    for (i, f) in frames.iter().enumerate() {
        net.client_send(0, 1000 + i as u64, 5000 + 160 * i as u32, i == 0, f);
        assert!(net.leg_send(f));
        net.run_for(ms(20));
    }
    net.run_for(ms(100));

    assert_eq!(net.audio_received_by_leg(), frames);

    let got = net.client_received();
    assert_eq!(got.len(), frames.len());
    let payloads: Vec<Vec<u8>> = got.iter().map(|r| r.4.clone()).collect();
    assert_eq!(payloads, frames);
    for w in got.windows(2) {
        assert_eq!(w[1].0, 0, "PCMU");
        assert_eq!(
            w[1].1,
            w[0].1.wrapping_add(1),
            "consecutive sequence numbers"
        );
        assert_eq!(w[1].2, w[0].2.wrapping_add(160), "timestamps 160 apart");
        assert!(!w[1].3);
    }
    assert!(got[0].3, "marker on the first packet");
}

#[test]
fn timestamps_never_run_behind_wall_time() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    // A burst of three frames at one instant: consecutive timestamps.
    for i in 0..3 {
        assert!(net.leg_send(&frame(i)));
    }
    net.run_for(ms(20));
    // Frames every 20 ms, then a 1 s pause, then more frames.
    for i in 3..6 {
        assert!(net.leg_send(&frame(i)));
        net.run_for(ms(20));
    }
    net.run_for(Duration::from_secs(1));
    for i in 6..8 {
        assert!(net.leg_send(&frame(i)));
        net.run_for(ms(20));
    }
    net.run_for(ms(50));

    let got = net.client_received();
    assert_eq!(got.len(), 8);
    let ts: Vec<u32> = got.iter().map(|r| r.2.wrapping_sub(got[0].2)).collect();
    // 0,160,320 in the burst; the next frames are ahead of their 20 ms slots, so they
    // keep following on; after the pause, the slot the frame falls in.
    assert_eq!(&ts[..6], &[0, 160, 320, 480, 640, 800]);
    let sent_at_ms = 20 + 3 * 20 + 1000; // burst, 3 frames, pause
    assert_eq!(ts[6], sent_at_ms / 20 * 160);
    assert_eq!(ts[7], ts[6] + 160);
    let markers: Vec<bool> = got.iter().map(|r| r.3).collect();
    assert_eq!(
        markers,
        [true, false, false, false, false, false, true, false]
    );
    let seqs: Vec<u16> = got.iter().map(|r| r.1.wrapping_sub(got[0].1)).collect();
    assert_eq!(seqs, (0..8).collect::<Vec<u16>>());
}

#[test]
fn opus_and_pcmu_offer_is_answered_with_pcmu_only() {
    let offer = offer_with(&[Codec::Opus, Codec::PCMU], MediaKind::Audio);
    assert!(offer.contains("opus/48000"), "{offer}");
    let now = Instant::now();
    let (leg, answer) = WebRtcLeg::accept_offer(&offer, &config(None), now).unwrap();
    let (formats, maps) = audio_formats(&answer);
    assert_eq!(formats, ["0", "126"], "{answer}");
    assert!(
        maps.iter()
            .all(|m| m == "0 PCMU/8000" || m == "126 telephone-event/8000"),
        "{maps:?}"
    );
    assert!(!answer.to_ascii_lowercase().contains("opus"), "{answer}");
    assert_eq!(leg.pcmu_payload_type(), 0);
    assert_eq!(leg.dtmf_payload_type(), Some(126));

    // And it works end to end with such a browser.
    let mut net = Net::new(&[Codec::Opus, Codec::PCMU], config(None));
    net.connect();
    net.client_send(0, 1, 0, true, &frame(1));
    assert!(net.leg_send(&frame(2)));
    net.run_for(ms(50));
    assert_eq!(net.audio_received_by_leg(), [frame(1)]);
    assert_eq!(net.client_received()[0].4, frame(2));
}

/// An offer as Chromium makes it with its default codecs, before ICE gathering.
const CHROMIUM_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS 8c4a1d2e-77f0-4c3b-9a41-5d8b6f0e2a19\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Xk2d\r
a=ice-pwd:4fGh7jKl9mNp2qRs5tUv8wXy\r
a=ice-options:trickle\r
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4B:65:1C:0A:2E:2B:61:6C:7F:F2:F5\r
a=setup:actpass\r
a=mid:0\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=msid:8c4a1d2e-77f0-4c3b-9a41-5d8b6f0e2a19 0d6c3f4e-1b2a-4c5d-8e9f-a0b1c2d3e4f5\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:63 red/48000/2\r
a=fmtp:63 111/111\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:13 CN/8000\r
a=rtpmap:110 telephone-event/48000\r
a=rtpmap:126 telephone-event/8000\r
a=ssrc:3344556677 cname:q9W2e4R6t8Y0u1I3\r
a=ssrc:3344556677 msid:8c4a1d2e-77f0-4c3b-9a41-5d8b6f0e2a19 0d6c3f4e-1b2a-4c5d-8e9f-a0b1c2d3e4f5\r
";

#[test]
fn a_chromium_offer_is_answered_with_pcmu_and_its_telephone_event() {
    let (leg, answer) =
        WebRtcLeg::accept_offer(CHROMIUM_OFFER, &config(None), Instant::now()).unwrap();
    let (formats, maps) = audio_formats(&answer);
    assert_eq!(formats, ["0", "126"], "{answer}");
    assert_eq!(
        maps,
        ["0 PCMU/8000", "126 telephone-event/8000"],
        "{answer}"
    );
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(answer.contains("a=mid:0"), "{answer}");
    assert!(answer.contains("a=sendrecv"), "{answer}");
    assert!(
        answer.contains("a=setup:passive") || answer.contains("a=setup:active"),
        "{answer}"
    );
    assert_eq!(leg.pcmu_payload_type(), 0);
    assert_eq!(leg.dtmf_payload_type(), Some(126));
    assert!(leg.is_alive() && !leg.is_connected());
}

#[test]
fn an_offer_without_telephone_event_gets_none() {
    // Strip telephone-event from a real offer.
    let offer: String = offer_with(&[Codec::PCMU], MediaKind::Audio)
        .lines()
        .filter(|l| !l.contains(":126 "))
        .map(|l| {
            if l.starts_with("m=audio") {
                l.replace(" 126", "")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\r\n")
        .collect();
    assert!(!offer.contains("telephone-event"));
    let (leg, answer) = WebRtcLeg::accept_offer(&offer, &config(None), Instant::now()).unwrap();
    assert_eq!(audio_formats(&answer).0, ["0"], "{answer}");
    assert_eq!(leg.dtmf_payload_type(), None);
}

#[test]
fn opus_only_offer_is_refused() {
    let offer = offer_with(&[Codec::Opus], MediaKind::Audio);
    let err = WebRtcLeg::accept_offer(&offer, &config(None), Instant::now()).unwrap_err();
    let WebRtcError::NoPcmu { offered } = &err else {
        panic!("{err:?}");
    };
    assert!(offered.contains("opus/48000/2"), "{offered}");
    let message = err.to_string();
    assert!(message.contains("no PCMU"), "{message}");
    assert!(message.contains("opus/48000/2"), "{message}");
}

#[test]
fn offers_without_audio_or_not_sdp_are_refused() {
    let video = offer_with(&[Codec::Vp8], MediaKind::Video);
    assert_eq!(
        WebRtcLeg::accept_offer(&video, &config(None), Instant::now()).unwrap_err(),
        WebRtcError::NoAudio
    );
    for garbage in ["", "hello", "v=0\r\nm=audio\r\n", "\u{0}\u{1}\u{ff}"] {
        let err = WebRtcLeg::accept_offer(garbage, &config(None), Instant::now()).unwrap_err();
        assert!(matches!(err, WebRtcError::Sdp(_)), "{garbage:?}: {err:?}");
        assert!(err.to_string().starts_with("unparsable SDP offer"));
    }
    // A disabled audio section (port 0) is no audio either.
    let pcmu = offer_with(&[Codec::PCMU], MediaKind::Audio);
    let disabled: String = pcmu
        .lines()
        .map(|l| match l.strip_prefix("m=audio ") {
            Some(rest) => format!("m=audio 0 {}\r\n", rest.split_once(' ').unwrap().1),
            None => format!("{l}\r\n"),
        })
        .collect();
    assert_eq!(
        WebRtcLeg::accept_offer(&disabled, &config(None), Instant::now()).unwrap_err(),
        WebRtcError::NoAudio
    );
}

#[test]
fn a_bad_candidate_address_is_refused() {
    let offer = offer_with(&[Codec::PCMU], MediaKind::Audio);
    let cfg = WebRtcConfig {
        candidate: addr("0.0.0.0:3478"),
        inactivity: None,
    };
    let err = WebRtcLeg::accept_offer(&offer, &cfg, Instant::now()).unwrap_err();
    assert!(matches!(err, WebRtcError::Candidate { .. }), "{err:?}");
}

#[test]
fn dtmf_from_the_browser_is_reported_once_per_press() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    assert_eq!(net.leg.dtmf_payload_type(), Some(CLIENT_DTMF_PT));
    net.connect();
    let mut seq = 100u64;
    for (press, digit) in ['5', '#', '5'].into_iter().enumerate() {
        let ts = 8000 * (press as u32 + 1);
        for p in encode_event(digit, ms(120), 10).unwrap() {
            net.client_send(CLIENT_DTMF_PT, seq, ts, p.marker, &p.payload);
            seq += 1;
            net.run_for(ms(20));
        }
        // Audio in between presses is still audio.
        net.client_send(0, seq, ts + 2000, false, &frame(press));
        seq += 1;
        net.run_for(ms(20));
    }
    net.run_for(ms(100));
    let digits: Vec<WebRtcEvent> = net
        .leg_events(|e| matches!(e, WebRtcEvent::Dtmf(_)))
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        digits,
        [
            WebRtcEvent::Dtmf('5'),
            WebRtcEvent::Dtmf('#'),
            WebRtcEvent::Dtmf('5')
        ]
    );
    assert_eq!(net.audio_received_by_leg(), [frame(0), frame(1), frame(2)]);
}

#[test]
fn inactivity_disconnects_once() {
    let mut net = Net::new(&[Codec::PCMU], config(Some(Duration::from_secs(3))));
    net.connect();
    net.client_send(0, 1, 0, true, &frame(0));
    net.run_for(ms(100));
    // The browser vanishes: nothing more reaches the leg.
    net.drop_to_leg = |_| true;
    let gone = net.now;
    net.run_for(Duration::from_secs(10));
    let disconnects = net.disconnects();
    assert_eq!(disconnects.len(), 1, "{:?}", net.leg_events);
    let after = disconnects[0] - gone;
    assert!(
        after <= Duration::from_secs(3) && after > ms(2800),
        "{after:?}"
    );
    assert!(!net.leg.is_alive() && !net.leg.is_connected());
    assert_eq!(net.leg.poll_timeout(), None);
    assert!(!net.leg_send(&frame(1)));
    assert!(net.leg.poll_transmit().is_none());
}

#[test]
fn media_stopping_while_ice_stays_up_disconnects() {
    let mut net = Net::new(&[Codec::PCMU], config(Some(Duration::from_secs(8))));
    net.connect();
    // RTP and RTCP are lost; STUN still gets through, so ICE stays up.
    net.drop_to_leg = is_rtp_or_rtcp;
    let cut = net.now;
    net.run_for(Duration::from_secs(12));
    let disconnects = net.disconnects();
    assert_eq!(disconnects.len(), 1, "{:?}", net.leg_events);
    assert!(disconnects[0] - cut <= Duration::from_secs(8));
    let stun_after_cut = net
        .stun_requests
        .iter()
        .filter(|(t, _)| *t > cut && *t < disconnects[0])
        .count();
    assert!(stun_after_cut > 0, "ICE consent went on");
}

#[test]
fn ice_timeout_disconnects_without_an_inactivity_limit() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    net.drop_to_leg = |_| true;
    let gone = net.now;
    net.run_for(Duration::from_secs(25));
    let disconnects = net.disconnects();
    assert_eq!(disconnects.len(), 1, "{:?}", net.leg_events);
    // str0m's ICE-lite limit: 15 s without a binding request.
    let after = disconnects[0] - gone;
    assert!(
        after >= Duration::from_secs(12) && after <= Duration::from_secs(20),
        "{after:?}"
    );
    assert!(!net.leg.is_alive());
}

#[test]
fn a_browser_that_never_connects_times_out() {
    // The offer named the browser's candidate: ICE gives up on it after 15 s.
    let mut net = Net::new(&[Codec::PCMU], config(None));
    assert!(net.answer.contains("a=ice-lite"));
    net.drop_to_leg = |_| true;
    net.run_for(CONNECT_TIMEOUT + Duration::from_secs(5));
    let disconnects = net.disconnects();
    assert_eq!(disconnects.len(), 1, "{:?}", net.leg_events);
    let after = disconnects[0] - net.t0;
    assert!(
        after >= Duration::from_secs(15) && after < CONNECT_TIMEOUT,
        "{after:?}"
    );
    assert!(!net.leg_connected());

    // An offer sent before gathering (no candidates, as the console sends it): ICE
    // has nothing to give up on, the connect timeout ends the leg.
    let offer: String = offer_with(&[Codec::PCMU], MediaKind::Audio)
        .lines()
        .filter(|l| !l.starts_with("a=candidate"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let t0 = Instant::now();
    let (mut leg, _) = WebRtcLeg::accept_offer(&offer, &config(None), t0).unwrap();
    let mut events = Vec::new();
    while let Some(t) = leg.poll_timeout() {
        assert!(t <= t0 + CONNECT_TIMEOUT, "{:?}", t - t0);
        leg.handle_timeout(t);
        while let Some(e) = leg.poll_event() {
            events.push((t - t0, e));
        }
    }
    assert_eq!(events, [(CONNECT_TIMEOUT, WebRtcEvent::Disconnected)]);
}

#[test]
fn a_browser_that_closes_is_disconnected() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    net.client.close().unwrap();
    net.drain_client();
    net.run_for(ms(100));
    assert_eq!(net.disconnects().len(), 1, "{:?}", net.leg_events);
    assert!(!net.leg.is_alive());
    net.run_for(Duration::from_secs(20));
    assert_eq!(net.disconnects().len(), 1, "reported once");
}

#[test]
#[ignore = "timing, not a check: cargo test -p lifeline-media --release webrtc::tests::accept_cost -- --ignored --nocapture"]
fn accept_cost() {
    let offer = offer_with(&[Codec::Opus, Codec::PCMU], MediaKind::Audio);
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        let _ = WebRtcLeg::accept_offer(&offer, &config(None), start).unwrap();
    }
    println!("accept_offer: {:?} per leg", start.elapsed() / n);
}

#[test]
#[ignore = "timing, not a check: cargo test -p lifeline-media --release webrtc::tests::media_cost -- --ignored --nocapture"]
fn media_cost() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    net.leg_cpu = Duration::ZERO;
    let n = 3000;
    for i in 0..n {
        net.client_send(0, i, 160 * i as u32, i == 0, &frame(i as usize));
        assert!(net.leg_send(&frame(i as usize)));
        net.run_for(ms(20));
    }
    assert_eq!(net.audio_received_by_leg().len(), n as usize);
    println!(
        "leg: {:?} per 20 ms frame received and sent (SRTP both ways, RTCP, STUN)",
        net.leg_cpu / n as u32
    );
}

#[test]
fn close_tells_the_browser() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    net.leg.close(net.now);
    net.collect_leg();
    assert!(!net.leg.is_alive());
    net.run_for(ms(100));
    assert!(
        net.client_events
            .iter()
            .any(|(_, e)| matches!(e, Event::Closed)),
        "the browser saw DTLS close"
    );
    assert!(net.disconnects().is_empty(), "no Disconnected after close");
}

#[test]
fn another_legs_stun_is_ignored() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.run_for(ms(5));
    let (_, request) = net.stun_requests[0].clone();
    let offer = offer_with(&[Codec::PCMU], MediaKind::Audio);
    let (mut other, _) = WebRtcLeg::accept_offer(&offer, &config(None), net.t0).unwrap();
    assert_ne!(other.local_ufrag(), net.leg.local_ufrag());
    other.receive(net.now, addr(CLIENT), addr(LEG_LOCAL), &request);
    other.receive(net.now, addr(CLIENT), addr(LEG_LOCAL), b"junk");
    assert!(other.poll_transmit().is_none());
    assert!(other.poll_event().is_none());
    assert!(other.is_alive());
}

#[test]
fn stun_local_ufrag_reads_a_real_binding_request() {
    let mut net = Net::new(&[Codec::PCMU], config(None));
    net.connect();
    let (_, request) = net.stun_requests[0].clone();
    assert_eq!(stun_local_ufrag(&request), Some(net.leg.local_ufrag()));
    let client_ufrag = net.client.direct_api().local_ice_credentials().ufrag;
    let username = format!("{}:{}", net.leg.local_ufrag(), client_ufrag);
    assert!(
        request
            .windows(username.len())
            .any(|w| w == username.as_bytes())
    );
    // Every truncation is rejected; nothing else the client sent is a request.
    for n in 0..request.len() {
        assert_eq!(stun_local_ufrag(&request[..n]), None, "truncated to {n}");
    }
    net.client_send(0, 1, 0, true, &frame(0));
    for (_, bytes) in &net.to_leg {
        assert_eq!(stun_local_ufrag(bytes), None);
    }
}

/// A binding request with the given USERNAME value (and a trailing PRIORITY).
fn binding_request(username: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&STUN_USERNAME.to_be_bytes());
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username);
    attrs.resize(attrs.len().div_ceil(4) * 4, 0);
    attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0x6E, 0x00, 0x01, 0xFF]);
    let mut out = Vec::new();
    out.extend_from_slice(&STUN_BINDING_REQUEST.to_be_bytes());
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&STUN_MAGIC_COOKIE);
    out.extend_from_slice(&[7; 12]);
    out.extend_from_slice(&attrs);
    out
}

#[test]
fn stun_local_ufrag_rejects_junk() {
    let good = binding_request(b"abcd:wxyz1");
    assert_eq!(stun_local_ufrag(&good), Some("abcd"));
    // USERNAME after another attribute.
    let mut later = good.clone();
    let priority: Vec<u8> = later.drain(36..44).collect();
    later.splice(20..20, priority);
    assert_eq!(stun_local_ufrag(&later), Some("abcd"));

    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        stun_local_ufrag_owned(&b)
    };
    assert_eq!(mutate(&|b| b[0] = 0x01), None, "binding response type");
    assert_eq!(mutate(&|b| b[1] = 0x11), None, "indication");
    assert_eq!(mutate(&|b| b[4] = 0), None, "no magic cookie");
    assert_eq!(mutate(&|b| b[3] += 2), None, "length not a multiple of 4");
    assert_eq!(mutate(&|b| b[3] += 4), None, "length past the datagram");
    assert_eq!(mutate(&|b| b[23] = 200), None, "attribute past the message");
    assert_eq!(mutate(&|b| b[23] = 0), None, "empty username");

    for junk in [
        &b""[..],
        &[0; 19],
        &[0; 20], // type 0: not a binding request
        &[0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
        &[22, 254, 253, 0, 0],
    ] {
        assert_eq!(stun_local_ufrag(junk), None, "{junk:?}");
    }
    assert_eq!(
        stun_local_ufrag(&binding_request(b"abcdwxyz")),
        None,
        "no colon"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b":wxyz")),
        None,
        "empty local"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b"abcd:")),
        None,
        "empty remote"
    );
    assert_eq!(
        stun_local_ufrag(&binding_request(b"\xff\xfe:x")),
        None,
        "not UTF-8"
    );
    // A request without USERNAME.
    let mut bare = good[..20].to_vec();
    bare[2..4].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(stun_local_ufrag(&bare), None);
}

fn stun_local_ufrag_owned(b: &[u8]) -> Option<String> {
    stun_local_ufrag(b).map(String::from)
}

proptest! {
    #[test]
    fn stun_local_ufrag_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = stun_local_ufrag(&bytes);
    }

    #[test]
    fn stun_local_ufrag_survives_mutated_requests(
        username in proptest::collection::vec(any::<u8>(), 0..40),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let mut b = binding_request(&username);
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        b.truncate(cut % (b.len() + 1));
        if let Some(ufrag) = stun_local_ufrag(&b) {
            // What it returns is a part of the datagram, before a ':'.
            let start = ufrag.as_ptr() as usize - b.as_ptr() as usize;
            prop_assert!(start + ufrag.len() < b.len());
            prop_assert_eq!(b[start + ufrag.len()], b':');
            prop_assert!(!ufrag.is_empty());
        }
    }
}
