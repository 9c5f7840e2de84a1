//! The B2BUA side of a call: forking an INVITE to every registered contact of a user,
//! letting the first 2xx win (the other forks get a CANCEL, a late 2xx an ACK and a
//! BYE), and where each registered contact is reached.
//!
//! Two kinds of call use it. A call to a user (`Kind::User`) forks the caller's own
//! INVITE: 18x is relayed, the winner's 2xx answers the caller, and the caller gets the
//! best final response when every fork fails. A call Lifeline answered
//! (`Kind::Hotline`) rings someone later — an agent, a transfer target — and the
//! winner is connected through the call's media session (`answered.rs` hears how each
//! fork ends).
//!
//! ```text
//! caller (A leg) ──INVITE──▶ Lifeline ──INVITE──▶ each registered contact (B legs, forked)
//!                ◀──180────           ◀──18x────
//!                ◀──200────           ◀──200────  first 2xx wins; other forks CANCELled
//!                ───ACK───▶           ───ACK───▶
//!                ◀═ RTP relayed through two anchored ports ═▶
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use lifeline_sip::dialog::{Dialog, DialogId};
use lifeline_sip::registrar::Binding;
use lifeline_sip::sdp::{self, SessionDescription};
use lifeline_sip::transaction::{Peer, TransportKind, TxId};
use lifeline_sip::{HeaderName, Method, Request, Response, SipMessage, Uri};

use crate::calls::{CallTimer, Kind, State};
use crate::core::Core;
use crate::media::RtpSocket;
use crate::records::CallResult;

/// One fork of a call to a user.
#[derive(Debug)]
pub(crate) struct Fork {
    pub(crate) tx: TxId,
    pub(crate) peer: Peer,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) done: bool,
    /// The ACD offer this fork carries, if it rings an agent.
    pub(crate) offer: Option<u64>,
}

/// The forks of a call to a user and what they answered.
#[derive(Debug)]
pub(crate) struct Bridge {
    pub(crate) forks: Vec<Fork>,
    pub(crate) winner: Option<usize>,
    pub(crate) b_socket: Option<RtpSocket>,
    pub(crate) b_offer: SessionDescription,
    /// Where the answering fork wants its RTP.
    pub(crate) b_remote: Option<SocketAddr>,
    failures: Vec<u16>,
}

/// What an INVITE Lifeline sends carries.
pub(crate) struct Invite<'a> {
    /// The From header value, with our tag.
    pub(crate) from: &'a str,
    /// The To header value.
    pub(crate) to: &'a str,
    pub(crate) call_id: &'a str,
    pub(crate) max_forwards: u32,
    /// The SDP offer.
    pub(crate) sdp: &'a str,
    /// Extra headers.
    pub(crate) headers: &'a [(HeaderName, String)],
}

impl Bridge {
    /// The dialog with the fork that answered.
    pub(crate) fn answered_dialog(&mut self) -> Option<&mut Dialog> {
        self.winner.and_then(|w| self.forks[w].dialog.as_mut())
    }

    /// Whether a fork is still ringing.
    pub(crate) fn ringing(&self) -> bool {
        self.forks.iter().any(|f| !f.done)
    }
}

impl Core {
    pub(crate) fn ring_user(&mut self, now: Instant, id: u64, user: &str) {
        let Some(c) = self.calls.get(&id) else { return };
        let max_forwards = c.a_invite.max_forwards().unwrap_or(70);
        let fail = |status: u16,
                    reason: Option<&'static str>,
                    result: CallResult,
                    cause: &'static str| (status, reason, result, cause);
        let failure = if max_forwards == 0 {
            Some(fail(483, None, CallResult::Failed, "too many hops"))
        } else if c.a_media.is_none() {
            Some(fail(
                488,
                Some("Offer Required For User Calls"),
                CallResult::Rejected,
                "no sdp offer",
            ))
        } else {
            None
        };
        let bindings: Vec<(Uri, Peer)> = self
            .registrar
            .contacts(now, user)
            .into_iter()
            .map(|b| (b.contact.uri.clone(), binding_peer(b)))
            .collect();
        let failure = failure.or_else(|| {
            bindings.is_empty().then(|| {
                fail(
                    480,
                    Some("Not Registered"),
                    CallResult::NoAnswer,
                    "user not registered",
                )
            })
        });
        if let Some((status, reason, result, cause)) = failure {
            self.respond_a(now, id, status, reason, false);
            return self.end_call(id, result, cause);
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.kind = Kind::User;
        }
        if !self.fork_to(now, id, user, bindings, None, &[]) {
            self.respond_a(now, id, 503, Some("No Media Ports"), false);
            return self.end_call(id, CallResult::Failed, "no rtp port");
        }
        let at = now + self.settings.ring_timeout;
        self.call_timers
            .push(std::cmp::Reverse((at, id, CallTimer::RingTimeout)));
    }

