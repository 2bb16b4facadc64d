//! An audit reads only the files its window needs: the run's evidence record says how many
//! files were skipped and why (issue 21). Windows here come from named baselines, whose
//! window is the caller's.

use crate::harness::{Backend, Options, Server, spec, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};

fn built(s: &Server, body: &Value) -> Value {
    let v = s.post("/v1/baselines", body).ok(202);
    let id = v["id"].as_str().unwrap().to_owned();
    let v = s.wait_for(30, "baseline", || {
        let v = s.get(&format!("/v1/baselines/{id}")).ok(200);
        (v["status"] != "building").then_some(v)
    });
    assert_eq!(v["status"], "ready", "{v}");
    s.get(&format!("/audits/{}", v["audit_id"].as_str().unwrap()))
        .ok(200)
}

fn files_outside_the_window_are_not_read(b: Backend) {
    let s = Server::start(&b, Options::default());
    let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    for d in 0..5 {
        let day = day0 + Duration::days(d);
        let g = spec(200, d as u64 + 1, day, 86_400_000 - 1000);
        write_evidence(
            &s.evidence
                .join(format!("hive/dt={}/part.jsonl", day.format("%Y-%m-%d"))),
            g.clone(),
        );
        write_evidence(
            &s.evidence
                .join(format!("named/preds-{}.jsonl", day.format("%Y%m%d"))),
            g,
        );
    }
    s.post(
        "/models/register",
        &model(
            "h",
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": "hive"}}),
        ),
    )
    .ok(201);
    let src = json!({"type": "logs", "config": {"path": "named/*.jsonl", "file_date_pattern": "preds-%Y%m%d"}});
    let m = s
        .post("/models/register", &model("n", "ml", "logs", src))
        .ok(201);
    let project = m["project_id"].as_str().unwrap();
    let window = |model: &str, name: &str| {
        json!({"project_id": project, "model_id": model, "name": name,
               "window_start": (day0 + Duration::days(2)).to_rfc3339(),
               "window_end": (day0 + Duration::days(3)).to_rfc3339()})
    };
    let a = built(&s, &window("h", "day-2"));
    let e = &a["evidence"];
    assert_eq!(e["rows_valid"], 200, "{e}");
    assert_eq!(e["rows_out_of_window"], 0, "{e}");
    assert_eq!(e["pruned"]["files"], 4, "{e}");
    assert_eq!(e["pruned"]["by_reason"]["partition"], 4, "{e}");
    assert_eq!(e["files"].as_array().unwrap().len(), 1, "{e}");
    let a = built(&s, &window("n", "day-2"));
    let e = &a["evidence"];
    assert_eq!(e["rows_valid"], 200, "{e}");
    assert_eq!(e["pruned"]["by_reason"]["file_date"], 4, "{e}");
    // A pattern that names no span is refused at registration.
    let bad =
        json!({"type": "logs", "config": {"path": "named/*.jsonl", "file_date_pattern": "%d"}});
    let d = s
        .post("/models/register", &model("bad", "ml", "logs", bad))
        .detail(422);
    assert!(d.contains("%Y"), "{d}");
}
on_both!(files_outside_the_window_are_not_read);
