//! Inference summaries: the aggregate JSON an `api` evidence source returns, turned into a
//! [`Profile`]. The format is documented in `docs/evidence-sources.md`.

use audit_domain::{CONFIDENCE_BINS, GroupStats, InvalidReason, Mergeable, Moments, Profile};
use serde::Deserialize;
use std::collections::BTreeMap;

/// An inference summary as served by a model's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceSummary {
    /// Valid predictions summarised.
    pub rows: u64,
    /// Prediction label → count (must add up to `rows`).
    pub label_counts: BTreeMap<String, u64>,
    /// Confidence moments over rows with a confidence.
    #[serde(default)]
    pub confidence: Option<ConfidenceSummary>,
    /// Ten counts of equal-width confidence bins on [0, 1].
    #[serde(default)]
    pub confidence_histogram: Option<Vec<u64>>,
    #[serde(default)]
    pub outcomes: Option<OutcomeSummary>,
    /// Protected attribute → group → counts.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeMap<String, GroupSummary>>,
    /// Rows the producer skipped, by reason (`parse_error`, `missing_field`, …).
    #[serde(default)]
    pub invalid_rows: BTreeMap<InvalidReason, u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidenceSummary {
    pub count: u64,
    pub mean: f64,
    /// Population variance (÷ N).
    pub variance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSummary {
    /// Rows with a known outcome, and how many were positive.
    pub count: u64,
    pub positives: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSummary {
    pub count: u64,
    pub positives: u64,
    #[serde(default)]
    pub avg_confidence: Option<f64>,
}

/// Why a summary was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid inference summary: {0}")]
pub struct SummaryError(pub String);

fn bad(msg: impl Into<String>) -> SummaryError {
    SummaryError(msg.into())
}

impl InferenceSummary {
    /// Parses and checks a summary's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<InferenceSummary, SummaryError> {
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))
    }

    /// The profile this summary describes, after checking that its counts agree.
    pub fn to_profile(&self) -> Result<Profile, SummaryError> {
        let mut p = Profile::new();
        p.n = self.rows;
        let labelled: u64 = self.label_counts.values().sum();
        if labelled != self.rows {
            return Err(bad(format!(
                "label_counts add up to {labelled}, not rows = {}",
                self.rows
            )));
        }
        for (k, v) in &self.label_counts {
            *p.labels.entry(k) += v;
        }
        if let Some(c) = &self.confidence {
            if c.count > self.rows {
                return Err(bad("confidence.count exceeds rows"));
            }
            if !((0.0..=1.0).contains(&c.mean) && (0.0..=0.25).contains(&c.variance)) {
                return Err(bad(
                    "confidence.mean must be in [0, 1] and confidence.variance in [0, 0.25]",
                ));
            }
            p.confidence = Moments {
                count: c.count,
                mean: c.mean,
                m2: c.variance * c.count as f64,
            };
        }
        if let Some(h) = &self.confidence_histogram {
            if h.len() != CONFIDENCE_BINS {
                return Err(bad(format!(
                    "confidence_histogram needs {CONFIDENCE_BINS} bins, got {}",
                    h.len()
                )));
            }
            let total: u64 = h.iter().sum();
            if total != p.confidence.count {
                return Err(bad(format!(
                    "confidence_histogram adds up to {total}, not confidence.count = {}",
                    p.confidence.count
                )));
            }
            p.confidence_histogram.copy_from_slice(h);
        } else if p.confidence.count > 0 {
            return Err(bad("confidence without confidence_histogram"));
        }
        if let Some(o) = &self.outcomes {
            if o.positives > o.count || o.count > self.rows {
                return Err(bad("outcomes: need positives ≤ count ≤ rows"));
            }
            p.outcome_count = o.count;
            p.positives = o.positives;
        }
        for (attr, groups) in &self.groups {
            let slot = p.groups.entry(attr.clone()).or_default();
            let mut sum = 0;
            for (g, s) in groups {
                if s.positives > s.count {
                    return Err(bad(format!("groups.{attr}.{g}: positives > count")));
                }
                sum += s.count;
                let stats = slot.entry(g);
                stats.merge_from(&GroupStats {
                    count: s.count,
                    positives: s.positives,
                    confidence_count: if s.avg_confidence.is_some() {
                        s.count
                    } else {
                        0
                    },
                    confidence_sum: s.avg_confidence.map_or(0.0, |a| a * s.count as f64),
                    ..GroupStats::default()
                });
            }
            if sum > self.rows {
                return Err(bad(format!("groups.{attr} count more rows than rows")));
            }
        }
        for (r, n) in &self.invalid_rows {
            *p.invalid.entry(*r).or_default() += n;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "rows": 100,
        "label_counts": {"approve": 60, "deny": 40},
        "confidence": {"count": 100, "mean": 0.7, "variance": 0.02},
        "confidence_histogram": [0, 0, 0, 0, 0, 10, 20, 30, 30, 10],
        "outcomes": {"count": 100, "positives": 60},
        "groups": {"gender": {"f": {"count": 50, "positives": 25}, "m": {"count": 50, "positives": 35}}},
        "invalid_rows": {"parse_error": 2}
    }"#;

    #[test]
    fn a_consistent_summary_becomes_a_profile() {
        let p = InferenceSummary::from_json(GOOD.as_bytes())
            .and_then(|s| s.to_profile())
            .expect("valid");
        assert_eq!(p.n, 100);
        assert_eq!(p.metrics().outcome_rate, Some(0.6));
        assert!((p.metrics().confidence_variance.expect("var") - 0.02).abs() < 1e-12);
        assert_eq!(p.invalid_rows(), 2);
        let m = p.metrics();
        assert_eq!(
            m.protected_group_outcomes["gender"]["m"].positive_rate,
            Some(0.7)
        );
    }

    #[test]
    fn inconsistent_summaries_are_refused() {
        for (from, to) in [
            (r#""rows": 100"#, r#""rows": 99"#),
            ("10, 20, 30, 30, 10]", "10, 20, 30, 30]"),
            (r#""positives": 60}"#, r#""positives": 160}"#),
            (r#""mean": 0.7"#, r#""mean": 1.7"#),
            (r#""rows": 100,"#, r#""rows": 100, "extra": 1,"#),
        ] {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD);
            let r = InferenceSummary::from_json(text.as_bytes()).and_then(|s| s.to_profile());
            assert!(r.is_err(), "accepted: {text}");
        }
    }
}
