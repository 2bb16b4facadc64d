#![allow(clippy::unwrap_used)]

use super::*;
use crate::facts::{Comparison, ProcessFacts};
use audit_baseline::{AttributeBias, Statistics};
use audit_domain::{GroupOutcome, ProfileMetrics};

fn metrics() -> ProfileMetrics {
    let group = |count, rate| GroupOutcome {
        count,
        positive_rate: Some(rate),
        avg_confidence: None,
    };
    ProfileMetrics {
        n: 200,
        label_distribution: BTreeMap::new(),
        avg_confidence: Some(0.8),
        outcome_rate: Some(0.5),
        confidence_variance: Some(0.01),
        protected_group_outcomes: BTreeMap::from([(
            "gender".to_owned(),
            BTreeMap::from([
                ("f".to_owned(), group(100, 0.3)),
                ("m".to_owned(), group(100, 0.6)),
            ]),
        )]),
        accuracy: None,
        performance: None,
        invalid_rows: 4,
        invalid_row_ratio: 0.0196,
        refusal_rate: Some(0.1),
        pii_leak_rate: BTreeMap::from([("email".to_owned(), 0.02)]),
        prompt_pii_rate: BTreeMap::from([("phone".to_owned(), 0.5)]),
    }
}

fn stats() -> Statistics {
    Statistics {
        n_baseline: 200,
        n_current: 200,
        outcome_rate_change: Some(-0.12),
        avg_confidence_change: Some(0.01),
        bias: BTreeMap::from([(
            "gender".to_owned(),
            AttributeBias {
                dpd: Some(0.3),
                dir: Some(0.5),
                eod: None,
                baseline_dpd: None,
                baseline_dir: None,
                baseline_eod: None,
                groups_scored: vec![],
                groups_too_small: vec![],
                min_group: None,
                max_group: None,
                p_value: None,
                ..AttributeBias::default()
            },
        )]),
        ..Statistics::default()
    }
}

fn facts(process: &ProcessFacts) -> Facts {
    let m = metrics();
    let s = stats();
    Facts::of_audit(
        Some(&m),
        Some(Comparison {
            statistics: &s,
            drift_score: 0.05,
            bias_score: 0.3,
            risk_score: 20.0,
            has_baseline: true,
        }),
        process,
    )
}

fn rule(id: &str, check: Check) -> Rule {
    Rule {
        id: id.into(),
        severity: Severity::High,
        description: "d".into(),
        obligations: vec![Obligation {
            framework: "EU AI Act".into(),
            clause: "Art. 15(1)".into(),
        }],
        check,
    }
}

fn metric(name: &str, min: Option<f64>, max: Option<f64>, abs: bool) -> Check {
    Check::Metric {
        metric: MetricName(name.into()),
        min,
        max,
        abs,
    }
}

fn one(r: Rule, f: &Facts) -> RuleResult {
    let set = RuleSet {
        packs: vec![],
        rules: vec![EnabledRule {
            pack: None,
            rule: r,
        }],
    };
    evaluate(&set, f).remove(0)
}

#[test]
fn metric_rules_pass_and_fail_on_profile_and_comparison_statistics() {
    let f = facts(&ProcessFacts::default());
    let cases = [
        ("outcome_rate", Some(0.4), None, false, Status::Pass),
        ("outcome_rate", Some(0.6), None, false, Status::Fail),
        ("dir.gender", Some(0.8), None, false, Status::Fail),
        ("dir.gender", Some(0.4), None, false, Status::Pass),
        ("dir.min", Some(0.8), None, false, Status::Fail),
        ("dpd.max", None, Some(0.35), false, Status::Pass),
        ("pii_leak_rate.email", None, Some(0.01), false, Status::Fail),
        ("pii_leak_rate.phone", None, Some(0.0), false, Status::Pass),
        ("pii_leak_rate.max", None, Some(0.03), false, Status::Pass),
        (
            "pii_leak_rate.contact",
            None,
            Some(0.01),
            false,
            Status::Fail,
        ),
        ("refusal_rate", None, Some(0.05), false, Status::Fail),
        ("invalid_row_ratio", None, Some(0.05), false, Status::Pass),
        ("invalid_row_ratio", None, Some(0.01), false, Status::Fail),
        // -0.12 is within 0.15 signed, but not in absolute value against 0.10.
        (
            "outcome_rate_change",
            Some(-0.15),
            Some(0.15),
            false,
            Status::Pass,
        ),
        ("outcome_rate_change", None, Some(0.10), true, Status::Fail),
        ("outcome_rate_change", None, Some(0.10), false, Status::Pass),
        ("drift_score", None, Some(0.2), false, Status::Pass),
        ("protected_attributes", Some(1.0), None, false, Status::Pass),
        ("eod.gender", None, Some(0.1), false, Status::NotEvaluated),
        ("psi_label", None, Some(0.1), false, Status::NotEvaluated),
    ];
    for (name, min, max, abs, want) in cases {
        let r = one(rule("x", metric(name, min, max, abs)), &f);
        assert_eq!(r.status, want, "{name} {min:?} {max:?} abs={abs}: {r:?}");
    }
}

