//! Open mode (`--open-access TENANT`) for a trusted local network: the existing frontend's
//! set-up wizard, which sends no credential, runs as an admin of the tenant, may run again
//! with the same name, and every change it makes is logged as `anonymous`. Off by default,
//! and refused beyond loopback unless asked twice.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use serde_json::json;

/// A server in open mode for the system tenant.
pub fn open(b: &Backend) -> Server {
    Server::start(
        b,
        Options {
            extra: vec!["--open-access".into(), "default".into()],
            ..Options::default()
        },
    )
}

/// The wizard's steps 2 and 3 for tenant `t`, as the frontend sends them: the model.
pub fn project_and_model(
    anon: &crate::harness::As<'_>,
    t: &serde_json::Value,
) -> serde_json::Value {
    let p = anon
        .post(
            "/v1/projects",
            &json!({"tenant_id": t["id"], "name": "credit", "task_type": "classification"}),
        )
        .ok(201);
    anon.post(
        "/v1/models",
        &json!({"project_id": p["id"], "name": "scorer", "version": "v1.0"}),
    )
    .ok(201)
}

fn the_wizard_runs_without_credentials(b: Backend) {
    let s = open(&b);
    assert!(
        s.log_text().contains("OPEN ACCESS IS ON"),
        "{}",
        s.log_text()
    );
    let anon = s.as_(None);
    // Step 1, and again with the same name: the same tenant, no second admin key.
    let t = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    assert!(t["admin_key"].is_string(), "{t}");
    let again = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(200);
    assert_eq!(again["id"], t["id"]);
    assert!(again.get("admin_key").is_none(), "{again}");
    // Steps 2 and 3.
    let m = project_and_model(&anon, &t);
    assert_eq!(m["tenant_id"], t["id"]);
    // An admin of the system tenant in everything else too, and logged as anonymous.
    assert_eq!(anon.get("/auth/me").ok(200)["role"], "admin");
    let log = s.get("/compliance-log?actor=anonymous&limit=50").ok(200);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in ["tenant.create", "project.create"] {
        assert!(
            actions.contains(&want),
            "{want} not logged as anonymous: {actions:?}"
        );
    }
    // The document served says so: every operation also takes no credential.
    let doc = anon.get("/openapi.json").ok(200);
    let sec = doc["paths"]["/models/register"]["post"]["security"]
        .as_array()
        .unwrap()
        .clone();
    assert!(sec.contains(&json!({})), "{sec:?}");
    // A page on another site cannot use open mode (a simple cross-site POST has no
    // preflight); the allowed origins (the frontend's) and the server's own pages can.
    let from = |origin: &str| {
        reqwest::blocking::Client::new()
            .post(s.url("/v1/tenants"))
            .header("origin", origin)
            .json(&json!({"name": "acme"}))
            .send()
            .unwrap()
    };
    let evil = from("http://evil.example");
    assert_eq!(evil.status(), 403);
    assert!(evil.text().unwrap().contains("evil.example"));
    assert_eq!(from("http://localhost:3000").status(), 200);
    let own = s.url("").trim_end_matches('/').to_owned();
    assert_eq!(from(&own).status(), 200);
    // A DNS-rebinding page names its own host; a proxy forwards other people's requests; an
    // unreadable credential is a bad one, not none.
    let plain = reqwest::blocking::Client::new();
    let with = |k: &str, v: &[u8]| {
        plain
            .get(s.url("/models"))
            .header(k, reqwest::header::HeaderValue::from_bytes(v).unwrap())
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with("host", b"evil.test:8000"), 403);
    assert_eq!(with("x-forwarded-for", b"203.0.113.9"), 403);
    assert_eq!(with("forwarded", b"for=203.0.113.9"), 403);
    assert_eq!(with("authorization", b"Bearer \xff\xfe"), 401);
    assert_eq!(with("x-api-key", b"\xff"), 401);
    assert_eq!(with("host", b"localhost"), 200);
    // A wrong credential is still refused: open mode is for requests without one.
    s.as_(Some("aud_0000000000000000_00"))
        .get("/models")
        .detail(401);
}
on_both!(the_wizard_runs_without_credentials);

