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
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<FieldMapping>(r#"{"prediction":"p","confidnce":"c"}"#);
        assert!(err.is_err());
    }
}
