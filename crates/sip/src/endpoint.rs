//! The sans-IO SIP endpoint: transaction tables, timers and the output queue.
//!
//! The runtime feeds it parsed messages ([`Endpoint::handle_request`],
//! [`Endpoint::handle_response`]) and timer expiries ([`Endpoint::handle_timeout`]);
//! the transaction user (call sessions, registrar) acts through [`Endpoint::respond`],
//! [`Endpoint::send_request`], [`Endpoint::cancel`] and [`Endpoint::send_stateless`].
//! Everything the endpoint wants done comes out of [`Endpoint::poll_output`], and
//! [`Endpoint::poll_timeout`] says when to call `handle_timeout` next. It owns
//! retransmission and absorption (RFC 3261 §17), `received`/`rport` (RFC 3581), CANCEL
//! matching (§9.2), merged-request and Via-loop detection (482), and the 2xx
//! retransmission until ACK (§13.3.1.4). The client side (requests Lifeline sends) lives
//! in `endpoint/client.rs`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use crate::header::HeaderName;
use crate::message::{Request, Response, SipMessage};
use crate::method::Method;
use crate::transaction::{
    ClientTx, Deadlines, Peer, ServerState, ServerTx, TimerSlot, Timers, TxId,
};
use crate::via::{BRANCH_COOKIE, Via};

mod client;

/// Something the endpoint wants the runtime to do or the TU to know.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes.
    Transmit {
        /// Where to.
        peer: Peer,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// Tell the transaction user (boxed: events carry whole requests, transmissions
    /// are the common case and stay small).
    Event(Box<Event>),
}

