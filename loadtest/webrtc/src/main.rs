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
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use sipcall::{header, is_sip, proc_ticks, reply_200, rss_kb};
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

// ---------------------------------------------------------------------------------------
// Counters

/// One direction of media, counted at its receivers while the window is open.
#[derive(Default)]
struct Dir {
    /// Marked frames of the right call received.
    rx: AtomicU64,
    /// Frames missing from the sender's count between two received ones.
    lost: AtomicU64,
    /// Frames whose count was not above the last one received (reordered or duplicated).
    reordered: AtomicU64,
    /// Inter-arrival gaps over 40 ms, and the largest gap.
    late: AtomicU64,
    max_gap_us: AtomicU64,
    /// Marked frames of another call (a crossed bridge), and audio without the mark (music
    /// on hold, i.e. a call not bridged).
    foreign: AtomicU64,
    unmarked: AtomicU64,
    /// Frames sent (all the time).
    tx: AtomicU64,
    tx_err: AtomicU64,
}

/// Set-up, window and hang-up counters, summed over all calls.
struct Stats {
    measuring: AtomicBool,
    // Agents.
    agents_ready: AtomicU64,
    agents_failed: AtomicU64,
    offers: AtomicU64,
    accepts: AtomicU64,
    answers: AtomicU64,
    rtc_connected: AtomicU64,
    ws_connected: AtomicU64,
    rtc_failed: AtomicU64,
    cancelled: AtomicU64,
    errors: AtomicU64,
    ended: AtomicU64,
    ended_in_window: AtomicU64,
    last_error: Mutex<String>,
    /// accept sent → str0m Connected, in ms.
    connect_ms: Mutex<Vec<f64>>,
    // SIP callers.
    up: AtomicU64,
    failed: AtomicU64,
    server_bye: AtomicU64,
    bye_ok: AtomicU64,
    fail_by_class: [AtomicU64; 7],
    last_fail: Mutex<String>,
    // Media. c2b: caller → browser (SIP RTP in, SRTP out); b2c: browser → caller.
    c2b: Dir,
    b2c: Dir,
    /// Marked frames received in the window, per call, each way.
    c2b_call: Vec<AtomicU64>,
    b2c_call: Vec<AtomicU64>,
}

impl Stats {
    fn new(calls: usize) -> Stats {
        Stats {
            measuring: AtomicBool::new(false),
            agents_ready: AtomicU64::new(0),
            agents_failed: AtomicU64::new(0),
            offers: AtomicU64::new(0),
            accepts: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            rtc_connected: AtomicU64::new(0),
            ws_connected: AtomicU64::new(0),
            rtc_failed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            ended_in_window: AtomicU64::new(0),
            last_error: Mutex::new(String::new()),
            connect_ms: Mutex::new(Vec::with_capacity(calls)),
            up: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            server_bye: AtomicU64::new(0),
            bye_ok: AtomicU64::new(0),
            fail_by_class: Default::default(),
            last_fail: Mutex::new(String::new()),
            c2b: Dir::default(),
            b2c: Dir::default(),
            c2b_call: (0..calls).map(|_| AtomicU64::new(0)).collect(),
            b2c_call: (0..calls).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Relaxed);
        *self.last_error.lock().unwrap() = what;
    }
}

/// A 20 ms PCMU payload marked with the call and the sender's frame count.
const MAGIC: [u8; 2] = [0xB0, 0x0B];
const FRAME_BYTES: usize = 160;

fn marked(call: u32, count: u32) -> [u8; FRAME_BYTES] {
    let mut p = [0xFFu8; FRAME_BYTES]; // µ-law silence around the mark
    p[..2].copy_from_slice(&MAGIC);
    p[2..6].copy_from_slice(&call.to_be_bytes());
    p[6..10].copy_from_slice(&count.to_be_bytes());
    p
}

/// What one receiver has seen of its stream.
#[derive(Default)]
struct RxTrack {
    last_count: Option<u32>,
    last_at: Option<Instant>,
}

