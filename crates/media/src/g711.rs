//! G.711 µ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8) companding
//! (ITU-T G.711): sample by sample, and whole frames through 256-entry decode tables
//! (the per-packet path: no branching per sample).

use crate::tone::Law;

/// Encodes a 16-bit linear sample as µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 as i32 | mantissa) as u8
}

/// Decodes a µ-law byte to a 16-bit linear sample.
pub const fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let sign = u & 0x80;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// Encodes a 16-bit linear sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let (sign, mut s) = if sample >= 0 {
        (0xD5u8, i32::from(sample))
    } else {
        (0x55u8, -i32::from(sample) - 1)
    };
    s = s.min(32767) >> 3;
    let byte = if s < 32 {
        (s >> 1) as u8
    } else {
        let exponent = (31 - (s as u32).leading_zeros() - 4) as i32;
        let mantissa = (s >> exponent) & 0x0F;
        (((exponent) << 4) | mantissa) as u8
    };
    byte ^ sign
}

/// Decodes an A-law byte to a 16-bit linear sample.
pub const fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let sign = a & 0x80;
    let exponent = ((a >> 4) & 0x07) as i32;
    let mantissa = (a & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if sign != 0 { magnitude } else { -magnitude }) as i16
}

const fn decode_table(law: Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Law::Ulaw => ulaw_to_linear(i as u8),
            Law::Alaw => alaw_to_linear(i as u8),
        };
        i += 1;
    }
    table
}

static ULAW_TABLE: [i16; 256] = decode_table(Law::Ulaw);
static ALAW_TABLE: [i16; 256] = decode_table(Law::Alaw);

/// The byte that decodes to (near) zero: 0xFF in µ-law, 0xD5 in A-law.
pub const fn silence_byte(law: Law) -> u8 {
    match law {
        Law::Ulaw => 0xFF,
        Law::Alaw => 0xD5,
    }
}

/// Decodes `input` into `out`, pairwise up to the shorter of the two; returns how many
/// samples were written.
pub fn decode_into(law: Law, input: &[u8], out: &mut [i16]) -> usize {
    let table = match law {
        Law::Ulaw => &ULAW_TABLE,
        Law::Alaw => &ALAW_TABLE,
    };
    let n = input.len().min(out.len());
    for (o, b) in out[..n].iter_mut().zip(&input[..n]) {
        *o = table[usize::from(*b)];
    }
    n
}

/// Encodes `input` into `out`, pairwise up to the shorter of the two; returns how many
/// bytes were written.
pub fn encode_into(law: Law, input: &[i16], out: &mut [u8]) -> usize {
    let n = input.len().min(out.len());
    let encode = match law {
        Law::Ulaw => linear_to_ulaw,
        Law::Alaw => linear_to_alaw,
    };
    for (o, s) in out[..n].iter_mut().zip(&input[..n]) {
        *o = encode(*s);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn silence_and_known_values() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(silence_byte(Law::Alaw)).abs(), 8);
        assert_eq!(ulaw_to_linear(silence_byte(Law::Ulaw)), 0);
    }

    #[test]
    fn frame_codec_matches_sample_codec() {
        let bytes: Vec<u8> = (0..=255).collect();
        for law in [Law::Ulaw, Law::Alaw] {
            let mut lin = [0i16; 256];
            assert_eq!(decode_into(law, &bytes, &mut lin), 256);
            let mut back = [0u8; 300];
            assert_eq!(encode_into(law, &lin, &mut back), 256);
            for (i, b) in bytes.iter().enumerate() {
                let single = match law {
                    Law::Ulaw => ulaw_to_linear(*b),
                    Law::Alaw => alaw_to_linear(*b),
                };
                assert_eq!(lin[i], single);
            }
        }
    }

    proptest! {
        #[test]
        fn ulaw_round_trip_error_is_within_one_step(s in any::<i16>()) {
            let back = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let err = (back - i32::from(s).clamp(-32635, 32635)).abs();
            prop_assert!(err <= (i32::from(s).abs() / 16).max(8) + 4, "{s} -> {back}");
        }

        #[test]
        fn alaw_round_trip_error_is_within_one_step(s in any::<i16>()) {
            let back = i32::from(alaw_to_linear(linear_to_alaw(s)));
            let err = (back - i32::from(s)).abs();
            prop_assert!(err <= (i32::from(s).abs() / 16).max(16) + 8, "{s} -> {back}");
        }

        #[test]
        fn every_byte_decodes_and_re_encodes_to_itself(b in any::<u8>()) {
            prop_assert_eq!(linear_to_alaw(alaw_to_linear(b)), b);
            let u = linear_to_ulaw(ulaw_to_linear(b));
            prop_assert!(u == b || (b == 0x7F && u == 0xFF), "{b:#x} -> {u:#x}");
        }
    }
}
