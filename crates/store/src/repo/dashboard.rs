//! Aggregates for `GET /dashboard/overview` and `GET /dashboard/model/{model_id}`.

use audit_domain::{AuditResult, ExecutionStatus, FindingCategory, Severity};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{Double, Text};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::records::utc;
use crate::schema::{audit_findings, audit_runs, audit_summaries};
use crate::{AnyConnection, RunState, StoreError};

/// The nine global metrics of seed 000, plus breakdowns a dashboard needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub total_models: i64,
    /// Finished audits.
    pub total_audits: i64,
    /// Audits with `AUDIT_PASS`.
    pub passed_audits: i64,
    /// Audits with `AUDIT_FAIL`.
    pub failed_audits: i64,
    pub critical_findings_count: i64,
    pub high_findings_count: i64,
    /// Mean `risk_score` (0–100) of each model's latest judged audit.
    pub overall_risk_score: f64,
    /// Finished audits by `audit_result` (every value present, 0 when none).
    pub audit_status_distribution: BTreeMap<String, i64>,
    /// Mean `drift_score` of each model's latest judged audit, as a percentage (0–100).
    pub drift_score_percentage: f64,
    /// Mean `bias_score` of the same audits, as a percentage.
    pub bias_score_percentage: f64,
    /// Finished audits by `execution_status`.
    pub execution_status_distribution: BTreeMap<String, i64>,
    pub findings_by_severity: BTreeMap<String, i64>,
    pub findings_by_category: BTreeMap<String, i64>,
    /// Models whose latest audit is `AUDIT_FAIL`.
    pub models_failing: i64,
    /// Audits running now.
    pub running_audits: i64,
}

#[derive(QueryableByName)]
struct LatestScores {
    #[diesel(sql_type = Double)]
    drift_score: f64,
    #[diesel(sql_type = Double)]
    bias_score: f64,
    #[diesel(sql_type = Double)]
    risk_score: f64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    audit_result: Option<String>,
}

fn counts<I: IntoIterator<Item = (Option<String>, i64)>>(
    rows: I,
    keys: impl IntoIterator<Item = &'static str>,
) -> BTreeMap<String, i64> {
    let mut m: BTreeMap<String, i64> = keys.into_iter().map(|k| (k.to_owned(), 0)).collect();
    for (k, n) in rows {
        if let Some(k) = k {
            *m.entry(k).or_default() += n;
        }
    }
    m
}

pub fn overview(conn: &mut AnyConnection) -> Result<Overview, StoreError> {
    let total_models = super::models::count(conn)?;
    let finished = RunState::Finished.as_str();
    let by_result: Vec<(Option<String>, i64)> = audit_runs::table
        .filter(audit_runs::run_state.eq(finished))
        .group_by(audit_runs::audit_result)
        .select((audit_runs::audit_result, count_star()))
        .load(conn)?;
    let by_status: Vec<(Option<String>, i64)> = audit_runs::table
        .filter(audit_runs::run_state.eq(finished))
        .group_by(audit_runs::execution_status)
        .select((audit_runs::execution_status, count_star()))
        .load(conn)?;
    let running_audits: i64 = audit_runs::table
        .filter(audit_runs::run_state.eq(RunState::Running.as_str()))
        .count()
        .get_result(conn)?;
    let by_severity: Vec<(String, i64)> = audit_findings::table
        .group_by(audit_findings::severity)
        .select((audit_findings::severity, count_star()))
        .load(conn)?;
    let by_category: Vec<(String, i64)> = audit_findings::table
        .group_by(audit_findings::category)
        .select((audit_findings::category, count_star()))
        .load(conn)?;
    let total_audits = by_status.iter().map(|(_, n)| n).sum();
    let audit_status_distribution = counts(by_result, AuditResult::ALL.iter().map(|r| r.as_str()));
    let execution_status_distribution =
        counts(by_status, ExecutionStatus::ALL.iter().map(|r| r.as_str()));
    let findings_by_severity = counts(
        by_severity.into_iter().map(|(k, n)| (Some(k), n)),
        Severity::ALL.iter().map(|r| r.as_str()),
    );
    let findings_by_category = counts(
        by_category.into_iter().map(|(k, n)| (Some(k), n)),
        FindingCategory::ALL.iter().map(|r| r.as_str()),
    );
    // Each model's latest judged (summarised) passive audit.
    let latest: Vec<LatestScores> = diesel::sql_query(
        "SELECT s.drift_score, s.bias_score, s.risk_score, r.audit_result \
         FROM audit_runs r JOIN audit_summaries s ON s.audit_id = r.audit_id \
         WHERE r.id IN (SELECT MAX(r2.id) FROM audit_runs r2 \
                        JOIN audit_summaries s2 ON s2.audit_id = r2.audit_id \
                        WHERE r2.audit_type = 'passive' GROUP BY r2.model_id)",
    )
    .load(conn)?;
    let mean = |f: &dyn Fn(&LatestScores) -> f64| {
        if latest.is_empty() {
            0.0
        } else {
            latest.iter().map(f).sum::<f64>() / latest.len() as f64
        }
    };
    let get = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    Ok(Overview {
        total_models,
        total_audits,
        passed_audits: get(&audit_status_distribution, AuditResult::AuditPass.as_str()),
        failed_audits: get(&audit_status_distribution, AuditResult::AuditFail.as_str()),
        critical_findings_count: get(&findings_by_severity, Severity::Critical.as_str()),
        high_findings_count: get(&findings_by_severity, Severity::High.as_str()),
        overall_risk_score: mean(&|s| s.risk_score),
        drift_score_percentage: mean(&|s| s.drift_score) * 100.0,
        bias_score_percentage: mean(&|s| s.bias_score) * 100.0,
        models_failing: latest
            .iter()
            .filter(|s| s.audit_result.as_deref() == Some(AuditResult::AuditFail.as_str()))
            .count() as i64,
        audit_status_distribution,
        execution_status_distribution,
        findings_by_severity,
        findings_by_category,
        running_audits,
    })
}

