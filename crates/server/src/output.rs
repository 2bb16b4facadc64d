//! Human-readable rendering of an audit outcome (`--format text`).

use audit_core::AuditOutcome;
use std::fmt::Write;

fn opt(x: Option<f64>) -> String {
    match x {
        Some(v) if v != 0.0 && v.abs() < 1e-3 => format!("{v:.2e}"),
        Some(v) => format!("{v:.4}"),
        None => "—".to_owned(),
    }
}

pub fn render_text(o: &AuditOutcome) -> String {
    let mut s = String::new();
    let result = o.audit_result.map_or("—".to_owned(), |r| r.to_string());
    let _ = writeln!(s, "AI Auditor · passive audit");
    let _ = writeln!(s, "result            {result}");
    let _ = writeln!(s, "execution_status  {}", o.execution_status);
    for r in &o.execution_reasons {
        let _ = writeln!(s, "                  · {r}");
    }
    let e = &o.evidence;
    let _ = writeln!(
        s,
        "evidence          {} rows read, {} valid, {} invalid ({:.2}%), {} outside the window, {} file(s)",
        e.rows_read,
        e.rows_valid,
        e.rows_invalid,
        e.invalid_ratio * 100.0,
        e.rows_out_of_window,
        e.files.len()
    );
    let _ = writeln!(
        s,
        "scores            drift_score {:.4}  bias_score {:.4}  risk_score {:.1}/100",
        o.drift_score, o.bias_score, o.risk_score
    );
    let m = &o.metrics;
    let _ = writeln!(
        s,
        "current           avg_confidence {}  confidence_variance {}  outcome_rate {}",
        opt(m.avg_confidence),
        opt(m.confidence_variance),
        opt(m.outcome_rate)
    );
    if let Some(b) = &o.baseline_metrics {
        let _ = writeln!(
            s,
            "baseline          avg_confidence {}  confidence_variance {}  outcome_rate {}  (n = {})",
            opt(b.avg_confidence),
            opt(b.confidence_variance),
            opt(b.outcome_rate),
            b.n
        );
        let st = &o.statistics;
        let _ = writeln!(
            s,
            "labels            psi {}  js {}  chi2 {} (df {}, p {})",
            opt(st.psi_label),
            opt(st.js_label),
            opt(st.chi2_label),
            opt(st.chi2_df_label),
            opt(st.chi2_p_label)
        );
        let _ = writeln!(
            s,
            "confidence        psi {}  js {}  chi2 {} (df {}, p {})",
            opt(st.psi_confidence),
            opt(st.js_confidence),
            opt(st.chi2_confidence),
            opt(st.chi2_df_confidence),
            opt(st.chi2_p_confidence)
        );
    }
    for (attr, b) in &o.statistics.bias {
        let _ = writeln!(
            s,
            "bias {attr:<12} dpd {}  dir {}  eod {}  (baseline dpd {}, dir {}; groups {}{})",
            opt(b.dpd),
            opt(b.dir),
            opt(b.eod),
            opt(b.baseline_dpd),
            opt(b.baseline_dir),
            b.groups_scored.join(", "),
            if b.groups_too_small.is_empty() {
                String::new()
            } else {
                format!("; too small: {}", b.groups_too_small.join(", "))
            }
        );
    }
    features_text(&mut s, &o.statistics.features);
    let st = &o.statistics;
    if !st.new_labels.is_empty() {
        let _ = writeln!(s, "new labels        {}", st.new_labels.join(", "));
    }
    if !st.tests.is_empty() {
        let _ = writeln!(
            s,
            "tests             {} in the family, Holm-adjusted at alpha {}",
            st.tests.len(),
            st.alpha
        );
        for t in &st.tests {
            let _ = writeln!(
                s,
                "  {:<34} {:<15} p {:<10.3e} adjusted {:<10.3e} {}",
                t.id,
                t.method,
                t.p_value,
                t.adjusted_p,
                if t.significant {
                    "rejected"
                } else {
                    "not rejected"
                }
            );
        }
    }
    performance(&mut s, o);
    if let Some(r) = m.refusal_rate {
        let _ = writeln!(
            s,
            "llm               refusal_rate {r:.4}  pii_leak_rate (responses) {:?}  prompt_pii_rate (users, not a finding) {:?}",
            m.pii_leak_rate, m.prompt_pii_rate
        );
    }
    let _ = writeln!(
        s,
        "findings          {} total, {} critical, {} high",
        o.total_findings, o.critical_findings, o.high_findings
    );
    for f in &o.findings {
        let _ = writeln!(
            s,
            "  {:<8} {:<6} {:<22} baseline {} current {}  {}",
            f.severity.as_str(),
            f.category.as_str(),
            f.metric_name,
            opt(f.baseline_value),
            opt(f.current_value),
            f.description
        );
    }
    s
}

