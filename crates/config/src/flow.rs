//! IVR flows and self-service tables.
//!
//! This module owns the validated model of `[[flows]]` and `[[tables]]`: a [`Flow`] is a
//! graph of [`Node`]s by id, every reference in it resolved (nodes, queues, schedules,
//! tables, prompts); the IVR interpreter in the engine walks it. A [`Table`] is a
//! `key,value` CSV file that the engine loads into the database for `query` nodes.
//! [`SayAs`] fixes which prompts a `say` node needs, so that validation can check they
//! exist before a caller hears a gap.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Location};
use crate::schedule::Schedule;

/// The DTMF keys a caller can press: `0`–`9`, `*`, `#`, `A`–`D`.
pub fn is_dtmf(key: char) -> bool {
    matches!(key, '0'..='9' | '*' | '#' | 'A'..='D')
}

/// A `[[flows]]` entry: an IVR call flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The flow's name, referenced by `[[numbers]]` of kind `ivr`.
    pub name: String,
    /// The id of the node a call enters first.
    pub start: String,
    /// Every node by id. Every node is reachable from `start` and every reference
    /// between nodes resolves.
    pub nodes: HashMap<String, Node>,
    /// Whether calls running this flow are recorded (true by default).
    pub record: bool,
}

impl Flow {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }
}

/// The type of a node, as written in `type = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Plays prompts, then goes on.
    Play,
    /// Plays a menu and branches on one key.
    Menu,
    /// Collects a string of digits into a variable.
    Collect,
    /// Branches on a schedule's opening hours.
    Hours,
    /// Leaves the IVR for an ACD queue.
    Queue,
    /// Leaves the IVR for another number.
    Transfer,
    /// Records a message.
    Voicemail,
    /// Looks a variable up in a self-service table.
    Query,
    /// Reads a variable out as digits or as a number.
    Say,
    /// Ends the call.
    Hangup,
}

impl NodeKind {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Play => "play",
            Self::Menu => "menu",
            Self::Collect => "collect",
            Self::Hours => "hours",
            Self::Queue => "queue",
            Self::Transfer => "transfer",
            Self::Voicemail => "voicemail",
            Self::Query => "query",
            Self::Say => "say",
            Self::Hangup => "hangup",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a `say` node reads a value out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SayAs {
    /// One prompt per character: `digit-0`…`digit-9`, `star`, `pound`.
    Digits,
    /// A decimal number read in English (`3280.5` → three thousand two hundred eighty
    /// point five), with the prompts of [`SayAs::NUMBER_WORDS`] and the digits.
    Number,
}

impl SayAs {
    /// The prompts `as = "digits"` uses.
    pub const DIGIT_WORDS: [&'static str; 12] = [
        "digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5", "digit-6", "digit-7",
        "digit-8", "digit-9", "star", "pound",
    ];

    /// The prompts `as = "number"` uses besides `digit-0`…`digit-9`.
    pub const NUMBER_WORDS: [&'static str; 24] = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
        "point",
        "minus",
    ];

    /// Every prompt a `say` node of this kind may play for its value.
    pub fn vocabulary(self) -> Vec<&'static str> {
        match self {
            Self::Digits => Self::DIGIT_WORDS.to_vec(),
            Self::Number => Self::DIGIT_WORDS[..10]
                .iter()
                .chain(&Self::NUMBER_WORDS)
                .copied()
                .collect(),
        }
    }

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Number => "number",
        }
    }
}

/// A `menu` node: prompts, then one key picks the next node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The menu prompts; a key interrupts them.
    pub prompts: Vec<String>,
    /// The next node for each key.
    pub choices: BTreeMap<char, String>,
    /// How long to wait for a key after the prompts end.
    pub timeout: Duration,
    /// How many more tries after the first invalid key or timeout; one more failure
    /// goes to `on_failure`.
    pub retries: u32,
    /// Played after an invalid key, before the menu prompts again.
    pub invalid_prompts: Vec<String>,
    /// Played after a timeout, before the menu prompts again.
    pub timeout_prompts: Vec<String>,
    /// A key that plays the menu again without counting as a try.
    pub repeat_key: Option<char>,
    /// Where a caller goes after too many failures.
    pub on_failure: String,
}