/// What the transaction user is told.
#[derive(Debug)]
pub enum Event {
    /// A new request (not a retransmission, not an ACK or a matched CANCEL).
    Request {
        /// The server transaction to respond through.
        tx: TxId,
        /// The request, with `received`/`rport` added to its top Via.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// An ACK outside any transaction: for a 2xx (`invite_tx` is the INVITE it
    /// confirms, whose 2xx retransmissions have stopped), or a stray one.
    Ack {
        /// The confirmed INVITE server transaction, if it was found.
        invite_tx: Option<TxId>,
        /// The ACK.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A CANCEL matched a pending INVITE; 200 was sent for the CANCEL. The TU should
    /// answer the INVITE with 487 (and cancel any forks).
    Cancelled {
        /// The INVITE server transaction.
        invite_tx: TxId,
    },
    /// A response for a client transaction (retransmissions are absorbed).
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// A response matching no transaction, such as a retransmitted 2xx whose ACK got
    /// lost; the TU may re-send its ACK.
    StrayResponse {
        /// The response.
        response: Response,
    },
    /// A client transaction got no final response in time (Timer B or F).
    Timeout {
        /// The client transaction.
        tx: TxId,
    },
    /// A 2xx was retransmitted for 64×T1 without an ACK: the TU should end the call.
    AckTimeout {
        /// The INVITE server transaction.
        tx: TxId,
    },
}

/// Static facts about this endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Timer base values.
    pub timers: Timers,
    /// Our sent-by for Vias we add (`host:port`).
    pub sent_by: String,
    /// A per-node prefix for branches and tags, so our own Vias are recognisable.
    pub id_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Server,
    Client,
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests and responses retransmitted by us.
    pub retransmissions: u64,
    /// Retransmitted requests/responses we absorbed.
    pub absorbed: u64,
}

/// The endpoint. See the module docs.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    next_id: u64,
    server: HashMap<TxId, ServerTx>,
    server_keys: HashMap<String, TxId>,
    awaiting_ack: HashMap<(String, u32), TxId>,
    merge_keys: HashMap<String, TxId>,
    client: HashMap<TxId, ClientTx>,
    client_keys: HashMap<String, TxId>,
    timers: BinaryHeap<Reverse<(Instant, Side, TxId, TimerSlot)>>,
    out: VecDeque<Output>,
    stats: Stats,
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Endpoint {
        Endpoint {
            config,
            next_id: 0,
            server: HashMap::new(),
            server_keys: HashMap::new(),
            awaiting_ack: HashMap::new(),
            merge_keys: HashMap::new(),
            client: HashMap::new(),
            client_keys: HashMap::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Live transactions (server, client).
    pub fn transaction_count(&self) -> (usize, usize) {
        (self.server.len(), self.client.len())
    }

    /// A fresh identifier unique within this endpoint (for tags and Call-IDs).
    pub fn new_token(&mut self) -> String {
        self.next_id += 1;
        format!("{}{:x}", self.config.id_prefix, self.next_id)
    }

    fn new_branch(&mut self) -> String {
        format!("{BRANCH_COOKIE}{}", self.new_token())
    }

    fn alloc(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, ..))| *t)
    }

    fn schedule(&mut self, side: Side, id: TxId, slot: TimerSlot, at: Instant) {
        self.timers.push(Reverse((at, side, id, slot)));
    }

    fn transmit(&mut self, peer: Peer, bytes: Vec<u8>) {
        self.out.push_back(Output::Transmit { peer, bytes });
    }

    // ---------------------------------------------------------------- server side

    /// Feeds a request received from `peer`.
    pub fn handle_request(&mut self, now: Instant, mut req: Request, peer: Peer) {
        stamp_received(&mut req, peer.addr);
        let Some(top) = req.top_via() else { return };
        if req.method == Method::Ack {
            self.handle_ack(now, req, peer, &top);
            return;
        }
        let key = server_key(&req, &top, &req.method);
        if let Some(&id) = self.server_keys.get(&key) {
            self.stats.absorbed += 1;
            // Answer the retransmission where it came from: a NAT may have rebound.
            let peer = response_peer(&req, peer);
            if let Some(tx) = self.server.get_mut(&id)
                && matches!(tx.state, ServerState::Proceeding | ServerState::Completed)
                && let Some(bytes) = tx.last_response.clone()
            {
                tx.peer = peer;
                self.stats.retransmissions += 1;
                self.transmit(peer, bytes);
            }
            return;
        }
        if req.method == Method::Cancel {
            self.handle_cancel(now, req, peer, &top, key);
            return;
        }
        let id = self.create_server_tx(now, &req, peer, key);
        if self.is_looped(&req) {
            self.respond(now, id, Response::for_request(&req, 482, None));
            return;
        }
        if let Some(mkey) = merge_key(&req)
            && self.merge_keys.contains_key(&mkey)
        {
            self.respond(
                now,
                id,
                Response::for_request(&req, 482, Some("Merged Request")),
            );
            return;
        }
        if let Some(mkey) = merge_key(&req) {
            self.merge_keys.insert(mkey.clone(), id);
            if let Some(tx) = self.server.get_mut(&id) {
                tx.merge_key = Some(mkey);
            }
        }
        if req.method == Method::Invite {
            let trying = Response::for_request(&req, 100, None);
            self.respond(now, id, trying);
        }
        self.out.push_back(Output::Event(Box::new(Event::Request {
            tx: id,
            request: req,
            peer,
        })));
    }

    fn create_server_tx(&mut self, _now: Instant, req: &Request, peer: Peer, key: String) -> TxId {
        let id = self.alloc();
        let invite = req.method == Method::Invite;
        let ack_key = if invite {
            req.call_id()
                .zip(req.cseq())
                .map(|(c, s)| (c.to_owned(), s.seq))
        } else {
            None
        };
        let peer = response_peer(req, peer);
        self.server_keys.insert(key.clone(), id);
        self.server.insert(
            id,
            ServerTx {
                id,
                key,
                method: req.method.clone(),
                state: if invite {
                    ServerState::Proceeding
                } else {
                    ServerState::Trying
                },
                peer,
                last_response: None,
                last_status: 0,
                interval: self.config.timers.t1,
                deadlines: Deadlines::default(),
                ack_key,
                merge_key: None,
            },
        );
        id
    }

    fn handle_ack(&mut self, now: Instant, req: Request, peer: Peer, top: &Via) {
        let key = server_key(&req, top, &Method::Invite);
        if let Some(&id) = self.server_keys.get(&key)
            && let Some(tx) = self.server.get_mut(&id)
            && tx.state != ServerState::Accepted
        {
            if tx.state == ServerState::Completed {
                tx.state = ServerState::Confirmed;
                tx.deadlines.stop_active();
                tx.last_response = None;
                let linger = if tx.peer.transport.is_reliable() {
                    now
                } else {
                    now + self.config.timers.t4
                };
                tx.deadlines.linger = Some(linger);
                self.schedule(Side::Server, id, TimerSlot::Linger, linger);
            } else {
                self.stats.absorbed += 1;
            }
            return;
        }
        let ack_key = req
            .call_id()
            .zip(req.cseq())
            .map(|(c, s)| (c.to_owned(), s.seq));
        let invite_tx = ack_key.and_then(|k| self.awaiting_ack.remove(&k));
        if let Some(id) = invite_tx
            && let Some(tx) = self.server.get_mut(&id)
        {
            tx.deadlines.stop_active();
            tx.last_response = None;
        }
        self.out.push_back(Output::Event(Box::new(Event::Ack {
            invite_tx,
            request: req,
            peer,
        })));
    }

    fn handle_cancel(&mut self, now: Instant, req: Request, peer: Peer, top: &Via, key: String) {
        let invite_key = server_key(&req, top, &Method::Invite);
        let invite = self.server_keys.get(&invite_key).copied();
        let id = self.create_server_tx(now, &req, peer, key);
        match invite
            .and_then(|i| self.server.get(&i))
            .map(|tx| (tx.id, tx.state))
        {
            Some((invite_id, state)) => {
                self.respond(now, id, Response::for_request(&req, 200, None));
                if state == ServerState::Proceeding {
                    self.out.push_back(Output::Event(Box::new(Event::Cancelled {
                        invite_tx: invite_id,
                    })));
                }
            }
            None => self.respond(now, id, Response::for_request(&req, 481, None)),
        }
    }

    fn is_looped(&self, req: &Request) -> bool {
        let ours = format!("{BRANCH_COOKIE}{}", self.config.id_prefix);
        let sent_by = self.config.sent_by.to_ascii_lowercase();
        req.vias()
            .iter()
            .any(|v| v.branch().is_some_and(|b| b.starts_with(&ours)) && v.sent_by() == sent_by)
    }

    /// Sends `resp` through server transaction `tx`. Responses to a finished or
    /// unknown transaction are dropped.
    pub fn respond(&mut self, now: Instant, tx: TxId, resp: Response) {
        let t = self.config.timers;
        let Some(st) = self.server.get_mut(&tx) else {
            return;
        };
        if matches!(
            st.state,
            ServerState::Completed | ServerState::Confirmed | ServerState::Accepted
        ) {
            return;
        }
        let bytes = resp.encode();
        let invite = st.method == Method::Invite;
        let reliable = st.peer.transport.is_reliable();
        st.last_status = resp.status;
        let peer = st.peer;
        let mut timers = Vec::new();
        if resp.status < 200 {
            st.state = ServerState::Proceeding;
            st.last_response = Some(bytes.clone());
        } else {
            if let Some(m) = st.merge_key.take() {
                self.merge_keys.remove(&m);
            }
            if invite && resp.status < 300 {
                st.state = ServerState::Accepted;
                st.last_response = Some(bytes.clone());
                st.interval = t.t1;
                st.deadlines.retransmit = Some(now + t.t1);
                st.deadlines.timeout = Some(now + t.t1x64());
                st.deadlines.linger = Some(now + t.t1x64());
                if let Some(k) = st.ack_key.clone() {
                    self.awaiting_ack.insert(k, tx);
                }
                timers = vec![TimerSlot::Retransmit, TimerSlot::Timeout, TimerSlot::Linger];
            } else if invite {
                st.state = ServerState::Completed;
                st.last_response = Some(bytes.clone());
                st.interval = t.t1;
                st.deadlines.timeout = Some(now + t.t1x64());
                timers.push(TimerSlot::Timeout);
                if !reliable {
                    st.deadlines.retransmit = Some(now + t.t1);
                    timers.push(TimerSlot::Retransmit);
                }
            } else {
                st.state = ServerState::Completed;
                st.last_response = (!reliable).then(|| bytes.clone());
                st.deadlines.linger = Some(if reliable { now } else { now + t.t1x64() });
                timers.push(TimerSlot::Linger);
            }
        }
        let deadlines = st.deadlines;
        for slot in timers {
            if let Some(at) = deadlines.get(slot) {
                self.schedule(Side::Server, tx, slot, at);
            }
        }
        self.transmit(peer, bytes);
    }

    // ---------------------------------------------------------------- timers

    /// Runs every timer due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, side, id, slot))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            match side {
                Side::Server => self.fire_server(now, id, slot, at),
                Side::Client => self.fire_client(now, id, slot, at),
            }
        }
    }

    fn fire_server(&mut self, now: Instant, id: TxId, slot: TimerSlot, at: Instant) {
        let t = self.config.timers;
        let Some(st) = self.server.get_mut(&id) else {
            return;
        };
        if st.deadlines.get(slot) != Some(at) {
            return;
        }
        match slot {
            TimerSlot::Retransmit => {
                let Some(bytes) = st.last_response.clone() else {
                    return;
                };
                st.interval = (st.interval * 2).min(t.t2);
                let next = now + st.interval;
                st.deadlines.retransmit = Some(next);
                let peer = st.peer;
                self.stats.retransmissions += 1;
                self.schedule(Side::Server, id, slot, next);
                self.transmit(peer, bytes);
            }
            TimerSlot::Timeout => {
                let accepted = st.state == ServerState::Accepted;
                st.deadlines.stop_active();
                st.last_response = None;
                if accepted {
                    if let Some(k) = st.ack_key.clone() {
                        self.awaiting_ack.remove(&k);
                    }
                    self.out
                        .push_back(Output::Event(Box::new(Event::AckTimeout { tx: id })));
                } else {
                    self.remove_server(id);
                }
            }
            TimerSlot::Linger => self.remove_server(id),
        }
    }

    fn remove_server(&mut self, id: TxId) {
        if let Some(st) = self.server.remove(&id) {
            self.server_keys.remove(&st.key);
            if let Some(k) = st.ack_key
                && self.awaiting_ack.get(&k) == Some(&id)
            {
                self.awaiting_ack.remove(&k);
            }
            if let Some(m) = st.merge_key {
                self.merge_keys.remove(&m);
            }
        }
    }
}

