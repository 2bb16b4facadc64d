//! The Profile: every aggregate an audit needs, and nothing else (DESIGN.md §3, §5).
//!
//! Profiles are mergeable: `merge(profile(a), profile(b)) == profile(a ∪ b)` for all counts, and
//! up to floating-point rounding for the moments. This is what lets the metrics pass run in
//! parallel over chunks and lets a baseline be computed once and reused.

use crate::performance::{ClassificationMetrics, Reliability};
use crate::{FeatureProfiles, InvalidReason};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PROFILE_SCHEMA_VERSION: u32 = 1;
/// At most this many distinct keys per categorical field; the rest are pooled under [`OTHER_KEY`].
pub const MAX_CATEGORIES: usize = 50;
/// Longer values are not kept as keys: they are text, and pooled under [`TEXT_KEY`].
pub const MAX_KEY_BYTES: usize = 64;
pub const OTHER_KEY: &str = "__other__";
/// Where values that are text rather than categories are counted (see `freetext.rs`).
pub const TEXT_KEY: &str = "__text__";
/// The group of rows whose protected attribute is null or absent.
pub const MISSING_KEY: &str = "__missing__";
pub const CONFIDENCE_BINS: usize = 10;
/// Lower edges (characters) of the response-length histogram bins; the last bin is open.
pub const RESPONSE_LENGTH_EDGES: [usize; 7] = [0, 50, 100, 200, 500, 1000, 2000];

/// Bin of a confidence in [0, 1]: 10 equal-width bins, 1.0 in the last one.
pub fn confidence_bin(c: f64) -> usize {
    let b = (c * CONFIDENCE_BINS as f64).floor();
    if b <= 0.0 {
        0
    } else {
        (b as usize).min(CONFIDENCE_BINS - 1)
    }
}

/// Something that can be added to a value of the same type.
pub trait Mergeable: Default {
    fn merge_from(&mut self, other: &Self);
}

impl Mergeable for u64 {
    fn merge_from(&mut self, other: &Self) {
        *self += *other;
    }
}

/// Counts (or stats) per category key, keeping the [`MAX_CATEGORIES`] lexicographically
/// smallest keys and pooling the others under [`OTHER_KEY`].
///
/// Keeping the *smallest* keys, rather than the first or most frequent, is what makes the cap
/// order-independent: a key kept in the profile of a ∪ b is kept in the profiles of a and b too,
/// so merging stays exact whatever the chunking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
#[serde(bound(serialize = "V: Serialize", deserialize = "V: Deserialize<'de>"))]
pub struct CategoryCounts<V = u64>(BTreeMap<String, V>);

impl<V> Default for CategoryCounts<V> {
    fn default() -> Self {
        CategoryCounts(BTreeMap::new())
    }
}

/// Keys the cap never evicts: the pools.
fn reserved(key: &str) -> bool {
    key == OTHER_KEY || key == TEXT_KEY
}

impl<V: Mergeable> CategoryCounts<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn as_map(&self) -> &BTreeMap<String, V> {
        &self.0
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.get(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter()
    }

    fn real_len(&self) -> usize {
        self.0.len()
            - usize::from(self.0.contains_key(OTHER_KEY))
            - usize::from(self.0.contains_key(TEXT_KEY))
    }

    /// The largest key that is not a pool.
    fn max_real_key(&self) -> Option<&String> {
        self.0.keys().rev().find(|k| !reserved(k))
    }

    /// Replaces every key by one pool `key`, merging their values.
    pub fn pool_all(&mut self, key: &str) {
        let mut pooled = V::default();
        for v in self.0.values() {
            pooled.merge_from(v);
        }
        self.0 = BTreeMap::from([(key.to_owned(), pooled)]);
    }

    /// The slot for `key`, creating it, or pooling it under [`OTHER_KEY`], as the cap requires.
    /// Allocates only when a new key is kept.
    pub fn entry(&mut self, key: &str) -> &mut V {
        let mut key = if key.len() > MAX_KEY_BYTES {
            TEXT_KEY
        } else {
            key
        };
        if !self.0.contains_key(key) {
            if !reserved(key) && self.real_len() >= MAX_CATEGORIES {
                match self.max_real_key() {
                    Some(max) if key < max.as_str() => {
                        let max = max.clone();
                        if let Some(v) = self.0.remove(&max) {
                            self.0
                                .entry(OTHER_KEY.to_owned())
                                .or_default()
                                .merge_from(&v);
                        }
                    }
                    _ => key = OTHER_KEY,
                }
            }
            if !self.0.contains_key(key) {
                self.0.insert(key.to_owned(), V::default());
            }
        }
        self.0
            .get_mut(key)
            .expect("key present: checked or inserted above")
    }

