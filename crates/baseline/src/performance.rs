//! Performance against the baseline (issue 18): with ground truth in the window, the change of
//! accuracy, precision, recall, F1 and calibration error, and the accuracy-drop rule; without
//! it, the accuracy estimated from the window's confidence histogram and the baseline's accuracy
//! per confidence bin (CBPE-style, as NannyML), its standard error, and the estimated-drop rule.
//! docs/metrics.md ("Performance") is the prose of this module.

use crate::decide::{Candidate, Family, beside};
use crate::hypothesis;
use audit_domain::{
    CONFIDENCE_BINS, ClassificationMetrics, FindingCategory, Profile, Reliability, Thresholds,
};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// The performance statistics of a comparison (`statistics.performance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// The baseline's accuracy over its rows with ground truth.
    pub baseline_accuracy: Option<f64>,
    /// With ground truth in the current window: its accuracy, the change, and the p-value of
    /// the two-sided exact test of "the accuracy did not change".
    pub accuracy: Option<f64>,
    pub accuracy_change: Option<f64>,
    pub accuracy_p: Option<f64>,
    pub precision_change: Option<f64>,
    pub recall_change: Option<f64>,
    pub f1_change: Option<f64>,
    pub macro_precision_change: Option<f64>,
    pub macro_recall_change: Option<f64>,
    pub macro_f1_change: Option<f64>,
    pub ece: Option<f64>,
    pub baseline_ece: Option<f64>,
    pub ece_change: Option<f64>,
    /// Accuracy estimated from the window's confidence histogram and the baseline's
    /// reliability table (whenever the baseline has labelled rows with a confidence).
    pub estimated_accuracy: Option<f64>,
    /// Its standard error as an estimate of the window's expected accuracy.
    pub estimated_accuracy_se: Option<f64>,
    /// estimate − baseline accuracy, and the standard error of that difference.
    pub estimated_accuracy_change: Option<f64>,
    pub estimated_accuracy_change_se: Option<f64>,
    /// One-sided p-value of "the accuracy did not drop", when the estimate is judged (the
    /// window has no ground truth).
    pub estimated_accuracy_p: Option<f64>,
    /// Bins with current rows and no labelled baseline row: their mean confidence stood in
    /// for their accuracy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub estimate_fallback_bins: Vec<String>,
}

/// The CBPE-style estimate of a window's accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub accuracy: f64,
    /// Standard error against the expected accuracy of the window's population.
    pub se: f64,
    /// Baseline accuracy (labelled rows of the reliability table).
    pub baseline_accuracy: f64,
    /// `accuracy − baseline_accuracy`, and its standard error.
    pub change: f64,
    pub change_se: f64,
    /// Bins whose accuracy fell back to the window's mean confidence in the bin.
    pub fallback_bins: Vec<usize>,
}

/// Binomial variance of a bin accuracy with one success and one failure added (Agresti–Caffo),
/// so that a bin of 12 right answers out of 12 is not taken as known exactly.
fn bin_variance(correct: u64, labelled: u64) -> f64 {
    let n = labelled as f64 + 2.0;
    let p = (correct as f64 + 1.0) / n;
    p * (1.0 - p) / n
}

