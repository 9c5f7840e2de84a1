//! Browser agents: the core's side of the agent console protocol (`docs/softphone.md`).
//!
//! An agent whose console is attached is offered calls in the browser instead of on
//! its SIP phones: the offer goes to the console as `incoming`; the console's `accept`
//! carries its WebRTC offer, which a [`WebRtcLeg`] answers; the leg is handed to the
//! caller's media task, which relays audio between the browser and the caller's RTP.
//! To the ACD it is the same offer either way: answered, declined (not answered), or
//! timed out by the ACD's ring timeout.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lifeline_acd::{AgentSnapshot, OfferFailure, Status};
use lifeline_media::webrtc::{WebRtcConfig, WebRtcLeg};
use lifeline_sip::SipMessage;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::calls::Cause;
use crate::core::Core;
use crate::session::MediaCmd;

/// A message from Lifeline to a console.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToConsole {
    /// On connect: the agent as it is.
    Welcome {
        /// The agent.
        agent: Option<AgentSnapshot>,
        /// ICE servers for the browser (none: Lifeline is ICE-lite).
        ice_servers: Vec<String>,
    },
    /// The agent's status or state changed.
    Agent {
        /// The agent.
        agent: AgentSnapshot,
    },
    /// A call is offered: ring.
    Incoming {
        /// The offer to accept or decline.
        offer: u64,
        /// The caller's number.
        caller: String,
        /// The queue.
        queue: String,
        /// How long the caller has waited.
        waited_secs: u64,
        /// The caller's path through the IVR.
        ivr_path: Option<serde_json::Value>,
        /// The caller leg's SIP Call-ID.
        call_id: String,
    },
    /// Stop ringing.
    Cancelled {
        /// The offer.
        offer: u64,
        /// `timeout`, `caller_left` or `taken`.
        reason: &'static str,
    },
    /// Lifeline's SDP answer.
    Answer {
        /// The offer.
        offer: u64,
        /// The SDP.
        sdp: String,
    },
    /// Media is up.
    Connected {
        /// The offer.
        offer: u64,
    },
    /// The call is over.
    Ended {
        /// The offer.
        offer: u64,
        /// As in call records.
        cause: String,
    },
    /// A request could not be carried out.
    Error {
        /// What went wrong.
        message: String,
        /// The offer it concerns.
        #[serde(skip_serializing_if = "Option::is_none")]
        offer: Option<u64>,
    },
    /// Another console took over this agent.
    Replaced,
    /// The answer to `ping`.
    Pong,
}

/// A message from a console to Lifeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromConsole {
    /// Change the agent's status.
    Status {
        /// `available`, `break` or `logged_out`.
        status: String,
        /// Why, for a break.
        reason: Option<String>,
    },
    /// Answer an offer with the browser's WebRTC offer.
    Accept {
        /// The offer.
        offer: u64,
        /// The browser's SDP offer.
        sdp: String,
    },
    /// Refuse an offer.
    Decline {
        /// The offer.
        offer: u64,
    },
    /// End the current call.
    Hangup,
    /// Put the caller on hold (music) or take them off.
    Hold {
        /// On or off.
        on: bool,
    },
    /// Blind transfer of the current caller.
    Transfer {
        /// A user id or a configured number.
        to: String,
    },
    /// Keep-alive.
    Ping,
}

/// An agent status from its API words: `available`, `break` (with a reason, `"break"`
/// when none) or `logged_out`.
pub fn parse_status(status: &str, reason: Option<String>) -> Result<Status, String> {
    match status {
        "available" => Ok(Status::Available),
        "logged_out" => Ok(Status::LoggedOut),
        "break" => Ok(Status::Break {
            reason: reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "break".into()),
        }),
        other => Err(format!(
            "status must be \"available\", \"break\" or \"logged_out\", got {other:?}"
        )),
    }
}

#[derive(Debug)]
struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<ToConsole>,
}

/// Offer ids of calls transferred to a browser agent (not ACD offers, which count up
/// from 1) start here: far above any ACD offer, and well within the integers a
/// browser's JSON keeps exactly (2^53).
const DIRECT_OFFERS: u64 = 1 << 40;

