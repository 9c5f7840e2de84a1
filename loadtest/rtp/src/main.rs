//! Issue 3 benchmark: N concurrent calls into Lifeline's 12345 line, each with two-way
//! 50 packets/s µ-law RTP, measured over a fixed window once every call is up.
//!
//!   rtp-storm --sip 127.0.0.1:PORT --pid SERVER_PID --calls N [--seconds S] [--rate CPS]
//!             [--settle S] [--hz CLK_TCK] [--threads T]
//!
//! Each call has its own UDP socket for SIP and RTP (SIP text and RTP are told apart by the
//! first byte). INVITE/ACK/BYE are written by hand. One sender task paces the callers'
//! RTP: a frame per call every 20 ms, the calls spread over four 5 ms slots. Each call's
//! task counts what Lifeline sends it: packets, sequence gaps (lost) and inter-arrival
//! gaps over 40 ms (late). Prints one markdown table row on stdout; progress on stderr.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sipcall::{header, is_sip, proc_ticks, reply_200, rss_kb};
use tokio::net::UdpSocket;
use tokio::sync::watch;

struct Args {
    sip: SocketAddr,
    pid: u32,
    calls: usize,
    seconds: u64,
    rate: u64,
    settle: u64,
    hz: u64,
    threads: usize,
}

