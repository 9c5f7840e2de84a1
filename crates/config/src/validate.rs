//! Checking the files and building the typed model.
//!
//! This module owns every rule that serde cannot express: socket addresses and the RTP
//! range, SIP limits, id syntax, empty passwords, coordinates, duplicate ids across
//! files, and references (a number's queue or flow, a queue's members). It collects
//! every problem instead of stopping at the first, then builds the [`Config`] with its
//! maps. The array entries are checked in [`entries`], IVR flows, schedules and tables
//! in [`flows`].

mod entries;
mod flows;
mod queues;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use crate::PortRange;
use crate::error::{ConfigError, Diagnostic, Location};
use crate::load::SourceFile;
use crate::model::{Config, DigestAlgorithm, Ivr, Server, Sip};
use crate::raw::{RawServer, RawSip};

/// Checks the parsed files (the entry file first) and builds the configuration.
pub(crate) fn validate(files: &[SourceFile]) -> Result<Config, ConfigError> {
    let mut v = Validator::default();
    let (server, sip) = match files.first() {
        Some(entry) => (v.server(entry), v.sip(entry)),
        None => (None, None),
    };
    let mut sip_names = HashMap::new();
    let users = v.each(
        files,
        "users",
        |f| &f.raw.users,
        |v, f, k, u| v.user(f, k, u, &mut sip_names),
    );
    let callboxes = v.each(
        files,
        "callboxes",
        |f| &f.raw.callboxes,
        |v, f, k, c| v.callbox(f, k, c, &mut sip_names),
    );
    let mut queue_names = HashMap::new();
    let queues = v.each(
        files,
        "queues",
        |f| &f.raw.queues,
        |v, f, k, q| v.queue(f, k, q, &sip_names, &mut queue_names),
    );
    v.overflow_targets(files, &queue_names);
    let mut schedule_names = HashMap::new();
    let schedules: Vec<Arc<_>> = v
        .each(
            files,
            "schedules",
            |f| &f.raw.schedules,
            |v, f, k, s| v.schedule(f, k, s, &mut schedule_names),
        )
        .into_iter()
        .map(Arc::new)
        .collect();
    let mut table_names = HashMap::new();
    let tables = v.each(
        files,
        "tables",
        |f| &f.raw.tables,
        |v, f, k, t| v.table(f, k, t, &mut table_names),
    );
    // Prompts live in `prompts/` beside the entry file.
    let config_dir = files
        .first()
        .and_then(|f| f.path.parent())
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let prompts_dir = config_dir.join("prompts");
    let mut ctx = flows::FlowContext {
        queues: &queue_names,
        schedule_names: &schedule_names,
        schedules: schedules
            .iter()
            .map(|s| (s.name.clone(), Arc::clone(s)))
            .collect(),
        tables: &table_names,
        prompts: flows::Prompts::new(prompts_dir.clone()),
    };
    let mut flow_names = HashMap::new();
    let flows = v.flows(files, &mut ctx, &mut flow_names);
    let mut dialled = HashMap::new();
    let numbers = v.each(
        files,
        "numbers",
        |f| &f.raw.numbers,
        |v, f, k, n| v.number(f, k, n, &queue_names, &flow_names, &mut dialled),
    );

    match (server, sip) {
        (Some(server), Some(sip)) if v.errors.is_empty() => {
            let names = files.iter().map(|f| f.path.clone()).collect();
            let ivr = Ivr {
                flows,
                schedules,
                tables,
                prompts_dir,
            };
            Ok(Config::new(
                server, sip, numbers, queues, users, callboxes, ivr, names,
            ))
        }
        _ => {
            let order = |d: &Diagnostic| {
                let file = files.iter().position(|f| f.name == d.file);
                (file, d.location.unwrap_or(Location { line: 0, column: 0 }))
            };
            v.errors.sort_by_key(order);
            Err(ConfigError::new(v.errors))
        }
    }
}

/// Where an id was first defined, for duplicate messages.
struct Definition {
    what: &'static str,
    at: String,
}

#[derive(Default)]
struct Validator {
    errors: Vec<Diagnostic>,
}

impl Validator {
    fn error(&mut self, file: &SourceFile, key: &str, span: Option<Range<usize>>, message: String) {
        self.errors.push(file.diagnostic(key, span, message));
    }

