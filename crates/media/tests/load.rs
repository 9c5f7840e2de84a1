//! Throughput check for the per-leg media path: many sessions, each receiving and
//! sending 50 packets/s, driven in virtual time. Ignored by default; run with
//! `cargo test -p lifeline-media --release --test load -- --ignored --nocapture`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_media::rtp::RtpHeader;
use lifeline_media::session::{MediaSession, PlayItem, SessionConfig};
use lifeline_media::tone::Law;
use lifeline_media::wav::Prompt;

fn run(sessions: usize, seconds: u64, inband: bool, record: bool) -> Duration {
    let t0 = Instant::now();
    let remote: SocketAddr = "10.0.0.1:4000".parse().expect("address");
    let moh = Arc::new(Prompt::from_samples(vec![1000; 8000]).expect("prompt"));
    let mut legs: Vec<MediaSession> = (0..sessions)
        .map(|i| {
            let cfg = SessionConfig {
                law: Law::Ulaw,
                payload_type: 0,
                dtmf_pt: Some(101),
                remote,
                ssrc: i as u32,
                seq: i as u16,
                ts: i as u32,
                inband_dtmf: inband,
                inactivity: Some(Duration::from_secs(30)),
                record,
            };
            let mut s = MediaSession::new(cfg, t0);
            s.play(vec![PlayItem::Loop(moh.clone())]);
            s
        })
        .collect();
    let mut packet = Vec::new();
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let started = Instant::now();
    let mut sent = 0u64;
    for tick in 0..seconds * 50 {
        let now = t0 + Duration::from_millis(20 * tick);
        for (i, s) in legs.iter_mut().enumerate() {
            RtpHeader {
                payload_type: 0,
                marker: false,
                sequence: tick as u16,
                timestamp: 160 * tick as u32,
                ssrc: 1_000_000 + i as u32,
            }
            .write(&[0x7F; 160], &mut packet);
            s.receive(now, remote, &packet);
            s.handle_timeout(now);
            while s.poll_transmit_into(&mut out).is_some() {
                sent += 1;
            }
            while s.poll_event().is_some() {}
            if tick % 50 == 0
                && let Some(r) = s.recorder_mut()
            {
                scratch.clear();
                r.drain_ready(&mut scratch);
            }
        }
    }
    let elapsed = started.elapsed();
    assert!(sent >= (sessions as u64) * seconds * 50);
    elapsed
}

#[test]
#[ignore = "throughput measurement; run in release"]
fn two_thousand_legs_on_one_core() {
    let seconds = 10;
    for (inband, record) in [(false, false), (true, false), (false, true)] {
        let took = run(2000, seconds, inband, record);
        println!(
            "2000 legs x {seconds} s (inband {inband}, record {record}): {:?} = {:.1} % of one core, {:.2} us per packet in+out",
            took,
            100.0 * took.as_secs_f64() / seconds as f64,
            took.as_secs_f64() * 1e6 / (2000.0 * 50.0 * seconds as f64 * 2.0)
        );
    }
}
