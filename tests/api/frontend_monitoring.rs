//! The existing frontend's monitoring calls beyond events: `POST /v1/labels` and
//! `POST /v1/feedback` (joined to their predictions by `request_id` within one request, since
//! events are not kept) and `/v1/baselines` (named baselines built from a model's evidence over
//! a window and approved as its baseline).

use crate::harness::{Backend, Options, Server, spec, write_evidence};
use crate::on_both;
use crate::open_access::{open, project_and_model};
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// The wizard's three steps, as the frontend sends them: the model.
fn wizard(anon: &crate::harness::As<'_>) -> Value {
    let t = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    project_and_model(anon, &t)
}

fn prediction(mid: &str, rid: &str, i: usize) -> Value {
    json!({"model_id": mid, "request_id": rid,
           "prediction": if i.is_multiple_of(3) { "approve" } else { "deny" },
           "confidence": (i % 100) as f64 / 100.0, "outcome": i.is_multiple_of(3),
           "gender": if i.is_multiple_of(2) { "f" } else { "m" },
           "ts": Utc::now().to_rfc3339()})
}

fn labels_join_their_predictions_within_the_request(b: Backend) {
    let s = open(&b);
    let anon = s.as_(None);
    let m = wizard(&anon);
    let mid = m["id"].as_str().unwrap().to_owned();
    let mut items = Vec::new();
    // 40 predictions with their labels as separate items of the same array.
    for i in 0..40 {
        let rid = format!("req-quokka-{i}");
        items.push(prediction(&mid, &rid, i));
        items.push(json!({"model_id": mid, "request_id": rid,
                          "label": if i.is_multiple_of(4) { "approve" } else { "deny" }}));
    }
    // 10 predictions carrying their label in the same object.
    for i in 40..50 {
        let mut p = prediction(&mid, &format!("req-quokka-{i}"), i);
        p["label"] = json!("deny");
        items.push(p);
    }
    // 5 labels of predictions sent in an earlier request: nothing to join them to.
    for i in 0..5 {
        items.push(json!({"model_id": mid, "request_id": format!("earlier-{i}"), "label": "deny"}));
    }
    // 5 predictions without labels, 2 requests labelled twice differently.
    for i in 50..55 {
        items.push(prediction(&mid, &format!("req-quokka-{i}"), i));
    }
    for i in 55..57 {
        let rid = format!("req-quokka-{i}");
        items.push(prediction(&mid, &rid, i));
        items.push(json!({"model_id": mid, "request_id": rid, "label": "deny"}));
        items.push(json!({"model_id": mid, "request_id": rid, "label": "approve"}));
    }
    items.push(json!({"request_id": "x", "label": "deny"})); // names no model
    let r = anon.post("/v1/labels", &json!(items)).ok(200);
    assert_eq!(r["received"], items.len(), "{r}");
    assert_eq!(r["unassigned"]["no model_id"], 1, "{r}");
    let ours = &r["models"][0];
    assert_eq!(ours["joined"], 50, "{ours}");
    assert_eq!(ours["unmatched"], 5, "{ours}");
    assert_eq!(ours["unlabelled"], 5, "{ours}");
    assert_eq!(ours["conflicting"], 2, "{ours}");
    assert_eq!(ours["receipt"]["rows_valid"], 50, "{ours}");
    // Only a profile was kept: no request id is anywhere in the database file.
    if let Some(db) = &s.db_file {
        for f in [db.clone(), db.with_extension("db-wal")] {
            let bytes = std::fs::read(&f).unwrap_or_default();
            assert!(
                !bytes.windows(10).any(|w| w == b"req-quokka"),
                "{}",
                f.display()
            );
        }
    }
    // The next audit reads the labelled sample: accuracy against the joined labels.
    let run = anon
        .post(&format!("/models/{mid}/audits"), &json!({}))
        .ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["audit_result"], "BASELINE_CREATED", "{a}");
    assert_eq!(a["evidence"]["rows_valid"], 50, "{a}");
    // Nothing joinable: refused, saying why.
    let d = anon
        .post(
            "/v1/labels",
            &json!([{"model_id": mid, "request_id": "old", "label": "deny"}]),
        )
        .detail(422);
    assert!(d.contains("same request"), "{d}");
    let d = anon
        .post("/v1/labels", &json!({"model_id": mid}))
        .detail(422);
    assert!(d.contains("JSON array"), "{d}");
    // Feedback goes to the outcome column the same way.
    let fb: Vec<Value> = (0..20)
        .flat_map(|i| {
            let rid = format!("fb-{i}");
            let mut p = prediction(&mid, &rid, i);
            p.as_object_mut().unwrap().remove("outcome");
            [
                p,
                json!({"model_id": mid, "request_id": rid, "feedback": i.is_multiple_of(2)}),
            ]
        })
        .collect();
    let r = anon.post("/v1/feedback", &json!(fb)).ok(200);
    assert_eq!(r["models"][0]["joined"], 20, "{r}");
    assert_eq!(r["models"][0]["receipt"]["rows_valid"], 20, "{r}");
    // Someone signed out of a closed server is refused.
    let closed = Server::start(&b, Options::default());
    closed.as_(None).post("/v1/labels", &json!([])).detail(401);
}
on_both!(labels_join_their_predictions_within_the_request);

