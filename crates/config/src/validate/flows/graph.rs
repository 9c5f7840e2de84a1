//! How a flow's nodes lead to one another: every node must be reachable from the
//! start. Kept apart from the per-node checks because it looks at the whole flow
//! (borrowed nodes included), and runs only once every reference resolves.

use std::collections::HashSet;

use toml::Spanned;

use super::{RawNodes, key_part};
use crate::load::SourceFile;
use crate::raw::{RawFlow, RawNode};
use crate::validate::Validator;

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

impl Validator {
    /// Reports each of the flow's own nodes that `nodes` give no path to from
    /// `start_id`.
    pub(super) fn unreachable(
        &mut self,
        file: &SourceFile,
        key: &str,
        flow: &RawFlow,
        nodes: &RawNodes<'_>,
        start_id: &str,
    ) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo = vec![start_id];
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
    }
}
