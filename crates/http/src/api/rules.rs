//! The active-audit rule catalogue: `GET /rules` and the frontend's `GET /api/v1/rules/summary`.

use actix_web::{HttpResponse, get, web};
use audit_rules::{Detector, Pack, Rule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::parse_enum;
use crate::ApiError;

/// One rule as listed (its prompts stay in the pack file).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub rule_id: String,
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    pub pack: String,
    pub version: String,
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
}

fn view(pack: &Pack, r: &Rule) -> RuleView {
    let attempts = r.attempts.unwrap_or(pack.default_attempts).max(1);
    RuleView {
        rule_id: r.id.clone(),
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

fn pack() -> Result<&'static Pack, ApiError> {
    audit_rules::core().map_err(|e| ApiError::internal(&e))
}

/// The built-in security rules of active audits, with the calls a run makes.
#[utoipa::path(
    tag = "rules",
    params(RuleFilter),
    responses((status = 200, body = RuleList), (status = 400, body = crate::ErrorBody))
)]
#[get("/rules")]
pub async fn list(q: web::Query<RuleFilter>) -> Result<HttpResponse, ApiError> {
    let pack = pack()?;
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
    let rules: Vec<RuleView> = pack
        .rules
        .iter()
        .filter(|r| category.is_none_or(|c| r.category.as_str() == c))
        .filter(|r| severity.is_none_or(|s| r.severity == s))
        .filter(|r| q.enabled.is_none_or(|e| r.enabled == e))
        .map(|r| view(pack, r))
        .collect();
    Ok(HttpResponse::Ok().json(RuleList {
        pack: pack.name.clone(),
        version: pack.version.clone(),
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
    let pack = pack()?;
    let rules: Vec<RuleView> = pack.rules.iter().map(|r| view(pack, r)).collect();
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
