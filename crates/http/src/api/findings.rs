//! `/findings`: every finding with filters, and the findings of one audit.

use actix_web::{HttpRequest, HttpResponse, get, web};
use audit_store::repo::{audits, findings};
use audit_store::{FindingFilter, FindingRecord, StoreError};
use serde::{Deserialize, Serialize};

use super::{PageParams, RangeParams, cached, parse_enum, read};
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
    page: web::Query<PageParams>,
    params: web::Query<FindingFilterParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let (from, to) = range.parse()?;
    let p = params.into_inner();
    let f = FindingFilter {
        severity: parse_enum("severity", &p.severity)?,
        category: parse_enum("category", &p.category)?,
        model_id: p.model_id,
        audit_id: p.audit_id,
        from,
        to,
    };
    cached(&state, &req, move |c| {
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
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let r = read(&state, move |c| {
        if audits::get(c, &id)?.is_none() {
            return Err(StoreError::NotFound(format!("audit '{id}' not found")));
        }
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
