//! The models pages: the tenant's models, one model with its audits, and an audit's report.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use audit_domain::{AuditType, ExecutionStatus};
use audit_http::api::audits::{approve_audit, start_audit};
use audit_http::api::models::{ModelDetail, ModelView, detail_of, view_of};
use audit_http::api::{read, visible_model};
use audit_http::{ApiError, AppState};
use audit_store::repo::access::Role;
use audit_store::repo::{audits, models};
use audit_store::{AuditFilter, AuditRun, AuditSummary, Paging};
use maud::{Markup, html};
use serde::Deserialize;

use crate::pages::layout;
use crate::session::{self, Session};
use crate::{page, see_other};

/// Models on one page of the list.
const PAGE: i64 = 50;

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    model_type: String,
    #[serde(default)]
    archived: Option<String>,
    #[serde(default)]
    page: Option<i64>,
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
    let model_type = match q.model_type.as_str() {
        "" => None,
        t => Some(t.parse().map_err(|_| {
            ApiError::bad_request(format!("model type must be ml or llm, not '{t}'"))
        })?),
    };
    let number = q.page.unwrap_or(1).max(1);
    let f = models::ModelFilter {
        tenant_id: s.caller.scope(),
        model_type,
        include_archived: q.archived.is_some(),
        ..models::ModelFilter::default()
    };
    let paging = Paging {
        skip: (number - 1) * PAGE,
        limit: PAGE,
    };
    let (total, rows) = read(&state, move |c| {
        let page = models::list(c, &f, paging)?;
        let rows = page
            .items
            .into_iter()
            .map(|m| view_of(c, m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page.total, rows))
    })
    .await?;
    let body = list_page(&q.model_type, q.archived.is_some(), number, total, &rows);
    Ok(page(
        StatusCode::OK,
        layout("Models", Some(&s), "models", body),
    ))
}

fn result_of(v: &ModelView) -> String {
    match (v.last_audit_status, v.last_execution_status) {
        (Some(r), _) => r.as_str().to_owned(),
        (None, Some(e)) => e.as_str().to_owned(),
        (None, None) => "no audit yet".to_owned(),
    }
}

fn list_page(
    model_type: &str,
    archived: bool,
    number: i64,
    total: i64,
    rows: &[ModelView],
) -> Markup {
    let pages = (total + PAGE - 1) / PAGE;
    html! {
        h1 { "Models" }
        form class="filters" method="get" action="/console/models" {
            label for="model_type" { "Type" }
            select id="model_type" name="model_type" {
                option value="" selected[model_type.is_empty()] { "Any" }
                option value="ml" selected[model_type == "ml"] { "ML" }
                option value="llm" selected[model_type == "llm"] { "LLM" }
            }
            label class="check" {
                input type="checkbox" name="archived" value="1" checked[archived];
                " Include archived"
            }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p class="empty" {
                "No model matches. Register one with " code { "POST /models/register" }
                " (see the " a href="/docs/" { "API documentation" } ")."
            }
        } @else {
            p class="hint" { (total) " models" @if pages > 1 { ", page " (number) " of " (pages) } }
            div class="scroll" {
                table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Version" }
                        th scope="col" { "Type" } th scope="col" { "Last result" }
                        th scope="col" { "Last audit" } th scope="col" { "Frequency" }
                    } }
                    tbody {
                        @for v in rows {
                            tr {
                                th scope="row" {
                                    a href={ "/console/models/" (v.model.model_id) } { (v.model.name) }
                                    @if v.model.is_archived() { " " span class="tag" { "archived" } }
                                }
                                td { code { (v.model.model_id) } }
                                td { (v.model.version) }
                                td { (v.model.model_type.as_str()) }
                                td { (result_of(v)) }
                                td { (v.last_audit_time.map(crate::pages::time).unwrap_or_else(|| "–".into())) }
                                td { (v.audit_frequency.map(|f| f.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                            }
                        }
                    }
                }
            }
            nav class="pager" aria-label="Pages" {
                @if number > 1 {
                    a href={ "/console/models?model_type=" (model_type) @if archived { "&archived=1" } "&page=" (number - 1) } { "Previous" }
                }
                @if number < pages {
                    a href={ "/console/models?model_type=" (model_type) @if archived { "&archived=1" } "&page=" (number + 1) } { "Next" }
                }
            }
        }
    }
}

/// The start of a long identifier: enough to tell audits apart on one page (the link's title
/// and address hold the whole).
fn short(id: &str) -> String {
    match id.char_indices().nth(12) {
        Some((i, _)) => format!("{}…", &id[..i]),
        None => id.to_owned(),
    }
}

/// Audits shown on a model's page, newest first.
const AUDITS: i64 = 50;

