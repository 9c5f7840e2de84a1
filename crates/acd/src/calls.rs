//! Operations on callers: joining, leaving (hang-up, key, timeout, empty queue,
//! overflow), callbacks, answered and failed offers, and the end of a call. Each
//! caller that enters a queue leaves it with exactly one terminal event: a completion
//! (`COMPLETECALLER`, `COMPLETEAGENT`, `BLINDTRANSFER`) after `CONNECT`, or `ABANDON`,
//! `EXITWITHTIMEOUT`, `EXITEMPTY`, `EXITWITHKEY` or `EXITOVERFLOW` (followed by
//! `ENTERQUEUE` in the overflow queue).
//!
//! Callback entries (see [`Acd::request_callback`]) are exempt from the queue timeout,
//! announcements and `leave_empty`, and [`Acd::abandon`] leaves them alone: their
//! caller has already hung up and waits to be called back.

use std::time::{Duration, Instant};

use crate::acd::{Acd, Line};
use crate::agent::{Activity, QueueIx};
use crate::caller::{Connected, EndedBy, Entry, Join, Phase, Place, Position};
use crate::error::{AcdError, JoinError, StaleOffer};
use crate::events::{EventKind, ExitReason, Output};
use crate::skills::SkillSet;
use crate::{CallerId, OfferId};

impl Acd {
    /// Puts a caller in a queue (`ENTERQUEUE`). Returns its position, for the engine to
    /// announce at once; it may already have been offered (see [`Acd::poll_output`]).
    pub fn enqueue(
        &mut self,
        now: Instant,
        caller: CallerId,
        queue: &str,
        join: Join,
    ) -> Result<Position, JoinError> {
        let qi = self.queue(queue).map_err(|_| JoinError::UnknownQueue)?;
        if self.callers.contains_key(&caller) {
            return Err(JoinError::AlreadyQueued);
        }
        self.may_join(qi)?;
        let place = Place {
            priority: std::cmp::Reverse(join.priority),
            seq: self.next_seq,
            caller,
        };
        self.next_seq += 1;
        let skills = self.skills.set(join.skills.iter().map(String::as_str));
        let position = self.admit(now, qi, place, skills, Vec::new());
        self.settle(now);
        Ok(position)
    }

    /// The caller hung up while waiting or ringing (`ABANDON`); its offers are
    /// withdrawn. Does nothing for a callback entry or an unknown caller; for a
    /// connected caller use [`Acd::call_ended`].
    pub fn abandon(&mut self, now: Instant, caller: CallerId) {
        if self.callers.get(&caller).is_some_and(Entry::on_hold) {
            self.leave(now, caller, EventKind::Abandon, None, None);
            self.settle(now);
        }
    }

    /// The caller pressed `key`. If it is the queue's exit key, the caller leaves
    /// (`EXITWITHKEY`) and this returns true; otherwise nothing happens.
    pub fn exit_with_key(&mut self, now: Instant, caller: CallerId, key: char) -> bool {
        let Some(entry) = self.callers.get(&caller).filter(|e| e.on_hold()) else {
            return false;
        };
        if self.queues[entry.queue].settings.exit_key != Some(key) {
            return false;
        }
        self.leave(
            now,
            caller,
            EventKind::ExitWithKey,
            Some(key.to_string()),
            None,
        );
        self.settle(now);
        true
    }

    /// Turns a waiting (or ringing) caller into a callback entry (`CALLBACKREQUEST`):
    /// it keeps its place and priority, ringing offers are withdrawn, and its next
    /// offer carries `number`. The engine may then end the caller's call.
    pub fn request_callback(
        &mut self,
        now: Instant,
        caller: CallerId,
        number: &str,
    ) -> Result<(), AcdError> {
        let entry = self
            .callers
            .get(&caller)
            .ok_or(AcdError::UnknownCaller(caller))?;
        if !entry.on_hold() {
            return Err(AcdError::NotWaiting(caller));
        }
        self.withdraw_offers(now, caller);
        let Some(entry) = self.callers.get_mut(&caller) else {
            return Err(AcdError::UnknownCaller(caller));
        };
        entry.callback = Some(number.to_owned());
        entry.timeout_at = None;
        entry.announce_at = None;
        let (qi, place) = (entry.queue, entry.place);
        let queue = &mut self.queues[qi];
        queue.callbacks += 1;
        let position = queue.position(&place).to_string();
        let line = Line {
            kind: EventKind::CallbackRequest,
            queue: qi,
            caller: Some(caller),
            agent: None,
            data: vec![position],
        };
        self.log(now, line, Duration::ZERO);
        self.settle(now);
        Ok(())
    }

