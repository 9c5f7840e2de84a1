//! The SIP core task: the one place that owns the transaction endpoint, the registrar,
//! the digest authenticator and every call, so none of them needs a lock.
//!
//! Transports push parsed messages in; API commands and media events arrive on their
//! own channels; one timer wakes the task for whichever deadline is nearest (the
//! endpoint's transaction timers, registration expiry, call ring timeouts). After each
//! input the endpoint's outputs are drained: transmissions go to the transports,
//! events go to [`Core::on_event`], which routes them to the registrar
//! (`registration.rs`) or to calls (`calls.rs`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_config::Config;
use lifeline_sip::auth::DigestAuthenticator;
use lifeline_sip::dialog::DialogId;
use lifeline_sip::endpoint::{Endpoint, Event, Output};
use lifeline_sip::registrar::Registrar;
use lifeline_sip::transaction::{Peer, TransportKind, TxId};
use lifeline_sip::uas::{UasPolicy, precheck};
use lifeline_sip::{HeaderName, Message, Method, Request, Response, SipMessage};
use tokio::sync::{mpsc, oneshot};

use crate::calls::{Call, CallTimer};
use crate::media::{MediaEvent, PortPool};
use crate::records::Records;
use crate::transport::{Bound, Inbound, Transports};

/// Requests from the API to the core.
#[derive(Debug)]
pub enum Command {
    /// Hang up the call whose caller leg has this SIP Call-ID.
    Hangup {
        /// The caller leg's Call-ID.
        call_id: String,
        /// True if a call was found and is being hung up.
        reply: oneshot::Sender<bool>,
    },
    /// Hang up every call (BYE sent, records closed) and stop the core.
    Shutdown,
    /// The answer to an IVR's self-service lookup.
    IvrQueryResult {
        /// The call.
        call: u64,
        /// The value found, if any.
        value: Option<String>,
    },
    /// Report live counters.
    Stats {
        /// The answer.
        reply: oneshot::Sender<CoreStats>,
    },
    /// Report every agent's status and state.
    Agents {
        /// The answer.
        reply: oneshot::Sender<Vec<lifeline_acd::AgentSnapshot>>,
    },
    /// Report every queue's live statistics.
    Queues {
        /// The answer.
        reply: oneshot::Sender<Vec<lifeline_acd::QueueSnapshot>>,
    },
    /// A browser agent's console connected (`tx` carries messages to it); the answer
    /// is the connection's id.
    AttachConsole {
        /// The agent's user id.
        agent: String,
        /// Messages to the console.
        tx: mpsc::UnboundedSender<crate::console::ToConsole>,
        /// The connection id.
        reply: oneshot::Sender<u64>,
    },
    /// A message from a console.
    Console {
        /// The agent.
        agent: String,
        /// The connection.
        conn: u64,
        /// The message.
        msg: crate::console::FromConsole,
    },
    /// A console went away.
    DetachConsole {
        /// The agent.
        agent: String,
        /// The connection.
        conn: u64,
    },
    /// Log an agent in or out, or put it on break.
    SetAgentStatus {
        /// The agent's user id.
        agent: String,
        /// The new status.
        status: lifeline_acd::Status,
        /// The agent as it is now, or why the change was refused.
        reply: oneshot::Sender<Result<lifeline_acd::AgentSnapshot, String>>,
    },
}

/// Live counters of the core.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CoreStats {
    /// Calls in progress.
    pub calls: usize,
    /// Registered contact bindings.
    pub registrations: usize,
    /// Server and client transactions alive.
    pub transactions: usize,
    /// Messages retransmitted by the transaction layer.
    pub retransmissions: u64,
    /// Free RTP ports.
    pub rtp_ports_free: usize,
}

/// Settings the core needs beyond the config file.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// The address put in Contact, Via and SDP.
    pub advertised_ip: IpAddr,
    /// Hang up a call whose media has been silent this long (`None`: never).
    pub rtp_timeout: Option<Duration>,
    /// How long a call to a user may ring.
    pub ring_timeout: Duration,
    /// SIP timer T1 (T2 and T4 keep their RFC values unless T1 exceeds them).
    pub t1: Duration,
    /// Where recordings and voice messages are written.
    pub data_dir: std::path::PathBuf,
}

