//! Audits end to end: scheduled runs, run-now, approval, samples, api sources, dashboards whose
//! numbers match the stored rows, restarts.

use crate::harness::{Backend, Options, Server, spec, ts, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn audits_of(s: &Server, model_id: &str) -> Vec<Value> {
    s.get(&format!("/audits/model/{model_id}?limit=500"))
        .ok(200)["audits"]
        .as_array()
        .unwrap()
        .clone()
}

fn finished(s: &Server, model_id: &str) -> Vec<Value> {
    audits_of(s, model_id)
        .into_iter()
        .filter(|a| a["run_state"] == "finished")
        .collect()
}

/// Scheduled: a new policy is due at once (baseline), the next slot compares a drifted window,
/// and every list, filter and dashboard agrees with the stored rows.
fn scheduled_end_to_end(b: Backend) {
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: 3.0,
            ..Options::default()
        },
    );
    let now = Utc::now();
    write_evidence(
        &s.evidence.join("fraud/w0.jsonl"),
        spec(3000, 7, now - Duration::hours(1), 3_000_000),
    );
    write_evidence(
        &s.evidence.join("stable/w0.jsonl"),
        spec(3000, 8, now - Duration::hours(1), 3_000_000),
    );
    for (id, dir) in [("fraud", "fraud"), ("stable", "stable")] {
        let mut m = model(
            id,
            "ml",
            "batch",
            json!({"type": "batch", "config": {"path": dir}}),
        );
        m["policy"] = json!({"audit_frequency": "daily", "thresholds": {"min_group_size": 100}});
        s.post("/models/register", &m).ok(201);
    }
    // The baselines.
    let base = s.wait_for(30, "baselines", || {
        let f = finished(&s, "fraud");
        let g = finished(&s, "stable");
        (!f.is_empty() && !g.is_empty()).then(|| f[f.len() - 1].clone())
    });
    assert_eq!(base["audit_result"], "BASELINE_CREATED", "{base}");
    assert_eq!(base["execution_status"], "SUCCESS");
    assert_eq!(base["trigger"], "schedule");
    let base_end = ts(&base["window_end"]);
    let model = s.get("/models/fraud").ok(200);
    assert_eq!(model["baseline_audit_id"], base["audit_id"]);
    assert_eq!(model["last_audit_status"], "BASELINE_CREATED");

    // The next window: drifted and biased for one model, the same population for the other.
    let mut drifted = spec(3000, 9, base_end + Duration::milliseconds(1), 1500);
    drifted.drift = 0.8;
    drifted.bias = 0.8;
    write_evidence(&s.evidence.join("fraud/w1.jsonl"), drifted);
    write_evidence(
        &s.evidence.join("stable/w1.jsonl"),
        spec(3000, 10, base_end + Duration::milliseconds(1), 1500),
    );
    let judged = |id: &str| {
        finished(&s, id)
            .into_iter()
            .find(|a| a["audit_result"] != "BASELINE_CREATED" && a["execution_status"] == "SUCCESS")
    };
    let fail = s.wait_for(30, "a judged audit", || judged("fraud"));
    let pass = s.wait_for(30, "a judged audit", || judged("stable"));
    assert_eq!(fail["audit_result"], "AUDIT_FAIL", "{fail}");
    assert_eq!(pass["audit_result"], "AUDIT_PASS", "{pass}");
    assert!(fail["drift_score"].as_f64().unwrap() > pass["drift_score"].as_f64().unwrap());
    assert_eq!(ts(&fail["window_start"]), base_end);
    assert_eq!(fail["baseline_audit_id"], base["audit_id"]);

    // Detail: summary and findings.
    let id = fail["audit_id"].as_str().unwrap();
    let d = s.get(&format!("/audits/{id}")).ok(200);
    assert_eq!(d["summary"]["audit_id"], id);
    for k in [
        "drift_score",
        "bias_score",
        "risk_score",
        "total_findings",
        "critical_findings",
        "high_findings",
    ] {
        assert!(d["summary"][k].is_number(), "{k}: {d}");
    }
    let findings = d["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert_eq!(d["summary"]["total_findings"], findings.len());
    let cats: Vec<&str> = findings
        .iter()
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert!(
        cats.contains(&"drift") && cats.contains(&"bias"),
        "{cats:?}"
    );
    for f in findings {
        for k in [
            "id",
            "audit_id",
            "category",
            "rule_id",
            "severity",
            "metric_name",
            "baseline_value",
            "current_value",
            "deviation_percentage",
            "description",
        ] {
            assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
        }
    }
    let per = s.get(&format!("/findings/{id}")).ok(200);
    assert_eq!(per["total"], findings.len());

    // Filters agree with one another and with the rows.
    let all_audits = s.get("/audits?limit=500").ok(200);
    let total = all_audits["total"].as_i64().unwrap();
    assert_eq!(all_audits["audits"].as_array().unwrap().len() as i64, total);
    let rows = all_audits["audits"].as_array().unwrap();
    let count = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|a| f(a)).count() as i64;
    for r in ["AUDIT_PASS", "AUDIT_FAIL", "BASELINE_CREATED", "AUDIT_WARN"] {
        let n = s.get(&format!("/audits?audit_result={r}")).ok(200)["total"]
            .as_i64()
            .unwrap();
        assert_eq!(n, count(&|a| a["audit_result"] == r), "{r}");
    }
    for st in ["SUCCESS", "PARTIAL", "FAILED"] {
        let n = s.get(&format!("/audits?execution_status={st}")).ok(200)["total"]
            .as_i64()
            .unwrap();
        assert_eq!(n, count(&|a| a["execution_status"] == st), "{st}");
    }
    assert_eq!(s.get("/audits?audit_type=passive").ok(200)["total"], total);
    assert_eq!(s.get("/audits?audit_type=active").ok(200)["total"], 0);
    let fraud_n = s.get("/audits?model_id=fraud").ok(200)["total"]
        .as_i64()
        .unwrap();
    assert_eq!(fraud_n, count(&|a| a["model_id"] == "fraud"));
    let future =
        (Utc::now() + Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(s.get(&format!("/audits?from={future}")).ok(200)["total"], 0);
    let past = (Utc::now() - Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        s.get(&format!("/audits?from={past}&to={future}")).ok(200)["total"],
        total
    );
    let with_running = s.get("/audits?include_running=true&limit=500").ok(200);
    assert!(with_running["total"].as_i64().unwrap() >= total);
    let first = s.get("/audits?limit=1").ok(200);
    assert_eq!(first["audits"].as_array().unwrap().len(), 1);

    // Findings filters.
    let fl = s.get("/findings?limit=500").ok(200);
    let all_f = fl["findings"].as_array().unwrap().clone();
    let nf = fl["total"].as_i64().unwrap();
    assert_eq!(all_f.len() as i64, nf);
    let mut by_sev: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_cat: BTreeMap<String, i64> = BTreeMap::new();
    for f in &all_f {
        *by_sev
            .entry(f["severity"].as_str().unwrap().into())
            .or_default() += 1;
        *by_cat
            .entry(f["category"].as_str().unwrap().into())
            .or_default() += 1;
    }
    for sev in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
        let n = s.get(&format!("/findings?severity={sev}")).ok(200)["total"]
            .as_i64()
            .unwrap();
        assert_eq!(n, by_sev.get(sev).copied().unwrap_or(0), "{sev}");
    }
    for cat in ["drift", "bias", "risk", "compliance", "security"] {
        let n = s.get(&format!("/findings?category={cat}")).ok(200)["total"]
            .as_i64()
            .unwrap();
        assert_eq!(n, by_cat.get(cat).copied().unwrap_or(0), "{cat}");
    }
    let nfraud = s.get("/findings?model_id=fraud").ok(200)["total"]
        .as_i64()
        .unwrap();
    assert!(nfraud >= findings.len() as i64);
    assert_eq!(
        s.get(&format!("/findings?audit_id={id}")).ok(200)["total"],
        findings.len()
    );
    assert_eq!(
        s.get(&format!("/findings?from={future}")).ok(200)["total"],
        0
    );
    assert_eq!(s.get(&format!("/findings?to={past}")).ok(200)["total"], 0);
    assert_eq!(
        s.get(&format!("/findings?from={past}&to={future}&limit=500"))
            .ok(200)["total"],
        nf
    );
    let both = s.get("/findings?severity=CRITICAL&category=bias").ok(200);
    let expect = all_f
        .iter()
        .filter(|f| f["severity"] == "CRITICAL" && f["category"] == "bias")
        .count();
    assert_eq!(both["total"], expect);

    // The dashboard matches the rows (the scheduler keeps running: hold it still first).
    let policies = s.get("/audit-policies").ok(200);
    for p in policies["policies"].as_array().unwrap() {
        s.put(
            &format!("/audit-policies/{}", p["id"]),
            &json!({"enabled": false}),
        )
        .ok(200);
    }
    s.wait_for(30, "no running audit", || {
        (s.get("/dashboard/overview").ok(200)["running_audits"] == 0).then_some(())
    });
    let o = s.get("/dashboard/overview").ok(200);
    let rows = s.get("/audits?limit=500").ok(200)["audits"]
        .as_array()
        .unwrap()
        .clone();
    let fl = s.get("/findings?limit=500").ok(200)["findings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(o["total_models"], 2);
    assert_eq!(o["total_audits"], rows.len());
    let n = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|a| f(a)).count();
    assert_eq!(
        o["passed_audits"],
        n(&|a| a["audit_result"] == "AUDIT_PASS")
    );
    assert_eq!(
        o["failed_audits"],
        n(&|a| a["audit_result"] == "AUDIT_FAIL")
    );
    assert_eq!(
        o["critical_findings_count"],
        fl.iter().filter(|f| f["severity"] == "CRITICAL").count()
    );
    assert_eq!(
        o["high_findings_count"],
        fl.iter().filter(|f| f["severity"] == "HIGH").count()
    );
    let dist = &o["audit_status_distribution"];
    assert_eq!(
        dist["BASELINE_CREATED"],
        n(&|a| a["audit_result"] == "BASELINE_CREATED")
    );
    for k in [
        "overall_risk_score",
        "drift_score_percentage",
        "bias_score_percentage",
    ] {
        let v = o[k].as_f64().unwrap_or_else(|| panic!("{k}: {o}"));
        assert!((0.0..=100.0).contains(&v), "{k} = {v}");
    }
    // Model dashboard: the score history, oldest first.
    let md = s.get("/dashboard/model/fraud").ok(200);
    assert_eq!(md["model"]["model_id"], "fraud");
    let scores = md["scores"].as_array().unwrap();
    let judged_n = rows
        .iter()
        .filter(|a| a["model_id"] == "fraud" && a["drift_score"].is_number())
        .count();
    assert_eq!(scores.len(), judged_n, "{md}");
    assert!(ts(&scores[0]["executed_at"]) <= ts(&scores[scores.len() - 1]["executed_at"]));
    let sev_sum: i64 = md["findings_by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(sev_sum, nfraud_now(&s));
    // No slot ran twice.
    let mut slots: Vec<String> = rows
        .iter()
        .map(|a| format!("{}{}", a["model_id"], a["scheduled_at"]))
        .collect();
    let before = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), before);
}
on_both!(scheduled_end_to_end);

