use crate::features::{FeatureFields, MAX_FEATURES};
use serde::{Deserialize, Serialize};

/// Which column of an evidence row holds what. Written by users as TOML or JSON, e.g.
///
/// ```toml
/// prediction = "prediction"
/// confidence = "confidence"
/// outcome = "approved"             # a column; or leave it out and set positive_labels
/// positive_values = ["true", "1"]  # what counts as positive in `outcome` and `ground_truth`
/// ground_truth = "actual"
/// protected = ["gender", "age_band"]
/// intersections = [["gender", "age_band"]]   # combined groups, e.g. `female×18-25`
/// timestamp = "ts"
/// [text]
/// prompt = "prompt"
/// response = "response"
/// [features]                       # input columns watched for drift
/// numeric = ["amount", "age"]
/// categorical = ["country", "channel"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Column with the predicted label. Required in every row.
    pub prediction: String,
    /// Column with the model's confidence in [0, 1]. When mapped, required in every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    /// Column with the outcome. When mapped, required in every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Values of `outcome` and `ground_truth` that count as positive (case-insensitive).
    #[serde(default = "default_positive_values")]
    pub positive_values: Vec<String>,
    /// Without an `outcome` column: predicted labels that count as a positive outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive_labels: Vec<String>,
    /// Column with the true outcome, when known (rows without it are simply not in the confusion counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth: Option<String>,
    /// Protected attributes whose group outcomes are compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
    /// Combinations of protected attributes judged as attributes of their own (issue 18): each
    /// names two or more of `protected`; its groups are the combined values joined by
    /// [`INTERSECTION_JOINER`] (`female×18-25`), under the attribute `gender×age_band`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intersections: Vec<Vec<String>>,
    /// Column with the row's time (RFC 3339, `YYYY-MM-DD HH:MM:SS` as UTC, or Unix seconds / milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// LLM text fields, analysed in memory only.
    #[serde(default, skip_serializing_if = "TextFields::is_empty")]
    pub text: TextFields,
    /// Input columns whose distributions are profiled and compared (numeric: a quantile
    /// sketch; categorical: capped counts). A bad or missing value never invalidates the row.
    #[serde(default, skip_serializing_if = "FeatureFields::is_empty")]
    pub features: FeatureFields,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TextFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl TextFields {
    pub fn is_empty(&self) -> bool {
        self.prompt.is_none() && self.response.is_none()
    }
}

