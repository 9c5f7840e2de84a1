//! Callbacks: a waiting caller presses the queue's callback key, hears a confirmation
//! and hangs up, and keeps its place in the ACD (a queue with `callback_on_abandon`
//! does the same for a caller who hangs up while waiting). When an agent takes that place, Lifeline
//! rings the agent first (`X-Lifeline-Callback` names the number) and, once the agent
//! answers, calls the resident back where their phone called from. When the resident
//! answers, RTP is relayed between the two legs like a call to a user.
//!
//! ```text
//! ACD Offer{callback} ──INVITE──▶ agent ──200──▶ offer_answered ──INVITE──▶ resident
//!                                                   resident 200 ──▶ relay agent ⇄ resident
//! either BYE ──▶ BYE the other, Acd::call_ended, record closed
//! ```
//!
//! A callback is a call of its own with its own record (to the resident's number, with
//! the queue, agent and the original wait). One attempt is made: a resident who does
//! not answer ends the callback (`callback not answered`), and the agent is freed.
//! Only the agent's first registered phone is rung.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lifeline_acd::{EndedBy, OfferFailure};
use lifeline_sip::dialog::{Dialog, DialogId};
use lifeline_sip::sdp::{self, Negotiated, SessionDescription};
use lifeline_sip::transaction::{Peer, TxId};
use lifeline_sip::{HeaderName, Method, Request, Response, SipMessage, Uri};

use crate::bridge::{Invite, reach};
use crate::calls::Cause;
use crate::core::Core;
use crate::media::{MediaHandle, RtpSocket, start_relay};
use crate::records::{CallResult, EndExtras};

/// Where to call a resident back: the Contact of the call they made.
#[derive(Debug, Clone)]
pub(crate) struct CallbackTarget {
    uri: Uri,
    peer: Peer,
    /// The caller's number (From user), shown to the agent and kept in the record.
    number: String,
    /// What the resident had dialled: the callback comes from that number.
    dialled: String,
}

/// One side of a callback: an INVITE Lifeline sent and, once answered, its dialog.
#[derive(Debug)]
struct OutLeg {
    tx: TxId,
    peer: Peer,
    sdp: SessionDescription,
    socket: Option<RtpSocket>,
    dialog: Option<Dialog>,
    media: Option<Negotiated>,
}

/// A callback in progress.
#[derive(Debug)]
struct CallbackCall {
    /// The ACD entry (the id of the call that asked for the callback).
    entry: u64,
    offer: u64,
    agent: String,
    queue: String,
    waited: Duration,
    target: CallbackTarget,
    agent_leg: OutLeg,
    resident: Option<OutLeg>,
    relay: Option<MediaHandle>,
    /// The ACD took the agent's answer: the callback is connected as far as it knows.
    taken: bool,
}

/// Callbacks asked for and in progress.
#[derive(Debug, Default)]
pub(crate) struct Callbacks {
    /// Where each waiting callback entry is to be called.
    targets: HashMap<u64, CallbackTarget>,
    calls: HashMap<u64, CallbackCall>,
    by_tx: HashMap<TxId, u64>,
    by_dialog: HashMap<DialogId, u64>,
    by_offer: HashMap<u64, u64>,
}

/// Which leg of a callback a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Agent,
    Resident,
}

impl Core {
    /// The caller of call `id` pressed the callback key while waiting: it keeps its
    /// place, hears a confirmation and is hung up. False if the ACD refused.
    pub(crate) fn request_callback(&mut self, now: Instant, id: u64) -> bool {
        if !self.register_callback(now, id) {
            return false;
        }
        self.confirm_and_hang_up(id, "callback-confirm", Cause::CallbackRequested);
        true
    }

    /// Turns waiting caller `id` into a callback entry that keeps its place, to be
    /// called back at the Contact of its call. False if the ACD refused.
    pub(crate) fn register_callback(&mut self, now: Instant, id: u64) -> bool {
        let Some(c) = self.calls.get(&id) else {
            return false;
        };
        let Some(contact) = c.a_invite.contacts().into_iter().next() else {
            return false;
        };
        let number = c
            .a_invite
            .from()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_else(|| "anonymous".into());
        let target = CallbackTarget {
            peer: reach(&contact.uri, c.a_peer.addr, c.a_peer.transport),
            uri: contact.uri,
            number: number.clone(),
            dialled: c.answered.dialled().to_owned(),
        };
        if let Err(e) = self.acd.acd.request_callback(now, id, &number) {
            tracing::info!(call = id, error = %e, "callback refused");
            return false;
        }
        tracing::info!(call = id, "callback requested");
        self.callbacks.targets.insert(id, target);
        self.left_acd(now, id);
        true
    }