#[test]
fn process_rules_need_no_evidence() {
    let p = ProcessFacts {
        days_since_last_audit: Some(10.0),
        frequency_days: Some(7.0),
        baseline_approved: false,
        days_since_baseline_approval: Some(40.0),
        unreadable_source_runs: 3,
        days_since_evidence: Some(12.0),
    };
    // A FAILED run: no metrics, no comparison.
    let f = Facts::of_audit(None, None, &p);
    let check = |name: &str, min: Option<f64>, max: Option<f64>| {
        one(rule("p", metric(name, min, max, false)), &f).status
    };
    // 10 / 7 = 1.43: on time within 1.5 periods, overdue within 1.4.
    assert_eq!(check("audit_interval_ratio", None, Some(1.5)), Status::Pass);
    assert_eq!(check("audit_interval_ratio", None, Some(1.4)), Status::Fail);
    assert_eq!(check("baseline_approved", Some(1.0), None), Status::Fail);
    assert_eq!(
        check("unreadable_source_runs", None, Some(2.0)),
        Status::Fail
    );
    assert_eq!(
        check("unreadable_source_runs", None, Some(3.0)),
        Status::Pass
    );
    assert_eq!(check("days_since_evidence", None, Some(31.0)), Status::Pass);
    assert_eq!(
        check("days_since_baseline_approval", None, Some(30.0)),
        Status::Fail
    );
    // Metrics of the evidence are not evaluated, never passed.
    assert_eq!(check("outcome_rate", Some(0.0), None), Status::NotEvaluated);

    let ok = ProcessFacts {
        days_since_last_audit: Some(7.0),
        frequency_days: Some(7.0),
        baseline_approved: true,
        unreadable_source_runs: 0,
        ..ProcessFacts::default()
    };
    let f = Facts::of_audit(None, None, &ok);
    let r = one(
        rule("p", metric("audit_interval_ratio", None, Some(1.5), false)),
        &f,
    );
    assert_eq!((r.status, r.value), (Status::Pass, Some(1.0)));
    let r = one(
        rule("p", metric("baseline_approved", Some(1.0), None, false)),
        &f,
    );
    assert_eq!(r.status, Status::Pass);
    // No previous audit: nothing can be overdue yet.
    let f = Facts::of_audit(None, None, &ProcessFacts::default());
    let r = one(
        rule("p", metric("audit_interval_ratio", None, Some(1.5), false)),
        &f,
    );
    assert_eq!(r.status, Status::NotEvaluated);
}

#[test]
fn attribute_rules_require_protected_attributes() {
    let f = facts(&ProcessFacts::default());
    let attrs = |min, req: &[&str]| Check::Attributes {
        min,
        required: req.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert_eq!(one(rule("a", attrs(1, &[])), &f).status, Status::Pass);
    assert_eq!(
        one(rule("a", attrs(0, &["gender"])), &f).status,
        Status::Pass
    );
    let r = one(rule("a", attrs(2, &[])), &f);
    assert_eq!(r.status, Status::Fail);
    let r = one(rule("a", attrs(1, &["gender", "age"])), &f);
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        r.reason.as_deref(),
        Some("missing protected attribute(s): age")
    );
    let fs = findings(&[r]);
    assert_eq!(
        fs[0].description,
        "EU AI Act Art. 15(1): missing protected attribute(s): age, required at least 1 protected attribute(s) and attributes gender, age"
    );
    // No usable evidence: not evaluated.
    let none = Facts::of_audit(None, None, &ProcessFacts::default());
    assert_eq!(
        one(rule("a", attrs(1, &[])), &none).status,
        Status::NotEvaluated
    );
}

