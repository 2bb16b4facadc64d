//! Fairness statistics per protected attribute and their candidate findings: the four-fifths
//! rule (is the selection-rate ratio significantly below the line?), and the growth of the
//! selection-rate and true-positive-rate gaps over the baseline.

use crate::decide::{Candidate, Family, Nested, beside};
use crate::hypothesis::{self, Rate};
use crate::stats;
use audit_domain::{FindingCategory, OTHER_KEY, Profile, Severity, TEXT_KEY, Thresholds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fairness statistics of one protected attribute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeBias {
    /// Demographic parity difference: max − min selection rate over scored groups.
    pub dpd: Option<f64>,
    /// Disparate-impact ratio: min / max selection rate (1 when max is 0).
    pub dir: Option<f64>,
    /// Equal-opportunity difference: max − min true-positive rate (needs ground truth).
    pub eod: Option<f64>,
    pub baseline_dpd: Option<f64>,
    pub baseline_dir: Option<f64>,
    pub baseline_eod: Option<f64>,
    /// Groups with at least `min_group_size` rows.
    pub groups_scored: Vec<String>,
    /// Groups reported but too small to score.
    pub groups_too_small: Vec<String>,
    /// The groups with the lowest and highest selection rate.
    pub min_group: Option<String>,
    pub max_group: Option<String>,
    /// Two-sided two-proportion z-test p-value between those two groups.
    pub p_value: Option<f64>,
    /// One-sided p-value of "the ratio is at least the four-fifths line" (log-ratio z-test).
    #[serde(default)]
    pub dir_p: Option<f64>,
    /// dpd − baseline dpd over the groups scored in both windows, and the one-sided p-value of
    /// "the gap did not grow".
    #[serde(default)]
    pub dpd_increase: Option<f64>,
    #[serde(default)]
    pub dpd_increase_p: Option<f64>,
    /// The same for the true-positive-rate gap (groups with `min_group_size` actual positives).
    #[serde(default)]
    pub eod_increase: Option<f64>,
    #[serde(default)]
    pub eod_increase_p: Option<f64>,
}

/// Selection and true-positive counts of one group.
#[derive(Debug, Clone)]
struct Group {
    name: String,
    selected: Rate,
    /// (true positives, actual positives).
    tpr: Rate,
}

fn rate(r: Rate) -> f64 {
    if r.1 == 0 {
        0.0
    } else {
        r.0 as f64 / r.1 as f64
    }
}

/// Groups of `attr` with at least `min` rows (scored), and the names of the smaller ones.
fn groups(p: &Profile, attr: &str, min: u64) -> (Vec<Group>, Vec<String>) {
    let mut scored = Vec::new();
    let mut small = Vec::new();
    for (g, s) in p.groups.get(attr).into_iter().flat_map(|m| m.iter()) {
        if g == OTHER_KEY || g == TEXT_KEY {
            continue;
        }
        if s.count >= min && s.count > 0 {
            scored.push(Group {
                name: g.clone(),
                selected: (s.positives, s.count),
                tpr: (s.confusion.tp, s.confusion.tp + s.confusion.fn_),
            });
        } else {
            small.push(g.clone());
        }
    }
    (scored, small)
}

fn extremes<F: Fn(&Group) -> f64>(g: &[Group], key: F) -> Option<(&Group, &Group)> {
    let lo = g.iter().min_by(|a, b| key(a).total_cmp(&key(b)))?;
    let hi = g.iter().max_by(|a, b| key(a).total_cmp(&key(b)))?;
    Some((lo, hi))
}

struct Gaps {
    dpd: Option<f64>,
    dir: Option<f64>,
    eod: Option<f64>,
}

fn gaps(scored: &[Group]) -> Gaps {
    let none = Gaps {
        dpd: None,
        dir: None,
        eod: None,
    };
    if scored.len() < 2 {
        return none;
    }
    let Some((lo, hi)) = extremes(scored, |g| rate(g.selected)) else {
        return none;
    };
    let (l, h) = (rate(lo.selected), rate(hi.selected));
    let with_tpr = scored.iter().all(|g| g.tpr.1 > 0);
    let eod = with_tpr
        .then(|| extremes(scored, |g| rate(g.tpr)))
        .flatten()
        .map(|(lo, hi)| rate(hi.tpr) - rate(lo.tpr));
    Gaps {
        dpd: Some(h - l),
        dir: Some(if h == 0.0 { 1.0 } else { l / h }),
        eod,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The growth of a gap between the groups of both windows, tested: (increase, p, lo, hi,
/// current gap, baseline gap).
struct Growth {
    increase: f64,
    p: Option<f64>,
    lo: String,
    hi: String,
    current: f64,
    baseline: f64,
}

fn growth(
    cur: &[Group],
    base: &[Group],
    pick: impl Fn(&Group) -> Rate,
    min: u64,
) -> Option<Growth> {
    // Only groups that are large enough in both windows are compared.
    let both: Vec<(&Group, &Group)> = cur
        .iter()
        .filter(|g| pick(g).1 >= min)
        .filter_map(|g| {
            base.iter()
                .find(|b| b.name == g.name && pick(b).1 >= min)
                .map(|b| (g, b))
        })
        .collect();
    if both.len() < 2 {
        return None;
    }
    let r = |g: &Group| rate(pick(g));
    let (lo, hi) = (
        both.iter().min_by(|a, b| r(a.0).total_cmp(&r(b.0)))?,
        both.iter().max_by(|a, b| r(a.0).total_cmp(&r(b.0)))?,
    );
    let base: Vec<Rate> = both.iter().map(|p| pick(p.1)).collect();
    let (increase, _, p) = hypothesis::gap_increase((pick(lo.0), pick(hi.0)), &base, both.len())?;
    let current = r(hi.0) - r(lo.0);
    Some(Growth {
        increase,
        p: Some(p),
        lo: lo.0.name.clone(),
        hi: hi.0.name.clone(),
        current,
        baseline: current - increase,
    })
}

/// The fairness statistics of every attribute, their tests added to `family` and their
/// candidate findings to `out`.
pub fn assess(
    current: &Profile,
    baseline: Option<&Profile>,
    t: &Thresholds,
    family: &mut Family,
    out: &mut Vec<Candidate>,
) -> BTreeMap<String, AttributeBias> {
    let mut all = BTreeMap::new();
    for attr in current.groups.keys() {
        let (scored, small) = groups(current, attr, t.min_group_size);
        let base = baseline.map(|b| groups(b, attr, t.min_group_size).0);
        let g = gaps(&scored);
        let bg = base.as_deref().map(gaps);
        let ext = extremes(&scored, |g| rate(g.selected));
        let mut a = AttributeBias {
            dpd: g.dpd,
            dir: g.dir,
            eod: g.eod,
            baseline_dpd: bg.as_ref().and_then(|b| b.dpd),
            baseline_dir: bg.as_ref().and_then(|b| b.dir),
            baseline_eod: bg.as_ref().and_then(|b| b.eod),
            groups_scored: scored.iter().map(|s| s.name.clone()).collect(),
            groups_too_small: small,
            min_group: ext.map(|e| e.0.name.clone()),
            max_group: ext.map(|e| e.1.name.clone()),
            p_value: ext.and_then(|(lo, hi)| {
                let f = |r: Rate| (r.0 as f64, r.1 as f64);
                let ((x1, n1), (x2, n2)) = (f(lo.selected), f(hi.selected));
                stats::two_proportion_p(x1, n1, x2, n2)
            }),
            dir_p: None,
            dpd_increase: None,
            dpd_increase_p: None,
            eod_increase: None,
            eod_increase_p: None,
        };
        if let (Some((lo, hi)), Some(dir)) = (ext, g.dir) {
            four_fifths(attr, lo, hi, dir, a.baseline_dir, t, family, out, &mut a);
        }
        if let Some(base) = &base {
            let sel = growth(&scored, base, |g| g.selected, t.min_group_size);
            if let Some(gr) = sel {
                (a.dpd_increase, a.dpd_increase_p) = (Some(gr.increase), gr.p);
                push_growth(attr, &gr, GapKind::Selection, t, family, out);
            }
            let tpr = growth(&scored, base, |g| g.tpr, t.min_group_size);
            if let Some(gr) = tpr {
                (a.eod_increase, a.eod_increase_p) = (Some(gr.increase), gr.p);
                push_growth(attr, &gr, GapKind::TruePositive, t, family, out);
            }
        }
        all.insert(attr.clone(), a);
    }
    all
}

#[allow(clippy::too_many_arguments)]
fn four_fifths(
    attr: &str,
    lo: &Group,
    hi: &Group,
    dir: f64,
    baseline_dir: Option<f64>,
    t: &Thresholds,
    family: &mut Family,
    out: &mut Vec<Candidate>,
    a: &mut AttributeBias,
) {
    // `dir.high = 0` switches the absolute rule off; a ratio needs a selected top group.
    if t.dir.high <= 0.0 || hi.selected.0 == 0 {
        return;
    }
    let groups = a.groups_scored.len();
    let Some((z, p)) =
        hypothesis::ratio_below_selected(lo.selected, hi.selected, t.dir.high, groups)
    else {
        return;
    };
    a.dir_p = Some(p);
    let hypothesis = |line: f64| {
        format!(
            "the selection rate of '{}' is at least {line} of that of '{}'",
            lo.name, hi.name
        )
    };
    let test = family.add(
        format!("bias.disparate_impact.{attr}"),
        hypothesis(t.dir.high),
        "log-ratio-z",
        Some(z),
        p,
    );
    // The CRITICAL line is a claim of its own, with its own place in the family.
    let critical = (t.dir.critical > 0.0)
        .then(|| hypothesis::ratio_below_selected(lo.selected, hi.selected, t.dir.critical, groups))
        .flatten()
        .map(|(z, p)| {
            family.add(
                format!("bias.disparate_impact_critical.{attr}"),
                hypothesis(t.dir.critical),
                "log-ratio-z",
                Some(z),
                p,
            )
        });
    let Some(band) = t.dir.classify(dir) else {
        return;
    };
    let nested = critical
        .filter(|_| band == Severity::Critical)
        .map(|test| Nested {
            test,
            fallback: Severity::High,
            why_not: format!("the ratio is not significantly below {:.2}", t.dir.critical),
        });
    let line = t.dir.high;
    out.push(Candidate {
        category: FindingCategory::Bias,
        rule_id: "bias.disparate_impact".into(),
        metric_name: format!("dir.{attr}"),
        band,
        test: Some(test),
        nested,
        baseline_value: baseline_dir,
        current_value: dir,
        description: format!(
            "Disparate impact on {attr}: selection rate of '{}' ({}) is {}× that of '{}' ({}), below the four-fifths line {line:.2}",
            lo.name,
            pct(rate(lo.selected)),
            beside(dir, &[line, t.dir.critical], 2),
            hi.name,
            pct(rate(hi.selected)),
        ),
    });
}

#[derive(Clone, Copy)]
enum GapKind {
    Selection,
    TruePositive,
}

fn push_growth(
    attr: &str,
    gr: &Growth,
    kind: GapKind,
    t: &Thresholds,
    family: &mut Family,
    out: &mut Vec<Candidate>,
) {
    let (rule, metric, bands, what) = match kind {
        GapKind::Selection => (
            "bias.dpd_increase",
            format!("dpd.{attr}"),
            t.dpd_increase,
            "Selection-rate",
        ),
        GapKind::TruePositive => (
            "bias.eod_increase",
            format!("eod.{attr}"),
            t.eod_increase,
            "True-positive-rate",
        ),
    };
    let Some(p) = gr.p else { return };
    let test = family.add(
        format!("{rule}.{attr}"),
        format!(
            "the {} gap between '{}' and '{}' did not grow",
            what.to_lowercase(),
            gr.hi,
            gr.lo
        ),
        "gap-increase-z",
        None,
        p,
    );
    let Some(band) = bands.classify(gr.increase) else {
        return;
    };
    out.push(Candidate {
        category: FindingCategory::Bias,
        rule_id: rule.into(),
        metric_name: metric,
        band,
        test: Some(test),
        nested: None,
        baseline_value: Some(gr.baseline),
        current_value: gr.current,
        description: format!(
            "{what} gap on {attr} grew from {:.3} to {:.3} (+{}); now highest '{}', lowest '{}'",
            gr.baseline,
            gr.current,
            beside(gr.increase, &[bands.medium, bands.high, bands.critical], 3),
            gr.hi,
            gr.lo
        ),
    });
}
