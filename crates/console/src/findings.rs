//! The findings page: the tenant's findings with filters, and (for auditors and admins) a form
//! on each to move it through its workflow with a note.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use audit_http::api::findings::{StatusChange, change_status};
use audit_http::api::read;
use audit_http::{ApiError, AppState};
use audit_store::repo::access::Role;
use audit_store::repo::findings;
use audit_store::{FindingFilter, FindingRecord, Paging};
use maud::{Markup, html};
use serde::Deserialize;

use crate::pages::{layout, time};
use crate::session::{self, Session};
use crate::{page, see_other};

/// Findings on one page, newest first.
const PAGE: i64 = 50;
const SEVERITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const STATUSES: [&str; 4] = ["open", "acknowledged", "resolved", "false_positive"];

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    model_id: String,
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
    let q = q.into_inner();
    if !q.status.is_empty() && !STATUSES.contains(&q.status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "unknown status '{}'",
            q.status
        )));
    }
    let severity = match q.severity.as_str() {
        "" => None,
        v => Some(
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("unknown severity '{v}'")))?,
        ),
    };
    let f = FindingFilter {
        tenant_id: s.caller.scope(),
        status: nonempty(&q.status),
        severity,
        model_id: nonempty(&q.model_id),
        ..FindingFilter::default()
    };
    let page_ = read(&state, move |c| {
        findings::list(
            c,
            &f,
            Paging {
                skip: 0,
                limit: PAGE,
            },
        )
    })
    .await?;
    let body = list_page(&s, &q, page_.total, &page_.items);
    Ok(page(
        StatusCode::OK,
        layout("Findings", Some(&s), "findings", body),
    ))
}

/// Whether the signed-in person may move findings (the server checks again on each move).
fn can_act(s: &Session) -> bool {
    s.caller.require(Role::Auditor).is_ok()
}

fn list_page(s: &Session, q: &ListQuery, total: i64, rows: &[FindingRecord]) -> Markup {
    let act = can_act(s);
    html! {
        h1 { "Findings" }
        form class="filters" method="get" action="/console/findings" {
            label for="severity" { "Severity" }
            select id="severity" name="severity" {
                option value="" selected[q.severity.is_empty()] { "Any" }
                @for v in SEVERITIES { option value=(v) selected[q.severity == v] { (v) } }
            }
            label for="status" { "Status" }
            select id="status" name="status" {
                option value="" selected[q.status.is_empty()] { "Any" }
                @for v in STATUSES { option value=(v) selected[q.status == v] { (v) } }
            }
            label for="model_id" { "Model ID" }
            input id="model_id" name="model_id" type="text" value=(q.model_id);
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p class="empty" { "No finding matches these filters." }
        } @else {
            p class="hint" { (total) " findings" @if total > PAGE { ", the newest " (PAGE) " shown" } }
            @for f in rows { (finding(s, f, act)) }
        }
    }
}

fn finding(s: &Session, f: &FindingRecord, act: bool) -> Markup {
    let d = &f.finding;
    let id = f.id;
    html! {
        article class="card finding" aria-labelledby={ "f" (id) } {
            h2 id={ "f" (id) } {
                span class={ "sev sev-" (d.severity.as_str().to_lowercase()) } { (d.severity.as_str()) }
                " " (d.metric_name)
            }
            p { (d.description) }
            p class="hint" {
                a href={ "/console/models/" (f.model_id) } { (f.model_id) } " · "
                a href={ "/console/audits/" (f.audit_id) } { "audit" } " · "
                (time(f.created_at)) " · status " strong { (f.status) }
                @if let Some(n) = &f.status_note { " (" (n) ")" }
            }
            @if act {
                form class="move" method="post" action={ "/console/findings/" (id) "/status" } {
                    input type="hidden" name="csrf" value=(s.csrf());
                    label for={ "st" (id) } { "Move to" }
                    select id={ "st" (id) } name="status" {
                        @for v in STATUSES {
                            @if findings::transition_allowed(&f.status, v) { option value=(v) { (v) } }
                        }
                    }
                    label for={ "note" (id) } { "Note" }
                    input id={ "note" (id) } name="note" type="text" maxlength="2000";
                    button type="submit" { "Save" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct MoveForm {
    #[serde(default)]
    csrf: String,
    status: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn move_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let f = form.into_inner();
    let change = StatusChange {
        status: f.status,
        note: nonempty(f.note.trim()),
    };
    match change_status(&state, s.caller.clone(), path.into_inner(), change).await {
        Ok(_) => Ok(see_other("/console/findings").finish()),
        Err(e) => crate::shown(&s, "Finding not moved", e),
    }
}