fn nfraud_now(s: &Server) -> i64 {
    s.get("/findings?model_id=fraud").ok(200)["total"]
        .as_i64()
        .unwrap()
}

/// Run now, approve as the new baseline, sample uploads, an `api` source.
fn run_now_approve_samples(b: Backend) {
    let s = Server::start(&b, Options::default());
    // A sample-fed model.
    s.post(
        "/models/register",
        &model("smp", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let mut text = Vec::new();
    auditor::synth::write_text(
        auditor::synth::Generator::new(spec(2000, 3, Utc::now() - Duration::hours(2), 3_600_000)),
        auditor::synth::OutFormat::Jsonl,
        &mut text,
    )
    .unwrap();
    text.extend_from_slice(b"{not json}\n");
    let r = s
        .post_raw("/models/smp/samples", "application/x-ndjson", text.clone())
        .ok(201);
    assert_eq!(r["rows_valid"], 2000, "{r}");
    assert_eq!(r["rows_invalid"], 1, "{r}");
    s.post_raw(
        "/models/smp/samples",
        "application/octet-stream",
        text.clone(),
    )
    .detail(415);
    s.post_raw("/models/nope/samples", "application/x-ndjson", text.clone())
        .detail(404);
    s.post_raw("/models/smp/samples", "application/x-ndjson", "garbage\n")
        .detail(422);

    let run = s.post("/models/smp/audits", &json!({})).ok(202);
    assert_eq!(run["trigger"], "manual");
    let a1 = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a1["audit_result"], "BASELINE_CREATED", "{a1}");
    let m = s.get("/models/smp").ok(200);
    assert_eq!(m["last_audit_status"], "BASELINE_CREATED", "{m}");
    assert_eq!(m["last_execution_status"], a1["execution_status"], "{m}");
    assert_ne!(m["last_execution_status"], "FAILED", "{m}");
    // The sample was consumed: a second run has no evidence.
    let run = s.post("/models/smp/audits", &json!({})).ok(202);
    let a2 = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a2["execution_status"], "FAILED", "{a2}");
    // Seed 000's last_audit_status holds an audit result only: a run that could not judge
    // has none, and says how it went in last_execution_status.
    let m = s.get("/models/smp").ok(200);
    assert_eq!(m["last_audit_status"], Value::Null, "{m}");
    assert_eq!(m["last_execution_status"], "FAILED", "{m}");
    let listed = s.get("/models?limit=500").ok(200);
    let row = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model_id"] == "smp")
        .unwrap()
        .clone();
    assert_eq!(row["last_audit_status"], Value::Null, "{row}");
    assert_eq!(row["last_execution_status"], "FAILED", "{row}");
    assert!(
        a2["execution_reason"].as_str().unwrap().contains("row"),
        "{a2}"
    );
    // A drifted sample fails against the baseline.
    let mut drifted = spec(2000, 4, Utc::now() - Duration::hours(1), 3_600_000);
    drifted.drift = 0.9;
    let mut text = Vec::new();
    auditor::synth::write_text(
        auditor::synth::Generator::new(drifted),
        auditor::synth::OutFormat::Csv,
        &mut text,
    )
    .unwrap();
    s.post_raw("/models/smp/samples?format=csv", "text/plain", text)
        .ok(201);
    let run = s.post("/models/smp/audits", &json!({})).ok(202);
    let a3 = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a3["audit_result"], "AUDIT_FAIL", "{a3}");
    assert_eq!(a3["baseline_audit_id"], a1["audit_id"]);

    // Approve it: it becomes the baseline; a failed run cannot be approved.
    let id3 = a3["audit_id"].as_str().unwrap();
    let ap = s
        .post(
            &format!("/audits/{id3}/approve"),
            &json!({"approved_by": "jane", "note": "new normal"}),
        )
        .ok(200);
    assert_eq!(ap["audit_id"], id3);
    // The credential is the approver of record; the name given is in the note.
    assert!(
        ap["approved_by"].as_str().unwrap().starts_with("key:key_"),
        "{ap}"
    );
    assert_eq!(ap["note"], "on behalf of jane: new normal");
    assert_eq!(s.get("/models/smp").ok(200)["baseline_audit_id"], id3);
    let id2 = a2["audit_id"].as_str().unwrap();
    s.post(&format!("/audits/{id2}/approve"), &json!({}))
        .detail(422);
}
on_both!(run_now_approve_samples);

