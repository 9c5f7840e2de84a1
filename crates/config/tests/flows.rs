//! IVR flows beyond what one bad fixture shows: borrowing nodes, defaults, and broken
//! definitions that must not cascade into the flows using them. Prompts resolve in
//! `tests/bad/prompts/` (the entry file is named as if it were in `tests/bad/`).

use std::time::Duration;

use lifeline_config::{ConfigError, Node, from_str};

const ORIGIN: &str = "tests/bad/mem.toml";

const ENTRY: &str = r#"
version = 1
[server]
sip_listen = "0.0.0.0:5060"
http_listen = "127.0.0.1:8080"
rtp_ports = "20000-20999"
[sip]
realm = "lifeline"

[[users]]
id = "1001"
password = "pw"

[[queues]]
name = "citizen"
strategy = "linear"
members = ["1001"]

[[schedules]]
name = "office"
utc_offset_minutes = 480
mon = ["08:30-17:30"]

[[schedules]]
name = "always"
utc_offset_minutes = 0
mon = ["00:00-24:00"]
"#;

const BASE: &str = r#"
[[flows]]
name = "day"
start = "hours"

[flows.nodes.hours]
type = "hours"
schedule = "office"
open = "id"
closed = "bye"

[flows.nodes.id]
type = "collect"
prompts = ["hello"]
max_digits = 4
var = "id"
next = "agent"
on_failure = "bye"

[flows.nodes.agent]
type = "queue"
queue = "citizen"
priority = 7
skills = ["pensions"]

[flows.nodes.bye]
type = "hangup"
"#;

