//! The two-sample tests behind every finding above LOW, and the family-wise error control
//! that spans them (docs/metrics.md, "Decisions"). Each function works on plain counts so that
//! it can be checked against scipy (`tests/reference/make_reference.py`).

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Smallest expected count a cell of a 2×k table may have before its category is pooled with
/// others for the chi-square test (Cochran's rule).
pub const MIN_EXPECTED: f64 = 5.0;

/// Relative tolerance with which table probabilities count as "as extreme as observed" in the
/// exact test; the value scipy's `fisher_exact` uses.
const FISHER_RELATIVE_TOLERANCE: f64 = 1e-7;

/// The result of a test of homogeneity of two count vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homogeneity {
    /// `chi-square` or `fisher-exact`.
    pub method: &'static str,
    /// The Pearson statistic (for the exact test, of the same 2×2 table).
    pub statistic: f64,
    /// Degrees of freedom after pooling (categories tested − 1).
    pub df: f64,
    pub p_value: f64,
    /// Categories left after pooling sparse ones.
    pub categories: usize,
}

/// The non-empty columns of the 2×k table with rows `a` and `b`, and the two row totals.
fn columns(a: &[f64], b: &[f64]) -> (Vec<(f64, f64)>, f64, f64) {
    let cols: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x, *y))
        .filter(|(x, y)| x + y > 0.0)
        .collect();
    let (ra, rb) = cols.iter().fold((0.0, 0.0), |s, c| (s.0 + c.0, s.1 + c.1));
    (cols, ra, rb)
}

/// Pearson chi-square statistic, degrees of freedom and p-value of the 2×k contingency table
/// with rows `a` and `b`, without continuity correction; equals
/// `scipy.stats.chi2_contingency([a, b], correction=False)`. Columns empty in both rows are
/// dropped; `None` when fewer than two columns or an empty row remain.
pub fn chi2_contingency(a: &[f64], b: &[f64]) -> Option<(f64, f64, f64)> {
    let (cols, ra, rb) = columns(a, b);
    let n = ra + rb;
    if cols.len() < 2 || ra <= 0.0 || rb <= 0.0 {
        return None;
    }
    let mut stat = 0.0;
    for (x, y) in &cols {
        let col = x + y;
        let (ea, eb) = (ra * col / n, rb * col / n);
        stat += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb;
    }
    let df = (cols.len() - 1) as f64;
    let p = ChiSquared::new(df).ok().map_or(f64::NAN, |d| d.sf(stat));
    Some((stat, df, p))
}

/// Two-sided p-value of Fisher's exact test of the 2×2 table `[[a, b], [c, d]]`; equals
/// `scipy.stats.fisher_exact([[a, b], [c, d]]).pvalue`.
///
/// The hypergeometric probabilities are walked outward from the mode by their ratio
/// recurrence, relative to the mode, so no factorial is formed and the cost grows with the
/// spread of the distribution (about its standard deviation), not with the counts.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    // Rows: (a, b) and (c, d); x = the top-left cell, hypergeometric with
    // population N, K = first-column total, draws = first-row total.
    let (row1, col1, n) = (a + b, a + c, a + b + c + d);
    if n == 0 || row1 == 0 || row1 == n || col1 == 0 || col1 == n {
        return 1.0;
    }
    let lo = (row1 + col1).saturating_sub(n);
    let hi = row1.min(col1);
    let (r, k, nf) = (row1 as f64, col1 as f64, n as f64);
    // P(x + 1) / P(x) for the hypergeometric distribution.
    let up = |x: f64| (k - x) * (r - x) / ((x + 1.0) * (nf - k - r + x + 1.0));
    let mode = (((r + 1.0) * (k + 1.0) / (nf + 2.0)).floor() as u64).clamp(lo, hi);
    let observed = a;
    // Weights relative to the mode (weight 1), walked down and up until they vanish.
    let mut total = 1.0;
    let mut w_obs = if observed == mode { 1.0 } else { f64::NAN };
    let mut weights: Vec<(u64, f64)> = vec![(mode, 1.0)];
    let mut w = 1.0;
    let mut x = mode;
    while x > lo {
        w /= up((x - 1) as f64);
        x -= 1;
        if w < 1e-300 {
            break;
        }
        total += w;
        weights.push((x, w));
        if x == observed {
            w_obs = w;
        }
    }
    let (mut w, mut x) = (1.0, mode);
    while x < hi {
        w *= up(x as f64);
        x += 1;
        if w < 1e-300 {
            break;
        }
        total += w;
        weights.push((x, w));
        if x == observed {
            w_obs = w;
        }
    }
    if w_obs.is_nan() {
        // The observed table is too far in a tail to be represented: p is below 1e-300.
        return 0.0;
    }
    let bound = w_obs * (1.0 + FISHER_RELATIVE_TOLERANCE);
    let extreme: f64 = weights
        .iter()
        .filter(|(_, w)| *w <= bound)
        .map(|(_, w)| w)
        .sum();
    (extreme / total).min(1.0)
}

