//! Offers that fail or go stale, auto-pause, status changes during offers and calls,
//! and the ways a caller leaves a queue: length limit, empty rules, timeout, overflow,
//! voicemail, exit key, callback, transfer.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Sim, secs, with_strategy};
use lifeline_acd::{
    AUTO_PAUSE_REASON, AcdError, AgentSettings, EmptyRule, EndedBy, EventKind, ExitReason,
    JoinError, OfferFailure, Output, QueueSettings, StaleOffer, Status, Strategy,
};

fn linear(agents: &[&str]) -> Sim {
    linear_with(agents, with_strategy(Strategy::Linear))
}

fn linear_with(agents: &[&str], settings: QueueSettings) -> Sim {
    let mut sim = Sim::new(1);
    sim.queue("q", settings);
    for id in agents {
        sim.agent(id);
        sim.member("q", id, 0, 0);
    }
    sim
}

fn exits(outputs: &[Output]) -> Vec<(u64, ExitReason)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Exit { caller, reason, .. } => Some((*caller, reason.clone())),
            _ => None,
        })
        .collect()
}

fn cancels(outputs: &[Output]) -> Vec<u64> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::CancelOffer { offer } => Some(*offer),
            _ => None,
        })
        .collect()
}

#[test]
fn ring_timeout_moves_the_caller_to_another_agent() {
    let mut sim = linear(&["a", "b"]);
    sim.enqueue(1, "q", 0);
    let to_a = sim.one_offer();
    assert_eq!(to_a.agent, "a");
    sim.take();
    sim.advance(secs(15));
    let to_b = sim.one_offer();
    assert_eq!(to_b.agent, "b", "not a again while b is eligible");
    assert_eq!(cancels(&sim.take()), [to_a.offer]);
    let missed = sim.events(EventKind::RingNoAnswer);
    assert_eq!(missed[0].data, ["15000", "no_answer"]);
    // b does not answer either: back to a, the only one left.
    sim.advance(secs(15));
    assert_eq!(sim.one_offer().agent, "a");
    // The late answer to the first offer is stale.
    assert_eq!(
        sim.acd.offer_answered(sim.now, to_a.offer),
        Err(StaleOffer(to_a.offer))
    );
}

#[test]
fn a_lone_agent_is_rung_again() {
    let mut sim = linear(&["a"]);
    sim.enqueue(1, "q", 0);
    let first = sim.one_offer();
    sim.acd
        .offer_failed(sim.now, first.offer, OfferFailure::Busy);
    let again = sim.one_offer();
    assert_eq!((again.agent.as_str(), again.caller), ("a", 1));
    assert_ne!(again.offer, first.offer);
    assert_eq!(sim.events(EventKind::RingNoAnswer)[0].data[1], "busy");
}

#[test]
fn auto_pause_after_consecutive_misses() {
    let mut sim = Sim::new(1);
    sim.queue("q", with_strategy(Strategy::Linear));
    let settings = AgentSettings {
        max_no_answer: Some(2),
        ..AgentSettings::default()
    };
    sim.agent_with("a", settings);
    sim.member("q", "a", 0, 0);
    sim.enqueue(1, "q", 0);
    // A miss, an answer (resets the count), then two misses.
    let o = sim.one_offer();
    sim.acd
        .offer_failed(sim.now, o.offer, OfferFailure::Rejected);
    let again = sim.one_offer();
    sim.handle(&again);
    sim.enqueue(2, "q", 0);
    sim.advance(secs(15));
    assert_eq!(sim.agent_state("a"), ("available", "ringing"));
    sim.advance(secs(15));
    assert_eq!(sim.agent_state("a"), ("break", "idle"));
    let snapshot = sim.acd.agents(sim.now).remove(0);
    assert_eq!(snapshot.reason.as_deref(), Some(AUTO_PAUSE_REASON));
    assert_eq!(snapshot.missed, 3);
    let pause = sim.events(EventKind::Pause);
    assert_eq!(
        (pause.len(), pause[0].data.as_slice()),
        (1, [AUTO_PAUSE_REASON.to_owned()].as_slice())
    );
    sim.take();
    sim.advance(secs(100));
    assert!(sim.take_offers().is_empty(), "paused agents get no offers");
    sim.status("a", Status::Available);
    assert_eq!(sim.one_offer().caller, 2);
    assert_eq!(sim.events(EventKind::Unpause).len(), 1);
}

