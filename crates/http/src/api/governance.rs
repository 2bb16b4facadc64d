//! The compliance log (`/compliance-log`: list, verify, JSON Lines export) and model versions
//! (`/models/{model_id}/versions`).

use actix_web::{HttpResponse, get, post, put, web};
use audit_store::StoreError;
use audit_store::repo::log::{self, ChainReport, LogEntry, LogFilter};
use audit_store::repo::versions::{self, ModelVersion};
use serde::{Deserialize, Serialize};

use super::models::check_text;
use super::{PageParams, RangeParams, changeable_model, read, visible_model, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// e.g. `user:alice`, `key:key_…`, `scheduler`.
    pub actor: Option<String>,
    /// e.g. `model.create`, `audit.finish`, `finding.acknowledged`.
    pub action: Option<String>,
    /// `model`, `policy`, `audit`, `finding`, `api_key`, `user`, `tenant`, `project`, …
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Operators only: one tenant's chain.
    pub tenant_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogPage {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub entries: Vec<LogEntry>,
}

fn filter_of(caller: &Caller, p: LogParams, r: &RangeParams) -> Result<LogFilter, ApiError> {
    let (from, to) = r.parse()?;
    let fmt = audit_store::log_time;
    let tenant_id = match (caller.scope(), p.tenant_id) {
        (Some(own), Some(t)) if t != own => {
            return Err(ApiError::not_found(format!("tenant '{t}' not found")));
        }
        (Some(own), _) => Some(own),
        (None, t) => t,
    };
    Ok(LogFilter {
        tenant_id,
        actor: p.actor,
        action: p.action,
        object_type: p.object_type,
        object_id: p.object_id,
        from: from.map(fmt),
        to: to.map(fmt),
    })
}

/// Entries of the compliance log, oldest first, with filters.
#[utoipa::path(
    tag = "compliance",
    params(PageParams, LogParams, RangeParams),
    responses((status = 200, body = LogPage), (status = 400, body = crate::ErrorBody))
)]
#[get("/compliance-log")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
    params: web::Query<LogParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let f = filter_of(&caller, params.into_inner(), &range)?;
    let p = read(&state, move |c| log::list(c, &f, paging)).await?;
    Ok(HttpResponse::Ok().json(LogPage {
        total: p.total,
        skip: paging.skip,
        limit: paging.limit,
        entries: p.items,
    }))
}

/// The log as JSON Lines, for archiving and offline verification (`auditor log verify`): a
/// header line, then per chain its head, signed checkpoints and entries, each line with a
/// `type`. Without filters the export verifies offline; with filters it holds the header and
/// the matching entries only.
#[utoipa::path(
    tag = "compliance",
    params(LogParams, RangeParams),
    responses((status = 200, description = "JSON Lines", content_type = "application/x-ndjson", body = String))
)]
#[get("/compliance-log/export")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<LogParams>,
    range: web::Query<RangeParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let whole = p.actor.is_none()
        && p.action.is_none()
        && p.object_type.is_none()
        && p.object_id.is_none()
        && range.from.is_none()
        && range.to.is_none();
    let f = filter_of(&caller, p, &range)?;
    let body = read(&state, move |c| {
        let mut out: Vec<u8> = Vec::new();
        if whole {
            log::export(c, f.tenant_id.as_deref(), None, &mut out)?;
            return Ok(out);
        }
        log::write_line(&mut out, &log::export_header(None))?;
        let mut skip = 0;
        loop {
            let page = log::list(c, &f, audit_store::Paging { skip, limit: 500 })?;
            let n = page.items.len() as i64;
            for e in page.items {
                log::write_line(&mut out, &audit_ledger::export::Line::Entry(e))?;
            }
            skip += n;
            if n < 500 {
                break;
            }
        }
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"compliance-log.jsonl\"",
        ))
        .body(body))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Every chain checked is intact.
    pub valid: bool,
    /// Entries checked, over all chains.
    pub entries_checked: i64,
    /// The first broken entry's `seq` (over all chains), when one is.
    pub first_broken_seq: Option<i64>,
    /// Whether the chains were also checked against the checkpoint copy kept outside the
    /// database (`checkpoint_copy`).
    pub outside_copy: bool,
    pub chains: Vec<ChainReport>,
}

/// Re-computes the log's hash chains: the caller's tenant's (every tenant's for operators),
/// every row including rows past a chain's head, against its head, its signed checkpoints and
/// the outside checkpoint copy when one is configured. Edited, removed, inserted, reordered or
/// rewritten entries make it `valid: false` and name the first broken one.
#[utoipa::path(tag = "compliance", responses((status = 200, body = Verification)))]
#[get("/compliance-log/verify")]
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(verification(&state, &caller).await?))
}

/// The verification of the chains `caller` sees (the API's and the console's).
pub async fn verification(
    state: &web::Data<AppState>,
    caller: &Caller,
) -> Result<Verification, ApiError> {
    let scope = caller.scope();
    let copy = state.config.checkpoint_copy.clone();
    let outside_copy = copy.is_some();
    let chains = read(state, move |c| {
        let mut outside = match &copy {
            Some(path) => read_copy(path)?,
            None => Default::default(),
        };
        if let Some(t) = &scope {
            outside.retain(|k, _| k == t);
        }
        log::verify_all(c, scope.as_deref(), &outside)
    })
    .await?;
    let v = Verification {
        valid: chains.iter().all(|c| c.valid),
        entries_checked: chains.iter().map(|c| c.entries).sum(),
        first_broken_seq: chains.iter().filter_map(|c| c.first_broken_seq).min(),
        outside_copy,
        chains,
    };
    if !v.valid {
        tracing::error!(first_broken_seq = ?v.first_broken_seq, "compliance log verification failed");
    }
    Ok(v)
}

