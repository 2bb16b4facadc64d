//! The models pages: the tenant's models, one model with its audits, and an audit's report.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use audit_domain::{AuditType, ExecutionStatus};
use audit_http::api::archive::{archive_model, restore_model};
use audit_http::api::audits::{approve_audit, start_audit};
use audit_http::api::models::{ModelDetail, ModelView, detail_of, view_of};
use audit_http::api::{read, visible_model};
use audit_http::{ApiError, AppState};
use audit_store::repo::{audits, models};
use audit_store::{AuditFilter, AuditRun, AuditSummary, Paging};
use maud::{Markup, html};
use serde::Deserialize;

use crate::pages::layout;
use crate::session::Session;
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
    page: String,
    #[serde(default)]
    q: String,
}

pub(crate) async fn list(
    state: web::Data<AppState>,
    s: Session,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let model_type = match q.model_type.as_str() {
        "" => None,
        t => match t.parse() {
            Ok(t) => Some(t),
            Err(_) => {
                let e = ApiError::bad_request(format!("model type must be ml or llm, not '{t}'"));
                return crate::shown(&s, "Models", e);
            }
        },
    };
    let number = q.page.parse::<i64>().unwrap_or(1).max(1);
    let f = models::ModelFilter {
        tenant_id: s.caller.scope(),
        model_type,
        include_archived: q.archived.is_some(),
        search: Some(q.q.trim().to_owned()).filter(|t| !t.is_empty()),
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
    let body = list_page(&s, &q, number, total, &rows);
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

/// This list's address with another page number.
fn list_link(q: &ListQuery, number: i64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("q", &q.q), ("model_type", &q.model_type)] {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    if q.archived.is_some() {
        out.append_pair("archived", "1");
    }
    out.append_pair("page", &number.to_string());
    format!("/console/models?{}", out.finish())
}

fn list_page(s: &Session, q: &ListQuery, number: i64, total: i64, rows: &[ModelView]) -> Markup {
    let pages = (total + PAGE - 1) / PAGE;
    let model_type = q.model_type.as_str();
    let archived = q.archived.is_some();
    let filtered = !q.q.trim().is_empty() || !model_type.is_empty() || archived;
    html! {
        h1 { "Models" }
        @if may(s, REGISTER) { p { a class="button" href="/console/models/new" { "Register a model" } } }
        form class="filters" method="get" action="/console/models" role="search" {
            label for="q" { "Search" }
            input id="q" name="q" type="search" value=(q.q) placeholder="id, name or owner";
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
                @if filtered { "No model matches these filters. " a href="/console/models" { "Show every model" } "." }
                @else if may(s, REGISTER) { "No model is registered yet. " a href="/console/models/new" { "Register the first one" } "; its baseline audit runs at once." }
                @else { "No model is registered yet; an auditor or admin registers them." }
            }
        } @else {
            p class="hint" { (total) " models" @if pages > 1 { ", page " (number) " of " (pages) } }
            div class="scroll" tabindex="0" role="region" aria-label="Models" {
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
                                td { (crate::pages::maybe_time(v.last_audit_time)) }
                                td { (v.audit_frequency.map(|f| f.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                            }
                        }
                    }
                }
            }
            nav class="pager" aria-label="Pages" {
                @if number > 1 { a href=(list_link(q, number - 1)) { "Previous" } }
                @if number < pages { a href=(list_link(q, number + 1)) { "Next" } }
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

/// What a model's page shows besides the model: a form's errors beside its fields, the
/// receipt of an upload.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub errors: std::collections::BTreeMap<&'static str, String>,
    pub receipt: Option<String>,
}

impl Notes {
    pub(crate) fn error(field: &'static str, message: String) -> Notes {
        Notes {
            errors: std::collections::BTreeMap::from([(field, message)]),
            receipt: None,
        }
    }
}

pub(crate) async fn one(
    state: web::Data<AppState>,
    s: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    render(
        &state,
        &s,
        path.into_inner(),
        &Notes::default(),
        StatusCode::OK,
    )
    .await
}

/// A model's page with `notes`, answered with `status`.
pub(crate) async fn render(
    state: &web::Data<AppState>,
    s: &Session,
    id: String,
    notes: &Notes,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let caller = s.caller.clone();
    let found = read(state, move |c| {
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
        let versions = audit_store::repo::versions::list(c, &m.model_id)?;
        let after = audit_store::repo::events::latest_id(c)?;
        Ok((detail_of(c, &m.model_id)?, runs.items, versions, after))
    })
    .await;
    let (view, runs, versions, after) = match found {
        Ok(f) => f,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let markup = crate::pages::problem(Some(s), "Not found", &e.detail);
            return Ok(page(StatusCode::NOT_FOUND, markup));
        }
        Err(e) => return Err(e),
    };
    let title = view.view.model.name.clone();
    let body = model_page(s, &view, &runs, &versions, notes);
    let live = view.view.model.model_id.clone();
    Ok(page(
        status,
        crate::pages::live_layout(
            &title,
            Some(s),
            "models",
            Some(crate::pages::Live {
                scope: &live,
                after,
            }),
            body,
        ),
    ))
}

/// Drift, bias and risk of the model's judged passive audits, oldest first.
fn score_chart(runs: &[(AuditRun, Option<AuditSummary>)]) -> Option<Markup> {
    let points: Vec<audit_report::HistoryPoint> = runs
        .iter()
        .rev()
        .filter(|(r, _)| r.audit_type == AuditType::Passive)
        .filter_map(|(r, sum)| {
            let sum = sum.as_ref()?;
            Some(audit_report::HistoryPoint {
                audit_id: r.audit_id.clone(),
                label: r.executed_at?.format("%m-%d %H:%M").to_string(),
                drift: sum.drift_score,
                bias: sum.bias_score,
                risk: sum.risk_score,
            })
        })
        .collect();
    (points.len() > 1).then(|| {
        maud::PreEscaped(audit_report::chart::scores(
            "Scores of the model's audits",
            &points,
        ))
    })
}

use crate::acting::{ADD_VERSION, ARCHIVE, EDIT, REGISTER, RUN, SAMPLE};
use crate::may;

/// A one-button form that posts to `action` with the session's CSRF token.
pub(crate) fn button(s: &Session, action: &str, label: &str) -> Markup {
    html! {
        form class="inline" method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf());
            button type="submit" { (label) }
        }
    }
}

