//! `/v1/tenants/{tenant_id}/retention`: how long the tenant keeps compliance-log payloads and
//! the records of archived models (docs/retention.md). A tenant's admins set their own;
//! operators (admins of the system tenant) any tenant's. Periods below the EU AI Act defaults
//! need `force=true`, and every change is in the tenant's compliance log, before and after.

use actix_web::{HttpResponse, get, put, web};
use audit_store::StoreError;
use audit_store::repo::retention::{self, DEFAULT_LOG_DAYS, DEFAULT_RECORDS_DAYS, Retention};
use audit_store::repo::{log, tenants};
use serde::{Deserialize, Serialize};

use super::{read, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The periods that apply when a tenant sets none.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionDefaults {
    /// 183 days: EU AI Act Art. 19 (automatically generated logs, at least six months).
    pub log_days: i64,
    /// 3650 days: EU AI Act Art. 18 (documentation kept ten years).
    pub records_days: i64,
}

/// A tenant's retention periods and the defaults they are measured against.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionView {
    #[serde(flatten)]
    pub retention: Retention,
    pub defaults: RetentionDefaults,
}

impl From<Retention> for RetentionView {
    fn from(retention: Retention) -> Self {
        RetentionView {
            retention,
            defaults: RetentionDefaults {
                log_days: DEFAULT_LOG_DAYS,
                records_days: DEFAULT_RECORDS_DAYS,
            },
        }
    }
}

/// `PUT …/retention`: the periods to set; an absent one keeps its value.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionInput {
    /// Days compliance-log payloads are kept (0–36500).
    pub log_days: Option<i64>,
    /// Days an archived model's records are kept after the archive (0–36500).
    pub records_days: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForceParams {
    /// Accept periods below the defaults (the legal minimums are then the tenant's to keep).
    pub force: Option<bool>,
}

/// The tenant if the caller may see it: another tenant's is "not found", like a missing one.
fn visible_tenant(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    tenant_id: &str,
) -> Result<(), StoreError> {
    match tenants::get(c, tenant_id)? {
        Some(t) if caller.sees(&t.tenant_id) => Ok(()),
        _ => Err(StoreError::NotFound(format!(
            "tenant '{tenant_id}' not found"
        ))),
    }
}

/// Refuses a period below its default unless forced, naming the article behind the default.
fn check_minimums(log_days: i64, records_days: i64, force: bool) -> Result<(), ApiError> {
    if force {
        return Ok(());
    }
    if log_days < DEFAULT_LOG_DAYS {
        return Err(ApiError::invalid(format!(
            "log_days {log_days} is below the default of {DEFAULT_LOG_DAYS} days (EU AI Act Art. 19: logs are kept at least six months); add force=true to set it anyway"
        )));
    }
    if records_days < DEFAULT_RECORDS_DAYS {
        return Err(ApiError::invalid(format!(
            "records_days {records_days} is below the default of {DEFAULT_RECORDS_DAYS} days (EU AI Act Art. 18: documentation is kept ten years); add force=true to set it anyway"
        )));
    }
    Ok(())
}

/// The periods set, as logged: `force` beside them when a default was overridden.
fn forced(mut periods: serde_json::Value, force: bool) -> serde_json::Value {
    if let (true, Some(m)) = (force, periods.as_object_mut()) {
        m.insert("force".into(), serde_json::Value::Bool(true));
    }
    periods
}

/// The tenant's retention periods (the defaults when none were set).
#[utoipa::path(
    tag = "access",
    params(("tenant_id" = String, Path, description = "The tenant")),
    responses((status = 200, body = RetentionView), (status = 404, body = crate::ErrorBody))
)]
#[get("/v1/tenants/{tenant_id}/retention")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let r = read(&state, move |c| {
        visible_tenant(c, &caller, &id)?;
        retention::get(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RetentionView::from(r)))
}

/// Set the tenant's retention periods. A period below its default (183 days of log payloads,
/// 3650 days of records) is refused unless `force=true`; the change is logged with the periods
/// before and after.
#[utoipa::path(
    tag = "access",
    params(("tenant_id" = String, Path, description = "The tenant"), ForceParams),
    request_body = RetentionInput,
    responses(
        (status = 200, body = RetentionView),
        (status = 404, body = crate::ErrorBody),
        (status = 422, description = "Out of range, or below a default without force=true", body = crate::ErrorBody)
    )
)]
#[put("/v1/tenants/{tenant_id}/retention")]
pub async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<ForceParams>,
    body: web::Json<RetentionInput>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let force = q.force.unwrap_or(false);
    let who = caller.clone();
    let tenant = id.clone();
    let before = read(&state, move |c| {
        visible_tenant(c, &who, &tenant)?;
        retention::get(c, &tenant)
    })
    .await?;
    let log_days = b.log_days.unwrap_or(before.log_days);
    let records_days = b.records_days.unwrap_or(before.records_days);
    check_minimums(log_days, records_days, force)?;
    let after = write(&state, move |c| {
        visible_tenant(c, &caller, &id)?;
        // Read again inside the transaction: the logged "before" is what this change replaced.
        let before = retention::get(c, &id)?;
        let after = retention::put(c, &id, log_days, records_days, &caller.actor)?;
        log::append(
            c,
            &log::Change {
                tenant_id: &id,
                actor: &caller.actor,
                action: "retention.update",
                object_type: "tenant",
                object_id: &id,
                change: log::diff(&before.periods(), &forced(after.periods(), force)),
            },
        )?;
        Ok(after)
    })
    .await?;
    tracing::info!(tenant_id = %after.tenant_id, log_days, records_days, force, "retention set");
    Ok(HttpResponse::Ok().json(RetentionView::from(after)))
}
