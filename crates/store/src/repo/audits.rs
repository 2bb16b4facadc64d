//! `audit_runs`, `audit_summaries`, `profile_snapshots`, `baseline_approvals`: claiming a run,
//! writing its results in one go, listing, approving baselines.

use audit_domain::{AuditResult, AuditType, BaselineStrategy, ExecutionStatus, Finding, Severity};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::records::{json, naive, parse, utc};
use crate::schema::{
    audit_findings, audit_runs, audit_summaries, baseline_approvals, profile_snapshots,
    sample_profiles,
};
use crate::{
    AnyConnection, Approval, AuditFilter, AuditRun, AuditSummary, Page, Paging, RunState,
    StoreError, Trigger, is_unique_violation,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_runs)]
struct RunRow {
    id: i64,
    audit_id: String,
    model_id: String,
    audit_type: String,
    scheduled_at: chrono::NaiveDateTime,
    executed_at: Option<chrono::NaiveDateTime>,
    execution_status: Option<String>,
    audit_result: Option<String>,
    run_state: String,
    trigger_kind: String,
    model_version: String,
    window_start: Option<chrono::NaiveDateTime>,
    window_end: chrono::NaiveDateTime,
    execution_reason: Option<String>,
    evidence: Option<String>,
    baseline_audit_id: Option<String>,
}

