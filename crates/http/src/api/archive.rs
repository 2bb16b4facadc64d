//! Archive instead of delete (`DELETE /models/{model_id}`) and restore
//! (`POST /models/{model_id}/restore`). An archived model keeps its audits, findings, reports
//! and log entries readable, leaves the lists, stops running, and is purged with its records
//! once its tenant's records retention has passed since the archive (docs/retention.md).

use actix_web::{HttpResponse, delete, post, web};
use audit_store::repo::{log, models, retention};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::models::{ModelDetail, detail_of, log_model};
use super::{visible_model, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// What archiving a model did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Archived {
    /// Always false: models are archived, never deleted by a request.
    pub deleted: bool,
    pub archived: bool,
    pub model_id: String,
    pub archived_at: DateTime<Utc>,
    pub archived_by: String,
    /// From when the purge may remove the model and its records: the archive plus the
    /// tenant's records retention (a restore before then keeps everything).
    pub purge_after: DateTime<Utc>,
    pub detail: String,
}

/// The archive fields as the compliance log records their change.
fn archive_state(
    at: Option<DateTime<Utc>>,
    by: Option<&str>,
    purge_after: Option<DateTime<Utc>>,
) -> serde_json::Value {
    serde_json::json!({"archived_at": at, "archived_by": by, "purge_after": purge_after})
}

/// Archive a model: its policy stops running and it leaves the lists, while the model, its
/// audits, findings, reports and compliance-log entries stay readable until the retention
/// purge. Models are no longer deleted by a request.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    responses(
        (status = 200, body = Archived),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Already archived", body = crate::ErrorBody)
    )
)]
#[delete("/models/{model_id}")]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let out = archive_model(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Archives a model as `DELETE /models/{model_id}` does (the console's button calls it too).
pub async fn archive_model(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<Archived, ApiError> {
    let out = write(state, move |c| {
        let m = visible_model(c, &caller, &id)?;
        if m.is_archived() {
            return Err(models::archived_conflict(&m));
        }
        let m = models::archive(c, &id, &caller.actor, audit_store::now())?;
        let at = m.archived_at.unwrap_or_else(audit_store::now);
        let days = retention::get(c, &m.tenant_id)?.records_days;
        let purge_after = at + chrono::Duration::days(days);
        log_model(
            c,
            &caller,
            "model.archive",
            &id,
            log::diff(
                &archive_state(None, None, None),
                &archive_state(Some(at), Some(&caller.actor), Some(purge_after)),
            ),
        )?;
        Ok(Archived {
            deleted: false,
            archived: true,
            detail: format!(
                "model '{id}' was archived: its audits and findings stay readable; restore it with POST /models/{id}/restore before {} to keep them past the retention purge",
                purge_after.to_rfc3339()
            ),
            model_id: id,
            archived_at: at,
            archived_by: caller.actor.clone(),
            purge_after,
        })
    })
    .await?;
    tracing::info!(model_id = %out.model_id, "model archived");
    Ok(out)
}

/// Restore an archived model: it is listed and audited again (a policy overdue meanwhile runs
/// once at its next scan, as after downtime).
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    responses(
        (status = 200, body = ModelDetail),
        (status = 404, description = "Unknown, or already purged", body = crate::ErrorBody),
        (status = 409, description = "Not archived", body = crate::ErrorBody)
    )
)]
#[post("/models/{model_id}/restore")]
pub async fn restore(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = restore_model(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Restores an archived model as `POST /models/{model_id}/restore` does.
pub async fn restore_model(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<ModelDetail, ApiError> {
    let d = write(state, move |c| {
        let before = visible_model(c, &caller, &id)?;
        models::restore(c, &id)?;
        log_model(
            c,
            &caller,
            "model.restore",
            &id,
            log::diff(
                &archive_state(before.archived_at, before.archived_by.as_deref(), None),
                &archive_state(None, None, None),
            ),
        )?;
        detail_of(c, &id)
    })
    .await?;
    tracing::info!(model_id = %d.view.model.model_id, "model restored");
    Ok(d)
}
