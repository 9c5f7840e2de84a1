//! The files as written.
//!
//! This module owns the serde shapes of one configuration file, before validation:
//! every table denies unknown fields, and every value that validation checks keeps its
//! byte span so that an error can point at its line and column.

use serde::Deserialize;
use toml::Spanned;

use crate::model::{DigestAlgorithm, NumberKind, Role, Strategy};

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
    #[serde(default)]
    pub priority: u8,
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