    /// The ACD offers callback entry `entry` to `agent`: ring the agent's phone.
    pub(crate) fn start_callback(
        &mut self,
        now: Instant,
        offer: u64,
        entry: u64,
        agent: &str,
        queue: &str,
        waited: Duration,
    ) {
        let target = self.callbacks.targets.get(&entry).cloned();
        let contact = self.contacts_of(now, agent).into_iter().next();
        let (Some(target), Some((uri, peer))) = (target, contact) else {
            // Nobody to call, or no phone for the agent: the ACD offers it again later.
            self.acd.defer_unreachable(now, offer);
            return;
        };
        let Some(socket) = self.ports.lease() else {
            self.acd.defer_unreachable(now, offer);
            return;
        };
        let id = self.alloc_call();
        let ip = self.settings.advertised_ip.to_string();
        let sdp = sdp::offer(&ip, socket.port(), id);
        let headers = [
            (
                HeaderName::from_wire("X-Lifeline-Callback"),
                target.number.clone(),
            ),
            (HeaderName::from_wire("X-Lifeline-Queue"), queue.to_owned()),
            (
                HeaderName::from_wire("X-Lifeline-Wait"),
                waited.as_secs().to_string(),
            ),
        ];
        let invite = Invite {
            from: &format!(
                "\"Callback\" <sip:{}@{ip}>;tag={}",
                target.number,
                self.ep.new_token()
            ),
            to: &format!("<sip:{agent}@{ip}>"),
            call_id: &format!("{}@lifeline", self.ep.new_token()),
            max_forwards: 70,
            sdp: &sdp.to_string(),
            headers: &headers,
        };
        let req = self.invite(uri, peer, &invite);
        let tx = self.ep.send_request(now, req, peer);
        tracing::info!(callback = id, %agent, offer, "callback: ringing the agent");
        self.callbacks.by_tx.insert(tx, id);
        self.callbacks.by_offer.insert(offer, id);
        self.callbacks.calls.insert(
            id,
            CallbackCall {
                entry,
                offer,
                agent: agent.to_owned(),
                queue: queue.to_owned(),
                waited,
                target,
                agent_leg: OutLeg {
                    tx,
                    peer,
                    sdp,
                    socket: Some(socket),
                    dialog: None,
                    media: None,
                },
                resident: None,
                relay: None,
                taken: false,
            },
        );
    }

    /// The ACD stopped the offer (ring timeout, the agent went on break): CANCEL it.
    /// False if `offer` is not a callback's.
    pub(crate) fn cancel_callback_offer(&mut self, now: Instant, offer: u64) -> bool {
        let Some(id) = self.callbacks.by_offer.remove(&offer) else {
            return false;
        };
        if let Some(cb) = self.callbacks.calls.get(&id)
            && cb.agent_leg.dialog.is_none()
        {
            self.ep.cancel(now, cb.agent_leg.tx);
        }
        true
    }

    fn side_of_tx(&self, tx: TxId) -> Option<(u64, Side)> {
        let id = *self.callbacks.by_tx.get(&tx)?;
        let cb = self.callbacks.calls.get(&id)?;
        let side = if cb.agent_leg.tx == tx {
            Side::Agent
        } else {
            Side::Resident
        };
        Some((id, side))
    }

    /// A response to a callback's INVITE; false if `tx` is not a callback's.
    pub(crate) fn on_callback_response(&mut self, now: Instant, tx: TxId, resp: &Response) -> bool {
        let Some((id, side)) = self.side_of_tx(tx) else {
            return false;
        };
        match resp.status {
            100..=199 => {}
            200..=299 => self.on_callback_answered(now, id, side, tx, resp),
            status => self.on_callback_failed(now, id, side, status),
        }
        true
    }

    /// A callback's INVITE got no answer at all; false if `tx` is not a callback's.
    pub(crate) fn on_callback_timeout(&mut self, now: Instant, tx: TxId) -> bool {
        let Some((id, side)) = self.side_of_tx(tx) else {
            return false;
        };
        self.on_callback_failed(now, id, side, 408);
        true
    }

