//! The existing frontend's named baselines (`/v1/baselines`): a name for a profile built from a
//! model's evidence of one source type over a window, approved as the model's baseline when it
//! is built. The build is an audit run of its own (queued like run-now, never judged); the
//! next scheduled audit compares against its profile (strategy `previous_audit`, or
//! `model_version` while the model keeps its version).

use std::str::FromStr;

use actix_web::{HttpResponse, get, post, web};
use audit_domain::{ConnectionType, ExecutionStatus};
use audit_scheduler::NamedBaselineRequest;
use audit_store::repo::audits;
use audit_store::repo::baselines::{self, NamedBaseline};
use audit_store::repo::models::{self as model_repo, ModelFilter};
use audit_store::{Paging, RunState, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::models::{check_text, project_for};
use super::{PageParams, changeable_model, read};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The set-up of a named baseline, in the frontend's terms.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNamedBaseline {
    pub project_id: String,
    /// Default: the project's only model.
    pub model_id: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// The model's evidence source type to read: `logs`, `batch`, `container`, `api`,
    /// `sample`, or `events` (what `POST /v1/events`, `/v1/labels` and `/v1/feedback` feed,
    /// the `sample` source). Default: every source of the model.
    pub source_type: Option<String>,
    /// Start of the window (RFC 3339, `YYYY-MM-DD[ HH:MM:SS]` as UTC, or Unix seconds);
    /// default: the beginning of the evidence.
    pub window_start: Option<String>,
    /// End of the window, exclusive; default: now.
    pub window_end: Option<String>,
}

/// A named baseline and where its build stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BaselineView {
    /// The frontend reads `id`; the same as `baseline_id`.
    pub id: String,
    #[serde(flatten)]
    pub baseline: NamedBaseline,
    /// `building` (queued or reading evidence), `ready` (approved as the model's baseline) or
    /// `failed` (see `reason`; nothing was approved).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Rows read from the evidence, once built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_read: Option<u64>,
}

fn view(c: &mut audit_store::AnyConnection, b: NamedBaseline) -> Result<BaselineView, StoreError> {
    let run = audits::get(c, &b.audit_id)?;
    // Read after the run: a run that finished since `b` was read is approved in the same
    // transaction, so its approval is there now.
    let b = match (&run, b.approved_at) {
        (Some(r), None) if r.run_state == RunState::Finished => {
            baselines::get(c, &b.baseline_id)?.unwrap_or(b)
        }
        _ => b,
    };
    let (status, reason, rows_read) = match run {
        Some(r) if r.run_state == RunState::Finished => {
            let rows = r
                .evidence
                .as_ref()
                .and_then(|e| e.get("rows_read"))
                .and_then(serde_json::Value::as_u64);
            if r.execution_status == Some(ExecutionStatus::Failed) || b.approved_at.is_none() {
                ("failed", r.execution_reason, rows)
            } else {
                ("ready", None, rows)
            }
        }
        Some(_) => ("building", None, None),
        None => ("failed", Some("its audit run is gone".to_owned()), None),
    };
    Ok(BaselineView {
        id: b.baseline_id.clone(),
        baseline: b,
        status: status.to_owned(),
        reason,
        rows_read,
    })
}

fn parse_time(name: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| {
            audit_evidence::parse_timestamp(s).ok_or_else(|| {
                ApiError::invalid(format!(
                    "{name} '{s}' is not a time (RFC 3339, YYYY-MM-DD[ HH:MM:SS] or Unix seconds)"
                ))
            })
        })
        .transpose()
}

fn parse_source_type(v: Option<&str>) -> Result<Option<ConnectionType>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some("events") => Ok(Some(ConnectionType::Sample)),
        Some(s) => ConnectionType::from_str(s).map(Some).map_err(|_| {
            ApiError::invalid(format!(
                "source_type '{s}' is not one of logs, batch, container, api, sample, events"
            ))
        }),
    }
}

/// The model the baseline is of: the named one, in the project; or the project's only model.
fn model_of_project(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    project_id: &str,
    model_id: Option<&str>,
) -> Result<audit_store::Model, StoreError> {
    let project = project_for(c, caller, Some(project_id))?;
    let model = match model_id {
        Some(id) => changeable_model(c, caller, id)?,
        None => {
            let f = ModelFilter {
                project_id: Some(project.project_id.clone()),
                ..ModelFilter::default()
            };
            let page = model_repo::list(c, &f, Paging { skip: 0, limit: 2 })?;
            match <[audit_store::Model; 1]>::try_from(page.items) {
                Ok([m]) => m,
                Err(_) => {
                    return Err(StoreError::Invalid(format!(
                        "project '{project_id}' has {} models: name the model_id",
                        page.total
                    )));
                }
            }
        }
    };
    if model.project_id != project.project_id {
        return Err(StoreError::Invalid(format!(
            "model '{}' is not in project '{project_id}'",
            model.model_id
        )));
    }
    Ok(model)
}

