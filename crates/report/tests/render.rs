//! The rendered page: escaping, no external assets, balanced markup, missing-data sentences.

#![allow(clippy::unwrap_used)]

use audit_report::{
    Active, Attribute, Content, Distribution, FindingRow, GroupCount, HistoryPoint, MetricRow,
    Passive, Report, RuleRow, Scores, ThresholdRow, render,
};

const EVIL: &str = "<script>alert(1)</script>";

fn dist(labels: &[(&str, u64)], hist: [u64; 10]) -> Distribution {
    Distribution {
        n: labels.iter().map(|(_, c)| c).sum(),
        labels: labels.iter().map(|(l, c)| ((*l).to_owned(), *c)).collect(),
        confidence_histogram: hist,
    }
}

fn passive_report() -> Report {
    Report {
        model_id: "credit-v2".into(),
        model_name: Some(EVIL.into()),
        model_version: "1.0".into(),
        audit_id: "aud_2".into(),
        audit_type: "passive".into(),
        scheduled_at: "2026-01-02T00:00:00Z".into(),
        executed_at: Some("2026-01-02T00:00:05Z".into()),
        execution_status: Some("SUCCESS".into()),
        audit_result: Some("AUDIT_FAIL".into()),
        window_end: "2026-01-02T00:00:00Z".into(),
        baseline_audit_id: Some("aud_1".into()),
        generated_at: "2026-01-03T00:00:00Z".into(),
        scores: Some(Scores {
            drift: 0.4,
            bias: 0.3,
            risk: 55.0,
        }),
        findings: vec![
            FindingRow {
                severity: "MEDIUM".into(),
                category: "risk".into(),
                metric: "avg_confidence".into(),
                baseline: Some(0.8),
                current: Some(0.7),
                deviation_percentage: Some(-12.5),
                description: "confidence fell".into(),
                ..FindingRow::default()
            },
            FindingRow {
                severity: "CRITICAL".into(),
                category: "bias".into(),
                rule_id: Some("bias.disparate_impact".into()),
                metric: "dir.gender".into(),
                current: Some(0.5),
                description: format!("group {EVIL} below four fifths"),
                ..FindingRow::default()
            },
        ],
        content: Content::Passive(Box::new(Passive {
            current: Some(dist(
                &[("approve", 300), ("deny", 700), (EVIL, 1)],
                [0, 0, 10, 20, 30, 40, 100, 200, 300, 301],
            )),
            baseline: Some(dist(
                &[("approve", 600), ("deny", 400)],
                [0, 0, 0, 0, 10, 40, 100, 250, 300, 300],
            )),
            attributes: vec![Attribute {
                name: "gender".into(),
                groups: vec![
                    GroupCount {
                        name: "female".into(),
                        count: 500,
                        positives: 100,
                    },
                    GroupCount {
                        name: "male".into(),
                        count: 500,
                        positives: 250,
                    },
                    GroupCount {
                        name: "other".into(),
                        count: 5,
                        positives: 1,
                    },
                ],
            }],
            min_group_size: 30,
            metrics: vec![
                MetricRow {
                    name: "rows".into(),
                    whole: true,
                    baseline: Some(1000.0),
                    current: Some(1001.0),
                },
                MetricRow {
                    name: "avg_confidence".into(),
                    whole: false,
                    baseline: Some(0.8),
                    current: Some(0.7),
                },
            ],
            features: [
                ("amount", "numeric", 0.42),
                ("channel", "categorical", 0.12),
                ("age", "numeric", 0.01),
            ]
            .into_iter()
            .map(|(name, kind, psi)| audit_report::FeatureRow {
                name: name.into(),
                kind: kind.into(),
                psi,
                js: psi / 2.0,
                ks: (kind == "numeric").then_some(psi / 3.0),
                wasserstein_norm: (kind == "numeric").then_some(psi),
                p_value: Some(1e-6),
                largest_shift: "median 120 → 180".into(),
            })
            .collect(),
        })),
        history: vec![
            HistoryPoint {
                audit_id: "aud_1".into(),
                label: "01-01".into(),
                ..HistoryPoint::default()
            },
            HistoryPoint {
                audit_id: "aud_2".into(),
                label: "01-02".into(),
                drift: 0.4,
                bias: 0.3,
                risk: 55.0,
            },
        ],
        thresholds: vec![ThresholdRow {
            name: "dir".into(),
            value: "HIGH < 0.80".into(),
            meaning: "four-fifths".into(),
        }],
        ..Report::default()
    }
}

