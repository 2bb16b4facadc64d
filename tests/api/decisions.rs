//! Calibrated decisions through the service: the family of tests on the stored summary, and the
//! policy's persistence requirement (`persistence_windows`), which needs the model's history.

use crate::harness::{Backend, Options, Server, audit_generated, spec};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// Uploads a synthetic sample (`drift` as `auditor gen-evidence --drift`) and audits it.
fn audit_sample(s: &Server, id: &str, seed: u64, drift: f64) -> Value {
    let mut g = spec(2000, seed, Utc::now() - Duration::hours(2), 3_600_000);
    g.drift = drift;
    let a = audit_generated(s, id, g);
    s.get(&format!("/audits/{}", a["audit_id"].as_str().unwrap()))
        .ok(200)
}

fn severities(audit: &Value) -> Vec<(String, String)> {
    audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// With `persistence_windows = 2` a drift first seen is LOW and says why; seen again in the
/// next window it is reported at its band. Unchanged evidence passes with no finding above LOW.
fn persistence_needs_consecutive_windows(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mut m = model("persist", "ml", "sample", json!({"type": "sample"}));
    m["policy"] = json!({"audit_frequency": "daily", "thresholds": {"persistence_windows": 2}});
    s.post("/models/register", &m).ok(201);

    let base = audit_sample(&s, "persist", 1, 0.0);
    assert_eq!(base["audit_result"], "BASELINE_CREATED", "{base}");

    // The same population again: no finding above LOW, and the family is on the summary.
    let same = audit_sample(&s, "persist", 2, 0.0);
    assert_eq!(
        same["audit_result"],
        "AUDIT_PASS",
        "{:?}",
        severities(&same)
    );
    let stats = &same["summary"]["metrics"]["statistics"];
    assert_eq!(stats["alpha"], 0.005);
    let tests = stats["tests"].as_array().unwrap();
    assert!(tests.len() >= 4, "{tests:?}");
    for t in tests {
        assert!(t["adjusted_p"].as_f64().unwrap() >= t["p_value"].as_f64().unwrap());
    }
    // The accuracy against the baseline's, and its test, reach the stored summary (issue 18).
    assert!(
        stats["performance"]["accuracy_p"].as_f64().is_some(),
        "{stats}"
    );
    assert!(tests.iter().any(|t| t["id"] == "risk.accuracy"));
    let current = &same["summary"]["metrics"]["metrics"]["performance"];
    assert!(current["macro_f1"].as_f64().is_some(), "{current}");

    // A strong drift, first window: held at LOW by the persistence requirement.
    let first = audit_sample(&s, "persist", 3, 0.8);
    assert_eq!(
        first["audit_result"],
        "AUDIT_PASS",
        "{:?}",
        severities(&first)
    );
    let held: Vec<&Value> = first["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["description"]
                .as_str()
                .unwrap()
                .contains("the policy asks for 2")
        })
        .collect();
    assert!(!held.is_empty(), "{first}");
    assert!(held.iter().all(|f| f["severity"] == "LOW"));
    let above = first["summary"]["metrics"]["statistics"]["above_low"]
        .as_array()
        .unwrap();
    assert!(
        above.iter().any(|k| k == "drift.psi_label|psi_label"),
        "{above:?}"
    );

    // The same drift in the next window: now reported.
    let second = audit_sample(&s, "persist", 4, 0.8);
    assert_eq!(
        second["audit_result"],
        "AUDIT_FAIL",
        "{:?}",
        severities(&second)
    );
    assert!(
        severities(&second)
            .iter()
            .any(|(r, sev)| r.starts_with("drift.") && (sev == "HIGH" || sev == "CRITICAL")),
        "{:?}",
        severities(&second)
    );

    // A policy asking for an impossible number of windows is refused.
    let mut bad = model("persist-bad", "ml", "sample", json!({"type": "sample"}));
    bad["policy"] = json!({"audit_frequency": "daily", "thresholds": {"persistence_windows": 0}});
    s.post("/models/register", &bad).detail(422);
}
on_both!(persistence_needs_consecutive_windows);
