//! Handlers, grouped by resource. Each handler does its database work on the blocking pool.

pub mod access;
pub mod archive;
pub mod audits;
pub mod baselines;
pub mod compliance;
pub mod dashboard;
pub mod events;
pub mod findings;
pub mod frontend;
pub mod governance;
pub mod ingest;
pub mod labels;
pub mod models;
pub mod policies;
pub mod report;
pub mod retention;
pub mod rules;
pub mod system;
pub mod targets;
pub mod webhooks;

use actix_web::{HttpRequest, HttpResponse, web};
use audit_store::{AnyConnection, Paging, StoreError, repo::MAX_LIMIT};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(models::register)
        .service(ingest::ingest_events)
        .service(ingest::get_event)
        .service(labels::ingest_labels)
        .service(labels::ingest_feedback)
        .service(baselines::create)
        .service(baselines::list)
        .service(baselines::get)
        .service(models::list)
        .service(models::get)
        .service(models::update)
        .service(archive::archive)
        .service(archive::restore)
        .service(models::upload_sample)
        .service(audits::run_now)
        .service(targets::put_target)
        .service(targets::get_target)
        .service(targets::delete_target)
        .service(policies::create)
        .service(policies::list)
        .service(policies::get)
        .service(policies::update)
        .service(policies::delete)
        .service(audits::list)
        .service(audits::of_model)
        .service(audits::get)
        .service(audits::approve)
        .service(report::audit_report_html)
        .service(report::audit_report_html_v1)
        .service(report::audit_report_pdf)
        .service(report::audit_report_pdf_v1)
        .service(findings::list)
        .service(findings::stats)
        .service(findings::one)
        .service(findings::of_audit)
        .service(findings::set_status)
        .service(access::login)
        .service(access::logout)
        .service(access::me)
        .service(access::create_user)
        .service(access::list_users)
        .service(access::delete_user)
        .service(access::create_key)
        .service(access::list_keys)
        .service(access::revoke_key)
        .service(access::create_tenant)
        .service(access::list_tenants)
        .service(retention::get)
        .service(retention::put)
        .service(access::create_project)
        .service(access::list_projects)
        .service(access::get_project)
        .service(access::create_wizard_model)
        .service(access::list_wizard_models)
        .service(frontend::list)
        .service(frontend::get)
        .service(frontend::start)
        .service(webhooks::create)
        .service(webhooks::list)
        .service(webhooks::remove)
        .service(webhooks::deliveries)
        .service(webhooks::test)
        .service(events::sse)
        .service(events::ws)
        .service(governance::list)
        .service(governance::export)
        .service(governance::verify)
        .service(governance::public_key)
        .service(governance::create_version)
        .service(governance::list_versions)
        .service(governance::get_version)
        .service(governance::put_metrics)
        .service(dashboard::overview)
        .service(dashboard::model)
        .service(dashboard::series)
        .service(dashboard::top_risk)
        .service(dashboard::activity)
        .service(rules::list)
        .service(rules::summary)
        .service(compliance::coverage)
        .service(system::health);
}

/// `skip` and `limit` of every list.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    /// Rows to return (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl PageParams {
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let skip = self.skip.unwrap_or(0);
        let limit = self.limit.unwrap_or(50);
        if skip < 0 {
            return Err(ApiError::bad_request("skip must be ≥ 0"));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(Paging { skip, limit })
    }
}

/// Date-range filters (RFC 3339).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// Only items at or after this instant (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    pub from: Option<String>,
    /// Only items before this instant (RFC 3339).
    pub to: Option<String>,
}

/// A parsed `(from, to)` range; either end may be open.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

impl RangeParams {
    pub fn parse(&self) -> Result<Range, ApiError> {
        let p = |name: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>, ApiError> {
            v.as_deref()
                .map(|s| {
                    DateTime::parse_from_rfc3339(s)
                        .map(|d| d.with_timezone(&Utc))
                        .map_err(|e| {
                            ApiError::bad_request(format!(
                                "{name} must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z ({e})"
                            ))
                        })
                })
                .transpose()
        };
        let (from, to) = (p("from", &self.from)?, p("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ApiError::bad_request("from must not be after to"));
        }
        Ok((from, to))
    }
}

/// Parses an enum query value with a clear error.
pub fn parse_enum<T: std::str::FromStr>(
    name: &str,
    v: &Option<String>,
) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.as_deref()
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
        })
        .transpose()
}

