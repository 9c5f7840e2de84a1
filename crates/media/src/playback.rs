//! What a [`crate::session::MediaSession`] plays when it is not relaying: playlists of
//! prompts, silences, call-progress tones and music on hold, turned into one G.711
//! frame (and, for the recorder, its linear samples) per 20 ms tick.

use std::sync::Arc;
use std::time::Duration;

use crate::g711::{encode_into, silence_byte};
use crate::tone::{FRAME_SAMPLES, Law};
use crate::wav::Prompt;

/// Call-progress tones (450 Hz, the ITU-T E.180 / Chinese national tone), repeating
/// their cadence until the playlist is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToneKind {
    /// Ringback: 1 s on, 4 s off.
    Ringback,
    /// Busy: 0.35 s on, 0.35 s off.
    Busy,
}

impl ToneKind {
    /// (on, period) in samples at 8 kHz.
    fn cadence(self) -> (u64, u64) {
        match self {
            ToneKind::Ringback => (8000, 40_000),
            ToneKind::Busy => (2800, 5600),
        }
    }
}

/// One element of a playlist.
#[derive(Debug, Clone)]
pub enum PlayItem {
    /// A prompt, once.
    Prompt(Arc<Prompt>),
    /// Silence, rounded up to whole 20 ms frames.
    Silence(Duration),
    /// A tone; never ends (items after it are not reached).
    Tone(ToneKind),
    /// A prompt repeated until the playlist is replaced (music on hold); items after
    /// it are not reached.
    Loop(Arc<Prompt>),
}

/// Tone frequency and level.
const TONE_HZ: f64 = 450.0;
const TONE_AMPLITUDE: f64 = 4000.0;

#[derive(Debug)]
struct Playlist {
    id: u64,
    items: Vec<PlayItem>,
    item: usize,
    /// Frame within the current item.
    pos: u64,
}

/// The outcome of one tick of playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    /// A frame was written to the output buffers.
    pub filled: bool,
    /// The linear buffer holds non-silent audio for the recorder.
    pub audible: bool,
    /// This playlist just ran out.
    pub done: Option<u64>,
}

/// The playlist in progress and the tone it may need.
#[derive(Debug)]
pub(crate) struct Player {
    law: Law,
    current: Option<Playlist>,
    next_id: u64,
    /// One 20 ms frame of the 450 Hz tone: a whole number of cycles, so frames join.
    tone_linear: [i16; FRAME_SAMPLES],
    tone_encoded: [u8; FRAME_SAMPLES],
}

impl Player {
    pub fn new(law: Law) -> Player {
        let mut tone_linear = [0i16; FRAME_SAMPLES];
        for (n, s) in tone_linear.iter_mut().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * TONE_HZ * n as f64 / 8000.0;
            *s = (TONE_AMPLITUDE * phase.sin()) as i16;
        }
        let mut tone_encoded = [0u8; FRAME_SAMPLES];
        encode_into(law, &tone_linear, &mut tone_encoded);
        Player {
            law,
            current: None,
            next_id: 1,
            tone_linear,
            tone_encoded,
        }
    }

    /// Starts `items`, replacing what was playing; returns its id.
    pub fn play(&mut self, items: Vec<PlayItem>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.current = Some(Playlist {
            id,
            items,
            item: 0,
            pos: 0,
        });
        id
    }

    /// Stops playback (no completion is reported).
    pub fn stop(&mut self) {
        self.current = None;
    }

    /// The id of the playlist in progress.
    pub fn playing(&self) -> Option<u64> {
        self.current.as_ref().map(|p| p.id)
    }

    /// Produces the frame due at this tick into `payload` and `linear`.
    pub fn next_frame(
        &mut self,
        payload: &mut [u8; FRAME_SAMPLES],
        linear: &mut [i16; FRAME_SAMPLES],
    ) -> Tick {
        let idle = Tick {
            filled: false,
            audible: false,
            done: None,
        };
        let Some(list) = &mut self.current else {
            return idle;
        };
        loop {
            let Some(item) = list.items.get(list.item) else {
                let done = Some(list.id);
                self.current = None;
                return Tick { done, ..idle };
            };
            let pos = list.pos;
            let filled = match item {
                PlayItem::Prompt(p) => copy_prompt_frame(p, pos, self.law, payload, linear),
                PlayItem::Loop(p) if p.frame_count() > 0 => {
                    let pos = pos % p.frame_count() as u64;
                    copy_prompt_frame(p, pos, self.law, payload, linear)
                }
                PlayItem::Loop(_) => false,
                PlayItem::Silence(d) => {
                    let frames = d.as_micros().div_ceil(20_000);
                    if u128::from(pos) < frames {
                        payload.fill(silence_byte(self.law));
                        linear.fill(0);
                        list.pos += 1;
                        return Tick {
                            filled: true,
                            ..idle
                        };
                    }
                    false
                }
                PlayItem::Tone(kind) => {
                    let (on, period) = kind.cadence();
                    let first = pos * FRAME_SAMPLES as u64 % period;
                    let mut audible = false;
                    for i in 0..FRAME_SAMPLES {
                        let sounding = (first + i as u64) % period < on;
                        audible |= sounding;
                        payload[i] = if sounding {
                            self.tone_encoded[i]
                        } else {
                            silence_byte(self.law)
                        };
                        linear[i] = if sounding { self.tone_linear[i] } else { 0 };
                    }
                    list.pos += 1;
                    return Tick {
                        filled: true,
                        audible,
                        done: None,
                    };
                }
            };
            if filled {
                list.pos += 1;
                return Tick {
                    filled: true,
                    audible: true,
                    done: None,
                };
            }
            list.item += 1;
            list.pos = 0;
        }
    }
}