/// A `collect` node: prompts, then a string of digits into a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collect {
    /// The prompts; the first key interrupts them.
    pub prompts: Vec<String>,
    /// The fewest digits accepted.
    pub min_digits: usize,
    /// Input ends by itself after this many digits.
    pub max_digits: usize,
    /// The key that ends input early (not stored); `None` when disabled.
    pub terminator: Option<char>,
    /// How long to wait for the first digit after the prompts end.
    pub timeout: Duration,
    /// How long to wait for each further digit; input ends when it passes.
    pub inter_digit_timeout: Duration,
    /// How many more tries after the first failure (timeout or too few digits).
    pub retries: u32,
    /// Played after too few digits, before the prompts again.
    pub invalid_prompts: Vec<String>,
    /// Played after a timeout, before the prompts again.
    pub timeout_prompts: Vec<String>,
    /// The variable that receives the digits.
    pub var: String,
    /// Where the call goes with the digits.
    pub next: String,
    /// Where a caller goes after too many failures.
    pub on_failure: String,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Plays prompts (not interruptible), then goes to `next`.
    Play {
        /// The prompts, in order.
        prompts: Vec<String>,
        /// The next node.
        next: String,
    },
    /// A DTMF menu.
    Menu(Menu),
    /// Digit collection.
    Collect(Collect),
    /// A branch on opening hours, evaluated when the call enters the node.
    Hours {
        /// The schedule consulted.
        schedule: Arc<Schedule>,
        /// The next node while open.
        open: String,
        /// The next node while closed.
        closed: String,
    },
    /// Leaves the IVR for an ACD queue.
    Queue {
        /// Played before joining the queue (may be empty).
        prompts: Vec<String>,
        /// The queue's name.
        queue: String,
        /// The caller's priority in the queue (higher first).
        priority: u8,
        /// Skills an agent needs.
        skills: Vec<String>,
        /// Music on hold prompt, when configured.
        moh: Option<String>,
    },
    /// Leaves the IVR for another number.
    Transfer {
        /// Played before transferring (may be empty).
        prompts: Vec<String>,
        /// The number dialled.
        number: String,
    },
    /// Records a message, then goes to `next`.
    Voicemail {
        /// Played before recording (typically ending with a beep).
        prompts: Vec<String>,
        /// The longest recording.
        max_secs: u32,
        /// The next node once the recording ends.
        next: String,
    },
    /// Looks the value of `key_var` up in a table; a value found is stored in the
    /// variable `result`.
    Query {
        /// The table's name.
        table: String,
        /// The variable holding the key.
        key_var: String,
        /// The next node when the key is in the table.
        found: String,
        /// The next node when it is not.
        not_found: String,
    },
    /// Reads a variable out between two lists of prompts, then goes to `next`.
    Say {
        /// Played before the value.
        prompts: Vec<String>,
        /// The variable read out.
        var: String,
        /// How it is read.
        say_as: SayAs,
        /// Played after the value.
        prompts_after: Vec<String>,
        /// The next node.
        next: String,
    },
    /// Plays its prompts (if any), then ends the call.
    Hangup {
        /// Played before hanging up (may be empty).
        prompts: Vec<String>,
    },
}

impl Node {
    /// The node's type.
    pub fn kind(&self) -> NodeKind {
        match self {
            Self::Play { .. } => NodeKind::Play,
            Self::Menu(_) => NodeKind::Menu,
            Self::Collect(_) => NodeKind::Collect,
            Self::Hours { .. } => NodeKind::Hours,
            Self::Queue { .. } => NodeKind::Queue,
            Self::Transfer { .. } => NodeKind::Transfer,
            Self::Voicemail { .. } => NodeKind::Voicemail,
            Self::Query { .. } => NodeKind::Query,
            Self::Say { .. } => NodeKind::Say,
            Self::Hangup { .. } => NodeKind::Hangup,
        }
    }

