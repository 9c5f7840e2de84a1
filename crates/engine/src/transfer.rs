//! Transfers out of the IVR, and what a call Lifeline answered does as the party it
//! rings (`bridge.rs` forks) rings, answers or fails.
//!
//! A transfer goes where the number leads: a configured number (IVR, queue) is entered
//! in place, keeping the call, its recording and its IVR path; a user's id rings every
//! registered phone of that user while the caller hears ringback, and the first to
//! answer is connected through the call's media session (recorded on the second
//! channel). A target that is neither, that is not registered, refuses or does not
//! answer within the ring timeout ends the call with that cause.

use std::time::Instant;

use lifeline_media::session::{PlayItem, ToneKind};
use lifeline_sip::sdp::Negotiated;

use crate::calls::{CallTimer, Cause};
use crate::core::Core;
use crate::session::MediaCmd;

impl Core {
    /// Transfers answered call `id` to `number`.
    pub(crate) fn transfer(&mut self, now: Instant, id: u64, number: &str) {
        if self.route_to(now, id, number) {
            tracing::info!(call = id, %number, "transferred to a configured number");
            return;
        }
        if self.consoles.attached(number) {
            tracing::info!(call = id, user = %number, "transferring to a browser agent");
            return self.ring_browser_direct(now, id, number);
        }
        if self.config.find_user(number).is_none() {
            tracing::warn!(call = id, %number, "transfer target is neither a number nor a user");
            return self.hangup(now, id, Cause::TransferFailed);
        }
        let contacts = self.contacts_of(now, number);
        if contacts.is_empty() {
            tracing::info!(call = id, user = %number, "transfer target not registered");
            return self.hangup(now, id, Cause::TransferFailed);
        }
        if !self.fork_to(now, id, number, contacts, None, &[]) {
            tracing::warn!(call = id, "no RTP port for the transfer leg");
            return self.hangup(now, id, Cause::TransferFailed);
        }
        tracing::info!(call = id, user = %number, "transferring");
        let at = now + self.settings.ring_timeout;
        self.call_timers
            .push(std::cmp::Reverse((at, id, CallTimer::RingTimeout)));
    }

    /// A fork of the call's leg rings.
    pub(crate) fn on_leg_ringing(&mut self, id: u64, offer: Option<u64>) {
        if offer.is_none() {
            self.play(id, vec![PlayItem::Tone(ToneKind::Ringback)]);
        }
    }

    /// Whether a fork that answered may be connected to the caller: always for a
    /// transfer; for an agent, if the ACD still holds the offer.
    pub(crate) fn leg_may_connect(&mut self, now: Instant, id: u64, offer: Option<u64>) -> bool {
        match offer {
            Some(offer) => self.offer_may_connect(now, id, offer),
            None => true,
        }
    }

    /// Connects the caller to the fork that answered: its RTP goes through the call's
    /// media session from now on.
    pub(crate) fn connect_leg(
        &mut self,
        _now: Instant,
        id: u64,
        offer: Option<u64>,
        negotiated: &Negotiated,
    ) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(sock) = c.leg.as_deref_mut().and_then(|b| b.b_socket.take()) else {
            return;
        };
        let config =
            crate::calls::session_config(negotiated, self.settings.rtp_timeout, false, false);
        tracing::info!(call = id, ?offer, "connected");
        self.media_cmd(id, MediaCmd::Bridge { sock, config });
    }

    /// A fork of the call's leg ended without connecting; `settled` is the best
    /// final response once no fork of the same offer (or of the transfer) rings.
    pub(crate) fn on_leg_fork_failed(
        &mut self,
        now: Instant,
        id: u64,
        offer: Option<u64>,
        settled: Option<u16>,
    ) {
        let Some(best) = settled else { return };
        match offer {
            Some(offer) => self.offer_failed(now, offer, best),
            None => {
                tracing::info!(call = id, best, "transfer failed");
                self.hangup(now, id, Cause::TransferFailed);
            }
        }
    }
}