/// Estimated accuracy of a window with confidence histogram `hist` (and reliability table
/// `current`, for each bin's mean confidence) from the baseline's accuracy per bin:
/// Σ_b (m_b / m) · a_b. `None` without labelled baseline rows or current rows.
///
/// Standard errors (docs/metrics.md, "Performance"), with w_b = m_b / m, v_b = l_b / L and
/// Var(a_b) = p̃(1 − p̃)/(l_b + 2) with p̃ = (c_b + 1)/(l_b + 2) (the baseline's ECE² for a bin
/// it has no labels for):
/// - of the estimate, √(Σ w_b² Var(a_b) + Var_w(a)/m): the baseline's binomial noise per bin
///   and the current window's multinomial noise over bins;
/// - of the change estimate − baseline accuracy, √(Σ (w_b − v_b)² Var(a_b) + Var_w(a)/m +
///   Var_v(a)/L): both use the same a_b, so that noise cancels where the windows agree.
pub fn estimate(
    baseline: &Reliability,
    hist: &[u64; CONFIDENCE_BINS],
    current: &Reliability,
) -> Option<Estimate> {
    let l_total = baseline.labelled();
    let m_total: u64 = hist.iter().sum();
    if l_total == 0 || m_total == 0 {
        return None;
    }
    let (m, l) = (m_total as f64, l_total as f64);
    // A bin the baseline has no labels for takes its mean confidence as its accuracy; the error
    // of that is the bin's calibration gap, which the baseline's expected calibration error
    // (the mean gap over the bins it did label) stands for.
    let unknown_variance = baseline.ece().unwrap_or(0.0).powi(2);
    let mut fallback_bins = Vec::new();
    // Per bin: (accuracy a_b, Var(a_b), w_b, v_b).
    let mut bins = Vec::with_capacity(CONFIDENCE_BINS);
    for (b, (base, &m_b)) in baseline.bins.iter().zip(hist).enumerate() {
        let w = m_b as f64 / m;
        let v = base.labelled as f64 / l;
        let (a, var) = match base.accuracy() {
            Some(a) => (a, bin_variance(base.correct, base.labelled)),
            None if m_b > 0 => {
                fallback_bins.push(b);
                let sum = current.bins[b].confidence_sum;
                // Profiles written before the table have no sums: the bin's midpoint.
                let mean = if sum > 0.0 {
                    sum / m_b as f64
                } else {
                    (b as f64 + 0.5) / CONFIDENCE_BINS as f64
                };
                (mean.clamp(0.0, 1.0), unknown_variance)
            }
            None => continue,
        };
        bins.push((a, var, w, v));
    }
    let mean = |weight: fn(&(f64, f64, f64, f64)) -> f64| -> (f64, f64) {
        let mu: f64 = bins.iter().map(|x| weight(x) * x.0).sum();
        let second: f64 = bins.iter().map(|x| weight(x) * x.0 * x.0).sum();
        (mu, (second - mu * mu).max(0.0))
    };
    let (accuracy, var_w) = mean(|x| x.2);
    let (_, var_v) = mean(|x| x.3);
    let baseline_accuracy = baseline.correct() as f64 / l;
    let se = (bins.iter().map(|x| x.2 * x.2 * x.1).sum::<f64>() + var_w / m).sqrt();
    let change_se =
        (bins.iter().map(|x| (x.2 - x.3).powi(2) * x.1).sum::<f64>() + var_w / m + var_v / l)
            .sqrt();
    Some(Estimate {
        accuracy,
        se,
        baseline_accuracy,
        change: accuracy - baseline_accuracy,
        change_se,
        fallback_bins,
    })
}

/// One-sided p-value of "the accuracy did not drop" for a change with standard error `se`.
fn drop_p(change: f64, se: f64) -> f64 {
    if se > 0.0 && se.is_finite() {
        Normal::standard().cdf(change / se)
    } else if change < 0.0 {
        0.0
    } else {
        1.0
    }
}

fn bin_name(b: usize) -> String {
    let close = if b + 1 == CONFIDENCE_BINS { "]" } else { ")" };
    format!(
        "[{:.1}, {:.1}{close}",
        b as f64 / CONFIDENCE_BINS as f64,
        (b + 1) as f64 / CONFIDENCE_BINS as f64
    )
}