/// Build a named baseline: reads the model's evidence (of `source_type`, over the window) in
/// an audit run of its own, queued at once like run-now, and approves the profile as the
/// model's baseline when the run finishes; `status` says when (`GET /v1/baselines/{id}`).
#[utoipa::path(
    tag = "frontend",
    request_body = NewNamedBaseline,
    responses(
        (status = 202, description = "Queued: poll GET /v1/baselines/{baseline_id}", body = BaselineView),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived, or already has a baseline of this name", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody),
        (status = 429, description = "Audit queue full: retry shortly", body = crate::ErrorBody)
    )
)]
#[post("/v1/baselines")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewNamedBaseline>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    check_text("name", &b.name, 128)?;
    let source_type = parse_source_type(b.source_type.as_deref())?;
    let window_start = parse_time("window_start", b.window_start.as_deref())?;
    let window_end = parse_time("window_end", b.window_end.as_deref())?;
    let now = audit_store::now();
    if window_end.is_some_and(|e| e > now + chrono::Duration::minutes(1)) {
        return Err(ApiError::invalid(
            "window_end is in the future: a baseline is built from evidence that exists",
        ));
    }
    if let (Some(s), e) = (window_start, window_end.unwrap_or(now))
        && s >= e
    {
        return Err(ApiError::invalid("window_start must be before window_end"));
    }
    let who = caller.clone();
    let project_id = b.project_id.clone();
    let model_id = b.model_id.clone();
    let model = read(&state, move |c| {
        let m = model_of_project(c, &who, &project_id, model_id.as_deref())?;
        let sources = model_repo::sources_of(c, &m.model_id)?;
        if let Some(t) = source_type
            && !sources.iter().any(|s| s.source_type == t)
        {
            let has: Vec<&str> = sources.iter().map(|s| s.source_type.as_str()).collect();
            return Err(StoreError::Invalid(format!(
                "model '{}' has no {} evidence source (it has: {})",
                m.model_id,
                t.as_str(),
                if has.is_empty() {
                    "none".to_owned()
                } else {
                    has.join(", ")
                }
            )));
        }
        if sources.is_empty() {
            return Err(StoreError::Invalid(format!(
                "model '{}' has no evidence source to build a baseline from",
                m.model_id
            )));
        }
        Ok(m)
    })
    .await?;
    let runner = state.runner.clone();
    let request = NamedBaselineRequest {
        baseline_id: format!("bl_{}", audit_store::repo::tenants::uuid_hex()),
        model_id: model.model_id,
        name: b.name.trim().to_owned(),
        source_type,
        window_start,
        window_end,
        actor: caller.actor.clone(),
    };
    let id = request.baseline_id.clone();
    web::block(move || runner.build_baseline(request)).await??;
    let v = read(&state, move |c| {
        let b = baselines::get(c, &id)?
            .ok_or_else(|| StoreError::NotFound(format!("baseline '{id}' vanished")))?;
        view(c, b)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(v))
}

/// One named baseline, with where its build stands.
#[utoipa::path(
    tag = "frontend",
    params(("baseline_id" = String, Path)),
    responses((status = 200, body = BaselineView), (status = 404, body = crate::ErrorBody))
)]
#[get("/v1/baselines/{baseline_id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let v = read(&state, move |c| {
        let missing = || StoreError::NotFound(format!("baseline '{id}' not found"));
        let b = baselines::get(c, &id)?.ok_or_else(missing)?;
        // Visible only to who sees its model (archived models' baselines stay readable).
        super::visible_model(c, &caller, &b.model_id).map_err(|_| missing())?;
        view(c, b)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BaselineFilter {
    pub project_id: String,
    pub model_id: Option<String>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    /// Rows to return (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BaselineList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub baselines: Vec<BaselineView>,
}

/// A project's named baselines (of one model, when given), newest first.
#[utoipa::path(
    tag = "frontend",
    params(BaselineFilter),
    responses((status = 200, body = BaselineList), (status = 404, body = crate::ErrorBody))
)]
#[get("/v1/baselines")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<BaselineFilter>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let paging = PageParams {
        skip: q.skip,
        limit: q.limit,
    }
    .paging()?;
    let v = read(&state, move |c| {
        let project = project_for(c, &caller, Some(&q.project_id))?;
        let page = baselines::list(c, &project.project_id, q.model_id.as_deref(), paging)?;
        let baselines = page
            .items
            .into_iter()
            .map(|b| view(c, b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BaselineList {
            total: page.total,
            skip: paging.skip,
            limit: paging.limit,
            baselines,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}
