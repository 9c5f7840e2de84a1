//! The IVR interpreter: one [`Ivr`] per call walks a configured [`Flow`].
//!
//! This module owns the semantics of IVR nodes — prompts, barge-in, menus with retries
//! and a repeat key, digit collection with terminator, minimum, maximum and
//! inter-digit timeout, opening hours, self-service queries, reading values out,
//! voicemail, and the exits to a queue, a transfer or a hang-up — and the path a call
//! took. It is sans-IO like the protocol cores: no tasks, no clock, no media. The call
//! session feeds it inputs and the time (`now` for timers, `unix_secs` for opening
//! hours), carries out the [`IvrAction`]s it polls, and calls
//! [`Ivr::handle_timeout`] when [`Ivr::poll_timeout`] passes.
//!
//! Contract with the session:
//! - `Play` starts a playback of the prompts in order (a previous one has ended or was
//!   stopped); report its end with [`IvrInput::PlaybackDone`]. After `StopPlayback`,
//!   the stopped playback is not reported.
//! - Report every DTMF key with [`IvrInput::Digit`], whether or not a prompt plays:
//!   menus and collections are interrupted by a key (barge-in); other prompts ignore
//!   keys.
//! - `Query` is answered with [`IvrInput::QueryResult`], `RecordVoicemail` with
//!   [`IvrInput::RecordingDone`] when the caller stops, hangs up or `max_secs` pass.
//! - `Queue`, `Transfer` and `Hangup` end the IVR ([`Ivr::is_finished`]); so does the
//!   caller hanging up, which needs no input: drop the `Ivr`.

pub(crate) mod say;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use lifeline_config::{Flow, Node, NodeKind, is_dtmf};
use serde::Serialize;

pub use say::expand as say_expand;

/// Immediate transitions (nodes that do not wait, such as `hours`) allowed in a row
/// before the flow is taken to loop and the call is hung up.
const MAX_HOPS: usize = 64;

/// What the call session reports to the IVR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrInput {
    /// The caller pressed a DTMF key (`0`–`9`, `*`, `#`, `A`–`D`).
    Digit(char),
    /// The playback started by the last `Play` ended by itself.
    PlaybackDone,
    /// The answer to the last `Query`: the value, or `None` when the key is unknown.
    QueryResult(Option<String>),
    /// The recording started by `RecordVoicemail` ended.
    RecordingDone,
}

/// What the IVR asks the call session to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Play these prompts (names; files are `Config::prompt_path(name)`), in order.
    Play(Vec<String>),
    /// Stop the playback in progress (the caller pressed a key).
    StopPlayback,
    /// Leave the IVR for an ACD queue.
    Queue {
        /// The queue's name.
        queue: String,
        /// The caller's priority in the queue.
        priority: u8,
        /// Skills an agent needs.
        skills: Vec<String>,
        /// Music on hold prompt, when configured.
        moh: Option<String>,
    },
    /// Leave the IVR by calling this number.
    Transfer {
        /// The number to call.
        number: String,
    },
    /// Record a message of at most `max_secs` seconds.
    RecordVoicemail {
        /// The longest recording, in seconds.
        max_secs: u32,
    },
    /// Look `key` up in the self-service table `table`.
    Query {
        /// The table's name.
        table: String,
        /// The key looked up.
        key: String,
    },
    /// End the call.
    Hangup,
}

/// One node a call entered, for call records and supervision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    /// The node's id.
    pub node: String,
    /// The node's type.
    pub kind: NodeKind,
    /// Every key the caller pressed while there, in order, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    /// How the call left the node where it had a choice: `open`/`closed` (hours), the
    /// key chosen or `failure` (menu), `ok`/`failure` (collect), `found`/`not-found`
    /// (query), `recorded` (voicemail), `loop` (hung up by the loop guard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// What the current node waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wait {
    /// Prompts that keys do not interrupt; then the node goes on.
    Prompts,
    /// A menu: prompts playing, or a key awaited until the deadline.
    Menu { failures: u32, playing: bool },
    /// A collection: prompts playing, or digits awaited until the deadline.
    Collect {
        failures: u32,
        playing: bool,
        digits: String,
    },
    /// The answer to a query.
    Query,
    /// The end of a recording.
    Recording,
    /// Nothing: the IVR is finished.
    Done,
}

/// Why a menu or collection failed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Invalid,
    Timeout,
}

