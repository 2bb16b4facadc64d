//! Baseline comparison: a current [`Profile`] judged against an approved baseline profile.
//!
//! Computes the statistics of DESIGN.md §3 (PSI, Jensen–Shannon distance and a two-sample test
//! on the label distribution and the confidence histogram; demographic parity difference,
//! disparate-impact ratio and equal-opportunity difference per protected attribute;
//! confidence and outcome deviations; accuracy, its estimate without ground truth and the
//! other classification metrics, [`performance`]), the three scores, the findings with their severities
//! and the `audit_result`. A finding is above LOW only when its effect size is in a band *and*
//! its test rejects after Holm's correction over every test of the audit ([`decide`]).

pub mod bias;
pub mod decide;
pub mod features;
pub mod hypothesis;
pub mod keys;
pub mod performance;
pub mod stats;

pub use bias::AttributeBias;
pub use decide::{TestResult, persist, signal_key};
pub use features::FeatureDrift;
pub use performance::Performance;

use audit_domain::{AuditResult, Finding, FindingCategory, Profile, Severity, Thresholds};
use decide::{Candidate, Family, TestId, beside};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every statistic of a comparison, named as in the CLI's and API's JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub n_baseline: u64,
    pub n_current: u64,
    pub psi_label: Option<f64>,
    pub js_label: Option<f64>,
    /// The two-sample test of the label counts (chi-square of homogeneity, or Fisher's exact
    /// test when two categories remain after pooling): Pearson statistic, df, p-value.
    pub chi2_label: Option<f64>,
    pub chi2_df_label: Option<f64>,
    pub chi2_p_label: Option<f64>,
    pub psi_confidence: Option<f64>,
    pub js_confidence: Option<f64>,
    pub chi2_confidence: Option<f64>,
    pub chi2_df_confidence: Option<f64>,
    pub chi2_p_confidence: Option<f64>,
    /// current − baseline average confidence, and its Welch t-test p-value.
    pub avg_confidence_change: Option<f64>,
    pub avg_confidence_p: Option<f64>,
    /// current − baseline outcome rate, and the p-value of Fisher's exact test on it.
    pub outcome_rate_change: Option<f64>,
    pub outcome_rate_p: Option<f64>,
    /// current − baseline refusal rate (LLM logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_rate_change: Option<f64>,
    pub bias: BTreeMap<String, AttributeBias>,
    /// Drift of each input feature both windows hold ([`features`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, FeatureDrift>,
    /// Labels seen in the current window and never in the baseline.
    #[serde(default)]
    pub new_labels: Vec<String>,
    /// Labels one window kept and the other had pooled under `__other__`: pooled on both sides.
    #[serde(default)]
    pub pooled_labels: Vec<String>,
    /// The family-wise significance level the findings were judged at.
    #[serde(default)]
    pub alpha: f64,
    /// Every test of the audit's family, with its Holm-adjusted p-value.
    #[serde(default)]
    pub tests: Vec<TestResult>,
    /// The rules (`rule_id|metric_name`) above LOW before any persistence requirement: what a
    /// later window's persistence check reads.
    #[serde(default)]
    pub above_low: Vec<String>,
    /// Accuracy and its estimate without ground truth, precision, recall, F1, calibration
    /// error against the baseline (`performance.rs`); when the baseline has ground truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
}

/// The outcome of judging a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub statistics: Statistics,
    /// max(JS of labels, JS of confidence histogram), in [0, 1].
    pub drift_score: f64,
    /// max over attributes of the demographic parity difference, in [0, 1].
    pub bias_score: f64,
    /// 0–100 from the confidence and outcome deviations (docs/metrics.md).
    pub risk_score: f64,
    pub findings: Vec<Finding>,
    pub audit_result: AuditResult,
}