/// Test that the category counts `a` (baseline) and `b` (current) come from one distribution.
///
/// Categories are pooled until every expected count is at least [`MIN_EXPECTED`], the
/// smallest (by combined count, ties by position) merged first, so the chi-square
/// approximation holds at any size. Two categories left: Fisher's exact test; more: the
/// chi-square test of homogeneity. `None` when nothing can be tested (an empty side, or a
/// single category).
pub fn homogeneity(a: &[f64], b: &[f64]) -> Option<Homogeneity> {
    let (mut cols, ra, rb) = columns(a, b);
    let n = ra + rb;
    if ra <= 0.0 || rb <= 0.0 {
        return None;
    }
    let expected_ok = |c: &(f64, f64)| (c.0 + c.1) * ra.min(rb) / n >= MIN_EXPECTED;
    // Stable sort by combined count: ties keep their original order, so pooling is
    // deterministic.
    cols.sort_by(|x, y| (x.0 + x.1).total_cmp(&(y.0 + y.1)));
    while cols.len() > 2 && !expected_ok(&cols[0]) {
        let first = cols.remove(0);
        cols[0].0 += first.0;
        cols[0].1 += first.1;
        cols.sort_by(|x, y| (x.0 + x.1).total_cmp(&(y.0 + y.1)));
    }
    if cols.len() < 2 {
        return None;
    }
    let (xa, xb): (Vec<f64>, Vec<f64>) = cols.iter().copied().unzip();
    let (statistic, df, chi_p) = chi2_contingency(&xa, &xb)?;
    if cols.len() == 2 {
        let p = fisher_exact(
            xa[0].round() as u64,
            xa[1].round() as u64,
            xb[0].round() as u64,
            xb[1].round() as u64,
        );
        return Some(Homogeneity {
            method: "fisher-exact",
            statistic,
            df,
            p_value: p,
            categories: 2,
        });
    }
    Some(Homogeneity {
        method: "chi-square",
        statistic,
        df,
        p_value: chi_p,
        categories: cols.len(),
    })
}

/// One-sided test that the ratio of two selection rates, `lo = x_lo / n_lo` over
/// `hi = x_hi / n_hi`, is below `line` (H0: ratio ≥ line), on the log scale with the delta-
/// method standard error `√((1 − lo)/x_lo + (1 − hi)/x_hi)` (Katz). When a cell of the 2×2
/// table is empty, 0.5 is added to every cell (Haldane–Anscombe). Returns (z, p); `None`
/// when a group is empty or `line` is not positive.
///
/// `exp(ln(ratio) + z₁₋α · se)` is the one-sided upper confidence bound, the upper end of
/// `scipy.stats.contingency.relative_risk(x_lo, n_lo, x_hi, n_hi).confidence_interval(1 − 2α)`:
/// p < α exactly when that bound is below `line`.
pub fn ratio_below(x_lo: u64, n_lo: u64, x_hi: u64, n_hi: u64, line: f64) -> Option<(f64, f64)> {
    if n_lo == 0 || n_hi == 0 || line <= 0.0 || x_lo > n_lo || x_hi > n_hi {
        return None;
    }
    let (ln_ratio, se) = log_ratio(x_lo, n_lo, x_hi, n_hi);
    let z = (ln_ratio - line.ln()) / se;
    Some((z, Normal::standard().cdf(z)))
}

/// ln(lo / hi) and its standard error, corrected for empty cells (see [`ratio_below`]).
fn log_ratio(x_lo: u64, n_lo: u64, x_hi: u64, n_hi: u64) -> (f64, f64) {
    let empty = x_lo == 0 || x_hi == 0 || x_lo == n_lo || x_hi == n_hi;
    let k = if empty { 0.5 } else { 0.0 };
    let (a, na) = (x_lo as f64 + k, n_lo as f64 + 2.0 * k);
    let (c, nc) = (x_hi as f64 + k, n_hi as f64 + 2.0 * k);
    let ln_ratio = (a / na).ln() - (c / nc).ln();
    let se = (1.0 / a - 1.0 / na + 1.0 / c - 1.0 / nc).sqrt();
    (ln_ratio, se)
}

/// Upper `1 − alpha` confidence bound of the ratio lo / hi (see [`ratio_below`]).
pub fn ratio_upper_bound(x_lo: u64, n_lo: u64, x_hi: u64, n_hi: u64, alpha: f64) -> Option<f64> {
    if n_lo == 0 || n_hi == 0 || !(0.0..1.0).contains(&alpha) || alpha == 0.0 {
        return None;
    }
    let (ln_ratio, se) = log_ratio(x_lo, n_lo, x_hi, n_hi);
    let z = Normal::standard().inverse_cdf(1.0 - alpha);
    Some((ln_ratio + z * se).exp())
}

