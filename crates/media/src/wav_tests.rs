use super::*;
use std::f64::consts::PI;
use std::io::Cursor;

fn spec(channels: u16, rate: u32, bits: u16, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

/// A WAV of a sine at `freq` (amplitude `amp` of full scale) written by hound.
fn sine_wav(freq: f64, amp: f64, seconds: f64, spec: hound::WavSpec) -> Vec<u8> {
    let mut cursor = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    let n = (f64::from(spec.sample_rate) * seconds) as usize;
    for i in 0..n {
        let v = amp * (2.0 * PI * freq * i as f64 / f64::from(spec.sample_rate)).sin();
        for _ in 0..spec.channels {
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                (_, bits) => {
                    let full = f64::from((1u32 << (bits - 1)) - 1);
                    w.write_sample((v * full) as i32).unwrap()
                }
            }
        }
    }
    w.finalize().unwrap();
    cursor.into_inner()
}

fn rms_middle(x: &[i16]) -> f64 {
    let mid = &x[x.len() / 4..3 * x.len() / 4];
    (mid.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / mid.len() as f64).sqrt()
}

/// Full-scale (0.5) sine RMS in 16-bit units.
const HALF_SCALE_RMS: f64 = 0.5 * 32_768.0 / std::f64::consts::SQRT_2;

#[test]
fn every_sample_size_and_stereo_reads_to_the_same_level() {
    for (channels, bits, float) in [
        (1, 8, false),
        (1, 16, false),
        (2, 16, false),
        (1, 24, false),
        (2, 32, false),
        (1, 32, true),
    ] {
        let wav = sine_wav(1000.0, 0.5, 0.5, spec(channels, 8000, bits, float));
        let p = Prompt::from_wav(&wav).unwrap();
        assert_eq!(p.samples().len(), 4000, "{channels}ch {bits}-bit");
        let rms = rms_middle(p.samples());
        assert!(
            (rms / HALF_SCALE_RMS - 1.0).abs() < 0.03,
            "{channels}ch {bits}-bit float={float}: rms {rms}"
        );
    }
}

#[test]
fn a_3500_hz_tone_survives_resampling() {
    for rate in [16_000, 44_100, 48_000] {
        let wav = sine_wav(3500.0, 0.5, 0.4, spec(1, rate, 16, false));
        let p = Prompt::from_wav(&wav).unwrap();
        assert_eq!(p.samples().len(), 3200);
        let db = 20.0 * (rms_middle(p.samples()) / HALF_SCALE_RMS).log10();
        assert!(db.abs() < 1.0, "{rate} Hz: {db:.2} dB");
    }
}

#[test]
fn a_6_khz_tone_at_16_khz_is_attenuated_more_than_30_db() {
    let wav = sine_wav(6000.0, 0.5, 0.4, spec(1, 16_000, 16, false));
    let p = Prompt::from_wav(&wav).unwrap();
    let db = 20.0 * (rms_middle(p.samples()) / HALF_SCALE_RMS).log10();
    assert!(db < -30.0, "{db:.1} dB");
}

#[test]
fn frames_are_pre_encoded_and_the_last_is_padded() {
    // 170 samples: one full frame and one of 10 samples plus silence.
    let samples: Vec<i16> = (0..170).map(|i| (i * 100) as i16).collect();
    let p = Prompt::from_samples(samples.clone()).unwrap();
    assert_eq!(p.frame_count(), 2);
    assert_eq!(p.duration(), Duration::from_millis(40));
    for law in [Law::Ulaw, Law::Alaw] {
        let frames = p.frames(law);
        assert_eq!(frames.len(), 2);
        assert!(frames[1][10..].iter().all(|b| *b == silence_byte(law)));
        assert_ne!(frames[1][9], silence_byte(law));
    }
    assert_eq!(
        crate::g711::ulaw_to_linear(p.frames(Law::Ulaw)[0][50]),
        crate::g711::ulaw_to_linear(crate::g711::linear_to_ulaw(5000))
    );
    let last = p.linear_frame(1).unwrap();
    assert_eq!(last[9], samples[169]);
    assert_eq!(last[10], 0);
    assert!(p.linear_frame(2).is_none());
}

/// A hand-made header: format tag, channels, rate, block align, bits, then data.
fn raw_wav(tag: u16, channels: u16, rate: u32, align: u16, bits: u16, data: &[u8]) -> Vec<u8> {
    let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
    v.extend_from_slice(b"fmt \x10\0\0\0");
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
    v.extend_from_slice(&align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // an odd-sized chunk to skip
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn errors_say_what_is_wrong() {
    assert!(matches!(Prompt::from_wav(b"hello"), Err(WavError::NotWav)));
    assert!(matches!(
        Prompt::from_wav(b"RIFF\0\0\0\0AVI LIST"),
        Err(WavError::NotWav)
    ));
    let adpcm = raw_wav(0x0002, 1, 8000, 256, 4, &[0; 256]);
    assert!(matches!(
        Prompt::from_wav(&adpcm),
        Err(WavError::Compressed { format_tag: 2 })
    ));
    let mp3 = raw_wav(0x0055, 1, 8000, 1, 0, &[0; 16]);
    assert!(matches!(
        Prompt::from_wav(&mp3),
        Err(WavError::Compressed { format_tag: 0x55 })
    ));
    let empty = raw_wav(1, 1, 8000, 2, 16, &[]);
    assert!(matches!(Prompt::from_wav(&empty), Err(WavError::Empty)));
    let wide = raw_wav(1, 1, 8000, 8, 64, &[0; 16]);
    assert!(matches!(
        Prompt::from_wav(&wide),
        Err(WavError::UnsupportedSampleSize { bits: 64, .. })
    ));
    let no_channels = raw_wav(1, 0, 8000, 2, 16, &[0; 4]);
    assert!(matches!(
        Prompt::from_wav(&no_channels),
        Err(WavError::Malformed(_))
    ));
    let mut no_data = raw_wav(1, 1, 8000, 2, 16, &[]);
    no_data.truncate(no_data.len() - 8);
    assert!(matches!(
        Prompt::from_wav(&no_data),
        Err(WavError::MissingChunk("data"))
    ));
    assert!(matches!(
        Prompt::from_samples(Vec::new()),
        Err(WavError::Empty)
    ));
    // Messages are lowercase and specific.
    let msg = Prompt::from_wav(&adpcm).unwrap_err().to_string();
    assert!(
        msg.contains("compressed") && msg.contains("0x0002"),
        "{msg}"
    );
}

#[test]
fn g711_wav_and_a_streaming_data_size_are_accepted() {
    // µ-law WAV whose data chunk claims more than the file holds.
    let bytes = [crate::g711::linear_to_ulaw(1000); 320];
    let mut wav = raw_wav(7, 1, 8000, 1, 8, &bytes);
    let size_at = wav.len() - 320 - 4;
    wav[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let p = Prompt::from_wav(&wav).unwrap();
    assert_eq!(p.samples().len(), 320);
    assert!(
        p.samples()
            .iter()
            .all(|s| (i32::from(*s) - 1000).abs() < 40)
    );
    assert_eq!(p.frames(Law::Ulaw)[0], bytes[..160]);
}
