//! Which offers are answered, with which codecs, and which are refused (and why).

use super::*;

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
