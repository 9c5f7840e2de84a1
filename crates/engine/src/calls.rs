//! Call sessions: what Lifeline does with an INVITE once the transaction layer has
//! accepted it, and with everything that follows in the dialog.
//!
//! ```text
//! caller (A leg) ──INVITE──▶ Lifeline ──INVITE──▶ each registered contact (B legs, forked)
//!                ◀──180────           ◀──18x────
//!                ◀──200────           ◀──200────  first 2xx wins; other forks CANCELled
//!                ───ACK───▶           ───ACK───▶
//!                ◀═ RTP relayed through two anchored ports ═▶
//! ```
//! A dialled number from the config (hotline, emergency) is answered by Lifeline
//! itself with anchored media playing a tone until later issues put an IVR and the ACD
//! there; a user's id rings that user's registrations. Either way every attempt is
//! recorded ([`crate::records`]) with its result and the cause of its end.

use std::net::SocketAddr;
use std::time::Instant;

use lifeline_config::NumberKind;
use lifeline_media::tone::Law;
use lifeline_sip::dialog::{Dialog, DialogId};
use lifeline_sip::registrar::Binding;
use lifeline_sip::sdp::{self, Codec, Negotiated, SessionDescription};
use lifeline_sip::transaction::{Peer, TransportKind, TxId};
use lifeline_sip::uas::check_body;
use lifeline_sip::uri::Scheme;
use lifeline_sip::{HeaderName, Method, Request, Response, SipMessage, Uri};

use crate::core::Core;
use crate::media::{MediaHandle, RtpSocket, start_relay};
use crate::records::CallResult;

/// Why a call ended; stored as the record's `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The caller sent BYE.
    CallerHungUp,
    /// The called user sent BYE.
    CalleeHungUp,
    /// An operator (API) hung up.
    HungUpByLifeline,
    /// No RTP for the inactivity timeout.
    MediaTimeout,
    /// Our 2xx was never ACKed.
    NoAck,
    /// The caller cancelled while it rang.
    CallerCancelled,
    /// Nobody answered in time.
    RingTimeout,
    /// Lifeline was shut down.
    Shutdown,
    /// The IVR flow ended the call (a hangup node, or an action not supported).
    IvrFinished,
}

impl Cause {
    /// The text stored in the call record.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::CallerHungUp => "caller hung up",
            Cause::CalleeHungUp => "callee hung up",
            Cause::HungUpByLifeline => "hung up by lifeline",
            Cause::MediaTimeout => "media timeout",
            Cause::NoAck => "no ack for 200",
            Cause::CallerCancelled => "caller cancelled",
            Cause::RingTimeout => "ring timeout",
            Cause::Shutdown => "server shutdown",
            Cause::IvrFinished => "ivr hung up",
        }
    }
}

/// Per-call timers the core runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallTimer {
    /// A user call has rung for the ring timeout.
    RingTimeout,
    /// The call's IVR has a deadline (digit timeout, inter-digit gap).
    Ivr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Setup,
    Answered,
}

/// One fork of a call to a user.
#[derive(Debug)]
struct Fork {
    tx: TxId,
    peer: Peer,
    dialog: Option<Dialog>,
    done: bool,
}

#[derive(Debug)]
struct Bridge {
    forks: Vec<Fork>,
    winner: Option<usize>,
    b_socket: Option<RtpSocket>,
    b_offer: SessionDescription,
    /// Where the answering fork wants its RTP.
    b_remote: Option<SocketAddr>,
    failures: Vec<u16>,
}

#[derive(Debug)]
enum Kind {
    Hotline,
    Bridge(Box<Bridge>),
}

/// A call in progress.
#[derive(Debug)]
pub struct Call {
    id: u64,
    state: State,
    a_tx: TxId,
    pub(crate) a_invite: Request,
    a_peer: Peer,
    a_tag: String,
    a_dialog: Option<Dialog>,
    a_ringing: bool,
    /// What we negotiated with the caller (None until a late offer is answered in ACK).
    a_media: Option<Negotiated>,
    /// Our SDP towards the caller (answer, or offer for a late-offer INVITE).
    a_sdp: SessionDescription,
    pub(crate) a_socket: Option<RtpSocket>,
    kind: Kind,
    media: Option<MediaHandle>,
    /// What Lifeline itself does on a call it answers (session, IVR, recording).
    pub(crate) answered: crate::answered::Answered,
}