/// A rate as (successes, trials).
pub type Rate = (u64, u64);

fn share(r: Rate) -> f64 {
    r.0 as f64 / r.1 as f64
}

fn var(r: Rate) -> f64 {
    let p = share(r);
    p * (1.0 - p) / r.1 as f64
}

/// One-sided test that the gap between two groups grew: H0: (hi − lo) in the current window
/// ≤ (hi − lo) in the baseline, for the same two groups, with the binomial variance of all
/// four rates. The pair is the current window's lowest and highest of `groups` groups, a
/// choice made on the data, so the p-value is multiplied by the `groups · (groups − 1)`
/// ordered pairs it could have been (Bonferroni): valid whatever the pair. Returns
/// (change of the signed gap, z, p); `None` without variance or with an empty group.
pub fn gap_increase(
    cur_lo: Rate,
    cur_hi: Rate,
    base_lo: Rate,
    base_hi: Rate,
    groups: usize,
) -> Option<(f64, f64, f64)> {
    if [cur_lo, cur_hi, base_lo, base_hi]
        .iter()
        .any(|r| r.1 == 0 || r.0 > r.1)
    {
        return None;
    }
    let change = (share(cur_hi) - share(cur_lo)) - (share(base_hi) - share(base_lo));
    let se = (var(cur_lo) + var(cur_hi) + var(base_lo) + var(base_hi)).sqrt();
    let pairs = (groups.max(2) * (groups.max(2) - 1)) as f64;
    if se == 0.0 {
        let p = if change > 0.0 { 0.0 } else { 1.0 };
        return Some((change, if change > 0.0 { f64::INFINITY } else { 0.0 }, p));
    }
    let z = change / se;
    let p = (Normal::standard().sf(z) * pairs).min(1.0);
    Some((change, z, p))
}

/// Holm–Bonferroni adjusted p-values, in the input order: the i-th smallest p is multiplied
/// by (m − i + 1), then made monotone. Rejecting every hypothesis whose adjusted p is at most
/// α keeps the family-wise error rate at α under any dependence. Equals
/// `statsmodels.stats.multitest.multipletests(p, method="holm")[1]`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]).then(a.cmp(b)));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(v);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_known_values() {
        // scipy.stats.fisher_exact([[8, 2], [1, 5]]).pvalue
        assert!((fisher_exact(8, 2, 1, 5) - 0.03496503496503495).abs() < 1e-12);
        // A table at its mode has p = 1.
        assert!((fisher_exact(5, 5, 5, 5) - 1.0).abs() < 1e-12);
        // Symmetric under row and column swaps.
        let p = fisher_exact(30, 70, 45, 55);
        assert!((p - fisher_exact(45, 55, 30, 70)).abs() < 1e-12);
        assert!((p - fisher_exact(70, 30, 55, 45)).abs() < 1e-12);
    }

    #[test]
    fn homogeneity_pools_sparse_categories() {
        // Three sizeable categories and two nearly empty ones: the two are pooled with the
        // smallest sizeable one, leaving three; chi-square.
        let h = homogeneity(
            &[500.0, 480.0, 1.0, 2.0, 30.0],
            &[490.0, 470.0, 0.0, 3.0, 25.0],
        )
        .expect("h");
        assert_eq!(h.categories, 3);
        assert_eq!(h.method, "chi-square");
        // A 2-category table is tested exactly.
        let h = homogeneity(&[40.0, 60.0], &[55.0, 45.0]).expect("h");
        assert_eq!(h.method, "fisher-exact");
        assert!((h.p_value - fisher_exact(40, 60, 55, 45)).abs() < 1e-15);
        assert!(homogeneity(&[10.0], &[12.0]).is_none());
        assert!(homogeneity(&[0.0, 0.0], &[3.0, 4.0]).is_none());
    }

    #[test]
    fn ratio_test_agrees_with_its_bound() {
        let (x_lo, n_lo, x_hi, n_hi) = (200, 500, 300, 500);
        let (_, p) = ratio_below(x_lo, n_lo, x_hi, n_hi, 0.8).expect("test");
        let bound = ratio_upper_bound(x_lo, n_lo, x_hi, n_hi, p).expect("bound");
        assert!((bound - 0.8).abs() < 1e-9, "bound at alpha = p is the line");
    }

    #[test]
    fn holm_is_monotone_and_capped() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.5]);
        for (got, want) in adj.iter().zip([0.04, 0.09, 0.09, 0.5]) {
            assert!((got - want).abs() < 1e-15, "{adj:?}");
        }
    }
}
