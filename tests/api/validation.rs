//! Every request validated: each JSON body (content type, syntax, types, unknown fields), the
//! optional approval body, a known path asked with a wrong method (405 with `Allow`), and the
//! errors raised below the handlers (unparsable path ids, bad UTF-8, long URLs, many headers),
//! all as `{"detail": …}`.

use crate::harness::{Backend, Options, Resp, Server, spec};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

fn raw(s: &Server, method: &str, path: &str, ct: Option<&str>, body: &str) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = s.client().request(m, s.url(path));
    if let Some(ct) = ct {
        r = r.header("content-type", ct);
    }
    let r = r.body(body.to_owned()).send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, body, text }
}

/// Every route whose OpenAPI operation takes a JSON body refuses a malformed body (400), another
/// content type (415), a wrong type and unknown fields (422), each with `{"detail"}`.
fn every_json_body_is_checked(b: Backend) {
    let s = Server::start(&b, Options::default());
    let doc = s.get("/openapi.json").ok(200);
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            // A sample upload takes rows (one JSON object per line among them), not one body.
            if !content.contains_key("application/json") || template.ends_with("/samples") {
                continue;
            }
            let path: String = template
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let m = method.to_uppercase();
            let what = format!("{m} {template}");
            let r = raw(&s, &m, &path, Some("application/json"), "{,}");
            assert_eq!(r.status, 400, "{what}: {}", r.text);
            r.detail(400);
            raw(&s, &m, &path, Some("text/plain"), "{}").detail(415);
            // Well-formed JSON of the wrong type.
            for wrong in ["\"text\"", "42", "true"] {
                let r = raw(&s, &m, &path, Some("application/json"), wrong);
                assert_eq!(r.status, 422, "{what} {wrong}: {}", r.text);
                r.detail(422);
            }
            // A free-form map of metric names takes any key.
            if !template.ends_with("/metrics") {
                let r = raw(
                    &s,
                    &m,
                    &path,
                    Some("application/json"),
                    "{\"zz_unknown_field\": 1}",
                );
                assert_eq!(r.status, 422, "{what}: {}", r.text);
                r.detail(422);
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} routes with JSON bodies");
}
on_both!(every_json_body_is_checked);

