//! 50 clients flooding run-now while the scheduler runs: run-now is refused with 429 and
//! `Retry-After` beyond its room (one per model, a few per tenant), and no scheduled run is
//! failed or lost. Runs for AUDITOR_FLOOD_SECS seconds (5 in the suite; bench/runnow-flood.sh
//! runs it for 30 and prints the figures).

use crate::harness::{Backend, Options, Server, spec, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Every audit of `model_id` (running ones too).
fn runs_of(s: &Server, model_id: &str) -> Vec<Value> {
    s.get(&format!(
        "/audits?model_id={model_id}&include_running=true&limit=500"
    ))
    .ok(200)["audits"]
        .as_array()
        .unwrap()
        .clone()
}

fn flood(b: Backend) {
    let secs: u64 = std::env::var("AUDITOR_FLOOD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let day = 2.0;
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: day,
            ..Options::default()
        },
    );
    let now = Utc::now();
    // Scheduled models: a daily policy, so a slot every two seconds, and evidence spread over
    // the next two minutes, so that every slot's window has rows to judge.
    for i in 0..4 {
        write_evidence(
            &s.evidence.join(format!("s{i}/w0.jsonl")),
            spec(6000, i, now - Duration::seconds(5), 125_000),
        );
        let mut m = model(
            &format!("sched-{i}"),
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": format!("s{i}")}}),
        );
        m["policy"] = json!({"audit_frequency": "daily"});
        s.post("/models/register", &m).ok(201);
    }
    // Models audited on demand only, in two tenants.
    let other = s.post("/v1/tenants", &json!({"name": "other"})).ok(201);
    let other_key = other["admin_key"].as_str().unwrap().to_owned();
    let o = s.as_(Some(&other_key));
    // Each run-now audit reads a file of its tenant's evidence (a tenant's own directory).
    let tenant_dir = other["id"].as_str().unwrap().to_owned();
    for dir in ["flood".to_owned(), format!("{tenant_dir}/flood")] {
        write_evidence(
            &s.evidence.join(format!("{dir}/w0.jsonl")),
            spec(3000, 99, now - Duration::hours(1), 3_000_000),
        );
    }
    for i in 0..10 {
        let m = model(
            &format!("flood-{i}"),
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": "flood"}}),
        );
        if i % 2 == 0 {
            s.post("/models/register", &m).ok(201);
        } else {
            o.post("/models/register", &m).ok(201);
        }
    }
    let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
    let server = Arc::new(s);
    let end = Instant::now() + std::time::Duration::from_secs(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..50)
        .map(|t| {
            let s = Arc::clone(&server);
            let statuses = Arc::clone(&statuses);
            let key = other_key.clone();
            std::thread::spawn(move || {
                let mut local: BTreeMap<u16, u64> = BTreeMap::new();
                let mut k = t;
                while Instant::now() < end {
                    let i = k % 10;
                    let id = format!("flood-{i}");
                    let r = if i % 2 == 0 {
                        s.client().post(s.url(&format!("/models/{id}/audits")))
                    } else {
                        reqwest::blocking::Client::new()
                            .post(s.url(&format!("/models/{id}/audits")))
                            .bearer_auth(&key)
                    }
                    .json(&json!({}))
                    .send()
                    .unwrap();
                    let st = r.status().as_u16();
                    if st == 429 {
                        let after = r.headers().get("retry-after").cloned();
                        let body: Value = r.json().unwrap();
                        assert!(body["detail"].is_string(), "{body}");
                        assert!(
                            after.is_some_and(|v| v.to_str().unwrap().parse::<u64>().is_ok()),
                            "429 without Retry-After"
                        );
                    }
                    *local.entry(st).or_default() += 1;
                    k += 7;
                }
                let mut g = statuses.lock().unwrap();
                for (k, v) in local {
                    *g.entry(k).or_default() += v;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let s = Arc::try_unwrap(server).ok().unwrap();
    let statuses = statuses.lock().unwrap().clone();
    assert!(
        statuses.keys().all(|st| *st == 202 || *st == 429),
        "statuses: {statuses:?}\n{}",
        s.log_text()
    );
    // Drain: every claimed run finishes.
    let all = |s: &Server| -> Vec<Value> {
        (0..4)
            .flat_map(|i| runs_of(s, &format!("sched-{i}")))
            .collect()
    };
    s.wait_for(120, "every scheduled run to finish", || {
        all(&s)
            .iter()
            .all(|r| r["run_state"] == "finished")
            .then_some(())
    });
    let sched: Vec<Value> = all(&s)
        .into_iter()
        .filter(|r| r["trigger"] == "schedule")
        .collect();
    let failed: Vec<&Value> = sched
        .iter()
        .filter(|r| r["execution_status"] == "FAILED")
        .collect();
    let manual = s.get("/audits?limit=1").ok(200)["total"].as_i64().unwrap() - sched.len() as i64;
    let slots = (elapsed / day).floor() as usize * 4;
    eprintln!(
        "flood: {} run-now requests in {secs} s by 50 clients, statuses {statuses:?}; {} run-now audits finished; {} scheduled runs ({} slots of 2 s elapsed over 4 models), {} failed, 0 lost",
        statuses.values().sum::<u64>(),
        manual,
        sched.len(),
        slots,
        failed.len()
    );
    assert!(failed.is_empty(), "scheduled runs failed: {failed:?}");
    assert!(
        sched.len() >= 4 * (secs as usize / 4).max(1),
        "the scheduler did not keep running: {} scheduled runs",
        sched.len()
    );
    assert!(statuses.contains_key(&429), "run-now was never limited");
    assert!(statuses.contains_key(&202));
    assert!(!s.log_text().contains("queue was full"));
}
on_both!(flood);
