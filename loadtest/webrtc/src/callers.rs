//! SIP callers: one UDP socket each for SIP and RTP (the dialog is `sipcall`'s), and the pacer of their RTP.

use super::*;

/// What the sender needs of an answered call.
pub(crate) struct Media {
    pub(crate) idx: u32,
    pub(crate) sock: Arc<UdpSocket>,
    pub(crate) to: SocketAddr,
    pub(crate) count: AtomicU32,
    pub(crate) seq0: u32,
    pub(crate) ssrc: u32,
    pub(crate) live: AtomicBool,
}

pub(crate) async fn caller(
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
pub(crate) async fn sender(
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
