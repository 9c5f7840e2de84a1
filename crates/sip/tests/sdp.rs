//! SDP parsing, encoding and offer/answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use lifeline_sip::sdp::{
    Codec, Direction, MediaDescription, Origin, RtpMap, SdpError, SessionDescription, answer,
    negotiated_from_answer, offer, parse,
};
use proptest::prelude::*;

const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                    t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn lf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n").into_bytes()
}

#[test]
fn sipp_offer_parses_and_is_answered_with_pcmu() {
    let o = parse(SIPP.as_bytes()).unwrap();
    assert_eq!(
        o.origin,
        Origin {
            username: "user1".into(),
            sess_id: 53655765,
            sess_version: 2353687637,
            addr: "127.0.0.1".into()
        }
    );
    assert_eq!(
        (
            o.session_name.as_str(),
            o.connection.as_deref(),
            o.timing.as_str()
        ),
        ("-", Some("127.0.0.1"), "0 0")
    );
    let m = &o.media[0];
    assert_eq!(
        (m.kind.as_str(), m.port, m.proto.as_str(), &m.formats[..]),
        ("audio", 6000, "RTP/AVP", &[0u8][..])
    );
    assert_eq!(m.rtpmaps, vec![RtpMap::new(0, "PCMU", 8000)]);
    assert_eq!(m.direction, Direction::SendRecv);

    let (a, n) = answer(&o, "10.0.0.1", 20000, 42).unwrap();
    assert_eq!((n.codec, n.codec_pt, n.dtmf_pt), (Codec::Pcmu, 0, None));
    assert_eq!(
        (n.remote_addr, n.direction),
        (sock("127.0.0.1:6000"), Direction::SendRecv)
    );
    let text = String::from_utf8(a.encode()).unwrap();
    assert_eq!(
        text,
        "v=0\r\no=lifeline 42 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
         m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    assert_eq!(parse(text.as_bytes()).unwrap(), a);
}

#[test]
fn static_types_known_without_rtpmap_and_lf_accepted() {
    let o = parse(&lf(&SIPP
        .replace("a=rtpmap:0 PCMU/8000\r\n", "")
        .replace("RTP/AVP 0", "RTP/AVP 8 0")))
    .unwrap();
    assert!(o.media[0].rtpmaps.is_empty());
    let (_, n) = answer(&o, "10.0.0.1", 20000, 1).unwrap();
    assert_eq!(
        (n.codec, n.codec_pt),
        (Codec::Pcma, 8),
        "offerer's order is honoured"
    );
}

#[test]
fn opus_pcma_and_telephone_event() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=call\r\nt=0 0\r\n\
                m=audio 49170 RTP/AVP 111 8 101\r\nc=IN IP4 192.0.2.10\r\n\
                a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
                a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
                a=ptime:20\r\na=rtcp:49171\r\n";
    let o = parse(text.as_bytes()).unwrap();
    let m = &o.media[0];
    assert_eq!(
        m.rtpmaps[0],
        RtpMap {
            pt: 111,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2)
        }
    );
    assert_eq!(m.fmtp_of(111), Some("minptime=10;useinbandfec=1"));
    assert_eq!(
        m.attributes,
        vec![("rtcp".to_owned(), Some("49171".to_owned()))]
    );
    assert_eq!(m.ptime, Some(20));
    let (a, n) = answer(&o, "10.0.0.1", 20002, 7).unwrap();
    assert_eq!(
        (n.codec, n.codec_pt, n.dtmf_pt),
        (Codec::Pcma, 8, Some(101))
    );
    assert_eq!(n.remote_addr, sock("192.0.2.10:49170"));
    let am = &a.media[0];
    assert_eq!(am.formats, vec![8, 101]);
    assert_eq!(
        am.rtpmaps,
        vec![
            RtpMap::new(8, "PCMA", 8000),
            RtpMap::new(101, "telephone-event", 8000)
        ]
    );
    assert_eq!(am.fmtp, vec![(101, "0-16".to_owned())]);
    assert_eq!(parse(&o.encode()).unwrap(), o);
}

#[test]
fn video_is_rejected_in_place() {
    let text = "v=0\r\no=- 5 5 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
                m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
                m=image 0 udptl t38\r\n";
    let o = parse(text.as_bytes()).unwrap();
    assert_eq!(o.media[2].other_formats, vec!["t38".to_owned()]);
    let (a, n) = answer(&o, "10.0.0.1", 30000, 9).unwrap();
    assert_eq!(a.media.len(), 3);
    assert_eq!(
        (
            a.media[0].kind.as_str(),
            a.media[0].port,
            &a.media[0].formats[..]
        ),
        ("video", 0, &[96u8][..])
    );
    assert_eq!(
        (a.media[1].port, n.dtmf_pt, n.remote_addr.port()),
        (30000, Some(101), 5000)
    );
    assert_eq!((a.media[2].kind.as_str(), a.media[2].port), ("image", 0));
    assert!(a.media[1].fmtp.is_empty(), "no fmtp offered, none answered");
}

