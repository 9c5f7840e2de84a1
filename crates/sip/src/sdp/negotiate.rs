//! RFC 3264 offer/answer for Lifeline's audio: one G.711 codec and telephone-event.

use std::net::{IpAddr, SocketAddr};

use super::{Direction, MediaDescription, Origin, RtpMap, SdpError, SessionDescription};

/// The G.711 codec chosen for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The static payload type.
    pub fn static_pt(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
}

/// The outcome of an offer/answer, from Lifeline's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The payload type of the codec.
    pub codec_pt: u8,
    /// The codec.
    pub codec: Codec,
    /// The telephone-event payload type, if both sides have it.
    pub dtmf_pt: Option<u8>,
    /// Where to send RTP (an unspecified IP for an RFC 2543 hold).
    pub remote_addr: SocketAddr,
    /// What Lifeline does: `RecvOnly` means receive but do not send.
    pub direction: Direction,
}

impl MediaDescription {
    /// The G.711 codec that `pt` stands for here.
    pub fn codec_of(&self, pt: u8) -> Option<Codec> {
        let map = self.rtpmap(pt)?;
        [Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| map.is(c.name(), 8000))
    }

    /// The first listed G.711 codec.
    pub fn first_codec(&self) -> Option<(u8, Codec)> {
        self.formats
            .iter()
            .find_map(|&pt| self.codec_of(pt).map(|c| (pt, c)))
    }

    /// The first listed `telephone-event/8000` payload type.
    pub fn telephone_event(&self) -> Option<u8> {
        self.formats.iter().copied().find(|&pt| {
            self.rtpmap(pt)
                .is_some_and(|m| m.is("telephone-event", 8000))
        })
    }

    /// True for an audio stream over RTP/AVP or RTP/AVPF that is not disabled.
    pub fn is_usable_audio(&self) -> bool {
        self.port != 0
            && self.kind.eq_ignore_ascii_case("audio")
            && (self.proto.eq_ignore_ascii_case("RTP/AVP")
                || self.proto.eq_ignore_ascii_case("RTP/AVPF"))
    }
}

impl SessionDescription {
    /// A description with one audio section and nothing else.
    fn local(
        addr: &str,
        sess_id: u64,
        timing: String,
        media: Vec<MediaDescription>,
    ) -> SessionDescription {
        SessionDescription {
            origin: Origin {
                username: "lifeline".into(),
                sess_id,
                sess_version: 1,
                addr: addr.to_owned(),
            },
            session_name: "-".into(),
            connection: Some(addr.to_owned()),
            timing,
            attributes: Vec::new(),
            lines: Vec::new(),
            media,
        }
    }

    /// The address RTP for `m` goes to: the media `c=`, else the session one, and the port.
    fn remote_of(&self, m: &MediaDescription) -> Result<SocketAddr, SdpError> {
        let c = m
            .connection
            .as_ref()
            .or(self.connection.as_ref())
            .ok_or_else(|| SdpError::BadAddress("no c= line".into()))?;
        let ip: IpAddr = c.parse().map_err(|_| SdpError::BadAddress(c.clone()))?;
        Ok(SocketAddr::new(ip, m.port))
    }
}

/// Our direction given what the peer declared, and no sending to an RFC 2543 hold
/// address (`c=0.0.0.0`).
fn local_direction(peer: Direction, remote: SocketAddr) -> Direction {
    let d = peer.reversed();
    if remote.ip().is_unspecified() {
        d.intersect(Direction::RecvOnly)
    } else {
        d
    }
}

/// The audio section Lifeline offers or answers with.
fn audio_section(
    port: u16,
    proto: &str,
    codec: (u8, Codec),
    dtmf: Option<(u8, Option<&str>)>,
) -> MediaDescription {
    let mut m = MediaDescription::new("audio", port, proto);
    m.formats.push(codec.0);
    m.rtpmaps.push(RtpMap::new(codec.0, codec.1.name(), 8000));
    if let Some((pt, fmtp)) = dtmf {
        m.formats.push(pt);
        m.rtpmaps.push(RtpMap::new(pt, "telephone-event", 8000));
        if let Some(params) = fmtp {
            m.fmtp.push((pt, params.to_owned()));
        }
    }
    m.ptime = Some(20);
    m
}

