//! The validated configuration.
//!
//! This module owns the typed model that the rest of Lifeline reads: [`Config`] with its
//! O(1) lookups by user id, dialled number, call-box id, queue, flow, schedule and table
//! name, and the plain data types and enums it holds (flows in `flow`, schedules in
//! `schedule`). Values here have passed every check in `validate`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use lifeline_acd::{AgentSettings, Member, QueueSettings};

use crate::PortRange;
use crate::flow::{Flow, Table};
use crate::schedule::Schedule;

/// A validated Lifeline configuration: the entry file and every file it includes.
///
/// Built only by [`load`](crate::load) and [`from_str`](crate::from_str). Lists keep
/// file order (the entry file first, then includes depth first, in listed order).
#[derive(Debug, Clone)]
pub struct Config {
    server: Server,
    sip: Sip,
    numbers: Vec<Number>,
    queues: Vec<Queue>,
    users: Vec<User>,
    callboxes: Vec<Callbox>,
    ivr: Ivr,
    files: Vec<PathBuf>,
    flow_index: HashMap<String, usize>,
    schedule_index: HashMap<String, usize>,
    table_index: HashMap<String, usize>,
    number_index: HashMap<String, usize>,
    queue_index: HashMap<String, usize>,
    user_index: HashMap<String, usize>,
    callbox_index: HashMap<String, usize>,
}

impl Config {
    /// Assembles a configuration whose ids validation has already found unique.
    #[allow(clippy::too_many_arguments)] // one call, in `validate`, naming each part
    pub(crate) fn new(
        server: Server,
        sip: Sip,
        numbers: Vec<Number>,
        queues: Vec<Queue>,
        users: Vec<User>,
        callboxes: Vec<Callbox>,
        ivr: Ivr,
        files: Vec<PathBuf>,
    ) -> Self {
        fn index<T>(items: &[T], key: impl Fn(&T) -> String) -> HashMap<String, usize> {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (key(item), i))
                .collect()
        }
        Self {
            number_index: index(&numbers, |n| number_key(&n.number).into_owned()),
            queue_index: index(&queues, |q| q.name.clone()),
            user_index: index(&users, |u| u.id.clone()),
            callbox_index: index(&callboxes, |c| c.id.clone()),
            flow_index: index(&ivr.flows, |f| f.name.clone()),
            schedule_index: index(&ivr.schedules, |s| s.name.clone()),
            table_index: index(&ivr.tables, |t| t.name.clone()),
            ivr,
            server,
            sip,
            numbers,
            queues,
            users,
            callboxes,
            files,
        }
    }

    /// The files read, entry file first, then includes depth first in listed order
    /// (paths joined as in error messages).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The `[server]` table.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The `[sip]` table.
    pub fn sip(&self) -> &Sip {
        &self.sip
    }

    /// Every `[[numbers]]` entry.
    pub fn numbers(&self) -> &[Number] {
        &self.numbers
    }

    /// Every `[[queues]]` entry.
    pub fn queues(&self) -> &[Queue] {
        &self.queues
    }

    /// Every `[[users]]` entry.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Every `[[callboxes]]` entry.
    pub fn callboxes(&self) -> &[Callbox] {
        &self.callboxes
    }

    /// The number entry for a dialled string (`"12345"`, `"urn:service:sos"`), O(1).
    ///
    /// Digits match exactly; a URN matches case-insensitively (RFC 5031 service URNs).
    pub fn find_number(&self, dialled: &str) -> Option<&Number> {
        let i = *self.number_index.get(number_key(dialled).as_ref())?;
        self.numbers.get(i)
    }

    /// The user with this id (the SIP user name), O(1).
    pub fn find_user(&self, id: &str) -> Option<&User> {
        self.user_index.get(id).and_then(|&i| self.users.get(i))
    }

    /// The call box with this id (its SIP user name), O(1).
    pub fn find_callbox(&self, id: &str) -> Option<&Callbox> {
        self.callbox_index
            .get(id)
            .and_then(|&i| self.callboxes.get(i))
    }

    /// The queue with this name, O(1).
    pub fn find_queue(&self, name: &str) -> Option<&Queue> {
        self.queue_index.get(name).and_then(|&i| self.queues.get(i))
    }

    /// Every `[[flows]]` entry (a flow with `nodes_from` holds its merged nodes).
    pub fn flows(&self) -> &[Arc<Flow>] {
        &self.ivr.flows
    }

    /// The IVR flow with this name, O(1); clone the `Arc` to run it.
    pub fn find_flow(&self, name: &str) -> Option<&Arc<Flow>> {
        self.flow_index
            .get(name)
            .and_then(|&i| self.ivr.flows.get(i))
    }

    /// Every `[[schedules]]` entry.
    pub fn schedules(&self) -> &[Arc<Schedule>] {
        &self.ivr.schedules
    }

    /// The schedule with this name, O(1).
    pub fn find_schedule(&self, name: &str) -> Option<&Arc<Schedule>> {
        self.schedule_index
            .get(name)
            .and_then(|&i| self.ivr.schedules.get(i))
    }

    /// Every `[[tables]]` entry, for loading into the database.
    pub fn tables(&self) -> &[Table] {
        &self.ivr.tables
    }

    /// The self-service table with this name, O(1).
    pub fn find_table(&self, name: &str) -> Option<&Table> {
        self.table_index
            .get(name)
            .and_then(|&i| self.ivr.tables.get(i))
    }

    /// The directory of prompt files: `prompts/` beside the entry file.
    pub fn prompts_dir(&self) -> &Path {
        &self.ivr.prompts_dir
    }

    /// The file of a prompt: `<prompts_dir>/<name>.wav` (8000 Hz mono 16-bit PCM; every
    /// prompt a flow names has been checked to exist in that format).
    pub fn prompt_path(&self, name: &str) -> PathBuf {
        self.ivr.prompts_dir.join(format!("{name}.wav"))
    }
}

