//! Two-channel call recording, sans-IO: [`Recorder`] lines up 20 ms frames of both
//! directions by frame index (20 ms frames since the call started) and hands them out
//! as interleaved 8 kHz 16-bit stereo — channel 1 (left) the caller, channel 2 (right)
//! the other side (agent, or what Lifeline played).
//!
//! Frames are kept as the G.711 bytes that crossed the wire, in the leg's [`Law`], and
//! decoded only on the way out, at half the memory of linear audio. Nothing is lost: the
//! caller's audio is those bytes decoded, and what Lifeline plays or relays is recorded
//! as it was sent.
//!
//! Streaming, so a long call is never held in memory: the engine calls
//! [`Recorder::write_ready`] with a [`WavSink`] (or [`Recorder::drain_ready`]) every
//! [`DRAIN_EVERY`] and the ready frames go to the file. A frame is ready once a frame
//! [`HOLD_FRAMES`] newer has been pushed, so the other direction's frame of the same
//! instant still has time to arrive; pushes for frames already handed out are dropped
//! and counted as late. A frame (or the tail of a short payload) nobody pushed is
//! silence. The buffer is allocated once, for [`HOLD_FRAMES`] plus one drain period; if
//! the engine drains late it grows, up to `max_buffered`, beyond which the oldest frames
//! are dropped (counted) — the file then misses that stretch — and shrinks back at the
//! next drain.
//!
//! Writing keeps no buffer per call: [`Recorder::write_ready`] decodes into a buffer on
//! the stack and hands it to the [`WavSink`]'s writer with one `write_all` per half
//! second of audio, so the writer can be a plain `File` without a `BufWriter`.
//!
//! For writers that are not `Write + Seek` (async files), [`stereo_wav_header`] gives
//! the 44-byte header to write first and rewrite with the final length at the end.

use std::collections::VecDeque;
use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use crate::g711::decode_into;
use crate::tone::{FRAME_SAMPLES, Law};
use crate::wav::WavError;

/// Frames kept back for the slower direction before a frame is ready (100 ms).
pub const HOLD_FRAMES: u64 = 5;
/// Sample rate of recordings.
pub const RECORDING_RATE: u32 = 8000;
/// How often the engine is expected to drain a recorder: its buffer is allocated for
/// [`HOLD_FRAMES`] plus this long (and a little slack). Draining less often still
/// works, with a buffer that grows to fit.
pub const DRAIN_EVERY: Duration = Duration::from_millis(200);

/// Frames of slack in the initial buffer: a drain one tick late, and relayed frames
/// moving up to three ahead of the send clock (the session's limit) between drains.
const SLACK_FRAMES: usize = 4;
/// Bytes of one 20 ms frame in the file (16-bit stereo).
const FRAME_BYTES: usize = 2 * 2 * FRAME_SAMPLES;
/// Most frames decoded per `write_all` (half a second: 16 kB on the stack).
const WRITE_CHUNK_FRAMES: usize = 25;

/// One 20 ms frame of both directions: channel `c`'s G.711 bytes in
/// `bytes[c * FRAME_SAMPLES..]`, of which the first `len[c]` were pushed.
#[derive(Debug, Clone, Copy)]
struct Frame {
    bytes: [u8; 2 * FRAME_SAMPLES],
    len: [u8; 2],
}

const SILENT: Frame = Frame {
    bytes: [0; 2 * FRAME_SAMPLES],
    len: [0; 2],
};

impl Frame {
    /// Interleaved linear stereo; what was not pushed is 0.
    fn decode(&self, law: Law) -> [i16; 2 * FRAME_SAMPLES] {
        let mut channels = [[0i16; FRAME_SAMPLES]; 2];
        for (c, out) in channels.iter_mut().enumerate() {
            let bytes = &self.bytes[c * FRAME_SAMPLES..][..usize::from(self.len[c])];
            decode_into(law, bytes, out);
        }
        let mut samples = [0i16; 2 * FRAME_SAMPLES];
        for (pair, (l, r)) in samples
            .chunks_exact_mut(2)
            .zip(channels[0].iter().zip(&channels[1]))
        {
            pair[0] = *l;
            pair[1] = *r;
        }
        samples
    }
}

/// The recording of one call leg in progress.
#[derive(Debug, Clone)]
pub struct Recorder {
    law: Law,
    /// Frame index of `frames[0]`.
    base: u64,
    frames: VecDeque<Frame>,
    newest: Option<u64>,
    /// The capacity `frames` is allocated with (and shrinks back to).
    reserved: usize,
    max_frames: usize,
    late: u64,
    dropped: u64,
}

