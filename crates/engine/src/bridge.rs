//! The B2BUA side of a call to a user: forking the caller's INVITE to every registered
//! contact of that user, relaying 18x, letting the first 2xx win (the other forks get a
//! CANCEL, a late 2xx an ACK and a BYE), failing the caller with the best final
//! response when every fork fails, and where each registered contact is reached.
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

    pub(crate) fn cancel_forks(&mut self, now: Instant, id: u64) {
        let Some(c) = self.calls.get(&id) else { return };
        if let Kind::Bridge(b) = &c.kind {
            let pending: Vec<TxId> = b.forks.iter().filter(|f| !f.done).map(|f| f.tx).collect();
            for tx in pending {
                self.ep.cancel(now, tx);
            }
        }
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
