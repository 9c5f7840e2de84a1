//! Checking `[[queues]]`: the queue's name, its members (users, listed once), each
//! member's penalty and tier, and the ACD options, turned into the ACD's own
//! [`QueueSettings`] so the engine passes them through unchanged. Overflow targets are
//! checked once every queue is known.

use std::collections::HashMap;
use std::time::Duration;

use lifeline_acd::{Member, PenaltyWiden, QueueSettings};

use super::{Definition, Validator};
use crate::load::SourceFile;
use crate::model::{Queue, QueueMember};
use crate::raw::RawQueue;

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl Validator {
    pub(super) fn queue(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawQueue,
        sip_names: &HashMap<String, Definition>,
        queue_names: &mut HashMap<String, Definition>,
    ) -> Option<Queue> {
        let name = &raw.name;
        let name_key = format!("{key}.name");
        let mut ok = self.id(file, &name_key, name);
        // Defined even when malformed, so that references to it do not cascade.
        ok &= self.define(
            queue_names,
            file,
            &name_key,
            name,
            name.get_ref().clone(),
            "queue name",
        );
        let mut listed: HashMap<&str, usize> = HashMap::new();
        for (i, member) in raw.members.iter().enumerate() {
            let member_key = format!("{key}.members[{i}]");
            let id = member.get_ref().as_str();
            let message = match (sip_names.get(id), listed.insert(id, i)) {
                (_, Some(first)) => format!("{id:?} is listed twice (also members[{first}])"),
                (Some(def), None) if def.what == "user id" => continue,
                (Some(_), None) => format!("{id:?} is a call box, not a user id"),
                (None, None) => format!("{id:?} is not a user id (no [[users]] entry has it)"),
            };
            self.error(file, &member_key, Some(member.span()), message);
            ok = false;
        }
        for (field, map) in [("penalties", &raw.penalties), ("tiers", &raw.tiers)] {
            for (id, value) in map {
                if !listed.contains_key(id.as_str()) {
                    let message = format!("{id:?} is not one of this queue's members");
                    self.error(file, &format!("{key}.{field}"), Some(value.span()), message);
                    ok = false;
                }
            }
        }
        ok &= self.queue_timers(file, key, raw);
        let exit_key = self.key(
            file,
            &format!("{key}.exit_key"),
            raw.exit_key.as_ref(),
            &mut ok,
        );
        let callback_key = self.key(
            file,
            &format!("{key}.callback_key"),
            raw.callback_key.as_ref(),
            &mut ok,
        );
        if exit_key.is_some() && exit_key == callback_key {
            let message = "the callback key is also the exit key".to_owned();
            let span = raw.callback_key.as_ref().map(|k| k.span());
            self.error(file, &format!("{key}.callback_key"), span, message);
            ok = false;
        }
        let settings = QueueSettings {
            strategy: raw.strategy,
            priority: raw.priority,
            timeout: raw.timeout_secs.map(secs),
            max_len: raw.max_len.map(|n| n as usize),
            join_empty: raw.join_empty.unwrap_or_default(),
            leave_empty: raw.leave_empty.unwrap_or_default(),
            tier_wait: raw.tier_wait_secs.as_ref().map(|t| secs(*t.get_ref())),
            penalty_widen: raw.penalty_widen.as_ref().map(|w| {
                let w = w.get_ref();
                PenaltyWiden {
                    every: secs(w.every_secs),
                    step: w.step,
                    start: w.start,
                }
            }),
            service_level: raw.service_level_secs.map_or(Duration::from_secs(20), secs),
            announce_every: raw.announce_every_secs.as_ref().map(|t| secs(*t.get_ref())),
            exit_key,
            overflow: raw.overflow.as_ref().map(|o| o.get_ref().clone()),
            voicemail_on_timeout: raw.voicemail_on_timeout.unwrap_or(false),
            ring_timeout: raw.ring_timeout_secs.as_ref().map(|t| secs(*t.get_ref())),
        };
        let members = raw
            .members
            .iter()
            .map(|m| {
                let id = m.get_ref();
                let get = |map: &std::collections::BTreeMap<String, toml::Spanned<u32>>| {
                    map.get(id).map_or(0, |v| *v.get_ref())
                };
                QueueMember {
                    id: id.clone(),
                    member: Member {
                        penalty: get(&raw.penalties),
                        tier: get(&raw.tiers),
                    },
                }
            })
            .collect();
        ok.then(|| Queue {
            name: name.get_ref().clone(),
            members,
            record: raw.record.unwrap_or(true),
            satisfaction_survey: raw.satisfaction_survey.unwrap_or(false),
            callback_key,
            callback_on_abandon: raw.callback_on_abandon.unwrap_or(false),
            settings,
        })
    }

    /// One keypad key (`0`–`9`, `*`, `#`); reports `key` and clears `ok` otherwise.
    fn key(
        &mut self,
        file: &SourceFile,
        key: &str,
        value: Option<&toml::Spanned<String>>,
        ok: &mut bool,
    ) -> Option<char> {
        let value = value?;
        let mut chars = value.get_ref().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Some(c),
            _ => {
                let message = format!("expected one key (0-9, * or #), got {:?}", value.get_ref());
                self.error(file, key, Some(value.span()), message);
                *ok = false;
                None
            }
        }
    }

    /// Durations that must be positive to mean anything.
    fn queue_timers(&mut self, file: &SourceFile, key: &str, raw: &RawQueue) -> bool {
        let mut ok = true;
        for (field, value) in [
            ("tier_wait_secs", &raw.tier_wait_secs),
            ("announce_every_secs", &raw.announce_every_secs),
            ("ring_timeout_secs", &raw.ring_timeout_secs),
        ] {
            if let Some(v) = value {
                ok &= self.at_least(file, &format!("{key}.{field}"), v, 1);
            }
        }
        if let Some(w) = &raw.penalty_widen
            && w.get_ref().every_secs == 0
        {
            let message = "every_secs must be at least 1".to_owned();
            self.error(
                file,
                &format!("{key}.penalty_widen"),
                Some(w.span()),
                message,
            );
            ok = false;
        }
        ok
    }

    /// Each queue's `overflow` names another defined queue.
    pub(super) fn overflow_targets(
        &mut self,
        files: &[SourceFile],
        queue_names: &HashMap<String, Definition>,
    ) {
        for file in files {
            for (i, q) in file.raw.queues.iter().enumerate() {
                let q = q.get_ref();
                let Some(to) = &q.overflow else { continue };
                let key = format!("queues[{i}].overflow");
                let message = if to.get_ref() == q.name.get_ref() {
                    "a queue cannot overflow to itself".to_owned()
                } else if queue_names.contains_key(to.get_ref()) {
                    continue;
                } else {
                    format!("queue {:?} is not defined", to.get_ref())
                };
                self.error(file, &key, Some(to.span()), message);
            }
        }
    }
}
