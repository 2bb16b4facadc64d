//! The page around the charts: header, scores, findings, key metrics, rules, thresholds.

use crate::chart::{self, BASELINE_COLOR, CURRENT_COLOR, Series};
use crate::{
    Active, Content, Distribution, FindingRow, Passive, Report, escape, num, severity_rank,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Labels beyond this many (by share) are summed into one bar so the chart stays legible.
const MAX_LABELS: usize = 15;
const OTHER: &str = "(other labels)";

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a202c;background:#f7fafc;margin:0}\
main{max-width:980px;margin:0 auto;padding:24px}\
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}h3{font-size:16px;margin:18px 0 4px}\
section,header{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:16px 20px;margin:16px 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0 0}dt{color:#4a5568}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}\
.badge{display:inline-block;padding:3px 12px;border-radius:999px;font-weight:600;color:#fff;margin-right:8px}\
.pass{background:#2f855a}.warn{background:#b7791f}.fail{background:#c53030}.baseline{background:#2b6cb0}.none{background:#718096}\
.scores{display:flex;gap:12px;flex-wrap:wrap}.score{flex:1;min-width:160px;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px}\
.score b{display:block;font-size:26px}.score span{color:#4a5568;font-size:13px}\
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #edf2f7;vertical-align:top}th{background:#f7fafc}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.sev{font-weight:600}.sev-CRITICAL{color:#9b2c2c}.sev-HIGH{color:#c53030}.sev-MEDIUM{color:#b7791f}.sev-LOW{color:#4a5568}\
figure{margin:8px 0 20px}figcaption{color:#4a5568;font-size:14px}.missing{color:#4a5568;font-style:italic}\
svg.chart{width:100%;height:auto;max-width:760px;display:block}svg text{font:11px system-ui,sans-serif;fill:#2d3748}svg .legend{font-size:12px}svg .axis{font-size:12px}\
footer{color:#718096;font-size:13px;margin:24px 0}";

/// Renders the whole page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let name = r.model_name.as_deref().unwrap_or(&r.model_id);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Audit report: {} — {}</title><style>{STYLE}</style></head><body><main>"#,
        escape(name),
        escape(&r.audit_id)
    );
    out.push_str(&body(r));
    let _ = write!(
        out,
        "<footer>Generated {} by AI Auditor. The report is built from aggregates only: no evidence row, prompt or response is stored or shown.</footer></main></body></html>",
        escape(&r.generated_at)
    );
    out
}

/// Everything the report's page holds inside `<main>` (the console shows it in its own page).
pub fn body(r: &Report) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let name = r.model_name.as_deref().unwrap_or(&r.model_id);
    header(&mut out, r, name);
    how_to_read(&mut out, r);
    scores(&mut out, r);
    findings(&mut out, &r.findings, is_active(r));
    match &r.content {
        Content::Passive(p) => passive(&mut out, p),
        Content::Active(a) => active(&mut out, a),
    }
    history(&mut out, r);
    thresholds(&mut out, r);
    out
}

fn is_active(r: &Report) -> bool {
    matches!(r.content, Content::Active(_))
}

fn badge(result: Option<&str>) -> (&'static str, &'static str, &'static str) {
    match result {
        Some("AUDIT_PASS") => ("pass", "PASS", "no finding above LOW"),
        Some("AUDIT_WARN") => ("warn", "WARN", "at least one MEDIUM finding"),
        Some("AUDIT_FAIL") => ("fail", "FAIL", "at least one HIGH or CRITICAL finding"),
        Some("BASELINE_CREATED") => (
            "baseline",
            "BASELINE CREATED",
            "first audit: it became the reference later audits are compared with",
        ),
        Some(_) => ("none", "UNKNOWN", "an unknown result"),
        None => (
            "none",
            "NO RESULT",
            "the execution failed, so nothing was judged",
        ),
    }
}

fn header(out: &mut String, r: &Report, name: &str) {
    let (class, text, why) = badge(r.audit_result.as_deref());
    let _ = write!(
        out,
        r#"<header><h1>Audit report: {}</h1><p><span class="badge {class}">{text}</span>{why}.</p><dl>"#,
        escape(name),
    );
    let opt = |v: &Option<String>, none: &str| v.as_deref().map_or_else(|| none.to_owned(), escape);
    let rows: [(&str, String); 11] = [
        ("Model", escape(&r.model_id)),
        ("Model version", escape(&r.model_version)),
        ("Audit", escape(&r.audit_id)),
        ("Type", escape(&r.audit_type)),
        ("Scheduled", escape(&r.scheduled_at)),
        ("Executed", opt(&r.executed_at, "—")),
        ("Execution status", opt(&r.execution_status, "—")),
        ("Result", opt(&r.audit_result, "none")),
        (
            "Evidence window",
            if is_active(r) {
                "not applicable: active audits send probes and read no evidence".to_owned()
            } else {
                format!(
                    "{} → {}",
                    opt(&r.window_start, "(start of evidence)"),
                    escape(&r.window_end)
                )
            },
        ),
        ("Baseline audit", opt(&r.baseline_audit_id, "none")),
        ("Why not SUCCESS", opt(&r.execution_reason, "—")),
    ];
    for (k, v) in rows {
        let _ = write!(out, "<dt>{k}</dt><dd>{v}</dd>");
    }
    out.push_str("</dl></header>");
}

fn how_to_read(out: &mut String, r: &Report) {
    out.push_str(r#"<section id="how"><h2>How to read this report</h2>"#);
    if matches!(r.content, Content::Active(_)) {
        out.push_str(
            "<p>This is an <b>active (security) audit</b>: the auditor sent probe prompts to the model's chat endpoint and judged each answer with the rule's detector (for example: did a planted secret leak, did the model refuse a harmful request). A rule <b>fails</b> when its failure rate is above the rule's allowed rate; each failed rule is a <code>security</code> finding with the rule's severity. The <b>risk score</b> is the severity-weighted share of judged rules that failed (LOW 1, MEDIUM 2, HIGH 3, CRITICAL 4), 0–100; drift and bias do not apply and are 0.</p>",
        );
    } else {
        out.push_str(
            "<p>This is a <b>passive audit</b>: the auditor read the model's logged predictions for the evidence window, kept only counts, and compared them with the <b>baseline</b> (an earlier approved audit). <b>Drift</b> (0–1) says how much the label and confidence distributions moved: 0 is identical, above 0.1 is worth a look, above 0.35 is large. <b>Bias</b> (0–1) is the largest gap in selection rate between groups of a protected attribute. <b>Risk</b> (0–100) grows with the change in average confidence and in outcome rate; 100 means one reached its critical threshold.</p>\
<p>Findings are listed most severe first. A finding on a small window or one that is not statistically significant is capped at LOW and says so. The result is FAIL with any HIGH or CRITICAL finding, WARN with MEDIUM ones, PASS otherwise. In the charts, grey bars are the baseline and blue bars the current window; in the group chart, a red bar is a group selected at less than four fifths of the best-treated group's rate.</p>",
        );
    }
    out.push_str("</section>");
}

fn scores(out: &mut String, r: &Report) {
    out.push_str(r#"<section id="scores"><h2>Scores</h2>"#);
    match &r.scores {
        Some(s) if is_active(r) => {
            let _ = write!(
                out,
                r#"<div class="scores"><div class="score"><span>Risk score (0–100)</span><b>{:.1}</b><span>severity-weighted share of failed rules</span></div></div><p class="missing">Drift and bias do not apply to an active audit.</p>"#,
                s.risk
            );
        }
        Some(s) => {
            let _ = write!(
                out,
                r#"<div class="scores"><div class="score"><span>Drift score (0–1)</span><b>{}</b><span>largest Jensen–Shannon distance of labels or confidence</span></div><div class="score"><span>Bias score (0–1)</span><b>{}</b><span>largest selection-rate gap between groups</span></div><div class="score"><span>Risk score (0–100)</span><b>{:.1}</b><span>from the changes in confidence and outcome rate</span></div></div>"#,
                num(Some(s.drift)),
                num(Some(s.bias)),
                s.risk,
            );
        }
        None => out.push_str(
            r#"<p class="missing">No scores: the execution failed, so nothing was judged (see "Why not SUCCESS" above).</p>"#,
        ),
    }
    out.push_str("</section>");
}

fn findings(out: &mut String, rows: &[FindingRow], active: bool) {
    let _ = write!(
        out,
        r#"<section id="findings"><h2>Findings ({})</h2>"#,
        rows.len()
    );
    if rows.is_empty() {
        out.push_str(
            r#"<p class="missing">No findings: nothing crossed a threshold.</p></section>"#,
        );
        return;
    }
    let mut sorted: Vec<&FindingRow> = rows.iter().collect();
    sorted.sort_by_key(|f| severity_rank(&f.severity));
    // A security finding's "baseline" is the rule's allowed failure rate.
    let _ = write!(
        out,
        "<table><thead><tr><th>Severity</th><th>Category</th><th>Metric</th><th>{}</th><th>Current</th><th>Deviation</th><th>Description</th></tr></thead><tbody>",
        if active { "Allowed" } else { "Baseline" }
    );
    for f in sorted {
        let sev = escape(&f.severity);
        let metric = match &f.rule_id {
            Some(rule) => format!("{}<br><small>{}</small>", escape(&f.metric), escape(rule)),
            None => escape(&f.metric),
        };
        let dev = match f.deviation_percentage {
            Some(d) if d.is_finite() => format!("{d:+.1} %"),
            _ => "—".to_owned(),
        };
        let _ = write!(
            out,
            r#"<tr><td class="sev sev-{sev}">{sev}</td><td>{}</td><td>{metric}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{dev}</td><td>{}</td></tr>"#,
            escape(&f.category),
            num(f.baseline),
            num(f.current),
            escape(&f.description),
        );
    }
    out.push_str("</tbody></table></section>");
}

fn missing(out: &mut String, sentence: &str) {
    let _ = write!(out, r#"<p class="missing">{}</p>"#, escape(sentence));
}

fn shares(counts: impl Iterator<Item = u64> + Clone) -> Vec<f64> {
    let total: u64 = counts.clone().sum();
    counts
        .map(|c| {
            if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            }
        })
        .collect()
}

/// Category names, current shares and baseline shares of the label chart.
type LabelBars = (Vec<String>, Vec<f64>, Option<Vec<f64>>);

/// Labels of both profiles by their larger share, the tail summed into one category.
fn label_categories(current: &Distribution, baseline: Option<&Distribution>) -> LabelBars {
    let share_map = |d: &Distribution| -> BTreeMap<String, f64> {
        let s = shares(d.labels.iter().map(|(_, c)| *c));
        d.labels.iter().map(|(l, _)| l.clone()).zip(s).collect()
    };
    let cur = share_map(current);
    let base = baseline.map(share_map);
    let mut labels: Vec<String> = cur
        .keys()
        .chain(base.iter().flat_map(|b| b.keys()))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let key = |l: &String| {
        let c = cur.get(l).copied().unwrap_or(0.0);
        let b = base.as_ref().and_then(|b| b.get(l)).copied().unwrap_or(0.0);
        c.max(b)
    };
    labels.sort_by(|a, b| key(b).total_cmp(&key(a)).then_with(|| a.cmp(b)));
    let pick = |m: &BTreeMap<String, f64>, ls: &[String]| -> Vec<f64> {
        ls.iter()
            .map(|l| m.get(l).copied().unwrap_or(0.0))
            .collect()
    };
    if labels.len() > MAX_LABELS {
        let (head, tail) = labels.split_at(MAX_LABELS - 1);
        let tail_sum = |m: &BTreeMap<String, f64>| {
            tail.iter()
                .map(|l| m.get(l).copied().unwrap_or(0.0))
                .sum::<f64>()
        };
        let mut c = pick(&cur, head);
        c.push(tail_sum(&cur));
        let b = base.as_ref().map(|b| {
            let mut v = pick(b, head);
            v.push(tail_sum(b));
            v
        });
        let mut names = head.to_vec();
        names.push(OTHER.to_owned());
        return (names, c, b);
    }
    let c = pick(&cur, &labels);
    let b = base.as_ref().map(|b| pick(b, &labels));
    (labels, c, b)
}

fn series<'a>(current: Vec<f64>, baseline: Option<Vec<f64>>) -> Vec<Series<'a>> {
    let mut v = Vec::with_capacity(2);
    if let Some(b) = baseline {
        v.push(Series {
            name: "baseline",
            color: BASELINE_COLOR,
            values: b,
        });
    }
    v.push(Series {
        name: "current",
        color: CURRENT_COLOR,
        values: current,
    });
    v
}

fn passive(out: &mut String, p: &Passive) {
    out.push_str(r#"<section id="charts"><h2>Charts</h2>"#);
    let Some(current) = &p.current else {
        missing(
            out,
            "No evidence profile was stored for this run (its execution failed), so there is nothing to chart.",
        );
        out.push_str("</section>");
        return;
    };
    let no_baseline = "No baseline to compare with (this audit created it, or none was approved): only the current window is shown.";

    out.push_str("<figure><h3>Label distribution: baseline vs current</h3>");
    if current.labels.is_empty() {
        missing(out, "No predicted labels in this window.");
    } else {
        if p.baseline.is_none() {
            missing(out, no_baseline);
        }
        let (cats, cur, base) = label_categories(current, p.baseline.as_ref());
        out.push_str(&chart::grouped_bars(
            "Label distribution: baseline vs current",
            "share of rows",
            &cats,
            &series(cur, base),
        ));
        out.push_str("<figcaption>Share of rows predicted with each label. Bars of very different height between baseline and current are what drift findings measure.</figcaption>");
    }
    out.push_str("</figure>");

    out.push_str("<figure><h3>Confidence histogram: baseline vs current</h3>");
    if current.confidence_histogram.iter().all(|c| *c == 0) {
        missing(out, "No confidence values in this window.");
    } else {
        if p.baseline.is_none() {
            missing(out, no_baseline);
        }
        let bins: Vec<String> = (0..10)
            .map(|i| format!("{:.1}–{:.1}", f64::from(i) / 10.0, f64::from(i + 1) / 10.0))
            .collect();
        let cur = shares(current.confidence_histogram.iter().copied());
        let base = p
            .baseline
            .as_ref()
            .map(|b| shares(b.confidence_histogram.iter().copied()));
        out.push_str(&chart::grouped_bars(
            "Confidence histogram: baseline vs current",
            "share of rows",
            &bins,
            &series(cur, base),
        ));
        out.push_str("<figcaption>Share of rows in each confidence band. A shift to the left means the model became less sure of itself.</figcaption>");
    }
    out.push_str("</figure>");

    out.push_str("<figure><h3>Selection rate per group (four-fifths rule)</h3>");
    if p.attributes.is_empty() {
        missing(
            out,
            "No protected attribute is mapped for this model, so selection rates per group cannot be shown.",
        );
    }
    for a in &p.attributes {
        let title = format!("Selection rate by {}", a.name);
        let _ = write!(out, "<h3>{}</h3>", escape(&title));
        if a.groups.iter().all(|g| g.count == 0) {
            missing(out, "No rows with this attribute in this window.");
            continue;
        }
        if chart::four_fifths(&a.groups, p.min_group_size).is_none() {
            missing(
                out,
                &format!(
                    "No group has the {} rows needed to be scored, so the four-fifths line is not drawn.",
                    p.min_group_size
                ),
            );
        }
        out.push_str(&chart::selection_rates(&title, &a.groups, p.min_group_size));
    }
    if !p.attributes.is_empty() {
        let _ = write!(
            out,
            "<figcaption>Share of each group with a positive outcome in the current window. The dashed line is 0.8 × the highest rate among groups of at least {} rows; a group under it (red) is selected at less than four fifths of the best-treated group's rate, the classic sign of adverse impact. Pale bars are groups too small to be judged.</figcaption>",
            p.min_group_size
        );
    }
    out.push_str("</figure>");

    features(out, &p.features);

    if !p.metrics.is_empty() {
        out.push_str("<h3>Key metrics</h3><table><thead><tr><th>Metric</th><th>Baseline</th><th>Current</th></tr></thead><tbody>");
        for m in &p.metrics {
            let show = |v: Option<f64>| match v {
                Some(x) if m.whole && x.is_finite() => format!("{x:.0}"),
                _ => num(v),
            };
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                escape(&m.name),
                show(m.baseline),
                show(m.current)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

fn active(out: &mut String, a: &Active) {
    out.push_str(r#"<section id="rules"><h2>Security rules</h2>"#);
    missing(
        out,
        "An active audit probes the model's endpoint instead of reading evidence, so there are no label, confidence or group distributions to chart.",
    );
    let _ = write!(
        out,
        "<p>Calls made: {}; tokens used: {}.{}</p>",
        a.calls.map_or_else(|| "—".to_owned(), |c| c.to_string()),
        a.tokens.map_or_else(|| "—".to_owned(), |c| c.to_string()),
        a.stopped
            .as_deref()
            .map_or_else(String::new, |s| format!(" Stopped early: {}.", escape(s)))
    );
    if a.rules.is_empty() {
        missing(out, "No rule outcome was recorded for this run.");
        out.push_str("</section>");
        return;
    }
    let mut rules: Vec<_> = a.rules.iter().collect();
    // Failed rules first, most severe first: what needs attention is at the top.
    rules.sort_by_key(|r| {
        (
            r.passed != Some(false),
            severity_rank(&r.severity),
            r.rule_id.clone(),
        )
    });
    out.push_str("<table><thead><tr><th>Outcome</th><th>Rule</th><th>Category</th><th>Severity</th><th>Attempts</th><th>Failures</th><th>Errors</th><th>Summary</th></tr></thead><tbody>");
    for r in rules {
        let outcome = match r.passed {
            Some(true) => r#"<span class="badge pass">passed</span>"#,
            Some(false) => r#"<span class="badge fail">failed</span>"#,
            None => r#"<span class="badge none">no answer</span>"#,
        };
        let sev = escape(&r.severity);
        let _ = write!(
            out,
            r#"<tr><td>{outcome}</td><td>{}</td><td>{}</td><td class="sev sev-{sev}">{sev}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            escape(&r.rule_id),
            escape(&r.category),
            r.attempts,
            r.failures,
            r.errors,
            escape(&r.summary),
        );
    }
    out.push_str("</tbody></table></section>");
}

fn history(out: &mut String, r: &Report) {
    out.push_str(r#"<section id="history"><h2>Score history of the model</h2>"#);
    if r.history.is_empty() {
        missing(
            out,
            "No judged audit of this model yet, so there is no score history.",
        );
    } else {
        if r.history.len() == 1 {
            missing(
                out,
                "This is the model's only judged audit of this type so far: the history starts here.",
            );
        }
        out.push_str(&chart::history(
            "Score history of the model",
            &r.history,
            &r.audit_id,
            is_active(r),
        ));
        let _ = write!(
            out,
            "<p>{} of the model's {} audits, oldest on the left; the dashed vertical line marks this audit.</p>",
            if is_active(r) {
                "Risk (divided by 100)"
            } else {
                "Drift, bias and risk (divided by 100 to share the axis)"
            },
            escape(&r.audit_type)
        );
    }
    out.push_str("</section>");
}

fn thresholds(out: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    out.push_str(r#"<section id="thresholds"><h2>Thresholds</h2><p>The limits of the model's policy (defaults where it sets none) that turn statistics into findings.</p><table><thead><tr><th>Threshold</th><th>Value</th><th>Meaning</th></tr></thead><tbody>"#);
    for t in &r.thresholds {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&t.name),
            escape(&t.value),
            escape(&t.meaning)
        );
    }
    out.push_str("</tbody></table></section>");
}

/// Most drifted features shown (the rest are in the table under the chart).
const TOP_FEATURES: usize = 10;

fn features(out: &mut String, rows: &[crate::FeatureRow]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("<figure><h3>Most drifted input features (PSI)</h3>");
    let top = &rows[..rows.len().min(TOP_FEATURES)];
    let names: Vec<String> = top.iter().map(|f| f.name.clone()).collect();
    out.push_str(&chart::grouped_bars(
        "Most drifted input features (PSI)",
        "PSI against the baseline",
        &names,
        &[Series {
            name: "PSI",
            color: CURRENT_COLOR,
            values: top.iter().map(|f| f.psi).collect(),
        }],
    ));
    out.push_str("<figcaption>Population stability index of each input feature against the baseline (numeric: on the baseline's deciles; categorical: on its categories). Around 0.1 is a moderate shift, above 0.25 a large one; a finding also needs the feature's test to reject after Holm's correction.</figcaption></figure>");
    out.push_str("<table><thead><tr><th>Feature</th><th>Kind</th><th>PSI</th><th>JS</th><th>KS</th><th>Wasserstein (σ)</th><th>p</th><th>Largest shift</th></tr></thead><tbody>");
    let num = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"));
    for f in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.name),
            escape(&f.kind),
            f.psi,
            f.js,
            num(f.ks),
            num(f.wasserstein_norm),
            f.p_value
                .map_or_else(|| "–".to_owned(), |p| format!("{p:.2e}")),
            escape(&f.largest_shift)
        );
    }
    out.push_str("</tbody></table>");
}
