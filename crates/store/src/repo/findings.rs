//! `audit_findings`.

use diesel::prelude::*;

use crate::records::{naive, parse, utc};
use crate::schema::audit_findings;
use crate::{AnyConnection, FindingFilter, FindingRecord, Page, Paging, StoreError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_findings)]
struct FindingRow {
    id: i64,
    audit_id: String,
    category: String,
    rule_id: Option<String>,
    severity: String,
    metric_name: String,
    baseline_value: Option<f64>,
    current_value: Option<f64>,
    deviation_percentage: Option<f64>,
    description: String,
    model_id: String,
    created_at: chrono::NaiveDateTime,
    status: String,
    status_actor: Option<String>,
    status_at: Option<chrono::NaiveDateTime>,
    status_note: Option<String>,
}

impl TryFrom<FindingRow> for FindingRecord {
    type Error = StoreError;
    fn try_from(r: FindingRow) -> Result<FindingRecord, StoreError> {
        Ok(FindingRecord {
            id: r.id,
            finding_id: r.id,
            audit_id: r.audit_id,
            model_id: r.model_id,
            finding: audit_domain::Finding {
                category: parse(&r.category, "category")?,
                severity: parse(&r.severity, "severity")?,
                rule_id: r.rule_id,
                metric_name: r.metric_name,
                baseline_value: r.baseline_value,
                current_value: r.current_value,
                deviation_percentage: r.deviation_percentage,
                description: r.description,
            },
            created_at: utc(r.created_at),
            status: r.status,
            status_actor: r.status_actor,
            status_at: r.status_at.map(utc),
            status_note: r.status_note,
        })
    }
}

/// Findings matching `f`, newest first.
pub fn list(
    conn: &mut AnyConnection,
    f: &FindingFilter,
    paging: Paging,
) -> Result<Page<FindingRecord>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    macro_rules! filtered {
        () => {{
            let mut q = audit_findings::table.into_boxed();
            if let Some(t) = &f.tenant_id {
                q = q.filter(audit_findings::model_id.eq_any(super::tenants::models_of(t)));
            }
            if let Some(s) = &f.status {
                q = q.filter(audit_findings::status.eq(s.clone()));
            }
            if let Some(m) = &f.model_id {
                q = q.filter(audit_findings::model_id.eq(m.clone()));
            }
            if let Some(a) = &f.audit_id {
                q = q.filter(audit_findings::audit_id.eq(a.clone()));
            }
            if let Some(s) = f.severity {
                q = q.filter(audit_findings::severity.eq(s.as_str()));
            }
            if let Some(c) = f.category {
                q = q.filter(audit_findings::category.eq(c.as_str()));
            }
            if let Some(t) = f.from {
                q = q.filter(audit_findings::created_at.ge(naive(t)));
            }
            if let Some(t) = f.to {
                q = q.filter(audit_findings::created_at.lt(naive(t)));
            }
            q
        }};
    }
    let total: i64 = match super::dashboard::counted_total(conn, f)? {
        Some(n) => n,
        None => filtered!().count().get_result(conn)?,
    };
    let items = filtered!()
        .order(audit_findings::id.desc())
        .offset(skip)
        .limit(limit)
        .select(FindingRow::as_select())
        .load(conn)?
        .into_iter()
        .map(FindingRecord::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page { total, items })
}

/// Every finding of one audit, most severe first.
pub fn of_audit(
    conn: &mut AnyConnection,
    audit_id: &str,
) -> Result<Vec<FindingRecord>, StoreError> {
    let mut v: Vec<FindingRecord> = audit_findings::table
        .filter(audit_findings::audit_id.eq(audit_id))
        .order(audit_findings::id.asc())
        .select(FindingRow::as_select())
        .load(conn)?
        .into_iter()
        .map(FindingRecord::try_from)
        .collect::<Result<_, _>>()?;
    v.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then(a.id.cmp(&b.id))
    });
    Ok(v)
}

/// One finding by id.
pub fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<FindingRecord>, StoreError> {
    audit_findings::table
        .find(id)
        .select(FindingRow::as_select())
        .first(conn)
        .optional()?
        .map(FindingRecord::try_from)
        .transpose()
}

/// Whether a finding may move from `from` to `to`: open → acknowledged → resolved, open or
/// acknowledged → false_positive, and back to open from any other state (a reopened issue).
pub fn transition_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("open", "acknowledged" | "resolved" | "false_positive")
            | ("acknowledged", "resolved" | "false_positive")
            | ("acknowledged" | "resolved" | "false_positive", "open")
    )
}

/// Moves a finding to `status` (call inside `Store::write`; the caller checked the move).
pub fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    actor: &str,
    note: Option<&str>,
) -> Result<FindingRecord, StoreError> {
    diesel::update(audit_findings::table.find(id))
        .set((
            audit_findings::status.eq(status),
            audit_findings::status_actor.eq(actor),
            audit_findings::status_at.eq(naive(crate::now())),
            audit_findings::status_note.eq(note),
        ))
        .execute(conn)?;
    get(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("finding {id} not found")))
}
