//! The client side of the endpoint: requests Lifeline sends (INVITE and non-INVITE
//! client transactions, RFC 3261 §17.1), CANCEL, ACK for non-2xx finals, and the
//! responses they get.

use std::time::Instant;

use super::{Endpoint, Event, Output, Side};
use crate::header::HeaderName;
use crate::message::{Request, Response, SipMessage};
use crate::method::Method;
use crate::transaction::{ClientState, ClientTx, Deadlines, Peer, TimerSlot, TxId};

impl Endpoint {
    /// Starts a client transaction for `req` towards `peer`, adding our Via (with a new
    /// branch and `rport`). Returns its id.
    pub fn send_request(&mut self, now: Instant, mut req: Request, peer: Peer) -> TxId {
        let branch = self.new_branch();
        let via = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            peer.transport.as_str(),
            self.config.sent_by
        );
        req.headers.push_front(HeaderName::VIA, via);
        self.start_client_tx(now, req, peer, branch)
    }

    fn start_client_tx(&mut self, now: Instant, req: Request, peer: Peer, branch: String) -> TxId {
        let t = self.config.timers;
        let id = self.alloc();
        let method = req
            .cseq()
            .map(|c| c.method)
            .unwrap_or_else(|| req.method.clone());
        let key = format!("{branch}|{method}");
        let encoded = req.encode();
        let invite = req.method == Method::Invite;
        let mut deadlines = Deadlines {
            timeout: Some(now + t.t1x64()),
            ..Deadlines::default()
        };
        if !peer.transport.is_reliable() {
            deadlines.retransmit = Some(now + t.t1);
        }
        self.client_keys.insert(key.clone(), id);
        self.client.insert(
            id,
            ClientTx {
                id,
                key,
                request: req,
                encoded: encoded.clone(),
                state: if invite {
                    ClientState::Calling
                } else {
                    ClientState::Trying
                },
                peer,
                interval: t.t1,
                deadlines,
                ack: None,
                cancel_pending: false,
                cancel_sent: false,
            },
        );
        for slot in [TimerSlot::Retransmit, TimerSlot::Timeout] {
            if let Some(at) = deadlines.get(slot) {
                self.schedule(Side::Client, id, slot, at);
            }
        }
        self.transmit(peer, encoded);
        id
    }

    /// Sends a request outside any transaction (an ACK for a 2xx), adding our Via.
    pub fn send_stateless(&mut self, mut req: Request, peer: Peer) {
        let branch = self.new_branch();
        let via = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            peer.transport.as_str(),
            self.config.sent_by
        );
        req.headers.push_front(HeaderName::VIA, via);
        self.transmit(peer, req.encode());
    }

    /// Sends a response outside any transaction (to a request that failed to parse).
    pub fn send_response_stateless(&mut self, resp: &Response, peer: Peer) {
        self.transmit(peer, resp.encode());
    }

    /// Cancels the INVITE client transaction `tx` (RFC 3261 §9.1): the CANCEL goes out
    /// now if a provisional response has arrived, else as soon as one does.
    pub fn cancel(&mut self, now: Instant, tx: TxId) {
        let Some(ct) = self.client.get_mut(&tx) else {
            return;
        };
        if !ct.is_invite() || ct.cancel_sent {
            return;
        }
        match ct.state {
            ClientState::Calling => ct.cancel_pending = true,
            ClientState::Proceeding => {
                ct.cancel_sent = true;
                self.send_cancel(now, tx);
            }
            _ => {}
        }
    }

    fn send_cancel(&mut self, now: Instant, tx: TxId) {
        let Some(ct) = self.client.get(&tx) else {
            return;
        };
        let inv = &ct.request;
        let mut cancel = Request::new(Method::Cancel, inv.uri.clone());
        let Some(top) = inv.headers.get(&HeaderName::VIA).map(str::to_owned) else {
            return;
        };
        let Some(branch) = inv.top_via().and_then(|v| v.branch().map(str::to_owned)) else {
            return;
        };
        cancel.headers.push(HeaderName::VIA, top);
        for name in [
            HeaderName::ROUTE,
            HeaderName::FROM,
            HeaderName::TO,
            HeaderName::CALL_ID,
        ] {
            for v in inv.headers.get_all(&name) {
                cancel.headers.push(name.clone(), v.to_owned());
            }
        }
        let seq = inv.cseq().map(|c| c.seq).unwrap_or(1);
        cancel
            .headers
            .push(HeaderName::CSEQ, format!("{seq} CANCEL"));
        cancel.headers.push(HeaderName::MAX_FORWARDS, "70");
        let peer = ct.peer;
        self.start_client_tx(now, cancel, peer, branch);
    }

    /// Feeds a response received from the network.
    pub fn handle_response(&mut self, now: Instant, resp: Response) {
        let key = resp
            .top_via()
            .and_then(|v| v.branch().map(str::to_owned))
            .zip(resp.cseq())
            .map(|(b, c)| format!("{b}|{}", c.method));
        let Some(id) = key.and_then(|k| self.client_keys.get(&k).copied()) else {
            self.out
                .push_back(Output::Event(Box::new(Event::StrayResponse {
                    response: resp,
                })));
            return;
        };
        let t = self.config.timers;
        let Some(ct) = self.client.get_mut(&id) else {
            return;
        };
        let reliable = ct.peer.transport.is_reliable();
        let status = resp.status;
        let mut deliver = true;
        let mut send_cancel = false;
        let mut to_send: Option<(Peer, Vec<u8>)> = None;
        let mut new_timers = Vec::new();
        match (ct.is_invite(), ct.state, status) {
            (_, ClientState::Completed, _) => {
                deliver = false;
                self.stats.absorbed += 1;
                to_send = ct.ack.clone().map(|ack| (ct.peer, ack));
            }
            (true, ClientState::Accepted, 200..=299) => {}
            (true, ClientState::Accepted, _) => deliver = false,
            (true, _, 100..=199) => {
                if ct.state == ClientState::Calling && ct.cancel_pending {
                    send_cancel = true;
                    ct.cancel_sent = true;
                }
                ct.state = ClientState::Proceeding;
                ct.deadlines.retransmit = None;
            }
            (true, _, 200..=299) => {
                ct.state = ClientState::Accepted;
                ct.deadlines.stop_active();
                ct.deadlines.linger = Some(now + t.t1x64());
                new_timers.push(TimerSlot::Linger);
            }
            (true, _, _) => {
                let ack = build_non2xx_ack(&ct.request, &resp);
                ct.ack = Some(ack.clone());
                ct.state = ClientState::Completed;
                ct.deadlines.stop_active();
                ct.deadlines.linger = Some(if reliable { now } else { now + t.t1x64() / 2 });
                new_timers.push(TimerSlot::Linger);
                to_send = Some((ct.peer, ack));
            }
            (false, _, 100..=199) => {
                if ct.state == ClientState::Trying && !reliable {
                    ct.interval = t.t2;
                }
                ct.state = ClientState::Proceeding;
            }
            (false, _, _) => {
                ct.state = ClientState::Completed;
                ct.deadlines.stop_active();
                ct.deadlines.linger = Some(if reliable { now } else { now + t.t4 });
                new_timers.push(TimerSlot::Linger);
            }
        }
        let deadlines = ct.deadlines;
        for slot in new_timers {
            if let Some(at) = deadlines.get(slot) {
                self.schedule(Side::Client, id, slot, at);
            }
        }
        if let Some((peer, bytes)) = to_send {
            self.transmit(peer, bytes);
        }
        if send_cancel {
            self.send_cancel(now, id);
        }
        if deliver {
            self.out.push_back(Output::Event(Box::new(Event::Response {
                tx: id,
                response: resp,
            })));
        }
    }

    pub(super) fn fire_client(&mut self, now: Instant, id: TxId, slot: TimerSlot, at: Instant) {
        let t = self.config.timers;
        let Some(ct) = self.client.get_mut(&id) else {
            return;
        };
        if ct.deadlines.get(slot) != Some(at) {
            return;
        }
        match slot {
            TimerSlot::Retransmit => {
                ct.interval = if ct.is_invite() {
                    ct.interval * 2
                } else {
                    (ct.interval * 2).min(t.t2)
                };
                let next = now + ct.interval;
                ct.deadlines.retransmit = Some(next);
                let (peer, bytes) = (ct.peer, ct.encoded.clone());
                self.stats.retransmissions += 1;
                self.schedule(Side::Client, id, slot, next);
                self.transmit(peer, bytes);
            }
            TimerSlot::Timeout => {
                self.remove_client(id);
                self.out
                    .push_back(Output::Event(Box::new(Event::Timeout { tx: id })));
            }
            TimerSlot::Linger => self.remove_client(id),
        }
    }

    fn remove_client(&mut self, id: TxId) {
        if let Some(ct) = self.client.remove(&id) {
            self.client_keys.remove(&ct.key);
        }
    }

    /// The request a client transaction sent (to build in-dialog requests from it).
    pub fn client_request(&self, tx: TxId) -> Option<&Request> {
        self.client.get(&tx).map(|c| &c.request)
    }

    /// Where a client transaction's request went.
    pub fn client_peer(&self, tx: TxId) -> Option<Peer> {
        self.client.get(&tx).map(|c| c.peer)
    }
}

/// RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a non-2xx final.
fn build_non2xx_ack(invite: &Request, resp: &Response) -> Vec<u8> {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(v) = invite.headers.get(&HeaderName::VIA) {
        let top = crate::grammar::split_list(v)
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default();
        ack.headers.push(HeaderName::VIA, top);
    }
    for name in [HeaderName::ROUTE, HeaderName::FROM, HeaderName::CALL_ID] {
        for v in invite.headers.get_all(&name) {
            ack.headers.push(name.clone(), v.to_owned());
        }
    }
    if let Some(to) = resp.headers.get(&HeaderName::TO) {
        ack.headers.push(HeaderName::TO, to.to_owned());
    }
    let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
    ack.headers.push(HeaderName::CSEQ, format!("{seq} ACK"));
    ack.headers.push(HeaderName::MAX_FORWARDS, "70");
    ack.encode()
}
