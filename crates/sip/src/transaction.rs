//! RFC 3261 §17 transaction state (with the RFC 6026 Accepted state), kept as plain
//! data and driven by [`crate::endpoint::Endpoint`].
//!
//! ```text
//! server INVITE:   Proceeding --1xx--> Proceeding --2xx--> Accepted --(Timer L)--> gone
//!                            \--3xx-6xx--> Completed --ACK--> Confirmed --(Timer I)--> gone
//!                                          (Timer G resend, Timer H give up)
//! server other:    Trying --1xx--> Proceeding --final--> Completed --(Timer J)--> gone
//! client INVITE:   Calling (Timer A resend, B give up) --1xx--> Proceeding
//!                  --2xx--> Accepted (Timer M) ; --3xx-6xx--> Completed: ACK sent (Timer D)
//! client other:    Trying (Timer E resend, F give up) --1xx--> Proceeding --final--> Completed (Timer K)
//! ```
//! Each transaction has at most three live timers: `retransmit`, `timeout` and
//! `linger`; what each one means depends on the state, as the diagram shows. A 2xx to
//! an INVITE is retransmitted by the Accepted server transaction until the ACK for it
//! arrives (RFC 3261 §13.3.1.4), so the TU never has to run that timer itself.

use std::time::{Duration, Instant};

use crate::message::Request;
use crate::method::Method;

/// The transaction timer base values (RFC 3261 §17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate, 500 ms by default.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, 5 s.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64 × T1: Timers B, F, H, J (UDP), L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }
}

/// Identifies a transaction inside one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// The transport a message travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP: reliable, no retransmissions below the TU.
    Tcp,
}

impl TransportKind {
    /// True for transports that deliver reliably.
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp)
    }

    /// The Via transport token.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
        }
    }
}

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The remote socket address.
    pub addr: std::net::SocketAddr,
    /// The transport.
    pub transport: TransportKind,
    /// For connection-oriented transports, the connection the runtime should use.
    pub conn: Option<u64>,
}

/// Server transaction states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Non-INVITE request received, nothing sent yet.
    Trying,
    /// A provisional response was sent (INVITE starts here with 100 Trying).
    Proceeding,
    /// A final non-2xx (or non-INVITE final) response was sent.
    Completed,
    /// INVITE only: the ACK for the non-2xx final arrived.
    Confirmed,
    /// INVITE only: a 2xx was sent (RFC 6026).
    Accepted,
}

/// Client transaction states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE sent, no response yet.
    Calling,
    /// Non-INVITE sent, no response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final non-2xx (or non-INVITE final) arrived.
    Completed,
    /// INVITE only: a 2xx arrived (RFC 6026).
    Accepted,
}

/// The three timer slots of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerSlot {
    /// A, E, G or the 2xx retransmission.
    Retransmit,
    /// B, F, H or the 2xx give-up.
    Timeout,
    /// D, I, J, K, L or M: how long the transaction absorbs retransmissions.
    Linger,
}

/// Deadlines of the three timer slots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadlines {
    /// Retransmit slot.
    pub retransmit: Option<Instant>,
    /// Timeout slot.
    pub timeout: Option<Instant>,
    /// Linger slot.
    pub linger: Option<Instant>,
}

impl Deadlines {
    /// The deadline of `slot`.
    pub fn get(&self, slot: TimerSlot) -> Option<Instant> {
        match slot {
            TimerSlot::Retransmit => self.retransmit,
            TimerSlot::Timeout => self.timeout,
            TimerSlot::Linger => self.linger,
        }
    }

    /// Clears the retransmit and timeout slots.
    pub fn stop_active(&mut self) {
        self.retransmit = None;
        self.timeout = None;
    }
}

/// A server transaction.
#[derive(Debug)]
pub struct ServerTx {
    /// Its id.
    pub id: TxId,
    /// The lookup key it is stored under.
    pub key: String,
    /// The request method (INVITE, BYE, CANCEL, ...).
    pub method: Method,
    /// Current state.
    pub state: ServerState,
    /// Where responses go.
    pub peer: Peer,
    /// The last response sent, encoded, for retransmission.
    pub last_response: Option<Vec<u8>>,
    /// Status of the last response sent.
    pub last_status: u16,
    /// Current retransmit interval.
    pub interval: Duration,
    /// Timer deadlines.
    pub deadlines: Deadlines,
    /// For INVITE: (Call-ID, CSeq number) that a 2xx ACK is matched by.
    pub ack_key: Option<(String, u32)>,
    /// Merged-request detection key, while the request had no To tag.
    pub merge_key: Option<String>,
}

/// A client transaction.
#[derive(Debug)]
pub struct ClientTx {
    /// Its id.
    pub id: TxId,
    /// The lookup key (branch and CSeq method).
    pub key: String,
    /// The request as sent (kept to build CANCEL and ACK).
    pub request: Request,
    /// The request encoded, for retransmission.
    pub encoded: Vec<u8>,
    /// Current state.
    pub state: ClientState,
    /// Where the request went.
    pub peer: Peer,
    /// Current retransmit interval.
    pub interval: Duration,
    /// Timer deadlines.
    pub deadlines: Deadlines,
    /// The ACK sent for a non-2xx final, resent when the final is retransmitted.
    pub ack: Option<Vec<u8>>,
    /// A CANCEL was asked for before any provisional response arrived.
    pub cancel_pending: bool,
    /// A CANCEL was sent (asking again does not send another).
    pub cancel_sent: bool,
}

impl ClientTx {
    /// True for INVITE client transactions.
    pub fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }
}
