//! The Lifeline runtime: the only crate (with `lifeline-web`) that owns sockets, tasks
//! and the clock.
//!
//! [`Engine::start`] binds the SIP transports, starts the core task that owns every
//! SIP transaction, registration and call, and the writer of call records. The pure
//! protocol logic lives in `lifeline-sip` and `lifeline-media`; this crate feeds it
//! bytes and time.

mod answered;
mod bridge;
mod bridged;
mod callback;
mod calls;
mod console;
mod core;
pub mod ivr;
mod leaving;
pub mod media;
mod prompts;
mod queueing;
pub mod records;
mod registration;
pub mod session;
mod survey;
mod transfer;
pub mod transport;
mod webrtc_port;

pub use console::{FromConsole, ToConsole, parse_status};
pub use lifeline_acd::{AgentSnapshot, QueueSnapshot, Status};
pub use queueing::LiveEvent;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use lifeline_config::{Config, DigestAlgorithm};
use lifeline_sip::auth::{Algorithm, DigestAuthenticator};
use lifeline_sip::endpoint::{Endpoint, EndpointConfig};
use lifeline_sip::registrar::Registrar;
use lifeline_sip::transaction::Timers;
use lifeline_store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use crate::calls::Cause;
pub use crate::core::{Command, CoreSettings, CoreStats};
pub use crate::transport::Bound;

/// Errors starting the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SIP sockets could not be bound.
    #[error(transparent)]
    Bind(#[from] transport::BindError),
    /// A self-service table could not be read or stored.
    #[error("self-service table {table}: {message}")]
    Table {
        /// The table.
        table: String,
        /// What went wrong.
        message: String,
    },
    /// The WebRTC port could not be bound.
    #[error("binding the WebRTC port {addr}: {source}")]
    WebRtcBind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Loads every self-service table of the config into the database (replacing what the
/// last start loaded), so IVR lookups read current data.
async fn load_tables(config: &Config, store: &Store) -> Result<(), EngineError> {
    for table in config.tables() {
        let err = |message: String| EngineError::Table {
            table: table.name.clone(),
            message,
        };
        let rows = table.read_rows().map_err(|d| err(d.to_string()))?;
        store
            .replace_table(&table.name, &rows)
            .await
            .map_err(|e| err(e.to_string()))?;
        tracing::info!(table = %table.name, rows = rows.len(), "self-service table loaded");
    }
    Ok(())
}

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Where SIP listens (UDP and TCP).
    pub sip_listen: SocketAddr,
    /// The RTP port range (even low port, inclusive).
    pub rtp_ports: (u16, u16),
    /// The shared WebRTC UDP port for browser agents (`None`: no browser agents).
    pub webrtc_listen: Option<SocketAddr>,
    /// Runtime settings.
    pub settings: CoreSettings,
}

/// A running engine.
#[derive(Debug)]
pub struct Engine {
    bound: Bound,
    webrtc: Option<SocketAddr>,
    commands: mpsc::Sender<Command>,
    live: LiveFeed,
    core: JoinHandle<()>,
    records: JoinHandle<()>,
}

/// The address to advertise when listening on a wildcard address: the interface the
/// default route uses, or loopback on a machine without one.
pub fn default_advertised_ip(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    // Connecting a UDP socket sends nothing; it only asks the kernel for a route.
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

impl Engine {
    /// Binds SIP and starts the core and the record writer.
    pub async fn start(opts: EngineOptions, store: Store) -> Result<Engine, EngineError> {
        let (inbound_tx, inbound_rx) = mpsc::channel(8192);
        let (transports, bound) = transport::bind(opts.sip_listen, inbound_tx).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (live, _) = tokio::sync::broadcast::channel(LIVE_BACKLOG);
        let webrtc = match opts.webrtc_listen {
            Some(addr) => Some(
                webrtc_port::WebRtcPort::bind(addr)
                    .await
                    .map_err(|source| EngineError::WebRtcBind { addr, source })?,
            ),
            None => None,
        };
        let webrtc_addr = webrtc.as_ref().map(webrtc_port::WebRtcPort::local_addr);
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        load_tables(&opts.config, &store).await?;
        let prompts = prompts::Prompts::load(&opts.config);
        let (records, records_task) = records::Records::spawn(store.clone());
        let sip = opts.config.sip();
        let ip = opts.settings.advertised_ip;
        let host = if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        let secret: [u8; 32] = rand::random();
        let core = core::Core {
            ep: Endpoint::new(EndpointConfig {
                timers: Timers {
                    t1: opts.settings.t1,
                    ..Timers::default()
                },
                sent_by: format!("{host}:{}", bound.udp.port()),
                id_prefix: format!("{:08x}", rand::random::<u32>()),
            }),
            transports,
            bound,
            auth: DigestAuthenticator::new(&sip.realm, secret, u64::from(sip.nonce_ttl_secs))
                .with_algorithms(
                    &sip.digest_algorithms
                        .iter()
                        .map(|a| match a {
                            DigestAlgorithm::Md5 => Algorithm::Md5,
                            DigestAlgorithm::Sha256 => Algorithm::Sha256,
                        })
                        .collect::<Vec<_>>(),
                ),
            registrar: Registrar::new(
                sip.register_min_expires,
                sip.register_max_expires,
                sip.register_default_expires,
            ),
            policy: core::policy(),
            ports: media::PortPool::new(opts.sip_listen.ip(), opts.rtp_ports.0, opts.rtp_ports.1),
            media_events: media_tx,
            records,
            store,
            prompts,
            commands_tx: cmd_tx.clone(),
            acd: queueing::AcdDriver::new(&opts.config, std::time::Instant::now(), live.clone()),
            callbacks: callback::Callbacks::default(),
            late_answers: HashMap::new(),
            consoles: console::Consoles::default(),
            webrtc,
            ending: None,
            calls: HashMap::new(),
            by_server_tx: HashMap::new(),
            by_client_tx: HashMap::new(),
            by_dialog: HashMap::new(),
            by_call_id: HashMap::new(),
            call_timers: BinaryHeap::new(),
            next_call: 0,
            settings: opts.settings,
            config: opts.config,
        };
        let core = tokio::spawn(core.run(inbound_rx, cmd_rx, media_rx));
        Ok(Engine {
            bound,
            webrtc: webrtc_addr,
            commands: cmd_tx,
            live,
            core,
            records: records_task,
        })
    }

    /// The bound SIP addresses.
    pub fn bound(&self) -> Bound {
        self.bound
    }

    /// The shared WebRTC port, when browser agents are enabled.
    pub fn webrtc_addr(&self) -> Option<SocketAddr> {
        self.webrtc
    }

    /// A handle for sending commands (the web API keeps one).
    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            commands: self.commands.clone(),
            live: self.live.clone(),
        }
    }

    /// True while the core task runs.
    pub fn is_running(&self) -> bool {
        !self.core.is_finished()
    }

    /// Hangs up every call, stops the core and waits until every call record is
    /// written.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown).await;
        drop(self.commands);
        let _ = self.core.await;
        let _ = self.records.await;
    }
}