    /// The ids of the nodes this one can lead to.
    pub fn successors(&self) -> Vec<&str> {
        match self {
            Self::Play { next, .. } | Self::Voicemail { next, .. } | Self::Say { next, .. } => {
                vec![next]
            }
            Self::Menu(menu) => menu
                .choices
                .values()
                .map(String::as_str)
                .chain([menu.on_failure.as_str()])
                .collect(),
            Self::Collect(collect) => vec![&collect.next, &collect.on_failure],
            Self::Hours { open, closed, .. } => vec![open, closed],
            Self::Query {
                found, not_found, ..
            } => vec![found, not_found],
            Self::Queue { .. } | Self::Transfer { .. } | Self::Hangup { .. } => vec![],
        }
    }
}

/// A `[[tables]]` entry: `key,value` rows for self-service `query` nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The table's name, referenced by `query` nodes.
    pub name: String,
    /// The CSV file (joined to the directory of the file that declares the table).
    pub path: PathBuf,
}

impl Table {
    /// Reads the rows of the table's file, checked as when the configuration was loaded.
    pub fn read_rows(&self) -> Result<Vec<(String, String)>, Diagnostic> {
        let name = self.path.display().to_string();
        let text = std::fs::read_to_string(&self.path).map_err(|e| Diagnostic {
            file: name.clone(),
            key: None,
            location: None,
            message: format!("cannot read table file: {e}"),
        })?;
        parse_table(&name, &text)
    }
}

/// Parses a table file: a `key,value` header line, then one `key,value` row per line.
/// The value is everything after the first comma; keys are unique and not empty; blank
/// lines and lines starting with `#` are skipped. Surrounding spaces are trimmed.
pub(crate) fn parse_table(name: &str, text: &str) -> Result<Vec<(String, String)>, Diagnostic> {
    let error = |line: usize, message: String| Diagnostic {
        file: name.to_owned(),
        key: None,
        location: Some(Location { line, column: 1 }),
        message,
    };
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut header = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(',') else {
            return Err(error(n, format!("expected \"key,value\", got {line:?}")));
        };
        let (key, value) = (key.trim(), value.trim());
        if !header {
            if (key, value) != ("key", "value") {
                return Err(error(
                    n,
                    format!("expected the header line \"key,value\", got {line:?}"),
                ));
            }
            header = true;
            continue;
        }
        if key.is_empty() {
            return Err(error(n, "the key must not be empty".to_owned()));
        }
        if let Some(first) = first_line.insert(key.to_owned(), n) {
            return Err(error(
                n,
                format!("duplicate key {key:?}, first on line {first}"),
            ));
        }
        rows.push((key.to_owned(), value.to_owned()));
    }
    if !header {
        return Err(Diagnostic {
            file: name.to_owned(),
            key: None,
            location: None,
            message: "empty; expected the header line \"key,value\", then rows".to_owned(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_with_header_comments_and_commas_in_values() {
        let rows = parse_table("t.csv", "# c\nkey,value\n\n 1 , a \n2,b,c\n").unwrap();
        assert_eq!(rows, [("1".into(), "a".into()), ("2".into(), "b,c".into())]);
        assert!(parse_table("t.csv", "key,value\n").unwrap().is_empty());
        let e = |text| parse_table("t.csv", text).unwrap_err().to_string();
        assert_eq!(
            e(""),
            "t.csv: empty; expected the header line \"key,value\", then rows"
        );
        assert_eq!(
            e("id,balance\n1,2\n"),
            "t.csv: expected the header line \"key,value\", got \"id,balance\" (line 1, column 1)"
        );
        assert_eq!(
            e("key,value\n1,2\n1,3\n"),
            "t.csv: duplicate key \"1\", first on line 2 (line 3, column 1)"
        );
        assert_eq!(
            e("key,value\nx\n"),
            "t.csv: expected \"key,value\", got \"x\" (line 2, column 1)"
        );
        assert_eq!(
            e("key,value\n,x\n"),
            "t.csv: the key must not be empty (line 2, column 1)"
        );
    }

    #[test]
    fn say_vocabularies() {
        assert_eq!(SayAs::Digits.vocabulary().len(), 12);
        let number = SayAs::Number.vocabulary();
        assert_eq!(number.len(), 34);
        assert!(number.contains(&"digit-0") && !number.contains(&"star"));
    }

    #[test]
    fn dtmf_keys() {
        assert!("0123456789*#ABCD".chars().all(is_dtmf));
        assert!(!"abcdE x".chars().any(is_dtmf));
    }
}
