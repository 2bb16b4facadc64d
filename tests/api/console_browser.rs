//! The console driven by a person in headless Chromium (tests/browser/console.mjs with
//! playwright-core, axe-core on every page): sign-in, registering a model with a log source and
//! seeing its baseline audit appear live, approving a baseline, versions and metrics, the PDF,
//! acknowledging and resolving findings, sign-out, and a viewer in another time zone.

use crate::browser::chromium;
use crate::harness::{Backend, Options, Server, audit_generated, spec, write_evidence};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

fn browser_tests() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// Why the browser test cannot run here, if it cannot (`.ci/run` installs what it needs).
fn missing() -> Option<String> {
    if chromium().is_none() {
        return Some("no chromium on this machine (Debian: apt-get install chromium)".into());
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node on this machine".into());
    }
    let modules = browser_tests().join("node_modules/playwright-core");
    if !modules.exists() {
        return Some(format!(
            "{} is missing: run npm ci --prefix tests/browser",
            modules.display()
        ));
    }
    None
}

#[test]
fn a_person_uses_the_console_in_a_browser() {
    if let Some(why) = missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            scheduler: true,
            ..Options::default()
        },
    );
    let password = "correct horse battery staple";
    for (user, role) in [("ann", "admin"), ("vic", "viewer")] {
        s.post(
            "/users",
            &json!({"username": user, "password": password, "role": role}),
        )
        .ok(201);
    }
    // A model whose second audit drifted, so that there are findings to act on.
    s.post(
        "/models/register",
        &crate::registry::model("drifting", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let start = chrono::Utc::now() - chrono::Duration::hours(3);
    audit_generated(&s, "drifting", spec(3000, 1, start, 3_600_000));
    let mut drifted = spec(3000, 2, start + chrono::Duration::hours(1), 3_600_000);
    drifted.drift = 0.6;
    let a = audit_generated(&s, "drifting", drifted);
    let found = s
        .get(&format!("/findings/{}", a["audit_id"].as_str().unwrap()))
        .ok(200);
    assert!(found["findings"].as_array().unwrap().len() >= 3, "{found}");
    // The log the person registers: the last hour's predictions, alone in its folder.
    let log = s.evidence.join("browser-scorer/preds.jsonl");
    write_evidence(
        &log,
        spec(
            1500,
            3,
            chrono::Utc::now() - chrono::Duration::hours(1),
            3_000_000,
        ),
    );
    // Where the person's webhook goes: the test delivery must arrive, signed with the secret
    // the page showed once.
    let (hook_url, hook_seen) = crate::notify::receiver(0);
    let shots = std::env::var("CONSOLE_SCREENSHOTS").unwrap_or_default();
    let out = Command::new("node")
        .arg(browser_tests().join("console.mjs"))
        .current_dir(browser_tests())
        .env("BASE", s.url(""))
        .env("CHROMIUM", which(chromium().unwrap()))
        .env("PASSWORD", password)
        .env("ADMIN_USER", "ann")
        .env("VIEWER_USER", "vic")
        .env("LOG_PATH", &log)
        .env("DRIFT_MODEL", "drifting")
        .env("API_KEY", s.admin_key.clone().unwrap())
        .env("SHOTS", shots)
        .env("HOOK_URL", &hook_url)
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{text}\n{}",
        s.log_text()
    );
    assert!(text.contains("axe ran on"), "{text}");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("webhook secret shown once: "))
        .expect("the script names the secret it saw");
    let got = hook_seen.lock().unwrap().clone();
    let (hdrs, body) = got
        .iter()
        .find(|(h, _)| crate::notify::header(h, "x-auditor-event") == "webhook.test")
        .expect("the test delivery arrived");
    assert_eq!(
        crate::notify::header(hdrs, "x-auditor-signature"),
        audit_scheduler::notify::sign(secret.trim(), body.as_bytes())
    );
}

/// The browser's full path (playwright wants one).
fn which(name: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
