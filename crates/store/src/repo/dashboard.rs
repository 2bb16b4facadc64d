//! Aggregates for `GET /dashboard/overview` and `GET /dashboard/model/{model_id}`.

use audit_domain::{AuditResult, ExecutionStatus, FindingCategory, Severity};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::records::utc;
use crate::schema::{audit_runs, audit_summaries, dashboard_counts};
use crate::{AnyConnection, RunState, StoreError};

/// The nine global metrics of seed 000, plus breakdowns a dashboard needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// Active models (archived ones left out: they are no longer audited).
    pub total_models: i64,
    /// Archived models not yet purged. Their past audits and findings still count in the
    /// history totals below (`total_audits`, findings by severity, …); the per-model figures
    /// of the latest audits (risk, drift, bias, failing models) cover active models only.
    pub archived_models: i64,
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
    /// Findings by workflow status (`open`, `acknowledged`, `resolved`, `false_positive`).
    pub findings_by_status: BTreeMap<String, i64>,
}

/// Finding workflow states.
pub const FINDING_STATUSES: [&str; 4] = ["open", "acknowledged", "resolved", "false_positive"];

/// SQL that restricts `column` (a model id) to the tenant's models. Tenant ids are generated
/// by the store (`default` or `tnt_` and hex digits); anything else is refused rather than
/// spliced into SQL.
pub(crate) fn tenant_clause(column: &str, tenant: Option<&str>) -> Result<String, StoreError> {
    model_clause(column, tenant, None)
}

/// `AND <column> IN (…tenant's models…)` and `AND <column> = '<model>'`, for ids the store made
/// or validated (letters, digits, `. _ - :`); anything else is refused, never spliced.
pub(crate) fn model_clause(
    column: &str,
    tenant: Option<&str>,
    model: Option<&str>,
) -> Result<String, StoreError> {
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
    };
    let mut sql = String::new();
    if let Some(t) = tenant {
        if !safe(t) {
            return Err(StoreError::Invalid(format!("malformed tenant id '{t}'")));
        }
        sql.push_str(&format!(
            " AND {column} IN (SELECT model_id FROM ai_models WHERE tenant_id = '{t}')"
        ));
    }
    if let Some(m) = model {
        if !safe(m) {
            return Err(StoreError::Invalid(format!("malformed model id '{m}'")));
        }
        sql.push_str(&format!(" AND {column} = '{m}'"));
    }
    Ok(sql)
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

