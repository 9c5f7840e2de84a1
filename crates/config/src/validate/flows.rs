//! Checking `[[schedules]]`, `[[tables]]` and `[[flows]]`.
//!
//! This module owns the rules of IVR configuration: schedule hours and dates, table
//! files, and flows — the keys each node type allows and needs, references to nodes,
//! queues, schedules, tables and variables, DTMF keys, prompt files (present, and
//! 8 kHz mono 16-bit PCM WAV), flows borrowing another flow's nodes, and every node
//! reachable from the start.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::entries::is_dialable;
use super::{Definition, Validator};
use crate::flow::{Collect, Flow, Menu, Node, NodeKind, Table, is_dtmf, parse_table};
use crate::load::SourceFile;
use crate::raw::{RawFlow, RawNode, RawSchedule, RawTable, SpannedList};
use crate::schedule::{Date, Schedule, TimeRange, WEEKDAYS};

/// What flows may reference, known once schedules, tables and queues are checked.
pub(super) struct FlowContext<'a> {
    pub queues: &'a HashMap<String, Definition>,
    /// Every schedule name defined (valid or not), so that a broken schedule does not
    /// also break the flows that use it.
    pub schedule_names: &'a HashMap<String, Definition>,
    pub schedules: HashMap<String, Arc<Schedule>>,
    pub tables: &'a HashMap<String, Definition>,
    pub prompts: Prompts,
}

/// Prompt files: `<dir>/<name>.wav`, each checked once.
pub(super) struct Prompts {
    dir: PathBuf,
    checked: HashMap<String, Result<(), String>>,
}

impl Prompts {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            checked: HashMap::new(),
        }
    }

    /// Whether prompt `name` has a usable file; otherwise what is wrong.
    fn check(&mut self, name: &str) -> Result<(), String> {
        if let Some(result) = self.checked.get(name) {
            return result.clone();
        }
        let result = if is_prompt_name(name) {
            let path = self.dir.join(format!("{name}.wav"));
            check_wav(&path).map_err(|e| format!("prompt {name:?}: {e}"))
        } else {
            Err(format!(
                "expected a prompt name (letters, digits, \"_\" or \"-\"; the file is {}/NAME.wav), got {name:?}",
                self.dir.display()
            ))
        };
        self.checked.insert(name.to_owned(), result.clone());
        result
    }
}

fn is_prompt_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A prompt file must be a WAV file of 8000 Hz mono 16-bit PCM, what media plays.
fn check_wav(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{shown} does not exist"));
        }
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let not_wav = || format!("{shown} is not a WAV file (RIFF/WAVE with a fmt chunk)");
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(not_wav());
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let size = usize::try_from(u32_at(at + 4)).unwrap_or(usize::MAX);
        if &bytes[at..at + 4] == b"fmt " {
            if size < 16 || at + 8 + 16 > bytes.len() {
                return Err(not_wav());
            }
            let body = at + 8;
            let (format, channels, rate, bits) = (
                u16_at(body),
                u16_at(body + 2),
                u32_at(body + 4),
                u16_at(body + 14),
            );
            // 1: PCM; 0xFFFE: WAVE_FORMAT_EXTENSIBLE, which sox writes for some files.
            let pcm = format == 1 || format == 0xFFFE;
            if pcm && channels == 1 && rate == 8000 && bits == 16 {
                return Ok(());
            }
            return Err(format!(
                "{shown} must be 8000 Hz mono 16-bit PCM, it is {rate} Hz, {channels} channel(s), {bits}-bit{}",
                if pcm { "" } else { ", not PCM" }
            ));
        }
        at = at.saturating_add(8).saturating_add(size + size % 2);
    }
    Err(not_wav())
}

/// `main`, or `"main menu"` when the id is not a bare TOML key.
fn key_part(id: &str) -> String {
    let bare = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        id.to_owned()
    } else {
        format!("{id:?}")
    }
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name:?}");
    }
    out
}

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