fn problems(error: &ConfigError) -> Vec<String> {
    error
        .diagnostics()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn collect_and_queue_defaults() {
    let config = from_str(&format!("{ENTRY}{BASE}"), ORIGIN).unwrap_or_else(|e| panic!("{e}"));
    let flow = config.find_flow("day").unwrap();
    let Some(Node::Collect(collect)) = flow.node("id") else {
        panic!("collect")
    };
    assert_eq!(collect.terminator, Some('#'));
    assert_eq!((collect.min_digits, collect.max_digits), (1, 4));
    assert_eq!(collect.timeout, Duration::from_secs(5));
    assert_eq!(collect.inter_digit_timeout, Duration::from_secs(3));
    assert_eq!(collect.retries, 2);
    assert!(collect.invalid_prompts.is_empty() && collect.timeout_prompts.is_empty());
    assert_eq!(
        flow.node("agent"),
        Some(&Node::Queue {
            prompts: vec![],
            queue: "citizen".into(),
            priority: 7,
            skills: vec!["pensions".into()],
            moh: None,
        })
    );
    let mut next = flow.node("hours").unwrap().successors();
    next.sort_unstable();
    assert_eq!(next, ["bye", "id"]);

    let no_terminator = BASE.replace("max_digits = 4", "max_digits = 4\nterminator = \"\"");
    let config = from_str(&format!("{ENTRY}{no_terminator}"), ORIGIN).unwrap();
    let Some(Node::Collect(collect)) = config.find_flow("day").unwrap().node("id") else {
        panic!("collect")
    };
    assert_eq!(collect.terminator, None);
}

#[test]
fn a_flow_borrows_nodes_and_replaces_some() {
    let variant = r#"
[[flows]]
name = "night"
nodes_from = "day"

[flows.nodes.hours]
type = "hours"
schedule = "always"
open = "id"
closed = "bye"
"#;
    // The borrower may come first: flows of their own are built before borrowers.
    let config =
        from_str(&format!("{ENTRY}{variant}{BASE}"), ORIGIN).unwrap_or_else(|e| panic!("{e}"));
    let (day, night) = (
        config.find_flow("day").unwrap(),
        config.find_flow("night").unwrap(),
    );
    assert_eq!(night.start, "hours");
    assert_eq!(night.nodes.len(), day.nodes.len());
    assert_eq!(night.node("agent"), day.node("agent"));
    let Some(Node::Hours { schedule, .. }) = night.node("hours") else {
        panic!("hours")
    };
    assert_eq!(schedule.name, "always");
    assert_eq!(config.flows().len(), 2);
    assert_eq!(config.flows()[0].name, "night");
}

#[test]
fn a_broken_base_is_reported_once_not_again_in_its_borrowers() {
    let broken = BASE.replace("next = \"agent\"", "next = \"agnet\"");
    let text = format!("{ENTRY}{broken}\n[[flows]]\nname = \"night\"\nnodes_from = \"day\"\n");
    let error = from_str(&text, ORIGIN).unwrap_err();
    let lines = problems(&error);
    assert_eq!(lines.len(), 1, "{error}");
    assert!(
        lines[0].contains("flows[0].nodes.id.next: node \"agnet\" is not defined"),
        "{error}"
    );
}

#[test]
fn borrowing_goes_one_level_only() {
    let text = format!(
        "{ENTRY}{BASE}\n[[flows]]\nname = \"b\"\nnodes_from = \"day\"\n\n[[flows]]\nname = \"c\"\nnodes_from = \"b\"\n"
    );
    let error = from_str(&text, ORIGIN).unwrap_err();
    let line = text
        .lines()
        .position(|l| l == "nodes_from = \"b\"")
        .unwrap()
        + 1;
    assert_eq!(
        problems(&error),
        [format!(
            "{ORIGIN}: flows[2].nodes_from: flow \"b\" borrows its nodes itself; take them from a flow that defines its own (line {line}, column 14)"
        )]
    );
}

#[test]
fn a_broken_schedule_does_not_cascade_into_hours_nodes() {
    let text =
        format!("{ENTRY}{BASE}").replace("mon = [\"08:30-17:30\"]", "mon = [\"8:30-17:30\"]");
    let error = from_str(&text, ORIGIN).unwrap_err();
    let lines = problems(&error);
    assert_eq!(lines.len(), 1, "{error}");
    assert!(
        lines[0].contains("schedules[0].mon[0]: expected \"HH:MM-HH:MM\""),
        "{error}"
    );
}

#[test]
fn a_flow_needs_a_start_and_nodes() {
    let text = format!("{ENTRY}\n[[flows]]\nname = \"empty\"\nstart = \"a\"\n");
    let error = from_str(&text, ORIGIN).unwrap_err();
    assert!(
        problems(&error)[0].contains("flows[0].nodes: a flow needs at least one node"),
        "{error}"
    );
    let no_start = BASE.replace("start = \"hours\"\n", "");
    let error = from_str(&format!("{ENTRY}{no_start}"), ORIGIN).unwrap_err();
    assert!(
        problems(&error)[0]
            .contains("flows[0].start: missing; a flow needs the id of its start node"),
        "{error}"
    );
}

#[test]
fn every_problem_of_one_flow_is_listed() {
    let text = format!("{ENTRY}{BASE}")
        .replace(
            "queue = \"citizen\"\npriority",
            "queue = \"nope\"\npriority",
        )
        .replace("closed = \"bye\"", "closed = \"by\"")
        .replace("prompts = [\"hello\"]", "prompts = [\"helo\"]");
    let error = from_str(&text, ORIGIN).unwrap_err();
    let keys: Vec<_> = error
        .diagnostics()
        .iter()
        .map(|d| d.key.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        [
            "flows[0].nodes.hours.closed",
            "flows[0].nodes.id.prompts[0]",
            "flows[0].nodes.agent.queue",
        ],
        "{error}"
    );
}

#[test]
fn recording_is_on_by_default_and_switchable_per_flow_and_queue() {
    let config = from_str(&format!("{ENTRY}{BASE}"), ORIGIN).unwrap();
    assert!(config.find_flow("day").unwrap().record);
    assert!(config.find_queue("citizen").unwrap().record);

    let quiet_queue = ENTRY.replace(
        "members = [\"1001\"]",
        "members = [\"1001\"]\nrecord = false",
    );
    let quiet_flow = BASE.replace("start = \"hours\"", "start = \"hours\"\nrecord = false");
    let borrower = "\n[[flows]]\nname = \"night\"\nnodes_from = \"day\"\n";
    let config = from_str(&format!("{quiet_queue}{quiet_flow}{borrower}"), ORIGIN)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.find_flow("day").unwrap().record);
    assert!(
        !config.find_flow("night").unwrap().record,
        "a borrower inherits the switch"
    );
    assert!(!config.find_queue("citizen").unwrap().record);
}
