//! `tenant_retention`: how long a tenant keeps what it records. A tenant without a row keeps
//! the defaults, which follow the EU AI Act: compliance-log payloads at least six months
//! (Art. 19, automatically generated logs) and audit records and technical documentation ten
//! years (Art. 18). The purge (`repo::purge`) reads these periods.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{naive, utc};
use crate::schema::tenant_retention;
use crate::{AnyConnection, StoreError};

/// Days compliance-log payloads are kept by default (Art. 19: at least six months).
pub const DEFAULT_LOG_DAYS: i64 = 183;
/// Days audit records of archived models are kept by default (Art. 18: ten years).
pub const DEFAULT_RECORDS_DAYS: i64 = 3650;
/// The longest period accepted (a century): beyond it a typo is likelier than an intent.
pub const MAX_DAYS: i64 = 36_500;

/// A tenant's retention periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retention {
    pub tenant_id: String,
    /// Days the compliance log keeps each entry's payload (the change itself); the entry, its
    /// digest and its hash stay, so the chain still verifies.
    pub log_days: i64,
    /// Days an archived model's records (the model, its audits, findings, samples, versions,
    /// policy) are kept after the archive.
    pub records_days: i64,
    /// Whether these are the defaults (nobody set the tenant's periods).
    pub is_default: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

impl Retention {
    fn defaults(tenant_id: &str) -> Retention {
        Retention {
            tenant_id: tenant_id.to_owned(),
            log_days: DEFAULT_LOG_DAYS,
            records_days: DEFAULT_RECORDS_DAYS,
            is_default: true,
            updated_at: None,
            updated_by: None,
        }
    }

    /// The periods as the compliance log records them (before/after of a change).
    pub fn periods(&self) -> serde_json::Value {
        serde_json::json!({"log_days": self.log_days, "records_days": self.records_days})
    }
}

/// The tenant's periods (the defaults when none were set).
pub fn get(conn: &mut AnyConnection, tenant_id: &str) -> Result<Retention, StoreError> {
    let row: Option<(i64, i64, chrono::NaiveDateTime, String)> = tenant_retention::table
        .find(tenant_id)
        .select((
            tenant_retention::log_days,
            tenant_retention::records_days,
            tenant_retention::updated_at,
            tenant_retention::updated_by,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Retention::defaults(tenant_id),
        Some((log_days, records_days, at, by)) => Retention {
            tenant_id: tenant_id.to_owned(),
            log_days,
            records_days,
            is_default: false,
            updated_at: Some(utc(at)),
            updated_by: Some(by),
        },
    })
}

/// Sets the tenant's periods. Checks only the range: whether a period below the default is
/// allowed (`force`) is the caller's decision.
pub fn put(
    conn: &mut AnyConnection,
    tenant_id: &str,
    log_days: i64,
    records_days: i64,
    actor: &str,
) -> Result<Retention, StoreError> {
    for (name, v) in [("log_days", log_days), ("records_days", records_days)] {
        if !(0..=MAX_DAYS).contains(&v) {
            return Err(StoreError::Invalid(format!(
                "{name} must be between 0 and {MAX_DAYS}"
            )));
        }
    }
    let now = naive(crate::now());
    let updated = diesel::update(tenant_retention::table.find(tenant_id))
        .set((
            tenant_retention::log_days.eq(log_days),
            tenant_retention::records_days.eq(records_days),
            tenant_retention::updated_at.eq(now),
            tenant_retention::updated_by.eq(actor),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(tenant_retention::table)
            .values((
                tenant_retention::tenant_id.eq(tenant_id),
                tenant_retention::log_days.eq(log_days),
                tenant_retention::records_days.eq(records_days),
                tenant_retention::updated_at.eq(now),
                tenant_retention::updated_by.eq(actor),
            ))
            .execute(conn)?;
    }
    get(conn, tenant_id)
}
