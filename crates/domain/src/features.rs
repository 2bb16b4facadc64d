//! Input features: what a profile keeps of each mapped input column.
//!
//! A numeric feature keeps its count, missing and unparseable values, moments, and a DDSketch
//! (`sketches-ddsketch`): log-spaced bucket counts whose quantiles are within
//! [`SKETCH_ALPHA`] relative error. No raw value is kept: each value is replaced by its
//! bucket's representative before it reaches the sketch, so even the sketch's minimum, maximum
//! and sum are bucket values, not a row's. A categorical feature keeps capped counts like
//! labels ([`CategoryCounts`], pooled the same way).

use crate::{CategoryCounts, Moments};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};
use std::collections::BTreeMap;

/// Relative accuracy of the quantile sketch: a quantile `v` is within `v·α` of the true one.
pub const SKETCH_ALPHA: f64 = 0.005;
/// Most buckets per sign (the encoding's default, so that a decoded sketch has exactly the
/// config it was made with); past it the lowest buckets collapse: magnitudes spanning more
/// than a factor of ~7.7·10^8 lose resolution at the small end.
pub const SKETCH_MAX_BINS: u32 = 2048;
/// Magnitudes at or below this count as zero (the encoding's default too).
pub const SKETCH_MIN_VALUE: f64 = 1e-9;
/// Most features of each kind a mapping may name.
pub const MAX_FEATURES: usize = 64;

/// Built once: `Config::new` takes logarithms, and every added value needs the config.
static CONFIG: std::sync::LazyLock<Config> =
    std::sync::LazyLock::new(|| Config::new(SKETCH_ALPHA, SKETCH_MAX_BINS, SKETCH_MIN_VALUE));

fn sketch_config() -> Config {
    *CONFIG
}

/// A mergeable quantile sketch that holds bucket counts only.
#[derive(Clone, Default)]
pub struct QuantileSketch(Option<DDSketch>);

impl QuantileSketch {
    /// The bucket representative of `x`: what the sketch stores instead of `x`.
    fn representative(cfg: &Config, x: f64) -> f64 {
        if x > cfg.min_possible() {
            cfg.value(cfg.key(x))
        } else if x < -cfg.min_possible() {
            -cfg.value(cfg.key(-x))
        } else {
            0.0
        }
    }

    /// Adds a finite value (others are the caller's to count as invalid).
    pub fn add(&mut self, x: f64) {
        let s = self.0.get_or_insert_with(|| DDSketch::new(sketch_config()));
        s.add(Self::representative(&CONFIG, x));
    }

    pub fn merge_from(&mut self, o: &QuantileSketch) {
        let Some(theirs) = &o.0 else { return };
        match &mut self.0 {
            // One config for every sketch, so a merge cannot fail.
            Some(mine) => {
                let merged = mine.merge(theirs);
                debug_assert!(merged.is_ok(), "sketches share one config");
            }
            None => self.0 = Some(theirs.clone()),
        }
    }

    pub fn count(&self) -> u64 {
        self.0.as_ref().map_or(0, |s| s.count() as u64)
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0
            .as_ref()
            .and_then(|s| s.quantile(q.clamp(0.0, 1.0)).ok().flatten())
    }

    /// The value at rank `r` (0-based, in sorted order): a bucket representative.
    fn value_at_rank(&self, r: u64) -> Option<f64> {
        let n = self.count();
        if r + 1 >= n {
            return self.quantile(1.0);
        }
        if r == 0 {
            return self.quantile(0.0);
        }
        // The crate ranks `floor(q·(n − 1))`: the middle of rank r's interval lands on r.
        self.quantile((r as f64 + 0.5) / (n - 1) as f64)
    }