pub(crate) struct Core {
    pub(crate) ep: Endpoint,
    pub(crate) transports: Transports,
    pub(crate) bound: Bound,
    pub(crate) config: Arc<Config>,
    pub(crate) settings: CoreSettings,
    pub(crate) auth: DigestAuthenticator,
    pub(crate) registrar: Registrar,
    pub(crate) policy: UasPolicy,
    pub(crate) ports: Arc<PortPool>,
    pub(crate) media_events: mpsc::UnboundedSender<MediaEvent>,
    pub(crate) records: Records,
    pub(crate) store: lifeline_store::Store,
    pub(crate) prompts: crate::prompts::Prompts,
    /// The core's own command channel, for answers from tasks it spawns.
    pub(crate) commands_tx: mpsc::Sender<Command>,
    pub(crate) calls: HashMap<u64, Call>,
    pub(crate) by_server_tx: HashMap<TxId, u64>,
    pub(crate) by_client_tx: HashMap<TxId, u64>,
    pub(crate) by_dialog: HashMap<DialogId, u64>,
    pub(crate) by_call_id: HashMap<String, u64>,
    pub(crate) call_timers: BinaryHeap<Reverse<(Instant, u64, CallTimer)>>,
    pub(crate) next_call: u64,
    pub(crate) acd: crate::queueing::AcdDriver,
    pub(crate) callbacks: crate::callback::Callbacks,
    /// Answers that came after their call ended, ACKed and hung up (kept for their
    /// retransmissions, a transaction lifetime).
    pub(crate) late_answers: HashMap<TxId, (lifeline_sip::dialog::Dialog, Instant)>,
    /// Browser agents' consoles and their calls.
    pub(crate) consoles: crate::console::Consoles,
    /// The shared WebRTC port, if WebRTC is enabled.
    pub(crate) webrtc: Option<crate::webrtc_port::WebRtcPort>,
    /// The call being ended while the ACD hears of it (its offers are cancelled
    /// because the caller left, not by a timeout).
    pub(crate) ending: Option<u64>,
}

/// Methods Lifeline acts on, as listed in `Allow`.
pub(crate) fn policy() -> UasPolicy {
    UasPolicy {
        allowed: vec![
            Method::Invite,
            Method::Ack,
            Method::Bye,
            Method::Cancel,
            Method::Options,
            Method::Register,
            Method::Info,
        ],
        supported: vec![],
        accepted_bodies: vec!["application/sdp".into()],
    }
}

