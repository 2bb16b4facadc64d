//! Models and policies: register, list with filters and paging, detail, update, archive.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use serde_json::{Value, json};

pub fn model(id: &str, kind: &str, conn: &str, source: Value) -> Value {
    json!({
        "model_id": id,
        "name": format!("Model {id}"),
        "version": "1.0.0",
        "model_type": kind,
        "connection_type": conn,
        "description": "a test model",
        "owner": "ml-team@example.com",
        "evidence_sources": [source],
    })
}

fn models_crud(b: Backend) {
    let s = Server::start(&b, Options::default());
    std::fs::create_dir_all(s.evidence.join("a")).unwrap();
    let mut m = model(
        "credit-1",
        "ml",
        "logs",
        json!({"type": "logs", "config": {"path": "a"}}),
    );
    m["policy"] = json!({"audit_frequency": "weekly", "baseline_strategy": "previous_audit"});
    let created = s.post("/models/register", &m).ok(201);
    assert_eq!(created["model_id"], "credit-1");
    // Seed 000's model-level names beside the registry's own.
    assert_eq!(created["model_name"], "Model credit-1");
    assert_eq!(created["model_version"], "1.0.0");
    let history = s.get("/models/credit-1/versions").ok(200);
    assert_eq!(history[0]["version_tag"], "1.0.0", "{history}");
    assert_eq!(history[0]["current"], true, "{history}");
    assert_eq!(created["audit_frequency"], "weekly");
    assert_eq!(created["last_audit_status"], Value::Null);
    assert_eq!(created["last_execution_status"], Value::Null);
    assert_eq!(created["warnings"], json!([]));
    assert_eq!(created["policy"]["audit_frequency"], "weekly");
    assert_eq!(created["evidence_sources"][0]["type"], "logs");
    assert_eq!(created["evidence_sources"][0]["read_only"], true);
    assert!(created["created_at"].is_string());

    // Duplicate model_id.
    let d = s.post("/models/register", &m).detail(409);
    assert!(d.contains("credit-1"), "{d}");

    for i in 0..5 {
        let kind = if i % 2 == 0 { "llm" } else { "ml" };
        let body = model(&format!("m-{i}"), kind, "sample", json!({"type": "sample"}));
        s.post("/models/register", &body).ok(201);
    }
    let all = s.get("/models").ok(200);
    assert_eq!(all["total"], 6);
    let llm = s.get("/models?model_type=llm").ok(200);
    assert_eq!(llm["total"], 3);
    assert!(
        llm["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["model_type"] == "llm")
    );
    let logs = s.get("/models?connection_type=logs").ok(200);
    assert_eq!(logs["total"], 1);
    let page = s.get("/models?skip=2&limit=3").ok(200);
    assert_eq!(page["total"], 6);
    assert_eq!(page["skip"], 2);
    assert_eq!(page["models"].as_array().unwrap().len(), 3);
    let rest = s.get("/models?skip=5&limit=3").ok(200);
    assert_eq!(rest["models"].as_array().unwrap().len(), 1);
    let ids: Vec<String> = [all["models"].clone()]
        .iter()
        .flat_map(|v| v.as_array().unwrap().clone())
        .map(|m| m["model_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);

    let got = s.get("/models/credit-1").ok(200);
    for key in [
        "model_id",
        "name",
        "version",
        "model_type",
        "connection_type",
        "created_at",
        "last_audit_status",
        "last_execution_status",
        "last_audit_time",
        "audit_frequency",
        "evidence_sources",
        "policy",
    ] {
        assert!(got.get(key).is_some(), "missing {key}: {got}");
    }
    s.get("/models/nope").detail(404);

    let upd = s
        .put(
            "/models/credit-1",
            &json!({"version": "1.1.0", "owner": "risk"}),
        )
        .ok(200);
    assert_eq!(upd["version"], "1.1.0");
    assert_eq!(upd["model_version"], "1.1.0");
    // An edit of the version in use records it in the history.
    let history = s.get("/models/credit-1/versions").ok(200);
    let tags: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version_tag"].clone(), v["current"].clone()))
        .collect();
    assert_eq!(
        tags,
        [
            (json!("1.0.0"), json!(false)),
            (json!("1.1.0"), json!(true))
        ],
        "{history}"
    );
    assert_eq!(upd["owner"], "risk");
    assert_eq!(upd["name"], "Model credit-1");
    s.put("/models/nope", &json!({"version": "2"})).detail(404);
    s.put("/models/credit-1", &json!({"colour": "red"}))
        .detail(422);

    // DELETE archives: the model stays readable, leaves the list, and cannot be archived twice.
    let a = s.delete("/models/m-0").ok(200);
    assert_eq!(
        (a["archived"].clone(), a["deleted"].clone()),
        (json!(true), json!(false))
    );
    assert!(s.get("/models/m-0").ok(200)["archived_at"].is_string());
    s.delete("/models/m-0").detail(409);
    s.delete("/models/nope").detail(404);
    assert_eq!(s.get("/models").ok(200)["total"], 5);
}
on_both!(models_crud);

fn policies_crud(b: Backend) {
    let s = Server::start(&b, Options::default());
    for id in ["p1", "p2"] {
        s.post(
            "/models/register",
            &model(id, "ml", "sample", json!({"type": "sample"})),
        )
        .ok(201);
    }
    let p = s
        .post(
            "/audit-policies",
            &json!({"model_id": "p1", "audit_frequency": "daily", "baseline_strategy": "model_version",
                    "audit_scope": {"drift": true, "bias": false}, "thresholds": {"psi": {"medium": 0.05, "high": 0.1, "critical": 0.3}}}),
        )
        .ok(201);
    assert_eq!(p["model_id"], "p1");
    assert_eq!(p["audit_frequency"], "daily");
    assert_eq!(p["baseline_strategy"], "model_version");
    assert_eq!(p["audit_scope"]["bias"], false);
    assert_eq!(p["active_audit_enabled"], false);
    let id = p["id"].as_i64().unwrap();
    // One policy per model.
    s.post(
        "/audit-policies",
        &json!({"model_id": "p1", "audit_frequency": "weekly"}),
    )
    .detail(409);
    // Unknown model, bad frequency, bad thresholds.
    s.post(
        "/audit-policies",
        &json!({"model_id": "zz", "audit_frequency": "weekly"}),
    )
    .detail(404);
    s.post(
        "/audit-policies",
        &json!({"model_id": "p2", "audit_frequency": "hourly"}),
    )
    .detail(422);
    let t = s
        .post(
            "/audit-policies",
            &json!({"model_id": "p2", "audit_frequency": "weekly",
            "thresholds": {"psi": {"medium": 0.5, "high": 0.1, "critical": 0.3}}}),
        )
        .detail(422);
    assert!(t.contains("thresholds"), "{t}");
    s.post(
        "/audit-policies",
        &json!({"model_id": "p2", "audit_frequency": "monthly"}),
    )
    .ok(201);

    let list = s.get("/audit-policies").ok(200);
    assert_eq!(list["total"], 2);
    let one = s.get("/audit-policies?model_id=p2").ok(200);
    assert_eq!(one["total"], 1);
    assert_eq!(one["policies"][0]["audit_frequency"], "monthly");
    let got = s.get(&format!("/audit-policies/{id}")).ok(200);
    assert_eq!(got["id"], id);
    s.get("/audit-policies/999999").detail(404);
    s.get("/audit-policies/abc").detail(404);

    let upd = s
        .put(
            &format!("/audit-policies/{id}"),
            &json!({"audit_frequency": "monthly", "enabled": false}),
        )
        .ok(200);
    assert_eq!(upd["audit_frequency"], "monthly");
    assert_eq!(upd["enabled"], false);
    assert_eq!(upd["baseline_strategy"], "model_version");
    // The model's detail shows the policy's frequency.
    assert_eq!(s.get("/models/p1").ok(200)["audit_frequency"], "monthly");

    s.delete(&format!("/audit-policies/{id}")).ok(200);
    s.get(&format!("/audit-policies/{id}")).detail(404);
    assert_eq!(s.get("/models/p1").ok(200)["audit_frequency"], Value::Null);
    // Archiving a model keeps its policy (a restore brings it back), which no longer changes.
    let p2 = s.get("/audit-policies?model_id=p2").ok(200)["policies"][0].clone();
    s.delete("/models/p2").ok(200);
    assert_eq!(s.get("/audit-policies").ok(200)["total"], 1);
    let p2 = format!("/audit-policies/{}", p2["id"]);
    assert!(
        s.put(&p2, &json!({"enabled": false}))
            .detail(409)
            .contains("archived")
    );
    s.delete(&p2).detail(409);
}
on_both!(policies_crud);

fn health_and_cors(b: Backend) {
    let s = Server::start(&b, Options::default());
    let h = s.get("/health").ok(200);
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["database"]["ok"], true);
    let expected = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    assert_eq!(h["database"]["backend"], expected);

    // Preflight from the default frontend origin.
    let r = s
        .client()
        .request(reqwest::Method::OPTIONS, s.url("/models/register"))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    // Another origin gets no CORS grant.
    let r = s
        .client()
        .get(s.url("/models"))
        .header("Origin", "http://evil.example")
        .send()
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
on_both!(health_and_cors);

/// Origins are configurable.
#[test]
fn cors_origin_from_settings() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec!["--cors-origins".into(), "https://audit.example.com".into()],
            ..Options::default()
        },
    );
    let r = s
        .client()
        .get(s.url("/models"))
        .header("Origin", "https://audit.example.com")
        .send()
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://audit.example.com"
    );
}
