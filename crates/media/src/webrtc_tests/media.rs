//! Connecting, audio both ways, send timestamps, DTMF from the browser, and the cost
//! of a leg (ignored timing runs).

use super::*;

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
#[ignore = "timing, not a check: cargo test -p lifeline-media --release webrtc::tests::media::accept_cost -- --ignored --nocapture"]
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
#[ignore = "timing, not a check: cargo test -p lifeline-media --release webrtc::tests::media::media_cost -- --ignored --nocapture"]
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