    pub fn merge_from(&mut self, other: &Self) {
        for (k, v) in &other.0 {
            self.entry(k).merge_from(v);
        }
    }
}

impl CategoryCounts<u64> {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// Count, mean and sum of squared deviations (Welford), merged with Chan et al.'s formula.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub fn merge_from(&mut self, o: &Moments) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *o;
            return;
        }
        let n = (self.count + o.count) as f64;
        let delta = o.mean - self.mean;
        let (na, nb) = (self.count as f64, o.count as f64);
        self.mean += delta * nb / n;
        self.m2 += o.m2 + delta * delta * na * nb / n;
        self.count += o.count;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Population variance (÷ N).
    pub fn population_variance(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2 / self.count as f64).max(0.0))
    }

    /// Sample variance (÷ N − 1), for significance tests.
    pub fn sample_variance(&self) -> Option<f64> {
        (self.count > 1).then(|| (self.m2 / (self.count - 1) as f64).max(0.0))
    }
}

/// Confusion counts of predicted outcome vs ground truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    pub fn push(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
    }

    pub fn merge_from(&mut self, o: &Confusion) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.tn += o.tn;
        self.fn_ += o.fn_;
    }

    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// True-positive rate TP / (TP + FN), when any actual positive was seen.
    pub fn tpr(&self) -> Option<f64> {
        let p = self.tp + self.fn_;
        (p > 0).then(|| self.tp as f64 / p as f64)
    }

    pub fn accuracy(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| (self.tp + self.tn) as f64 / t as f64)
    }
}

/// Aggregates of one group of a protected attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub count: u64,
    pub positives: u64,
    pub confidence_count: u64,
    pub confidence_sum: f64,
    pub confusion: Confusion,
}

impl Mergeable for GroupStats {
    fn merge_from(&mut self, o: &Self) {
        self.count += o.count;
        self.positives += o.positives;
        self.confidence_count += o.confidence_count;
        self.confidence_sum += o.confidence_sum;
        self.confusion.merge_from(&o.confusion);
    }
}

impl GroupStats {
    pub fn positive_rate(&self) -> Option<f64> {
        (self.count > 0).then(|| self.positives as f64 / self.count as f64)
    }

    pub fn avg_confidence(&self) -> Option<f64> {
        (self.confidence_count > 0).then(|| self.confidence_sum / self.confidence_count as f64)
    }
}

/// Aggregates of LLM text fields. The text itself is never kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextStats {
    /// Rows with a non-empty response.
    pub responses: u64,
    /// Responses that refuse (refusal markers found).
    pub refusals: u64,
    /// Responses containing at least one match, per PII kind (`email`, `phone`, `card_number`,
    /// `national_id`, `secret`).
    pub pii_responses: BTreeMap<String, u64>,
    /// Responses containing any PII kind.
    pub any_pii_responses: u64,
    /// Response lengths in characters, binned by [`RESPONSE_LENGTH_EDGES`].
    pub response_length_histogram: [u64; RESPONSE_LENGTH_EDGES.len()],
    pub response_length: Moments,
    /// Rows with a non-empty prompt.
    pub prompts: u64,
    /// Prompts scanned for PII: the denominator of [`TextStats::prompt_pii_rate`]. Profiles
    /// written before prompts were scanned read as 0 here, so their prompt rate is unknown
    /// rather than zero, and merging them with newer ones stays exact.
    #[serde(default)]
    pub prompts_scanned: u64,
    /// Prompts containing at least one match, per PII kind: what users sent, not a leak.
    #[serde(default)]
    pub pii_prompts: BTreeMap<String, u64>,
    /// Prompts containing any PII kind.
    #[serde(default)]
    pub any_pii_prompts: u64,
}

impl TextStats {
    pub fn merge_from(&mut self, o: &TextStats) {
        self.responses += o.responses;
        self.refusals += o.refusals;
        for (k, v) in &o.pii_responses {
            *self.pii_responses.entry(k.clone()).or_default() += v;
        }
        self.any_pii_responses += o.any_pii_responses;
        for (a, b) in self
            .response_length_histogram
            .iter_mut()
            .zip(o.response_length_histogram)
        {
            *a += b;
        }
        self.response_length.merge_from(&o.response_length);
        self.prompts += o.prompts;
        self.prompts_scanned += o.prompts_scanned;
        for (k, v) in &o.pii_prompts {
            *self.pii_prompts.entry(k.clone()).or_default() += v;
        }
        self.any_pii_prompts += o.any_pii_prompts;
    }

