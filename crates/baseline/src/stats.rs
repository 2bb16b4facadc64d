//! The statistics of DESIGN.md §3, on plain slices so they can be checked against scipy.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Proportions are floored at this value before PSI (the tests work on counts, unfloored).
pub const PROPORTION_FLOOR: f64 = 1e-4;

/// Counts → proportions (all zeros when the total is 0).
pub fn proportions(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    if total > 0.0 {
        counts.iter().map(|c| c / total).collect()
    } else {
        vec![0.0; counts.len()]
    }
}

/// Population stability index Σ (q − p) · ln(q / p), proportions floored at 1e-4, not renormalised.
pub fn psi(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(p, q)| {
            let (p, q) = (p.max(PROPORTION_FLOOR), q.max(PROPORTION_FLOOR));
            (q - p) * (q / p).ln()
        })
        .sum()
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else if y > 0.0 {
        x * (x / y).ln()
    } else {
        f64::INFINITY
    }
}

/// Jensen–Shannon distance with log base 2, in [0, 1]; equals
/// `scipy.spatial.distance.jensenshannon(p, q, base=2)`.
pub fn js_distance(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if sp <= 0.0 || sq <= 0.0 {
        return 0.0;
    }
    let mut div = 0.0;
    for (p, q) in p.iter().zip(q) {
        let (p, q) = (p / sp, q / sq);
        let m = (p + q) / 2.0;
        div += rel_entr(p, m) + rel_entr(q, m);
    }
    let js = (div / 2.0 / std::f64::consts::LN_2).max(0.0);
    js.sqrt().min(1.0)
}

/// Two-sided two-proportion z-test with pooled variance; `None` when undefined.
pub fn two_proportion_p(x1: f64, n1: f64, x2: f64, n2: f64) -> Option<f64> {
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let pool = (x1 + x2) / (n1 + n2);
    let se = (pool * (1.0 - pool) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let diff = x2 / n2 - x1 / n1;
    if se == 0.0 {
        return Some(if diff == 0.0 { 1.0 } else { 0.0 });
    }
    let z = diff / se;
    let normal = Normal::standard();
    Some(2.0 * normal.sf(z.abs()))
}

/// Two-sided Welch t-test from (n, mean, sample variance) summaries; `None` when undefined.
pub fn welch_p(n1: f64, m1: f64, v1: f64, n2: f64, m2: f64, v2: f64) -> Option<f64> {
    if n1 < 2.0 || n2 < 2.0 {
        return None;
    }
    let (a, b) = (v1 / n1, v2 / n2);
    let se2 = a + b;
    if se2 <= 0.0 {
        return Some(if m1 == m2 { 1.0 } else { 0.0 });
    }
    let t = (m2 - m1) / se2.sqrt();
    let df = se2 * se2 / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(2.0 * dist.sf(t.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_distributions_are_zero() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(psi(&p, &p), 0.0);
        assert_eq!(js_distance(&p, &p), 0.0);
    }

    #[test]
    fn disjoint_distributions_have_js_one() {
        assert!((js_distance(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn known_values() {
        // scipy.spatial.distance.jensenshannon([0.5,0.5],[0.9,0.1], base=2)
        assert!((js_distance(&[0.5, 0.5], &[0.9, 0.1]) - 0.3831358798599423).abs() < 1e-12);
    }
}
