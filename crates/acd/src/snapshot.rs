//! Read-only views for wallboards and the HTTP API: one [`QueueSnapshot`] per queue
//! and one [`AgentSnapshot`] per agent, serialisable as they are. Times are seconds
//! as floats, measured at the `now` passed in.

use std::time::Instant;

use serde::Serialize;

use crate::CallerId;
use crate::acd::Acd;
use crate::agent::{Activity, Status};
use crate::settings::Strategy;

/// One queue's live figures (see the crate documentation for how each is counted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSnapshot {
    /// The queue's name.
    pub name: String,
    /// Its strategy.
    pub strategy: Strategy,
    /// Callers in the queue, waiting or ringing, callback entries included.
    pub waiting: usize,
    /// The longest current wait in the queue (0 when empty).
    pub longest_wait_secs: f64,
    /// Callers that entered (`ENTERQUEUE`).
    pub offered: u64,
    /// Callers answered (`CONNECT`).
    pub answered: u64,
    /// Callers who hung up before an answer (`ABANDON`).
    pub abandoned: u64,
    /// Callers who reached the queue timeout (`EXITWITHTIMEOUT`).
    pub timed_out: u64,
    /// Callers who left by key, because the queue was empty, or by overflow.
    pub exited: u64,
    /// Answered within the service-level target ÷ (answered + abandoned + timed out).
    pub service_level_pct: Option<f64>,
    /// Average speed of answer: mean hold time of answered callers.
    pub asa_secs: Option<f64>,
    /// Average handle time: mean talk time of completed calls.
    pub aht_secs: Option<f64>,
    /// Abandoned ÷ offered.
    pub abandon_rate_pct: Option<f64>,
    /// Smoothed hold time of answered callers.
    pub estimated_wait_secs: Option<f64>,
    /// Callback entries waiting for an agent.
    pub callbacks_pending: usize,
    /// Member ids in member order.
    pub members: Vec<String>,
    /// Members logged in (available or on break).
    pub agents_logged_in: usize,
    /// Members available (idle or busy).
    pub agents_available: usize,
    /// Members available and idle: free to take a caller now.
    pub agents_idle: usize,
}

/// One agent's live status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSnapshot {
    /// The agent's id.
    pub id: String,
    /// `logged_out`, `available` or `break`.
    pub status: &'static str,
    /// The break reason.
    pub reason: Option<String>,
    /// `idle`, `reserved`, `ringing`, `on_call` or `wrap_up`.
    pub state: &'static str,
    /// Time in the current state (0 before the first change).
    pub state_secs: f64,
    /// The caller being rung for or talked to.
    pub caller: Option<CallerId>,
    /// Queue names in the order the agent joined them.
    pub queues: Vec<String>,
    /// Offers answered.
    pub answered: u64,
    /// Offers failed or timed out.
    pub missed: u64,
    /// Wrap-up time left.
    pub wrap_up_remaining_secs: Option<f64>,
}

impl Acd {
    /// Every queue, by name.
    pub fn queues(&self, now: Instant) -> Vec<QueueSnapshot> {
        let mut out: Vec<QueueSnapshot> = self
            .queues
            .iter()
            .map(|queue| {
                let stats = &queue.stats;
                let longest = queue
                    .waiting
                    .iter()
                    .chain(&queue.ringing)
                    .filter_map(|place| self.callers.get(&place.caller))
                    .map(|entry| entry.waited(now).as_secs_f64())
                    .fold(0.0, f64::max);
                let members = queue.members.iter().map(|&ai| &self.agents[ai]);
                QueueSnapshot {
                    name: queue.name.clone(),
                    strategy: queue.settings.strategy,
                    waiting: queue.len(),
                    longest_wait_secs: longest,
                    offered: stats.offered,
                    answered: stats.answered,
                    abandoned: stats.abandoned,
                    timed_out: stats.timed_out,
                    exited: stats.exited,
                    service_level_pct: stats.service_level_pct(),
                    asa_secs: stats.asa_secs(),
                    aht_secs: stats.aht_secs(),
                    abandon_rate_pct: stats.abandon_rate_pct(),
                    estimated_wait_secs: stats.estimated_wait.map(|d| d.as_secs_f64()),
                    callbacks_pending: queue.callbacks,
                    members: members.clone().map(|a| a.id.clone()).collect(),
                    agents_logged_in: queue.staffing.logged_in,
                    agents_available: queue.staffing.available,
                    agents_idle: members.filter(|a| a.offerable()).count(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Every agent, by id.
    pub fn agents(&self, now: Instant) -> Vec<AgentSnapshot> {
        let mut out: Vec<AgentSnapshot> = self
            .agents
            .iter()
            .map(|agent| {
                let caller = match agent.activity {
                    Activity::Ringing { offer } => self.offers.get(&offer).map(|o| o.caller),
                    Activity::OnCall { caller } => Some(caller),
                    Activity::Idle | Activity::WrapUp { .. } => None,
                };
                let wrap_up_remaining_secs = match agent.activity {
                    Activity::WrapUp { until } => {
                        Some(until.saturating_duration_since(now).as_secs_f64())
                    }
                    _ => None,
                };
                AgentSnapshot {
                    id: agent.id.clone(),
                    status: agent.status.as_str(),
                    reason: match &agent.status {
                        Status::Break { reason } => Some(reason.clone()),
                        Status::LoggedOut | Status::Available => None,
                    },
                    state: agent.state().as_str(),
                    state_secs: agent
                        .since
                        .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64()),
                    caller,
                    queues: agent
                        .memberships
                        .iter()
                        .map(|m| self.queues[m.queue].name.clone())
                        .collect(),
                    answered: agent.answered,
                    missed: agent.missed,
                    wrap_up_remaining_secs,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}
