//! Inline SVG charts. Fixed geometry in a `viewBox`, so they scale with the page; `<title>`
//! elements give exact values on hover without any script.

use crate::{GroupCount, HistoryPoint, escape};
use std::fmt::Write;

/// The four-fifths rule: a group selected at less than 0.8 × the highest group's rate shows
/// adverse impact (US EEOC Uniform Guidelines; `bias.disparate_impact` judges the same ratio).
pub const FOUR_FIFTHS: f64 = 0.8;

pub(crate) const BASELINE_COLOR: &str = "#9aa5b1";
pub(crate) const CURRENT_COLOR: &str = "#2b6cb0";
const BELOW_COLOR: &str = "#c53030";
const SMALL_COLOR: &str = "#d9dee5";
const DRIFT_COLOR: &str = "#2b6cb0";
const BIAS_COLOR: &str = "#b7791f";
const RISK_COLOR: &str = "#c53030";

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 76.0;

/// The plot area of a chart and its y scale (0 at the bottom, `y_max` at the top).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plot {
    pub y_max: f64,
}

impl Plot {
    pub fn x0(self) -> f64 {
        LEFT
    }
    pub fn x1(self) -> f64 {
        W - RIGHT
    }
    pub fn bottom(self) -> f64 {
        H - BOTTOM
    }
    pub fn y(self, v: f64) -> f64 {
        let t = (v / self.y_max).clamp(0.0, 1.0);
        self.bottom() - t * (self.bottom() - TOP)
    }
}

/// A series of a grouped bar chart: one value per category.
pub(crate) struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

/// The smallest of 0.1, 0.2, …, 1.0 at or above `max` (shares and rates live in [0, 1]).
fn y_max_for(max: f64) -> f64 {
    let steps = (max * 10.0).ceil().clamp(1.0, 10.0);
    steps / 10.0
}

fn short(label: &str) -> String {
    const MAX: usize = 18;
    if label.chars().count() > MAX {
        let cut: String = label.chars().take(MAX - 1).collect();
        format!("{cut}…")
    } else {
        label.to_owned()
    }
}

/// Opens the `<svg>` and draws the y axis with grid lines, the x axis and the legend.
fn frame(out: &mut String, title: &str, y_label: &str, plot: Plot, legend: &[(&str, &str, bool)]) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img"><title>{}</title>"#,
        escape(title)
    );
    for i in 0..=5 {
        let v = plot.y_max * f64::from(i) / 5.0;
        let y = plot.y(v);
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e2e8f0"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{v:.2}</text>"##,
            plot.x0(),
            plot.x1(),
            plot.x0() - 6.0,
            y + 4.0
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{x0:.1}" y1="{b:.1}" x2="{x1:.1}" y2="{b:.1}" stroke="#4a5568"/><line x1="{x0:.1}" y1="{TOP:.1}" x2="{x0:.1}" y2="{b:.1}" stroke="#4a5568"/><text class="axis" transform="translate(14 {mid:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
        escape(y_label),
        x0 = plot.x0(),
        x1 = plot.x1(),
        b = plot.bottom(),
        mid = (TOP + plot.bottom()) / 2.0,
    );
    let mut x = plot.x0();
    for (name, color, dashed) in legend {
        if *dashed {
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="14" x2="{:.1}" y2="14" stroke="{color}" stroke-width="2" stroke-dasharray="5 3"/>"#,
                x + 16.0
            );
        } else {
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="8" width="16" height="12" fill="{color}"/>"#
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="18" class="legend">{}</text>"#,
            x + 20.0,
            escape(name)
        );
        x += 28.0 + 7.0 * name.chars().count() as f64;
    }
}

/// An x-axis label under `x`, slanted so that long labels do not collide.
fn x_label(out: &mut String, x: f64, plot: Plot, label: &str) {
    let y = plot.bottom() + 14.0;
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" class="tick" text-anchor="end" transform="rotate(-35 {x:.1} {y:.1})">{}</text>"#,
        escape(&short(label))
    );
}

