//! Typed records: what the repositories return and take. Field names are seed 000's.

use audit_domain::{
    AuditFrequency, AuditResult, AuditType, BaselineStrategy, ConnectionType, ExecutionStatus,
    FindingCategory, ModelType, Severity,
};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::StoreError;

/// Now, in UTC, at microsecond precision (what both databases keep), so values round-trip.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// An instant as the compliance log writes `at` (RFC 3339, microseconds, `Z`), so that times
/// compare as text in both databases.
pub fn log_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(6).naive_utc()
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} '{s}'")))
}

pub(crate) fn json(s: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A registered model (`AIModel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Model {
    pub id: i64,
    pub model_id: String,
    pub name: String,
    pub version: String,
    pub model_type: ModelType,
    pub connection_type: ConnectionType,
    pub created_at: DateTime<Utc>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub tenant_id: String,
    pub project_id: String,
    /// When the model was archived (`DELETE /models/{model_id}`); `None` while it is active.
    /// An archived model's records stay readable until the purge (docs/retention.md).
    pub archived_at: Option<DateTime<Utc>>,
    /// Who archived it (`key:…`, `user:…`).
    pub archived_by: Option<String>,
}

impl Model {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// What registering a model stores.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub model_id: String,
    pub name: String,
    pub version: String,
    pub model_type: ModelType,
    pub connection_type: ConnectionType,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub tenant_id: String,
    pub project_id: String,
}

/// Changes to a model; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct ModelChanges {
    pub name: Option<String>,
    pub version: Option<String>,
    pub model_type: Option<ModelType>,
    pub connection_type: Option<ConnectionType>,
    pub description: Option<Option<String>>,
    pub owner: Option<Option<String>>,
}

/// Where a model's evidence comes from (`EvidenceSource`). `config` is JSON as it may be shown:
/// its secrets are masked (see `redacted_config`); the full config, when masking hid anything,
/// is sealed in `sealed_config` and opened only where the source is read
/// ([`EvidenceSource::open_config`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceSource {
    pub id: i64,
    pub model_id: String,
    #[serde(rename = "type")]
    pub source_type: ConnectionType,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    /// The full config, sealed; never serialised.
    #[serde(skip)]
    pub sealed_config: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEvidenceSource {
    pub source_type: ConnectionType,
    pub config: serde_json::Value,
    pub read_only: bool,
}

/// A copy of a config with every secret value replaced by `"***"` and its URLs masked
/// ([`crate::secrets::masked_config`]).
pub fn redacted_config(config: &serde_json::Value) -> serde_json::Value {
    crate::secrets::masked_config(config)
}

impl EvidenceSource {
    pub fn redacted(&self) -> EvidenceSource {
        EvidenceSource {
            config: redacted_config(&self.config),
            sealed_config: None,
            ..self.clone()
        }
    }

    /// The full config, secrets included: for the reader of the source only.
    pub fn open_config(
        &self,
        sealer: &audit_keys::Sealer,
    ) -> Result<serde_json::Value, StoreError> {
        match &self.sealed_config {
            Some(s) => json(
                &sealer.open(&crate::secrets::context::source_config(&self.model_id), s)?,
                "sealed evidence source config",
            ),
            None => Ok(self.config.clone()),
        }
    }
}

/// `AuditPolicy.audit_scope`: which families of checks an audit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AuditScope {
    pub drift: bool,
    pub bias: bool,
    pub risk: bool,
    pub compliance: bool,
    pub active_security: bool,
}

impl Default for AuditScope {
    fn default() -> Self {
        AuditScope {
            drift: true,
            bias: true,
            risk: true,
            compliance: true,
            active_security: false,
        }
    }
}

impl AuditScope {
    /// Whether findings of `category` are kept.
    pub fn covers(&self, category: FindingCategory) -> bool {
        match category {
            FindingCategory::Drift => self.drift,
            FindingCategory::Bias => self.bias,
            FindingCategory::Risk => self.risk,
            FindingCategory::Compliance => self.compliance,
            FindingCategory::Security => self.active_security,
        }
    }
}

/// An audit policy (`AuditPolicy`): when and against what a model is audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    pub id: i64,
    pub model_id: String,
    pub audit_frequency: AuditFrequency,
    pub baseline_strategy: BaselineStrategy,
    pub audit_scope: AuditScope,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub policy_reference: Option<serde_json::Value>,
    pub active_audit_enabled: bool,
    /// Threshold overrides (any subset of the keys of `docs/metrics.md`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub thresholds: Option<serde_json::Value>,
    /// A disabled policy is kept but never scheduled.
    pub enabled: bool,
    /// When the scheduler runs it next (`null` when disabled).
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub model_id: String,
    pub audit_frequency: AuditFrequency,
    pub baseline_strategy: BaselineStrategy,
    pub audit_scope: AuditScope,
    pub policy_reference: Option<serde_json::Value>,
    pub active_audit_enabled: bool,
    pub thresholds: Option<serde_json::Value>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PolicyChanges {
    pub audit_frequency: Option<AuditFrequency>,
    pub baseline_strategy: Option<BaselineStrategy>,
    pub audit_scope: Option<AuditScope>,
    pub policy_reference: Option<Option<serde_json::Value>>,
    pub active_audit_enabled: Option<bool>,
    pub thresholds: Option<Option<serde_json::Value>>,
    pub enabled: Option<bool>,
}

/// Life of a run row: claimed (`running`) then closed (`finished`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Finished,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Finished => "finished",
        }
    }
}

impl FromStr for RunState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "running" => Ok(RunState::Running),
            "finished" => Ok(RunState::Finished),
            _ => Err(()),
        }
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

impl FromStr for Trigger {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "schedule" => Ok(Trigger::Schedule),
            "manual" => Ok(Trigger::Manual),
            _ => Err(()),
        }
    }
}

/// One audit (`AuditRun`), with its evidence window and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRun {
    pub id: i64,
    pub audit_id: String,
    pub model_id: String,
    pub audit_type: AuditType,
    pub scheduled_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
    pub execution_status: Option<ExecutionStatus>,
    pub audit_result: Option<AuditResult>,
    pub run_state: RunState,
    pub trigger: Trigger,
    pub model_version: String,
    /// The evidence window read: (`window_start`, `window_end`]; no start for the first run.
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: DateTime<Utc>,
    /// Why the execution was PARTIAL or FAILED.
    pub execution_reason: Option<String>,
    /// Rows read, invalid rows by reason, files (aggregates only).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub evidence: Option<serde_json::Value>,
    /// The audit whose profile was the baseline.
    pub baseline_audit_id: Option<String>,
}

/// `AuditSummary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditSummary {
    pub audit_id: String,
    pub drift_score: f64,
    pub bias_score: f64,
    pub risk_score: f64,
    pub total_findings: i32,
    pub critical_findings: i32,
    pub high_findings: i32,
    /// Current and baseline metrics (seed names) and every statistic of the comparison.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metrics: serde_json::Value,
}

/// One stored finding (`AuditFinding`): the engine's finding with where and when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingRecord {
    pub id: i64,
    /// The same as `id` (the name the frontend reads).
    pub finding_id: i64,
    pub audit_id: String,
    pub model_id: String,
    #[serde(flatten)]
    pub finding: audit_domain::Finding,
    pub created_at: DateTime<Utc>,
    /// Workflow: `open`, `acknowledged`, `resolved` or `false_positive`.
    pub status: String,
    /// Who moved it to `status`, when, and why.
    pub status_actor: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
    pub status_note: Option<String>,
}

/// A baseline approval: makes an audit's profile the model's baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub id: i64,
    pub model_id: String,
    pub audit_id: String,
    pub model_version: String,
    pub approved_at: DateTime<Utc>,
    pub approved_by: String,
    pub note: Option<String>,
}

/// A page of a list and the total matching the filters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// Bounds of a list request.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub skip: i64,
    pub limit: i64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging { skip: 0, limit: 50 }
    }
}

/// Filters of `GET /audits` and `GET /audits/model/{model_id}`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only models of this tenant (`None`: every tenant).
    pub tenant_id: Option<String>,
    pub model_id: Option<String>,
    pub audit_type: Option<AuditType>,
    pub execution_status: Option<ExecutionStatus>,
    pub audit_result: Option<AuditResult>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Include runs still in progress (they have no `executed_at`).
    pub include_running: bool,
}

/// Filters of `GET /findings`.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only models of this tenant (`None`: every tenant).
    pub tenant_id: Option<String>,
    pub model_id: Option<String>,
    /// `open`, `acknowledged`, `resolved` or `false_positive`.
    pub status: Option<String>,
    pub audit_id: Option<String>,
    pub severity: Option<Severity>,
    pub category: Option<FindingCategory>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}
