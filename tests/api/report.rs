//! The audit report page: a real passive audit with a drifted, biased window against its
//! baseline, an active audit, the alias path, tenant scoping and unknown ids.

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server, spec};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// As the page escapes text (descriptions hold quotes and `<`/`>` signs).
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Fetches a report: status, then the body after checking the headers of a 200.
fn fetch(s: &Server, path: &str) -> (u16, String) {
    let r = s.client().get(s.url(path)).send().expect("request");
    let status = r.status().as_u16();
    if status == 200 {
        let h = r.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["content-security-policy"], CSP);
    }
    (status, r.text().expect("body"))
}

fn upload(s: &Server, model_id: &str, drift: f64, bias: f64, seed: u64, hours_ago: i64) {
    let mut g = spec(
        2000,
        seed,
        Utc::now() - Duration::hours(hours_ago),
        3_600_000,
    );
    g.drift = drift;
    g.bias = bias;
    let mut text = Vec::new();
    auditor::synth::write_text(
        auditor::synth::Generator::new(g),
        auditor::synth::OutFormat::Jsonl,
        &mut text,
    )
    .unwrap();
    s.post_raw(
        &format!("/models/{model_id}/samples"),
        "application/x-ndjson",
        text,
    )
    .ok(201);
}

fn run(s: &Server, model_id: &str, kind: &str) -> Value {
    let r = s
        .post(
            &format!("/models/{model_id}/audits?audit_type={kind}"),
            &json!({}),
        )
        .ok(202);
    s.wait_audit(r["audit_id"].as_str().unwrap())
}

fn assert_self_contained(html: &str) {
    for bad in ["<script", "src=", "href=", "http://", "https://"] {
        assert!(!html.contains(bad), "report contains {bad}");
    }
}

fn passive_report(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mut m = model("rpt", "ml", "sample", json!({"type": "sample"}));
    m["name"] = json!("<script>alert(1)</script>");
    s.post("/models/register", &m).ok(201);

    upload(&s, "rpt", 0.0, 0.0, 3, 2);
    let a1 = run(&s, "rpt", "passive");
    assert_eq!(a1["audit_result"], "BASELINE_CREATED", "{a1}");
    let id1 = a1["audit_id"].as_str().unwrap();
    let (st, html) = fetch(&s, &format!("/audits/{id1}/report.html"));
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("BASELINE CREATED"));
    assert!(
        html.contains("No baseline to compare with"),
        "first audit has no baseline"
    );

    upload(&s, "rpt", 0.9, 0.9, 4, 1);
    let a2 = run(&s, "rpt", "passive");
    assert_eq!(a2["audit_result"], "AUDIT_FAIL", "{a2}");
    let id2 = a2["audit_id"].as_str().unwrap();
    let (st, html) = fetch(&s, &format!("/audits/{id2}/report.html"));
    assert_eq!(st, 200, "{html}");
    assert_self_contained(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains(r#"class="badge fail">FAIL"#));
    assert!(html.contains(id1), "baseline audit id in the header");
    let findings = a2["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        let d = escaped(f["description"].as_str().unwrap());
        assert!(html.contains(&d), "finding not in the report: {d}");
    }
    for title in [
        "How to read this report",
        "Label distribution: baseline vs current",
        "Confidence histogram: baseline vs current",
        "Selection rate by gender",
        "four-fifths line",
        "Score history of the model",
        "Thresholds",
    ] {
        assert!(html.contains(title), "missing {title}");
    }
    // The biased window puts `female` under the four-fifths line.
    assert!(html.contains(r#"class="below""#), "no group below the line");
    assert!(!html.contains("No baseline to compare with"));

    // The frontend's path serves the same page.
    let (st, alias) = fetch(&s, &format!("/api/v1/audit/{id2}/report/html"));
    assert_eq!(st, 200);
    assert!(alias.contains("Selection rate by gender") && alias.contains(id2));

    // The PDF: same content, parses, has every finding's text.
    for path in [
        format!("/audits/{id2}/report.pdf"),
        format!("/api/v1/audit/{id2}/report/pdf"),
    ] {
        let r = s.client().get(s.url(&path)).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let bytes = r.bytes().unwrap();
        let doc = lopdf::Document::load_mem(&bytes).unwrap();
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        let text = doc.extract_text(&pages).unwrap();
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for f in findings {
            let d: String = f["description"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let head: String = d.chars().filter(char::is_ascii).take(40).collect();
            assert!(
                flat.contains(head.trim()),
                "finding not in the PDF: {head}\n{flat}"
            );
        }
        assert!(flat.contains("four-fifths"));
    }
    s.get("/audits/nope/report.pdf").detail(404);
    // The page renders in a real browser; a screenshot is kept beside the test database.
    if let Some(browser) = crate::browser::chromium() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.html");
        std::fs::write(&file, &html).unwrap();
        let shot = dir.path().join("report.png");
        let out = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1280,2400",
            ])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", file.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{} bytes",
            png.len()
        );
        let dom = crate::browser::dump_dom(browser, &format!("file://{}", file.display()));
        assert!(dom.contains("Selection rate by gender"));
    } else {
        eprintln!("screenshot skipped: no chromium on this machine");
    }

    // Unknown ids, and another tenant's audit, are 404 with a detail.
    s.get("/audits/nope/report.html").detail(404);
    s.get("/api/v1/audit/nope/report/html").detail(404);
    let t = s.post("/v1/tenants", &json!({"name": "globex"})).ok(201);
    let other = s.as_(Some(t["admin_key"].as_str().unwrap()));
    other.get(&format!("/audits/{id2}/report.html")).detail(404);
    other
        .get(&format!("/api/v1/audit/{id2}/report/html"))
        .detail(404);
    // No credential, no report.
    s.as_(None)
        .get(&format!("/audits/{id2}/report.html"))
        .detail(401);
}
on_both!(passive_report);

