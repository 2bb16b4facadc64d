//! The metrics pass: records in, a mergeable [`Profile`] out.
//!
//! [`ProfileBuilder`] is a [`RecordSink`]: give one to each reader thread and merge the
//! results with [`Profile::merge_from`]. LLM text fields are analysed in memory (refusals,
//! PII kinds, response length) and dropped with the row; only counts reach the profile.

pub mod text;

use audit_domain::{
    CategoryCounts, FieldMapping, GroupStats, INTERSECTION_JOINER, InvalidReason, NumericFeature,
    Profile, Record, RecordSink, TextStats, confidence_bin,
};

/// Accumulates one profile from records.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    profile: Profile,
    attributes: Vec<String>,
    groups: Vec<CategoryCounts<GroupStats>>,
    text: Option<TextStats>,
    /// Input features in the mapping's order (names in `numeric_names`/`categorical_names`).
    numeric: Vec<NumericFeature>,
    categorical: Vec<CategoryCounts<u64>>,
    numeric_names: Vec<String>,
    categorical_names: Vec<String>,
    /// Intersections: positions in `attributes` of each one's parts; their counts follow the
    /// single attributes' in `groups` (and their names in `attributes`).
    intersections: Vec<Vec<usize>>,
    /// Reused for the combined key of each row, so a row allocates only for a new group.
    key: String,
}

impl ProfileBuilder {
    pub fn new(mapping: &FieldMapping) -> Self {
        let (names, intersections): (Vec<String>, Vec<Vec<usize>>) =
            mapping.intersection_indices().into_iter().unzip();
        let attributes: Vec<String> = mapping.protected.iter().cloned().chain(names).collect();
        ProfileBuilder {
            profile: Profile::new(),
            groups: attributes.iter().map(|_| CategoryCounts::new()).collect(),
            attributes,
            text: (!mapping.text.is_empty()).then(TextStats::default),
            numeric: vec![NumericFeature::default(); mapping.features.numeric.len()],
            categorical: vec![CategoryCounts::new(); mapping.features.categorical.len()],
            numeric_names: mapping.features.numeric.clone(),
            categorical_names: mapping.features.categorical.clone(),
            intersections,
            key: String::new(),
        }
    }

    /// The finished profile.
    pub fn finish(self) -> Profile {
        let mut p = self.profile;
        p.groups = self.attributes.into_iter().zip(self.groups).collect();
        p.text = self.text;
        p.features.numeric = self.numeric_names.into_iter().zip(self.numeric).collect();
        p.features.categorical = self
            .categorical_names
            .into_iter()
            .zip(self.categorical)
            .collect();
        p
    }

    /// Adds `other`'s rows to this builder's (same mapping), as if observed here after them.
    pub fn merge(&mut self, other: ProfileBuilder) {
        let ProfileBuilder {
            profile,
            groups,
            text,
            numeric,
            categorical,
            ..
        } = other;
        // Both builders start from `Profile::new`, so the schema versions always agree.
        let merged = self.profile.merge_from(&profile);
        debug_assert!(merged.is_ok(), "builder profiles share one schema version");
        for (mine, theirs) in self.groups.iter_mut().zip(&groups) {
            mine.merge_from(theirs);
        }
        if let (Some(mine), Some(theirs)) = (&mut self.text, &text) {
            mine.merge_from(theirs);
        }
        for (mine, theirs) in self.numeric.iter_mut().zip(&numeric) {
            mine.merge_from(theirs);
        }
        for (mine, theirs) in self.categorical.iter_mut().zip(&categorical) {
            mine.merge_from(theirs);
        }
    }

    /// Builds a profile from in-memory records (tests, small embedders).
    pub fn profile_of<'a>(
        mapping: &FieldMapping,
        records: impl IntoIterator<Item = &'a Record<'a>>,
    ) -> Profile {
        let mut b = ProfileBuilder::new(mapping);
        for r in records {
            b.observe(r);
        }
        b.finish()
    }
}

/// Adds one row to its group's stats.
fn observe_group(g: &mut GroupStats, r: &Record<'_>) {
    g.count += 1;
    if let Some(o) = r.outcome {
        g.positives += u64::from(o);
        if let Some(gt) = r.ground_truth {
            g.confusion.push(o, gt);
        }
    }
    if let Some(c) = r.confidence {
        g.confidence_count += 1;
        g.confidence_sum += c;
    }
}

