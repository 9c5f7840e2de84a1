//! ACD decisions per second at call-centre scale: 50 queues, 1,000 agents (each in 3
//! queues, ~60 members per queue, six strategies), every agent on a call and 10,000
//! callers waiting (1 % at emergency priority). Virtual time moves 1 ms per operation,
//! and expired ring timers are cleared through `handle_timeout` as the engine would.
//!
//! - `route`: an agent's call ends and it takes the best caller across its 3 queues
//!   (`call_ended` → decision → `Offer`), timed alone;
//! - `cycle`: the whole loop the engine drives per call: end a call, route, answer
//!   the offer, and enqueue a new caller to keep 10,000 waiting;
//! - `enqueue`: a caller joins a queue of ~200 with no free agent;
//! - `snapshot`: `queues()` for a wallboard, all 50 queues.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lifeline_acd::{
    Acd, AgentSettings, CallerId, EndedBy, Join, Member, OfferId, Output, QueueSettings, Status,
    Strategy,
};

const QUEUES: usize = 50;
const AGENTS: usize = 1_000;
const WAITING: usize = 10_000;
const STRATEGIES: [Strategy; 6] = [
    Strategy::RrMemory,
    Strategy::Linear,
    Strategy::LeastRecent,
    Strategy::FewestCalls,
    Strategy::Random,
    Strategy::WRandom,
];

struct World {
    acd: Acd,
    now: Instant,
    next_caller: CallerId,
    /// Connected callers, oldest call first.
    connected: VecDeque<CallerId>,
    /// Routes that found no caller for the freed agent (its queues were empty).
    idle_routes: u64,
}

impl World {
    fn new() -> World {
        let mut world = World {
            acd: Acd::new(42),
            now: Instant::now(),
            next_caller: 1,
            connected: VecDeque::new(),
            idle_routes: 0,
        };
        for q in 0..QUEUES {
            // Equal queue weights: with weights, the light queues would starve and the
            // heavy ones empty, and the scenario would drift from 10,000 spread callers.
            let settings = QueueSettings {
                strategy: STRATEGIES[q % STRATEGIES.len()],
                ..QueueSettings::default()
            };
            world.acd.set_queue(&queue_name(q), settings);
        }
        for a in 0..AGENTS {
            let id = format!("agent{a:04}");
            world.acd.set_agent(&id, AgentSettings::default());
            for (k, q) in [a % QUEUES, (a * 7 + 3) % QUEUES, (a * 13 + 11) % QUEUES].into_iter().enumerate() {
                let member = Member { penalty: k as u32, tier: 0 };
                // Two of the three may coincide: the second add only updates.
                world.acd.add_member(world.now, &queue_name(q), &id, member).expect("member");
            }
            world.acd.set_status(world.now, &id, Status::Available).expect("status");
        }
        world.drain();
        // Every agent on a call (callers for queues with no idle agent left wait),
        // then 10,000 callers waiting.
        while world.acd.queues(world.now).iter().any(|q| q.agents_idle > 0) {
            world.enqueue();
        }
        while world.waiting() < WAITING {
            world.enqueue();
        }
        world
    }

    fn waiting(&self) -> usize {
        self.acd.queues(self.now).iter().map(|q| q.waiting).sum()
    }

    fn tick(&mut self) {
        self.now += Duration::from_millis(1);
        if self.acd.poll_timeout().is_some_and(|t| t <= self.now) {
            self.acd.handle_timeout(self.now);
        }
    }

    /// Drains outputs, returning the offers.
    fn drain(&mut self) -> Vec<(OfferId, CallerId)> {
        let mut offers = Vec::new();
        while let Some(out) = self.acd.poll_output() {
            if let Output::Offer { offer, caller, .. } = out {
                offers.push((offer, caller));
            }
        }
        offers
    }

    fn answer(&mut self, offers: Vec<(OfferId, CallerId)>) {
        for (offer, caller) in offers {
            self.acd.offer_answered(self.now, offer).expect("fresh offer");
            self.connected.push_back(caller);
        }
        self.drain();
    }

    /// A new caller joins (1 % at emergency priority); offers are answered.
    fn enqueue(&mut self) {
        let caller = self.next_caller;
        self.next_caller += 1;
        let priority = if caller % 100 == 0 { 255 } else { 0 };
        let queue = queue_name((caller as usize * 31) % QUEUES);
        let join = Join { priority, skills: Vec::new() };
        self.acd.enqueue(self.now, caller, &queue, join).expect("join");
        let offers = self.drain();
        self.answer(offers);
    }

    /// The oldest call ends; the agent takes its next caller. Returns the offers.
    fn route(&mut self) -> Vec<(OfferId, CallerId)> {
        let caller = self.connected.pop_front().expect("a call in progress");
        self.acd.call_ended(self.now, caller, EndedBy::Agent);
        self.drain()
    }
}

fn queue_name(q: usize) -> String {
    format!("q{q:02}")
}

fn bench(c: &mut Criterion) {
    let mut world = World::new();
    let mut group = c.benchmark_group("acd");
    group.throughput(Throughput::Elements(1));

    group.bench_function("route", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let offers = black_box(world.route());
                timed += start.elapsed();
                world.idle_routes += u64::from(offers.is_empty());
                world.answer(offers);
                world.enqueue();
                world.tick();
            }
            timed
        });
    });

    group.bench_function("cycle", |b| {
        b.iter(|| {
            let offers = world.route();
            world.answer(offers);
            world.enqueue();
            world.tick();
        });
    });

    group.bench_function("enqueue", |b| {
        b.iter_custom(|iters| {
            let first = world.next_caller;
            let start = Instant::now();
            for _ in 0..iters {
                world.enqueue();
            }
            let timed = start.elapsed();
            for caller in first..world.next_caller {
                world.acd.abandon(world.now, caller);
            }
            world.drain();
            world.tick();
            timed
        });
    });

    group.bench_function("snapshot", |b| {
        b.iter(|| black_box(world.acd.queues(world.now)));
    });
    group.finish();

    println!(
        "waiting at the end: {}; routes that found no caller: {}",
        world.waiting(),
        world.idle_routes
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
