//! The server's log lines: plain text without colour codes when standard error is not a
//! terminal (a file, a pipe, a collector), one JSON object a line with `AUDITOR_LOG_FORMAT=json`.

use crate::harness::{Backend, Options, Server};

#[test]
fn logs_to_a_file_carry_no_colour_codes() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    s.get("/health").ok(200);
    let log = s.log_text();
    assert!(log.contains("listening"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "an escape code in a log file: {log:?}"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            env: vec![("AUDITOR_LOG_FORMAT".into(), "json".into())],
            ..Options::default()
        },
    );
    s.get("/health").ok(200);
    let log = s.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let listening = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("listening"))
        })
        .unwrap_or_else(|| panic!("no listening line: {log}"));
    assert_eq!(listening["level"], "INFO");
    assert!(listening["addr"].is_string(), "{listening}");
    assert!(listening["timestamp"].is_string(), "{listening}");
}