impl Assessment {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

struct Distribution {
    keys: Vec<String>,
    p: Vec<f64>,
    q: Vec<f64>,
    p_counts: Vec<f64>,
    q_counts: Vec<f64>,
    new: Vec<String>,
}

fn label_distribution(b: &Profile, c: &Profile, s: &mut Statistics) -> Option<Distribution> {
    if b.labels.total() == 0 || c.labels.total() == 0 {
        return None;
    }
    let a = keys::align(&b.labels, &c.labels);
    s.new_labels.clone_from(&a.new_in_current);
    s.pooled_labels.clone_from(&a.pooled);
    Some(Distribution {
        p: stats::proportions(&a.baseline),
        q: stats::proportions(&a.current),
        p_counts: a.baseline,
        q_counts: a.current,
        keys: a.keys,
        new: a.new_in_current,
    })
}

fn confidence_distribution(b: &Profile, c: &Profile) -> Option<Distribution> {
    if b.confidence.count == 0 || c.confidence.count == 0 {
        return None;
    }
    let p_counts: Vec<f64> = b.confidence_histogram.iter().map(|x| *x as f64).collect();
    let q_counts: Vec<f64> = c.confidence_histogram.iter().map(|x| *x as f64).collect();
    let keys = (0..p_counts.len())
        .map(|i| {
            format!(
                "[{:.1}, {:.1}{}",
                i as f64 / 10.0,
                (i + 1) as f64 / 10.0,
                if i == 9 { "]" } else { ")" }
            )
        })
        .collect();
    Some(Distribution {
        p: stats::proportions(&p_counts),
        q: stats::proportions(&q_counts),
        p_counts,
        q_counts,
        keys,
        new: Vec::new(),
    })
}

impl Distribution {
    /// The category whose share moved most, as "'deny' 22.0% → 41.5%".
    fn largest_shift(&self) -> String {
        let best = (0..self.keys.len()).max_by(|a, b| {
            (self.q[*a] - self.p[*a])
                .abs()
                .total_cmp(&(self.q[*b] - self.p[*b]).abs())
        });
        match best {
            Some(i) => format!(
                "'{}'{} {:.1}% → {:.1}%",
                self.keys[i],
                if self.new.contains(&self.keys[i]) {
                    " (new, not in the baseline)"
                } else {
                    ""
                },
                self.p[i] * 100.0,
                self.q[i] * 100.0
            ),
            None => String::new(),
        }
    }
}

/// A change with its sign ("−0.120", "+10.0"), printed apart from the band `edges` its size is not on.
fn signed(change: f64, edges: &[f64], decimals: usize) -> String {
    let sign = if change < 0.0 { "−" } else { "+" };
    format!("{sign}{}", beside(change.abs(), edges, decimals))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Drift of the label distribution and of the confidence histogram: statistics, tests and
/// candidates.
fn drift(
    b: &Profile,
    c: &Profile,
    t: &Thresholds,
    s: &mut Statistics,
    fam: &mut Family,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let label = label_distribution(b, c, s);
    for (kind, dist) in [
        ("label", label),
        ("confidence", confidence_distribution(b, c)),
    ] {
        let Some(d) = dist else { continue };
        let psi = stats::psi(&d.p, &d.q);
        let js = stats::js_distance(&d.p, &d.q);
        let h = hypothesis::homogeneity(&d.p_counts, &d.q_counts);
        let test = h.map(|h| {
            fam.add(
                format!("drift.{kind}"),
                format!("baseline and current {kind}s are draws from one distribution"),
                h.method,
                Some(h.statistic),
                h.p_value,
            )
        });
        let fields = (
            Some(psi),
            Some(js),
            h.map(|h| h.statistic),
            h.map(|h| h.df),
            h.map(|h| h.p_value),
        );
        if kind == "label" {
            (
                s.psi_label,
                s.js_label,
                s.chi2_label,
                s.chi2_df_label,
                s.chi2_p_label,
            ) = fields;
        } else {
            (
                s.psi_confidence,
                s.js_confidence,
                s.chi2_confidence,
                s.chi2_df_confidence,
                s.chi2_p_confidence,
            ) = fields;
        }
        let what = if kind == "label" {
            "Label distribution"
        } else {
            "Confidence distribution"
        };
        for (stat, value, bands, name) in
            [("psi", psi, t.psi, "PSI"), ("js", js, t.js, "JS distance")]
        {
            let Some(band) = bands.classify(value) else {
                continue;
            };
            let metric = format!("{stat}_{kind}");
            out.push(Candidate {
                category: FindingCategory::Drift,
                rule_id: format!("drift.{metric}"),
                metric_name: metric,
                band,
                test,
                nested: None,
                baseline_value: Some(0.0),
                current_value: value,
                description: format!(
                    "{what} drifted from the baseline: {name} {}; largest shift {}",
                    beside(value, &[bands.medium, bands.high, bands.critical], 3),
                    d.largest_shift()
                ),
            });
        }
    }
    out
}

/// Mean confidence and outcome rate against the baseline: statistics, tests and candidates.
fn risk(
    b: &Profile,
    c: &Profile,
    t: &Thresholds,
    s: &mut Statistics,
    fam: &mut Family,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut push =
        |rule: &str, metric: &str, test: Option<TestId>, band, base: f64, cur: f64, description| {
            out.push(Candidate {
                category: FindingCategory::Risk,
                rule_id: rule.into(),
                metric_name: metric.into(),
                band,
                test,
                nested: None,
                baseline_value: Some(base),
                current_value: cur,
                description,
            });
        };
    if let (Some(bm), Some(cm)) = (b.confidence.mean(), c.confidence.mean()) {
        let change = cm - bm;
        s.avg_confidence_change = Some(change);
        s.avg_confidence_p = stats::welch_p(
            b.confidence.count as f64,
            bm,
            b.confidence.sample_variance().unwrap_or(0.0),
            c.confidence.count as f64,
            cm,
            c.confidence.sample_variance().unwrap_or(0.0),
        );
        let test = s.avg_confidence_p.map(|p| {
            fam.add(
                "risk.avg_confidence".into(),
                "the mean confidence did not change".into(),
                "welch-t",
                None,
                p,
            )
        });
        let bands = t.avg_confidence_change;
        if let Some(band) = bands.classify(change.abs()) {
            let shown = signed(change, &[bands.medium, bands.high, bands.critical], 3);
            push(
                "risk.avg_confidence_change",
                "avg_confidence",
                test,
                band,
                bm,
                cm,
                format!("Average confidence moved from {bm:.3} to {cm:.3} ({shown})"),
            );
        }
    }
    if let (Some(br), Some(cr)) = (b.outcome_rate(), c.outcome_rate()) {
        let change = cr - br;
        s.outcome_rate_change = Some(change);
        let p = hypothesis::fisher_exact(
            b.positives,
            b.outcome_count - b.positives.min(b.outcome_count),
            c.positives,
            c.outcome_count - c.positives.min(c.outcome_count),
        );
        s.outcome_rate_p = Some(p);
        let test = Some(fam.add(
            "risk.outcome_rate".into(),
            "the positive outcome rate did not change".into(),
            "fisher-exact",
            None,
            p,
        ));
        let bands = t.outcome_rate_change;
        if let Some(band) = bands.classify(change.abs()) {
            let points: Vec<f64> = [bands.medium, bands.high, bands.critical]
                .iter()
                .map(|e| e * 100.0)
                .collect();
            push(
                "risk.outcome_rate_change",
                "outcome_rate",
                test,
                band,
                br,
                cr,
                format!(
                    "Positive outcome rate moved from {} to {} ({} points)",
                    pct(br),
                    pct(cr),
                    signed(change * 100.0, &points, 1)
                ),
            );
        }
    }
    if let (Some(bt), Some(ct)) = (&b.text, &c.text)
        && let (Some(br), Some(cr)) = (bt.refusal_rate(), ct.refusal_rate())
    {
        s.refusal_rate_change = Some(cr - br);
    }
    out
}

/// Judges `current` against `baseline` (or, without one, creates the baseline: only absolute
/// checks such as the four-fifths rule run, and the result is `BASELINE_CREATED`).
pub fn assess(current: &Profile, baseline: Option<&Profile>, t: &Thresholds) -> Assessment {
    let mut s = Statistics {
        n_current: current.n,
        n_baseline: baseline.map_or(0, |b| b.n),
        alpha: t.alpha,
        ..Statistics::default()
    };
    let mut family = Family::default();
    let mut candidates = Vec::new();
    if let Some(b) = baseline {
        candidates.extend(drift(b, current, t, &mut s, &mut family));
        candidates.extend(risk(b, current, t, &mut s, &mut family));
        s.features = features::assess(b, current, t, &mut family, &mut candidates);
        s.performance = performance::assess(b, current, t, &mut family, &mut candidates);
    }
    s.bias = bias::assess(current, baseline, t, &mut family, &mut candidates);
    s.tests = family.close(t.alpha);
    let mut findings = decide::decide(&candidates, &s.tests, current.n, t);
    s.above_low = findings
        .iter()
        .filter(|f| f.severity > Severity::Low)
        .map(signal_key)
        .collect();

    let drift_score = s
        .js_label
        .unwrap_or(0.0)
        .max(s.js_confidence.unwrap_or(0.0))
        .clamp(0.0, 1.0);
    let bias_score = s
        .bias
        .values()
        .filter_map(|a| a.dpd)
        .fold(0.0, f64::max)
        .clamp(0.0, 1.0);
    let risk_score = risk_score(s.avg_confidence_change, s.outcome_rate_change, t);
    sort_findings(&mut findings);
    let audit_result = result_of(&findings, baseline.is_some());
    Assessment {
        statistics: s,
        drift_score,
        bias_score,
        risk_score,
        findings,
        audit_result,
    }
}

/// Most severe first, then by metric.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.metric_name.cmp(&b.metric_name))
    });
}