/// The G.711 law of a negotiated codec.
pub(crate) fn law(n: &Negotiated) -> Law {
    if n.codec == Codec::Pcma {
        Law::Alaw
    } else {
        Law::Ulaw
    }
}

/// The number or user a Request-URI addresses.
fn target_of(uri: &Uri) -> String {
    match &uri.scheme {
        Scheme::Other(s) => format!("{s}:{}", uri.opaque.as_deref().unwrap_or("")),
        _ => uri.user_unescaped().unwrap_or_default(),
    }
}

impl Core {
    fn respond_a(
        &mut self,
        now: Instant,
        call: u64,
        status: u16,
        reason: Option<&str>,
        with_sdp: bool,
    ) {
        let contact = self
            .calls
            .get(&call)
            .map(|c| self.contact(c.a_peer.transport));
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let mut resp = Response::for_request(&c.a_invite, status, reason);
        resp.set_to_tag(&c.a_tag);
        if (100..300).contains(&status) && status != 100 {
            resp.headers
                .push(HeaderName::CONTACT, contact.unwrap_or_default());
        }
        if with_sdp {
            resp.headers
                .push(HeaderName::CONTENT_TYPE, "application/sdp");
            resp.body = c.a_sdp.to_string().into_bytes();
        }
        let tx = c.a_tx;
        self.ep.respond(now, tx, resp);
    }

    /// Answers an INVITE that fails before a call exists, recording the attempt.
    fn reject(
        &mut self,
        now: Instant,
        tx: TxId,
        req: &Request,
        resp: Response,
        result: CallResult,
        cause: &str,
    ) {
        let mut resp = resp;
        resp.set_to_tag(&self.ep.new_token());
        let id = self.alloc_call();
        self.records.start(id, req, &target_of(&req.uri));
        self.records.end(
            id,
            result,
            &format!("{} {}", resp.status, cause),
            crate::records::EndExtras::default(),
        );
        self.ep.respond(now, tx, resp);
    }

    /// Rejects an INVITE with `status` and an optional reason phrase.
    fn refuse(
        &mut self,
        now: Instant,
        tx: TxId,
        req: &Request,
        (status, reason): (u16, Option<&str>),
        result: CallResult,
        cause: &str,
    ) {
        let resp = Response::for_request(req, status, reason);
        self.reject(now, tx, req, resp, result, cause);
    }

    fn alloc_call(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }

    pub(crate) fn on_invite(&mut self, now: Instant, tx: TxId, req: Request, peer: Peer) {
        let target = target_of(&req.uri);
        let kind = match self.config.find_number(&target) {
            Some(n) => Some(n.kind()),
            None if self.config.find_user(&target).is_some() => None,
            None => {
                return self.refuse(
                    now,
                    tx,
                    &req,
                    (404, None),
                    CallResult::NotFound,
                    "no such number",
                );
            }
        };
        if let Some(resp) = check_body(&req, &self.policy) {
            return self.reject(
                now,
                tx,
                &req,
                resp,
                CallResult::Rejected,
                "unsupported body",
            );
        }
        if req.contacts().is_empty() {
            return self.refuse(
                now,
                tx,
                &req,
                (400, Some("Missing Contact")),
                CallResult::Rejected,
                "missing contact",
            );
        }
        let offer = if req.body.is_empty() {
            None
        } else {
            match sdp::parse(&req.body) {
                Ok(o) => Some(o),
                Err(e) => {
                    let reason = format!("Bad SDP: {e}");
                    return self.refuse(
                        now,
                        tx,
                        &req,
                        (400, Some(&reason)),
                        CallResult::Rejected,
                        "bad sdp",
                    );
                }
            }
        };
        let Some(a_socket) = self.ports.lease() else {
            return self.refuse(
                now,
                tx,
                &req,
                (503, Some("No Media Ports")),
                CallResult::Failed,
                "no rtp port",
            );
        };
        let id = self.alloc_call();
        let ip = self.settings.advertised_ip.to_string();
        let (a_sdp, a_media) = match &offer {
            Some(o) => match sdp::answer(o, &ip, a_socket.port(), id) {
                Ok((answer, negotiated)) => (answer, Some(negotiated)),
                Err(_) => {
                    return self.refuse(
                        now,
                        tx,
                        &req,
                        (488, None),
                        CallResult::Rejected,
                        "no common codec",
                    );
                }
            },
            None => (sdp::offer(&ip, a_socket.port(), id), None),
        };
        let call = Call {
            id,
            state: State::Setup,
            a_tx: tx,
            a_peer: peer,
            a_tag: self.ep.new_token(),
            a_dialog: None,
            a_ringing: false,
            a_media,
            a_sdp,
            a_socket: Some(a_socket),
            kind: Kind::Hotline,
            media: None,
            answered: crate::answered::Answered::for_number(&self.config, &target),
            a_invite: req,
        };
        self.records.start(id, &call.a_invite, &target);
        if let Some(cid) = call.a_invite.call_id() {
            self.by_call_id.insert(cid.to_owned(), id);
        }
        self.by_server_tx.insert(tx, id);
        self.calls.insert(id, call);
        match kind {
            Some(NumberKind::Queue | NumberKind::Ivr | NumberKind::Emergency) => {
                self.answer_hotline(now, id)
            }
            None => self.ring_user(now, id, &target),
        }
    }

