//! `/models`: registration (with evidence sources and an optional policy), list, detail,
//! update, sample upload (archive and restore: `archive.rs`).

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use audit_domain::{
    AuditFrequency, AuditResult, BaselineStrategy, ConnectionType, ExecutionStatus, FieldMapping,
    ModelType, Thresholds,
};
use audit_evidence::{Format, ReadOptions};
use audit_metrics::ProfileBuilder;
use audit_scheduler::SourcePolicy;
use audit_scheduler::sources::SampleSourceConfig;
use audit_store::repo::{audits, log, models, policies, samples, tenants, versions};
use audit_store::{
    AuditRun, AuditScope, EvidenceSource, Model, ModelChanges, NewEvidenceSource, NewModel,
    NewPolicy, Policy,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{PageParams, changeable_model, parse_enum, read, visible_model, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// One evidence source in a registration or update.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    #[serde(rename = "type")]
    pub source_type: ConnectionType,
    /// `logs`/`batch`/`container`: `{"path", "mapping"?, "format"?}`; `api`:
    /// `{"url", "headers"?, "timeout_secs"?}`; `sample`: `{"mapping"?}`
    /// (see docs/evidence-sources.md).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Evidence is only ever read; `false` is refused.
    #[serde(default = "yes")]
    pub read_only: bool,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

fn yes() -> bool {
    true
}

/// The policy fields (model implied).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub audit_frequency: AuditFrequency,
    #[serde(default = "previous_audit")]
    pub baseline_strategy: BaselineStrategy,
    #[serde(default)]
    pub audit_scope: Option<AuditScope>,
    /// A document adding to the policy's checks: a JSON object, or a string holding inline
    /// JSON or the path of a `.json`/`.toml` file under the evidence roots (docs/rules.md).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub policy_reference: Option<serde_json::Value>,
    #[serde(default)]
    pub active_audit_enabled: bool,
    /// Threshold overrides: any subset of the keys in docs/metrics.md.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub thresholds: Option<serde_json::Value>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn previous_audit() -> BaselineStrategy {
    BaselineStrategy::PreviousAudit
}

/// `POST /models/register`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterModel {
    /// Your identifier for the model: 1–128 characters of letters, digits, `.`, `_`, `-`, `:`.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    pub model_id: String,
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    #[schema(min_length = 1, max_length = 128)]
    pub version: String,
    pub model_type: ModelType,
    pub connection_type: ConnectionType,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub evidence_sources: Vec<SourceInput>,
    /// Creates the model's audit policy in the same call.
    #[serde(default)]
    pub policy: Option<PolicyInput>,
    /// The project the model belongs to (default: the caller's tenant's `default` project).
    #[serde(default)]
    pub project_id: Option<String>,
}

/// `PUT /models/{model_id}`: fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModel {
    #[schema(min_length = 1, max_length = 256)]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub version: Option<String>,
    pub model_type: Option<ModelType>,
    pub connection_type: Option<ConnectionType>,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// Replaces every evidence source when given.
    pub evidence_sources: Option<Vec<SourceInput>>,
}

/// A model as listed: the registry fields and its audit status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelView {
    #[serde(flatten)]
    pub model: Model,
    /// Seed 000's model-level name of `name`.
    pub model_name: String,
    /// Seed 000's model-level name of `version` (the version in use).
    pub model_version: String,
    /// Seed 000's `last_audit_status`: the `audit_result` of the latest finished audit (null
    /// when there is none, or when that audit could not judge: see `last_execution_status`).
    pub last_audit_status: Option<AuditResult>,
    /// The `execution_status` of the same audit (`SUCCESS`, `PARTIAL` or `FAILED`).
    pub last_execution_status: Option<ExecutionStatus>,
    pub last_audit_time: Option<chrono::DateTime<chrono::Utc>>,
    pub audit_frequency: Option<AuditFrequency>,
    /// What keeps the policy from doing what it says, e.g. active audits enabled without a
    /// probe target. Empty when nothing does.
    pub warnings: Vec<String>,
}

