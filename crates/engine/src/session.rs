//! The media task of a call Lifeline answers itself: one RTP socket driving one
//! sans-IO [`MediaSession`] (prompts, music on hold, DTMF, inactivity), plus the call's
//! recording and any voice message, streamed to WAV files under the data directory.
//!
//! When the call is connected to someone (an agent, a transfer target), the task also
//! drives that party's leg — a second socket and session — and relays audio both
//! ways through the two sessions, so each side keeps its own SSRC, sequence and clock
//! and the recording holds the caller on one channel and the other party on the other.
//!
//! The core talks to it with [`MediaCmd`]s over a channel and hears back through
//! [`MediaEvent`]s; dropping the [`SessionHandle`] ends the task, which then closes its
//! files. Plays are tagged by the core (`token`) so a `PlaybackDone` can be matched to
//! the play that caused it, whatever the session numbered it.

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lifeline_media::g711::{alaw_to_linear, ulaw_to_linear};
use lifeline_media::recorder::{DRAIN_EVERY, WavSink};
use lifeline_media::session::{MediaSession, PlayItem, SessionConfig, SessionEvent};
use lifeline_media::tone::Law;
use tokio::sync::mpsc;

use crate::bridged::Bridged;
use crate::media::{MediaEvent, RtpSocket};

/// How often the recording is flushed from memory to its file: the cadence the
/// recorder's buffer is sized for (200 ms: about 6 kB of G.711 per recorded call; each
/// flush is one `write` to the file, which has no buffer of its own).
const FLUSH_EVERY: Duration = DRAIN_EVERY;

/// What the core asks of a media task.
#[derive(Debug)]
pub enum MediaCmd {
    /// Replace what is playing with `items`; `PlaybackDone { token }` when they end.
    Play {
        /// The core's tag for this play.
        token: u64,
        /// What to play.
        items: Vec<PlayItem>,
    },
    /// Stop playing (silence).
    Stop,
    /// Send to a new address (re-INVITE).
    SetRemote(SocketAddr),
    /// Record what the caller says into `file` (relative to the data directory) for
    /// at most `max`; `VoicemailDone` when it ends.
    RecordVoicemail {
        /// Where, relative to the data directory.
        file: String,
        /// The longest message.
        max: Duration,
    },
    /// End the voice message now (the caller pressed `#`).
    StopVoicemail,
    /// Connect the caller to another party's leg: stop playing and relay audio both ways.
    Bridge {
        /// The other party's RTP socket.
        sock: RtpSocket,
        /// That leg's session, from its SDP answer.
        config: SessionConfig,
    },
    /// Connect the caller to a browser's WebRTC leg (its datagrams arrive on
    /// `inbound`; it sends on the shared `socket`).
    BridgeWebRtc {
        /// The leg, answered already.
        leg: Box<lifeline_media::webrtc::WebRtcLeg>,
        /// Its datagrams from the shared WebRTC port.
        inbound: mpsc::Receiver<crate::webrtc_port::Datagram>,
        /// The shared WebRTC port's socket.
        socket: std::sync::Arc<tokio::net::UdpSocket>,
    },
    /// Send the connected party's audio to a new address (its re-INVITE).
    SetLegRemote(SocketAddr),
    /// Hold (true) stops relaying the caller to the connected party; the core plays the
    /// caller music meanwhile, which takes precedence over the party's audio.
    Hold(bool),
    /// Disconnect the other party's leg (the caller hears silence until the next play).
    Unbridge,
}

/// The core's end of a media task.
#[derive(Debug)]
pub struct SessionHandle {
    cmds: mpsc::UnboundedSender<MediaCmd>,
}

impl SessionHandle {
    /// Sends a command; a task that has ended ignores it.
    pub fn send(&self, cmd: MediaCmd) {
        let _ = self.cmds.send(cmd);
    }
}

/// Where a media task keeps its files.
#[derive(Debug, Clone)]
pub struct Storage {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The call recording, relative to the data directory, if the call is recorded.
    pub recording: Option<String>,
}

struct Voicemail {
    file: String,
    samples: Vec<i16>,
    until: Instant,
}

