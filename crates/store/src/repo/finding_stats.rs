//! Findings counted by workflow status, severity, category and model (seed 001's statistics
//! summary), from the running totals that every audit's transaction keeps, so a million
//! findings cost a few index reads.

use audit_domain::{FindingCategory, Severity};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use std::collections::BTreeMap;

use super::dashboard::{by_status, counts, tenant_clause};
use crate::{AnyConnection, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingStats {
    pub total: i64,
    /// `open`, `acknowledged`, `resolved`, `false_positive` (every one present).
    pub by_status: BTreeMap<String, i64>,
    /// `LOW` … `CRITICAL` (every one present).
    pub by_severity: BTreeMap<String, i64>,
    /// `drift`, `bias`, `risk`, `compliance`, `security`, … (every one present).
    pub by_category: BTreeMap<String, i64>,
    /// Models with at least one finding, by id.
    pub by_model: BTreeMap<String, i64>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    model_id: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The summary of every model's findings (`tenant` `None`) or of one tenant's.
pub fn summary(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<FindingStats, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT model_id, kind, value, CAST(SUM(n) AS BIGINT) AS n FROM dashboard_counts \
         WHERE kind IN ('severity', 'category'){} GROUP BY model_id, kind, value",
        tenant_clause("model_id", tenant)?
    ))
    .load(conn)?;
    let (mut severity, mut category) = (Vec::new(), Vec::new());
    let mut by_model = BTreeMap::<String, i64>::new();
    for r in rows {
        if r.kind == "severity" {
            // Every finding has one severity: the severity totals count each finding once.
            *by_model.entry(r.model_id).or_default() += r.n;
            severity.push((Some(r.value), r.n));
        } else {
            category.push((Some(r.value), r.n));
        }
    }
    by_model.retain(|_, n| *n > 0);
    let by_severity = counts(severity, Severity::ALL.iter().map(|s| s.as_str()));
    let total = by_severity.values().sum();
    Ok(FindingStats {
        total,
        by_status: by_status(conn, tenant, total)?,
        by_severity,
        by_category: counts(category, FindingCategory::ALL.iter().map(|c| c.as_str())),
        by_model,
    })
}