/// One call's IVR.
#[derive(Debug, Clone)]
pub struct Ivr {
    flow: Arc<Flow>,
    node: String,
    wait: Wait,
    deadline: Option<Instant>,
    vars: HashMap<String, String>,
    actions: VecDeque<IvrAction>,
    path: Vec<PathStep>,
}

impl Ivr {
    /// Starts `flow` for a call answered at `now` (`unix_secs` is the wall-clock time
    /// in seconds since 1970-01-01 UTC, for opening hours). Its first actions (the
    /// first prompts, or a queue for a flow that plays none) are ready to poll at once.
    pub fn start(flow: Arc<Flow>, now: Instant, unix_secs: i64) -> Ivr {
        // No node starts a timer on entry (menus wait for their prompts to end), so
        // `now` is not needed yet; it keeps the shape of `handle`.
        let _ = now;
        let start = flow.start.clone();
        let mut ivr = Ivr {
            flow,
            node: String::new(),
            wait: Wait::Done,
            deadline: None,
            vars: HashMap::new(),
            actions: VecDeque::new(),
            path: Vec::new(),
        };
        ivr.go(start, unix_secs);
        ivr
    }

    /// Continues in another flow (the caller was transferred to an IVR number), keeping
    /// the path and variables so far; its first actions are ready to poll at once.
    pub fn switch_flow(&mut self, flow: Arc<Flow>, unix_secs: i64) {
        let start = flow.start.clone();
        self.flow = flow;
        self.deadline = None;
        self.wait = Wait::Done;
        self.go(start, unix_secs);
    }

    /// Feeds one input.
    pub fn handle(&mut self, now: Instant, unix_secs: i64, input: IvrInput) {
        match input {
            IvrInput::Digit(key) => self.digit(key, now, unix_secs),
            IvrInput::PlaybackDone => self.playback_done(now, unix_secs),
            IvrInput::QueryResult(value) => {
                if self.wait != Wait::Query {
                    return;
                }
                let Some(Node::Query {
                    found, not_found, ..
                }) = self.current()
                else {
                    return;
                };
                let (found, not_found) = (found.clone(), not_found.clone());
                match value {
                    Some(value) => {
                        self.vars.insert("result".to_owned(), value);
                        self.set_result("found");
                        self.go(found, unix_secs);
                    }
                    None => {
                        self.set_result("not-found");
                        self.go(not_found, unix_secs);
                    }
                }
            }
            IvrInput::RecordingDone => {
                if self.wait != Wait::Recording {
                    return;
                }
                if let Some(Node::Voicemail { next, .. }) = self.current() {
                    let next = next.clone();
                    self.set_result("recorded");
                    self.go(next, unix_secs);
                }
            }
        }
    }