/// The outside checkpoint copy; a missing file is an empty copy (nothing delivered yet).
fn read_copy(
    path: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, Vec<log::Checkpoint>>, StoreError> {
    match std::fs::File::open(path) {
        Ok(f) => audit_ledger::export::read_checkpoints(std::io::BufReader::new(f))
            .map_err(|e| StoreError::Corrupt(format!("checkpoint copy {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(e) => Err(StoreError::Corrupt(format!(
            "checkpoint copy {}: {e}",
            path.display()
        ))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The key that signs checkpoints, 64 hex digits: give it to `auditor log verify`.
    pub public_key: String,
    /// A checkpoint follows at most this many entries of a chain.
    pub every_entries: i64,
}

/// The public key that checks the log's signed checkpoints (the private key lives in a file
/// outside the database).
#[utoipa::path(
    tag = "compliance",
    responses((status = 200, body = PublicKey), (status = 503, body = crate::ErrorBody))
)]
#[get("/compliance-log/public-key")]
pub async fn public_key(_caller: Caller) -> Result<HttpResponse, ApiError> {
    let cfg = log::configured().ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "checkpoint signing is not configured on this server",
        )
    })?;
    Ok(HttpResponse::Ok().json(PublicKey {
        algorithm: "Ed25519",
        public_key: cfg.signer.public_key_hex(),
        every_entries: cfg.every_entries,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersionInput {
    #[schema(min_length = 1, max_length = 128)]
    pub version_tag: String,
    pub artifact_location: Option<String>,
    pub notes: Option<String>,
    /// Evaluation metrics by name: accuracy, f1, auc, bias metrics (e.g. `dir.gender`), any
    /// named number.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// Make it the model's current version (default true): audits record it, and the
    /// `model_version` baseline strategy then wants a baseline approved for it.
    pub make_current: Option<bool>,
}

fn check_metrics(m: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
    if m.len() > 200 {
        return Err(ApiError::invalid("at most 200 metrics per version"));
    }
    for (k, v) in m {
        if k.is_empty() || k.len() > 128 {
            return Err(ApiError::invalid("metric names must be 1–128 characters"));
        }
        if !v.as_f64().is_some_and(f64::is_finite) {
            return Err(ApiError::invalid(format!(
                "metric '{k}' must be a finite number"
            )));
        }
    }
    Ok(())
}

/// Add a version to the model's history, with its evaluation metrics.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path)),
    request_body = NewVersionInput,
    responses(
        (status = 201, body = ModelVersion),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The version exists, or the model is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[post("/models/{model_id}/versions")]
pub async fn create_version(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<NewVersionInput>,
) -> Result<HttpResponse, ApiError> {
    let v = add_version(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Adds a version as `POST /models/{model_id}/versions` does (the console's form calls it too).
pub async fn add_version(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    b: NewVersionInput,
) -> Result<ModelVersion, ApiError> {
    check_text("version_tag", &b.version_tag, 128)?;
    check_metrics(&b.metrics)?;
    write(state, move |c| {
        changeable_model(c, &caller, &id)?;
        let v = versions::create(
            c,
            &versions::NewVersion {
                model_id: &id,
                version_tag: &b.version_tag,
                artifact_location: b.artifact_location.as_deref(),
                notes: b.notes.as_deref(),
                metrics: &b.metrics,
                created_by: &caller.actor,
                make_current: b.make_current.unwrap_or(true),
            },
        )?;
        log::record_for_model(
            c,
            &id,
            &caller.actor,
            "version.create",
            "model_version",
            &format!("{id}@{}", v.version_tag),
            serde_json::json!(v),
        )?;
        Ok(v)
    })
    .await
}

/// The model's version history, oldest first.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path)),
    responses((status = 200, body = Vec<ModelVersion>), (status = 404, body = crate::ErrorBody))
)]
#[get("/models/{model_id}/versions")]
pub async fn list_versions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let v = read(&state, move |c| {
        visible_model(c, &caller, &id)?;
        versions::list(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// One version.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path), ("version_tag" = String, Path)),
    responses((status = 200, body = ModelVersion), (status = 404, body = crate::ErrorBody))
)]
#[get("/models/{model_id}/versions/{version_tag}")]
pub async fn get_version(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, tag) = path.into_inner();
    let v = read(&state, move |c| {
        visible_model(c, &caller, &id)?;
        versions::get(c, &id, &tag)?
            .ok_or_else(|| StoreError::NotFound(format!("model '{id}' has no version '{tag}'")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Add or replace evaluation metrics of a version.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path), ("version_tag" = String, Path)),
    request_body = Object,
    responses(
        (status = 200, body = ModelVersion),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[put("/models/{model_id}/versions/{version_tag}/metrics")]
pub async fn put_metrics(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let (id, tag) = path.into_inner();
    let v = record_metrics(&state, caller, id, tag, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Adds or replaces a version's metrics as `PUT …/versions/{version_tag}/metrics` does.
pub async fn record_metrics(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    tag: String,
    m: serde_json::Map<String, serde_json::Value>,
) -> Result<ModelVersion, ApiError> {
    check_metrics(&m)?;
    write(state, move |c| {
        changeable_model(c, &caller, &id)?;
        let before = versions::get(c, &id, &tag)?.map(|v| v.metrics);
        let v = versions::put_metrics(c, &id, &tag, &m)?;
        log::record_for_model(
            c,
            &id,
            &caller.actor,
            "version.metrics",
            "model_version",
            &format!("{id}@{tag}"),
            log::diff(
                &serde_json::json!(before.unwrap_or_default()),
                &serde_json::json!(m),
            ),
        )?;
        Ok(v)
    })
    .await
}
