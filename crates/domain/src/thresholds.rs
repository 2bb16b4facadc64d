use crate::Severity;
use serde::{Deserialize, Serialize};

/// Values within this distance of a band edge count as on the edge, so a statistic that is
/// exactly a documented edge in decimal (an outcome rate moving 57.5 % → 47.5 % is a change
/// of 0.09999999999999998 in binary) falls where the documentation says.
pub const EDGE_TOLERANCE: f64 = 1e-9;

/// MEDIUM / HIGH / CRITICAL lower bounds for a statistic where bigger is worse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Bands {
    pub const fn new(medium: f64, high: f64, critical: f64) -> Self {
        Bands {
            medium,
            high,
            critical,
        }
    }

    /// The severity `value` reaches, if any (`value ≥ bound`, within [`EDGE_TOLERANCE`]).
    pub fn classify(&self, value: f64) -> Option<Severity> {
        if !value.is_finite() {
            return None;
        }
        let at_least = |edge: f64| value >= edge - EDGE_TOLERANCE;
        if at_least(self.critical) {
            Some(Severity::Critical)
        } else if at_least(self.high) {
            Some(Severity::High)
        } else if at_least(self.medium) {
            Some(Severity::Medium)
        } else {
            None
        }
    }

    fn check(&self, name: &str) -> Result<(), ThresholdsError> {
        let ok = [self.medium, self.high, self.critical]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
            && self.medium <= self.high
            && self.high <= self.critical;
        if ok {
            Ok(())
        } else {
            Err(ThresholdsError(format!(
                "{name}: need 0 ≤ medium ≤ high ≤ critical"
            )))
        }
    }
}

/// Upper bounds for the disparate-impact ratio (smaller is worse): four-fifths rule by default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DirBands {
    pub high: f64,
    pub critical: f64,
}

impl DirBands {
    /// The severity a ratio reaches (`dir < bound`, by more than [`EDGE_TOLERANCE`]): a ratio of
    /// exactly 4/5 is on the line, not below it.
    pub fn classify(&self, dir: f64) -> Option<Severity> {
        let below = |edge: f64| dir < edge - EDGE_TOLERANCE;
        if !dir.is_finite() {
            None
        } else if below(self.critical) {
            Some(Severity::Critical)
        } else if below(self.high) {
            Some(Severity::High)
        } else {
            None
        }
    }
}

/// Every threshold of DESIGN.md §3, each overridable (TOML / JSON with any subset of keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub psi: Bands,
    pub js: Bands,
    pub dir: DirBands,
    pub dpd_increase: Bands,
    /// Increase of the equal-opportunity difference (true-positive-rate gap) over the baseline.
    pub eod_increase: Bands,
    pub avg_confidence_change: Bands,
    pub outcome_rate_change: Bands,
    /// Drop of the accuracy below the baseline's, with ground truth in the window (absolute).
    pub accuracy_drop: Bands,
    /// Drop of the estimated accuracy of a window without ground truth below the baseline's
    /// accuracy (absolute; the estimate uses the baseline's accuracy per confidence bin).
    pub estimated_accuracy_drop: Bands,
    /// Below this many current rows, findings are at most LOW.
    pub min_samples: u64,
    /// Groups smaller than this are reported but not scored.
    pub min_group_size: u64,
    /// Family-wise significance level: the probability that an audit of unchanged evidence
    /// raises any finding above LOW is at most this, whatever the number of tests (Holm).
    pub alpha: f64,
    /// A finding rises above LOW only when its rule was above LOW in this many consecutive
    /// windows, this one included (1: at once). Applied by the service, which keeps the
    /// history; the command line judges one window and ignores it.
    pub persistence_windows: u32,
    /// Largest share of invalid rows that still gives a usable (`PARTIAL`) audit.
    pub max_invalid_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            psi: Bands::new(0.10, 0.25, 0.50),
            js: Bands::new(0.10, 0.20, 0.35),
            dir: DirBands {
                high: 0.80,
                critical: 0.60,
            },
            dpd_increase: Bands::new(0.05, 0.10, 0.20),
            eod_increase: Bands::new(0.05, 0.10, 0.20),
            avg_confidence_change: Bands::new(0.05, 0.15, 0.30),
            outcome_rate_change: Bands::new(0.05, 0.10, 0.20),
            accuracy_drop: Bands::new(0.05, 0.10, 0.20),
            estimated_accuracy_drop: Bands::new(0.05, 0.10, 0.20),
            min_samples: 100,
            min_group_size: 30,
            alpha: 0.005,
            persistence_windows: 1,
            max_invalid_ratio: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("thresholds: {0}")]
