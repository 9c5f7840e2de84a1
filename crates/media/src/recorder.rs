//! Two-channel call recording, sans-IO: [`Recorder`] lines up 20 ms frames of both
//! directions by frame index (20 ms frames since the call started) and hands them out
//! as interleaved 8 kHz 16-bit stereo — channel 1 (left) the caller, channel 2 (right)
//! the other side (agent, or what Lifeline played).
//!
//! Streaming, so a long call is never held in memory: the engine calls
//! [`Recorder::drain_ready`] (or [`Recorder::write_ready`] with a [`WavSink`]) every
//! second or so and writes what comes out. A frame is ready once a frame
//! [`HOLD_FRAMES`] newer has been pushed, so the other direction's frame of the same
//! instant still has time to arrive; pushes for frames already handed out are dropped
//! and counted as late. A frame nobody pushed is silence. If the engine stops
//! draining, at most `max_buffered` is kept and the oldest frames are dropped (counted)
//! — the file then misses that stretch.
//!
//! For writers that are not `Write + Seek` (async files), [`stereo_wav_header`] gives
//! the 44-byte header to write first and rewrite with the final length at the end.

use std::collections::VecDeque;
use std::io::{Seek, Write};
use std::time::Duration;

use crate::tone::FRAME_SAMPLES;
use crate::wav::WavError;

/// Frames kept back for the slower direction before a frame is ready (100 ms).
pub const HOLD_FRAMES: u64 = 5;
/// Sample rate of recordings.
pub const RECORDING_RATE: u32 = 8000;

type StereoFrame = [i16; 2 * FRAME_SAMPLES];

/// The recording of one call leg in progress.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Frame index of `frames[0]`.
    base: u64,
    frames: VecDeque<StereoFrame>,
    newest: Option<u64>,
    max_frames: usize,
    late: u64,
    dropped: u64,
}

impl Recorder {
    /// A recorder starting at frame 0 that buffers at most `max_buffered` (at least
    /// one second) between drains.
    pub fn new(max_buffered: Duration) -> Recorder {
        let max_frames = (max_buffered.as_millis() / 20).max(50) as usize;
        Recorder {
            base: 0,
            frames: VecDeque::new(),
            newest: None,
            max_frames,
            late: 0,
            dropped: 0,
        }
    }

    fn push(&mut self, frame_index: u64, channel: usize, samples: &[i16; FRAME_SAMPLES]) {
        if frame_index < self.base {
            self.late += 1;
            return;
        }
        let offset = frame_index - self.base;
        if offset >= self.max_frames as u64 {
            // Keep the newest `max_frames`: drop what the engine did not drain.
            let excess = offset + 1 - self.max_frames as u64;
            let buffered = (excess as usize).min(self.frames.len());
            self.frames.drain(..buffered);
            self.dropped += excess;
            self.base += excess;
        }
        let offset = (frame_index - self.base) as usize;
        while self.frames.len() <= offset {
            self.frames.push_back([0; 2 * FRAME_SAMPLES]);
        }
        let frame = &mut self.frames[offset];
        for (i, s) in samples.iter().enumerate() {
            frame[2 * i + channel] = *s;
        }
        self.newest = Some(self.newest.map_or(frame_index, |n| n.max(frame_index)));
    }

    /// The caller's audio for frame `frame_index` (channel 1).
    pub fn push_caller(&mut self, frame_index: u64, samples: &[i16; FRAME_SAMPLES]) {
        self.push(frame_index, 0, samples);
    }

    /// The other side's audio for frame `frame_index` (channel 2).
    pub fn push_other(&mut self, frame_index: u64, samples: &[i16; FRAME_SAMPLES]) {
        self.push(frame_index, 1, samples);
    }

    /// Frames ready to hand out.
    pub fn ready_frames(&self) -> usize {
        let Some(newest) = self.newest else { return 0 };
        let ready_below = (newest + 1).saturating_sub(HOLD_FRAMES);
        (ready_below.saturating_sub(self.base) as usize).min(self.frames.len())
    }

    fn drain_frames(&mut self, count: usize, out: &mut Vec<i16>) -> usize {
        out.reserve(count * 2 * FRAME_SAMPLES);
        for frame in self.frames.drain(..count) {
            out.extend_from_slice(&frame);
        }
        self.base += count as u64;
        count
    }

    /// Appends the ready frames to `out` as interleaved stereo samples; returns how
    /// many frames.
    pub fn drain_ready(&mut self, out: &mut Vec<i16>) -> usize {
        self.drain_frames(self.ready_frames(), out)
    }

    /// Appends every buffered frame (end of call); returns how many frames.
    pub fn drain_all(&mut self, out: &mut Vec<i16>) -> usize {
        self.drain_frames(self.frames.len(), out)
    }

    /// Writes the ready frames to `sink`; returns how many frames.
    pub fn write_ready<W: Write + Seek>(
        &mut self,
        sink: &mut WavSink<W>,
        scratch: &mut Vec<i16>,
    ) -> Result<usize, WavError> {
        scratch.clear();
        let n = self.drain_ready(scratch);
        sink.write_interleaved(scratch)?;
        Ok(n)
    }

    /// Writes everything still buffered as a complete stereo WAV file; returns the
    /// frames written. For a call that was never drained this is the whole call.
    pub fn finish_into<W: Write + Seek>(mut self, writer: W) -> Result<u64, WavError> {
        let mut sink = WavSink::new(writer)?;
        let mut samples = Vec::new();
        self.drain_all(&mut samples);
        sink.write_interleaved(&samples)?;
        let frames = sink.frames_written();
        sink.finish()?;
        Ok(frames)
    }