#[test]
fn no_common_codec() {
    let g729 = SIPP
        .replace("RTP/AVP 0", "RTP/AVP 18 9")
        .replace("a=rtpmap:0 PCMU/8000\r\n", "");
    assert_eq!(
        answer(&parse(g729.as_bytes()).unwrap(), "10.0.0.1", 1, 1),
        Err(SdpError::NoCommonCodec)
    );
    let srtp = SIPP.replace("RTP/AVP", "RTP/SAVP");
    assert_eq!(
        answer(&parse(srtp.as_bytes()).unwrap(), "10.0.0.1", 1, 1),
        Err(SdpError::NoCommonCodec)
    );
    let disabled = SIPP.replace("audio 6000", "audio 0");
    assert_eq!(
        answer(&parse(disabled.as_bytes()).unwrap(), "10.0.0.1", 1, 1),
        Err(SdpError::NoCommonCodec)
    );
    // PCMU under a dynamic type at 16 kHz is not G.711.
    let wide = SIPP.replace(
        "RTP/AVP 0\r\na=rtpmap:0 PCMU/8000",
        "RTP/AVP 0\r\na=rtpmap:0 PCMU/16000",
    );
    assert_eq!(
        answer(&parse(wide.as_bytes()).unwrap(), "10.0.0.1", 1, 1),
        Err(SdpError::NoCommonCodec)
    );
    let fqdn = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 pbx.example");
    assert!(matches!(
        answer(&parse(fqdn.as_bytes()).unwrap(), "10.0.0.1", 1, 1),
        Err(SdpError::BadAddress(_))
    ));
}

#[test]
fn hold_directions() {
    let cases = [
        ("a=sendonly\r\n", "127.0.0.1", Direction::RecvOnly),
        ("a=recvonly\r\n", "127.0.0.1", Direction::SendOnly),
        ("a=inactive\r\n", "127.0.0.1", Direction::Inactive),
        ("", "0.0.0.0", Direction::RecvOnly),
        ("a=sendonly\r\n", "0.0.0.0", Direction::RecvOnly),
        ("a=sendonly \r\n", "127.0.0.1", Direction::RecvOnly),
    ];
    for (attr, ip, want) in cases {
        let text = format!(
            "{}{attr}",
            SIPP.replace("127.0.0.1\r\nt=", &format!("{ip}\r\nt="))
        );
        let (a, n) = answer(&parse(text.as_bytes()).unwrap(), "10.0.0.1", 20000, 1).unwrap();
        assert_eq!(
            (n.direction, a.media[0].direction),
            (want, want),
            "{attr} {ip}"
        );
        assert_eq!(n.remote_addr.ip().to_string(), ip);
    }
    // A session-level attribute applies to every section without its own.
    let text = SIPP.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    let o = parse(text.as_bytes()).unwrap();
    assert_eq!(o.media[0].direction, Direction::SendOnly);
    assert_eq!(parse(&o.encode()).unwrap(), o);
}