/// The node references of a raw node, whatever its type (keys its type does not allow
/// are reported separately).
fn raw_successors(node: &RawNode) -> Vec<&Spanned<String>> {
    let mut out: Vec<&Spanned<String>> = [
        &node.next,
        &node.on_failure,
        &node.open,
        &node.closed,
        &node.found,
        &node.not_found,
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(choices) = &node.choices {
        out.extend(choices.get_ref().values());
    }
    out
}

/// One flow's raw nodes by id, with where each was written.
struct RawNodes<'a> {
    nodes: BTreeMap<&'a str, (&'a SourceFile, String, &'a RawNode)>,
}

impl<'a> RawNodes<'a> {
    fn of(file: &'a SourceFile, flow_key: &str, flow: &'a RawFlow) -> Self {
        let nodes = flow
            .nodes
            .iter()
            .map(|(id, node)| {
                let key = format!("{flow_key}.nodes.{}", key_part(id));
                (id.as_str(), (file, key, node.get_ref()))
            })
            .collect();
        Self { nodes }
    }

    /// Variables some node sets: `collect` vars, and `result` when a `query` exists.
    fn set_vars(&self) -> BTreeSet<&'a str> {
        let mut vars = BTreeSet::new();
        for (_, _, node) in self.nodes.values() {
            match node.kind.get_ref() {
                NodeKind::Collect => vars.extend(node.var.as_ref().map(|v| v.get_ref().as_str())),
                NodeKind::Query => {
                    vars.insert("result");
                }
                _ => {}
            }
        }
        vars
    }
}

impl Validator {
    pub(super) fn schedule(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawSchedule,
        names: &mut HashMap<String, Definition>,
    ) -> Option<Schedule> {
        let name_key = format!("{key}.name");
        let mut ok = self.id(file, &name_key, &raw.name);
        let name = raw.name.get_ref().clone();
        ok &= self.define(
            names,
            file,
            &name_key,
            &raw.name,
            name.clone(),
            "schedule name",
        );
        let offset = *raw.utc_offset_minutes.get_ref();
        if !(-720..=840).contains(&offset) {
            let message = format!(
                "expected minutes from -720 to 840 (UTC-12:00 to UTC+14:00; 480 is UTC+8), got {offset}"
            );
            let span = Some(raw.utc_offset_minutes.span());
            self.error(file, &format!("{key}.utc_offset_minutes"), span, message);
            ok = false;
        }
        let days = [
            &raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun,
        ];
        let mut weekly: [Vec<TimeRange>; 7] = Default::default();
        for ((day, ranges), out) in WEEKDAYS.iter().zip(days).zip(&mut weekly) {
            let Some(ranges) = ranges else { continue };
            let mut last: Option<TimeRange> = None;
            for (i, text) in ranges.get_ref().iter().enumerate() {
                let range_key = format!("{key}.{day}[{i}]");
                match TimeRange::parse(text.get_ref()) {
                    Ok(range) => {
                        if let Some(prev) = last.filter(|prev| range.start < prev.end) {
                            let message = format!(
                                "expected ranges in order without overlap; {range} starts before {prev} ends"
                            );
                            self.error(file, &range_key, Some(text.span()), message);
                            ok = false;
                        }
                        last = Some(range);
                        out.push(range);
                    }
                    Err(message) => {
                        self.error(file, &range_key, Some(text.span()), message);
                        ok = false;
                    }
                }
            }
        }
        let holidays = self.dates(file, key, "holidays", &raw.holidays, &mut ok);
        let extra_workdays = self.dates(file, key, "extra_workdays", &raw.extra_workdays, &mut ok);
        for (i, text) in raw.extra_workdays.iter().enumerate() {
            if Date::parse(text.get_ref()).is_some_and(|d| holidays.contains(&d)) {
                let message = format!("{} is also listed in holidays", text.get_ref());
                self.error(
                    file,
                    &format!("{key}.extra_workdays[{i}]"),
                    Some(text.span()),
                    message,
                );
                ok = false;
            }
        }
        if let Some(first) = raw.extra_workdays.first()
            && weekly[0].is_empty()
        {
            let message =
                "extra workdays open with Monday's hours, and \"mon\" has none".to_owned();
            self.error(
                file,
                &format!("{key}.extra_workdays"),
                Some(first.span()),
                message,
            );
            ok = false;
        }
        ok.then(|| Schedule {
            name,
            utc_offset_minutes: i32::try_from(offset).unwrap_or(0),
            weekly,
            holidays,
            extra_workdays,
        })
    }

