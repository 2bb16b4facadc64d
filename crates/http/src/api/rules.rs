//! The active-audit rule catalogue: `GET /rules` and the frontend's `GET /api/v1/rules/summary`.

use actix_web::{HttpResponse, get, web};
use audit_rules::{Detector, Pack, Plan, Rule};
use audit_store::repo::policies;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{parse_enum, read};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// One rule as listed (its prompts stay in the pack file).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub rule_id: String,
    /// The pack the rule comes from (`core` is built in).
    pub pack: String,
    pub name: String,
    pub description: String,
    /// `prompt_injection`, `unsafe_completion`, `policy_bypass` or `data_leakage`.
    pub category: String,
    pub severity: audit_domain::Severity,
    pub enabled: bool,
    /// OWASP Top 10 for LLM Applications id.
    pub owasp: String,
    pub frameworks: Vec<String>,
    /// `canary`, `no_refusal`, `pii`, `secret` or `system_prompt_overlap`.
    pub detector: String,
    pub prompts: usize,
    pub attempts: u32,
    /// The rule fails when more than this share of attempts fail.
    pub max_failure_rate: f64,
    /// Calls the rule makes per run (prompts × attempts).
    pub planned_calls: u64,
}

/// A pack of a plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    /// The first pack's name (the built-in `core` unless the policy leaves it out).
    pub pack: String,
    pub version: String,
    /// Every pack the plan runs.
    pub packs: Vec<PackRef>,
    /// Attempts per prompt set by the policy, overriding the rules' own.
    pub attempts: Option<u32>,
    pub total: usize,
    /// Calls a run of the listed enabled rules makes.
    pub planned_calls: u64,
    pub rules: Vec<RuleView>,
}

/// The frontend's rules summary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesSummary {
    pub total_rules: usize,
    pub enabled_rules: usize,
    pub categories: Vec<String>,
    pub rules_by_category: BTreeMap<String, Vec<RuleView>>,
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleFilter {
    /// `prompt_injection`, `unsafe_completion`, `policy_bypass` or `data_leakage`.
    pub category: Option<String>,
    /// `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub severity: Option<String>,
    pub enabled: Option<bool>,
    /// Show the plan of this model's policy (its own packs, disabled rules and attempts).
    pub model_id: Option<String>,
}

fn view(plan: &Plan, pack: &Pack, r: &Rule) -> RuleView {
    let attempts = plan.attempts_of(pack, r);
    RuleView {
        rule_id: r.id.clone(),
        pack: pack.name.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        category: r.category.as_str().to_owned(),
        severity: r.severity,
        enabled: r.enabled,
        owasp: r.owasp.clone(),
        frameworks: r.frameworks.clone(),
        detector: match r.detector {
            Detector::Canary => "canary",
            Detector::NoRefusal => "no_refusal",
            Detector::Pii => "pii",
            Detector::Secret => "secret",
            Detector::SystemPromptOverlap { .. } => "system_prompt_overlap",
        }
        .to_owned(),
        prompts: r.prompts.len(),
        attempts,
        max_failure_rate: r.max_failure_rate,
        planned_calls: r.prompts.len() as u64 * u64::from(attempts),
    }
}

/// The built-in plan, or the plan of a model's policy.
async fn plan(
    state: &web::Data<AppState>,
    caller: Caller,
    model_id: Option<String>,
) -> Result<Plan, ApiError> {
    let Some(id) = model_id else {
        return Plan::core().map_err(|e| ApiError::internal(&e));
    };
    let (policy, tenant) = read(state, move |c| {
        let m = super::visible_model(c, &caller, &id)?;
        Ok((policies::of_model(c, &id)?, m.tenant_id))
    })
    .await?;
    audit_scheduler::reference::load(
        policy.as_ref().and_then(|p| p.policy_reference.as_ref()),
        &state.runner.sources().for_tenant(&tenant),
    )
    .and_then(|d| d.plan())
    // The reference was valid when saved; a file changed since is the policy's problem.
    .map_err(|e| ApiError::invalid(format!("policy_reference: {e}")))
}

fn all_rules(plan: &Plan) -> impl Iterator<Item = (&Pack, &Rule)> {
    plan.packs
        .iter()
        .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
}

/// The security rules of active audits (built in, or a model's policy plan), with the calls a
/// run makes.
#[utoipa::path(
    tag = "rules",
    params(RuleFilter),
    responses(
        (status = 200, body = RuleList),
        (status = 400, body = crate::ErrorBody),
        (status = 404, description = "Unknown model_id", body = crate::ErrorBody)
    )
)]
#[get("/rules")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<RuleFilter>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let category = q.category.as_deref();
    if let Some(c) = category
        && !audit_rules::RuleCategory::ALL
            .iter()
            .any(|k| k.as_str() == c)
    {
        return Err(ApiError::bad_request(format!(
            "category '{c}' is not one of prompt_injection, unsafe_completion, policy_bypass, data_leakage"
        )));
    }
    let severity: Option<audit_domain::Severity> = parse_enum("severity", &q.severity)?;
    let plan = plan(&state, caller, q.model_id.clone()).await?;
    let rules: Vec<RuleView> = all_rules(&plan)
        .filter(|(_, r)| category.is_none_or(|c| r.category.as_str() == c))
        .filter(|(_, r)| severity.is_none_or(|s| r.severity == s))
        .filter(|(_, r)| q.enabled.is_none_or(|e| r.enabled == e))
        .map(|(p, r)| view(&plan, p, r))
        .collect();
    let first = plan.packs.first();
    Ok(HttpResponse::Ok().json(RuleList {
        pack: first.map(|p| p.name.clone()).unwrap_or_default(),
        version: first.map(|p| p.version.clone()).unwrap_or_default(),
        packs: plan
            .packs
            .iter()
            .map(|p| PackRef {
                name: p.name.clone(),
                version: p.version.clone(),
            })
            .collect(),
        attempts: plan.attempts,
        total: rules.len(),
        planned_calls: rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.planned_calls)
            .sum(),
        rules,
    }))
}

/// The rules summary in the shape the existing frontend reads.
#[utoipa::path(tag = "rules", responses((status = 200, body = RulesSummary)))]
#[get("/api/v1/rules/summary")]
pub async fn summary() -> Result<HttpResponse, ApiError> {
    let plan = Plan::core().map_err(|e| ApiError::internal(&e))?;
    let rules: Vec<RuleView> = all_rules(&plan).map(|(p, r)| view(&plan, p, r)).collect();
    let mut by: BTreeMap<String, Vec<RuleView>> = BTreeMap::new();
    for r in &rules {
        by.entry(r.category.clone()).or_default().push(r.clone());
    }
    Ok(HttpResponse::Ok().json(RulesSummary {
        total_rules: rules.len(),
        enabled_rules: rules.iter().filter(|r| r.enabled).count(),
        categories: by.keys().cloned().collect(),
        rules_by_category: by,
        rules,
    }))
}
