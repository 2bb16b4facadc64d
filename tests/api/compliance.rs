//! Compliance checks through the service: policy documents checked on save, scope on and off,
//! compliance findings citing obligations, process checks from the run history, and
//! `GET /compliance/coverage` against a hand computation.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use serde_json::{Value, json};

/// Rows with a positive-outcome share of `f_pos`/100 for gender f and `m_pos`/100 for m.
fn rows(f_pos: usize, m_pos: usize) -> Vec<u8> {
    let ts = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut out = String::new();
    for (g, pos) in [("f", f_pos), ("m", m_pos)] {
        for i in 0..100 {
            let outcome = i < pos;
            out.push_str(
                &json!({"prediction": if outcome { "approve" } else { "deny" },
                        "confidence": 0.9, "outcome": outcome, "gender": g, "ts": ts})
                .to_string(),
            );
            out.push('\n');
        }
    }
    out.into_bytes()
}

fn model(id: &str, reference: &Value, scope: Option<Value>) -> Value {
    let mapping = json!({"prediction": "prediction", "confidence": "confidence",
        "outcome": "outcome", "protected": ["gender"], "timestamp": "ts"});
    let mut policy = json!({"audit_frequency": "daily", "policy_reference": reference});
    if let Some(s) = scope {
        policy["audit_scope"] = s;
    }
    json!({"model_id": id, "name": id, "version": "1", "model_type": "ml",
           "connection_type": "sample",
           "evidence_sources": [{"type": "sample", "config": {"mapping": mapping}}],
           "policy": policy})
}

fn audit(s: &Server, id: &str, f_pos: usize, m_pos: usize) -> Value {
    s.post_raw(
        &format!("/models/{id}/samples"),
        "application/x-ndjson",
        rows(f_pos, m_pos),
    )
    .ok(201);
    let r = s.post(&format!("/models/{id}/audits"), &json!({})).ok(202);
    s.wait_audit(r["audit_id"].as_str().unwrap())
}

fn rule(id: &str, sev: &str, framework: &str, clause: &str, check: Value) -> Value {
    json!({"id": id, "severity": sev, "description": format!("{id} holds"),
           "obligations": [{"framework": framework, "clause": clause}], "check": check})
}

fn reference() -> Value {
    json!({"compliance": {"packs": ["dpdp"], "rules": [
        rule("own.dir", "HIGH", "EU AI Act", "Art. 10(2)(f)",
             json!({"kind": "metric", "metric": "dir.gender", "min": 0.8})),
        rule("own.quality", "MEDIUM", "EU AI Act", "Art. 10(3)",
             json!({"kind": "metric", "metric": "invalid_row_ratio", "max": 0.05})),
        rule("own.attrs", "LOW", "ISO/IEC 42001", "Annex A.7.4",
             json!({"kind": "attributes", "required": ["gender"]})),
        rule("own.schedule", "MEDIUM", "NIST AI RMF", "MANAGE 4.1",
             json!({"kind": "metric", "metric": "audit_interval_ratio", "max": 1.5})),
        rule("own.baseline", "LOW", "ISO/IEC 42001", "Annex A.6.2.4",
             json!({"kind": "metric", "metric": "baseline_approved", "min": 1})),
    ]}})
}