/// The features, most drifted (by PSI) first.
fn features_text(
    s: &mut String,
    features: &std::collections::BTreeMap<String, audit_baseline::FeatureDrift>,
) {
    let mut ranked: Vec<_> = features.iter().collect();
    ranked.sort_by(|a, b| b.1.psi.unwrap_or(0.0).total_cmp(&a.1.psi.unwrap_or(0.0)));
    for (name, d) in ranked {
        let numeric = match (d.ks, d.wasserstein_norm) {
            (Some(ks), w) => format!("  ks {ks:.4}  wasserstein {} σ", opt(w)),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "feature {name:<9} psi {}  js {}{numeric}  chi2 p {}  missing {:.1}% → {:.1}%  {}",
            opt(d.psi),
            opt(d.js),
            opt(d.chi2_p),
            d.missing_baseline * 100.0,
            d.missing_current * 100.0,
            d.largest_shift
        );
    }
}

/// Accuracy and the other classification metrics with ground truth, and the estimated accuracy
/// of a window without it (docs/metrics.md, "Performance").
fn performance(s: &mut String, o: &AuditOutcome) {
    if let Some(c) = &o.metrics.performance {
        let _ = writeln!(
            s,
            "performance       accuracy {}  precision {}  recall {}  f1 {}  macro_precision {}  macro_recall {}  macro_f1 {}  ece {}  ({} rows with ground truth)",
            opt(c.accuracy),
            opt(c.precision),
            opt(c.recall),
            opt(c.f1),
            opt(c.macro_precision),
            opt(c.macro_recall),
            opt(c.macro_f1),
            opt(c.ece),
            c.labelled
        );
    }
    let Some(p) = &o.statistics.performance else {
        return;
    };
    if p.accuracy.is_some() {
        let _ = writeln!(
            s,
            "  vs baseline     accuracy {} (baseline {}, p {})  f1 {}  macro_f1 {}  ece {} (baseline {})",
            opt(p.accuracy_change),
            opt(p.baseline_accuracy),
            opt(p.accuracy_p),
            opt(p.f1_change),
            opt(p.macro_f1_change),
            opt(p.ece_change),
            opt(p.baseline_ece)
        );
    }
    if let (Some(e), Some(se)) = (p.estimated_accuracy, p.estimated_accuracy_se) {
        let _ = writeln!(
            s,
            "estimated         accuracy {} ± {} from the baseline's accuracy per confidence bin (baseline {}, change {} ± {}, p {}){}",
            opt(Some(e)),
            opt(Some(se)),
            opt(p.baseline_accuracy),
            opt(p.estimated_accuracy_change),
            opt(p.estimated_accuracy_change_se),
            opt(p.estimated_accuracy_p),
            if p.estimate_fallback_bins.is_empty() {
                String::new()
            } else {
                format!(
                    "; mean confidence used for bins {}",
                    p.estimate_fallback_bins.join(", ")
                )
            }
        );
    }
}
