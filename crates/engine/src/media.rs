//! Media I/O for calls: RTP port allocation from the configured range, the events media
//! tasks report, and the relay between two legs of a bridged call (calls Lifeline
//! answers itself are driven by `session.rs`).
//!
//! Every media task latches onto the address packets really come from (symmetric RTP,
//! so callers behind NAT hear audio), reports a leg that stays silent longer than the
//! inactivity timeout, and stops when its [`MediaHandle`] is dropped. Ports go back to
//! the pool when the task ends.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Why a media task reports back.
#[derive(Debug)]
pub enum MediaEvent {
    /// No RTP arrived on a leg for the inactivity timeout.
    Inactive {
        /// The call.
        call: u64,
    },
    /// The browser leg of a call connected (ICE and DTLS up).
    LegConnected {
        /// The call.
        call: u64,
    },
    /// The caller pressed a key (RFC 4733 or in-band).
    Digit {
        /// The call.
        call: u64,
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
    },
    /// A play the core tagged `token` reached its end.
    PlaybackDone {
        /// The call.
        call: u64,
        /// The core's tag.
        token: u64,
    },
    /// A voice message ended; `file` is `None` if it could not be written.
    VoicemailDone {
        /// The call.
        call: u64,
        /// The WAV file, relative to the data directory.
        file: Option<String>,
        /// Its length.
        duration_ms: i64,
    },
}

/// The pool of even RTP ports.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    free: Mutex<VecDeque<u16>>,
}

/// An RTP socket leased from the pool; the port returns when it drops.
#[derive(Debug)]
pub struct RtpSocket {
    socket: UdpSocket,
    /// The RTCP socket on the next port up (RFC 3550 §11).
    rtcp: UdpSocket,
    port: u16,
    pool: Arc<PortPool>,
}

impl Drop for RtpSocket {
    fn drop(&mut self) {
        self.pool
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(self.port);
    }
}

impl RtpSocket {
    /// The local port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bound RTP socket.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The bound RTCP socket (RTP port + 1).
    pub fn rtcp(&self) -> &UdpSocket {
        &self.rtcp
    }
}

impl PortPool {
    /// A pool of the even ports in `lo..=hi`, bound on `ip`.
    pub fn new(ip: IpAddr, lo: u16, hi: u16) -> Arc<PortPool> {
        let free = (lo..hi).filter(|p| p % 2 == 0).collect();
        Arc::new(PortPool {
            ip,
            free: Mutex::new(free),
        })
    }

    /// Ports currently free.
    pub fn available(&self) -> usize {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Leases a port and binds it; ports another program holds are skipped for now
    /// (tried again on later leases).
    pub fn lease(self: &Arc<Self>) -> Option<RtpSocket> {
        // Each pair is tried at most once per lease; a busy one goes to the back of the
        // queue, so a port another program held for a while comes back into use.
        let tries = self.available();
        for _ in 0..tries {
            let port = self
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()?;
            let bind = |p: u16| {
                std::net::UdpSocket::bind(SocketAddr::new(self.ip, p))
                    .and_then(|s| s.set_nonblocking(true).map(|()| s))
                    .and_then(UdpSocket::from_std)
            };
            match bind(port).and_then(|rtp| bind(port + 1).map(|rtcp| (rtp, rtcp))) {
                Ok((socket, rtcp)) => {
                    return Some(RtpSocket {
                        socket,
                        rtcp,
                        port,
                        pool: self.clone(),
                    });
                }
                Err(e) => {
                    tracing::warn!(port, error = %e, "rtp/rtcp port pair busy, trying the next");
                    self.free
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_back(port);
                }
            }
        }
        None
    }
}

/// Keeps a media task alive; dropping it stops the task.
#[derive(Debug)]
pub struct MediaHandle {
    _stop: oneshot::Sender<()>,
    remote: mpsc::UnboundedSender<(usize, SocketAddr)>,
}

impl MediaHandle {
    /// A handle and the task's ends of its two channels.
    fn new() -> (
        MediaHandle,
        oneshot::Receiver<()>,
        mpsc::UnboundedReceiver<(usize, SocketAddr)>,
    ) {
        let (stop_tx, stop) = oneshot::channel();
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        (
            MediaHandle {
                _stop: stop_tx,
                remote: remote_tx,
            },
            stop,
            remote_rx,
        )
    }

    /// Points leg `leg` of the relay (0 the caller, 1 the called phone) at a new
    /// remote address, as a re-INVITE may.
    pub fn set_remote(&self, leg: usize, addr: SocketAddr) {
        let _ = self.remote.send((leg, addr));
    }
}

/// Relays RTP between two legs: what arrives on `a` goes to leg B's remote and vice
/// versa, payload untouched (both legs negotiated the same codec).
pub fn start_relay(
    call: u64,
    a: RtpSocket,
    remote_a: SocketAddr,
    b: RtpSocket,
    remote_b: SocketAddr,
    timeout: Option<Duration>,
    events: mpsc::UnboundedSender<MediaEvent>,
) -> MediaHandle {
    let (handle, mut stop, mut remote_rx) = MediaHandle::new();
    tokio::spawn(async move {
        let mut remotes = [remote_a, remote_b];
        let mut buf_a = [0u8; 1500];
        let mut buf_b = [0u8; 1500];
        let mut last_rx = Instant::now();
        let mut check = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some((leg, addr)) = remote_rx.recv() => { if leg < 2 { remotes[leg] = addr; } }
                Ok((n, src)) = a.socket.recv_from(&mut buf_a) => {
                    remotes[0] = src;
                    last_rx = Instant::now();
                    let _ = b.socket.try_send_to(&buf_a[..n], remotes[1]);
                }
                Ok((n, src)) = b.socket.recv_from(&mut buf_b) => {
                    remotes[1] = src;
                    last_rx = Instant::now();
                    let _ = a.socket.try_send_to(&buf_b[..n], remotes[0]);
                }
                _ = check.tick() => {
                    if let Some(t) = timeout && last_rx.elapsed() > t {
                        let _ = events.send(MediaEvent::Inactive { call });
                        break;
                    }
                }
            }
        }
        drop((a, b));
    });
    handle
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[tokio::test]
    async fn leases_hold_rtp_and_rtcp_and_skip_half_taken_pairs() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        // Find a free even/odd pair on loopback: ask the kernel for a port, round down.
        let probe = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let lo = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        let pool = PortPool::new(ip, lo, lo + 3);
        // Someone else holds the RTCP port of the first pair: it is skipped.
        let squatter = std::net::UdpSocket::bind((ip, lo + 1));
        let lease = pool.lease();
        if squatter.is_ok() {
            assert_eq!(
                lease.as_ref().map(RtpSocket::port),
                Some(lo + 2),
                "first pair skipped"
            );
            assert_eq!(
                pool.available(),
                1,
                "the busy pair stays in the pool for later"
            );
        }
        let Some(lease) = lease else { return };
        let port = lease.port();
        assert!(
            std::net::UdpSocket::bind((ip, port)).is_err(),
            "RTP port held"
        );
        assert!(
            std::net::UdpSocket::bind((ip, port + 1)).is_err(),
            "RTCP port held"
        );
        let free_before = pool.available();
        drop(lease);
        assert_eq!(
            pool.available(),
            free_before + 1,
            "the pair goes back to the pool"
        );
    }
}