/// Attached consoles and their calls.
#[derive(Debug, Default)]
pub(crate) struct Consoles {
    by_agent: HashMap<String, Conn>,
    next_conn: u64,
    next_direct: u64,
    /// Offers ringing in a browser: the caller's call and the agent.
    offers: HashMap<u64, (u64, String)>,
    /// Calls answered in a browser: the agent and the offer.
    calls: HashMap<u64, (String, u64)>,
}

impl Consoles {
    fn send(&self, agent: &str, msg: ToConsole) {
        if let Some(c) = self.by_agent.get(agent) {
            let _ = c.tx.send(msg);
        }
    }

    /// Whether `agent` takes calls in the browser.
    pub(crate) fn attached(&self, agent: &str) -> bool {
        self.by_agent.contains_key(agent)
    }

    /// Whether `offer` rings in a browser; it no longer does afterwards.
    pub(crate) fn take_offer(&mut self, offer: u64) -> Option<(u64, String)> {
        self.offers.remove(&offer)
    }

    /// Whether a transfer rings a browser for `call`.
    pub(crate) fn rings_direct(&self, call: u64) -> bool {
        self.offers
            .iter()
            .any(|(o, (c, _))| *o >= DIRECT_OFFERS && *c == call)
    }
}

impl Core {
    fn agent_snapshot(&self, now: Instant, agent: &str) -> Option<AgentSnapshot> {
        self.acd.agents(now).into_iter().find(|a| a.id == agent)
    }

    /// A console for `agent` connected; it replaces any earlier one.
    pub(crate) fn attach_console(
        &mut self,
        now: Instant,
        agent: &str,
        tx: mpsc::UnboundedSender<ToConsole>,
    ) -> u64 {
        self.consoles.next_conn += 1;
        let id = self.consoles.next_conn;
        let welcome = ToConsole::Welcome {
            agent: self.agent_snapshot(now, agent),
            ice_servers: Vec::new(),
        };
        let _ = tx.send(welcome);
        if let Some(old) = self
            .consoles
            .by_agent
            .insert(agent.to_owned(), Conn { id, tx })
        {
            let _ = old.tx.send(ToConsole::Replaced);
        }
        tracing::info!(%agent, conn = id, "console attached");
        id
    }

    /// Console `conn` of `agent` went away. Calls in progress go on; offers ringing
    /// there time out as unanswered.
    pub(crate) fn detach_console(&mut self, agent: &str, conn: u64) {
        if self
            .consoles
            .by_agent
            .get(agent)
            .is_some_and(|c| c.id == conn)
        {
            self.consoles.by_agent.remove(agent);
            tracing::info!(%agent, conn, "console detached");
        }
    }

    /// Tells `agent`'s console how it is now.
    pub(crate) fn push_agent(&self, now: Instant, agent: &str) {
        if self.consoles.attached(agent)
            && let Some(snapshot) = self.agent_snapshot(now, agent)
        {
            self.consoles
                .send(agent, ToConsole::Agent { agent: snapshot });
        }
    }

    /// Offers `call` to `agent`'s console.
    pub(crate) fn offer_to_browser(
        &mut self,
        offer: u64,
        call: u64,
        agent: &str,
        queue: &str,
        waited: Duration,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let caller = c
            .a_invite
            .from()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_else(|| "anonymous".into());
        let msg = ToConsole::Incoming {
            offer,
            caller,
            queue: queue.to_owned(),
            waited_secs: waited.as_secs(),
            ivr_path: c.answered.ivr_path(),
            call_id: c.a_invite.call_id().unwrap_or("").to_owned(),
        };
        tracing::info!(call, %agent, offer, "offering call in the browser");
        self.consoles.offers.insert(offer, (call, agent.to_owned()));
        self.consoles.send(agent, msg);
    }

