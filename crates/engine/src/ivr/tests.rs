//! The demo flows of `sip-config/` driven in virtual time through every branch.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use lifeline_config::{Config, Flow, Node, NodeKind, Schedule, TimeRange};

use super::*;

/// Monday 2026-03-02, 10:00 in Beijing (UTC+8): the office is open.
const MONDAY_10AM: i64 = 1_772_416_800;
/// The same Monday at 20:00: closed.
const MONDAY_8PM: i64 = 1_772_452_800;
/// Thursday 2026-10-01 at 10:00, National Day: a holiday.
const NATIONAL_DAY_10AM: i64 = 1_790_820_000;
/// Saturday 2026-03-07 at 10:00: the weekend.
const SATURDAY_10AM: i64 = 1_772_848_800;
/// Sunday 2026-09-27 at 10:00: a weekend day worked in exchange for a holiday.
const WORKED_SUNDAY_10AM: i64 = 1_790_474_400;

/// A balance in `sip-config/selfservice/balances.csv`.
const KNOWN_ID: &str = "999999198505050022";

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        lifeline_config::load(Path::new("../../sip-config/lifeline.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn play(prompts: &[&str]) -> IvrAction {
    IvrAction::Play(prompts.iter().map(|p| (*p).to_owned()).collect())
}

fn queue(name: &str) -> IvrAction {
    let skills = if name == "citizen" {
        vec![]
    } else {
        vec![name.to_owned()]
    };
    IvrAction::Queue {
        queue: name.to_owned(),
        priority: 0,
        skills,
        moh: Some("music-on-hold".to_owned()),
    }
}

/// One call in virtual time: `now` advances only when a test says so.
struct Call {
    ivr: Ivr,
    now: Instant,
    unix: i64,
}

impl Call {
    fn new(flow: &str, unix: i64) -> Call {
        let now = Instant::now();
        let flow = Arc::clone(config().find_flow(flow).expect("demo flow"));
        Call {
            ivr: Ivr::start(flow, now, unix),
            now,
            unix,
        }
    }

    /// A call to 12333 in office hours, past the welcome, with the menu playing.
    fn at_menu() -> Call {
        let mut call = Call::new("12333", MONDAY_10AM);
        assert_eq!(call.actions(), [play(&["welcome"])]);
        call.done();
        assert_eq!(call.actions(), [play(&["main-menu"])]);
        call
    }

    fn actions(&mut self) -> Vec<IvrAction> {
        std::iter::from_fn(|| self.ivr.poll_action()).collect()
    }

    fn input(&mut self, input: IvrInput) {
        self.ivr.handle(self.now, self.unix, input);
    }

    fn done(&mut self) {
        self.input(IvrInput::PlaybackDone);
    }

    fn press(&mut self, keys: &str) {
        for key in keys.chars() {
            self.input(IvrInput::Digit(key));
        }
    }

    /// Advances virtual time, firing the timer when it falls due.
    fn wait(&mut self, secs: u64) {
        let until = self.now + Duration::from_secs(secs);
        while let Some(deadline) = self.ivr.poll_timeout().filter(|d| *d <= until) {
            self.now = deadline;
            self.ivr.handle_timeout(self.now, self.unix);
        }
        self.now = until;
        self.unix += i64::try_from(secs).unwrap();
    }

    /// The path as `node[digits]=result` strings.
    fn path(&self) -> Vec<String> {
        self.ivr
            .path()
            .iter()
            .map(|step| {
                let mut s = step.node.clone();
                if let Some(d) = &step.digits {
                    s.push_str(&format!("[{d}]"));
                }
                if let Some(r) = &step.result {
                    s.push_str(&format!("={r}"));
                }
                s
            })
            .collect()
    }
}

#[test]
fn keys_1_2_3_0_lead_to_their_queues() {
    for (key, name, node) in [
        ("1", "social-insurance", "social-insurance"),
        ("2", "employment", "employment"),
        ("3", "labour-relations", "labour-relations"),
        ("0", "citizen", "operator"),
    ] {
        let mut call = Call::at_menu();
        call.done();
        call.press(key);
        assert_eq!(call.actions(), [play(&["transferring"])], "{key}");
        assert!(!call.ivr.is_finished());
        call.done();
        assert_eq!(call.actions(), [queue(name)], "{key}");
        assert!(call.ivr.is_finished());
        assert_eq!(call.ivr.poll_timeout(), None);
        assert_eq!(
            call.path(),
            [
                "hours=open".to_owned(),
                "welcome".into(),
                format!("main[{key}]={key}"),
                node.into()
            ]
        );
    }
}

#[test]
fn a_key_interrupts_the_menu_prompts() {
    let mut call = Call::at_menu();
    call.press("2");
    assert_eq!(
        call.actions(),
        [IvrAction::StopPlayback, play(&["transferring"])]
    );
    // Keys do not interrupt the announcement before queueing.
    call.press("3");
    assert!(call.actions().is_empty());
    call.done();
    assert_eq!(call.actions(), [queue("employment")]);
    assert_eq!(call.path()[2], "main[2]=2");
}

#[test]
fn keys_during_the_welcome_are_ignored() {
    let mut call = Call::new("12333", MONDAY_10AM);
    assert_eq!(call.actions(), [play(&["welcome"])]);
    call.press("1");
    assert!(call.actions().is_empty());
    call.done();
    assert_eq!(call.actions(), [play(&["main-menu"])]);
    assert_eq!(call.path(), ["hours=open", "welcome", "main"]);
}

#[test]
fn an_invalid_key_then_a_valid_one() {
    let mut call = Call::at_menu();
    call.done();
    call.press("7");
    assert_eq!(call.actions(), [play(&["invalid", "main-menu"])]);
    assert_eq!(call.ivr.poll_timeout(), None, "no timer while prompts play");
    call.press("2");
    assert_eq!(
        call.actions(),
        [IvrAction::StopPlayback, play(&["transferring"])]
    );
    call.done();
    assert_eq!(call.actions(), [queue("employment")]);
    assert_eq!(call.path()[2], "main[72]=2");
}

#[test]
fn timeouts_retry_then_go_to_the_failure_node() {
    let mut call = Call::at_menu();
    assert_eq!(call.ivr.poll_timeout(), None);
    call.done();
    // The timeout starts when the prompts end.
    assert_eq!(
        call.ivr.poll_timeout(),
        Some(call.now + Duration::from_secs(5))
    );
    call.wait(4);
    call.ivr.handle_timeout(call.now, call.unix);
    assert!(call.actions().is_empty(), "early timer calls do nothing");
    call.wait(1);
    assert_eq!(call.actions(), [play(&["timeout", "main-menu"])]);
    call.done();
    call.wait(5);
    assert_eq!(call.actions(), [play(&["timeout", "main-menu"])]);
    call.done();
    call.wait(5);
    // retries = 2: the third failure goes to the operator.
    assert_eq!(call.actions(), [play(&["transferring"])]);
    call.done();
    assert_eq!(call.actions(), [queue("citizen")]);
    assert_eq!(
        call.path(),
        ["hours=open", "welcome", "main=failure", "operator"]
    );
}

#[test]
fn invalid_keys_and_timeouts_count_together() {
    let mut call = Call::at_menu();
    call.done();
    call.press("8");
    assert_eq!(call.actions(), [play(&["invalid", "main-menu"])]);
    call.done();
    call.wait(5);
    assert_eq!(call.actions(), [play(&["timeout", "main-menu"])]);
    call.press("#");
    assert_eq!(
        call.actions(),
        [IvrAction::StopPlayback, play(&["transferring"])]
    );
    assert_eq!(call.path()[2], "main[8#]=failure");
}

#[test]
fn the_star_key_repeats_the_menu_without_using_a_try() {
    let mut call = Call::at_menu();
    call.press("*");
    assert_eq!(
        call.actions(),
        [IvrAction::StopPlayback, play(&["main-menu"])]
    );
    call.done();
    call.press("*");
    assert_eq!(call.actions(), [play(&["main-menu"])]);
    // Three timeouts are still needed to fail.
    for _ in 0..2 {
        call.done();
        call.wait(5);
        assert_eq!(call.actions(), [play(&["timeout", "main-menu"])]);
    }
    call.done();
    call.press("1");
    assert_eq!(call.actions(), [play(&["transferring"])]);
    assert_eq!(call.path()[2], "main[**1]=1");
}

#[test]
fn balance_query_found_reads_the_balance_and_returns_to_the_menu() {
    let mut call = Call::at_menu();
    call.press("9");
    assert_eq!(
        call.actions(),
        [IvrAction::StopPlayback, play(&["enter-id"])]
    );
    call.done();
    assert_eq!(
        call.ivr.poll_timeout(),
        Some(call.now + Duration::from_secs(8))
    );
    call.press(&KNOWN_ID[..17]);
    assert!(call.actions().is_empty());
    assert_eq!(
        call.ivr.poll_timeout(),
        Some(call.now + Duration::from_secs(5)),
        "inter-digit timer"
    );
    call.press(&KNOWN_ID[17..]);
    // 18 digits end the input without a terminator.
    assert_eq!(
        call.actions(),
        [IvrAction::Query {
            table: "balances".into(),
            key: KNOWN_ID.into()
        }]
    );
    assert_eq!(call.ivr.poll_timeout(), None);
    // What the engine answers from the table it loaded.
    let rows = config()
        .find_table("balances")
        .unwrap()
        .read_rows()
        .unwrap();
    let value = rows.into_iter().find(|(k, _)| k == KNOWN_ID).unwrap().1;
    assert_eq!(value, "3280.5");
    call.input(IvrInput::QueryResult(Some(value)));
    assert_eq!(
        call.actions(),
        [play(&[
            "balance-is",
            "digit-3",
            "thousand",
            "digit-2",
            "hundred",
            "eighty",
            "point",
            "digit-5",
            "yuan"
        ])]
    );
    assert_eq!(call.ivr.var("result"), Some("3280.5"));
    call.done();
    assert_eq!(call.actions(), [play(&["main-menu"])]);
    assert_eq!(
        call.path(),
        [
            "hours=open".to_owned(),
            "welcome".into(),
            "main[9]=9".into(),
            format!("enter-id[{KNOWN_ID}]=ok"),
            "lookup=found".into(),
            "balance".into(),
            "main".into(),
        ]
    );
    // The menu starts afresh: its tries are counted again.
    call.done();
    call.press("0");
    assert_eq!(call.actions(), [play(&["transferring"])]);
}

#[test]
fn balance_query_not_found_apologises_and_returns_to_the_menu() {
    let mut call = Call::at_menu();
    call.done();
    call.press("9");
    assert_eq!(call.actions(), [play(&["enter-id"])]);
    // An old 15-digit ID ended with the terminator, typed over the prompt.
    call.press("123456789012345#");
    assert_eq!(
        call.actions(),
        [
            IvrAction::StopPlayback,
            IvrAction::Query {
                table: "balances".into(),
                key: "123456789012345".into()
            }
        ]
    );
    // Keys while the query runs are ignored.
    call.press("5");
    call.input(IvrInput::QueryResult(None));
    assert_eq!(call.actions(), [play(&["not-found"])]);
    call.done();
    assert_eq!(call.actions(), [play(&["main-menu"])]);
    assert_eq!(
        call.path()[3..],
        [
            "enter-id[123456789012345#]=ok",
            "lookup=not-found",
            "not-found",
            "main"
        ]
    );
}

#[test]
fn too_few_digits_are_refused_and_the_inter_digit_timeout_ends_input() {
    let mut call = Call::at_menu();
    call.done();
    call.press("9");
    call.done();
    call.actions();
    call.press("1234#");
    assert_eq!(call.actions(), [play(&["invalid-id", "enter-id"])]);
    call.done();
    // 16 digits, then silence: enough digits (at least 15), so the input is taken.
    call.press("9999991985050500");
    call.wait(4);
    assert!(call.actions().is_empty());
    call.wait(1);
    assert_eq!(
        call.actions(),
        [IvrAction::Query {
            table: "balances".into(),
            key: "9999991985050500".into()
        }]
    );
    // 14 digits then silence is too few.
    let mut call = Call::at_menu();
    call.done();
    call.press("9");
    call.done();
    call.actions();
    call.press("12345678901234");
    call.wait(5);
    assert_eq!(call.actions(), [play(&["invalid-id", "enter-id"])]);
}

#[test]
fn collect_timeouts_go_back_to_the_menu() {
    let mut call = Call::at_menu();
    call.done();
    call.press("9");
    call.actions();
    call.done();
    for _ in 0..2 {
        call.wait(8);
        assert_eq!(call.actions(), [play(&["timeout", "enter-id"])]);
        call.done();
    }
    call.wait(8);
    assert_eq!(call.actions(), [play(&["main-menu"])]);
    assert_eq!(call.path()[3..], ["enter-id=failure", "main"]);
}

#[test]
fn after_hours_callers_leave_a_voicemail() {
    for unix in [MONDAY_8PM, NATIONAL_DAY_10AM, SATURDAY_10AM] {
        let mut call = Call::new("12333", unix);
        assert_eq!(call.actions(), [play(&["closed"])], "{unix}");
        call.done();
        assert_eq!(call.actions(), [play(&["leave-message", "beep"])]);
        call.press("1");
        call.done();
        assert_eq!(
            call.actions(),
            [IvrAction::RecordVoicemail { max_secs: 120 }]
        );
        call.input(IvrInput::PlaybackDone); // stale: nothing plays
        assert!(call.actions().is_empty());
        call.input(IvrInput::RecordingDone);
        assert_eq!(call.actions(), [play(&["goodbye"])]);
        assert!(!call.ivr.is_finished());
        call.done();
        assert_eq!(call.actions(), [IvrAction::Hangup]);
        assert!(call.ivr.is_finished());
        assert_eq!(
            call.path(),
            ["hours=closed", "closed", "voicemail=recorded", "goodbye"]
        );
        // Finished: inputs change nothing.
        call.press("1");
        call.done();
        call.wait(60);
        assert!(call.actions().is_empty());
    }
}

#[test]
fn a_worked_sunday_is_open_and_the_24_hour_line_always_is() {
    let mut call = Call::new("12333", WORKED_SUNDAY_10AM);
    assert_eq!(call.actions(), [play(&["welcome"])]);
    for unix in [MONDAY_8PM, NATIONAL_DAY_10AM, SATURDAY_10AM, MONDAY_10AM] {
        let mut call = Call::new("12333-24h", unix);
        assert_eq!(call.actions(), [play(&["welcome"])]);
        assert_eq!(call.path(), ["hours=open", "welcome"]);
    }
}

#[test]
fn the_12345_flow_queues_at_once() {
    let mut call = Call::new("12345", MONDAY_8PM);
    assert_eq!(call.actions(), [queue("citizen")]);
    assert!(call.ivr.is_finished());
    assert_eq!(call.path(), ["agent"]);
}

#[test]
fn path_steps_serialize_with_kinds_and_without_empty_fields() {
    fn serializable<T: serde::Serialize>(_: &T) {}
    let mut call = Call::at_menu();
    call.press("3");
    serializable(&call.ivr.path());
    let kinds: Vec<NodeKind> = call.ivr.path().iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            NodeKind::Hours,
            NodeKind::Play,
            NodeKind::Menu,
            NodeKind::Queue
        ]
    );
    assert_eq!(call.ivr.path()[1].digits, None);
}

