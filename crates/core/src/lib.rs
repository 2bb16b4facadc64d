//! # audit-core: run an AI audit from evidence files, with no database and no web server
//!
//! This crate is the facade of the AI Auditor engine. It reads evidence (JSON Lines, CSV or
//! Parquet prediction logs, plain or gzip), reduces it to a [`Profile`] of aggregates in one
//! parallel streaming pass, compares it with an approved baseline profile and returns the
//! scores, findings and verdict of seed 000's passive audit.
//!
//! ```
//! use audit_core::{FieldMapping, PassiveAudit, AuditResult};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let write = |name: &str, approve_every: usize| -> std::io::Result<String> {
//!     let path = dir.path().join(name);
//!     let rows: String = (0..1000)
//!         .map(|i| {
//!             let approve = i % approve_every == 0;
//!             format!(
//!                 "{{\"prediction\":\"{}\",\"confidence\":0.{},\"outcome\":{approve}}}\n",
//!                 if approve { "approve" } else { "deny" },
//!                 50 + i % 40,
//!             )
//!         })
//!         .collect();
//!     std::fs::write(&path, rows)?;
//!     Ok(path.display().to_string())
//! };
//! let (last_month, this_month) = (write("baseline.jsonl", 2)?, write("current.jsonl", 5)?);
//!
//! // Which column holds what: prediction, confidence, outcome, protected attributes, ...
//! let mut mapping = FieldMapping::new("prediction");
//! mapping.confidence = Some("confidence".into());
//! mapping.outcome = Some("outcome".into());
//!
//! // First audit: no baseline yet, so this one becomes it.
//! let first = PassiveAudit::new(mapping.clone()).run(&[last_month])?;
//! assert_eq!(first.audit_result, Some(AuditResult::BaselineCreated));
//!
//! // Next audit: compared with the approved baseline profile (aggregates only).
//! let next = PassiveAudit::new(mapping).baseline(first.profile.clone()).run(&[this_month])?;
//! assert_eq!(next.audit_result, Some(AuditResult::AuditFail));
//! assert!(next.findings.iter().any(|f| f.metric_name == "outcome_rate"));
//! println!("drift {:.3}, risk {:.0}", next.drift_score, next.risk_score);
//! # Ok(())
//! # }
//! ```
//!
//! The layers underneath are usable on their own: `audit-evidence` (readers), `audit-metrics`
//! (the profile pass), `audit-baseline` (statistics and findings), `audit-domain` (types).

use audit_baseline::{Assessment, Statistics};
use audit_evidence::{EvidenceError, FileReport, InputFile, ReadOptions};
use audit_metrics::ProfileBuilder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use audit_baseline::performance::estimate as estimate_accuracy;
pub use audit_baseline::{AttributeBias, assess, risk_score};
pub use audit_domain::{
    AuditResult, ExecutionStatus, FieldMapping, Finding, FindingCategory, InvalidReason, Profile,
    ProfileMetrics, Severity, Thresholds,
};
pub use audit_evidence::{Format, Progress, Pruning, Skipped, TimeWindow, expand_inputs};

/// Why an audit could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Thresholds(#[from] audit_domain::ThresholdsError),
    #[error(transparent)]
    Mapping(#[from] audit_domain::MappingError),
    #[error("baseline profile: {0}")]
    Profile(String),
}

/// What was read and what was skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSummary {
    pub rows_read: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    pub invalid_rows: BTreeMap<InvalidReason, u64>,
    pub invalid_ratio: f64,
    pub rows_out_of_window: u64,
    pub files: Vec<FileSummary>,
    /// Files and Parquet row groups not read because they cannot hold a row of the window
    /// (partition, file-name date, modification time, row-group statistics).
    #[serde(default)]
    pub pruned: Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    pub path: String,
    pub format: String,
    pub bytes: u64,
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<FileReport> for FileSummary {
    fn from(f: FileReport) -> Self {
        FileSummary {
            path: f.path,
            format: f.format.to_owned(),
            bytes: f.bytes,
            rows: f.rows,
            error: f.error,
        }
    }
}

/// A profile with the account of how it was read.
#[derive(Debug, Clone)]
pub struct Collected {
    pub profile: Profile,
    pub files: Vec<FileSummary>,
    /// What was skipped as outside the window, unread.
    pub pruned: Skipped,
}

impl Collected {
    fn summary(&self) -> EvidenceSummary {
        let p = &self.profile;
        EvidenceSummary {
            rows_read: p.rows_read(),
            rows_valid: p.n,
            rows_invalid: p.invalid_rows(),
            invalid_rows: p.invalid.clone(),
            invalid_ratio: p.invalid_ratio(),
            rows_out_of_window: p.out_of_window,
            files: self.files.clone(),
            pruned: self.pruned.clone(),
        }
    }
}