fn active_report(b: Backend) {
    let s = Server::start(&b, Options::default());
    s.post(
        "/models/register",
        &model("chat", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (url, _) = fake_chat::start(fake_chat::comply);
    s.put(
        "/models/chat/active-target",
        &json!({"url": url, "model": "m", "requests_per_minute": 6000, "max_calls": 500}),
    )
    .ok(200);
    crate::active::enable_active(&s, "chat");
    let a = run(&s, "chat", "active");
    let id = a["audit_id"].as_str().unwrap();
    let (st, html) = fetch(&s, &format!("/audits/{id}/report.html"));
    assert_eq!(st, 200, "{html}");
    assert_self_contained(&html);
    assert!(html.contains("active (security) audit"));
    assert!(html.contains("Security rules"));
    assert!(html.contains("no label, confidence or group distributions"));
    assert!(!html.contains("Label distribution: baseline vs current"));
    // Every rule outcome stored on the run is in the table.
    for r in a["evidence"]["rules"].as_array().unwrap() {
        let rule = escaped(r["rule_id"].as_str().unwrap());
        assert!(html.contains(&rule), "rule {rule} missing");
    }
    for f in a["findings"].as_array().unwrap() {
        assert!(html.contains(&escaped(f["description"].as_str().unwrap())));
    }
}
on_both!(active_report);

/// Answers like a model that refuses, slowly, so that the audit is still running when asked.
fn slow_refusal(system: &str, user: &str) -> String {
    std::thread::sleep(std::time::Duration::from_millis(150));
    fake_chat::refuse(system, user)
}

/// A report of a run in progress is 409 with a detail, and 200 once the run has finished.
#[test]
fn running_audit_report_is_409() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    s.post(
        "/models/register",
        &model("slow", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (url, _) = fake_chat::start(slow_refusal);
    s.put(
        "/models/slow/active-target",
        &json!({"url": url, "model": "m", "requests_per_minute": 6000, "max_calls": 12}),
    )
    .ok(200);
    crate::active::enable_active(&s, "slow");
    let r = s
        .post("/models/slow/audits?audit_type=active", &json!({}))
        .ok(202);
    let id = r["audit_id"].as_str().unwrap();
    let d = s.get(&format!("/audits/{id}/report.html")).detail(409);
    assert!(d.contains("still running"), "{d}");
    s.wait_audit(id);
    let (st, _) = fetch(&s, &format!("/audits/{id}/report.html"));
    assert_eq!(st, 200);
}
