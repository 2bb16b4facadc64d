//! From raw column values to a mapped [`Record`]: the type rules shared by every format.

use crate::window::{TimeWindow, epoch_to_time, parse_timestamp};
use audit_domain::{FeatureValue, FieldMapping, InvalidReason, MISSING_KEY, Record, RecordSink};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// A raw value from any format, before the mapping's type rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    Null,
    /// An object or array where a scalar was expected.
    Nested,
    /// Bytes that are not UTF-8.
    BadText,
}

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Prediction,
    Confidence,
    Outcome,
    GroundTruth,
    Timestamp,
    Prompt,
    Response,
    Group(usize),
    Numeric(usize),
    Categorical(usize),
}

/// A field mapping compiled for lookups in the hot loop, with the time window.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) mapping: FieldMapping,
    pub(crate) window: TimeWindow,
    columns: Vec<(String, Role)>,
    /// The same, for lookups by name: JSON Lines look every key of every row up, and with
    /// feature columns a mapping has dozens of same-length names (`num_0`, `num_1`, …) that a
    /// linear scan compared byte by byte (a seventh of the audit's time with 20 features).
    by_name: foldhash::HashMap<String, Role>,
}

impl Plan {
    pub fn new(mapping: FieldMapping, window: TimeWindow) -> Plan {
        let mut columns = vec![(mapping.prediction.clone(), Role::Prediction)];
        let optional = [
            (&mapping.confidence, Role::Confidence),
            (&mapping.outcome, Role::Outcome),
            (&mapping.ground_truth, Role::GroundTruth),
            (&mapping.timestamp, Role::Timestamp),
            (&mapping.text.prompt, Role::Prompt),
            (&mapping.text.response, Role::Response),
        ];
        for (col, role) in optional {
            if let Some(c) = col {
                columns.push((c.clone(), role));
            }
        }
        for (i, p) in mapping.protected.iter().enumerate() {
            columns.push((p.clone(), Role::Group(i)));
        }
        for (i, f) in mapping.features.numeric.iter().enumerate() {
            columns.push((f.clone(), Role::Numeric(i)));
        }
        for (i, f) in mapping.features.categorical.iter().enumerate() {
            columns.push((f.clone(), Role::Categorical(i)));
        }
        let mut by_name =
            foldhash::HashMap::with_capacity_and_hasher(columns.len(), Default::default());
        for (c, r) in &columns {
            // The first role of a name wins, as with the linear scan this replaces.
            by_name.entry(c.clone()).or_insert(*r);
        }
        Plan {
            mapping,
            window,
            columns,
            by_name,
        }
    }

    pub fn mapping(&self) -> &FieldMapping {
        &self.mapping
    }

    /// The role of a column name.
    #[inline]
    pub(crate) fn role_of(&self, name: &str) -> Option<Role> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn columns(&self) -> &[(String, Role)] {
        &self.columns
    }
}

/// The raw values of one row, reset between rows.
pub(crate) struct Slots<'a> {
    prediction: Option<Scalar<'a>>,
    confidence: Option<Scalar<'a>>,
    outcome: Option<Scalar<'a>>,
    ground_truth: Option<Scalar<'a>>,
    timestamp: Option<Scalar<'a>>,
    prompt: Option<Scalar<'a>>,
    response: Option<Scalar<'a>>,
    /// Protected attributes, then numeric features, then categorical ones: one vector, so
    /// that readers recycle one allocation between rows.
    cells: Vec<Option<Scalar<'a>>>,
    groups: usize,
    numeric: usize,
}

