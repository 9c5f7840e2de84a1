//! Who may take which caller: tiers (with empty tiers skipped), penalty widening,
//! skills, priority before arrival, fairness across queues, and wrap-up that holds
//! across all of an agent's queues.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Sim, secs, with_strategy};
use lifeline_acd::{AgentSettings, Join, PenaltyWiden, QueueSettings, Status, Strategy};

/// Queue `q` (linear) with members a, b, c at tiers 0, 1, 2 and a 10 s tier wait.
fn tiered() -> Sim {
    let mut sim = Sim::new(1);
    sim.queue(
        "q",
        QueueSettings {
            strategy: Strategy::Linear,
            tier_wait: Some(secs(10)),
            ..QueueSettings::default()
        },
    );
    for (tier, id) in ["a", "b", "c"].into_iter().enumerate() {
        sim.agent(id);
        sim.member("q", id, 0, tier as u32);
    }
    sim
}

/// Puts `agent` on a call with a fresh caller.
fn busy(sim: &mut Sim, caller: u64, queue: &str) -> String {
    sim.enqueue(caller, queue, 0);
    let rung = sim.one_offer();
    sim.answer(rung.offer);
    rung.agent
}

#[test]
fn higher_tiers_wait_their_turn() {
    let mut sim = tiered();
    assert_eq!(busy(&mut sim, 100, "q"), "a");
    sim.enqueue(1, "q", 0);
    sim.advance(Duration::from_millis(9_999));
    assert!(sim.take_offers().is_empty(), "b (tier 1) waits 10 s");
    sim.advance(Duration::from_millis(1));
    let to_b = sim.one_offer();
    assert_eq!((to_b.agent.as_str(), sim.elapsed()), ("b", secs(10)));
    sim.answer(to_b.offer);
    // a and b busy: c (tier 2) after 20 s.
    sim.enqueue(2, "q", 0);
    sim.advance(secs(19));
    assert!(sim.take_offers().is_empty());
    sim.advance(secs(1));
    assert_eq!(sim.one_offer().agent, "c");
}

#[test]
fn empty_tiers_are_skipped() {
    let mut sim = tiered();
    sim.status(
        "a",
        Status::Break {
            reason: "lunch".into(),
        },
    );
    // Tier 0 has nobody available: b is effectively first.
    sim.enqueue(1, "q", 0);
    let to_b = sim.one_offer();
    assert_eq!(to_b.agent, "b");
    sim.answer(to_b.offer);
    // Tier 0 empty, tier 1 staffed (busy): c counts as level 1, 10 s, not 20 s.
    sim.enqueue(2, "q", 0);
    sim.advance(secs(10));
    assert_eq!(sim.one_offer().agent, "c");
}

#[test]
fn a_tier_emptying_releases_waiting_callers_at_once() {
    let mut sim = tiered();
    assert_eq!(busy(&mut sim, 100, "q"), "a");
    sim.enqueue(1, "q", 0);
    sim.advance(secs(5));
    assert!(sim.take_offers().is_empty());
    // a goes on break during its call: tier 0 is empty from now on.
    sim.status(
        "a",
        Status::Break {
            reason: "after this call".into(),
        },
    );
    let to_b = sim.one_offer();
    assert_eq!((to_b.agent.as_str(), sim.elapsed()), ("b", secs(5)));
}

#[test]
fn penalties_widen_with_the_wait() {
    let mut sim = Sim::new(1);
    let widen = PenaltyWiden {
        every: secs(10),
        step: 1,
        start: 0,
    };
    sim.queue(
        "q",
        QueueSettings {
            strategy: Strategy::Linear,
            penalty_widen: Some(widen),
            ..QueueSettings::default()
        },
    );
    for (id, penalty) in [("a", 0), ("b", 1), ("c", 3)] {
        sim.agent(id);
        sim.member("q", id, penalty, 0);
    }
    assert_eq!(busy(&mut sim, 100, "q"), "a");
    sim.enqueue(1, "q", 0);
    sim.advance(secs(9));
    assert!(sim.take_offers().is_empty());
    sim.advance(secs(1));
    let to_b = sim.one_offer();
    assert_eq!(to_b.agent, "b");
    sim.answer(to_b.offer);
    sim.enqueue(2, "q", 0);
    sim.advance(secs(29));
    assert!(sim.take_offers().is_empty(), "c needs a limit of 3: 30 s");
    sim.advance(secs(1));
    assert_eq!(sim.one_offer().agent, "c");
}