    /// How many values are at or below `x`. Exact when `x` is a bucket representative (a
    /// quantile of any sketch: they share one bucketing), which is how the drift statistics
    /// call it; otherwise it counts whole buckets whose representative is at or below `x`.
    pub fn count_le(&self, x: f64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.count());
        // Invariant: ranks below `lo` are ≤ x, ranks at or above `hi` are > x.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.value_at_rank(mid) {
                Some(v) if v <= x => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    /// The quantile function on `m` evenly spaced interior points `(i + ½)/m`: what the drift
    /// statistics integrate over. Empty when the sketch is.
    pub fn quantile_grid(&self, m: usize) -> Vec<f64> {
        if self.count() == 0 {
            return Vec::new();
        }
        (0..m)
            .filter_map(|i| self.quantile((i as f64 + 0.5) / m as f64))
            .collect()
    }

    fn summary(&self) -> Option<(u64, f64, f64, f64)> {
        self.0
            .as_ref()
            .and_then(|s| Some((s.count() as u64, s.min()?, s.max()?, s.sum()?)))
    }
}

/// Equal counts, extremes and quantile function (on 1024 points), and sums equal up to
/// rounding: the sum is the one part whose value depends on the order values were added in.
impl PartialEq for QuantileSketch {
    fn eq(&self, o: &Self) -> bool {
        match (self.summary(), o.summary()) {
            (None, None) => true,
            (Some((n, lo, hi, sum)), Some((m, lo2, hi2, sum2))) => {
                n == m
                    && lo == lo2
                    && hi == hi2
                    && (sum - sum2).abs() <= 1e-9 * sum.abs().max(1.0)
                    && self.quantile_grid(1024) == o.quantile_grid(1024)
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for QuantileSketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantileSketch")
            .field("count", &self.count())
            .field("median", &self.quantile(0.5))
            .finish()
    }
}

/// Stored as DataDog's Java-compatible binary encoding of the sketch (exact: bucket counts and
/// the f64 bits of min, max and sum), base64 in JSON; an empty sketch is `null`.
impl Serialize for QuantileSketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        match &self.0 {
            Some(sk) if sk.count() > 0 => s.serialize_str(
                &base64::engine::general_purpose::STANDARD.encode(sk.to_java_bytes()),
            ),
            _ => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for QuantileSketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        use serde::de::Error;
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(QuantileSketch(None));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("feature sketch: not base64: {e}")))?;
        let sk = DDSketch::from_java_bytes(&bytes)
            .map_err(|e| D::Error::custom(format!("feature sketch: {e:?}")))?;
        // A sketch of another accuracy would not merge with ours.
        if DDSketch::new(sketch_config()).merge(&sk).is_err() {
            return Err(D::Error::custom(format!(
                "feature sketch: not made with relative accuracy {SKETCH_ALPHA}"
            )));
        }
        Ok(QuantileSketch(Some(sk)))
    }
}

/// One numeric input column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumericFeature {
    /// Rows without a value (absent or null).
    pub missing: u64,
    /// Rows whose value is not a finite number.
    pub invalid: u64,
    pub moments: Moments,
    pub sketch: QuantileSketch,
}

impl NumericFeature {
    pub fn push(&mut self, v: FeatureValue) {
        match v {
            FeatureValue::Missing => self.missing += 1,
            FeatureValue::Invalid => self.invalid += 1,
            FeatureValue::Number(x) => {
                self.moments.push(x);
                self.sketch.add(x);
            }
        }
    }

    pub fn merge_from(&mut self, o: &NumericFeature) {
        self.missing += o.missing;
        self.invalid += o.invalid;
        self.moments.merge_from(&o.moments);
        self.sketch.merge_from(&o.sketch);
    }

    /// Rows seen: with a value, missing or invalid.
    pub fn rows(&self) -> u64 {
        self.moments.count + self.missing + self.invalid
    }
}

/// A numeric cell after the type rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureValue {
    Missing,
    Invalid,
    Number(f64),
}

