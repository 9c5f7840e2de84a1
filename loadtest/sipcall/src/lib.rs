//! What Lifeline's load generators (`loadtest/rtp`, `loadtest/webrtc`) share: a caller
//! that places one SIP call over UDP with hand-written messages (INVITE retransmitted
//! until a final answer, ACK, and later BYE retransmitted until its 200), and the
//! `/proc` readers for a process's CPU time and resident memory.
//!
//! The caller offers PCMU on its own socket's port, so the same socket carries the
//! call's signalling and RTP (the generators tell them apart by the first byte).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

/// One call's dialog, once the INVITE was answered.
#[derive(Debug, Clone)]
pub struct Dialog {
    number: String,
    idx: usize,
    port: u16,
    from: String,
    to: String,
    call_id: String,
    /// Where Lifeline wants this call's RTP (from its SDP answer).
    pub rtp: Option<SocketAddr>,
}

/// Why a call was not set up.
#[derive(Debug, Clone)]
pub enum Failure {
    /// No final answer within 16 s.
    Timeout,
    /// A final answer that is not 2xx: its status class (3–6) and status line.
    Refused {
        /// The first digit of the status code.
        class: usize,
        /// The status line.
        line: String,
    },
}

/// Whether a datagram is SIP (a method or `SIP/2.0` first), not RTP.
pub fn is_sip(b: &[u8]) -> bool {
    b.first().is_some_and(|c| c.is_ascii_uppercase())
}

/// A header's value in a message's text (first occurrence, name case-insensitive).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A 200 OK to a request, echoing its Via, From, To, Call-ID and CSeq.
pub fn reply_200(req: &str) -> String {
    let mut r = String::from("SIP/2.0 200 OK\r\n");
    for h in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = header(req, h) {
            r.push_str(&format!("{h}: {v}\r\n"));
        }
    }
    r.push_str("Content-Length: 0\r\n\r\n");
    r
}

/// Calls `number` at `sip` from `sock` as caller `idx` (`tag` names the generator in
/// the Call-ID): INVITE with PCMU on the socket's port, retransmitted from 500 ms
/// doubling to 4 s until a final answer (16 s at most); a 2xx is ACKed.
pub async fn invite(
    sock: &UdpSocket,
    sip: SocketAddr,
    number: &str,
    idx: usize,
    tag: &str,
) -> Result<Dialog, Failure> {
    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let call_id = format!("{tag}-{idx}-{port}");
    let from = format!("<sip:139{idx:08}@127.0.0.1>;tag=c{idx}");
    let sdp = format!(
        "v=0\r\no=t {idx} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    let invite = format!(
        "INVITE sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKi{idx}x{port};rport\r\n\
         From: {from}\r\nTo: <sip:{number}@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:139{idx:08}@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(16);
    let mut rto = Duration::from_millis(500);
    let mut next = Instant::now();
    let mut provisional = false;
    let ok = loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::Timeout);
        }
        if !provisional && now >= next {
            let _ = sock.send_to(invite.as_bytes(), sip).await;
            next = now + rto;
            rto = (rto * 2).min(Duration::from_secs(4));
        }
        let wait = if provisional {
            deadline
        } else {
            next.min(deadline)
        };
        if let Ok(Ok(n)) = tokio::time::timeout_at(wait.into(), sock.recv(&mut buf)).await
            && is_sip(&buf[..n])
        {
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            if t.starts_with("SIP/2.0 1") {
                provisional = true;
            } else if t.starts_with("SIP/2.0 2") {
                break t;
            } else if t.starts_with("SIP/2.0 ") {
                let line = t.lines().next().unwrap_or("").to_owned();
                let class = line
                    .get(8..9)
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(0)
                    .min(6);
                return Err(Failure::Refused { class, line });
            }
        }
    };
    let to = header(&ok, "To")
        .map_or_else(|| format!("<sip:{number}@127.0.0.1>"), str::to_owned);
    let rtp = ok
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u16>().ok())
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    let d = Dialog {
        number: number.to_owned(),
        idx,
        port,
        from,
        to,
        call_id,
        rtp,
    };
    let _ = sock.send_to(d.ack().as_bytes(), sip).await;
    Ok(d)
}

impl Dialog {
    fn request(&self, method: &str, cseq: u32, branch: char) -> String {
        let (number, port, idx) = (&self.number, self.port, self.idx);
        format!(
            "{method} sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch}{idx}x{port};rport\r\n\
             From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            self.from, self.to, self.call_id
        )
    }

    /// The ACK for the INVITE's 2xx (sent again when the 2xx is retransmitted).
    pub fn ack(&self) -> String {
        self.request("ACK", 1, 'a')
    }

    /// Hangs up: BYE every second (6 at most, 8 s in all) until its 200; true if it
    /// came. Other datagrams arriving meanwhile are dropped.
    pub async fn bye(&self, sock: &UdpSocket, sip: SocketAddr) -> bool {
        let bye = self.request("BYE", 2, 'b');
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + Duration::from_secs(8);
        for _ in 0..6 {
            let _ = sock.send_to(bye.as_bytes(), sip).await;
            let until = (Instant::now() + Duration::from_secs(1)).min(deadline);
            while let Ok(Ok(n)) = tokio::time::timeout_at(until.into(), sock.recv(&mut buf)).await
            {
                let t = String::from_utf8_lossy(&buf[..n]);
                if t.starts_with("SIP/2.0 ") && header(&t, "CSeq").is_some_and(|c| c.ends_with("BYE")) {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        false
    }
}

/// CPU time (utime + stime, clock ticks) of process `pid`, from `/proc/PID/stat`.
pub fn proc_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which ends with the last ')'): state is field 3,
    // utime 14 and stime 15, so indices 11 and 12 here.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Resident memory of process `pid` in kB (`VmRSS`), 0 if unknown.
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
