//! The files as written.
//!
//! This module owns the serde shapes of one configuration file, before validation:
//! every table denies unknown fields, and every value that validation checks keeps its
//! byte span so that an error can point at its line and column.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::flow::{NodeKind, SayAs};
use lifeline_acd::{EmptyRule, Strategy};

use crate::model::{DigestAlgorithm, NumberKind, Role};

/// One configuration file: the entry file or an included one.
///
/// `version`, `server` and `sip` belong to the entry file only; the loader reports
/// them in an included file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub version: Option<Spanned<i64>>,
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    pub server: Option<Spanned<RawServer>>,
    pub sip: Option<Spanned<RawSip>>,
    #[serde(default)]
    pub numbers: Vec<Spanned<RawNumber>>,
    #[serde(default)]
    pub queues: Vec<Spanned<RawQueue>>,
    #[serde(default)]
    pub users: Vec<Spanned<RawUser>>,
    #[serde(default)]
    pub callboxes: Vec<Spanned<RawCallbox>>,
    #[serde(default)]
    pub flows: Vec<Spanned<RawFlow>>,
    #[serde(default)]
    pub schedules: Vec<Spanned<RawSchedule>>,
    #[serde(default)]
    pub tables: Vec<Spanned<RawTable>>,
}

/// Only the version, read first so that a file of another version is reported as such
/// rather than as a list of unknown keys.
#[derive(Debug, Deserialize)]
pub(crate) struct RawVersion {
    pub version: Option<Spanned<toml::Value>>,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub sip_listen: Spanned<String>,
    pub http_listen: Spanned<String>,
    pub rtp_ports: Spanned<String>,
    pub data_dir: Option<Spanned<String>>,
    pub public_address: Option<Spanned<String>>,
    pub webrtc_listen: Option<Spanned<String>>,
}

/// `[sip]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSip {
    pub realm: Spanned<String>,
    pub user_agent: Option<Spanned<String>>,
    pub nonce_ttl_secs: Option<Spanned<u32>>,
    pub register_min_expires: Option<Spanned<u32>>,
    pub register_max_expires: Option<Spanned<u32>>,
    pub register_default_expires: Option<Spanned<u32>>,
    pub digest_algorithms: Option<Spanned<Vec<DigestAlgorithm>>>,
}

/// `[[numbers]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNumber {
    pub number: Spanned<String>,
    pub name: Spanned<String>,
    pub kind: Spanned<NumberKind>,
    pub queue: Option<Spanned<String>>,
    pub flow: Option<Spanned<String>>,
}

/// `[[queues]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    pub name: Spanned<String>,
    pub strategy: Strategy,
    #[serde(default)]
    pub members: Vec<Spanned<String>>,
    /// Member id → penalty (0 when not listed).
    #[serde(default)]
    pub penalties: BTreeMap<String, Spanned<u32>>,
    /// Member id → tier level (0 when not listed).
    #[serde(default)]
    pub tiers: BTreeMap<String, Spanned<u32>>,
    #[serde(default)]
    pub priority: u8,
    /// Record calls in this queue (default true).
    pub record: Option<bool>,
    pub timeout_secs: Option<u32>,
    pub max_len: Option<u32>,
    pub join_empty: Option<EmptyRule>,
    pub leave_empty: Option<EmptyRule>,
    pub tier_wait_secs: Option<Spanned<u32>>,
    pub penalty_widen: Option<Spanned<RawPenaltyWiden>>,
    pub service_level_secs: Option<u32>,
    pub announce_every_secs: Option<Spanned<u32>>,
    pub exit_key: Option<Spanned<String>>,
    pub callback_key: Option<Spanned<String>>,
    pub callback_on_abandon: Option<bool>,
    pub overflow: Option<Spanned<String>>,
    pub voicemail_on_timeout: Option<bool>,
    pub ring_timeout_secs: Option<Spanned<u32>>,
    pub satisfaction_survey: Option<bool>,
}

/// `penalty_widen = { every_secs, step, start }` of a queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPenaltyWiden {
    pub every_secs: u32,
    pub step: u32,
    #[serde(default)]
    pub start: u32,
}

/// `[[users]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUser {
    pub id: Spanned<String>,
    pub password: Spanned<String>,
    pub display_name: Option<Spanned<String>>,
    #[serde(default)]
    pub role: Role,
    pub wrap_up_secs: Option<u32>,
    pub ring_timeout_secs: Option<Spanned<u32>>,
    pub max_no_answer: Option<Spanned<u32>>,
    #[serde(default)]
    pub skills: Vec<Spanned<String>>,
}

/// `[[callboxes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallbox {
    pub id: Spanned<String>,
    pub password: Spanned<String>,
    pub name: Spanned<String>,
    pub lat: Spanned<f64>,
    pub lon: Spanned<f64>,
    pub zone: Option<Spanned<String>>,
    pub model: Option<String>,
}

/// A list of strings, each with its span.
pub(crate) type SpannedList = Spanned<Vec<Spanned<String>>>;

