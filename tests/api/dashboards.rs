//! Dashboard series, the riskiest models and recent activity, from real audits.

use crate::harness::{Backend, Options, Server, audit_generated, spec};
use crate::on_both;
use crate::registry::model;
use serde_json::{Value, json};

fn upload_and_run(s: &Server, id: &str, seed: u64, drift: f64) -> Value {
    let mut g = spec(
        800,
        seed,
        chrono::Utc::now() - chrono::Duration::hours(1),
        3_000_000,
    );
    g.drift = drift;
    g.bias = drift;
    audit_generated(s, id, g)
}

fn dashboard_series(b: Backend) {
    let s = Server::start(&b, Options::default());
    for id in ["calm", "wild"] {
        s.post(
            "/models/register",
            &model(id, "ml", "sample", json!({"type": "sample"})),
        )
        .ok(201);
        upload_and_run(&s, id, 1, 0.0);
    }
    upload_and_run(&s, "calm", 2, 0.0);
    let wild = upload_and_run(&s, "wild", 3, 0.6);
    assert!(wild["total_findings"].as_i64().unwrap() > 0, "{wild}");

    // By hand: every audit and finding happened this week, month and quarter.
    let audits = s.get("/audits?limit=500").ok(200);
    let judged: Vec<&Value> = audits["audits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["risk_score"].is_number())
        .collect();
    let mean =
        |k: &str| judged.iter().map(|a| a[k].as_f64().unwrap()).sum::<f64>() / judged.len() as f64;
    let total_findings = s.get("/findings").ok(200)["total"].as_i64().unwrap();
    for g in ["day", "week", "month", "quarter"] {
        let r = s
            .get(&format!("/dashboard/series?granularity={g}&periods=4"))
            .ok(200);
        let pts = r["points"].as_array().unwrap();
        assert_eq!(pts.len(), 4, "{g}");
        let last = &pts[3];
        assert_eq!(
            last["audits"].as_u64().unwrap() as usize,
            judged.len(),
            "{g}"
        );
        assert!((last["risk_score"].as_f64().unwrap() - mean("risk_score")).abs() < 1e-9);
        assert!((last["drift_score"].as_f64().unwrap() - mean("drift_score")).abs() < 1e-9);
        assert_eq!(last["findings"], total_findings);
        let by_sev: i64 = last["findings_by_severity"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        assert_eq!(by_sev, total_findings);
        assert_eq!(last["findings_by_status"]["open"], total_findings);
        assert!(
            pts[..3]
                .iter()
                .all(|p| p["audits"] == 0 && p["risk_score"].is_null())
        );
        assert!(pts[0]["start"].as_str().unwrap() < pts[3]["start"].as_str().unwrap());
    }
    let one = s.get("/dashboard/series?model_id=wild&periods=1").ok(200);
    assert_eq!(one["points"][0]["findings"], wild["total_findings"]);
    s.get("/dashboard/series?granularity=hour").detail(400);
    s.get("/dashboard/series?periods=0").detail(400);
    s.get("/dashboard/series?model_id=ghost").detail(404);

    // The riskiest first.
    let top = s.get("/dashboard/top-risk?limit=5").ok(200);
    let top = top.as_array().unwrap();
    assert_eq!(top[0]["model_id"], "wild");
    assert_eq!(top[0]["audit_id"], wild["audit_id"]);
    assert!(top[0]["risk_score"].as_f64() >= top[1]["risk_score"].as_f64());
    // Recent activity in words, newest first.
    let act = s.get("/dashboard/activity?limit=5").ok(200);
    let act = act.as_array().unwrap();
    assert_eq!(act.len(), 5);
    assert!(
        act.windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64())
    );
    assert!(act[0]["text"].as_str().unwrap().contains("wild"), "{act:?}");
    // Another tenant sees empty series and no activity.
    let other = s.post("/v1/tenants", &json!({"name": "other"})).ok(201);
    let k = other["admin_key"].as_str().unwrap();
    let r = s.as_(Some(k)).get("/dashboard/series?periods=1").ok(200);
    assert_eq!(r["points"][0]["audits"], 0);
    assert_eq!(r["points"][0]["findings"], 0);
    assert_eq!(s.as_(Some(k)).get("/dashboard/top-risk").ok(200), json!([]));
    assert_eq!(s.as_(Some(k)).get("/dashboard/activity").ok(200), json!([]));
}
on_both!(dashboard_series);

/// `GET /findings/stats/summary` counts what `GET /findings` lists, by status, severity,
/// category and model; `GET /findings/by-id/{id}` is one finding; both only of the tenant.
fn finding_stats_and_one_finding(b: Backend) {
    let s = Server::start(&b, Options::default());
    for id in ["calm", "wild"] {
        s.post(
            "/models/register",
            &model(id, "ml", "sample", json!({"type": "sample"})),
        )
        .ok(201);
        upload_and_run(&s, id, 1, 0.0);
    }
    upload_and_run(&s, "wild", 3, 0.6);
    let all = s.get("/findings?limit=500").ok(200);
    let list = all["findings"].as_array().unwrap();
    assert!(!list.is_empty(), "{all}");
    let first = list[0]["id"].as_i64().unwrap();
    s.post(
        &format!("/findings/{first}/status"),
        &json!({"status": "acknowledged", "note": "seen"}),
    )
    .ok(200);

    let st = s.get("/findings/stats/summary").ok(200);
    assert_eq!(st["total"], all["total"], "{st}");
    let count = |k: &str, v: &str| list.iter().filter(|f| f[k] == v).count() as i64;
    for sev in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
        assert_eq!(
            st["by_severity"][sev],
            count("severity", sev),
            "{sev}: {st}"
        );
    }
    for (cat, n) in st["by_category"].as_object().unwrap() {
        assert_eq!(n.as_i64().unwrap(), count("category", cat), "{cat}: {st}");
    }
    assert_eq!(st["by_status"]["acknowledged"], 1, "{st}");
    assert_eq!(
        st["by_status"]["open"],
        all["total"].as_i64().unwrap() - 1,
        "{st}"
    );
    assert_eq!(st["by_model"]["wild"], count("model_id", "wild"), "{st}");
    assert!(
        st["by_model"].get("calm").is_none() || st["by_model"]["calm"] == count("model_id", "calm")
    );

    let one = s.get(&format!("/findings/by-id/{first}")).ok(200);
    assert_eq!(one["id"], first);
    assert_eq!(one["status"], "acknowledged");
    assert_eq!(one["status_note"], "seen");
    s.get("/findings/by-id/999999").detail(404);

    // Another tenant sees neither.
    let other = s.post("/v1/tenants", &json!({"name": "other"})).ok(201);
    let k = other["admin_key"].as_str().unwrap();
    s.as_(Some(k))
        .get(&format!("/findings/by-id/{first}"))
        .detail(404);
    let theirs = s.as_(Some(k)).get("/findings/stats/summary").ok(200);
    assert_eq!(theirs["total"], 0, "{theirs}");
    assert_eq!(theirs["by_model"], json!({}));
}
on_both!(finding_stats_and_one_finding);