impl Core {
    pub(crate) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut commands: mpsc::Receiver<Command>,
        mut media: mpsc::UnboundedReceiver<MediaEvent>,
    ) {
        loop {
            let deadline = self.next_deadline();
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                item = inbound.recv() => {
                    let Some(item) = item else { break };
                    let now = Instant::now();
                    self.on_inbound(now, item);
                    // Drain what is already queued before polling timers again.
                    for _ in 0..64 {
                        match inbound.try_recv() {
                            Ok(item) => self.on_inbound(now, item),
                            Err(_) => break,
                        }
                    }
                }
                cmd = commands.recv() => {
                    let Some(cmd) = cmd else { break };
                    if matches!(cmd, Command::Shutdown) {
                        let now = Instant::now();
                        let ids: Vec<u64> = self.calls.keys().copied().collect();
                        for id in ids {
                            self.hangup(now, id, crate::calls::Cause::Shutdown);
                        }
                        for id in self.callback_ids() {
                            self.hang_up_callback(now, id, crate::calls::Cause::Shutdown);
                        }
                        self.flush(now);
                        break;
                    }
                    self.on_command(Instant::now(), cmd);
                }
                Some(ev) = media.recv() => self.on_media(Instant::now(), ev),
                () = sleep => self.on_timers(Instant::now()),
            }
            self.flush(Instant::now());
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let call = self.call_timers.peek().map(|Reverse((t, ..))| *t);
        let acd = self.acd.poll_timeout();
        [
            self.ep.poll_timeout(),
            call,
            self.registrar.next_expiry(),
            acd,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timers(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.registrar.expire(now);
        while let Some(Reverse((at, call, timer))) = self.call_timers.peek().copied() {
            if at > now {
                break;
            }
            self.call_timers.pop();
            self.on_call_timer(now, call, timer);
        }
        if self.acd.poll_timeout().is_some_and(|t| t <= now) {
            self.on_acd_timers(now);
        }
    }

    /// Drains the endpoint: sends what it wants sent, handles its events.
    pub(crate) fn flush(&mut self, now: Instant) {
        while let Some(out) = self.ep.poll_output() {
            match out {
                Output::Transmit { peer, bytes } => self.transports.send(peer, bytes),
                Output::Event(ev) => self.on_event(now, *ev),
            }
        }
    }

    fn on_inbound(&mut self, now: Instant, item: Inbound) {
        match item {
            Inbound::Message {
                msg: Message::Request(req),
                peer,
            } => self.ep.handle_request(now, req, peer),
            Inbound::Message {
                msg: Message::Response(resp),
                ..
            } => self.ep.handle_response(now, resp),
            Inbound::Malformed { err, peer } => {
                tracing::debug!(code = err.code, reason = %err.reason, peer = %peer.addr, "rejecting malformed message");
                // The source address, not the Via: the Via may be what was broken.
                if let Some(resp) = err.response() {
                    self.ep.send_response_stateless(&resp, peer);
                }
            }
        }
        self.flush(now);
    }

    fn on_event(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Request { tx, request, peer } => self.on_request(now, tx, request, peer),
            Event::Ack {
                invite_tx,
                request,
                peer,
            } => self.on_ack(now, invite_tx, request, peer),
            Event::Cancelled { invite_tx } => self.on_cancelled(now, invite_tx),
            Event::Response { tx, response } => self.on_response(now, tx, response),
            Event::StrayResponse { response } => self.on_stray_response(now, response),
            Event::Timeout { tx } => self.on_client_timeout(now, tx),
            Event::AckTimeout { tx } => self.on_ack_timeout(now, tx),
        }
    }

    fn on_request(&mut self, now: Instant, tx: TxId, req: Request, peer: Peer) {
        if let Some(resp) = precheck(&req, &self.policy) {
            self.ep.respond(now, tx, resp);
            return;
        }
        let in_dialog = req.to().is_some_and(|t| t.tag().is_some());
        match req.method {
            Method::Register => self.on_register(now, tx, &req, peer),
            Method::Options if !in_dialog => {
                let resp = self.options_response(&req);
                self.ep.respond(now, tx, resp);
            }
            Method::Invite if !in_dialog => self.on_invite(now, tx, req, peer),
            _ if in_dialog => self.on_in_dialog(now, tx, req, peer),
            _ => self
                .ep
                .respond(now, tx, Response::for_request(&req, 481, None)),
        }
    }

    fn options_response(&self, req: &Request) -> Response {
        let mut resp = Response::for_request(req, 200, None);
        resp.set_to_tag("options");
        resp.headers
            .push(HeaderName::ALLOW, self.policy.allow_header());
        resp.headers.push(HeaderName::ACCEPT, "application/sdp");
        resp.headers
            .push(HeaderName::SERVER, self.config.sip().user_agent.clone());
        resp
    }

    fn on_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Hangup { call_id, reply } => {
                let found = self.by_call_id.get(&call_id).copied();
                if let Some(call) = found {
                    self.hangup(now, call, crate::calls::Cause::HungUpByLifeline);
                }
                let _ = reply.send(found.is_some());
            }
            Command::Shutdown => {}
            Command::IvrQueryResult { call, value } => self.on_query_result(now, call, value),
            Command::Stats { reply } => {
                let (s, c) = self.ep.transaction_count();
                let _ = reply.send(CoreStats {
                    calls: self.calls.len(),
                    registrations: self.registrar.binding_count(),
                    transactions: s + c,
                    retransmissions: self.ep.stats().retransmissions,
                    rtp_ports_free: self.ports.available(),
                });
            }
            Command::AttachConsole { agent, tx, reply } => {
                let id = self.attach_console(now, &agent, tx);
                let _ = reply.send(id);
            }
            Command::Console { agent, conn, msg } => self.on_console(now, &agent, conn, msg),
            Command::DetachConsole { agent, conn } => self.detach_console(&agent, conn),
            Command::Agents { reply } => {
                let _ = reply.send(self.acd.agents(now));
            }
            Command::Queues { reply } => {
                let _ = reply.send(self.acd.queues(now));
            }
            Command::SetAgentStatus {
                agent,
                status,
                reply,
            } => {
                let result = self
                    .set_agent_status(now, &agent, status)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        self.acd
                            .agents(now)
                            .into_iter()
                            .find(|a| a.id == agent)
                            .ok_or_else(|| format!("unknown agent {agent:?}"))
                    });
                let _ = reply.send(result);
            }
        }
    }

    fn on_media(&mut self, now: Instant, ev: MediaEvent) {
        match ev {
            MediaEvent::Inactive { call } => {
                if !self.hang_up_callback(now, call, crate::calls::Cause::MediaTimeout) {
                    self.hangup(now, call, crate::calls::Cause::MediaTimeout);
                }
            }
            MediaEvent::Digit { call, digit } => self.on_digit(now, call, digit),
            MediaEvent::LegConnected { call } => self.on_browser_connected(call),
            MediaEvent::PlaybackDone { call, token } => self.on_playback_done(now, call, token),
            MediaEvent::VoicemailDone {
                call,
                file,
                duration_ms,
            } => self.on_voicemail_done(now, call, file, duration_ms),
        }
    }

    /// Our Contact for a leg on `transport`.
    pub(crate) fn contact(&self, transport: TransportKind) -> String {
        let port = self.bound.udp.port();
        let ip = self.settings.advertised_ip;
        let host = if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        match transport {
            TransportKind::Udp => format!("<sip:lifeline@{host}:{port}>"),
            TransportKind::Tcp => format!("<sip:lifeline@{host}:{port};transport=tcp>"),
        }
    }
}
