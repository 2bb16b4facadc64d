//! Every error is `{"detail": "..."}` with the right status, and the server keeps serving.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::json;

fn errors_are_detail(b: Backend) {
    let s = Server::start(&b, Options::default());
    // JSON syntax.
    let d = s
        .post_raw("/models/register", "application/json", "{\"model_id\": ")
        .detail(400);
    assert!(d.to_lowercase().contains("json"), "{d}");
    // Wrong content type for JSON.
    s.post_raw("/models/register", "text/plain", "hello")
        .detail(415);
    // Missing field, wrong enum, unknown field.
    // Well-formed JSON of the wrong shape is a 422, as every field check.
    let d = s
        .post("/models/register", &json!({"model_id": "x"}))
        .detail(422);
    assert!(d.contains("name") || d.contains("missing"), "{d}");
    let mut m = model("x", "robot", "sample", json!({"type": "sample"}));
    let d = s.post("/models/register", &m).detail(422);
    assert!(d.contains("robot") || d.contains("model_type"), "{d}");
    m["model_type"] = json!("ml");
    m["colour"] = json!("red");
    s.post("/models/register", &m).detail(422);
    // Field validation.
    let bad_id = model("has space", "ml", "sample", json!({"type": "sample"}));
    s.post("/models/register", &bad_id).detail(422);
    let mut empty = model("ok", "ml", "sample", json!({"type": "sample"}));
    empty["name"] = json!("  ");
    s.post("/models/register", &empty).detail(422);
    let write = model(
        "w",
        "ml",
        "sample",
        json!({"type": "sample", "read_only": false}),
    );
    s.post("/models/register", &write).detail(422);

    // Evidence outside the configured roots.
    for path in ["/etc", "/etc/passwd", "../x", "a/../../x", "/tmp/*.jsonl"] {
        let m = model(
            "o",
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": path}}),
        );
        let d = s.post("/models/register", &m).detail(422);
        assert!(d.contains("evidence"), "{path}: {d}");
    }
    // A symlink inside the root that points outside it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", s.evidence.join("escape")).unwrap();
        let m = model(
            "o",
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": "escape"}}),
        );
        s.post("/models/register", &m).detail(422);
    }
    // An api source must be an http(s) URL.
    let m = model(
        "o",
        "ml",
        "api",
        json!({"type": "api", "config": {"url": "file:///etc/passwd"}}),
    );
    s.post("/models/register", &m).detail(422);
    // Nothing of the refused registrations was stored.
    assert_eq!(s.get("/models").ok(200)["total"], 0);

    // Body over the limit.
    let big = format!("{{\"model_id\": \"{}\"}}", "a".repeat(2 << 20));
    s.post_raw("/models/register", "application/json", big)
        .detail(413);

    // Unknown route and unknown ids.
    s.get("/no/such/route").detail(404);
    s.get("/audits/aud_nope").detail(404);
    s.get("/findings/aud_nope").detail(404);
    s.get("/audits/model/nope").detail(404);
    s.get("/dashboard/model/nope").detail(404);
    s.post("/audits/aud_nope/approve", &json!({})).detail(404);
    s.post("/models/nope/audits", &json!({})).detail(404);

    // Bad filters and paging.
    for q in [
        "/audits?skip=-1",
        "/audits?limit=0",
        "/audits?limit=100000",
        "/audits?limit=abc",
        "/audits?audit_result=MAYBE",
        "/audits?execution_status=DONE",
        "/audits?audit_type=psychic",
        "/audits?from=yesterday",
        "/audits?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/findings?severity=URGENT",
        "/findings?category=vibes",
        "/models?model_type=robot",
    ] {
        s.get(q).detail(400);
    }
    // Still serving.
    assert_eq!(s.get("/health").ok(200)["status"], "healthy");
}
on_both!(errors_are_detail);

/// File evidence is refused altogether when no root is configured.
#[test]
fn no_roots_no_file_evidence() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            no_roots: true,
            ..Options::default()
        },
    );
    let m = model(
        "o",
        "ml",
        "logs",
        json!({"type": "logs", "config": {"path": "a"}}),
    );
    let d = s.post("/models/register", &m).detail(422);
    assert!(d.contains("no evidence root"), "{d}");
}
