//! The populations the benchmark draws windows from: each shape is a baseline population and
//! a current population (the same one for the "unchanged" shapes).

use rand::Rng;
use rand_distr::{Beta, Distribution};

/// One population: labels, confidence, groups with their selection and true-positive rates.
#[derive(Debug, Clone)]
pub struct Population {
    pub labels: Vec<(&'static str, f64)>,
    pub confidence: Beta<f64>,
    /// (group name, share of rows, selection rate among actual negatives, among actual
    /// positives). Without ground truth only the average of the two matters.
    pub groups: Vec<(&'static str, f64, f64, f64)>,
    /// Share of actual positives, when ground truth is recorded.
    pub ground_truth: Option<f64>,
    /// Input features: `Some(shift)` adds ten numeric (five log-normal, five normal) and ten
    /// categorical features, moved by `shift` standard deviations (categories: `0.3·shift` of
    /// the first category's share moves to the last).
    pub features: Option<f64>,
}

/// Numeric and categorical features of each window with features.
pub const FEATURES: usize = 10;
const CHANNELS: [(&str, f64); 5] = [("a", 0.4), ("b", 0.3), ("c", 0.15), ("d", 0.1), ("e", 0.05)];

impl Population {
    /// One row's feature values (`FEATURES` numeric, `FEATURES` categorical).
    pub fn features<R: Rng>(
        &self,
        rng: &mut R,
        numeric: &mut Vec<f64>,
        categorical: &mut Vec<&'static str>,
    ) {
        numeric.clear();
        categorical.clear();
        let Some(shift) = self.features else { return };
        for i in 0..FEATURES {
            let z: f64 = rand_distr::StandardNormal.sample(rng);
            numeric.push(if i % 2 == 0 {
                (3.0 + 0.8 * (z + shift)).exp()
            } else {
                10.0 * i as f64 + (1.0 + i as f64) * (z + shift)
            });
        }
        let mut w = CHANNELS;
        w[0].1 -= 0.3 * shift * w[0].1;
        w[4].1 += 0.3 * shift * CHANNELS[0].1;
        for _ in 0..FEATURES {
            categorical.push(*pick(rng, &w));
        }
    }
}

/// A benchmark case: what the baseline and current windows are drawn from, how the
/// current window compares in size, and what counts as "found".
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: &'static str,
    pub about: &'static str,
    pub baseline: Population,
    pub current: Population,
    /// Baseline rows per current row.
    pub baseline_factor: u64,
    /// For shifted shapes: the rule ids whose finding at HIGH or worse counts as found.
    pub target: Option<Vec<&'static str>>,
    /// The current window's ground truth is not recorded (drawn, then dropped), so its accuracy
    /// is estimated from the baseline's accuracy per confidence bin.
    pub unlabelled_current: bool,
}

fn beta(a: f64, b: f64) -> Beta<f64> {
    // Both parameters are positive constants of this file.
    Beta::new(a, b).unwrap_or_else(|_| unreachable!("valid Beta parameters"))
}

const THREE: [(&str, f64); 3] = [("approve", 0.5), ("review", 0.3), ("deny", 0.2)];

fn twelve() -> Vec<(&'static str, f64)> {
    // A long tail: shares fall by half from one label to the next, down to 0.02 %.
    const NAMES: [&str; 12] = [
        "c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11",
    ];
    let w: Vec<f64> = (0..12).map(|i| 0.5f64.powi(i)).collect();
    let total: f64 = w.iter().sum();
    NAMES.iter().zip(w).map(|(n, w)| (*n, w / total)).collect()
}

fn plain(groups: Vec<(&'static str, f64, f64, f64)>, gt: Option<f64>) -> Population {
    Population {
        labels: THREE.to_vec(),
        confidence: beta(5.0, 2.0),
        groups,
        ground_truth: gt,
        features: None,
    }
}

fn same(name: &'static str, about: &'static str, p: Population, factor: u64) -> Shape {
    Shape {
        name,
        about,
        baseline: p.clone(),
        current: p,
        baseline_factor: factor,
        target: None,
        unlabelled_current: false,
    }
}

fn label_shift(name: &'static str, about: &'static str, q: [f64; 3]) -> Shape {
    let one = vec![("a", 1.0, 0.5, 0.5)];
    Shape {
        name,
        about,
        baseline: plain(one.clone(), None),
        current: Population {
            labels: vec![("approve", q[0]), ("review", q[1]), ("deny", q[2])],
            ..plain(one, None)
        },
        baseline_factor: 1,
        target: Some(vec!["drift.psi_label", "drift.js_label"]),
        unlabelled_current: false,
    }
}

/// Every shape of the benchmark: unchanged ones first, then the shifts that must be found.
pub fn all() -> Vec<Shape> {
    let two_equal = vec![("a", 0.5, 0.5, 0.5), ("b", 0.5, 0.5, 0.5)];
    let four_small = vec![
        ("a", 0.45, 0.3, 0.7),
        ("b", 0.3, 0.3, 0.7),
        ("c", 0.2, 0.3, 0.7),
        ("d", 0.05, 0.3, 0.7),
    ];
    let compliant = vec![("a", 0.5, 0.35, 0.75), ("b", 0.5, 0.25, 0.65)];
    let skewed = Population {
        labels: twelve(),
        // Most mass near 1: the low confidence bins are rare.
        confidence: beta(12.0, 1.5),
        groups: four_small.clone(),
        ground_truth: Some(0.3),
        features: None,
    };
    let parity = vec![("a", 0.5, 0.6, 0.6), ("b", 0.5, 0.6, 0.6)];
    let gap = vec![("a", 0.5, 0.6, 0.6), ("b", 0.5, 0.4, 0.4)];
    vec![
        same(
            "3 labels, 2 equal groups",
            "3 labels, Beta(5,2) confidence, outcome independent of two equal groups",
            plain(two_equal.clone(), None),
            1,
        ),
        same(
            "3 labels, 2 groups, ground truth",
            "the same with ground truth (40 % positives)",
            plain(two_equal, Some(0.4)),
            1,
        ),
        same(
            "12 labels, skewed, 4 groups",
            "12 labels halving in share (rarest 0.02 %), Beta(12,1.5) confidence with rare low bins, 4 groups (one of 5 %), ground truth",
            skewed.clone(),
            1,
        ),
        same(
            "4 groups incl. a small one",
            "3 labels, 4 groups of 45/30/20/5 %, equal rates, ground truth",
            plain(four_small, Some(0.3)),
            1,
        ),
        same(
            "unchanged compliant gap",
            "2 groups selected at 55 % and 45 % (ratio 0.82) in both windows, ground truth",
            plain(compliant.clone(), Some(0.5)),
            1,
        ),
        same(
            "4 groups on the four-fifths line",
            "3 labels, 4 equal groups, two selected at 50 % and two at 40 % (ratio exactly 0.80) in both windows",
            plain(
                vec![
                    ("a", 0.25, 0.5, 0.5),
                    ("b", 0.25, 0.5, 0.5),
                    ("c", 0.25, 0.4, 0.4),
                    ("d", 0.25, 0.4, 0.4),
                ],
                None,
            ),
            1,
        ),
        same(
            "8 groups on the four-fifths line",
            "3 labels, 8 equal groups, four selected at 50 % and four at 40 % (ratio exactly 0.80) in both windows",
            plain(
                ["a", "b", "c", "d", "e", "f", "g", "h"]
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        (
                            *g,
                            0.125,
                            if i < 4 { 0.5 } else { 0.4 },
                            if i < 4 { 0.5 } else { 0.4 },
                        )
                    })
                    .collect(),
                None,
            ),
            1,
        ),
        Shape {
            unlabelled_current: true,
            ..same(
                "ground truth in the baseline only",
                "3 labels, Beta(5,2) confidence, 2 equal groups; ground truth (50 % positives) recorded in the baseline and not in the current window: its accuracy is estimated",
                plain(vec![("a", 0.5, 0.3, 0.7), ("b", 0.5, 0.3, 0.7)], Some(0.5)),
                1,
            )
        },
        Shape {
            unlabelled_current: true,
            ..same(
                "ground truth in the baseline only, skewed",
                "12 labels, Beta(12,1.5) confidence with rare low bins (some with no labelled baseline row: the fallback), 4 groups; ground truth in the baseline only",
                Population {
                    groups: vec![
                        ("a", 0.45, 0.3, 0.7),
                        ("b", 0.3, 0.3, 0.7),
                        ("c", 0.2, 0.3, 0.7),
                        ("d", 0.05, 0.3, 0.7),
                    ],
                    ground_truth: Some(0.5),
                    ..skewed.clone()
                },
                1,
            )
        },
        same(
            "baseline 10× the window",
            "the compliant gap again, with a baseline ten times the current window",
            plain(compliant, Some(0.5)),
            10,
        ),
        label_shift(
            "label shift (PSI 0.29)",
            "labels 50/30/20 % → 28/30/42 % (population PSI 0.29, 0.04 above the HIGH edge)",
            [0.28, 0.30, 0.42],
        ),
        label_shift(
            "label shift (PSI 0.38)",
            "labels 50/30/20 % → 25/30/45 % (population PSI 0.38)",
            [0.25, 0.30, 0.45],
        ),
        Shape {
            name: "selection ratio 0.67",
            about: "2 equal groups at parity (60 %) in the baseline; 60 % vs 40 % now (ratio 0.67)",
            baseline: plain(parity.clone(), None),
            current: plain(gap, None),
            baseline_factor: 1,
            target: Some(vec!["bias.disparate_impact", "bias.dpd_increase"]),
            unlabelled_current: false,
        },
        same(
            "features unchanged",
            "20 input features (10 numeric, 5 of them heavy-tailed; 10 categorical), one population",
            Population {
                features: Some(0.0),
                ..plain(vec![("a", 0.5, 0.6, 0.6), ("b", 0.5, 0.6, 0.6)], None)
            },
            1,
        ),
        Shape {
            name: "features shifted 0.6 σ",
            about: "the same 20 features, every one moved by 0.6 σ (categories: 7 % of rows from the first category to the last)",
            baseline: Population {
                features: Some(0.0),
                ..plain(vec![("a", 0.5, 0.6, 0.6), ("b", 0.5, 0.6, 0.6)], None)
            },
            current: Population {
                features: Some(0.6),
                ..plain(vec![("a", 0.5, 0.6, 0.6), ("b", 0.5, 0.6, 0.6)], None)
            },
            baseline_factor: 1,
            target: Some(vec!["drift.feature_psi", "drift.feature_js"]),
            unlabelled_current: false,
        },
        Shape {
            name: "selection ratio 0.67 (high rates)",
            about: "2 equal groups at 90 % in the baseline; 90 % vs 60 % now (ratio 0.67)",
            baseline: plain(vec![("a", 0.5, 0.9, 0.9), ("b", 0.5, 0.9, 0.9)], None),
            current: plain(vec![("a", 0.5, 0.9, 0.9), ("b", 0.5, 0.6, 0.6)], None),
            baseline_factor: 1,
            target: Some(vec!["bias.disparate_impact", "bias.dpd_increase"]),
            unlabelled_current: false,
        },
        Shape {
            name: "accuracy 0.80 → 0.70",
            about: "2 equal groups, ground truth (50 % positives); selected at 20 % of actual negatives and 80 % of positives (accuracy 0.80) in the baseline, 30 % and 70 % now (accuracy 0.70, outcome rate unchanged)",
            baseline: plain(vec![("a", 0.5, 0.2, 0.8), ("b", 0.5, 0.2, 0.8)], Some(0.5)),
            current: plain(vec![("a", 0.5, 0.3, 0.7), ("b", 0.5, 0.3, 0.7)], Some(0.5)),
            baseline_factor: 1,
            target: Some(vec!["risk.accuracy_drop"]),
            unlabelled_current: false,
        },
    ]
}

/// Draws from a discrete distribution given as (item, share) pairs.
pub fn pick<'a, T, R: Rng>(rng: &mut R, items: &'a [(T, f64)]) -> &'a T {
    let mut u: f64 = rng.random();
    for (item, w) in items {
        if u < *w {
            return item;
        }
        u -= w;
    }
    &items[items.len() - 1].0
}

impl Population {
    /// One row: (label, confidence, outcome, ground truth, group).
    pub fn row<R: Rng>(
        &self,
        rng: &mut R,
    ) -> (&'static str, f64, bool, Option<bool>, &'static str) {
        let label = *pick(rng, &self.labels);
        let confidence = self.confidence.sample(rng);
        let mut u: f64 = rng.random();
        let mut group = self.groups[self.groups.len() - 1];
        for g in &self.groups {
            if u < g.1 {
                group = *g;
                break;
            }
            u -= g.1;
        }
        let actual = self.ground_truth.map(|p| rng.random::<f64>() < p);
        let rate = match actual {
            Some(true) => group.3,
            Some(false) => group.2,
            None => (group.2 + group.3) / 2.0,
        };
        let outcome = rng.random::<f64>() < rate;
        (label, confidence, outcome, actual, group.0)
    }
}
