//! The two-sample tests behind every finding above LOW, and the family-wise error control
//! that spans them (docs/metrics.md, "Decisions"). Each function works on plain counts so that
//! it can be checked against scipy (`tests/reference/make_reference.py`).

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Smallest expected count a cell of a 2×k table may have before its category is pooled with
/// others for the chi-square test (Cochran's rule).
pub const MIN_EXPECTED: f64 = 5.0;

/// Relative tolerance with which table probabilities count as "as extreme as observed" in the
/// exact test (R's `fisher.test` uses it; scipy uses 1e-14: the two differ only for tables whose
/// probability is within 1e-7 of the observed one's, and agree to 1e-9 on the fixtures).
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
    for down in [true, false] {
        let (mut w, mut x) = (1.0, mode);
        while (down && x > lo) || (!down && x < hi) {
            if down {
                w /= up((x - 1) as f64);
                x -= 1;
            } else {
                w *= up(x as f64);
                x += 1;
            }
            if w < 1e-300 {
                break;
            }
            total += w;
            weights.push((x, w));
            if x == observed {
                w_obs = w;
            }
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

/// [`ratio_below`] for the lowest and highest of `groups` groups, a pair chosen from the data:
/// the p-value bounds the probability that either orientation of the pair rejects at the
/// observed level (the reverse orientation's largest rejection probability is added), multiplied by the `groups · (groups − 1) / 2` pairs the choice
/// could have made (Bonferroni), so it is valid whatever the pair. Returns (z, p).
pub fn ratio_below_selected(lo: Rate, hi: Rate, line: f64, groups: usize) -> Option<(f64, f64)> {
    let (z, p) = ratio_below(lo.0, lo.1, hi.0, hi.1, line)?;
    let (_, se) = log_ratio(lo.0, lo.1, hi.0, hi.1);
    // Under H0 both orientations' ratios are ≥ line, so their true log ratios lie in
    // [ln line, −ln line]; at either end, the other orientation rejects at this level with at
    // most this probability.
    let reverse = Normal::standard().cdf(z + 2.0 * line.min(1.0).ln() / se);
    let g = groups.max(2) as f64;
    Some((z, ((p + reverse) * g * (g - 1.0) / 2.0).min(1.0)))
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

/// Binomial variance of a rate with one success and one failure added (Agresti–Caffo), so
/// that it is never zero: a rate of 0/30 is not known exactly.
fn var(r: Rate) -> f64 {
    let n = r.1 as f64 + 2.0;
    let p = (r.0 as f64 + 1.0) / n;
    p * (1.0 - p) / n
}

/// One-sided test that the gap between groups grew: H0: the largest gap between any two groups
/// in the current window is at most the largest in the baseline. `current` is the current
/// window's (lowest, highest) group; `baseline` the same `groups` groups' rates in the
/// baseline. The statistic is the change of the gap as reported, (hi − lo) now minus
/// (max − min) then. Its standard error takes the variances of the current pair and twice the
/// largest baseline variance (any baseline pair's is at most that); the current pair is chosen
/// from the data, so p is multiplied by the `groups · (groups − 1)` ordered pairs it could have
/// been (Bonferroni). Returns (change, z, p); `None` with an empty group or fewer than two.
pub fn gap_increase(
    current: (Rate, Rate),
    baseline: &[Rate],
    groups: usize,
) -> Option<(f64, f64, f64)> {
    let (lo, hi) = current;
    let all = || baseline.iter().chain([&lo, &hi]);
    if baseline.len() < 2 || all().any(|r| r.1 == 0 || r.0 > r.1) {
        return None;
    }
    let rates: Vec<f64> = baseline.iter().map(|r| share(*r)).collect();
    let base_gap = rates.iter().copied().fold(f64::MIN, f64::max)
        - rates.iter().copied().fold(f64::MAX, f64::min);
    let change = (share(hi) - share(lo)) - base_gap;
    let base_var = baseline.iter().map(|r| var(*r)).fold(0.0, f64::max);
    let se = (var(lo) + var(hi) + 2.0 * base_var).sqrt();
    let pairs = (groups.max(2) * (groups.max(2) - 1)) as f64;
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
