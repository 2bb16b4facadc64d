//! The existing frontend's audit routes (`/api/v1/audits`, `/api/v1/audit/{id}`,
//! `POST /api/v1/audit`) with its field names (frontend-contract.md). The frontend's
//! `TestResult` carries a prompt and a response; this service never keeps either, so those
//! fields are empty strings and each "test" is a security rule's outcome.

use actix_web::{HttpResponse, get, post, web};
use audit_domain::{AuditType, ExecutionStatus, Severity};
use audit_store::repo::{audits, findings, models};
use audit_store::{AuditFilter, AuditRun, RunState, StoreError};
use serde::{Deserialize, Serialize};

use super::{PageParams, read, visible_audit};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrontendAuditItem {
    pub audit_id: String,
    pub model_name: String,
    /// `in_progress`, `completed` or `failed`.
    pub status: String,
    pub timestamp: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrontendAuditList {
    pub total: i64,
    pub audits: Vec<FrontendAuditItem>,
}

fn status_of(r: &AuditRun) -> &'static str {
    match (r.run_state, r.execution_status) {
        (RunState::Running, _) => "in_progress",
        (_, Some(ExecutionStatus::Failed)) => "failed",
        _ => "completed",
    }
}

fn timestamp_of(r: &AuditRun) -> String {
    r.executed_at.unwrap_or(r.scheduled_at).to_rfc3339()
}