    /// Fires the timer when `now` has reached [`Ivr::poll_timeout`]; otherwise does
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant, unix_secs: i64) {
        match self.deadline {
            Some(deadline) if now >= deadline => self.deadline = None,
            _ => return,
        }
        let typed_nothing = match &self.wait {
            Wait::Menu { .. } => None,
            Wait::Collect { digits, .. } => Some(digits.is_empty()),
            _ => return,
        };
        let min_digits = match self.current() {
            Some(Node::Collect(collect)) => collect.min_digits,
            _ => 0,
        };
        match typed_nothing {
            None => self.menu_failure(Failure::Timeout, unix_secs),
            Some(true) if min_digits > 0 => {
                self.collect_failure(Failure::Timeout, unix_secs);
            }
            // The caller stopped typing: what was typed is the input.
            Some(_) => self.collect_end(unix_secs),
        }
    }

    /// When [`Ivr::handle_timeout`] must be called next, if a timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<IvrAction> {
        self.actions.pop_front()
    }

    /// Every node entered so far, in order, with the keys pressed there.
    pub fn path(&self) -> &[PathStep] {
        &self.path
    }

    /// A variable set by a `collect` node or a query (`result`).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether the IVR has ended (a queue, a transfer or a hang-up was asked for);
    /// actions may still wait in [`Ivr::poll_action`].
    pub fn is_finished(&self) -> bool {
        self.wait == Wait::Done
    }

    fn current(&self) -> Option<&Node> {
        self.flow.node(&self.node)
    }

    fn set_result(&mut self, result: &str) {
        if let Some(step) = self.path.last_mut() {
            step.result = Some(result.to_owned());
        }
    }

    fn play(&mut self, prompts: Vec<String>) {
        self.actions.push_back(IvrAction::Play(prompts));
    }

    fn finish(&mut self, action: IvrAction) {
        self.actions.push_back(action);
        self.wait = Wait::Done;
        self.deadline = None;
    }

    /// Enters `id` and every node it leads to without waiting.
    fn go(&mut self, mut id: String, unix_secs: i64) {
        for _ in 0..MAX_HOPS {
            match self.enter(id, unix_secs) {
                Some(next) => id = next,
                None => return,
            }
        }
        self.set_result("loop");
        self.finish(IvrAction::Hangup);
    }

    /// Enters one node; returns the next node when it does not wait.
    fn enter(&mut self, id: String, unix_secs: i64) -> Option<String> {
        let flow = Arc::clone(&self.flow);
        self.deadline = None;
        let Some(node) = flow.node(&id) else {
            // Validation makes every reference resolve; a hand-built flow may not.
            self.finish(IvrAction::Hangup);
            return None;
        };
        self.path.push(PathStep {
            node: id.clone(),
            kind: node.kind(),
            digits: None,
            result: None,
        });
        self.node = id;
        match node {
            Node::Play { prompts, .. } => {
                self.play(prompts.clone());
                self.wait = Wait::Prompts;
            }
            Node::Menu(menu) => {
                self.play(menu.prompts.clone());
                self.wait = Wait::Menu {
                    failures: 0,
                    playing: true,
                };
            }
            Node::Collect(collect) => {
                self.play(collect.prompts.clone());
                self.wait = Wait::Collect {
                    failures: 0,
                    playing: true,
                    digits: String::new(),
                };
            }
            Node::Hours {
                schedule,
                open,
                closed,
            } => {
                let is_open = schedule.is_open(unix_secs);
                self.set_result(if is_open { "open" } else { "closed" });
                return Some(if is_open { open } else { closed }.clone());
            }
            Node::Query {
                table,
                key_var,
                not_found,
                ..
            } => match self.vars.get(key_var) {
                Some(key) => {
                    let action = IvrAction::Query {
                        table: table.clone(),
                        key: key.clone(),
                    };
                    self.actions.push_back(action);
                    self.wait = Wait::Query;
                }
                None => {
                    self.set_result("not-found");
                    return Some(not_found.clone());
                }
            },
            Node::Say {
                prompts,
                var,
                say_as,
                prompts_after,
                next,
            } => {
                let value = self.vars.get(var).map_or("", String::as_str);
                let words = say::expand(value, *say_as).into_iter().map(str::to_owned);
                let all: Vec<String> = prompts
                    .iter()
                    .cloned()
                    .chain(words)
                    .chain(prompts_after.iter().cloned())
                    .collect();
                if all.is_empty() {
                    return Some(next.clone());
                }
                self.play(all);
                self.wait = Wait::Prompts;
            }
            Node::Queue { prompts, .. }
            | Node::Transfer { prompts, .. }
            | Node::Voicemail { prompts, .. }
            | Node::Hangup { prompts } => {
                if prompts.is_empty() {
                    return self.after_prompts();
                }
                self.play(prompts.clone());
                self.wait = Wait::Prompts;
            }
        }
        None
    }

    /// The current node's uninterruptible prompts ended; returns the next node when
    /// the flow goes on at once.
    fn after_prompts(&mut self) -> Option<String> {
        let flow = Arc::clone(&self.flow);
        match flow.node(&self.node)? {
            Node::Play { next, .. } | Node::Say { next, .. } => return Some(next.clone()),
            Node::Queue {
                queue,
                priority,
                skills,
                moh,
                ..
            } => self.finish(IvrAction::Queue {
                queue: queue.clone(),
                priority: *priority,
                skills: skills.clone(),
                moh: moh.clone(),
            }),
            Node::Transfer { number, .. } => self.finish(IvrAction::Transfer {
                number: number.clone(),
            }),
            Node::Voicemail { max_secs, .. } => {
                self.actions.push_back(IvrAction::RecordVoicemail {
                    max_secs: *max_secs,
                });
                self.wait = Wait::Recording;
            }
            Node::Hangup { .. } => self.finish(IvrAction::Hangup),
            Node::Menu(_) | Node::Collect(_) | Node::Hours { .. } | Node::Query { .. } => {}
        }
        None
    }

    fn playback_done(&mut self, now: Instant, unix_secs: i64) {
        let flow = Arc::clone(&self.flow);
        match (&mut self.wait, flow.node(&self.node)) {
            (Wait::Menu { playing, .. }, Some(Node::Menu(menu))) if *playing => {
                *playing = false;
                self.deadline = Some(now + menu.timeout);
            }
            (Wait::Collect { playing, .. }, Some(Node::Collect(collect))) if *playing => {
                *playing = false;
                self.deadline = Some(now + collect.timeout);
            }
            (Wait::Prompts, _) => {
                if let Some(next) = self.after_prompts() {
                    self.go(next, unix_secs);
                }
            }
            // A playback that was stopped, or no playback at all.
            _ => {}
        }
    }

    fn digit(&mut self, key: char, now: Instant, unix_secs: i64) {
        if !is_dtmf(key) {
            return;
        }
        let playing = match &mut self.wait {
            Wait::Menu { playing, .. } | Wait::Collect { playing, .. } => {
                std::mem::replace(playing, false)
            }
            // Keys do not interrupt other prompts, queries or recordings.
            _ => return,
        };
        if playing {
            self.actions.push_back(IvrAction::StopPlayback);
        }
        self.deadline = None;
        if let Some(step) = self.path.last_mut() {
            step.digits.get_or_insert_with(String::new).push(key);
        }
        let flow = Arc::clone(&self.flow);
        match flow.node(&self.node) {
            Some(Node::Menu(menu)) => {
                if menu.repeat_key == Some(key) {
                    self.play(menu.prompts.clone());
                    if let Wait::Menu { playing, .. } = &mut self.wait {
                        *playing = true;
                    }
                } else if let Some(next) = menu.choices.get(&key) {
                    self.set_result(&key.to_string());
                    self.go(next.clone(), unix_secs);
                } else {
                    self.menu_failure(Failure::Invalid, unix_secs);
                }
            }
            Some(Node::Collect(collect)) => {
                if collect.terminator == Some(key) {
                    self.collect_end(unix_secs);
                    return;
                }
                let Wait::Collect { digits, .. } = &mut self.wait else {
                    return;
                };
                digits.push(key);
                if digits.len() >= collect.max_digits {
                    self.collect_end(unix_secs);
                } else {
                    self.deadline = Some(now + collect.inter_digit_timeout);
                }
            }
            _ => {}
        }
    }

    fn menu_failure(&mut self, failure: Failure, unix_secs: i64) {
        let flow = Arc::clone(&self.flow);
        let (Some(Node::Menu(menu)), Wait::Menu { failures, playing }) =
            (flow.node(&self.node), &mut self.wait)
        else {
            return;
        };
        *failures += 1;
        if *failures > menu.retries {
            self.set_result("failure");
            self.go(menu.on_failure.clone(), unix_secs);
            return;
        }
        *playing = true;
        let before = match failure {
            Failure::Invalid => &menu.invalid_prompts,
            Failure::Timeout => &menu.timeout_prompts,
        };
        self.play(before.iter().chain(&menu.prompts).cloned().collect());
    }

    fn collect_failure(&mut self, failure: Failure, unix_secs: i64) {
        let flow = Arc::clone(&self.flow);
        let (
            Some(Node::Collect(collect)),
            Wait::Collect {
                failures,
                playing,
                digits,
            },
        ) = (flow.node(&self.node), &mut self.wait)
        else {
            return;
        };
        *failures += 1;
        if *failures > collect.retries {
            self.set_result("failure");
            self.go(collect.on_failure.clone(), unix_secs);
            return;
        }
        *playing = true;
        digits.clear();
        let before = match failure {
            Failure::Invalid => &collect.invalid_prompts,
            Failure::Timeout => &collect.timeout_prompts,
        };
        self.play(before.iter().chain(&collect.prompts).cloned().collect());
    }

    /// Input ended (terminator, maximum length or inter-digit timeout).
    fn collect_end(&mut self, unix_secs: i64) {
        let flow = Arc::clone(&self.flow);
        let (Some(Node::Collect(collect)), Wait::Collect { digits, .. }) =
            (flow.node(&self.node), &mut self.wait)
        else {
            return;
        };
        if digits.len() < collect.min_digits {
            self.collect_failure(Failure::Invalid, unix_secs);
            return;
        }
        let value = std::mem::take(digits);
        self.vars.insert(collect.var.clone(), value);
        self.set_result("ok");
        self.go(collect.next.clone(), unix_secs);
    }
}

#[cfg(test)]
mod tests;
