//! The same report as a PDF (printpdf, built-in Helvetica, A4): header, scores, findings,
//! rule outcomes or key metrics, and two drawn charts (per-group selection rates against the
//! four-fifths line, and the score history). Text is reduced to what the built-in fonts can
//! show (Latin-1); nothing is fetched.

use printpdf::{
    BuiltinFont, Color, IndirectFontRef, Line, LineDashPattern, Mm, PdfDocument,
    PdfDocumentReference, PdfLayerReference, Point, Rect, Rgb,
};

use crate::{Content, Report, four_fifths, severity_rank};

mod features;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the PDF: {0}")]
pub struct PdfError(String);

const W: f32 = 210.0;
const H: f32 = 297.0;
const MARGIN: f32 = 15.0;

/// Text the built-in fonts can show: common typographic signs spelled out, the rest of
/// anything beyond Latin-1 replaced.
fn plain(s: &str) -> String {
    s.chars()
        .flat_map(|c| -> Vec<char> {
            match c {
                '–' | '—' => vec!['-'],
                '≥' => ">=".chars().collect(),
                '≤' => "<=".chars().collect(),
                '×' => vec!['x'],
                '…' => "...".chars().collect(),
                '‘' | '’' => vec!['\''],
                '“' | '”' => vec!['"'],
                c if (c as u32) < 0x7f && !c.is_control() => vec![c],
                _ => vec!['?'],
            }
        })
        .collect()
}

/// Splits text into lines of at most `width` characters, at spaces where possible.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        let mut w = word.to_owned();
        while w.len() > width {
            let rest = w.split_off(width);
            lines.push(w);
            w = rest;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    pages: usize,
}

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}

impl Writer {
    fn new(title: &str) -> Result<Writer, PdfError> {
        let (doc, page, layer) = PdfDocument::new(plain(title), Mm(W), Mm(H), "content");
        let regular = doc
            .add_builtin_font(BuiltinFont::Helvetica)
            .map_err(|e| PdfError(e.to_string()))?;
        let bold = doc
            .add_builtin_font(BuiltinFont::HelveticaBold)
            .map_err(|e| PdfError(e.to_string()))?;
        let layer = doc.get_page(page).get_layer(layer);
        Ok(Writer {
            doc,
            layer,
            regular,
            bold,
            y: H - MARGIN,
            pages: 1,
        })
    }

    /// Room for `h` mm more, or a new page.
    fn room(&mut self, h: f32) {
        if self.y - h < MARGIN {
            let (page, layer) = self.doc.add_page(Mm(W), Mm(H), "content");
            self.layer = self.doc.get_page(page).get_layer(layer);
            self.y = H - MARGIN;
            self.pages += 1;
        }
    }

