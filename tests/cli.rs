//! The `lifeline` command line: `check-config` accepts the demo and rejects a bad file
//! with a message naming the file, the key and what was expected.

#![allow(clippy::unwrap_used)] // setup failures panic by design

mod common;

use std::process::Command;

use common::root;

fn check_config(path: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_demo_config_is_valid() {
    let (ok, text) = check_config(&root().join("sip-config/lifeline.toml"));
    assert!(ok, "{text}");
    assert!(text.contains(": ok"), "{text}");
}

#[test]
fn a_bad_config_fails_with_file_key_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lifeline.toml");
    std::fs::write(
        &path,
        "version = 1\n[server]\nsip_listen = \"0.0.0.0:5060\"\nhttp_listen = \"127.0.0.1:8080\"\n\
         rtp_ports = \"30000-40000\"\ndata_dir = \"data\"\n[sip]\nrealm = \"lifeline\"\n",
    )
    .unwrap();
    let (ok, text) = check_config(&path);
    assert!(!ok, "a bad config must fail: {text}");
    assert!(text.contains("lifeline.toml"), "names the file: {text}");
    assert!(text.contains("server.rtp_ports"), "names the key: {text}");
    assert!(text.contains("32768"), "says what was expected: {text}");
}

#[test]
fn serve_refuses_to_start_on_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lifeline.toml");
    std::fs::write(&path, "version = 2\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("version"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