impl RecordSink for ProfileBuilder {
    fn observe(&mut self, r: &Record<'_>) {
        let p = &mut self.profile;
        p.n += 1;
        *p.labels.entry(&r.prediction) += 1;
        if let Some(c) = r.confidence {
            p.confidence.push(c);
            p.confidence_histogram[confidence_bin(c)] += 1;
        }
        if let Some(o) = r.outcome {
            p.outcome_count += 1;
            p.positives += u64::from(o);
            if let Some(gt) = r.ground_truth {
                p.confusion.push(o, gt);
            }
        }
        let protected = self.groups.len() - self.intersections.len();
        let (single, combined) = self.groups.split_at_mut(protected);
        for (counts, value) in single.iter_mut().zip(&r.groups) {
            observe_group(counts.entry(value), r);
        }
        for (counts, parts) in combined.iter_mut().zip(&self.intersections) {
            // Each part is the row's value of that attribute as recorded there (`__missing__`
            // when absent); a combined key longer than MAX_KEY_BYTES is pooled as text.
            self.key.clear();
            for (i, &a) in parts.iter().enumerate() {
                if i > 0 {
                    self.key.push_str(INTERSECTION_JOINER);
                }
                self.key
                    .push_str(r.groups.get(a).map_or("", |v| v.as_ref()));
            }
            observe_group(counts.entry(&self.key), r);
        }
        if let Some(c) = r.confidence {
            let correct = r.outcome.zip(r.ground_truth).map(|(o, gt)| o == gt);
            p.reliability.push(confidence_bin(c), c, correct);
        }
        if let Some(t) = r.timestamp {
            if p.first_timestamp.is_none_or(|f| t < f) {
                p.first_timestamp = Some(t);
            }
            if p.last_timestamp.is_none_or(|l| t > l) {
                p.last_timestamp = Some(t);
            }
        }
        if let Some(stats) = &mut self.text {
            text::observe(stats, r.prompt.as_deref(), r.response.as_deref());
        }
        for (f, v) in self.numeric.iter_mut().zip(&r.numeric) {
            f.push(*v);
        }
        for (counts, key) in self.categorical.iter_mut().zip(&r.categorical) {
            *counts.entry(key) += 1;
        }
    }

    fn invalid(&mut self, reason: InvalidReason) {
        self.profile.record_invalid(reason);
    }

    fn out_of_window(&mut self) {
        self.profile.out_of_window += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use audit_domain::MISSING_KEY;
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn rec(
        label: &str,
        conf: f64,
        outcome: bool,
        gt: Option<bool>,
        group: &str,
    ) -> Record<'static> {
        Record {
            prediction: Cow::Owned(label.to_owned()),
            confidence: Some(conf),
            outcome: Some(outcome),
            ground_truth: gt,
            groups: vec![Cow::Owned(group.to_owned())],
            // A feature derived from the row, so that the proptest covers features too.
            numeric: vec![if group.ends_with('7') {
                audit_domain::FeatureValue::Missing
            } else {
                audit_domain::FeatureValue::Number(conf * 1000.0 - 300.0)
            }],
            categorical: vec![Cow::Owned(format!("c{}", label.len() + group.len()))],
            ..Record::default()
        }
    }

    fn mapping() -> FieldMapping {
        let mut m = FieldMapping::new("p");
        m.confidence = Some("c".into());
        m.outcome = Some("o".into());
        m.ground_truth = Some("gt".into());
        m.protected = vec!["g".into()];
        m.features.numeric = vec!["x".into()];
        m.features.categorical = vec!["k".into()];
        m
    }

    #[test]
    fn aggregates_match_a_hand_count() {
        let rows = [
            rec("a", 0.9, true, Some(true), "x"),
            rec("a", 0.8, true, Some(false), "y"),
            rec("b", 1.0, false, Some(true), "x"),
            rec("c", 0.0, false, None, "y"),
        ];
        let p = ProfileBuilder::profile_of(&mapping(), rows.iter());
        assert_eq!(p.n, 4);
        assert_eq!(p.labels.get("a"), Some(&2));
        assert_eq!(p.confidence_histogram[9], 2, "0.9 and 1.0");
        assert_eq!(p.confidence_histogram[8], 1);
        assert_eq!(p.confidence_histogram[0], 1);
        assert_eq!((p.outcome_count, p.positives), (4, 2));
        assert_eq!(
            (
                p.confusion.tp,
                p.confusion.fp,
                p.confusion.fn_,
                p.confusion.tn
            ),
            (1, 1, 1, 0)
        );
        let x = p.groups["g"].get("x").copied().unwrap_or_default();
        assert_eq!((x.count, x.positives), (2, 1));
        let m = p.metrics();
        assert_eq!(m.outcome_rate, Some(0.5));
        assert!((m.avg_confidence.unwrap_or_default() - 0.675).abs() < 1e-12);
    }

