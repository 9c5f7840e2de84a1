//! [`Acd`]: the whole ACD state, and the operations on configuration and agents
//! (queues, agents, membership, status). The operations on callers are in
//! `calls.rs`, matching callers with agents in `dispatch.rs`, timers in `timers.rs`
//! and snapshots in `snapshot.rs`; all are `impl Acd` blocks over the tables here.
//!
//! Every operation that takes `now` ends with [`Acd::settle`], which applies the
//! consequences (callers leaving an empty queue, timers for changed settings, new
//! offers), so after each call the ACD is at rest: no available idle agent is
//! eligible for a waiting caller.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::agent::{Activity, Agent, AgentIx, Membership, QueueIx, Status};
use crate::caller::Entry;
use crate::error::AcdError;
use crate::events::{EventKind, NO_QUEUE, Output, QueueEvent};
use crate::queue::Queue;
use crate::rng::Rng;
use crate::settings::{AUTO_PAUSE_REASON, AgentSettings, Member, QueueSettings};
use crate::skills::SkillTable;
use crate::timers::Timers;
use crate::{CallerId, OfferId};

/// An offer out to an agent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offer {
    pub(crate) caller: CallerId,
    pub(crate) agent: AgentIx,
    pub(crate) queue: QueueIx,
    pub(crate) rung_at: Instant,
    pub(crate) deadline: Instant,
}

/// One queue-log line before names are filled in.
pub(crate) struct Line {
    pub(crate) kind: EventKind,
    pub(crate) queue: QueueIx,
    pub(crate) caller: Option<CallerId>,
    pub(crate) agent: Option<AgentIx>,
    pub(crate) data: Vec<String>,
}

/// The ACD: queues, agents, queued callers and offers. See the crate documentation
/// for the run loop.
#[derive(Debug)]
pub struct Acd {
    pub(crate) rng: Rng,
    pub(crate) skills: SkillTable,
    pub(crate) queues: Vec<Queue>,
    pub(crate) queue_ix: HashMap<String, QueueIx>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) agent_ix: HashMap<String, AgentIx>,
    pub(crate) callers: HashMap<CallerId, Entry>,
    pub(crate) offers: HashMap<OfferId, Offer>,
    pub(crate) next_offer: OfferId,
    pub(crate) next_seq: u64,
    pub(crate) timers: Timers,
    pub(crate) outputs: VecDeque<Output>,
    /// The latest `now` seen, for settling changes made without one.
    pub(crate) last_now: Option<Instant>,
    /// Agents that may have become able to take a caller.
    pub(crate) dirty_agents: Vec<AgentIx>,
    /// Callers that may have become able to be offered.
    pub(crate) dirty_callers: Vec<CallerId>,
    /// Queues whose settings or members changed: callers' timers are recomputed.
    pub(crate) retimed_queues: Vec<QueueIx>,
    /// Queues whose `leave_empty` rule must be checked.
    pub(crate) emptied_queues: Vec<QueueIx>,
}

impl Acd {
    /// An empty ACD. `seed` drives the `random` and `wrandom` strategies, so the same
    /// seed and inputs give the same decisions.
    pub fn new(seed: u64) -> Acd {
        Acd {
            rng: Rng::new(seed),
            skills: SkillTable::default(),
            queues: Vec::new(),
            queue_ix: HashMap::new(),
            agents: Vec::new(),
            agent_ix: HashMap::new(),
            callers: HashMap::new(),
            offers: HashMap::new(),
            next_offer: 1,
            next_seq: 0,
            timers: Timers::default(),
            outputs: VecDeque::new(),
            last_now: None,
            dirty_agents: Vec::new(),
            dirty_callers: Vec::new(),
            retimed_queues: Vec::new(),
            emptied_queues: Vec::new(),
        }
    }

    /// Adds a queue or replaces its settings; members and callers are kept. Waiting
    /// callers' timeouts and announcements follow the new settings. The change takes
    /// effect at the next call that passes `now` ([`Acd::poll_timeout`] asks for one
    /// at once).
    pub fn set_queue(&mut self, name: &str, settings: QueueSettings) {
        match self.queue_ix.get(name) {
            Some(&qi) => {
                self.queues[qi].settings = settings;
                self.retimed_queues.push(qi);
                self.emptied_queues.push(qi);
            }
            None => {
                self.queue_ix.insert(name.to_owned(), self.queues.len());
                self.queues.push(Queue::new(name, settings));
            }
        }
    }

    /// Adds an agent (logged out, idle) or updates its settings. New skills take effect
    /// at the next call that passes `now`.
    pub fn set_agent(&mut self, id: &str, settings: AgentSettings) {
        let skills = self.skills.set(settings.skills.keys().map(String::as_str));
        match self.agent_ix.get(id) {
            Some(&ai) => {
                let agent = &mut self.agents[ai];
                agent.settings = settings;
                agent.skills = skills;
                self.dirty_agents.push(ai);
            }
            None => {
                self.agent_ix.insert(id.to_owned(), self.agents.len());
                self.agents.push(Agent::new(id, settings, skills));
            }
        }
    }

