//! Prompts from WAV files: [`Prompt::from_wav`] reads PCM WAV (8/16/24/32-bit integer,
//! 32/64-bit float, and G.711 µ-law/A-law WAV), of any rate and channel count, mixes
//! to mono, resamples to 8 kHz (see [`crate::resample`]) and keeps the 16-bit samples
//! together with pre-encoded µ-law and A-law 20 ms frames, so playing a prompt costs a
//! copy per packet and no encoding.
//!
//! The reader is this module's own (RIFF chunk walk) so errors say exactly what is
//! wrong, and a data chunk whose declared size runs past the file (as streaming
//! writers leave it) is read up to the last whole sample frame.

use std::time::Duration;

use crate::g711::{alaw_to_linear, encode_into, silence_byte, ulaw_to_linear};
use crate::resample::resample;
use crate::tone::{FRAME_SAMPLES, Law};

/// The output rate of every prompt.
pub const PROMPT_RATE: u32 = 8000;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_FLOAT: u16 = 0x0003;
const FORMAT_ALAW: u16 = 0x0006;
const FORMAT_ULAW: u16 = 0x0007;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Why a WAV file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// No `RIFF`…`WAVE` header.
    #[error("not a wav file (no RIFF/WAVE header)")]
    NotWav,
    /// A required chunk is absent (or `data` comes before `fmt `).
    #[error("wav file has no {0:?} chunk before its data")]
    MissingChunk(&'static str),
    /// A compressed encoding other than G.711 (ADPCM, MP3, GSM…).
    #[error("wav file is compressed (format tag {format_tag:#06x}); convert it to PCM")]
    Compressed {
        /// The WAVE format tag (for extensible files, of the sub-format).
        format_tag: u16,
    },
    /// A sample size this reader does not handle.
    #[error("unsupported sample size: {bits} bits ({format})")]
    UnsupportedSampleSize {
        /// Bits per sample as stored.
        bits: u16,
        /// `"integer"`, `"float"` or `"g711"`.
        format: &'static str,
    },
    /// A header field is impossible (zero channels or rate, inconsistent block size).
    #[error("malformed wav header: {0}")]
    Malformed(&'static str),
    /// The data chunk holds no samples.
    #[error("wav file has no audio samples")]
    Empty,
    /// Writing a WAV failed.
    #[error("wav write failed: {0}")]
    Write(#[from] hound::Error),
}

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Int,
    Float,
    Alaw,
    Ulaw,
}

#[derive(Debug, Clone, Copy)]
struct Format {
    encoding: Encoding,
    channels: usize,
    rate: u32,
    /// Bytes per sample of one channel.
    width: usize,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_fmt(body: &[u8]) -> Result<Format, WavError> {
    if body.len() < 16 {
        return Err(WavError::Malformed("fmt chunk shorter than 16 bytes"));
    }
    let mut tag = le16(body, 0);
    let channels = usize::from(le16(body, 2));
    let rate = le32(body, 4);
    let block_align = usize::from(le16(body, 12));
    let bits = le16(body, 14);
    if tag == FORMAT_EXTENSIBLE {
        if body.len() < 40 {
            return Err(WavError::Malformed(
                "extensible fmt chunk shorter than 40 bytes",
            ));
        }
        // The sub-format GUID starts with the classic format tag.
        tag = le16(body, 24);
    }
    if channels == 0 {
        return Err(WavError::Malformed("zero channels"));
    }
    if rate == 0 {
        return Err(WavError::Malformed("zero sample rate"));
    }
    if block_align == 0 || !block_align.is_multiple_of(channels) {
        return Err(WavError::Malformed(
            "block size is not a multiple of the channel count",
        ));
    }
    let width = block_align / channels;
    let (encoding, format) = match tag {
        FORMAT_PCM => (Encoding::Int, "integer"),
        FORMAT_FLOAT => (Encoding::Float, "float"),
        FORMAT_ALAW => (Encoding::Alaw, "g711"),
        FORMAT_ULAW => (Encoding::Ulaw, "g711"),
        other => return Err(WavError::Compressed { format_tag: other }),
    };
    let supported = match encoding {
        Encoding::Int => (1..=4).contains(&width),
        Encoding::Float => width == 4 || width == 8,
        Encoding::Alaw | Encoding::Ulaw => width == 1,
    };
    if !supported || usize::from(bits) > width * 8 {
        return Err(WavError::UnsupportedSampleSize { bits, format });
    }
    Ok(Format {
        encoding,
        channels,
        rate,
        width,
    })
}

/// One sample in 16-bit scale.
fn sample(encoding: Encoding, b: &[u8]) -> f32 {
    match (encoding, b.len()) {
        (Encoding::Int, 1) => (f32::from(b[0]) - 128.0) * 256.0,
        (Encoding::Int, 2) => f32::from(i16::from_le_bytes([b[0], b[1]])),
        (Encoding::Int, 3) => i32::from_le_bytes([0, b[0], b[1], b[2]]) as f32 / 65_536.0,
        (Encoding::Int, _) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 65_536.0,
        (Encoding::Float, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * 32_768.0,
        (Encoding::Float, _) => {
            let v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            (v * 32_768.0) as f32
        }
        (Encoding::Alaw, _) => f32::from(alaw_to_linear(b[0])),
        (Encoding::Ulaw, _) => f32::from(ulaw_to_linear(b[0])),
    }
}

/// Reads a WAV file into mono samples (16-bit scale) and its sample rate.
fn read_wav(bytes: &[u8]) -> Result<(Vec<f32>, u32), WavError> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWav);
    }
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let declared = le32(bytes, at + 4) as usize;
        let body = &bytes[at + 8..(at + 8).saturating_add(declared).min(bytes.len())];
        if id == b"fmt " {
            format = Some(parse_fmt(body)?);
        } else if id == b"data" {
            let f = format.ok_or(WavError::MissingChunk("fmt "))?;
            let frame = f.width * f.channels;
            let mut mono = Vec::with_capacity(body.len() / frame);
            for block in body.chunks_exact(frame) {
                let sum: f32 = block
                    .chunks_exact(f.width)
                    .map(|s| sample(f.encoding, s))
                    .sum();
                mono.push(sum / f.channels as f32);
            }
            if mono.is_empty() {
                return Err(WavError::Empty);
            }
            return Ok((mono, f.rate));
        }
        // Chunks are padded to an even length.
        at = at
            .saturating_add(8)
            .saturating_add(declared + (declared & 1));
    }
    Err(WavError::MissingChunk(if format.is_some() {
        "data"
    } else {
        "fmt "
    }))
}

