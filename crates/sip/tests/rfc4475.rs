//! RFC 4475 torture messages through the parser: every message the RFC calls
//! well-formed parses, every one it wants rejected at the syntax level is rejected with
//! the status code it names (`expected.toml` holds the per-message expectations).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on setup failure by design

use std::collections::BTreeMap;
use std::path::Path;

use lifeline_sip::{Message, Transport, parse};

#[derive(serde::Deserialize)]
struct Expectation {
    section: String,
    expect: String,
    #[serde(default)]
    also_ok: Vec<String>,
}

/// Codes the message layer itself answers with; anything else is decided above it.
const PARSER_CODES: [&str; 5] = ["400", "413", "416", "505", "513"];

fn corpus() -> Vec<(String, Expectation, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rfc4475");
    let text = std::fs::read_to_string(dir.join("expected.toml")).unwrap();
    let table: BTreeMap<String, Expectation> = toml::from_str(&text).unwrap();
    table
        .into_iter()
        .map(|(name, e)| {
            let bytes = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
            (name, e, bytes)
        })
        .collect()
}

#[test]
fn all_49_messages_get_the_rfc_treatment() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 49);
    let mut failures = Vec::new();
    for (name, e, bytes) in &corpus {
        let outcome = parse(bytes, Transport::Datagram);
        let ok = if PARSER_CODES.contains(&e.expect.as_str()) {
            matches!(&outcome, Err(err) if err.code.to_string() == e.expect
                || e.also_ok.contains(&err.code.to_string()))
        } else if e.expect == "ignore" {
            outcome.is_err() || matches!(outcome, Ok(Message::Response(_)))
        } else {
            outcome.is_ok()
        };
        if !ok {
            failures.push(format!(
                "{name} (§{}): expected {}, got {:?}",
                e.section,
                e.expect,
                outcome.map(|_| "parsed")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 49 wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rejections_can_be_answered_when_addressable() {
    for (name, e, bytes) in corpus() {
        if let Err(err) = parse(&bytes, Transport::Datagram)
            && e.expect == err.code.to_string()
            && let Some(resp) = err.response()
        {
            let wire = resp.encode();
            let status_line = wire.split(|b| *b == b'\n').next().unwrap();
            let status_line = std::str::from_utf8(status_line).unwrap();
            assert!(
                status_line.starts_with(&format!("SIP/2.0 {} ", err.code)),
                "{name}: {status_line}"
            );
            assert!(
                status_line.ends_with('\r') && !status_line[..status_line.len() - 1].contains('\r'),
                "{name}"
            );
        }
    }
}