impl TryFrom<RunRow> for AuditRun {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<AuditRun, StoreError> {
        Ok(AuditRun {
            id: r.id,
            audit_type: parse(&r.audit_type, "audit_type")?,
            execution_status: r
                .execution_status
                .as_deref()
                .map(|s| parse(s, "execution_status"))
                .transpose()?,
            audit_result: r
                .audit_result
                .as_deref()
                .map(|s| parse(s, "audit_result"))
                .transpose()?,
            run_state: parse(&r.run_state, "run_state")?,
            trigger: parse(&r.trigger_kind, "trigger")?,
            evidence: r
                .evidence
                .as_deref()
                .map(|s| json(s, "evidence"))
                .transpose()?,
            audit_id: r.audit_id,
            model_id: r.model_id,
            scheduled_at: utc(r.scheduled_at),
            executed_at: r.executed_at.map(utc),
            model_version: r.model_version,
            window_start: r.window_start.map(utc),
            window_end: utc(r.window_end),
            execution_reason: r.execution_reason,
            baseline_audit_id: r.baseline_audit_id,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_summaries)]
struct SummaryRow {
    audit_id: String,
    drift_score: f64,
    bias_score: f64,
    risk_score: f64,
    total_findings: i32,
    critical_findings: i32,
    high_findings: i32,
    metrics: String,
}

impl TryFrom<SummaryRow> for AuditSummary {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> Result<AuditSummary, StoreError> {
        Ok(AuditSummary {
            metrics: json(&r.metrics, "summary metrics")?,
            audit_id: r.audit_id,
            drift_score: r.drift_score,
            bias_score: r.bias_score,
            risk_score: r.risk_score,
            total_findings: r.total_findings,
            critical_findings: r.critical_findings,
            high_findings: r.high_findings,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = baseline_approvals)]
struct ApprovalRow {
    id: i64,
    model_id: String,
    audit_id: String,
    model_version: String,
    approved_at: chrono::NaiveDateTime,
    approved_by: String,
    note: Option<String>,
}

impl From<ApprovalRow> for Approval {
    fn from(r: ApprovalRow) -> Approval {
        Approval {
            id: r.id,
            model_id: r.model_id,
            audit_id: r.audit_id,
            model_version: r.model_version,
            approved_at: utc(r.approved_at),
            approved_by: r.approved_by,
            note: r.note,
        }
    }
}

/// A run to claim.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub audit_id: String,
    pub model_id: String,
    pub audit_type: AuditType,
    pub scheduled_at: DateTime<Utc>,
    pub trigger: Trigger,
    pub model_version: String,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: DateTime<Utc>,
    /// Who started it (`scheduler`, or the caller of run-now), for the compliance log.
    pub actor: String,
}

/// Claims a run: inserts it `running`. `None` when the slot (model, type, scheduled_at) is
/// already taken, by this process or another one.
pub fn claim(conn: &mut AnyConnection, r: &NewRun) -> Result<Option<AuditRun>, StoreError> {
    let inserted = diesel::insert_into(audit_runs::table)
        .values((
            audit_runs::audit_id.eq(&r.audit_id),
            audit_runs::model_id.eq(&r.model_id),
            audit_runs::audit_type.eq(r.audit_type.as_str()),
            audit_runs::scheduled_at.eq(naive(r.scheduled_at)),
            audit_runs::run_state.eq(RunState::Running.as_str()),
            audit_runs::trigger_kind.eq(r.trigger.as_str()),
            audit_runs::model_version.eq(&r.model_version),
            audit_runs::window_start.eq(r.window_start.map(naive)),
            audit_runs::window_end.eq(naive(r.window_end)),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
        Ok(_) => {
            super::log::record_for_model(
                conn,
                &r.model_id,
                &r.actor,
                "audit.start",
                "audit",
                &r.audit_id,
                serde_json::json!({"model_id": r.model_id, "audit_type": r.audit_type.as_str(),
                    "trigger": r.trigger.as_str(), "scheduled_at": r.scheduled_at,
                    "model_version": r.model_version}),
            )?;
            super::events::emit(
                conn,
                &r.model_id,
                "audit.started",
                serde_json::json!({"audit_id": r.audit_id, "model_id": r.model_id,
                    "audit_type": r.audit_type.as_str(), "trigger": r.trigger.as_str(),
                    "scheduled_at": r.scheduled_at}),
            )?;
            get(conn, &r.audit_id)
        }
    }
}

/// The scores and metrics of a judged run.
#[derive(Debug, Clone)]
pub struct SummaryInput {
    pub drift_score: f64,
    pub bias_score: f64,
    pub risk_score: f64,
    pub metrics: serde_json::Value,
}

/// Everything a finished run writes.
#[derive(Debug, Clone)]
pub struct FinishRun {
    pub audit_id: String,
    pub executed_at: DateTime<Utc>,
    pub execution_status: ExecutionStatus,
    pub audit_result: Option<AuditResult>,
    pub execution_reason: Option<String>,
    pub evidence: Option<serde_json::Value>,
    pub baseline_audit_id: Option<String>,
    pub summary: Option<SummaryInput>,
    pub findings: Vec<Finding>,
    /// The run's profile (JSON) for the baseline store.
    pub profile: Option<String>,
    /// Approve this run as the baseline (a BASELINE_CREATED run is approved when made).
    pub auto_approve: bool,
    /// Uploaded samples this run consumed.
    pub samples: Vec<i64>,
}

/// Writes a run's results. Call inside `Store::write`: all rows land together or none do.
pub fn finish(conn: &mut AnyConnection, f: &FinishRun) -> Result<AuditRun, StoreError> {
    let run = get(conn, &f.audit_id)?
        .ok_or_else(|| StoreError::NotFound(format!("audit '{}' not found", f.audit_id)))?;
    if run.run_state == RunState::Finished {
        return Err(StoreError::Conflict(format!(
            "audit '{}' is already finished",
            f.audit_id
        )));
    }
    let at = naive(f.executed_at);
    diesel::update(audit_runs::table.filter(audit_runs::audit_id.eq(&f.audit_id)))
        .set((
            audit_runs::executed_at.eq(Some(at)),
            audit_runs::execution_status.eq(Some(f.execution_status.as_str())),
            audit_runs::audit_result.eq(f.audit_result.map(|r| r.as_str())),
            audit_runs::run_state.eq(RunState::Finished.as_str()),
            audit_runs::execution_reason.eq(&f.execution_reason),
            audit_runs::evidence.eq(f.evidence.as_ref().map(|v| v.to_string())),
            audit_runs::baseline_audit_id.eq(&f.baseline_audit_id),
        ))
        .execute(conn)?;
    let count = |s: Severity| f.findings.iter().filter(|x| x.severity == s).count() as i32;
    if let Some(s) = &f.summary {
        diesel::insert_into(audit_summaries::table)
            .values((
                audit_summaries::audit_id.eq(&f.audit_id),
                audit_summaries::drift_score.eq(s.drift_score),
                audit_summaries::bias_score.eq(s.bias_score),
                audit_summaries::risk_score.eq(s.risk_score),
                audit_summaries::total_findings.eq(f.findings.len() as i32),
                audit_summaries::critical_findings.eq(count(Severity::Critical)),
                audit_summaries::high_findings.eq(count(Severity::High)),
                audit_summaries::metrics.eq(s.metrics.to_string()),
            ))
            .execute(conn)?;
    }
    insert_findings(conn, &f.audit_id, &run.model_id, f.executed_at, &f.findings)?;
    // One event per finding, then the completion: one tenant lookup for all of them.
    let mut evs: Vec<(&str, serde_json::Value)> = super::findings::of_audit(conn, &f.audit_id)?
        .into_iter()
        .map(|x| {
            (
                "finding.created",
                serde_json::json!({"finding_id": x.id, "audit_id": x.audit_id,
                    "model_id": x.model_id, "category": x.finding.category.as_str(),
                    "severity": x.finding.severity.as_str(), "rule_id": x.finding.rule_id,
                    "metric_name": x.finding.metric_name,
                    "description": x.finding.description, "status": x.status}),
            )
        })
        .collect();
    evs.push((
        "audit.completed",
        serde_json::json!({"audit_id": f.audit_id, "model_id": run.model_id,
            "audit_type": run.audit_type.as_str(),
            "execution_status": f.execution_status.as_str(),
            "audit_result": f.audit_result.map(|r| r.as_str()),
            "drift_score": f.summary.as_ref().map(|s| s.drift_score),
            "bias_score": f.summary.as_ref().map(|s| s.bias_score),
            "risk_score": f.summary.as_ref().map(|s| s.risk_score),
            "total_findings": f.findings.len(), "reason": f.execution_reason}),
    ));
    super::events::emit_all(conn, &run.model_id, evs)?;
    super::log::record_for_model(
        conn,
        &run.model_id,
        "scheduler",
        "audit.finish",
        "audit",
        &f.audit_id,
        serde_json::json!({"execution_status": f.execution_status.as_str(),
            "audit_result": f.audit_result.map(|r| r.as_str()),
            "findings": f.findings.len(), "reason": f.execution_reason}),
    )?;
    super::dashboard::count_run(
        conn,
        &run.model_id,
        f.execution_status,
        f.audit_result,
        &f.findings,
    )?;
    if let Some(p) = &f.profile {
        diesel::insert_into(profile_snapshots::table)
            .values((
                profile_snapshots::audit_id.eq(&f.audit_id),
                profile_snapshots::model_id.eq(&run.model_id),
                profile_snapshots::model_version.eq(&run.model_version),
                profile_snapshots::profile.eq(p),
                profile_snapshots::created_at.eq(at),
            ))
            .execute(conn)?;
        if f.auto_approve {
            // A named baseline is approved by whoever asked for it, under its name.
            let (by, note) = match super::baselines::of_run(conn, &f.audit_id)? {
                Some(b) => (
                    b.created_by,
                    format!("named baseline '{}' ({})", b.name, b.baseline_id),
                ),
                None => ("system".to_owned(), "baseline created".to_owned()),
            };
            insert_approval(conn, &run, &by, Some(&note), f.executed_at)?;
        }
    }
    for id in &f.samples {
        diesel::update(sample_profiles::table.find(id))
            .set(sample_profiles::consumed_by.eq(Some(&f.audit_id)))
            .execute(conn)?;
    }
    get(conn, &f.audit_id)?
        .ok_or_else(|| StoreError::NotFound(format!("audit '{}' vanished", f.audit_id)))
}

/// Inserts findings in batches (one statement per batch keeps large audits fast).
pub fn insert_findings(
    conn: &mut AnyConnection,
    audit_id: &str,
    model_id: &str,
    at: DateTime<Utc>,
    findings: &[Finding],
) -> Result<(), StoreError> {
    let at = naive(at);
    for chunk in findings.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|x| {
                (
                    audit_findings::audit_id.eq(audit_id),
                    audit_findings::category.eq(x.category.as_str()),
                    audit_findings::rule_id.eq(x.rule_id.as_deref()),
                    audit_findings::severity.eq(x.severity.as_str()),
                    audit_findings::metric_name.eq(x.metric_name.as_str()),
                    audit_findings::baseline_value.eq(x.baseline_value),
                    audit_findings::current_value.eq(x.current_value),
                    audit_findings::deviation_percentage.eq(x.deviation_percentage),
                    audit_findings::description.eq(x.description.as_str()),
                    audit_findings::model_id.eq(model_id),
                    audit_findings::created_at.eq(at),
                )
            })
            .collect();
        // Multi-row VALUES are backend-specific in diesel: dispatch on the backend.
        match conn {
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(audit_findings::table)
                    .values(rows)
                    .execute(c)?;
            }
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(audit_findings::table)
                    .values(rows)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

fn insert_approval(
    conn: &mut AnyConnection,
    run: &AuditRun,
    by: &str,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    // The approval it supersedes, so the log says "baseline X → Y".
    let before: Option<(String, Option<String>)> = baseline_approvals::table
        .filter(baseline_approvals::model_id.eq(&run.model_id))
        .order(baseline_approvals::approved_at.desc())
        .select((
            baseline_approvals::audit_id,
            baseline_approvals::approved_by,
        ))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(a, b)| (a, Some(b)));
    diesel::insert_into(baseline_approvals::table)
        .values((
            baseline_approvals::model_id.eq(&run.model_id),
            baseline_approvals::audit_id.eq(&run.audit_id),
            baseline_approvals::model_version.eq(&run.model_version),
            baseline_approvals::approved_at.eq(naive(at)),
            baseline_approvals::approved_by.eq(by),
            baseline_approvals::note.eq(note),
        ))
        .execute(conn)?;
    super::log::record_for_model(
        conn,
        &run.model_id,
        by,
        "baseline.approve",
        "audit",
        &run.audit_id,
        serde_json::json!({
            "before": before.map(|(audit_id, approved_by)| serde_json::json!(
                {"baseline_audit_id": audit_id, "approved_by": approved_by})),
            "after": {"baseline_audit_id": run.audit_id, "approved_by": by,
                "model_version": run.model_version, "note": note},
        }),
    )?;
    Ok(())
}

/// Whether any run claimed before `claimed_before` is still `running` (a read, so that the
/// periodic sweep takes no write lock and leaves response caches alone when there is nothing
/// to close).
pub fn any_interrupted(
    conn: &mut AnyConnection,
    claimed_before: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n: i64 = audit_runs::table
        .filter(audit_runs::run_state.eq(RunState::Running.as_str()))
        .filter(audit_runs::window_end.lt(naive(claimed_before)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Closes runs left `running` as FAILED ("interrupted"): those claimed before `claimed_before`
/// (every running run when `None`). Returns how many. A run's claim time is its `window_end`.
pub fn close_interrupted(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    claimed_before: Option<DateTime<Utc>>,
) -> Result<usize, StoreError> {
    let mut q = audit_runs::table
        .filter(audit_runs::run_state.eq(RunState::Running.as_str()))
        .into_boxed();
    if let Some(t) = claimed_before {
        q = q.filter(audit_runs::window_end.lt(naive(t)));
    }
    let stale: Vec<(String, String)> = q
        .select((audit_runs::audit_id, audit_runs::model_id))
        .load(conn)?;
    for (audit_id, model_id) in &stale {
        let n = diesel::update(
            audit_runs::table
                .filter(audit_runs::audit_id.eq(audit_id))
                .filter(audit_runs::run_state.eq(RunState::Running.as_str())),
        )
        .set((
            audit_runs::run_state.eq(RunState::Finished.as_str()),
            audit_runs::execution_status.eq(Some(ExecutionStatus::Failed.as_str())),
            audit_runs::executed_at.eq(Some(naive(now))),
            audit_runs::execution_reason.eq(Some(
                "interrupted: the server stopped (or the run exceeded its time limit) while this audit was running",
            )),
        ))
        .execute(conn)?;
        if n == 1 {
            super::dashboard::count_run(conn, model_id, ExecutionStatus::Failed, None, &[])?;
            super::log::record_for_model(
                conn,
                model_id,
                "system",
                "audit.finish",
                "audit",
                audit_id,
                serde_json::json!({"execution_status": "FAILED", "reason": "interrupted"}),
            )?;
            super::events::emit(
                conn,
                model_id,
                "audit.completed",
                serde_json::json!({"audit_id": audit_id, "model_id": model_id,
                    "execution_status": "FAILED", "audit_result": null, "total_findings": 0,
                    "reason": "interrupted"}),
            )?;
        }
    }
    Ok(stale.len())
}

pub fn get(conn: &mut AnyConnection, audit_id: &str) -> Result<Option<AuditRun>, StoreError> {
    audit_runs::table
        .filter(audit_runs::audit_id.eq(audit_id))
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .map(AuditRun::try_from)
        .transpose()
}

pub fn summary(
    conn: &mut AnyConnection,
    audit_id: &str,
) -> Result<Option<AuditSummary>, StoreError> {
    audit_summaries::table
        .find(audit_id)
        .select(SummaryRow::as_select())
        .first(conn)
        .optional()?
        .map(AuditSummary::try_from)
        .transpose()
}

/// Audits matching `f`, newest first, each with its summary when it has one.
pub fn list(
    conn: &mut AnyConnection,
    f: &AuditFilter,
    paging: Paging,
) -> Result<Page<(AuditRun, Option<AuditSummary>)>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    macro_rules! filtered {
        () => {{
            let mut q = audit_runs::table.into_boxed();
            if !f.include_running {
                q = q.filter(audit_runs::run_state.eq(RunState::Finished.as_str()));
            }
            if let Some(t) = &f.tenant_id {
                q = q.filter(audit_runs::model_id.eq_any(super::tenants::models_of(t)));
            }
            if let Some(m) = &f.model_id {
                q = q.filter(audit_runs::model_id.eq(m.clone()));
            }
            if let Some(t) = f.audit_type {
                q = q.filter(audit_runs::audit_type.eq(t.as_str()));
            }
            if let Some(s) = f.execution_status {
                q = q.filter(audit_runs::execution_status.eq(s.as_str()));
            }
            if let Some(r) = f.audit_result {
                q = q.filter(audit_runs::audit_result.eq(r.as_str()));
            }
            if let Some(t) = f.from {
                q = q.filter(audit_runs::executed_at.ge(naive(t)));
            }
            if let Some(t) = f.to {
                q = q.filter(audit_runs::executed_at.lt(naive(t)));
            }
            q
        }};
    }
    let total: i64 = filtered!().count().get_result(conn)?;
    let runs: Vec<AuditRun> = filtered!()
        .order(audit_runs::id.desc())
        .offset(skip)
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRun::try_from)
        .collect::<Result<_, _>>()?;
    let ids: Vec<&str> = runs.iter().map(|r| r.audit_id.as_str()).collect();
    let mut summaries: std::collections::HashMap<String, AuditSummary> = audit_summaries::table
        .filter(audit_summaries::audit_id.eq_any(ids))
        .select(SummaryRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| AuditSummary::try_from(r).map(|s| (s.audit_id.clone(), s)))
        .collect::<Result<_, _>>()?;
    let items = runs
        .into_iter()
        .map(|r| {
            let s = summaries.remove(&r.audit_id);
            (r, s)
        })
        .collect();
    Ok(Page { total, items })
}

/// End of the evidence window of the model's last usable run of `audit_type`: the next run reads
/// from there. Runs that FAILED read nothing usable, so their window is read again.
pub fn last_window_end(
    conn: &mut AnyConnection,
    model_id: &str,
    audit_type: AuditType,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(audit_runs::table
        .filter(audit_runs::model_id.eq(model_id))
        .filter(audit_runs::audit_type.eq(audit_type.as_str()))
        .filter(audit_runs::run_state.eq(RunState::Finished.as_str()))
        .filter(audit_runs::execution_status.ne(ExecutionStatus::Failed.as_str()))
        // A named baseline's run reads a window of its own choosing, outside the chain.
        .filter(diesel::dsl::not(audit_runs::audit_id.eq_any(
            crate::schema::named_baselines::table.select(crate::schema::named_baselines::audit_id),
        )))
        .select(audit_runs::window_end)
        .order(audit_runs::window_end.desc())
        .first::<chrono::NaiveDateTime>(conn)
        .optional()?
        .map(utc))
}

/// The model's latest finished run, if any.
pub fn latest_finished(
    conn: &mut AnyConnection,
    model_id: &str,
) -> Result<Option<AuditRun>, StoreError> {
    audit_runs::table
        .filter(audit_runs::model_id.eq(model_id))
        .filter(audit_runs::run_state.eq(RunState::Finished.as_str()))
        .order(audit_runs::id.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .map(AuditRun::try_from)
        .transpose()
}

/// The model's latest finished runs of `audit_type`, newest first (at most `limit`): the run
/// history that compliance process checks read (overdue audits, unreadable sources).
pub fn recent_finished(
    conn: &mut AnyConnection,
    model_id: &str,
    audit_type: AuditType,
    limit: i64,
) -> Result<Vec<AuditRun>, StoreError> {
    audit_runs::table
        .filter(audit_runs::model_id.eq(model_id))
        .filter(audit_runs::audit_type.eq(audit_type.as_str()))
        .filter(audit_runs::run_state.eq(RunState::Finished.as_str()))
        .order(audit_runs::id.desc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRun::try_from)
        .collect()
}

/// Makes a finished audit's profile the model's baseline. Only audits that stored a profile
/// (passive audits that read evidence) can be approved.
pub fn approve(
    conn: &mut AnyConnection,
    audit_id: &str,
    by: &str,
    note: Option<&str>,
) -> Result<Approval, StoreError> {
    let run = get(conn, audit_id)?
        .ok_or_else(|| StoreError::NotFound(format!("audit '{audit_id}' not found")))?;
    if run.run_state != RunState::Finished {
        return Err(StoreError::Conflict(format!(
            "audit '{audit_id}' is still running"
        )));
    }
    if profile_of(conn, audit_id)?.is_none() {
        return Err(StoreError::Invalid(format!(
            "audit '{audit_id}' has no stored profile (it failed or was not a passive audit), so it cannot be a baseline"
        )));
    }
    let now = crate::now();
    insert_approval(conn, &run, by, note, now)?;
    baseline_approvals::table
        .filter(baseline_approvals::audit_id.eq(audit_id))
        .order(baseline_approvals::id.desc())
        .select(ApprovalRow::as_select())
        .first(conn)
        .map(Approval::from)
        .map_err(Into::into)
}

pub fn approvals_of(conn: &mut AnyConnection, model_id: &str) -> Result<Vec<Approval>, StoreError> {
    Ok(baseline_approvals::table
        .filter(baseline_approvals::model_id.eq(model_id))
        .order(baseline_approvals::id.desc())
        .select(ApprovalRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Approval::from)
        .collect())
}

pub fn profile_of(conn: &mut AnyConnection, audit_id: &str) -> Result<Option<String>, StoreError> {
    Ok(profile_snapshots::table
        .find(audit_id)
        .select(profile_snapshots::profile)
        .first(conn)
        .optional()?)
}

/// The baseline of a model under `strategy`: the latest approved audit's profile
/// (`previous_audit`), or the latest approved for the model's current version
/// (`model_version`). Returns (audit_id, profile JSON).
pub fn baseline(
    conn: &mut AnyConnection,
    model_id: &str,
    strategy: BaselineStrategy,
    version: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let mut q = baseline_approvals::table
        .filter(baseline_approvals::model_id.eq(model_id))
        .into_boxed();
    if strategy == BaselineStrategy::ModelVersion {
        q = q.filter(baseline_approvals::model_version.eq(version.to_owned()));
    }
    let Some(audit_id) = q
        .order(baseline_approvals::id.desc())
        .select(baseline_approvals::audit_id)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    Ok(profile_of(conn, &audit_id)?.map(|p| (audit_id, p)))
}