impl RxTrack {
    /// Counts one PCMU payload that should belong to `call`.
    fn on_payload(&mut self, st: &Stats, dir: &Dir, per_call: &[AtomicU64], call: u32, p: &[u8]) {
        let now = Instant::now();
        let measuring = st.measuring.load(Relaxed);
        if p.len() < 10 || p[..2] != MAGIC {
            if measuring {
                dir.unmarked.fetch_add(1, Relaxed);
            }
            return;
        }
        let from = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
        let count = u32::from_be_bytes([p[6], p[7], p[8], p[9]]);
        if from != call {
            if measuring {
                dir.foreign.fetch_add(1, Relaxed);
            }
            return;
        }
        if measuring {
            dir.rx.fetch_add(1, Relaxed);
            if let Some(c) = per_call.get(call as usize) {
                c.fetch_add(1, Relaxed);
            }
            if let Some(last) = self.last_count {
                if count > last {
                    let missing = count - last - 1;
                    if missing > 0 && missing < 100_000 {
                        dir.lost.fetch_add(u64::from(missing), Relaxed);
                    }
                } else {
                    dir.reordered.fetch_add(1, Relaxed);
                }
            }
            if let Some(at) = self.last_at {
                let gap = now - at;
                if gap > Duration::from_millis(40) {
                    dir.late.fetch_add(1, Relaxed);
                }
                dir.max_gap_us.fetch_max(gap.as_micros() as u64, Relaxed);
            }
        }
        if self.last_count.is_none_or(|l| count > l) {
            self.last_count = Some(count);
        }
        self.last_at = Some(now);
    }
}

// ---------------------------------------------------------------------------------------
// /proc

/// Drops counted by the kernel on UDP sockets bound to 127.0.0.1 (/proc/net/udp): the
/// server's WebRTC port, the server's RTP range 20000–29999, and every other socket
/// (the generator's).
#[derive(Default, Clone, Copy)]
struct UdpDrops {
    webrtc: u64,
    rtp: u64,
    other: u64,
}

fn udp_drops(webrtc_port: Option<u16>) -> UdpDrops {
    let mut d = UdpDrops::default();
    let Ok(s) = std::fs::read_to_string("/proc/net/udp") else {
        return d;
    };
    for line in s.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
            continue;
        };
        let Some(port) = local
            .split(':')
            .nth(1)
            .and_then(|p| u16::from_str_radix(p, 16).ok())
        else {
            continue;
        };
        let drops: u64 = drops.parse().unwrap_or(0);
        if Some(port) == webrtc_port {
            d.webrtc += drops;
        } else if (20000..30000).contains(&port) {
            d.rtp += drops;
        } else {
            d.other += drops;
        }
    }
    d
}

// ---------------------------------------------------------------------------------------
// HTTP (by hand: one request per connection)

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp);
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Axum answers small bodies with Content-Length; a chunked one would start with its size.
    Ok((status, body.to_owned()))
}

async fn server_calls(addr: SocketAddr) -> Option<u64> {
    let (status, body) = http(addr, "GET", "/api/v1/stats", None).await.ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(&body).ok()?["calls"].as_u64()
}

// ---------------------------------------------------------------------------------------
// SIP callers (as in loadtest/rtp)

/// What the sender needs of an answered call.
struct Media {
    idx: u32,
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    count: AtomicU32,
    seq0: u32,
    ssrc: u32,
    live: AtomicBool,
}