impl Recorder {
    /// A recorder of G.711 `law` audio starting at frame 0 that buffers at most
    /// `max_buffered` (at least one second) between drains.
    pub fn new(law: Law, max_buffered: Duration) -> Recorder {
        let max_frames = (max_buffered.as_millis() / 20).max(50) as usize;
        let drain_frames = DRAIN_EVERY.as_millis().div_ceil(20) as usize;
        let reserved = (HOLD_FRAMES as usize + drain_frames + SLACK_FRAMES).min(max_frames);
        Recorder {
            law,
            base: 0,
            frames: VecDeque::with_capacity(reserved),
            newest: None,
            reserved,
            max_frames,
            late: 0,
            dropped: 0,
        }
    }

    fn push(&mut self, frame_index: u64, channel: usize, payload: &[u8]) {
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
        if self.frames.len() <= offset {
            self.frames.resize(offset + 1, SILENT);
        }
        let frame = &mut self.frames[offset];
        let n = payload.len().min(FRAME_SAMPLES);
        frame.bytes[channel * FRAME_SAMPLES..][..n].copy_from_slice(&payload[..n]);
        frame.len[channel] = n as u8;
        self.newest = Some(self.newest.map_or(frame_index, |n| n.max(frame_index)));
    }

    /// The caller's audio for frame `frame_index` (channel 1): one frame's G.711
    /// payload in the recorder's law (bytes past 160 are ignored, missing ones are
    /// silence).
    pub fn push_caller(&mut self, frame_index: u64, payload: &[u8]) {
        self.push(frame_index, 0, payload);
    }

    /// The other side's audio for frame `frame_index` (channel 2), as for
    /// [`Recorder::push_caller`].
    pub fn push_other(&mut self, frame_index: u64, payload: &[u8]) {
        self.push(frame_index, 1, payload);
    }

    /// Frames ready to hand out.
    pub fn ready_frames(&self) -> usize {
        let Some(newest) = self.newest else { return 0 };
        let ready_below = (newest + 1).saturating_sub(HOLD_FRAMES);
        (ready_below.saturating_sub(self.base) as usize).min(self.frames.len())
    }

    /// Forgets the oldest `count` frames (handed out), giving back memory a late drain
    /// made the buffer grow by.
    fn consume(&mut self, count: usize) {
        self.frames.drain(..count);
        self.base += count as u64;
        if self.frames.capacity() > self.reserved && self.frames.len() <= self.reserved {
            self.frames.shrink_to(self.reserved);
        }
    }