    fn answer_hotline(&mut self, now: Instant, id: u64) {
        self.respond_a(now, id, 180, None, false);
        self.answer_a(now, id);
    }

    /// Sends 200 with our SDP to the caller, creates the A dialog and starts media.
    fn answer_a(&mut self, now: Instant, id: u64) {
        self.respond_a(now, id, 200, None, true);
        let contact = self
            .calls
            .get(&id)
            .map(|c| self.contact(c.a_peer.transport))
            .unwrap_or_default();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.state = State::Answered;
        c.a_dialog = Dialog::uas(&c.a_invite, &c.a_tag, &contact);
        if let Some(d) = &c.a_dialog {
            self.by_dialog.insert(d.id.clone(), id);
        }
        self.records.answer(id);
        self.start_media(id);
    }

    /// Starts the call's media once both ends' addresses are known.
    fn start_media(&mut self, id: u64) {
        let timeout = self.settings.rtp_timeout;
        let events = self.media_events.clone();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(a) = c.a_media.clone() else { return };
        match &mut c.kind {
            Kind::Hotline => {
                let now = Instant::now();
                self.start_answered(now, id, &a);
            }
            Kind::Bridge(b) => {
                if let (Some(b_remote), Some(sa)) = (b.b_remote, c.a_socket.take())
                    && let Some(sb) = b.b_socket.take()
                {
                    c.media = Some(start_relay(
                        id,
                        sa,
                        a.remote_addr,
                        sb,
                        b_remote,
                        timeout,
                        events,
                    ));
                }
            }
        }
    }

    fn ring_user(&mut self, now: Instant, id: u64, user: &str) {
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
        let Some(b_socket) = self.ports.lease() else {
            self.respond_a(now, id, 503, Some("No Media Ports"), false);
            return self.end_call(id, CallResult::Failed, "no rtp port");
        };
        let ip = self.settings.advertised_ip.to_string();
        let Some(c) = self.calls.get(&id) else { return };
        let a_media = c.a_media.clone();
        let mut b_offer = sdp::offer(&ip, b_socket.port(), id);
        if let Some(a) = &a_media {
            sdp::restrict_to(&mut b_offer, a.codec, a.dtmf_pt.is_some());
        }
        let caller = c.a_invite.from().map(|f| {
            (
                f.display.clone(),
                f.uri.user.clone().unwrap_or_else(|| "anonymous".into()),
            )
        });
        let (display, caller_user) = caller.unwrap_or((None, "anonymous".into()));
        let b_tag = self.ep.new_token();
        let b_call_id = format!("{}@lifeline", self.ep.new_token());
        let host = ip.clone();
        let mut forks = Vec::new();
        for (uri, peer) in bindings {
            let mut req = Request::new(Method::Invite, uri);
            let h = &mut req.headers;
            h.push(HeaderName::MAX_FORWARDS, (max_forwards - 1).to_string());
            let from = match &display {
                Some(d) => format!(
                    "{} <sip:{caller_user}@{host}>;tag={b_tag}",
                    lifeline_sip::grammar::quote(d)
                ),
                None => format!("<sip:{caller_user}@{host}>;tag={b_tag}"),
            };
            h.push(HeaderName::FROM, from);
            h.push(HeaderName::TO, format!("<sip:{user}@{host}>"));
            h.push(HeaderName::CALL_ID, b_call_id.clone());
            h.push(HeaderName::CSEQ, "1 INVITE");
            h.push(HeaderName::CONTACT, self.contact(peer.transport));
            h.push(HeaderName::ALLOW, self.policy.allow_header());
            h.push(HeaderName::CONTENT_TYPE, "application/sdp");
            req.body = b_offer.to_string().into_bytes();
            let tx = self.ep.send_request(now, req, peer);
            self.by_client_tx.insert(tx, id);
            forks.push(Fork {
                tx,
                peer,
                dialog: None,
                done: false,
            });
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.kind = Kind::Bridge(Box::new(Bridge {
                forks,
                winner: None,
                b_socket: Some(b_socket),
                b_offer,
                b_remote: None,
                failures: Vec::new(),
            }));
        }
        let at = now + self.settings.ring_timeout;
        self.call_timers
            .push(std::cmp::Reverse((at, id, CallTimer::RingTimeout)));
    }