/// `POST /audits/{id}/approve`: no body approves; a bad body never does.
fn approval_bodies(b: Backend) {
    let s = Server::start(&b, Options::default());
    s.post(
        "/models/register",
        &model("m", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let upload = |seed: u64| {
        let mut text = Vec::new();
        auditor::synth::write_text(
            auditor::synth::Generator::new(spec(
                1000,
                seed,
                Utc::now() - Duration::hours(1),
                3_000_000,
            )),
            auditor::synth::OutFormat::Jsonl,
            &mut text,
        )
        .unwrap();
        s.post_raw("/models/m/samples", "application/x-ndjson", text)
            .ok(201);
    };
    upload(1);
    let first = s.post("/models/m/audits", &json!({})).ok(202);
    let first = s.wait_audit(first["audit_id"].as_str().unwrap());
    assert_eq!(first["audit_result"], "BASELINE_CREATED", "{first}");
    upload(2);
    let second = s.post("/models/m/audits", &json!({})).ok(202);
    let second = s.wait_audit(second["audit_id"].as_str().unwrap());
    assert!(second["audit_result"].is_string(), "{second}");
    let path = format!("/audits/{}/approve", second["audit_id"].as_str().unwrap());
    for (ct, body, status) in [
        (Some("application/json"), "{\"approved_by\": ", 400),
        (Some("application/json"), "not json at all", 400),
        (Some("text/plain"), "{\"approved_by\": \"jane\"}", 415),
        (None, "{\"approved_by\": \"jane\"}", 415),
        (Some("application/json"), "{\"approved_by\": 5}", 422),
        (Some("application/json"), "{\"colour\": \"red\"}", 422),
        (Some("application/json"), "[]", 422),
        (Some("application/json"), "{\"approved_by\": \"  \"}", 422),
    ] {
        let r = raw(&s, "POST", &path, ct, body);
        assert_eq!(r.status, status, "{ct:?} {body}: {}", r.text);
        r.detail(status);
    }
    assert_eq!(
        s.get("/models/m").ok(200)["baseline_audit_id"],
        first["audit_id"],
        "a refused body approved nothing"
    );
    // No body at all is a plain approval.
    let a = raw(&s, "POST", &path, None, "").ok(200);
    assert_eq!(a["audit_id"], second["audit_id"]);
    assert_eq!(
        s.get("/models/m").ok(200)["baseline_audit_id"],
        second["audit_id"]
    );
}
on_both!(approval_bodies);

/// A known path with a wrong method is 405 with `Allow`; an unknown one 404.
#[test]
fn wrong_methods_are_405_with_allow() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    for (method, path, allow) in [
        ("DELETE", "/dashboard/overview", "GET"),
        ("PATCH", "/models", "GET"),
        ("PUT", "/health", "GET"),
        ("POST", "/audits/aud_x", "GET"),
        ("GET", "/models/register", ""),
        ("DELETE", "/audit-policies", "GET, POST"),
        ("GET", "/webhooks/1/test", "POST"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = s.client().request(m, s.url(path)).send().unwrap();
        let status = r.status().as_u16();
        let got = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = r.json().unwrap();
        assert!(body["detail"].is_string(), "{method} {path}: {body}");
        if allow.is_empty() {
            // GET /models/register is GET /models/{model_id}: a model that does not exist.
            assert_eq!(status, 404, "{method} {path}");
        } else {
            assert_eq!(status, 405, "{method} {path}: {body}");
            let mut got: Vec<String> = got
                .unwrap()
                .split(',')
                .map(|x| x.trim().to_owned())
                .collect();
            got.sort();
            let mut want: Vec<&str> = allow.split(", ").collect();
            want.sort();
            assert_eq!(got, want, "{method} {path}");
        }
    }
    s.get("/no/such/route").detail(404);
}

/// Errors raised below the handlers are sentences in `{"detail"}` too.
#[test]
fn errors_below_the_handlers() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    // Path ids that do not parse name nothing: 404, readable.
    for path in [
        "/webhooks/99999999999999999999999/deliveries",
        "/audit-policies/-x",
        "/models/%FF%FE",
        "/audits/%C3%28",
    ] {
        let d = s.get(path).detail(404);
        assert!(
            !d.contains("deserialize") && !d.contains("Path"),
            "{path}: {d}"
        );
    }
    // Query values that are not UTF-8.
    let d = s.get("/models?model_type=%FF").detail(400);
    assert!(d.contains("model_type"), "{d}");
    s.get("/findings?limit=%FF").detail(400);
    // An over-long URL.
    let long = format!("/models?model_type={}", "a".repeat(10_000));
    let d = s.get(&long).detail(414);
    assert!(d.contains("URL"), "{d}");
    // Many headers.
    let mut r = s.client().get(s.url("/models"));
    for i in 0..80 {
        r = r.header(format!("x-h-{i}"), "v");
    }
    let r = r.send().unwrap();
    assert_eq!(r.status().as_u16(), 431);
    let v: Value = r.json().unwrap();
    assert!(v["detail"].as_str().unwrap().contains("headers"), "{v}");
    // The server is still fine.
    s.get("/models").ok(200);
}

/// The document served says what the server does: with anonymous reads on, the viewer routes
/// take no credential (and answer without one); the others still need one.
#[test]
fn the_served_document_follows_anonymous_reads() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec!["--anonymous-reads".into()],
            ..Options::default()
        },
    );
    let doc = s.get("/openapi.json").ok(200);
    let sec = |path: &str, m: &str| doc["paths"][path][m]["security"].clone();
    assert!(
        sec("/models", "get")
            .as_array()
            .unwrap()
            .contains(&json!({}))
    );
    assert!(
        !sec("/models/register", "post")
            .as_array()
            .unwrap()
            .contains(&json!({}))
    );
    s.as_(None).get("/models").ok(200);
    s.as_(None).post("/models/register", &json!({})).detail(401);
    // Every operation declares what the layers below its handler answer.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            for code in ["414", "431", "500", "503"] {
                assert!(op["responses"][code].is_object(), "{m} {path}: {code}");
            }
        }
    }
}
