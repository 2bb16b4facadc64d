//! `/audits`: list (filters), per model, detail with summary and findings, baseline approval,
//! and run-now.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use audit_domain::AuditType;
use audit_store::repo::{audits, findings, models};
use audit_store::{AuditFilter, AuditRun, AuditSummary, FindingRecord, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::{
    PageParams, RangeParams, cached, parse_enum, read, visible_audit, visible_model, write,
};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// One audit as listed: the run, its model's name and its summary scores.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    #[serde(flatten)]
    pub run: AuditRun,
    /// Same as `execution_status` (the seed's audit-level name).
    pub audit_status: Option<String>,
    pub model_name: Option<String>,
    pub drift_score: Option<f64>,
    pub bias_score: Option<f64>,
    pub risk_score: Option<f64>,
    pub total_findings: Option<i32>,
    pub critical_findings: Option<i32>,
    pub high_findings: Option<i32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub audits: Vec<AuditView>,
}

/// An audit with its summary (metrics and statistics) and findings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditDetail {
    #[serde(flatten)]
    pub view: AuditView,
    pub summary: Option<AuditSummary>,
    pub findings: Vec<FindingRecord>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilterParams {
    pub model_id: Option<String>,
    /// `passive` or `active`.
    pub audit_type: Option<String>,
    /// `SUCCESS`, `PARTIAL` or `FAILED`.
    pub execution_status: Option<String>,
    /// `AUDIT_PASS`, `AUDIT_WARN`, `AUDIT_FAIL` or `BASELINE_CREATED`.
    pub audit_result: Option<String>,
    /// Also list audits still running.
    pub include_running: Option<bool>,
}

fn view(run: AuditRun, summary: Option<&AuditSummary>, model_name: Option<String>) -> AuditView {
    AuditView {
        audit_status: run.execution_status.map(|s| s.as_str().to_owned()),
        model_name,
        drift_score: summary.map(|s| s.drift_score),
        bias_score: summary.map(|s| s.bias_score),
        risk_score: summary.map(|s| s.risk_score),
        total_findings: summary.map(|s| s.total_findings),
        critical_findings: summary.map(|s| s.critical_findings),
        high_findings: summary.map(|s| s.high_findings),
        run,
    }
}

fn filter_of(
    caller: &Caller,
    p: &AuditFilterParams,
    range: &RangeParams,
    model_id: Option<String>,
) -> Result<AuditFilter, ApiError> {
    let (from, to) = range.parse()?;
    Ok(AuditFilter {
        tenant_id: caller.scope(),
        model_id: model_id.or_else(|| p.model_id.clone()),
        audit_type: parse_enum("audit_type", &p.audit_type)?,
        execution_status: parse_enum("execution_status", &p.execution_status)?,
        audit_result: parse_enum("audit_result", &p.audit_result)?,
        from,
        to,
        include_running: p.include_running.unwrap_or(false),
    })
}

fn load_list(
    c: &mut audit_store::AnyConnection,
    f: &AuditFilter,
    paging: audit_store::Paging,
) -> Result<AuditList, StoreError> {
    let page = audits::list(c, f, paging)?;
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(page.items.len());
    for (run, summary) in page.items {
        if !names.contains_key(&run.model_id) {
            let name = models::get(c, &run.model_id)?.map(|m| m.name);
            names.insert(run.model_id.clone(), name);
        }
        let name = names.get(&run.model_id).cloned().flatten();
        out.push(view(run, summary.as_ref(), name));
    }
    Ok(AuditList {
        total: page.total,
        skip: paging.skip,
        limit: paging.limit,
        audits: out,
    })
}

/// List audits, newest first, with filters and their summary scores.
#[utoipa::path(
    tag = "audits",
    params(PageParams, AuditFilterParams, RangeParams),
    responses((status = 200, body = AuditList), (status = 400, body = crate::ErrorBody))
)]
#[get("/audits")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    page: web::Query<PageParams>,
    params: web::Query<AuditFilterParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let f = filter_of(&caller, &params, &range, None)?;
    cached(&state, &req, &caller, move |c| load_list(c, &f, paging)).await
}

/// The audits of one model, newest first.
#[utoipa::path(
    tag = "audits",
    params(("model_id" = String, Path, description = "The model's identifier"), PageParams, AuditFilterParams, RangeParams),
    responses((status = 200, body = AuditList), (status = 404, body = crate::ErrorBody))
)]
#[get("/audits/model/{model_id}")]
pub async fn of_model(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    page: web::Query<PageParams>,
    params: web::Query<AuditFilterParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let model_id = path.into_inner();
    let f = filter_of(&caller, &params, &range, Some(model_id.clone()))?;
    let who = caller.clone();
    cached(&state, &req, &caller, move |c| {
        visible_model(c, &who, &model_id)?;
        load_list(c, &f, paging)
    })
    .await
}

