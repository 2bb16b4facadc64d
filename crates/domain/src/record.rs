use crate::{FeatureValue, InvalidReason};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// One evidence row after field mapping. Borrowed from the reader's buffer where possible;
/// text fields live only as long as the row is being observed and are never stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record<'a> {
    pub prediction: Cow<'a, str>,
    pub confidence: Option<f64>,
    pub outcome: Option<bool>,
    pub ground_truth: Option<bool>,
    /// One value per protected attribute, in the order of [`crate::FieldMapping::protected`].
    pub groups: Vec<Cow<'a, str>>,
    pub timestamp: Option<DateTime<Utc>>,
    pub prompt: Option<Cow<'a, str>>,
    pub response: Option<Cow<'a, str>>,
    /// One value per numeric feature, in the order of the mapping's `features.numeric`.
    pub numeric: Vec<FeatureValue>,
    /// One key per categorical feature ([`crate::MISSING_KEY`] when absent), in the order of
    /// `features.categorical`.
    pub categorical: Vec<Cow<'a, str>>,
}

/// Where readers send rows: the metrics pass implements it; tests can collect rows.
pub trait RecordSink {
    /// A valid row inside the time window.
    fn observe(&mut self, record: &Record<'_>);
    /// A row skipped for `reason`.
    fn invalid(&mut self, reason: InvalidReason);
    /// A valid row outside the requested time window (not an error, just not in this audit).
    fn out_of_window(&mut self);
}
