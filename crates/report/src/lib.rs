//! The audit report: one self-contained HTML page (inline CSS, inline SVG, no script, no
//! external asset) with an audit's summary, findings and charts.
//!
//! Plain data in, a `String` out. The HTTP layer reads the database and fills [`Report`]; this
//! crate knows neither, so the page can be unit-tested and rendered anywhere. Every string that
//! came from outside (model names, descriptions, rule ids, labels, group names) goes through
//! [`escape`] before it reaches the page.

pub mod chart;
mod page;
mod pdf;

pub use chart::{FOUR_FIFTHS, four_fifths};
pub use page::{body, render};
pub use pdf::{PdfError, render_pdf};

/// Everything the report shows about one audit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub model_id: String,
    pub model_name: Option<String>,
    pub model_version: String,
    pub audit_id: String,
    /// `passive` or `active`.
    pub audit_type: String,
    pub scheduled_at: String,
    pub executed_at: Option<String>,
    /// `SUCCESS`, `PARTIAL` or `FAILED`.
    pub execution_status: Option<String>,
    pub execution_reason: Option<String>,
    /// `AUDIT_PASS`, `AUDIT_WARN`, `AUDIT_FAIL`, `BASELINE_CREATED`, or none for a FAILED run.
    pub audit_result: Option<String>,
    pub window_start: Option<String>,
    pub window_end: String,
    pub baseline_audit_id: Option<String>,
    /// When the page was rendered.
    pub generated_at: String,
    /// None when the run produced no summary (a FAILED execution).
    pub scores: Option<Scores>,
    pub findings: Vec<FindingRow>,
    pub content: Content,
    /// The model's audits of the same type, oldest first, this one included.
    pub history: Vec<HistoryPoint>,
    /// The thresholds that judged the audit, as shown to the reader.
    pub thresholds: Vec<ThresholdRow>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// 0–1.
    pub drift: f64,
    /// 0–1.
    pub bias: f64,
    /// 0–100.
    pub risk: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingRow {
    pub severity: String,
    pub category: String,
    pub rule_id: Option<String>,
    pub metric: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub deviation_percentage: Option<f64>,
    pub description: String,
}

/// What the charts are drawn from.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A passive audit: aggregates of the evidence.
    Passive(Box<Passive>),
    /// An active (security) audit: per-rule outcomes of the probes.
    Active(Active),
}

impl Default for Content {
    fn default() -> Self {
        Content::Passive(Box::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passive {
    /// None when no profile was stored (a FAILED execution).
    pub current: Option<Distribution>,
    /// None without a baseline.
    pub baseline: Option<Distribution>,
    /// Current selection counts per protected attribute.
    pub attributes: Vec<Attribute>,
    /// Groups smaller than this are shown but not scored (and not the reference of the line).
    pub min_group_size: u64,
    /// Key metrics, baseline beside current.
    pub metrics: Vec<MetricRow>,
    /// Input features compared with the baseline, most drifted first.
    pub features: Vec<FeatureRow>,
}

/// One input feature's drift.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureRow {
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    pub psi: f64,
    pub js: f64,
    /// Numeric only.
    pub ks: Option<f64>,
    pub wasserstein_norm: Option<f64>,
    /// The test's p-value before Holm's correction.
    pub p_value: Option<f64>,
    pub largest_shift: String,
}

/// The distribution aggregates of one profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    pub n: u64,
    /// label → count.
    pub labels: Vec<(String, u64)>,
    /// Counts in the ten confidence bins [0, 0.1), …, [0.9, 1.0].
    pub confidence_histogram: [u64; 10],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub groups: Vec<GroupCount>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupCount {
    pub name: String,
    pub count: u64,
    pub positives: u64,
}

impl GroupCount {
    /// The selection rate (positives / rows), None for an empty group.
    pub fn rate(&self) -> Option<f64> {
        (self.count > 0).then(|| self.positives as f64 / self.count as f64)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricRow {
    pub name: String,
    /// A count: shown without decimals.
    pub whole: bool,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Active {
    pub rules: Vec<RuleRow>,
    pub calls: Option<u64>,
    pub tokens: Option<u64>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleRow {
    pub rule_id: String,
    pub category: String,
    pub severity: String,
    pub attempts: u64,
    pub failures: u64,
    pub errors: u64,
    /// None when no attempt got an answer.
    pub passed: Option<bool>,
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPoint {
    pub audit_id: String,
    /// A short time label for the axis.
    pub label: String,
    pub drift: f64,
    pub bias: f64,
    pub risk: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdRow {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

/// HTML-escapes text for element content and quoted attributes alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rank of a severity, most severe first; unknown spellings sort last.
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "CRITICAL" => 0,
        "HIGH" => 1,
        "MEDIUM" => 2,
        "LOW" => 3,
        _ => 4,
    }
}

/// A number for the page: 3 decimals, "—" when absent or not finite.
pub(crate) fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.3}"),
        _ => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_get_a_chart_and_an_escaped_table() {
        let r = Report {
            content: Content::Passive(Box::new(Passive {
                current: Some(Distribution {
                    n: 10,
                    labels: vec![("a".into(), 10)],
                    ..Distribution::default()
                }),
                features: vec![FeatureRow {
                    name: "<amount>".into(),
                    kind: "numeric".into(),
                    psi: 0.31,
                    js: 0.2,
                    ks: Some(0.18),
                    wasserstein_norm: Some(0.4),
                    p_value: Some(1e-9),
                    largest_shift: "median 1 → 2".into(),
                }],
                ..Passive::default()
            })),
            ..Report::default()
        };
        let html = render(&r);
        assert!(html.contains("Most drifted input features"), "{html}");
        assert!(html.contains("&lt;amount&gt;") && !html.contains("<amount>"));
        assert!(html.contains("0.310") && html.contains("0.180"));
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn severities_rank_most_severe_first() {
        let mut v = vec!["LOW", "bogus", "CRITICAL", "MEDIUM", "HIGH"];
        v.sort_by_key(|s| severity_rank(s));
        assert_eq!(v, ["CRITICAL", "HIGH", "MEDIUM", "LOW", "bogus"]);
    }

    #[test]
    fn numbers_have_three_decimals_or_a_dash() {
        assert_eq!(num(Some(0.12345)), "0.123");
        assert_eq!(num(None), "—");
        assert_eq!(num(Some(f64::NAN)), "—");
    }
}