fn args() -> Args {
    let mut a = Args {
        sip: "127.0.0.1:5060".parse().unwrap(),
        pid: 0,
        calls: 100,
        seconds: 20,
        rate: 200,
        settle: 3,
        hz: 100,
        threads: 1,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < v.len() {
        let (k, x) = (&v[i], &v[i + 1]);
        let bad = || -> ! {
            eprintln!("bad value for {k}: {x}");
            std::process::exit(2)
        };
        match k.as_str() {
            "--sip" => a.sip = x.parse().unwrap_or_else(|_| bad()),
            "--pid" => a.pid = x.parse().unwrap_or_else(|_| bad()),
            "--calls" => a.calls = x.parse().unwrap_or_else(|_| bad()),
            "--seconds" => a.seconds = x.parse().unwrap_or_else(|_| bad()),
            "--rate" => a.rate = x.parse().unwrap_or_else(|_| bad()),
            "--settle" => a.settle = x.parse().unwrap_or_else(|_| bad()),
            "--hz" => a.hz = x.parse().unwrap_or_else(|_| bad()),
            "--threads" => a.threads = x.parse().unwrap_or_else(|_| bad()),
            _ => {
                eprintln!("unknown option {k}");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    a
}

/// Window counters, summed over all calls.
#[derive(Default)]
struct Stats {
    measuring: AtomicBool,
    rx: AtomicU64,
    lost: AtomicU64,
    late: AtomicU64,
    max_gap_us: AtomicU64,
    tx: AtomicU64,
    tx_err: AtomicU64,
    up: AtomicU64,
    failed: AtomicU64,
    server_bye: AtomicU64,
    bye_ok: AtomicU64,
    other: AtomicU64,
    gaps: AtomicU64,
    max_jump: AtomicU64,
    other_pt: AtomicU64,
    /// Failed set-ups by final status (index: status / 100; 0 = no final response).
    fail_by_class: [AtomicU64; 7],
    last_fail: Mutex<String>,
}

/// What the sender needs of an answered call.
struct Media {
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    seq: std::sync::atomic::AtomicU32,
    ssrc: u32,
    live: AtomicBool,
}

async fn call(
    idx: usize,
    sip: SocketAddr,
    stats: Arc<Stats>,
    media: Arc<Mutex<Vec<Arc<Media>>>>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0").await else {
        stats.failed.fetch_add(1, Relaxed);
        return;
    };
    let sock = Arc::new(sock);
    let dialog = match sipcall::invite(&sock, sip, "12345", idx, "rtp-storm").await {
        Ok(d) => d,
        Err(f) => {
            let class = match f {
                sipcall::Failure::Timeout => 0,
                sipcall::Failure::Refused { class, line } => {
                    *stats.last_fail.lock().unwrap() = line;
                    class
                }
            };
            stats.fail_by_class[class].fetch_add(1, Relaxed);
            stats.failed.fetch_add(1, Relaxed);
            return;
        }
    };
    let Some(rtp_to) = dialog.rtp else {
        stats.failed.fetch_add(1, Relaxed);
        return;
    };
    let mut buf = [0u8; 2048];
    stats.up.fetch_add(1, Relaxed);
    let m = Arc::new(Media {
        sock: sock.clone(),
        to: rtp_to,
        seq: std::sync::atomic::AtomicU32::new(idx as u32 * 7919),
        ssrc: 0x5000_0000 | idx as u32,
        live: AtomicBool::new(true),
    });
    media.lock().unwrap().push(m.clone());

    // In call: count Lifeline's RTP, answer its SIP, until told to hang up.
    let mut last_seq: Option<u16> = None;
    let mut last_at = Instant::now();
    let mut hung_up_by_server = false;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            r = sock.recv(&mut buf) => {
                let Ok(n) = r else { continue };
                let p = &buf[..n];
                if is_sip(p) {
                    let t = String::from_utf8_lossy(p);
                    if t.starts_with("SIP/2.0 2") && header(&t, "CSeq").is_some_and(|c| c.ends_with("INVITE")) {
                        let _ = sock.send_to(dialog.ack().as_bytes(), sip).await; // retransmitted 200
                    } else if t.starts_with("BYE ") {
                        let reply = reply_200(&t);
                        let _ = sock.send_to(reply.as_bytes(), sip).await;
                        hung_up_by_server = true;
                        break;
                    } else if !t.starts_with("SIP/2.0") && !t.starts_with("ACK ") {
                        let reply = reply_200(&t);
                        let _ = sock.send_to(reply.as_bytes(), sip).await;
                    }
                } else if n >= 12 && p[0] & 0xC0 == 0x80 && p[1] & 0x7F != 0 {
                    if stats.measuring.load(Relaxed) {
                        stats.other.fetch_add(1, Relaxed);
                        stats.other_pt.store(u64::from(p[1]), Relaxed);
                    }
                } else if n >= 12 && p[0] & 0xC0 == 0x80 {
                    let now = Instant::now();
                    let seq = u16::from_be_bytes([p[2], p[3]]);
                    if stats.measuring.load(Relaxed) {
                        stats.rx.fetch_add(1, Relaxed);
                        if let Some(prev) = last_seq {
                            let d = seq.wrapping_sub(prev);
                            if (2..1000).contains(&d) {
                                stats.lost.fetch_add(u64::from(d - 1), Relaxed);
                                stats.gaps.fetch_add(1, Relaxed);
                                stats.max_jump.fetch_max(u64::from(d), Relaxed);
                            }
                            let gap = now - last_at;
                            if gap > Duration::from_millis(40) {
                                stats.late.fetch_add(1, Relaxed);
                            }
                            stats.max_gap_us.fetch_max(gap.as_micros() as u64, Relaxed);
                        }
                    }
                    last_seq = Some(seq);
                    last_at = now;
                }
            }
        }
    }
    m.live.store(false, Relaxed);
    if hung_up_by_server {
        stats.server_bye.fetch_add(1, Relaxed);
        return;
    }
    if dialog.bye(&sock, sip).await {
        stats.bye_ok.fetch_add(1, Relaxed);
    }
}

/// Paces the callers' RTP: every 5 ms, a frame for a quarter of the calls.
async fn sender(media: Arc<Mutex<Vec<Arc<Media>>>>, stats: Arc<Stats>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let payload = [0xFFu8; 160]; // µ-law silence
    let mut pkt = [0u8; 172];
    pkt[12..].copy_from_slice(&payload);
    let mut slot = 0usize;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let calls: Vec<Arc<Media>> = {
            let all = media.lock().unwrap();
            all.iter().skip(slot).step_by(4).cloned().collect()
        };
        slot = (slot + 1) % 4;
        for m in calls {
            if !m.live.load(Relaxed) {
                continue;
            }
            let seq = m.seq.fetch_add(1, Relaxed);
            pkt[0] = 0x80;
            pkt[1] = 0; // PCMU
            pkt[2..4].copy_from_slice(&(seq as u16).to_be_bytes());
            pkt[4..8].copy_from_slice(&seq.wrapping_mul(160).to_be_bytes());
            pkt[8..12].copy_from_slice(&m.ssrc.to_be_bytes());
            match m.sock.try_send_to(&pkt, m.to) {
                Ok(_) => {
                    stats.tx.fetch_add(1, Relaxed);
                }
                Err(_) => {
                    stats.tx_err.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(a));
}

async fn run(a: Args) {
    let stats = Arc::new(Stats::default());
    let media: Arc<Mutex<Vec<Arc<Media>>>> = Arc::new(Mutex::new(Vec::with_capacity(a.calls)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let idle_rss = rss_kb(a.pid);
    let send_task = tokio::spawn(sender(media.clone(), stats.clone(), stop_rx.clone()));

    // Ramp at a bounded rate.
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(a.calls);
    let gap = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    for i in 0..a.calls {
        tokio::time::sleep_until((t0 + gap * i as u32).into()).await;
        tasks.push(tokio::spawn(call(i, a.sip, stats.clone(), media.clone(), stop_rx.clone())));
    }
    // Wait for every call to be up or failed (bounded), then settle.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.up.load(Relaxed) + stats.failed.load(Relaxed) < a.calls as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "ramp: {} up, {} failed after {:.1} s; settling {} s",
        stats.up.load(Relaxed),
        stats.failed.load(Relaxed),
        t0.elapsed().as_secs_f64(),
        a.settle
    );
    if stats.failed.load(Relaxed) > 0 {
        let c: Vec<u64> = stats.fail_by_class.iter().map(|x| x.load(Relaxed)).collect();
        eprintln!(
            "failed set-ups: {} without a final response, {} 4xx, {} 5xx, {} 6xx; last: {}",
            c[0], c[4], c[5], c[6], stats.last_fail.lock().unwrap()
        );
    }
    tokio::time::sleep(Duration::from_secs(a.settle)).await;

    // Measured window.
    let me = std::process::id();
    let s0 = proc_ticks(a.pid).unwrap_or(0);
    let g0 = proc_ticks(me).unwrap_or(0);
    let up0 = stats.up.load(Relaxed);
    let tx0 = stats.tx.load(Relaxed);
    let w0 = Instant::now();
    stats.measuring.store(true, Relaxed);
    let mut rss_peak = 0;
    while w0.elapsed() < Duration::from_secs(a.seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(rss_kb(a.pid));
    }
    stats.measuring.store(false, Relaxed);
    let secs = w0.elapsed().as_secs_f64();
    let s1 = proc_ticks(a.pid).unwrap_or(0);
    let g1 = proc_ticks(me).unwrap_or(0);
    let tx = stats.tx.load(Relaxed) - tx0;
    let server_bye_in_window = stats.server_bye.load(Relaxed);

    // Hang up.
    let _ = stop_tx.send(true);
    let _ = send_task.await;
    let hang = Instant::now();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    eprintln!(
        "window: {} non-PCMU packets from Lifeline (last 2nd byte {}; not counted), {} sequence gaps, largest jump {}",
        stats.other.load(Relaxed),
        stats.other_pt.load(Relaxed),
        stats.gaps.load(Relaxed),
        stats.max_jump.load(Relaxed)
    );
    eprintln!(
        "hang-up: {} BYE answered, {} hung up by server, in {:.1} s",
        stats.bye_ok.load(Relaxed),
        stats.server_bye.load(Relaxed),
        hang.elapsed().as_secs_f64()
    );

    let up = up0.max(1) as f64;
    let rx = stats.rx.load(Relaxed) as f64;
    let lost = stats.lost.load(Relaxed) as f64;
    let late = stats.late.load(Relaxed) as f64;
    let hz = a.hz as f64;
    println!(
        "| {} | {} / {} | {:.1} | {:.1} | {:.3} % | {:.3} % | {:.0} ms | {:.0} % | {:.1} MB | {:.1} kB | {:.0} % |",
        a.calls,
        up0,
        stats.failed.load(Relaxed) + server_bye_in_window,
        rx / up / secs,
        tx as f64 / up / secs,
        100.0 * lost / (rx + lost).max(1.0),
        100.0 * late / rx.max(1.0),
        stats.max_gap_us.load(Relaxed) as f64 / 1000.0,
        100.0 * (s1 - s0) as f64 / hz / secs,
        rss_peak as f64 / 1024.0,
        (rss_peak.saturating_sub(idle_rss)) as f64 / up,
        100.0 * (g1 - g0) as f64 / hz / secs,
    );
}
