use super::*;
use proptest::prelude::*;

/// Pops `n` frames as `Some(seq)` for audio, `None` for missing.
fn pop_n(jb: &mut JitterBuffer, n: usize) -> Vec<Option<u16>> {
    (0..n)
        .map(|_| match jb.pop() {
            Frame::Audio { seq, payload, .. } => {
                assert_eq!(payload, &seq.to_be_bytes());
                Some(seq)
            }
            Frame::Missing => None,
        })
        .collect()
}

fn push(jb: &mut JitterBuffer, seq: u16) -> PushOutcome {
    jb.push(seq, u32::from(seq) * 160, &seq.to_be_bytes())
}

#[test]
fn in_order_stream_plays_after_depth() {
    let mut jb = JitterBuffer::new(3);
    assert_eq!(pop_n(&mut jb, 1), [None]);
    let mut out = Vec::new();
    // One packet per tick, popped right after.
    for seq in 100..110 {
        assert_eq!(push(&mut jb, seq), PushOutcome::Stored);
        out.extend(pop_n(&mut jb, 1));
    }
    assert_eq!(&out[..2], [None, None], "buffering two ticks");
    let played: Vec<_> = out.iter().flatten().copied().collect();
    assert_eq!(played, (100..108).collect::<Vec<_>>());
    assert_eq!(jb.stats().played, 8);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn reordering_is_repaired() {
    let mut jb = JitterBuffer::new(3);
    for seq in [11, 10, 13, 12, 14] {
        assert_eq!(push(&mut jb, seq), PushOutcome::Stored);
    }
    assert_eq!(
        pop_n(&mut jb, 6),
        [Some(10), Some(11), Some(12), Some(13), Some(14), None]
    );
    assert_eq!(jb.stats().underruns, 1);
}

#[test]
fn loss_is_a_missing_frame() {
    let mut jb = JitterBuffer::new(3);
    for seq in [1, 2, 4, 5] {
        push(&mut jb, seq);
    }
    assert_eq!(
        pop_n(&mut jb, 5),
        [Some(1), Some(2), None, Some(4), Some(5)]
    );
    assert_eq!(jb.stats().lost, 1);
}

#[test]
fn duplicates_and_late_packets_are_dropped() {
    let mut jb = JitterBuffer::new(2);
    push(&mut jb, 1);
    assert_eq!(push(&mut jb, 1), PushOutcome::Duplicate);
    push(&mut jb, 2);
    push(&mut jb, 3);
    assert_eq!(pop_n(&mut jb, 2), [Some(1), Some(2)]);
    assert_eq!(push(&mut jb, 1), PushOutcome::Late);
    assert_eq!(push(&mut jb, 2), PushOutcome::Late);
    assert_eq!(push(&mut jb, 3), PushOutcome::Duplicate);
    assert_eq!(pop_n(&mut jb, 2), [Some(3), None]);
    // Played out and the buffer ran dry: 3 is late even while re-buffering.
    assert_eq!(push(&mut jb, 3), PushOutcome::Late);
    let s = jb.stats();
    assert_eq!((s.duplicates, s.late), (2, 3));
}

#[test]
fn sequence_wraps_at_65535() {
    let mut jb = JitterBuffer::new(3);
    for seq in [65534, 0, 65535, 1, 2, 3] {
        assert_eq!(push(&mut jb, seq), PushOutcome::Stored);
    }
    assert_eq!(
        pop_n(&mut jb, 6),
        [Some(65534), Some(65535), Some(0), Some(1), Some(2), Some(3)]
    );
    assert_eq!(push(&mut jb, 65535), PushOutcome::Late);
}

#[test]
fn big_jumps_resync_to_the_new_stream() {
    let mut jb = JitterBuffer::new(2);
    for seq in 10..14 {
        push(&mut jb, seq);
    }
    assert_eq!(pop_n(&mut jb, 1), [Some(10)]);
    assert_eq!(push(&mut jb, 30_000), PushOutcome::Resync);
    assert_eq!(push(&mut jb, 30_001), PushOutcome::Stored);
    assert_eq!(pop_n(&mut jb, 2), [Some(30_000), Some(30_001)]);
    // Far behind is a new stream too, not a late packet.
    assert_eq!(push(&mut jb, 5), PushOutcome::Resync);
    assert_eq!(jb.stats().resyncs, 2);
}

#[test]
fn a_paused_sender_resumes_without_late_drops() {
    let mut jb = JitterBuffer::new(2);
    for seq in 0..4 {
        push(&mut jb, seq);
        pop_n(&mut jb, 1);
    }
    // 10 ticks with nothing arriving, then the stream continues where it stopped.
    pop_n(&mut jb, 10);
    let mut out = Vec::new();
    for seq in 4..10 {
        assert_eq!(push(&mut jb, seq), PushOutcome::Stored);
        out.extend(pop_n(&mut jb, 1));
    }
    assert_eq!(out, [None, Some(4), Some(5), Some(6), Some(7), Some(8)]);
}

#[test]
fn a_burst_is_trimmed_back_to_depth() {
    let mut jb = JitterBuffer::new(2);
    for seq in 0..10 {
        push(&mut jb, seq);
    }
    assert_eq!(pop_n(&mut jb, 3), [Some(8), Some(9), None]);
    assert_eq!(jb.stats().overflow, 8);
    assert_eq!(jb.depth(), 2);
    assert_eq!(JitterBuffer::new(100).depth(), MAX_DEPTH);
}

proptest! {
    /// Whatever order packets come in, playout never repeats a sequence number and
    /// never goes backwards.
    #[test]
    fn playout_is_monotonic_and_unique(
        start in any::<u16>(),
        ops in proptest::collection::vec((0u16..40, any::<bool>()), 1..200),
    ) {
        let mut jb = JitterBuffer::new(3);
        let mut last: Option<u16> = None;
        for (offset, pop) in ops {
            push(&mut jb, start.wrapping_add(offset));
            if pop && let Some(seq) = pop_n(&mut jb, 1)[0] {
                if let Some(prev) = last {
                    prop_assert!((seq.wrapping_sub(prev) as i16) > 0, "{prev} then {seq}");
                }
                last = Some(seq);
            }
        }
    }
}
