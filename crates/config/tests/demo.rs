//! The demo configuration in `sip-config/` loads and keeps its contract.

use std::path::Path;

use lifeline_config::{NumberKind, Role, Route, Strategy, load};

const ENTRY: &str = "../../sip-config/lifeline.toml";

#[test]
fn every_file_in_sip_config_is_loaded() {
    let config = load(Path::new(ENTRY)).unwrap_or_else(|e| panic!("{e}"));
    let mut on_disk: Vec<String> = std::fs::read_dir("../../sip-config")
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut loaded: Vec<String> = config
        .files()
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    loaded.sort();
    assert_eq!(
        loaded, on_disk,
        "every .toml in sip-config/ must be reachable from lifeline.toml"
    );
    assert_eq!(config.files()[0], Path::new(ENTRY));
}

#[test]
fn demo_server_and_sip() {
    let config = load(Path::new(ENTRY)).unwrap();
    let server = config.server();
    assert_eq!(server.sip_listen, "0.0.0.0:5060".parse().unwrap());
    assert_eq!(server.http_listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(server.rtp_ports.ports(), 20000..=20999);
    assert_eq!(server.data_dir, Path::new("data"));
    assert_eq!(config.sip().realm, "lifeline");
    assert_eq!(config.sip().user_agent, "Lifeline");
}

#[test]
fn demo_numbers() {
    let config = load(Path::new(ENTRY)).unwrap();
    let ivr = config.find_number("12333").unwrap();
    assert_eq!(
        ivr.route,
        Route::Ivr {
            flow: "12333".into()
        }
    );
    let citizen = config.find_number("12345").unwrap();
    assert_eq!(
        (citizen.kind(), citizen.queue()),
        (NumberKind::Queue, Some("citizen"))
    );
    for sos in ["110", "urn:service:sos"] {
        let number = config.find_number(sos).unwrap();
        assert_eq!(
            (number.kind(), number.queue()),
            (NumberKind::Emergency, Some("emergency"))
        );
    }
    assert!(config.find_number("119").is_none());
}

#[test]
fn demo_queues() {
    let config = load(Path::new(ENTRY)).unwrap();
    let agents = ["1001", "1002", "1003", "1004"];
    let citizen = config.find_queue("citizen").unwrap();
    let ids = |q: &lifeline_config::Queue| -> Vec<String> {
        q.members.iter().map(|m| m.id.clone()).collect()
    };
    assert_eq!(citizen.settings.strategy, Strategy::RrMemory);
    assert_eq!(ids(citizen), agents);
    let emergency = config.find_queue("emergency").unwrap();
    assert_eq!(ids(emergency), agents);
    assert!(
        config
            .queues()
            .iter()
            .all(|q| q.name == "emergency" || q.settings.priority < emergency.settings.priority)
    );
    for name in ["social-insurance", "employment", "labour-relations"] {
        assert!(
            !config.find_queue(name).unwrap().members.is_empty(),
            "{name}"
        );
    }
}

#[test]
fn demo_users() {
    let config = load(Path::new(ENTRY)).unwrap();
    for n in 1001..=1004 {
        let user = config.find_user(&n.to_string()).unwrap();
        assert_eq!(user.password.expose(), format!("pw{n}"));
        assert_eq!(user.role, Role::Agent);
        assert_eq!(user.display_name, format!("Agent {n}"));
    }
    assert!(config.find_user("1005").is_none());
}

#[test]
fn demo_callboxes_around_hangzhou() {
    let config = load(Path::new(ENTRY)).unwrap();
    for n in 1..=3 {
        let id = format!("box-00{n}");
        let callbox = config.find_callbox(&id).unwrap();
        assert_eq!(callbox.password.expose(), format!("secret-{id}"));
        assert!(
            (callbox.lat - 30.25).abs() < 0.1 && (callbox.lon - 120.16).abs() < 0.1,
            "{id}"
        );
        assert!(callbox.zone.is_some() && !callbox.name.is_empty());
    }
    assert_eq!(config.callboxes().len(), 3);
}

#[test]
fn demo_flow_12333_menu_and_branches() {
    use lifeline_config::{Node, NodeKind};
    let config = load(Path::new(ENTRY)).unwrap();
    let flow = config.find_flow("12333").unwrap();
    assert_eq!(flow.start, "hours");
    let Some(Node::Hours {
        schedule,
        open,
        closed,
    }) = flow.node("hours")
    else {
        panic!("hours node")
    };
    assert_eq!(
        (schedule.name.as_str(), schedule.utc_offset_minutes),
        ("office", 480)
    );
    assert_eq!((open.as_str(), closed.as_str()), ("welcome", "closed"));
    let Some(Node::Menu(menu)) = flow.node("main") else {
        panic!("main menu")
    };
    let queue_of = |id: &str| match flow.node(id) {
        Some(Node::Queue { queue, moh, .. }) => {
            assert_eq!(moh.as_deref(), Some("music-on-hold"));
            queue.clone()
        }
        other => panic!("{id}: {other:?}"),
    };
    for (key, queue) in [
        ('1', "social-insurance"),
        ('2', "employment"),
        ('3', "labour-relations"),
        ('0', "citizen"),
    ] {
        assert_eq!(queue_of(&menu.choices[&key]), queue);
        assert!(config.find_queue(queue).is_some());
    }
    assert_eq!(menu.repeat_key, Some('*'));
    assert_eq!(
        flow.node(&menu.choices[&'9']).unwrap().kind(),
        NodeKind::Collect
    );
    assert_eq!(flow.node("voicemail").unwrap().kind(), NodeKind::Voicemail);
}

#[test]
fn demo_24_hour_test_line_runs_12333_always_open() {
    use lifeline_config::Node;
    let config = load(Path::new(ENTRY)).unwrap();
    let number = config.find_number("12399").unwrap();
    assert_eq!(
        number.route,
        Route::Ivr {
            flow: "12333-24h".into()
        }
    );
    let day = config.find_flow("12333").unwrap();
    let always = config.find_flow("12333-24h").unwrap();
    assert_eq!(always.start, day.start);
    let mut ids: Vec<&String> = always.nodes.keys().collect();
    let mut day_ids: Vec<&String> = day.nodes.keys().collect();
    ids.sort();
    day_ids.sort();
    assert_eq!(ids, day_ids);
    for (id, node) in &always.nodes {
        match node {
            Node::Hours { schedule, .. } => {
                assert_eq!(schedule.name, "always");
                // Every minute of a week, in any time zone.
                assert!((0..7 * 1440).all(|m| schedule.is_open(1_772_000_000 + m * 60)));
            }
            other => assert_eq!(Some(other), day.node(id), "{id}"),
        }
    }
    for number in config.numbers() {
        if let Route::Ivr { flow } = &number.route {
            assert!(config.find_flow(flow).is_some(), "{flow}");
        }
    }
}

#[test]
fn demo_office_schedule_and_balances_table() {
    let config = load(Path::new(ENTRY)).unwrap();
    let office = config.find_schedule("office").unwrap();
    // 2026-03-02 is a Monday; 02:00 UTC is 10:00 in Beijing.
    let monday_10am = 1_772_416_800;
    assert!(office.is_open(monday_10am));
    assert!(!office.is_open(monday_10am + 10 * 3600));
    assert!(!office.is_open(monday_10am + 5 * 86_400));
    let table = config.find_table("balances").unwrap();
    assert!(table.path.ends_with("selfservice/balances.csv"));
    let rows = table.read_rows().unwrap();
    assert!(rows.len() >= 3);
    for (key, value) in &rows {
        assert!(key.len() == 18 && key.starts_with("999999"), "{key}");
        assert!(value.parse::<f64>().is_ok(), "{value}");
    }
}

#[test]
fn demo_prompts_are_small_and_each_is_8khz_mono() {
    let config = load(Path::new(ENTRY)).unwrap();
    assert_eq!(config.prompts_dir(), Path::new("../../sip-config/prompts"));
    assert!(config.prompt_path("welcome").is_file());
    let total: u64 = std::fs::read_dir(config.prompts_dir())
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum();
    // A guard against bloating the repository: 16 s of music on hold and about 70
    // spoken prompts fit in 2.5 MB of 8 kHz PCM.
    assert!(total < 2_500_000, "prompts take {total} bytes");
}
