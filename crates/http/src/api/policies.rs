//! `/audit-policies`: when and against which baseline a model is audited.

use actix_web::{HttpResponse, delete, get, post, put, web};
use audit_domain::{AuditFrequency, BaselineStrategy};
use audit_store::repo::policies;
use audit_store::{AuditScope, Policy, PolicyChanges};
use serde::{Deserialize, Serialize};

use super::models::{PolicyInput, check_model_id, check_reference, check_thresholds, new_policy};
use super::{Deleted, PageParams, changeable_model, read, visible_model, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The policy if the caller may see its model.
fn visible_policy(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    id: i64,
) -> Result<Policy, audit_store::StoreError> {
    let missing = || audit_store::StoreError::NotFound(format!("audit policy {id} not found"));
    let p = policies::get(c, id)?.ok_or_else(missing)?;
    visible_model(c, caller, &p.model_id).map_err(|_| missing())?;
    Ok(p)
}

/// The policy if the caller may see it and its model is not archived (changes wait for a
/// restore).
fn changeable_policy(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    id: i64,
) -> Result<Policy, audit_store::StoreError> {
    let p = visible_policy(c, caller, id)?;
    changeable_model(c, caller, &p.model_id)?;
    Ok(p)
}

/// Logs a policy change: `before` and `after` (either absent for a creation or a deletion),
/// the changed fields only.
fn log_policy(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    action: &str,
    before: Option<&Policy>,
    after: &Policy,
    deleted: bool,
) -> Result<(), audit_store::StoreError> {
    let json = |p: Option<&Policy>| p.map_or(serde_json::Value::Null, |p| serde_json::json!(p));
    let now = if deleted {
        serde_json::Value::Null
    } else {
        json(Some(after))
    };
    let was = if deleted {
        json(Some(after))
    } else {
        json(before)
    };
    audit_store::repo::log::record_for_model(
        c,
        &after.model_id,
        &caller.actor,
        action,
        "policy",
        &after.id.to_string(),
        audit_store::repo::log::diff(&was, &now),
    )?;
    Ok(())
}

/// `POST /audit-policies`: the model and the policy fields of `PolicyInput`, in one object
/// (no unknown fields).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    pub model_id: String,
    pub audit_frequency: AuditFrequency,
    #[serde(default)]
    pub baseline_strategy: Option<BaselineStrategy>,
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
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl CreatePolicy {
    fn policy(&self) -> PolicyInput {
        PolicyInput {
            audit_frequency: self.audit_frequency,
            baseline_strategy: self
                .baseline_strategy
                .unwrap_or(BaselineStrategy::PreviousAudit),
            audit_scope: self.audit_scope,
            policy_reference: self.policy_reference.clone(),
            active_audit_enabled: self.active_audit_enabled,
            thresholds: self.thresholds.clone(),
            enabled: self.enabled.unwrap_or(true),
        }
    }
}

/// `PUT /audit-policies/{id}`: absent fields keep their value; `null` clears
/// `policy_reference` and `thresholds`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    pub audit_frequency: Option<AuditFrequency>,
    pub baseline_strategy: Option<BaselineStrategy>,
    pub audit_scope: Option<AuditScope>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub policy_reference: Option<Option<serde_json::Value>>,
    pub active_audit_enabled: Option<bool>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub thresholds: Option<Option<serde_json::Value>>,
    pub enabled: Option<bool>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<serde_json::Value>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyFilter {
    pub model_id: Option<String>,
}

/// Create a model's audit policy. It is due at once: its first run creates the baseline.
#[utoipa::path(
    tag = "policies",
    request_body = CreatePolicy,
    responses(
        (status = 201, body = Policy),
        (status = 404, description = "Unknown model", body = crate::ErrorBody),
        (status = 409, description = "The model already has a policy, or is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[post("/audit-policies")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreatePolicy>,
) -> Result<HttpResponse, ApiError> {
    let created = create_policy(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Creates a policy as `POST /audit-policies` does (the console's model form calls it too).
pub async fn create_policy(
    state: &web::Data<AppState>,
    caller: Caller,
    b: CreatePolicy,
) -> Result<Policy, ApiError> {
    check_model_id(&b.model_id)?;
    let p = new_policy(
        &state.runner.sources().for_tenant(&caller.tenant_id),
        &b.model_id,
        &b.policy(),
    )?;
    write(state, move |c| {
        changeable_model(c, &caller, &p.model_id)?;
        let created = policies::insert(c, &p)?;
        log_policy(c, &caller, "policy.create", None, &created, false)?;
        super::models::warn_of_policy(c, &created.model_id)?;
        Ok(created)
    })
    .await
}

/// List audit policies.
#[utoipa::path(
    tag = "policies",
    params(PageParams, PolicyFilter),
    responses((status = 200, body = PolicyList), (status = 400, body = crate::ErrorBody))
)]
#[get("/audit-policies")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
    filter: web::Query<PolicyFilter>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let model = filter.into_inner().model_id;
    let scope = caller.scope();
    let page = read(&state, move |c| {
        policies::list(c, model.as_deref(), scope.as_deref(), paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(PolicyList {
        total: page.total,
        skip: paging.skip,
        limit: paging.limit,
        policies: page.items,
    }))
}

/// One audit policy.
#[utoipa::path(
    tag = "policies",
    params(("id" = i64, Path, description = "Policy id")),
    responses((status = 200, body = Policy), (status = 404, body = crate::ErrorBody))
)]
#[get("/audit-policies/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let p = read(&state, move |c| visible_policy(c, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Change an audit policy. Disabling takes it off the schedule; enabling makes it due at once.
#[utoipa::path(
    tag = "policies",
    params(("id" = i64, Path, description = "Policy id")),
    request_body = UpdatePolicy,
    responses(
        (status = 200, body = Policy),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[put("/audit-policies/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: web::Json<UpdatePolicy>,
) -> Result<HttpResponse, ApiError> {
    let p = update_policy(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Changes a policy as `PUT /audit-policies/{id}` does (the console's model form calls it too).
pub async fn update_policy(
    state: &web::Data<AppState>,
    caller: Caller,
    id: i64,
    u: UpdatePolicy,
) -> Result<Policy, ApiError> {
    if let Some(t) = &u.thresholds {
        check_thresholds(t)?;
    }
    if let Some(r) = &u.policy_reference {
        check_reference(
            &state.runner.sources().for_tenant(&caller.tenant_id),
            r.as_ref(),
        )?;
    }
    let enables_active = u.active_audit_enabled == Some(true) && u.audit_scope.is_none();
    let mut changes = PolicyChanges {
        audit_frequency: u.audit_frequency,
        baseline_strategy: u.baseline_strategy,
        audit_scope: u.audit_scope,
        policy_reference: u.policy_reference,
        active_audit_enabled: u.active_audit_enabled,
        thresholds: u.thresholds,
        enabled: u.enabled,
    };
    write(state, move |c| {
        let cur = changeable_policy(c, &caller, id)?;
        // Enabling active audits without a new scope brings their security checks into scope,
        // as on creation; otherwise the scheduler would never probe.
        if enables_active {
            changes.audit_scope = Some(AuditScope {
                active_security: true,
                ..cur.audit_scope
            });
        }
        let p = policies::update(c, id, &changes)?;
        log_policy(c, &caller, "policy.update", Some(&cur), &p, false)?;
        super::models::warn_of_policy(c, &p.model_id)?;
        Ok(p)
    })
    .await
}

/// Delete an audit policy (the model and its audits stay).
#[utoipa::path(
    tag = "policies",
    params(("id" = i64, Path, description = "Policy id")),
    responses(
        (status = 200, body = Deleted),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody)
    )
)]
#[delete("/audit-policies/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    write(&state, move |c| {
        let p = changeable_policy(c, &caller, id)?;
        log_policy(c, &caller, "policy.delete", None, &p, true)?;
        policies::delete(c, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Deleted {
        deleted: true,
        detail: format!("audit policy {id} was deleted"),
    }))
}
