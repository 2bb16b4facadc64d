//! The named statistics a compliance rule can bound, and how an audit's results turn into them.
//! A name absent from [`Facts`] makes the rule "not evaluated", never a pass.

use audit_baseline::Statistics;
use audit_domain::{INTERSECTION_JOINER, ProfileMetrics};
use audit_metrics::text::PII_KINDS;
use std::collections::{BTreeMap, BTreeSet};

/// Names with a fixed spelling: (name, meaning).
pub const METRICS: &[(&str, &str)] = &[
    ("n", "valid rows in the window"),
    ("avg_confidence", "mean confidence"),
    ("confidence_variance", "population variance of confidence"),
    ("outcome_rate", "positive outcomes / rows with an outcome"),
    ("accuracy", "share of predictions equal to ground truth"),
    ("f1", "F1 of the positive class, with ground truth"),
    (
        "macro_f1",
        "mean F1 of the positive and negative classes, with ground truth",
    ),
    (
        "ece",
        "expected calibration error of the confidences, with ground truth",
    ),
    (
        "accuracy_change",
        "current − baseline accuracy, with ground truth in both",
    ),
    (
        "estimated_accuracy",
        "accuracy estimated from the confidence histogram and the baseline's accuracy per confidence bin",
    ),
    (
        "estimated_accuracy_change",
        "estimated accuracy − baseline accuracy",
    ),
    ("invalid_rows", "rows excluded as invalid"),
    ("invalid_row_ratio", "invalid rows / rows read"),
    ("refusal_rate", "LLM logs: share of responses that refuse"),
    (
        "pii_leak_rate.max",
        "LLM logs: largest share of responses holding one kind of personal data (email, phone, card_number, national_id)",
    ),
    (
        "pii_leak_rate.contact",
        "LLM logs: larger of pii_leak_rate.email and pii_leak_rate.phone",
    ),
    (
        "protected_attributes",
        "number of protected attributes in the evidence",
    ),
    (
        "dir.min",
        "lowest disparate-impact ratio over the attributes",
    ),
    (
        "dpd.max",
        "largest demographic parity difference over the attributes",
    ),
    (
        "drift_score",
        "max(JS distance of labels, of confidence); needs a baseline",
    ),
    ("bias_score", "max DPD over attributes"),
    (
        "risk_score",
        "0-100 from confidence and outcome deviations; needs a baseline",
    ),
    ("psi_label", "PSI of the label distribution vs baseline"),
    (
        "js_label",
        "JS distance of the label distribution vs baseline",
    ),
    (
        "chi2_p_label",
        "p-value of the two-sample test of the labels vs baseline",
    ),
    (
        "psi_confidence",
        "PSI of the confidence histogram vs baseline",
    ),
    (
        "js_confidence",
        "JS distance of the confidence histogram vs baseline",
    ),
    (
        "chi2_p_confidence",
        "p-value of the two-sample test of the confidence histogram vs baseline",
    ),
    ("avg_confidence_change", "current − baseline avg_confidence"),
    ("outcome_rate_change", "current − baseline outcome_rate"),
    ("refusal_rate_change", "current − baseline refusal_rate"),
    (
        "days_since_last_audit",
        "days from the previous usable audit of the model to this one",
    ),
    (
        "audit_interval_ratio",
        "days_since_last_audit / days in the policy's frequency (1, 7, 30)",
    ),
    (
        "baseline_approved",
        "1 when a person ever approved a baseline of the model, else 0",
    ),
    (
        "days_since_baseline_approval",
        "days since the baseline in use was approved",
    ),
    (
        "unreadable_source_runs",
        "consecutive latest runs (this one included) with an unreadable evidence source",
    ),
    (
        "days_since_evidence",
        "days since the end of the window of the latest run that read valid rows",
    ),
];

/// Prefixes followed by a name: (prefix, meaning).
pub const FAMILIES: &[(&str, &str)] = &[
    (
        "dir.",
        "disparate-impact ratio of an attribute, e.g. dir.gender",
    ),
    (
        "dpd.",
        "demographic parity difference of an attribute, e.g. dpd.gender",
    ),
    (
        "eod.",
        "equal-opportunity difference of an attribute (needs ground truth)",
    ),
    (
        "pii_leak_rate.",
        "LLM logs: share of responses holding a PII kind: email, phone, card_number, national_id, secret",
    ),
];

/// Whether `name` is a statistic rules may bound.
pub fn is_known(name: &str) -> bool {
    if METRICS.iter().any(|(m, _)| *m == name) {
        return true;
    }
    if let Some(kind) = name.strip_prefix("pii_leak_rate.") {
        return PII_KINDS.contains(&kind);
    }
    ["dir.", "dpd.", "eod."].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|a| !a.is_empty() && a.len() <= 100)
    })
}

/// The known names in one line, for error messages.
pub fn known_list() -> String {
    let mut names: Vec<String> = METRICS.iter().map(|(m, _)| (*m).to_owned()).collect();
    names.extend(
        PII_KINDS
            .iter()
            .map(|k| format!("pii_leak_rate.{k}"))
            .collect::<Vec<_>>(),
    );
    names.extend(["dir.<attribute>", "dpd.<attribute>", "eod.<attribute>"].map(String::from));
    names.join(", ")
}

