//! How a caller leaves a queue without an agent: the queue timeout (hang up, or a
//! voice message when the queue says so), no agents left (`leave_empty`), an overflow
//! to another queue, or a key — the exit key, or the callback key (`callback.rs`).
//!
//! A queue voice message plays `leave-message` and `beep`, records up to
//! [`QUEUE_VOICEMAIL_MAX`] (`#` ends it), lists it with the other voice messages, says
//! `goodbye` and hangs up (cause `queue voicemail`).

use std::time::{Duration, Instant};

use lifeline_acd::ExitReason;
use lifeline_media::session::PlayItem;

use crate::calls::Cause;
use crate::core::Core;

/// The longest voice message a queue takes.
pub(crate) const QUEUE_VOICEMAIL_MAX: Duration = Duration::from_secs(120);

/// Where a queue voice message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueVoicemail {
    /// The invitation and the beep play.
    Prompt,
    /// The message is being recorded.
    Recording,
}

impl Core {
    pub(crate) fn on_queue_exit(
        &mut self,
        now: Instant,
        call: u64,
        queue: &str,
        reason: ExitReason,
    ) {
        let left = !matches!(reason, ExitReason::Overflow { .. });
        if let Some(v) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.answered.queued.as_mut())
        {
            v.left = left;
        }
        match reason {
            ExitReason::Overflow { to } => {
                tracing::info!(call, from = %queue, %to, "caller overflowed");
                if let Some(v) = self
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.answered.queued.as_mut())
                {
                    v.queue = to;
                }
            }
            ExitReason::Timeout => self.hangup(now, call, Cause::QueueTimeout),
            ExitReason::Voicemail => self.queue_voicemail(call),
            ExitReason::Empty => self.hangup(now, call, Cause::QueueEmpty),
        }
    }

    /// A key the caller pressed while queued: the queue's callback key asks for a
    /// callback, its exit key lets the caller leave.
    pub(crate) fn queue_digit(&mut self, now: Instant, id: u64, digit: char) -> bool {
        let Some(visit) = self.calls.get(&id).and_then(|c| c.answered.queued.as_ref()) else {
            return false;
        };
        if visit.agent.is_some() || visit.left {
            return false;
        }
        let callback_key = self
            .config
            .find_queue(&visit.queue)
            .and_then(|q| q.callback_key);
        if callback_key == Some(digit) {
            return self.request_callback(now, id);
        }
        if !self.acd.acd.exit_with_key(now, id, digit) {
            return false;
        }
        self.left_acd(now, id);
        self.hangup(now, id, Cause::QueueExitKey);
        true
    }

    /// The queue timed out into voicemail: invite the caller to leave a message.
    fn queue_voicemail(&mut self, id: u64) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.answered.queue_voicemail = Some(QueueVoicemail::Prompt);
        let items = ["leave-message", "beep"]
            .iter()
            .filter_map(|n| self.prompts.get(n))
            .map(PlayItem::Prompt)
            .collect();
        self.play(id, items);
    }

    /// A play or a recording of the queue voice message ended; true if it was one.
    pub(crate) fn queue_voicemail_step(&mut self, id: u64) -> bool {
        let Some(c) = self.calls.get_mut(&id) else {
            return false;
        };
        match c.answered.queue_voicemail {
            Some(QueueVoicemail::Prompt) => {
                c.answered.queue_voicemail = Some(QueueVoicemail::Recording);
                self.record_voicemail(id, QUEUE_VOICEMAIL_MAX);
                true
            }
            Some(QueueVoicemail::Recording) => {
                c.answered.queue_voicemail = None;
                self.confirm_and_hang_up(id, "goodbye", Cause::QueueVoicemail);
                true
            }
            None => false,
        }
    }
}