    #[test]
    fn intersections_combine_the_values_of_their_attributes() {
        let mut m = mapping();
        m.protected = vec!["gender".into(), "age".into()];
        m.intersections = vec![vec!["gender".into(), "age".into()]];
        m.validate().expect("valid");
        let row = |g: &str, a: &str, o: bool| Record {
            groups: vec![Cow::Owned(g.to_owned()), Cow::Owned(a.to_owned())],
            ..rec("a", 0.5, o, None, "")
        };
        let rows = [
            row("f", "18-25", true),
            row("f", "18-25", false),
            row("m", "18-25", true),
            row("f", MISSING_KEY, true),
        ];
        let p = ProfileBuilder::profile_of(&m, rows.iter());
        let x = &p.groups["gender×age"];
        assert_eq!(
            x.get("f×18-25").map(|g| (g.count, g.positives)),
            Some((2, 1))
        );
        assert_eq!(x.get("m×18-25").map(|g| g.count), Some(1));
        assert_eq!(
            x.get(&format!("f×{MISSING_KEY}")).map(|g| g.count),
            Some(1),
            "a missing part keeps its own group's key"
        );
        assert_eq!(p.groups["gender"].get("f").map(|g| g.count), Some(3));
        assert_eq!(p.groups.len(), 3);
    }

    #[test]
    fn reliability_counts_labelled_rows_per_bin() {
        let rows = [
            rec("a", 0.95, true, Some(true), "x"),
            rec("a", 0.91, true, Some(false), "x"),
            rec("a", 0.15, false, Some(false), "x"),
            rec("a", 0.12, false, None, "x"),
        ];
        let p = ProfileBuilder::profile_of(&mapping(), rows.iter());
        let r = &p.reliability.bins;
        assert_eq!((r[9].labelled, r[9].correct), (2, 1));
        assert_eq!((r[1].labelled, r[1].correct), (1, 1));
        assert!((r[1].confidence_sum - 0.27).abs() < 1e-12);
        assert!((r[1].labelled_confidence_sum - 0.15).abs() < 1e-12);
        // Consistent with the confusion counts: correct = tp + tn.
        assert_eq!(p.reliability.correct(), p.confusion.tp + p.confusion.tn);
        let m = p.metrics().performance.expect("ground truth");
        assert_eq!(m.labelled, 3);
        assert_eq!(m.precision, Some(0.5));
    }

    type Row = (u8, f64, bool, Option<bool>, u8, u8);

    fn arb_rows() -> impl Strategy<Value = Vec<Row>> {
        proptest::collection::vec(
            (
                0u8..70,
                0.0f64..=1.0,
                any::<bool>(),
                proptest::option::of(any::<bool>()),
                0u8..60,
                0u8..5,
            ),
            0..200,
        )
    }

    fn build(rows: &[Row]) -> Profile {
        let mut m = mapping();
        m.protected.push("h".into());
        m.intersections = vec![vec!["g".into(), "h".into()]];
        let recs: Vec<Record<'static>> = rows
            .iter()
            .map(|(l, c, o, gt, g, h)| {
                let mut r = rec(&format!("l{l}"), *c, *o, *gt, &format!("g{g}"));
                // Value 0 of the second attribute is missing, as the readers record it.
                r.groups.push(if *h == 0 {
                    Cow::Borrowed(MISSING_KEY)
                } else {
                    Cow::Owned(format!("h{h}"))
                });
                r
            })
            .collect();
        ProfileBuilder::profile_of(&m, recs.iter())
    }

