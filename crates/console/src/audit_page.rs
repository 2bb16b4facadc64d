//! An audit's page: the report (its charts and tables, as `audit-report` draws them) inside the
//! console, the PDF download, approval as the baseline, and the audit's findings with their
//! workflow forms.

use actix_web::{HttpResponse, http::StatusCode, web};
use audit_http::api::report::report_of;
use audit_http::api::{read, visible_audit};
use audit_http::{ApiError, AppState};
use audit_store::repo::findings;
use audit_store::{FindingFilter, Paging};
use maud::{PreEscaped, html};

use crate::page;
use crate::pages::live_layout;
use crate::session::Session;

/// Findings of one audit shown with their forms (an audit rarely has more).
const FINDINGS: i64 = 200;

pub(crate) async fn show(
    state: web::Data<AppState>,
    s: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let report = match report_of(&state, s.caller.clone(), id.clone()).await {
        Ok(r) => r,
        Err(e) => return crate::shown(&s, "Report not available", e),
    };
    let caller = s.caller.clone();
    let audit = id.clone();
    let (run, found, baseline) = read(&state, move |c| {
        let run = visible_audit(c, &caller, &audit)?;
        let f = FindingFilter {
            audit_id: Some(audit.clone()),
            ..FindingFilter::default()
        };
        let found = findings::list(
            c,
            &f,
            Paging {
                skip: 0,
                limit: FINDINGS,
            },
        )?;
        let baseline = audit_http::api::models::detail_of(c, &run.model_id)?.baseline_audit_id;
        Ok((run, found.items, baseline))
    })
    .await?;
    let act = crate::findings::can_act(&s);
    let is_baseline = baseline.as_deref() == Some(run.audit_id.as_str());
    let approvable =
        act && !is_baseline && run.execution_status != Some(audit_domain::ExecutionStatus::Failed);
    let back = format!("/console/audits/{id}");
    let body = html! {
        p class="crumbs" {
            a href="/console/models" { "Models" } " / "
            a href={ "/console/models/" (run.model_id) } { (run.model_id) } " / audit"
        }
        div class="actions" {
            a class="button" href={ "/console/audits/" (id) "/report.pdf" } download={ "audit-" (id) ".pdf" } { "Download PDF" }
            @if is_baseline { span class="tag ok" { "the model's baseline" } }
            @if approvable {
                (crate::models::button(&s, &format!("/console/audits/{id}/approve"), "Approve as baseline"))
            }
        }
        @if !found.is_empty() {
            section aria-labelledby="act" {
                h2 id="act" { "Act on the findings" }
                @for f in &found { (crate::findings::finding(&s, f, act, Some(&back))) }
            }
        }
        div class="report" { (PreEscaped(audit_report::body(&report))) }
    };
    let title = format!("Audit {}", run.audit_id);
    Ok(page(
        StatusCode::OK,
        live_layout(&title, Some(&s), "models", None, body),
    ))
}

/// The address a form returns to: a console page, never another site.
pub(crate) fn back_to(back: &str, otherwise: &str) -> String {
    let safe = back.starts_with("/console/")
        && !back.starts_with("//")
        && back
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.:?=&#%".contains(c));
    if safe { back } else { otherwise }.to_owned()
}
