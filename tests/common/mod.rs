//! Harness for end-to-end tests: starts the real `lifeline` binary on port 0 with the
//! demo config and a private data directory, talks HTTP to it, and runs real `sipp`.
//!
//! Nothing here sleeps: every wait polls a condition until a deadline.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod raw_call;
pub mod ws;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Polls `f` until it returns `Some`, or panics with `what` at the deadline.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // Poll interval: parked, so a probe costs nothing between checks.
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

static NEXT_RTP_BLOCK: AtomicU16 = AtomicU16::new(0);

/// A running `lifeline serve`.
pub struct Lifeline {
    child: Child,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    pub data: tempfile::TempDir,
    /// A session of the demo administrator (9001), sent with every request.
    pub token: String,
}

impl Lifeline {
    /// Starts Lifeline with the demo config on loopback, SIP and HTTP on port 0.
    pub fn start() -> Lifeline {
        Self::start_with(&[])
    }

    /// Same, with extra `serve` flags.
    pub fn start_with(extra: &[&str]) -> Lifeline {
        Self::start_in(tempfile::tempdir().unwrap(), extra)
    }

    /// Starts Lifeline on an existing data directory (a restart).
    pub fn start_in(data: tempfile::TempDir, extra: &[&str]) -> Lifeline {
        Self::start_full(data, &root().join("sip-config/lifeline.toml"), extra)
    }

    /// Starts Lifeline with another configuration (e.g. a changed copy of the demo).
    pub fn start_with_config(config: &Path) -> Lifeline {
        Self::start_full(tempfile::tempdir().unwrap(), config, &[])
    }

