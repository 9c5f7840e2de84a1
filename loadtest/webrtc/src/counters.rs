//! Counters: per direction, per call, and the run's totals.

use super::*;

/// One direction of media, counted at its receivers while the window is open.
#[derive(Default)]
pub(crate) struct Dir {
    /// Marked frames of the right call received.
    pub(crate) rx: AtomicU64,
    /// Frames missing from the sender's count between two received ones.
    pub(crate) lost: AtomicU64,
    /// Frames whose count was not above the last one received (reordered or duplicated).
    pub(crate) reordered: AtomicU64,
    /// Inter-arrival gaps over 40 ms, and the largest gap.
    pub(crate) late: AtomicU64,
    pub(crate) max_gap_us: AtomicU64,
    /// Marked frames of another call (a crossed bridge), and audio without the mark (music
    /// on hold, i.e. a call not bridged).
    pub(crate) foreign: AtomicU64,
    pub(crate) unmarked: AtomicU64,
    /// Frames sent (all the time).
    pub(crate) tx: AtomicU64,
    pub(crate) tx_err: AtomicU64,
}

/// Set-up, window and hang-up counters, summed over all calls.
pub(crate) struct Stats {
    pub(crate) measuring: AtomicBool,
    // Agents.
    pub(crate) agents_ready: AtomicU64,
    pub(crate) agents_failed: AtomicU64,
    pub(crate) offers: AtomicU64,
    pub(crate) accepts: AtomicU64,
    pub(crate) answers: AtomicU64,
    pub(crate) rtc_connected: AtomicU64,
    pub(crate) ws_connected: AtomicU64,
    pub(crate) rtc_failed: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) ended: AtomicU64,
    pub(crate) ended_in_window: AtomicU64,
    pub(crate) last_error: Mutex<String>,
    /// accept sent → str0m Connected, in ms.
    pub(crate) connect_ms: Mutex<Vec<f64>>,
    // SIP callers.
    pub(crate) up: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) server_bye: AtomicU64,
    pub(crate) bye_ok: AtomicU64,
    pub(crate) fail_by_class: [AtomicU64; 7],
    pub(crate) last_fail: Mutex<String>,
    // Media. c2b: caller → browser (SIP RTP in, SRTP out); b2c: browser → caller.
    pub(crate) c2b: Dir,
    pub(crate) b2c: Dir,
    /// Marked frames received in the window, per call, each way.
    pub(crate) c2b_call: Vec<AtomicU64>,
    pub(crate) b2c_call: Vec<AtomicU64>,
}

impl Stats {
    pub(crate) fn new(calls: usize) -> Stats {
        Stats {
            measuring: AtomicBool::new(false),
            agents_ready: AtomicU64::new(0),
            agents_failed: AtomicU64::new(0),
            offers: AtomicU64::new(0),
            accepts: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            rtc_connected: AtomicU64::new(0),
            ws_connected: AtomicU64::new(0),
            rtc_failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            ended_in_window: AtomicU64::new(0),
            last_error: Mutex::new(String::new()),
            connect_ms: Mutex::new(Vec::with_capacity(calls)),
            up: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            server_bye: AtomicU64::new(0),
            bye_ok: AtomicU64::new(0),
            fail_by_class: Default::default(),
            last_fail: Mutex::new(String::new()),
            c2b: Dir::default(),
            b2c: Dir::default(),
            c2b_call: (0..calls).map(|_| AtomicU64::new(0)).collect(),
            b2c_call: (0..calls).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(crate) fn error(&self, what: String) {
        self.errors.fetch_add(1, Relaxed);
        *self.last_error.lock().unwrap() = what;
    }
}

/// A 20 ms PCMU payload marked with the call and the sender's frame count.
pub(crate) const MAGIC: [u8; 2] = [0xB0, 0x0B];
pub(crate) const FRAME_BYTES: usize = 160;

pub(crate) fn marked(call: u32, count: u32) -> [u8; FRAME_BYTES] {
    let mut p = [0xFFu8; FRAME_BYTES]; // µ-law silence around the mark
    p[..2].copy_from_slice(&MAGIC);
    p[2..6].copy_from_slice(&call.to_be_bytes());
    p[6..10].copy_from_slice(&count.to_be_bytes());
    p
}

/// What one receiver has seen of its stream.
#[derive(Default)]
pub(crate) struct RxTrack {
    pub(crate) last_count: Option<u32>,
    pub(crate) last_at: Option<Instant>,
}

impl RxTrack {
    /// Counts one PCMU payload that should belong to `call`.
    pub(crate) fn on_payload(
        &mut self,
        st: &Stats,
        dir: &Dir,
        per_call: &[AtomicU64],
        call: u32,
        p: &[u8],
    ) {
        let now = Instant::now();
        let measuring = st.measuring.load(Relaxed);
        if p.len() < 10 || p[..2] != MAGIC {
            if measuring {
                dir.unmarked.fetch_add(1, Relaxed);
            }
            return;
        }
        let from = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
        let count = u32::from_be_bytes([p[6], p[7], p[8], p[9]]);
        if from != call {
            if measuring {
                dir.foreign.fetch_add(1, Relaxed);
            }
            return;
        }
        if measuring {
            dir.rx.fetch_add(1, Relaxed);
            if let Some(c) = per_call.get(call as usize) {
                c.fetch_add(1, Relaxed);
            }
            if let Some(last) = self.last_count {
                if count > last {
                    let missing = count - last - 1;
                    if missing > 0 && missing < 100_000 {
                        dir.lost.fetch_add(u64::from(missing), Relaxed);
                    }
                } else {
                    dir.reordered.fetch_add(1, Relaxed);
                }
            }
            if let Some(at) = self.last_at {
                let gap = now - at;
                if gap > Duration::from_millis(40) {
                    dir.late.fetch_add(1, Relaxed);
                }
                dir.max_gap_us.fetch_max(gap.as_micros() as u64, Relaxed);
            }
        }
        if self.last_count.is_none_or(|l| count > l) {
            self.last_count = Some(count);
        }
        self.last_at = Some(now);
    }
}
