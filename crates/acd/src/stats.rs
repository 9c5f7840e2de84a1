//! Live queue statistics. They are updated by the same call that writes each queue-log
//! event ([`QueueStats::record`]), so they always equal a recount of the log:
//!
//! | figure | from |
//! |---|---|
//! | offered | `ENTERQUEUE` |
//! | answered, ASA, service level | `CONNECT` and its hold time |
//! | abandoned, timed out | `ABANDON`, `EXITWITHTIMEOUT` |
//! | exited | `EXITEMPTY`, `EXITWITHKEY`, `EXITOVERFLOW` |
//! | completed, AHT | `COMPLETECALLER`, `COMPLETEAGENT`, `BLINDTRANSFER` and their talk time |
//!
//! Service level is answered within the target ÷ (answered + abandoned + timed out):
//! callers who gave up or were sent away count against it, whenever they left.
//! Callers who chose to leave (exit key) or were routed on (empty, overflow) do not
//! count. Abandon rate is abandoned ÷ offered. The estimated wait smooths answered
//! callers' hold times, `new = 0.8 × old + 0.2 × hold`, starting from the first one.

use std::time::Duration;

use crate::events::EventKind;

/// Weight of the newest hold time in the estimated wait.
const SMOOTHING: f64 = 0.2;

/// One queue's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueueStats {
    pub(crate) offered: u64,
    pub(crate) answered: u64,
    pub(crate) abandoned: u64,
    pub(crate) timed_out: u64,
    pub(crate) exited: u64,
    pub(crate) completed: u64,
    pub(crate) answered_in_target: u64,
    pub(crate) hold_total: Duration,
    pub(crate) talk_total: Duration,
    pub(crate) estimated_wait: Option<Duration>,
}

impl QueueStats {
    /// Counts one event. `span` is the hold time of a `CONNECT` and the talk time of a
    /// completion; other kinds ignore it. `target` is the queue's service level.
    pub(crate) fn record(&mut self, kind: EventKind, span: Duration, target: Duration) {
        match kind {
            EventKind::EnterQueue => self.offered += 1,
            EventKind::Connect => {
                self.answered += 1;
                self.hold_total += span;
                if span <= target {
                    self.answered_in_target += 1;
                }
                self.estimated_wait = Some(match self.estimated_wait {
                    None => span,
                    Some(old) => old.mul_f64(1.0 - SMOOTHING) + span.mul_f64(SMOOTHING),
                });
            }
            EventKind::CompleteCaller | EventKind::CompleteAgent | EventKind::BlindTransfer => {
                self.completed += 1;
                self.talk_total += span;
            }
            EventKind::Abandon => self.abandoned += 1,
            EventKind::ExitWithTimeout => self.timed_out += 1,
            EventKind::ExitEmpty | EventKind::ExitWithKey | EventKind::ExitOverflow => {
                self.exited += 1;
            }
            EventKind::RingNoAnswer
            | EventKind::RingCanceled
            | EventKind::AddMember
            | EventKind::RemoveMember
            | EventKind::Pause
            | EventKind::Unpause
            | EventKind::AgentLogin
            | EventKind::AgentLogoff
            | EventKind::CallbackRequest => {}
        }
    }

    /// Percentage of answered-in-target among answered, abandoned and timed out.
    pub(crate) fn service_level_pct(&self) -> Option<f64> {
        percent(
            self.answered_in_target,
            self.answered + self.abandoned + self.timed_out,
        )
    }

    /// Percentage of offered callers who abandoned.
    pub(crate) fn abandon_rate_pct(&self) -> Option<f64> {
        percent(self.abandoned, self.offered)
    }

    /// Average speed of answer: mean hold time of answered callers, in seconds.
    pub(crate) fn asa_secs(&self) -> Option<f64> {
        mean_secs(self.hold_total, self.answered)
    }

    /// Average handle time: mean talk time of completed calls, in seconds.
    pub(crate) fn aht_secs(&self) -> Option<f64> {
        mean_secs(self.talk_total, self.completed)
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn mean_secs(total: Duration, count: u64) -> Option<f64> {
    (count > 0).then(|| total.as_secs_f64() / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: Duration = Duration::from_secs(20);

    #[test]
    fn service_level_counts_abandons_and_timeouts_against() {
        let mut stats = QueueStats::default();
        assert_eq!(stats.service_level_pct(), None);
        stats.record(EventKind::Connect, Duration::from_secs(5), TARGET);
        stats.record(EventKind::Connect, Duration::from_secs(30), TARGET);
        stats.record(EventKind::Abandon, Duration::ZERO, TARGET);
        stats.record(EventKind::ExitWithTimeout, Duration::ZERO, TARGET);
        stats.record(EventKind::ExitWithKey, Duration::ZERO, TARGET);
        assert_eq!(stats.service_level_pct(), Some(25.0));
        assert_eq!(stats.asa_secs(), Some(17.5));
        assert_eq!(stats.exited, 1);
    }

    #[test]
    fn estimated_wait_smooths_hold_times() {
        let mut stats = QueueStats::default();
        stats.record(EventKind::Connect, Duration::from_secs(10), TARGET);
        assert_eq!(stats.estimated_wait, Some(Duration::from_secs(10)));
        stats.record(EventKind::Connect, Duration::from_secs(60), TARGET);
        assert_eq!(stats.estimated_wait, Some(Duration::from_secs(20)));
    }
}
