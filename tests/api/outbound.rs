//! The outbound policy through the service: internal destinations refused at registration in
//! every notation (before any packet is sent), refused again at connect time, and one sentence
//! for every failure whatever the remote answered.

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::{Value, json};
use std::net::TcpListener;

/// A listener that must never be connected to; `untouched` says whether it was.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Tripwire {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Tripwire(l)
    }
    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
    #[track_caller]
    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, from)) => panic!("a connection reached the tripwire from {from}"),
            Err(e) => panic!("tripwire: {e}"),
        }
    }
}

/// Every spelling of loopback (and other internal ranges) at the tripwire's port.
fn internal_urls(port: u16) -> Vec<String> {
    [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "0.0.0.0",
        "0",
        "[::]",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "[fd00::1]",
        "[fe80::1]",
        "[ff02::1]",
        "192.0.2.10",
    ]
    .iter()
    .map(|h| format!("http://{h}:{port}/x"))
    .collect()
}

fn refused_everywhere(b: Backend) {
    let s = Server::start(
        &b,
        Options {
            outbound_allow: None,
            ..Options::default()
        },
    );
    let trip = Tripwire::new();
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let mut details = std::collections::BTreeSet::new();
    for (i, url) in internal_urls(trip.port()).iter().enumerate() {
        // an api evidence source, at registration and at update
        let m = model(
            &format!("api-{i}"),
            "ml",
            "api",
            json!({"type": "api", "config": {"url": url}}),
        );
        let d = s.post("/models/register", &m).detail(422);
        assert!(
            d.contains("not an allowed outbound destination"),
            "{url}: {d}"
        );
        details.insert(d);
        let d = s
            .put(
                "/models/llm",
                &json!({"evidence_sources": [{"type": "api", "config": {"url": url}}]}),
            )
            .detail(422);
        details.insert(d);
        // a probe target
        let d = s
            .put(
                "/models/llm/active-target",
                &json!({"url": url, "model": "m"}),
            )
            .detail(422);
        details.insert(d.replace("url: ", "evidence_sources[0]: api source url: "));
        // a webhook
        let d = s
            .post("/webhooks", &json!({"name": "w", "url": url}))
            .detail(422);
        details.insert(d.replace("url: ", "evidence_sources[0]: api source url: "));
    }
    // One sentence for all of them, naming no address.
    assert_eq!(details.len(), 1, "{details:?}");
    let d = details.into_iter().next().unwrap();
    assert!(
        !d.contains("127.") && !d.contains("::") && !d.contains("/8"),
        "{d}"
    );
    // Not http(s) at all is said as such.
    let d = s
        .post(
            "/webhooks",
            &json!({"name": "w", "url": "file:///etc/passwd"}),
        )
        .detail(422);
    assert!(d.contains("http(s)"), "{d}");
    s.get("/models/llm/active-target").detail(404);
    assert_eq!(
        s.get("/webhooks").ok(200).as_array().unwrap().len(),
        0,
        "nothing stored"
    );
    trip.assert_untouched();
}
on_both!(refused_everywhere);

