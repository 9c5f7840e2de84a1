//! An independent model of the ACD's observable state, rebuilt only from its outputs,
//! with the documented rules written out again as an oracle. Every output is checked
//! against the model as it is replayed, in order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use lifeline_acd::{
    AUTO_PAUSE_REASON, AgentSettings, CallerId, EventKind, Member, OfferId, Output, QueueEvent,
    QueueSettings, Strategy,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Ringing(BTreeSet<OfferId>),
    Connected(String),
    /// Left with an `EXITOVERFLOW`, about to enter the next queue.
    Moving,
    Done,
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub queue: String,
    pub priority: u8,
    pub seq: u64,
    pub entered: Instant,
    pub skills: BTreeSet<String>,
    pub phase: Phase,
    pub callback: bool,
}

impl Caller {
    pub fn on_hold(&self) -> bool {
        !self.callback && matches!(self.phase, Phase::Waiting | Phase::Ringing(_))
    }

    pub fn in_queue(&self) -> bool {
        matches!(self.phase, Phase::Waiting | Phase::Ringing(_))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Agent {
    pub logged_in: bool,
    pub available: bool,
    pub offer: Option<OfferId>,
    pub on_call: Option<CallerId>,
    pub wrap_until: Option<Instant>,
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub caller: CallerId,
    pub agent: String,
    pub queue: String,
}

pub struct Model {
    pub queues: BTreeMap<String, QueueSettings>,
    pub agent_settings: BTreeMap<String, AgentSettings>,
    pub members: BTreeMap<(String, String), Member>,
    pub callers: BTreeMap<CallerId, Caller>,
    pub agents: BTreeMap<String, Agent>,
    pub offers: BTreeMap<OfferId, Offer>,
    pub closed_offers: Vec<OfferId>,
    /// Skills of callers about to join, set by the driver.
    pub joining: BTreeMap<CallerId, BTreeSet<String>>,
    pub log: Vec<QueueEvent>,
    next_seq: u64,
}

impl Model {
    pub fn new(
        queues: BTreeMap<String, QueueSettings>,
        agent_settings: BTreeMap<String, AgentSettings>,
    ) -> Model {
        let agents = agent_settings
            .keys()
            .map(|id| (id.clone(), Agent::default()))
            .collect();
        Model {
            queues,
            agent_settings,
            members: BTreeMap::new(),
            callers: BTreeMap::new(),
            agents,
            offers: BTreeMap::new(),
            closed_offers: Vec::new(),
            joining: BTreeMap::new(),
            log: Vec::new(),
            next_seq: 0,
        }
    }

    pub fn is_member(&self, queue: &str, agent: &str) -> bool {
        self.members
            .contains_key(&(queue.to_owned(), agent.to_owned()))
    }

    fn available_members(&self, queue: &str) -> impl Iterator<Item = (&String, &Member)> {
        self.members
            .iter()
            .filter(move |((q, a), _)| q == queue && self.agents[a].available)
            .map(|((_, a), m)| (a, m))
    }

    /// Whether the queue's rule holds: `NoMembers` / `NoAvailable`.
    pub fn empty_rule_holds(&self, queue: &str, rule: lifeline_acd::EmptyRule) -> bool {
        use lifeline_acd::EmptyRule;
        match rule {
            EmptyRule::Never => false,
            EmptyRule::NoMembers => !self
                .members
                .keys()
                .any(|(q, a)| q == queue && self.agents[a].logged_in),
            EmptyRule::NoAvailable => self.available_members(queue).next().is_none(),
        }
    }

    pub fn queue_len(&self, queue: &str) -> usize {
        self.callers
            .values()
            .filter(|c| c.queue == queue && c.in_queue())
            .count()
    }

    /// The documented eligibility rule.
    pub fn eligible(&self, caller: &Caller, agent: &str, now: Instant) -> bool {
        let Some(member) = self.members.get(&(caller.queue.clone(), agent.to_owned())) else {
            return false;
        };
        let settings = &self.queues[&caller.queue];
        let skills = &self.agent_settings[agent].skills;
        if !caller.skills.iter().all(|s| skills.contains_key(s)) {
            return false;
        }
        let waited = now - caller.entered;
        if let Some(step) = settings.tier_wait {
            let lower: BTreeSet<u32> = self
                .available_members(&caller.queue)
                .map(|(_, m)| m.tier)
                .filter(|&t| t < member.tier)
                .collect();
            if waited < step * lower.len() as u32 {
                return false;
            }
        }
        if let Some(widen) = settings.penalty_widen {
            let steps = (waited.as_nanos() / widen.every.as_nanos()) as u32;
            if member.penalty > widen.start + widen.step * steps {
                return false;
            }
        }
        true
    }

    fn rank(&self, id: CallerId) -> (Reverse<u8>, Reverse<u8>, u64) {
        let caller = &self.callers[&id];
        (
            Reverse(caller.priority),
            Reverse(self.queues[&caller.queue].priority),
            caller.seq,
        )
    }

    pub fn agent_idle(&self, agent: &str, now: Instant) -> bool {
        let a = &self.agents[agent];
        a.available
            && a.offer.is_none()
            && a.on_call.is_none()
            && a.wrap_until.is_none_or(|w| now >= w)
    }

    /// Waiting callers `agent` may take now, across its queues.
    pub fn takeable(&self, agent: &str, now: Instant) -> Vec<CallerId> {
        self.callers
            .iter()
            .filter(|(_, c)| c.phase == Phase::Waiting && self.is_member(&c.queue, agent))
            .filter(|(_, c)| self.eligible(c, agent, now))
            .map(|(&id, _)| id)
            .collect()
    }

    /// Replays one output, checking it against the model first.
    pub fn apply(&mut self, out: &Output, now: Instant) -> Result<(), String> {
        match out {
            Output::Offer {
                offer,
                caller,
                agent,
                queue,
                callback,
                ..
            } => {
                self.check_offer(*caller, agent, queue, now)?;
                let c = self
                    .callers
                    .get_mut(caller)
                    .ok_or("offer for unknown caller")?;
                if callback.is_some() != c.callback {
                    return Err(format!("offer {offer}: callback number mismatch"));
                }
                match &mut c.phase {
                    Phase::Ringing(offers) => {
                        offers.insert(*offer);
                    }
                    phase => *phase = Phase::Ringing(BTreeSet::from([*offer])),
                }
                self.agents.get_mut(agent).ok_or("unknown agent")?.offer = Some(*offer);
                let entry = Offer {
                    caller: *caller,
                    agent: agent.clone(),
                    queue: queue.clone(),
                };
                self.offers.insert(*offer, entry);
            }
            Output::CancelOffer { offer } => {
                if !self.offers.contains_key(offer) {
                    return Err(format!("cancel of unknown offer {offer}"));
                }
            }
            Output::Exit { caller, .. } => {
                let phase = &self.callers[caller].phase;
                if !matches!(phase, Phase::Done | Phase::Moving) {
                    return Err(format!("exit of caller {caller} still {phase:?}"));
                }
            }
            Output::Announce {
                caller, position, ..
            } => {
                let c = &self.callers[caller];
                if c.phase != Phase::Waiting || c.callback || *position == 0 {
                    return Err(format!("announcement to caller {caller} in {:?}", c.phase));
                }
            }
            Output::Event(event) => {
                self.log.push(event.clone());
                self.apply_event(event)?;
            }
            Output::AgentChanged { .. } => {}
        }
        Ok(())
    }

    fn check_offer(
        &self,
        caller: CallerId,
        agent: &str,
        queue: &str,
        now: Instant,
    ) -> Result<(), String> {
        let c = self
            .callers
            .get(&caller)
            .ok_or("offer for unknown caller")?;
        if c.queue != queue || !self.is_member(queue, agent) {
            return Err(format!(
                "offer of {caller} in {queue} to non-member {agent}"
            ));
        }
        if !self.agent_idle(agent, now) {
            return Err(format!(
                "offer to {agent}, who is not available and idle: {:?}",
                self.agents[agent]
            ));
        }
        let ringall = self.queues[queue].strategy == Strategy::RingAll;
        match &c.phase {
            Phase::Waiting => {}
            Phase::Ringing(_) if ringall => {}
            phase => return Err(format!("offer of caller {caller} in phase {phase:?}")),
        }
        if !self.eligible(c, agent, now) {
            return Err(format!("offer of {caller} to ineligible {agent}"));
        }
        let mine = self.rank(caller);
        if let Some(better) = self
            .takeable(agent, now)
            .into_iter()
            .find(|&o| o != caller && self.rank(o) < mine)
        {
            return Err(format!(
                "offer of {caller} to {agent} while better caller {better} was waiting"
            ));
        }
        Ok(())
    }

    fn close_offer(&mut self, caller: CallerId, agent: &str, queue: &str) -> Result<(), String> {
        let offer = self
            .offers
            .iter()
            .find(|(_, o)| o.caller == caller && o.agent == agent && o.queue == queue)
            .map(|(&id, _)| id)
            .ok_or_else(|| format!("no open offer of {caller} to {agent} in {queue}"))?;
        self.offers.remove(&offer);
        self.closed_offers.push(offer);
        self.agents.get_mut(agent).ok_or("unknown agent")?.offer = None;
        let c = self.callers.get_mut(&caller).ok_or("unknown caller")?;
        if let Phase::Ringing(offers) = &mut c.phase {
            offers.remove(&offer);
            if offers.is_empty() {
                c.phase = Phase::Waiting;
            }
        }
        Ok(())
    }

    fn apply_event(&mut self, e: &QueueEvent) -> Result<(), String> {
        let agent = e.agent.clone().unwrap_or_default();
        let caller = e.caller.unwrap_or_default();
        match e.kind {
            EventKind::EnterQueue => {
                let priority: u8 = e.data[0].parse().map_err(|_| "priority")?;
                match self.callers.get_mut(&caller) {
                    Some(c) if c.phase == Phase::Moving => {
                        (c.queue, c.entered, c.phase) = (e.queue.clone(), e.at, Phase::Waiting);
                        if c.priority != priority {
                            return Err("overflow changed the priority".into());
                        }
                    }
                    Some(_) => return Err(format!("caller {caller} entered twice")),
                    None => {
                        let skills = self.joining.remove(&caller).unwrap_or_default();
                        let c = Caller {
                            queue: e.queue.clone(),
                            priority,
                            seq: self.next_seq,
                            entered: e.at,
                            skills,
                            phase: Phase::Waiting,
                            callback: false,
                        };
                        self.next_seq += 1;
                        self.callers.insert(caller, c);
                    }
                }
            }
            EventKind::RingNoAnswer | EventKind::RingCanceled => {
                self.close_offer(caller, &agent, &e.queue)?
            }
            EventKind::Connect => {
                self.close_offer(caller, &agent, &e.queue)?;
                let c = self.callers.get_mut(&caller).ok_or("unknown caller")?;
                c.phase = Phase::Connected(agent.clone());
                self.agents.get_mut(&agent).ok_or("unknown agent")?.on_call = Some(caller);
            }
            EventKind::CompleteCaller | EventKind::CompleteAgent | EventKind::BlindTransfer => {
                let c = self.callers.get_mut(&caller).ok_or("unknown caller")?;
                if c.phase != Phase::Connected(agent.clone()) {
                    return Err(format!("completion of {caller} in {:?}", c.phase));
                }
                c.phase = Phase::Done;
                let wrap_up = self.agent_settings[&agent].wrap_up;
                let a = self.agents.get_mut(&agent).ok_or("unknown agent")?;
                a.on_call = None;
                a.wrap_until = (!wrap_up.is_zero()).then(|| e.at + wrap_up);
            }
            EventKind::Abandon
            | EventKind::ExitWithTimeout
            | EventKind::ExitEmpty
            | EventKind::ExitWithKey
            | EventKind::ExitOverflow => {
                let c = self.callers.get_mut(&caller).ok_or("unknown caller")?;
                if c.phase != Phase::Waiting || c.queue != e.queue {
                    return Err(format!("{} of {caller} in {:?}", e.kind.as_str(), c.phase));
                }
                if c.callback {
                    return Err(format!(
                        "callback entry {caller} left with {}",
                        e.kind.as_str()
                    ));
                }
                c.phase = if e.kind == EventKind::ExitOverflow {
                    Phase::Moving
                } else {
                    Phase::Done
                };
            }
            EventKind::CallbackRequest => {
                self.callers
                    .get_mut(&caller)
                    .ok_or("unknown caller")?
                    .callback = true;
            }
            EventKind::AddMember => {
                let member = Member {
                    penalty: e.data[0].parse().map_err(|_| "penalty")?,
                    tier: e.data[1].parse().map_err(|_| "tier")?,
                };
                self.members.insert((e.queue.clone(), agent), member);
            }
            EventKind::RemoveMember => {
                self.members.remove(&(e.queue.clone(), agent));
            }
            EventKind::AgentLogin => {
                self.agents
                    .get_mut(&agent)
                    .ok_or("unknown agent")?
                    .logged_in = true;
                self.set_available(&agent, true)?;
            }
            EventKind::AgentLogoff => {
                self.agents
                    .get_mut(&agent)
                    .ok_or("unknown agent")?
                    .logged_in = false;
                self.set_available(&agent, false)?;
            }
            EventKind::Unpause => self.set_available(&agent, true)?,
            EventKind::Pause => {
                self.set_available(&agent, false)?;
                let a = &self.agents[&agent];
                if e.data[0] == AUTO_PAUSE_REASON && a.offer.is_some() {
                    return Err(format!("{agent} auto-paused while ringing"));
                }
            }
        }
        Ok(())
    }

    fn set_available(&mut self, agent: &str, available: bool) -> Result<(), String> {
        self.agents.get_mut(agent).ok_or("unknown agent")?.available = available;
        Ok(())
    }

    /// After a step: offers ring only available agents, and no idle available agent
    /// may take a waiting caller.
    pub fn check_at_rest(&self, now: Instant) -> Result<(), String> {
        if let Some((id, offer)) = self
            .offers
            .iter()
            .find(|(_, o)| !self.agents[&o.agent].available)
        {
            return Err(format!(
                "offer {id} still rings {}, who is not available",
                offer.agent
            ));
        }
        for agent in self.agents.keys().filter(|a| self.agent_idle(a, now)) {
            if let Some(caller) = self.takeable(agent, now).first() {
                return Err(format!(
                    "at rest, idle {agent} could take waiting caller {caller}"
                ));
            }
        }
        Ok(())
    }
}