/// The outcome of a passive audit: seed 000's audit-level metrics and findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditOutcome {
    pub execution_status: ExecutionStatus,
    /// Why the status is not SUCCESS (empty when it is).
    pub execution_reasons: Vec<String>,
    /// `None` when the audit FAILED: there was nothing reliable to judge.
    pub audit_result: Option<AuditResult>,
    pub drift_score: f64,
    pub bias_score: f64,
    pub risk_score: f64,
    pub total_findings: usize,
    pub critical_findings: usize,
    pub high_findings: usize,
    pub metrics: ProfileMetrics,
    pub baseline_metrics: Option<ProfileMetrics>,
    pub statistics: Statistics,
    pub findings: Vec<Finding>,
    pub evidence: EvidenceSummary,
    /// The current profile: store it, and approve it to make it the next baseline.
    #[serde(skip)]
    pub profile: Profile,
}

impl AuditOutcome {
    /// Applies the persistence requirement (`Thresholds::persistence_windows`): `history` holds,
    /// most recent first, `statistics.above_low` of the model's previous judged windows. The
    /// findings, their counts and the audit result are updated; `statistics.above_low` keeps
    /// what this window showed before the requirement, for the next window's check.
    pub fn apply_persistence(&mut self, history: &[Vec<String>], k: u32) {
        audit_baseline::persist(&mut self.findings, history, k);
        audit_baseline::sort_findings(&mut self.findings);
        self.recount();
    }

    /// Recomputes the finding counts and the audit result after the findings changed (scope,
    /// persistence, compliance checks); a FAILED execution keeps no result.
    pub fn recount(&mut self) {
        self.total_findings = self.findings.len();
        self.critical_findings = self.count(Severity::Critical);
        self.high_findings = self.count(Severity::High);
        if let Some(result) = self.audit_result {
            self.audit_result = Some(audit_baseline::result_of(
                &self.findings,
                result != AuditResult::BaselineCreated,
            ));
        }
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// Reads evidence files (paths, directories or glob patterns) into one profile.
pub fn collect<S: AsRef<str>>(
    inputs: &[S],
    mapping: &FieldMapping,
    opts: &ReadOptions,
) -> Result<Collected, AuditError> {
    let files: Vec<InputFile> = expand_inputs(inputs)?;
    collect_files(&files, mapping, opts)
}

/// Reads already expanded files into one profile.
pub fn collect_files(
    files: &[InputFile],
    mapping: &FieldMapping,
    opts: &ReadOptions,
) -> Result<Collected, AuditError> {
    let outcome = audit_evidence::read_files(
        files,
        mapping,
        opts,
        || ProfileBuilder::new(mapping),
        ProfileBuilder::merge,
    )?;
    let mut profile = outcome.sink.finish();
    profile.pool_free_text();
    Ok(Collected {
        profile,
        files: outcome.files.into_iter().map(FileSummary::from).collect(),
        pruned: outcome.skipped,
    })
}

/// Loads a profile saved as JSON (`auditor profile -o`), checking its schema version.
pub fn load_profile(path: &Path) -> Result<Profile, AuditError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AuditError::Profile(format!("cannot read '{}': {e}", path.display())))?;
    parse_profile(&text).map_err(|e| AuditError::Profile(format!("'{}': {e}", path.display())))
}

/// Parses a profile from JSON, checking its schema version.
pub fn parse_profile(text: &str) -> Result<Profile, String> {
    let p: Profile = serde_json::from_str(text).map_err(|e| format!("not a profile: {e}"))?;
    p.check_schema().map_err(|e| e.to_string())?;
    Ok(p)
}

