use crate::{FindingCategory, Severity};
use serde::{Deserialize, Serialize};

/// One finding of an audit, with the fields of seed 000's `AuditFinding`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub category: FindingCategory,
    /// The rule that produced the finding, e.g. `drift.psi_label`.
    pub rule_id: Option<String>,
    pub severity: Severity,
    /// The statistic judged, e.g. `psi_label` or `dir.gender`.
    pub metric_name: String,
    pub baseline_value: Option<f64>,
    pub current_value: Option<f64>,
    /// `(current − baseline) / |baseline| × 100`; `None` when the baseline is 0 or absent.
    pub deviation_percentage: Option<f64>,
    pub description: String,
}

/// `(current − baseline) / |baseline| × 100`, `None` when the baseline is 0 (DESIGN.md §3).
pub fn deviation_percentage(baseline: f64, current: f64) -> Option<f64> {
    if baseline == 0.0 || !baseline.is_finite() || !current.is_finite() {
        None
    } else {
        Some((current - baseline) / baseline.abs() * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviation_is_relative_to_the_absolute_baseline() {
        assert_eq!(deviation_percentage(0.5, 0.75), Some(50.0));
        assert_eq!(deviation_percentage(-2.0, -1.0), Some(50.0));
        assert_eq!(deviation_percentage(0.0, 0.3), None);
    }
}