    fn text(&mut self, s: &str, size: f32, bold: bool) {
        let step = size * 0.45;
        let width = (((W - 2.0 * MARGIN) / (size * 0.19)) as usize).max(20);
        for line in wrap(&plain(s), width) {
            self.room(step);
            self.y -= step;
            let font = if bold { &self.bold } else { &self.regular };
            self.layer.set_fill_color(rgb(0.1, 0.1, 0.1));
            self.layer
                .use_text(line, size, Mm(MARGIN), Mm(self.y), font);
        }
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    fn line(&self, pts: &[(f32, f32)], color: Color, dashed: bool) {
        self.layer.set_outline_color(color);
        self.layer.set_outline_thickness(0.8);
        self.layer.set_line_dash_pattern(if dashed {
            LineDashPattern {
                dash_1: Some(3),
                ..LineDashPattern::default()
            }
        } else {
            LineDashPattern::default()
        });
        self.layer.add_line(Line {
            points: pts
                .iter()
                .map(|(x, y)| (Point::new(Mm(*x), Mm(*y)), false))
                .collect(),
            is_closed: false,
        });
    }

    fn bar(&self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        self.layer.set_fill_color(color);
        self.layer
            .add_rect(Rect::new(Mm(x), Mm(y), Mm(x + w), Mm(y + h.max(0.2))));
    }

    fn label(&self, s: &str, size: f32, x: f32, y: f32) {
        self.layer.set_fill_color(rgb(0.2, 0.2, 0.2));
        self.layer
            .use_text(plain(s), size, Mm(x), Mm(y), &self.regular);
    }
}

/// Renders the report as PDF bytes.
pub fn render_pdf(r: &Report) -> Result<Vec<u8>, PdfError> {
    let name = r.model_name.clone().unwrap_or_else(|| r.model_id.clone());
    let mut w = Writer::new(&format!("Audit report {}", r.audit_id))?;
    w.text(&format!("Audit report: {name}"), 18.0, true);
    w.gap(2.0);
    let result = r
        .audit_result
        .clone()
        .unwrap_or_else(|| "no verdict".into());
    for line in [
        format!(
            "Model: {} ({}), version {}",
            name, r.model_id, r.model_version
        ),
        format!("Audit: {} ({} audit)", r.audit_id, r.audit_type),
        format!(
            "Result: {result}   Execution: {}",
            r.execution_status.as_deref().unwrap_or("running")
        ),
        format!(
            "Executed: {}   Window: {} to {}",
            r.executed_at.as_deref().unwrap_or("-"),
            r.window_start.as_deref().unwrap_or("start"),
            r.window_end
        ),
        format!(
            "Baseline audit: {}",
            r.baseline_audit_id.as_deref().unwrap_or("none")
        ),
    ] {
        w.text(&line, 10.0, false);
    }
    if let Some(why) = &r.execution_reason {
        w.text(&format!("Why: {why}"), 10.0, false);
    }
    if let Some(s) = r.scores {
        w.text(
            &format!(
                "Scores: drift {:.3}   bias {:.3}   risk {:.1} / 100",
                s.drift, s.bias, s.risk
            ),
            10.0,
            true,
        );
    }
    w.gap(4.0);

    w.text(&format!("Findings ({})", r.findings.len()), 13.0, true);
    if r.findings.is_empty() {
        w.text("No findings.", 10.0, false);
    }
    let mut findings = r.findings.clone();
    findings.sort_by_key(|f| severity_rank(&f.severity));
    for f in &findings {
        let values = match (f.baseline, f.current) {
            (Some(b), Some(c)) => format!(" (baseline {b:.4}, current {c:.4})"),
            (None, Some(c)) => format!(" (current {c:.4})"),
            _ => String::new(),
        };
        w.text(
            &format!(
                "[{}] {} / {}{}{}",
                f.severity,
                f.category,
                f.metric,
                f.rule_id
                    .as_ref()
                    .map(|r| format!(" / {r}"))
                    .unwrap_or_default(),
                values
            ),
            9.5,
            true,
        );
        w.text(&f.description, 9.5, false);
        w.gap(1.0);
    }
    w.gap(4.0);

    match &r.content {
        Content::Active(a) => {
            w.text("Security rules", 13.0, true);
            if let (Some(c), Some(t)) = (a.calls, a.tokens) {
                w.text(&format!("{c} calls, {t} tokens"), 10.0, false);
            }
            if let Some(s) = &a.stopped {
                w.text(&format!("Stopped early: {s}"), 10.0, false);
            }
            for rule in &a.rules {
                let verdict = match rule.passed {
                    Some(true) => "passed",
                    Some(false) => "FAILED",
                    None => "no answer",
                };
                w.text(
                    &format!(
                        "{verdict}: {} [{} {}] {}",
                        rule.rule_id, rule.severity, rule.category, rule.summary
                    ),
                    9.5,
                    false,
                );
            }
        }
        Content::Passive(p) => {
            if !p.metrics.is_empty() {
                w.text("Key metrics (baseline / current)", 13.0, true);
                for m in &p.metrics {
                    let f = |v: Option<f64>| match v {
                        Some(x) if m.whole => format!("{x:.0}"),
                        Some(x) => format!("{x:.4}"),
                        None => "-".into(),
                    };
                    w.text(
                        &format!("{}: {} / {}", m.name, f(m.baseline), f(m.current)),
                        9.5,
                        false,
                    );
                }
                w.gap(3.0);
            }
            for attr in &p.attributes {
                selection_chart(&mut w, &attr.name, &attr.groups, p.min_group_size);
            }
            if p.attributes.is_empty() {
                w.text(
                    "Selection rates: the evidence carries no protected attribute.",
                    10.0,
                    false,
                );
            }
            features::features(&mut w, &p.features);
        }
    }
    history_chart(&mut w, r);
    w.doc.save_to_bytes().map_err(|e| PdfError(e.to_string()))
}

/// Bars of each group's selection rate; the dashed line is 0.8 x the highest scored rate.
fn selection_chart(w: &mut Writer, attr: &str, groups: &[crate::GroupCount], min: u64) {
    let h = 45.0;
    w.room(h + 14.0);
    w.text(
        &format!("Selection rate by {attr} (dashed: four-fifths line)"),
        11.0,
        true,
    );
    let (x0, y0, width) = (MARGIN + 12.0, w.y - h - 4.0, W - 2.0 * MARGIN - 20.0);
    w.line(&[(x0, y0), (x0 + width, y0)], rgb(0.3, 0.3, 0.3), false);
    w.line(&[(x0, y0), (x0, y0 + h)], rgb(0.3, 0.3, 0.3), false);
    w.label("1.0", 7.0, MARGIN, y0 + h - 2.0);
    w.label("0", 7.0, MARGIN + 5.0, y0);
    let line = four_fifths(groups, min);
    let n = groups.len().max(1) as f32;
    let slot = width / n;
    for (i, g) in groups.iter().enumerate() {
        let rate = g.rate().unwrap_or(0.0) as f32;
        let below = line.is_some_and(|l| g.count >= min && (rate as f64) < l);
        let color = if g.count < min {
            rgb(0.8, 0.8, 0.8)
        } else if below {
            rgb(0.82, 0.2, 0.2)
        } else {
            rgb(0.2, 0.45, 0.75)
        };
        let x = x0 + i as f32 * slot + slot * 0.2;
        w.bar(x, y0, slot * 0.6, rate * h, color);
        w.label(&format!("{} {:.2}", g.name, rate), 7.0, x, y0 - 4.0);
    }
    if let Some(l) = line {
        let y = y0 + l as f32 * h;
        w.line(&[(x0, y), (x0 + width, y)], rgb(0.1, 0.1, 0.1), true);
    }
    w.y = y0 - 8.0;
}

/// Which score of a history point a line draws.
type Pick = fn(&crate::HistoryPoint) -> f64;

/// Drift, bias and risk/100 of the model's audits, oldest to newest.
fn history_chart(w: &mut Writer, r: &Report) {
    if r.history.len() < 2 {
        w.text(
            "Score history: the first audit of this kind; a history needs two.",
            10.0,
            false,
        );
        return;
    }
    let h = 40.0;
    w.room(h + 16.0);
    w.text(
        "Score history (blue: drift, orange: bias, red: risk / 100)",
        11.0,
        true,
    );
    let (x0, y0, width) = (MARGIN + 12.0, w.y - h - 4.0, W - 2.0 * MARGIN - 20.0);
    w.line(&[(x0, y0), (x0 + width, y0)], rgb(0.3, 0.3, 0.3), false);
    w.line(&[(x0, y0), (x0, y0 + h)], rgb(0.3, 0.3, 0.3), false);
    let n = (r.history.len() - 1) as f32;
    let at = |i: usize, v: f64| {
        (
            x0 + width * i as f32 / n,
            y0 + (v.clamp(0.0, 1.0) as f32) * h,
        )
    };
    let series: [(Color, Pick); 3] = [
        (rgb(0.2, 0.45, 0.75), |p| p.drift),
        (rgb(0.95, 0.55, 0.1), |p| p.bias),
        (rgb(0.82, 0.2, 0.2), |p| p.risk / 100.0),
    ];
    for (color, f) in series {
        let pts: Vec<(f32, f32)> = r
            .history
            .iter()
            .enumerate()
            .map(|(i, p)| at(i, f(p)))
            .collect();
        w.line(&pts, color, false);
    }
    if let Some(i) = r.history.iter().position(|p| p.audit_id == r.audit_id) {
        let (x, _) = at(i, 0.0);
        w.line(&[(x, y0), (x, y0 + h)], rgb(0.4, 0.4, 0.4), true);
        w.label("this audit", 7.0, x + 1.0, y0 + h - 3.0);
    }
    w.y = y0 - 6.0;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Attribute, FeatureRow, FindingRow, GroupCount, HistoryPoint, Passive, Scores};