    /// Runs `check` on every item of one section in every file, keeping what passes.
    fn each<R, T>(
        &mut self,
        files: &[SourceFile],
        name: &str,
        section: impl Fn(&SourceFile) -> &Vec<Spanned<R>>,
        mut check: impl FnMut(&mut Self, &SourceFile, &str, &R) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for file in files {
            for (i, item) in section(file).iter().enumerate() {
                let key = format!("{name}[{i}]");
                out.extend(check(self, file, &key, item.get_ref()));
            }
        }
        out
    }

    /// A non-empty string; reports `key` otherwise.
    fn non_empty(&mut self, file: &SourceFile, key: &str, value: &Spanned<String>) -> bool {
        let ok = !value.get_ref().trim().is_empty();
        if !ok {
            self.error(
                file,
                key,
                Some(value.span()),
                "must not be empty".to_owned(),
            );
        }
        ok
    }

    /// A number no smaller than `min`; reports `key` otherwise.
    fn at_least(&mut self, file: &SourceFile, key: &str, value: &Spanned<u32>, min: u32) -> bool {
        let ok = *value.get_ref() >= min;
        if !ok {
            let message = format!("expected at least {min}, got {}", value.get_ref());
            self.error(file, key, Some(value.span()), message);
        }
        ok
    }

