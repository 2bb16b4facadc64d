//! 50 clients writing and reading while the scheduler runs audits: no 5xx, no "database is
//! locked". Runs for AUDITOR_CONCURRENCY_SECS seconds (5 in the suite; bench/concurrency.sh
//! runs it for 30 and prints the figures).

use crate::harness::{Backend, Options, Server, spec, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn fifty_clients(b: Backend) {
    let secs: u64 = std::env::var("AUDITOR_CONCURRENCY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: 1.0,
            ..Options::default()
        },
    );
    // Scheduled models with file evidence, audited every second.
    let now = Utc::now();
    for i in 0..6 {
        write_evidence(
            &s.evidence.join(format!("m{i}/w0.jsonl")),
            spec(2000, i, now - Duration::hours(1), 3_000_000),
        );
        let mut m = model(
            &format!("sched-{i}"),
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": format!("m{i}")}}),
        );
        m["policy"] = json!({"audit_frequency": "daily"});
        s.post("/models/register", &m).ok(201);
    }
    let mut sample = Vec::new();
    auditor::synth::write_text(
        auditor::synth::Generator::new(spec(300, 9, now - Duration::hours(1), 3_000_000)),
        auditor::synth::OutFormat::Jsonl,
        &mut sample,
    )
    .unwrap();
    let sample = Arc::new(sample);
    let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let end = Instant::now() + std::time::Duration::from_secs(secs);
    let server = Arc::new(s);
    let threads: Vec<_> = (0..50)
        .map(|t| {
            let s = Arc::clone(&server);
            let statuses = Arc::clone(&statuses);
            let latencies = Arc::clone(&latencies);
            let sample = Arc::clone(&sample);
            std::thread::spawn(move || {
                let mut k = 0u64;
                let mut local: BTreeMap<u16, u64> = BTreeMap::new();
                let mut lat = Vec::new();
                while Instant::now() < end {
                    let id = format!("c{t}-{}", k / 8);
                    let started = Instant::now();
                    let st = match k % 8 {
                        0 => {
                            s.post(
                                "/models/register",
                                &model(&id, "ml", "sample", json!({"type": "sample"})),
                            )
                            .status
                        }
                        1 => {
                            s.post_raw(
                                &format!("/models/{id}/samples"),
                                "application/x-ndjson",
                                sample.as_slice().to_vec(),
                            )
                            .status
                        }
                        2 => s.post(&format!("/models/{id}/audits"), &json!({})).status,
                        3 => {
                            s.put(
                                &format!("/models/{id}"),
                                &json!({"owner": format!("team-{k}")}),
                            )
                            .status
                        }
                        4 => s.get("/dashboard/overview").status,
                        5 => s.get("/findings?severity=HIGH").status,
                        6 => s.get(&format!("/audits?model_id=sched-{}", k % 6)).status,
                        _ => {
                            let st = s.get("/models?limit=20").status;
                            if t % 2 == 0 {
                                s.delete(&format!("/models/{id}"));
                            }
                            st
                        }
                    };
                    lat.push(started.elapsed().as_secs_f64() * 1000.0);
                    *local.entry(st).or_default() += 1;
                    k += 1;
                }
                let mut g = statuses.lock().unwrap();
                for (k, v) in local {
                    *g.entry(k).or_default() += v;
                }
                latencies.lock().unwrap().extend(lat);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Arc::try_unwrap(server).ok().unwrap();
    let statuses = statuses.lock().unwrap().clone();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let total: u64 = statuses.values().sum();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let audits = s.get("/audits?audit_type=passive&limit=1").ok(200)["total"]
        .as_i64()
        .unwrap();
    eprintln!(
        "concurrency: {total} requests in {secs} s by 50 clients ({:.0}/s), statuses {statuses:?}, p50 {:.1} ms, p99 {:.1} ms, {audits} audits stored",
        total as f64 / secs as f64,
        p(0.5),
        p(0.99)
    );
    assert!(
        statuses.keys().all(|s| *s < 500),
        "server errors: {statuses:?}\n{}",
        s.log_text()
    );
    let log = s.log_text();
    assert!(
        !log.contains("database is locked"),
        "lock errors in the log"
    );
    assert!(!log.contains("panicked"));
    assert!(
        audits > 6,
        "the scheduler did not keep running: {audits} audits"
    );
    // The database is consistent: every finished audit counted once in the dashboard. The
    // scheduler keeps finishing audits, so compare at a moment when none finished in between.
    let finished = || s.get("/audits?limit=1").ok(200)["total"].as_i64().unwrap();
    let (o, n) = s.wait_for(20, "two equal audit counts", || {
        let before = finished();
        let o = s.get("/dashboard/overview").ok(200);
        (finished() == before).then_some((o, before))
    });
    assert_eq!(o["total_audits"].as_i64().unwrap(), n);
}
on_both!(fifty_clients);