/// Starts the media task of call `call`.
pub fn start(
    call: u64,
    sock: RtpSocket,
    config: SessionConfig,
    storage: Storage,
    events: mpsc::UnboundedSender<MediaEvent>,
) -> SessionHandle {
    let (cmds, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let law = config.law;
        let mut session = MediaSession::new(config, Instant::now());
        let mut sink = storage
            .recording
            .as_ref()
            .and_then(|rel| open_recording(&storage.data_dir, rel));
        if sink.is_none() {
            // Nowhere to write: do not buffer the recording either.
            session.take_recorder();
        }
        let mut tokens: HashMap<u64, u64> = HashMap::new();
        let mut voicemail: Option<Voicemail> = None;
        let mut out = Vec::with_capacity(200);
        let mut buf = [0u8; 1500];
        let mut rtcp_buf = [0u8; 1500];
        let mut leg_buf = [0u8; 1500];
        let mut bridged: Option<Bridged> = None;
        let mut on_hold = false;
        let mut last_flush = Instant::now();
        loop {
            let wake = session
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + FLUSH_EVERY);
            let wake = voicemail.as_ref().map_or(wake, |v| wake.min(v.until));
            let wake = bridged
                .as_ref()
                .and_then(Bridged::poll_timeout)
                .map_or(wake, |t| wake.min(t));
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        MediaCmd::Play { token, items } => {
                            let id = session.play(items);
                            tokens.clear();
                            tokens.insert(id, token);
                        }
                        MediaCmd::Stop => {
                            tokens.clear();
                            session.stop();
                        }
                        MediaCmd::SetRemote(addr) => session.set_remote(addr),
                        MediaCmd::RecordVoicemail { file, max } => {
                            voicemail = Some(Voicemail { file, samples: Vec::new(), until: Instant::now() + max });
                        }
                        MediaCmd::StopVoicemail => {
                            if let Some(v) = voicemail.take() {
                                finish_voicemail(call, v, &storage, &events);
                            }
                        }
                        MediaCmd::Bridge { sock, config } => {
                            tokens.clear();
                            session.stop();
                            bridged = Some(Bridged::Rtp { sock, session: Box::new(MediaSession::new(config, Instant::now())) });
                        }
                        MediaCmd::BridgeWebRtc { leg, inbound, socket } => {
                            tokens.clear();
                            session.stop();
                            bridged = Some(Bridged::WebRtc { leg, inbound, socket, caller_law: law });
                        }
                        MediaCmd::Unbridge => bridged = None,
                        MediaCmd::Hold(on) => on_hold = on,
                        MediaCmd::SetLegRemote(addr) => {
                            if let Some(b) = bridged.as_mut() {
                                b.set_remote(addr);
                            }
                        }
                    }
                }
                Ok((n, from)) = sock.rtcp().recv_from(&mut rtcp_buf) => {
                    // Reports from the peer's RTCP port: statistics only.
                    session.receive(Instant::now(), from, &rtcp_buf[..n]);
                }
                Ok((n, from)) = sock.socket().recv_from(&mut buf) => {
                    let now = Instant::now();
                    if let Some(payload) = session.receive(now, from, &buf[..n]) {
                        if let Some(v) = voicemail.as_mut() {
                            v.samples.extend(payload.iter().map(|b| match law {
                                Law::Ulaw => ulaw_to_linear(*b),
                                Law::Alaw => alaw_to_linear(*b),
                            }));
                        }
                        if let Some(b) = bridged.as_mut().filter(|_| !on_hold) {
                            b.send_audio(now, payload);
                        }
                    }
                }
                input = async {
                    match bridged.as_mut() {
                        Some(b) => b.recv(&mut leg_buf).await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some(b) = bridged.as_mut()
                        && !b.on_input(Instant::now(), input, &leg_buf, &mut session)
                    {
                        bridged = None;
                        let _ = events.send(MediaEvent::Inactive { call });
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    session.handle_timeout(now);
                    if let Some(b) = bridged.as_mut() {
                        b.handle_timeout(now);
                    }
                }
            }
            if let Some(b) = bridged.as_mut() {
                b.pump(Instant::now(), &mut session, &mut out, call, &events);
            }
            while let Some(to) = session.poll_transmit_into(&mut out) {
                let _ = sock.socket().try_send_to(&out, to);
            }
            while let Some(ev) = session.poll_event() {
                let ev = match ev {
                    SessionEvent::Digit { digit, .. } => Some(MediaEvent::Digit { call, digit }),
                    SessionEvent::PlaybackDone(id) => tokens
                        .remove(&id)
                        .map(|token| MediaEvent::PlaybackDone { call, token }),
                    SessionEvent::Inactive => Some(MediaEvent::Inactive { call }),
                    SessionEvent::RemoteChanged(_) => None,
                };
                if let Some(ev) = ev {
                    let _ = events.send(ev);
                }
            }
            if voicemail
                .as_ref()
                .is_some_and(|v| Instant::now() >= v.until)
                && let Some(v) = voicemail.take()
            {
                finish_voicemail(call, v, &storage, &events);
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = Instant::now();
                if let (Some(s), Some(rec)) = (sink.as_mut(), session.recorder_mut())
                    && let Err(e) = rec.write_ready(s)
                {
                    tracing::warn!(call, error = %e, "recording write failed; recording stops");
                    sink = None;
                    session.take_recorder();
                }
            }
        }
        if let Some(v) = voicemail.take() {
            finish_voicemail(call, v, &storage, &events);
        }
        if let (Some(s), Some(rec)) = (sink, session.take_recorder())
            && let Err(e) = rec.finish(s)
        {
            tracing::warn!(call, error = %e, "recording could not be finished");
        }
    });
    SessionHandle { cmds }
}

fn open_recording(data_dir: &std::path::Path, rel: &str) -> Option<WavSink<File>> {
    let path = data_dir.join(rel);
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| File::create(&path))
        .map_err(|e| e.to_string())
        .and_then(|f| WavSink::new(f).map_err(|e| e.to_string()));
    match opened {
        Ok(sink) => Some(sink),
        Err(e) => {
            tracing::warn!(error = %e, "cannot create the call recording; the call goes on unrecorded");
            None
        }
    }
}

/// Writes a voice message as mono 8 kHz WAV and tells the core.
fn finish_voicemail(
    call: u64,
    v: Voicemail,
    storage: &Storage,
    events: &mpsc::UnboundedSender<MediaEvent>,
) {
    let path = storage.data_dir.join(&v.file);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .map_err(hound::Error::IoError)
        .and_then(|()| hound::WavWriter::create(&path, spec))
        .and_then(|mut w| {
            for s in &v.samples {
                w.write_sample(*s)?;
            }
            w.finalize()
        });
    let duration_ms = (v.samples.len() / 8) as i64;
    match written {
        Ok(()) => {
            let _ = events.send(MediaEvent::VoicemailDone {
                call,
                file: Some(v.file),
                duration_ms,
            });
        }
        Err(e) => {
            tracing::error!(call, error = %e, "voice message could not be written");
            let _ = events.send(MediaEvent::VoicemailDone {
                call,
                file: None,
                duration_ms,
            });
        }
    }
}