/// A model with its sources (secrets redacted), policy, baseline and latest audit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelDetail {
    #[serde(flatten)]
    pub view: ModelView,
    pub evidence_sources: Vec<EvidenceSource>,
    pub policy: Option<Policy>,
    /// The audit whose profile is the current baseline.
    pub baseline_audit_id: Option<String>,
    pub latest_audit: Option<AuditRun>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub models: Vec<ModelView>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModelFilterParams {
    /// `llm` or `ml`.
    pub model_type: Option<String>,
    /// `api`, `logs`, `batch`, `container` or `sample`.
    pub connection_type: Option<String>,
    pub project_id: Option<String>,
    /// Also list archived models (default false).
    pub include_archived: Option<bool>,
    /// Only models whose id, name or owner contains this text (any case).
    pub search: Option<String>,
}

pub(crate) fn check_text(name: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.trim().is_empty() {
        return Err(ApiError::invalid(format!("{name} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_model_id(id: &str) -> Result<(), ApiError> {
    check_text("model_id", id, 128)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
    {
        return Err(ApiError::invalid(
            "model_id may hold only letters, digits and . _ - :",
        ));
    }
    Ok(())
}

fn check_sources(
    policy: &SourcePolicy,
    sources: &[SourceInput],
) -> Result<Vec<NewEvidenceSource>, ApiError> {
    sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if !s.read_only {
                return Err(ApiError::invalid(format!(
                    "evidence_sources[{i}]: AI Auditor only reads evidence, so read_only must be true"
                )));
            }
            if !s.config.is_object() {
                return Err(ApiError::invalid(format!(
                    "evidence_sources[{i}]: config must be a JSON object"
                )));
            }
            policy
                .validate(s.source_type, &s.config)
                .map_err(|e| ApiError::invalid(format!("evidence_sources[{i}]: {e}")))?;
            Ok(NewEvidenceSource {
                source_type: s.source_type,
                config: s.config.clone(),
                read_only: true,
            })
        })
        .collect()
}

/// Validates threshold overrides as the runner will read them.
pub(crate) fn check_thresholds(v: &Option<serde_json::Value>) -> Result<(), ApiError> {
    if let Some(v) = v {
        let t: Thresholds = serde_json::from_value(v.clone())
            .map_err(|e| ApiError::invalid(format!("thresholds: {e}")))?;
        t.validate()
            .map_err(|e| ApiError::invalid(format!("thresholds: {e}")))?;
    }
    Ok(())
}

/// Validates a policy reference as the runner will read it (a 422 naming the line or field).
pub(crate) fn check_reference(
    sources: &SourcePolicy,
    v: Option<&serde_json::Value>,
) -> Result<(), ApiError> {
    audit_scheduler::reference::load(v, sources)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(format!("policy_reference: {e}")))
}

pub(crate) fn new_policy(
    sources: &SourcePolicy,
    model_id: &str,
    p: &PolicyInput,
) -> Result<NewPolicy, ApiError> {
    check_thresholds(&p.thresholds)?;
    check_reference(sources, p.policy_reference.as_ref())?;
    Ok(NewPolicy {
        model_id: model_id.to_owned(),
        audit_frequency: p.audit_frequency,
        baseline_strategy: p.baseline_strategy,
        // Asking for active audits without a scope means wanting their security checks.
        audit_scope: p.audit_scope.unwrap_or(AuditScope {
            active_security: p.active_audit_enabled,
            ..AuditScope::default()
        }),
        policy_reference: p.policy_reference.clone(),
        active_audit_enabled: p.active_audit_enabled,
        thresholds: p.thresholds.clone(),
        enabled: p.enabled,
    })
}

/// A model with its latest audit and policy, as lists show it.
pub fn view_of(
    c: &mut audit_store::AnyConnection,
    model: Model,
) -> Result<ModelView, audit_store::StoreError> {
    let last = audits::latest_finished(c, &model.model_id)?;
    let policy = policies::of_model(c, &model.model_id)?;
    let warnings = match &policy {
        Some(p) => policy_warnings(c, p)?,
        None => Vec::new(),
    };
    Ok(ModelView {
        model_name: model.name.clone(),
        model_version: model.version.clone(),
        warnings,
        last_audit_status: last.as_ref().and_then(|r| r.audit_result),
        last_execution_status: last.as_ref().and_then(|r| r.execution_status),
        last_audit_time: last.and_then(|r| r.executed_at),
        audit_frequency: policy.map(|p| p.audit_frequency),
        model,
    })
}

/// The policy's warnings (see `ModelView::warnings`).
fn policy_warnings(
    c: &mut audit_store::AnyConnection,
    p: &Policy,
) -> Result<Vec<String>, audit_store::StoreError> {
    let untargeted = p.active_audit_enabled
        && p.audit_scope.active_security
        && audit_store::repo::targets::get(c, &p.model_id)?.is_none();
    Ok(if untargeted {
        vec![audit_scheduler::NO_TARGET_WARNING.to_owned()]
    } else {
        Vec::new()
    })
}

/// After a change of a model's policy or target (inside its transaction): when the policy
/// enables active audits that cannot run, a `policy.warning` event says so at once.
pub(crate) fn warn_of_policy(
    c: &mut audit_store::AnyConnection,
    model_id: &str,
) -> Result<(), audit_store::StoreError> {
    let Some(p) = policies::of_model(c, model_id)? else {
        return Ok(());
    };
    for w in policy_warnings(c, &p)? {
        audit_store::repo::events::emit(
            c,
            model_id,
            "policy.warning",
            serde_json::json!({"warning": w}),
        )?;
    }
    Ok(())
}

pub fn detail_of(
    c: &mut audit_store::AnyConnection,
    model_id: &str,
) -> Result<ModelDetail, audit_store::StoreError> {
    let model = models::get(c, model_id)?.ok_or_else(|| {
        audit_store::StoreError::NotFound(format!("model '{model_id}' not found"))
    })?;
    let policy = policies::of_model(c, model_id)?;
    let strategy = policy
        .as_ref()
        .map_or(BaselineStrategy::PreviousAudit, |p| p.baseline_strategy);
    let baseline_audit_id = audits::baseline(c, model_id, strategy, &model.version)?.map(|b| b.0);
    let latest_audit = audits::latest_finished(c, model_id)?;
    let evidence_sources = models::sources_of(c, model_id)?
        .iter()
        .map(EvidenceSource::redacted)
        .collect();
    Ok(ModelDetail {
        view: view_of(c, model)?,
        evidence_sources,
        policy,
        baseline_audit_id,
        latest_audit,
    })
}

/// What a registration inserts: the model, its sources and its policy.
pub type Registration = (NewModel, Vec<NewEvidenceSource>, Option<NewPolicy>);

/// Validates a registration as `POST /models/register` does (the demo loader shares it).
pub fn prepare(sources: &SourcePolicy, r: RegisterModel) -> Result<Registration, ApiError> {
    check_model_id(&r.model_id)?;
    check_text("name", &r.name, 256)?;
    check_text("version", &r.version, 128)?;
    let checked = check_sources(sources, &r.evidence_sources)?;
    let policy = r
        .policy
        .as_ref()
        .map(|p| new_policy(sources, &r.model_id, p))
        .transpose()?;
    let new = NewModel {
        model_id: r.model_id,
        name: r.name,
        version: r.version,
        model_type: r.model_type,
        connection_type: r.connection_type,
        description: r.description,
        owner: r.owner,
        // The system tenant's default project unless the caller's registration says otherwise.
        tenant_id: tenants::SYSTEM_TENANT.into(),
        project_id: r.project_id.unwrap_or_else(|| "default".into()),
    };
    Ok((new, checked, policy))
}

/// The project a new model goes to: the named one if the caller may see it, else the caller's
/// tenant's default project.
pub(crate) fn project_for(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    project_id: Option<&str>,
) -> Result<tenants::Project, audit_store::StoreError> {
    match project_id {
        Some(id) => match tenants::get_project(c, id)? {
            Some(p) if caller.sees(&p.tenant_id) => Ok(p),
            _ => Err(audit_store::StoreError::NotFound(format!(
                "project '{id}' not found"
            ))),
        },
        None => tenants::default_project(c, &caller.tenant_id),
    }
}

/// Records a model change in the compliance log (sources' secrets left out of the digest).
pub(crate) fn log_model(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    action: &str,
    model_id: &str,
    change: serde_json::Value,
) -> Result<(), audit_store::StoreError> {
    log::record_for_model(
        c,
        model_id,
        &caller.actor,
        action,
        "model",
        model_id,
        change,
    )?;
    Ok(())
}

/// A model's state as the log compares it before and after a change: its fields flat (so the
/// log says "owner: X → Y"), its sources and policy whole. The log replaces secrets in them
/// with fingerprints.
/// A model as the log compares it. Its sources carry their full configs: the log's scrubber
/// turns header values, secret keys and URL credentials into fingerprints, so a changed secret
/// shows as a changed fingerprint (the masked view would show `***` both times).
fn model_change(
    c: &mut audit_store::AnyConnection,
    sealer: &audit_store::Sealer,
    d: &ModelDetail,
) -> Result<serde_json::Value, audit_store::StoreError> {
    let mut v = serde_json::to_value(&d.view.model).unwrap_or_default();
    let sources = models::sources_of(c, &d.view.model.model_id)?
        .into_iter()
        .map(|s| {
            let config = s.open_config(sealer)?;
            Ok(serde_json::json!({"type": s.source_type, "config": config,
                "read_only": s.read_only}))
        })
        .collect::<Result<Vec<_>, audit_store::StoreError>>()?;
    if let Some(o) = v.as_object_mut() {
        o.insert("evidence_sources".into(), serde_json::json!(sources));
        o.insert("policy".into(), serde_json::json!(d.policy));
    }
    Ok(v)
}

/// A registration that takes an archived model's id: says so, with the way back, when the
/// caller may see that model; otherwise the insert's plain "already registered" answers, which
/// tells nothing about another tenant's model.
fn refuse_archived_id(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    model_id: &str,
) -> Result<(), audit_store::StoreError> {
    match models::get(c, model_id)? {
        Some(m) if m.is_archived() && caller.sees(&m.tenant_id) => {
            Err(audit_store::StoreError::Conflict(format!(
                "model_id '{model_id}' belongs to an archived model: restore it with POST /models/{model_id}/restore, or register under another id"
            )))
        }
        _ => Ok(()),
    }
}

/// Register a model with its evidence sources and, optionally, its audit policy.
#[utoipa::path(
    tag = "models",
    request_body = RegisterModel,
    responses(
        (status = 201, description = "Registered", body = ModelDetail),
        (status = 409, description = "model_id already registered (an archived model's included)", body = crate::ErrorBody),
        (status = 422, description = "Invalid fields, source outside the evidence roots", body = crate::ErrorBody)
    )
)]
#[post("/models/register")]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RegisterModel>,
) -> Result<HttpResponse, ApiError> {
    let detail = register_model(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(detail))
}