/// Bars side by side per category (e.g. baseline and current share of each label).
pub(crate) fn grouped_bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[Series<'_>],
) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let plot = Plot {
        y_max: y_max_for(max),
    };
    let legend: Vec<(&str, &str, bool)> = series.iter().map(|s| (s.name, s.color, false)).collect();
    let mut out = String::new();
    frame(&mut out, title, y_label, plot, &legend);
    let slot = (plot.x1() - plot.x0()) / categories.len().max(1) as f64;
    let bar = (slot * 0.8 / series.len().max(1) as f64).min(40.0);
    for (i, cat) in categories.iter().enumerate() {
        let center = plot.x0() + slot * (i as f64 + 0.5);
        let start = center - bar * series.len() as f64 / 2.0;
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            let y = plot.y(v);
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {} {v:.3}</title></rect>"#,
                start + bar * j as f64,
                (bar - 1.0).max(1.0),
                plot.bottom() - y,
                s.color,
                escape(cat),
                escape(s.name),
            );
        }
        x_label(&mut out, center + 4.0, plot, cat);
    }
    out.push_str("</svg>");
    out
}

/// The four-fifths line of an attribute: 0.8 × the highest selection rate among groups large
/// enough to be scored. None when no group is.
pub fn four_fifths(groups: &[GroupCount], min_group_size: u64) -> Option<f64> {
    groups
        .iter()
        .filter(|g| g.count >= min_group_size)
        .filter_map(GroupCount::rate)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))))
        .map(|max| FOUR_FIFTHS * max)
}

/// Selection rate per group with the dashed four-fifths line; scored groups under it are red,
/// groups too small to score are pale.
pub(crate) fn selection_rates(title: &str, groups: &[GroupCount], min_group_size: u64) -> String {
    let line = four_fifths(groups, min_group_size);
    let max = groups
        .iter()
        .filter_map(GroupCount::rate)
        .fold(0.0, f64::max);
    let plot = Plot {
        y_max: y_max_for(max),
    };
    let mut out = String::new();
    frame(
        &mut out,
        title,
        "selection rate",
        plot,
        &[
            ("at or above the line", CURRENT_COLOR, false),
            ("below the line", BELOW_COLOR, false),
            ("too small to score", SMALL_COLOR, false),
            ("0.8 × highest rate", "#1a202c", true),
        ],
    );
    let slot = (plot.x1() - plot.x0()) / groups.len().max(1) as f64;
    let bar = (slot * 0.6).min(48.0);
    for (i, g) in groups.iter().enumerate() {
        let center = plot.x0() + slot * (i as f64 + 0.5);
        let rate = g.rate().unwrap_or(0.0);
        let small = g.count < min_group_size;
        let below = !small && line.is_some_and(|l| rate < l);
        let (color, class) = if small {
            (SMALL_COLOR, "small")
        } else if below {
            (BELOW_COLOR, "below")
        } else {
            (CURRENT_COLOR, "ok")
        };
        let y = plot.y(rate);
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{color}"><title>{}: {rate:.3} ({} of {} rows){}</title></rect>"#,
            center - bar / 2.0,
            plot.bottom() - y,
            escape(&g.name),
            g.positives,
            g.count,
            if small { ", too small to score" } else { "" },
        );
        x_label(&mut out, center + 4.0, plot, &g.name);
    }
    if let Some(l) = line {
        let y = plot.y(l);
        let _ = write!(
            out,
            r##"<line class="four-fifths" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#1a202c" stroke-width="2" stroke-dasharray="6 4"><title>four-fifths line: {l:.3}</title></line>"##,
            plot.x0(),
            plot.x1(),
        );
    }
    out.push_str("</svg>");
    out
}

/// Drift, bias and risk (÷ 100) over a series of points (audits or periods), nothing marked.
pub fn scores(title: &str, points: &[HistoryPoint]) -> String {
    history(title, points, "", false)
}

