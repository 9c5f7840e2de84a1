//! A caller placed with raw SIP over UDP, so a test controls every RTP packet it sends
//! (in-band tones, speech-like audio) and can inspect what comes back.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use super::{Lifeline, wait_for};

/// A caller placed with raw SIP over UDP, sending its own µ-law audio.
pub struct RawCall {
    pub sig: UdpSocket,
    pub media: UdpSocket,
    /// Lifeline's RTP address, from its SDP answer.
    to: std::net::SocketAddr,
    call_id: String,
    number: String,
    tag: String,
    seq: u16,
}

impl RawCall {
    /// INVITE (PCMU only: keys can only come in band), 200, ACK.
    pub fn place(server: &Lifeline, number: &str, call_id: &str) -> RawCall {
        let sig = UdpSocket::bind("127.0.0.1:0").unwrap();
        sig.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let media = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (sp, mp) = (
            sig.local_addr().unwrap().port(),
            media.local_addr().unwrap().port(),
        );
        let sdp = format!(
            "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {mp} RTP/AVP 0\r\n"
        );
        let invite = format!(
            "INVITE sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bK{call_id}i;rport\r\n\
             From: <sip:13900000000@127.0.0.1>;tag=rc\r\nTo: <sip:{number}@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:13900000000@127.0.0.1:{sp}>\r\nMax-Forwards: 70\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        sig.send_to(invite.as_bytes(), server.sip).unwrap();
        let ok = Self::recv(&sig, "SIP/2.0 200");
        let tag = ok
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap()
            .split("tag=")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        let port: u16 = ok
            .lines()
            .find(|l| l.starts_with("m=audio "))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut call = RawCall {
            sig,
            media,
            to: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            call_id: call_id.to_owned(),
            number: number.to_owned(),
            tag,
            seq: 1,
        };
        call.request("ACK", 1, server);
        call
    }

    pub fn recv(sig: &UdpSocket, prefix: &str) -> String {
        let mut buf = [0u8; 4096];
        wait_for(prefix, Duration::from_secs(30), || {
            let n = sig.recv(&mut buf).ok()?;
            let t = String::from_utf8_lossy(&buf[..n]).into_owned();
            t.starts_with(prefix).then_some(t)
        })
    }

    pub fn request(&mut self, method: &str, cseq: u32, server: &Lifeline) {
        let sp = self.sig.local_addr().unwrap().port();
        let (number, call_id, tag) = (&self.number, &self.call_id, &self.tag);
        let msg = format!(
            "{method} sip:lifeline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{sp};branch=z9hG4bK{call_id}{method};rport\r\n\
             From: <sip:13900000000@127.0.0.1>;tag=rc\r\nTo: <sip:{number}@127.0.0.1>;tag={tag}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        self.sig.send_to(msg.as_bytes(), server.sip).unwrap();
    }

    /// Sends `frames` 20 ms frames of `f(sample index)`, paced in real time.
    pub fn send_audio(&mut self, frames: usize, f: impl Fn(usize) -> i16) {
        let mut pkt = Vec::new();
        let start = Instant::now();
        for i in 0..frames {
            let payload: Vec<u8> = (0..160)
                .map(|k| lifeline_media::g711::linear_to_ulaw(f(i * 160 + k)))
                .collect();
            let header = lifeline_media::rtp::RtpHeader {
                payload_type: 0,
                marker: i == 0,
                sequence: self.seq,
                timestamp: u32::from(self.seq) * 160,
                ssrc: 0x1234_5678,
            };
            header.write(&payload, &mut pkt);
            self.media.send_to(&pkt, self.to).unwrap();
            self.seq = self.seq.wrapping_add(1);
            let due = start + Duration::from_millis(20 * (i as u64 + 1));
            wait_for("the next frame slot", Duration::from_secs(5), || {
                (Instant::now() >= due).then_some(())
            });
        }
    }
}

impl RawCall {
    /// Packets received on the media socket so far whose audio is not silence.
    pub fn voiced_packets(&self) -> usize {
        self.media.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 2048];
        let mut voiced = 0;
        while let Ok(n) = self.media.recv(&mut buf) {
            let Some((_, payload)) = lifeline_media::rtp::split(&buf[..n]) else {
                continue;
            };
            let energy: i64 = payload
                .iter()
                .map(|b| i64::from(lifeline_media::g711::ulaw_to_linear(*b)).pow(2))
                .sum::<i64>()
                / payload.len().max(1) as i64;
            if energy > 10_000 {
                voiced += 1;
            }
        }
        self.media.set_nonblocking(false).unwrap();
        voiced
    }
}

impl RawCall {
    /// Presses `keys` in band: 100 ms of tone, 100 ms of silence each.
    pub fn press(&mut self, keys: &str) {
        for k in keys.chars() {
            let (low, high) = key_tones(k);
            self.send_audio(5, dtmf(low, high));
            self.send_audio(5, |_| 0);
        }
    }
}

/// A DTMF key as audio: the two tones of `(low, high)` Hz.
pub fn dtmf(low: f64, high: f64) -> impl Fn(usize) -> i16 {
    move |n| {
        let t = n as f64 / 8000.0;
        (6000.0
            * ((2.0 * std::f64::consts::PI * low * t).sin()
                + (2.0 * std::f64::consts::PI * high * t).sin())) as i16
    }
}

/// The DTMF tones of a key: (row, column) frequencies.
fn key_tones(key: char) -> (f64, f64) {
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0];
    let (r, c) = match key {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        '*' => (3, 0),
        '0' => (3, 1),
        _ => (3, 2),
    };
    (rows[r], cols[c])
}

/// Mean square of each channel of a 16-bit stereo WAV: (caller, Lifeline or the other
/// party).
pub fn channel_energy(wav: &[u8]) -> (i64, i64) {
    assert!(wav.len() > 44 && &wav[..4] == b"RIFF", "a WAV file");
    let samples: Vec<i64> = wav[44..]
        .chunks_exact(2)
        .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect();
    let n = (samples.len() / 2).max(1) as i64;
    let left: i64 = samples.iter().step_by(2).map(|s| s * s).sum();
    let right: i64 = samples.iter().skip(1).step_by(2).map(|s| s * s).sum();
    (left / n, right / n)
}
