//! Compliance checks of a passive run: the process facts read from the model's run history and
//! approvals (they need no evidence), then the pure evaluation of `audit-compliance`.

use audit_compliance::facts::Comparison;
use audit_compliance::{Facts, ProcessFacts, RuleResult, RuleSet};
use audit_core::AuditOutcome;
use audit_domain::{AuditFrequency, AuditType, ExecutionStatus, Finding};
use audit_store::repo::audits;
use audit_store::{AnyConnection, AuditRun, StoreError};
use chrono::{DateTime, Utc};

use crate::TimeScale;

/// Runs of history read for the "unreadable for N runs" and "last audit" facts.
const HISTORY: i64 = 50;

/// Days in one period of a frequency (monthly counts as 30).
pub fn frequency_days(f: AuditFrequency) -> f64 {
    match f {
        AuditFrequency::Daily => 1.0,
        AuditFrequency::Weekly => 7.0,
        AuditFrequency::Monthly => 30.0,
    }
}

/// Days between two instants on the policy's clock: a compressed demo schedule compresses days
/// too, so an overdue check means the same at any speed.
fn days(from: DateTime<Utc>, to: DateTime<Utc>, scale: TimeScale) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 86_400_000.0 * scale.0
}

/// A run read no source in full: it FAILED, or a file or source reported an error.
fn unreadable(status: Option<ExecutionStatus>, evidence: Option<&serde_json::Value>) -> bool {
    status == Some(ExecutionStatus::Failed)
        || evidence
            .and_then(|e| e.get("files"))
            .and_then(|f| f.as_array())
            .is_some_and(|files| {
                files
                    .iter()
                    .any(|f| f.get("error").is_some_and(|e| !e.is_null()))
            })
}

fn rows_valid(evidence: Option<&serde_json::Value>) -> u64 {
    evidence
        .and_then(|e| e.get("rows_valid"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

/// What the run history says about `run` (not yet finished) and its `outcome`.
pub fn process_facts(
    c: &mut AnyConnection,
    run: &AuditRun,
    frequency: Option<AuditFrequency>,
    baseline_audit_id: Option<&str>,
    outcome: &AuditOutcome,
    now: DateTime<Utc>,
    scale: TimeScale,
) -> Result<ProcessFacts, StoreError> {
    let history = audits::recent_finished(c, &run.model_id, AuditType::Passive, HISTORY)?;
    let history: Vec<&AuditRun> = history
        .iter()
        .filter(|r| r.audit_id != run.audit_id)
        .collect();
    let days_since_last_audit = history
        .iter()
        .find(|r| r.execution_status != Some(ExecutionStatus::Failed))
        .and_then(|r| r.executed_at)
        .map(|t| days(t, now, scale));

    let approvals = audits::approvals_of(c, &run.model_id)?;
    // The automatic approval of a first audit is the system's, not a reviewer's.
    let baseline_approved = approvals.iter().any(|a| a.approved_by != "system");
    let days_since_baseline_approval = baseline_audit_id.and_then(|id| {
        approvals
            .iter()
            .find(|a| a.audit_id == id)
            .map(|a| days(a.approved_at, now, scale))
    });

    let evidence = serde_json::to_value(&outcome.evidence).ok();
    let mut unreadable_source_runs = 0;
    if unreadable(Some(outcome.execution_status), evidence.as_ref()) {
        unreadable_source_runs = 1 + history
            .iter()
            .take_while(|r| unreadable(r.execution_status, r.evidence.as_ref()))
            .count() as u32;
    }
    let days_since_evidence = if outcome.evidence.rows_valid > 0 {
        Some(0.0)
    } else {
        history
            .iter()
            .find(|r| rows_valid(r.evidence.as_ref()) > 0)
            .map(|r| days(r.window_end, now, scale))
    };
    Ok(ProcessFacts {
        days_since_last_audit,
        frequency_days: frequency.map(frequency_days),
        baseline_approved,
        days_since_baseline_approval,
        unreadable_source_runs,
        days_since_evidence,
    })
}

/// Judges the rule set on the outcome and the process facts.
pub fn check(
    set: &RuleSet,
    outcome: &AuditOutcome,
    has_baseline: bool,
    process: &ProcessFacts,
) -> (Vec<RuleResult>, Vec<Finding>) {
    let usable = outcome.execution_status != ExecutionStatus::Failed;
    let facts = Facts::of_audit(
        usable.then_some(&outcome.metrics),
        usable.then_some(Comparison {
            statistics: &outcome.statistics,
            drift_score: outcome.drift_score,
            bias_score: outcome.bias_score,
            risk_score: outcome.risk_score,
            has_baseline,
        }),
        process,
    );
    let results = audit_compliance::evaluate(set, &facts);
    let findings = audit_compliance::findings(&results);
    (results, findings)
}

/// The run's `evidence.compliance`: what was checked and how each rule came out.
pub fn record(set: &RuleSet, results: &[RuleResult]) -> serde_json::Value {
    let packs: Vec<_> = set
        .packs
        .iter()
        .map(|(name, version)| serde_json::json!({"name": name, "version": version}))
        .collect();
    let count = |s| results.iter().filter(|r| r.status == s).count();
    serde_json::json!({
        "packs": packs,
        "passed": count(audit_compliance::Status::Pass),
        "failed": count(audit_compliance::Status::Fail),
        "not_evaluated": count(audit_compliance::Status::NotEvaluated),
        "rules": results,
    })
}
