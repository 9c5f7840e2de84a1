//! In-band DTMF detection (the fallback when a peer does not send RFC 4733 events):
//! the Goertzel algorithm evaluates the eight DTMF frequencies on each 20 ms frame of
//! 8 kHz linear PCM, and [`InbandDetector`] turns per-frame decisions into key presses.
//!
//! A frame holds a digit when exactly one low-group and one high-group frequency
//! stand out: each at least [`MIN_AMPLITUDE`], each ≥ 8 dB above the other frequencies
//! of its group, the two within ±8 dB of each other (twist), and together carrying at
//! least 80 % of the frame's energy (speech and music spread theirs). A press is
//! reported once, when two consecutive frames (≥ 40 ms) agree; the same digit is
//! reported again only after two frames (40 ms) without it.

/// Samples per analysis frame (20 ms at 8 kHz).
pub const FRAME: usize = 160;
/// Least peak amplitude of each of the two tones (about −37 dBm0 in µ-law scale).
pub const MIN_AMPLITUDE: f32 = 300.0;

const LOW: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// 8 dB as a power ratio.
const EIGHT_DB: f32 = 6.31;
/// Share of the frame's energy the two tones must carry: clean keys at 15 dB SNR
/// measure ≥ 0.93, a vowel with formants on a DTMF row and column ≤ 0.66.
const MIN_TONE_SHARE: f32 = 0.8;
/// Frames that must agree before a press counts.
const PRESS_FRAMES: u8 = 2;
/// Frames without the digit before the key counts as released.
const RELEASE_FRAMES: u8 = 2;

/// Goertzel powers of the 8 DTMF frequencies (low group first) over `samples`.
fn powers(coeffs: &[f32; 8], samples: &[i16]) -> ([f32; 8], f32) {
    let mut s1 = [0f32; 8];
    let mut s2 = [0f32; 8];
    let mut energy = 0f32;
    for &x in samples {
        let x = f32::from(x);
        energy += x * x;
        for k in 0..8 {
            let s0 = x + coeffs[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    let mut p = [0f32; 8];
    for k in 0..8 {
        p[k] = s1[k] * s1[k] + s2[k] * s2[k] - coeffs[k] * s1[k] * s2[k];
    }
    (p, energy)
}

/// Index of the strongest of four powers, if it beats the other three by 8 dB.
fn dominant(group: &[f32]) -> Option<usize> {
    let (best, &peak) = group.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let clear = group
        .iter()
        .enumerate()
        .all(|(i, &p)| i == best || p * EIGHT_DB <= peak);
    clear.then_some(best)
}

/// Detects DTMF key presses in a stream of 20 ms frames.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    coeffs: [f32; 8],
    candidate: Option<char>,
    agree: u8,
    held: Option<char>,
    misses: u8,
}

impl Default for InbandDetector {
    fn default() -> Self {
        InbandDetector::new()
    }
}

impl InbandDetector {
    /// A detector with no key down.
    pub fn new() -> InbandDetector {
        let mut coeffs = [0f32; 8];
        for (c, f) in coeffs.iter_mut().zip(LOW.iter().chain(&HIGH)) {
            *c = 2.0 * (2.0 * std::f32::consts::PI * f / 8000.0).cos();
        }
        InbandDetector {
            coeffs,
            candidate: None,
            agree: 0,
            held: None,
            misses: 0,
        }
    }

    /// The digit a single frame holds, if any (no timing rules applied).
    pub fn classify(&self, frame: &[i16]) -> Option<char> {
        if frame.is_empty() {
            return None;
        }
        let (p, energy) = powers(&self.coeffs, frame);
        let low = dominant(&p[..4])?;
        let high = dominant(&p[4..])?;
        let (pl, ph) = (p[low], p[4 + high]);
        let n = frame.len() as f32;
        // Goertzel power of a sine of amplitude A over N samples is (A·N/2)².
        let min_power = (MIN_AMPLITUDE * n / 2.0).powi(2);
        if pl < min_power || ph < min_power {
            return None;
        }
        if ph > pl * EIGHT_DB || pl > ph * EIGHT_DB {
            return None;
        }
        // 2P/N is the energy of the sine the bin holds.
        if 2.0 * (pl + ph) / n < MIN_TONE_SHARE * energy {
            return None;
        }
        Some(KEYS[low][high])
    }

    /// Feeds one frame; returns a digit when a new key press is confirmed.
    pub fn process(&mut self, frame: &[i16]) -> Option<char> {
        let now = self.classify(frame);
        if now.is_some() && now == self.candidate {
            self.agree = self.agree.saturating_add(1);
        } else {
            self.candidate = now;
            self.agree = u8::from(now.is_some());
        }
        if self.held.is_some() && self.held != now {
            self.misses += 1;
            if self.misses >= RELEASE_FRAMES {
                self.held = None;
            }
        } else {
            self.misses = 0;
        }
        if self.held.is_none() && self.agree >= PRESS_FRAMES {
            self.held = now;
            self.misses = 0;
            return now;
        }
        None
    }

    /// Forgets any key in progress.
    pub fn reset(&mut self) {
        *self = InbandDetector {
            coeffs: self.coeffs,
            ..InbandDetector::new()
        };
    }
}

#[cfg(test)]
#[path = "goertzel_tests.rs"]
mod tests;
