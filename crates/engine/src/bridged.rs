//! The other party's leg inside a call's media task: a SIP phone's RTP leg (its own
//! socket and [`MediaSession`]) or a browser's WebRTC leg (a [`WebRtcLeg`] fed from the
//! shared WebRTC port). The task relays audio between it and the caller's session;
//! each side keeps its own SSRC, sequence and clock, so neither sees the other's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use lifeline_media::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use lifeline_media::session::{MediaSession, SessionEvent};
use lifeline_media::tone::Law;
use lifeline_media::webrtc::{WebRtcEvent, WebRtcLeg};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::media::{MediaEvent, RtpSocket};
use crate::webrtc_port::Datagram;

/// The connected party's leg.
pub(crate) enum Bridged {
    /// A SIP phone: RTP on a socket of its own.
    Rtp {
        sock: RtpSocket,
        session: Box<MediaSession>,
    },
    /// A browser: DTLS-SRTP over the shared WebRTC port. The browser speaks PCMU; a
    /// caller on A-law has each byte mapped between the two laws (a table lookup per
    /// sample, no codec).
    WebRtc {
        leg: Box<WebRtcLeg>,
        inbound: mpsc::Receiver<Datagram>,
        socket: Arc<UdpSocket>,
        caller_law: Law,
    },
}

/// `payload` (G.711 in `from`) in the other law.
fn other_law(payload: &[u8], from: Law) -> Vec<u8> {
    payload
        .iter()
        .map(|&b| match from {
            Law::Alaw => linear_to_ulaw(alaw_to_linear(b)),
            Law::Ulaw => linear_to_alaw(ulaw_to_linear(b)),
        })
        .collect()
}

/// Something that arrived for the leg.
pub(crate) enum LegInput {
    /// `n` bytes of RTP from `from` in the receive buffer.
    Rtp(usize, SocketAddr),
    /// A datagram from the WebRTC port, or `None` once the port is gone.
    WebRtc(Option<Datagram>),
}

impl Bridged {
    /// Waits for the leg's next input (RTP into `buf`).
    pub(crate) async fn recv(&mut self, buf: &mut [u8]) -> LegInput {
        match self {
            Bridged::Rtp { sock, .. } => match sock.socket().recv_from(buf).await {
                Ok((n, from)) => LegInput::Rtp(n, from),
                // An ICMP error for an earlier send: nothing arrived.
                Err(_) => LegInput::Rtp(0, SocketAddr::from(([0, 0, 0, 0], 0))),
            },
            Bridged::WebRtc { inbound, .. } => LegInput::WebRtc(inbound.recv().await),
        }
    }

    /// Feeds an input; audio from the party goes to the caller's session. False once
    /// the leg can get nothing more (its WebRTC port is gone): drop it.
    pub(crate) fn on_input(
        &mut self,
        now: Instant,
        input: LegInput,
        buf: &[u8],
        caller: &mut MediaSession,
    ) -> bool {
        match (self, input) {
            (Bridged::Rtp { session, .. }, LegInput::Rtp(n, from)) if n > 0 => {
                if let Some(payload) = session.receive(now, from, &buf[..n]) {
                    caller.send_audio(now, payload);
                }
            }
            (Bridged::WebRtc { leg, .. }, LegInput::WebRtc(Some(d))) => {
                leg.receive(now, d.from, d.to, &d.bytes);
            }
            (Bridged::WebRtc { leg, .. }, LegInput::WebRtc(None)) => {
                leg.close(now);
                return false;
            }
            _ => {}
        }
        true
    }

    /// Audio from the caller for the party.
    pub(crate) fn send_audio(&mut self, now: Instant, payload: &[u8]) {
        match self {
            Bridged::Rtp { session, .. } => {
                session.send_audio(now, payload);
            }
            Bridged::WebRtc {
                leg, caller_law, ..
            } => {
                if *caller_law == Law::Alaw {
                    leg.send_audio(now, &other_law(payload, Law::Alaw));
                } else {
                    leg.send_audio(now, payload);
                }
            }
        }
    }

    /// When the leg next needs [`Bridged::handle_timeout`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Bridged::Rtp { session, .. } => session.poll_timeout(),
            Bridged::WebRtc { leg, .. } => leg.poll_timeout(),
        }
    }

    /// Runs the leg's timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        match self {
            Bridged::Rtp { session, .. } => session.handle_timeout(now),
            Bridged::WebRtc { leg, .. } => leg.handle_timeout(now),
        }
    }

    /// Sends what the leg has to send and reports what happened to it: its audio to
    /// the caller, its silence or loss as the call's (`Inactive`), a browser leg's
    /// connection as `LegConnected`. The party's own keys are not the caller's and are
    /// not reported.
    pub(crate) fn pump(
        &mut self,
        now: Instant,
        caller: &mut MediaSession,
        out: &mut Vec<u8>,
        call: u64,
        events: &mpsc::UnboundedSender<MediaEvent>,
    ) {
        match self {
            Bridged::Rtp { sock, session } => {
                while let Some(to) = session.poll_transmit_into(out) {
                    let _ = sock.socket().try_send_to(out, to);
                }
                while let Some(ev) = session.poll_event() {
                    if ev == SessionEvent::Inactive {
                        let _ = events.send(MediaEvent::Inactive { call });
                    }
                }
            }
            Bridged::WebRtc {
                leg,
                socket,
                caller_law,
                ..
            } => {
                while let Some(ev) = leg.poll_event() {
                    match ev {
                        WebRtcEvent::Audio(payload) if *caller_law == Law::Alaw => {
                            caller.send_audio(now, &other_law(&payload, Law::Ulaw));
                        }
                        WebRtcEvent::Audio(payload) => {
                            caller.send_audio(now, &payload);
                        }
                        WebRtcEvent::Connected => {
                            let _ = events.send(MediaEvent::LegConnected { call });
                        }
                        WebRtcEvent::Disconnected => {
                            tracing::info!(call, "browser leg lost (ICE, DTLS or media timeout)");
                            let _ = events.send(MediaEvent::Inactive { call });
                        }
                        WebRtcEvent::Dtmf(_) => {}
                    }
                }
                while let Some((to, bytes)) = leg.poll_transmit() {
                    let _ = socket.try_send_to(&bytes, to);
                }
            }
        }
    }

    /// Points an RTP leg at a new address (its re-INVITE); a browser leg ignores it.
    pub(crate) fn set_remote(&mut self, addr: SocketAddr) {
        if let Bridged::Rtp { session, .. } = self {
            session.set_remote(addr);
        }
    }
}