    fn on_callback_answered(
        &mut self,
        now: Instant,
        id: u64,
        side: Side,
        tx: TxId,
        resp: &Response,
    ) {
        let Some(sent) = self.ep.client_request(tx).cloned() else {
            return;
        };
        let Some(cb) = self.callbacks.calls.get_mut(&id) else {
            return;
        };
        let leg = match side {
            Side::Agent => &mut cb.agent_leg,
            Side::Resident => match cb.resident.as_mut() {
                Some(l) => l,
                None => return,
            },
        };
        let seq = sent.cseq().map_or(1, |s| s.seq);
        if let Some(d) = &leg.dialog {
            // A retransmitted 2xx: our ACK was lost.
            self.ep.send_stateless(d.ack(seq), leg.peer);
            return;
        }
        let Some(dialog) = Dialog::uac(&sent, resp) else {
            return;
        };
        self.ep.send_stateless(dialog.ack(seq), leg.peer);
        self.callbacks.by_dialog.insert(dialog.id.clone(), id);
        leg.media = sdp::parse(&resp.body)
            .ok()
            .and_then(|a| sdp::negotiated_from_answer(&leg.sdp, &a).ok());
        leg.dialog = Some(dialog);
        let usable = leg.media.is_some();
        match side {
            Side::Agent => {
                let offer = cb.offer;
                self.callbacks.by_offer.remove(&offer);
                let taken = usable && self.acd.acd.offer_answered(now, offer).is_ok();
                cb.taken = taken;
                if !taken {
                    if usable {
                        tracing::info!(callback = id, "agent answered a callback too late");
                    } else {
                        self.acd
                            .acd
                            .offer_failed(now, offer, OfferFailure::Rejected);
                    }
                    self.end_callback(now, id, None, CallResult::Failed, "agent answer unusable");
                } else {
                    self.call_resident(now, id);
                }
                self.pump_acd(now);
            }
            Side::Resident if usable => self.connect_callback(id),
            Side::Resident => self.end_callback(
                now,
                id,
                Some(EndedBy::Caller),
                CallResult::Failed,
                "resident answer unusable",
            ),
        }
    }

    /// The agent took the callback: call the resident with the agent's codec.
    fn call_resident(&mut self, now: Instant, id: u64) {
        let Some(socket) = self.ports.lease() else {
            return self.end_callback(
                now,
                id,
                Some(EndedBy::Agent),
                CallResult::Failed,
                "no rtp port",
            );
        };
        let ip = self.settings.advertised_ip.to_string();
        let Some(cb) = self.callbacks.calls.get(&id) else {
            return;
        };
        let mut sdp = sdp::offer(&ip, socket.port(), id);
        if let Some(m) = &cb.agent_leg.media {
            sdp::restrict_to(&mut sdp, m.codec, m.dtmf_pt.is_some());
        }
        let target = cb.target.clone();
        let invite = Invite {
            from: &format!("<sip:{}@{ip}>;tag={}", target.dialled, self.ep.new_token()),
            to: &format!("<{}>", target.uri),
            call_id: &format!("{}@lifeline", self.ep.new_token()),
            max_forwards: 70,
            sdp: &sdp.to_string(),
            headers: &[],
        };
        let req = self.invite(target.uri.clone(), target.peer, &invite);
        self.records.start(id, &req, &target.number);
        let tx = self.ep.send_request(now, req, target.peer);
        tracing::info!(callback = id, "callback: calling the resident");
        self.callbacks.by_tx.insert(tx, id);
        if let Some(cb) = self.callbacks.calls.get_mut(&id) {
            cb.resident = Some(OutLeg {
                tx,
                peer: target.peer,
                sdp,
                socket: Some(socket),
                dialog: None,
                media: None,
            });
        }
    }

    /// Both sides answered: relay RTP between them.
    fn connect_callback(&mut self, id: u64) {
        let timeout = self.settings.rtp_timeout;
        let events = self.media_events.clone();
        let Some(cb) = self.callbacks.calls.get_mut(&id) else {
            return;
        };
        let Some(res) = cb.resident.as_mut() else {
            return;
        };
        let (Some(a), Some(r)) = (cb.agent_leg.media.as_ref(), res.media.as_ref()) else {
            return;
        };
        let (a_remote, r_remote) = (a.remote_addr, r.remote_addr);
        if let (Some(sa), Some(sr)) = (cb.agent_leg.socket.take(), res.socket.take()) {
            cb.relay = Some(start_relay(id, sa, a_remote, sr, r_remote, timeout, events));
        }
        self.records.answer(id);
        tracing::info!(callback = id, "callback connected");
    }