/// An `api` source: an inference summary fetched from a configured URL.
fn api_source(b: Backend) {
    let s = Server::start(&b, Options::default());
    let summary = json!({
        "rows": 1000,
        "label_counts": {"approve": 600, "deny": 400},
        "confidence": {"count": 1000, "mean": 0.8, "variance": 0.01},
        "confidence_histogram": [0, 0, 0, 0, 0, 50, 150, 300, 300, 200],
        "outcomes": {"count": 1000, "positives": 600},
        "groups": {"gender": {"female": {"count": 500, "positives": 290}, "male": {"count": 500, "positives": 310}}}
    });
    let url = serve_once(summary.to_string(), 3);
    let m = model(
        "api-m",
        "ml",
        "api",
        json!({"type": "api", "config": {"url": url, "headers": {"authorization": "Bearer s3cr3t-token"}}}),
    );
    let created = s.post("/models/register", &m).ok(201);
    assert!(
        !created.to_string().contains("s3cr3t-token"),
        "secret returned: {created}"
    );
    let run = s.post("/models/api-m/audits", &json!({})).ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["audit_result"], "BASELINE_CREATED", "{a}");
    assert!(
        !s.get("/models/api-m")
            .ok(200)
            .to_string()
            .contains("s3cr3t-token")
    );
    assert!(!s.log_text().contains("s3cr3t-token"));
    // An unreachable source fails the run with its reason, and the server stays up.
    let m = model(
        "api-down",
        "ml",
        "api",
        json!({"type": "api", "config": {"url": "http://127.0.0.1:9/summary", "timeout_secs": 2}}),
    );
    s.post("/models/register", &m).ok(201);
    let run = s.post("/models/api-down/audits", &json!({})).ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["execution_status"], "FAILED", "{a}");
    assert!(a["execution_reason"].is_string());
}
on_both!(api_source);