    /// An INVITE to `uri`, reached at `peer`, with our Contact and Allow.
    pub(crate) fn invite(&self, uri: Uri, peer: Peer, i: &Invite<'_>) -> Request {
        let mut req = Request::new(Method::Invite, uri);
        let h = &mut req.headers;
        h.push(HeaderName::MAX_FORWARDS, i.max_forwards.to_string());
        h.push(HeaderName::FROM, i.from);
        h.push(HeaderName::TO, i.to);
        h.push(HeaderName::CALL_ID, i.call_id);
        h.push(HeaderName::CSEQ, "1 INVITE");
        h.push(HeaderName::CONTACT, self.contact(peer.transport));
        h.push(HeaderName::ALLOW, self.policy.allow_header());
        for (name, value) in i.headers {
            h.push(name.clone(), value.clone());
        }
        h.push(HeaderName::CONTENT_TYPE, "application/sdp");
        req.body = i.sdp.as_bytes().to_vec();
        req
    }

    /// The registered contacts of `user` and where each is reached.
    pub(crate) fn contacts_of(&self, now: Instant, user: &str) -> Vec<(Uri, Peer)> {
        self.registrar
            .contacts(now, user)
            .into_iter()
            .map(|b| (b.contact.uri.clone(), binding_peer(b)))
            .collect()
    }