    /// An agent answered (`CONNECT`): bridge the caller and the agent. Any other
    /// ringall offer for the caller is cancelled. Fails for an offer that was already
    /// cancelled or timed out: the engine then hangs up the agent leg.
    pub fn offer_answered(
        &mut self,
        now: Instant,
        offer: OfferId,
    ) -> Result<Connected, StaleOffer> {
        let o = self.offers.remove(&offer).ok_or(StaleOffer(offer))?;
        let Some(entry) = self.callers.get_mut(&o.caller) else {
            return Err(StaleOffer(offer));
        };
        let others = match std::mem::replace(
            &mut entry.phase,
            Phase::Connected {
                agent: o.agent,
                at: now,
            },
        ) {
            Phase::Ringing { offers } => offers,
            Phase::Waiting | Phase::Connected { .. } => Vec::new(),
        };
        (entry.timeout_at, entry.widen_at, entry.announce_at) = (None, None, None);
        let waited = entry.waited(now);
        let (place, callback) = (entry.place, entry.callback.is_some());
        let queue = &mut self.queues[o.queue];
        queue.ringing.remove(&place);
        queue.callbacks -= usize::from(callback);

        let agent = &mut self.agents[o.agent];
        agent.answered += 1;
        agent.missed_in_row = 0;
        if let Some(membership) = agent.membership_mut(o.queue) {
            membership.answered += 1;
        }
        self.set_activity(now, o.agent, Activity::OnCall { caller: o.caller });
        let ring = now.saturating_duration_since(o.rung_at);
        let data = vec![
            waited.as_secs().to_string(),
            offer.to_string(),
            ring.as_secs().to_string(),
        ];
        let line = Line {
            kind: EventKind::Connect,
            queue: o.queue,
            caller: Some(o.caller),
            agent: Some(o.agent),
            data,
        };
        self.log(now, line, waited);
        for other in others.into_iter().filter(|&id| id != offer) {
            self.withdraw_offer(now, other);
        }
        let connected = Connected {
            caller: o.caller,
            agent: self.agents[o.agent].id.clone(),
            queue: self.queues[o.queue].name.clone(),
            waited,
        };
        self.settle(now);
        Ok(connected)
    }

    /// An offer was not answered (`RINGNOANSWER`, with the reason). It counts towards
    /// the agent's auto-pause; the caller waits again in its place and is offered to
    /// another agent first if one is eligible. Unknown offers are ignored.
    pub fn offer_failed(&mut self, now: Instant, offer: OfferId, why: crate::OfferFailure) {
        if self.offers.contains_key(&offer) {
            self.fail_offer(now, offer, why);
            self.settle(now);
        }
    }

    /// A connected call ended (`COMPLETECALLER` / `COMPLETEAGENT`); the agent goes to
    /// wrap-up, or straight to idle with no wrap-up time. For a caller still waiting
    /// or ringing this is [`Acd::abandon`].
    pub fn call_ended(&mut self, now: Instant, caller: CallerId, by: EndedBy) {
        let kind = match by {
            EndedBy::Caller => EventKind::CompleteCaller,
            EndedBy::Agent => EventKind::CompleteAgent,
        };
        match self.callers.get(&caller).map(|e| &e.phase) {
            Some(Phase::Connected { .. }) => {
                self.complete(now, caller, kind);
                self.settle(now);
            }
            Some(_) => self.abandon(now, caller),
            None => {}
        }
    }

    /// The agent transferred the connected caller away (`BLINDTRANSFER`); the agent is
    /// freed as when it hangs up. Does nothing unless the caller is connected.
    pub fn transferred(&mut self, now: Instant, caller: CallerId) {
        if let Some(Phase::Connected { .. }) = self.callers.get(&caller).map(|e| &e.phase) {
            self.complete(now, caller, EventKind::BlindTransfer);
            self.settle(now);
        }
    }

    /// Why `qi` refuses a new caller, if it does.
    fn may_join(&self, qi: QueueIx) -> Result<(), JoinError> {
        let queue = &self.queues[qi];
        if queue.settings.max_len.is_some_and(|max| queue.len() >= max) {
            return Err(JoinError::Full);
        }
        if queue.staffing.holds(queue.settings.join_empty) {
            return Err(JoinError::Empty);
        }
        Ok(())
    }

    /// Inserts a caller in `qi` at `place` (`ENTERQUEUE`) and starts its timers. `left`
    /// lists the queues it overflowed out of.
    fn admit(
        &mut self,
        now: Instant,
        qi: QueueIx,
        place: Place,
        skills: SkillSet,
        left: Vec<QueueIx>,
    ) -> Position {
        let queue = &mut self.queues[qi];
        let position = queue.position(&place);
        queue.waiting.insert(place);
        let entry = Entry {
            queue: qi,
            place,
            skills,
            entered: now,
            orig_position: position,
            phase: Phase::Waiting,
            callback: None,
            avoid: None,
            timeout_at: None,
            widen_at: None,
            announce_at: None,
            left,
        };
        self.callers.insert(place.caller, entry);
        self.retime_caller(now, place.caller);
        self.dirty_callers.push(place.caller);
        // A queue whose `leave_empty` rule already holds lets the caller go at once.
        self.emptied_queues.push(qi);
        let line = Line {
            kind: EventKind::EnterQueue,
            queue: qi,
            caller: Some(place.caller),
            agent: None,
            data: vec![place.priority.0.to_string(), position.to_string()],
        };
        self.log(now, line, Duration::ZERO);
        Position {
            position,
            estimated_wait: self.queues[qi].stats.estimated_wait,
        }
    }