    /// Pushes that arrived after their frame was handed out.
    pub fn late_pushes(&self) -> u64 {
        self.late
    }

    /// Frames dropped because the engine did not drain in time.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped
    }
}

/// A stereo 8 kHz 16-bit WAV being written (header finished on [`WavSink::finish`]).
pub struct WavSink<W: Write + Seek> {
    writer: hound::WavWriter<W>,
    samples: u64,
}

impl<W: Write + Seek> std::fmt::Debug for WavSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("samples", &self.samples)
            .finish()
    }
}

impl<W: Write + Seek> WavSink<W> {
    /// Starts a file on `writer`.
    pub fn new(writer: W) -> Result<WavSink<W>, WavError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: RECORDING_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(WavSink {
            writer: hound::WavWriter::new(writer, spec)?,
            samples: 0,
        })
    }

    /// Appends interleaved stereo samples.
    pub fn write_interleaved(&mut self, samples: &[i16]) -> Result<(), WavError> {
        let mut w = self.writer.get_i16_writer(samples.len() as u32);
        for s in samples {
            w.write_sample(*s);
        }
        w.flush()?;
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Stereo frames (sample pairs) written so far, divided into 20 ms frames.
    pub fn frames_written(&self) -> u64 {
        self.samples / (2 * FRAME_SAMPLES as u64)
    }

    /// Completes the header and flushes.
    pub fn finish(self) -> Result<(), WavError> {
        Ok(self.writer.finalize()?)
    }
}

/// The 44-byte header of an 8 kHz 16-bit stereo WAV holding `sample_pairs` pairs.
pub fn stereo_wav_header(sample_pairs: u32) -> [u8; 44] {
    let data = sample_pairs.saturating_mul(4);
    let mut h = [0u8; 44];
    h[..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&2u16.to_le_bytes());
    h[24..28].copy_from_slice(&RECORDING_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(RECORDING_RATE * 4).to_le_bytes());
    h[32..34].copy_from_slice(&4u16.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn frame(v: i16) -> [i16; FRAME_SAMPLES] {
        [v; FRAME_SAMPLES]
    }

    /// (left, right) of the first sample of each interleaved frame.
    fn firsts(samples: &[i16]) -> Vec<(i16, i16)> {
        samples
            .chunks_exact(2 * FRAME_SAMPLES)
            .map(|f| (f[0], f[1]))
            .collect()
    }

    #[test]
    fn channels_line_up_and_gaps_are_silence() {
        let mut r = Recorder::new(Duration::from_secs(10));
        for i in 0..10u64 {
            r.push_caller(i, &frame(i as i16 + 1));
            if i != 3 {
                r.push_other(i, &frame(-(i as i16) - 1));
            }
        }
        // Caller frame 4 is skipped entirely by the caller; 10 and 11 only other.
        r.push_other(11, &frame(-12));
        assert_eq!(r.ready_frames(), 7);
        let mut out = Vec::new();
        assert_eq!(r.drain_ready(&mut out), 7);
        let f = firsts(&out);
        assert_eq!(f[0], (1, -1));
        assert_eq!(f[3], (4, 0));
        assert_eq!(f[6], (7, -7));
        // Late push for a frame already handed out.
        r.push_caller(2, &frame(9));
        assert_eq!(r.late_pushes(), 1);
        out.clear();
        assert_eq!(r.drain_all(&mut out), 5);
        assert_eq!(firsts(&out)[3], (0, 0));
        assert_eq!(firsts(&out)[4], (0, -12));
    }

    #[test]
    fn an_undrained_recorder_keeps_only_max_buffered() {
        let mut r = Recorder::new(Duration::from_secs(1));
        for i in 0..80u64 {
            r.push_caller(i, &frame(i as i16));
        }
        assert_eq!(r.dropped_frames(), 30);
        let mut out = Vec::new();
        assert_eq!(r.drain_all(&mut out), 50);
        assert_eq!(firsts(&out)[0], (30, 0));
    }

    #[test]
    fn streaming_and_one_shot_files_read_back() {
        let mut r = Recorder::new(Duration::from_secs(10));
        let mut file = Cursor::new(Vec::new());
        let mut sink = WavSink::new(&mut file).unwrap();
        let mut scratch = Vec::new();
        let mut written = 0;
        for i in 0..100u64 {
            r.push_caller(i, &frame(100));
            r.push_other(i, &frame(-100));
            if i % 25 == 24 {
                written += r.write_ready(&mut sink, &mut scratch).unwrap();
            }
        }
        assert_eq!(written, 95);
        let mut rest = Vec::new();
        r.drain_all(&mut rest);
        sink.write_interleaved(&rest).unwrap();
        assert_eq!(sink.frames_written(), 100);
        sink.finish().unwrap();
        file.set_position(0);
        let mut reader = hound::WavReader::new(file).unwrap();
        assert_eq!(reader.spec().channels, 2);
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.duration(), 16_000);
        let s: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!((s[0], s[1], s[31_999]), (100, -100, -100));

        let mut short = Recorder::new(Duration::from_secs(10));
        short.push_other(1, &frame(5));
        let mut file = Cursor::new(Vec::new());
        assert_eq!(short.finish_into(&mut file).unwrap(), 2);
        let bytes = file.into_inner();
        assert_eq!(bytes[..44], stereo_wav_header(320));
        assert_eq!(bytes.len(), 44 + 320 * 4);
    }
}