fn statuses(a: &Value) -> Vec<(String, String)> {
    a["evidence"]["compliance"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn tally(t: &Value) -> (i64, i64, i64, i64, Value, Value) {
    (
        t["obligations_covered"].as_i64().unwrap(),
        t["passing"].as_i64().unwrap(),
        t["failing"].as_i64().unwrap(),
        t["not_evaluated"].as_i64().unwrap(),
        t["score"].clone(),
        t["exposure"].clone(),
    )
}

fn invalid_documents_are_422_naming_the_problem(b: Backend) {
    let s = Server::start(&b, Options::default());
    let bad = json!({"compliance": {"rules": [rule("o.x", "HIGH", "F", "1",
        json!({"kind": "metric", "metric": "outcome_rat", "min": 0.5}))]}});
    let e = s
        .post("/models/register", &model("m", &bad, None))
        .detail(422);
    assert!(
        e.starts_with("policy_reference: at compliance.rules[0].check")
            && e.contains("unknown metric 'outcome_rat'; known: n, avg_confidence"),
        "{e}"
    );
    std::fs::write(
        s.evidence.join("policy.toml"),
        "[compliance]\npacks = [\"eu-ai-act\"]\n\n[[compliance.rule]]\nid = \"o.y\"\nseverity = \"SEVERE\"\n",
    )
    .unwrap();
    let e = s
        .post("/models/register", &model("m", &json!("policy.toml"), None))
        .detail(422);
    assert!(
        e.starts_with("policy_reference: 'policy.toml': line 6, column 12:")
            && e.contains("unknown variant `SEVERE`"),
        "{e}"
    );
    s.post("/models/register", &model("m", &Value::Null, None))
        .ok(201);
    let pid = s.get("/audit-policies?model_id=m").ok(200)["policies"][0]["id"].clone();
    let e = s
        .put(
            &format!("/audit-policies/{pid}"),
            &json!({"policy_reference": {"compliance": {"packs": ["hipaa"]}}}),
        )
        .detail(422);
    assert!(
        e.contains(
            "no built-in pack 'hipaa'; known: eu-ai-act, gdpr, iso-42001, nist-ai-rmf, dpdp"
        ),
        "{e}"
    );
    let e = s
        .put(
            &format!("/audit-policies/{pid}"),
            &json!({"policy_reference": {"compliance": {"rules": [rule("o.z", "LOW", "F", "1",
                json!({"kind": "metric", "metric": "n"}))]}}}),
        )
        .detail(422);
    assert!(
        e.contains("compliance.rule[0]: rule 'o.z': a metric check needs min, max or both"),
        "{e}"
    );
    // A valid document is kept, TOML file included.
    std::fs::write(
        s.evidence.join("ok.toml"),
        "[compliance]\npacks = [\"eu-ai-act\", \"gdpr\"]\ndisable = [\"gdpr.art32.contact-data\"]\n",
    )
    .unwrap();
    let p = s
        .put(
            &format!("/audit-policies/{pid}"),
            &json!({"policy_reference": "ok.toml"}),
        )
        .ok(200);
    assert_eq!(p["policy_reference"], "ok.toml");
}
on_both!(invalid_documents_are_422_naming_the_problem);

/// Three models share one policy document: `fair` (DIR 1.0, reviewed baseline, audited twice),
/// `unfair` (DIR 0.2 / 0.6 = 0.33, audited once) and `noscope` (the unfair data with bias and
/// compliance out of scope).
fn scope_findings_and_coverage(b: Backend) {
    let s = Server::start(&b, Options::default());
    let doc = reference();
    s.post("/models/register", &model("fair", &doc, None))
        .ok(201);
    s.post("/models/register", &model("unfair", &doc, None))
        .ok(201);
    let off = json!({"drift": true, "bias": false, "risk": true, "compliance": false});
    s.post("/models/register", &model("noscope", &doc, Some(off)))
        .ok(201);

    // Before any run: everything enabled is covered but not evaluated.
    let c = s.get("/compliance/coverage?model_id=fair").ok(200);
    assert_eq!(tally(&c), (6, 0, 0, 6, json!(0.0), json!("MEDIUM")));

    let first = audit(&s, "fair", 50, 50);
    assert_eq!(first["audit_result"], "BASELINE_CREATED", "{first}");
    // Nobody reviewed the automatic baseline yet, and there is no previous audit to be late on.
    let st = statuses(&first);
    assert!(
        st.contains(&("own.baseline".into(), "fail".into())),
        "{st:?}"
    );
    assert!(
        st.contains(&("own.schedule".into(), "not_evaluated".into())),
        "{st:?}"
    );
    s.post(
        &format!("/audits/{}/approve", first["audit_id"].as_str().unwrap()),
        &json!({"approved_by": "auditor"}),
    )
    .ok(200);
    let fair = audit(&s, "fair", 50, 50);
    assert_eq!(fair["audit_result"], "AUDIT_PASS", "{fair}");
    assert_eq!(fair["evidence"]["skipped"], json!([]));
    assert_eq!(
        statuses(&fair),
        [
            ("dpdp.s8.5.pii-in-outputs", "not_evaluated"),
            ("own.dir", "pass"),
            ("own.quality", "pass"),
            ("own.attrs", "pass"),
            ("own.schedule", "pass"),
            ("own.baseline", "pass"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(fair["evidence"]["compliance"]["packs"][0]["name"], "dpdp");

    let unfair = audit(&s, "unfair", 20, 60);
    let findings = unfair["findings"].as_array().unwrap();
    let dir = findings
        .iter()
        .find(|f| f["rule_id"] == "own.dir")
        .unwrap_or_else(|| panic!("{unfair}"));
    assert_eq!(dir["category"], "compliance");
    assert_eq!(dir["severity"], "HIGH");
    assert_eq!(dir["metric_name"], "dir.gender");
    assert_eq!(
        dir["description"],
        "EU AI Act Art. 10(2)(f): dir.gender = 0.3333, required dir.gender ≥ 0.8"
    );
    let base = findings
        .iter()
        .find(|f| f["rule_id"] == "own.baseline")
        .unwrap();
    assert_eq!(base["severity"], "LOW");
    assert!(findings.iter().any(|f| f["category"] == "bias"));

    // Out of scope: no bias or compliance finding, and the run says what it skipped.
    let ns = audit(&s, "noscope", 20, 60);
    assert_eq!(
        ns["evidence"]["skipped"],
        json!(["bias", "compliance"]),
        "{ns}"
    );
    assert!(ns["evidence"].get("compliance").is_none());
    assert!(
        ns["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["category"] != "bias" && f["category"] != "compliance"),
        "{ns}"
    );

    // Hand computation (docs/compliance.md, "Coverage"). Obligations of the document:
    // EU AI Act {Art. 10(2)(f) ← own.dir, Art. 10(3) ← own.quality},
    // ISO/IEC 42001 {Annex A.7.4 ← own.attrs, Annex A.6.2.4 ← own.baseline},
    // NIST AI RMF {MANAGE 4.1 ← own.schedule}, DPDP {Section 8(5) ← dpdp pack rule}; GDPR none.
    // fair (2nd run): all pass but DPDP (no LLM text: not evaluated).
    //   EU 2/2/0/0 → 100 LOW; ISO 2/2/0/0 → 100 LOW; NIST 1/1/0/0 → 100 LOW;
    //   DPDP 1/0/0/1 → 0 MEDIUM (under 50); model 6/5/0/1 → 83.33 LOW.
    // unfair: own.dir fails (HIGH), own.baseline fails (LOW), own.schedule not evaluated
    //   (first audit), DPDP not evaluated.
    //   EU 2/1/1/0 → 50 HIGH; ISO 2/1/1/0 → 50 MEDIUM; NIST 1/0/0/1 → 0 MEDIUM;
    //   DPDP 1/0/0/1 → 0 MEDIUM; model 6/2/2/2 → 33.33 HIGH; violations HIGH 1, LOW 1.
    // noscope: compliance out of scope → nothing covered (score and exposure null).
    // Per regulation over models: EU 4/3/1/0 → 75 HIGH, at risk [unfair]; GDPR 0 → null;
    //   ISO 4/3/1/0 → 75 MEDIUM, at risk [unfair]; NIST 2/1/0/1 → 50 LOW; DPDP 2/0/0/2 → 0 MEDIUM.
    // Overall: 12/7/2/3 → 58.33 HIGH; models at risk [unfair].
    let c = s.get("/compliance/coverage").ok(200);
    assert_eq!(tally(&c), (12, 7, 2, 3, json!(58.33), json!("HIGH")));
    assert_eq!(c["models_at_risk"], json!(["unfair"]));
    assert_eq!(
        c["violations"],
        json!({"LOW": 1, "MEDIUM": 0, "HIGH": 1, "CRITICAL": 0})
    );
    let regs: Vec<_> = c["regulations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["regulation"].as_str().unwrap().to_owned(), tally(r)))
        .collect();
    let want = [
        ("EU AI Act", (4, 3, 1, 0, json!(75.0), json!("HIGH"))),
        ("GDPR", (0, 0, 0, 0, Value::Null, Value::Null)),
        ("ISO/IEC 42001", (4, 3, 1, 0, json!(75.0), json!("MEDIUM"))),
        ("NIST AI RMF", (2, 1, 0, 1, json!(50.0), json!("LOW"))),
        ("DPDP", (2, 0, 0, 2, json!(0.0), json!("MEDIUM"))),
    ]
    .map(|(n, t)| (n.to_owned(), t));
    assert_eq!(regs, want);
    assert_eq!(c["regulations"][0]["models_at_risk"], json!(["unfair"]));
    assert_eq!(c["regulations"][3]["models_at_risk"], json!([]));

    let m: Vec<_> = c["models"].as_array().unwrap().iter().collect();
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["model_id"], "fair");
    assert_eq!(tally(m[0]), (6, 5, 0, 1, json!(83.33), json!("LOW")));
    assert_eq!(m[1]["model_id"], "unfair");
    assert_eq!(tally(m[1]), (6, 2, 2, 2, json!(33.33), json!("HIGH")));
    let unfair_regs: Vec<_> = m[1]["regulations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["regulation"].as_str().unwrap().to_owned(), tally(r)))
        .collect();
    assert_eq!(
        unfair_regs,
        [
            ("EU AI Act", (2, 1, 1, 0, json!(50.0), json!("HIGH"))),
            ("ISO/IEC 42001", (2, 1, 1, 0, json!(50.0), json!("MEDIUM"))),
            ("NIST AI RMF", (1, 0, 0, 1, json!(0.0), json!("MEDIUM"))),
            ("DPDP", (1, 0, 0, 1, json!(0.0), json!("MEDIUM"))),
        ]
        .map(|(n, t)| (n.to_owned(), t))
    );
    assert_eq!(m[2]["model_id"], "noscope");
    assert_eq!(tally(m[2]), (0, 0, 0, 0, Value::Null, Value::Null));

    // One model.
    let one = s.get("/compliance/coverage?model_id=unfair").ok(200);
    assert_eq!(tally(&one), (6, 2, 2, 2, json!(33.33), json!("HIGH")));
    assert_eq!(one["models"].as_array().unwrap().len(), 1);
    s.get("/compliance/coverage?model_id=ghost").detail(404);
}
on_both!(scope_findings_and_coverage);

/// Active audits need `active_security` in scope to be scheduled; asking for active audits
/// without a scope brings it in.
fn active_security_follows_active_audit_enabled(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mut m = model("llm", &Value::Null, None);
    m["policy"]["active_audit_enabled"] = json!(true);
    let created = s.post("/models/register", &m).ok(201);
    assert_eq!(created["policy"]["audit_scope"]["active_security"], true);
    let mut m = model("plain", &Value::Null, None);
    m["policy"]["active_audit_enabled"] = json!(false);
    s.post("/models/register", &m).ok(201);
    let pid = s.get("/audit-policies?model_id=plain").ok(200)["policies"][0]["id"].clone();
    assert_eq!(
        s.get(&format!("/audit-policies/{pid}")).ok(200)["audit_scope"]["active_security"],
        false
    );
    let p = s
        .put(
            &format!("/audit-policies/{pid}"),
            &json!({"active_audit_enabled": true}),
        )
        .ok(200);
    assert_eq!(p["audit_scope"]["active_security"], true);
    assert_eq!(p["audit_scope"]["bias"], true);
}
on_both!(active_security_follows_active_audit_enabled);

/// "Evidence source unreadable for N runs" and evidence age come from the run history: runs
/// without usable evidence FAIL, and the consecutive count grows until evidence arrives.
fn unreadable_sources_over_runs(b: Backend) {
    let s = Server::start(&b, Options::default());
    let doc = json!({"compliance": {"rules": [
        rule("own.readable", "MEDIUM", "EU AI Act", "Art. 12(1)",
             json!({"kind": "metric", "metric": "unreadable_source_runs", "max": 1})),
        rule("own.fresh", "MEDIUM", "EU AI Act", "Art. 12(2)(b)",
             json!({"kind": "metric", "metric": "days_since_evidence", "max": 1})),
    ]}});
    s.post("/models/register", &model("m", &doc, None)).ok(201);
    let run = || {
        let r = s.post("/models/m/audits", &json!({})).ok(202);
        s.wait_audit(r["audit_id"].as_str().unwrap())
    };
    let value = |a: &Value, id: &str| {
        let r = a["evidence"]["compliance"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone();
        (r["status"].as_str().unwrap().to_owned(), r["value"].clone())
    };
    // No sample uploaded: nothing readable.
    let a1 = run();
    assert_eq!(a1["execution_status"], "FAILED", "{a1}");
    assert_eq!(value(&a1, "own.readable"), ("pass".into(), json!(1.0)));
    assert_eq!(
        value(&a1, "own.fresh"),
        ("not_evaluated".into(), Value::Null)
    );
    let a2 = run();
    assert_eq!(value(&a2, "own.readable"), ("fail".into(), json!(2.0)));
    let f = &a2["findings"].as_array().unwrap()[0];
    assert_eq!(f["rule_id"], "own.readable");
    assert_eq!(
        f["description"],
        "EU AI Act Art. 12(1): unreadable_source_runs = 2, required unreadable_source_runs ≤ 1"
    );
    let a3 = audit(&s, "m", 50, 50);
    assert_eq!(a3["execution_status"], "SUCCESS", "{a3}");
    assert_eq!(value(&a3, "own.readable"), ("pass".into(), json!(0.0)));
    assert_eq!(value(&a3, "own.fresh"), ("pass".into(), json!(0.0)));
    // Evidence consumed: the next run fails again, and the evidence is seconds old.
    let a4 = run();
    assert_eq!(value(&a4, "own.readable"), ("pass".into(), json!(1.0)));
    assert_eq!(value(&a4, "own.fresh").0, "pass");
}
on_both!(unreadable_sources_over_runs);