/// A one-thread HTTP server answering `n` requests with `body`; returns its URL.
fn serve_once(body: String, n: usize) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/summary", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in l.incoming().take(n) {
            let Ok(mut st) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = st.read(&mut buf);
            let _ = write!(
                st,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    url
}

/// A run left running by a crash is closed at the next start; an overdue policy runs once.
#[test]
fn restart_closes_interrupted_and_catches_up_once() {
    let b = Backend::Sqlite;
    let mut s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: 2.0,
            ..Options::default()
        },
    );
    write_evidence(
        &s.evidence.join("m/w0.jsonl"),
        spec(500, 1, Utc::now() - Duration::hours(1), 3_000_000),
    );
    let mut m = model(
        "m",
        "ml",
        "logs",
        json!({"type": "logs", "config": {"path": "m"}}),
    );
    m["policy"] = json!({"audit_frequency": "daily"});
    s.post("/models/register", &m).ok(201);
    s.wait_for(30, "baseline", || {
        (!finished(&s, "m").is_empty()).then_some(())
    });
    let before = audits_of(&s, "m").len();
    s.kill();
    // Simulate a crash mid-run: a run left in the running state.
    let db = s.db_file.clone().unwrap();
    {
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        let mut c = SqliteConnection::establish(db.to_str().unwrap()).unwrap();
        diesel::sql_query(
            "INSERT INTO audit_runs (audit_id, model_id, audit_type, scheduled_at, run_state, trigger_kind, model_version, window_end) \
             VALUES ('aud_crashed', 'm', 'passive', '2000-01-01 00:00:00', 'running', 'schedule', '1.0.0', '2000-01-01 00:00:00')",
        )
        .execute(&mut c)
        .unwrap();
    }
    // Several "days" of downtime.
    std::thread::sleep(std::time::Duration::from_secs(7));
    // Restarted with longer days, so that the only run it makes soon is the catch-up.
    let s2 = s.sibling(Options {
        scheduler: true,
        day_seconds: 60.0,
        ..Options::default()
    });
    let crashed = s2.wait_for(10, "closed run", || {
        let r = s2.get("/audits/aud_crashed").ok(200);
        (r["run_state"] == "finished").then_some(r)
    });
    assert_eq!(crashed["execution_status"], "FAILED");
    assert!(
        crashed["execution_reason"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{crashed}"
    );
    // Exactly one catch-up run, not one per missed day.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let after = audits_of(&s2, "m").len();
    // The baseline(s) before, the closed crashed run, and one catch-up.
    assert_eq!(after, before + 2, "{:#?}", audits_of(&s2, "m"));
}