    pub fn refusal_rate(&self) -> Option<f64> {
        (self.responses > 0).then(|| self.refusals as f64 / self.responses as f64)
    }

    /// Share of responses that contain each PII kind: the model leaking it.
    pub fn pii_leak_rate(&self) -> BTreeMap<String, f64> {
        shares(&self.pii_responses, self.responses)
    }

    /// Share of scanned prompts that contain each PII kind: users sending it. Reported, never
    /// judged as a leak.
    pub fn prompt_pii_rate(&self) -> BTreeMap<String, f64> {
        shares(&self.pii_prompts, self.prompts_scanned)
    }
}

fn shares(counts: &BTreeMap<String, u64>, of: u64) -> BTreeMap<String, f64> {
    if of == 0 {
        return BTreeMap::new();
    }
    counts
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64 / of as f64))
        .collect()
}

/// Every aggregate of one body of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub schema_version: u32,
    /// Valid rows inside the window: the `n` of every rate.
    pub n: u64,
    /// Rows skipped, by reason.
    pub invalid: BTreeMap<InvalidReason, u64>,
    /// Valid rows outside the requested time window (not counted anywhere else).
    pub out_of_window: u64,
    pub labels: CategoryCounts<u64>,
    pub confidence: Moments,
    pub confidence_histogram: [u64; CONFIDENCE_BINS],
    /// Rows whose outcome is known, and how many were positive.
    pub outcome_count: u64,
    pub positives: u64,
    /// Predicted outcome vs ground truth, over rows where both are known.
    pub confusion: Confusion,
    /// attribute → group → stats. Attributes are the mapping's; groups are capped.
    pub groups: BTreeMap<String, CategoryCounts<GroupStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextStats>,
    /// Fields (`labels`, or a protected attribute) whose values behaved like free text, and the
    /// rows pooled under [`TEXT_KEY`] for each: none of their values was kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pooled_text: BTreeMap<String, u64>,
    /// The mapping's input features.
    #[serde(default, skip_serializing_if = "FeatureProfiles::is_empty")]
    pub features: FeatureProfiles,
    pub first_timestamp: Option<DateTime<Utc>>,
    pub last_timestamp: Option<DateTime<Utc>>,
    /// Accuracy per confidence bin (`performance.rs`); absent in profiles written before it.
    #[serde(default, skip_serializing_if = "Reliability::is_empty")]
    pub reliability: Reliability,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            schema_version: PROFILE_SCHEMA_VERSION,
            n: 0,
            invalid: BTreeMap::new(),
            out_of_window: 0,
            labels: CategoryCounts::new(),
            confidence: Moments::default(),
            confidence_histogram: [0; CONFIDENCE_BINS],
            outcome_count: 0,
            positives: 0,
            confusion: Confusion::default(),
            groups: BTreeMap::new(),
            text: None,
            pooled_text: BTreeMap::new(),
            features: FeatureProfiles::default(),
            first_timestamp: None,
            last_timestamp: None,
            reliability: Reliability::default(),
        }
    }
}

/// The seed's per-group outcome metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupOutcome {
    pub count: u64,
    pub positive_rate: Option<f64>,
    pub avg_confidence: Option<f64>,
}

/// The current metrics named by seed 000, derived from a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileMetrics {
    pub n: u64,
    pub label_distribution: BTreeMap<String, f64>,
    pub avg_confidence: Option<f64>,
    pub outcome_rate: Option<f64>,
    pub confidence_variance: Option<f64>,
    pub protected_group_outcomes: BTreeMap<String, BTreeMap<String, GroupOutcome>>,
    pub accuracy: Option<f64>,
    pub invalid_rows: u64,
    pub invalid_row_ratio: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_rate: Option<f64>,
    /// PII kind → share of responses containing it (the model leaking it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pii_leak_rate: BTreeMap<String, f64>,
    /// PII kind → share of prompts containing it (users sending it): reported, not a finding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt_pii_rate: BTreeMap<String, f64>,
    /// Accuracy, precision, recall, F1 (binary and macro) and calibration error, with ground truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<ClassificationMetrics>,
}

impl Profile {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sum of invalid rows over all reasons.
    pub fn invalid_rows(&self) -> u64 {
        self.invalid.values().sum()
    }

