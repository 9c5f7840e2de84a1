//! The keys each node type allows and needs, and the checks of every node type but
//! the DTMF-reading ones (in [`super::input`]): references to queues, schedules,
//! tables and variables, transfer numbers, `say` vocabularies, and the bounded
//! numbers and variable names that several node types share.

use std::collections::{BTreeSet, HashMap};

use toml::Spanned;

use super::{FlowContext, RawNodes, quoted_list};
use crate::flow::{Node, NodeKind};
use crate::load::SourceFile;
use crate::raw::RawNode;
use crate::validate::entries::is_dialable;
use crate::validate::{Definition, Validator};

/// A variable name: a letter or `_`, then letters, digits or `_`.
fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The keys each node type allows, required ones marked with `!`.
fn node_keys(kind: NodeKind) -> &'static [&'static str] {
    match kind {
        NodeKind::Play => &["prompts!", "next!"],
        NodeKind::Menu => &[
            "prompts!",
            "choices!",
            "timeout_secs",
            "retries",
            "invalid_prompts",
            "timeout_prompts",
            "repeat_key",
            "on_failure!",
        ],
        NodeKind::Collect => &[
            "prompts!",
            "max_digits!",
            "min_digits",
            "terminator",
            "timeout_secs",
            "inter_digit_secs",
            "retries",
            "invalid_prompts",
            "timeout_prompts",
            "var!",
            "next!",
            "on_failure!",
        ],
        NodeKind::Hours => &["schedule!", "open!", "closed!"],
        NodeKind::Queue => &["prompts", "queue!", "priority", "skills", "moh"],
        NodeKind::Transfer => &["prompts", "number!"],
        NodeKind::Voicemail => &["prompts", "max_secs", "next!"],
        NodeKind::Query => &["table!", "key_var!", "found!", "not_found!"],
        NodeKind::Say => &["prompts", "var!", "as!", "prompts_after", "next!"],
        NodeKind::Hangup => &["prompts"],
    }
}

