//! Checking `[[schedules]]`, `[[tables]]` and `[[flows]]`.
//!
//! This module owns the rules of IVR configuration and the per-flow pass: each flow's
//! name, start node and nodes, flows borrowing another flow's nodes, and references
//! to nodes. What a flow may reference ([`FlowContext`]) is built by the caller once
//! schedules, tables and queues are checked. The rest is split by what it checks:
//! [`schedules`] and [`tables`] (the sections flows refer to), [`nodes`] (the keys
//! each node type allows and needs, and their values) with [`input`] (the nodes that
//! read DTMF keys), [`prompts`] (prompt files: present, and 8 kHz mono 16-bit PCM
//! WAV), and [`graph`] (every node reachable from the start).

mod graph;
mod input;
mod nodes;
mod prompts;
mod schedules;
mod tables;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use toml::Spanned;

pub(super) use self::prompts::Prompts;
use super::{Definition, Validator};
use crate::flow::{Flow, NodeKind};
use crate::load::SourceFile;
use crate::raw::{RawFlow, RawNode};
use crate::schedule::Schedule;

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
        self.unreachable(file, key, flow, nodes, &start_id);
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

    /// The node that an optional key leads to, when it names a node of the flow.
    fn target_node(
        &mut self,
        file: &SourceFile,
        key: &str,
        target: Option<&Spanned<String>>,
        flow_name: &str,
        nodes: &RawNodes<'_>,
    ) -> Option<String> {
        let target = target?;
        self.node_ref(file, key, target, flow_name, nodes)
            .then(|| target.get_ref().clone())
    }
}