/// The IVR part of a configuration, validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ivr {
    pub flows: Vec<Arc<Flow>>,
    pub schedules: Vec<Arc<Schedule>>,
    pub tables: Vec<Table>,
    pub prompts_dir: PathBuf,
}

/// The key under which a number is indexed: URNs are lower-cased, digits kept as is.
pub(crate) fn number_key(number: &str) -> std::borrow::Cow<'_, str> {
    let is_urn = number
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    if is_urn && number.bytes().any(|b| b.is_ascii_uppercase()) {
        number.to_ascii_lowercase().into()
    } else {
        number.into()
    }
}

/// The `[server]` table: where Lifeline listens and keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// SIP over UDP and TCP, such as `0.0.0.0:5060`.
    pub sip_listen: SocketAddr,
    /// The HTTP API, WebSocket and dispatch UI, such as `127.0.0.1:8080`.
    pub http_listen: SocketAddr,
    /// UDP ports for RTP media legs.
    pub rtp_ports: PortRange,
    /// The data directory (SQLite file, recordings), relative to the current directory.
    pub data_dir: PathBuf,
    /// The address advertised in SDP and Contact when it differs from the bound one.
    pub public_address: Option<IpAddr>,
    /// The shared UDP port of browser agents' WebRTC legs (the SIP address with an
    /// ephemeral port when not configured).
    pub webrtc_listen: Option<SocketAddr>,
}

/// The `[sip]` table: SIP identity, digest authentication and registrar limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sip {
    /// The digest authentication realm.
    pub realm: String,
    /// The `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// How long a digest nonce stays valid, in seconds.
    pub nonce_ttl_secs: u32,
    /// The shortest registration accepted (shorter gets `423 Interval Too Brief`).
    pub register_min_expires: u32,
    /// The longest registration granted; longer requests are shortened to this.
    pub register_max_expires: u32,
    /// The registration time granted when a REGISTER asks for none.
    pub register_default_expires: u32,
    /// Digest algorithms challenged with, most preferred first.
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

/// A digest authentication hash algorithm (RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum DigestAlgorithm {
    /// `MD5`: what every SIP device speaks.
    #[serde(rename = "MD5")]
    Md5,
    /// `SHA-256` (RFC 8760).
    #[serde(rename = "SHA-256")]
    Sha256,
}