/// Answers an offer (RFC 3264 §6): the first usable audio stream offering PCMU or PCMA
/// is accepted with the first of the two in the offerer's order, plus telephone-event
/// when offered; every other stream is rejected with port 0. The answer's
/// `sess_version` is 1: when answering a re-offer, keep `sess_id` and bump it.
pub fn answer(
    offer: &SessionDescription,
    local_addr: &str,
    local_port: u16,
    sess_id: u64,
) -> Result<(SessionDescription, Negotiated), SdpError> {
    let (index, codec) = offer
        .media
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_usable_audio())
        .find_map(|(i, m)| m.first_codec().map(|c| (i, c)))
        .ok_or(SdpError::NoCommonCodec)?;
    let om = &offer.media[index];
    let remote_addr = offer.remote_of(om)?;
    let dtmf_pt = om.telephone_event();
    let direction = local_direction(om.direction, remote_addr);
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == index {
                let mut a = audio_section(
                    local_port,
                    &om.proto,
                    codec,
                    dtmf_pt.map(|pt| (pt, om.fmtp_of(pt))),
                );
                a.direction = direction;
                a
            } else {
                let mut r = MediaDescription::new(&m.kind, 0, &m.proto);
                r.formats = m.formats.clone();
                r.other_formats = m.other_formats.clone();
                r
            }
        })
        .collect();
    let sd = SessionDescription::local(local_addr, sess_id, offer.timing.clone(), media);
    Ok((
        sd,
        Negotiated {
            codec_pt: codec.0,
            codec: codec.1,
            dtmf_pt,
            remote_addr,
            direction,
        },
    ))
}

/// The offer Lifeline sends (to an agent's phone): PCMU, PCMA and telephone-event/8000
/// (payload type 101, events 0-16), sendrecv, 20 ms packets.
pub fn offer(local_addr: &str, local_port: u16, sess_id: u64) -> SessionDescription {
    let mut m = audio_section(
        local_port,
        "RTP/AVP",
        (0, Codec::Pcmu),
        Some((101, Some("0-16"))),
    );
    m.formats.insert(1, 8);
    m.rtpmaps.insert(1, RtpMap::new(8, "PCMA", 8000));
    SessionDescription::local(local_addr, sess_id, "0 0".into(), vec![m])
}

/// What an answer to our `offer` settled: the answered counterpart of our first usable
/// audio stream must be accepted with a G.711 codec we offered.
pub fn negotiated_from_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, SdpError> {
    let index = offer
        .media
        .iter()
        .position(MediaDescription::is_usable_audio)
        .ok_or(SdpError::NoCommonCodec)?;
    let (om, am) = (
        &offer.media[index],
        answer.media.get(index).ok_or(SdpError::NoCommonCodec)?,
    );
    if am.port == 0 {
        return Err(SdpError::NoCommonCodec);
    }
    let offered = |c: Codec| om.formats.iter().any(|&pt| om.codec_of(pt) == Some(c));
    let (codec_pt, codec) = am
        .formats
        .iter()
        .find_map(|&pt| am.codec_of(pt).filter(|c| offered(*c)).map(|c| (pt, c)))
        .ok_or(SdpError::NoCommonCodec)?;
    let dtmf_pt = am
        .telephone_event()
        .filter(|_| om.telephone_event().is_some());
    let remote_addr = answer.remote_of(am)?;
    let direction = local_direction(am.direction, remote_addr).intersect(om.direction);
    Ok(Negotiated {
        codec_pt,
        codec,
        dtmf_pt,
        remote_addr,
        direction,
    })
}

/// Narrows one of our offers to a single G.711 `codec` (and telephone-event if
/// `keep_dtmf`), so that a B2BUA leg offers only what the other leg already speaks
/// and media can be relayed without transcoding.
pub fn restrict_to(offer: &mut SessionDescription, codec: Codec, keep_dtmf: bool) {
    for m in offer.media.iter_mut().filter(|m| m.is_usable_audio()) {
        let keep: Vec<u8> = m
            .formats
            .iter()
            .copied()
            .filter(|&pt| {
                m.codec_of(pt) == Some(codec) || (keep_dtmf && m.telephone_event() == Some(pt))
            })
            .collect();
        m.rtpmaps.retain(|r| keep.contains(&r.pt));
        m.fmtp.retain(|(pt, _)| keep.contains(pt));
        m.formats = keep;
    }
}