fn default_positive_values() -> Vec<String> {
    ["true", "1", "yes", "y", "positive"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("field mapping: `{0}` must not be empty")]
    Empty(&'static str),
    #[error("field mapping: column '{column}' is mapped twice ({first} and {second})")]
    Duplicate {
        column: String,
        first: String,
        second: String,
    },
    #[error("field mapping: at most {max} protected attributes are supported, {got} given")]
    TooManyProtected { max: usize, got: usize },
    #[error("field mapping: at most {max} {kind} features are supported, {got} given")]
    TooManyFeatures {
        kind: &'static str,
        max: usize,
        got: usize,
    },
    #[error("field mapping: at most {max} intersections are supported, {got} given")]
    TooManyIntersections { max: usize, got: usize },
    #[error("field mapping: intersection [{0}]: {1}")]
    BadIntersection(String, String),
}

/// Joins attribute names and values of an intersection: `gender×age_band`, `female×18-25`.
pub const INTERSECTION_JOINER: &str = "×";
/// At most this many intersections per mapping: each is one more attribute of up to
/// `MAX_CATEGORIES` groups and its own tests in the audit's family.
pub const MAX_INTERSECTIONS: usize = 8;
/// At most this many attributes in one intersection.
pub const MAX_INTERSECTION_ARITY: usize = 4;

/// The attribute name of an intersection, `gender×age_band`.
pub fn intersection_name(attributes: &[String]) -> String {
    attributes.join(INTERSECTION_JOINER)
}

impl FieldMapping {
    /// A mapping that reads only the prediction column.
    pub fn new(prediction: impl Into<String>) -> Self {
        FieldMapping {
            prediction: prediction.into(),
            confidence: None,
            outcome: None,
            positive_values: default_positive_values(),
            positive_labels: Vec::new(),
            ground_truth: None,
            protected: Vec::new(),
            intersections: Vec::new(),
            timestamp: None,
            text: TextFields::default(),
            features: FeatureFields::default(),
        }
    }

    /// The conventional column names used by `auditor gen-evidence` and the demo.
    pub fn conventional() -> Self {
        FieldMapping {
            confidence: Some("confidence".into()),
            outcome: Some("outcome".into()),
            ground_truth: Some("actual".into()),
            protected: vec!["gender".into(), "age_band".into()],
            timestamp: Some("ts".into()),
            ..FieldMapping::new("prediction")
        }
    }

    /// Every mapped column with the role it plays, for validation and error messages.
    pub fn columns(&self) -> Vec<(String, &str)> {
        let mut out = vec![("prediction".to_owned(), self.prediction.as_str())];
        let optional = [
            ("confidence", &self.confidence),
            ("outcome", &self.outcome),
            ("ground_truth", &self.ground_truth),
            ("timestamp", &self.timestamp),
            ("text.prompt", &self.text.prompt),
            ("text.response", &self.text.response),
        ];
        for (role, c) in optional {
            if let Some(c) = c {
                out.push((role.to_owned(), c.as_str()));
            }
        }
        for p in &self.protected {
            out.push((format!("protected '{p}'"), p.as_str()));
        }
        for f in &self.features.numeric {
            out.push((format!("numeric feature '{f}'"), f.as_str()));
        }
        for f in &self.features.categorical {
            out.push((format!("categorical feature '{f}'"), f.as_str()));
        }
        out
    }

    /// Checks the mapping is usable: no empty names, no column in two roles.
    pub fn validate(&self) -> Result<(), MappingError> {
        const MAX_PROTECTED: usize = 16;
        if self.prediction.trim().is_empty() {
            return Err(MappingError::Empty("prediction"));
        }
        if self.protected.len() > MAX_PROTECTED {
            return Err(MappingError::TooManyProtected {
                max: MAX_PROTECTED,
                got: self.protected.len(),
            });
        }
        for (kind, list) in [
            ("numeric", &self.features.numeric),
            ("categorical", &self.features.categorical),
        ] {
            if list.len() > MAX_FEATURES {
                return Err(MappingError::TooManyFeatures {
                    kind,
                    max: MAX_FEATURES,
                    got: list.len(),
                });
            }
        }
        self.validate_intersections()?;
        let cols = self.columns();
        for (i, (role, col)) in cols.iter().enumerate() {
            if col.trim().is_empty() {
                return Err(MappingError::Empty("column name"));
            }
            if let Some((first, _)) = cols[..i].iter().find(|(_, c)| c == col) {
                return Err(MappingError::Duplicate {
                    column: (*col).to_owned(),
                    first: first.clone(),
                    second: role.clone(),
                });
            }
        }
        Ok(())
    }

    /// Each intersection names 2 to [`MAX_INTERSECTION_ARITY`] distinct protected attributes
    /// whose names do not contain the joiner (a combined name must split back into its parts),
    /// no intersection twice (in any order), at most [`MAX_INTERSECTIONS`].
    fn validate_intersections(&self) -> Result<(), MappingError> {
        if self.intersections.len() > MAX_INTERSECTIONS {
            return Err(MappingError::TooManyIntersections {
                max: MAX_INTERSECTIONS,
                got: self.intersections.len(),
            });
        }
        let mut seen: Vec<Vec<&str>> = Vec::new();
        for names in &self.intersections {
            let bad = |why: String| MappingError::BadIntersection(names.join(", "), why);
            if !(2..=MAX_INTERSECTION_ARITY).contains(&names.len()) {
                return Err(bad(format!(
                    "needs 2 to {MAX_INTERSECTION_ARITY} protected attributes"
                )));
            }
            for (i, n) in names.iter().enumerate() {
                if !self.protected.contains(n) {
                    return Err(bad(format!("'{n}' is not a protected attribute")));
                }
                if n.contains(INTERSECTION_JOINER) {
                    return Err(bad(format!(
                        "'{n}' contains '{INTERSECTION_JOINER}', which joins the names"
                    )));
                }
                if names[..i].contains(n) {
                    return Err(bad(format!("'{n}' is named twice")));
                }
            }
            if self.protected.contains(&intersection_name(names)) {
                return Err(bad(format!(
                    "its name '{}' is a protected attribute's",
                    intersection_name(names)
                )));
            }
            let mut key: Vec<&str> = names.iter().map(String::as_str).collect();
            key.sort_unstable();
            if seen.contains(&key) {
                return Err(bad("is given twice".into()));
            }
            seen.push(key);
        }
        Ok(())
    }

    /// The intersections as (attribute name, positions in `protected`), for the profile
    /// builder. Call after [`FieldMapping::validate`]; unknown names are skipped.
    pub fn intersection_indices(&self) -> Vec<(String, Vec<usize>)> {
        self.intersections
            .iter()
            .map(|names| {
                let idx = names
                    .iter()
                    .filter_map(|n| self.protected.iter().position(|p| p == n))
                    .collect();
                (intersection_name(names), idx)
            })
            .collect()
    }

    /// Whether `value` counts as positive for `outcome` / `ground_truth` columns.
    pub fn is_positive_value(&self, value: &str) -> bool {
        self.positive_values
            .iter()
            .any(|p| p.eq_ignore_ascii_case(value))
    }

    /// Whether outcomes are known at all (a column, or positive labels).
    pub fn has_outcome(&self) -> bool {
        self.outcome.is_some() || !self.positive_labels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_columns_are_rejected_with_both_roles() {
        let mut m = FieldMapping::conventional();
        m.outcome = Some("confidence".into());
        let err = m.validate().expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "field mapping: column 'confidence' is mapped twice (confidence and outcome)"
        );
    }

    #[test]
    fn conventional_mapping_is_valid_and_round_trips() {
        let m = FieldMapping::conventional();
        m.validate().expect("valid");
        let json = serde_json::to_string(&m).expect("json");
        let back: FieldMapping = serde_json::from_str(&json).expect("back");
        assert_eq!(back, m);
    }

    #[test]
    fn intersections_are_validated() {
        let with = |i: Vec<Vec<&str>>| {
            let mut m = FieldMapping::conventional();
            m.intersections = i
                .into_iter()
                .map(|v| v.into_iter().map(String::from).collect())
                .collect();
            m
        };
        let ok = with(vec![vec!["gender", "age_band"]]);
        ok.validate().expect("valid");
        assert_eq!(
            ok.intersection_indices(),
            vec![("gender×age_band".to_owned(), vec![0, 1])]
        );
        let err = |m: FieldMapping| m.validate().expect_err("invalid").to_string();
        assert!(
            err(with(vec![vec!["gender", "region"]]))
                .contains("'region' is not a protected attribute")
        );
        assert!(err(with(vec![vec!["gender"]])).contains("needs 2 to 4"));
        assert!(err(with(vec![vec!["gender", "gender"]])).contains("named twice"));
        assert!(
            err(with(vec![
                vec!["gender", "age_band"],
                vec!["age_band", "gender"]
            ]))
            .contains("given twice")
        );
        let many = with(vec![vec!["gender", "age_band"]; MAX_INTERSECTIONS + 1]);
        assert!(err(many).contains("at most 8 intersections"));
        let mut joiner = with(vec![vec!["a×b", "gender"]]);
        joiner.protected.push("a×b".into());
        assert!(err(joiner).contains("joins the names"));
        // TOML/JSON spelling.
        let m: FieldMapping = serde_json::from_str(
            r#"{"prediction":"p","protected":["g","a"],"intersections":[["g","a"]]}"#,
        )
        .expect("parse");
        m.validate().expect("valid");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<FieldMapping>(r#"{"prediction":"p","confidnce":"c"}"#);
        assert!(err.is_err());
    }
}
