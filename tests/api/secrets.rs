//! Secrets at rest and in answers: a model whose evidence source has secrets in its headers and
//! URL, a probe target with a secret and a credentialed URL, a webhook whose path is its token,
//! and a user's password. Afterwards neither the database (SQLite file and WAL, or every
//! PostgreSQL table), nor the server log, nor any answer to a viewer or an admin holds one of
//! them; a config read and written back keeps its secrets and still reaches the source with
//! them; a changed secret shows in the compliance log as a changed fingerprint.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::privacy::{contains, database_text};
use crate::registry::model;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// A one-thread HTTP server answering every request with an inference summary and keeping
/// each request's head (request line and headers) for the test to read.
fn capturing_source() -> (String, Arc<Mutex<Vec<String>>>) {
    let summary = json!({
        "rows": 1000,
        "label_counts": {"approve": 600, "deny": 400},
        "confidence": {"count": 1000, "mean": 0.8, "variance": 0.01},
        "confidence_histogram": [0, 0, 0, 0, 0, 50, 150, 300, 300, 200],
    })
    .to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = vec![0u8; 16_384];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{summary}",
                summary.len()
            );
        }
    });
    (addr, seen)
}

fn key(s: &Server, role: &str) -> String {
    s.post("/api-keys", &json!({"name": role, "role": role}))
        .ok(201)["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every answer a reader might ask for about these objects.
fn answers(s: &Server, token: &str) -> String {
    let a = s.as_(Some(token));
    let mut text = String::new();
    for path in [
        "/models",
        "/models/src",
        "/models/llm",
        "/models/llm/active-target",
        "/webhooks",
        "/users",
        "/compliance-log?limit=200",
        "/compliance-log/export",
    ] {
        let r = a.get(path);
        assert!(r.status < 500, "{path}: {}", r.text);
        text.push_str(&r.text);
    }
    text
}

fn audit_ok(s: &Server, model_id: &str) -> Value {
    let run = s
        .post(&format!("/models/{model_id}/audits"), &json!({}))
        .ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["execution_status"], "SUCCESS", "{a}");
    a
}

fn no_secret_anywhere(b: Backend) {
    let s = Server::start(&b, Options::default());
    let m = uuid::Uuid::new_v4().simple().to_string();
    let secret = |what: &str| format!("{what}{}", &m[..12]);
    let (addr, seen) = capturing_source();
    let source_url = format!(
        "http://alice:{}@{addr}/summary?token={}&page=1",
        secret("Pw"),
        secret("Tok")
    );
    let reg = model(
        "src",
        "ml",
        "api",
        json!({"type": "api", "config": {"url": source_url, "timeout_secs": 5,
            "headers": {"X-Api-Key": secret("Hdr")}}}),
    );
    let created = s.post("/models/register", &reg).ok(201);
    assert!(!created.to_string().contains(&m[..12]), "{created}");
    audit_ok(&s, "src");
    let first = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        first.contains(&secret("Hdr")),
        "the source gets its header: {first}"
    );
    assert!(
        first.contains(&secret("Tok")),
        "and its query token: {first}"
    );

    // Read the model and write it back as shown: the secrets are kept and still used.
    let shown = s.get("/models/src").ok(200);
    let sources = shown["evidence_sources"].clone();
    assert_eq!(
        sources[0]["config"]["headers"]["X-Api-Key"], "***",
        "{sources}"
    );
    let back: Vec<Value> = sources
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({"type": e["type"], "config": e["config"]}))
        .collect();
    s.put("/models/src", &json!({"evidence_sources": back}))
        .ok(200);
    audit_ok(&s, "src");
    let again = seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        again.contains(&secret("Hdr")),
        "kept on write-back: {again}"
    );
    assert!(
        again.contains(&secret("Tok")),
        "kept on write-back: {again}"
    );
    // Masked values may not follow a new URL.
    let mut moved = back[0].clone();
    moved["config"]["url"] = json!(format!("http://{addr}/other"));
    let d = s
        .put("/models/src", &json!({"evidence_sources": [moved]}))
        .detail(422);
    assert!(d.contains("***"), "{d}");
    // A changed secret: the log shows the header's fingerprint changing, never the value.
    let mut changed = back[0].clone();
    changed["config"]["headers"]["X-Api-Key"] = json!(secret("Hdr2"));
    s.put("/models/src", &json!({"evidence_sources": [changed]}))
        .ok(200);
    let log = s
        .get("/compliance-log?action=model.update&object_id=src&limit=10")
        .ok(200);
    let last = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.to_string().contains("X-Api-Key"))
        .cloned()
        .unwrap_or_else(|| panic!("no entry shows the header change: {log}"));
    // The content is the stored text the digest covers.
    let content = last["content"].as_str().unwrap().to_owned();
    let parsed: Value = serde_json::from_str(&content).unwrap();
    let before = &parsed["before"]["evidence_sources"][0]["config"]["headers"]["X-Api-Key"];
    let after = &parsed["after"]["evidence_sources"][0]["config"]["headers"]["X-Api-Key"];
    assert!(
        before.as_str().unwrap().starts_with("fp:") && after.as_str().unwrap().starts_with("fp:"),
        "{content}"
    );
    assert_ne!(before, after, "{content}");

    // A probe target with a secret and a credentialed URL.
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let target_url = format!(
        "http://127.0.0.1:9/v1/chat/completions?key={}",
        secret("Tq")
    );
    let t = json!({"url": target_url, "model": "m", "auth_header": "authorization",
        "secret": secret("Ts")});
    s.put("/models/llm/active-target", &t).ok(200);
    // Written back as shown (masked URL, no secret): the URL and the secret are kept.
    let shown_t = s.get("/models/llm/active-target").ok(200);
    assert!(
        shown_t["url"].as_str().unwrap().contains("key=***"),
        "{shown_t}"
    );
    let mut back_t = json!({"url": shown_t["url"], "model": "m", "auth_header": "authorization"});
    s.put("/models/llm/active-target", &back_t).ok(200);
    let kept = s.get("/models/llm/active-target").ok(200);
    assert_eq!(kept["has_secret"], true, "{kept}");
    assert_eq!(kept["url"], shown_t["url"]);
    back_t["auth_header"] = json!("x-other");
    s.put("/models/llm/active-target", &back_t).ok(200);
    assert_eq!(
        s.get("/models/llm/active-target").ok(200)["has_secret"],
        false,
        "a secret is not kept for another header"
    );
    s.put("/models/llm/active-target", &t).ok(200);

    // A webhook whose path is its token, with an HMAC secret; and a user's password.
    let hook = s
        .post(
            "/webhooks",
            &json!({"name": "chat", "url": format!("http://127.0.0.1:9/hooks/{}", secret("Wh")),
                "secret": secret("WebhookSecret")}),
        )
        .ok(201);
    assert!(!hook.to_string().contains(&m[..12]), "{hook}");
    assert!(
        hook["url"].as_str().unwrap().ends_with("/hooks/***"),
        "{hook}"
    );
    s.post(
        "/users",
        &json!({"username": "carol", "password": secret("Password"), "role": "auditor"}),
    )
    .ok(201);

    // Nobody reads a secret back: not a viewer, not an admin.
    let viewer = key(&s, "viewer");
    let admin = key(&s, "admin");
    for (who, token) in [("viewer", &viewer), ("admin", &admin)] {
        let text = answers(&s, token);
        assert!(text.len() > 1000, "{who} read too little: {text}");
        assert!(
            !text.contains(&m[..12]),
            "a secret in an answer to the {who}"
        );
    }
    // Nor the database, its WAL or the server log.
    let db = database_text(&s, &b);
    for what in [
        "Pw",
        "Tok",
        "Hdr",
        "Hdr2",
        "Tq",
        "Ts",
        "Wh",
        "WebhookSecret",
        "Password",
    ] {
        assert!(!contains(&db, &secret(what)), "{what} in the database");
    }
    let log_text = s.log_text();
    assert!(log_text.len() > 100, "no server log");
    assert!(!log_text.contains(&m[..12]), "a secret in the server log");
}
on_both!(no_secret_anywhere);