#[test]
fn skills_decide_eligibility() {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(Strategy::Linear));
    let skilled = |skills: &[&str]| AgentSettings {
        skills: skills.iter().map(|s| (s.to_string(), 5)).collect(),
        ..AgentSettings::default()
    };
    sim.agent_with("a", skilled(&[]));
    sim.agent_with("b", skilled(&["fr"]));
    sim.agent_with("c", skilled(&["fr", "de"]));
    for id in ["a", "b", "c"] {
        sim.member("q", id, 0, 0);
    }
    let join = |skills: &[&str]| Join {
        priority: 0,
        skills: skills.iter().map(|s| s.to_string()).collect(),
    };
    sim.enqueue_with(1, "q", join(&["fr", "de"]));
    assert_eq!(sim.one_offer().agent, "c");
    sim.enqueue_with(2, "q", join(&["fr"]));
    let to_b = sim.one_offer();
    assert_eq!(to_b.agent, "b");
    sim.answer(to_b.offer);
    // Nobody free speaks French: caller 3 waits, and caller 4 behind it, needing
    // nothing, goes to a.
    sim.enqueue_with(3, "q", join(&["fr"]));
    assert!(sim.take_offers().is_empty());
    sim.enqueue_with(4, "q", join(&[]));
    let to_a = sim.one_offer();
    assert_eq!((to_a.agent.as_str(), to_a.caller), ("a", 4));
    // An unknown skill is simply never matched.
    sim.enqueue_with(5, "q", join(&["klingon"]));
    sim.advance(secs(600));
    assert!(sim.take_offers().iter().all(|o| o.caller != 5));
}

#[test]
fn priority_goes_before_arrival() {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(Strategy::Linear));
    sim.agent("a");
    sim.member("q", "a", 0, 0);
    let first = {
        sim.enqueue(100, "q", 0);
        sim.one_offer()
    };
    sim.answer(first.offer);
    assert_eq!(sim.enqueue(1, "q", 0), 1);
    assert_eq!(sim.enqueue(2, "q", 0), 2);
    assert_eq!(sim.enqueue(3, "q", 255), 1, "emergency goes to the front");
    assert_eq!(sim.enqueue(4, "q", 5), 2);
    sim.hang_up(100);
    let mut order = Vec::new();
    for _ in 0..4 {
        let rung = sim.one_offer();
        order.push(rung.caller);
        sim.handle(&rung);
    }
    assert_eq!(order, [3, 4, 1, 2]);
}

#[test]
fn an_agent_in_two_queues_takes_the_best_caller_of_both() {
    let mut sim = Sim::new(1);
    sim.queue("q1", with_strategy(Strategy::Linear));
    sim.queue("q2", with_strategy(Strategy::Linear));
    sim.agent("x");
    sim.member("q1", "x", 0, 0);
    sim.member("q2", "x", 0, 0);
    let call = busy(&mut sim, 100, "q1");
    assert_eq!(call, "x");
    sim.enqueue(1, "q2", 0);
    sim.advance(secs(5));
    sim.enqueue(2, "q1", 0);
    sim.advance(secs(5));
    sim.enqueue(3, "q1", 2);
    sim.enqueue(4, "q2", 2);
    sim.hang_up(100);
    let mut order = Vec::new();
    for _ in 0..4 {
        let rung = sim.one_offer();
        order.push(rung.caller);
        sim.handle(&rung);
    }
    // Priority 2 first (3 before 4 by arrival), then the longest waiting.
    assert_eq!(order, [3, 4, 1, 2]);
}

#[test]
fn queue_weight_breaks_priority_ties_across_queues() {
    let mut sim = Sim::new(1);
    sim.queue("low", with_strategy(Strategy::Linear));
    sim.queue(
        "high",
        QueueSettings {
            priority: 9,
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.agent("x");
    sim.member("low", "x", 0, 0);
    sim.member("high", "x", 0, 0);
    busy(&mut sim, 100, "low");
    sim.enqueue(1, "low", 0);
    sim.advance(secs(60));
    sim.enqueue(2, "high", 0);
    sim.enqueue(3, "low", 1);
    sim.hang_up(100);
    let mut order = Vec::new();
    for _ in 0..3 {
        let rung = sim.one_offer();
        order.push(rung.caller);
        sim.handle(&rung);
    }
    assert_eq!(
        order,
        [3, 2, 1],
        "caller priority, then queue weight, then wait"
    );
}

#[test]
fn wrap_up_holds_across_all_queues() {
    let mut sim = Sim::new(1);
    sim.queue("q1", with_strategy(Strategy::Linear));
    sim.queue("q2", with_strategy(Strategy::Linear));
    let wrap = AgentSettings {
        wrap_up: secs(30),
        ..AgentSettings::default()
    };
    sim.agent_with("x", wrap);
    sim.member("q1", "x", 0, 0);
    sim.member("q2", "x", 0, 0);
    sim.enqueue(1, "q1", 0);
    let rung = sim.one_offer();
    sim.answer(rung.offer);
    sim.advance(secs(10));
    sim.hang_up(1);
    assert_eq!(sim.agent_state("x"), ("available", "wrap_up"));
    let snapshot = sim.acd.agents(sim.now).remove(0);
    assert_eq!(snapshot.wrap_up_remaining_secs, Some(30.0));
    sim.advance(secs(1));
    sim.enqueue(2, "q2", 0);
    sim.advance(secs(28));
    assert!(
        sim.take_offers().is_empty(),
        "q2 must not offer during wrap-up from q1"
    );
    sim.advance(secs(1));
    let rung = sim.one_offer();
    assert_eq!((rung.caller, sim.elapsed()), (2, secs(40)));
    // Zero wrap-up: idle at once.
    sim.acd.set_agent("x", AgentSettings::default());
    sim.handle(&rung);
    assert_eq!(sim.agent_state("x"), ("available", "idle"));
}
