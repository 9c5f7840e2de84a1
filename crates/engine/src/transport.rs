//! SIP transports: one UDP socket and one TCP listener on the same address, plus the
//! TCP connections accepted or opened.
//!
//! Receiving tasks parse what they read (so parsing spreads over the runtime's
//! threads) and hand [`Inbound`] items to the core. Sending goes through
//! [`Transports::send`], which the core calls synchronously: UDP uses a non-blocking
//! `try_send_to`, TCP hands the bytes to the connection's writer task. Connections
//! are identified by a number the [`Peer`] carries, so responses and calls to a phone
//! registered over TCP reuse its connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lifeline_sip::Message;
use lifeline_sip::framing::{Frame, StreamFramer};
use lifeline_sip::parse::{ParseError, Transport, parse};
use lifeline_sip::transaction::{Peer, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Socket buffer size asked for on the UDP socket (sipp load needs deep buffers).
const UDP_BUFFER: usize = 4 * 1024 * 1024;
/// Messages queued for one TCP connection before it is considered stuck.
const TCP_QUEUE: usize = 1024;

/// What the transports hand to the core.
#[derive(Debug)]
pub enum Inbound {
    /// A valid message.
    Message {
        /// The message.
        msg: Message,
        /// Where it came from.
        peer: Peer,
    },
    /// A message that failed to parse; answer it if the error says how.
    Malformed {
        /// Why.
        err: ParseError,
        /// Where it came from.
        peer: Peer,
    },
}

/// Shared handle for sending on every transport.
#[derive(Clone)]
pub struct Transports {
    udp: Arc<UdpSocket>,
    conns: Arc<Mutex<Connections>>,
    next_conn: Arc<AtomicU64>,
    inbound: mpsc::Sender<Inbound>,
}

#[derive(Default)]
struct Connections {
    by_id: HashMap<u64, mpsc::Sender<Vec<u8>>>,
    by_addr: HashMap<SocketAddr, u64>,
}

/// The bound addresses.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The UDP socket's address.
    pub udp: SocketAddr,
    /// The TCP listener's address.
    pub tcp: SocketAddr,
}

