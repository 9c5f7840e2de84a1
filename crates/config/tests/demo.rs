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
    assert_eq!(citizen.strategy, Strategy::RrMemory);
    assert_eq!(citizen.members, agents);
    let emergency = config.find_queue("emergency").unwrap();
    assert_eq!(emergency.members, agents);
    assert!(
        config
            .queues()
            .iter()
            .all(|q| q.name == "emergency" || q.priority < emergency.priority)
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
