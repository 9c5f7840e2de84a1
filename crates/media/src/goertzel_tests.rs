use super::*;
use std::f64::consts::PI;

/// xorshift64*: a tiny seeded generator for repeatable noise.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn gauss(&mut self) -> f64 {
        let u = self.uniform().max(1e-12);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

fn dtmf_freqs(key: char) -> (f64, f64) {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, k) in row.iter().enumerate() {
            if *k == key {
                return (f64::from(LOW[r]), f64::from(HIGH[c]));
            }
        }
    }
    panic!("not a key: {key}");
}

/// Appends `ms` of the two tones (amplitudes `a_low`, `a_high`) with random phases.
fn push_tone(out: &mut Vec<f64>, rng: &mut Rng, (fl, fh): (f64, f64), amps: (f64, f64), ms: usize) {
    let (pl, ph) = (rng.uniform() * 2.0 * PI, rng.uniform() * 2.0 * PI);
    for n in 0..ms * 8 {
        let t = n as f64 / 8000.0;
        out.push(amps.0 * (2.0 * PI * fl * t + pl).sin() + amps.1 * (2.0 * PI * fh * t + ph).sin());
    }
}

/// Adds white noise of the given power and converts to samples.
fn with_noise(signal: &[f64], rng: &mut Rng, noise_power: f64) -> Vec<i16> {
    let sigma = noise_power.sqrt();
    signal
        .iter()
        .map(|s| (s + sigma * rng.gauss()).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn detect(samples: &[i16]) -> String {
    let mut d = InbandDetector::new();
    samples
        .chunks_exact(FRAME)
        .filter_map(|f| d.process(f))
        .collect()
}

#[test]
fn all_sixteen_keys_in_noise_at_15_db_snr() {
    for seed in 1..=10 {
        sixteen_keys(seed);
    }
}

fn sixteen_keys(seed: u64) {
    let mut rng = Rng::new(seed);
    let keys = "123A456B789C*0#D";
    let amps = (5000.0, 6300.0); // 2 dB of normal twist
    let tone_power = (amps.0 * amps.0 + amps.1 * amps.1) / 2.0;
    let mut signal = Vec::new();
    for key in keys.chars() {
        // Start at an arbitrary offset within a frame.
        let offset = (rng.next_u64() % FRAME as u64) as usize;
        signal.extend(std::iter::repeat_n(0.0, offset));
        push_tone(&mut signal, &mut rng, dtmf_freqs(key), amps, 90);
        signal.extend(std::iter::repeat_n(0.0, 80 * 8));
    }
    let samples = with_noise(&signal, &mut rng, tone_power / 10f64.powf(1.5));
    assert_eq!(detect(&samples), keys, "seed {seed}");
}

#[test]
fn reverse_twist_and_quiet_keys_are_detected() {
    let mut rng = Rng::new(7);
    let mut signal = Vec::new();
    push_tone(
        &mut signal,
        &mut rng,
        dtmf_freqs('8'),
        (2500.0, 1200.0),
        100,
    );
    signal.extend(std::iter::repeat_n(0.0, 800));
    push_tone(&mut signal, &mut rng, dtmf_freqs('D'), (500.0, 600.0), 100);
    let samples = with_noise(&signal, &mut rng, 100.0);
    assert_eq!(detect(&samples), "8D");
}

#[test]
fn same_key_twice_with_a_gap_counts_twice_but_a_held_key_once() {
    let mut rng = Rng::new(11);
    let mut signal = Vec::new();
    push_tone(
        &mut signal,
        &mut rng,
        dtmf_freqs('5'),
        (6000.0, 6000.0),
        800,
    );
    signal.extend(std::iter::repeat_n(0.0, 60 * 8));
    push_tone(&mut signal, &mut rng, dtmf_freqs('5'), (6000.0, 6000.0), 60);
    signal.extend(std::iter::repeat_n(0.0, 60 * 8));
    let samples = with_noise(&signal, &mut rng, 72e6 / 2.0 / 31.6);
    assert_eq!(detect(&samples), "55");
}

#[test]
fn a_press_shorter_than_two_frames_is_ignored() {
    let mut rng = Rng::new(3);
    let mut signal = Vec::new();
    push_tone(&mut signal, &mut rng, dtmf_freqs('1'), (6000.0, 6000.0), 25);
    signal.extend(std::iter::repeat_n(0.0, 800));
    assert_eq!(detect(&with_noise(&signal, &mut rng, 1.0)), "");
}

#[test]
fn single_tones_and_call_progress_tones_do_not_trigger() {
    let mut rng = Rng::new(5);
    let mut signal = Vec::new();
    for f in [697.0, 941.0, 1209.0, 1633.0, 1000.0, 450.0, 2100.0] {
        push_tone(&mut signal, &mut rng, (f, f), (4000.0, 4000.0), 300);
    }
    push_tone(&mut signal, &mut rng, (350.0, 440.0), (6000.0, 6000.0), 500); // dial tone
    push_tone(&mut signal, &mut rng, (440.0, 480.0), (6000.0, 6000.0), 500); // ringback
    push_tone(&mut signal, &mut rng, (480.0, 620.0), (6000.0, 6000.0), 500); // busy
    assert_eq!(detect(&with_noise(&signal, &mut rng, 10_000.0)), "");
}

/// A crude voiced-speech model: a glottal pulse train with a wandering pitch, shaped by
/// the formants of /a/ (F1 ≈ 700 Hz, F2 ≈ 1220 Hz, right on DTMF rows and columns),
/// in syllables.
fn speech(rng: &mut Rng, seconds: usize) -> Vec<f64> {
    let formants = [(700.0, 130.0), (1220.0, 70.0), (2600.0, 160.0)];
    let mut out = Vec::with_capacity(seconds * 8000);
    let mut f0: f64 = 120.0;
    let mut phase: f64 = 0.0;
    for n in 0..seconds * 8000 {
        if n % 400 == 0 {
            f0 = (f0 + (rng.uniform() - 0.5) * 30.0).clamp(90.0, 220.0);
        }
        phase += f0 / 8000.0;
        let envelope = (PI * (n % 2400) as f64 / 2400.0).sin().powi(2);
        let mut s = 0.0;
        let mut k = 1.0;
        while k * f0 < 3600.0 {
            let h = k * f0;
            let gain: f64 = formants
                .iter()
                .map(|(f, bw)| 1.0 / (1.0 + ((h - f) / bw).powi(2)))
                .sum();
            s += gain / k.sqrt() * (2.0 * PI * k * phase).sin();
            k += 1.0;
        }
        out.push(4000.0 * envelope * s);
    }
    out
}

#[test]
fn speech_like_signal_does_not_trigger() {
    for seed in 1..=5 {
        let mut rng = Rng::new(seed);
        let signal = speech(&mut rng, 4);
        assert_eq!(
            detect(&with_noise(&signal, &mut rng, 2_000.0)),
            "",
            "seed {seed}"
        );
    }
}

#[test]
fn reset_forgets_a_held_key() {
    let mut rng = Rng::new(1);
    let mut signal = Vec::new();
    push_tone(
        &mut signal,
        &mut rng,
        dtmf_freqs('0'),
        (6000.0, 6000.0),
        200,
    );
    let samples = with_noise(&signal, &mut rng, 1.0);
    let mut d = InbandDetector::new();
    let frames: Vec<_> = samples.chunks_exact(FRAME).collect();
    assert_eq!(d.process(frames[0]), None);
    assert_eq!(d.process(frames[1]), Some('0'));
    assert_eq!(d.process(frames[2]), None);
    d.reset();
    assert_eq!(d.process(frames[3]), None);
    assert_eq!(d.process(frames[4]), Some('0'));
    assert_eq!(d.classify(&[]), None);
}