#[test]
fn our_offer_and_the_answer_to_it() {
    let ours = offer("10.0.0.1", 20000, 77);
    let text = String::from_utf8(ours.encode()).unwrap();
    assert!(text.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"), "{text}");
    assert!(text.contains(
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ));
    // A phone answering our offer (through the same code) agrees on PCMU + events.
    let (theirs, _) = answer(&parse(text.as_bytes()).unwrap(), "192.0.2.7", 8000, 5).unwrap();
    let n = negotiated_from_answer(&ours, &theirs).unwrap();
    assert_eq!(
        (n.codec, n.codec_pt, n.dtmf_pt),
        (Codec::Pcmu, 0, Some(101))
    );
    assert_eq!(
        (n.remote_addr, n.direction),
        (sock("192.0.2.7:8000"), Direction::SendRecv)
    );

    let mut pcma = theirs.clone();
    pcma.media[0].formats = vec![8];
    pcma.media[0].rtpmaps.clear();
    pcma.media[0].direction = Direction::RecvOnly;
    let n = negotiated_from_answer(&ours, &pcma).unwrap();
    assert_eq!(
        (n.codec, n.dtmf_pt, n.direction),
        (Codec::Pcma, None, Direction::SendOnly)
    );

    let mut rejected = theirs.clone();
    rejected.media[0].port = 0;
    assert_eq!(
        negotiated_from_answer(&ours, &rejected),
        Err(SdpError::NoCommonCodec)
    );
    let mut g722 = theirs;
    g722.media[0].formats = vec![9];
    assert_eq!(
        negotiated_from_answer(&ours, &g722),
        Err(SdpError::NoCommonCodec)
    );
}

#[test]
fn unknown_lines_are_kept() {
    let text = "v=0\r\no=- 1 2 IN IP6 ::1\r\ns=x\r\ni=info\r\nu=http://x\r\nc=IN IP6 ::1\r\nb=AS:64\r\n\
                t=0 0\r\nt=10 20\r\nr=7d 1h 0 25h\r\na=group:BUNDLE 0\r\na=ice-lite\r\n\
                m=audio 9/2 RTP/AVPF 0\r\ni=voice\r\nb=TIAS:64000\r\na=mid:0\r\na=rtcp-mux\r\n";
    let o = parse(text.as_bytes()).unwrap();
    assert_eq!(o.lines.len(), 5);
    assert_eq!(o.media[0].port_count, Some(2));
    assert_eq!(
        o.media[0].lines,
        vec![('i', "voice".to_owned()), ('b', "TIAS:64000".to_owned())]
    );
    assert_eq!(o.attributes[1], ("ice-lite".to_owned(), None));
    let again = String::from_utf8(o.encode()).unwrap();
    assert_eq!(
        again,
        text.replace("a=rtcp-mux\r\n", "a=sendrecv\r\na=rtcp-mux\r\n")
            .replace("a=mid:0\r\na=sendrecv", "a=sendrecv\r\na=mid:0")
    );
    assert_eq!(parse(again.as_bytes()).unwrap(), o);
    let (_, n) = answer(&o, "::1", 4000, 1).unwrap();
    assert_eq!(n.remote_addr, sock("[::1]:9"));
}

#[test]
fn malformed_lines_name_the_line_and_defect() {
    let bad = |from: &str, to: &str| parse(SIPP.replace(from, to).as_bytes()).unwrap_err();
    let syntax = |e: SdpError| match e {
        SdpError::Syntax { line, reason } => (line, reason),
        other => panic!("{other:?}"),
    };
    let cases = [
        (bad("m=audio 6000", "m=audio 6x00"), 6, "bad port \"6x00\""),
        (
            bad("m=audio 6000", "m=audio 70000"),
            6,
            "bad port \"70000\"",
        ),
        (
            bad("RTP/AVP 0", "RTP/AVP 0 200"),
            6,
            "payload type 200 above 127",
        ),
        (bad("RTP/AVP 0", "RTP/AVP 0 x"), 6, "bad payload type \"x\""),
        (bad("PCMU/8000", "PCMU"), 7, "rtpmap lacks a clock rate"),
        (
            bad("a=rtpmap:0 PCMU/8000", "a=ptime:fast"),
            7,
            "bad ptime \"fast\"",
        ),
        (
            bad("o=user1 53655765 ", "o=user1 "),
            2,
            "o= needs 6 fields, has 5",
        ),
        (
            bad("o=user1 53655765", "o=user1 -5"),
            2,
            "bad session id \"-5\"",
        ),
        (
            bad("c=IN IP4 127.0.0.1", "c=IN IP4"),
            4,
            "c= needs 3 fields",
        ),
        (bad("c=IN IP4", "c=ATM NSAP"), 4, "c= must be"),
        (
            bad("t=0 0", "t=0 0\r\nhello"),
            6,
            "expected \"<letter>=<value>\", got \"hello\"",
        ),
        (bad("v=0", "v=1"), 1, "the first line must be v=0"),
        (bad("s=-", "s=-\r\ns=again"), 4, "unexpected s= line"),
        (
            bad("t=0 0\r\nm=audio 6000 RTP/AVP 0", "t=0 0\r\nm=audio 6000"),
            6,
            "m= needs media, port and protocol",
        ),
        (
            bad(
                "a=rtpmap:0 PCMU/8000",
                "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.5",
            ),
            8,
            "repeated c=",
        ),
    ];
    for (err, line, text) in cases {
        let (l, reason) = syntax(err);
        assert_eq!(l, line, "{reason}");
        assert!(reason.contains(text), "{reason:?} lacks {text:?}");
    }
    assert_eq!(parse(b""), Err(SdpError::Missing("v=")));
    assert_eq!(parse(b"v=0\r\ns=-\r\n"), Err(SdpError::Missing("o=")));
    let (line, reason) = syntax(parse(b"v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=\xff\r\n").unwrap_err());
    assert_eq!((line, reason.as_str()), (3, "not UTF-8"));
    assert!(
        SdpError::Syntax {
            line: 3,
            reason: "x".into()
        }
        .to_string()
        .contains("line 3")
    );
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.+-]{0,10}"
}