    /// Makes `agent` a member of `queue` (`ADDMEMBER`), appended to the member order.
    /// For an existing member, updates its penalty and tier without an event.
    pub fn add_member(
        &mut self,
        now: Instant,
        queue: &str,
        agent: &str,
        member: Member,
    ) -> Result<(), AcdError> {
        let (qi, ai) = (self.queue(queue)?, self.agent(agent)?);
        match self.agents[ai].membership_mut(qi) {
            Some(existing) => existing.member = member,
            None => {
                self.agents[ai].memberships.push(Membership {
                    queue: qi,
                    member,
                    answered: 0,
                });
                self.queues[qi].members.push(ai);
                let data = vec![member.penalty.to_string(), member.tier.to_string()];
                self.log_member(now, qi, ai, EventKind::AddMember, data);
            }
        }
        self.members_changed(qi);
        self.dirty_agents.push(ai);
        self.settle(now);
        Ok(())
    }

    /// Removes `agent` from `queue` (`REMOVEMEMBER`). An offer ringing for this queue is
    /// withdrawn; a call in progress continues.
    pub fn remove_member(
        &mut self,
        now: Instant,
        queue: &str,
        agent: &str,
    ) -> Result<(), AcdError> {
        let (qi, ai) = (self.queue(queue)?, self.agent(agent)?);
        let Some(pos) = self.agents[ai]
            .memberships
            .iter()
            .position(|m| m.queue == qi)
        else {
            return Err(AcdError::NotMember {
                queue: queue.to_owned(),
                agent: agent.to_owned(),
            });
        };
        if let Activity::Ringing { offer } = self.agents[ai].activity
            && self.offers.get(&offer).is_some_and(|o| o.queue == qi)
        {
            self.withdraw_offer(now, offer);
        }
        self.agents[ai].memberships.remove(pos);
        self.queues[qi].members.retain(|&member| member != ai);
        self.log_member(now, qi, ai, EventKind::RemoveMember, Vec::new());
        self.members_changed(qi);
        self.settle(now);
        Ok(())
    }

    /// Changes an agent's status (`AGENTLOGIN`, `AGENTLOGOFF`, `PAUSE`, `UNPAUSE`). A
    /// ringing offer is withdrawn unless the agent stays available; a call or wrap-up
    /// in progress continues, but no new offer comes until the agent is available
    /// again. Setting the current status again changes nothing.
    pub fn set_status(
        &mut self,
        now: Instant,
        agent: &str,
        status: Status,
    ) -> Result<(), AcdError> {
        let ai = self.agent(agent)?;
        self.change_status(now, ai, status);
        self.settle(now);
        Ok(())
    }

    /// The next thing for the engine to do, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The queue's estimated wait: smoothed hold times of its answered callers, `None`
    /// before the first answer or for an unknown queue.
    pub fn estimated_wait(&self, queue: &str) -> Option<Duration> {
        let qi = *self.queue_ix.get(queue)?;
        self.queues[qi].stats.estimated_wait
    }

    pub(crate) fn queue(&self, name: &str) -> Result<QueueIx, AcdError> {
        self.queue_ix
            .get(name)
            .copied()
            .ok_or_else(|| AcdError::UnknownQueue(name.to_owned()))
    }

    fn agent(&self, id: &str) -> Result<AgentIx, AcdError> {
        self.agent_ix
            .get(id)
            .copied()
            .ok_or_else(|| AcdError::UnknownAgent(id.to_owned()))
    }

    /// Applies everything left pending: recomputed timers, empty queues, offers.
    pub(crate) fn settle(&mut self, now: Instant) {
        self.last_now = Some(now);
        for qi in std::mem::take(&mut self.retimed_queues) {
            self.retime_queue(now, qi);
        }
        for qi in std::mem::take(&mut self.emptied_queues) {
            self.check_empty(now, qi);
        }
        self.dispatch(now);
    }

    /// Whether [`Acd::settle`] has work left from a change made without `now`.
    pub(crate) fn unsettled(&self) -> bool {
        !(self.retimed_queues.is_empty()
            && self.emptied_queues.is_empty()
            && self.dirty_agents.is_empty()
            && self.dirty_callers.is_empty())
    }

    /// Membership of `qi` changed: staffing, callers' widening timers, eligibility.
    fn members_changed(&mut self, qi: QueueIx) {
        self.queues[qi].refresh_staffing(qi, &self.agents);
        self.retimed_queues.push(qi);
        self.emptied_queues.push(qi);
    }