impl<'a> Slots<'a> {
    pub(crate) fn new(plan: &Plan) -> Slots<'a> {
        Slots {
            prediction: None,
            confidence: None,
            outcome: None,
            ground_truth: None,
            timestamp: None,
            prompt: None,
            response: None,
            cells: vec![None; cell_count(plan)],
            groups: plan.mapping.protected.len(),
            numeric: plan.mapping.features.numeric.len(),
        }
    }

    /// Reuses the group storage of an earlier row (see [`recycle`]).
    pub(crate) fn with_storage(plan: &Plan, storage: Vec<Option<Scalar<'a>>>) -> Slots<'a> {
        let mut s = Slots::new_empty();
        s.cells = storage;
        s.cells.resize(cell_count(plan), None);
        s.groups = plan.mapping.protected.len();
        s.numeric = plan.mapping.features.numeric.len();
        s
    }

    fn new_empty() -> Slots<'a> {
        Slots {
            prediction: None,
            confidence: None,
            outcome: None,
            ground_truth: None,
            timestamp: None,
            prompt: None,
            response: None,
            cells: Vec::new(),
            groups: 0,
            numeric: 0,
        }
    }

    pub(crate) fn into_storage(self) -> Vec<Option<Scalar<'a>>> {
        self.cells
    }

    pub(crate) fn reset(&mut self) {
        self.prediction = None;
        self.confidence = None;
        self.outcome = None;
        self.ground_truth = None;
        self.timestamp = None;
        self.prompt = None;
        self.response = None;
        self.cells.iter_mut().for_each(|g| *g = None);
    }

    #[inline]
    pub(crate) fn set(&mut self, role: Role, value: Scalar<'a>) {
        let slot = match role {
            Role::Prediction => &mut self.prediction,
            Role::Confidence => &mut self.confidence,
            Role::Outcome => &mut self.outcome,
            Role::GroundTruth => &mut self.ground_truth,
            Role::Timestamp => &mut self.timestamp,
            Role::Prompt => &mut self.prompt,
            Role::Response => &mut self.response,
            Role::Group(i) => match self.cells.get_mut(i) {
                Some(g) => g,
                None => return,
            },
            Role::Numeric(i) => match self.cells.get_mut(self.groups + i) {
                Some(f) => f,
                None => return,
            },
            Role::Categorical(i) => match self.cells.get_mut(self.groups + self.numeric + i) {
                Some(f) => f,
                None => return,
            },
        };
        *slot = Some(value);
    }
}

fn cell_count(plan: &Plan) -> usize {
    let m = &plan.mapping;
    m.protected.len() + m.features.numeric.len() + m.features.categorical.len()
}

/// A numeric feature's cell: numbers and numeric text count; null or absent is missing;
/// anything else (text, booleans, NaN, infinities, nested values) is invalid.
fn as_feature_number(v: Option<Scalar<'_>>) -> FeatureValue {
    let x = match v {
        None | Some(Scalar::Null) => return FeatureValue::Missing,
        Some(Scalar::Str(s)) if s.trim().is_empty() => return FeatureValue::Missing,
        Some(Scalar::Num(x)) => x,
        Some(Scalar::Str(s)) => match s.trim().parse::<f64>() {
            Ok(x) => x,
            Err(_) => return FeatureValue::Invalid,
        },
        Some(_) => return FeatureValue::Invalid,
    };
    if x.is_finite() {
        FeatureValue::Number(x)
    } else {
        FeatureValue::Invalid
    }
}

/// A categorical feature's key: as a label's, with absent, null and unusable values as
/// [`MISSING_KEY`] (a feature never invalidates its row).
fn as_feature_key(v: Option<Scalar<'_>>) -> Cow<'_, str> {
    v.and_then(|v| as_key(v).ok().flatten())
        .unwrap_or(Cow::Borrowed(MISSING_KEY))
}

/// Empties a vector and reuses its allocation for another element type of the same layout
/// (in practice: the same type with a shorter lifetime). `collect` reuses the buffer in place.
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Renders a number as a category key: integers without a fraction.
fn number_key(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn as_key<'a>(v: Scalar<'a>) -> Result<Option<Cow<'a, str>>, InvalidReason> {
    match v {
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => Ok(Some(s)),
        Scalar::Num(x) => Ok(Some(Cow::Owned(number_key(x)))),
        Scalar::Bool(b) => Ok(Some(Cow::Borrowed(if b { "true" } else { "false" }))),
        Scalar::Null => Ok(None),
        Scalar::Time(_) | Scalar::Nested => Err(InvalidReason::WrongType),
        Scalar::BadText => Err(InvalidReason::BadEncoding),
    }
}

fn as_flag(mapping: &FieldMapping, v: Scalar<'_>) -> Result<Option<bool>, InvalidReason> {
    Ok(as_key(v)?.map(|k| mapping.is_positive_value(k.trim())))
}

