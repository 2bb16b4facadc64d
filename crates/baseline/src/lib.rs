//! Baseline comparison: a current [`Profile`] judged against an approved baseline profile.
//!
//! Computes the statistics of DESIGN.md §3 (PSI, Jensen–Shannon distance and chi-square on
//! the label distribution and the confidence histogram; demographic parity difference,
//! disparate-impact ratio and equal-opportunity difference per protected attribute;
//! confidence and outcome deviations), the three scores, the findings with their severities
//! and the `audit_result`. Findings on small samples or on differences that are not
//! statistically significant are capped at LOW and say why.

pub mod stats;

use audit_domain::{
    AuditResult, Finding, FindingCategory, OTHER_KEY, Profile, Severity, Thresholds,
    deviation_percentage,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Fairness statistics of one protected attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeBias {
    /// Demographic parity difference: max − min selection rate over scored groups.
    pub dpd: Option<f64>,
    /// Disparate-impact ratio: min / max selection rate (1 when max is 0).
    pub dir: Option<f64>,
    /// Equal-opportunity difference: max − min true-positive rate (needs ground truth).
    pub eod: Option<f64>,
    pub baseline_dpd: Option<f64>,
    pub baseline_dir: Option<f64>,
    pub baseline_eod: Option<f64>,
    /// Groups with at least `min_group_size` rows.
    pub groups_scored: Vec<String>,
    /// Groups reported but too small to score.
    pub groups_too_small: Vec<String>,
    /// The groups with the lowest and highest selection rate.
    pub min_group: Option<String>,
    pub max_group: Option<String>,
    /// Two-proportion z-test p-value between those two groups.
    pub p_value: Option<f64>,
}

/// Every statistic of a comparison, named as in the CLI's and API's JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub n_baseline: u64,
    pub n_current: u64,
    pub psi_label: Option<f64>,
    pub js_label: Option<f64>,
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
    /// current − baseline outcome rate, and its two-proportion z-test p-value.
    pub outcome_rate_change: Option<f64>,
    pub outcome_rate_p: Option<f64>,
    /// current − baseline refusal rate (LLM logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_rate_change: Option<f64>,
    pub bias: BTreeMap<String, AttributeBias>,
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
    q_counts: Vec<f64>,
}

fn label_distribution(b: &Profile, c: &Profile) -> Option<Distribution> {
    let (bt, ct) = (b.labels.total(), c.labels.total());
    if bt == 0 || ct == 0 {
        return None;
    }
    let keys: Vec<String> = b
        .labels
        .iter()
        .chain(c.labels.iter())
        .map(|(k, _)| k.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let count = |p: &Profile, k: &str| p.labels.get(k).copied().unwrap_or(0) as f64;
    let bc: Vec<f64> = keys.iter().map(|k| count(b, k)).collect();
    let q_counts: Vec<f64> = keys.iter().map(|k| count(c, k)).collect();
    Some(Distribution {
        p: stats::proportions(&bc),
        q: stats::proportions(&q_counts),
        q_counts,
        keys,
    })
}

fn confidence_distribution(b: &Profile, c: &Profile) -> Option<Distribution> {
    if b.confidence.count == 0 || c.confidence.count == 0 {
        return None;
    }
    let bc: Vec<f64> = b.confidence_histogram.iter().map(|x| *x as f64).collect();
    let q_counts: Vec<f64> = c.confidence_histogram.iter().map(|x| *x as f64).collect();
    let keys = (0..bc.len())
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
        p: stats::proportions(&bc),
        q: stats::proportions(&q_counts),
        q_counts,
        keys,
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
                "'{}' {:.1}% → {:.1}%",
                self.keys[i],
                self.p[i] * 100.0,
                self.q[i] * 100.0
            ),
            None => String::new(),
        }
    }
}

/// Positive rate (and true-positive rate when ground truth is known) of one group.
struct GroupRate {
    name: String,
    rate: f64,
    tpr: Option<f64>,
    positives: u64,
    count: u64,
}