    fn start_full(data: tempfile::TempDir, config: &Path, extra: &[&str]) -> Lifeline {
        // Each server in this process gets its own 200-port RTP block; the process id
        // spreads concurrent test binaries apart.
        let block =
            NEXT_RTP_BLOCK.fetch_add(1, Ordering::Relaxed) + (std::process::id() % 20) as u16 * 3;
        // 30000-32399: clear of the benchmarks in loadtest/ (20000-29999) and below the
        // ephemeral range.
        let lo = 30_000 + (block % 12) * 200;
        let rtp = format!("{lo}-{}", lo + 199);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.path().join("lifeline.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(["serve", "--config"])
            .arg(config)
            .args([
                "--sip-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
                "--rtp-ports",
                &rtp,
                "--data-dir",
            ])
            .arg(data.path())
            .args(extra)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "info,lifeline_engine=debug")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("lifeline binary runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let log =
                    std::fs::read_to_string(data.path().join("lifeline.log")).unwrap_or_default();
                panic!("lifeline did not report ready; log:\n{log}")
            });
        let field = |name: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
                .parse()
                .unwrap()
        };
        let mut l = Lifeline {
            sip: field("sip_udp"),
            http: field("http"),
            child,
            data,
            token: String::new(),
        };
        wait_for("healthz 200", Duration::from_secs(10), || {
            (l.get("/healthz").0 == 200).then_some(())
        });
        let (status, login) =
            l.post_json("/api/v1/login", r#"{"user": "9001", "password": "pw9001"}"#);
        if status == 200 {
            l.token = login["token"].as_str().unwrap_or_default().to_owned();
        }
        l
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("lifeline.log")).unwrap_or_default()
    }

    /// GET `path` as the administrator: status and JSON body.
    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        json_of(self.get_raw(path))
    }

    /// GET `path` as the administrator: status and raw body.
    pub fn get_raw(&self, path: &str) -> (u16, Vec<u8>) {
        http_request(self.http, "GET", path, "", Some(&self.token))
    }

    /// POST `path` with no body, as the administrator: status and JSON body.
    pub fn post(&self, path: &str) -> (u16, serde_json::Value) {
        self.post_json(path, "")
    }

    /// POST `body` (JSON text) to `path` as the administrator: status and JSON body.
    pub fn post_json(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let token = (!self.token.is_empty()).then_some(self.token.as_str());
        json_of(http_request(self.http, "POST", path, body, token))
    }

    /// The call records, newest first.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.get("/api/v1/calls");
        assert_eq!(status, 200, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    /// Waits for the record of the call with SIP Call-ID `call_id` to satisfy `pred`.
    pub fn wait_call(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let calls = self.calls();
            if let Some(c) = calls.iter().find(|c| pred(c)) {
                return c.clone();
            }
            if Instant::now() >= deadline {
                let log = self.log();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!(
                    "timed out waiting for {what}; records: {calls:#?}\n--- log ---\n{}",
                    tail.join("\n")
                );
            }
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    /// Stops the server with SIGTERM, waits for it to exit, and hands back its data
    /// directory for a restart.
    pub fn stop(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = wait_for("lifeline to exit", Duration::from_secs(20), || {
            self.child.try_wait().ok().flatten()
        });
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        (status, data)
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A status and body parsed as JSON (`null` if it is not).
pub fn json_of((status, body): (u16, Vec<u8>)) -> (u16, serde_json::Value) {
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A tiny HTTP/1.1 client (the API is local and speaks JSON): the status and raw body
/// of a request carrying `body` (JSON when not empty) and, if given, a session token.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let len = body.len();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n{body}"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, raw[head_end..].to_vec())
}

/// A UDP socket on a free port that counts the RTP packets it receives.
pub struct RtpSink {
    pub port: u16,
    pub packets: Arc<AtomicUsize>,
}

impl RtpSink {
    pub fn bind() -> RtpSink {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let packets = Arc::new(AtomicUsize::new(0));
        let count = packets.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if let Ok(n) = sock.recv(&mut buf)
                    && n >= 12
                    && buf[0] >> 6 == 2
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        RtpSink { port, packets }
    }

    pub fn count(&self) -> usize {
        self.packets.load(Ordering::Relaxed)
    }
}

/// A port that was free a moment ago (for sipp's `-p`, which cannot report the port
/// it picked).
pub fn free_port() -> u16 {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.local_addr().unwrap().port()
}

/// sipp transport flag for "udp"/"tcp".
pub fn sipp_transport(t: &str) -> &'static str {
    if t == "tcp" { "t1" } else { "u1" }
}

/// Runs sipp with `scenario` (a file in tests/sipp) against `target` and waits for it.
pub fn sipp(scenario: &str, target: SocketAddr, transport: &str, args: &[&str]) -> Output {
    sipp_spawn(scenario, target, transport, args)
        .wait_with_output()
        .unwrap()
}

/// Starts sipp in the background (for the called phone's side).
pub fn sipp_spawn(scenario: &str, target: SocketAddr, transport: &str, args: &[&str]) -> Child {
    let dir = tempfile::tempdir().unwrap().keep();
    Command::new("sipp")
        .current_dir(&dir)
        .arg("-sf")
        .arg(root().join("tests/sipp").join(scenario))
        .arg(target.to_string())
        .args([
            "-t",
            sipp_transport(transport),
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-l",
            "1",
            "-nostdin",
        ])
        .args([
            "-timeout",
            "30",
            "-timeout_error",
            "-trace_err",
            "-buff_size",
            "4194304",
            "-max_socket",
            "64",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp is installed (Debian package sip-tester)")
}

/// Asserts sipp succeeded, showing its output and error log otherwise.
pub fn assert_sipp_ok(out: &Output, what: &str, server: &Lifeline) {
    assert!(
        out.status.success(),
        "sipp {what} failed ({}):\n{}\n{}\n--- lifeline log ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&out.stderr),
        server
            .log()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

/// A copy of the demo config (`sip-config/`) with `extra` appended to its `flows.toml`
/// (flows, schedules, numbers), for a test that needs a line the demo lacks.
pub fn demo_config_plus(extra: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().map(Result::unwrap) {
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&root().join("sip-config"), dir.path());
    let mut flows = std::fs::read_to_string(dir.path().join("flows.toml")).unwrap();
    flows.push_str(extra);
    std::fs::write(dir.path().join("flows.toml"), flows).unwrap();
    dir
}

/// Registers `user` with digest auth through real sipp, its contact on `contact_port`.
pub fn register(server: &Lifeline, transport: &str, user: &str, password: &str, contact_port: u16) {
    let out = sipp(
        "register.xml",
        server.sip,
        transport,
        &[
            "-au",
            user,
            "-ap",
            password,
            "-set",
            "user",
            user,
            "-set",
            "contact_port",
            &contact_port.to_string(),
        ],
    );
    assert_sipp_ok(&out, "register", server);
}