/// Errors binding the SIP sockets.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The UDP or TCP bind failed.
    #[error("cannot bind SIP {proto} on {addr}: {source}")]
    Bind {
        /// "UDP" or "TCP".
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A non-blocking UDP socket on `addr` with large kernel buffers (bursts of many
/// peers' packets wait there while a task is busy).
pub(crate) fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = sock.set_recv_buffer_size(UDP_BUFFER);
    let _ = sock.set_send_buffer_size(UDP_BUFFER);
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    UdpSocket::from_std(sock.into())
}

/// Binds UDP and TCP on `addr`. With port 0, both get the same free port.
pub async fn bind(
    addr: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
) -> Result<(Transports, Bound), BindError> {
    let mut last_err = None;
    for _ in 0..16 {
        let udp = udp_socket(addr).map_err(|source| BindError::Bind {
            proto: "UDP",
            addr,
            source,
        })?;
        let udp_addr = udp.local_addr().map_err(|source| BindError::Bind {
            proto: "UDP",
            addr,
            source,
        })?;
        match TcpListener::bind(udp_addr).await {
            Ok(listener) => {
                let tcp_addr = listener.local_addr().map_err(|source| BindError::Bind {
                    proto: "TCP",
                    addr,
                    source,
                })?;
                let t = Transports {
                    udp: Arc::new(udp),
                    conns: Arc::default(),
                    next_conn: Arc::new(AtomicU64::new(1)),
                    inbound,
                };
                tokio::spawn(t.clone().udp_loop());
                tokio::spawn(t.clone().accept_loop(listener));
                return Ok((
                    t,
                    Bound {
                        udp: udp_addr,
                        tcp: tcp_addr,
                    },
                ));
            }
            Err(e) if addr.port() == 0 => last_err = Some(e),
            Err(source) => {
                return Err(BindError::Bind {
                    proto: "TCP",
                    addr,
                    source,
                });
            }
        }
    }
    Err(BindError::Bind {
        proto: "TCP",
        addr,
        source: last_err
            .unwrap_or_else(|| std::io::Error::other("no port free for both UDP and TCP")),
    })
}

impl Transports {
    async fn udp_loop(self) {
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, src) = match self.udp.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "udp receive failed");
                    continue;
                }
            };
            let data = &buf[..n];
            if data.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
                continue; // keep-alive
            }
            let peer = Peer {
                addr: src,
                transport: TransportKind::Udp,
                conn: None,
            };
            let item = match parse(data, Transport::Datagram) {
                Ok(msg) => Inbound::Message { msg, peer },
                Err(err) => Inbound::Malformed { err, peer },
            };
            if self.inbound.send(item).await.is_err() {
                return;
            }
        }
    }

    async fn accept_loop(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    self.spawn_connection(stream, addr);
                }
                Err(e) => tracing::warn!(error = %e, "tcp accept failed"),
            }
        }
    }

    fn spawn_connection(&self, stream: TcpStream, addr: SocketAddr) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(TCP_QUEUE);
        {
            let mut c = self.conns.lock().unwrap_or_else(|p| p.into_inner());
            c.by_id.insert(id, tx);
            c.by_addr.insert(addr, id);
        }
        let (reader, writer) = stream.into_split();
        tokio::spawn(write_loop(writer, rx));
        tokio::spawn(self.clone().read_loop(reader, addr, id));
        tracing::debug!(conn = id, %addr, "tcp connection up");
        id
    }

    async fn read_loop(
        self,
        mut reader: tokio::net::tcp::OwnedReadHalf,
        addr: SocketAddr,
        id: u64,
    ) {
        let mut framer = StreamFramer::new();
        let mut buf = vec![0u8; 16 * 1024];
        let peer = Peer {
            addr,
            transport: TransportKind::Tcp,
            conn: Some(id),
        };
        'outer: loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            framer.push(&buf[..n]);
            loop {
                match framer.next_frame() {
                    Ok(None) => break,
                    Ok(Some(Frame::Ping)) => {
                        self.send_tcp(id, b"\r\n".to_vec());
                    }
                    Ok(Some(Frame::Message(bytes))) => {
                        let item = match parse(&bytes, Transport::Stream) {
                            Ok(msg) => Inbound::Message { msg, peer },
                            Err(err) => Inbound::Malformed { err, peer },
                        };
                        if self.inbound.send(item).await.is_err() {
                            break 'outer;
                        }
                    }
                    Err(e) => {
                        tracing::info!(conn = id, %addr, error = %e, "closing tcp connection that cannot be framed");
                        break 'outer;
                    }
                }
            }
        }
        let mut c = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        c.by_id.remove(&id);
        if c.by_addr.get(&addr) == Some(&id) {
            c.by_addr.remove(&addr);
        }
        tracing::debug!(conn = id, %addr, "tcp connection closed");
    }

    fn send_tcp(&self, id: u64, bytes: Vec<u8>) -> bool {
        let c = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        match c.by_id.get(&id) {
            Some(tx) => tx.try_send(bytes).is_ok(),
            None => false,
        }
    }

    /// Sends `bytes` to `peer`. UDP is fire-and-forget; TCP uses the peer's connection,
    /// an existing one to the same address, or a new one opened in the background.
    pub fn send(&self, peer: Peer, bytes: Vec<u8>) {
        match peer.transport {
            TransportKind::Udp => {
                if let Err(e) = self.udp.try_send_to(&bytes, peer.addr) {
                    if e.kind() == std::io::ErrorKind::WouldBlock {
                        let udp = self.udp.clone();
                        tokio::spawn(async move { udp.send_to(&bytes, peer.addr).await });
                    } else {
                        tracing::debug!(error = %e, "udp send failed");
                    }
                }
            }
            TransportKind::Tcp => {
                let existing = peer.conn.filter(|id| {
                    self.conns
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .by_id
                        .contains_key(id)
                });
                let existing = existing.or_else(|| {
                    self.conns
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .by_addr
                        .get(&peer.addr)
                        .copied()
                });
                if let Some(id) = existing
                    && self.send_tcp(id, bytes.clone())
                {
                    return;
                }
                let this = self.clone();
                tokio::spawn(async move {
                    match TcpStream::connect(peer.addr).await {
                        Ok(stream) => {
                            let _ = stream.set_nodelay(true);
                            let id = this.spawn_connection(stream, peer.addr);
                            this.send_tcp(id, bytes);
                        }
                        Err(e) => {
                            tracing::info!(addr = %peer.addr, error = %e, "tcp connect failed")
                        }
                    }
                });
            }
        }
    }
}

async fn write_loop(mut writer: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            break;
        }
    }
}