    pub(crate) fn on_response(&mut self, now: Instant, tx: TxId, resp: Response) {
        let Some(&id) = self.by_client_tx.get(&tx) else {
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
        let Kind::Bridge(b) = &mut c.kind else { return };
        let Some(fi) = b.forks.iter().position(|f| f.tx == tx) else {
            return;
        };
        match resp.status {
            100 => {}
            101..=199 => {
                if c.state == State::Setup && !c.a_ringing {
                    c.a_ringing = true;
                    self.respond_a(now, id, 180, None, false);
                }
            }
            200..=299 if b.winner == Some(fi) => {
                let seq = resp.cseq().map(|s| s.seq).unwrap_or(1);
                let peer = b.forks[fi].peer;
                if let Some(ack) = b.forks[fi].dialog.as_ref().map(|d| d.ack(seq)) {
                    self.ep.send_stateless(ack, peer);
                }
            }
            200..=299 => self.on_fork_answered(now, id, fi, &resp),
            status => {
                b.forks[fi].done = true;
                b.failures.push(status);
                self.maybe_fail(now, id);
            }
        }
    }

    fn on_fork_answered(&mut self, now: Instant, id: u64, fi: usize, resp: &Response) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Kind::Bridge(b) = &mut c.kind else { return };
        let fork_tx = b.forks[fi].tx;
        let peer = b.forks[fi].peer;
        let Some(sent) = self.ep.client_request(fork_tx).cloned() else {
            return;
        };
        let Some(mut dialog) = Dialog::uac(&sent, resp) else {
            return;
        };
        let seq = sent.cseq().map(|s| s.seq).unwrap_or(1);
        self.ep.send_stateless(dialog.ack(seq), peer);
        b.forks[fi].done = true;
        if c.state != State::Setup || b.winner.is_some() {
            // Lost the race (another fork or the caller got there first): hang up this one.
            let bye = dialog.request(Method::Bye);
            self.ep.send_request(now, bye, peer);
            return;
        }
        let answer = sdp::parse(&resp.body)
            .ok()
            .and_then(|a| sdp::negotiated_from_answer(&b.b_offer, &a).ok());
        let Some(negotiated) = answer else {
            let bye = dialog.request(Method::Bye);
            self.ep.send_request(now, bye, peer);
            b.failures.push(488);
            return self.maybe_fail(now, id);
        };
        self.by_dialog.insert(dialog.id.clone(), id);
        b.forks[fi].dialog = Some(dialog);
        b.winner = Some(fi);
        b.b_remote = Some(negotiated.remote_addr);
        let others: Vec<TxId> = b.forks.iter().filter(|f| !f.done).map(|f| f.tx).collect();
        for tx in others {
            self.ep.cancel(now, tx);
        }
        self.answer_a(now, id);
    }

