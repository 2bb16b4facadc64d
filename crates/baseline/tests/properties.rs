//! Property tests of the comparison: distances are well-behaved on any input, and a profile
//! compared with itself shows no drift, no risk and passes (the four-fifths rule, which judges
//! the current evidence on its own, aside).

use audit_baseline::{assess, hypothesis, stats};
use audit_domain::{AuditResult, FieldMapping, FindingCategory, Profile, Record, Thresholds};
use audit_metrics::ProfileBuilder;
use proptest::prelude::*;
use std::borrow::Cow;

fn counts() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(0u32..1000, 1..12)
        .prop_filter("some mass", |v| v.iter().any(|x| *x > 0))
        .prop_map(|v| v.into_iter().map(f64::from).collect())
}

fn pair() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..12).prop_flat_map(|k| {
        let side = proptest::collection::vec(0u32..1000, k)
            .prop_filter("some mass", |v| v.iter().any(|x| *x > 0))
            .prop_map(|v| v.into_iter().map(f64::from).collect::<Vec<f64>>());
        (side.clone(), side)
    })
}

type Row = (u8, f64, bool, bool, u8, u8);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec(
        (
            0u8..6,
            0.0f64..=1.0,
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            0u8..4,
        ),
        0..600,
    )
}

fn profile(rows: &[Row]) -> Profile {
    let mapping = FieldMapping::conventional();
    let recs: Vec<Record<'static>> = rows
        .iter()
        .map(|(l, c, o, a, g, b)| Record {
            prediction: Cow::Owned(format!("label{l}")),
            confidence: Some(*c),
            outcome: Some(*o),
            ground_truth: Some(*a),
            groups: vec![Cow::Owned(format!("g{g}")), Cow::Owned(format!("band{b}"))],
            ..Record::default()
        })
        .collect();
    ProfileBuilder::profile_of(&mapping, recs.iter())
}

