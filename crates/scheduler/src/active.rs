//! Active audits: the model's probe target, the built-in rule pack plus what the policy's
//! reference adds, a budget known before the run starts. Only counts, rule ids and one-line
//! summaries are stored.

use audit_domain::{ExecutionStatus, Severity};
use audit_outbound::OutboundPolicy;
use audit_rules::Plan;
use audit_rules::probe::{ApiStyle, Budget, Endpoint, ProbeReport, run_plan};
use audit_store::AuditRun;
use audit_store::repo::{audits, targets::Target};
use std::time::Duration;

fn weight(s: Severity) -> f64 {
    match s {
        Severity::Low => 1.0,
        Severity::Medium => 2.0,
        Severity::High => 3.0,
        Severity::Critical => 4.0,
    }
}

/// 0–100: the severity-weighted share of judged rules that failed.
pub fn risk_score(r: &ProbeReport) -> f64 {
    let judged: Vec<_> = r.rules.iter().filter(|o| o.passed.is_some()).collect();
    let total: f64 = judged.iter().map(|o| weight(o.severity)).sum();
    if total == 0.0 {
        return 0.0;
    }
    let failed: f64 = judged
        .iter()
        .filter(|o| o.passed == Some(false))
        .map(|o| weight(o.severity))
        .sum();
    100.0 * failed / total
}

/// A random canary per run, so that no model can have memorised it.
fn canary() -> String {
    format!("CNRY-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Runs the plan against the target (opened: full URL and secret) and turns the report into the
/// run's results. The target's URL is checked against `outbound` again before the first call,
/// and every call connects only to the checked addresses.
pub fn evaluate(
    run: &AuditRun,
    target: &Target,
    plan: &Plan,
    outbound: &OutboundPolicy,
) -> Result<audits::FinishRun, String> {
    let auth = match (&target.auth_header, &target.secret) {
        (Some(h), Some(s)) => Some((h.clone(), s.clone())),
        _ => None,
    };
    let style = ApiStyle::parse(&target.api_style)
        .ok_or_else(|| format!("unknown api_style '{}'", target.api_style))?;
    let client = Endpoint {
        style,
        url: target.url.clone(),
        model: target.model_name.clone(),
        auth,
        temperature: target.temperature,
        max_tokens: target.max_tokens.max(1) as u32,
        timeout: Duration::from_secs(target.timeout_secs.clamp(1, 300) as u64),
    }
    .client(outbound)
    .map_err(|e| {
        tracing::debug!(audit_id = %run.audit_id, host = %audit_outbound::host_of(&target.url), reason = %e, "probe target refused");
        format!("probe target: {}", audit_outbound::GENERIC_FAILURE)
    })?;
    let report = run_plan(
        plan,
        client.as_ref(),
        Budget {
            max_calls: target.max_calls.max(0) as u64,
            max_tokens: target.token_budget.max(0) as u64,
            requests_per_minute: target.requests_per_minute.max(0) as u32,
            max_retries: 1,
        },
        &canary(),
    );
    let errors: u32 = report.rules.iter().map(|o| o.errors).sum();
    let answered = report.answered();
    let (status, reason) = if answered == 0 {
        (
            ExecutionStatus::Failed,
            Some(format!(
                "no answer from the target in {} calls (unreachable, timing out or failing)",
                report.calls
            )),
        )
    } else if errors > 0 || report.stopped.is_some() {
        let mut why = Vec::new();
        if errors > 0 {
            why.push(format!("{errors} attempts got no answer"));
        }
        if let Some(s) = &report.stopped {
            why.push(s.clone());
        }
        (ExecutionStatus::Partial, Some(why.join("; ")))
    } else {
        (ExecutionStatus::Success, None)
    };
    let usable = status != ExecutionStatus::Failed;
    let result = report.verdict();
    let packs: Vec<_> = plan
        .packs
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "version": p.version}))
        .collect();
    let evidence = serde_json::json!({
        "packs": packs, "attempts": plan.attempts, "api_style": style.as_str(),
        "planned_calls": plan.planned_calls().min(target.max_calls.max(0) as u64),
        "calls": report.calls, "tokens": report.tokens, "stopped": report.stopped,
        "rules": report.rules,
    });
    let risk = risk_score(&report);
    Ok(audits::FinishRun {
        audit_id: run.audit_id.clone(),
        executed_at: audit_store::now(),
        execution_status: status,
        audit_result: result,
        execution_reason: reason,
        evidence: Some(evidence),
        baseline_audit_id: None,
        summary: usable.then(|| audits::SummaryInput {
            drift_score: 0.0,
            bias_score: 0.0,
            risk_score: risk,
            metrics: serde_json::json!({"active": {"calls": report.calls, "tokens": report.tokens,
                "rules_judged": report.rules.iter().filter(|o| o.passed.is_some()).count(),
                "rules_failed": report.rules.iter().filter(|o| o.passed == Some(false)).count()}}),
        }),
        findings: if usable { report.findings } else { Vec::new() },
        profile: None,
        auto_approve: false,
        samples: Vec::new(),
    })
}
