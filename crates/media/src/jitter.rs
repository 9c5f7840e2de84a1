//! A small fixed-depth jitter buffer for received RTP frames: packets go in by
//! sequence number (wrap-around aware) as they arrive, and one frame comes out per
//! 20 ms tick, [`Frame::Audio`] or [`Frame::Missing`] (conceal: play silence).
//!
//! Behaviour, in order of the checks [`JitterBuffer::push`] makes:
//! - the first packet (or the first after a resync) starts **buffering**; playout
//!   begins once `depth` consecutive sequence numbers are spanned (default 3 frames,
//!   60 ms), and an earlier packet arriving before playout starts still gets in;
//! - a packet whose sequence number is already played out is **late** and dropped, a
//!   second copy of a buffered one is a **duplicate** and dropped;
//! - a jump of [`WINDOW`] or more ahead, or of more than [`MAX_LATE`] behind, is a new
//!   stream (new SSRC, or a long outage): the buffer **resyncs** to it.
//!
//! While playing, a gap in the sequence is one `Missing` frame (counted as lost); when
//! nothing is buffered ahead the buffer **underruns** and buffers `depth` again, so a
//! sender that pauses does not make everything after the pause late; when bursts pile
//! up more than twice `depth`, the oldest frames are dropped back to `depth`, so delay
//! never creeps up. Storage is [`WINDOW`] reusable slots: no allocation per packet once
//! every slot has held a payload, and every operation is O(1) (trimming is O(frames
//! dropped)).

/// Slots, and the largest forward jump kept without resyncing (640 ms of 20 ms frames).
pub const WINDOW: usize = 32;
/// The largest backward distance treated as a late packet rather than a new stream.
pub const MAX_LATE: u16 = 100;
/// Largest configurable depth.
pub const MAX_DEPTH: u16 = (WINDOW / 4) as u16;

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Buffered.
    Stored,
    /// Already buffered: dropped.
    Duplicate,
    /// Its turn has passed: dropped.
    Late,
    /// Taken as the start of a new stream: buffer flushed, packet buffered.
    Resync,
}

/// One tick's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The frame due now.
    Audio {
        /// RTP sequence number.
        seq: u16,
        /// RTP timestamp.
        timestamp: u32,
        /// The payload as received.
        payload: &'a [u8],
    },
    /// Nothing to play: lost, not yet buffered, or the stream paused.
    Missing,
}

/// Counters since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Frames played out.
    pub played: u64,
    /// Gaps played out as `Missing` while playing.
    pub lost: u64,
    /// Packets dropped as late.
    pub late: u64,
    /// Packets dropped as duplicates.
    pub duplicates: u64,
    /// Frames dropped to bring the delay back to `depth`.
    pub overflow: u64,
    /// Times the buffer ran dry and went back to buffering.
    pub underruns: u64,
    /// Times the buffer restarted on a new stream.
    pub resyncs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Buffering,
    Playing,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    filled: bool,
    seq: u16,
    timestamp: u32,
    payload: Vec<u8>,
}

/// The jitter buffer of one received stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    depth: u16,
    state: State,
    /// Next sequence number to play.
    next: u16,
    /// Highest sequence number buffered (valid unless idle).
    highest: u16,
    /// Whether anything has been played since the stream (re)started: until then an
    /// earlier packet may still move the start back.
    played_any: bool,
    slots: Vec<Slot>,
    stats: JitterStats,
}

fn slot_index(seq: u16) -> usize {
    usize::from(seq) % WINDOW
}

impl JitterBuffer {
    /// A buffer that delays playout by `depth` frames (clamped to `1..=MAX_DEPTH`).
    pub fn new(depth: u16) -> JitterBuffer {
        JitterBuffer {
            depth: depth.clamp(1, MAX_DEPTH),
            state: State::Idle,
            next: 0,
            highest: 0,
            played_any: false,
            slots: vec![Slot::default(); WINDOW],
            stats: JitterStats::default(),
        }
    }

    /// Counters since creation.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The configured depth in frames.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Sequence numbers spanned from the next to play to the highest buffered.
    fn span(&self) -> u16 {
        self.highest.wrapping_sub(self.next).wrapping_add(1)
    }

    /// Forgets everything buffered (e.g. the peer's SSRC changed).
    pub fn reset(&mut self) {
        for slot in &mut self.slots {
            slot.filled = false;
        }
        self.state = State::Idle;
    }

    fn store(&mut self, seq: u16, timestamp: u32, payload: &[u8]) {
        let slot = &mut self.slots[slot_index(seq)];
        slot.filled = true;
        slot.seq = seq;
        slot.timestamp = timestamp;
        slot.payload.clear();
        slot.payload.extend_from_slice(payload);
        if (seq.wrapping_sub(self.highest) as i16) > 0 {
            self.highest = seq;
        }
    }

    fn start(&mut self, seq: u16, timestamp: u32, payload: &[u8]) {
        self.reset();
        self.state = State::Buffering;
        self.next = seq;
        self.highest = seq;
        self.played_any = false;
        self.store(seq, timestamp, payload);
    }

    /// Offers a received packet.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8]) -> PushOutcome {
        if self.state == State::Idle {
            self.start(seq, timestamp, payload);
            return PushOutcome::Stored;
        }
        let ahead = seq.wrapping_sub(self.next) as i16;
        if ahead < 0 {
            let behind = ahead.unsigned_abs();
            let span_if_earlier = self.highest.wrapping_sub(seq);
            if !self.played_any && usize::from(span_if_earlier) < WINDOW {
                self.next = seq;
                self.store(seq, timestamp, payload);
                return PushOutcome::Stored;
            }
            if behind <= MAX_LATE {
                self.stats.late += 1;
                return PushOutcome::Late;
            }
        } else if (ahead as usize) < WINDOW {
            let slot = &self.slots[slot_index(seq)];
            if slot.filled && slot.seq == seq {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            self.store(seq, timestamp, payload);
            return PushOutcome::Stored;
        }
        self.stats.resyncs += 1;
        self.start(seq, timestamp, payload);
        PushOutcome::Resync
    }

    /// Drops the frame at `next` (if any) and moves on.
    fn skip(&mut self) {
        self.slots[slot_index(self.next)].filled = false;
        self.next = self.next.wrapping_add(1);
    }

    /// The frame due at this tick; call once per 20 ms.
    pub fn pop(&mut self) -> Frame<'_> {
        match self.state {
            State::Idle => return Frame::Missing,
            State::Buffering if self.span() < self.depth => return Frame::Missing,
            State::Buffering => {
                self.state = State::Playing;
                self.played_any = true;
            }
            State::Playing => {}
        }
        if (self.next.wrapping_sub(self.highest) as i16) > 0 {
            self.stats.underruns += 1;
            self.state = State::Buffering;
            return Frame::Missing;
        }
        if self.span() > 2 * self.depth {
            while self.span() > self.depth {
                if self.slots[slot_index(self.next)].filled {
                    self.stats.overflow += 1;
                }
                self.skip();
            }
        }
        let index = slot_index(self.next);
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        let slot = &mut self.slots[index];
        if !slot.filled || slot.seq != seq {
            self.stats.lost += 1;
            return Frame::Missing;
        }
        slot.filled = false;
        self.stats.played += 1;
        Frame::Audio {
            seq,
            timestamp: slot.timestamp,
            payload: &slot.payload,
        }
    }
}

#[cfg(test)]
#[path = "jitter_tests.rs"]
mod tests;