/// A cloneable handle to the running core.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    live: LiveFeed,
}

/// The sending side of the live feed.
type LiveFeed = tokio::sync::broadcast::Sender<Arc<LiveEvent>>;

/// Updates a live view can fall behind by before it is told to catch up.
const LIVE_BACKLOG: usize = 1024;

impl EngineHandle {
    /// Hangs up the call whose caller leg has SIP Call-ID `call_id`; false if no such
    /// call is in progress.
    pub async fn hangup(&self, call_id: &str) -> bool {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Hangup {
            call_id: call_id.to_owned(),
            reply,
        };
        self.commands.send(cmd).await.is_ok() && rx.await.unwrap_or(false)
    }

    /// Live counters, `None` if the core has stopped.
    pub async fn stats(&self) -> Option<CoreStats> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Every agent's status, state and queues; `None` if the core has stopped.
    pub async fn agents(&self) -> Option<Vec<AgentSnapshot>> {
        self.ask(|reply| Command::Agents { reply }).await
    }

    /// Every queue's live statistics; `None` if the core has stopped.
    pub async fn queues(&self) -> Option<Vec<QueueSnapshot>> {
        self.ask(|reply| Command::Queues { reply }).await
    }

    /// Sets an agent's status; the agent as it is now, or why the change was refused.
    /// `None` if the core has stopped.
    pub async fn set_agent_status(
        &self,
        agent: &str,
        status: Status,
    ) -> Option<Result<AgentSnapshot, String>> {
        let agent = agent.to_owned();
        self.ask(|reply| Command::SetAgentStatus {
            agent,
            status,
            reply,
        })
        .await
    }

    /// Attaches a browser agent's console: messages for it go to `tx`. The answer is
    /// the connection id to pass with its messages; `None` if the core has stopped.
    pub async fn attach_console(
        &self,
        agent: &str,
        tx: mpsc::UnboundedSender<ToConsole>,
    ) -> Option<u64> {
        let agent = agent.to_owned();
        self.ask(|reply| Command::AttachConsole { agent, tx, reply })
            .await
    }

    /// A message from console `conn` of `agent`.
    pub async fn console(&self, agent: &str, conn: u64, msg: FromConsole) {
        let agent = agent.to_owned();
        let _ = self
            .commands
            .send(Command::Console { agent, conn, msg })
            .await;
    }

    /// Console `conn` of `agent` closed.
    pub async fn detach_console(&self, agent: &str, conn: u64) {
        let agent = agent.to_owned();
        let _ = self
            .commands
            .send(Command::DetachConsole { agent, conn })
            .await;
    }

    /// Live ACD updates: snapshots after changes and each queue event. A receiver that
    /// falls more than a backlog behind gets `Lagged` and should ask for snapshots.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<LiveEvent>> {
        self.live.subscribe()
    }

    /// Sends the command `make` builds and waits for its answer.
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(make(reply)).await.ok()?;
        rx.await.ok()
    }
}