    fn drain_frames(&mut self, count: usize, out: &mut Vec<i16>) -> usize {
        out.reserve(count * 2 * FRAME_SAMPLES);
        for frame in self.frames.range(..count) {
            out.extend_from_slice(&frame.decode(self.law));
        }
        self.consume(count);
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

    /// Writes the oldest `count` frames to `sink`, a chunk at a time; a frame leaves
    /// the buffer once written.
    fn write_frames<W: Write + Seek>(
        &mut self,
        count: usize,
        sink: &mut WavSink<W>,
    ) -> Result<usize, WavError> {
        let mut buf = [0u8; WRITE_CHUNK_FRAMES * FRAME_BYTES];
        let mut left = count;
        while left > 0 {
            let n = left.min(WRITE_CHUNK_FRAMES);
            for (frame, out) in self
                .frames
                .range(..n)
                .zip(buf.chunks_exact_mut(FRAME_BYTES))
            {
                for (bytes, s) in out.chunks_exact_mut(2).zip(frame.decode(self.law)) {
                    bytes.copy_from_slice(&s.to_le_bytes());
                }
            }
            sink.write_bytes(&buf[..n * FRAME_BYTES])?;
            self.consume(n);
            left -= n;
        }
        Ok(count)
    }

    /// Writes the ready frames to `sink`; returns how many frames. On an error the
    /// frames not yet written stay buffered.
    pub fn write_ready<W: Write + Seek>(
        &mut self,
        sink: &mut WavSink<W>,
    ) -> Result<usize, WavError> {
        self.write_frames(self.ready_frames(), sink)
    }

    /// Writes everything still buffered to `sink` and completes the file (end of
    /// call); returns the frames the file holds.
    pub fn finish<W: Write + Seek>(mut self, mut sink: WavSink<W>) -> Result<u64, WavError> {
        self.write_frames(self.frames.len(), &mut sink)?;
        let frames = sink.frames_written();
        sink.finish()?;
        Ok(frames)
    }

    /// Writes everything still buffered as a complete stereo WAV file; returns the
    /// frames written. For a call that was never drained this is the whole call.
    pub fn finish_into<W: Write + Seek>(self, writer: W) -> Result<u64, WavError> {
        self.finish(WavSink::new(writer)?)
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

/// A stereo 8 kHz 16-bit WAV being written straight to `W` (no buffering of its own:
/// each [`Recorder::write_ready`] is one write). The header goes out first with a zero
/// length and is rewritten with the real one by [`WavSink::finish`].
pub struct WavSink<W: Write + Seek> {
    writer: W,
    /// Where the header starts in `writer`.
    start: u64,
    /// Bytes of audio written after the header.
    bytes: u64,
}

impl<W: Write + Seek> std::fmt::Debug for WavSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("bytes", &self.bytes)
            .finish()
    }
}

fn io_error(e: std::io::Error) -> WavError {
    WavError::Write(hound::Error::IoError(e))
}

impl<W: Write + Seek> WavSink<W> {
    /// Starts a file on `writer` (at its current position) by writing the header.
    pub fn new(mut writer: W) -> Result<WavSink<W>, WavError> {
        let start = writer.stream_position().map_err(io_error)?;
        writer.write_all(&stereo_wav_header(0)).map_err(io_error)?;
        Ok(WavSink {
            writer,
            start,
            bytes: 0,
        })
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), WavError> {
        self.writer.write_all(bytes).map_err(io_error)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Stereo frames (sample pairs) written so far, divided into 20 ms frames.
    pub fn frames_written(&self) -> u64 {
        self.bytes / FRAME_BYTES as u64
    }

    /// Rewrites the header with the final lengths (capped at what a WAV can say, 4 GiB)
    /// and flushes.
    pub fn finish(mut self) -> Result<(), WavError> {
        let pairs = u32::try_from(self.bytes / 4).unwrap_or(u32::MAX);
        self.writer
            .seek(SeekFrom::Start(self.start))
            .map_err(io_error)?;
        self.writer
            .write_all(&stereo_wav_header(pairs))
            .map_err(io_error)?;
        self.writer.flush().map_err(io_error)
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
    use crate::g711::{alaw_to_linear, linear_to_ulaw, ulaw_to_linear};
    use std::io::Cursor;

    /// A µ-law frame of `v` (to within µ-law's resolution).
    fn frame(v: i16) -> [u8; FRAME_SAMPLES] {
        [linear_to_ulaw(v); FRAME_SAMPLES]
    }

    fn ulaw(v: i16) -> i16 {
        ulaw_to_linear(linear_to_ulaw(v))
    }

    /// (left, right) of the first sample of each interleaved frame.
    fn firsts(samples: &[i16]) -> Vec<(i16, i16)> {
        samples
            .chunks_exact(2 * FRAME_SAMPLES)
            .map(|f| (f[0], f[1]))
            .collect()
    }

    fn recorder(max_buffered: Duration) -> Recorder {
        Recorder::new(Law::Ulaw, max_buffered)
    }

    #[test]
    fn channels_line_up_and_gaps_are_silence() {
        let mut r = recorder(Duration::from_secs(10));
        for i in 0..10i16 {
            r.push_caller(i as u64, &frame(100 * (i + 1)));
            if i != 3 {
                r.push_other(i as u64, &frame(-100 * (i + 1)));
            }
        }
        // The other side skips frame 3; nobody pushes frame 10, only the other side 11.
        r.push_other(11, &frame(-1200));
        assert_eq!(r.ready_frames(), 7);
        let mut out = Vec::new();
        assert_eq!(r.drain_ready(&mut out), 7);
        let f = firsts(&out);
        assert_eq!(f[0], (ulaw(100), ulaw(-100)));
        assert_eq!(f[3], (ulaw(400), 0));
        assert_eq!(f[6], (ulaw(700), ulaw(-700)));
        // Late push for a frame already handed out.
        r.push_caller(2, &frame(900));
        assert_eq!(r.late_pushes(), 1);
        out.clear();
        assert_eq!(r.drain_all(&mut out), 5);
        assert_eq!(firsts(&out)[3], (0, 0));
        assert_eq!(firsts(&out)[4], (0, ulaw(-1200)));
    }

    #[test]
    fn the_bytes_decode_exactly_and_what_was_not_pushed_is_zero() {
        // A-law has no code for 0, so silence must come from what was not pushed.
        let mut r = Recorder::new(Law::Alaw, Duration::from_secs(10));
        let all: Vec<u8> = (0..=255).collect();
        r.push_caller(0, &all[..FRAME_SAMPLES]);
        r.push_other(0, &all[FRAME_SAMPLES..]);
        r.push_caller(1, &[0x55; 10]);
        r.push_other(1, &[0xD5; 200]);
        let mut out = Vec::new();
        assert_eq!(r.drain_all(&mut out), 2);
        for i in 0..FRAME_SAMPLES {
            assert_eq!(out[2 * i], alaw_to_linear(i as u8));
            let right = all.get(FRAME_SAMPLES + i).map_or(0, |b| alaw_to_linear(*b));
            assert_eq!(out[2 * i + 1], right);
        }
        let second = &out[2 * FRAME_SAMPLES..];
        assert_eq!(second[2 * 9], alaw_to_linear(0x55));
        assert_eq!(second[2 * 10], 0);
        assert!(second.chunks_exact(2).all(|p| p[1] == 8));
    }

    #[test]
    fn an_undrained_recorder_keeps_only_max_buffered() {
        let mut r = recorder(Duration::from_secs(1));
        for i in 0..80u64 {
            r.push_caller(i, &[i as u8; FRAME_SAMPLES]);
        }
        assert_eq!(r.dropped_frames(), 30);
        let mut out = Vec::new();
        assert_eq!(r.drain_all(&mut out), 50);
        assert_eq!(firsts(&out)[0], (ulaw_to_linear(30), 0));
    }

    #[test]
    fn the_buffer_is_allocated_once_and_shrinks_back_after_a_late_drain() {
        let mut r = recorder(Duration::from_secs(10));
        let reserved = r.frames.capacity();
        assert_eq!(reserved, 5 + 10 + 4);
        let mut file = Cursor::new(Vec::new());
        let mut sink = WavSink::new(&mut file).unwrap();
        // Drained every 220 ms (a tick late), relayed frames moving three ahead of the
        // clock halfway: the buffer fills up but does not grow.
        let mut most = 0;
        for i in 0..500u64 {
            r.push_caller(i, &frame(1));
            r.push_other(if i < 250 { i } else { i + 3 }, &frame(2));
            most = most.max(r.frames.len());
            if i % 11 == 10 {
                r.write_ready(&mut sink).unwrap();
            }
            assert_eq!(r.frames.capacity(), reserved, "frame {i}");
        }
        assert_eq!(most, reserved);
        // Two seconds without a drain: it grows, then gives the memory back.
        for i in 500..600u64 {
            r.push_caller(i, &frame(1));
        }
        assert!(r.frames.capacity() > reserved);
        r.write_ready(&mut sink).unwrap();
        assert_eq!(r.frames.capacity(), reserved);
        assert_eq!(r.dropped_frames(), 0);
    }

    #[test]
    fn streaming_and_one_shot_files_read_back() {
        let mut r = recorder(Duration::from_secs(10));
        let mut file = Cursor::new(Vec::new());
        let mut sink = WavSink::new(&mut file).unwrap();
        let mut written = 0;
        for i in 0..100u64 {
            r.push_caller(i, &frame(100));
            r.push_other(i, &frame(-100));
            if i % 25 == 24 {
                written += r.write_ready(&mut sink).unwrap();
            }
        }
        assert_eq!(written, 95);
        assert_eq!(r.finish(sink).unwrap(), 100);
        file.set_position(0);
        let mut reader = hound::WavReader::new(file).unwrap();
        assert_eq!(reader.spec().channels, 2);
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.spec().bits_per_sample, 16);
        assert_eq!(reader.duration(), 16_000);
        let s: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!((s[0], s[1], s[31_999]), (ulaw(100), ulaw(-100), ulaw(-100)));

        // More than one write chunk at the end, after something else in the file.
        let mut long = recorder(Duration::from_secs(10));
        for i in 0..60u64 {
            long.push_caller(i, &frame(7));
        }
        let mut file = Cursor::new(b"prefix".to_vec());
        file.set_position(6);
        assert_eq!(long.finish_into(&mut file).unwrap(), 60);
        let bytes = file.into_inner();
        assert_eq!(bytes[..6], *b"prefix");
        assert_eq!(bytes[6..50], stereo_wav_header(60 * 160));
        assert_eq!(bytes.len(), 50 + 60 * FRAME_BYTES);

        let mut short = recorder(Duration::from_secs(10));
        short.push_other(1, &frame(5));
        let mut file = Cursor::new(Vec::new());
        assert_eq!(short.finish_into(&mut file).unwrap(), 2);
        let bytes = file.into_inner();
        assert_eq!(bytes[..44], stereo_wav_header(320));
        assert_eq!(bytes.len(), 44 + 320 * 4);
    }

    /// Accepts `room` bytes, then fails.
    struct Full {
        inner: Cursor<Vec<u8>>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.room {
                return Err(std::io::Error::other("disk full"));
            }
            self.room -= buf.len();
            self.inner.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Full {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn a_failed_write_keeps_the_frames_it_did_not_write() {
        let mut r = recorder(Duration::from_secs(10));
        for i in 0..40u64 {
            r.push_caller(i, &frame(1));
        }
        let full = Full {
            inner: Cursor::new(Vec::new()),
            room: 44 + 25 * FRAME_BYTES,
        };
        let mut sink = WavSink::new(full).unwrap();
        assert!(matches!(r.write_ready(&mut sink), Err(WavError::Write(_))));
        assert_eq!(sink.frames_written(), 25);
        assert_eq!(r.ready_frames(), 35 - 25);
    }
}