/// A fake HTTP endpoint answering every request with `status` and `body`.
fn answering(status: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/summary", l.local_addr().unwrap());
    let (status, body) = (status.to_owned(), body.to_owned());
    std::thread::spawn(move || {
        for st in l.incoming() {
            let Ok(mut st) = st else { continue };
            let mut buf = [0u8; 4096];
            let _ = st.read(&mut buf);
            let _ = write!(
                st,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn reason_of(s: &Server, model_id: &str) -> String {
    let run = s
        .post(&format!("/models/{model_id}/audits"), &json!({}))
        .ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["execution_status"], "FAILED", "{a}");
    a["execution_reason"].as_str().unwrap().to_owned()
}

/// Remote failures say one sentence: an unknown key, an error status, a closed port and a
/// timeout are not told apart, and nothing of the answer is echoed.
fn remote_failures_are_one_sentence(b: Backend) {
    let s = Server::start(&b, Options::default());
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/summary")
    };
    let cases = [
        (
            "keys",
            answering("200 OK", r#"{"SECRET_INTERNAL_KEY_42": {"a": 1}}"#),
        ),
        (
            "status",
            answering("404 Not Found", r#"{"detail": "no INTERNAL_PAGE"}"#),
        ),
        (
            "text",
            answering("200 OK", "INTERNAL banner SSH-2.0-OpenSSH"),
        ),
        ("closed", closed),
    ];
    let mut reasons = std::collections::BTreeSet::new();
    for (id, url) in &cases {
        s.post(
            "/models/register",
            &model(
                id,
                "ml",
                "api",
                json!({"type": "api", "config": {"url": url, "timeout_secs": 2}}),
            ),
        )
        .ok(201);
        let r = reason_of(&s, id);
        for leak in [
            "SECRET_INTERNAL_KEY_42",
            "INTERNAL",
            "404",
            "connect",
            "SSH",
        ] {
            assert!(!r.contains(leak), "{id}: {r}");
        }
        // "…; source N (api): api source HOST: <sentence>"
        let tail = &r[r.find("api source").unwrap()..];
        reasons.insert(tail.replace(url.split('/').nth(2).unwrap(), "HOST"));
    }
    assert_eq!(reasons.len(), 1, "{reasons:?}");

    // Webhook tests: a target answering 404, one answering 500 and a closed port look alike.
    let mut answers = std::collections::BTreeSet::new();
    for (name, url) in [
        ("404", answering("404 Not Found", "{}")),
        ("500", answering("500 Oops", "{}")),
        ("closed", cases[3].1.clone()),
    ] {
        let id = s
            .post("/webhooks", &json!({"name": name, "url": url}))
            .ok(201)["id"]
            .as_i64()
            .unwrap();
        let t = s.post(&format!("/webhooks/{id}/test"), &json!({})).ok(200);
        assert_eq!(t["ok"], false, "{t}");
        assert!(t["status_code"].is_null(), "{t}");
        answers.insert(t.to_string());
        let d = s.get(&format!("/webhooks/{id}/deliveries")).ok(200);
        let d: &Value = &d[0];
        assert!(d["status_code"].is_null(), "{d}");
        answers.insert(json!({"ok": d["ok"], "error": d["error"]}).to_string());
    }
    assert_eq!(answers.len(), 2, "{answers:?}");
}
on_both!(remote_failures_are_one_sentence);

/// What was admitted at registration is checked again at connect time: a server whose policy
/// no longer allows loopback sends nothing there.
fn refused_again_at_connect_time(b: Backend) {
    let s = Server::start(&b, Options::default());
    let (chat, seen_chat) = fake_chat::start(fake_chat::refuse);
    let trip = Tripwire::new();
    let api_url = format!("http://127.0.0.1:{}/summary", trip.port());
    s.post(
        "/models/register",
        &model(
            "api-m",
            "ml",
            "api",
            json!({"type": "api", "config": {"url": api_url}}),
        ),
    )
    .ok(201);
    let mut llm = model("llm", "llm", "api", json!({"type": "sample"}));
    llm["policy"] = json!({"audit_frequency": "daily", "active_audit_enabled": true});
    s.post("/models/register", &llm).ok(201);
    s.put(
        "/models/llm/active-target",
        &json!({"url": chat, "model": "fake", "requests_per_minute": 6000,
                "auth_header": "authorization", "secret": "Bearer sk-x"}),
    )
    .ok(200);
    let hook = format!("http://127.0.0.1:{}/hook", trip.port());
    let hid = s
        // Disabled: the first server's delivery thread (which allows loopback) must not send
        // it events; the test route still calls it.
        .post(
            "/webhooks",
            &json!({"name": "w", "url": hook, "enabled": false}),
        )
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    // Another instance on the same database, with the default policy.
    let strict = s.sibling(Options {
        outbound_allow: None,
        ..Options::default()
    });
    let r = reason_of(&strict, "api-m");
    assert!(r.contains("did not succeed"), "{r}");
    let run = strict
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let a = strict.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["execution_status"], "FAILED", "{a}");
    assert!(
        a["execution_reason"]
            .as_str()
            .unwrap()
            .contains("did not succeed"),
        "{a}"
    );
    let t = strict
        .post(&format!("/webhooks/{hid}/test"), &json!({}))
        .ok(200);
    assert_eq!(t["ok"], false);
    assert!(seen_chat.lock().unwrap().is_empty());
    trip.assert_untouched();
    // The first server, allowing loopback, reaches the same chat endpoint.
    let run = s
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_ne!(a["execution_status"], "FAILED", "{a}");
}
on_both!(refused_again_at_connect_time);

/// A bad allow list stops the server at start with the entry named.
#[test]
fn a_bad_allow_list_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditor"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--outbound-allow",
            "10.0.0.0/33",
        ])
        .args(["--database-url", ":memory:"])
        .env_remove("AUDITOR_OUTBOUND_ALLOW")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10.0.0.0/33"), "{err}");
}