    /// An id: letters, digits, `.`, `_`, `-` (used in SIP user names, URLs and keys).
    fn id(&mut self, file: &SourceFile, key: &str, value: &Spanned<String>) -> bool {
        let text = value.get_ref();
        let ok = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            let message = format!("expected letters, digits, \".\", \"_\" or \"-\", got {text:?}");
            self.error(file, key, Some(value.span()), message);
        }
        ok
    }

    /// Records `id` in `defined`; reports a duplicate (or a clash with another kind
    /// sharing the name space) with both places.
    fn define(
        &mut self,
        defined: &mut HashMap<String, Definition>,
        file: &SourceFile,
        key: &str,
        value: &Spanned<String>,
        id: String,
        what: &'static str,
    ) -> bool {
        if let Some(first) = defined.get(&id) {
            let message = if first.what == what {
                format!(
                    "duplicate {what} {:?}, first defined in {}",
                    value.get_ref(),
                    first.at
                )
            } else {
                format!(
                    "{what} {:?} is already a {} ({}); users and call boxes share one SIP user name space",
                    value.get_ref(),
                    first.what,
                    first.at
                )
            };
            self.error(file, key, Some(value.span()), message);
            return false;
        }
        let line = Location::from_offset(&file.text, value.span().start).line;
        let at = format!("{} at {key}, line {line}", file.name);
        defined.insert(id, Definition { what, at });
        true
    }

    fn server(&mut self, entry: &SourceFile) -> Option<Server> {
        let Some(raw) = &entry.raw.server else {
            self.errors.push(Diagnostic {
                file: entry.name.clone(),
                key: Some("server".to_owned()),
                location: None,
                message: "missing; the entry file needs a [server] table".to_owned(),
            });
            return None;
        };
        let RawServer {
            sip_listen,
            http_listen,
            rtp_ports,
            data_dir,
            public_address,
            webrtc_listen,
        } = raw.get_ref();
        let sip_listen = self.socket(entry, "server.sip_listen", sip_listen, "0.0.0.0:5060");
        let webrtc_listen = match webrtc_listen {
            None => Some(None),
            Some(w) => self
                .socket(entry, "server.webrtc_listen", w, "0.0.0.0:3479")
                .map(Some),
        };
        let http_listen = self.socket(entry, "server.http_listen", http_listen, "127.0.0.1:8080");
        let rtp_ports = match rtp_ports.get_ref().parse::<PortRange>() {
            Ok(range) => Some(range),
            Err(e) => {
                self.error(
                    entry,
                    "server.rtp_ports",
                    Some(rtp_ports.span()),
                    e.to_string(),
                );
                None
            }
        };
        let data_dir = match data_dir {
            Some(dir) if !self.non_empty(entry, "server.data_dir", dir) => None,
            Some(dir) => Some(PathBuf::from(dir.get_ref())),
            None => Some(PathBuf::from("data")),
        };
        let public_address = match public_address {
            None => Some(None),
            Some(text) => match text.get_ref().parse::<IpAddr>() {
                Ok(ip) => Some(Some(ip)),
                Err(_) => {
                    let message = format!(
                        "expected an IP address such as \"203.0.113.5\", got {:?}",
                        text.get_ref()
                    );
                    self.error(entry, "server.public_address", Some(text.span()), message);
                    None
                }
            },
        };
        Some(Server {
            sip_listen: sip_listen?,
            http_listen: http_listen?,
            rtp_ports: rtp_ports?,
            data_dir: data_dir?,
            public_address: public_address?,
            webrtc_listen: webrtc_listen?,
        })
    }

    fn socket(
        &mut self,
        file: &SourceFile,
        key: &str,
        value: &Spanned<String>,
        example: &str,
    ) -> Option<SocketAddr> {
        let parsed = value.get_ref().parse::<SocketAddr>().ok();
        if parsed.is_none() {
            let message = format!(
                "expected a socket address \"IP:PORT\" such as \"{example}\", got {:?}",
                value.get_ref()
            );
            self.error(file, key, Some(value.span()), message);
        }
        parsed
    }

    fn sip(&mut self, entry: &SourceFile) -> Option<Sip> {
        let Some(raw) = &entry.raw.sip else {
            self.errors.push(Diagnostic {
                file: entry.name.clone(),
                key: Some("sip".to_owned()),
                location: None,
                message: "missing; the entry file needs a [sip] table with a realm".to_owned(),
            });
            return None;
        };
        let RawSip {
            realm,
            user_agent,
            nonce_ttl_secs,
            register_min_expires,
            register_max_expires,
            register_default_expires,
            digest_algorithms,
        } = raw.get_ref();
        let before = self.errors.len();
        let text = realm.get_ref();
        if text.is_empty()
            || text
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            let message =
                format!("expected a non-empty realm without quotes or backslashes, got {text:?}");
            self.error(entry, "sip.realm", Some(realm.span()), message);
        }
        let user_agent = match user_agent {
            Some(ua) => {
                self.non_empty(entry, "sip.user_agent", ua);
                ua.get_ref().clone()
            }
            None => "Lifeline".to_owned(),
        };
        let value =
            |v: &Option<Spanned<u32>>, default| v.as_ref().map_or(default, |v| *v.get_ref());
        let span = |v: &Option<Spanned<u32>>| v.as_ref().map(Spanned::span);
        let nonce_ttl_secs = value(nonce_ttl_secs, 300);
        if nonce_ttl_secs == 0 {
            let message = "expected at least 1 second, got 0".to_owned();
            self.error(
                entry,
                "sip.nonce_ttl_secs",
                span(&raw.get_ref().nonce_ttl_secs),
                message,
            );
        }
        let (min, max, default) = (
            value(register_min_expires, 60),
            value(register_max_expires, 3600),
            value(register_default_expires, 3600),
        );
        if min == 0 {
            let message = "expected at least 1 second, got 0".to_owned();
            self.error(
                entry,
                "sip.register_min_expires",
                span(register_min_expires),
                message,
            );
        } else if min > max {
            let message = format!("expected at most register_max_expires ({max}), got {min}");
            self.error(
                entry,
                "sip.register_min_expires",
                span(register_min_expires),
                message,
            );
        } else if !(min..=max).contains(&default) {
            let message = format!(
                "expected between register_min_expires ({min}) and register_max_expires ({max}), got {default}"
            );
            let at = span(register_default_expires).or(span(register_max_expires));
            self.error(entry, "sip.register_default_expires", at, message);
        }
        let digest_algorithms = match digest_algorithms {
            None => vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            Some(list) => {
                let algs = list.get_ref().clone();
                let duplicate = algs.iter().enumerate().any(|(i, a)| algs[..i].contains(a));
                if algs.is_empty() || duplicate {
                    let message = format!(
                        "expected a non-empty list of distinct algorithms (\"SHA-256\", \"MD5\"), got {algs:?}"
                    );
                    self.error(entry, "sip.digest_algorithms", Some(list.span()), message);
                }
                algs
            }
        };
        (self.errors.len() == before).then(|| Sip {
            realm: text.clone(),
            user_agent,
            nonce_ttl_secs,
            register_min_expires: min,
            register_max_expires: max,
            register_default_expires: default,
            digest_algorithms,
        })
    }
}