/// Audits, newest first, in the frontend's list shape.
#[utoipa::path(
    tag = "frontend",
    params(PageParams),
    responses((status = 200, body = FrontendAuditList), (status = 400, body = crate::ErrorBody))
)]
#[get("/api/v1/audits")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let f = AuditFilter {
        tenant_id: caller.scope(),
        include_running: true,
        ..AuditFilter::default()
    };
    let out = read(&state, move |c| {
        let page = audits::list(c, &f, paging)?;
        let mut items = Vec::with_capacity(page.items.len());
        for (run, _) in page.items {
            let name =
                models::get(c, &run.model_id)?.map_or_else(|| run.model_id.clone(), |m| m.name);
            items.push(FrontendAuditItem {
                status: status_of(&run).into(),
                timestamp: timestamp_of(&run),
                audit_id: run.audit_id,
                model_name: name,
            });
        }
        Ok(FrontendAuditList {
            total: page.total,
            audits: items,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SafetyAnalysis {
    pub is_safe: bool,
    pub is_toxic: bool,
    pub response_length: u64,
    pub contains_refusal: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Violation {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleEvaluation {
    pub total_rules: u64,
    pub passed: u64,
    pub failed: u64,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub test_id: u64,
    /// Never stored: always empty.
    pub prompt: String,
    /// Never stored: always empty.
    pub response: String,
    /// Share of the rule's answered attempts that passed, 0–100.
    pub safety_score: f64,
    pub analysis: SafetyAnalysis,
    /// `passed`, `failed` or `error` (no answer).
    pub status: String,
    pub rule_compliance: RuleEvaluation,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrontendSummary {
    pub total_prompts: u64,
    pub toxic_responses: u64,
    pub safety_score: f64,
    pub passed: u64,
    pub failed: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeverityClassification {
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFO`.
    pub level: String,
    pub score: f64,
    pub recommendation: String,
}

/// The frontend's `AuditResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrontendAudit {
    pub audit_id: String,
    pub model_name: String,
    pub provider: String,
    pub timestamp: String,
    /// `in_progress`, `completed` or `failed`.
    pub status: String,
    pub test_results: Vec<TestResult>,
    pub summary: Option<FrontendSummary>,
    pub severity: Option<SeverityClassification>,
    pub error: Option<String>,
}

fn build(c: &mut audit_store::AnyConnection, run: AuditRun) -> Result<FrontendAudit, StoreError> {
    let model = models::get(c, &run.model_id)?;
    let summary = audits::summary(c, &run.audit_id)?;
    let found = findings::of_audit(c, &run.audit_id)?;
    let provider = match run.audit_type {
        AuditType::Active => audit_store::repo::targets::get(c, &run.model_id)?
            .map_or_else(|| "unknown".to_owned(), |t| t.api_style),
        AuditType::Passive => "evidence".to_owned(),
    };
    let mut tests = Vec::new();
    let rules = run
        .evidence
        .as_ref()
        .and_then(|e| e.get("rules"))
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        let attempts = r["attempts"].as_u64().unwrap_or(0);
        let failures = r["failures"].as_u64().unwrap_or(0);
        let errors = r["errors"].as_u64().unwrap_or(0);
        let answered = attempts.saturating_sub(errors);
        let passed = r["passed"].as_bool();
        let rule_id = r["rule_id"].as_str().unwrap_or_default().to_owned();
        let detector_refusal =
            r["category"] == "unsafe_completion" || r["category"] == "policy_bypass";
        tests.push(TestResult {
            test_id: i as u64 + 1,
            prompt: String::new(),
            response: String::new(),
            safety_score: if answered == 0 {
                0.0
            } else {
                100.0 * (answered - failures.min(answered)) as f64 / answered as f64
            },
            analysis: SafetyAnalysis {
                is_safe: passed == Some(true),
                is_toxic: passed == Some(false) && detector_refusal,
                response_length: 0,
                contains_refusal: detector_refusal && passed == Some(true),
            },
            status: match passed {
                Some(true) => "passed",
                Some(false) => "failed",
                None => "error",
            }
            .into(),
            rule_compliance: RuleEvaluation {
                total_rules: 1,
                passed: u64::from(passed == Some(true)),
                failed: u64::from(passed == Some(false)),
                violations: if passed == Some(false) {
                    vec![Violation {
                        rule_id: rule_id.clone(),
                        rule_name: rule_id,
                        severity: r["severity"].as_str().unwrap_or_default().to_owned(),
                        message: r["summary"].as_str().unwrap_or_default().to_owned(),
                    }]
                } else {
                    Vec::new()
                },
            },
        });
    }
    let worst = found.iter().map(|f| f.finding.severity).max();
    let risk = summary.as_ref().map_or(0.0, |s| s.risk_score);
    let fsum = summary.as_ref().map(|_| FrontendSummary {
        total_prompts: rules
            .iter()
            .map(|r| r["attempts"].as_u64().unwrap_or(0))
            .sum(),
        toxic_responses: rules
            .iter()
            .map(|r| r["failures"].as_u64().unwrap_or(0))
            .sum(),
        safety_score: (100.0 - risk).clamp(0.0, 100.0),
        passed: tests.iter().filter(|t| t.status == "passed").count() as u64,
        failed: tests.iter().filter(|t| t.status == "failed").count() as u64,
    });
    let severity = (run.run_state == RunState::Finished).then(|| SeverityClassification {
        level: worst.map_or("INFO", Severity::as_str).to_owned(),
        score: risk,
        recommendation: match worst {
            Some(Severity::Critical | Severity::High) => {
                "Fix the failed checks before relying on this model; see the findings.".into()
            }
            Some(_) => "Review the findings at the next opportunity.".into(),
            None => "No action needed.".into(),
        },
    });
    Ok(FrontendAudit {
        status: status_of(&run).into(),
        timestamp: timestamp_of(&run),
        model_name: model.map_or_else(|| run.model_id.clone(), |m| m.name),
        provider,
        test_results: tests,
        summary: fsum,
        severity,
        error: (run.execution_status == Some(ExecutionStatus::Failed))
            .then(|| run.execution_reason.clone())
            .flatten(),
        audit_id: run.audit_id,
    })
}

/// One audit in the frontend's `AuditResponse` shape.
#[utoipa::path(
    tag = "frontend",
    params(("audit_id" = String, Path)),
    responses((status = 200, body = FrontendAudit), (status = 404, body = crate::ErrorBody))
)]
#[get("/api/v1/audit/{audit_id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let a = read(&state, move |c| {
        let run = visible_audit(c, &caller, &id)?;
        build(c, run)
    })
    .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The frontend's `AuditRequest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontendAuditRequest {
    /// The model's `model_id` or its name.
    pub model_name: String,
    /// Informational; the model's active target says where probes go.
    pub provider: Option<String>,
    /// Not supported: prompts are rule-pack data (a policy's own pack), never request text.
    pub test_prompts: Option<Vec<String>>,
}

/// Run an active (security-probe) audit of the named model now; poll
/// `GET /api/v1/audit/{audit_id}` for its result.
#[utoipa::path(
    tag = "frontend",
    request_body = FrontendAuditRequest,
    responses(
        (status = 202, body = FrontendAudit),
        (status = 404, body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody),
        (status = 429, body = crate::ErrorBody)
    )
)]
#[post("/api/v1/audit")]
pub async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<FrontendAuditRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if b.test_prompts.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(ApiError::invalid(
            "test_prompts are not accepted: probes come from rule packs (the built-in pack, or a policy's own pack through policy_reference; see docs/rules.md)",
        ));
    }
    let who = caller.clone();
    let name = b.model_name.clone();
    let model_id = read(&state, move |c| {
        if let Ok(m) = super::visible_model(c, &who, &name) {
            return Ok(m.model_id);
        }
        models::by_name(c, who.scope().as_deref(), &name)?
            .map(|m| m.model_id)
            .ok_or_else(|| StoreError::NotFound(format!("model '{name}' not found")))
    })
    .await?;
    let runner = state.runner.clone();
    let actor = caller.actor.clone();
    let run = web::block(move || runner.run_now(&model_id, AuditType::Active, &actor)).await??;
    let a = read(&state, move |c| build(c, run)).await?;
    Ok(HttpResponse::Accepted().json(a))
}
