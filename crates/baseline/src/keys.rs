//! One key set per comparison: the categories of the baseline and the current window lined
//! up so that both sides are pooled the same way.
//!
//! A profile keeps at most [`MAX_CATEGORIES`] labels, the lexicographically smallest, and pools
//! the rest under [`OTHER_KEY`] (that rule is what keeps profiles exactly mergeable). Two
//! windows can therefore pool differently: a new label sorting early in the current window
//! pushes an old one, sorting late, into the current window's `__other__` only. Compared key
//! by key, that old label would seem to vanish. Here a key that one side keeps and the other
//! side may have pooled (it sorts after the other side's largest kept key, and that side did
//! pool) is pooled on both sides; a key the other side cannot have pooled is a real zero there,
//! and a label seen only in the current window is reported as new.

use audit_domain::{CategoryCounts, MAX_CATEGORIES, OTHER_KEY, TEXT_KEY};
use std::collections::BTreeSet;

/// Category counts of both windows over one key set.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    pub keys: Vec<String>,
    pub baseline: Vec<f64>,
    pub current: Vec<f64>,
    /// Labels with rows in the current window and none in the baseline.
    pub new_in_current: Vec<String>,
    /// Labels kept by one side that the other may have pooled, so pooled on both sides.
    pub pooled: Vec<String>,
}

/// Whether `side` may hold `key` inside its `__other__` count.
fn may_have_pooled(side: &CategoryCounts, key: &str) -> bool {
    let real = side
        .iter()
        .filter(|(k, _)| *k != OTHER_KEY && *k != TEXT_KEY)
        .count();
    if side.get(OTHER_KEY).is_none() || real < MAX_CATEGORIES {
        // No pooling happened (an `__other__` beside fewer kept keys is a literal label).
        return false;
    }
    // A side that pooled holds MAX_CATEGORIES real keys, the smallest it saw: a key sorting
    // before its largest kept key was either kept or never seen there.
    side.iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != OTHER_KEY && *k != TEXT_KEY)
        .max()
        .is_none_or(|largest| key > largest)
}

/// Lines up the label counts of the baseline `b` and the current window `c`.
pub fn align(b: &CategoryCounts, c: &CategoryCounts) -> Aligned {
    let all: BTreeSet<&String> = b.iter().chain(c.iter()).map(|(k, _)| k).collect();
    let mut keys = Vec::new();
    let (mut bc, mut cc) = (Vec::new(), Vec::new());
    let (mut other_b, mut other_c) = (0.0, 0.0);
    let mut pooled = Vec::new();
    let mut new_in_current = Vec::new();
    for k in all {
        let (vb, vc) = (b.get(k).copied(), c.get(k).copied());
        if k == OTHER_KEY {
            other_b += vb.unwrap_or(0) as f64;
            other_c += vc.unwrap_or(0) as f64;
            continue;
        }
        let ambiguous = match (vb, vc) {
            (Some(_), None) => may_have_pooled(c, k),
            (None, Some(_)) => may_have_pooled(b, k),
            _ => false,
        };
        if ambiguous {
            other_b += vb.unwrap_or(0) as f64;
            other_c += vc.unwrap_or(0) as f64;
            pooled.push(k.clone());
            continue;
        }
        if vb.is_none() && vc.is_some_and(|v| v > 0) {
            new_in_current.push(k.clone());
        }
        keys.push(k.clone());
        bc.push(vb.unwrap_or(0) as f64);
        cc.push(vc.unwrap_or(0) as f64);
    }
    if other_b > 0.0 || other_c > 0.0 {
        keys.push(OTHER_KEY.to_owned());
        bc.push(other_b);
        cc.push(other_c);
    }
    Aligned {
        keys,
        baseline: bc,
        current: cc,
        new_in_current,
        pooled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> CategoryCounts {
        let mut c = CategoryCounts::new();
        for (k, n) in pairs {
            *c.entry(k) += n;
        }
        c
    }

    #[test]
    fn identical_key_sets_are_kept() {
        let b = counts(&[("a", 5), ("b", 7)]);
        let c = counts(&[("a", 6), ("b", 4), ("c", 1)]);
        let a = align(&b, &c);
        assert_eq!(a.keys, ["a", "b", "c"]);
        assert_eq!(a.baseline, [5.0, 7.0, 0.0]);
        assert_eq!(a.current, [6.0, 4.0, 1.0]);
        assert_eq!(a.new_in_current, ["c"]);
        assert!(a.pooled.is_empty());
    }

    /// The case of the issue: one new rare label sorting first pushes the largest old label into
    /// the current window's `__other__`; aligned, that label is pooled on both sides and the
    /// new label is reported as new.
    #[test]
    fn a_new_label_does_not_hide_an_old_one() {
        let old: Vec<String> = (0..MAX_CATEGORIES).map(|i| format!("l{i:02}")).collect();
        let mut b = CategoryCounts::new();
        let mut c = CategoryCounts::new();
        for k in &old {
            *b.entry(k) += 100;
            *c.entry(k) += 100;
        }
        *c.entry("a-new") += 3;
        assert!(c.get(OTHER_KEY).is_some(), "the current window pooled");
        let last = old.last().expect("labels");
        assert_eq!(c.get(last), None, "the largest old label went to __other__");
        let a = align(&b, &c);
        assert_eq!(a.new_in_current, ["a-new"]);
        assert_eq!(a.pooled, std::slice::from_ref(last));
        assert_eq!(a.keys.last().map(String::as_str), Some(OTHER_KEY));
        let other = a.keys.len() - 1;
        assert_eq!((a.baseline[other], a.current[other]), (100.0, 100.0));
    }
}
