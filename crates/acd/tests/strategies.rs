//! Each strategy in virtual time: who is offered the caller when several agents could
//! take it.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{Sim, secs, with_strategy};
use lifeline_acd::{EventKind, Output, Strategy};

/// A queue `q` with members `a`, `b`, `c` (in that order), all available.
fn three(strategy: Strategy) -> Sim {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(strategy));
    for id in ["a", "b", "c"] {
        sim.agent(id);
        sim.member("q", id, 0, 0);
    }
    sim
}

/// Enqueues `caller`, handles its call at once, and returns who took it.
fn served_by(sim: &mut Sim, caller: u64) -> String {
    sim.enqueue(caller, "q", 0);
    let rung = sim.one_offer();
    sim.advance(secs(1));
    sim.handle(&rung);
    sim.take();
    rung.agent
}

#[test]
fn linear_takes_the_first_free_member() {
    let mut sim = three(Strategy::Linear);
    sim.enqueue(1, "q", 0);
    let first = sim.one_offer();
    assert_eq!(first.agent, "a");
    sim.answer(first.offer);
    sim.enqueue(2, "q", 0);
    assert_eq!(sim.one_offer().agent, "b");
    sim.hang_up(1);
    assert_eq!(
        served_by(&mut sim, 3),
        "a",
        "a is free again and first in order"
    );
}

#[test]
fn rrmemory_rotates_from_the_last_offered() {
    let mut sim = three(Strategy::RrMemory);
    let order: Vec<String> = (1..=5).map(|c| served_by(&mut sim, c)).collect();
    assert_eq!(order, ["a", "b", "c", "a", "b"]);
}

#[test]
fn leastrecent_prefers_the_longest_idle() {
    let mut sim = three(Strategy::LeastRecent);
    let order: Vec<String> = (1..=4).map(|c| served_by(&mut sim, c)).collect();
    // Never-called agents first, in member order; then the one whose call ended first.
    assert_eq!(order, ["a", "b", "c", "a"]);
}

#[test]
fn fewestcalls_prefers_the_least_answered_in_the_queue() {
    let mut sim = three(Strategy::FewestCalls);
    // Give `a` two answered calls and `b` one, with `c` busy the whole time.
    sim.enqueue(1, "q", 0);
    let to_a = sim.one_offer();
    sim.answer(to_a.offer);
    sim.enqueue(2, "q", 0);
    let to_b = sim.one_offer();
    sim.answer(to_b.offer);
    sim.enqueue(3, "q", 0);
    let to_c = sim.one_offer();
    assert_eq!(
        [
            to_a.agent.as_str(),
            to_b.agent.as_str(),
            to_c.agent.as_str()
        ],
        ["a", "b", "c"]
    );
    sim.answer(to_c.offer);
    sim.hang_up(1);
    assert_eq!(served_by(&mut sim, 4), "a", "only a is free");
    sim.hang_up(2);
    // a: 2 answered, b: 1: b is preferred although a comes first and is free.
    assert_eq!(served_by(&mut sim, 5), "b");
    assert_eq!(
        served_by(&mut sim, 6),
        "a",
        "a and b tie at 2: member order"
    );
}

fn distribution(
    strategy: Strategy,
    penalties: [u32; 3],
    seed: u64,
    calls: u64,
) -> HashMap<String, u32> {
    let mut sim = Sim::new(seed);
    sim.queue("q", with_strategy(strategy));
    for (id, penalty) in ["a", "b", "c"].into_iter().zip(penalties) {
        sim.agent(id);
        sim.member("q", id, penalty, 0);
    }
    let mut counts = HashMap::new();
    for caller in 1..=calls {
        *counts.entry(served_by(&mut sim, caller)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn random_is_uniform_and_replays_with_the_seed() {
    let counts = distribution(Strategy::Random, [0, 0, 0], 7, 3000);
    for id in ["a", "b", "c"] {
        assert!((850..1150).contains(&counts[id]), "{counts:?}");
    }
    assert_eq!(counts, distribution(Strategy::Random, [0, 0, 0], 7, 3000));
    assert_ne!(counts, distribution(Strategy::Random, [0, 0, 0], 8, 3000));
}

#[test]
fn wrandom_weights_by_penalty() {
    // Weights 1, 1/2, 1/4: shares 4/7, 2/7, 1/7 of 7000.
    let counts = distribution(Strategy::WRandom, [0, 1, 3], 11, 7000);
    assert!((3800..4200).contains(&counts["a"]), "{counts:?}");
    assert!((1800..2200).contains(&counts["b"]), "{counts:?}");
    assert!((850..1150).contains(&counts["c"]), "{counts:?}");
}

#[test]
fn ringall_rings_everyone_and_cancels_the_rest_on_answer() {
    let mut sim = three(Strategy::RingAll);
    sim.enqueue(1, "q", 0);
    let offers = sim.take_offers();
    let agents: Vec<&str> = offers.iter().map(|o| o.agent.as_str()).collect();
    assert_eq!(agents, ["a", "b", "c"]);
    assert!(offers.iter().all(|o| o.caller == 1));
    sim.take();
    sim.advance(secs(3));
    sim.answer(offers[1].offer);
    let cancelled: Vec<u64> = sim
        .take()
        .into_iter()
        .filter_map(|o| match o {
            Output::CancelOffer { offer } => Some(offer),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, [offers[0].offer, offers[2].offer]);
    assert_eq!(sim.events(EventKind::RingCanceled).len(), 2);
    assert_eq!(sim.events(EventKind::Connect).len(), 1);
    // The losers may take the next caller at once, together.
    sim.enqueue(2, "q", 0);
    let next: Vec<String> = sim.take_offers().into_iter().map(|o| o.agent).collect();
    assert_eq!(next, ["a", "c"]);
    // A late answer to a cancelled ringall offer is stale.
    assert!(sim.acd.offer_answered(sim.now, offers[0].offer).is_err());
}