    fn assert_same(a: &Profile, b: &Profile) -> Result<(), TestCaseError> {
        prop_assert_eq!(a.n, b.n);
        prop_assert_eq!(&a.labels, &b.labels);
        prop_assert_eq!(a.confidence_histogram, b.confidence_histogram);
        prop_assert_eq!(
            (a.outcome_count, a.positives, a.confusion),
            (b.outcome_count, b.positives, b.confusion)
        );
        prop_assert_eq!(a.confidence.count, b.confidence.count);
        prop_assert!((a.confidence.mean - b.confidence.mean).abs() < 1e-12);
        prop_assert!((a.confidence.m2 - b.confidence.m2).abs() < 1e-9);
        prop_assert_eq!(&a.features.categorical, &b.features.categorical);
        let (fa, fb) = (&a.features.numeric["x"], &b.features.numeric["x"]);
        prop_assert_eq!(&fa.sketch, &fb.sketch);
        prop_assert_eq!(
            (fa.missing, fa.invalid, fa.moments.count),
            (fb.missing, fb.invalid, fb.moments.count)
        );
        prop_assert!((fa.moments.mean - fb.moments.mean).abs() < 1e-9);
        prop_assert_eq!(a.groups.len(), b.groups.len());
        for (ra, rb) in a.reliability.bins.iter().zip(&b.reliability.bins) {
            prop_assert_eq!((ra.labelled, ra.correct), (rb.labelled, rb.correct));
            prop_assert!((ra.confidence_sum - rb.confidence_sum).abs() < 1e-9);
            prop_assert!((ra.labelled_confidence_sum - rb.labelled_confidence_sum).abs() < 1e-9);
        }
        let (ma, mb) = (a.metrics().performance, b.metrics().performance);
        prop_assert_eq!(
            ma.as_ref()
                .map(|m| (m.precision, m.recall, m.f1, m.macro_f1)),
            mb.as_ref()
                .map(|m| (m.precision, m.recall, m.f1, m.macro_f1))
        );
        let ece = |m: &Option<audit_domain::ClassificationMetrics>| m.as_ref().and_then(|m| m.ece);
        match (ece(&ma), ece(&mb)) {
            (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-9),
            (x, y) => prop_assert_eq!(x, y),
        }
        for (attr, ga) in &a.groups {
            let gb = &b.groups[attr];
            prop_assert_eq!(ga.len(), gb.len());
            for (k, sa) in ga.iter() {
                let sb = gb.get(k).copied().unwrap_or_default();
                prop_assert_eq!(
                    (sa.count, sa.positives, sa.confidence_count, sa.confusion),
                    (sb.count, sb.positives, sb.confidence_count, sb.confusion)
                );
                prop_assert!((sa.confidence_sum - sb.confidence_sum).abs() < 1e-9);
            }
        }
        Ok(())
    }

    proptest! {
        // merge(profile(a), profile(b)) == profile(a ∪ b), above the category cap too.
        #[test]
        fn merge_equals_profile_of_union(a in arb_rows(), b in arb_rows()) {
            let mut merged = build(&a);
            merged.merge_from(&build(&b)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut all = a.clone();
            all.extend_from_slice(&b);
            assert_same(&merged, &build(&all))?;
        }
    }

    /// Pieces of prompts and responses: PII of each kind, refusals, plain and non-ASCII text.
    const TEXTS: [&str; 10] = [
        "",
        "Thanks! 谢谢 🙏",
        "mail jane.doe@example.com",
        "カード4111 1111 1111 1111です",
        "call (415) 555-0132 or AKIAIOSFODNN7EXAMPLE",
        "ssn 123-45-6789",
        "I'm sorry, but I can't help with that.",
        "I cannot provide that — désolé",
        "Here is the summary you asked for.",
        "password: 'abcdEFGH1234ijkl'",
    ];

    fn build_text(rows: &[(usize, usize)]) -> Profile {
        let mut m = FieldMapping::new("p");
        m.text.prompt = Some("prompt".into());
        m.text.response = Some("response".into());
        let recs: Vec<Record<'static>> = rows
            .iter()
            .map(|(p, r)| Record {
                prediction: Cow::Borrowed("x"),
                prompt: Some(Cow::Borrowed(TEXTS[*p])),
                response: Some(Cow::Borrowed(TEXTS[*r])),
                ..Record::default()
            })
            .collect();
        ProfileBuilder::profile_of(&m, recs.iter())
    }

    fn arb_text_rows() -> impl Strategy<Value = Vec<(usize, usize)>> {
        proptest::collection::vec((0..TEXTS.len(), 0..TEXTS.len()), 0..60)
    }

    proptest! {
        // Text stats, prompt and response PII included, merge exactly too.
        #[test]
        fn text_merge_equals_profile_of_union(a in arb_text_rows(), b in arb_text_rows()) {
            let mut merged = build_text(&a);
            merged.merge_from(&build_text(&b)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut all = a.clone();
            all.extend_from_slice(&b);
            let whole = build_text(&all);
            let (Some(mut m), Some(mut w)) = (merged.text, whole.text) else {
                return Err(TestCaseError::fail("text stats missing"));
            };
            prop_assert!((m.response_length.m2 - w.response_length.m2).abs() < 1e-6);
            prop_assert!((m.response_length.mean - w.response_length.mean).abs() < 1e-9);
            // The moments are merged in floating point; every count must be exact.
            m.response_length = w.response_length;
            prop_assert_eq!(&m, &w);
            prop_assert_eq!(m.prompts_scanned, all.iter().filter(|(p, _)| *p != 0).count() as u64);
            w.pii_prompts.clear();
            prop_assert_eq!(w.pii_leak_rate(), m.pii_leak_rate());
        }
    }
}