#[test]
fn without_open_mode_the_wizard_needs_a_credential() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let d = s
        .as_(None)
        .post("/v1/tenants", &json!({"name": "acme"}))
        .detail(401);
    assert!(d.contains("credentials required"), "{d}");
    s.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    // Outside open mode a name taken is a conflict.
    s.post("/v1/tenants", &json!({"name": "acme"})).detail(409);
}

fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditor"))
        .arg("serve")
        .args(["--database-url", db.to_str().unwrap(), "--no-scheduler"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "it started: {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn open_mode_is_refused_beyond_loopback_and_for_an_unknown_tenant() {
    let e = refused(&["--open-access", "default", "--bind", "0.0.0.0:0"]);
    assert!(e.contains("not a loopback address"), "{e}");
    let e = refused(&["--open-access", "nobody", "--bind", "127.0.0.1:0"]);
    assert!(e.contains("no tenant 'nobody'"), "{e}");
}

/// The frontend's `POST /v1/events`: a batch of prediction events, grouped by model, each
/// group reduced to a sample profile at once (counted, with invalid rows and events that name
/// no model); the model's next audit reads it; `GET /v1/events/{id}` says events are not kept.
fn events_become_a_sample_profile(b: Backend) {
    let s = open(&b);
    let anon = s.as_(None);
    let t = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    let m = project_and_model(&anon, &t);
    let mid = m["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now();
    let mut events: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            json!({"model_id": mid, "request_id": format!("req-zebra-{i}"),
                   "prediction": if i % 3 == 0 { "approve" } else { "deny" },
                   "confidence": (i % 100) as f64 / 100.0, "outcome": i % 3 == 0,
                   "gender": if i % 2 == 0 { "f" } else { "m" },
                   "ts": (now - chrono::Duration::seconds(i)).to_rfc3339()})
        })
        .collect();
    events.push(json!({"model_id": mid, "confidence": 0.5})); // no prediction: an invalid row
    events.push(json!({"prediction": "approve"})); // names no model
    events.push(json!("not an object"));
    events.push(json!({"model_id": "mdl_nobody", "prediction": "deny"}));
    let r = anon.post("/v1/events", &json!(events)).ok(200);
    assert_eq!(r["received"], 304, "{r}");
    assert_eq!(r["unassigned"]["no model_id"], 1, "{r}");
    assert_eq!(r["unassigned"]["not a JSON object"], 1, "{r}");
    let ours = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["model_id"] == mid)
        .unwrap();
    assert_eq!(ours["events"], 301);
    assert_eq!(ours["receipt"]["rows_valid"], 300, "{ours}");
    assert_eq!(ours["receipt"]["rows_invalid"], 1, "{ours}");
    let nobody = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["model_id"] == "mdl_nobody")
        .unwrap();
    assert!(
        nobody["error"].as_str().unwrap().contains("not found"),
        "{nobody}"
    );
    // Only a profile was kept: no event's request id is anywhere in the database file.
    if let Some(db) = &s.db_file {
        for f in [db.clone(), db.with_extension("db-wal")] {
            let bytes = std::fs::read(&f).unwrap_or_default();
            assert!(
                !bytes.windows(9).any(|w| w == b"req-zebra"),
                "an event's request id is stored in {}",
                f.display()
            );
        }
    }
    let d = anon.get("/v1/events/r1").detail(404);
    assert!(d.contains("not stored"), "{d}");
    // The next audit reads the sample.
    let run = anon
        .post(&format!("/models/{mid}/audits"), &json!({}))
        .ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["audit_result"], "BASELINE_CREATED", "{a}");
    // Too many models in one batch is refused before any is looked up.
    let many: Vec<_> = (0..101)
        .map(|i| json!({"model_id": format!("m{i}"), "prediction": "deny"}))
        .collect();
    let d = anon.post("/v1/events", &json!(many)).detail(422);
    assert!(d.contains("at most 100"), "{d}");
    // A batch that names no model at all is refused.
    anon.post("/v1/events", &json!([{"prediction": "deny"}]))
        .detail(422);
    anon.post(
        "/v1/events",
        &json!([{"model_id": "mdl_nobody", "prediction": "deny"}]),
    )
    .detail(404);
}
on_both!(events_become_a_sample_profile);