    fn dates(
        &mut self,
        file: &SourceFile,
        key: &str,
        field: &str,
        list: &[Spanned<String>],
        ok: &mut bool,
    ) -> BTreeSet<Date> {
        let mut out = BTreeSet::new();
        for (i, text) in list.iter().enumerate() {
            let message = match Date::parse(text.get_ref()) {
                Some(date) if out.insert(date) => continue,
                Some(_) => format!("{} is listed twice", text.get_ref()),
                None => format!(
                    "expected a date \"YYYY-MM-DD\" such as \"2026-10-01\", got {:?}",
                    text.get_ref()
                ),
            };
            self.error(
                file,
                &format!("{key}.{field}[{i}]"),
                Some(text.span()),
                message,
            );
            *ok = false;
        }
        out
    }

    pub(super) fn table(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawTable,
        names: &mut HashMap<String, Definition>,
    ) -> Option<Table> {
        let name_key = format!("{key}.name");
        let mut ok = self.id(file, &name_key, &raw.name);
        ok &= self.define(
            names,
            file,
            &name_key,
            &raw.name,
            raw.name.get_ref().clone(),
            "table name",
        );
        let file_key = format!("{key}.file");
        if !self.non_empty(file, &file_key, &raw.file) {
            return None;
        }
        let dir = file.path.parent().unwrap_or(Path::new(""));
        let path = dir.join(raw.file.get_ref());
        let table = Table {
            name: raw.name.get_ref().clone(),
            path,
        };
        match std::fs::read_to_string(&table.path) {
            Ok(text) => {
                if let Err(mut diagnostic) = parse_table(&table.path.display().to_string(), &text) {
                    // Reported in the CSV file itself, where the problem is.
                    diagnostic.message = format!("table {:?}: {}", table.name, diagnostic.message);
                    self.errors.push(diagnostic);
                    ok = false;
                }
            }
            Err(e) => {
                let message = format!("cannot read table file \"{}\": {e}", table.path.display());
                self.error(file, &file_key, Some(raw.file.span()), message);
                ok = false;
            }
        }
        ok.then_some(table)
    }

    /// Checks every flow in every file; flows with `nodes_from` after the others.
    pub(super) fn flows(
        &mut self,
        files: &[SourceFile],
        ctx: &mut FlowContext<'_>,
        flow_names: &mut HashMap<String, Definition>,
    ) -> Vec<Arc<Flow>> {
        let mut all: Vec<(&SourceFile, String, &RawFlow)> = Vec::new();
        for file in files {
            for (i, flow) in file.raw.flows.iter().enumerate() {
                all.push((file, format!("flows[{i}]"), flow.get_ref()));
            }
        }
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        let mut named = vec![false; all.len()];
        for (i, (file, key, flow)) in all.iter().enumerate() {
            let name_key = format!("{key}.name");
            let mut ok = self.id(file, &name_key, &flow.name);
            let name = flow.name.get_ref().clone();
            ok &= self.define(flow_names, file, &name_key, &flow.name, name, "flow name");
            named[i] = ok;
            by_name.entry(flow.name.get_ref().as_str()).or_insert(i);
        }
        let mut built: Vec<Option<Arc<Flow>>> = vec![None; all.len()];
        // Flows of their own first, so that borrowers find their base built.
        for (i, (file, key, flow)) in all.iter().enumerate() {
            if flow.nodes_from.is_none() {
                let nodes = RawNodes::of(file, key, flow);
                let result = self.flow(file, key, flow, None, &nodes, ctx);
                built[i] = result.filter(|_| named[i]).map(Arc::new);
            }
        }
        for (i, (file, key, flow)) in all.iter().enumerate() {
            let Some(base_name) = &flow.nodes_from else {
                continue;
            };
            let base_key = format!("{key}.nodes_from");
            let Some(&b) = by_name.get(base_name.get_ref().as_str()) else {
                let message = format!(
                    "flow {:?} is not defined (defined flows: {})",
                    base_name.get_ref(),
                    quoted_list(by_name.keys().copied())
                );
                self.error(file, &base_key, Some(base_name.span()), message);
                continue;
            };
            let (base_file, base_flow_key, base_flow) = (all[b].0, &all[b].1, all[b].2);
            if base_flow.nodes_from.is_some() {
                let message = format!(
                    "flow {:?} borrows its nodes itself; take them from a flow that defines its own",
                    base_name.get_ref()
                );
                self.error(file, &base_key, Some(base_name.span()), message);
                continue;
            }
            // A broken base has been reported; its borrowers are not, to avoid cascades.
            let Some(base) = built[b].clone() else {
                continue;
            };
            let mut nodes = RawNodes::of(base_file, base_flow_key, base_flow);
            nodes.nodes.extend(RawNodes::of(file, key, flow).nodes);
            let result = self.flow(file, key, flow, Some(&base), &nodes, ctx);
            built[i] = result.filter(|_| named[i]).map(Arc::new);
        }
        built.into_iter().flatten().collect()
    }

