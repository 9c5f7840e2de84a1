//! Media for Lifeline, sans-IO: everything between an RTP datagram and a call's
//! audio, with no sockets, no clock (every `now` is an argument) and no global
//! randomness (SSRCs and sequence seeds come from the caller).
//!
//! | module | owns |
//! |---|---|
//! | [`session`] | [`session::MediaSession`], the media state of one call leg: latching, send clock, playback, relay, DTMF, RTCP, recording, inactivity — the one type the engine drives per RTP socket |
//! | [`playback`] | playlists ([`playback::PlayItem`]): prompts, silence, ringback/busy tones, music on hold |
//! | [`rtp`] | the RTP fixed header; locating the payload past CSRCs, extensions, padding |
//! | [`rtcp`] | Sender/Receiver Reports, SDES CNAME compounds, receiver statistics (loss, jitter) |
//! | [`dtmf`] | RFC 4733 telephone-events: payloads, sender packet sequences, the receiver |
//! | [`goertzel`] | in-band DTMF detection on decoded audio |
//! | [`jitter`] | the fixed-depth jitter buffer for received frames |
//! | [`g711`] | µ-law / A-law companding, per sample and per frame |
//! | [`tone`] | G.711 laws and pre-encoded steady tones |
//! | [`wav`] | prompts from WAV files ([`wav::Prompt`]), resampled to 8 kHz and pre-encoded |
//! | [`resample`] | band-limited sample-rate conversion |
//! | [`recorder`] | two-channel call recording, streamed out as stereo WAV |
//! | [`webrtc`] | [`webrtc::WebRtcLeg`], a browser agent's WebRTC leg (str0m: ICE-lite, DTLS-SRTP, PCMU + telephone-event) and [`webrtc::stun_local_ufrag`] for the shared port's demultiplexer |
//!
//! Dependencies: std, thiserror, hound (reading WAV prompts), str0m (WebRTC, sans-IO).

pub mod dtmf;
pub mod g711;
pub mod goertzel;
pub mod jitter;
pub mod playback;
pub mod recorder;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod session;
pub mod tone;
pub mod wav;
pub mod webrtc;

pub use tone::Law;