/// Selection rates of the scored groups of one attribute.
fn attribute_rates(p: &Profile, attr: &str, min_group_size: u64) -> (Vec<GroupRate>, Vec<String>) {
    let mut scored = Vec::new();
    let mut small = Vec::new();
    if let Some(groups) = p.groups.get(attr) {
        for (g, s) in groups.iter() {
            if g == OTHER_KEY {
                continue;
            }
            if s.count >= min_group_size && s.count > 0 {
                scored.push(GroupRate {
                    name: g.clone(),
                    rate: s.positives as f64 / s.count as f64,
                    tpr: s.confusion.tpr(),
                    positives: s.positives,
                    count: s.count,
                });
            } else {
                small.push(g.clone());
            }
        }
    }
    (scored, small)
}

struct Gaps {
    dpd: Option<f64>,
    dir: Option<f64>,
    eod: Option<f64>,
    /// (name, positives, count) of the groups with the lowest and highest rate.
    min: Option<(String, u64, u64)>,
    max: Option<(String, u64, u64)>,
}

fn gaps(scored: &[GroupRate]) -> Gaps {
    if scored.len() < 2 {
        return Gaps {
            dpd: None,
            dir: None,
            eod: None,
            min: None,
            max: None,
        };
    }
    let min = scored.iter().min_by(|a, b| a.rate.total_cmp(&b.rate));
    let max = scored.iter().max_by(|a, b| a.rate.total_cmp(&b.rate));
    let (Some(min), Some(max)) = (min, max) else {
        return Gaps {
            dpd: None,
            dir: None,
            eod: None,
            min: None,
            max: None,
        };
    };
    let dir = if max.rate == 0.0 {
        1.0
    } else {
        min.rate / max.rate
    };
    let tprs: Vec<f64> = scored.iter().filter_map(|s| s.tpr).collect();
    let eod = (tprs.len() >= 2 && tprs.len() == scored.len()).then(|| {
        tprs.iter().copied().fold(f64::MIN, f64::max)
            - tprs.iter().copied().fold(f64::MAX, f64::min)
    });
    Gaps {
        dpd: Some(max.rate - min.rate),
        dir: Some(dir),
        eod,
        min: Some((min.name.clone(), min.positives, min.count)),
        max: Some((max.name.clone(), max.positives, max.count)),
    }
}

fn bias_of(
    current: &Profile,
    baseline: Option<&Profile>,
    t: &Thresholds,
) -> BTreeMap<String, AttributeBias> {
    let mut out = BTreeMap::new();
    for attr in current.groups.keys() {
        let (scored, small) = attribute_rates(current, attr, t.min_group_size);
        let g = gaps(&scored);
        let b = baseline.map(|b| gaps(&attribute_rates(b, attr, t.min_group_size).0));
        let p_value = match (&g.min, &g.max) {
            (Some(lo), Some(hi)) => {
                stats::two_proportion_p(lo.1 as f64, lo.2 as f64, hi.1 as f64, hi.2 as f64)
            }
            _ => None,
        };
        out.insert(
            attr.clone(),
            AttributeBias {
                dpd: g.dpd,
                dir: g.dir,
                eod: g.eod,
                baseline_dpd: b.as_ref().and_then(|b| b.dpd),
                baseline_dir: b.as_ref().and_then(|b| b.dir),
                baseline_eod: b.as_ref().and_then(|b| b.eod),
                groups_scored: scored.iter().map(|s| s.name.clone()).collect(),
                groups_too_small: small,
                min_group: g.min.map(|m| m.0),
                max_group: g.max.map(|m| m.0),
                p_value,
            },
        );
    }
    out
}