#[test]
fn break_or_logout_while_ringing_withdraws_the_offer() {
    let mut sim = linear(&["a", "b"]);
    sim.enqueue(1, "q", 0);
    let to_a = sim.one_offer();
    sim.take();
    sim.status("a", Status::LoggedOut);
    let to_b = sim.one_offer();
    assert_eq!((to_b.agent.as_str(), to_b.caller), ("b", 1));
    assert_eq!(cancels(&sim.take()), [to_a.offer]);
    assert_eq!(sim.events(EventKind::RingCanceled).len(), 1);
    assert_eq!(sim.events(EventKind::AgentLogoff).len(), 1);
    assert!(sim.acd.offer_answered(sim.now, to_a.offer).is_err());
    // The withdrawal does not count as a miss.
    assert_eq!(sim.acd.agents(sim.now)[0].missed, 0);
}

#[test]
fn logout_during_a_call_takes_effect_after_it() {
    let mut sim = linear(&["a"]);
    sim.acd.set_agent(
        "a",
        AgentSettings {
            wrap_up: secs(5),
            ..AgentSettings::default()
        },
    );
    sim.enqueue(1, "q", 0);
    let rung = sim.one_offer();
    sim.answer(rung.offer);
    sim.status("a", Status::LoggedOut);
    assert_eq!(sim.agent_state("a"), ("logged_out", "on_call"));
    sim.enqueue(2, "q", 0);
    sim.advance(secs(60));
    sim.acd.call_ended(sim.now, 1, EndedBy::Agent);
    assert_eq!(sim.agent_state("a"), ("logged_out", "wrap_up"));
    sim.advance(secs(10));
    assert_eq!(sim.agent_state("a"), ("logged_out", "idle"));
    assert!(sim.take_offers().is_empty());
    assert_eq!(
        sim.events(EventKind::CompleteAgent)[0].data,
        ["0", "60", "1"]
    );
}