pub(crate) async fn one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
    let id = path.into_inner();
    let caller = s.caller.clone();
    let found = read(&state, move |c| {
        let m = visible_model(c, &caller, &id)?;
        let f = AuditFilter {
            model_id: Some(m.model_id.clone()),
            include_running: true,
            ..AuditFilter::default()
        };
        let runs = audits::list(
            c,
            &f,
            Paging {
                skip: 0,
                limit: AUDITS,
            },
        )?;
        Ok((detail_of(c, &m.model_id)?, runs.items))
    })
    .await;
    let (view, runs) = match found {
        Ok(f) => f,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let markup = crate::pages::problem(Some(&s), "Not found", &e.detail);
            return Ok(page(StatusCode::NOT_FOUND, markup));
        }
        Err(e) => return Err(e),
    };
    let title = view.view.model.name.clone();
    let body = model_page(&s, &view, &runs);
    Ok(page(
        StatusCode::OK,
        layout(&title, Some(&s), "models", body),
    ))
}

/// Whether the signed-in person may run and approve audits (the server checks again).
fn can_act(s: &Session) -> bool {
    s.caller.require(Role::Auditor).is_ok()
}

/// A one-button form that posts to `action` with the session's CSRF token.
fn button(s: &Session, action: &str, label: &str) -> Markup {
    html! {
        form class="inline" method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf());
            button type="submit" { (label) }
        }
    }
}

fn model_page(s: &Session, d: &ModelDetail, runs: &[(AuditRun, Option<AuditSummary>)]) -> Markup {
    let v = &d.view;
    let m = &v.model;
    let act = can_act(s) && !m.is_archived();
    let baseline = d.baseline_audit_id.as_deref();
    html! {
        p class="crumbs" { a href="/console/models" { "Models" } " / " (m.model_id) }
        h1 { (m.name) " " span class="version" { "version " (m.version) } }
        @if m.is_archived() { p class="tag" { "Archived: no longer audited; its records stay readable until the purge." } }
        dl class="facts" {
            dt { "Type" } dd { (m.model_type.as_str()) " · " (m.connection_type.as_str()) }
            dt { "Owner" } dd { (m.owner.as_deref().unwrap_or("–")) }
            dt { "Description" } dd { (m.description.as_deref().unwrap_or("–")) }
            dt { "Audits" } dd { (v.audit_frequency.map(|f| f.as_str().to_owned()).unwrap_or_else(|| "no policy".into())) }
            dt { "Last result" } dd { (result_of(v)) }
        }
        @for w in &v.warnings { p class="error" role="alert" { (w) } }
        h2 { "Audits" }
        @if act { (button(s, &format!("/console/models/{}/run", m.model_id), "Run an audit now")) }
        @if runs.is_empty() {
            p class="empty" { "No audit yet: the first one runs when the model's evidence is read." }
        } @else {
            div class="scroll" {
                table {
                    thead { tr {
                        th scope="col" { "Audit" } th scope="col" { "Type" } th scope="col" { "Executed" }
                        th scope="col" { "Result" } th scope="col" { "Execution" }
                        th scope="col" class="num" { "Risk" } th scope="col" class="num" { "Findings" }
                        th scope="col" { "Baseline" }
                    } }
                    tbody {
                        @for (r, sum) in runs {
                            tr {
                                th scope="row" {
                                    @if r.executed_at.is_some() {
                                        a href={ "/console/audits/" (r.audit_id) } title=(r.audit_id) { code { (short(&r.audit_id)) } }
                                    } @else { code { (r.audit_id) } " (running)" }
                                }
                                td { (r.audit_type.as_str()) }
                                td { (r.executed_at.map(crate::pages::time).unwrap_or_else(|| "–".into())) }
                                td { (r.audit_result.map(|x| x.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                                td { (r.execution_status.map(|x| x.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                                td class="num" { (sum.as_ref().map(|s| format!("{:.1}", s.risk_score)).unwrap_or_else(|| "–".into())) }
                                td class="num" { (sum.as_ref().map(|s| s.total_findings.to_string()).unwrap_or_else(|| "–".into())) }
                                td {
                                    @if baseline == Some(r.audit_id.as_str()) {
                                        span class="tag ok" { "baseline" }
                                    } @else if act && r.executed_at.is_some() && r.execution_status != Some(ExecutionStatus::Failed) {
                                        (button(s, &format!("/console/audits/{}/approve", r.audit_id), "Approve as baseline"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An audit's report page (the API's, for the signed-in caller).
pub(crate) async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
    audit_http::api::report::page(state, s.caller, path.into_inner()).await
}

/// The same report as the PDF download.
pub(crate) async fn report_pdf(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
    audit_http::api::report::pdf(state, s.caller, path.into_inner()).await
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn run_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    match start_audit(&state, s.caller.clone(), id.clone(), AuditType::Passive).await {
        Ok(_) => Ok(see_other(&format!("/console/models/{id}")).finish()),
        Err(e) => crate::shown(&s, "Audit not started", e),
    }
}

pub(crate) async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    match approve_audit(&state, s.caller.clone(), path.into_inner(), None).await {
        Ok(a) => Ok(see_other(&format!("/console/models/{}", a.model_id)).finish()),
        Err(e) => crate::shown(&s, "Baseline not approved", e),
    }
}
