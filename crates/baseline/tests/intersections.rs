//! Intersectional groups (issue 18): a bias visible only in the combination of two protected
//! attributes is found on the intersection, through the same four-fifths and gap-growth tests as
//! single attributes, and not on either attribute alone.
#![allow(clippy::unwrap_used)]

use audit_baseline::assess;
use audit_domain::{FieldMapping, Profile, Record, RecordSink, Severity, Thresholds};
use audit_metrics::ProfileBuilder;
use std::borrow::Cow;

fn mapping() -> FieldMapping {
    let m = FieldMapping {
        outcome: Some("approved".into()),
        protected: vec!["gender".into(), "age_band".into()],
        intersections: vec![vec!["gender".into(), "age_band".into()]],
        ..FieldMapping::new("prediction")
    };
    m.validate().unwrap();
    m
}

/// 400 rows per cell; `rates` are the selection rates of (f, young), (f, old), (m, young),
/// (m, old). Positives are spread evenly so the rates are exact.
fn profile(rates: [f64; 4]) -> Profile {
    let mut b = ProfileBuilder::new(&mapping());
    let cells = [("f", "18-25"), ("f", "60+"), ("m", "18-25"), ("m", "60+")];
    for ((g, a), rate) in cells.iter().zip(rates) {
        let positives = (400.0 * rate) as usize;
        for i in 0..400 {
            b.observe(&Record {
                prediction: Cow::Borrowed("x"),
                outcome: Some(i < positives),
                groups: vec![Cow::Borrowed(g), Cow::Borrowed(a)],
                ..Record::default()
            });
        }
    }
    let mut p = b.finish();
    p.pool_free_text();
    p
}

fn severity_of(a: &audit_baseline::Assessment, rule: &str, metric: &str) -> Option<Severity> {
    a.findings
        .iter()
        .filter(|f| f.rule_id.as_deref() == Some(rule) && f.metric_name == metric)
        .map(|f| f.severity)
        .max()
}

#[test]
fn a_bias_only_in_the_intersection_is_found_there() {
    // Women young and men old at 20 %, the others at 60 %: each attribute alone is at parity
    // (40 % and 40 %), the combined groups are at a ratio of 1/3.
    let crossed = profile([0.2, 0.6, 0.6, 0.2]);
    let a = assess(&crossed, None, &Thresholds::default());
    let b = &a.statistics.bias;
    assert_eq!(b["gender"].dir, Some(1.0));
    assert_eq!(b["age_band"].dir, Some(1.0));
    let x = &b["gender×age_band"];
    assert!((x.dir.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(x.groups_scored.len(), 4);
    assert_eq!(x.min_group.as_deref(), Some("f×18-25"));
    assert_eq!(
        severity_of(&a, "bias.disparate_impact", "dir.gender×age_band"),
        Some(Severity::Critical)
    );
    assert_eq!(severity_of(&a, "bias.disparate_impact", "dir.gender"), None);
    assert_eq!(
        severity_of(&a, "bias.disparate_impact", "dir.age_band"),
        None
    );
    // The intersection's tests are members of the audit's family, under its name.
    let ids: Vec<&str> = a.statistics.tests.iter().map(|t| t.id.as_str()).collect();
    assert!(
        ids.contains(&"bias.disparate_impact.gender×age_band"),
        "{ids:?}"
    );

    // Against a baseline at parity everywhere, the gap growth is found on the intersection only.
    let parity = profile([0.4, 0.4, 0.4, 0.4]);
    let a = assess(&crossed, Some(&parity), &Thresholds::default());
    assert!(severity_of(&a, "bias.dpd_increase", "dpd.gender×age_band") >= Some(Severity::High));
    assert_eq!(severity_of(&a, "bias.dpd_increase", "dpd.gender"), None);
    assert_eq!(severity_of(&a, "bias.dpd_increase", "dpd.age_band"), None);
}

#[test]
fn small_combined_groups_are_reported_not_scored() {
    let mut b = ProfileBuilder::new(&mapping());
    for i in 0..300 {
        let (g, a) = if i < 10 {
            ("f", "60+")
        } else if i % 2 == 0 {
            ("f", "18-25")
        } else {
            ("m", "18-25")
        };
        b.observe(&Record {
            prediction: Cow::Borrowed("x"),
            outcome: Some(i % 3 == 0),
            groups: vec![Cow::Borrowed(g), Cow::Borrowed(a)],
            ..Record::default()
        });
    }
    let a = assess(&b.finish(), None, &Thresholds::default());
    let x = &a.statistics.bias["gender×age_band"];
    assert_eq!(x.groups_too_small, vec!["f×60+".to_owned()]);
    assert_eq!(
        x.groups_scored,
        vec!["f×18-25".to_owned(), "m×18-25".to_owned()]
    );
}
