use super::*;
use crate::dtmf::encode_event;
use crate::g711::{linear_to_ulaw, ulaw_to_linear};
use crate::rtcp::{PT_SR, parse_compound};
use crate::rtp::{RtpHeader, split};
use crate::wav::Prompt;
use std::sync::Arc;

const REMOTE_SSRC: u32 = 0xCAFE;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn config() -> SessionConfig {
    SessionConfig {
        law: Law::Ulaw,
        payload_type: 0,
        dtmf_pt: Some(101),
        remote: addr("10.0.0.1:4000"),
        ssrc: 0x1234,
        seq: 65_534,
        ts: 1000,
        inband_dtmf: false,
        inactivity: None,
        record: false,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn packet(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    RtpHeader {
        payload_type: pt,
        marker,
        sequence: seq,
        timestamp: ts,
        ssrc: REMOTE_SSRC,
    }
    .write(payload, &mut out);
    out
}

/// A session in virtual time, recording everything it emits.
struct Harness {
    s: MediaSession,
    t0: Instant,
    now: Instant,
    sent: Vec<(Instant, SocketAddr, Vec<u8>)>,
    events: Vec<(Instant, SessionEvent)>,
}

impl Harness {
    fn new(cfg: SessionConfig) -> Harness {
        let t0 = Instant::now();
        Harness {
            s: MediaSession::new(cfg, t0),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            self.sent.push((self.now, t.to, t.bytes));
        }
        while let Some(e) = self.s.poll_event() {
            self.events.push((self.now, e));
        }
    }

    /// Runs timers up to `t0 + at`.
    fn advance(&mut self, at: Duration) {
        let until = self.t0 + at;
        self.drain();
        while let Some(t) = self.s.poll_timeout() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.s.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    fn receive_at(&mut self, at: Duration, from: &str, bytes: &[u8]) {
        self.advance(at);
        self.s.receive(self.now, addr(from), bytes);
        self.drain();
    }

    /// RTP packets sent: (offset from t0, destination, header, payload).
    fn rtp(&self) -> Vec<(Duration, SocketAddr, RtpHeader, Vec<u8>)> {
        self.sent
            .iter()
            .filter(|(_, _, b)| !crate::rtcp::is_rtcp(b))
            .map(|(t, to, b)| {
                let (h, p) = split(b).unwrap();
                (*t - self.t0, *to, h, p.to_vec())
            })
            .collect()
    }

    fn events(&self) -> Vec<SessionEvent> {
        self.events.iter().map(|(_, e)| *e).collect()
    }
}

fn prompt(frames: usize) -> Arc<Prompt> {
    let samples = (0..frames * FRAME_SAMPLES)
        .map(|i| 1000 * (i / FRAME_SAMPLES + 1) as i16)
        .collect();
    Arc::new(Prompt::from_samples(samples).unwrap())
}

#[test]
fn rfc4733_digit_is_reported_once() {
    let mut h = Harness::new(config());
    let events = encode_event('5', ms(100), 10).unwrap();
    for (i, e) in events.iter().enumerate() {
        let p = packet(101, 10 + i as u16, 8000, e.marker, &e.payload);
        h.receive_at(ms(20 * i as u64), "10.0.0.1:4000", &p);
        h.receive_at(ms(20 * i as u64 + 1), "10.0.0.1:4000", &p); // duplicated
    }
    h.advance(ms(1000));
    let digit = SessionEvent::Digit {
        digit: '5',
        via: DtmfVia::Rfc4733,
    };
    assert_eq!(h.events(), [digit]);
    assert_eq!(
        h.events[0].0 - h.t0,
        Duration::ZERO,
        "reported on the first packet"
    );
}

#[test]
fn a_prompt_of_n_frames_is_n_packets_20ms_apart_then_done() {
    let mut h = Harness::new(config());
    let p = prompt(5);
    let id = h.s.play(vec![PlayItem::Prompt(p.clone())]);
    h.advance(ms(200));
    let rtp = h.rtp();
    assert_eq!(rtp.len(), 11);
    for (i, (t, to, hdr, payload)) in rtp.iter().enumerate() {
        assert_eq!(*t, ms(20 * i as u64));
        assert_eq!(*to, addr("10.0.0.1:4000"));
        assert_eq!(hdr.sequence, 65_534u16.wrapping_add(i as u16));
        assert_eq!(hdr.timestamp, 1000 + 160 * i as u32);
        assert_eq!(hdr.marker, i == 0);
        assert_eq!(hdr.ssrc, 0x1234);
        if i < 5 {
            assert_eq!(payload[..], p.frames(Law::Ulaw)[i]);
        } else {
            assert!(
                payload.iter().all(|b| *b == 0xFF),
                "silence after the prompt"
            );
        }
    }
    assert_eq!(h.events(), [SessionEvent::PlaybackDone(id)]);
    assert_eq!(h.events[0].0 - h.t0, ms(100));
    assert_eq!(h.s.playing(), None);
}

#[test]
fn music_on_hold_loops_until_replaced() {
    let mut h = Harness::new(config());
    let moh = prompt(3);
    h.s.play(vec![PlayItem::Loop(moh.clone())]);
    h.advance(Duration::from_secs(30));
    assert!(h.events().is_empty());
    let rtp = h.rtp();
    assert_eq!(rtp.len(), 1501);
    for (i, (.., payload)) in rtp.iter().enumerate() {
        assert_eq!(payload[..], moh.frames(Law::Ulaw)[i % 3]);
    }
    let id = h.s.play(vec![PlayItem::Silence(ms(40))]);
    h.advance(Duration::from_secs(31));
    assert_eq!(h.events(), [SessionEvent::PlaybackDone(id)]);
}

#[test]
fn an_empty_playlist_completes_at_the_next_tick() {
    let mut h = Harness::new(config());
    let id = h.s.play(Vec::new());
    h.advance(ms(0));
    assert_eq!(h.events(), [SessionEvent::PlaybackDone(id)]);
}

#[test]
fn inactivity_fires_once_per_silence() {
    let mut h = Harness::new(SessionConfig {
        inactivity: Some(Duration::from_secs(2)),
        ..config()
    });
    h.advance(Duration::from_secs(5));
    assert_eq!(h.events(), [SessionEvent::Inactive]);
    assert_eq!(h.events[0].0 - h.t0, Duration::from_secs(2));
    h.receive_at(
        Duration::from_secs(5),
        "10.0.0.1:4000",
        &packet(0, 1, 0, false, &[0xFF; 160]),
    );
    h.advance(ms(6990));
    assert_eq!(h.events().len(), 1);
    h.advance(Duration::from_secs(8));
    assert_eq!(h.events(), [SessionEvent::Inactive, SessionEvent::Inactive]);
    assert_eq!(h.events[1].0 - h.t0, Duration::from_secs(7));
}

#[test]
fn latching_follows_the_first_source_then_needs_consecutive_packets() {
    let mut h = Harness::new(config());
    let audio = |seq| packet(0, seq, u32::from(seq) * 160, false, &[0xFF; 160]);
    // Behind NAT: the first packet comes from elsewhere than the SDP said.
    h.receive_at(ms(1), "192.0.2.7:30000", &audio(1));
    assert_eq!(
        h.events(),
        [SessionEvent::RemoteChanged(addr("192.0.2.7:30000"))]
    );
    h.advance(ms(20));
    assert_eq!(h.rtp().last().unwrap().1, addr("192.0.2.7:30000"));
    // An intruder needs LATCH_PACKETS in a row; one packet from the remote resets it.
    for seq in 2..6 {
        h.receive_at(ms(21 + u64::from(seq)), "198.51.100.1:5000", &audio(seq));
    }
    h.receive_at(ms(30), "192.0.2.7:30000", &audio(6));
    for seq in 7..11 {
        h.receive_at(ms(31 + u64::from(seq)), "198.51.100.1:5000", &audio(seq));
    }
    assert_eq!(h.s.remote(), addr("192.0.2.7:30000"));
    assert_eq!(h.s.stats().ignored, 8);
    h.receive_at(ms(50), "198.51.100.1:5000", &audio(11));
    assert_eq!(h.s.remote(), addr("198.51.100.1:5000"));
    assert_eq!(h.events().len(), 2);
    // A re-INVITE points elsewhere; the next packet may latch again at once.
    h.s.set_remote(addr("10.0.0.9:4000"));
    h.receive_at(ms(60), "192.0.2.8:1000", &audio(12));
    assert_eq!(h.s.remote(), addr("192.0.2.8:1000"));
}

/// µ-law frames of the DTMF key `(low, high)` for `frames` × 20 ms.
fn dtmf_frames(low: f64, high: f64, frames: usize) -> Vec<[u8; FRAME_SAMPLES]> {
    (0..frames)
        .map(|f| {
            let mut out = [0u8; FRAME_SAMPLES];
            for (i, o) in out.iter_mut().enumerate() {
                let t = (f * FRAME_SAMPLES + i) as f64 / 8000.0;
                let tau = 2.0 * std::f64::consts::PI;
                let s = 5000.0 * ((tau * low * t).sin() + (tau * high * t).sin());
                *o = linear_to_ulaw(s as i16);
            }
            out
        })
        .collect()
}

#[test]
fn inband_tones_in_received_audio_are_digits() {
    let mut h = Harness::new(SessionConfig {
        inband_dtmf: true,
        ..config()
    });
    // '7' (852 + 1209 Hz) for 100 ms, 100 ms silence, '7' again, then silence.
    let tone = dtmf_frames(852.0, 1209.0, 5);
    let silence = vec![[0xFFu8; FRAME_SAMPLES]; 5];
    let stream: Vec<_> = [&tone[..], &silence, &tone, &silence, &silence].concat();
    for (i, frame) in stream.iter().enumerate() {
        let p = packet(0, i as u16, 160 * i as u32, i == 0, frame);
        h.receive_at(ms(20 * i as u64 + 5), "10.0.0.1:4000", &p);
    }
    h.advance(ms(600));
    let seven = SessionEvent::Digit {
        digit: '7',
        via: DtmfVia::Inband,
    };
    assert_eq!(h.events(), [seven, seven]);

    // Once the peer has sent an RFC 4733 event, tones are no longer listened to.
    let e = encode_event('1', ms(40), 10).unwrap()[0];
    h.receive_at(
        ms(601),
        "10.0.0.1:4000",
        &packet(101, 30, 99_999, true, &e.payload),
    );
    for (i, frame) in tone.iter().enumerate() {
        let seq = 31 + i as u16;
        h.receive_at(
            ms(620 + 20 * i as u64),
            "10.0.0.1:4000",
            &packet(0, seq, 0, false, frame),
        );
    }
    h.advance(ms(900));
    assert_eq!(h.events().len(), 3);
    assert!(matches!(
        h.events()[2],
        SessionEvent::Digit {
            digit: '1',
            via: DtmfVia::Rfc4733
        }
    ));
}

#[test]
fn sender_reports_every_five_seconds_with_a_report_block() {
    let mut h = Harness::new(config());
    // 5 s of caller audio, one packet (seq 7) lost.
    for i in 0..250u16 {
        if i != 7 {
            let p = packet(0, i, 160 * u32::from(i), false, &[0xFF; 160]);
            h.receive_at(ms(20 * u64::from(i) + 3), "10.0.0.1:4000", &p);
        }
    }
    h.advance(Duration::from_secs(5));
    let rtcp: Vec<_> = h
        .sent
        .iter()
        .filter(|(.., b)| crate::rtcp::is_rtcp(b))
        .collect();
    assert_eq!(rtcp.len(), 1);
    let (at, to, bytes) = rtcp[0];
    assert_eq!(*at - h.t0, Duration::from_secs(5));
    assert_eq!(*to, addr("10.0.0.1:4001"), "rtcp to port + 1 without mux");
    assert_eq!(bytes[1], PT_SR);
    let c = parse_compound(bytes).unwrap();
    assert_eq!(c.cname, Some("lifeline-00001234"));
    let sender = c.report.sender.unwrap();
    assert_eq!(u64::from(sender.packet_count), h.s.stats().packets_sent);
    assert_eq!(sender.ntp >> 32, 5);
    assert_eq!(sender.rtp_timestamp, 1000 + 40_000);
    let block = c.report.block.unwrap();
    assert_eq!(block.ssrc, REMOTE_SSRC);
    assert_eq!(block.cumulative_lost, 1);
    assert_eq!(block.extended_highest_seq, 249);
    assert_eq!(h.s.stats().packets_lost, 1);

    // The remote's SR arrives on our RTP port from its RTP port: rtcp-mux from now on,
    // and our next report carries LSR/DLSR.
    let mut sr = Vec::new();
    let their = crate::rtcp::Report {
        ssrc: REMOTE_SSRC,
        sender: Some(crate::rtcp::SenderInfo {
            ntp: 0x0000_1111_2222_0000,
            rtp_timestamp: 0,
            packet_count: 1,
            octet_count: 160,
        }),
        block: Some(crate::rtcp::ReportBlock {
            ssrc: 0x1234,
            fraction_lost: 3,
            ..Default::default()
        }),
    };
    crate::rtcp::write_compound(&their, "peer", &mut sr);
    h.receive_at(Duration::from_secs(9), "10.0.0.1:4000", &sr);
    assert_eq!(h.s.stats().remote_report.unwrap().fraction_lost, 3);
    assert_eq!(h.s.stats().rtcp_received, 1);
    h.advance(Duration::from_secs(10));
    let (_, to, bytes) = h
        .sent
        .iter()
        .rev()
        .find(|(.., b)| crate::rtcp::is_rtcp(b))
        .unwrap();
    assert_eq!(*to, addr("10.0.0.1:4000"));
    let block = parse_compound(bytes).unwrap().report.block.unwrap();
    assert_eq!(block.last_sr, 0x1111_2222);
    assert_eq!(block.delay_since_last_sr, 65_536);
}

#[test]
fn a_stall_sends_at_most_two_frames_then_skips() {
    let mut h = Harness::new(config());
    h.advance(ms(100));
    assert_eq!(h.rtp().len(), 6);
    // The runtime stalls for 200 ms.
    h.now = h.t0 + ms(300);
    h.s.handle_timeout(h.now);
    h.drain();
    let rtp = h.rtp();
    assert_eq!(rtp.len(), 8, "two frames of catch-up only");
    let stats = h.s.stats();
    assert_eq!(stats.late_sends, 2);
    assert_eq!(stats.skipped_frames, 8);
    // Back on the clock: the next frame carries the wall-clock timestamp and a marker.
    h.advance(ms(320));
    let rtp = h.rtp();
    let (t, _, hdr, _) = &rtp[8];
    assert_eq!(*t, ms(320));
    assert_eq!(hdr.timestamp, 1000 + 16 * 160);
    assert!(hdr.marker);
    assert_eq!(hdr.sequence, rtp[7].2.sequence.wrapping_add(1));
}

#[test]
fn relayed_audio_goes_out_at_once_and_a_playlist_takes_priority() {
    let mut h = Harness::new(config());
    h.advance(ms(0));
    for i in 0..5u64 {
        h.advance(ms(20 * i + 7));
        assert!(h.s.send_audio(h.now, &[0x55; 160]));
        h.drain();
    }
    h.advance(ms(99));
    let rtp = h.rtp();
    // The first tick's silence, then only the relayed packets: no silence between.
    assert_eq!(rtp.len(), 6);
    assert!(rtp[1..].iter().all(|(.., p)| p[..] == [0x55; 160]));
    for w in rtp.windows(2) {
        assert_eq!(w[1].2.timestamp.wrapping_sub(w[0].2.timestamp), 160);
        assert_eq!(w[1].2.sequence, w[0].2.sequence.wrapping_add(1));
    }
    let id = h.s.play(vec![PlayItem::Prompt(prompt(2))]);
    h.advance(ms(100));
    assert!(!h.s.send_audio(h.now, &[0x55; 160]));
    h.advance(ms(160));
    assert!(h.events().contains(&SessionEvent::PlaybackDone(id)));
    assert!(h.s.send_audio(h.now, &[0x55; 160]));
    // With the relay silent for more than 60 ms, the clock fills in silence again.
    h.advance(ms(300));
    let (_, _, _, last) = h.rtp().pop().unwrap();
    assert_eq!(last[..], [0xFF; 160]);
}

#[test]
fn the_recorder_gets_the_caller_left_and_what_we_send_right() {
    let mut h = Harness::new(SessionConfig {
        record: true,
        ..config()
    });
    h.s.play(vec![PlayItem::Prompt(prompt(3))]);
    let caller = [linear_to_ulaw(-3000); FRAME_SAMPLES];
    for i in 0..20u16 {
        let p = packet(0, i, 160 * u32::from(i), false, &caller);
        h.receive_at(ms(20 * u64::from(i) + 2), "10.0.0.1:4000", &p);
    }
    h.advance(ms(500));
    let mut rec = h.s.take_recorder().unwrap();
    let mut out = Vec::new();
    let frames = rec.drain_all(&mut out);
    assert!(frames >= 20);
    let frame = |i: usize| &out[i * 2 * FRAME_SAMPLES..(i + 1) * 2 * FRAME_SAMPLES];
    // Right channel: the prompt's three frames, then silence.
    for (i, value) in [1000, 2000, 3000, 0].iter().enumerate() {
        let right = frame(i)[1];
        assert!((i32::from(right) - value).abs() < 100, "frame {i}: {right}");
    }
    // Left channel: silence while the jitter buffer fills, then the caller.
    assert_eq!(frame(0)[0], 0);
    assert_eq!(frame(5)[0], ulaw_to_linear(caller[0]));
    assert!(h.s.recorder_mut().is_none());
}

#[test]
fn garbage_foreign_payloads_and_stray_rtcp_are_ignored() {
    let mut h = Harness::new(config());
    h.receive_at(ms(1), "10.0.0.1:4000", b"\x00\x01garbage");
    h.receive_at(ms(2), "10.0.0.1:4000", &packet(18, 1, 0, false, &[0; 20]));
    let mut rr = Vec::new();
    let report = crate::rtcp::Report {
        ssrc: 1,
        sender: None,
        block: None,
    };
    crate::rtcp::write_compound(&report, "x", &mut rr);
    h.receive_at(ms(3), "203.0.113.9:4001", &rr);
    h.receive_at(ms(4), "10.0.0.1:4001", &rr[..6]);
    let stats = h.s.stats();
    assert_eq!(
        (stats.ignored, stats.packets_received, stats.rtcp_received),
        (4, 0, 0)
    );
}

#[test]
fn poll_transmit_into_recycles_buffers() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(config(), t0);
    let mut buf = Vec::new();
    let mut count = 0;
    for i in 0..10u64 {
        s.handle_timeout(t0 + ms(20 * i));
        while let Some(to) = s.poll_transmit_into(&mut buf) {
            assert_eq!(to, addr("10.0.0.1:4000"));
            assert_eq!(buf.len(), 12 + 160);
            count += 1;
        }
    }
    assert_eq!(count, 10);
    assert_eq!(s.poll_timeout(), Some(t0 + ms(200)));
}
