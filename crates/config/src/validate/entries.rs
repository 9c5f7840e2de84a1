//! Checking the `[[users]]`, `[[callboxes]]` and `[[numbers]]` arrays (`[[queues]]`
//! are in `queues.rs`).
//!
//! This module owns the per-entry rules of the arrays that included files contribute:
//! id syntax, empty passwords, coordinates, an agent's ACD settings, duplicates across
//! files (users and call boxes share one SIP user name space), and the queue or flow
//! (defined in `[[flows]]`) each kind of number needs.

use std::collections::HashMap;
use std::time::Duration;

use lifeline_acd::AgentSettings;

use toml::Spanned;

use super::{Definition, Validator};
use crate::load::SourceFile;
use crate::model::{Callbox, Number, NumberKind, Route, Secret, User, number_key};
use crate::raw::{RawCallbox, RawNumber, RawUser};

impl Validator {
    pub(super) fn user(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawUser,
        sip_names: &mut HashMap<String, Definition>,
    ) -> Option<User> {
        let RawUser {
            id,
            password,
            display_name,
            role,
            wrap_up_secs,
            ring_timeout_secs,
            max_no_answer,
            skills,
        } = raw;
        let id_key = format!("{key}.id");
        let mut ok = self.id(file, &id_key, id);
        // Defined even when malformed, so that references to it do not cascade.
        ok &= self.define(
            sip_names,
            file,
            &id_key,
            id,
            id.get_ref().clone(),
            "user id",
        );
        ok &= self.non_empty(file, &format!("{key}.password"), password);
        if let Some(name) = display_name {
            ok &= self.non_empty(file, &format!("{key}.display_name"), name);
        }
        if let Some(t) = ring_timeout_secs {
            ok &= self.at_least(file, &format!("{key}.ring_timeout_secs"), t, 1);
        }
        if let Some(n) = max_no_answer {
            ok &= self.at_least(file, &format!("{key}.max_no_answer"), n, 1);
        }
        let mut agent = AgentSettings {
            wrap_up: Duration::from_secs(u64::from(wrap_up_secs.unwrap_or(0))),
            max_no_answer: max_no_answer.as_ref().map(|n| *n.get_ref()),
            ..AgentSettings::default()
        };
        if let Some(t) = ring_timeout_secs {
            agent.ring_timeout = Duration::from_secs(u64::from(*t.get_ref()));
        }
        for (i, skill) in skills.iter().enumerate() {
            ok &= self.id(file, &format!("{key}.skills[{i}]"), skill);
            agent.skills.insert(skill.get_ref().clone(), 1);
        }
        ok.then(|| User {
            id: id.get_ref().clone(),
            password: Secret::new(password.get_ref().clone()),
            display_name: display_name.as_ref().unwrap_or(id).get_ref().clone(),
            role: *role,
            agent,
        })
    }

    pub(super) fn callbox(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawCallbox,
        sip_names: &mut HashMap<String, Definition>,
    ) -> Option<Callbox> {
        let RawCallbox {
            id,
            password,
            name,
            lat,
            lon,
            zone,
            model,
        } = raw;
        let id_key = format!("{key}.id");
        let mut ok = self.id(file, &id_key, id);
        // Defined even when malformed, so that references to it do not cascade.
        ok &= self.define(
            sip_names,
            file,
            &id_key,
            id,
            id.get_ref().clone(),
            "call box id",
        );
        ok &= self.non_empty(file, &format!("{key}.password"), password);
        ok &= self.non_empty(file, &format!("{key}.name"), name);
        for (field, value, limit, what) in [
            ("lat", lat, 90.0, "a latitude"),
            ("lon", lon, 180.0, "a longitude"),
        ] {
            let degrees = *value.get_ref();
            if !(-limit..=limit).contains(&degrees) {
                let message =
                    format!("expected {what} between -{limit} and {limit} degrees, got {degrees}");
                self.error(file, &format!("{key}.{field}"), Some(value.span()), message);
                ok = false;
            }
        }
        if let Some(zone) = zone {
            ok &= self.id(file, &format!("{key}.zone"), zone);
        }
        ok.then(|| Callbox {
            id: id.get_ref().clone(),
            password: Secret::new(password.get_ref().clone()),
            name: name.get_ref().clone(),
            lat: *lat.get_ref(),
            lon: *lon.get_ref(),
            zone: zone.as_ref().map(|z| z.get_ref().clone()),
            model: model.clone(),
        })
    }

