//! `/compliance/coverage`: obligations of each regulation covered by the enabled compliance
//! checks, and how the latest passive run of each model judged them (docs/compliance.md).

use actix_web::{HttpResponse, get, web};
use audit_compliance::{Coverage, ModelInput, RuleResult};
use audit_domain::AuditType;
use audit_store::repo::{audits, policies};
use audit_store::{AuditRun, Paging, Policy};
use serde::Deserialize;

use super::{read, visible_model};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageFilter {
    /// Only this model.
    pub model_id: Option<String>,
}

/// Coverage by regulation (EU AI Act, GDPR, DPDP, ISO/IEC 42001, NIST AI RMF and any framework
/// a policy's own rules cite): obligations covered, passing, failing, not evaluated, score,
/// exposure level and models at risk; overall and per model (archived models only with
/// `model_id`).
#[utoipa::path(
    tag = "compliance",
    params(CoverageFilter),
    responses((status = 200, body = Coverage), (status = 404, body = crate::ErrorBody))
)]
#[get("/compliance/coverage")]
pub async fn coverage(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<CoverageFilter>,
) -> Result<HttpResponse, ApiError> {
    let cov = coverage_of(&state, caller, filter.into_inner().model_id).await?;
    Ok(HttpResponse::Ok().json(cov))
}

/// Coverage for `caller`, of one model or of all (the API's and the console's).
pub async fn coverage_of(
    state: &web::Data<AppState>,
    caller: Caller,
    model: Option<String>,
) -> Result<Coverage, ApiError> {
    let scope = caller.scope();
    let tenant = caller.tenant_id.clone();
    let rows = read(state, move |c| {
        if let Some(m) = &model {
            visible_model(c, &caller, m)?;
        }
        let mut all: Vec<Policy> = Vec::new();
        loop {
            let page = policies::list(
                c,
                model.as_deref(),
                scope.as_deref(),
                Paging {
                    skip: all.len() as i64,
                    limit: 500,
                },
            )?;
            let done = page.items.is_empty() || all.len() + page.items.len() >= page.total as usize;
            all.extend(page.items);
            if done {
                break;
            }
        }
        let mut rows = Vec::with_capacity(all.len());
        for p in all {
            // Coverage is the exposure of the models in service: archived ones count only
            // when asked for by name.
            if model.is_none()
                && audit_store::repo::models::get(c, &p.model_id)?.is_some_and(|m| m.is_archived())
            {
                continue;
            }
            let latest = audits::recent_finished(c, &p.model_id, AuditType::Passive, 1)?;
            rows.push((p, latest.into_iter().next()));
        }
        Ok(rows)
    })
    .await?;
    let sources = state.runner.sources().for_tenant(&tenant);
    // Policy references may be files: read them off the async workers.
    web::block(move || compute(&sources, &rows)).await?
}

fn compute(
    sources: &audit_scheduler::SourcePolicy,
    rows: &[(Policy, Option<AuditRun>)],
) -> Result<Coverage, ApiError> {
    let builtin = audit_compliance::builtin().map_err(|e| ApiError::internal(&e))?;
    let mut regulations: Vec<String> = Vec::new();
    for p in builtin {
        if !regulations.contains(&p.regulation) {
            regulations.push(p.regulation.clone());
        }
    }
    let mut inputs = Vec::with_capacity(rows.len());
    for (policy, latest) in rows {
        let rules = if policy.audit_scope.compliance {
            match audit_scheduler::reference::load(policy.policy_reference.as_ref(), sources)
                .and_then(|d| d.compliance_rules())
            {
                Ok(set) => set.rules,
                Err(e) => {
                    // Its runs fail with this reason too; coverage shows no enabled check.
                    tracing::warn!(model_id = %policy.model_id, error = %e, "policy_reference unreadable");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let latest = latest
            .as_ref()
            .and_then(|r| r.evidence.as_ref())
            .and_then(|e| e.get("compliance"))
            .and_then(|c| c.get("rules"))
            .and_then(|r| serde_json::from_value::<Vec<RuleResult>>(r.clone()).ok())
            .map(|r| audit_compliance::statuses(&r));
        inputs.push(ModelInput {
            model_id: policy.model_id.clone(),
            rules,
            latest,
        });
    }
    Ok(audit_compliance::coverage(&regulations, &inputs))
}