/// Drift, bias and risk (÷ 100) over the model's audits; the audit of the report is marked
/// (none when `this_audit` is empty).
/// `risk_only` for active audits, whose drift and bias are always 0.
pub(crate) fn history(
    title: &str,
    points: &[HistoryPoint],
    this_audit: &str,
    risk_only: bool,
) -> String {
    let plot = Plot { y_max: 1.0 };
    let mut out = String::new();
    let mut legend = vec![
        ("drift (0–1)", DRIFT_COLOR, false),
        ("bias (0–1)", BIAS_COLOR, false),
        ("risk ÷ 100", RISK_COLOR, false),
        ("this audit", "#718096", true),
    ];
    if this_audit.is_empty() {
        legend.pop();
    }
    if risk_only {
        legend.drain(..2);
    }
    frame(&mut out, title, "score", plot, &legend);
    let n = points.len().max(1);
    let step = (plot.x1() - plot.x0()) / n as f64;
    let x = |i: usize| plot.x0() + step * (i as f64 + 0.5);
    // Labels on at most ~12 points so that they stay readable.
    let every = n.div_ceil(12);
    for (i, p) in points.iter().enumerate() {
        if p.audit_id == this_audit {
            let _ = write!(
                out,
                r##"<line class="this-audit" x1="{xi:.1}" y1="{TOP:.1}" x2="{xi:.1}" y2="{b:.1}" stroke="#718096" stroke-dasharray="4 3"/>"##,
                xi = x(i),
                b = plot.bottom(),
            );
        }
        if i % every == 0 || p.audit_id == this_audit {
            x_label(&mut out, x(i) + 4.0, plot, &p.label);
        }
    }
    type Value = fn(&HistoryPoint) -> f64;
    let series: [(&str, &str, Value); 3] = [
        ("drift", DRIFT_COLOR, |p| p.drift),
        ("bias", BIAS_COLOR, |p| p.bias),
        ("risk ÷ 100", RISK_COLOR, |p| p.risk / 100.0),
    ];
    for (name, color, value) in series.into_iter().skip(if risk_only { 2 } else { 0 }) {
        let pts: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), plot.y(value(p))))
            .collect();
        if pts.len() > 1 {
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                pts.join(" ")
            );
        }
        for (i, p) in points.iter().enumerate() {
            let r = if p.audit_id == this_audit { 5.0 } else { 3.0 };
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{color}"><title>{} {}: {name} {:.3}</title></circle>"#,
                x(i),
                plot.y(value(p)),
                escape(&p.label),
                escape(&p.audit_id),
                value(p),
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, count: u64, positives: u64) -> GroupCount {
        GroupCount {
            name: name.into(),
            count,
            positives,
        }
    }

    #[test]
    fn four_fifths_is_relative_to_the_highest_scored_group() {
        let groups = [g("a", 100, 50), g("b", 100, 30), g("tiny", 5, 5)];
        // The tiny group's rate of 1.0 is not the reference: it is too small to be scored.
        let line = four_fifths(&groups, 30).expect("a scored group");
        assert!((line - 0.4).abs() < 1e-12, "{line}");
        assert_eq!(four_fifths(&groups[2..], 30), None);
    }

    #[test]
    fn the_line_is_drawn_at_its_rate_and_groups_below_are_highlighted() {
        let groups = [g("a", 100, 50), g("b", 100, 30), g("c", 100, 45)];
        let svg = selection_rates("t", &groups, 30);
        let plot = Plot { y_max: 0.5 };
        let expected = format!(
            r#"class="four-fifths" x1="{:.1}" y1="{:.1}""#,
            plot.x0(),
            plot.y(0.4)
        );
        assert!(svg.contains(&expected), "{svg}");
        assert_eq!(svg.matches(r#"class="below""#).count(), 1);
        assert_eq!(svg.matches(r#"class="ok""#).count(), 2);
    }

    #[test]
    fn y_scale_rounds_up_to_a_tenth() {
        assert_eq!(y_max_for(0.0), 0.1);
        assert_eq!(y_max_for(0.42), 0.5);
        assert_eq!(y_max_for(1.0), 1.0);
        assert_eq!(y_max_for(7.0), 1.0);
    }

    #[test]
    fn long_labels_are_shortened_and_escaped() {
        let svg = grouped_bars(
            "t",
            "share",
            &["<b>a-very-long-label-indeed</b>".to_owned()],
            &[Series {
                name: "current",
                color: CURRENT_COLOR,
                values: vec![0.5],
            }],
        );
        assert!(svg.contains("&lt;b&gt;a-very-long-la…"), "{svg}");
        assert!(!svg.contains("<b>"));
    }
}