/// Registers a model as `POST /models/register` does (the console's form calls it too).
pub async fn register_model(
    state: &web::Data<AppState>,
    caller: Caller,
    body: RegisterModel,
) -> Result<ModelDetail, ApiError> {
    let project_id = body.project_id.clone();
    // Off the async workers: checking an `api` source resolves its host.
    let policy = state.runner.sources().for_tenant(&caller.tenant_id);
    let (mut new, sources, policy) = web::block(move || prepare(&policy, body)).await??;
    let model_id = new.model_id.clone();
    let sealer = state.store.sealer()?;
    let detail = write(state, move |c| {
        let project = project_for(c, &caller, project_id.as_deref())?;
        new.tenant_id = project.tenant_id;
        new.project_id = project.project_id;
        refuse_archived_id(c, &caller, &model_id)?;
        models::insert(c, &sealer, &new, &sources)?;
        versions::record_in_use(c, &model_id, &new.version, &caller.actor)?;
        if let Some(p) = &policy {
            policies::insert(c, p)?;
            warn_of_policy(c, &model_id)?;
        }
        let d = detail_of(c, &model_id)?;
        let change = model_change(c, &sealer, &d)?;
        log_model(c, &caller, "model.create", &model_id, change)?;
        Ok(d)
    })
    .await?;
    tracing::info!(model_id = %detail.view.model.model_id, "model registered");
    Ok(detail)
}