    /// Sends an INVITE for call `id` to each of `bindings` (contacts of `user`), on the
    /// call's leg (created on first use with an RTP port and an offer limited to the
    /// caller's codec). The INVITE shows the caller's number and display name and
    /// carries `headers`. False if no RTP port was free.
    pub(crate) fn fork_to(
        &mut self,
        now: Instant,
        id: u64,
        user: &str,
        bindings: Vec<(Uri, Peer)>,
        offer: Option<u64>,
        headers: &[(HeaderName, String)],
    ) -> bool {
        let ip = self.settings.advertised_ip.to_string();
        let Some(c) = self.calls.get(&id) else {
            return false;
        };
        if c.leg.is_none() {
            let Some(b_socket) = self.ports.lease() else {
                return false;
            };
            let mut b_offer = sdp::offer(&ip, b_socket.port(), id);
            if let Some(a) = &c.a_media {
                sdp::restrict_to(&mut b_offer, a.codec, a.dtmf_pt.is_some());
            }
            let leg = Bridge {
                forks: Vec::new(),
                winner: None,
                b_socket: Some(b_socket),
                b_offer,
                b_remote: None,
                failures: Vec::new(),
            };
            if let Some(c) = self.calls.get_mut(&id) {
                c.leg = Some(Box::new(leg));
            }
        }
        let Some(c) = self.calls.get(&id) else {
            return false;
        };
        let max_forwards = c.a_invite.max_forwards().unwrap_or(70).max(1);
        let (display, caller_user) = c
            .a_invite
            .from()
            .map(|f| {
                (
                    f.display.clone(),
                    f.uri.user.clone().unwrap_or_else(|| "anonymous".into()),
                )
            })
            .unwrap_or((None, "anonymous".into()));
        let Some(leg) = c.leg.as_deref() else {
            return false;
        };
        // One Call-ID and From tag per ringing of a user: its contacts are forks of one
        // request; ringing the user again later is a new request.
        let tag = self.ep.new_token();
        let call_id = format!("{}@lifeline", self.ep.new_token());
        let from = match &display {
            Some(d) => format!(
                "{} <sip:{caller_user}@{ip}>;tag={tag}",
                lifeline_sip::grammar::quote(d),
            ),
            None => format!("<sip:{caller_user}@{ip}>;tag={tag}"),
        };
        let body = leg.b_offer.to_string();
        let mut forks = Vec::new();
        for (uri, peer) in bindings {
            let invite = Invite {
                from: &from,
                to: &format!("<sip:{user}@{ip}>"),
                call_id: &call_id,
                max_forwards: u32::from(max_forwards - 1),
                sdp: &body,
                headers,
            };
            let req = self.invite(uri, peer, &invite);
            let tx = self.ep.send_request(now, req, peer);
            self.by_client_tx.insert(tx, id);
            forks.push(Fork {
                tx,
                peer,
                dialog: None,
                done: false,
                offer,
            });
        }
        if let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.leg.as_deref_mut()) {
            leg.forks.extend(forks);
        }
        true
    }

    pub(crate) fn on_response(&mut self, now: Instant, tx: TxId, resp: Response) {
        let Some(&id) = self.by_client_tx.get(&tx) else {
            if !self.on_callback_response(now, tx, &resp) {
                self.end_late_answer(now, tx, &resp);
            }
            return;
        };
        // A fork that failed is finished; an answered one stays mapped until the call
        // ends, because its 2xx is retransmitted if our ACK is lost.
        if resp.status >= 300 {
            self.by_client_tx.remove(&tx);
        }
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let kind = c.kind;
        let Some(b) = c.leg.as_deref_mut() else {
            return;
        };
        let Some(fi) = b.forks.iter().position(|f| f.tx == tx) else {
            return;
        };
        match resp.status {
            100 => {}
            101..=199 => match kind {
                Kind::User if c.state == State::Setup && !c.a_ringing => {
                    c.a_ringing = true;
                    self.respond_a(now, id, 180, None, false);
                }
                Kind::User => {}
                Kind::Hotline => {
                    let offer = b.forks[fi].offer;
                    self.on_leg_ringing(id, offer);
                }
            },
            200..=299 if b.winner == Some(fi) => {
                let seq = resp.cseq().map(|s| s.seq).unwrap_or(1);
                let peer = b.forks[fi].peer;
                if let Some(ack) = b.forks[fi].dialog.as_ref().map(|d| d.ack(seq)) {
                    self.ep.send_stateless(ack, peer);
                }
            }
            200..=299 => self.on_fork_answered(now, id, fi, &resp),
            status => self.on_fork_failed(now, id, fi, status),
        }
    }

    fn on_fork_answered(&mut self, now: Instant, id: u64, fi: usize, resp: &Response) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let (kind, state) = (c.kind, c.state);
        let Some(b) = c.leg.as_deref_mut() else {
            return;
        };
        let (fork_tx, peer, offer) = (b.forks[fi].tx, b.forks[fi].peer, b.forks[fi].offer);
        let Some(sent) = self.ep.client_request(fork_tx).cloned() else {
            return;
        };
        let Some(mut dialog) = Dialog::uac(&sent, resp) else {
            return;
        };
        let seq = sent.cseq().map(|s| s.seq).unwrap_or(1);
        self.ep.send_stateless(dialog.ack(seq), peer);
        b.forks[fi].done = true;
        let negotiated = sdp::parse(&resp.body)
            .ok()
            .and_then(|a| sdp::negotiated_from_answer(&b.b_offer, &a).ok());
        let wanted = match kind {
            Kind::User => state == State::Setup,
            Kind::Hotline => state == State::Answered,
        };
        let wanted = wanted && b.winner.is_none() && negotiated.is_some();
        let wanted = wanted && (kind == Kind::User || self.leg_may_connect(now, id, offer));
        let Some(negotiated) = negotiated.filter(|_| wanted) else {
            // Lost the race (another fork, the caller or the ACD got there first) or
            // the answer is unusable: hang up this one.
            let bye = dialog.request(Method::Bye);
            self.ep.send_request(now, bye, peer);
            return self.on_fork_failed(now, id, fi, 488);
        };
        self.by_dialog.insert(dialog.id.clone(), id);
        let Some(b) = self.calls.get_mut(&id).and_then(|c| c.leg.as_deref_mut()) else {
            return;
        };
        b.forks[fi].dialog = Some(dialog);
        b.winner = Some(fi);
        b.b_remote = Some(negotiated.remote_addr);
        let others: Vec<TxId> = b.forks.iter().filter(|f| !f.done).map(|f| f.tx).collect();
        for tx in others {
            self.ep.cancel(now, tx);
        }
        match kind {
            Kind::User => self.answer_a(now, id),
            Kind::Hotline => self.connect_leg(now, id, offer, &negotiated),
        }
    }

    /// A fork ended without connecting (`status` is its final response, 408 for no
    /// response, 488 for an unusable or unwanted answer).
    fn on_fork_failed(&mut self, now: Instant, id: u64, fi: usize, status: u16) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let kind = c.kind;
        let Some(b) = c.leg.as_deref_mut() else {
            return;
        };
        b.forks[fi].done = true;
        b.failures.push(status);
        let offer = b.forks[fi].offer;
        // Settled once nothing of the same offer (or transfer) rings and nobody answered.
        let settled = b.winner.is_none() && !b.forks.iter().any(|f| !f.done && f.offer == offer);
        let best = best_failure(&b.failures);
        match kind {
            Kind::User => self.maybe_fail(now, id),
            Kind::Hotline => {
                let code = if offer.is_some() { status } else { best };
                self.on_leg_fork_failed(now, id, offer, settled.then_some(code))
            }
        }
    }

    /// A 2xx to an INVITE whose call has gone (it crossed our CANCEL, or the caller
    /// hung up meanwhile): ACK it and hang up at once, so the phone is not left
    /// answered (RFC 3261 §15).
    fn end_late_answer(&mut self, now: Instant, tx: TxId, resp: &Response) {
        if !(200..300).contains(&resp.status)
            || resp.cseq().is_none_or(|c| c.method != Method::Invite)
        {
            return;
        }
        let (Some(sent), Some(peer)) =
            (self.ep.client_request(tx).cloned(), self.ep.client_peer(tx))
        else {
            return;
        };
        let seq = sent.cseq().map_or(1, |s| s.seq);
        // A retransmission of an answer already ended: ACK it again, no second BYE.
        let linger = self.settings.t1 * 64;
        self.late_answers
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < linger);
        if let Some((dialog, _)) = self.late_answers.get(&tx) {
            self.ep.send_stateless(dialog.ack(seq), peer);
            return;
        }
        let Some(mut dialog) = Dialog::uac(&sent, resp) else {
            return;
        };
        tracing::debug!(peer = %peer.addr, "hanging up an answer that came too late");
        self.ep.send_stateless(dialog.ack(seq), peer);
        let bye = dialog.request(Method::Bye);
        self.ep.send_request(now, bye, peer);
        self.late_answers.insert(tx, (dialog, now));
    }

    /// Fails the caller once every fork has failed.
    fn maybe_fail(&mut self, now: Instant, id: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        let Some(b) = c.leg.as_deref() else { return };
        if c.state != State::Setup || b.winner.is_some() || b.ringing() {
            return;
        }
        let status = best_failure(&b.failures);
        let result = match status {
            486 | 600 | 603 => CallResult::Busy,
            404 | 604 => CallResult::NotFound,
            408 | 480 | 487 => CallResult::NoAnswer,
            _ => CallResult::Failed,
        };
        let status = if status == 408 { 480 } else { status };
        self.respond_a(now, id, status, None, false);
        self.end_call(id, result, &format!("callee answered {status}"));
    }

    pub(crate) fn on_client_timeout(&mut self, now: Instant, tx: TxId) {
        let Some(id) = self.by_client_tx.remove(&tx) else {
            self.on_callback_timeout(now, tx);
            return;
        };
        let fork = self
            .calls
            .get(&id)
            .and_then(|c| c.leg.as_deref())
            .and_then(|b| b.forks.iter().position(|f| f.tx == tx && !f.done));
        if let Some(fi) = fork {
            self.on_fork_failed(now, id, fi, 408);
        }
    }

    pub(crate) fn on_stray_response(&mut self, _now: Instant, resp: Response) {
        // A retransmitted 2xx whose ACK was lost: ACK it again from the dialog.
        if !(200..300).contains(&resp.status)
            || resp.cseq().is_none_or(|c| c.method != Method::Invite)
        {
            return;
        }
        let Some(did) = DialogId::of_response(&resp) else {
            return;
        };
        let Some(&id) = self.by_dialog.get(&did) else {
            return;
        };
        let Some(b) = self.calls.get(&id).and_then(|c| c.leg.as_deref()) else {
            return;
        };
        if let Some(f) = b
            .forks
            .iter()
            .find(|f| f.dialog.as_ref().is_some_and(|d| d.id == did))
        {
            let seq = resp.cseq().map(|s| s.seq).unwrap_or(1);
            let (ack, peer) = (f.dialog.as_ref().map(|d| d.ack(seq)), f.peer);
            if let Some(ack) = ack {
                self.ep.send_stateless(ack, peer);
            }
        }
    }

    /// Forgets call `id`'s leg (its party hung up); the caller's side goes on.
    pub(crate) fn drop_leg(&mut self, id: u64) {
        if let Some(b) = self.calls.get_mut(&id).and_then(|c| c.leg.take()) {
            self.forget_leg(&b);
        }
    }

    /// Removes a leg's forks and dialogs from the indexes.
    pub(crate) fn forget_leg(&mut self, b: &Bridge) {
        for f in &b.forks {
            self.by_client_tx.remove(&f.tx);
            if let Some(d) = &f.dialog {
                self.by_dialog.remove(&d.id);
            }
        }
    }

    /// CANCELs the forks still ringing (all of them, or only those carrying `offer`).
    pub(crate) fn cancel_forks(&mut self, now: Instant, id: u64, offer: Option<u64>) {
        let Some(b) = self.calls.get(&id).and_then(|c| c.leg.as_deref()) else {
            return;
        };
        let pending: Vec<TxId> = b
            .forks
            .iter()
            .filter(|f| !f.done && (offer.is_none() || f.offer == offer))
            .map(|f| f.tx)
            .collect();
        for tx in pending {
            self.ep.cancel(now, tx);
        }
    }
}