fn as_confidence(v: Scalar<'_>) -> Result<f64, InvalidReason> {
    let x = match v {
        Scalar::Num(x) => x,
        Scalar::Str(s) if s.trim().is_empty() => return Err(InvalidReason::MissingField),
        Scalar::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| InvalidReason::WrongType)?,
        Scalar::Null => return Err(InvalidReason::MissingField),
        Scalar::BadText => return Err(InvalidReason::BadEncoding),
        Scalar::Bool(_) | Scalar::Time(_) | Scalar::Nested => return Err(InvalidReason::WrongType),
    };
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(InvalidReason::ConfidenceOutOfRange)
    }
}

fn as_time(v: Scalar<'_>) -> Result<Option<DateTime<Utc>>, InvalidReason> {
    match v {
        Scalar::Time(t) => Ok(Some(t)),
        Scalar::Num(x) => epoch_to_time(x)
            .map(Some)
            .ok_or(InvalidReason::BadTimestamp),
        Scalar::Str(s) if s.trim().is_empty() => Ok(None),
        Scalar::Str(s) => parse_timestamp(&s)
            .map(Some)
            .ok_or(InvalidReason::BadTimestamp),
        Scalar::Null => Ok(None),
        Scalar::Bool(_) | Scalar::Nested | Scalar::BadText => Err(InvalidReason::BadTimestamp),
    }
}