/// RFC 3261 §17.2.3 matching key; `method` is INVITE when matching an ACK or CANCEL to
/// its INVITE. Requests with a pre-RFC 3261 branch fall back to the §17.2.3 tuple.
fn server_key(req: &Request, top: &Via, method: &Method) -> String {
    match top.branch() {
        Some(b) if b.starts_with(BRANCH_COOKIE) => format!("{b}|{}|{method}", top.sent_by()),
        _ => {
            let from_tag = req
                .from()
                .and_then(|f| f.tag().map(str::to_owned))
                .unwrap_or_default();
            let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
            format!(
                "2543|{}|{}|{from_tag}|{seq}|{}|{}|{method}",
                req.uri,
                req.call_id().unwrap_or(""),
                top.sent_by(),
                top.branch().unwrap_or("")
            )
        }
    }
}

/// RFC 3261 §8.2.2.2: requests without a To tag that share From tag, Call-ID and CSeq
/// but arrive on a different transaction were merged by a forking proxy.
fn merge_key(req: &Request) -> Option<String> {
    let to = req.to()?;
    if to.tag().is_some() {
        return None;
    }
    let from_tag = req.from()?.tag()?.to_owned();
    let cseq = req.cseq()?;
    Some(format!("{}|{from_tag}|{cseq}", req.call_id()?))
}

