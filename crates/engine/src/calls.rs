//! Call sessions: what Lifeline does with an INVITE once the transaction layer has
//! accepted it, and with everything that follows in the dialog: answering, CANCEL and
//! ACK, in-dialog requests (BYE, re-INVITE), timers, hangups and the call record.
//!
//! A dialled number from the config (hotline, IVR, emergency) is answered by Lifeline
//! itself (`answered.rs` runs its media and IVR); a user's id rings that user's
//! registrations through the B2BUA (`bridge.rs`). Either way every attempt is recorded
//! ([`crate::records`]) with its result and the cause of its end.

use std::time::Instant;

use lifeline_config::NumberKind;
use lifeline_media::tone::Law;
use lifeline_sip::dialog::{Dialog, DialogId};
use lifeline_sip::sdp::{self, Codec, Negotiated, SessionDescription};
use lifeline_sip::transaction::{Peer, TxId};
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
    /// The IVR transferred the call and nobody took it.
    TransferFailed,
    /// The IVR transferred the call and it rang out.
    TransferNotAnswered,
    /// The queue would not take the caller (full, or no agents to wait for).
    QueueRefused,
    /// The caller waited for the queue timeout.
    QueueTimeout,
    /// The queue's agents all left while the caller waited.
    QueueEmpty,
    /// The caller pressed the queue's exit key.
    QueueExitKey,
    /// An agent feature code was carried out and confirmed.
    FeatureDone,
    /// The caller asked to be called back and keeps its place in the queue.
    CallbackRequested,
    /// The queue timed out into voicemail and the caller left a message.
    QueueVoicemail,
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
            Cause::TransferFailed => "transfer failed",
            Cause::TransferNotAnswered => "transfer not answered",
            Cause::QueueRefused => "queue refused",
            Cause::QueueTimeout => "queue timeout",
            Cause::QueueEmpty => "queue empty",
            Cause::QueueExitKey => "queue exit key",
            Cause::FeatureDone => "feature code done",
            Cause::CallbackRequested => "callback requested",
            Cause::QueueVoicemail => "queue voicemail",
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
    /// The satisfaction survey waits for a key.
    Survey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Setup,
    Answered,
}

/// Who answers the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Lifeline answers (IVR, queue); a `leg` is someone the caller is connected to
    /// later (an agent, a transfer target), relayed through the call's media session.
    Hotline,
    /// A user's phones answer (B2BUA); the `leg` holds the forks, relayed port to port.
    User,
}