impl Validator {
    /// One node: first the keys its type allows and needs, then their values.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn node(
        &mut self,
        file: &SourceFile,
        key: &str,
        id: &Spanned<String>,
        raw: &RawNode,
        flow_name: &str,
        nodes: &RawNodes<'_>,
        set_vars: &BTreeSet<&str>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Node> {
        let before = self.errors.len();
        let kind = *raw.kind.get_ref();
        let allowed = node_keys(kind);
        let present = raw.present_keys();
        for (name, span) in &present {
            let is_allowed = allowed
                .iter()
                .any(|a| a.strip_suffix('!').unwrap_or(a) == *name);
            if !is_allowed {
                let keys: Vec<&str> = allowed
                    .iter()
                    .map(|a| a.strip_suffix('!').unwrap_or(a))
                    .collect();
                let message = format!(
                    "not allowed in a \"{kind}\" node (its keys: type, {})",
                    keys.join(", ")
                );
                self.error(file, &format!("{key}.{name}"), Some(span.clone()), message);
            }
        }
        for required in allowed.iter().filter_map(|a| a.strip_suffix('!')) {
            if !present.iter().any(|(name, _)| name == &required) {
                let message = format!("missing; a \"{kind}\" node needs {required}");
                self.error(file, &format!("{key}.{required}"), Some(id.span()), message);
            }
        }
        if self.errors.len() != before {
            return None;
        }
        // From here every required key is present.
        let k = |field: &str| format!("{key}.{field}");
        let to = |v: &mut Self, field: &str, target: &Option<Spanned<String>>| {
            v.target_node(file, &k(field), target.as_ref(), flow_name, nodes)
        };
        let node = match kind {
            NodeKind::Play => {
                let prompts =
                    self.non_empty_prompts(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let next = to(self, "next", &raw.next);
                Node::Play {
                    prompts: prompts?,
                    next: next?,
                }
            }
            NodeKind::Menu => self.menu(file, key, raw, flow_name, nodes, ctx)?,
            NodeKind::Collect => self.collect(file, key, raw, flow_name, nodes, ctx)?,
            NodeKind::Hours => {
                let schedule = raw.schedule.as_ref()?;
                let known = self.defined_ref(
                    file,
                    &k("schedule"),
                    schedule,
                    "schedule",
                    ctx.schedule_names,
                );
                let open = to(self, "open", &raw.open);
                let closed = to(self, "closed", &raw.closed);
                if !known {
                    return None;
                }
                // A broken schedule has been reported where it is defined.
                let schedule = ctx.schedules.get(schedule.get_ref())?.clone();
                Node::Hours {
                    schedule,
                    open: open?,
                    closed: closed?,
                }
            }
            NodeKind::Queue => {
                let prompts = self.prompt_list(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let queue = raw.queue.as_ref()?;
                let known = self.defined_ref(file, &k("queue"), queue, "queue", ctx.queues);
                let mut skills = Vec::new();
                for (i, skill) in raw.skills.iter().flat_map(|s| s.get_ref()).enumerate() {
                    if self.id(file, &format!("{key}.skills[{i}]"), skill) {
                        skills.push(skill.get_ref().clone());
                    }
                }
                let moh = match &raw.moh {
                    Some(moh) => Some(
                        self.prompt(file, &k("moh"), moh, ctx)
                            .then(|| moh.get_ref().clone()),
                    ),
                    None => Some(None),
                };
                if self.errors.len() != before || !known {
                    return None;
                }
                Node::Queue {
                    prompts: prompts?,
                    queue: queue.get_ref().clone(),
                    priority: raw.priority.as_ref().map_or(0, |p| *p.get_ref()),
                    skills,
                    moh: moh?,
                }
            }
            NodeKind::Transfer => {
                let prompts = self.prompt_list(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let number = raw.number.as_ref()?;
                if !is_dialable(number.get_ref()) {
                    let message = format!(
                        "expected digits (with \"*\", \"#\" or a leading \"+\") or a URN, got {:?}",
                        number.get_ref()
                    );
                    self.error(file, &k("number"), Some(number.span()), message);
                    return None;
                }
                Node::Transfer {
                    prompts: prompts?,
                    number: number.get_ref().clone(),
                }
            }
            NodeKind::Voicemail => {
                let prompts = self.prompt_list(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let max_secs =
                    self.bounded(file, &k("max_secs"), raw.max_secs.as_ref(), 120, (1, 3600));
                let next = to(self, "next", &raw.next);
                Node::Voicemail {
                    prompts: prompts?,
                    max_secs: max_secs?,
                    next: next?,
                }
            }
            NodeKind::Query => {
                let table = raw.table.as_ref()?;
                let known = self.defined_ref(file, &k("table"), table, "table", ctx.tables);
                let key_var = raw.key_var.as_ref()?;
                let var_ok =
                    self.variable(file, &k("key_var"), key_var, Some((flow_name, set_vars)));
                let found = to(self, "found", &raw.found);
                let not_found = to(self, "not_found", &raw.not_found);
                if !(known && var_ok) {
                    return None;
                }
                Node::Query {
                    table: table.get_ref().clone(),
                    key_var: key_var.get_ref().clone(),
                    found: found?,
                    not_found: not_found?,
                }
            }
            NodeKind::Say => {
                let prompts = self.prompt_list(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let after =
                    self.prompt_list(file, &k("prompts_after"), raw.prompts_after.as_ref(), ctx);
                let var = raw.var.as_ref()?;
                let var_ok = self.variable(file, &k("var"), var, Some((flow_name, set_vars)));
                let say_as = raw.say_as.as_ref()?;
                let missing: Vec<&str> = say_as
                    .get_ref()
                    .vocabulary()
                    .into_iter()
                    .filter(|word| ctx.prompts.check(word).is_err())
                    .collect();
                if !missing.is_empty() {
                    let message = format!(
                        "as = \"{}\" needs prompts that have no usable file in {}: {}",
                        say_as.get_ref().as_str(),
                        ctx.prompts.dir.display(),
                        quoted_list(missing)
                    );
                    self.error(file, &k("as"), Some(say_as.span()), message);
                    return None;
                }
                let next = to(self, "next", &raw.next);
                if !var_ok {
                    return None;
                }
                Node::Say {
                    prompts: prompts?,
                    var: var.get_ref().clone(),
                    say_as: *say_as.get_ref(),
                    prompts_after: after?,
                    next: next?,
                }
            }
            NodeKind::Hangup => Node::Hangup {
                prompts: self.prompt_list(file, &k("prompts"), raw.prompts.as_ref(), ctx)?,
            },
        };
        (self.errors.len() == before).then_some(node)
    }

    /// A name that must be among `defined`, such as a queue or a table.
    fn defined_ref(
        &mut self,
        file: &SourceFile,
        key: &str,
        target: &Spanned<String>,
        what: &str,
        defined: &HashMap<String, Definition>,
    ) -> bool {
        if defined.contains_key(target.get_ref()) {
            return true;
        }
        let list = if defined.is_empty() {
            format!("no {what} is defined")
        } else {
            format!(
                "defined {what}s: {}",
                quoted_list(defined.keys().map(String::as_str))
            )
        };
        let message = format!("{what} {:?} is not defined ({list})", target.get_ref());
        self.error(file, key, Some(target.span()), message);
        false
    }

    /// A positive number of seconds (or digits), within `max`.
    pub(super) fn bounded(
        &mut self,
        file: &SourceFile,
        key: &str,
        value: Option<&Spanned<u32>>,
        default: u32,
        (min, max): (u32, u32),
    ) -> Option<u32> {
        let Some(value) = value else {
            return Some(default);
        };
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            return Some(n);
        }
        let message = format!("expected an integer from {min} to {max}, got {n}");
        self.error(file, key, Some(value.span()), message);
        None
    }

    pub(super) fn variable(
        &mut self,
        file: &SourceFile,
        key: &str,
        var: &Spanned<String>,
        read: Option<(&str, &BTreeSet<&str>)>,
    ) -> bool {
        let name = var.get_ref();
        let message = if !is_var_name(name) {
            format!(
                "expected a variable name (a letter or \"_\", then letters, digits or \"_\"), got {name:?}"
            )
        } else if let Some((flow, set)) = read.filter(|(_, set)| !set.contains(name.as_str())) {
            let set = if set.is_empty() {
                "no node sets a variable".to_owned()
            } else {
                format!("variables set: {}", quoted_list(set.iter().copied()))
            };
            format!(
                "variable {name:?} is never set in flow {flow:?} ({set}; a collect node sets its var, a query node sets \"result\")"
            )
        } else {
            return true;
        };
        self.error(file, key, Some(var.span()), message);
        false
    }
}