/// What the run history says, gathered by the scheduler. `None`: not applicable (no previous
/// audit, no approval yet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessFacts {
    pub days_since_last_audit: Option<f64>,
    /// Days in one period of the policy's frequency.
    pub frequency_days: Option<f64>,
    pub baseline_approved: bool,
    pub days_since_baseline_approval: Option<f64>,
    pub unreadable_source_runs: u32,
    pub days_since_evidence: Option<f64>,
}

/// The comparison with the baseline; `None` fields of the audit are simply absent.
#[derive(Debug, Clone, Copy)]
pub struct Comparison<'a> {
    pub statistics: &'a Statistics,
    pub drift_score: f64,
    pub bias_score: f64,
    pub risk_score: f64,
    /// drift and risk scores only mean something against a baseline.
    pub has_baseline: bool,
}

/// Every named value of one audit, and the protected attributes its evidence carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub values: BTreeMap<String, f64>,
    /// `None` when there was no usable evidence.
    pub attributes: Option<BTreeSet<String>>,
}

impl Facts {
    pub fn value(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    /// Facts of an audit: the profile's metrics and the comparison when the evidence was
    /// usable, and the process facts always.
    pub fn of_audit(
        metrics: Option<&ProfileMetrics>,
        comparison: Option<Comparison<'_>>,
        process: &ProcessFacts,
    ) -> Facts {
        let mut f = Facts::default();
        let mut put = |k: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                f.values.insert(k.to_owned(), v);
            }
        };
        if let Some(m) = metrics {
            put("n", Some(m.n as f64));
            put("avg_confidence", m.avg_confidence);
            put("confidence_variance", m.confidence_variance);
            put("outcome_rate", m.outcome_rate);
            put("accuracy", m.accuracy);
            put("invalid_rows", Some(m.invalid_rows as f64));
            put("invalid_row_ratio", Some(m.invalid_row_ratio));
            put("refusal_rate", m.refusal_rate);
            put(
                "protected_attributes",
                Some(
                    m.protected_group_outcomes
                        .keys()
                        .filter(|k| !k.contains(INTERSECTION_JOINER))
                        .count() as f64,
                ),
            );
            if let Some(p) = &m.performance {
                put("f1", p.f1);
                put("macro_f1", p.macro_f1);
                put("ece", p.ece);
            }
            // Text was analysed when there is a refusal rate; kinds never seen are then 0.
            if m.refusal_rate.is_some() {
                let rate = |k: &str| m.pii_leak_rate.get(k).copied().unwrap_or(0.0);
                for k in PII_KINDS {
                    put(&format!("pii_leak_rate.{k}"), Some(rate(k)));
                }
                let personal = ["email", "phone", "card_number", "national_id"];
                put(
                    "pii_leak_rate.max",
                    Some(personal.iter().map(|k| rate(k)).fold(0.0, f64::max)),
                );
                put(
                    "pii_leak_rate.contact",
                    Some(rate("email").max(rate("phone"))),
                );
            }
        }
        if let Some(c) = comparison {
            let s = c.statistics;
            put("bias_score", Some(c.bias_score));
            if c.has_baseline {
                put("drift_score", Some(c.drift_score));
                put("risk_score", Some(c.risk_score));
            }
            put("psi_label", s.psi_label);
            put("js_label", s.js_label);
            put("chi2_p_label", s.chi2_p_label);
            put("psi_confidence", s.psi_confidence);
            put("js_confidence", s.js_confidence);
            put("chi2_p_confidence", s.chi2_p_confidence);
            put("avg_confidence_change", s.avg_confidence_change);
            put("outcome_rate_change", s.outcome_rate_change);
            put("refusal_rate_change", s.refusal_rate_change);
            if let Some(p) = &s.performance {
                put("accuracy_change", p.accuracy_change);
                put("estimated_accuracy", p.estimated_accuracy);
                put("estimated_accuracy_change", p.estimated_accuracy_change);
            }
            for (attr, b) in &s.bias {
                put(&format!("dir.{attr}"), b.dir);
                put(&format!("dpd.{attr}"), b.dpd);
                put(&format!("eod.{attr}"), b.eod);
            }
            let dirs: Vec<f64> = s.bias.values().filter_map(|b| b.dir).collect();
            put("dir.min", dirs.iter().copied().reduce(f64::min));
            let dpds: Vec<f64> = s.bias.values().filter_map(|b| b.dpd).collect();
            put("dpd.max", dpds.iter().copied().reduce(f64::max));
        }
        put("days_since_last_audit", process.days_since_last_audit);
        if let (Some(d), Some(period)) = (process.days_since_last_audit, process.frequency_days)
            && period > 0.0
        {
            put("audit_interval_ratio", Some(d / period));
        }
        put(
            "baseline_approved",
            Some(if process.baseline_approved { 1.0 } else { 0.0 }),
        );
        put(
            "days_since_baseline_approval",
            process.days_since_baseline_approval,
        );
        put(
            "unreadable_source_runs",
            Some(f64::from(process.unreadable_source_runs)),
        );
        put("days_since_evidence", process.days_since_evidence);
        // Intersections (`gender×age_band`) are combinations of protected attributes, not more.
        f.attributes = metrics.map(|m| {
            m.protected_group_outcomes
                .keys()
                .filter(|k| !k.contains(INTERSECTION_JOINER))
                .cloned()
                .collect()
        });
        f
    }
}