/// A call in progress.
#[derive(Debug)]
pub struct Call {
    pub(crate) id: u64,
    pub(crate) state: State,
    pub(crate) a_tx: TxId,
    pub(crate) a_invite: Request,
    pub(crate) a_peer: Peer,
    pub(crate) a_tag: String,
    pub(crate) a_dialog: Option<Dialog>,
    pub(crate) a_ringing: bool,
    /// What we negotiated with the caller (None until a late offer is answered in ACK).
    pub(crate) a_media: Option<Negotiated>,
    /// Our SDP towards the caller (answer, or offer for a late-offer INVITE).
    pub(crate) a_sdp: SessionDescription,
    pub(crate) a_socket: Option<RtpSocket>,
    pub(crate) kind: Kind,
    /// The other party's side: forks being rung and the one that answered.
    pub(crate) leg: Option<Box<crate::bridge::Bridge>>,
    pub(crate) media: Option<MediaHandle>,
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

/// The media session of a leg as negotiated, with a random SSRC, sequence and
/// timestamp; `inband_dtmf` listens for tones, `record` keeps a recorder.
pub(crate) fn session_config(
    n: &Negotiated,
    inactivity: Option<std::time::Duration>,
    inband_dtmf: bool,
    record: bool,
) -> lifeline_media::session::SessionConfig {
    lifeline_media::session::SessionConfig {
        law: law(n),
        payload_type: n.codec_pt,
        dtmf_pt: n.dtmf_pt,
        remote: n.remote_addr,
        ssrc: rand::random(),
        seq: rand::random(),
        ts: rand::random(),
        inband_dtmf,
        inactivity,
        record,
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
    pub(crate) fn respond_a(
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

    pub(crate) fn alloc_call(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }

    pub(crate) fn on_invite(&mut self, now: Instant, tx: TxId, req: Request, peer: Peer) {
        let target = target_of(&req.uri);
        let feature = crate::queueing::feature_code(&target);
        let kind = match self.config.find_number(&target) {
            None if let Some((status, _)) = &feature => {
                // An agent's feature code: the phone proves who it is, then the status
                // changes and Lifeline answers with a confirmation.
                let user = match self.authenticate(&req, peer, true) {
                    Ok(user) => user,
                    Err(resp) => return self.ep.respond(now, tx, resp),
                };
                if let Err(e) = self.set_agent_status(now, &user, status.clone()) {
                    tracing::info!(%user, error = %e, "feature code refused");
                    return self.refuse(
                        now,
                        tx,
                        &req,
                        (403, Some("Not An Agent")),
                        CallResult::Rejected,
                        "not an agent",
                    );
                }
                Some(NumberKind::Ivr)
            }
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
            leg: None,
            media: None,
            answered: match feature {
                Some((_, prompt)) => crate::answered::Answered::confirmation(&target, prompt),
                None => crate::answered::Answered::for_number(&self.config, &target),
            },
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
    pub(crate) fn answer_a(&mut self, now: Instant, id: u64) {
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
        match (c.kind, c.leg.as_deref_mut()) {
            (Kind::Hotline, _) => {
                let now = Instant::now();
                self.start_answered(now, id, &a);
            }
            (Kind::User, None) => {}
            (Kind::User, Some(b)) => {
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

    pub(crate) fn on_cancelled(&mut self, now: Instant, invite_tx: TxId) {
        let Some(&id) = self.by_server_tx.get(&invite_tx) else {
            return;
        };
        let Some(c) = self.calls.get(&id) else { return };
        if c.state != State::Setup {
            return;
        }
        self.cancel_forks(now, id, None);
        self.respond_a(now, id, 487, None, false);
        self.end_call(id, CallResult::Cancelled, Cause::CallerCancelled.as_str());
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
            if self.on_callback_request(now, tx, &req) {
                return;
            }
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
            c.leg.as_deref_mut().and_then(|b| b.answered_dialog())
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
                // An agent who hangs up first may leave the caller a survey.
                if !from_caller && self.survey_after_agent(now, id) {
                    return;
                }
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
        let transport = match (c.leg.as_deref(), from_caller) {
            (Some(b), false) => b
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
            c.leg
                .as_deref()
                .and_then(|b| b.b_offer.media.first())
                .map_or(0, |m| m.port)
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
                    c.answered.move_media(from_caller, negotiated.remote_addr);
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
            CallTimer::Survey => self.on_survey_timer(now, id),
            CallTimer::RingTimeout => {
                let Some(c) = self.calls.get(&id) else { return };
                let ringing = c
                    .leg
                    .as_deref()
                    .is_some_and(|b| b.winner.is_none() && b.ringing())
                    || self.consoles.rings_direct(id);
                match (c.kind, c.state) {
                    (Kind::User, State::Setup) => {
                        self.cancel_forks(now, id, None);
                        self.respond_a(now, id, 480, Some("No Answer"), false);
                        self.end_call(id, CallResult::NoAnswer, Cause::RingTimeout.as_str());
                    }
                    (Kind::Hotline, State::Answered) if ringing => {
                        self.hangup(now, id, Cause::TransferNotAnswered);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Ends a call from Lifeline's side: BYE to every answered leg, or a final response
    /// to a caller still ringing.
    pub(crate) fn hangup(&mut self, now: Instant, id: u64, cause: Cause) {
        let Some(c) = self.calls.get(&id) else { return };
        if c.state == State::Setup {
            self.cancel_forks(now, id, None);
            self.respond_a(now, id, 480, Some("Call Ended By Operator"), false);
            return self.end_call(id, CallResult::Failed, cause.as_str());
        }
        self.hangup_except(now, id, cause, None);
    }

    /// BYE to the answered legs, except the one that hung up (`Some(true)`: the caller,
    /// `Some(false)`: the callee), then the record is closed.
    pub(crate) fn hangup_except(
        &mut self,
        now: Instant,
        id: u64,
        cause: Cause,
        skip_caller: Option<bool>,
    ) {
        self.cancel_forks(now, id, None);
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
            && let Some(b) = c.leg.as_deref_mut()
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
        self.ending = Some(id);
        self.leave_acd(Instant::now(), id, cause == Cause::CalleeHungUp.as_str());
        self.ending = None;
        self.end_browser_call(id, cause);
        self.cancel_direct_offers(id, "caller_left");
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
        if let Some(b) = &c.leg {
            self.forget_leg(b);
        }
        let extras = c.answered.into_extras();
        self.records.end(c.id, result, cause, extras);
    }
}