/// List registered models with their last audit status (archived models only with
/// `include_archived=true`).
#[utoipa::path(
    tag = "models",
    params(PageParams, ModelFilterParams),
    responses((status = 200, body = ModelList), (status = 400, body = crate::ErrorBody))
)]
#[get("/models")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
    filter: web::Query<ModelFilterParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let f = models::ModelFilter {
        tenant_id: caller.scope(),
        project_id: filter.project_id.clone(),
        model_type: parse_enum("model_type", &filter.model_type)?,
        connection_type: parse_enum("connection_type", &filter.connection_type)?,
        include_archived: filter.include_archived.unwrap_or(false),
        search: filter.search.clone().filter(|s| !s.trim().is_empty()),
    };
    let list = read(&state, move |c| {
        let page = models::list(c, &f, paging)?;
        let models = page
            .items
            .into_iter()
            .map(|m| view_of(c, m))
            .collect::<Result<_, _>>()?;
        Ok(ModelList {
            total: page.total,
            skip: paging.skip,
            limit: paging.limit,
            models,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One model with its evidence sources (secrets redacted), policy, baseline and latest audit.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    responses((status = 200, body = ModelDetail), (status = 404, body = crate::ErrorBody))
)]
#[get("/models/{model_id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let d = read(&state, move |c| {
        visible_model(c, &caller, &id)?;
        detail_of(c, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Update a model's fields and, when given, replace its evidence sources.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    request_body = UpdateModel,
    responses(
        (status = 200, body = ModelDetail),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[put("/models/{model_id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<UpdateModel>,
) -> Result<HttpResponse, ApiError> {
    let d = update_model(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Changes a model as `PUT /models/{model_id}` does (the console's edit form calls it too).
pub async fn update_model(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    u: UpdateModel,
) -> Result<ModelDetail, ApiError> {
    if let Some(n) = &u.name {
        check_text("name", n, 256)?;
    }
    if let Some(v) = &u.version {
        check_text("version", v, 128)?;
    }
    let policy = state.runner.sources().for_tenant(&caller.tenant_id);
    let given = u.evidence_sources.clone();
    let sources = web::block(move || {
        given
            .as_deref()
            .map(|s| check_sources(&policy, s))
            .transpose()
    })
    .await??;
    let changes = ModelChanges {
        name: u.name,
        version: u.version,
        model_type: u.model_type,
        connection_type: u.connection_type,
        description: u.description.map(Some),
        owner: u.owner.map(Some),
    };
    let sealer = state.store.sealer()?;
    write(state, move |c| {
        changeable_model(c, &caller, &id)?;
        let old = detail_of(c, &id)?;
        let before = model_change(c, &sealer, &old)?;
        models::update(c, &id, &changes)?;
        if let Some(v) = &changes.version {
            versions::record_in_use(c, &id, v, &caller.actor)?;
        }
        if let Some(s) = &sources {
            models::replace_sources(c, &sealer, &id, s)?;
        }
        let d = detail_of(c, &id)?;
        let change = log::diff(&before, &model_change(c, &sealer, &d)?);
        log_model(c, &caller, "model.update", &id, change)?;
        Ok(d)
    })
    .await
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SampleParams {
    /// `jsonl`, `csv` or `tsv`; otherwise taken from the Content-Type.
    pub format: Option<String>,
}

/// What an upload was reduced to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SampleReceipt {
    pub sample_id: i64,
    pub model_id: String,
    pub rows_read: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    pub invalid_rows: BTreeMap<String, u64>,
    pub detail: String,
}

fn sample_format(req: &HttpRequest, p: &SampleParams) -> Result<Format, ApiError> {
    let by_type = || {
        let ct = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?
            .split(';')
            .next()?
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/x-ndjson"
            | "application/jsonl"
            | "application/json"
            | "application/x-jsonlines" => Some(Format::Jsonl),
            "text/csv" => Some(Format::Csv { delimiter: b',' }),
            "text/tab-separated-values" => Some(Format::Csv { delimiter: b'\t' }),
            _ => None,
        }
    };
    let f = match &p.format {
        Some(name) => Format::parse(name)
            .ok_or_else(|| ApiError::bad_request(format!("unknown format '{name}'")))?,
        None => by_type().ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "say the sample's format with ?format=jsonl|csv|tsv or its Content-Type",
            )
        })?,
    };
    if f == Format::Parquet {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "upload samples as JSON Lines, CSV or TSV; Parquet evidence is read from file sources",
        ));
    }
    Ok(f)
}

/// Upload a sample of predictions: reduced to a profile at once (the upload is not kept) and
/// consumed by the model's next audit through its `sample` evidence source.
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier"), SampleParams),
    request_body(
        description = "JSON Lines (application/x-ndjson, application/jsonl, or one JSON object as application/json), CSV (text/csv) or TSV (text/tab-separated-values) rows; or any type with ?format=",
        content(
            (String = "application/x-ndjson"),
            (Object = "application/json"),
            (String = "text/csv"),
            (String = "text/tab-separated-values")
        )
    ),
    responses(
        (status = 201, body = SampleReceipt),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody),
        (status = 413, body = crate::ErrorBody),
        (status = 415, body = crate::ErrorBody),
        (status = 422, description = "No valid row, or the model has no sample source", body = crate::ErrorBody)
    )
)]
#[post("/models/{model_id}/samples")]
pub async fn upload_sample(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    params: web::Query<SampleParams>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let model_id = path.into_inner();
    let format = sample_format(&req, &params)?;
    let limit = state.config.max_sample_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(crate::error::payload_error)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("sample is larger than the {limit} bytes allowed"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let receipt = take_sample(&state, caller, model_id, format, body.freeze()).await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// The field mapping a model's `sample` source reads uploads with, if the caller may add to
/// the model (visible, not archived) and the model has such a source.
pub async fn sample_mapping(
    state: &web::Data<AppState>,
    caller: &Caller,
    model_id: &str,
) -> Result<FieldMapping, ApiError> {
    let id = model_id.to_owned();
    let who = caller.clone();
    let sources = read(state, move |c| {
        changeable_model(c, &who, &id)?;
        models::sources_of(c, &id)
    })
    .await?;
    let Some(source) = sources
        .iter()
        .find(|s| s.source_type == ConnectionType::Sample)
    else {
        return Err(ApiError::invalid(format!(
            "model '{model_id}' has no sample evidence source, so no audit would read this upload; add one with PUT /models/{model_id}"
        )));
    };
    let cfg: SampleSourceConfig = serde_json::from_value(source.config.clone())
        .map_err(|e| ApiError::invalid(format!("sample source config: {e}")))?;
    Ok(cfg.mapping.unwrap_or_else(FieldMapping::conventional))
}

/// Reduces an uploaded sample to a profile and keeps the profile for the model's next audit
/// (`POST /models/{model_id}/samples`; the console's upload form calls it too).
pub async fn take_sample(
    state: &web::Data<AppState>,
    caller: Caller,
    model_id: String,
    format: Format,
    body: web::Bytes,
) -> Result<SampleReceipt, ApiError> {
    let limit = state.config.max_sample_bytes;
    if body.len() > limit {
        return Err(ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!("sample is larger than the {limit} bytes allowed"),
        ));
    }
    let mapping = sample_mapping(state, &caller, &model_id).await?;
    // Parsing is CPU work: keep it off the async workers. Only the profile survives it.
    let profile = web::block(move || {
        let mut builder = ProfileBuilder::new(&mapping);
        let opts = ReadOptions {
            threads: 1,
            ..ReadOptions::default()
        };
        audit_evidence::read_bytes(&body, format, &mapping, &opts, &mut builder).map(|report| {
            let mut profile = builder.finish();
            profile.pool_free_text();
            (report, profile)
        })
    })
    .await?
    .map_err(|e| ApiError::invalid(format!("sample: {e}")))?;
    let (report, profile) = profile;
    if let Some(e) = report.error {
        return Err(ApiError::invalid(format!("sample: {e}")));
    }
    let invalid_rows: BTreeMap<String, u64> = profile
        .invalid
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), *v))
        .collect();
    if profile.n == 0 {
        return Err(ApiError::invalid(format!(
            "sample has no valid row ({} rows read; invalid by reason: {invalid_rows:?})",
            profile.rows_read()
        )));
    }
    let json = serde_json::to_string(&profile).map_err(|e| ApiError::internal(&e))?;
    let rows_read = profile.rows_read();
    let id = model_id.clone();
    let digest_src = serde_json::json!({"rows_read": rows_read, "profile_bytes": json.len()});
    let sample_id = write(state, move |c| {
        // Archived while the upload was being read: no audit would consume it.
        changeable_model(c, &caller, &id)?;
        let sample_id = samples::add(c, &id, &json, rows_read as i64, audit_store::now())?;
        log::record_for_model(
            c,
            &id,
            &caller.actor,
            "sample.upload",
            "sample",
            &sample_id.to_string(),
            digest_src,
        )?;
        Ok(sample_id)
    })
    .await?;
    Ok(SampleReceipt {
        sample_id,
        model_id,
        rows_read,
        rows_valid: profile.n,
        rows_invalid: profile.invalid_rows(),
        invalid_rows,
        detail: "reduced to a profile; the upload itself was not kept".into(),
    })
}
