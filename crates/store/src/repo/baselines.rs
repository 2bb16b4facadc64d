//! `named_baselines`: a name for a baseline built from a model's evidence over a window. The
//! baseline itself is an ordinary audit run (its window, evidence summary and profile) whose
//! profile is approved when it finishes; this row only names it and remembers what was asked.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{naive, utc};
use crate::schema::{baseline_approvals, named_baselines};
use crate::{AnyConnection, Page, Paging, StoreError, is_unique_violation};

/// What a named baseline asks for.
#[derive(Debug, Clone)]
pub struct NewBaseline {
    pub baseline_id: String,
    pub project_id: String,
    pub model_id: String,
    pub audit_id: String,
    pub name: String,
    /// The one evidence source type read (`logs`, `batch`, `sample`, ...); `None` reads all.
    pub source_type: Option<String>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A named baseline as stored, with where its build stands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedBaseline {
    pub baseline_id: String,
    pub project_id: String,
    pub model_id: String,
    /// The audit run that read the evidence (`GET /audits/{audit_id}`).
    pub audit_id: String,
    pub name: String,
    pub source_type: Option<String>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// When its profile became the model's approved baseline; `None` while it is built, or
    /// when the build failed.
    pub approved_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = named_baselines)]
struct Row {
    baseline_id: String,
    project_id: String,
    model_id: String,
    audit_id: String,
    name: String,
    source_type: Option<String>,
    window_start: Option<chrono::NaiveDateTime>,
    window_end: chrono::NaiveDateTime,
    created_at: chrono::NaiveDateTime,
    created_by: String,
}

fn complete(conn: &mut AnyConnection, r: Row) -> Result<NamedBaseline, StoreError> {
    let approved_at = baseline_approvals::table
        .filter(baseline_approvals::audit_id.eq(&r.audit_id))
        .select(baseline_approvals::approved_at)
        .order(baseline_approvals::id.asc())
        .first::<chrono::NaiveDateTime>(conn)
        .optional()?
        .map(utc);
    Ok(NamedBaseline {
        baseline_id: r.baseline_id,
        project_id: r.project_id,
        model_id: r.model_id,
        audit_id: r.audit_id,
        name: r.name,
        source_type: r.source_type,
        window_start: r.window_start.map(utc),
        window_end: utc(r.window_end),
        created_at: utc(r.created_at),
        created_by: r.created_by,
        approved_at,
    })
}

/// Names a claimed run as a baseline; a name already used for the model is a conflict.
pub fn create(conn: &mut AnyConnection, b: &NewBaseline) -> Result<(), StoreError> {
    let inserted = diesel::insert_into(named_baselines::table)
        .values((
            named_baselines::baseline_id.eq(&b.baseline_id),
            named_baselines::project_id.eq(&b.project_id),
            named_baselines::model_id.eq(&b.model_id),
            named_baselines::audit_id.eq(&b.audit_id),
            named_baselines::name.eq(&b.name),
            named_baselines::source_type.eq(b.source_type.as_deref()),
            named_baselines::window_start.eq(b.window_start.map(naive)),
            named_baselines::window_end.eq(naive(b.window_end)),
            named_baselines::created_at.eq(naive(b.created_at)),
            named_baselines::created_by.eq(&b.created_by),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "model '{}' already has a baseline named '{}'",
            b.model_id, b.name
        ))),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

pub fn get(
    conn: &mut AnyConnection,
    baseline_id: &str,
) -> Result<Option<NamedBaseline>, StoreError> {
    let row = named_baselines::table
        .find(baseline_id)
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| complete(conn, r)).transpose()
}

/// The named baseline an audit run builds, if it builds one.
pub fn of_run(
    conn: &mut AnyConnection,
    audit_id: &str,
) -> Result<Option<NamedBaseline>, StoreError> {
    let row = named_baselines::table
        .filter(named_baselines::audit_id.eq(audit_id))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| complete(conn, r)).transpose()
}

/// A project's named baselines (of one model, when given), newest first.
pub fn list(
    conn: &mut AnyConnection,
    project_id: &str,
    model_id: Option<&str>,
    paging: Paging,
) -> Result<Page<NamedBaseline>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    let filtered = || {
        let mut q = named_baselines::table
            .filter(named_baselines::project_id.eq(project_id.to_owned()))
            .into_boxed();
        if let Some(m) = model_id {
            q = q.filter(named_baselines::model_id.eq(m.to_owned()));
        }
        q
    };
    let total = filtered().count().get_result::<i64>(conn)?;
    let rows = filtered()
        .order((
            named_baselines::created_at.desc(),
            named_baselines::baseline_id.desc(),
        ))
        .offset(skip)
        .limit(limit)
        .select(Row::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| complete(conn, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { total, items })
}