fn as_text(v: Scalar<'_>) -> Option<Cow<'_, str>> {
    match v {
        Scalar::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Applies the mapping's rules to the slots and fills `record`.
pub(crate) fn build<'a>(
    plan: &Plan,
    slots: &mut Slots<'a>,
    record: &mut Record<'a>,
) -> Result<(), InvalidReason> {
    let m = &plan.mapping;
    record.prediction = match slots.prediction.take() {
        Some(v) => as_key(v)?.ok_or(InvalidReason::MissingField)?,
        None => return Err(InvalidReason::MissingField),
    };
    record.confidence = match (&m.confidence, slots.confidence.take()) {
        (None, _) => None,
        (Some(_), Some(v)) => Some(as_confidence(v)?),
        (Some(_), None) => return Err(InvalidReason::MissingField),
    };
    record.outcome = match (&m.outcome, slots.outcome.take()) {
        (Some(_), Some(v)) => Some(as_flag(m, v)?.ok_or(InvalidReason::MissingField)?),
        (Some(_), None) => return Err(InvalidReason::MissingField),
        (None, _) if !m.positive_labels.is_empty() => Some(
            m.positive_labels
                .iter()
                .any(|l| l.as_str() == record.prediction.as_ref()),
        ),
        (None, _) => None,
    };
    record.ground_truth = match slots.ground_truth.take() {
        Some(v) => as_flag(m, v)?,
        None => None,
    };
    record.groups.clear();
    let groups = slots.groups;
    for g in slots.cells.iter_mut().take(groups) {
        let key = match g.take() {
            Some(v) => as_key(v)?,
            None => None,
        };
        record
            .groups
            .push(key.unwrap_or(Cow::Borrowed(MISSING_KEY)));
    }
    record.timestamp = match slots.timestamp.take() {
        Some(v) => as_time(v)?,
        None => None,
    };
    if m.timestamp.is_some() && record.timestamp.is_none() && !plan.window.is_unbounded() {
        return Err(InvalidReason::BadTimestamp);
    }
    record.prompt = slots.prompt.take().and_then(as_text);
    record.response = slots.response.take().and_then(as_text);
    record.numeric.clear();
    record.categorical.clear();
    let (groups, numeric) = (slots.groups, slots.numeric);
    for (i, f) in slots.cells.iter_mut().enumerate().skip(groups) {
        if i < groups + numeric {
            record.numeric.push(as_feature_number(f.take()));
        } else {
            record.categorical.push(as_feature_key(f.take()));
        }
    }
    Ok(())
}

/// Builds the record and routes it: valid in window, out of window, or invalid.
pub(crate) fn emit<'a>(
    plan: &Plan,
    slots: &mut Slots<'a>,
    record: &mut Record<'a>,
    sink: &mut dyn RecordSink,
) {
    match build(plan, slots, record) {
        Ok(()) => match record.timestamp {
            Some(t) if !plan.window.contains(t) => sink.out_of_window(),
            _ => sink.observe(record),
        },
        Err(reason) => sink.invalid(reason),
    }
    // Text must not outlive the row.
    record.prompt = None;
    record.response = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut m = FieldMapping::conventional();
        m.text.response = Some("response".into());
        Plan::new(m, TimeWindow::default())
    }

    fn run(values: &[(&str, Scalar<'static>)]) -> Result<Record<'static>, InvalidReason> {
        let plan = plan();
        let mut slots = Slots::new(&plan);
        for (k, v) in values {
            if let Some(role) = plan.role_of(k) {
                slots.set(role, v.clone());
            }
        }
        let mut r = Record::default();
        build(&plan, &mut slots, &mut r).map(|_| r)
    }

    fn s(x: &'static str) -> Scalar<'static> {
        Scalar::Str(Cow::Borrowed(x))
    }

    #[test]
    fn type_rules() {
        let base = [
            ("prediction", s("approve")),
            ("confidence", s("0.5")),
            ("outcome", s("TRUE")),
        ];
        let r = run(&base).expect("valid");
        assert_eq!(
            (r.prediction.as_ref(), r.confidence, r.outcome),
            ("approve", Some(0.5), Some(true))
        );
        assert_eq!(
            r.groups,
            vec![Cow::Borrowed(MISSING_KEY), Cow::Borrowed(MISSING_KEY)]
        );
        let r = run(&[
            ("prediction", Scalar::Num(2.0)),
            ("confidence", Scalar::Num(1.0)),
            ("outcome", Scalar::Num(0.0)),
        ])
        .expect("valid");
        assert_eq!((r.prediction.as_ref(), r.outcome), ("2", Some(false)));

        let bad = |v: &[(&str, Scalar<'static>)]| run(v).expect_err("invalid");
        assert_eq!(
            bad(&[("confidence", s("0.5")), ("outcome", s("1"))]),
            InvalidReason::MissingField
        );
        assert_eq!(
            bad(&[
                ("prediction", s("")),
                ("confidence", s("0.5")),
                ("outcome", s("1"))
            ]),
            InvalidReason::MissingField
        );
        assert_eq!(
            bad(&[
                ("prediction", s("a")),
                ("confidence", s("high")),
                ("outcome", s("1"))
            ]),
            InvalidReason::WrongType
        );
        assert_eq!(
            bad(&[
                ("prediction", s("a")),
                ("confidence", s("NaN")),
                ("outcome", s("1"))
            ]),
            InvalidReason::ConfidenceOutOfRange
        );
        assert_eq!(
            bad(&[
                ("prediction", s("a")),
                ("confidence", Scalar::Num(1.5)),
                ("outcome", s("1"))
            ]),
            InvalidReason::ConfidenceOutOfRange
        );
        assert_eq!(
            bad(&[
                ("prediction", s("a")),
                ("confidence", Scalar::Num(-0.1)),
                ("outcome", s("1"))
            ]),
            InvalidReason::ConfidenceOutOfRange
        );
        assert_eq!(
            bad(&[
                ("prediction", Scalar::Nested),
                ("confidence", s("0.5")),
                ("outcome", s("1"))
            ]),
            InvalidReason::WrongType
        );
        assert_eq!(
            bad(&[("prediction", s("a")), ("confidence", s("0.5"))]),
            InvalidReason::MissingField
        );
        assert_eq!(
            bad(&[
                ("prediction", s("a")),
                ("confidence", s("0.5")),
                ("outcome", s("1")),
                ("ts", s("not a time"))
            ]),
            InvalidReason::BadTimestamp
        );
    }

    #[test]
    fn outcome_can_come_from_positive_labels() {
        let mut m = FieldMapping::new("label");
        m.positive_labels = vec!["approve".into()];
        let plan = Plan::new(m, TimeWindow::default());
        let mut slots = Slots::new(&plan);
        slots.set(Role::Prediction, s("approve"));
        let mut r = Record::default();
        build(&plan, &mut slots, &mut r).expect("valid");
        assert_eq!(r.outcome, Some(true));
    }
}