/// The audit result of a passive audit's findings (DESIGN.md §3).
pub fn result_of(findings: &[Finding], has_baseline: bool) -> AuditResult {
    if !has_baseline {
        return AuditResult::BaselineCreated;
    }
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::High | Severity::Critical) => AuditResult::AuditFail,
        Some(Severity::Medium) => AuditResult::AuditWarn,
        _ => AuditResult::AuditPass,
    }
}

/// `risk_score = 100 · (1 − (1 − a)(1 − b))` with `a = min(1, |Δ avg_confidence| / critical)`
/// and `b = min(1, |Δ outcome_rate| / critical)`, the CRITICAL thresholds of the two rules:
/// 0 for identical profiles, monotone in each deviation, 100 once either reaches CRITICAL.
pub fn risk_score(
    confidence_change: Option<f64>,
    outcome_change: Option<f64>,
    t: &Thresholds,
) -> f64 {
    let part = |d: Option<f64>, crit: f64| match d {
        Some(d) if d.is_finite() && crit > 0.0 => (d.abs() / crit).min(1.0),
        Some(d) if d.is_finite() && d != 0.0 => 1.0,
        _ => 0.0,
    };
    let a = part(confidence_change, t.avg_confidence_change.critical);
    let b = part(outcome_change, t.outcome_rate_change.critical);
    100.0 * (1.0 - (1.0 - a) * (1.0 - b))
}
