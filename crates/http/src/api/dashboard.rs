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
