//! Drift of the input features: per feature, statistics against the baseline and the tests and
//! candidates that join the audit's one family (Holm over every test of the audit, features
//! included, so that watching twenty columns does not buy twenty chances of a false alarm).
//!
//! Numeric features are compared through their quantile sketches: PSI, JS distance and the
//! chi-square test on ten bins whose edges are the baseline's deciles (bucket counts at or
//! below an edge are exact, so both sides are binned identically); the KS distance and the
//! Wasserstein-1 distance (raw, and divided by the baseline's standard deviation) from the
//! two quantile functions on [`GRID`] points. Categorical features are compared like labels.

use crate::decide::{Candidate, Family, beside};
use crate::{hypothesis, keys, stats};
use audit_domain::{CategoryCounts, FindingCategory, NumericFeature, Profile, Thresholds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Points of the quantile grid the KS and Wasserstein distances are computed on.
pub const GRID: usize = 1000;
/// Bins of the numeric PSI/JS/chi-square comparison (baseline deciles).
pub const BINS: usize = 10;

/// One feature's comparison, as the CLI and API show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// `numeric` or `categorical`.
    pub kind: String,
    /// Rows with a value (numeric) or with any key (categorical), per side.
    pub n_baseline: u64,
    pub n_current: u64,
    /// Missing (and, numeric, unparseable) share per side.
    pub missing_baseline: f64,
    pub missing_current: f64,
    pub psi: Option<f64>,
    pub js: Option<f64>,
    pub chi2: Option<f64>,
    pub chi2_df: Option<f64>,
    pub chi2_p: Option<f64>,
    /// Numeric only: the Kolmogorov–Smirnov distance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    /// Numeric only: Wasserstein-1 distance, in the feature's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein: Option<f64>,
    /// Numeric only: the Wasserstein distance in baseline standard deviations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein_norm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_current: Option<f64>,
    /// What moved most, in words.
    pub largest_shift: String,
}

/// Counts of both sides on shared bins, with their labels.
struct Binned {
    labels: Vec<String>,
    baseline: Vec<f64>,
    current: Vec<f64>,
    /// Categories with current rows and none in the baseline.
    new: Vec<String>,
}

fn fmt_num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e6).contains(&x.abs()) {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{x:.3e}")
    }
}

/// Ten bins at the baseline's deciles (fewer where deciles coincide: point masses, constant
/// columns); exact bucket counts on both sides.
fn decile_bins(b: &NumericFeature, c: &NumericFeature) -> Binned {
    let mut edges: Vec<f64> = (1..BINS)
        .filter_map(|i| b.sketch.quantile(i as f64 / BINS as f64))
        .collect();
    edges.dedup();
    let cumulative = |f: &NumericFeature| -> Vec<f64> {
        let mut out: Vec<f64> = edges.iter().map(|e| f.sketch.count_le(*e) as f64).collect();
        out.push(f.sketch.count() as f64);
        out
    };
    let (cb, cc) = (cumulative(b), cumulative(c));
    let diff = |cum: &[f64]| -> Vec<f64> {
        cum.iter()
            .scan(0.0, |prev, x| {
                let d = x - *prev;
                *prev = *x;
                Some(d)
            })
            .collect()
    };
    let mut labels = Vec::with_capacity(edges.len() + 1);
    let mut lower = "−∞".to_owned();
    for e in &edges {
        labels.push(format!("({lower}, {}]", fmt_num(*e)));
        lower = fmt_num(*e);
    }
    labels.push(format!("({lower}, ∞)"));
    Binned {
        labels,
        baseline: diff(&cb),
        current: diff(&cc),
        new: Vec::new(),
    }
}