fn addr() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| std::net::Ipv4Addr::from(b).to_string()),
        any::<[u16; 8]>().prop_map(|b| std::net::Ipv6Addr::from(b).to_string()),
        "[a-z]{1,8}\\.example",
    ]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn attrs() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec(("x-[a-z0-9]{1,8}", prop::option::of(text())), 0..3)
}

/// Other lines in the order encoding puts them.
fn lines(groups: &'static [&'static [char]]) -> impl Strategy<Value = Vec<(char, String)>> {
    groups
        .iter()
        .map(|g| prop::collection::vec((prop::sample::select(*g), text()), 0..2))
        .collect::<Vec<_>>()
        .prop_map(|v| v.concat())
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let rtp = (
        prop::sample::select(vec!["RTP/AVP", "RTP/AVPF", "UDP/TLS/RTP/SAVPF"]),
        prop::collection::vec(0u8..128, 0..5),
    )
        .prop_map(|(p, f)| (p.to_owned(), f, Vec::new()));
    let other = (
        prop::sample::select(vec!["udptl", "TCP/BFCP"]),
        prop::collection::vec(token(), 0..3),
    )
        .prop_map(|(p, o)| (p.to_owned(), Vec::new(), o));
    let rtpmap = (
        any::<u8>(),
        "[A-Za-z0-9-]{1,12}",
        any::<u32>(),
        prop::option::of(any::<u16>()),
    )
        .prop_map(|(pt, encoding, clock_rate, channels)| RtpMap {
            pt,
            encoding,
            clock_rate,
            channels,
        });
    let fmtp = (
        any::<u8>(),
        prop_oneof![Just(String::new()), "[!-~]([ -~]{0,12}[!-~])?"],
    );
    (
        (
            "[a-z]{1,8}",
            any::<u16>(),
            prop::option::of(any::<u16>()),
            prop_oneof![rtp, other],
        ),
        (
            prop::option::of(addr()),
            prop::collection::vec(rtpmap, 0..3),
            prop::collection::vec(fmtp, 0..2),
        ),
        (
            direction(),
            prop::option::of(any::<u32>()),
            attrs(),
            lines(&[&['i'], &['b', 'k']]),
        ),
    )
        .prop_map(
            |(
                (kind, port, count, (proto, formats, other)),
                (conn, rtpmaps, fmtp),
                (dir, ptime, attributes, lines),
            )| {
                let mut m = MediaDescription::new(&kind, port, &proto);
                m.port_count = count;
                m.formats = formats;
                m.other_formats = other;
                m.connection = conn;
                m.rtpmaps = rtpmaps;
                m.fmtp = fmtp;
                m.direction = dir;
                m.ptime = ptime;
                m.attributes = attributes;
                m.lines = lines;
                m
            },
        )
}

fn description() -> impl Strategy<Value = SessionDescription> {
    (
        (token(), any::<u64>(), any::<u64>(), addr()),
        (
            text(),
            prop::option::of(addr()),
            prop_oneof![Just("0 0".to_owned()), "[0-9]{1,10} [0-9]{1,10}"],
        ),
        (
            attrs(),
            lines(&[&['i', 'u', 'e', 'p'], &['b'], &['t', 'r', 'z', 'k', 'x']]),
        ),
        prop::collection::vec(media(), 0..3),
    )
        .prop_map(
            |(
                (username, sess_id, sess_version, oaddr),
                (name, conn, timing),
                (attributes, lines),
                media,
            )| {
                SessionDescription {
                    origin: Origin {
                        username,
                        sess_id,
                        sess_version,
                        addr: oaddr,
                    },
                    session_name: name,
                    connection: conn,
                    timing,
                    attributes,
                    lines,
                    media,
                }
            },
        )
}

proptest! {
    #[test]
    fn round_trip(sd in description()) {
        let bytes = sd.encode();
        prop_assert_eq!(parse(&bytes).unwrap(), sd);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_offers_never_panic(pos in 0usize..200, byte in any::<u8>()) {
        let mut b = SIPP.as_bytes().to_vec();
        let i = pos % b.len();
        b[i] = byte;
        if let Ok(o) = parse(&b) {
            let _ = answer(&o, "10.0.0.1", 4000, 1);
        }
    }
}