    /// One flow; `nodes` holds every node by id, the base's (when borrowing) replaced
    /// by the flow's own.
    fn flow(
        &mut self,
        file: &SourceFile,
        key: &str,
        flow: &RawFlow,
        base: Option<&Flow>,
        nodes: &RawNodes<'_>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Flow> {
        let before = self.errors.len();
        let flow_name = flow.name.get_ref();
        let start = match (&flow.start, base) {
            (Some(start), _) => Some(start),
            (None, Some(_)) => None,
            (None, None) => {
                let message = "missing; a flow needs the id of its start node".to_owned();
                self.error(
                    file,
                    &format!("{key}.start"),
                    Some(flow.name.span()),
                    message,
                );
                return None;
            }
        };
        if base.is_none() && flow.nodes.is_empty() {
            let message = "a flow needs at least one node ([flows.nodes.ID] tables)".to_owned();
            self.error(
                file,
                &format!("{key}.nodes"),
                Some(flow.name.span()),
                message,
            );
            return None;
        }
        let start_id = match (start, base) {
            (Some(start), _) => {
                self.node_ref(file, &format!("{key}.start"), start, flow_name, nodes);
                start.get_ref().clone()
            }
            (None, Some(base)) => base.start.clone(),
            (None, None) => return None,
        };
        let set_vars = nodes.set_vars();
        let mut typed = base.map(|b| b.nodes.clone()).unwrap_or_default();
        for (id, node) in &flow.nodes {
            let node_key = format!("{key}.nodes.{}", key_part(id));
            // Located at the node's table, `[flows.nodes.ID]`.
            let id = Spanned::new(node.span(), id.clone());
            if !self.id(file, &node_key, &id) {
                continue;
            }
            let checked = self.node(
                file,
                &node_key,
                &id,
                node.get_ref(),
                flow_name,
                nodes,
                &set_vars,
                ctx,
            );
            if let Some(checked) = checked {
                typed.insert(id.into_inner(), checked);
            }
        }
        if self.errors.len() != before {
            return None;
        }
        // Reachability only on a flow whose references all resolve: a misspelled
        // reference is one problem, not two.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo = vec![start_id.as_str()];
        while let Some(id) = todo.pop() {
            if seen.insert(id)
                && let Some((_, _, node)) = nodes.nodes.get(id)
            {
                todo.extend(
                    raw_successors(node)
                        .into_iter()
                        .map(|s| s.get_ref().as_str()),
                );
            }
        }
        for (id, node) in &flow.nodes {
            if !seen.contains(id.as_str()) {
                let node_key = format!("{key}.nodes.{}", key_part(id));
                let message = format!(
                    "node {id:?} is not reachable from the start node {start_id:?}; remove it or lead to it"
                );
                self.error(file, &node_key, Some(node.span()), message);
            }
        }
        (self.errors.len() == before).then(|| Flow {
            name: flow_name.clone(),
            start: start_id,
            nodes: typed,
            record: flow.record.or(base.map(|b| b.record)).unwrap_or(true),
        })
    }

