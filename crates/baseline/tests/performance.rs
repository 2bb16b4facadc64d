//! The estimated accuracy of windows without ground truth against the truth, by Monte Carlo on
//! synthetic calibrated and miscalibrated scores; the classification metrics against
//! scikit-learn; the accuracy rules end to end. `cargo test -p audit-baseline --test
//! performance -- --nocapture` prints the table of docs/metrics.md ("Performance").
#![allow(clippy::unwrap_used)]
// The Monte Carlo table is printed on purpose: docs/metrics.md quotes it.
#![allow(clippy::print_stdout)]

use audit_baseline::assess;
use audit_baseline::performance::estimate;
use audit_domain::{Confusion, FieldMapping, Profile, Record, RecordSink, Severity, Thresholds};
use audit_metrics::ProfileBuilder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution};
use statrs::distribution::{Beta as BetaPdf, Continuous};
use std::borrow::Cow;

/// How the probability of a right answer depends on the confidence.
#[derive(Clone, Copy)]
enum Link {
    Calibrated,
    /// Right less often than it claims: accuracy = confidence².
    Overconfident,
    /// Right more often than it claims: accuracy = √confidence.
    Underconfident,
}

impl Link {
    fn accuracy(self, c: f64) -> f64 {
        match self {
            Link::Calibrated => c,
            Link::Overconfident => c * c,
            Link::Underconfident => c.sqrt(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Link::Calibrated => "calibrated",
            Link::Overconfident => "overconfident (acc = c²)",
            Link::Underconfident => "underconfident (acc = √c)",
        }
    }
}

fn mapping(gt: bool) -> FieldMapping {
    FieldMapping {
        confidence: Some("confidence".into()),
        outcome: Some("outcome".into()),
        ground_truth: gt.then(|| "actual".into()),
        ..FieldMapping::new("prediction")
    }
}

/// A window of `n` rows with Beta(a, b) confidences; the predicted outcome is a fair coin and
/// the ground truth agrees with it with probability `link(confidence)`. Returns the profile
/// and the window's realised accuracy.
fn window(
    n: u64,
    ab: (f64, f64),
    link: Link,
    labelled: bool,
    rng: &mut SmallRng,
) -> (Profile, f64) {
    let beta = Beta::new(ab.0, ab.1).unwrap();
    let mut b = ProfileBuilder::new(&mapping(labelled));
    let mut right = 0u64;
    for _ in 0..n {
        let c: f64 = beta.sample(rng);
        let outcome = rng.random::<bool>();
        let ok = rng.random::<f64>() < link.accuracy(c);
        right += u64::from(ok);
        b.observe(&Record {
            prediction: Cow::Borrowed(if outcome { "yes" } else { "no" }),
            confidence: Some(c),
            outcome: Some(outcome),
            ground_truth: labelled.then_some(outcome == ok),
            ..Record::default()
        });
    }
    (b.finish(), right as f64 / n as f64)
}

/// E[link(C)] for C ~ Beta(a, b), by the midpoint rule on 200,000 points.
fn expected_accuracy(ab: (f64, f64), link: Link) -> f64 {
    let pdf = BetaPdf::new(ab.0, ab.1).unwrap();
    let k = 200_000;
    (0..k)
        .map(|i| {
            let c = (i as f64 + 0.5) / k as f64;
            pdf.pdf(c) * link.accuracy(c) / k as f64
        })
        .sum()
}

struct Row {
    case: String,
    truth: f64,
    mean_estimate: f64,
    bias: f64,
    sd: f64,
    mean_se: f64,
    coverage: f64,
    change_coverage: f64,
    naive: f64,
}

fn simulate(link: Link, base: (f64, f64), cur: (f64, f64), seed: u64) -> Row {
    const REPS: u64 = 400;
    const N_BASE: u64 = 5_000;
    const N_CUR: u64 = 2_000;
    let truth = expected_accuracy(cur, link);
    let truth_change = truth - expected_accuracy(base, link);
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut est, mut se, mut covered, mut change_covered, mut naive) =
        (Vec::new(), 0.0, 0u64, 0u64, 0.0);
    for _ in 0..REPS {
        let (b, _) = window(N_BASE, base, link, true, &mut rng);
        let (c, _) = window(N_CUR, cur, link, false, &mut rng);
        let e = estimate(&b.reliability, &c.confidence_histogram, &c.reliability).unwrap();
        covered += u64::from((e.accuracy - truth).abs() <= 1.96 * e.se);
        change_covered += u64::from((e.change - truth_change).abs() <= 1.96 * e.change_se);
        se += e.se;
        naive += c.confidence.mean;
        est.push(e.accuracy);
    }
    let r = REPS as f64;
    let mean = est.iter().sum::<f64>() / r;
    let sd = (est.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
    Row {
        case: String::new(),
        truth,
        mean_estimate: mean,
        bias: mean - truth,
        sd,
        mean_se: se / r,
        coverage: covered as f64 / r,
        change_coverage: change_covered as f64 / r,
        naive: naive / r,
    }
}

#[test]
fn estimated_accuracy_is_within_its_documented_error() {
    let cases = [
        (Link::Calibrated, (5.0, 2.0), (5.0, 2.0), "no shift"),
        (
            Link::Calibrated,
            (5.0, 2.0),
            (2.0, 2.0),
            "shift to low confidence",
        ),
        (Link::Overconfident, (5.0, 2.0), (5.0, 2.0), "no shift"),
        (
            Link::Overconfident,
            (5.0, 2.0),
            (2.5, 2.0),
            "shift to low confidence",
        ),
        (Link::Underconfident, (2.0, 2.0), (2.0, 2.0), "no shift"),
        (
            Link::Underconfident,
            (2.0, 2.0),
            (4.0, 1.5),
            "shift to high confidence",
        ),
    ];
    println!(
        "| scores | current window | true accuracy | mean estimate | bias | SD of estimates | mean SE | 95 % coverage | change coverage | mean confidence |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (link, base, cur, shift)) in cases.iter().enumerate() {
        let mut row = simulate(*link, *base, *cur, 18_000 + i as u64);
        row.case = format!(
            "{}, Beta({}, {}) → Beta({}, {})",
            shift, base.0, base.1, cur.0, cur.1
        );
        println!(
            "| {} | {} | {:.4} | {:.4} | {:+.4} | {:.4} | {:.4} | {:.1} % | {:.1} % | {:.4} |",
            link.name(),
            row.case,
            row.truth,
            row.mean_estimate,
            row.bias,
            row.sd,
            row.mean_se,
            100.0 * row.coverage,
            100.0 * row.change_coverage,
            row.naive
        );
        // The documented error is the standard error: the estimates scatter as it says, and
        // the ±1.96 SE interval holds the truth about 95 % of the time (400 runs: ±2.2 points
        // of binomial noise; 10-wide bins leave a small bias when the shape inside a bin moves).
        assert!(
            (row.sd / row.mean_se - 1.0).abs() < 0.15,
            "{}: SD {} vs SE {}",
            row.case,
            row.sd,
            row.mean_se
        );
        assert!(
            row.bias.abs() < row.mean_se,
            "{}: bias {}",
            row.case,
            row.bias
        );
        assert!(
            row.coverage >= 0.90,
            "{}: coverage {}",
            row.case,
            row.coverage
        );
        assert!(row.change_coverage >= 0.90, "{}: change coverage", row.case);
    }
}

#[test]
fn estimate_uses_the_baseline_map_not_the_confidence() {
    // Overconfident scores: the mean confidence overstates the accuracy; the estimate does not.
    let mut rng = SmallRng::seed_from_u64(7);
    let (b, _) = window(20_000, (5.0, 2.0), Link::Overconfident, true, &mut rng);
    let (c, real) = window(20_000, (5.0, 2.0), Link::Overconfident, false, &mut rng);
    let e = estimate(&b.reliability, &c.confidence_histogram, &c.reliability).unwrap();
    assert!(
        (e.accuracy - real).abs() < 4.0 * e.se,
        "{} vs {real}",
        e.accuracy
    );
    assert!(
        c.confidence.mean - real > 0.1,
        "the confidence is not the accuracy here"
    );
    assert!(e.fallback_bins.is_empty());
    // A window in bins the baseline never labelled falls back to their mean confidence.
    let (high, _) = window(2_000, (40.0, 1.0), Link::Calibrated, true, &mut rng);
    let (low, _) = window(2_000, (1.0, 30.0), Link::Calibrated, false, &mut rng);
    let e = estimate(
        &high.reliability,
        &low.confidence_histogram,
        &low.reliability,
    )
    .unwrap();
    assert!(e.fallback_bins.contains(&0), "{:?}", e.fallback_bins);
    assert!((e.accuracy - low.confidence.mean).abs() < 0.01);
    assert!(estimate(&c.reliability, &b.confidence_histogram, &b.reliability).is_none());
}

fn judged(cur: &Profile, base: &Profile) -> audit_baseline::Assessment {
    assess(cur, Some(base), &Thresholds::default())
}

#[test]
fn an_estimated_drop_is_a_finding_and_unchanged_windows_are_not() {
    let mut rng = SmallRng::seed_from_u64(11);
    let (base, _) = window(5_000, (5.0, 2.0), Link::Calibrated, true, &mut rng);
    let (same, _) = window(3_000, (5.0, 2.0), Link::Calibrated, false, &mut rng);
    let a = judged(&same, &base);
    let p = a.statistics.performance.clone().unwrap();
    assert!(p.estimated_accuracy_p.is_some());
    assert!(
        !a.findings.iter().any(
            |f| f.rule_id.as_deref() == Some("risk.estimated_accuracy_drop")
                && f.severity > Severity::Low
        ),
        "{:?}",
        a.findings
    );
    assert!(
        a.statistics
            .tests
            .iter()
            .any(|t| t.id == "risk.estimated_accuracy")
    );
    // Confidence falls to Beta(2, 2): expected accuracy 0.714 → 0.5.
    let (worse, _) = window(3_000, (2.0, 2.0), Link::Calibrated, false, &mut rng);
    let a = judged(&worse, &base);
    let f = a
        .findings
        .iter()
        .find(|f| f.rule_id.as_deref() == Some("risk.estimated_accuracy_drop"))
        .unwrap();
    assert!(f.severity >= Severity::High, "{}", f.description);
    assert_eq!(f.metric_name, "estimated_accuracy");
    assert!(
        f.description.contains("no ground truth in this window"),
        "{}",
        f.description
    );
    // With ground truth the accuracy itself is judged, and the estimate is only reported.
    let (worse_labelled, _) = window(3_000, (2.0, 2.0), Link::Calibrated, true, &mut rng);
    let a = judged(&worse_labelled, &base);
    let ids: Vec<&str> = a.statistics.tests.iter().map(|t| t.id.as_str()).collect();
    assert!(ids.contains(&"risk.accuracy") && !ids.contains(&"risk.estimated_accuracy"));
    let f = a
        .findings
        .iter()
        .find(|f| f.rule_id.as_deref() == Some("risk.accuracy_drop"))
        .unwrap();
    assert!(f.severity >= Severity::High, "{}", f.description);
    let p = a.statistics.performance.unwrap();
    assert!(p.estimated_accuracy.is_some() && p.estimated_accuracy_p.is_none());
    assert!(p.accuracy_change.unwrap() < -0.15);
    assert!(p.ece.is_some() && p.f1_change.is_some());
}

#[test]
fn a_small_accuracy_drop_does_not_survive_the_noise() {
    // 2 points in 200 rows: a candidate in no band, or LOW.
    let mut rng = SmallRng::seed_from_u64(12);
    let (base, _) = window(300, (5.0, 2.0), Link::Calibrated, true, &mut rng);
    let (cur, _) = window(200, (5.0, 2.0), Link::Overconfident, true, &mut rng);
    let a = judged(&cur, &base);
    for f in a
        .findings
        .iter()
        .filter(|f| f.rule_id.as_deref() == Some("risk.accuracy_drop"))
    {
        let test = a
            .statistics
            .tests
            .iter()
            .find(|t| t.id == "risk.accuracy")
            .unwrap();
        assert_eq!(
            f.severity > Severity::Low,
            test.significant,
            "{}",
            f.description
        );
    }
}

/// (y_true, y_pred) of `tests/fixtures/reference/classification.json` (997 rows, 32 % positive;
/// written by `tests/reference/classification.py`).
fn fixture() -> Vec<(bool, bool)> {
    let text = include_str!("../../../tests/fixtures/reference/classification.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let t = v["y_true"].as_array().unwrap();
    let p = v["y_pred"].as_array().unwrap();
    assert_eq!(t.len(), p.len());
    t.iter()
        .zip(p)
        .map(|(a, b)| (a.as_i64() == Some(1), b.as_i64() == Some(1)))
        .collect()
}

fn check(pairs: &[(bool, bool)], want: [f64; 7]) {
    let mut c = Confusion::default();
    for (truth, pred) in pairs {
        c.push(*pred, *truth);
    }
    let m = c.classification(None).unwrap();
    let got = [
        m.accuracy,
        m.precision,
        m.recall,
        m.f1,
        m.macro_precision,
        m.macro_recall,
        m.macro_f1,
    ];
    let names = [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
    ];
    for ((name, got), want) in names.iter().zip(got).zip(want) {
        let got = got.unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "{name}: {got} vs scikit-learn {want}"
        );
    }
}

#[test]
fn classification_metrics_equal_scikit_learn() {
    // scikit-learn 1.9.1: accuracy_score, then precision_recall_fscore_support with
    // average="binary" and average="macro" (precision, recall, F1 each), printed by
    // tests/reference/classification.py.
    check(
        &fixture(),
        [
            0.8214643931795386,
            0.7164634146341463,
            0.734375,
            0.7253086419753086,
            0.7947040541033212,
            0.798502123338257,
            0.796532478491369,
        ],
    );
    // A hand-sized case: y_true 1100010, y_pred 1000111.
    let t = [true, true, false, false, false, true, false];
    let p = [true, false, false, false, true, true, true];
    let pairs: Vec<(bool, bool)> = t.into_iter().zip(p).collect();
    check(
        &pairs,
        [
            0.5714285714285714,
            0.5,
            0.6666666666666666,
            0.5714285714285714,
            0.5833333333333333,
            0.5833333333333333,
            0.5714285714285714,
        ],
    );
}