fn diff(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn points(x: f64) -> f64 {
    x * 100.0
}

/// The performance statistics, tests and candidates of `c` against `b`; `None` when neither
/// window has anything to compare (no ground truth in the baseline).
pub fn assess(
    b: &Profile,
    c: &Profile,
    t: &Thresholds,
    fam: &mut Family,
    out: &mut Vec<Candidate>,
) -> Option<Performance> {
    let bm = b.confusion.classification(b.reliability.ece())?;
    let mut s = Performance {
        baseline_accuracy: bm.accuracy,
        baseline_ece: bm.ece,
        ..Performance::default()
    };
    let labelled_now = c.confusion.total() > 0;
    if let Some(cm) = c.confusion.classification(c.reliability.ece()) {
        compare_labelled(b, c, &bm, &cm, t, &mut s, fam, out);
    }
    if let Some(e) = estimate(&b.reliability, &c.confidence_histogram, &c.reliability) {
        s.estimated_accuracy = Some(e.accuracy);
        s.estimated_accuracy_se = Some(e.se);
        s.estimated_accuracy_change = Some(e.change);
        s.estimated_accuracy_change_se = Some(e.change_se);
        s.estimate_fallback_bins = e.fallback_bins.iter().map(|b| bin_name(*b)).collect();
        // With ground truth in the window its accuracy is judged instead: one claim, not two.
        if !labelled_now {
            judge_estimate(&e, t, &mut s, fam, out);
        }
    }
    Some(s)
}

#[allow(clippy::too_many_arguments)]
fn compare_labelled(
    b: &Profile,
    c: &Profile,
    bm: &ClassificationMetrics,
    cm: &ClassificationMetrics,
    t: &Thresholds,
    s: &mut Performance,
    fam: &mut Family,
    out: &mut Vec<Candidate>,
) {
    s.accuracy = cm.accuracy;
    s.accuracy_change = diff(cm.accuracy, bm.accuracy);
    s.precision_change = diff(cm.precision, bm.precision);
    s.recall_change = diff(cm.recall, bm.recall);
    s.f1_change = diff(cm.f1, bm.f1);
    s.macro_precision_change = diff(cm.macro_precision, bm.macro_precision);
    s.macro_recall_change = diff(cm.macro_recall, bm.macro_recall);
    s.macro_f1_change = diff(cm.macro_f1, bm.macro_f1);
    s.ece = cm.ece;
    s.ece_change = diff(cm.ece, bm.ece);
    let (Some(ba), Some(ca), Some(change)) = (bm.accuracy, cm.accuracy, s.accuracy_change) else {
        return;
    };
    let right = |p: &Profile| p.confusion.tp + p.confusion.tn;
    let (br, cr) = (right(b), right(c));
    let p = hypothesis::fisher_exact(br, bm.labelled - br, cr, cm.labelled - cr);
    s.accuracy_p = Some(p);
    let test = fam.add(
        "risk.accuracy".into(),
        "the accuracy did not change".into(),
        "fisher-exact",
        None,
        p,
    );
    let bands = t.accuracy_drop;
    let Some(band) = bands.classify(-change) else {
        return;
    };
    let edges: Vec<f64> = [bands.medium, bands.high, bands.critical]
        .iter()
        .map(|e| points(*e))
        .collect();
    out.push(Candidate {
        category: FindingCategory::Risk,
        rule_id: "risk.accuracy_drop".into(),
        metric_name: "accuracy".into(),
        band,
        test: Some(test),
        nested: None,
        baseline_value: Some(ba),
        current_value: ca,
        description: format!(
            "Accuracy on {} rows with ground truth fell from {:.1}% to {:.1}% (−{} points)",
            cm.labelled,
            points(ba),
            points(ca),
            beside(points(-change), &edges, 1)
        ),
    });
}

fn judge_estimate(
    e: &Estimate,
    t: &Thresholds,
    s: &mut Performance,
    fam: &mut Family,
    out: &mut Vec<Candidate>,
) {
    let p = drop_p(e.change, e.change_se);
    s.estimated_accuracy_p = Some(p);
    let test = fam.add(
        "risk.estimated_accuracy".into(),
        "the accuracy did not drop (estimated from the baseline's accuracy per confidence bin)"
            .into(),
        "estimate-drop-z",
        Some(e.change / e.change_se),
        p,
    );
    let bands = t.estimated_accuracy_drop;
    let Some(band) = bands.classify(-e.change) else {
        return;
    };
    let edges: Vec<f64> = [bands.medium, bands.high, bands.critical]
        .iter()
        .map(|x| points(*x))
        .collect();
    let fallback = if e.fallback_bins.is_empty() {
        String::new()
    } else {
        format!(
            "; bins {} have no labelled baseline rows, their mean confidence was used",
            e.fallback_bins
                .iter()
                .map(|b| bin_name(*b))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    out.push(Candidate {
        category: FindingCategory::Risk,
        rule_id: "risk.estimated_accuracy_drop".into(),
        metric_name: "estimated_accuracy".into(),
        band,
        test: Some(test),
        nested: None,
        baseline_value: Some(e.baseline_accuracy),
        current_value: e.accuracy,
        description: format!(
            "Estimated accuracy fell from {:.1}% to {:.1}% (−{} ± {:.1} points; no ground truth in this window, estimated from its confidence histogram and the baseline's accuracy per confidence bin{fallback})",
            points(e.baseline_accuracy),
            points(e.accuracy),
            beside(points(-e.change), &edges, 1),
            points(e.change_se)
        ),
    });
}