/// One point of a model's score history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorePoint {
    pub audit_id: String,
    pub executed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub audit_result: Option<String>,
    pub execution_status: Option<String>,
    pub drift_score: f64,
    pub bias_score: f64,
    pub risk_score: f64,
    pub total_findings: i32,
    pub critical_findings: i32,
    pub high_findings: i32,
}

/// The model's judged audits, oldest first (the latest `limit`).
pub fn score_history(
    conn: &mut AnyConnection,
    model_id: &str,
    limit: i64,
) -> Result<Vec<ScorePoint>, StoreError> {
    type Row = (
        String,
        Option<chrono::NaiveDateTime>,
        Option<String>,
        Option<String>,
        f64,
        f64,
        f64,
        i32,
        i32,
        i32,
    );
    let rows: Vec<Row> = audit_runs::table
        .inner_join(audit_summaries::table.on(audit_summaries::audit_id.eq(audit_runs::audit_id)))
        .filter(audit_runs::model_id.eq(model_id))
        .order(audit_runs::id.desc())
        .limit(limit.clamp(1, 1000))
        .select((
            audit_runs::audit_id,
            audit_runs::executed_at,
            audit_runs::audit_result,
            audit_runs::execution_status,
            audit_summaries::drift_score,
            audit_summaries::bias_score,
            audit_summaries::risk_score,
            audit_summaries::total_findings,
            audit_summaries::critical_findings,
            audit_summaries::high_findings,
        ))
        .load(conn)?;
    let mut v: Vec<ScorePoint> = rows
        .into_iter()
        .map(|r| ScorePoint {
            audit_id: r.0,
            executed_at: r.1.map(utc),
            audit_result: r.2,
            execution_status: r.3,
            drift_score: r.4,
            bias_score: r.5,
            risk_score: r.6,
            total_findings: r.7,
            critical_findings: r.8,
            high_findings: r.9,
        })
        .collect();
    v.reverse();
    Ok(v)
}

/// Counts keyed by severity or category name.
pub type Counts = BTreeMap<String, i64>;

/// A model's findings counted by severity and by category.
pub fn model_finding_counts(
    conn: &mut AnyConnection,
    model_id: &str,
) -> Result<(Counts, Counts), StoreError> {
    let by_severity: Vec<(String, i64)> = audit_findings::table
        .filter(audit_findings::model_id.eq(model_id))
        .group_by(audit_findings::severity)
        .select((audit_findings::severity, count_star()))
        .load(conn)?;
    let by_category: Vec<(String, i64)> = audit_findings::table
        .filter(audit_findings::model_id.eq(model_id))
        .group_by(audit_findings::category)
        .select((audit_findings::category, count_star()))
        .load(conn)?;
    Ok((
        counts(
            by_severity.into_iter().map(|(k, n)| (Some(k), n)),
            Severity::ALL.iter().map(|r| r.as_str()),
        ),
        counts(
            by_category.into_iter().map(|(k, n)| (Some(k), n)),
            FindingCategory::ALL.iter().map(|r| r.as_str()),
        ),
    ))
}