    pub(crate) fn change_status(&mut self, now: Instant, ai: AgentIx, status: Status) {
        let agent = &self.agents[ai];
        let old = agent.status.clone();
        if old == status {
            return;
        }
        let logged_for = agent
            .logged_in_at
            .map(|at| now.saturating_duration_since(at));
        match (&old, &status) {
            (_, Status::LoggedOut) => {
                let secs = logged_for.unwrap_or_default().as_secs().to_string();
                self.log_agent(now, ai, EventKind::AgentLogoff, vec![secs]);
            }
            (Status::LoggedOut, _) => self.log_agent(now, ai, EventKind::AgentLogin, Vec::new()),
            _ => {}
        }
        match &status {
            Status::Break { reason } => {
                self.log_agent(now, ai, EventKind::Pause, vec![reason.clone()]);
            }
            Status::Available if matches!(old, Status::Break { .. }) => {
                self.log_agent(now, ai, EventKind::Unpause, Vec::new());
            }
            _ => {}
        }
        let agent = &mut self.agents[ai];
        agent.logged_in_at = match status {
            Status::LoggedOut => None,
            _ => agent.logged_in_at.or(Some(now)),
        };
        if status == Status::Available {
            agent.missed_in_row = 0;
        }
        agent.status = status;
        if let Activity::Ringing { offer } = agent.activity
            && agent.status != Status::Available
        {
            self.withdraw_offer(now, offer);
        }
        let queues: Vec<QueueIx> = self.agents[ai]
            .memberships
            .iter()
            .map(|m| m.queue)
            .collect();
        for qi in queues {
            self.queues[qi].refresh_staffing(qi, &self.agents);
            self.emptied_queues.push(qi);
            if self.queues[qi].settings.tier_wait.is_some() {
                // Skipped tiers changed: higher tiers may take callers sooner.
                self.dirty_agents
                    .extend(self.queues[qi].members.iter().copied());
            }
        }
        self.dirty_agents.push(ai);
        self.agent_changed(ai);
    }

    /// Counts a failed offer towards auto-pause.
    pub(crate) fn count_missed(&mut self, now: Instant, ai: AgentIx) {
        let agent = &mut self.agents[ai];
        agent.missed += 1;
        agent.missed_in_row += 1;
        if agent
            .settings
            .max_no_answer
            .is_some_and(|max| agent.missed_in_row >= max)
            && agent.status == Status::Available
        {
            let reason = AUTO_PAUSE_REASON.to_owned();
            self.change_status(now, ai, Status::Break { reason });
        }
    }

    /// Moves an agent to `activity` (an idle agent may take a caller again).
    pub(crate) fn set_activity(&mut self, now: Instant, ai: AgentIx, activity: Activity) {
        let agent = &mut self.agents[ai];
        agent.activity = activity;
        agent.since = Some(now);
        if let Activity::WrapUp { until } = activity {
            self.timers.wrap_up(until, ai);
        }
        if activity == Activity::Idle {
            self.dirty_agents.push(ai);
        }
        self.agent_changed(ai);
    }

    fn agent_changed(&mut self, ai: AgentIx) {
        let agent = self.agents[ai].id.clone();
        self.outputs.push_back(Output::AgentChanged { agent });
    }

    /// Writes a queue-log line and counts it in the queue's statistics (`span`: see
    /// `QueueStats::record`).
    pub(crate) fn log(&mut self, now: Instant, line: Line, span: Duration) {
        let queue = &mut self.queues[line.queue];
        queue
            .stats
            .record(line.kind, span, queue.settings.service_level);
        self.outputs.push_back(Output::Event(QueueEvent {
            at: now,
            queue: queue.name.clone(),
            caller: line.caller,
            agent: line.agent.map(|ai| self.agents[ai].id.clone()),
            kind: line.kind,
            data: line.data,
        }));
    }

    fn log_member(
        &mut self,
        now: Instant,
        qi: QueueIx,
        ai: AgentIx,
        kind: EventKind,
        data: Vec<String>,
    ) {
        let line = Line {
            kind,
            queue: qi,
            caller: None,
            agent: Some(ai),
            data,
        };
        self.log(now, line, Duration::ZERO);
    }

    /// Writes an agent status line for each of the agent's queues (or `NONE`).
    fn log_agent(&mut self, now: Instant, ai: AgentIx, kind: EventKind, data: Vec<String>) {
        let queues: Vec<QueueIx> = self.agents[ai]
            .memberships
            .iter()
            .map(|m| m.queue)
            .collect();
        if queues.is_empty() {
            self.outputs.push_back(Output::Event(QueueEvent {
                at: now,
                queue: NO_QUEUE.to_owned(),
                caller: None,
                agent: Some(self.agents[ai].id.clone()),
                kind,
                data,
            }));
            return;
        }
        for qi in queues {
            self.log_member(now, qi, ai, kind, data.clone());
        }
    }
}
