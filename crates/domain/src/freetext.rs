//! Keys that cannot carry text. A profile keeps category values (labels, protected groups) as
//! keys; mapped to a column of free text — a prompt named as a protected attribute, say — it
//! would store that text. Values longer than [`MAX_KEY_BYTES`] are never kept (they are counted
//! under [`TEXT_KEY`] as they arrive), and a whole field that behaves like free text is pooled
//! under [`TEXT_KEY`] when a window's profile is complete, with the rows counted in
//! [`Profile::pooled_text`].
//!
//! A field behaves like free text when nearly every value is distinct: at least
//! [`MIN_DISTINCT`] kept values and at least half as many distinct values as rows, or a capped
//! field whose `__other__` pool holds at least half the rows, or one whose long values do.
//! A real categorical attribute with that many values per row could not have a group large
//! enough to be scored anyway (`min_group_size`).

use crate::profile::{MAX_CATEGORIES, OTHER_KEY, TEXT_KEY};
use crate::{CategoryCounts, INTERSECTION_JOINER, Mergeable, Profile};

/// Fewer distinct values than this never count as free text.
pub const MIN_DISTINCT: usize = 20;

fn free_text<V: Mergeable>(c: &CategoryCounts<V>, count: impl Fn(&V) -> u64) -> bool {
    let total: u64 = c.iter().map(|(_, v)| count(v)).sum();
    if total == 0 {
        return false;
    }
    let pooled = |k: &str| c.get(k).map_or(0, &count);
    let real = c
        .iter()
        .filter(|(k, _)| *k != OTHER_KEY && *k != TEXT_KEY)
        .count();
    let half = |x: u64| x * 2 >= total;
    (real >= MIN_DISTINCT && half(real as u64))
        || (real >= MAX_CATEGORIES && half(pooled(OTHER_KEY)))
        || half(pooled(TEXT_KEY))
}

impl Profile {
    /// Pools every field that behaves like free text under [`TEXT_KEY`] and records the rows
    /// pooled per field (`labels` or the attribute's name). Called once a window's profile is
    /// complete (it is not mergeable: a field is judged over the whole window).
    pub fn pool_free_text(&mut self) {
        if free_text(&self.labels, |v| *v) {
            self.labels.pool_all(TEXT_KEY);
        }
        let mut pooled: Vec<String> = Vec::new();
        for (attr, groups) in &mut self.groups {
            if free_text(groups, |g| g.count) {
                groups.pool_all(TEXT_KEY);
                pooled.push(attr.clone());
            }
        }
        // An intersection with a free-text attribute would keep that text inside its combined
        // keys: it is pooled with the attribute (names never contain the joiner, see mapping.rs).
        for (attr, groups) in &mut self.groups {
            let parts = || attr.split(INTERSECTION_JOINER);
            if parts().count() > 1 && parts().any(|p| pooled.iter().any(|q| q == p)) {
                groups.pool_all(TEXT_KEY);
            }
        }
        for counts in self.features.categorical.values_mut() {
            if free_text(counts, |v| *v) {
                counts.pool_all(TEXT_KEY);
            }
        }
        self.pooled_text.clear();
        if let Some(n) = self.labels.get(TEXT_KEY) {
            self.pooled_text.insert("labels".into(), *n);
        }
        for (attr, groups) in &self.groups {
            if let Some(g) = groups.get(TEXT_KEY) {
                self.pooled_text.insert(attr.clone(), g.count);
            }
        }
        for (name, counts) in &self.features.categorical {
            if let Some(n) = counts.get(TEXT_KEY) {
                self.pooled_text.insert(format!("features.{name}"), *n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupStats;

    fn group(n: u64) -> GroupStats {
        GroupStats {
            count: n,
            ..GroupStats::default()
        }
    }

    #[test]
    fn a_column_of_distinct_values_is_pooled() {
        let mut p = Profile::new();
        let prompts = p.groups.entry("prompt".into()).or_default();
        for i in 0..40 {
            prompts
                .entry(&format!("please help me with order {i}"))
                .merge_from(&group(1));
        }
        let gender = p.groups.entry("gender".into()).or_default();
        for (g, n) in [("female", 20), ("male", 20)] {
            gender.entry(g).merge_from(&group(n));
        }
        // An intersection with the free-text attribute is pooled with it, even when its own
        // kept keys do not look like text; one with real attributes only is kept.
        let mixed = p.groups.entry("gender×prompt".into()).or_default();
        for (g, n) in [("female×please…", 20), ("male×please…", 20)] {
            mixed.entry(g).merge_from(&group(n));
        }
        let real = p.groups.entry("gender×region".into()).or_default();
        for (g, n) in [("female×north", 20), ("male×south", 20)] {
            real.entry(g).merge_from(&group(n));
        }
        *p.labels.entry("approve") += 40;
        p.pool_free_text();
        assert_eq!(p.groups["gender×prompt"].len(), 1);
        assert_eq!(p.groups["gender×region"].len(), 2);
        p.pooled_text.remove("gender×prompt");
        assert_eq!(p.groups["prompt"].len(), 1);
        assert_eq!(p.groups["prompt"].get(TEXT_KEY).map(|g| g.count), Some(40));
        assert_eq!(p.groups["gender"].len(), 2, "a real attribute is kept");
        assert_eq!(p.pooled_text.get("prompt"), Some(&40));
        assert_eq!(p.pooled_text.len(), 1);
    }

    #[test]
    fn many_rows_of_few_values_are_categories() {
        let mut p = Profile::new();
        for i in 0..30 {
            *p.labels.entry(&format!("label{i}")) += 10;
        }
        p.pool_free_text();
        assert_eq!(p.labels.len(), 30);
        assert!(p.pooled_text.is_empty());
    }
}
