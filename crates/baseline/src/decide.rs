//! From statistics to severities: every rule whose effect size is in a band becomes a
//! *candidate*; it keeps its band only when the test behind it rejects its null hypothesis
//! after Holm's correction over the whole family of tests of the audit. Otherwise it is LOW and
//! says why. docs/metrics.md ("Decisions") is the prose of this module.

use crate::hypothesis;
use audit_domain::{Finding, FindingCategory, Severity, Thresholds, deviation_percentage};
use serde::{Deserialize, Serialize};

/// One hypothesis test of an audit's family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// What is tested: `drift.label`, `risk.outcome_rate`, `bias.disparate_impact.gender`, …
    pub id: String,
    /// The null hypothesis, in words.
    pub null_hypothesis: String,
    /// `chi-square`, `fisher-exact`, `welch-t`, `log-ratio-z`, `gap-increase-z` or
    /// `estimate-drop-z`.
    pub method: String,
    pub statistic: Option<f64>,
    pub p_value: f64,
    /// The Holm-adjusted p-value within the audit's family.
    pub adjusted_p: f64,
    /// `adjusted_p ≤ alpha`: the null hypothesis is rejected.
    pub significant: bool,
}

/// The family of tests of one audit, filled while the statistics are computed.
#[derive(Debug, Default)]
pub struct Family {
    tests: Vec<TestResult>,
}

/// A test's place in the family.
pub type TestId = usize;

impl Family {
    pub fn add(
        &mut self,
        id: String,
        null_hypothesis: String,
        method: &str,
        statistic: Option<f64>,
        p_value: f64,
    ) -> TestId {
        let p = if p_value.is_nan() { 1.0 } else { p_value };
        self.tests.push(TestResult {
            id,
            null_hypothesis,
            method: method.to_owned(),
            statistic,
            p_value: p.clamp(0.0, 1.0),
            adjusted_p: 1.0,
            significant: false,
        });
        self.tests.len() - 1
    }

    /// Applies Holm's correction at `alpha` to every test of the family.
    pub fn close(mut self, alpha: f64) -> Vec<TestResult> {
        let p: Vec<f64> = self.tests.iter().map(|t| t.p_value).collect();
        for (t, adj) in self.tests.iter_mut().zip(hypothesis::holm(&p)) {
            t.adjusted_p = adj;
            t.significant = adj <= alpha;
        }
        self.tests
    }
}

/// A stricter claim a band needs besides its rule's own test (the four-fifths rule's CRITICAL
/// band asks for a ratio significantly below `dir.critical`, not only below the line); it is a
/// member of the family in its own right.
#[derive(Debug, Clone)]
pub struct Nested {
    pub test: TestId,
    /// What the rule falls back to when the nested claim is not supported.
    pub fallback: Severity,
    /// Says why, e.g. "not significantly below 0.60".
    pub why_not: String,
}

/// A finding whose effect size is in a band, waiting for its test.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub category: FindingCategory,
    pub rule_id: String,
    pub metric_name: String,
    /// The band of the effect size (MEDIUM or worse).
    pub band: Severity,
    pub test: Option<TestId>,
    pub nested: Option<Nested>,
    pub baseline_value: Option<f64>,
    pub current_value: f64,
    pub description: String,
}

/// `rule_id|metric_name`: how a rule is recognised from window to window.
pub fn signal_key(f: &Finding) -> String {
    format!(
        "{}|{}",
        f.rule_id.as_deref().unwrap_or_default(),
        f.metric_name
    )
}

