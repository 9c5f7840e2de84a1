//! Issue 5 benchmark: N concurrent WebRTC↔RTP bridged calls through Lifeline. str0m
//! clients stand in for the browsers; plain UDP SIP callers stand in for the phones.
//!
//!   webrtc-storm --http 127.0.0.1:PORT --sip 127.0.0.1:PORT --webrtc 127.0.0.1:PORT
//!                --pid SERVER_PID --calls N [--seconds S] [--rate CPS] [--settle S]
//!                [--hz CLK_TCK] [--threads T] [--first-agent 7001] [--number 19999]
//!                [--logins L]
//!
//! 1. N agents `7001…` log in (`POST /api/v1/login`, at most L at once: argon2), open the
//!    agent WebSocket and go `available`.
//! 2. N SIP callers dial the bench queue's number at `--rate` calls/s (INVITE with a PCMU
//!    offer, ACK; one UDP socket per caller for SIP and RTP, as in `loadtest/rtp`). Each
//!    sends 50 packets/s of PCMU from the moment it is answered.
//! 3. Each agent, on `incoming`, builds a str0m client (full ICE, PCMU only, RTP mode, a
//!    host candidate for its own UDP socket), sends `accept` with its offer, applies the
//!    `answer` and drives ICE/DTLS toward Lifeline's candidate. Once str0m reports
//!    `Connected` it sends 50 packets/s of PCMU (SRTP) with `write_rtp`.
//! 4. Every payload is marked: magic, the caller's index, and the sender's packet count.
//!    Lifeline relays PCMU bytes unchanged, so each receiver counts loss end to end from
//!    the count (not from RTP sequence numbers, which Lifeline rewrites per leg), and
//!    notices a frame that belongs to another call.
//! 5. After every call is connected and a settle time, a window of `--seconds` measures
//!    both directions, the server's CPU (utime+stime of /proc/PID/stat) and RSS, the
//!    generator's CPU and the UDP sockets' drop counters (/proc/net/udp).
//! 6. Callers hang up with BYE; the agents' consoles should get `ended` and the server's
//!    `/api/v1/stats` `calls` drop to 0.
//!
//! One markdown table row on stdout; progress and diagnostics on stderr.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sipcall::{header, is_sip, proc_ticks, reply_200, rss_kb};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    http: SocketAddr,
    sip: SocketAddr,
    webrtc: Option<SocketAddr>,
    pid: u32,
    calls: usize,
    seconds: u64,
    rate: u64,
    settle: u64,
    hz: u64,
    threads: usize,
    first_agent: u32,
    number: String,
    logins: usize,
}