/// A hand-built flow: `a` and `b` are hours nodes leading to each other.
fn looping_flow() -> Arc<Flow> {
    let schedule = Arc::new(Schedule {
        name: "always".into(),
        utc_offset_minutes: 0,
        weekly: std::array::from_fn(|_| {
            vec![TimeRange {
                start: 0,
                end: 1440,
            }]
        }),
        holidays: BTreeSet::new(),
        extra_workdays: BTreeSet::new(),
    });
    let hours = |next: &str| Node::Hours {
        schedule: Arc::clone(&schedule),
        open: next.into(),
        closed: next.into(),
    };
    Arc::new(Flow {
        name: "loop".into(),
        start: "a".into(),
        nodes: HashMap::from([("a".into(), hours("b")), ("b".into(), hours("a"))]),
        record: true,
    })
}

#[test]
fn a_flow_that_loops_without_waiting_is_hung_up() {
    let mut ivr = Ivr::start(looping_flow(), Instant::now(), 0);
    assert_eq!(ivr.poll_action(), Some(IvrAction::Hangup));
    assert!(ivr.is_finished());
    assert_eq!(ivr.path().len(), MAX_HOPS);
    assert_eq!(ivr.path().last().unwrap().result.as_deref(), Some("loop"));
}

#[test]
fn a_menu_without_retries_fails_on_the_first_bad_key() {
    let menu = lifeline_config::Menu {
        prompts: vec!["m".into()],
        choices: BTreeMap::from([('1', "bye".into())]),
        timeout: Duration::from_secs(3),
        retries: 0,
        invalid_prompts: vec![],
        timeout_prompts: vec![],
        repeat_key: None,
        on_failure: "bye".into(),
    };
    let flow = Arc::new(Flow {
        name: "f".into(),
        start: "m".into(),
        record: true,
        nodes: HashMap::from([
            ("m".into(), Node::Menu(menu)),
            ("bye".into(), Node::Hangup { prompts: vec![] }),
        ]),
    });
    let now = Instant::now();
    let mut ivr = Ivr::start(flow, now, 0);
    assert_eq!(ivr.poll_action(), Some(play(&["m"])));
    ivr.handle(now, 0, IvrInput::Digit('x'));
    assert_eq!(ivr.poll_action(), None, "not a DTMF key");
    ivr.handle(now, 0, IvrInput::Digit('5'));
    assert_eq!(ivr.poll_action(), Some(IvrAction::StopPlayback));
    assert_eq!(ivr.poll_action(), Some(IvrAction::Hangup));
    assert_eq!(ivr.path()[0].result.as_deref(), Some("failure"));
}