    /// Takes a caller out of its queue with a terminal event whose data is
    /// `[prefix] position, original position, wait (s) [suffix]`; offers are withdrawn.
    pub(crate) fn leave(
        &mut self,
        now: Instant,
        caller: CallerId,
        kind: EventKind,
        prefix: Option<String>,
        suffix: Option<String>,
    ) -> Option<Entry> {
        self.withdraw_offers(now, caller);
        let entry = self.callers.remove(&caller)?;
        let queue = &mut self.queues[entry.queue];
        let position = queue.position(&entry.place);
        queue.waiting.remove(&entry.place);
        queue.callbacks -= usize::from(entry.callback.is_some());
        let mut data: Vec<String> = prefix.into_iter().collect();
        data.extend([
            position.to_string(),
            entry.orig_position.to_string(),
            entry.waited(now).as_secs().to_string(),
        ]);
        data.extend(suffix);
        let line = Line {
            kind,
            queue: entry.queue,
            caller: Some(caller),
            agent: None,
            data,
        };
        self.log(now, line, Duration::ZERO);
        Some(entry)
    }

    /// The queue timeout of a caller on hold: overflow if the target takes it (and the
    /// caller has not already overflowed out of it, so chains cannot loop), else
    /// voicemail or plain timeout.
    pub(crate) fn time_out(&mut self, now: Instant, caller: CallerId) {
        let Some(entry) = self.callers.get(&caller) else {
            return;
        };
        let qi = entry.queue;
        let settings = &self.queues[qi].settings;
        let target = settings
            .overflow
            .as_deref()
            .and_then(|name| self.queue_ix.get(name).copied())
            .filter(|&to| to != qi && !entry.left.contains(&to) && self.may_join(to).is_ok());
        let from = self.queues[qi].name.clone();
        if let Some(to) = target {
            let to_name = self.queues[to].name.clone();
            let suffix = Some(to_name.clone());
            if let Some(mut entry) = self.leave(now, caller, EventKind::ExitOverflow, None, suffix)
            {
                self.exit(caller, from, ExitReason::Overflow { to: to_name });
                entry.left.push(qi);
                self.admit(now, to, entry.place, entry.skills, entry.left);
            }
            return;
        }
        let reason = if settings.voicemail_on_timeout {
            ExitReason::Voicemail
        } else {
            ExitReason::Timeout
        };
        if self
            .leave(now, caller, EventKind::ExitWithTimeout, None, None)
            .is_some()
        {
            self.exit(caller, from, reason);
        }
    }

    /// Sends every caller on hold away if the queue's `leave_empty` rule holds.
    pub(crate) fn check_empty(&mut self, now: Instant, qi: QueueIx) {
        let queue = &self.queues[qi];
        if !queue.staffing.holds(queue.settings.leave_empty) {
            return;
        }
        let leaving: Vec<CallerId> = queue
            .ringing
            .iter()
            .chain(&queue.waiting)
            .map(|place| place.caller)
            .filter(|caller| self.callers.get(caller).is_some_and(Entry::on_hold))
            .collect();
        for caller in leaving {
            if self
                .leave(now, caller, EventKind::ExitEmpty, None, None)
                .is_some()
            {
                self.exit(caller, self.queues[qi].name.clone(), ExitReason::Empty);
            }
        }
    }

    fn exit(&mut self, caller: CallerId, queue: String, reason: ExitReason) {
        self.outputs.push_back(Output::Exit {
            caller,
            queue,
            reason,
        });
    }

    /// Ends a connected call with a completion event and frees the agent.
    fn complete(&mut self, now: Instant, caller: CallerId, kind: EventKind) {
        let Some(entry) = self.callers.remove(&caller) else {
            return;
        };
        let Phase::Connected { agent: ai, at } = entry.phase else {
            return;
        };
        let hold = at.saturating_duration_since(entry.entered);
        let talk = now.saturating_duration_since(at);
        let data = vec![
            hold.as_secs().to_string(),
            talk.as_secs().to_string(),
            entry.orig_position.to_string(),
        ];
        let line = Line {
            kind,
            queue: entry.queue,
            caller: Some(caller),
            agent: Some(ai),
            data,
        };
        self.log(now, line, talk);
        let agent = &mut self.agents[ai];
        agent.last_call_end = Some(now);
        let wrap_up = agent.settings.wrap_up;
        let activity = match now.checked_add(wrap_up) {
            Some(until) if !wrap_up.is_zero() => Activity::WrapUp { until },
            _ => Activity::Idle,
        };
        self.set_activity(now, ai, activity);
    }
}