fn args() -> Args {
    let mut a = Args {
        http: "127.0.0.1:8080".parse().unwrap(),
        sip: "127.0.0.1:5060".parse().unwrap(),
        webrtc: None,
        pid: 0,
        calls: 100,
        seconds: 20,
        rate: 100,
        settle: 3,
        hz: 100,
        threads: 1,
        first_agent: 7001,
        number: "19999".into(),
        logins: 4,
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
            "--http" => a.http = x.parse().unwrap_or_else(|_| bad()),
            "--sip" => a.sip = x.parse().unwrap_or_else(|_| bad()),
            "--webrtc" => a.webrtc = Some(x.parse().unwrap_or_else(|_| bad())),
            "--pid" => a.pid = x.parse().unwrap_or_else(|_| bad()),
            "--calls" => a.calls = x.parse().unwrap_or_else(|_| bad()),
            "--seconds" => a.seconds = x.parse().unwrap_or_else(|_| bad()),
            "--rate" => a.rate = x.parse().unwrap_or_else(|_| bad()),
            "--settle" => a.settle = x.parse().unwrap_or_else(|_| bad()),
            "--hz" => a.hz = x.parse().unwrap_or_else(|_| bad()),
            "--threads" => a.threads = x.parse().unwrap_or_else(|_| bad()),
            "--first-agent" => a.first_agent = x.parse().unwrap_or_else(|_| bad()),
            "--number" => a.number = x.clone(),
            "--logins" => a.logins = x.parse().unwrap_or_else(|_| bad()),
            _ => {
                eprintln!("unknown option {k}");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    a
}

mod agents;
mod callers;
mod counters;
mod http;
mod procfs;

use agents::*;
use callers::*;
use counters::*;
use http::*;
use procfs::*;

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(Arc::new(a)));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(a: Arc<Args>) {
    let n = a.calls;
    let st = Arc::new(Stats::new(n));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (agents_stop_tx, agents_stop_rx) = watch::channel(false);
    let rss_start = rss_kb(a.pid);

    // 1. Agents log in and go available.
    let provider = str0m::crypto::from_feature_flags();
    let cert = provider
        .dtls_provider
        .generate_certificate()
        .expect("DTLS certificate");
    let logins = Arc::new(Semaphore::new(a.logins.max(1)));
    let t0 = Instant::now();
    let mut agents = Vec::with_capacity(n);
    for i in 0..n {
        agents.push(tokio::spawn(agent(
            i,
            a.clone(),
            st.clone(),
            logins.clone(),
            cert.clone(),
            agents_stop_rx.clone(),
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(60 + n as u64 / 5);
    while st.agents_ready.load(Relaxed) + st.agents_failed.load(Relaxed) < n as u64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "agents: {} available, {} failed after {:.1} s{}",
        st.agents_ready.load(Relaxed),
        st.agents_failed.load(Relaxed),
        t0.elapsed().as_secs_f64(),
        if st.agents_failed.load(Relaxed) > 0 {
            format!("; last error: {}", st.last_error.lock().unwrap())
        } else {
            String::new()
        }
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kb(a.pid);

    // 2. Callers, ramped at a bounded rate.
    let media: Arc<Mutex<Vec<Arc<Media>>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let send_task = tokio::spawn(sender(media.clone(), st.clone(), stop_rx.clone()));
    let number: Arc<str> = Arc::from(a.number.as_str());
    let t0 = Instant::now();
    let mut callers = Vec::with_capacity(n);
    let gap = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    for i in 0..n {
        tokio::time::sleep_until((t0 + gap * i as u32).into()).await;
        callers.push(tokio::spawn(caller(
            i,
            a.sip,
            number.clone(),
            st.clone(),
            media.clone(),
            stop_rx.clone(),
        )));
    }
    // Wait for every call to be connected both ways or failed (bounded), then settle.
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = |st: &Stats| {
        st.rtc_connected.load(Relaxed) + st.failed.load(Relaxed) + st.rtc_failed.load(Relaxed)
            >= n as u64
    };
    while !done(&st) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut connect = st.connect_ms.lock().unwrap().clone();
    connect.sort_by(f64::total_cmp);
    eprintln!(
        "ramp: {} SIP up, {} SIP failed; {} offers, {} accepts, {} answers, {} WebRTC connected (console `connected`: {}), \
         {} WebRTC failed, {} cancelled, {} errors after {:.1} s; accept→connected p50 {:.1} / p95 {:.1} / max {:.1} ms",
        st.up.load(Relaxed),
        st.failed.load(Relaxed),
        st.offers.load(Relaxed),
        st.accepts.load(Relaxed),
        st.answers.load(Relaxed),
        st.rtc_connected.load(Relaxed),
        st.ws_connected.load(Relaxed),
        st.rtc_failed.load(Relaxed),
        st.cancelled.load(Relaxed),
        st.errors.load(Relaxed),
        t0.elapsed().as_secs_f64(),
        percentile(&connect, 50.0),
        percentile(&connect, 95.0),
        connect.last().copied().unwrap_or(f64::NAN),
    );
    if st.errors.load(Relaxed) > 0 {
        eprintln!("last error: {}", st.last_error.lock().unwrap());
    }
    if st.failed.load(Relaxed) > 0 {
        let c: Vec<u64> = st.fail_by_class.iter().map(|x| x.load(Relaxed)).collect();
        eprintln!(
            "failed SIP set-ups: {} without a final response, {} 4xx, {} 5xx, {} 6xx; last: {}",
            c[0],
            c[4],
            c[5],
            c[6],
            st.last_fail.lock().unwrap()
        );
    }
    tokio::time::sleep(Duration::from_secs(a.settle)).await;

    // 3. Measured window.
    let me = std::process::id();
    let webrtc_port = a.webrtc.map(|w| w.port());
    let drops0 = udp_drops(webrtc_port);
    let s0 = proc_ticks(a.pid).unwrap_or(0);
    let g0 = proc_ticks(me).unwrap_or(0);
    let connected = st.rtc_connected.load(Relaxed);
    let (c2b_tx0, b2c_tx0) = (st.c2b.tx.load(Relaxed), st.b2c.tx.load(Relaxed));
    let w0 = Instant::now();
    st.measuring.store(true, Relaxed);
    let mut rss_peak = 0;
    while w0.elapsed() < Duration::from_secs(a.seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(rss_kb(a.pid));
    }
    st.measuring.store(false, Relaxed);
    let secs = w0.elapsed().as_secs_f64();
    let s1 = proc_ticks(a.pid).unwrap_or(0);
    let g1 = proc_ticks(me).unwrap_or(0);
    let drops1 = udp_drops(webrtc_port);
    let c2b_tx = st.c2b.tx.load(Relaxed) - c2b_tx0;
    let b2c_tx = st.b2c.tx.load(Relaxed) - b2c_tx0;
    let ended_in_window = st.ended_in_window.load(Relaxed) + st.server_bye.load(Relaxed);

    // 4. Hang up, and check that the server lets go of every call.
    let _ = stop_tx.send(true);
    let _ = send_task.await;
    let hang = Instant::now();
    for t in callers {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let mut calls_left = server_calls(a.http).await;
    let until = Instant::now() + Duration::from_secs(15);
    while calls_left != Some(0) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
        calls_left = server_calls(a.http).await;
    }
    let ended_wait = Instant::now() + Duration::from_secs(5);
    while st.ended.load(Relaxed) < connected && Instant::now() < ended_wait {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "hang-up: {} BYE answered, {} hung up by server; consoles told `ended`: {} of {}; server calls gauge {} after {:.1} s",
        st.bye_ok.load(Relaxed),
        st.server_bye.load(Relaxed),
        st.ended.load(Relaxed),
        connected,
        calls_left.map_or("unknown".into(), |c| c.to_string()),
        hang.elapsed().as_secs_f64()
    );
    let _ = agents_stop_tx.send(true);
    for t in agents {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }

    // 5. Report.
    let per_call = |v: &[AtomicU64]| {
        let mut x: Vec<f64> = v.iter().map(|c| c.load(Relaxed) as f64 / secs).collect();
        x.sort_by(f64::total_cmp);
        x
    };
    let c2b_calls = per_call(&st.c2b_call);
    let b2c_calls = per_call(&st.b2c_call);
    for (name, d, tx, calls) in [
        ("caller→browser", &st.c2b, c2b_tx, &c2b_calls),
        ("browser→caller", &st.b2c, b2c_tx, &b2c_calls),
    ] {
        eprintln!(
            "window {name}: sent {tx} ({} send errors), received {} (rx/tx {:.2} %, edges included), lost {} (from the sender's count), \
             reordered {}, late {}, max gap {:.0} ms, other call's frames {}, unmarked {}; \
             per call pkt/s min {:.1} / p1 {:.1} / median {:.1}; calls under 45 pkt/s: {}",
            d.tx_err.load(Relaxed),
            d.rx.load(Relaxed),
            100.0 * d.rx.load(Relaxed) as f64 / (tx as f64).max(1.0),
            d.lost.load(Relaxed),
            d.reordered.load(Relaxed),
            d.late.load(Relaxed),
            d.max_gap_us.load(Relaxed) as f64 / 1000.0,
            d.foreign.load(Relaxed),
            d.unmarked.load(Relaxed),
            calls.first().copied().unwrap_or(f64::NAN),
            percentile(calls, 1.0),
            percentile(calls, 50.0),
            calls.iter().filter(|&&x| x < 45.0).count(),
        );
    }
    eprintln!(
        "UDP socket drops in the window (/proc/net/udp): server WebRTC port {}, server RTP ports {}, other (generator) {}",
        drops1.webrtc.saturating_sub(drops0.webrtc),
        drops1.rtp.saturating_sub(drops0.rtp),
        drops1.other.saturating_sub(drops0.other)
    );
    eprintln!(
        "server RSS: {:.1} MB before the agents logged in, {:.1} MB with the agents idle, {:.1} MB peak in the window",
        rss_start as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );

    let calls = connected.max(1) as f64;
    let hz = a.hz as f64;
    // Loss each way: frames the receivers know are missing (from the sender's count in
    // each payload), over those plus the ones received. A call whose stream stopped
    // altogether shows in pkt/call/s and "calls under 45 pkt/s" instead.
    let loss = |d: &Dir| {
        let rx = d.rx.load(Relaxed) as f64;
        let lost = d.lost.load(Relaxed) as f64;
        100.0 * lost / (rx + lost).max(1.0)
    };
    let late = |d: &Dir| 100.0 * d.late.load(Relaxed) as f64 / (d.rx.load(Relaxed) as f64).max(1.0);
    let server_cpu = 100.0 * (s1 - s0) as f64 / hz / secs;
    println!(
        "| {} | {} / {} / {} | {:.0} / {:.0} ms | {:.1} | {:.3} % | {:.3} % | {:.1} | {:.3} % | {:.3} % | {:.0} ms | {:.0} % | {:.1} µs | {:.0} | {:.1} MB | {:.1} kB | {:.0} % | {} |",
        n,
        st.up.load(Relaxed),
        connected,
        (n as u64).saturating_sub(connected) + ended_in_window,
        percentile(&connect, 50.0),
        percentile(&connect, 95.0),
        st.c2b.rx.load(Relaxed) as f64 / calls / secs,
        loss(&st.c2b),
        late(&st.c2b),
        st.b2c.rx.load(Relaxed) as f64 / calls / secs,
        loss(&st.b2c),
        late(&st.b2c),
        st.c2b
            .max_gap_us
            .load(Relaxed)
            .max(st.b2c.max_gap_us.load(Relaxed)) as f64
            / 1000.0,
        server_cpu,
        // CPU time per call per second of call, in µs (10,000 µs = 1 % of a core).
        10_000.0 * server_cpu / calls,
        calls / (server_cpu / 100.0).max(1e-9),
        rss_peak as f64 / 1024.0,
        rss_peak.saturating_sub(rss_idle) as f64 / calls,
        100.0 * (g1 - g0) as f64 / hz / secs,
        drops1.webrtc.saturating_sub(drops0.webrtc),
    );
}
