//! Unit tests of the strategy ranking.

use std::time::{Duration, Instant};

use super::*;

fn candidates(n: usize) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            agent: 100 + i,
            order: i * 2,
            penalty: 0,
            last_call_end: None,
            answered: 0,
        })
        .collect()
}

#[test]
fn deterministic_strategies() {
    let mut rng = Rng::new(1);
    let mut cs = candidates(3);
    assert_eq!(pick(Strategy::RingAll, &cs, None, &mut rng), Pick::All);
    assert_eq!(pick(Strategy::Linear, &cs, None, &mut rng), Pick::One(0));
    assert_eq!(
        pick(Strategy::RrMemory, &cs, Some(2), &mut rng),
        Pick::One(2)
    );
    assert_eq!(
        pick(Strategy::RrMemory, &cs, Some(3), &mut rng),
        Pick::One(2)
    );
    assert_eq!(
        pick(Strategy::RrMemory, &cs, Some(4), &mut rng),
        Pick::One(0)
    );
    let t0 = Instant::now();
    cs[0].last_call_end = Some(t0 + Duration::from_secs(5));
    cs[1].last_call_end = Some(t0);
    cs[2].last_call_end = Some(t0);
    assert_eq!(
        pick(Strategy::LeastRecent, &cs, None, &mut rng),
        Pick::One(1)
    );
    cs[2].last_call_end = None;
    assert_eq!(
        pick(Strategy::LeastRecent, &cs, None, &mut rng),
        Pick::One(2)
    );
    cs[0].answered = 3;
    cs[1].answered = 1;
    cs[2].answered = 1;
    assert_eq!(
        pick(Strategy::FewestCalls, &cs, None, &mut rng),
        Pick::One(1)
    );
}

#[test]
fn wrandom_prefers_low_penalty() {
    let mut rng = Rng::new(42);
    let mut cs = candidates(2);
    cs[1].penalty = 3; // weight 1/4 against 1
    let mut hits = [0u32; 2];
    for _ in 0..10_000 {
        if let Pick::One(i) = pick(Strategy::WRandom, &cs, None, &mut rng) {
            hits[i] += 1;
        }
    }
    // Expected 8000 / 2000.
    assert!((7700..8300).contains(&hits[0]), "{hits:?}");
}
