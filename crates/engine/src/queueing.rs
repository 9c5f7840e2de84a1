//! The ACD driver: the core's side of the pure [`Acd`]. It loads queues, agents and
//! memberships from the config, feeds the ACD what happens to calls and agents, and
//! carries out what the ACD asks: ring an agent (an INVITE to each of the agent's
//! registered phones, through `bridge.rs`, with the caller's number, queue and wait in
//! headers), stop ringing, let a caller go, and log each queue event.
//!
//! ```text
//! caller ──▶ enter_queue ──▶ Acd::enqueue           (music on hold)
//!                     Output::Offer ──▶ fork_to(agent's phones)
//!   agent's 2xx ──▶ leg_may_connect ──▶ Acd::offer_answered ──▶ media bridged
//!   agent's 4xx/408 ──▶ Acd::offer_failed ──▶ (re-offered to another agent)
//!   a hang-up ──▶ Acd::call_ended / Acd::abandon ──▶ wrap-up for the agent
//! ```
//!
//! An agent offered a call while none of its phones is registered cannot be rung; the
//! offer is reported unreachable a moment later ([`UNREACHABLE_DELAY`]) rather than at
//! once, so a queue whose only agent has no phone does not spin.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use lifeline_acd::{
    Acd, AgentSnapshot, EndedBy, Join, OfferFailure, Output, QueueEvent, QueueSnapshot, Status,
};
use lifeline_sip::{HeaderName, SipMessage};
use lifeline_store::{QueueLogEntry, Queued, Timestamp};

use lifeline_config::SayAs;
use lifeline_media::session::PlayItem;

use crate::calls::Cause;
use crate::core::Core;
use crate::ivr::say;

/// How long an offer to an agent with no registered phone waits before it is reported
/// unreachable.
pub(crate) const UNREACHABLE_DELAY: Duration = Duration::from_secs(2);

/// A call's time in the ACD, kept with the call for its record.
#[derive(Debug, Clone)]
pub(crate) struct QueueVisit {
    /// The queue the caller waits (or waited) in; changes on overflow.
    pub(crate) queue: String,
    /// When it joined.
    pub(crate) entered: Instant,
    /// The agent who took it, once one did.
    pub(crate) agent: Option<String>,
    /// The hold time, once an agent answered.
    pub(crate) waited: Option<Duration>,
    /// Music on hold to go back to.
    pub(crate) moh: Option<String>,
    /// The caller has left the ACD (exit key, queue timeout, no agents).
    pub(crate) left: bool,
}