#[test]
fn max_len_and_join_empty_refuse_callers() {
    let mut sim = linear_with(
        &["a"],
        QueueSettings {
            max_len: Some(2),
            join_empty: EmptyRule::NoAvailable,
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.status(
        "a",
        Status::Break {
            reason: "training".into(),
        },
    );
    assert_eq!(
        sim.acd.enqueue(sim.now, 1, "q", Default::default()),
        Err(JoinError::Empty)
    );
    sim.status("a", Status::Available);
    sim.enqueue(1, "q", 0);
    let first = sim.one_offer();
    sim.answer(first.offer);
    sim.enqueue(2, "q", 0);
    sim.enqueue(3, "q", 0);
    assert_eq!(
        sim.acd.enqueue(sim.now, 4, "q", Default::default()),
        Err(JoinError::Full)
    );
    assert_eq!(
        sim.acd.enqueue(sim.now, 2, "q", Default::default()),
        Err(JoinError::AlreadyQueued)
    );
    assert_eq!(
        sim.acd.enqueue(sim.now, 5, "nope", Default::default()),
        Err(JoinError::UnknownQueue)
    );
    // NoMembers holds only when nobody is logged in: a break is not enough.
    sim.queue(
        "m",
        QueueSettings {
            join_empty: EmptyRule::NoMembers,
            ..QueueSettings::default()
        },
    );
    assert_eq!(
        sim.acd.enqueue(sim.now, 6, "m", Default::default()),
        Err(JoinError::Empty)
    );
    sim.member("m", "a", 0, 0);
    sim.status(
        "a",
        Status::Break {
            reason: "training".into(),
        },
    );
    assert!(sim.acd.enqueue(sim.now, 6, "m", Default::default()).is_ok());
    // Refused callers were never offered: nothing logged for them.
    assert_eq!(sim.events(EventKind::EnterQueue).len(), 4);
}

#[test]
fn leave_empty_sends_waiting_callers_away_but_keeps_callbacks() {
    let mut sim = linear_with(
        &["a"],
        QueueSettings {
            leave_empty: EmptyRule::NoAvailable,
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.enqueue(1, "q", 0);
    let first = sim.one_offer();
    sim.answer(first.offer);
    sim.enqueue(2, "q", 0);
    sim.enqueue(3, "q", 0);
    sim.acd.request_callback(sim.now, 3, "+3312345678").unwrap();
    sim.take();
    sim.status(
        "a",
        Status::Break {
            reason: "done".into(),
        },
    );
    assert_eq!(exits(&sim.take()), [(2, ExitReason::Empty)]);
    assert_eq!(sim.events(EventKind::ExitEmpty)[0].data, ["1", "1", "0"]);
    assert_eq!(sim.acd.queues(sim.now)[0].callbacks_pending, 1);
    // A caller joining while the rule holds is let go at once.
    sim.enqueue(4, "q", 0);
    assert_eq!(exits(&sim.take()), [(4, ExitReason::Empty)]);
}

#[test]
fn queue_timeout_exits_or_goes_to_voicemail() {
    let mut sim = linear_with(
        &[],
        QueueSettings {
            timeout: Some(secs(60)),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.enqueue(1, "q", 0);
    sim.advance(secs(30));
    sim.enqueue(2, "q", 0);
    sim.advance(secs(30));
    assert_eq!(exits(&sim.take()), [(1, ExitReason::Timeout)]);
    assert_eq!(
        sim.events(EventKind::ExitWithTimeout)[0].data,
        ["1", "1", "60"]
    );
    sim.queue(
        "q",
        QueueSettings {
            timeout: Some(secs(60)),
            voicemail_on_timeout: true,
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.advance(secs(30));
    assert_eq!(exits(&sim.take()), [(2, ExitReason::Voicemail)]);
    assert_eq!(sim.acd.queues(sim.now)[0].timed_out, 2);
}

#[test]
fn overflow_moves_the_caller_keeping_priority_and_arrival() {
    let mut sim = Sim::new(1);
    sim.queue(
        "first",
        QueueSettings {
            timeout: Some(secs(30)),
            overflow: Some("second".into()),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.queue("second", with_strategy(Strategy::Linear));
    sim.enqueue(1, "first", 4);
    sim.advance(secs(10));
    sim.enqueue(2, "second", 4);
    sim.enqueue(3, "second", 9);
    sim.advance(secs(20));
    let to = ExitReason::Overflow {
        to: "second".into(),
    };
    assert_eq!(exits(&sim.take()), [(1, to)]);
    let overflow = sim.events(EventKind::ExitOverflow);
    assert_eq!(overflow[0].data, ["1", "1", "30", "second"]);
    let entered = &sim.events(EventKind::EnterQueue)[3];
    // Priority 4 kept; ahead of caller 2 (same priority, later arrival), behind 3.
    assert_eq!(
        (entered.queue.as_str(), entered.caller),
        ("second", Some(1))
    );
    assert_eq!(entered.data, ["4", "2"]);
    sim.agent("a");
    sim.member("second", "a", 0, 0);
    let mut order = Vec::new();
    for _ in 0..3 {
        let rung = sim.one_offer();
        order.push(rung.caller);
        sim.handle(&rung);
    }
    assert_eq!(order, [3, 1, 2]);
    let queues = sim.acd.queues(sim.now);
    assert_eq!(
        (
            queues[0].name.as_str(),
            queues[0].exited,
            queues[0].timed_out
        ),
        ("first", 1, 0)
    );
    assert_eq!((queues[1].offered, queues[1].answered), (3, 3));
}

#[test]
fn overflow_never_loops_back() {
    let mut sim = Sim::new(1);
    for (name, to) in [("a", "b"), ("b", "a")] {
        sim.queue(
            name,
            QueueSettings {
                timeout: Some(secs(0)),
                overflow: Some(to.into()),
                ..with_strategy(Strategy::Linear)
            },
        );
    }
    sim.enqueue(1, "a", 0);
    sim.advance(secs(1));
    let to_b = ExitReason::Overflow { to: "b".into() };
    assert_eq!(exits(&sim.take()), [(1, to_b), (1, ExitReason::Timeout)]);
}

#[test]
fn exit_key_only_with_the_right_key() {
    let mut sim = linear_with(
        &[],
        QueueSettings {
            exit_key: Some('0'),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.enqueue(1, "q", 0);
    sim.advance(secs(7));
    assert!(!sim.acd.exit_with_key(sim.now, 1, '5'));
    assert!(sim.acd.exit_with_key(sim.now, 1, '0'));
    assert!(!sim.acd.exit_with_key(sim.now, 1, '0'), "already gone");
    sim.take();
    assert_eq!(
        sim.events(EventKind::ExitWithKey)[0].data,
        ["0", "1", "1", "7"]
    );
}

#[test]
fn callback_keeps_its_place_and_is_offered_with_the_number() {
    let mut sim = linear_with(
        &["a"],
        QueueSettings {
            timeout: Some(secs(120)),
            ..with_strategy(Strategy::Linear)
        },
    );
    sim.enqueue(100, "q", 0);
    let busy = sim.one_offer();
    sim.answer(busy.offer);
    sim.enqueue(1, "q", 0);
    sim.enqueue(2, "q", 0);
    sim.enqueue(3, "q", 0);
    sim.advance(secs(10));
    sim.acd.request_callback(sim.now, 2, "+3312345678").unwrap();
    assert_eq!(
        sim.acd.request_callback(sim.now, 2, "+3312345678"),
        Err(AcdError::NotWaiting(2))
    );
    assert_eq!(
        sim.acd.request_callback(sim.now, 9, "1"),
        Err(AcdError::UnknownCaller(9))
    );
    assert_eq!(sim.events(EventKind::CallbackRequest)[0].data, ["2"]);
    // The caller's call ends: the callback entry stays, and survives the queue timeout.
    sim.acd.abandon(sim.now, 2);
    sim.acd.call_ended(sim.now, 2, EndedBy::Caller);
    sim.advance(secs(200));
    let timed_out: Vec<Option<u64>> = sim
        .events(EventKind::ExitWithTimeout)
        .iter()
        .map(|e| e.caller)
        .collect();
    assert_eq!(timed_out, [Some(1), Some(3)]);
    assert!(sim.events(EventKind::Abandon).is_empty());
    sim.hang_up(100);
    let call_back = sim.one_offer();
    assert_eq!(
        (call_back.caller, call_back.callback.as_deref()),
        (2, Some("+3312345678"))
    );
    // Unanswered: it waits again and is offered again with the number.
    sim.acd
        .offer_failed(sim.now, call_back.offer, OfferFailure::NoAnswer);
    let again = sim.one_offer();
    assert_eq!(again.callback.as_deref(), Some("+3312345678"));
    sim.advance(secs(3));
    let connected = sim.acd.offer_answered(sim.now, again.offer).unwrap();
    assert_eq!((connected.caller, connected.agent.as_str()), (2, "a"));
    assert_eq!(sim.acd.queues(sim.now)[0].callbacks_pending, 0);
    sim.hang_up(2);
    assert_eq!(sim.events(EventKind::CompleteCaller).len(), 2);
}

#[test]
fn abandon_while_ringing_cancels_the_offer() {
    let mut sim = linear(&["a"]);
    sim.enqueue(1, "q", 0);
    let rung = sim.one_offer();
    sim.take();
    sim.advance(secs(4));
    sim.acd.abandon(sim.now, 1);
    assert_eq!(cancels(&sim.take()), [rung.offer]);
    assert_eq!(sim.events(EventKind::Abandon)[0].data, ["1", "1", "4"]);
    assert_eq!(sim.agent_state("a"), ("available", "idle"));
    assert_eq!(
        sim.acd.offer_answered(sim.now, rung.offer),
        Err(StaleOffer(rung.offer))
    );
}

#[test]
fn transfer_frees_the_agent() {
    let mut sim = linear(&["a"]);
    sim.enqueue(1, "q", 0);
    let rung = sim.one_offer();
    sim.advance(secs(2));
    sim.answer(rung.offer);
    sim.advance(secs(30));
    sim.acd.transferred(sim.now, 1);
    assert_eq!(
        sim.events(EventKind::BlindTransfer)[0].data,
        ["2", "30", "1"]
    );
    assert_eq!(sim.agent_state("a"), ("available", "idle"));
    assert_eq!(sim.acd.queues(sim.now)[0].aht_secs, Some(30.0));
}

#[test]
fn membership_changes_are_logged_and_withdraw_offers() {
    let mut sim = linear(&["a", "b"]);
    assert_eq!(sim.events(EventKind::AddMember)[0].data, ["0", "0"]);
    sim.enqueue(1, "q", 0);
    let to_a = sim.one_offer();
    sim.take();
    sim.acd.remove_member(sim.now, "q", "a").unwrap();
    assert_eq!(sim.one_offer().agent, "b");
    assert_eq!(cancels(&sim.take()), [to_a.offer]);
    assert_eq!(sim.events(EventKind::RemoveMember).len(), 1);
    assert_eq!(
        sim.acd.remove_member(sim.now, "q", "a"),
        Err(AcdError::NotMember {
            queue: "q".into(),
            agent: "a".into()
        })
    );
    assert!(matches!(
        sim.acd.set_status(sim.now, "zed", Status::Available),
        Err(AcdError::UnknownAgent(_))
    ));
    assert_eq!(sim.acd.queues(sim.now)[0].members, ["b"]);
}
