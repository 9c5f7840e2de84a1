//! Lifeline's configuration: loading and validating `sip-config/` with precise errors.
//!
//! This crate owns the configuration format (documented in `docs/configuration.md`):
//! the entry file `lifeline.toml` with `version`, `[server]` and `[sip]`, and the
//! `[[numbers]]`, `[[queues]]`, `[[users]]`, `[[callboxes]]`, and the IVR's `[[flows]]`,
//! `[[schedules]]` and `[[tables]]` arrays that it and the files it `include`s
//! contribute. [`load`] reads and checks everything and returns a
//! typed [`Config`] with O(1) lookups, or a [`ConfigError`] listing every problem, each
//! naming the file, the key path (`numbers[2].queue`), what was expected, and the line
//! and column.
//!
//! The crate is a pure library: it reads the configuration files and nothing else.
//!
//! ```no_run
//! let config = lifeline_config::load("sip-config/lifeline.toml".as_ref())?;
//! let line = config.find_number("12345").expect("demo number");
//! assert_eq!(line.queue(), Some("citizen"));
//! # Ok::<(), lifeline_config::ConfigError>(())
//! ```

mod error;
mod flow;
mod load;
mod model;
mod port_range;
mod raw;
mod schedule;
mod validate;

use std::path::Path;

pub use error::{ConfigError, Diagnostic, Location};
pub use flow::{Collect, Flow, Menu, Node, NodeKind, SayAs, Table, is_dtmf};
pub use lifeline_acd::Strategy;
pub use load::VERSION;
pub use model::{
    Callbox, Config, DigestAlgorithm, Number, NumberKind, Queue, QueueMember, Role, Route, Secret,
    Server, Sip, User,
};
pub use port_range::{MAX_RTP_PORT, PortRange, PortRangeError};
pub use schedule::{Date, Schedule, TimeRange, WEEKDAYS};

/// Loads the configuration whose entry file is `path` (normally
/// `sip-config/lifeline.toml`), following its includes.
///
/// Errors name files by the path given here joined with the include paths, so a
/// relative `path` gives relative names in messages.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    validate::validate(&load::load_files(path, None)?)
}

/// Loads a configuration from `text`, as if it were the content of the file `origin`
/// (the name used in errors; includes are read relative to its directory).
pub fn from_str(text: &str, origin: impl AsRef<Path>) -> Result<Config, ConfigError> {
    validate::validate(&load::load_files(origin.as_ref(), Some(text.to_owned()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"
version = 1
[server]
sip_listen = "0.0.0.0:5060"
http_listen = "127.0.0.1:8080"
rtp_ports = "20000-20999"
[sip]
realm = "lifeline"
"#;

    #[test]
    fn minimal_entry_file_gets_defaults() {
        let config = from_str(ENTRY, "mem.toml").unwrap();
        assert_eq!(config.server().data_dir, Path::new("data"));
        assert_eq!(config.server().public_address, None);
        let sip = config.sip();
        assert_eq!(sip.user_agent, "Lifeline");
        assert_eq!(sip.nonce_ttl_secs, 300);
        assert_eq!(
            (
                sip.register_min_expires,
                sip.register_default_expires,
                sip.register_max_expires
            ),
            (60, 3600, 3600)
        );
        assert!(config.numbers().is_empty() && config.users().is_empty());
    }

    #[test]
    fn errors_are_collected_and_sorted_by_file_position() {
        let text = format!(
            "{ENTRY}\n[[users]]\nid = \"1001\"\npassword = \"\"\n\n[[queues]]\nname = \"q\"\nstrategy = \"linear\"\nmembers = [\"1009\"]\n\n[[numbers]]\nnumber = \"1\"\nname = \"x\"\nkind = \"queue\"\nqueue = \"nope\"\n"
        );
        let text = text.replace("127.0.0.1:8080", "localhost:8080");
        let error = from_str(&text, "mem.toml").unwrap_err();
        let lines: Vec<String> = error
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines.len(), 4, "{error}");
        assert!(lines[0].starts_with("mem.toml: server.http_listen: expected a socket address"));
        assert!(lines[1].starts_with("mem.toml: users[0].password: must not be empty"));
        assert!(lines[2].starts_with("mem.toml: queues[0].members[0]: \"1009\" is not a user id"));
        assert!(lines[3].starts_with("mem.toml: numbers[0].queue: queue \"nope\" is not defined"));
        assert_eq!(error.to_string(), lines.join("\n"));
    }

    #[test]
    fn lookups_find_numbers_by_urn_in_any_case() {
        let text = format!(
            "{ENTRY}\n[[queues]]\nname = \"emergency\"\nstrategy = \"ringall\"\npriority = 9\n\n[[numbers]]\nnumber = \"urn:service:sos\"\nname = \"SOS\"\nkind = \"emergency\"\nqueue = \"emergency\"\n"
        );
        let config = from_str(&text, "mem.toml").unwrap();
        let sos = config.find_number("URN:Service:SOS").unwrap();
        assert_eq!(sos.kind(), NumberKind::Emergency);
        assert_eq!(config.find_queue("emergency").unwrap().settings.priority, 9);
        assert!(config.find_number("110").is_none());
        assert!(config.find_user("1001").is_none() && config.find_callbox("box").is_none());
    }

    #[test]
    fn a_broken_definition_does_not_cascade_into_its_references() {
        let text = format!(
            "{ENTRY}\n[[users]]\nid = \"agent 1\"\npassword = \"pw\"\n\n[[queues]]\nname = \"citizen\"\nstrategy = \"linear\"\nmembers = [\"agent 1\", \"1009\"]\n\n[[numbers]]\nnumber = \"12345\"\nname = \"x\"\nkind = \"queue\"\nqueue = \"citizen\"\n"
        );
        let error = from_str(&text, "mem.toml").unwrap_err();
        let keys: Vec<_> = error
            .diagnostics()
            .iter()
            .map(|d| d.key.as_deref())
            .collect();
        assert_eq!(
            keys,
            [Some("users[0].id"), Some("queues[0].members[1]")],
            "{error}"
        );
    }
}