/// Caps a severity at LOW when the evidence cannot support more, and says why.
fn gate(
    severity: Severity,
    n: u64,
    p_value: Option<f64>,
    t: &Thresholds,
    test: &str,
) -> (Severity, Option<String>) {
    if n < t.min_samples {
        return (
            severity.at_most(Severity::Low),
            Some(format!(
                "not significant at n = {n}: fewer than {} current rows, so at most LOW",
                t.min_samples
            )),
        );
    }
    match p_value {
        Some(p) if p >= t.alpha => (
            severity.at_most(Severity::Low),
            Some(format!(
                "not significant at n = {n}: {test} p = {p:.3} ≥ {}, so at most LOW",
                t.alpha
            )),
        ),
        _ => (severity, None),
    }
}

struct Ctx<'a> {
    t: &'a Thresholds,
    n: u64,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        category: FindingCategory,
        rule_id: &str,
        metric_name: &str,
        raw: Severity,
        p_value: Option<f64>,
        test: &str,
        baseline_value: Option<f64>,
        current_value: f64,
        description: String,
    ) {
        let (severity, why) = gate(raw, self.n, p_value, self.t, test);
        let description = match why {
            Some(why) => format!("{description} ({why})"),
            None => description,
        };
        self.findings.push(Finding {
            category,
            rule_id: Some(rule_id.to_owned()),
            severity,
            metric_name: metric_name.to_owned(),
            baseline_value,
            current_value: Some(current_value),
            deviation_percentage: baseline_value
                .and_then(|b| deviation_percentage(b, current_value)),
            description,
        });
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Judges `current` against `baseline` (or, without one, creates the baseline: only absolute
/// checks such as the four-fifths rule run, and the result is `BASELINE_CREATED`).
pub fn assess(current: &Profile, baseline: Option<&Profile>, t: &Thresholds) -> Assessment {
    let mut s = Statistics {
        n_current: current.n,
        n_baseline: baseline.map_or(0, |b| b.n),
        ..Statistics::default()
    };
    let mut ctx = Ctx {
        t,
        n: current.n,
        findings: Vec::new(),
    };

    if let Some(b) = baseline {
        for (kind, dist) in [
            ("label", label_distribution(b, current)),
            ("confidence", confidence_distribution(b, current)),
        ] {
            let Some(d) = dist else { continue };
            let psi = stats::psi(&d.p, &d.q);
            let js = stats::js_distance(&d.p, &d.q);
            let chi = stats::chi_square(&d.p, &d.q_counts);
            let chi_p = chi.map(|c| c.2);
            if kind == "label" {
                (s.psi_label, s.js_label) = (Some(psi), Some(js));
                (s.chi2_label, s.chi2_df_label, s.chi2_p_label) =
                    (chi.map(|c| c.0), chi.map(|c| c.1), chi_p);
            } else {
                (s.psi_confidence, s.js_confidence) = (Some(psi), Some(js));
                (s.chi2_confidence, s.chi2_df_confidence, s.chi2_p_confidence) =
                    (chi.map(|c| c.0), chi.map(|c| c.1), chi_p);
            }
            let what = if kind == "label" {
                "Label distribution"
            } else {
                "Confidence distribution"
            };
            for (stat, value, bands, name) in
                [("psi", psi, t.psi, "PSI"), ("js", js, t.js, "JS distance")]
            {
                if let Some(sev) = bands.classify(value) {
                    let metric = format!("{stat}_{kind}");
                    ctx.push(
                        FindingCategory::Drift,
                        &format!("drift.{metric}"),
                        &metric,
                        sev,
                        chi_p,
                        "chi-square",
                        Some(0.0),
                        value,
                        format!(
                            "{what} drifted from the baseline: {name} {value:.3}; largest shift {}",
                            d.largest_shift()
                        ),
                    );
                }
            }
        }

        if let (Some(bm), Some(cm)) = (b.confidence.mean(), current.confidence.mean()) {
            let change = cm - bm;
            s.avg_confidence_change = Some(change);
            s.avg_confidence_p = stats::welch_p(
                b.confidence.count as f64,
                bm,
                b.confidence.sample_variance().unwrap_or(0.0),
                current.confidence.count as f64,
                cm,
                current.confidence.sample_variance().unwrap_or(0.0),
            );
            if let Some(sev) = t.avg_confidence_change.classify(change.abs()) {
                ctx.push(
                    FindingCategory::Risk,
                    "risk.avg_confidence_change",
                    "avg_confidence",
                    sev,
                    s.avg_confidence_p,
                    "Welch t-test",
                    Some(bm),
                    cm,
                    format!("Average confidence moved from {bm:.3} to {cm:.3} ({change:+.3})"),
                );
            }
        }
        if let (Some(br), Some(cr)) = (b.outcome_rate(), current.outcome_rate()) {
            let change = cr - br;
            s.outcome_rate_change = Some(change);
            s.outcome_rate_p = stats::two_proportion_p(
                b.positives as f64,
                b.outcome_count as f64,
                current.positives as f64,
                current.outcome_count as f64,
            );
            if let Some(sev) = t.outcome_rate_change.classify(change.abs()) {
                ctx.push(
                    FindingCategory::Risk,
                    "risk.outcome_rate_change",
                    "outcome_rate",
                    sev,
                    s.outcome_rate_p,
                    "two-proportion z-test",
                    Some(br),
                    cr,
                    format!(
                        "Positive outcome rate moved from {} to {} ({:+.1} points)",
                        pct(br),
                        pct(cr),
                        change * 100.0
                    ),
                );
            }
        }
        if let (Some(bt), Some(ct)) = (&b.text, &current.text)
            && let (Some(br), Some(cr)) = (bt.refusal_rate(), ct.refusal_rate())
        {
            s.refusal_rate_change = Some(cr - br);
        }
    }

    s.bias = bias_of(current, baseline, t);
    for (attr, a) in &s.bias {
        let (Some(dir), Some(lo), Some(hi)) = (a.dir, &a.min_group, &a.max_group) else {
            continue;
        };
        let rate = |g: &str| {
            current
                .groups
                .get(attr)
                .and_then(|m| m.get(g))
                .and_then(|s| s.positive_rate())
                .unwrap_or(0.0)
        };
        if let Some(sev) = t.dir.classify(dir) {
            ctx.push(
                FindingCategory::Bias,
                "bias.disparate_impact",
                &format!("dir.{attr}"),
                sev,
                a.p_value,
                "two-proportion z-test",
                a.baseline_dir,
                dir,
                format!(
                    "Disparate impact on {attr}: selection rate of '{lo}' ({}) is {dir:.2}× that of '{hi}' ({}), below the four-fifths line {:.2}",
                    pct(rate(lo)),
                    pct(rate(hi)),
                    t.dir.high
                ),
            );
        }
        if let (Some(dpd), Some(bdpd)) = (a.dpd, a.baseline_dpd) {
            let increase = dpd - bdpd;
            if let Some(sev) = t.dpd_increase.classify(increase) {
                ctx.push(
                    FindingCategory::Bias,
                    "bias.dpd_increase",
                    &format!("dpd.{attr}"),
                    sev,
                    a.p_value,
                    "two-proportion z-test",
                    Some(bdpd),
                    dpd,
                    format!(
                        "Selection-rate gap on {attr} grew from {:.3} to {dpd:.3} (+{increase:.3}); now '{hi}' {} vs '{lo}' {}",
                        bdpd,
                        pct(rate(hi)),
                        pct(rate(lo))
                    ),
                );
            }
        }
    }

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
    let mut findings = ctx.findings;
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.metric_name.cmp(&b.metric_name))
    });
    let audit_result = if baseline.is_none() {
        AuditResult::BaselineCreated
    } else {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::High | Severity::Critical) => AuditResult::AuditFail,
            Some(Severity::Medium) => AuditResult::AuditWarn,
            _ => AuditResult::AuditPass,
        }
    };
    Assessment {
        statistics: s,
        drift_score,
        bias_score,
        risk_score,
        findings,
        audit_result,
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