impl QueueVisit {
    /// What the call record keeps of the visit.
    pub(crate) fn outcome(&self) -> Queued {
        let waited = self.waited.unwrap_or_else(|| self.entered.elapsed());
        Queued {
            queue: self.queue.clone(),
            agent: self.agent.clone(),
            wait_ms: i64::try_from(waited.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// What live views (the WebSocket `/api/v1/events`) are sent.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Every queue's statistics, after a change.
    Queues {
        /// The queues.
        queues: Vec<QueueSnapshot>,
    },
    /// Every agent's status and state, after a change.
    Agents {
        /// The agents.
        agents: Vec<AgentSnapshot>,
    },
    /// One queue event, as it is logged.
    QueueEvent {
        /// The event.
        event: QueueLogEntry,
    },
}

/// Snapshots go out at most this often, however busy the ACD is.
const PUSH_EVERY: Duration = Duration::from_millis(250);

/// The ACD and what the core needs to map its outputs back to calls.
#[derive(Debug)]
pub(crate) struct AcdDriver {
    pub(crate) acd: Acd,
    /// Live views' feed.
    pub(crate) live: tokio::sync::broadcast::Sender<std::sync::Arc<LiveEvent>>,
    /// Queues or agents changed since the last push.
    dirty: bool,
    /// When the last snapshots went out.
    last_push: Option<Instant>,
    /// Offers ringing, by offer id: the caller's call id.
    offers: HashMap<u64, u64>,
    /// The SIP Call-ID of each caller in the ACD, for the queue log.
    call_ids: HashMap<u64, String>,
    /// Offers to agents with no phone, to report unreachable at the given time.
    unreachable: Vec<(Instant, u64)>,
}

impl AcdDriver {
    /// The ACD with the config's agents (every user), queues and members.
    pub(crate) fn new(
        config: &lifeline_config::Config,
        now: Instant,
        live: tokio::sync::broadcast::Sender<std::sync::Arc<LiveEvent>>,
    ) -> AcdDriver {
        let mut acd = Acd::new(rand::random());
        for user in config.users() {
            acd.set_agent(&user.id, user.agent.clone());
        }
        for queue in config.queues() {
            acd.set_queue(&queue.name, queue.settings.clone());
            for m in &queue.members {
                if let Err(e) = acd.add_member(now, &queue.name, &m.id, m.member) {
                    tracing::warn!(queue = %queue.name, agent = %m.id, error = %e, "member not added");
                }
            }
        }
        AcdDriver {
            acd,
            live,
            dirty: false,
            last_push: None,
            offers: HashMap::new(),
            call_ids: HashMap::new(),
            unreachable: Vec::new(),
        }
    }

    /// The earliest time the driver must be woken.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let first_unreachable = self.unreachable.iter().map(|(t, _)| *t).min();
        [self.acd.poll_timeout(), first_unreachable, self.push_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Reports `offer` unreachable after [`UNREACHABLE_DELAY`] (its agent has no phone
    /// to ring).
    pub(crate) fn defer_unreachable(&mut self, now: Instant, offer: u64) {
        self.unreachable.push((now + UNREACHABLE_DELAY, offer));
    }

    /// When the pending snapshots are due.
    fn push_at(&self) -> Option<Instant> {
        self.dirty
            .then(|| self.last_push.map(|t| t + PUSH_EVERY))
            .flatten()
    }

    /// Sends fresh snapshots if something changed and the last push is old enough.
    fn push(&mut self, now: Instant) {
        if !self.dirty || self.push_at().is_some_and(|t| t > now) {
            return;
        }
        self.dirty = false;
        self.last_push = Some(now);
        // Nobody listening is not an error.
        let _ = self.live.send(std::sync::Arc::new(LiveEvent::Queues {
            queues: self.acd.queues(now),
        }));
        let _ = self.live.send(std::sync::Arc::new(LiveEvent::Agents {
            agents: self.acd.agents(now),
        }));
    }

    /// Live figures per queue.
    pub(crate) fn queues(&self, now: Instant) -> Vec<QueueSnapshot> {
        self.acd.queues(now)
    }

    /// Live status and state per agent.
    pub(crate) fn agents(&self, now: Instant) -> Vec<AgentSnapshot> {
        self.acd.agents(now)
    }
}

/// An agent feature code dialled from a phone: the status it sets and the prompt that
/// confirms it. `*41` logs in, `*42` logs out, `*43` takes a break, `*44` ends it.
pub(crate) fn feature_code(dialled: &str) -> Option<(Status, &'static str)> {
    match dialled {
        "*41" => Some((Status::Available, "agent-logged-in")),
        "*42" => Some((Status::LoggedOut, "agent-logged-out")),
        "*43" => Some((
            Status::Break {
                reason: "break".into(),
            },
            "agent-on-break",
        )),
        "*44" => Some((Status::Available, "agent-available")),
        _ => None,
    }
}

/// What a final response to an offer means to the ACD.
pub(crate) fn failure_of(status: u16) -> OfferFailure {
    match status {
        486 | 600 => OfferFailure::Busy,
        603 | 403 => OfferFailure::Rejected,
        404 | 410 | 503 | 604 => OfferFailure::Unreachable,
        _ => OfferFailure::NoAnswer,
    }
}

/// Wall-clock time of an ACD instant.
fn wall(at: Instant, now: Instant) -> Timestamp {
    let ago = now.saturating_duration_since(at);
    Timestamp::from_system_time(SystemTime::now() - ago)
}

impl Core {
    /// Puts answered call `id` in `queue`, with music on hold while it waits; a queue
    /// that refuses the caller (full, no agents) ends the call with that cause.
    pub(crate) fn enter_queue(
        &mut self,
        now: Instant,
        id: u64,
        queue: &str,
        priority: u8,
        skills: &[String],
        moh: Option<&str>,
    ) {
        let join = Join {
            priority,
            skills: skills.to_vec(),
        };
        match self.acd.acd.enqueue(now, id, queue, join) {
            Ok(pos) => {
                tracing::info!(call = id, %queue, priority, position = pos.position, "caller queued");
                if let Some(c) = self.calls.get_mut(&id) {
                    let call_id = c.a_invite.call_id().unwrap_or("").to_owned();
                    self.acd.call_ids.insert(id, call_id);
                    c.answered.queued = Some(QueueVisit {
                        queue: queue.to_owned(),
                        entered: now,
                        agent: None,
                        waited: None,
                        moh: moh.map(str::to_owned),
                        left: false,
                    });
                }
                let announces = self
                    .config
                    .find_queue(queue)
                    .is_some_and(|q| q.settings.announce_every.is_some());
                if announces {
                    self.announce(id, pos.position, pos.estimated_wait);
                } else {
                    self.hold(id, moh);
                }
            }
            Err(e) => {
                tracing::info!(call = id, %queue, error = %e, "queue refused the caller");
                self.hangup(now, id, Cause::QueueRefused);
            }
        }
        self.pump_acd(now);
    }

    /// Carries out everything the ACD has asked for.
    pub(crate) fn pump_acd(&mut self, now: Instant) {
        while let Some(out) = self.acd.acd.poll_output() {
            match out {
                Output::Offer {
                    offer,
                    caller,
                    agent,
                    queue,
                    waited,
                    callback,
                } => match callback {
                    Some(_) => self.start_callback(now, offer, caller, &agent, &queue, waited),
                    None => self.ring_agent(now, offer, caller, &agent, &queue, waited),
                },
                Output::CancelOffer { offer } => {
                    if let Some(call) = self.acd.offers.remove(&offer) {
                        self.cancel_forks(now, call, Some(offer));
                    } else if !self.cancel_browser_offer(offer) {
                        self.cancel_callback_offer(now, offer);
                    }
                }
                Output::Exit {
                    caller,
                    queue,
                    reason,
                } => self.on_queue_exit(now, caller, &queue, reason),
                Output::Announce {
                    caller,
                    position,
                    estimated_wait,
                } => self.announce(caller, position, estimated_wait),
                Output::AgentChanged { agent } => {
                    self.acd.dirty = true;
                    self.push_agent(now, &agent);
                }
                Output::Event(ev) => self.log_queue_event(now, ev),
            }
        }
        self.acd.push(now);
    }

    /// Tells a waiting caller its place and estimated wait (in whole minutes, rounded
    /// up), then goes back to music on hold. Prompts the config lacks are skipped.
    fn announce(&mut self, call: u64, position: usize, wait: Option<Duration>) {
        let Some(visit) = self
            .calls
            .get(&call)
            .and_then(|c| c.answered.queued.as_ref())
        else {
            return;
        };
        if visit.agent.is_some() || visit.left {
            return;
        }
        let moh = visit.moh.clone();
        let position = position.to_string();
        let mut names = vec!["queue-position"];
        names.extend(say::expand(&position, SayAs::Number));
        let minutes = wait.map(|w| w.as_secs().div_ceil(60).max(1).to_string());
        if let Some(m) = &minutes {
            names.push("queue-wait");
            names.extend(say::expand(m, SayAs::Number));
            names.push(if m == "1" { "minute" } else { "minutes" });
        }
        let mut items: Vec<PlayItem> = names
            .iter()
            .filter_map(|n| self.prompts.get(n))
            .map(PlayItem::Prompt)
            .collect();
        items.extend(self.moh_item(moh.as_deref()));
        self.play(call, items);
    }

    fn ring_agent(
        &mut self,
        now: Instant,
        offer: u64,
        call: u64,
        agent: &str,
        queue: &str,
        waited: Duration,
    ) {
        if self.consoles.attached(agent) {
            return self.offer_to_browser(offer, call, agent, queue, waited);
        }
        let contacts = self.contacts_of(now, agent);
        let caller = self
            .calls
            .get(&call)
            .and_then(|c| c.a_invite.from())
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_else(|| "anonymous".into());
        let headers = [
            (HeaderName::from_wire("X-Lifeline-Caller"), caller),
            (HeaderName::from_wire("X-Lifeline-Queue"), queue.to_owned()),
            (
                HeaderName::from_wire("X-Lifeline-Wait"),
                waited.as_secs().to_string(),
            ),
        ];
        if contacts.is_empty() || !self.fork_to(now, call, agent, contacts, Some(offer), &headers) {
            tracing::debug!(call, %agent, offer, "agent has no reachable phone");
            self.acd.defer_unreachable(now, offer);
            return;
        }
        tracing::info!(call, %agent, %queue, offer, "offering call to agent");
        self.acd.offers.insert(offer, call);
    }

    fn log_queue_event(&mut self, now: Instant, ev: QueueEvent) {
        let call_id = ev.caller.and_then(|c| self.acd.call_ids.get(&c).cloned());
        let entry = QueueLogEntry {
            at: wall(ev.at, now),
            call_id,
            queue: ev.queue,
            agent: ev.agent,
            event: ev.kind.as_str().to_owned(),
            data: ev.data,
        };
        if self.acd.live.receiver_count() > 0 {
            let event = LiveEvent::QueueEvent {
                event: entry.clone(),
            };
            let _ = self.acd.live.send(std::sync::Arc::new(event));
        }
        self.records.queue_event(entry);
        self.acd.dirty = true;
    }

    /// Call `id` has left the ACD by Lifeline's doing (a key, a transfer, a callback):
    /// its end is not an abandon. Then carries out what the ACD asks.
    pub(crate) fn left_acd(&mut self, now: Instant, id: u64) {
        if let Some(v) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.answered.queued.as_mut())
        {
            v.left = true;
        }
        self.pump_acd(now);
    }

    /// Stops labelling queue events of ACD caller `id` with a SIP Call-ID.
    pub(crate) fn forget_acd_call(&mut self, id: u64) {
        self.acd.call_ids.remove(&id);
    }

    /// Reports offers to phoneless agents whose delay has passed.
    pub(crate) fn on_acd_timers(&mut self, now: Instant) {
        let mut due = Vec::new();
        self.acd.unreachable.retain(|&(at, offer)| {
            let ready = at <= now;
            if ready {
                due.push(offer);
            }
            !ready
        });
        for offer in due {
            self.acd
                .acd
                .offer_failed(now, offer, OfferFailure::Unreachable);
        }
        self.acd.acd.handle_timeout(now);
        self.pump_acd(now);
    }

    /// Whether an agent's phone that answered `offer` may take the caller.
    pub(crate) fn offer_may_connect(&mut self, now: Instant, id: u64, offer: u64) -> bool {
        self.acd.offers.remove(&offer);
        let connected = match self.acd.acd.offer_answered(now, offer) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(call = id, offer, error = %e, "agent answered too late");
                self.pump_acd(now);
                return false;
            }
        };
        if let Some(v) = self
            .calls
            .get_mut(&id)
            .and_then(|c| c.answered.queued.as_mut())
        {
            v.agent = Some(connected.agent.clone());
            v.waited = Some(connected.waited);
        }
        self.pump_acd(now);
        true
    }

    /// Every phone rung for `offer` failed; `status` is the best final response.
    pub(crate) fn offer_failed(&mut self, now: Instant, offer: u64, status: u16) {
        if self.acd.offers.remove(&offer).is_some() {
            self.acd.acd.offer_failed(now, offer, failure_of(status));
            self.pump_acd(now);
        }
    }

    /// A call that may be in the ACD is ending: its caller abandons, or its connected
    /// call completes (the agent hung up when `by_agent`).
    pub(crate) fn leave_acd(&mut self, now: Instant, id: u64, by_agent: bool) {
        let visit = self.calls.get(&id).and_then(|c| c.answered.queued.as_ref());
        if let Some(visit) = visit.filter(|v| !v.left) {
            let call_back = self
                .config
                .find_queue(&visit.queue)
                .is_some_and(|q| q.callback_on_abandon);
            if visit.agent.is_some() {
                let by = if by_agent {
                    EndedBy::Agent
                } else {
                    EndedBy::Caller
                };
                self.acd.acd.call_ended(now, id, by);
            } else if !(call_back && self.register_callback(now, id)) {
                self.acd.acd.abandon(now, id);
            }
            self.pump_acd(now);
        }
        // Its last events are logged; nothing more comes for this call, unless it waits
        // on as a callback (whose events keep the original Call-ID).
        if !self.is_callback_entry(id) {
            self.forget_acd_call(id);
        }
    }

    /// Sets an agent's status (login, break, logout) from the API or a feature code.
    pub(crate) fn set_agent_status(
        &mut self,
        now: Instant,
        agent: &str,
        status: Status,
    ) -> Result<(), lifeline_acd::AcdError> {
        let r = self.acd.acd.set_status(now, agent, status);
        self.pump_acd(now);
        r
    }
}