/// What a dialled number leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberKind {
    /// Straight to a queue (a 12345-style citizen line).
    Queue,
    /// An IVR flow (a 12333-style menu).
    Ivr,
    /// An emergency line: straight to a queue, ahead of every hotline call.
    Emergency,
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Queue => "queue",
            Self::Ivr => "ivr",
            Self::Emergency => "emergency",
        })
    }
}

/// Where a number routes a call, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Kind `queue`: enqueue in this queue.
    Queue {
        /// The queue's name.
        queue: String,
    },
    /// Kind `ivr`: run this IVR flow.
    Ivr {
        /// The flow's name.
        flow: String,
    },
    /// Kind `emergency`: enqueue in this queue as an emergency call.
    Emergency {
        /// The queue's name.
        queue: String,
    },
}

/// A `[[numbers]]` entry: a dialled number and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    /// The dialled string: digits such as `12345` or `110`, or a URN such as
    /// `urn:service:sos`.
    pub number: String,
    /// A human name, such as `Citizen line`.
    pub name: String,
    /// The route.
    pub route: Route,
}

impl Number {
    /// The kind of the route.
    pub fn kind(&self) -> NumberKind {
        match self.route {
            Route::Queue { .. } => NumberKind::Queue,
            Route::Ivr { .. } => NumberKind::Ivr,
            Route::Emergency { .. } => NumberKind::Emergency,
        }
    }

    /// The queue a `queue` or `emergency` number leads to.
    pub fn queue(&self) -> Option<&str> {
        match &self.route {
            Route::Queue { queue } | Route::Emergency { queue } => Some(queue),
            Route::Ivr { .. } => None,
        }
    }
}

/// A `[[queues]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// The queue's name, referenced by numbers and flows.
    pub name: String,
    /// Members in configured order (which `linear` follows).
    pub members: Vec<QueueMember>,
    /// Whether calls in this queue are recorded (true by default).
    pub record: bool,
    /// Whether a caller whose agent hangs up first is asked for a rating (1–5).
    pub satisfaction_survey: bool,
    /// The key with which a waiting caller asks to be called back (keeping its place).
    pub callback_key: Option<char>,
    /// A caller who hangs up while waiting is called back instead of lost.
    pub callback_on_abandon: bool,
    /// Strategy, weight, timeouts and the other ACD options, as the ACD takes them.
    pub settings: QueueSettings,
}

/// One member of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMember {
    /// The user id.
    pub id: String,
    /// Penalty and tier in this queue.
    pub member: Member,
}

/// What a user may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers calls (the default).
    #[default]
    Agent,
    /// Handles tickets at a dispatch console.
    Dispatcher,
    /// Watches queues and agents.
    Supervisor,
    /// Everything, including administration.
    Admin,
}

/// A password from the configuration; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The password itself, for digest authentication.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A `[[users]]` entry: a person who logs in (SIP phone, softphone, web console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user id, also the SIP user name, such as `1001`.
    pub id: String,
    /// The SIP digest and web login password.
    pub password: Secret,
    /// The name shown to others (the id when not configured).
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// Wrap-up, ring timeout, auto-pause and skills when the user answers queue calls.
    pub agent: AgentSettings,
}

/// A `[[callboxes]]` entry: an emergency call box and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Callbox {
    /// The box id, also its SIP user name, such as `box-001`.
    pub id: String,
    /// The SIP digest / HTTP alert password.
    pub password: Secret,
    /// Where it is, in words.
    pub name: String,
    /// Latitude in degrees (WGS 84), -90 to 90.
    pub lat: f64,
    /// Longitude in degrees (WGS 84), -180 to 180.
    pub lon: f64,
    /// The dispatch zone it belongs to, when configured.
    pub zone: Option<String>,
    /// The device model, when configured.
    pub model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_keys_ignore_case_and_digits_stay() {
        assert_eq!(number_key("URN:Service:SOS"), "urn:service:sos");
        assert_eq!(number_key("urn:service:sos"), "urn:service:sos");
        assert_eq!(number_key("12345"), "12345");
        assert_eq!(number_key("é"), "é");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let secret = Secret::new("pw1001");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "pw1001");
    }
}