fn wait_ready(s: &Server, id: &str) -> Value {
    s.wait_for(30, "baseline built", || {
        let v = s.get(&format!("/v1/baselines/{id}")).ok(200);
        (v["status"] != "building").then_some(v)
    })
}

fn named_baselines_are_built_over_a_window_and_approved(b: Backend) {
    let s = Server::start(&b, Options::default());
    let now = Utc::now();
    // Evidence over the last four hours: 400 rows in the first two, 400 in the last two.
    write_evidence(
        &s.evidence.join("w/early.jsonl"),
        spec(400, 1, now - Duration::hours(4), 2 * 3_600_000),
    );
    write_evidence(
        &s.evidence.join("w/late.jsonl"),
        spec(400, 2, now - Duration::hours(2), 2 * 3_600_000 - 60_000),
    );
    let m = s
        .post(
            "/models/register",
            &model(
                "w",
                "ml",
                "logs",
                json!({"type": "logs", "config": {"path": "w"}}),
            ),
        )
        .ok(201);
    let project = m["project_id"].as_str().unwrap().to_owned();
    let start = (now - Duration::hours(4) - Duration::minutes(1)).to_rfc3339();
    // Before the late file's first row (timestamps in milliseconds; the window's end is exclusive).
    let end = (now - Duration::hours(2) - Duration::seconds(1)).to_rfc3339();
    let body = json!({"project_id": project, "model_id": "w", "name": "launch",
                      "source_type": "logs", "window_start": start, "window_end": end});
    let created = s.post("/v1/baselines", &body).ok(202);
    assert_eq!(created["id"], created["baseline_id"], "{created}");
    assert_eq!(created["name"], "launch");
    let id = created["id"].as_str().unwrap().to_owned();
    let v = wait_ready(&s, &id);
    assert_eq!(v["status"], "ready", "{v}");
    assert!(v["approved_at"].is_string(), "{v}");
    // Only the window's rows made the profile.
    let run = s
        .get(&format!("/audits/{}", v["audit_id"].as_str().unwrap()))
        .ok(200);
    assert_eq!(run["evidence"]["rows_valid"], 400, "{run}");
    assert_eq!(run["audit_result"], "BASELINE_CREATED", "{run}");
    // Same name again: a conflict; the list has it, by project and by model.
    s.post("/v1/baselines", &body).detail(409);
    let l = s
        .get(&format!("/v1/baselines?project_id={project}"))
        .ok(200);
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["baselines"][0]["id"], id.as_str());
    let l = s
        .get(&format!(
            "/v1/baselines?project_id={project}&model_id=nobody"
        ))
        .ok(200);
    assert_eq!(l["total"], 0, "{l}");
    s.get("/v1/baselines").detail(400);
    s.get("/v1/baselines?project_id=prj_nobody").detail(404);
    s.get("/v1/baselines/bl_nobody").detail(404);
    // The next audit is compared with it; its window is the chain's, not the baseline's.
    let a = s.post("/models/w/audits", &json!({})).ok(202);
    let a = s.wait_audit(a["audit_id"].as_str().unwrap());
    assert_eq!(a["baseline_audit_id"], v["audit_id"], "{a}");
    assert!(a["window_start"].is_null(), "{a}");
    assert_eq!(a["evidence"]["rows_valid"], 800, "{a}");
    // What cannot be built is refused before anything runs.
    let bad = |patch: Value, status: u16, says: &str| {
        let mut b = body.clone();
        b["name"] = json!("other");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let d = s.post("/v1/baselines", &b).detail(status);
        assert!(d.contains(says), "{d}");
    };
    bad(
        json!({"source_type": "sample"}),
        422,
        "no sample evidence source",
    );
    bad(json!({"source_type": "ftp"}), 422, "not one of");
    bad(
        json!({"window_start": end, "window_end": start}),
        422,
        "before",
    );
    bad(json!({"window_end": "3000-01-01"}), 422, "future");
    bad(json!({"window_start": "yesterday"}), 422, "not a time");
    bad(json!({"model_id": "nobody"}), 404, "not found");
    bad(json!({"project_id": "prj_nobody"}), 404, "not found");
    // Without model_id, the project's only model; with two, it must be named.
    let mut b2 = body.clone();
    b2.as_object_mut().unwrap().remove("model_id");
    b2["name"] = json!("whole");
    b2.as_object_mut().unwrap().remove("window_start");
    b2.as_object_mut().unwrap().remove("window_end");
    let v2 = s.post("/v1/baselines", &b2).ok(202);
    assert_eq!(v2["model_id"], "w");
    assert_eq!(
        wait_ready(&s, v2["id"].as_str().unwrap())["status"],
        "ready"
    );
    s.post(
        "/models/register",
        &model(
            "w2",
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": "w"}}),
        ),
    )
    .ok(201);
    b2["name"] = json!("third");
    let d = s.post("/v1/baselines", &b2).detail(422);
    assert!(d.contains("name the model_id"), "{d}");
    // Another tenant sees none of it.
    let other = s.post("/v1/tenants", &json!({"name": "other"})).ok(201);
    let key = other["admin_key"].as_str().unwrap();
    let them = s.as_(Some(key));
    them.get(&format!("/v1/baselines/{id}")).detail(404);
    them.get(&format!("/v1/baselines?project_id={project}"))
        .detail(404);
}
on_both!(named_baselines_are_built_over_a_window_and_approved);