#[test]
fn failed_rules_become_compliance_findings_citing_their_obligations() {
    let f = facts(&ProcessFacts::default());
    let r = one(
        rule("acme.dir", metric("dir.gender", Some(0.8), None, false)),
        &f,
    );
    let fs = findings(&[r]);
    assert_eq!(fs.len(), 1);
    let x = &fs[0];
    assert_eq!(x.category, FindingCategory::Compliance);
    assert_eq!(x.rule_id.as_deref(), Some("acme.dir"));
    assert_eq!(x.severity, Severity::High);
    assert_eq!(x.metric_name, "dir.gender");
    assert_eq!(x.current_value, Some(0.5));
    assert_eq!(
        x.description,
        "EU AI Act Art. 15(1): dir.gender = 0.5, required dir.gender ≥ 0.8"
    );
    let pass = one(
        rule("acme.ok", metric("dir.gender", Some(0.4), None, false)),
        &f,
    );
    assert!(findings(&[pass]).is_empty());
}

#[test]
fn builtin_packs_parse_cite_sources_and_use_known_metrics() {
    let packs = builtin().unwrap();
    assert_eq!(packs.len(), BUILTIN_SOURCES.len());
    for p in packs {
        assert!(!p.source.is_empty() && !p.version.is_empty(), "{}", p.name);
        for r in &p.rules {
            assert!(
                r.obligations.iter().all(|o| o.framework == p.regulation),
                "{}",
                r.id
            );
        }
    }
    let names: Vec<_> = packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["eu-ai-act", "gdpr", "iso-42001", "nist-ai-rmf", "dpdp"]
    );
}

#[test]
fn docs_list_every_builtin_rule_with_its_obligations() {
    let doc = include_str!("../../../docs/compliance.md");
    for p in builtin().unwrap() {
        assert!(
            doc.contains(&format!("`{}` {}", p.name, p.version)),
            "pack {} not in docs",
            p.name
        );
        for r in &p.rules {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", r.id)))
                .unwrap_or_else(|| panic!("rule {} missing from docs/compliance.md", r.id));
            for o in &r.obligations {
                assert!(
                    row.contains(&o.clause),
                    "{}: {} not in its docs row",
                    r.id,
                    o.clause
                );
            }
            assert!(row.contains(r.severity.as_str()), "{}: severity", r.id);
        }
    }
}

#[test]
fn sections_select_packs_disable_rules_and_add_own_rules() {
    let s: Section = toml::from_str(
        r#"
packs = ["eu-ai-act", "gdpr"]
disable = ["gdpr.art32.contact-data"]
[[rule]]
id = "acme.refusals"
severity = "LOW"
description = "Refuses rarely"
obligations = [{ framework = "Acme policy", clause = "4.2" }]
check = { kind = "metric", metric = "refusal_rate", max = 0.2 }
"#,
    )
    .unwrap();
    let set = s.rule_set().unwrap();
    let eu = builtin().unwrap()[0].rules.len();
    let gdpr = builtin().unwrap()[1].rules.len();
    assert_eq!(set.rules.len(), eu + gdpr - 1 + 1);
    assert_eq!(set.packs[1], ("gdpr".into(), "1.0.0".into()));
    assert!(
        set.rules
            .iter()
            .all(|r| r.rule.id != "gdpr.art32.contact-data")
    );
    assert_eq!(set.rules.last().unwrap().pack, None);
}