    /// Rings `agent`'s console for `call`, transferred to it (not through the ACD).
    pub(crate) fn ring_browser_direct(&mut self, now: Instant, call: u64, agent: &str) {
        self.consoles.next_direct += 1;
        let offer = DIRECT_OFFERS + self.consoles.next_direct;
        let queue = self
            .calls
            .get(&call)
            .and_then(|c| c.answered.queued.as_ref())
            .map(|v| v.queue.clone())
            .unwrap_or_default();
        self.offer_to_browser(offer, call, agent, &queue, Duration::ZERO);
        let at = now + self.settings.ring_timeout;
        self.call_timers.push(std::cmp::Reverse((
            at,
            call,
            crate::calls::CallTimer::RingTimeout,
        )));
    }

    /// Stops transfers ringing a browser for `call` (the call ended or rang out).
    pub(crate) fn cancel_direct_offers(&mut self, call: u64, reason: &'static str) {
        let offers: Vec<u64> = self
            .consoles
            .offers
            .iter()
            .filter(|(o, (c, _))| **o >= DIRECT_OFFERS && *c == call)
            .map(|(o, _)| *o)
            .collect();
        for offer in offers {
            if let Some((_, agent)) = self.consoles.offers.remove(&offer) {
                self.consoles
                    .send(&agent, ToConsole::Cancelled { offer, reason });
            }
        }
    }

    /// The ACD stopped an offer ringing in a browser.
    pub(crate) fn cancel_browser_offer(&mut self, offer: u64) -> bool {
        let Some((call, agent)) = self.consoles.take_offer(offer) else {
            return false;
        };
        let reason = if self.ending == Some(call) || !self.calls.contains_key(&call) {
            "caller_left"
        } else {
            "timeout"
        };
        self.consoles
            .send(&agent, ToConsole::Cancelled { offer, reason });
        true
    }

    /// A message from `agent`'s console.
    pub(crate) fn on_console(&mut self, now: Instant, agent: &str, conn: u64, msg: FromConsole) {
        if self
            .consoles
            .by_agent
            .get(agent)
            .is_none_or(|c| c.id != conn)
        {
            return;
        }
        let error = |message: String, offer: Option<u64>| ToConsole::Error { message, offer };
        match msg {
            FromConsole::Ping => self.consoles.send(agent, ToConsole::Pong),
            FromConsole::Status { status, reason } => {
                let result = parse_status(&status, reason).and_then(|s| {
                    self.set_agent_status(now, agent, s)
                        .map_err(|e| e.to_string())
                });
                if let Err(message) = result {
                    self.consoles.send(agent, error(message, None));
                }
                self.push_agent(now, agent);
            }
            FromConsole::Accept { offer, sdp } => self.accept_in_browser(now, agent, offer, &sdp),
            FromConsole::Decline { offer } => match self.consoles.take_offer(offer) {
                Some((call, _)) if offer >= DIRECT_OFFERS => {
                    self.hangup(now, call, Cause::TransferFailed);
                }
                Some(_) => {
                    self.acd
                        .acd
                        .offer_failed(now, offer, OfferFailure::Rejected);
                    self.pump_acd(now);
                }
                None => {}
            },
            FromConsole::Hangup => match self.browser_call(agent) {
                Some(call) => {
                    if !self.survey_after_agent(now, call) {
                        self.hangup_except(now, call, Cause::CalleeHungUp, Some(false));
                    }
                }
                None => self
                    .consoles
                    .send(agent, error("no call to hang up".into(), None)),
            },
            FromConsole::Hold { on } => match self.browser_call(agent) {
                Some(call) if on => {
                    let moh = self
                        .calls
                        .get(&call)
                        .and_then(|c| c.answered.queued.as_ref())
                        .and_then(|v| v.moh.clone());
                    // Music for the caller; the agent no longer hears the caller.
                    self.media_cmd(call, MediaCmd::Hold(true));
                    self.hold(call, moh.as_deref());
                }
                Some(call) => {
                    self.media_cmd(call, MediaCmd::Hold(false));
                    self.media_cmd(call, MediaCmd::Stop);
                }
                None => self
                    .consoles
                    .send(agent, error("no call to hold".into(), None)),
            },
            FromConsole::Transfer { to } => match self.browser_call(agent) {
                Some(call) => self.transfer_from_agent(now, call, &to),
                None => self
                    .consoles
                    .send(agent, error("no call to transfer".into(), None)),
            },
        }
    }