/// RFC 3261 §18.2.1 and RFC 3581: record where the request really came from.
fn stamp_received(req: &mut Request, source: SocketAddr) {
    let Some(first) = req.headers.get(&HeaderName::VIA) else {
        return;
    };
    let mut items = crate::grammar::split_list(first);
    let Some(top_text) = items.first().copied() else {
        return;
    };
    let Ok(mut top) = Via::parse(top_text) else {
        return;
    };
    let ip = source.ip().to_string();
    let host = top.host.trim_start_matches('[').trim_end_matches(']');
    let mut changed = false;
    if top.params.has("rport") {
        top.params.set("rport", Some(&source.port().to_string()));
        top.params.set("received", Some(&ip));
        changed = true;
    } else if host != ip {
        top.params.set("received", Some(&ip));
        changed = true;
    }
    if changed {
        let new_top = top.to_string();
        items[0] = &new_top;
        let value = items.join(", ");
        let pos_value = value.clone();
        replace_first(req, pos_value);
    }
}

fn replace_first(req: &mut Request, value: String) {
    let mut done = false;
    let mut headers = crate::header::Headers::new();
    for h in req.headers.iter() {
        if !done && h.name == HeaderName::VIA {
            headers.push(HeaderName::VIA, value.clone());
            done = true;
        } else {
            headers.push(h.name.clone(), h.value.clone());
        }
    }
    req.headers = headers;
}

/// RFC 3261 §18.2.2: where responses to `req` go.
fn response_peer(req: &Request, source: Peer) -> Peer {
    if source.transport.is_reliable() {
        return source;
    }
    let Some(top) = req.top_via() else {
        return source;
    };
    let port = match top
        .params
        .value("rport")
        .and_then(|p| p.parse::<u16>().ok())
    {
        Some(p) => p,
        None => top.port.unwrap_or(5060),
    };
    let ip = top
        .params
        .value("received")
        .and_then(|r| r.trim_start_matches('[').trim_end_matches(']').parse().ok())
        .unwrap_or(source.addr.ip());
    Peer {
        addr: SocketAddr::new(ip, port),
        ..source
    }
}
