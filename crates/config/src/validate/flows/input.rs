//! The nodes that read DTMF keys from the caller, `menu` and `collect`: their
//! prompts for bad or missing input, timers, retries, keys and digit counts. Split
//! from [`super::nodes`] because they carry most of the per-node rules.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use super::{FlowContext, RawNodes, key_part};
use crate::flow::{Collect, Menu, Node, is_dtmf};
use crate::load::SourceFile;
use crate::raw::RawNode;
use crate::validate::Validator;

impl Validator {
    /// A `menu` node, its keys already known to be the allowed ones.
    pub(super) fn menu(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawNode,
        flow_name: &str,
        nodes: &RawNodes<'_>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Node> {
        let k = |field: &str| format!("{key}.{field}");
        let asking = self.asking(file, key, raw, ctx);
        let retries = self.bounded(file, &k("retries"), raw.retries.as_ref(), 2, (0, 20));
        let repeat_key = match &raw.repeat_key {
            Some(text) => self.dtmf_key(file, &k("repeat_key"), text, false).ok()?,
            None => None,
        };
        let choices_raw = raw.choices.as_ref()?;
        let mut choices = BTreeMap::new();
        if choices_raw.get_ref().is_empty() {
            let message = "expected at least one choice, such as { \"1\" = \"node\" }".to_owned();
            self.error(file, &k("choices"), Some(choices_raw.span()), message);
        }
        for (digit, target) in choices_raw.get_ref() {
            let choice_key = format!("{key}.choices.{}", key_part(digit.get_ref()));
            let Ok(Some(c)) = self.dtmf_key(file, &choice_key, digit, false) else {
                continue;
            };
            if repeat_key == Some(c) {
                let message = format!("\"{c}\" is also the repeat_key; a key does one thing");
                self.error(file, &choice_key, Some(digit.span()), message);
            } else if self.node_ref(file, &choice_key, target, flow_name, nodes) {
                choices.insert(c, target.get_ref().clone());
            }
        }
        let on_failure = self.target_node(
            file,
            &k("on_failure"),
            raw.on_failure.as_ref(),
            flow_name,
            nodes,
        );
        Some(Node::Menu(Menu {
            prompts: asking.prompts?,
            choices,
            timeout: Duration::from_secs(asking.timeout?.into()),
            retries: retries?,
            invalid_prompts: asking.invalid?,
            timeout_prompts: asking.timeout_prompts?,
            repeat_key,
            on_failure: on_failure?,
        }))
    }

    /// A `collect` node, its keys already known to be the allowed ones.
    pub(super) fn collect(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawNode,
        flow_name: &str,
        nodes: &RawNodes<'_>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Node> {
        let k = |field: &str| format!("{key}.{field}");
        let before = self.errors.len();
        let asking = self.asking(file, key, raw, ctx);
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
        let next = self.target_node(file, &k("next"), raw.next.as_ref(), flow_name, nodes);
        let on_failure = self.target_node(
            file,
            &k("on_failure"),
            raw.on_failure.as_ref(),
            flow_name,
            nodes,
        );
        if self.errors.len() != before || !var_ok {
            return None;
        }
        Some(Node::Collect(Collect {
            prompts: asking.prompts?,
            min_digits: usize::try_from(min?).ok()?,
            max_digits: usize::try_from(max?).ok()?,
            terminator: terminator?,
            timeout: Duration::from_secs(asking.timeout?.into()),
            inter_digit_timeout: Duration::from_secs(inter?.into()),
            retries: retries?,
            invalid_prompts: asking.invalid?,
            timeout_prompts: asking.timeout_prompts?,
            var: var.get_ref().clone(),
            next: next?,
            on_failure: on_failure?,
        }))
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
}

/// What a node that waits for keys says and how long it waits: its prompts, the
/// prompts for a wrong key and for silence, and the timeout (each `None` if invalid,
/// already reported).
struct Asking {
    prompts: Option<Vec<String>>,
    invalid: Option<Vec<String>>,
    timeout_prompts: Option<Vec<String>>,
    timeout: Option<u32>,
}

impl Validator {
    /// The keys `menu` and `collect` share: `prompts`, `invalid_prompts`,
    /// `timeout_prompts` and `timeout_secs` (1–600, 5 by default).
    fn asking(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawNode,
        ctx: &mut FlowContext<'_>,
    ) -> Asking {
        let k = |field: &str| format!("{key}.{field}");
        let prompts = self.non_empty_prompts(file, &k("prompts"), raw.prompts.as_ref(), ctx);
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
        Asking {
            prompts,
            invalid,
            timeout_prompts,
            timeout,
        }
    }
}