    /// A reference to a node of the flow.
    fn node_ref(
        &mut self,
        file: &SourceFile,
        key: &str,
        target: &Spanned<String>,
        flow_name: &str,
        nodes: &RawNodes<'_>,
    ) -> bool {
        if nodes.nodes.contains_key(target.get_ref().as_str()) {
            return true;
        }
        let message = format!(
            "node {:?} is not defined in flow {flow_name:?} (its nodes: {})",
            target.get_ref(),
            quoted_list(nodes.nodes.keys().copied())
        );
        self.error(file, key, Some(target.span()), message);
        false
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

    fn prompt_list(
        &mut self,
        file: &SourceFile,
        key: &str,
        list: Option<&SpannedList>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Vec<String>> {
        let Some(list) = list else {
            return Some(Vec::new());
        };
        let mut ok = true;
        for (i, prompt) in list.get_ref().iter().enumerate() {
            ok &= self.prompt(file, &format!("{key}[{i}]"), prompt, ctx);
        }
        ok.then(|| list.get_ref().iter().map(|p| p.get_ref().clone()).collect())
    }

    fn prompt(
        &mut self,
        file: &SourceFile,
        key: &str,
        prompt: &Spanned<String>,
        ctx: &mut FlowContext<'_>,
    ) -> bool {
        match ctx.prompts.check(prompt.get_ref()) {
            Ok(()) => true,
            Err(message) => {
                self.error(file, key, Some(prompt.span()), message);
                false
            }
        }
    }

    /// One DTMF key from a one-character string (`""` gives `None` when `empty_ok`).
    fn dtmf_key(
        &mut self,
        file: &SourceFile,
        key: &str,
        text: &Spanned<String>,
        empty_ok: bool,
    ) -> Result<Option<char>, ()> {
        let value = text.get_ref();
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (None, _) if empty_ok => return Ok(None),
            (Some(c), None) if is_dtmf(c) => return Ok(Some(c)),
            _ => {}
        }
        let none = if empty_ok { ", or \"\" for none" } else { "" };
        let message = format!("expected one DTMF key (0-9, *, #, A-D){none}, got {value:?}");
        self.error(file, key, Some(text.span()), message);
        Err(())
    }

    /// A positive number of seconds (or digits), within `max`.
    fn bounded(
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

    fn variable(
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

    #[allow(clippy::too_many_arguments)]
    fn node(
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
        let to = |v: &mut Self, field: &str, target: &Option<Spanned<String>>| -> Option<String> {
            let target = target.as_ref()?;
            v.node_ref(file, &k(field), target, flow_name, nodes)
                .then(|| target.get_ref().clone())
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
            NodeKind::Menu => {
                let prompts =
                    self.non_empty_prompts(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let invalid = self.prompt_list(
                    file,
                    &k("invalid_prompts"),
                    raw.invalid_prompts.as_ref(),
                    ctx,
                );
                let timeout_prompts = self.prompt_list(
                    file,
                    &k("timeout_prompts"),
                    raw.timeout_prompts.as_ref(),
                    ctx,
                );
                let timeout = self.bounded(
                    file,
                    &k("timeout_secs"),
                    raw.timeout_secs.as_ref(),
                    5,
                    (1, 600),
                );
                let retries = self.bounded(file, &k("retries"), raw.retries.as_ref(), 2, (0, 20));
                let repeat_key = match &raw.repeat_key {
                    Some(text) => self.dtmf_key(file, &k("repeat_key"), text, false).ok()?,
                    None => None,
                };
                let choices_raw = raw.choices.as_ref()?;
                let mut choices = BTreeMap::new();
                if choices_raw.get_ref().is_empty() {
                    let message =
                        "expected at least one choice, such as { \"1\" = \"node\" }".to_owned();
                    self.error(file, &k("choices"), Some(choices_raw.span()), message);
                }
                for (digit, target) in choices_raw.get_ref() {
                    let choice_key = format!("{key}.choices.{}", key_part(digit.get_ref()));
                    let Ok(Some(c)) = self.dtmf_key(file, &choice_key, digit, false) else {
                        continue;
                    };
                    if repeat_key == Some(c) {
                        let message =
                            format!("\"{c}\" is also the repeat_key; a key does one thing");
                        self.error(file, &choice_key, Some(digit.span()), message);
                    } else if self.node_ref(file, &choice_key, target, flow_name, nodes) {
                        choices.insert(c, target.get_ref().clone());
                    }
                }
                let on_failure = to(self, "on_failure", &raw.on_failure);
                Node::Menu(Menu {
                    prompts: prompts?,
                    choices,
                    timeout: Duration::from_secs(timeout?.into()),
                    retries: retries?,
                    invalid_prompts: invalid?,
                    timeout_prompts: timeout_prompts?,
                    repeat_key,
                    on_failure: on_failure?,
                })
            }
            NodeKind::Collect => {
                let prompts =
                    self.non_empty_prompts(file, &k("prompts"), raw.prompts.as_ref(), ctx);
                let invalid = self.prompt_list(
                    file,
                    &k("invalid_prompts"),
                    raw.invalid_prompts.as_ref(),
                    ctx,
                );
                let timeout_prompts = self.prompt_list(
                    file,
                    &k("timeout_prompts"),
                    raw.timeout_prompts.as_ref(),
                    ctx,
                );
                let timeout = self.bounded(
                    file,
                    &k("timeout_secs"),
                    raw.timeout_secs.as_ref(),
                    5,
                    (1, 600),
                );
                let inter = self.bounded(
                    file,
                    &k("inter_digit_secs"),
                    raw.inter_digit_secs.as_ref(),
                    3,
                    (1, 600),
                );
                let retries = self.bounded(file, &k("retries"), raw.retries.as_ref(), 2, (0, 20));
                let max = self.bounded(file, &k("max_digits"), raw.max_digits.as_ref(), 0, (1, 64));
                let min = self.bounded(file, &k("min_digits"), raw.min_digits.as_ref(), 1, (0, 64));
                if let (Some(min_n), Some(max_n), Some(span)) =
                    (min, max, raw.min_digits.as_ref().map(Spanned::span))
                    && min_n > max_n
                {
                    let message = format!("expected at most max_digits ({max_n}), got {min_n}");
                    self.error(file, &k("min_digits"), Some(span), message);
                }
                let terminator = match &raw.terminator {
                    Some(text) => self.dtmf_key(file, &k("terminator"), text, true).ok(),
                    None => Some(Some('#')),
                };
                let var = raw.var.as_ref()?;
                let var_ok = self.variable(file, &k("var"), var, None);
                let next = to(self, "next", &raw.next);
                let on_failure = to(self, "on_failure", &raw.on_failure);
                if self.errors.len() != before || !var_ok {
                    return None;
                }
                Node::Collect(Collect {
                    prompts: prompts?,
                    min_digits: usize::try_from(min?).ok()?,
                    max_digits: usize::try_from(max?).ok()?,
                    terminator: terminator?,
                    timeout: Duration::from_secs(timeout?.into()),
                    inter_digit_timeout: Duration::from_secs(inter?.into()),
                    retries: retries?,
                    invalid_prompts: invalid?,
                    timeout_prompts: timeout_prompts?,
                    var: var.get_ref().clone(),
                    next: next?,
                    on_failure: on_failure?,
                })
            }
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

    /// Prompts that must not be empty (a `play`, `menu` or `collect` node says something).
    fn non_empty_prompts(
        &mut self,
        file: &SourceFile,
        key: &str,
        list: Option<&SpannedList>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Vec<String>> {
        let list = list?;
        if list.get_ref().is_empty() {
            let message = "expected at least one prompt".to_owned();
            self.error(file, key, Some(list.span()), message);
            return None;
        }
        self.prompt_list(file, key, Some(list), ctx)
    }
}
