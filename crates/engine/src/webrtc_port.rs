//! The shared WebRTC UDP port: one socket for every browser leg (Lifeline is ICE-lite),
//! and the demultiplexer that hands each datagram to the media task owning its leg.
//!
//! A leg is found first by the local ICE ufrag in a STUN binding request's USERNAME
//! (the browser's connectivity checks come first), then by the source address those
//! checks came from (DTLS, SRTP and RTCP carry no ufrag). A leg's task holds the
//! receiving end of its channel; once that task ends, its routes are dropped. Sends go
//! straight out on the shared socket from the leg's task.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Datagrams queued for one leg before newer ones are dropped (a stalled task must
/// not hold the port up).
const LEG_QUEUE: usize = 256;

/// A datagram for a leg.
#[derive(Debug)]
pub struct Datagram {
    /// Where it came from.
    pub from: SocketAddr,
    /// The shared socket's address.
    pub to: SocketAddr,
    /// The bytes.
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
struct Routes {
    by_ufrag: HashMap<String, mpsc::Sender<Datagram>>,
    by_addr: HashMap<SocketAddr, mpsc::Sender<Datagram>>,
}

impl Routes {
    fn forget_closed(&mut self) {
        self.by_ufrag.retain(|_, tx| !tx.is_closed());
        self.by_addr.retain(|_, tx| !tx.is_closed());
    }
}

/// The shared port.
#[derive(Debug, Clone)]
pub struct WebRtcPort {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    routes: Arc<Mutex<Routes>>,
}

impl WebRtcPort {
    /// Binds `addr` and starts the demultiplexer.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<WebRtcPort> {
        // Every browser's packets arrive here: the same large buffers as SIP's socket.
        let socket = Arc::new(crate::transport::udp_socket(addr)?);
        let local = socket.local_addr()?;
        let port = WebRtcPort {
            socket,
            local,
            routes: Arc::new(Mutex::new(Routes::default())),
        };
        tokio::spawn(demux(port.clone()));
        Ok(port)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The socket legs send on.
    pub fn socket(&self) -> Arc<UdpSocket> {
        Arc::clone(&self.socket)
    }

    /// Routes datagrams for the leg whose local ufrag is `ufrag` to the returned channel.
    pub fn register(&self, ufrag: &str) -> mpsc::Receiver<Datagram> {
        let (tx, rx) = mpsc::channel(LEG_QUEUE);
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.forget_closed();
        routes.by_ufrag.insert(ufrag.to_owned(), tx);
        rx
    }
}

async fn demux(port: WebRtcPort) {
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, from) = match port.socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors surface here on some systems; the port stays up.
                tracing::debug!(error = %e, "webrtc port receive error");
                continue;
            }
        };
        let bytes = &buf[..n];
        let tx = {
            let mut routes = port.routes.lock().unwrap_or_else(|p| p.into_inner());
            let by_ufrag = lifeline_media::webrtc::stun_local_ufrag(bytes)
                .and_then(|u| routes.by_ufrag.get(u).cloned());
            match by_ufrag {
                Some(tx) => {
                    routes.by_addr.insert(from, tx.clone());
                    Some(tx)
                }
                None => routes.by_addr.get(&from).cloned(),
            }
        };
        let Some(tx) = tx else {
            continue;
        };
        let d = Datagram {
            from,
            to: port.local,
            bytes: bytes.to_vec(),
        };
        if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(d) {
            port.routes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .forget_closed();
        }
    }
}