fn model_page(
    s: &Session,
    d: &ModelDetail,
    runs: &[(AuditRun, Option<AuditSummary>)],
    versions: &[audit_store::repo::versions::ModelVersion],
    notes: &Notes,
) -> Markup {
    let v = &d.view;
    let m = &v.model;
    let act = may(s, RUN) && !m.is_archived();
    let admin = may(s, EDIT) && may(s, ARCHIVE);
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
        @if let Some(r) = &notes.receipt { p class="ok" role="status" { (r) } }
        @if admin {
            div class="actions" {
                @if m.is_archived() {
                    (button(s, &format!("/console/models/{}/restore", m.model_id), "Restore"))
                } @else {
                    a class="button" href={ "/console/models/" (m.model_id) "/edit" } { "Edit" }
                    (button(s, &format!("/console/models/{}/archive", m.model_id), "Archive"))
                }
            }
        }
        h2 { "Audits" }
        @if let Some(chart) = score_chart(runs) { figure class="chart" { (chart) } }
        @if act { (button(s, &format!("/console/models/{}/run", m.model_id), "Run an audit now")) }
        @if runs.is_empty() {
            p class="empty" { "No audit yet: the first one runs when the model's evidence is read." }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="Audits" {
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
                                td { (crate::pages::maybe_time(r.executed_at)) }
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
        (crate::versions::section(s, &m.model_id, versions, may(s, ADD_VERSION) && !m.is_archived(), notes))
        @if may(s, SAMPLE) && !m.is_archived() && d.evidence_sources.iter().any(|e| e.source_type == audit_domain::ConnectionType::Sample) {
            (crate::versions::sample_form(s, &m.model_id, notes))
        }
    }
}

/// The same report as the PDF download.
pub(crate) async fn report_pdf(
    state: web::Data<AppState>,
    s: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
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
    let s = match crate::acting(&state, &req, &form.csrf, RUN).await? {
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
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::APPROVE).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    match approve_audit(&state, s.caller.clone(), path.into_inner(), None).await {
        Ok(a) => Ok(see_other(&format!("/console/models/{}", a.model_id)).finish()),
        Err(e) => crate::shown(&s, "Baseline not approved", e),
    }
}

pub(crate) async fn archive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, ARCHIVE).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    match archive_model(&state, s.caller.clone(), id.clone()).await {
        Ok(_) => Ok(see_other(&format!("/console/models/{id}")).finish()),
        Err(e) => crate::shown(&s, "Model not archived", e),
    }
}

pub(crate) async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::RESTORE).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    match restore_model(&state, s.caller.clone(), id.clone()).await {
        Ok(_) => Ok(see_other(&format!("/console/models/{id}")).finish()),
        Err(e) => crate::shown(&s, "Model not restored", e),
    }
}
