//! The post-call satisfaction survey: when an agent hangs up first on a queue call
//! whose queue asks for it, the caller stays on the line, is asked for a rating (a key
//! from 1 to 5), hears a thank-you and is hung up. The rating is kept with the call
//! record as `satisfaction`; a caller who presses nothing within [`SURVEY_TIMEOUT`]
//! (or hangs up) simply leaves no rating.

use std::time::{Duration, Instant};

use lifeline_media::session::PlayItem;

use crate::calls::{CallTimer, Cause};
use crate::core::Core;
use crate::session::MediaCmd;

/// How long the caller has to press a key once the question has started.
pub(crate) const SURVEY_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a call's survey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Survey {
    /// The question plays or has played; a key 1–5 answers it.
    Asking,
    /// The thank-you plays; the call ends after it.
    Thanking,
}

impl Core {
    /// The agent hung up call `id`. If its queue runs a survey, the caller is asked for
    /// a rating and true is returned; otherwise the caller is to be hung up.
    pub(crate) fn survey_after_agent(&mut self, now: Instant, id: u64) -> bool {
        let Some(visit) = self.calls.get(&id).and_then(|c| c.answered.queued.clone()) else {
            return false;
        };
        let wanted = visit.agent.is_some()
            && !visit.left
            && self
                .config
                .find_queue(&visit.queue)
                .is_some_and(|q| q.satisfaction_survey);
        if !wanted {
            return false;
        }
        self.leave_acd(now, id, true);
        self.drop_leg(id);
        self.end_browser_call(id, Cause::CalleeHungUp.as_str());
        let Some(c) = self.calls.get_mut(&id) else {
            return false;
        };
        if let Some(v) = c.answered.queued.as_mut() {
            v.left = true;
        }
        c.answered.survey = Some(Survey::Asking);
        self.media_cmd(id, MediaCmd::Unbridge);
        let items = self
            .prompts
            .get("rate-call")
            .map(PlayItem::Prompt)
            .into_iter()
            .collect();
        self.play(id, items);
        self.call_timers.push(std::cmp::Reverse((
            now + SURVEY_TIMEOUT,
            id,
            CallTimer::Survey,
        )));
        tracing::info!(call = id, queue = %visit.queue, "satisfaction survey");
        true
    }

    /// A key during the survey; true if the survey took it.
    pub(crate) fn survey_digit(&mut self, id: u64, digit: char) -> bool {
        let Some(c) = self.calls.get_mut(&id) else {
            return false;
        };
        match c.answered.survey {
            Some(Survey::Asking) => {
                if let Some(rating) = digit.to_digit(10).filter(|d| (1..=5).contains(d)) {
                    c.answered.satisfaction = u8::try_from(rating).ok();
                    c.answered.survey = Some(Survey::Thanking);
                    let items = self.prompts.get("thank-you").map_or(
                        PlayItem::Silence(Duration::from_millis(300)),
                        PlayItem::Prompt,
                    );
                    self.play(id, vec![items]);
                }
                true
            }
            Some(Survey::Thanking) => true,
            None => false,
        }
    }

    /// A play ended during the survey; true if the survey took it (the thank-you ended:
    /// hang up).
    pub(crate) fn survey_playback_done(&mut self, now: Instant, id: u64) -> bool {
        match self.calls.get(&id).and_then(|c| c.answered.survey) {
            Some(Survey::Thanking) => {
                self.hangup(now, id, Cause::CalleeHungUp);
                true
            }
            Some(Survey::Asking) => true,
            None => false,
        }
    }

    /// The survey's time is up: a caller who has not answered is hung up.
    pub(crate) fn on_survey_timer(&mut self, now: Instant, id: u64) {
        if self
            .calls
            .get(&id)
            .is_some_and(|c| c.answered.survey == Some(Survey::Asking))
        {
            self.hangup(now, id, Cause::CalleeHungUp);
        }
    }
}
