//! The enumerations of the audit contract. Spellings are those of seed 000 and must not change:
//! they are stored in the database and read by the frontend.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An unknown spelling was given for one of the contract's enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {kind}; expected one of: {expected}")]
pub struct ParseEnumError {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! contract_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal, $rename:literal { $($variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = $rename)]
        pub enum $name {
            $($variant),+
        }

        // Written by hand: utoipa's derive does not see a `rename_all` that comes from a macro
        // argument and would document the Rust variant names instead of the contract spellings.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("`", $kind, "`: one of the contract values.")))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The contract spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

contract_enum!(
    /// `AIModel.model_type`.
    ModelType, "model_type", "lowercase" { Llm => "llm", Ml => "ml" }
);

contract_enum!(
    /// `AIModel.connection_type` and `EvidenceSource.type`.
    ConnectionType, "connection_type", "lowercase" {
        Api => "api", Logs => "logs", Batch => "batch", Container => "container", Sample => "sample"
    }
);

contract_enum!(
    /// `AuditRun.audit_type`.
    AuditType, "audit_type", "lowercase" { Passive => "passive", Active => "active" }
);

contract_enum!(
    /// `AuditRun.execution_status`: did the run manage to read its evidence?
    ExecutionStatus, "execution_status", "UPPERCASE" {
        Success => "SUCCESS", Partial => "PARTIAL", Failed => "FAILED"
    }
);

contract_enum!(
    /// `AuditRun.audit_result`: the verdict of a comparison with the baseline.
    AuditResult, "audit_result", "SCREAMING_SNAKE_CASE" {
        AuditPass => "AUDIT_PASS",
        AuditWarn => "AUDIT_WARN",
        AuditFail => "AUDIT_FAIL",
        BaselineCreated => "BASELINE_CREATED",
    }
);

contract_enum!(
    /// Finding severity, ordered `LOW < MEDIUM < HIGH < CRITICAL`.
    Severity, "severity", "UPPERCASE" {
        Low => "LOW", Medium => "MEDIUM", High => "HIGH", Critical => "CRITICAL"
    }
);

contract_enum!(
    /// `AuditFinding.category`.
    FindingCategory, "category", "lowercase" {
        Drift => "drift", Bias => "bias", Risk => "risk", Compliance => "compliance", Security => "security"
    }
);

contract_enum!(
    /// `AuditPolicy.audit_frequency`.
    AuditFrequency, "audit_frequency", "lowercase" {
        Daily => "daily", Weekly => "weekly", Monthly => "monthly"
    }
);

contract_enum!(
    /// `AuditPolicy.baseline_strategy`.
    BaselineStrategy, "baseline_strategy", "snake_case" {
        PreviousAudit => "previous_audit", ModelVersion => "model_version"
    }
);

contract_enum!(
    /// Why an evidence row was skipped. Rows are counted by reason, never fatal on their own.
    InvalidReason, "invalid_reason", "snake_case" {
        ParseError => "parse_error",
        MissingField => "missing_field",
        WrongType => "wrong_type",
        ConfidenceOutOfRange => "confidence_out_of_range",
        LineTooLong => "line_too_long",
        BadEncoding => "bad_encoding",
        BadTimestamp => "bad_timestamp",
    }
);

impl Severity {
    /// The lower of two severities.
    pub fn at_most(self, cap: Severity) -> Severity {
        self.min(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(all: &[T])
    where
        T: Serialize
            + for<'de> Deserialize<'de>
            + FromStr
            + fmt::Display
            + PartialEq
            + fmt::Debug
            + Copy,
        <T as FromStr>::Err: fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_string(v).expect("serialize");
            assert_eq!(json, format!("\"{v}\""), "serde and Display agree");
            let back: T = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(&back, v);
            assert_eq!(&v.to_string().parse::<T>().expect("parse"), v);
        }
    }

    #[test]
    fn spellings_match_the_contract() {
        let spelled = |v: &[&str]| v.join(",");
        assert_eq!(
            spelled(
                &ModelType::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "llm,ml"
        );
        assert_eq!(
            spelled(
                &ConnectionType::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "api,logs,batch,container,sample"
        );
        assert_eq!(
            spelled(
                &AuditType::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "passive,active"
        );
        assert_eq!(
            spelled(
                &ExecutionStatus::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "SUCCESS,PARTIAL,FAILED"
        );
        assert_eq!(
            spelled(
                &AuditResult::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "AUDIT_PASS,AUDIT_WARN,AUDIT_FAIL,BASELINE_CREATED"
        );
        assert_eq!(
            spelled(&Severity::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
            "LOW,MEDIUM,HIGH,CRITICAL"
        );
        assert_eq!(
            spelled(
                &FindingCategory::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "drift,bias,risk,compliance,security"
        );
        assert_eq!(
            spelled(
                &AuditFrequency::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "daily,weekly,monthly"
        );
        assert_eq!(
            spelled(
                &BaselineStrategy::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
            ),
            "previous_audit,model_version"
        );
    }

    #[test]
    fn serde_round_trips() {
        round_trip(ModelType::ALL);
        round_trip(ConnectionType::ALL);
        round_trip(AuditType::ALL);
        round_trip(ExecutionStatus::ALL);
        round_trip(AuditResult::ALL);
        round_trip(Severity::ALL);
        round_trip(FindingCategory::ALL);
        round_trip(AuditFrequency::ALL);
        round_trip(BaselineStrategy::ALL);
        round_trip(InvalidReason::ALL);
    }

    #[test]
    fn unknown_spelling_is_a_clear_error() {
        let err = "audit_pass"
            .parse::<AuditResult>()
            .expect_err("lowercase is not the contract");
        assert!(err.to_string().contains("AUDIT_PASS"), "{err}");
        assert!(serde_json::from_str::<Severity>("\"high\"").is_err());
    }

    #[test]
    fn severity_orders_low_to_critical() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(Severity::Critical.at_most(Severity::Low), Severity::Low);
    }
}