    /// Fails the caller once every fork has failed.
    fn maybe_fail(&mut self, now: Instant, id: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        let Kind::Bridge(b) = &c.kind else { return };
        if c.state != State::Setup || b.winner.is_some() || !b.forks.iter().all(|f| f.done) {
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
            return;
        };
        if let Some(c) = self.calls.get_mut(&id)
            && let Kind::Bridge(b) = &mut c.kind
            && let Some(f) = b.forks.iter_mut().find(|f| f.tx == tx)
        {
            f.done = true;
            b.failures.push(408);
            self.maybe_fail(now, id);
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
        let Some(c) = self.calls.get(&id) else { return };
        let Kind::Bridge(b) = &c.kind else { return };
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

    pub(crate) fn on_cancelled(&mut self, now: Instant, invite_tx: TxId) {
        let Some(&id) = self.by_server_tx.get(&invite_tx) else {
            return;
        };
        let Some(c) = self.calls.get(&id) else { return };
        if c.state != State::Setup {
            return;
        }
        self.cancel_forks(now, id);
        self.respond_a(now, id, 487, None, false);
        self.end_call(id, CallResult::Cancelled, Cause::CallerCancelled.as_str());
    }

    fn cancel_forks(&mut self, now: Instant, id: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        if let Kind::Bridge(b) = &c.kind {
            let pending: Vec<TxId> = b.forks.iter().filter(|f| !f.done).map(|f| f.tx).collect();
            for tx in pending {
                self.ep.cancel(now, tx);
            }
        }
    }

    pub(crate) fn on_ack(
        &mut self,
        _now: Instant,
        invite_tx: Option<TxId>,
        req: Request,
        _peer: Peer,
    ) {
        let id = invite_tx
            .and_then(|tx| self.by_server_tx.get(&tx).copied())
            .or_else(|| DialogId::of_incoming(&req).and_then(|d| self.by_dialog.get(&d).copied()));
        let Some(id) = id else { return };
        if let Some(tx) = invite_tx {
            self.by_server_tx.remove(&tx);
        }
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.a_media.is_none() && !req.body.is_empty() {
            // Late offer: the caller's answer arrives in the ACK.
            c.a_media = sdp::parse(&req.body)
                .ok()
                .and_then(|a| sdp::negotiated_from_answer(&c.a_sdp, &a).ok());
            self.start_media(id);
        }
    }

    pub(crate) fn on_ack_timeout(&mut self, now: Instant, tx: TxId) {
        if let Some(id) = self.by_server_tx.remove(&tx) {
            self.hangup(now, id, Cause::NoAck);
        }
    }

    pub(crate) fn on_in_dialog(&mut self, now: Instant, tx: TxId, req: Request, _peer: Peer) {
        let did = DialogId::of_incoming(&req);
        let Some(id) = did.as_ref().and_then(|d| self.by_dialog.get(d).copied()) else {
            return self
                .ep
                .respond(now, tx, Response::for_request(&req, 481, None));
        };
        let Some(c) = self.calls.get_mut(&id) else {
            return self
                .ep
                .respond(now, tx, Response::for_request(&req, 481, None));
        };
        let from_caller = c.a_dialog.as_ref().map(|d| &d.id) == did.as_ref();
        let dialog = if from_caller {
            c.a_dialog.as_mut()
        } else {
            match &mut c.kind {
                Kind::Bridge(b) => b.winner.and_then(|w| b.forks[w].dialog.as_mut()),
                Kind::Hotline => None,
            }
        };
        let Some(dialog) = dialog else {
            return self
                .ep
                .respond(now, tx, Response::for_request(&req, 481, None));
        };
        if !dialog.accept_remote_seq(&req) {
            return self.ep.respond(
                now,
                tx,
                Response::for_request(&req, 500, Some("CSeq Out Of Order")),
            );
        }
        match req.method {
            Method::Bye => {
                self.ep
                    .respond(now, tx, Response::for_request(&req, 200, None));
                let cause = if from_caller {
                    Cause::CallerHungUp
                } else {
                    Cause::CalleeHungUp
                };
                self.hangup_except(now, id, cause, Some(from_caller));
            }
            Method::Invite => self.on_reinvite(now, tx, id, from_caller, req),
            _ => self
                .ep
                .respond(now, tx, Response::for_request(&req, 200, None)),
        }
    }

    /// A re-INVITE: media stays anchored here, so it is answered locally (same ports),
    /// taking the new remote address (hold, NAT rebinding) for that leg.
    fn on_reinvite(&mut self, now: Instant, tx: TxId, id: u64, from_caller: bool, req: Request) {
        let ip = self.settings.advertised_ip.to_string();
        let Some(c) = self.calls.get(&id) else { return };
        let transport = match (&c.kind, from_caller) {
            (Kind::Bridge(b), false) => b
                .winner
                .map_or(c.a_peer.transport, |w| b.forks[w].peer.transport),
            _ => c.a_peer.transport,
        };
        let contact = self.contact(transport);
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let local_port = if from_caller {
            c.a_sdp.media.first().map(|m| m.port).unwrap_or(0)
        } else {
            match &c.kind {
                Kind::Bridge(b) => b.b_offer.media.first().map(|m| m.port).unwrap_or(0),
                Kind::Hotline => 0,
            }
        };
        let mut resp = Response::for_request(&req, 200, None);
        resp.headers.push(HeaderName::CONTACT, contact);
        if !req.body.is_empty() {
            match sdp::parse(&req.body)
                .ok()
                .and_then(|o| sdp::answer(&o, &ip, local_port, id).ok())
            {
                Some((answer, negotiated)) => {
                    if let Some(m) = &c.media {
                        m.set_remote(usize::from(!from_caller), negotiated.remote_addr);
                    }
                    if from_caller {
                        c.answered.move_media(negotiated.remote_addr);
                    }
                    resp.headers
                        .push(HeaderName::CONTENT_TYPE, "application/sdp");
                    resp.body = answer.to_string().into_bytes();
                }
                None => resp = Response::for_request(&req, 488, None),
            }
        }
        self.ep.respond(now, tx, resp);
    }

    pub(crate) fn on_call_timer(&mut self, now: Instant, id: u64, timer: CallTimer) {
        match timer {
            CallTimer::Ivr => self.on_ivr_timer(now, id),
            CallTimer::RingTimeout => {
                if self.calls.get(&id).is_some_and(|c| c.state == State::Setup) {
                    self.cancel_forks(now, id);
                    self.respond_a(now, id, 480, Some("No Answer"), false);
                    self.end_call(id, CallResult::NoAnswer, Cause::RingTimeout.as_str());
                }
            }
        }
    }

    /// Ends a call from Lifeline's side: BYE to every answered leg, or a final response
    /// to a caller still ringing.
    pub(crate) fn hangup(&mut self, now: Instant, id: u64, cause: Cause) {
        let Some(c) = self.calls.get(&id) else { return };
        if c.state == State::Setup {
            self.cancel_forks(now, id);
            self.respond_a(now, id, 480, Some("Call Ended By Operator"), false);
            return self.end_call(id, CallResult::Failed, cause.as_str());
        }
        self.hangup_except(now, id, cause, None);
    }

    /// BYE to the answered legs, except the one that hung up (`Some(true)`: the caller,
    /// `Some(false)`: the callee), then the record is closed.
    fn hangup_except(&mut self, now: Instant, id: u64, cause: Cause, skip_caller: Option<bool>) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let mut byes = Vec::new();
        if skip_caller != Some(true)
            && let Some(d) = c.a_dialog.as_mut()
        {
            byes.push((d.request(Method::Bye), c.a_peer));
        }
        if skip_caller != Some(false)
            && let Kind::Bridge(b) = &mut c.kind
            && let Some(w) = b.winner
        {
            let peer = b.forks[w].peer;
            if let Some(d) = b.forks[w].dialog.as_mut() {
                byes.push((d.request(Method::Bye), peer));
            }
        }
        for (bye, peer) in byes {
            self.ep.send_request(now, bye, peer);
        }
        self.end_call(id, CallResult::Answered, cause.as_str());
    }

    /// Forgets a call: indexes, media (stopped by dropping its handle), and the record.
    pub(crate) fn end_call(&mut self, id: u64, result: CallResult, cause: &str) {
        let Some(c) = self.calls.remove(&id) else {
            return;
        };
        self.by_server_tx.remove(&c.a_tx);
        if let Some(cid) = c.a_invite.call_id() {
            self.by_call_id.remove(cid);
        }
        if let Some(d) = &c.a_dialog {
            self.by_dialog.remove(&d.id);
        }
        if let Kind::Bridge(b) = &c.kind {
            for f in &b.forks {
                self.by_client_tx.remove(&f.tx);
                if let Some(d) = &f.dialog {
                    self.by_dialog.remove(&d.id);
                }
            }
        }
        let extras = c.answered.into_extras();
        self.records.end(c.id, result, cause, extras);
    }
}

/// Where to reach a registered contact. A Contact on the host the REGISTER came from
/// is reachable as written (the phone told us where it listens); any other Contact is
/// hidden behind NAT, so we answer the registration's source address, over its TCP
/// connection if it has one (the approach of Kamailio's `fix_nated_register`).
fn binding_peer(b: &Binding) -> Peer {
    let registered_on = if b.transport.eq_ignore_ascii_case("TCP") {
        TransportKind::Tcp
    } else {
        TransportKind::Udp
    };
    let uri = &b.contact.uri;
    let contact_ip = uri
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .ok();
    if contact_ip == Some(b.source.ip()) {
        let transport = match uri.params.value("transport") {
            Some(t) if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
            Some(t) if t.eq_ignore_ascii_case("udp") => TransportKind::Udp,
            _ => registered_on,
        };
        let addr = SocketAddr::new(b.source.ip(), uri.port.unwrap_or(5060));
        return Peer {
            addr,
            transport,
            conn: None,
        };
    }
    Peer {
        addr: b.source,
        transport: registered_on,
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