    fn browser_call(&self, agent: &str) -> Option<u64> {
        self.consoles
            .calls
            .iter()
            .find(|(_, (a, _))| a == agent)
            .map(|(call, _)| *call)
    }

    /// The agent answered `offer` in the browser with `sdp`.
    fn accept_in_browser(&mut self, now: Instant, agent: &str, offer: u64, sdp: &str) {
        let Some((call, _)) = self
            .consoles
            .offers
            .get(&offer)
            .filter(|(_, a)| a == agent)
            .cloned()
        else {
            let message = "that call is no longer offered".to_owned();
            self.consoles.send(
                agent,
                ToConsole::Error {
                    message,
                    offer: Some(offer),
                },
            );
            return;
        };
        self.consoles.offers.remove(&offer);
        let Some(port) = self.webrtc.clone() else {
            return self.refuse_browser_answer(now, agent, offer, "WebRTC is not enabled".into());
        };
        let cfg = WebRtcConfig {
            candidate: std::net::SocketAddr::new(
                self.settings.advertised_ip,
                port.local_addr().port(),
            ),
            inactivity: self.settings.rtp_timeout,
        };
        let (leg, answer) = match WebRtcLeg::accept_offer(sdp, &cfg, now) {
            Ok(ok) => ok,
            Err(e) => return self.refuse_browser_answer(now, agent, offer, e.to_string()),
        };
        if offer >= DIRECT_OFFERS {
            // A transfer: the call's record now names this agent.
            if let Some(v) = self
                .calls
                .get_mut(&call)
                .and_then(|c| c.answered.queued.as_mut())
            {
                v.agent = Some(agent.to_owned());
            }
        } else if !self.offer_may_connect(now, call, offer) {
            let reason = "taken";
            self.consoles
                .send(agent, ToConsole::Cancelled { offer, reason });
            return;
        }
        let inbound = port.register(leg.local_ufrag());
        self.consoles.calls.insert(call, (agent.to_owned(), offer));
        self.media_cmd(
            call,
            MediaCmd::BridgeWebRtc {
                leg: Box::new(leg),
                inbound,
                socket: port.socket(),
            },
        );
        self.consoles
            .send(agent, ToConsole::Answer { offer, sdp: answer });
    }

    fn refuse_browser_answer(&mut self, now: Instant, agent: &str, offer: u64, message: String) {
        tracing::info!(%agent, offer, error = %message, "browser answer refused");
        self.consoles.send(
            agent,
            ToConsole::Error {
                message,
                offer: Some(offer),
            },
        );
        if offer < DIRECT_OFFERS {
            self.acd
                .acd
                .offer_failed(now, offer, OfferFailure::Rejected);
            self.pump_acd(now);
        }
    }

    /// The browser leg of `call` is up.
    pub(crate) fn on_browser_connected(&mut self, call: u64) {
        if let Some((agent, offer)) = self.consoles.calls.get(&call) {
            self.consoles
                .send(agent, ToConsole::Connected { offer: *offer });
        }
    }

    /// `call` ended or left its browser agent (transfer, survey): tell the console.
    pub(crate) fn end_browser_call(&mut self, call: u64, cause: &str) {
        if let Some((agent, offer)) = self.consoles.calls.remove(&call) {
            let cause = cause.to_owned();
            self.consoles
                .send(&agent, ToConsole::Ended { offer, cause });
        }
    }

    /// The agent hands the caller on (blind transfer): the ACD counts it, the browser
    /// leg goes, and the caller goes where `to` leads.
    fn transfer_from_agent(&mut self, now: Instant, call: u64, to: &str) {
        self.acd.acd.transferred(now, call);
        self.left_acd(now, call);
        self.media_cmd(call, MediaCmd::Unbridge);
        self.end_browser_call(call, "transferred");
        self.transfer(now, call, to);
    }
}
