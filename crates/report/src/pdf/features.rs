//! The PDF's "most drifted input features" section: horizontal PSI bars for the top features,
//! then one line of figures for every feature.

use super::{MARGIN, W, Writer, rgb};
use crate::FeatureRow;

/// Features drawn as bars; all are listed in the lines under the chart.
const TOP: usize = 10;
/// PSI's customary bands: a moderate shift from 0.1, a large one from 0.25.
const MODERATE: f64 = 0.1;
const LARGE: f64 = 0.25;

pub(super) fn features(w: &mut Writer, rows: &[FeatureRow]) {
    if rows.is_empty() {
        return;
    }
    let top = &rows[..rows.len().min(TOP)];
    let row_h = 5.0;
    let h = row_h * top.len() as f32;
    w.room(h + 22.0);
    w.text(
        "Most drifted input features (PSI; dashed: 0.1 moderate, 0.25 large)",
        11.0,
        true,
    );
    let label_w = 45.0;
    let (x0, width) = (MARGIN + label_w, W - 2.0 * MARGIN - label_w - 18.0);
    let top_y = w.y - 3.0;
    let y0 = top_y - h;
    // The scale reaches past the large band so that both reference lines are always drawn.
    let max = top.iter().map(|f| f.psi).fold(LARGE * 1.6, f64::max);
    let x_of = |v: f64| x0 + (v.clamp(0.0, max) / max) as f32 * width;
    w.line(&[(x0, y0), (x0, top_y)], rgb(0.3, 0.3, 0.3), false);
    for band in [MODERATE, LARGE] {
        let x = x_of(band);
        w.line(&[(x, y0), (x, top_y)], rgb(0.5, 0.5, 0.5), true);
        w.label(&format!("{band}"), 6.5, x - 2.0, y0 - 3.5);
    }
    for (i, f) in top.iter().enumerate() {
        let y = top_y - row_h * (i as f32 + 1.0) + 1.0;
        let color = if f.psi >= LARGE {
            rgb(0.82, 0.2, 0.2)
        } else if f.psi >= MODERATE {
            rgb(0.95, 0.55, 0.1)
        } else {
            rgb(0.2, 0.45, 0.75)
        };
        w.bar(x0, y, x_of(f.psi) - x0, row_h * 0.6, color);
        w.label(&clip(&f.name, 28), 7.0, MARGIN, y + 0.5);
        w.label(&format!("{:.3}", f.psi), 7.0, x_of(f.psi) + 1.5, y + 0.5);
    }
    w.y = y0 - 6.0;
    for f in rows {
        w.text(&figures(f), 8.5, false);
    }
    w.gap(3.0);
}

/// One feature's figures as a line of text.
fn figures(f: &FeatureRow) -> String {
    let num =
        |name: &str, v: Option<f64>| v.map(|x| format!(", {name} {x:.3}")).unwrap_or_default();
    let p = f
        .p_value
        .map(|p| format!(", p {p:.2e}"))
        .unwrap_or_default();
    let shift = if f.largest_shift.is_empty() {
        String::new()
    } else {
        format!("; largest shift: {}", f.largest_shift)
    };
    format!(
        "{} ({}): PSI {:.3}, JS {:.3}{}{}{p}{shift}",
        f.name,
        f.kind,
        f.psi,
        f.js,
        num("KS", f.ks),
        num("Wasserstein (sd)", f.wasserstein_norm),
    )
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_name_every_statistic_present() {
        let f = FeatureRow {
            name: "amount".into(),
            kind: "numeric".into(),
            psi: 0.31,
            js: 0.05,
            ks: Some(0.2),
            wasserstein_norm: Some(0.6),
            p_value: Some(1e-9),
            largest_shift: "(120, 250]: 10% -> 18%".into(),
        };
        assert_eq!(
            figures(&f),
            "amount (numeric): PSI 0.310, JS 0.050, KS 0.200, Wasserstein (sd) 0.600, p 1.00e-9; largest shift: (120, 250]: 10% -> 18%"
        );
        let c = FeatureRow {
            name: "channel".into(),
            kind: "categorical".into(),
            ..FeatureRow::default()
        };
        assert_eq!(figures(&c), "channel (categorical): PSI 0.000, JS 0.000");
        assert_eq!(clip("abcdefgh", 6), "abc...");
        assert_eq!(clip("abc", 6), "abc");
    }
}