fn finding(c: &Candidate, severity: Severity, why: Option<String>) -> Finding {
    let description = match why {
        Some(why) => format!("{} ({why})", c.description),
        None => c.description.clone(),
    };
    Finding {
        category: c.category,
        rule_id: Some(c.rule_id.clone()),
        severity,
        metric_name: c.metric_name.clone(),
        baseline_value: c.baseline_value,
        current_value: Some(c.current_value),
        deviation_percentage: c
            .baseline_value
            .and_then(|b| deviation_percentage(b, c.current_value)),
        description,
    }
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// Decides each candidate against the closed family; `n` is the current window's row count.
pub fn decide(
    candidates: &[Candidate],
    family: &[TestResult],
    n: u64,
    t: &Thresholds,
) -> Vec<Finding> {
    let m = family.len();
    candidates
        .iter()
        .map(|c| {
            if n < t.min_samples {
                let why = format!(
                    "not significant at n = {n}: fewer than {} current rows, so at most LOW",
                    t.min_samples
                );
                return finding(c, Severity::Low, Some(why));
            }
            let Some(test) = c.test.and_then(|i| family.get(i)) else {
                let why = format!("not significant at n = {n}: no test applies, so at most LOW");
                return finding(c, Severity::Low, Some(why));
            };
            if !test.significant {
                let why = format!(
                    "not significant at n = {n}: {} p = {}, {} after Holm's correction over the audit's {m} tests, above α = {}, so at most LOW",
                    test.method,
                    p_text(test.p_value),
                    p_text(test.adjusted_p),
                    t.alpha
                );
                return finding(c, Severity::Low, Some(why));
            }
            match c.nested.as_ref().and_then(|n| family.get(n.test).map(|t| (n, t))) {
                Some((_, strict)) if strict.significant => finding(c, c.band, None),
                Some((nested, strict)) => {
                    let why = format!(
                        "{}: p = {}, {} after Holm's correction, so {}",
                        nested.why_not,
                        p_text(strict.p_value),
                        p_text(strict.adjusted_p),
                        nested.fallback
                    );
                    finding(c, nested.fallback, Some(why))
                }
                None => finding(c, c.band, None),
            }
        })
        .collect()
}

/// Caps at LOW every statistical finding (drift, bias, risk) above LOW whose rule was not also
/// above LOW in each of the previous `k − 1` windows. `history` holds, most recent first, the
/// signal keys ([`signal_key`]) that were above LOW before this cap in earlier windows.
/// Compliance and security findings are not statistical and are left alone.
pub fn persist(findings: &mut [Finding], history: &[Vec<String>], k: u32) {
    if k <= 1 {
        return;
    }
    let need = (k - 1) as usize;
    let statistical = |f: &Finding| {
        matches!(
            f.category,
            FindingCategory::Drift | FindingCategory::Bias | FindingCategory::Risk
        )
    };
    for f in findings
        .iter_mut()
        .filter(|f| f.severity > Severity::Low && statistical(f))
    {
        let key = signal_key(f);
        let run = history
            .iter()
            .take(need)
            .take_while(|h| h.contains(&key))
            .count();
        if run < need {
            f.description = format!(
                "{} (above LOW in {} consecutive window{}; the policy asks for {k} before it reports {}, so LOW)",
                f.description,
                run + 1,
                if run == 0 { "" } else { "s" },
                f.severity
            );
            f.severity = Severity::Low;
        }
    }
}

/// A number as the description prints it, with as many decimals (from `decimals`, at most 10)
/// as it takes not to print the same as one of the band `edges` it is not on, so that "0.80×
/// … below the line 0.80" cannot be printed.
pub fn beside(value: f64, edges: &[f64], decimals: usize) -> String {
    let clash = |d: usize| {
        edges.iter().any(|e| {
            (value - e).abs() > audit_domain::EDGE_TOLERANCE
                && format!("{value:.d$}") == format!("{e:.d$}")
        })
    };
    // The edge tolerance is 1e-9, so 10 decimals always tell a value from an edge it is not on.
    let mut d = decimals;
    while d < 10 && clash(d) {
        d += 1;
    }
    format!("{value:.d$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_near_an_edge_are_printed_apart_from_it() {
        assert_eq!(beside(0.7999, &[0.8, 0.6], 2), "0.7999");
        assert_eq!(beside(0.8, &[0.8, 0.6], 2), "0.80");
        assert_eq!(beside(0.5, &[0.8, 0.6], 2), "0.50");
        assert_eq!(beside(0.0999, &[0.05, 0.1, 0.2], 3), "0.0999");
        assert_eq!(beside(0.1 - 1e-12, &[0.05, 0.1, 0.2], 3), "0.100");
    }

    fn high(rule: &str) -> Finding {
        Finding {
            category: FindingCategory::Drift,
            rule_id: Some(rule.into()),
            severity: Severity::High,
            metric_name: "psi_label".into(),
            baseline_value: Some(0.0),
            current_value: Some(0.3),
            deviation_percentage: None,
            description: "Label distribution drifted".into(),
        }
    }

    #[test]
    fn persistence_waits_for_consecutive_windows() {
        let key = signal_key(&high("drift.psi_label"));
        let mut f = vec![high("drift.psi_label")];
        persist(&mut f, &[vec![key.clone()]], 3);
        assert_eq!(f[0].severity, Severity::Low);
        assert!(
            f[0].description
                .contains("above LOW in 2 consecutive windows")
        );
        let mut f = vec![high("drift.psi_label")];
        persist(&mut f, &[vec![key.clone()], vec![key.clone()]], 3);
        assert_eq!(f[0].severity, Severity::High);
        // A gap breaks the run.
        let mut f = vec![high("drift.psi_label")];
        persist(&mut f, &[vec![key.clone()], vec![], vec![key]], 3);
        assert_eq!(f[0].severity, Severity::Low);
        let mut f = vec![high("drift.psi_label")];
        persist(&mut f, &[], 1);
        assert_eq!(f[0].severity, Severity::High);
    }
}