/// Decides the execution status from what was read (DESIGN.md §3).
pub fn execution_status(c: &Collected, t: &Thresholds) -> (ExecutionStatus, Vec<String>) {
    let p = &c.profile;
    let mut reasons = Vec::new();
    let failed_files: Vec<&FileSummary> = c.files.iter().filter(|f| f.error.is_some()).collect();
    for f in &failed_files {
        reasons.push(format!(
            "{}: {}",
            f.path,
            f.error.as_deref().unwrap_or_default()
        ));
    }
    for (field, rows) in &p.pooled_text {
        reasons.push(format!(
            "'{field}' holds free text, not categories: its values in {rows} rows were pooled under __text__ and not kept"
        ));
    }
    if p.invalid_rows() > 0 {
        let by_reason: Vec<String> = p.invalid.iter().map(|(r, n)| format!("{n} {r}")).collect();
        reasons.push(format!(
            "{} of {} rows invalid ({:.2}%): {}",
            p.invalid_rows(),
            p.rows_read(),
            p.invalid_ratio() * 100.0,
            by_reason.join(", ")
        ));
    }
    if p.n == 0 {
        let why = if c.files.is_empty() {
            "no evidence file given".to_owned()
        } else if failed_files.len() == c.files.len() {
            "no evidence source could be read".to_owned()
        } else if p.out_of_window > 0 && p.invalid_rows() == 0 {
            format!(
                "no usable evidence: all {} rows are outside the time window",
                p.out_of_window
            )
        } else {
            "no usable evidence: no valid row was read".to_owned()
        };
        reasons.insert(0, why);
        return (ExecutionStatus::Failed, reasons);
    }
    if p.invalid_ratio() > t.max_invalid_ratio {
        reasons.insert(
            0,
            format!(
                "too many invalid rows: {:.2}% exceeds the {:.2}% allowed",
                p.invalid_ratio() * 100.0,
                t.max_invalid_ratio * 100.0
            ),
        );
        return (ExecutionStatus::Failed, reasons);
    }
    if reasons.is_empty() {
        (ExecutionStatus::Success, reasons)
    } else {
        (ExecutionStatus::Partial, reasons)
    }
}

/// Judges collected evidence against an optional baseline.
pub fn judge(current: Collected, baseline: Option<&Profile>, t: &Thresholds) -> AuditOutcome {
    let (status, reasons) = execution_status(&current, t);
    let evidence = current.summary();
    let metrics = current.profile.metrics();
    let baseline_metrics = baseline.map(Profile::metrics);
    if status == ExecutionStatus::Failed {
        return AuditOutcome {
            execution_status: status,
            execution_reasons: reasons,
            audit_result: None,
            drift_score: 0.0,
            bias_score: 0.0,
            risk_score: 0.0,
            total_findings: 0,
            critical_findings: 0,
            high_findings: 0,
            metrics,
            baseline_metrics,
            statistics: Statistics::default(),
            findings: Vec::new(),
            evidence,
            profile: current.profile,
        };
    }
    let a: Assessment = assess(&current.profile, baseline, t);
    AuditOutcome {
        execution_status: status,
        execution_reasons: reasons,
        audit_result: Some(a.audit_result),
        drift_score: a.drift_score,
        bias_score: a.bias_score,
        risk_score: a.risk_score,
        total_findings: a.findings.len(),
        critical_findings: a.count(Severity::Critical),
        high_findings: a.count(Severity::High),
        metrics,
        baseline_metrics,
        statistics: a.statistics,
        findings: a.findings,
        evidence,
        profile: current.profile,
    }
}

/// A passive audit, configured step by step.
#[derive(Debug, Clone)]
pub struct PassiveAudit {
    mapping: FieldMapping,
    thresholds: Thresholds,
    baseline: Option<Profile>,
    read: ReadOptions,
}

impl PassiveAudit {
    pub fn new(mapping: FieldMapping) -> Self {
        PassiveAudit {
            mapping,
            thresholds: Thresholds::default(),
            baseline: None,
            read: ReadOptions::default(),
        }
    }

    pub fn thresholds(mut self, t: Thresholds) -> Self {
        self.thresholds = t;
        self
    }

    /// The approved baseline profile to compare with; without one the audit creates it.
    pub fn baseline(mut self, profile: Profile) -> Self {
        self.baseline = Some(profile);
        self
    }

    pub fn window(mut self, window: TimeWindow) -> Self {
        self.read.window = window;
        self
    }

    pub fn read_options(mut self, read: ReadOptions) -> Self {
        self.read = read;
        self
    }

    /// Reads the current evidence (files, directories, globs) and judges it.
    pub fn run<S: AsRef<str>>(&self, inputs: &[S]) -> Result<AuditOutcome, AuditError> {
        self.thresholds.validate()?;
        self.mapping.validate()?;
        let files = expand_inputs(inputs)?;
        let current = collect_files(&files, &self.mapping, &self.read)?;
        Ok(judge(current, self.baseline.as_ref(), &self.thresholds))
    }

    /// Judges a profile that was already collected.
    pub fn run_collected(&self, current: Collected) -> Result<AuditOutcome, AuditError> {
        self.thresholds.validate()?;
        Ok(judge(current, self.baseline.as_ref(), &self.thresholds))
    }
}

pub use audit_evidence::ReadOptions as EvidenceReadOptions;