pub(crate) fn counts<I: IntoIterator<Item = (Option<String>, i64)>>(
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

/// Adds `n` to one running total of `model_id` (kinds: result, status, severity, category).
fn bump(
    conn: &mut AnyConnection,
    model_id: &str,
    kind: &str,
    value: &str,
    n: i64,
) -> Result<(), StoreError> {
    use dashboard_counts::dsl as d;
    let row = (
        d::model_id.eq(model_id),
        d::kind.eq(kind),
        d::value.eq(value),
        d::n.eq(n),
    );
    // Upserts are backend-specific in diesel: dispatch on the backend.
    match conn {
        AnyConnection::Sqlite(c) => {
            diesel::insert_into(d::dashboard_counts)
                .values(row)
                .on_conflict((d::model_id, d::kind, d::value))
                .do_update()
                .set(d::n.eq(d::n + n))
                .execute(c)?;
        }
        AnyConnection::Postgresql(c) => {
            diesel::insert_into(d::dashboard_counts)
                .values(row)
                .on_conflict((d::model_id, d::kind, d::value))
                .do_update()
                .set(d::n.eq(d::n + n))
                .execute(c)?;
        }
    }
    Ok(())
}

/// Counts one finished audit and its findings into the dashboard totals (called inside the
/// transaction that stores the results).
pub(crate) fn count_run(
    conn: &mut AnyConnection,
    model_id: &str,
    status: ExecutionStatus,
    result: Option<AuditResult>,
    findings: &[audit_domain::Finding],
) -> Result<(), StoreError> {
    bump(conn, model_id, "status", status.as_str(), 1)?;
    bump(
        conn,
        model_id,
        "result",
        result.map_or("", |r| r.as_str()),
        1,
    )?;
    let mut by: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for f in findings {
        *by.entry(("severity", f.severity.as_str())).or_default() += 1;
        *by.entry(("category", f.category.as_str())).or_default() += 1;
    }
    for ((kind, value), n) in by {
        bump(conn, model_id, kind, value, n)?;
    }
    Ok(())
}

/// Recomputes every running total from the stored rows (after bulk loads).
pub fn rebuild_counts(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::delete(dashboard_counts::table).execute(conn)?;
    for sql in [
        "INSERT INTO dashboard_counts (model_id, kind, value, n) SELECT model_id, 'result', COALESCE(audit_result, ''), COUNT(*) FROM audit_runs WHERE run_state = 'finished' GROUP BY model_id, COALESCE(audit_result, '')",
        "INSERT INTO dashboard_counts (model_id, kind, value, n) SELECT model_id, 'status', COALESCE(execution_status, ''), COUNT(*) FROM audit_runs WHERE run_state = 'finished' GROUP BY model_id, COALESCE(execution_status, '')",
        "INSERT INTO dashboard_counts (model_id, kind, value, n) SELECT model_id, 'severity', severity, COUNT(*) FROM audit_findings GROUP BY model_id, severity",
        "INSERT INTO dashboard_counts (model_id, kind, value, n) SELECT model_id, 'category', category, COUNT(*) FROM audit_findings GROUP BY model_id, category",
    ] {
        diesel::sql_query(sql).execute(conn)?;
    }
    Ok(())
}

/// The number of findings matching `f` from the running totals, when the filter is one they
/// keep (one severity, one category or neither, optionally of one model; no audit, no status, no
/// dates). Saves
/// counting hundreds of thousands of rows for a page of 50.
pub(crate) fn counted_total(
    conn: &mut AnyConnection,
    f: &crate::FindingFilter,
) -> Result<Option<i64>, StoreError> {
    if f.audit_id.is_some() || f.from.is_some() || f.to.is_some() || f.status.is_some() {
        return Ok(None);
    }
    // Every finding has one severity, so the severity totals together count them all.
    let (kind, value) = match (f.severity, f.category) {
        (Some(s), None) => ("severity", Some(s.as_str())),
        (None, Some(c)) => ("category", Some(c.as_str())),
        (None, None) => ("severity", None),
        _ => return Ok(None),
    };
    let mut q = dashboard_counts::table
        .filter(dashboard_counts::kind.eq(kind))
        .into_boxed();
    if let Some(v) = value {
        q = q.filter(dashboard_counts::value.eq(v));
    }
    if let Some(m) = &f.model_id {
        q = q.filter(dashboard_counts::model_id.eq(m.clone()));
    }
    if let Some(t) = &f.tenant_id {
        q = q.filter(dashboard_counts::model_id.eq_any(super::tenants::models_of(t)));
    }
    let ns: Vec<i64> = q.select(dashboard_counts::n).load(conn)?;
    Ok(Some(ns.iter().sum()))
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The running totals split by kind.
struct Totals {
    result: Vec<(Option<String>, i64)>,
    status: Vec<(Option<String>, i64)>,
    severity: Vec<(Option<String>, i64)>,
    category: Vec<(Option<String>, i64)>,
}

fn totals(rows: impl IntoIterator<Item = (String, String, i64)>) -> Totals {
    let mut t = Totals {
        result: Vec::new(),
        status: Vec::new(),
        severity: Vec::new(),
        category: Vec::new(),
    };
    for (kind, value, n) in rows {
        let v = (!value.is_empty()).then_some(value);
        match kind.as_str() {
            "result" => t.result.push((v, n)),
            "status" => t.status.push((v, n)),
            "severity" => t.severity.push((v, n)),
            _ => t.category.push((v, n)),
        }
    }
    t
}

/// Findings by workflow status of every model (`tenant` `None`) or of a tenant's, `all` of them.
/// Findings leave `open` rarely: the others are counted (an IN list, so the status index
/// serves it) and `open` is what remains of the running totals.
pub(crate) fn by_status(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    all: i64,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let moved: Vec<CountRow> = diesel::sql_query(format!(
        "SELECT 'status' AS kind, status AS value, CAST(COUNT(*) AS BIGINT) AS n FROM audit_findings \
         WHERE status IN ('acknowledged', 'resolved', 'false_positive'){} GROUP BY status",
        tenant_clause("model_id", tenant)?
    ))
    .load(conn)?;
    let mut m = counts(
        moved.into_iter().map(|r| (Some(r.value), r.n)),
        FINDING_STATUSES,
    );
    let moved_total: i64 = m.values().sum();
    m.insert("open".into(), (all - moved_total).max(0));
    Ok(m)
}

/// The overview of every model (`tenant` `None`) or of one tenant's models.
pub fn overview(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<Overview, StoreError> {
    let total_models = super::models::count_active(conn, tenant)?;
    let archived_models = super::models::count_archived(conn, tenant)?;
    let rows: Vec<CountRow> = diesel::sql_query(format!(
        "SELECT kind, value, CAST(SUM(n) AS BIGINT) AS n FROM dashboard_counts WHERE 1 = 1{} GROUP BY kind, value",
        tenant_clause("model_id", tenant)?
    ))
    .load(conn)?;
    let t = totals(rows.into_iter().map(|r| (r.kind, r.value, r.n)));
    let mut running = audit_runs::table
        .filter(audit_runs::run_state.eq(RunState::Running.as_str()))
        .into_boxed();
    if let Some(t) = tenant {
        running = running.filter(audit_runs::model_id.eq_any(super::tenants::models_of(t)));
    }
    let running_audits: i64 = running.count().get_result(conn)?;
    let total_audits = t.status.iter().map(|(_, n)| n).sum();
    let audit_status_distribution = counts(t.result, AuditResult::ALL.iter().map(|r| r.as_str()));
    let execution_status_distribution =
        counts(t.status, ExecutionStatus::ALL.iter().map(|r| r.as_str()));
    let findings_by_severity = counts(t.severity, Severity::ALL.iter().map(|r| r.as_str()));
    let all_findings: i64 = findings_by_severity.values().sum();
    let findings_by_status = by_status(conn, tenant, all_findings)?;
    let findings_by_category = counts(t.category, FindingCategory::ALL.iter().map(|r| r.as_str()));
    // Each active model's latest judged (summarised) passive audit: the fleet's state now, so
    // archived models are left out. One index walk per model (audit_runs_latest).
    let latest: Vec<LatestScores> = diesel::sql_query(format!(
        "SELECT s.drift_score, s.bias_score, s.risk_score, r.audit_result \
         FROM ai_models m \
         JOIN audit_runs r ON r.id = (SELECT r2.id FROM audit_runs r2 \
                JOIN audit_summaries s2 ON s2.audit_id = r2.audit_id \
                WHERE r2.model_id = m.model_id AND r2.audit_type = 'passive' \
                ORDER BY r2.id DESC LIMIT 1) \
         JOIN audit_summaries s ON s.audit_id = r.audit_id WHERE m.archived_at IS NULL{}",
        tenant_clause("m.model_id", tenant)?
    ))
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
        archived_models,
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
        findings_by_status,
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
    let rows: Vec<(String, String, i64)> = dashboard_counts::table
        .filter(dashboard_counts::model_id.eq(model_id))
        .select((
            dashboard_counts::kind,
            dashboard_counts::value,
            dashboard_counts::n,
        ))
        .load(conn)?;
    let t = totals(rows);
    Ok((
        counts(t.severity, Severity::ALL.iter().map(|r| r.as_str())),
        counts(t.category, FindingCategory::ALL.iter().map(|r| r.as_str())),
    ))
}
