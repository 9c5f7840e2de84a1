//! How a leg ends: inactivity, ICE timeout, a browser that never connects or closes,
//! closing from our side, and another leg's traffic.

use super::*;

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