proptest! {
    #[test]
    fn psi_is_non_negative((p, q) in pair()) {
        let v = stats::psi(&stats::proportions(&p), &stats::proportions(&q));
        prop_assert!(v >= 0.0 && v.is_finite(), "psi {}", v);
    }

    #[test]
    fn js_is_a_bounded_symmetric_distance((p, q) in pair()) {
        let (p, q) = (stats::proportions(&p), stats::proportions(&q));
        let d = stats::js_distance(&p, &q);
        prop_assert!((0.0..=1.0).contains(&d), "js {}", d);
        prop_assert!((d - stats::js_distance(&q, &p)).abs() < 1e-12);
        prop_assert!(stats::js_distance(&p, &p).abs() < 1e-7);
    }

    #[test]
    fn homogeneity_p_value_is_a_probability((p, q) in pair()) {
        if let Some(h) = hypothesis::homogeneity(&p, &q) {
            prop_assert!(h.statistic >= 0.0 && h.df >= 1.0);
            prop_assert!((0.0..=1.0).contains(&h.p_value), "p {}", h.p_value);
            prop_assert!(h.categories >= 2 && h.categories <= p.len());
            // The same counts on both sides are never evidence of a difference.
            let same = hypothesis::homogeneity(&p, &p).map(|h| h.p_value);
            prop_assert!(same.is_none_or(|v| v > 0.99), "self p {:?}", same);
        }
    }

    #[test]
    fn fisher_p_value_is_a_symmetric_probability(a in 0u64..200, b in 0u64..200, c in 0u64..200, d in 0u64..200) {
        let p = hypothesis::fisher_exact(a, b, c, d);
        prop_assert!((0.0..=1.0).contains(&p), "p {}", p);
        prop_assert!((p - hypothesis::fisher_exact(c, d, a, b)).abs() < 1e-9);
        prop_assert!((p - hypothesis::fisher_exact(b, a, d, c)).abs() < 1e-9);
    }

    #[test]
    fn holm_never_lowers_a_p_value(p in proptest::collection::vec(0.0f64..=1.0, 1..20)) {
        let adj = hypothesis::holm(&p);
        for (raw, a) in p.iter().zip(&adj) {
            prop_assert!(a >= raw && *a <= 1.0);
        }
        // Monotone: a smaller raw p never gets a larger adjusted one.
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] < p[j] {
                    prop_assert!(adj[i] <= adj[j]);
                }
            }
        }
    }

    #[test]
    fn identical_distributions_have_zero_psi(p in counts()) {
        let p = stats::proportions(&p);
        prop_assert_eq!(stats::psi(&p, &p), 0.0);
    }

    #[test]
    fn identical_profiles_show_no_drift_and_pass(rows in rows()) {
        let p = profile(&rows);
        let t = Thresholds::default();
        let a = assess(&p, Some(&p), &t);
        prop_assert!(a.drift_score.abs() < 1e-7, "drift {}", a.drift_score);
        prop_assert_eq!(a.risk_score, 0.0);
        let s = &a.statistics;
        for v in [s.psi_label, s.psi_confidence].into_iter().flatten() {
            prop_assert_eq!(v, 0.0);
        }
        for v in [s.avg_confidence_change, s.outcome_rate_change].into_iter().flatten() {
            prop_assert_eq!(v, 0.0);
        }
        // Only the absolute four-fifths check may speak, exactly as it does with no baseline.
        let alone = assess(&p, None, &t);
        let absolute: Vec<_> = alone.findings.iter().filter(|f| f.category == FindingCategory::Bias).collect();
        let compared: Vec<_> = a.findings.iter().collect();
        prop_assert_eq!(compared.len(), absolute.len(), "{:?}", a.findings);
        for f in &a.findings {
            prop_assert_eq!(f.rule_id.as_deref(), Some("bias.disparate_impact"));
        }
        if a.findings.iter().all(|f| f.severity <= audit_domain::Severity::Low) {
            prop_assert_eq!(a.audit_result, AuditResult::AuditPass);
        }
    }

    /// With the four-fifths line disabled, a profile against itself passes with no finding at all.
    #[test]
    fn identical_profiles_pass_without_the_absolute_rule(rows in rows()) {
        let p = profile(&rows);
        let mut t = Thresholds::default();
        t.dir.high = 0.0;
        t.dir.critical = 0.0;
        let a = assess(&p, Some(&p), &t);
        prop_assert!(a.findings.is_empty(), "{:?}", a.findings);
        prop_assert_eq!(a.audit_result, AuditResult::AuditPass);
    }

    #[test]
    fn scores_stay_in_range(a in rows(), b in rows()) {
        let (pa, pb) = (profile(&a), profile(&b));
        let r = assess(&pb, Some(&pa), &Thresholds::default());
        prop_assert!((0.0..=1.0).contains(&r.drift_score));
        prop_assert!((0.0..=1.0).contains(&r.bias_score));
        prop_assert!((0.0..=100.0).contains(&r.risk_score));
        for f in &r.findings {
            if r.statistics.n_current < 100 {
                prop_assert!(f.severity <= audit_domain::Severity::Low, "{:?}", f);
            }
        }
    }
}

#[test]
fn a_fair_profile_against_itself_passes() {
    // Every group has the same selection rate: nothing to report.
    let rows: Vec<Row> = (0..900u32)
        .map(|i| {
            (
                (i % 3) as u8,
                f64::from(i % 100) / 100.0,
                i % 2 == 0,
                i % 4 < 2,
                ((i / 2) % 3) as u8,
                ((i / 6) % 4) as u8,
            )
        })
        .collect();
    let p = profile(&rows);
    let a = assess(&p, Some(&p), &Thresholds::default());
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert_eq!(a.audit_result, AuditResult::AuditPass);
    assert_eq!(a.drift_score, 0.0);
    assert_eq!(a.bias_score, 0.0);
    let alone = assess(&p, None, &Thresholds::default());
    assert_eq!(alone.audit_result, AuditResult::BaselineCreated);
}
