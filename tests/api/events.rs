//! Live events over Server-Sent Events and WebSocket: each type, tenant scope, resume.

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// Reads an SSE stream in a thread; each complete event arrives as (id, type, data).
fn sse(
    s: &Server,
    query: &str,
    token: Option<&str>,
    last: Option<i64>,
) -> mpsc::Receiver<(i64, String, Value)> {
    let client = reqwest::blocking::Client::builder()
        .timeout(None::<Duration>)
        .build()
        .unwrap();
    let mut req = client.get(s.url(&format!("/events{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(l) = last {
        req = req.header("last-event-id", l.to_string());
    }
    let resp = req.send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut id, mut kind) = (0, String::new());
        for line in BufReader::new(resp).lines().map_while(Result::ok) {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().unwrap();
            } else if let Some(v) = line.strip_prefix("event: ") {
                kind = v.to_owned();
            } else if let Some(v) = line.strip_prefix("data: ") {
                let data: Value = serde_json::from_str(v).unwrap();
                if tx.send((id, kind.clone(), data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Collects events until `done` says so, or fails after 30 s.
fn until(
    rx: &mpsc::Receiver<(i64, String, Value)>,
    mut done: impl FnMut(&[(i64, String, Value)]) -> bool,
) -> Vec<(i64, String, Value)> {
    let mut got = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while !done(&got) {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => got.push(e),
            Err(_) => panic!("timed out; events so far: {got:?}"),
        }
    }
    got
}

fn has(evs: &[(i64, String, Value)], kind: &str) -> bool {
    evs.iter().any(|(_, k, _)| k == kind)
}

fn live_events(b: Backend) {
    let s = Server::start(&b, Options::default());
    let admin = s.admin_key.clone().unwrap();
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (chat, _) = fake_chat::start(fake_chat::comply);
    s.put(
        "/models/llm/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 12}),
    )
    .ok(200);
    crate::active::enable_active(&s, "llm");
    // Another tenant, listening too: it must hear nothing of this.
    let other = s.post("/v1/tenants", &json!({"name": "other"})).ok(201);
    let other_key = other["admin_key"].as_str().unwrap().to_owned();
    let theirs = sse(&s, "", Some(&other_key), None);
    // Without credentials: refused like any route.
    s.as_(None).get("/events").detail(401);
    s.get("/events?types=audit.exploded").detail(400);

    let rx = sse(&s, "", Some(&admin), None);
    let run = s
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let aid = run["audit_id"].as_str().unwrap().to_owned();
    let evs = until(&rx, |e| has(e, "audit.completed"));
    let started = evs.iter().find(|(_, k, _)| k == "audit.started").unwrap();
    assert_eq!(started.2["data"]["audit_id"], aid.as_str());
    let completed = evs.iter().find(|(_, k, _)| k == "audit.completed").unwrap();
    assert_eq!(completed.2["data"]["audit_result"], "AUDIT_FAIL");
    assert!(completed.2["data"]["risk_score"].as_f64().unwrap() > 0.0);
    let created: Vec<_> = evs
        .iter()
        .filter(|(_, k, _)| k == "finding.created")
        .collect();
    let total = s.get(&format!("/audits/{aid}")).ok(200)["total_findings"]
        .as_u64()
        .unwrap();
    assert_eq!(created.len() as u64, total, "one event per finding");
    assert!(evs.windows(2).all(|w| w[0].0 < w[1].0), "ids grow");
    // finding.updated when someone acknowledges one.
    let fid = created[0].2["data"]["finding_id"].as_i64().unwrap();
    s.post(
        &format!("/findings/{fid}/status"),
        &json!({"status": "acknowledged"}),
    )
    .ok(200);
    let more = until(&rx, |e| has(e, "finding.updated"));
    let upd = more
        .iter()
        .find(|(_, k, _)| k == "finding.updated")
        .unwrap();
    assert_eq!(upd.2["data"]["finding_id"], fid);
    assert_eq!(upd.2["data"]["status"], "acknowledged");

    // Resume: a client that saw only audit.started gets everything after it, in order.
    let resumed = sse(&s, "", Some(&admin), Some(started.0));
    let again = until(&resumed, |e| has(e, "finding.updated"));
    assert_eq!(again[0].0, started.0 + 1);
    assert!(has(&again, "audit.completed"));
    // Filtered by type, from the start, with the token in the query (as browsers must).
    let only = sse(
        &s,
        &format!("?types=audit.completed&last_event_id=0&access_token={admin}"),
        None,
        None,
    );
    let got = until(&only, |e| !e.is_empty());
    assert!(got.iter().all(|(_, k, _)| k == "audit.completed"));

    // WebSocket: the same events as JSON messages, resuming from 0.
    let url = s
        .url(&format!("/events/ws?last_event_id=0&access_token={admin}"))
        .replace("http://", "ws://");
    let (mut ws, _) = tungstenite::connect(url.as_str()).unwrap();
    let mut kinds = Vec::new();
    while !kinds.iter().any(|k| k == "finding.updated") {
        match ws.read().unwrap() {
            tungstenite::Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                kinds.push(v["type"].as_str().unwrap().to_owned());
            }
            _ => continue,
        }
    }
    for k in [
        "audit.started",
        "finding.created",
        "audit.completed",
        "finding.updated",
    ] {
        assert!(
            kinds.iter().any(|x| x == k),
            "{k} over WebSocket: {kinds:?}"
        );
    }
    ws.close(None).unwrap();
    // Without credentials the handshake is refused.
    let bare = s.url("/events/ws").replace("http://", "ws://");
    assert!(tungstenite::connect(bare.as_str()).is_err());

    // The other tenant heard nothing.
    std::thread::sleep(Duration::from_millis(600));
    assert!(theirs.try_recv().is_err(), "another tenant's events leaked");
}
on_both!(live_events);

/// Events (and delivery records) older than the retention are removed.
#[test]
fn old_events_are_pruned() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec!["--event-retention-secs".into(), "2".into()],
            ..Options::default()
        },
    );
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (chat, _) = fake_chat::start(fake_chat::refuse);
    s.put(
        "/models/llm/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 3}),
    )
    .ok(200);
    crate::active::enable_active(&s, "llm");
    let r = s
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    s.wait_audit(r["audit_id"].as_str().unwrap());
    assert!(
        !s.get("/dashboard/activity")
            .ok(200)
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.wait_for(15, "old events to be pruned", || {
        s.get("/dashboard/activity")
            .ok(200)
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
    // The audit itself stays.
    s.get(&format!("/audits/{}", r["audit_id"].as_str().unwrap()))
        .ok(200);
}

/// Seed 000: active audits run only when the policy enables them, through run-now and the
/// frontend's route too; a policy enabling them without a probe target says so, at once (a
/// `policy.warning` event and the model's `warnings`) and at each scheduled slot.
fn active_needs_the_flag(b: Backend) {
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: 3.0,
            ..Options::default()
        },
    );
    let admin = s.admin_key.clone().unwrap();
    let mut m = model("bot", "llm", "api", json!({"type": "sample"}));
    m["name"] = json!("Bot");
    s.post("/models/register", &m).ok(201);
    let (chat, _) = fake_chat::start(fake_chat::refuse);
    s.put(
        "/models/bot/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 3}),
    )
    .ok(200);
    // A target, but no policy enabling active audits: 409 with the reason, nothing queued.
    for d in [
        s.post("/models/bot/audits?audit_type=active", &json!({}))
            .detail(409),
        s.post("/api/v1/audit", &json!({"model_name": "Bot"}))
            .detail(409),
    ] {
        assert!(d.contains("active_audit_enabled"), "{d}");
    }
    assert_eq!(
        s.get("/audits?audit_type=active&include_running=true")
            .ok(200)["total"],
        0
    );
    // A policy that says active audits but leaves the flag off still refuses.
    let pol = s
        .post(
            "/audit-policies",
            &json!({"model_id": "bot", "audit_frequency": "daily",
                    "audit_scope": {"drift": true, "bias": true, "risk": true, "compliance": false, "active_security": true}}),
        )
        .ok(201);
    s.post("/models/bot/audits?audit_type=active", &json!({}))
        .detail(409);

    let rx = sse(&s, "?types=policy.warning", Some(&admin), None);
    // Enabled, then the target removed: a warning event at once, and one per scheduled slot.
    s.put(
        &format!("/audit-policies/{}", pol["id"]),
        &json!({"active_audit_enabled": true}),
    )
    .ok(200);
    assert_eq!(s.get("/models/bot").ok(200)["warnings"], json!([]));
    let run = s
        .post("/api/v1/audit", &json!({"model_name": "Bot"}))
        .ok(202);
    assert!(run["audit_id"].is_string(), "{run}");
    s.delete("/models/bot/active-target").ok(200);
    let got = until(&rx, |e| e.len() >= 2);
    for (_, kind, data) in &got {
        assert_eq!(kind, "policy.warning");
        assert_eq!(data["model_id"], "bot", "{data}");
        assert!(
            data["data"]["warning"]
                .as_str()
                .unwrap()
                .contains("no probe target"),
            "{data}"
        );
    }
    let w = s.get("/models/bot").ok(200)["warnings"].clone();
    assert!(w[0].as_str().unwrap().contains("no probe target"), "{w}");
    assert!(
        got.iter().any(|(_, _, d)| d["data"]["slot"].is_string()),
        "a slot warning: {got:?}"
    );
}
on_both!(active_needs_the_flag);