async fn caller(
    idx: usize,
    sip: SocketAddr,
    number: Arc<str>,
    stats: Arc<Stats>,
    media: Arc<Mutex<Vec<Arc<Media>>>>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0").await else {
        stats.failed.fetch_add(1, Relaxed);
        return;
    };
    let sock = Arc::new(sock);
    let dialog = match sipcall::invite(&sock, sip, &number, idx, "webrtc-storm").await {
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
        idx: idx as u32,
        sock: sock.clone(),
        to: rtp_to,
        count: AtomicU32::new(0),
        seq0: (idx as u32).wrapping_mul(7919),
        ssrc: 0x5000_0000 | idx as u32,
        live: AtomicBool::new(true),
    });
    media.lock().unwrap().push(m.clone());

    // In call: count what the browser sent (relayed by Lifeline), answer SIP, until told
    // to hang up.
    let mut track = RxTrack::default();
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
                } else if n >= 12 && p[0] & 0xC0 == 0x80 && p[1] & 0x7F == 0 {
                    // PCMU (RTCP has 200..=204 in the second byte and is left out).
                    let cc = usize::from(p[0] & 0x0F);
                    if let Some(payload) = p.get(12 + 4 * cc..) {
                        track.on_payload(&stats, &stats.b2c, &stats.b2c_call, idx as u32, payload);
                    }
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
async fn sender(
    media: Arc<Mutex<Vec<Arc<Media>>>>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pkt = [0u8; 12 + FRAME_BYTES];
    let mut slot = 0usize;
    let mut calls: Vec<Arc<Media>> = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        calls.clear();
        calls.extend(media.lock().unwrap().iter().skip(slot).step_by(4).cloned());
        slot = (slot + 1) % 4;
        for m in &calls {
            if !m.live.load(Relaxed) {
                continue;
            }
            let count = m.count.fetch_add(1, Relaxed);
            let seq = m.seq0.wrapping_add(count);
            pkt[0] = 0x80;
            pkt[1] = 0; // PCMU
            pkt[2..4].copy_from_slice(&(seq as u16).to_be_bytes());
            pkt[4..8].copy_from_slice(&count.wrapping_mul(160).to_be_bytes());
            pkt[8..12].copy_from_slice(&m.ssrc.to_be_bytes());
            pkt[12..].copy_from_slice(&marked(m.idx, count));
            match m.sock.try_send_to(&pkt, m.to) {
                Ok(_) => stats.c2b.tx.fetch_add(1, Relaxed),
                Err(_) => stats.c2b.tx_err.fetch_add(1, Relaxed),
            };
        }
    }
}

// ---------------------------------------------------------------------------------------
// Agents: login, console WebSocket, str0m client