/// Every feature of a profile, by column name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfiles {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub numeric: BTreeMap<String, NumericFeature>,
    /// Values as keys, capped and pooled as labels are; a missing value is [`crate::MISSING_KEY`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categorical: BTreeMap<String, CategoryCounts<u64>>,
}

impl FeatureProfiles {
    pub fn is_empty(&self) -> bool {
        self.numeric.is_empty() && self.categorical.is_empty()
    }

    pub fn merge_from(&mut self, o: &FeatureProfiles) {
        for (k, f) in &o.numeric {
            self.numeric.entry(k.clone()).or_default().merge_from(f);
        }
        for (k, c) in &o.categorical {
            self.categorical.entry(k.clone()).or_default().merge_from(c);
        }
    }
}

/// The mapping's `[features]`: which input columns are watched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeatureFields {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numeric: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
}

impl FeatureFields {
    pub fn is_empty(&self) -> bool {
        self.numeric.is_empty() && self.categorical.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn representatives_stay_in_their_bucket_and_hide_the_value() {
        let cfg = sketch_config();
        for x in [1e-8, 0.3, 1.0, 17.25, 45.0, 1234.5678, 9.99e12, -3.5, -1e6] {
            let r = QuantileSketch::representative(&cfg, x);
            assert_eq!(cfg.key(r.abs()), cfg.key(x.abs()), "{x} → {r}");
            assert!(
                (r - x).abs() <= x.abs() * SKETCH_ALPHA * 1.000_001,
                "{x} → {r}"
            );
            assert_ne!(r, x);
        }
        assert_eq!(QuantileSketch::representative(&cfg, 0.0), 0.0);
    }

    #[test]
    fn quantiles_are_within_the_relative_error() {
        let mut s = QuantileSketch::default();
        let xs: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37).collect();
        for x in &xs {
            s.add(*x);
        }
        for q in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let exact = xs[((xs.len() - 1) as f64 * q) as usize];
            let got = s.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= exact * SKETCH_ALPHA * 1.01,
                "q={q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn counts_at_or_below_a_bucket_are_exact() {
        let mut s = QuantileSketch::default();
        let cfg = sketch_config();
        let xs: Vec<f64> = (0..3000).map(|i| f64::from(i % 97) * 0.8 - 20.0).collect();
        for x in &xs {
            s.add(*x);
        }
        for q in [0.0, 0.05, 0.3, 0.5, 0.77, 0.99, 1.0] {
            let edge = s.quantile(q).unwrap();
            let exact = xs
                .iter()
                .filter(|x| QuantileSketch::representative(&cfg, **x) <= edge)
                .count() as u64;
            assert_eq!(s.count_le(edge), exact, "q={q} edge={edge}");
        }
        assert_eq!(s.count_le(-1e9), 0);
        assert_eq!(s.count_le(1e9), 3000);
    }

    #[test]
    fn merge_is_exact_and_json_round_trips() {
        let (mut a, mut b, mut all) = (
            NumericFeature::default(),
            NumericFeature::default(),
            NumericFeature::default(),
        );
        for i in 0..500 {
            let v = match i % 7 {
                0 => FeatureValue::Missing,
                1 => FeatureValue::Invalid,
                _ => FeatureValue::Number(f64::from(i) * 1.5 - 200.0),
            };
            if i % 2 == 0 { &mut a } else { &mut b }.push(v);
            all.push(v);
        }
        a.merge_from(&b);
        assert_eq!(a.sketch, all.sketch);
        assert_eq!((a.missing, a.invalid), (all.missing, all.invalid));
        let json = serde_json::to_string(&a).unwrap();
        let back: NumericFeature = serde_json::from_str(&json).unwrap();
        assert_eq!(back.sketch, a.sketch);
        let empty = serde_json::to_string(&NumericFeature::default()).unwrap();
        let back: NumericFeature = serde_json::from_str(&empty).unwrap();
        assert_eq!(back.sketch.count(), 0);
    }
}