#[test]
fn invalid_sections_name_the_problem() {
    let err = |doc: &str| -> String {
        match toml::from_str::<Section>(doc) {
            Err(e) => e.to_string(),
            Ok(s) => s.rule_set().unwrap_err().to_string(),
        }
    };
    let own = |check: &str| {
        format!(
            "[[rule]]\nid = \"o.x\"\nseverity = \"HIGH\"\ndescription = \"d\"\nobligations = [{{ framework = \"F\", clause = \"1\" }}]\ncheck = {check}\n"
        )
    };
    let e = err(&own(
        r#"{ kind = "metric", metric = "outcome_rat", max = 1 }"#,
    ));
    assert!(
        e.contains("unknown metric 'outcome_rat'") && e.contains("known: n,"),
        "{e}"
    );
    assert!(e.contains("line 6"), "{e}");
    let e = err(&own(r#"{ kind = "metric", metric = "outcome_rate" }"#));
    assert!(
        e.contains("rule 'o.x': a metric check needs min, max or both"),
        "{e}"
    );
    let e = err(&own(
        r#"{ kind = "metric", metric = "outcome_rate", min = 2, max = 1 }"#,
    ));
    assert!(e.contains("min 2 is above max 1"), "{e}");
    let e = err(&own(r#"{ kind = "attributes" }"#));
    assert!(e.contains("needs min ≥ 1 or required attributes"), "{e}");
    let e = err(&own(r#"{ kind = "vibes" }"#));
    assert!(e.contains("unknown variant `vibes`"), "{e}");
    let e = err(&own(
        r#"{ kind = "metric", metric = "pii_leak_rate.dna", max = 0 }"#,
    ));
    assert!(e.contains("unknown metric 'pii_leak_rate.dna'"), "{e}");
    let e = err("packs = [\"eu-ai-ac\"]");
    assert!(
        e.contains("no built-in pack 'eu-ai-ac'; known: eu-ai-act, gdpr"),
        "{e}"
    );
    let e = err("packs = [\"gdpr\"]\ndisable = [\"eu-ai-act.art15.drift\"]");
    assert!(
        e.contains("'eu-ai-act.art15.drift' is not in a selected pack"),
        "{e}"
    );
    let e = err("disable = [\"nope\"]");
    assert!(e.contains("no built-in rule 'nope'"), "{e}");
    let e = err(&own(r#"{ kind = "metric", metric = "n", min = 1 }"#)
        .replace("o.x", "gdpr.art32.card-number"));
    assert!(
        e.contains("rule id 'gdpr.art32.card-number' is already used"),
        "{e}"
    );
    let e = err(&own(r#"{ kind = "metric", metric = "n", min = 1 }"#)
        .replace("[{ framework = \"F\", clause = \"1\" }]", "[]"));
    assert!(e.contains("cites no obligation"), "{e}");
    let e = err("pack = [\"gdpr\"]");
    assert!(e.contains("unknown field `pack`"), "{e}");
}

/// Coverage on a fixture, computed by hand:
///
/// Model `a` enables r1 (F1 "1", FAIL, HIGH), r2 (F1 "1" and F1 "2", PASS),
/// r3 (F1 "3", not evaluated), r4 (F2 "x", PASS, LOW).
///   F1: obligations 1, 2, 3 → "1" failing (r1 failed), "2" passing, "3" not evaluated.
///       score 1/3 = 33.33, exposure HIGH (a HIGH rule failed).
///   F2: "x" passing → score 100, LOW.
///   model a: 4 covered, 2 passing, 1 failing, 1 not evaluated → 50.0, HIGH; violations HIGH 1.
/// Model `b` enables r5 (F2 "x", FAIL, MEDIUM) and r6 (F2 "y"), never run → statuses unknown.
///   F2: "x" failing (MEDIUM), "y" not evaluated → score 0, MEDIUM (no HIGH rule failed).
/// Model `c` enables nothing (compliance out of scope).
/// Per regulation: F1 = 3 covered, 1 passing, 1 failing, 1 n/e → 33.33 HIGH, at risk [a].
///   F2 = a:x + b:x + b:y = 3 covered, 1 passing, 1 failing, 1 n/e → 33.33 MEDIUM, at risk [b].
///   F3 (listed, uncovered) → 0 covered, score null, exposure null.
/// Overall: 6 covered, 2 passing, 2 failing, 2 n/e → 33.33, HIGH; at risk [a, b];
///   violations HIGH 1, MEDIUM 1.
#[test]
fn coverage_matches_a_hand_computation() {
    let ob = |f: &str, c: &str| Obligation {
        framework: f.into(),
        clause: c.into(),
    };
    let r = |id: &str, sev, obs: Vec<Obligation>| EnabledRule {
        pack: None,
        rule: Rule {
            id: id.into(),
            severity: sev,
            description: "d".into(),
            obligations: obs,
            check: metric("n", Some(1.0), None, false),
        },
    };
    let a = ModelInput {
        model_id: "a".into(),
        rules: vec![
            r("r1", Severity::High, vec![ob("F1", "1")]),
            r("r2", Severity::Medium, vec![ob("F1", "1"), ob("F1", "2")]),
            r("r3", Severity::Medium, vec![ob("F1", "3")]),
            r("r4", Severity::Low, vec![ob("F2", "x")]),
        ],
        latest: Some(BTreeMap::from([
            ("r1".into(), Status::Fail),
            ("r2".into(), Status::Pass),
            ("r3".into(), Status::NotEvaluated),
            ("r4".into(), Status::Pass),
        ])),
    };
    let b = ModelInput {
        model_id: "b".into(),
        rules: vec![
            r("r5", Severity::Medium, vec![ob("F2", "x")]),
            r("r6", Severity::Medium, vec![ob("F2", "y")]),
        ],
        latest: Some(BTreeMap::from([("r5".into(), Status::Fail)])),
    };
    let c = ModelInput {
        model_id: "c".into(),
        rules: vec![],
        latest: None,
    };
    let cov = coverage(&["F3".into(), "F1".into()], &[a, b, c]);
    let t = |x: &coverage::Tally| {
        (
            x.obligations_covered,
            x.passing,
            x.failing,
            x.not_evaluated,
            x.score,
            x.exposure.clone(),
        )
    };
    let high = Some("HIGH".to_owned());
    assert_eq!(t(&cov.overall), (6, 2, 2, 2, Some(33.33), high.clone()));
    assert_eq!(cov.models_at_risk, ["a", "b"]);
    assert_eq!(cov.overall.violations["HIGH"], 1);
    assert_eq!(cov.overall.violations["MEDIUM"], 1);
    assert_eq!(cov.overall.violations["CRITICAL"], 0);
    let regs: Vec<_> = cov
        .regulations
        .iter()
        .map(|r| r.regulation.as_str())
        .collect();
    assert_eq!(regs, ["F3", "F1", "F2"]);
    assert_eq!(t(&cov.regulations[0].tally), (0, 0, 0, 0, None, None));
    assert_eq!(
        t(&cov.regulations[1].tally),
        (3, 1, 1, 1, Some(33.33), high.clone())
    );
    assert_eq!(cov.regulations[1].models_at_risk, ["a"]);
    let medium = Some("MEDIUM".to_owned());
    assert_eq!(
        t(&cov.regulations[2].tally),
        (3, 1, 1, 1, Some(33.33), medium.clone())
    );
    assert_eq!(cov.regulations[2].models_at_risk, ["b"]);
    let ma = &cov.models[0];
    assert_eq!(t(&ma.tally), (4, 2, 1, 1, Some(50.0), high.clone()));
    assert_eq!(
        t(&ma.regulations[1].tally),
        (1, 1, 0, 0, Some(100.0), Some("LOW".into()))
    );
    let mb = &cov.models[1];
    assert_eq!(t(&mb.tally), (2, 0, 1, 1, Some(0.0), medium));
    let mc = &cov.models[2];
    assert_eq!(t(&mc.tally), (0, 0, 0, 0, None, None));
    assert!(mc.regulations.is_empty());
}

#[test]
fn exposure_is_medium_for_a_medium_failure_and_low_when_all_pass() {
    let rules = |sev| {
        (1..=5)
            .map(|i| EnabledRule {
                pack: None,
                rule: rule(&format!("r{i}"), metric("n", Some(1.0), None, false)),
            })
            .map(|mut e| {
                e.rule.severity = sev;
                e.rule.obligations[0].clause = e.rule.id.clone();
                e
            })
            .collect::<Vec<_>>()
    };
    let statuses = |fail: bool| {
        Some(
            (1..=5)
                .map(|i| {
                    let s = if fail && i == 1 {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    (format!("r{i}"), s)
                })
                .collect(),
        )
    };
    let m = |fail| ModelInput {
        model_id: "m".into(),
        rules: rules(Severity::Medium),
        latest: statuses(fail),
    };
    // 4 of 5 passing = 80: MEDIUM because one failed.
    let c = coverage(&[], &[m(true)]);
    assert_eq!(c.overall.score, Some(80.0));
    assert_eq!(c.overall.exposure.as_deref(), Some("MEDIUM"));
    let c = coverage(&[], &[m(false)]);
    assert_eq!(c.overall.exposure.as_deref(), Some("LOW"));
    assert!(c.models_at_risk.is_empty());
    // Nothing judged yet: nothing failed, but less than half is demonstrated.
    let unjudged = ModelInput {
        latest: None,
        ..m(false)
    };
    let c = coverage(&[], &[unjudged]);
    assert_eq!(c.overall.score, Some(0.0));
    assert_eq!(c.overall.not_evaluated, 5);
    assert_eq!(c.overall.exposure.as_deref(), Some("MEDIUM"));
}
