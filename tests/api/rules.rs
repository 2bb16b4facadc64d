//! The rule catalogue: `GET /rules` with filters and the frontend's rules summary.

use crate::harness::{Backend, Options, Server};

#[test]
fn rule_catalogue_and_summary() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let all = s.get("/rules").ok(200);
    let n = all["total"].as_u64().unwrap();
    assert!(n >= 40, "{n} rules");
    let rules = all["rules"].as_array().unwrap();
    let planned: u64 = rules
        .iter()
        .map(|r| r["planned_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(all["planned_calls"].as_u64().unwrap(), planned);
    for r in rules {
        for k in [
            "rule_id",
            "name",
            "description",
            "category",
            "severity",
            "enabled",
            "owasp",
            "detector",
        ] {
            assert!(!r[k].is_null(), "{k} missing: {r}");
        }
        assert!(
            r.get("prompts").is_some_and(serde_json::Value::is_u64),
            "counts, not texts"
        );
    }
    let mut sum = 0;
    for c in [
        "prompt_injection",
        "unsafe_completion",
        "policy_bypass",
        "data_leakage",
    ] {
        let l = s.get(&format!("/rules?category={c}")).ok(200);
        let k = l["total"].as_u64().unwrap();
        assert!(k >= 8, "{c}: {k}");
        assert!(
            l["rules"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["category"] == c)
        );
        sum += k;
    }
    assert_eq!(sum, n);
    let crit = s.get("/rules?severity=CRITICAL").ok(200);
    assert!(
        crit["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["severity"] == "CRITICAL")
    );
    assert_eq!(
        s.get("/rules?enabled=true").ok(200)["total"]
            .as_u64()
            .unwrap(),
        n
    );
    s.get("/rules?category=vibes").detail(400);
    s.get("/rules?severity=URGENT").detail(400);

    let sm = s.get("/api/v1/rules/summary").ok(200);
    assert_eq!(sm["total_rules"].as_u64().unwrap(), n);
    assert_eq!(sm["enabled_rules"].as_u64().unwrap(), n);
    assert_eq!(sm["categories"].as_array().unwrap().len(), 4);
    let by = sm["rules_by_category"].as_object().unwrap();
    let grouped: usize = by.values().map(|v| v.as_array().unwrap().len()).sum();
    assert_eq!(grouped as u64, n);
}
