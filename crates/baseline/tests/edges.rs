//! The cases of the "verdicts you can trust" issue, each on exact counts: band edges hit exactly,
//! an unchanged compliant gap, a small group, a new label that used to hide an old one.

use audit_baseline::assess;
use audit_domain::{FieldMapping, Finding, Profile, Record, Severity, Thresholds};
use audit_metrics::ProfileBuilder;
use std::borrow::Cow;

/// `groups`: (group, rows, positive outcomes); every row has label `label` and confidence 0.8.
fn profile(groups: &[(&str, u64, u64)], label: impl Fn(u64) -> String) -> Profile {
    let mapping = FieldMapping {
        confidence: Some("confidence".into()),
        outcome: Some("outcome".into()),
        protected: vec!["gender".into()],
        ..FieldMapping::new("prediction")
    };
    let mut b = ProfileBuilder::new(&mapping);
    let mut i = 0;
    for (g, n, pos) in groups {
        for k in 0..*n {
            let r = Record {
                prediction: Cow::Owned(label(i)),
                confidence: Some(0.8),
                outcome: Some(k < *pos),
                groups: vec![Cow::Borrowed(*g)],
                ..Record::default()
            };
            audit_domain::RecordSink::observe(&mut b, &r);
            i += 1;
        }
    }
    b.finish()
}

fn one(_: u64) -> String {
    "approve".into()
}

fn rule<'a>(f: &'a [Finding], id: &str) -> Option<&'a Finding> {
    f.iter().find(|f| f.rule_id.as_deref() == Some(id))
}

#[test]
fn an_outcome_change_of_exactly_ten_points_is_high_and_says_so() {
    let base = profile(&[("f", 500, 288), ("m", 500, 287)], one); // 57.5 %
    let cur = profile(&[("f", 500, 238), ("m", 500, 237)], one); // 47.5 %
    let a = assess(&cur, Some(&base), &Thresholds::default());
    let f = rule(&a.findings, "risk.outcome_rate_change").expect("finding");
    assert_eq!(f.severity, Severity::High, "{}", f.description);
    assert!(
        f.description.contains("(−10.0 points)"),
        "{}",
        f.description
    );
}

#[test]
fn a_ratio_of_exactly_four_fifths_is_on_the_line() {
    let p = profile(&[("f", 1000, 480), ("m", 1000, 600)], one);
    let a = assess(&p, None, &Thresholds::default());
    assert!(
        rule(&a.findings, "bias.disparate_impact").is_none(),
        "{:?}",
        a.findings
    );
    // Just below the line the ratio is printed apart from it, and the severity matches.
    let p = profile(&[("f", 10_000, 4799), ("m", 10_000, 6000)], one);
    let a = assess(&p, None, &Thresholds::default());
    let f = rule(&a.findings, "bias.disparate_impact").expect("finding");
    assert!(f.description.contains("0.7998×"), "{}", f.description);
    assert_eq!(
        f.severity,
        Severity::Low,
        "not significantly below: {}",
        f.description
    );
}

#[test]
fn an_unchanged_compliant_gap_is_no_claim() {
    let p = profile(&[("f", 1000, 450), ("m", 1000, 550)], one); // ratio 0.82
    let q = profile(&[("f", 1000, 440), ("m", 1000, 560)], one); // ratio 0.79, as noise gives
    let a = assess(&q, Some(&p), &Thresholds::default());
    assert!(
        a.findings.iter().all(|f| f.severity <= Severity::Low),
        "{:?}",
        a.findings
    );
}

#[test]
fn a_small_group_never_scores_and_a_real_gap_is_critical() {
    // 20 rows of 'x' with no positives: reported as too small, never scored.
    let p = profile(&[("f", 500, 250), ("m", 500, 250), ("x", 20, 0)], one);
    let a = assess(&p, None, &Thresholds::default());
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert_eq!(a.statistics.bias["gender"].groups_too_small, ["x"]);
    // A gap far below 0.6 on large groups: CRITICAL, significantly below both lines.
    let p = profile(&[("f", 2000, 400), ("m", 2000, 1200)], one);
    let a = assess(&p, None, &Thresholds::default());
    let f = rule(&a.findings, "bias.disparate_impact").expect("finding");
    assert_eq!(f.severity, Severity::Critical, "{}", f.description);
}

#[test]
fn a_new_rare_label_leaves_the_old_ones_compared() {
    // 50 labels in both windows; the current one adds a rare label sorting first, which the
    // profile's cap makes push the last old label into `__other__` in that window only.
    let labels = |i: u64| format!("l{:02}", i % 50);
    let base = profile(&[("f", 5000, 2500), ("m", 5000, 2500)], labels);
    let mut cur = profile(&[("f", 5000, 2500), ("m", 5000, 2500)], labels);
    *cur.labels.entry("a-new") += 30;
    cur.n += 30;
    let a = assess(&cur, Some(&base), &Thresholds::default());
    let s = &a.statistics;
    assert_eq!(s.new_labels, ["a-new"]);
    assert_eq!(s.pooled_labels, ["l49"]);
    assert!(s.psi_label.expect("psi") < 0.05, "{s:?}");
    assert!(
        rule(&a.findings, "drift.psi_label").is_none(),
        "{:?}",
        a.findings
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let base = profile(&[("f", 700, 300), ("m", 800, 450)], |i| {
        format!("l{}", i % 7)
    });
    let cur = profile(&[("f", 650, 240), ("m", 900, 520)], |i| {
        format!("l{}", i % 5)
    });
    let t = Thresholds::default();
    let a = serde_json::to_string(&assess(&cur, Some(&base), &t)).expect("json");
    let b = serde_json::to_string(&assess(&cur, Some(&base), &t)).expect("json");
    assert_eq!(a, b);
}

#[test]
fn a_gap_that_swaps_sides_has_not_grown() {
    // 35 % vs 55 % in the baseline, 55 % vs 35 % now: the gap is 0.20 in both.
    let base = profile(&[("f", 200, 70), ("m", 200, 110)], one);
    let cur = profile(&[("f", 200, 110), ("m", 200, 70)], one);
    let mut t = Thresholds::default();
    t.dir.high = 0.0;
    t.dir.critical = 0.0;
    let a = assess(&cur, Some(&base), &t);
    assert!(
        rule(&a.findings, "bias.dpd_increase").is_none(),
        "{:?}",
        a.findings
    );
    let g = &a.statistics.bias["gender"];
    assert!(g.dpd_increase.expect("increase").abs() < 1e-12);
    assert!(g.dpd_increase_p.expect("p") > 0.5);
}

#[test]
fn a_ratio_just_off_the_line_is_printed_apart_from_it() {
    // 0.7999998: HIGH band (more than 1e-9 below 0.8), so it must not print as 0.800000.
    let p = profile(&[("f", 1000, 401), ("m", 9999, 5012)], one);
    let a = assess(&p, None, &Thresholds::default());
    let f = rule(&a.findings, "bias.disparate_impact").expect("finding");
    assert!(f.description.contains("0.7999998"), "{}", f.description);
}