/// Checks an outbound URL (webhook, probe target) against the outbound policy, resolving its
/// host on the blocking pool: a 422 with one sentence that does not say where the host points.
pub async fn check_outbound(state: &web::Data<AppState>, url: &str) -> Result<(), ApiError> {
    let outbound = state.runner.sources().outbound.clone();
    let url = url.to_owned();
    web::block(move || {
        outbound.check(&url).map(|_| ()).map_err(|e| {
            tracing::debug!(host = %audit_outbound::host_of(&url), reason = %e, "outbound url refused");
            ApiError::invalid(format!("url: {}", e.public_detail()))
        })
    })
    .await?
}

/// Runs `f` on a pooled connection on the blocking pool.
pub async fn read<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    Ok(web::block(move || store.read(f)).await??)
}

/// Runs `f` in one write transaction on the blocking pool.
pub async fn write<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    Ok(web::block(move || store.write(f)).await??)
}

/// The model if the caller may see it. Another tenant's model is "not found", exactly like a
/// missing one, so that existence does not leak.
pub fn visible_model(
    c: &mut AnyConnection,
    caller: &Caller,
    model_id: &str,
) -> Result<audit_store::Model, StoreError> {
    match audit_store::repo::models::get(c, model_id)? {
        Some(m) if caller.sees(&m.tenant_id) => Ok(m),
        _ => Err(StoreError::NotFound(format!(
            "model '{model_id}' not found"
        ))),
    }
}

/// The model if the caller may see it and change it: an archived model is read-only until it
/// is restored (409 naming the archive).
pub fn changeable_model(
    c: &mut AnyConnection,
    caller: &Caller,
    model_id: &str,
) -> Result<audit_store::Model, StoreError> {
    let m = visible_model(c, caller, model_id)?;
    if m.is_archived() {
        return Err(audit_store::repo::models::archived_conflict(&m));
    }
    Ok(m)
}

/// The audit if the caller may see its model.
pub fn visible_audit(
    c: &mut AnyConnection,
    caller: &Caller,
    audit_id: &str,
) -> Result<audit_store::AuditRun, StoreError> {
    let missing = || StoreError::NotFound(format!("audit '{audit_id}' not found"));
    let run = audit_store::repo::audits::get(c, audit_id)?.ok_or_else(missing)?;
    match audit_store::repo::tenants::tenant_of_model(c, &run.model_id)? {
        Some(t) if caller.sees(&t) => Ok(run),
        _ => Err(missing()),
    }
}

/// Serves a GET from the response cache when the database has not changed, else computes it.
/// The caller's tenant is part of the key: tenants never share a cached answer.
pub async fn cached<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
{
    let key = format!(
        "{}|{}?{}",
        caller.scope().unwrap_or_else(|| "*".into()),
        req.path(),
        req.query_string()
    );
    let generation = state.store.generation();
    if let Some(body) = state.cache.get(&key, generation) {
        return Ok(json_bytes(body));
    }
    let flight = state.cache.flight(&key);
    let _turn = match &flight {
        Some(f) => Some(f.lock().await),
        None => None,
    };
    // Whoever held the lock before us may have just filled the entry.
    let generation = state.store.generation();
    if let Some(body) = state.cache.get(&key, generation) {
        return Ok(json_bytes(body));
    }
    let value = read(state, f).await?;
    let body = bytes::Bytes::from(serde_json::to_vec(&value).map_err(|e| ApiError::internal(&e))?);
    state.cache.put(key, generation, body.clone());
    Ok(json_bytes(body))
}

fn json_bytes(body: bytes::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// A short confirmation body (the frontend parses every success as JSON, so no empty 204).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub deleted: bool,
    pub detail: String,
}
