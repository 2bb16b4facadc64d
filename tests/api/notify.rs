//! Webhook notifications against a local receiver: signature, styles, retries, a dead target.

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (headers lowercased, body) of each request received.
pub(crate) type Seen = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A receiver that answers 500 to its first `fail_first` requests, then 200.
pub(crate) fn receiver(fail_first: usize) -> (String, Seen) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut len = 0;
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.trim().split_once(':') {
                    let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    if k == "content-length" {
                        len = v.parse().unwrap_or(0);
                    }
                    headers.push((k, v));
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            seen2
                .lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let n = count.fetch_add(1, Ordering::SeqCst);
            let status = if n < fail_first { "500 Oops" } else { "200 OK" };
            let mut w = s;
            let _ = write!(
                w,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

pub(crate) fn header<'a>(h: &'a [(String, String)], k: &str) -> &'a str {
    h.iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn webhooks(b: Backend) {
    let s = Server::start(&b, Options::default());
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (chat, _) = fake_chat::start(fake_chat::comply);
    s.put(
        "/models/llm/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 9}),
    )
    .ok(200);
    crate::active::enable_active(&s, "llm");
    // A flaky receiver (two 500s, then 200), a Slack-style one, and a dead one.
    let (flaky, flaky_seen) = receiver(2);
    let (slack, slack_seen) = receiver(0);
    let secret = "a-shared-secret-of-some-length";
    let h = s
        .post(
            "/webhooks",
            &json!({"name": "ops", "url": flaky, "secret": secret}),
        )
        .ok(201);
    // A given secret is never echoed; a generated one is shown once (below).
    assert!(h.get("secret").is_none(), "{h}");
    let hid = h["id"].as_i64().unwrap();
    let generated = s
        .post(
            "/webhooks",
            &json!({"name": "slack", "url": slack, "style": "slack", "results": []}),
        )
        .ok(201);
    assert_eq!(generated["secret"].as_str().map(str::len), Some(64));
    let (severe, severe_seen) = receiver(0);
    s.post(
        "/webhooks",
        &json!({"name": "findings", "url": severe, "results": ["PARTIAL"], "min_severity": "HIGH"}),
    )
    .ok(201);
    let dead = s
        .post(
            "/webhooks",
            &json!({"name": "dead", "url": "http://127.0.0.1:9/hook"}),
        )
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post("/webhooks", &json!({"name": "x", "url": "ftp://x"}))
        .detail(422);
    s.post(
        "/webhooks",
        &json!({"name": "x", "url": "http://x", "results": ["MAYBE"]}),
    )
    .detail(422);
    let listed = s.get("/webhooks").ok(200).to_string();
    assert!(!listed.contains(secret), "a secret in the list");

    // A failing audit: completes at once although one target is dead.
    let t = Instant::now();
    let run = s
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let aid = run["audit_id"].as_str().unwrap();
    let done = s.wait_audit(aid);
    assert_eq!(done["audit_result"], "AUDIT_FAIL");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // The flaky target: audit.completed after two failed attempts, signed.
    wait_until(20, "the flaky target's delivery", || {
        flaky_seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| header(h, "x-auditor-event") == "audit.completed")
            .count()
            >= 3
    });
    let got = flaky_seen.lock().unwrap().clone();
    let (hdrs, body) = got
        .iter()
        .rfind(|(h, _)| header(h, "x-auditor-event") == "audit.completed")
        .unwrap();
    assert_eq!(
        header(hdrs, "x-auditor-signature"),
        audit_scheduler::notify::sign(secret, body.as_bytes())
    );
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["type"], "audit.completed");
    assert_eq!(v["data"]["audit_id"], aid);
    // Findings at or above HIGH go to the target that asked for them, and nothing else.
    wait_until(20, "the findings target", || {
        !severe_seen.lock().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_millis(700));
    let sev = severe_seen.lock().unwrap().clone();
    for (h, b) in &sev {
        assert_eq!(header(h, "x-auditor-event"), "finding.created");
        let v: Value = serde_json::from_str(b).unwrap();
        assert!(["HIGH", "CRITICAL"].contains(&v["data"]["severity"].as_str().unwrap()));
    }
    assert_eq!(
        sev.len() as u64,
        done["high_findings"].as_u64().unwrap() + done["critical_findings"].as_u64().unwrap()
    );
    let tries = s.get(&format!("/webhooks/{hid}/deliveries")).ok(200);
    let tries: Vec<&Value> = tries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event_type"] == "audit.completed")
        .collect();
    let attempts: Vec<(i64, bool)> = tries
        .iter()
        .map(|d| (d["attempt"].as_i64().unwrap(), d["ok"].as_bool().unwrap()))
        .collect();
    assert!(attempts.contains(&(3, true)), "{attempts:?}");
    assert!(attempts.contains(&(1, false)) && attempts.contains(&(2, false)));

    // Slack style: a message with text.
    wait_until(20, "the Slack message", || {
        !slack_seen.lock().unwrap().is_empty()
    });
    let (_, b) = slack_seen.lock().unwrap()[0].clone();
    let v: Value = serde_json::from_str(&b).unwrap();
    assert!(v["text"].as_str().unwrap().contains("AUDIT_FAIL"), "{v}");

    // The dead target: four attempts recorded, then it stops.
    wait_until(30, "the dead target's attempts", || {
        s.get(&format!("/webhooks/{dead}/deliveries"))
            .ok(200)
            .as_array()
            .unwrap()
            .len()
            >= 4
    });
    std::thread::sleep(Duration::from_millis(1500));
    let d = s.get(&format!("/webhooks/{dead}/deliveries")).ok(200);
    assert_eq!(d.as_array().unwrap().len(), 4, "retries stop: {d}");
    assert!(d.as_array().unwrap().iter().all(|x| x["ok"] == false));

    // Connection test.
    let t = s
        .post(&format!("/webhooks/{dead}/test"), &json!({}))
        .ok(200);
    assert_eq!(t["ok"], false);
    let (good, good_seen) = receiver(0);
    let g = s
        .post("/webhooks", &json!({"name": "good", "url": good}))
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let t = s.post(&format!("/webhooks/{g}/test"), &json!({})).ok(200);
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(
        header(&good_seen.lock().unwrap()[0].0, "x-auditor-event"),
        "webhook.test"
    );
    s.delete(&format!("/webhooks/{g}")).ok(200);
    s.get(&format!("/webhooks/{g}/deliveries")).detail(404);
}
on_both!(webhooks);
