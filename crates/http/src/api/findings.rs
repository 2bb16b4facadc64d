//! `/findings`: every finding with filters, and the findings of one audit.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use audit_store::repo::dashboard::FINDING_STATUSES;
use audit_store::repo::{findings, log, tenants};
use audit_store::{FindingFilter, FindingRecord, StoreError};
use serde::{Deserialize, Serialize};

use super::{PageParams, RangeParams, cached, parse_enum, read, visible_audit, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub findings: Vec<FindingRecord>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditFindings {
    pub audit_id: String,
    pub total: i64,
    pub findings: Vec<FindingRecord>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingFilterParams {
    pub model_id: Option<String>,
    pub audit_id: Option<String>,
    /// `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub severity: Option<String>,
    /// `drift`, `bias`, `risk`, `compliance` or `security`.
    pub category: Option<String>,
    /// `open`, `acknowledged`, `resolved` or `false_positive`.
    pub status: Option<String>,
}

/// List findings, newest first, with filters.
#[utoipa::path(
    tag = "findings",
    params(PageParams, FindingFilterParams, RangeParams),
    responses((status = 200, body = FindingList), (status = 400, body = crate::ErrorBody))
)]
#[get("/findings")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    page: web::Query<PageParams>,
    params: web::Query<FindingFilterParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let (from, to) = range.parse()?;
    let p = params.into_inner();
    if let Some(s) = &p.status
        && !FINDING_STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "status '{s}' is not one of open, acknowledged, resolved, false_positive"
        )));
    }
    let f = FindingFilter {
        tenant_id: caller.scope(),
        status: p.status,
        severity: parse_enum("severity", &p.severity)?,
        category: parse_enum("category", &p.category)?,
        model_id: p.model_id,
        audit_id: p.audit_id,
        from,
        to,
    };
    cached(&state, &req, &caller, move |c| {
        let page = findings::list(c, &f, paging)?;
        Ok(FindingList {
            total: page.total,
            skip: paging.skip,
            limit: paging.limit,
            findings: page.items,
        })
    })
    .await
}

/// The findings of one audit, most severe first.
#[utoipa::path(
    tag = "findings",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses((status = 200, body = AuditFindings), (status = 404, body = crate::ErrorBody))
)]
#[get("/findings/{audit_id}")]
pub async fn of_audit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let r = read(&state, move |c| {
        visible_audit(c, &caller, &id)?;
        let f = findings::of_audit(c, &id)?;
        Ok(AuditFindings {
            audit_id: id,
            total: f.len() as i64,
            findings: f,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The finding and its tenant if the caller may see it; another tenant's finding is "not
/// found", exactly like a missing one.
fn visible_finding(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    id: i64,
) -> Result<(FindingRecord, String), StoreError> {
    let missing = || StoreError::NotFound(format!("finding {id} not found"));
    let f = findings::get(c, id)?.ok_or_else(missing)?;
    let tenant = tenants::tenant_of_model(c, &f.model_id)?.ok_or_else(missing)?;
    if caller.sees(&tenant) {
        Ok((f, tenant))
    } else {
        Err(missing())
    }
}

/// One finding by its id (at `/findings/by-id/…`, since seed 000's `/findings/{audit_id}` takes
/// an audit's id).
#[utoipa::path(
    tag = "findings",
    params(("finding_id" = i64, Path, description = "The finding's id")),
    responses((status = 200, body = FindingRecord), (status = 404, body = crate::ErrorBody))
)]
#[get("/findings/by-id/{finding_id}")]
pub async fn one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (f, _) = read(&state, move |c| visible_finding(c, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(f))
}

/// The tenant's findings counted by workflow status, severity, category and model (seed 001's
/// statistics summary), from running totals.
#[utoipa::path(
    tag = "findings",
    responses((status = 200, body = audit_store::repo::finding_stats::FindingStats))
)]
#[get("/findings/stats/summary")]
pub async fn stats(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    cached(&state, &req, &caller, move |c| {
        audit_store::repo::finding_stats::summary(c, scope.as_deref())
    })
    .await
}

/// `POST /findings/{finding_id}/status`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `acknowledged`, `resolved`, `false_positive`, or `open` to reopen.
    pub status: String,
    /// Why (kept with the finding and in the compliance log's digest).
    pub note: Option<String>,
}

/// Move a finding through its workflow: open → acknowledged → resolved, open or acknowledged
/// → false_positive, and back to open. Each move is recorded in the compliance log.
#[utoipa::path(
    tag = "findings",
    params(("finding_id" = i64, Path, description = "The finding's id")),
    request_body = StatusChange,
    responses(
        (status = 200, body = FindingRecord),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Not a move the workflow allows from the current status", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[post("/findings/{finding_id}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<StatusChange>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let f = change_status(&state, caller, path.into_inner(), b).await?;
    Ok(HttpResponse::Ok().json(f))
}

/// Moves finding `id` as `b` says, for `caller`, with its compliance-log entry and event: the
/// API's `POST /findings/{id}/status` and the console's findings form.
pub async fn change_status(
    state: &web::Data<AppState>,
    caller: Caller,
    id: i64,
    b: StatusChange,
) -> Result<FindingRecord, ApiError> {
    if !FINDING_STATUSES.contains(&b.status.as_str()) {
        return Err(ApiError::invalid(format!(
            "status '{}' is not one of open, acknowledged, resolved, false_positive",
            b.status
        )));
    }
    if b.note.as_ref().is_some_and(|n| n.len() > 2000) {
        return Err(ApiError::invalid("note must be at most 2000 characters"));
    }
    write(state, move |c| {
        let (cur, tenant) = visible_finding(c, &caller, id)?;
        if !findings::transition_allowed(&cur.status, &b.status) {
            return Err(StoreError::Conflict(format!(
                "finding {id} is {}; it cannot move to {}",
                cur.status, b.status
            )));
        }
        let f = findings::set_status(c, id, &b.status, &caller.actor, b.note.as_deref())?;
        log::append(
            c,
            &log::Change {
                tenant_id: &tenant,
                actor: &caller.actor,
                action: &format!("finding.{}", b.status),
                object_type: "finding",
                object_id: &id.to_string(),
                change: serde_json::json!({
                    "before": {"status": cur.status, "note": cur.status_note},
                    "after": {"status": b.status, "note": b.note},
                }),
            },
        )?;
        audit_store::repo::events::emit(
            c,
            &cur.model_id,
            "finding.updated",
            serde_json::json!({"finding_id": id, "audit_id": cur.audit_id,
                "model_id": cur.model_id, "from": cur.status, "status": b.status,
                "actor": caller.actor}),
        )?;
        Ok(f)
    })
    .await
}