/// An announcement ready to play: 8 kHz samples and their G.711 frames.
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt {
    samples: Vec<i16>,
    ulaw: Vec<[u8; FRAME_SAMPLES]>,
    alaw: Vec<[u8; FRAME_SAMPLES]>,
}

fn encode_frames(samples: &[i16], law: Law) -> Vec<[u8; FRAME_SAMPLES]> {
    samples
        .chunks(FRAME_SAMPLES)
        .map(|chunk| {
            let mut frame = [silence_byte(law); FRAME_SAMPLES];
            encode_into(law, chunk, &mut frame);
            frame
        })
        .collect()
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt")
            .field("samples", &self.samples.len())
            .field("frames", &self.frame_count())
            .finish()
    }
}

impl Prompt {
    /// Reads a WAV file (see the module doc for the formats) into a prompt.
    pub fn from_wav(bytes: &[u8]) -> Result<Prompt, WavError> {
        let (mono, rate) = read_wav(bytes)?;
        let pcm = resample(&mono, rate, PROMPT_RATE);
        let samples = pcm
            .iter()
            .map(|s| s.round().clamp(-32_768.0, 32_767.0) as i16)
            .collect();
        Prompt::from_samples(samples)
    }

    /// A prompt from 8 kHz samples (synthesized or already converted).
    pub fn from_samples(samples: Vec<i16>) -> Result<Prompt, WavError> {
        if samples.is_empty() {
            return Err(WavError::Empty);
        }
        Ok(Prompt {
            ulaw: encode_frames(&samples, Law::Ulaw),
            alaw: encode_frames(&samples, Law::Alaw),
            samples,
        })
    }

    /// The 8 kHz 16-bit samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The 20 ms frames in `law`; the last one is padded with silence.
    pub fn frames(&self, law: Law) -> &[[u8; FRAME_SAMPLES]] {
        match law {
            Law::Ulaw => &self.ulaw,
            Law::Alaw => &self.alaw,
        }
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.ulaw.len()
    }

    /// Frame `index` as 16-bit samples (silence-padded), if it exists.
    pub fn linear_frame(&self, index: usize) -> Option<[i16; FRAME_SAMPLES]> {
        let start = index.checked_mul(FRAME_SAMPLES)?;
        let chunk = self.samples.get(start..)?;
        if chunk.is_empty() {
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        let n = chunk.len().min(FRAME_SAMPLES);
        frame[..n].copy_from_slice(&chunk[..n]);
        Some(frame)
    }

    /// Playing time, in whole frames.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(20 * self.frame_count() as u64)
    }
}

#[cfg(test)]
#[path = "wav_tests.rs"]
mod tests;