/// Tags open and close in order (void HTML elements and self-closing tags aside).
fn assert_balanced(doc: &str) {
    const VOID: [&str; 3] = ["meta", "br", "!DOCTYPE"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let end = after.find('>').expect("unterminated tag");
        let tag = &after[..end];
        rest = &after[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "<{open}> closed by </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or_default().to_owned();
            if !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
}

fn assert_self_contained(html: &str) {
    for bad in [
        "<script", "src=", "href=", "http://", "https://", "url(", "@import",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
}

#[test]
fn passive_report_is_escaped_self_contained_and_balanced() {
    let html = render(&passive_report());
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains(EVIL));
    assert_self_contained(&html);
    assert_balanced(&html);
    // Each SVG on its own is well formed, and there are five charts.
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    assert_eq!(
        svgs.len(),
        5,
        "label, confidence, one attribute, features, history"
    );
    for s in svgs {
        let end = s.find("</svg>").unwrap();
        assert_balanced(&format!("<svg{}</svg>", &s[..end]));
    }
    for title in [
        "Label distribution: baseline vs current",
        "Confidence histogram: baseline vs current",
        "Selection rate by gender",
        "Score history of the model",
        "How to read this report",
    ] {
        assert!(html.contains(title), "missing {title}");
    }
    assert!(html.contains(r#"class="badge fail">FAIL"#));
    // Counts without decimals, rates with three.
    assert!(html.contains(r#"<td class="n">1001</td>"#));
    assert!(html.contains(r#"<td class="n">0.700</td>"#));
}

#[test]
fn findings_are_sorted_most_severe_first() {
    let html = render(&passive_report());
    let critical = html.find("sev-CRITICAL").unwrap();
    let medium = html.find("sev-MEDIUM").unwrap();
    assert!(critical < medium);
    assert!(html.contains("-12.5 %"));
}

#[test]
fn the_group_below_four_fifths_is_highlighted_and_the_small_group_is_not_scored() {
    let html = render(&passive_report());
    // Line at 0.8 × 0.5 = 0.4: female (0.2) is below; "other" (5 rows) is too small to score.
    assert!(html.contains("four-fifths line: 0.400"));
    assert_eq!(html.matches(r#"class="below""#).count(), 1);
    assert_eq!(html.matches(r#"class="small""#).count(), 1);
}

#[test]
fn missing_data_is_said_in_a_sentence() {
    let mut r = passive_report();
    if let Content::Passive(p) = &mut r.content {
        p.baseline = None;
        p.attributes.clear();
    }
    r.history.truncate(0);
    let html = render(&r);
    assert!(html.contains("No baseline to compare with"));
    assert!(html.contains("No protected attribute is mapped"));
    assert!(html.contains("no score history"));
    assert_balanced(&html);

    // A failed execution: no profile, no scores.
    let mut r = passive_report();
    r.scores = None;
    r.audit_result = None;
    r.execution_status = Some("FAILED".into());
    r.execution_reason = Some("no evidence rows".into());
    r.findings.clear();
    r.content = Content::Passive(Box::default());
    let html = render(&r);
    assert!(html.contains("No scores: the execution failed"));
    assert!(html.contains("nothing to chart"));
    assert!(html.contains("NO RESULT"));
    assert!(html.contains("No findings"));
    assert_eq!(html.matches("<svg").count(), 1, "only the score history");
    assert_balanced(&html);
}

#[test]
fn active_report_lists_rules_instead_of_distributions() {
    let mut r = passive_report();
    r.audit_type = "active".into();
    r.content = Content::Active(Active {
        rules: vec![
            RuleRow {
                rule_id: "safe.rule".into(),
                category: "jailbreak".into(),
                severity: "LOW".into(),
                attempts: 3,
                passed: Some(true),
                summary: "refused 3 of 3".into(),
                ..RuleRow::default()
            },
            RuleRow {
                rule_id: format!("leak.{EVIL}"),
                category: "prompt_leak".into(),
                severity: "CRITICAL".into(),
                attempts: 3,
                failures: 2,
                passed: Some(false),
                summary: "canary leaked in 2 of 3 attempts".into(),
                ..RuleRow::default()
            },
        ],
        calls: Some(6),
        tokens: Some(300),
        stopped: None,
    });
    let html = render(&r);
    assert!(html.contains("active (security) audit"));
    assert!(html.contains("no label, confidence or group distributions"));
    assert!(html.contains("leak.&lt;script&gt;"));
    assert!(html.find("canary leaked").unwrap() < html.find("refused 3 of 3").unwrap());
    assert!(!html.contains("Label distribution"));
    assert!(html.contains("Drift and bias do not apply"));
    assert!(html.contains("<th>Allowed</th>"));
    assert!(!html.contains("drift (0–1)"), "history shows risk only");
    assert_self_contained(&html);
    assert_balanced(&html);
}