fn copy_prompt_frame(
    prompt: &Prompt,
    pos: u64,
    law: Law,
    payload: &mut [u8; FRAME_SAMPLES],
    linear: &mut [i16; FRAME_SAMPLES],
) -> bool {
    let Ok(index) = usize::try_from(pos) else {
        return false;
    };
    let (Some(frame), Some(samples)) = (prompt.frames(law).get(index), prompt.linear_frame(index))
    else {
        return false;
    };
    *payload = *frame;
    *linear = samples;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(frames: usize, value: i16) -> Arc<Prompt> {
        Arc::new(Prompt::from_samples(vec![value; frames * FRAME_SAMPLES]).unwrap())
    }

    fn run(player: &mut Player, ticks: usize) -> Vec<Tick> {
        let mut p = [0u8; FRAME_SAMPLES];
        let mut l = [0i16; FRAME_SAMPLES];
        (0..ticks)
            .map(|_| player.next_frame(&mut p, &mut l))
            .collect()
    }

    #[test]
    fn a_list_plays_in_order_then_reports_done() {
        let mut player = Player::new(Law::Ulaw);
        let id = player.play(vec![
            PlayItem::Prompt(prompt(2, 1000)),
            PlayItem::Silence(Duration::from_millis(30)),
            PlayItem::Silence(Duration::ZERO),
            PlayItem::Prompt(prompt(1, -1000)),
        ]);
        let ticks = run(&mut player, 7);
        let filled: Vec<bool> = ticks.iter().map(|t| t.filled).collect();
        assert_eq!(filled, [true, true, true, true, true, false, false]);
        assert_eq!(ticks[5].done, Some(id));
        assert_eq!(ticks[6].done, None);
        assert_eq!(player.playing(), None);
    }

    #[test]
    fn tones_and_loops_never_end() {
        let mut player = Player::new(Law::Alaw);
        player.play(vec![
            PlayItem::Tone(ToneKind::Busy),
            PlayItem::Silence(Duration::ZERO),
        ]);
        // 0.35 s on / 0.35 s off: frames 0..17 audible, 17 straddles, 18..35 silent.
        let ticks = run(&mut player, 70);
        assert!(ticks.iter().all(|t| t.filled && t.done.is_none()));
        let audible = ticks.iter().filter(|t| t.audible).count();
        assert_eq!(audible, 2 * 18);
        assert!(ticks[17].audible && !ticks[18].audible && ticks[35].audible);

        let id = player.play(vec![PlayItem::Loop(prompt(3, 500))]);
        assert_eq!(player.playing(), Some(id));
        assert!(
            run(&mut player, 500)
                .iter()
                .all(|t| t.filled && t.done.is_none())
        );
        player.stop();
        assert!(!run(&mut player, 1)[0].filled);
    }

    #[test]
    fn ringback_is_one_second_in_five() {
        let mut player = Player::new(Law::Ulaw);
        player.play(vec![PlayItem::Tone(ToneKind::Ringback)]);
        let ticks = run(&mut player, 500);
        assert_eq!(ticks.iter().filter(|t| t.audible).count(), 100);
        assert!(ticks[49].audible && !ticks[50].audible && ticks[250].audible);
    }
}
