//! `/dashboard`: the global overview and one model's scores over time.

use actix_web::{HttpRequest, HttpResponse, get, web};
use audit_store::StoreError;
use audit_store::repo::dashboard::{self, Overview, ScorePoint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::models::{ModelDetail, detail_of};
use super::{cached, visible_model};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// A model's dashboard.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelDashboard {
    pub model: ModelDetail,
    /// Judged audits, oldest first: drift, bias and risk scores over time.
    pub scores: Vec<ScorePoint>,
    pub findings_by_severity: BTreeMap<String, i64>,
    pub findings_by_category: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// How many of the latest audits to include (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// The nine global metrics of the audit contract, with breakdowns.
#[utoipa::path(tag = "dashboard", responses((status = 200, body = Overview)))]
#[get("/dashboard/overview")]
pub async fn overview(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    cached(&state, &req, &caller, move |c| {
        dashboard::overview(c, scope.as_deref())
    })
    .await
}

/// One model: its registry entry, scores over time and findings by severity and category.
#[utoipa::path(
    tag = "dashboard",
    params(("model_id" = String, Path, description = "The model's identifier"), HistoryParams),
    responses((status = 200, body = ModelDashboard), (status = 404, body = crate::ErrorBody))
)]
#[get("/dashboard/model/{model_id}")]
pub async fn model(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let who = caller.clone();
    cached(&state, &req, &caller, move |c| {
        visible_model(c, &who, &id)?;
        let model = match detail_of(c, &id) {
            Ok(m) => m,
            Err(StoreError::NotFound(m)) => return Err(StoreError::NotFound(m)),
            Err(e) => return Err(e),
        };
        let scores = dashboard::score_history(c, &id, limit)?;
        let (findings_by_severity, findings_by_category) = dashboard::model_finding_counts(c, &id)?;
        Ok(ModelDashboard {
            model,
            scores,
            findings_by_severity,
            findings_by_category,
        })
    })
    .await
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// `day`, `week` (default, Monday-based), `month` or `quarter`.
    pub granularity: Option<String>,
    /// How many periods back, this one included (default 12, at most 120).
    pub periods: Option<u32>,
    /// One model only (default: every model the caller sees).
    pub model_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub granularity: String,
    pub model_id: Option<String>,
    pub points: Vec<audit_store::repo::series::SeriesPoint>,
}

/// Score and finding series for charts: mean drift, bias and risk of judged passive audits,
/// and findings by severity, category and (current) status, per day, week, month or quarter.
#[utoipa::path(
    tag = "dashboard",
    params(SeriesParams),
    responses((status = 200, body = Series), (status = 400, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody))
)]
#[get("/dashboard/series")]
pub async fn series(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    params: web::Query<SeriesParams>,
) -> Result<HttpResponse, ApiError> {
    use audit_store::repo::series::{self, Granularity};
    let p = params.into_inner();
    let name = p.granularity.unwrap_or_else(|| "week".into());
    let g = Granularity::parse(&name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "granularity '{name}' is not one of day, week, month, quarter"
        ))
    })?;
    let periods = p.periods.unwrap_or(12);
    if !(1..=120).contains(&periods) {
        return Err(ApiError::bad_request("periods must be between 1 and 120"));
    }
    let who = caller.clone();
    let only = p.model_id;
    cached(&state, &req, &caller, move |c| {
        if let Some(m) = &only {
            visible_model(c, &who, m)?;
        }
        let points = series::series(
            c,
            who.scope().as_deref(),
            only.as_deref(),
            g,
            periods,
            audit_store::now(),
        )?;
        Ok(Series {
            granularity: name,
            model_id: only,
            points,
        })
    })
    .await
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopParams {
    /// How many (default 10, at most 100).
    pub limit: Option<i64>,
}

/// The models with the highest risk in their latest judged audit.
#[utoipa::path(
    tag = "dashboard",
    params(TopParams),
    responses((status = 200, body = Vec<audit_store::repo::series::RiskyModel>))
)]
#[get("/dashboard/top-risk")]
pub async fn top_risk(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    params: web::Query<TopParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = params.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let scope = caller.scope();
    cached(&state, &req, &caller, move |c| {
        audit_store::repo::series::riskiest(c, scope.as_deref(), limit)
    })
    .await
}

/// One line of recent activity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: i64,
    /// The event type (`audit.started`, `audit.completed`, `finding.created`, `finding.updated`).
    #[serde(rename = "type")]
    pub kind: String,
    pub model_id: String,
    pub text: String,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// What happened lately, newest first (the "Recent Activity" list).
#[utoipa::path(
    tag = "dashboard",
    params(TopParams),
    responses((status = 200, body = Vec<Activity>))
)]
#[get("/dashboard/activity")]
pub async fn activity(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    params: web::Query<TopParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let scope = caller.scope();
    cached(&state, &req, &caller, move |c| {
        Ok(
            audit_store::repo::events::recent(c, scope.as_deref(), limit)?
                .into_iter()
                .map(|e| Activity {
                    text: audit_scheduler::notify::headline(&e),
                    id: e.id,
                    kind: e.kind,
                    model_id: e.model_id,
                    time: e.created_at,
                })
                .collect::<Vec<_>>(),
        )
    })
    .await
}