    /// Rows read: valid + invalid (out-of-window rows are not counted).
    pub fn rows_read(&self) -> u64 {
        self.n + self.invalid_rows()
    }

    pub fn invalid_ratio(&self) -> f64 {
        let read = self.rows_read();
        if read == 0 {
            0.0
        } else {
            self.invalid_rows() as f64 / read as f64
        }
    }

    pub fn record_invalid(&mut self, reason: InvalidReason) {
        *self.invalid.entry(reason).or_default() += 1;
    }

    pub fn outcome_rate(&self) -> Option<f64> {
        (self.outcome_count > 0).then(|| self.positives as f64 / self.outcome_count as f64)
    }

    /// `label_distribution`: label → count / n.
    pub fn label_distribution(&self) -> BTreeMap<String, f64> {
        let total = self.labels.total();
        if total == 0 {
            return BTreeMap::new();
        }
        self.labels
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64 / total as f64))
            .collect()
    }

    /// Adds `other` into `self`. Fails only when the schema versions differ.
    pub fn merge_from(&mut self, o: &Profile) -> Result<(), ProfileError> {
        if o.schema_version != self.schema_version {
            return Err(ProfileError::SchemaVersion {
                expected: self.schema_version,
                found: o.schema_version,
            });
        }
        self.n += o.n;
        for (r, c) in &o.invalid {
            *self.invalid.entry(*r).or_default() += c;
        }
        self.out_of_window += o.out_of_window;
        self.labels.merge_from(&o.labels);
        self.confidence.merge_from(&o.confidence);
        for (a, b) in self
            .confidence_histogram
            .iter_mut()
            .zip(o.confidence_histogram)
        {
            *a += b;
        }
        self.outcome_count += o.outcome_count;
        self.positives += o.positives;
        self.confusion.merge_from(&o.confusion);
        for (attr, groups) in &o.groups {
            self.groups
                .entry(attr.clone())
                .or_default()
                .merge_from(groups);
        }
        match (&mut self.text, &o.text) {
            (Some(a), Some(b)) => a.merge_from(b),
            (None, Some(b)) => self.text = Some(b.clone()),
            _ => {}
        }
        self.features.merge_from(&o.features);
        self.reliability.merge_from(&o.reliability);
        self.first_timestamp = min_opt(self.first_timestamp, o.first_timestamp);
        self.last_timestamp = max_opt(self.last_timestamp, o.last_timestamp);
        Ok(())
    }

    /// The merge of many profiles (the empty profile when there are none).
    pub fn merged<'a>(
        parts: impl IntoIterator<Item = &'a Profile>,
    ) -> Result<Profile, ProfileError> {
        let mut out = Profile::new();
        for p in parts {
            out.merge_from(p)?;
        }
        Ok(out)
    }

    /// Seed 000's current metrics.
    pub fn metrics(&self) -> ProfileMetrics {
        let protected_group_outcomes = self
            .groups
            .iter()
            .map(|(attr, groups)| {
                let m = groups
                    .iter()
                    .map(|(g, s)| {
                        (
                            g.clone(),
                            GroupOutcome {
                                count: s.count,
                                positive_rate: s.positive_rate(),
                                avg_confidence: s.avg_confidence(),
                            },
                        )
                    })
                    .collect();
                (attr.clone(), m)
            })
            .collect();
        ProfileMetrics {
            n: self.n,
            label_distribution: self.label_distribution(),
            avg_confidence: self.confidence.mean(),
            outcome_rate: self.outcome_rate(),
            confidence_variance: self.confidence.population_variance(),
            protected_group_outcomes,
            accuracy: self.confusion.accuracy(),
            invalid_rows: self.invalid_rows(),
            invalid_row_ratio: self.invalid_ratio(),
            refusal_rate: self.text.as_ref().and_then(TextStats::refusal_rate),
            pii_leak_rate: self
                .text
                .as_ref()
                .map(TextStats::pii_leak_rate)
                .unwrap_or_default(),
            prompt_pii_rate: self
                .text
                .as_ref()
                .map(TextStats::prompt_pii_rate)
                .unwrap_or_default(),
            performance: self.confusion.classification(self.reliability.ece()),
        }
    }

    /// Checks a deserialised profile can be used by this version.
    pub fn check_schema(&self) -> Result<(), ProfileError> {
        if self.schema_version != PROFILE_SCHEMA_VERSION {
            return Err(ProfileError::SchemaVersion {
                expected: PROFILE_SCHEMA_VERSION,
                found: self.schema_version,
            });
        }
        Ok(())
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("profile schema version {found} is not supported (expected {expected})")]
    SchemaVersion { expected: u32, found: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_stats_from_before_prompt_pii_still_read() {
        // A profile's text section as written before prompts were scanned for PII.
        let old = r#"{"responses":4,"refusals":1,"pii_responses":{"email":2},"any_pii_responses":2,
            "response_length_histogram":[4,0,0,0,0,0,0],"response_length":{"count":4,"mean":9.5,"m2":1.0},
            "prompts":4}"#;
        let t: TextStats = match serde_json::from_str(old) {
            Ok(t) => t,
            Err(e) => panic!("old text stats must read: {e}"),
        };
        assert_eq!((t.prompts, t.prompts_scanned, t.any_pii_prompts), (4, 0, 0));
        assert_eq!(t.pii_leak_rate().get("email"), Some(&0.5));
        assert!(t.prompt_pii_rate().is_empty(), "unknown, not zero");
        let mut merged = t.clone();
        let new = TextStats {
            prompts: 2,
            prompts_scanned: 2,
            pii_prompts: BTreeMap::from([("card_number".to_owned(), 1)]),
            any_pii_prompts: 1,
            ..TextStats::default()
        };
        merged.merge_from(&new);
        assert_eq!(merged.prompt_pii_rate().get("card_number"), Some(&0.5));
    }

    #[test]
    fn confidence_bins_follow_the_design() {
        assert_eq!(confidence_bin(0.0), 0);
        assert_eq!(confidence_bin(0.0999), 0);
        assert_eq!(confidence_bin(0.1), 1);
        assert_eq!(confidence_bin(0.5), 5);
        assert_eq!(confidence_bin(0.99), 9);
        assert_eq!(confidence_bin(1.0), 9);
    }

    #[test]
    fn categories_are_capped_and_pooled() {
        let mut c: CategoryCounts<u64> = CategoryCounts::new();
        for i in (0..80).rev() {
            *c.entry(&format!("k{i:03}")) += 1;
        }
        assert_eq!(c.len(), MAX_CATEGORIES + 1);
        assert_eq!(c.get(OTHER_KEY), Some(&30));
        assert_eq!(c.get("k000"), Some(&1));
        assert_eq!(c.get("k049"), Some(&1));
        assert_eq!(c.get("k050"), None);
        assert_eq!(c.total(), 80);
    }

    #[test]
    fn long_values_are_pooled_as_text_not_kept() {
        let mut c: CategoryCounts<u64> = CategoryCounts::new();
        *c.entry(&"é".repeat(100)) += 1;
        *c.entry(&"x".repeat(65)) += 1;
        *c.entry(&"y".repeat(64)) += 1;
        assert_eq!(c.get(TEXT_KEY), Some(&2));
        assert_eq!(
            c.len(),
            2,
            "the 64-byte value is a key, the longer ones are not"
        );
        // The text pool does not take a slot of the cap.
        for i in 0..MAX_CATEGORIES {
            *c.entry(&format!("k{i:03}")) += 1;
        }
        assert_eq!(c.get(TEXT_KEY), Some(&2));
    }

    fn counts(keys: &[u8]) -> CategoryCounts<u64> {
        let mut c = CategoryCounts::new();
        for k in keys {
            *c.entry(&format!("key{k}")) += 1;
        }
        c
    }

    proptest! {
        // The cap keeps merging exact: merge(count(a), count(b)) == count(a ++ b), even above the cap.
        #[test]
        fn capped_merge_is_exact(a in proptest::collection::vec(0u8..120, 0..300), b in proptest::collection::vec(0u8..120, 0..300)) {
            let mut merged = counts(&a);
            merged.merge_from(&counts(&b));
            let mut all = a.clone();
            all.extend_from_slice(&b);
            prop_assert_eq!(merged, counts(&all));
        }

        #[test]
        fn moments_merge_matches_one_pass(a in proptest::collection::vec(0.0f64..1.0, 0..200), b in proptest::collection::vec(0.0f64..1.0, 0..200)) {
            let mut ma = Moments::default();
            a.iter().for_each(|x| ma.push(*x));
            let mut mb = Moments::default();
            b.iter().for_each(|x| mb.push(*x));
            let mut all = Moments::default();
            a.iter().chain(&b).for_each(|x| all.push(*x));
            ma.merge_from(&mb);
            prop_assert_eq!(ma.count, all.count);
            prop_assert!((ma.mean - all.mean).abs() < 1e-12);
            prop_assert!((ma.m2 - all.m2).abs() < 1e-9);
        }
    }
}