/// One audit with its summary (metrics, baseline metrics, statistics) and findings.
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses((status = 200, body = AuditDetail), (status = 404, body = crate::ErrorBody))
)]
#[get("/audits/{audit_id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let d = read(&state, move |c| {
        let run = visible_audit(c, &caller, &id)?;
        let summary = audits::summary(c, &id)?;
        let name = models::get(c, &run.model_id)?.map(|m| m.name);
        let findings = findings::of_audit(c, &id)?;
        Ok(AuditDetail {
            view: view(run, summary.as_ref(), name),
            summary,
            findings,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// `POST /audits/{audit_id}/approve`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// On whose behalf (recorded beside the caller, who is always the approver of record).
    pub approved_by: Option<String>,
    pub note: Option<String>,
}

/// Make a finished audit the model's baseline (an explicit, recorded act).
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    request_body(content = Option<ApproveBody>),
    responses(
        (status = 200, body = audit_store::Approval),
        (status = 400, description = "Malformed JSON", body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Still running, or the model is archived", body = crate::ErrorBody),
        (status = 413, description = "Body too large", body = crate::ErrorBody),
        (status = 415, description = "A body that is not JSON", body = crate::ErrorBody),
        (status = 422, description = "Unknown fields, wrong types, no stored profile (failed or active audit)", body = crate::ErrorBody)
    )
)]
#[post("/audits/{audit_id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: crate::body::OptionalJson<ApproveBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.0.unwrap_or_default();
    if b.approved_by
        .as_ref()
        .is_some_and(|who| who.trim().is_empty() || who.len() > 128)
    {
        return Err(ApiError::invalid("approved_by must be 1–128 characters"));
    }
    // The caller is the approver of record (and the log's actor); a name given on whose behalf
    // goes into the note.
    let note = match (&b.approved_by, b.note.as_deref()) {
        (Some(who), Some(n)) => Some(format!("on behalf of {who}: {n}")),
        (Some(who), None) => Some(format!("on behalf of {who}")),
        (None, n) => n.map(str::to_owned),
    };
    let a = approve_audit(&state, caller, id, note).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// Makes audit `id` the baseline of its model, approved by `caller` (the API's
/// `POST /audits/{id}/approve` and the console's button).
pub async fn approve_audit(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    note: Option<String>,
) -> Result<audit_store::Approval, ApiError> {
    let by = caller.actor.clone();
    let a = write(state, move |c| {
        let run = visible_audit(c, &caller, &id)?;
        // A new baseline is a change to the model: an archived one waits for its restore.
        super::changeable_model(c, &caller, &run.model_id)?;
        audits::approve(c, &id, &by, note.as_deref())
    })
    .await?;
    tracing::info!(audit_id = %a.audit_id, model_id = %a.model_id, approved_by = %a.approved_by, "baseline approved");
    Ok(a)
}

/// Which kind of audit to run now.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunNowParams {
    /// `passive` (default) or `active` (security probes; needs the model's active target).
    pub audit_type: Option<String>,
}

/// Run an audit of the model now (the scheduler never needs this). Answers at once with the
/// claimed run; poll `GET /audits/{audit_id}` for its result.
#[utoipa::path(
    tag = "audits",
    params(("model_id" = String, Path, description = "The model's identifier"), RunNowParams),
    responses(
        (status = 202, body = AuditRun),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived, or active audits are not enabled in its policy", body = crate::ErrorBody),
        (status = 422, description = "An active audit of a model without an active target", body = crate::ErrorBody),
        (status = 429, description = "Audit queue full: retry shortly", body = crate::ErrorBody)
    )
)]
#[post("/models/{model_id}/audits")]
pub async fn run_now(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<RunNowParams>,
) -> Result<HttpResponse, ApiError> {
    let kind: AuditType = parse_enum("audit_type", &q.audit_type)?.unwrap_or(AuditType::Passive);
    let run = start_audit(&state, caller, path.into_inner(), kind).await?;
    Ok(HttpResponse::Accepted().json(run))
}

/// Claims a run of model `id` now, for `caller` (the API's run-now and the console's button).
pub async fn start_audit(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    kind: AuditType,
) -> Result<AuditRun, ApiError> {
    let check = id.clone();
    let who = caller.clone();
    read(state, move |c| visible_model(c, &who, &check).map(|_| ())).await?;
    let runner = state.runner.clone();
    Ok(web::block(move || runner.run_now(&id, kind, &caller.actor)).await??)
}