/// KS distance and Wasserstein-1 from two quantile grids (sorted by construction).
fn distances(qb: &[f64], qc: &[f64]) -> (f64, f64) {
    let w = qb.iter().zip(qc).map(|(x, y)| (x - y).abs()).sum::<f64>() / qb.len() as f64;
    // F at x: the share of the grid at or below x (grid points are quantiles at (i + ½)/m).
    let cdf = |grid: &[f64], x: f64| grid.partition_point(|v| *v <= x) as f64 / grid.len() as f64;
    let ks = qb
        .iter()
        .chain(qc)
        .map(|x| (cdf(qb, *x) - cdf(qc, *x)).abs())
        .fold(0.0, f64::max);
    (ks, w)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn numeric(b: &NumericFeature, c: &NumericFeature) -> Option<(FeatureDrift, Binned)> {
    if b.sketch.count() == 0 || c.sketch.count() == 0 {
        return None;
    }
    let bins = decile_bins(b, c);
    let (qb, qc) = (b.sketch.quantile_grid(GRID), c.sketch.quantile_grid(GRID));
    let (ks, w) = distances(&qb, &qc);
    let sd = b.moments.population_variance().map(f64::sqrt);
    let (mb, mc) = (b.sketch.quantile(0.5), c.sketch.quantile(0.5));
    let d = FeatureDrift {
        kind: "numeric".into(),
        n_baseline: b.sketch.count(),
        n_current: c.sketch.count(),
        missing_baseline: share(b.missing + b.invalid, b.rows()),
        missing_current: share(c.missing + c.invalid, c.rows()),
        ks: Some(ks),
        wasserstein: Some(w),
        wasserstein_norm: match sd {
            Some(sd) if sd > 0.0 => Some(w / sd),
            _ if w == 0.0 => Some(0.0),
            _ => None,
        },
        median_baseline: mb,
        median_current: mc,
        largest_shift: match (mb, mc) {
            (Some(x), Some(y)) => format!("median {} → {}", fmt_num(x), fmt_num(y)),
            _ => String::new(),
        },
        ..FeatureDrift::default()
    };
    Some((d, bins))
}

fn categorical(b: &CategoryCounts, c: &CategoryCounts) -> Option<(FeatureDrift, Binned)> {
    if b.total() == 0 || c.total() == 0 {
        return None;
    }
    let a = keys::align(b, c);
    let missing = |x: &CategoryCounts| {
        share(
            x.get(audit_domain::MISSING_KEY).copied().unwrap_or(0),
            x.total(),
        )
    };
    let d = FeatureDrift {
        kind: "categorical".into(),
        n_baseline: b.total(),
        n_current: c.total(),
        missing_baseline: missing(b),
        missing_current: missing(c),
        ..FeatureDrift::default()
    };
    Some((
        d,
        Binned {
            labels: a.keys,
            baseline: a.baseline,
            current: a.current,
            new: a.new_in_current,
        },
    ))
}

/// Every feature both profiles hold: statistics, tests (one per feature, in the audit's
/// family) and candidates (PSI and JS in the drift bands, gated by that test).
pub fn assess(
    b: &Profile,
    c: &Profile,
    t: &Thresholds,
    fam: &mut Family,
    out: &mut Vec<Candidate>,
) -> BTreeMap<String, FeatureDrift> {
    let mut all = BTreeMap::new();
    let pairs = c
        .features
        .numeric
        .iter()
        .filter_map(|(name, cf)| {
            let bf = b.features.numeric.get(name)?;
            Some((name, numeric(bf, cf)?))
        })
        .chain(c.features.categorical.iter().filter_map(|(name, cc)| {
            let bc = b.features.categorical.get(name)?;
            Some((name, categorical(bc, cc)?))
        }))
        .collect::<Vec<_>>();
    for (name, (mut d, bins)) in pairs {
        let (p, q) = (
            stats::proportions(&bins.baseline),
            stats::proportions(&bins.current),
        );
        let psi = stats::psi(&p, &q);
        let js = stats::js_distance(&p, &q);
        let h = hypothesis::homogeneity(&bins.baseline, &bins.current);
        let test = h.map(|h| {
            fam.add(
                format!("drift.feature.{name}"),
                format!("baseline and current values of feature '{name}' are draws from one distribution"),
                h.method,
                Some(h.statistic),
                h.p_value,
            )
        });
        (d.psi, d.js) = (Some(psi), Some(js));
        (d.chi2, d.chi2_df, d.chi2_p) = (
            h.map(|h| h.statistic),
            h.map(|h| h.df),
            h.map(|h| h.p_value),
        );
        let bin_shift = crate::Distribution {
            keys: bins.labels,
            p: p.clone(),
            q: q.clone(),
            p_counts: Vec::new(),
            q_counts: Vec::new(),
            new: bins.new,
        }
        .largest_shift();
        d.largest_shift = if d.largest_shift.is_empty() {
            bin_shift
        } else {
            format!("{}; {bin_shift}", d.largest_shift)
        };
        for (stat, value, bands, label) in
            [("psi", psi, t.psi, "PSI"), ("js", js, t.js, "JS distance")]
        {
            let Some(band) = bands.classify(value) else {
                continue;
            };
            let extra = match (d.ks, d.wasserstein_norm) {
                (Some(ks), Some(w)) => format!(", KS {ks:.3}, Wasserstein {w:.3} σ"),
                (Some(ks), None) => format!(", KS {ks:.3}"),
                _ => String::new(),
            };
            out.push(Candidate {
                category: FindingCategory::Drift,
                rule_id: format!("drift.feature_{stat}"),
                metric_name: format!("{stat}_feature:{name}"),
                band,
                test,
                nested: None,
                baseline_value: Some(0.0),
                current_value: value,
                description: format!(
                    "Input feature '{name}' drifted from the baseline: {label} {}{extra}; {}",
                    beside(value, &[bands.medium, bands.high, bands.critical], 3),
                    d.largest_shift
                ),
            });
        }
        all.insert(name.clone(), d);
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use audit_domain::FeatureValue;

    fn feature(xs: impl IntoIterator<Item = f64>) -> NumericFeature {
        let mut f = NumericFeature::default();
        for x in xs {
            f.push(FeatureValue::Number(x));
        }
        f
    }

    #[test]
    fn identical_columns_do_not_drift_and_shifted_ones_do() {
        let xs: Vec<f64> = (0..5000).map(|i| f64::from(i % 500) * 0.2 + 10.0).collect();
        let (b, same) = (feature(xs.clone()), feature(xs.clone()));
        let (d, bins) = numeric(&b, &same).unwrap();
        assert_eq!(d.ks, Some(0.0));
        assert_eq!(d.wasserstein, Some(0.0));
        assert_eq!(bins.baseline, bins.current);
        let shifted = feature(xs.iter().map(|x| x + 20.0));
        let (d, _) = numeric(&b, &shifted).unwrap();
        // Uniform on [10, 110) moved by 20: F differs by 0.2 on the overlap.
        assert!((d.ks.unwrap() - 0.2).abs() < 0.01, "{d:?}");
        let w = d.wasserstein.unwrap();
        assert!((w - 20.0).abs() < 20.0 * 0.02, "{w}");
    }

    #[test]
    fn constant_columns_and_point_masses_bin_without_empty_edges() {
        let b = feature(std::iter::repeat_n(0.0, 100).chain((1..=100).map(f64::from)));
        let c = feature(std::iter::repeat_n(0.0, 150).chain((1..=50).map(f64::from)));
        let bins = decile_bins(&b, &c);
        assert_eq!(bins.baseline.iter().sum::<f64>(), 200.0);
        assert_eq!(bins.current.iter().sum::<f64>(), 200.0);
        assert_eq!(
            bins.baseline[0], 100.0,
            "the zeros are one bin: {:?}",
            bins.labels
        );
        assert_eq!(bins.current[0], 150.0);
        let k = feature(std::iter::repeat_n(7.0, 50));
        let (d, bins) = numeric(&k, &k).unwrap();
        assert_eq!(bins.labels.len(), 2, "{:?}", bins.labels);
        assert_eq!(d.wasserstein_norm, Some(0.0));
    }
}
