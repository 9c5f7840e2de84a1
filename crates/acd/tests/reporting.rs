//! What the ACD reports: announcements, estimated wait, live queue statistics and
//! agent snapshots, agent status events, and settings changed on the fly.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Sim, secs, with_strategy};
use lifeline_acd::{
    AgentSnapshot, EventKind, NO_QUEUE, Output, QueueSettings, QueueSnapshot, Status, Strategy,
};

fn announcements(outputs: &[Output]) -> Vec<(u64, usize, Option<Duration>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Announce {
                caller,
                position,
                estimated_wait,
            } => Some((*caller, *position, *estimated_wait)),
            _ => None,
        })
        .collect()
}

#[test]
fn waiting_callers_hear_position_and_estimated_wait_periodically() {
    let mut sim = Sim::new(1);
    sim.queue(
        "q",
        QueueSettings {
            announce_every: Some(secs(20)),
            ring_timeout: Some(secs(60)),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.agent("a");
    sim.member("q", "a", 0, 0);
    sim.enqueue(1, "q", 0);
    let first = sim.one_offer();
    sim.advance(secs(10));
    sim.answer(first.offer);
    sim.enqueue(2, "q", 0);
    sim.advance(secs(5));
    sim.enqueue(3, "q", 0);
    sim.take();
    sim.advance(secs(15));
    let ten = Some(secs(10));
    assert_eq!(
        announcements(&sim.take()),
        [(2, 1, ten)],
        "caller 2 at 20 s"
    );
    sim.advance(secs(5));
    assert_eq!(
        announcements(&sim.take()),
        [(3, 2, ten)],
        "caller 3 at 20 s"
    );
    // Caller 2 is being rung at its next turn (t = 50 s): no announcement; it still
    // counts ahead of caller 3.
    sim.hang_up(1);
    assert_eq!(sim.one_offer().caller, 2);
    sim.advance(secs(20));
    assert_eq!(announcements(&sim.take()), [(3, 2, ten)]);
}

#[test]
fn estimated_wait_smooths_answered_hold_times() {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(Strategy::Linear));
    sim.agent("a");
    sim.member("q", "a", 0, 0);
    assert_eq!(sim.acd.estimated_wait("q"), None);
    assert_eq!(sim.acd.estimated_wait("nope"), None);
    sim.enqueue(1, "q", 0);
    let rung = sim.one_offer();
    sim.advance(secs(10));
    sim.answer(rung.offer);
    sim.enqueue(2, "q", 0);
    sim.advance(secs(60));
    sim.hang_up(1);
    let rung = sim.one_offer();
    sim.answer(rung.offer);
    // 0.8 × 10 + 0.2 × 60
    assert_eq!(sim.acd.estimated_wait("q"), Some(secs(20)));
    let position = sim
        .acd
        .enqueue(sim.now, 3, "q", Default::default())
        .unwrap();
    assert_eq!(
        (position.position, position.estimated_wait),
        (1, Some(secs(20)))
    );
}

#[test]
fn queue_statistics_are_live() {
    let mut sim = Sim::new(1);
    sim.queue(
        "q",
        QueueSettings {
            timeout: Some(secs(100)),
            service_level: secs(20),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.agent("a");
    sim.agent("b");
    sim.member("q", "a", 0, 0);
    sim.member("q", "b", 0, 0);
    sim.status(
        "b",
        Status::Break {
            reason: "meeting".into(),
        },
    );
    // Answered after 10 s, talks 50 s.
    sim.enqueue(1, "q", 0);
    let rung = sim.one_offer();
    sim.advance(secs(10));
    sim.answer(rung.offer);
    // Caller 2 waits 30 s and is answered; caller 3 abandons; caller 4 times out.
    sim.enqueue(2, "q", 0);
    sim.enqueue(3, "q", 0);
    sim.enqueue(4, "q", 0);
    sim.advance(secs(5));
    sim.acd.abandon(sim.now, 3);
    sim.advance(secs(45));
    sim.hang_up(1);
    let rung = sim.one_offer();
    sim.answer(rung.offer);
    sim.advance(secs(70));
    sim.hang_up(2);
    sim.enqueue(5, "q", 255);
    sim.status(
        "a",
        Status::Break {
            reason: "done".into(),
        },
    );
    sim.advance(secs(7));
    let q: QueueSnapshot = sim.acd.queues(sim.now).remove(0);
    assert_eq!(
        (
            q.offered,
            q.answered,
            q.abandoned,
            q.timed_out,
            q.exited,
            q.waiting
        ),
        (5, 2, 1, 1, 0, 1)
    );
    assert_eq!(
        q.service_level_pct,
        Some(25.0),
        "1 of 2 answered + 1 abandoned + 1 timed out"
    );
    assert_eq!(q.asa_secs, Some(30.0), "holds of 10 s and 50 s");
    assert_eq!(q.aht_secs, Some(60.0), "talks of 50 s and 70 s");
    assert_eq!(q.abandon_rate_pct, Some(20.0));
    assert_eq!(q.longest_wait_secs, 7.0);
    assert_eq!(
        (q.agents_logged_in, q.agents_available, q.agents_idle),
        (2, 0, 0)
    );
    assert_eq!(q.members, ["a", "b"]);
    let agents: Vec<AgentSnapshot> = sim.acd.agents(sim.now);
    assert_eq!(
        (
            agents[0].answered,
            agents[0].status,
            agents[0].reason.as_deref()
        ),
        (2, "break", Some("done"))
    );
    assert_eq!(agents[0].state_secs, 7.0);
    assert_eq!(agents[1].queues, ["q"]);
    fn serializable<T: serde::Serialize>(_: &T) {}
    serializable(&q);
    serializable(&agents);
}

#[test]
fn status_changes_are_logged_per_queue_or_with_no_queue() {
    let mut sim = Sim::new(1);
    sim.queue("q1", QueueSettings::default());
    sim.queue("q2", QueueSettings::default());
    sim.agent("lone");
    sim.agent("x");
    sim.member("q1", "x", 0, 0);
    sim.member("q2", "x", 0, 0);
    sim.status(
        "x",
        Status::Break {
            reason: "lunch".into(),
        },
    );
    sim.status(
        "x",
        Status::Break {
            reason: "lunch".into(),
        },
    );
    sim.advance(secs(3600));
    sim.status("x", Status::LoggedOut);
    let login = sim.events(EventKind::AgentLogin);
    assert_eq!(
        (login[0].queue.as_str(), login[0].agent.as_deref()),
        (NO_QUEUE, Some("lone"))
    );
    let pauses: Vec<String> = sim
        .events(EventKind::Pause)
        .iter()
        .map(|e| e.queue.clone())
        .collect();
    assert_eq!(
        pauses,
        ["q1", "q2"],
        "once per queue, and not again for the same status"
    );
    assert_eq!(sim.events(EventKind::Pause)[0].data, ["lunch"]);
    assert_eq!(sim.events(EventKind::AgentLogoff)[0].data, ["3600"]);
}

#[test]
fn queue_settings_change_on_the_fly() {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(Strategy::Linear));
    sim.agent("a");
    sim.member("q", "a", 0, 0);
    sim.status("a", Status::Break { reason: "x".into() });
    sim.enqueue(1, "q", 0);
    sim.advance(secs(30));
    // A timeout set later counts from when the caller entered, and applies at once.
    sim.queue(
        "q",
        QueueSettings {
            timeout: Some(secs(20)),
            ..with_strategy(Strategy::Linear)
        },
    );
    assert_eq!(
        sim.acd.poll_timeout(),
        Some(sim.now),
        "settle at the next call"
    );
    sim.advance(Duration::ZERO);
    assert_eq!(sim.events(EventKind::ExitWithTimeout).len(), 1);
    // New skills make an agent eligible without any other event.
    sim.status("a", Status::Available);
    let join = lifeline_acd::Join {
        priority: 0,
        skills: vec!["es".into()],
    };
    sim.enqueue_with(2, "q", join);
    assert!(sim.take_offers().is_empty());
    let skills = [("es".to_owned(), 3)].into_iter().collect();
    sim.acd.set_agent(
        "a",
        lifeline_acd::AgentSettings {
            skills,
            ..Default::default()
        },
    );
    sim.advance(Duration::ZERO);
    assert_eq!(sim.one_offer().caller, 2);
}
