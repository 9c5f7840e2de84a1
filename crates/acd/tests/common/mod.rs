//! A virtual-time harness for the ACD: one base `Instant`, time moved by hand through
//! every deadline the ACD asks for, and every output collected. No sleeps.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lifeline_acd::{
    Acd, AgentSettings, CallerId, EndedBy, EventKind, Join, Member, OfferId, Output, QueueEvent,
    QueueSettings, Status,
};

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// An offer as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    pub offer: OfferId,
    pub caller: CallerId,
    pub agent: String,
    pub queue: String,
    pub callback: Option<String>,
}

pub struct Sim {
    pub acd: Acd,
    pub t0: Instant,
    pub now: Instant,
    /// Every queue-log event so far.
    pub log: Vec<QueueEvent>,
    /// Outputs since the last `take()`.
    pub outputs: Vec<Output>,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let t0 = Instant::now();
        Sim {
            acd: Acd::new(seed),
            t0,
            now: t0,
            log: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn drain(&mut self) {
        while let Some(out) = self.acd.poll_output() {
            if let Output::Event(ev) = &out {
                self.log.push(ev.clone());
            }
            self.outputs.push(out);
        }
    }

    /// Outputs since the last call, cleared.
    pub fn take(&mut self) -> Vec<Output> {
        self.drain();
        std::mem::take(&mut self.outputs)
    }

    /// Offers among the outputs since the last call (others are kept).
    pub fn take_offers(&mut self) -> Vec<Rung> {
        self.drain();
        let (offers, rest): (Vec<Output>, Vec<Output>) = std::mem::take(&mut self.outputs)
            .into_iter()
            .partition(|out| matches!(out, Output::Offer { .. }));
        self.outputs = rest;
        offers
            .into_iter()
            .filter_map(|out| match out {
                Output::Offer {
                    offer,
                    caller,
                    agent,
                    queue,
                    callback,
                    ..
                } => Some(Rung {
                    offer,
                    caller,
                    agent,
                    queue,
                    callback,
                }),
                _ => None,
            })
            .collect()
    }

    /// The single offer made since the last call.
    pub fn one_offer(&mut self) -> Rung {
        let mut offers = self.take_offers();
        assert_eq!(offers.len(), 1, "expected one offer, got {offers:?}");
        offers.remove(0)
    }

    /// Moves time forward by `by`, stopping at every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.acd.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.acd.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
        self.acd.handle_timeout(self.now);
        self.drain();
    }

    pub fn queue(&mut self, name: &str, settings: QueueSettings) {
        self.acd.set_queue(name, settings);
    }

    /// An agent with default settings, logged in and available.
    pub fn agent(&mut self, id: &str) {
        self.agent_with(id, AgentSettings::default());
    }

    pub fn agent_with(&mut self, id: &str, settings: AgentSettings) {
        self.acd.set_agent(id, settings);
        self.status(id, Status::Available);
    }

    pub fn status(&mut self, id: &str, status: Status) {
        self.acd.set_status(self.now, id, status).unwrap();
        self.drain();
    }

    pub fn member(&mut self, queue: &str, agent: &str, penalty: u32, tier: u32) {
        self.acd
            .add_member(self.now, queue, agent, Member { penalty, tier })
            .unwrap();
        self.drain();
    }

    pub fn enqueue(&mut self, caller: CallerId, queue: &str, priority: u8) -> usize {
        self.enqueue_with(
            caller,
            queue,
            Join {
                priority,
                skills: Vec::new(),
            },
        )
    }

    pub fn enqueue_with(&mut self, caller: CallerId, queue: &str, join: Join) -> usize {
        let position = self.acd.enqueue(self.now, caller, queue, join).unwrap();
        self.drain();
        position.position
    }

    pub fn answer(&mut self, offer: OfferId) {
        self.acd.offer_answered(self.now, offer).unwrap();
        self.drain();
    }

    pub fn hang_up(&mut self, caller: CallerId) {
        self.acd.call_ended(self.now, caller, EndedBy::Caller);
        self.drain();
    }

    /// Answer then end at once: the agent is free again (or in wrap-up).
    pub fn handle(&mut self, rung: &Rung) {
        self.answer(rung.offer);
        self.hang_up(rung.caller);
    }

    /// Events of `kind` in the log (outputs pending are drained first).
    pub fn events(&mut self, kind: EventKind) -> Vec<QueueEvent> {
        self.drain();
        self.log
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect()
    }

    pub fn agent_state(&self, id: &str) -> (&'static str, &'static str) {
        let agent = self
            .acd
            .agents(self.now)
            .into_iter()
            .find(|a| a.id == id)
            .unwrap();
        (agent.status, agent.state)
    }
}

/// Queue settings with a strategy, everything else default.
pub fn with_strategy(strategy: lifeline_acd::Strategy) -> QueueSettings {
    QueueSettings {
        strategy,
        ..QueueSettings::default()
    }
}
