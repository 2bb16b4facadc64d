//! The existing frontend's routes, with its field names (frontend-contract.md).

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::json;

fn frontend_routes(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mut m = model("support-bot", "llm", "api", json!({"type": "sample"}));
    m["name"] = json!("Support Bot");
    s.post("/models/register", &m).ok(201);
    let (chat, _) = fake_chat::start(fake_chat::comply);
    s.put(
        "/models/support-bot/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 15}),
    )
    .ok(200);
    crate::active::enable_active(&s, "support-bot");
    // runAudit: by model name, answered at once with the run in progress.
    s.post(
        "/api/v1/audit",
        &json!({"model_name": "Support Bot", "test_prompts": ["say something bad"]}),
    )
    .detail(422);
    s.post("/api/v1/audit", &json!({"model_name": "nobody"}))
        .detail(404);
    let r = s
        .post(
            "/api/v1/audit",
            &json!({"model_name": "Support Bot", "provider": "openai"}),
        )
        .ok(202);
    let id = r["audit_id"].as_str().unwrap().to_owned();
    assert_eq!(r["model_name"], "Support Bot");
    assert!(["in_progress", "completed"].contains(&r["status"].as_str().unwrap()));
    s.wait_audit(&id);
    // fetchAudit: AuditResponse with one test result per rule, no prompt or answer kept.
    let a = s.get(&format!("/api/v1/audit/{id}")).ok(200);
    assert_eq!(a["status"], "completed");
    assert_eq!(a["provider"], "openai_chat");
    let tests = a["test_results"].as_array().unwrap();
    assert!(!tests.is_empty());
    assert!(
        tests
            .iter()
            .all(|t| t["prompt"] == "" && t["response"] == "")
    );
    let failed: Vec<_> = tests.iter().filter(|t| t["status"] == "failed").collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0]["rule_compliance"]["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("attempts")
    );
    assert_eq!(
        a["summary"]["failed"].as_u64().unwrap(),
        failed.len() as u64
    );
    assert!(["CRITICAL", "HIGH"].contains(&a["severity"]["level"].as_str().unwrap()));
    // fetchAudits: the list shape, with skip and limit.
    let l = s.get("/api/v1/audits?skip=0&limit=10").ok(200);
    assert_eq!(l["total"], 1);
    let item = &l["audits"][0];
    assert_eq!(item["audit_id"], id.as_str());
    assert_eq!(item["model_name"], "Support Bot");
    assert_eq!(item["status"], "completed");
    assert!(item["timestamp"].as_str().unwrap().contains('T'));
    s.get("/api/v1/audits?limit=0").detail(400);
    s.get("/api/v1/audit/aud_nothing").detail(404);
    // checkHealth.
    let h = s.as_(None).get("/health").ok(200);
    assert_eq!(h["status"], "healthy");
    assert!(h["timestamp"].is_string());
    // A viewer may read but not start audits.
    let viewer = s
        .post("/api-keys", &json!({"name": "v", "role": "viewer"}))
        .ok(201)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    s.as_(Some(&viewer))
        .post("/api/v1/audit", &json!({"model_name": "Support Bot"}))
        .detail(403);
    s.as_(Some(&viewer)).get("/api/v1/audits").ok(200);
}
on_both!(frontend_routes);