    fn on_callback_failed(&mut self, now: Instant, id: u64, side: Side, status: u16) {
        let Some(cb) = self.callbacks.calls.get(&id) else {
            return;
        };
        match side {
            Side::Agent => {
                let offer = cb.offer;
                if self.callbacks.by_offer.remove(&offer).is_some() {
                    self.acd
                        .acd
                        .offer_failed(now, offer, crate::queueing::failure_of(status));
                }
                self.end_callback(now, id, None, CallResult::NoAnswer, "agent did not answer");
                self.pump_acd(now);
            }
            Side::Resident => {
                let result = match status {
                    486 | 600 | 603 => CallResult::Busy,
                    _ => CallResult::NoAnswer,
                };
                self.end_callback(
                    now,
                    id,
                    Some(EndedBy::Caller),
                    result,
                    "callback not answered",
                );
            }
        }
    }

    /// An in-dialog request on a callback leg; false if it is not a callback's.
    pub(crate) fn on_callback_request(&mut self, now: Instant, tx: TxId, req: &Request) -> bool {
        let Some(did) = DialogId::of_incoming(req) else {
            return false;
        };
        let Some(&id) = self.callbacks.by_dialog.get(&did) else {
            return false;
        };
        let from_agent = self
            .callbacks
            .calls
            .get(&id)
            .and_then(|cb| cb.agent_leg.dialog.as_ref())
            .is_some_and(|d| d.id == did);
        self.ep
            .respond(now, tx, Response::for_request(req, 200, None));
        if req.method == Method::Bye {
            // That side is gone: no BYE goes back to it.
            self.callbacks.by_dialog.remove(&did);
            if let Some(cb) = self.callbacks.calls.get_mut(&id) {
                let side = if from_agent {
                    Some(&mut cb.agent_leg)
                } else {
                    cb.resident.as_mut()
                };
                if let Some(leg) = side {
                    leg.dialog = None;
                }
            }
            let (by, cause) = if from_agent {
                (EndedBy::Agent, Cause::CalleeHungUp)
            } else {
                (EndedBy::Caller, Cause::CallerHungUp)
            };
            self.end_callback(now, id, Some(by), CallResult::Answered, cause.as_str());
        }
        true
    }

    /// Ends a callback from Lifeline's side (media timeout, shutdown); false if `id`
    /// is not a callback.
    pub(crate) fn hang_up_callback(&mut self, now: Instant, id: u64, cause: Cause) -> bool {
        if !self.callbacks.calls.contains_key(&id) {
            return false;
        }
        self.end_callback(
            now,
            id,
            Some(EndedBy::Agent),
            CallResult::Answered,
            cause.as_str(),
        );
        true
    }

    /// Whether ACD caller `id` waits as a callback entry.
    pub(crate) fn is_callback_entry(&self, id: u64) -> bool {
        self.callbacks.targets.contains_key(&id)
    }

    /// The ids of callbacks in progress.
    pub(crate) fn callback_ids(&self) -> Vec<u64> {
        self.callbacks.calls.keys().copied().collect()
    }

    /// Ends callback `id`: CANCEL or BYE whatever is still up (the side that hung up
    /// already has its 200), tell the ACD (`by` is who ended a connected callback),
    /// close the record.
    fn end_callback(
        &mut self,
        now: Instant,
        id: u64,
        by: Option<EndedBy>,
        result: CallResult,
        cause: &str,
    ) {
        let Some(mut cb) = self.callbacks.calls.remove(&id) else {
            return;
        };
        // A side that hung up has no dialog left (see `on_callback_request`); every
        // other answered side gets a BYE, a ringing one a CANCEL.
        for leg in [Some(&mut cb.agent_leg), cb.resident.as_mut()]
            .into_iter()
            .flatten()
        {
            self.callbacks.by_tx.remove(&leg.tx);
            match leg.dialog.as_mut() {
                Some(d) => {
                    self.callbacks.by_dialog.remove(&d.id);
                    let bye = d.request(Method::Bye);
                    self.ep.send_request(now, bye, leg.peer);
                }
                None => self.ep.cancel(now, leg.tx),
            }
        }
        self.callbacks.by_offer.remove(&cb.offer);
        if cb.taken && by.is_some() {
            self.acd
                .acd
                .call_ended(now, cb.entry, by.unwrap_or(EndedBy::Agent));
            self.callbacks.targets.remove(&cb.entry);
            self.pump_acd(now);
            self.forget_acd_call(cb.entry);
        }
        if cb.resident.is_some() {
            let extras = EndExtras {
                queued: Some(lifeline_store::Queued {
                    queue: cb.queue.clone(),
                    agent: Some(cb.agent.clone()),
                    wait_ms: i64::try_from(cb.waited.as_millis()).unwrap_or(i64::MAX),
                }),
                ..EndExtras::default()
            };
            self.records.end(id, result, cause, extras);
        }
        tracing::info!(callback = id, cause, "callback ended");
    }
}