/// `auditor serve --demo`: a fresh database with the demo registry; baselines first, then the
/// story the registry scripts (days of 2 s here): the stable model passes, the drifting one
/// warns or fails, the screener fails the four-fifths rule, the assistant recovers after a new
/// baseline is approved.
#[test]
fn demo_shows_baselines_then_failures() {
    let dir = tempfile::tempdir().unwrap();
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/demo.toml");
    let demo_dir = dir.path().join("demo");
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            scheduler: true,
            day_seconds: 2.0,
            no_roots: true,
            admin_key: None,
            // The demo makes no outbound call and allows nothing.
            outbound_allow: None,
            env: Vec::new(),
            extra: vec![
                "--demo".into(),
                "--demo-dir".into(),
                demo_dir.to_string_lossy().into_owned(),
                "--demo-seed".into(),
                seed.into(),
            ],
        },
    );
    assert!(demo_dir.join(".auditor-demo").exists());
    // A person signs in to the demo's console with the password it printed.
    let password = s
        .console_password
        .clone()
        .expect("the demo prints a console password");
    s.post(
        "/auth/login",
        &serde_json::json!({"username": "demo", "password": password}),
    )
    .ok(200);
    assert!(demo_dir.join("evidence/fraud-detector").is_dir());
    let models = s.get("/models").ok(200);
    assert_eq!(models["total"], 4);
    s.wait_for(20, "four baselines", || {
        (s.get("/audits?audit_result=BASELINE_CREATED").ok(200)["total"] == 4).then_some(())
    });
    // The screener fails on the four-fifths rule once its disparity is real.
    let screener = s.wait_for(40, "the screener failing the four-fifths rule", || {
        finished(&s, "resume-screener").into_iter().find_map(|a| {
            let id = a["audit_id"].as_str()?.to_owned();
            let d = s.get(&format!("/audits/{id}")).ok(200);
            d["findings"]
                .as_array()?
                .iter()
                .any(|f| {
                    f["rule_id"] == "bias.disparate_impact"
                        && ["HIGH", "CRITICAL"]
                            .contains(&f["severity"].as_str().unwrap_or_default())
                })
                .then_some(d)
        })
    });
    assert_eq!(screener["audit_result"], "AUDIT_FAIL", "{screener}");
    // The drifting model warns or fails.
    s.wait_for(40, "the fraud model's drift found", || {
        finished(&s, "fraud-detector").into_iter().find(|a| {
            ["AUDIT_WARN", "AUDIT_FAIL"].contains(&a["audit_result"].as_str().unwrap_or_default())
        })
    });
    // The assistant fails, is retrained, gets a new baseline approved, and passes again.
    s.wait_for(60, "the assistant recovering after a new baseline", || {
        // Oldest first.
        let mut runs = finished(&s, "support-assistant");
        runs.reverse();
        let first = runs.first()?["audit_id"].clone();
        let baseline = s.get("/models/support-assistant").ok(200)["baseline_audit_id"].clone();
        let results: Vec<&str> = runs
            .iter()
            .filter_map(|a| a["audit_result"].as_str())
            .collect();
        let failed_at = results.iter().position(|r| *r == "AUDIT_FAIL")?;
        let passes_after = results[failed_at..].contains(&"AUDIT_PASS");
        // The baseline moved from the first audit to one the demo's operator approved.
        (baseline != first && !baseline.is_null() && passes_after).then_some(())
    });
    // The stable model passes: at most one audit of it above PASS (a 1 % family-wise level).
    let stable = finished(&s, "credit-scoring-v3");
    let judged: Vec<&str> = stable
        .iter()
        .filter_map(|a| a["audit_result"].as_str())
        .filter(|r| *r != "BASELINE_CREATED")
        .collect();
    assert!(judged.len() >= 3, "{judged:?}");
    assert!(
        judged.iter().filter(|r| **r != "AUDIT_PASS").count() <= 1,
        "{judged:?}"
    );
    let o = s.get("/dashboard/overview").ok(200);
    assert!(o["failed_audits"].as_i64().unwrap() >= 1);
    assert!(
        o["high_findings_count"].as_i64().unwrap() + o["critical_findings_count"].as_i64().unwrap()
            >= 1
    );
}

