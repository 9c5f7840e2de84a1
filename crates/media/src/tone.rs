//! Call-progress tones, pre-encoded as 20 ms G.711 frames.

use crate::g711::{linear_to_alaw, linear_to_ulaw};

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// The G.711 law a frame is encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// µ-law, payload type 0.
    Ulaw,
    /// A-law, payload type 8.
    Alaw,
}

/// A steady sine tone encoded as a loop of 20 ms frames: one frame for multiples of
/// 50 Hz (a whole number of cycles per frame, e.g. 450 Hz), else 40 frames (0.8 s,
/// whole cycles for any multiple of 1.25 Hz, e.g. 425 Hz).
pub fn tone_frames(freq_hz: u32, amplitude: i16, law: Law) -> Vec<[u8; FRAME_SAMPLES]> {
    let frames = if (freq_hz * FRAME_SAMPLES as u32).is_multiple_of(8000) {
        1
    } else {
        40
    };
    (0..frames)
        .map(|f| {
            let mut frame = [0u8; FRAME_SAMPLES];
            for (i, out) in frame.iter_mut().enumerate() {
                let n = (f * FRAME_SAMPLES + i) as f64;
                let s = (f64::from(amplitude)
                    * (2.0 * std::f64::consts::PI * f64::from(freq_hz) * n / 8000.0).sin())
                    as i16;
                *out = match law {
                    Law::Ulaw => linear_to_ulaw(s),
                    Law::Alaw => linear_to_alaw(s),
                };
            }
            frame
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::ulaw_to_linear;

    #[test]
    fn tone_has_energy_and_loops() {
        let frames = tone_frames(450, 8000, Law::Ulaw);
        assert_eq!(frames.len(), 1);
        let energy: i64 = frames[0]
            .iter()
            .map(|b| i64::from(ulaw_to_linear(*b)).pow(2))
            .sum();
        assert!(energy / FRAME_SAMPLES as i64 > 1_000_000);
        assert_eq!(tone_frames(425, 8000, Law::Alaw).len(), 40);
    }
}