pub struct ThresholdsError(pub String);

impl Thresholds {
    pub fn validate(&self) -> Result<(), ThresholdsError> {
        self.psi.check("psi")?;
        self.js.check("js")?;
        self.dpd_increase.check("dpd_increase")?;
        self.eod_increase.check("eod_increase")?;
        self.avg_confidence_change.check("avg_confidence_change")?;
        self.outcome_rate_change.check("outcome_rate_change")?;
        self.accuracy_drop.check("accuracy_drop")?;
        self.estimated_accuracy_drop
            .check("estimated_accuracy_drop")?;
        let d = self.dir;
        if !(d.critical.is_finite()
            && d.high.is_finite()
            && 0.0 <= d.critical
            && d.critical <= d.high
            && d.high <= 1.0)
        {
            return Err(ThresholdsError("dir: need 0 ≤ critical ≤ high ≤ 1".into()));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(ThresholdsError("alpha must be in (0, 1)".into()));
        }
        if !(0.0..=1.0).contains(&self.max_invalid_ratio) {
            return Err(ThresholdsError(
                "max_invalid_ratio must be in [0, 1]".into(),
            ));
        }
        if !(1..=100).contains(&self.persistence_windows) {
            return Err(ThresholdsError(
                "persistence_windows must be in 1..=100".into(),
            ));
        }
        if self.min_group_size == 0 {
            return Err(ThresholdsError("min_group_size must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_inclusive_lower_bounds() {
        let b = Thresholds::default().psi;
        assert_eq!(b.classify(0.099), None);
        assert_eq!(b.classify(0.10), Some(Severity::Medium));
        assert_eq!(b.classify(0.25), Some(Severity::High));
        assert_eq!(b.classify(0.50), Some(Severity::Critical));
        assert_eq!(b.classify(f64::NAN), None);
        // Decimal edges reached through binary arithmetic count as reached.
        let change = 0.575_f64 - 0.475;
        assert!(
            change < 0.1,
            "the binary difference is below the edge: {change:e}"
        );
        assert_eq!(
            Thresholds::default().outcome_rate_change.classify(change),
            Some(Severity::High)
        );
        assert_eq!(b.classify(0.25 - 1e-7), Some(Severity::Medium));
    }

    #[test]
    fn four_fifths_rule() {
        let d = Thresholds::default().dir;
        assert_eq!(d.classify(0.80), None);
        assert_eq!(d.classify(4.0 / 5.0), None);
        assert_eq!(d.classify(0.48 / 0.6), None, "{}", 0.48 / 0.6);
        // On the CRITICAL edge, not below it: HIGH.
        assert_eq!(d.classify(0.6 - 1e-12), Some(Severity::High));
        assert_eq!(d.classify(0.79), Some(Severity::High));
        assert_eq!(d.classify(0.59), Some(Severity::Critical));
    }

    #[test]
    fn partial_override_keeps_other_defaults() {
        let t: Thresholds = serde_json::from_str(
            r#"{"min_samples": 500, "psi": {"medium": 0.2, "high": 0.3, "critical": 0.6}}"#,
        )
        .expect("parse");
        assert_eq!(t.min_samples, 500);
        assert_eq!(t.psi.medium, 0.2);
        assert_eq!(t.js, Thresholds::default().js);
        t.validate().expect("valid");
        let bad: Thresholds =
            serde_json::from_str(r#"{"js": {"medium": 0.5, "high": 0.3, "critical": 0.6}}"#)
                .expect("parse");
        assert!(bad.validate().is_err());
    }
}