/// `[[flows]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    pub name: Spanned<String>,
    /// Required unless the nodes come from another flow (then inherited).
    pub start: Option<Spanned<String>>,
    /// A flow whose nodes this one starts from; its own nodes replace those by id.
    pub nodes_from: Option<Spanned<String>>,
    /// By id. Plain string keys keep the id in the key path of serde's errors; the
    /// node's span (its `[flows.nodes.ID]` header) locates the node.
    #[serde(default)]
    pub nodes: BTreeMap<String, Spanned<RawNode>>,
    /// Record calls that run this flow (default: as the flow it takes nodes from, else
    /// true).
    pub record: Option<bool>,
}

/// One node, every type's keys in one table: serde's tagged enums lose the spans that
/// errors need, so validation checks which keys each `type` allows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    #[serde(rename = "type")]
    pub kind: Spanned<NodeKind>,
    pub prompts: Option<SpannedList>,
    pub next: Option<Spanned<String>>,
    pub choices: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub timeout_secs: Option<Spanned<u32>>,
    pub retries: Option<Spanned<u32>>,
    pub invalid_prompts: Option<SpannedList>,
    pub timeout_prompts: Option<SpannedList>,
    pub repeat_key: Option<Spanned<String>>,
    pub on_failure: Option<Spanned<String>>,
    pub min_digits: Option<Spanned<u32>>,
    pub max_digits: Option<Spanned<u32>>,
    pub terminator: Option<Spanned<String>>,
    pub inter_digit_secs: Option<Spanned<u32>>,
    pub var: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    pub open: Option<Spanned<String>>,
    pub closed: Option<Spanned<String>>,
    pub queue: Option<Spanned<String>>,
    pub priority: Option<Spanned<u8>>,
    pub skills: Option<SpannedList>,
    pub moh: Option<Spanned<String>>,
    pub number: Option<Spanned<String>>,
    pub max_secs: Option<Spanned<u32>>,
    pub table: Option<Spanned<String>>,
    pub key_var: Option<Spanned<String>>,
    pub found: Option<Spanned<String>>,
    pub not_found: Option<Spanned<String>>,
    #[serde(rename = "as")]
    pub say_as: Option<Spanned<SayAs>>,
    pub prompts_after: Option<SpannedList>,
}

impl RawNode {
    /// Every optional key present, with its span, in declaration order.
    pub fn present_keys(&self) -> Vec<(&'static str, Range<usize>)> {
        fn span<T>(value: Option<&Spanned<T>>) -> Option<Range<usize>> {
            value.map(Spanned::span)
        }
        let keys = [
            ("prompts", span(self.prompts.as_ref())),
            ("next", span(self.next.as_ref())),
            ("choices", span(self.choices.as_ref())),
            ("timeout_secs", span(self.timeout_secs.as_ref())),
            ("retries", span(self.retries.as_ref())),
            ("invalid_prompts", span(self.invalid_prompts.as_ref())),
            ("timeout_prompts", span(self.timeout_prompts.as_ref())),
            ("repeat_key", span(self.repeat_key.as_ref())),
            ("on_failure", span(self.on_failure.as_ref())),
            ("min_digits", span(self.min_digits.as_ref())),
            ("max_digits", span(self.max_digits.as_ref())),
            ("terminator", span(self.terminator.as_ref())),
            ("inter_digit_secs", span(self.inter_digit_secs.as_ref())),
            ("var", span(self.var.as_ref())),
            ("schedule", span(self.schedule.as_ref())),
            ("open", span(self.open.as_ref())),
            ("closed", span(self.closed.as_ref())),
            ("queue", span(self.queue.as_ref())),
            ("priority", span(self.priority.as_ref())),
            ("skills", span(self.skills.as_ref())),
            ("moh", span(self.moh.as_ref())),
            ("number", span(self.number.as_ref())),
            ("max_secs", span(self.max_secs.as_ref())),
            ("table", span(self.table.as_ref())),
            ("key_var", span(self.key_var.as_ref())),
            ("found", span(self.found.as_ref())),
            ("not_found", span(self.not_found.as_ref())),
            ("as", span(self.say_as.as_ref())),
            ("prompts_after", span(self.prompts_after.as_ref())),
        ];
        keys.into_iter()
            .filter_map(|(key, span)| Some((key, span?)))
            .collect()
    }
}

/// `[[schedules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedule {
    pub name: Spanned<String>,
    pub utc_offset_minutes: Spanned<i64>,
    pub mon: Option<SpannedList>,
    pub tue: Option<SpannedList>,
    pub wed: Option<SpannedList>,
    pub thu: Option<SpannedList>,
    pub fri: Option<SpannedList>,
    pub sat: Option<SpannedList>,
    pub sun: Option<SpannedList>,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    #[serde(default)]
    pub extra_workdays: Vec<Spanned<String>>,
}

/// `[[tables]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    pub name: Spanned<String>,
    pub file: Spanned<String>,
}
