use crate::Severity;
use serde::{Deserialize, Serialize};

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

    /// The severity `value` reaches, if any (`value ≥ bound`).
    pub fn classify(&self, value: f64) -> Option<Severity> {
        if !value.is_finite() {
            return None;
        }
        if value >= self.critical {
            Some(Severity::Critical)
        } else if value >= self.high {
            Some(Severity::High)
        } else if value >= self.medium {
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
    pub fn classify(&self, dir: f64) -> Option<Severity> {
        if !dir.is_finite() {
            None
        } else if dir < self.critical {
            Some(Severity::Critical)
        } else if dir < self.high {
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
    pub avg_confidence_change: Bands,
    pub outcome_rate_change: Bands,
    /// Below this many current rows, findings are at most LOW.
    pub min_samples: u64,
    /// Groups smaller than this are reported but not scored.
    pub min_group_size: u64,
    /// Significance level of the tests that gate findings.
    pub alpha: f64,
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
            avg_confidence_change: Bands::new(0.05, 0.15, 0.30),
            outcome_rate_change: Bands::new(0.05, 0.10, 0.20),
            min_samples: 100,
            min_group_size: 30,
            alpha: 0.05,
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
        self.avg_confidence_change.check("avg_confidence_change")?;
        self.outcome_rate_change.check("outcome_rate_change")?;
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
    }

    #[test]
    fn four_fifths_rule() {
        let d = Thresholds::default().dir;
        assert_eq!(d.classify(0.80), None);
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