/// Where to reach a registered contact: see [`reach`], from the registration's source
/// and transport.
fn binding_peer(b: &Binding) -> Peer {
    let registered_on = if b.transport.eq_ignore_ascii_case("TCP") {
        TransportKind::Tcp
    } else {
        TransportKind::Udp
    };
    reach(&b.contact.uri, b.source, registered_on)
}

/// Where to send to a Contact that came from `source` over `transport`. A Contact on
/// the host the request came from is reachable as written (the phone told us where it
/// listens, and which transport); any other Contact is hidden behind NAT, so we answer
/// the source address, over its TCP connection if it has one (the approach of
/// Kamailio's `fix_nated_register`).
pub(crate) fn reach(contact: &Uri, source: SocketAddr, transport: TransportKind) -> Peer {
    let contact_ip = contact
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .ok();
    if contact_ip == Some(source.ip()) {
        let transport = match contact.params.value("transport") {
            Some(t) if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
            Some(t) if t.eq_ignore_ascii_case("udp") => TransportKind::Udp,
            _ => transport,
        };
        let addr = SocketAddr::new(source.ip(), contact.port.unwrap_or(5060));
        return Peer {
            addr,
            transport,
            conn: None,
        };
    }
    Peer {
        addr: source,
        transport,
        conn: None,
    }
}

/// RFC 3261 §16.7-style choice among fork failures: a 6xx wins, then busy, then the
/// lowest other code.
fn best_failure(codes: &[u16]) -> u16 {
    if let Some(c) = codes.iter().copied().filter(|c| *c >= 600).min() {
        return c;
    }
    if codes.contains(&486) {
        return 486;
    }
    codes
        .iter()
        .copied()
        .filter(|c| *c != 408 && *c != 487)
        .min()
        .unwrap_or(480)
}