/// On PostgreSQL a starting instance closes only runs older than the run timeout: another live
/// instance's audit in progress is left alone.
#[test]
fn postgres_start_spares_live_runs() {
    let Some(b) = Backend::postgres() else { return };
    let a = Server::start(&b, Options::default());
    a.post(
        "/models/register",
        &model("m", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        let mut c = PgConnection::establish(&a.db_url).unwrap();
        diesel::sql_query(
            "INSERT INTO audit_runs (audit_id, model_id, audit_type, scheduled_at, run_state, trigger_kind, model_version, window_end) VALUES \
             ('aud_live', 'm', 'passive', now(), 'running', 'manual', '1.0.0', now() AT TIME ZONE 'UTC'), \
             ('aud_dead', 'm', 'passive', '2000-01-01', 'running', 'manual', '1.0.0', '2000-01-01')",
        )
        .execute(&mut c)
        .unwrap();
    }
    let b2 = a.sibling(Options {
        scheduler: true,
        ..Options::default()
    });
    let dead = b2.wait_for(10, "the stale run closed", || {
        let r = b2.get("/audits/aud_dead").ok(200);
        (r["run_state"] == "finished").then_some(r)
    });
    assert_eq!(dead["execution_status"], "FAILED");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(b2.get("/audits/aud_live").ok(200)["run_state"], "running");
}