    fn sample() -> Report {
        Report {
            model_id: "credit".into(),
            model_name: Some("Credit scorer – v3".into()),
            model_version: "3.0".into(),
            audit_id: "aud_1".into(),
            audit_type: "passive".into(),
            scheduled_at: "2026-11-26T00:00:00Z".into(),
            executed_at: Some("2026-11-26T00:00:01Z".into()),
            execution_status: Some("SUCCESS".into()),
            audit_result: Some("AUDIT_FAIL".into()),
            window_end: "2026-11-26T00:00:00Z".into(),
            scores: Some(Scores {
                drift: 0.3,
                bias: 0.4,
                risk: 62.0,
            }),
            findings: (0..40)
                .map(|i| FindingRow {
                    severity: "HIGH".into(),
                    category: "bias".into(),
                    metric: format!("dir.gender.{i}"),
                    current: Some(0.61),
                    description: format!("Selection rate ratio ≥ rule broken for group {i}"),
                    ..FindingRow::default()
                })
                .collect(),
            content: Content::Passive(Box::new(Passive {
                attributes: vec![Attribute {
                    name: "gender".into(),
                    groups: vec![
                        GroupCount {
                            name: "f".into(),
                            count: 100,
                            positives: 30,
                        },
                        GroupCount {
                            name: "m".into(),
                            count: 100,
                            positives: 60,
                        },
                    ],
                }],
                min_group_size: 30,
                features: (0..12)
                    .map(|i| FeatureRow {
                        name: format!("feature_{i}"),
                        kind: if i % 2 == 0 { "numeric" } else { "categorical" }.into(),
                        psi: 0.6 / f64::from(i + 1),
                        js: 0.1 / f64::from(i + 1),
                        ks: (i % 2 == 0).then_some(0.3 / f64::from(i + 1)),
                        wasserstein_norm: (i % 2 == 0).then_some(0.5),
                        p_value: Some(1e-6),
                        largest_shift: "web: 40% -> 25%".into(),
                    })
                    .collect(),
                ..Passive::default()
            })),
            history: vec![
                HistoryPoint {
                    audit_id: "aud_0".into(),
                    label: "a".into(),
                    ..HistoryPoint::default()
                },
                HistoryPoint {
                    audit_id: "aud_1".into(),
                    label: "b".into(),
                    drift: 0.3,
                    bias: 0.4,
                    risk: 62.0,
                },
            ],
            ..Report::default()
        }
    }

    #[test]
    fn the_pdf_parses_and_holds_the_findings() {
        let bytes = render_pdf(&sample()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&bytes).unwrap();
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        assert!(
            pages.len() >= 2,
            "forty findings and two charts need a second page"
        );
        let text = doc.extract_text(&pages).unwrap();
        assert!(text.contains("Audit report: Credit scorer - v3"), "{text}");
        assert!(text.contains("dir.gender.39"));
        assert!(text.contains("Selection rate ratio >= rule broken for group 0"));
        assert!(text.contains("four-fifths"));
        assert!(text.contains("Most drifted input features"), "{text}");
        assert!(
            text.contains("feature_11 (categorical): PSI 0.050"),
            "{text}"
        );
        if let Ok(path) = std::env::var("REPORT_PDF_OUT") {
            std::fs::write(path, &bytes).unwrap();
        }
    }

    #[test]
    fn text_is_wrapped_and_made_plain() {
        assert_eq!(plain("a – b ≥ c ✓"), "a - b >= c ?");
        let w = wrap("one two three four five", 9);
        assert_eq!(w, vec!["one two", "three", "four five"]);
        assert_eq!(wrap(&"x".repeat(25), 10).len(), 3);
    }
}