    pub(super) fn number(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawNumber,
        queues: &HashMap<String, Definition>,
        flows: &HashMap<String, Definition>,
        dialled: &mut HashMap<String, Definition>,
    ) -> Option<Number> {
        let RawNumber {
            number,
            name,
            kind,
            queue,
            flow,
        } = raw;
        let number_key_path = format!("{key}.number");
        let mut ok = if is_dialable(number.get_ref()) {
            let id = number_key(number.get_ref()).into_owned();
            self.define(dialled, file, &number_key_path, number, id, "number")
        } else {
            let message = format!(
                "expected digits (with \"*\", \"#\" or a leading \"+\") or a URN such as \"urn:service:sos\", got {:?}",
                number.get_ref()
            );
            self.error(file, &number_key_path, Some(number.span()), message);
            false
        };
        ok &= self.non_empty(file, &format!("{key}.name"), name);
        let kind_value = *kind.get_ref();
        let (queue_key, flow_key) = (format!("{key}.queue"), format!("{key}.flow"));
        let route = match kind_value {
            NumberKind::Queue | NumberKind::Emergency => {
                if let Some(flow) = flow {
                    let message = format!(
                        "only kind \"ivr\" has a flow; this number's kind is \"{kind_value}\""
                    );
                    self.error(file, &flow_key, Some(flow.span()), message);
                    ok = false;
                }
                let queue = self.queue_ref(file, &queue_key, queue.as_ref(), kind, queues)?;
                match kind_value {
                    NumberKind::Emergency => Route::Emergency { queue },
                    _ => Route::Queue { queue },
                }
            }
            NumberKind::Ivr => {
                if let Some(queue) = queue {
                    let message =
                        "kind \"ivr\" routes through its flow and has no queue".to_owned();
                    self.error(file, &queue_key, Some(queue.span()), message);
                    ok = false;
                }
                let Some(flow) = flow else {
                    let message = "missing; kind \"ivr\" needs a flow".to_owned();
                    self.error(file, &flow_key, Some(kind.span()), message);
                    return None;
                };
                if !self.non_empty(file, &flow_key, flow) {
                    return None;
                }
                if !flows.contains_key(flow.get_ref()) {
                    let defined = if flows.is_empty() {
                        "no flow is defined".to_owned()
                    } else {
                        let mut names: Vec<String> =
                            flows.keys().map(|f| format!("{f:?}")).collect();
                        names.sort();
                        format!("defined flows: {}", names.join(", "))
                    };
                    let message = format!("flow {:?} is not defined ({defined})", flow.get_ref());
                    self.error(file, &flow_key, Some(flow.span()), message);
                    return None;
                }
                Route::Ivr {
                    flow: flow.get_ref().clone(),
                }
            }
        };
        ok.then(|| Number {
            number: number.get_ref().clone(),
            name: name.get_ref().clone(),
            route,
        })
    }

    /// The queue of a `queue` or `emergency` number: present and defined.
    fn queue_ref(
        &mut self,
        file: &SourceFile,
        key: &str,
        queue: Option<&Spanned<String>>,
        kind: &Spanned<NumberKind>,
        queues: &HashMap<String, Definition>,
    ) -> Option<String> {
        let Some(queue) = queue else {
            let message = format!("missing; kind \"{}\" needs a queue", kind.get_ref());
            self.error(file, key, Some(kind.span()), message);
            return None;
        };
        let name = queue.get_ref();
        if queues.contains_key(name) {
            return Some(name.clone());
        }
        let defined = if queues.is_empty() {
            "no queue is defined".to_owned()
        } else {
            let mut names: Vec<String> = queues.keys().map(|q| format!("{q:?}")).collect();
            names.sort();
            format!("defined queues: {}", names.join(", "))
        };
        self.error(
            file,
            key,
            Some(queue.span()),
            format!("queue {name:?} is not defined ({defined})"),
        );
        None
    }
}

/// `12345`, `*100#`, `+8657112345`, or `urn:NID:NSS`.
pub(super) fn is_dialable(number: &str) -> bool {
    if number
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        let rest = &number[4..];
        return rest
            .split_once(':')
            .is_some_and(|(nid, nss)| !nid.is_empty() && !nss.is_empty())
            && !rest.chars().any(|c| c.is_whitespace() || c.is_control());
    }
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

#[cfg(test)]
mod tests {
    use super::is_dialable;

    #[test]
    fn dialable_numbers() {
        for ok in [
            "12345",
            "110",
            "*100#",
            "+8657112345",
            "urn:service:sos",
            "URN:service:sos.fire",
        ] {
            assert!(is_dialable(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "12 345",
            "abc",
            "urn:",
            "urn:service",
            "urn::sos",
            "urn:service:s os",
        ] {
            assert!(!is_dialable(bad), "{bad}");
        }
    }
}