/// The browser side of one call.
struct Leg {
    rtc: Rtc,
    mid: Mid,
    offer: u64,
    call: u32,
    pending: Option<SdpPendingOffer>,
    accepted_at: Instant,
    connected: bool,
    /// Frames sent; also the RTP sequence number and (×160) timestamp offset.
    count: u32,
    tick: Option<tokio::time::Interval>,
    track: RxTrack,
    timeout: Instant,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
type WsTx = futures_util::stream::SplitSink<Ws, Message>;

async fn login(a: &Args, user: &str, password: &str) -> Result<String, String> {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match http(a.http, "POST", "/api/v1/login", Some(&body)).await {
            Ok((200, b)) => {
                let v: serde_json::Value = serde_json::from_str(&b).map_err(|e| e.to_string())?;
                return v["token"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no token in {b}"));
            }
            Ok((s, b)) => last = format!("login {user}: {s} {b}"),
            Err(e) => last = format!("login {user}: {e}"),
        }
    }
    Err(last)
}

async fn send_json(ws: &mut WsTx, v: serde_json::Value) -> bool {
    ws.send(Message::text(v.to_string())).await.is_ok()
}

/// Drains the client's output: datagrams out, events counted. The next timeout, or
/// `None` if str0m failed.
fn drain(leg: &mut Leg, sock: &UdpSocket, st: &Stats) -> Option<Instant> {
    loop {
        match leg.rtc.poll_output() {
            Ok(Output::Timeout(t)) => return Some(t),
            Ok(Output::Transmit(t)) => {
                let _ = sock.try_send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(e)) => match e {
                Event::Connected if !leg.connected => {
                    leg.connected = true;
                    st.rtc_connected.fetch_add(1, Relaxed);
                    let ms = leg.accepted_at.elapsed().as_secs_f64() * 1000.0;
                    st.connect_ms.lock().unwrap().push(ms);
                    // Spread the senders over the 20 ms frame.
                    let phase = Duration::from_micros(u64::from(leg.call) * 7_919 % 20_000);
                    let mut tick = tokio::time::interval_at(
                        (Instant::now() + phase).into(),
                        Duration::from_millis(20),
                    );
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    leg.tick = Some(tick);
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    st.rtc_failed.fetch_add(1, Relaxed);
                    st.error(format!("call {}: ICE disconnected", leg.call));
                }
                Event::RtpPacket(p) if *p.header.payload_type == 0 => {
                    leg.track
                        .on_payload(st, &st.c2b, &st.c2b_call, leg.call, &p.payload);
                }
                _ => {}
            },
            Err(e) => {
                st.rtc_failed.fetch_add(1, Relaxed);
                st.error(format!("call {}: str0m: {e}", leg.call));
                return None;
            }
        }
    }
}

/// Sends one marked frame to Lifeline.
fn send_frame(leg: &mut Leg, st: &Stats) {
    let now = Instant::now();
    let count = leg.count;
    let write = RtpWrite::new(
        Pt::from(0),
        SeqNo::from(u64::from(count)),
        count.wrapping_mul(160),
        now,
        marked(leg.call, count).to_vec(),
    )
    .marker(count == 0);
    match leg.rtc.direct_api().stream_tx_by_mid(leg.mid, None) {
        Some(tx) => {
            tx.write_rtp(write);
            leg.count += 1;
            st.b2c.tx.fetch_add(1, Relaxed);
        }
        None => {
            st.b2c.tx_err.fetch_add(1, Relaxed);
        }
    }
    // str0m releases what was written when time moves on.
    let _ = leg.rtc.handle_input(Input::Timeout(now));
}

#[allow(clippy::too_many_arguments)]
async fn agent(
    i: usize,
    a: Arc<Args>,
    st: Arc<Stats>,
    logins: Arc<Semaphore>,
    cert: DtlsCert,
    mut stop: watch::Receiver<bool>,
) {
    let user = (a.first_agent + i as u32).to_string();
    let token = {
        let _permit = logins.acquire().await;
        match login(&a, &user, &format!("pw{user}")).await {
            Ok(t) => t,
            Err(e) => {
                st.agents_failed.fetch_add(1, Relaxed);
                st.error(e);
                return;
            }
        }
    };
    let url = format!("ws://{}/api/v1/agent/ws?token={token}", a.http);
    let ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            st.agents_failed.fetch_add(1, Relaxed);
            st.error(format!("agent {user}: WebSocket: {e}"));
            return;
        }
    };
    // The socket is read in a task of its own: tungstenite zeroes its read buffer each
    // time it is polled, which the agent loop (woken for every packet) must not do.
    let (mut ws, mut ws_rx) = ws.split();
    let (msg_tx, mut msgs) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(m)) = ws_rx.next().await {
            match m {
                Message::Text(t) if msg_tx.send(t.as_str().to_owned()).is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    if !send_json(
        &mut ws,
        serde_json::json!({"type": "status", "status": "available"}),
    )
    .await
    {
        st.agents_failed.fetch_add(1, Relaxed);
        return;
    }
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0").await else {
        st.agents_failed.fetch_add(1, Relaxed);
        return;
    };
    let local = sock.local_addr().expect("bound");
    let mut ready = false;
    let mut leg: Option<Leg> = None;
    let mut buf = vec![0u8; 2048];
    let far = || Instant::now() + Duration::from_secs(3600);
    let sleep = tokio::time::sleep_until(far().into());
    tokio::pin!(sleep);
    loop {
        let wake = leg.as_ref().map_or_else(far, |l| l.timeout);
        if sleep.deadline() != wake.into() {
            sleep.as_mut().reset(wake.into());
        }
        tokio::select! {
            _ = stop.changed() => break,
            msg = msgs.recv() => {
                let Some(text) = msg else {
                    st.error(format!("agent {user}: console WebSocket closed"));
                    break;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                let offer = v["offer"].as_u64();
                match v["type"].as_str().unwrap_or("") {
                    "agent" if !ready && v["agent"]["status"] == "available" => {
                        ready = true;
                        st.agents_ready.fetch_add(1, Relaxed);
                    }
                    "incoming" => {
                        st.offers.fetch_add(1, Relaxed);
                        let Some(offer) = offer else { continue };
                        if leg.is_some() {
                            st.error(format!("agent {user}: offered a second call"));
                            send_json(&mut ws, serde_json::json!({"type": "decline", "offer": offer})).await;
                            continue;
                        }
                        // The caller is 139NNNNNNNN: NNNNNNNN is its index.
                        let call = v["caller"].as_str().and_then(|c| c.strip_prefix("139")).and_then(|c| c.parse::<u32>().ok()).unwrap_or(u32::MAX);
                        let now = Instant::now();
                        let mut rtc = RtcConfig::new()
                            .clear_codecs()
                            .enable_pcmu(true, false)
                            .set_rtp_mode(true)
                            .set_dtls_cert(cert.clone())
                            .build(now);
                        rtc.add_local_candidate(Candidate::host(local, "udp").expect("host candidate"));
                        let mut api = rtc.sdp_api();
                        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
                        let Some((sdp, pending)) = api.apply() else {
                            st.error(format!("agent {user}: no offer"));
                            continue;
                        };
                        let accept = serde_json::json!({"type": "accept", "offer": offer, "sdp": sdp.to_sdp_string()});
                        leg = Some(Leg {
                            rtc, mid, offer, call, pending: Some(pending), accepted_at: now, connected: false,
                            count: 0, tick: None, track: RxTrack::default(), timeout: now,
                        });
                        st.accepts.fetch_add(1, Relaxed);
                        send_json(&mut ws, accept).await;
                    }
                    "answer" => {
                        let Some(l) = leg.as_mut().filter(|l| Some(l.offer) == offer) else { continue };
                        let Some(pending) = l.pending.take() else { continue };
                        let answer = v["sdp"].as_str().map(SdpAnswer::from_sdp_string);
                        match answer {
                            Some(Ok(answer)) => match l.rtc.sdp_api().accept_answer(pending, answer) {
                                Ok(()) => {
                                    st.answers.fetch_add(1, Relaxed);
                                    match drain(l, &sock, &st) {
                                        Some(t) => l.timeout = t,
                                        None => leg = None,
                                    }
                                }
                                Err(e) => { st.error(format!("agent {user}: answer refused: {e}")); leg = None; }
                            },
                            _ => { st.error(format!("agent {user}: bad answer")); leg = None; }
                        }
                    }
                    "connected" => { st.ws_connected.fetch_add(1, Relaxed); }
                    "ended" => {
                        st.ended.fetch_add(1, Relaxed);
                        if st.measuring.load(Relaxed) {
                            st.ended_in_window.fetch_add(1, Relaxed);
                        }
                        if let Some(mut l) = leg.take() {
                            let _ = l.rtc.close();
                            drain(&mut l, &sock, &st);
                        }
                    }
                    "cancelled" => {
                        st.cancelled.fetch_add(1, Relaxed);
                        if leg.as_ref().is_some_and(|l| Some(l.offer) == offer) {
                            leg = None;
                        }
                    }
                    "error" => {
                        st.error(format!("agent {user}: {}", v["message"].as_str().unwrap_or("?")));
                    }
                    _ => {}
                }
            }
            r = sock.recv_from(&mut buf), if leg.is_some() => {
                let Ok((n, from)) = r else { continue };
                let Some(l) = leg.as_mut() else { continue };
                let Ok(contents) = buf[..n].try_into() else { continue };
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Udp, source: from, destination: local, contents,
                });
                if !l.rtc.accepts(&input) {
                    continue;
                }
                if let Err(e) = l.rtc.handle_input(input) {
                    st.error(format!("call {}: str0m input: {e}", l.call));
                }
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
            () = &mut sleep, if leg.is_some() => {
                let Some(l) = leg.as_mut() else { continue };
                let _ = l.rtc.handle_input(Input::Timeout(Instant::now()));
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
            _ = async {
                match leg.as_mut().and_then(|l| l.tick.as_mut()) {
                    Some(t) => t.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(l) = leg.as_mut() else { continue };
                send_frame(l, &st);
                match drain(l, &sock, &st) {
                    Some(t) => l.timeout = t,
                    None => leg = None,
                }
            }
        }
    }
    let _ = ws.close().await;
    reader.abort();
}

// ---------------------------------------------------------------------------------------

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
