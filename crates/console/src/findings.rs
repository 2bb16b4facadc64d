//! The findings page: the tenant's findings with filters, and (for auditors and admins) a form
//! on each to move it through its workflow with a note.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use audit_http::api::findings::{StatusChange, change_status};
use audit_http::api::read;
use audit_http::{ApiError, AppState};
use audit_store::repo::findings;
use audit_store::{FindingFilter, FindingRecord, Paging};
use maud::{Markup, html};
use serde::Deserialize;

use crate::pages::{layout, time};
use crate::session::Session;
use crate::{page, see_other};

/// Findings on one page, newest first.
const PAGE: i64 = 50;
const SEVERITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const STATUSES: [&str; 4] = ["open", "acknowledged", "resolved", "false_positive"];
const CATEGORIES: [&str; 5] = ["drift", "bias", "risk", "compliance", "security"];

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListQuery {
    severity: String,
    category: String,
    status: String,
    model_id: String,
    /// `YYYY-MM-DD`, the first day shown (UTC).
    from: String,
    /// `YYYY-MM-DD`, the last day shown (UTC).
    to: String,
    page: String,
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// An optional filter value of an enumerated kind.
fn parsed<T: std::str::FromStr>(v: &str, what: &str) -> Result<Option<T>, String> {
    match v {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| format!("unknown {what} '{v}'")),
    }
}

/// A filter the page cannot apply is said on the page, beside the filters.
fn filter_of(s: &Session, q: &ListQuery) -> Result<FindingFilter, String> {
    if !q.status.is_empty() && !STATUSES.contains(&q.status.as_str()) {
        return Err(format!("unknown status '{}'", q.status));
    }
    let severity = parsed(&q.severity, "severity")?;
    let category = parsed(&q.category, "category")?;
    let day = |v: &str, end: bool| -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        if v.is_empty() {
            return Ok(None);
        }
        let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| format!("'{v}' is not a date (YYYY-MM-DD)"))?;
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
    };
    Ok(FindingFilter {
        tenant_id: s.caller.scope(),
        status: nonempty(&q.status),
        severity,
        category,
        model_id: nonempty(&q.model_id),
        from: day(&q.from, false)?,
        to: day(&q.to, true)?,
        ..FindingFilter::default()
    })
}

pub(crate) async fn list(
    state: web::Data<AppState>,
    s: Session,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let number = q.page.parse::<i64>().unwrap_or(1).max(1);
    let (status, body) = match filter_of(&s, &q) {
        Ok(f) => {
            let paging = Paging {
                skip: (number - 1) * PAGE,
                limit: PAGE,
            };
            let found = read(&state, move |c| findings::list(c, &f, paging)).await?;
            let body = list_page(&s, &q, number, found.total, &found.items, None);
            (StatusCode::OK, body)
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            list_page(&s, &q, 1, 0, &[], Some(&e)),
        ),
    };
    Ok(page(status, layout("Findings", Some(&s), "findings", body)))
}

/// Whether the signed-in person may move findings (the server checks again on each move).
pub(crate) fn can_act(s: &Session) -> bool {
    crate::may(s, crate::acting::MOVE_FINDING)
}

/// This page's address with another page number.
fn page_link(q: &ListQuery, number: i64) -> String {
    let pairs = [
        ("severity", &q.severity),
        ("category", &q.category),
        ("status", &q.status),
        ("model_id", &q.model_id),
        ("from", &q.from),
        ("to", &q.to),
    ];
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.append_pair("page", &number.to_string());
    format!("/console/findings?{}", out.finish())
}

fn select(id: &str, label: &str, current: &str, values: &[&str]) -> Markup {
    html! {
        label for=(id) { (label) }
        select id=(id) name=(id) {
            option value="" selected[current.is_empty()] { "Any" }
            @for v in values { option value=(v) selected[current == *v] { (v) } }
        }
    }
}

fn list_page(
    s: &Session,
    q: &ListQuery,
    number: i64,
    total: i64,
    rows: &[FindingRecord],
    problem: Option<&str>,
) -> Markup {
    let act = can_act(s);
    let pages = (total + PAGE - 1) / PAGE;
    html! {
        h1 { "Findings" }
        form class="filters" method="get" action="/console/findings" {
            (select("severity", "Severity", &q.severity, &SEVERITIES))
            (select("category", "Category", &q.category, &CATEGORIES))
            (select("status", "Status", &q.status, &STATUSES))
            label for="model_id" { "Model ID" }
            input id="model_id" name="model_id" type="text" value=(q.model_id);
            label for="from" { "From" }
            input id="from" name="from" type="date" value=(q.from);
            label for="to" { "To" }
            input id="to" name="to" type="date" value=(q.to);
            button type="submit" { "Filter" }
        }
        @if let Some(p) = problem { p class="error" role="alert" { (p) } }
        @if rows.is_empty() {
            @if problem.is_none() { p class="empty" { "No finding matches these filters. Widen them, or run an audit from a model's page." } }
        } @else {
            p class="hint" { (total) " findings" @if pages > 1 { ", page " (number) " of " (pages) } }
            @if act {
                form id="bulk" class="card bulk" method="post" action="/console/findings/bulk" aria-labelledby="bulk-title" {
                    h2 id="bulk-title" { "Move the selected findings" }
                    input type="hidden" name="csrf" value=(s.csrf());
                    label for="bulk-status" { "New status" }
                    select id="bulk-status" name="status" {
                        option value="acknowledged" { "acknowledged" }
                        option value="resolved" { "resolved" }
                        option value="false_positive" { "false_positive" }
                    }
                    label for="bulk-note" { "Note" }
                    input id="bulk-note" name="note" type="text" maxlength="2000";
                    button type="submit" { "Move selected" }
                }
            }
            @for f in rows { (finding(s, f, act, None)) }
            nav class="pager" aria-label="Pages" {
                @if number > 1 { a href=(page_link(q, number - 1)) { "Previous" } }
                @if number < pages { a href=(page_link(q, number + 1)) { "Next" } }
            }
        }
    }
}

/// One finding as a card; with `act`, its workflow form (returning to `back` when given).
pub(crate) fn finding(s: &Session, f: &FindingRecord, act: bool, back: Option<&str>) -> Markup {
    let d = &f.finding;
    let id = f.id;
    html! {
        article class="card finding" aria-labelledby={ "f" (id) } {
            h2 id={ "f" (id) } {
                @if act && back.is_none() {
                    input type="checkbox" form="bulk" name="ids" value=(id) id={ "pick" (id) }
                        aria-label={ "Select finding " (id) ", " (d.metric_name) };
                    " "
                }
                span class={ "sev sev-" (d.severity.as_str().to_lowercase()) } { (d.severity.as_str()) }
                " " (d.metric_name)
            }
            p { (d.description) }
            p class="hint" {
                a href={ "/console/models/" (f.model_id) } { (f.model_id) } " · "
                a href={ "/console/audits/" (f.audit_id) } { "audit" } " · "
                (d.category.as_str()) " · "
                (time(f.created_at)) " · status " strong { (f.status) }
                @if let Some(n) = &f.status_note { " (" (n) ")" }
            }
            @if act {
                form class="move" method="post" action={ "/console/findings/" (id) "/status" } {
                    input type="hidden" name="csrf" value=(s.csrf());
                    @if let Some(b) = back { input type="hidden" name="back" value=(b); }
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

/// `POST /console/findings/bulk`: several findings moved to one status with one note. Each
/// move goes through the API's workflow check; the page then says what moved and what not.
pub(crate) async fn bulk(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut csrf = String::new();
    let mut status = String::new();
    let mut note = String::new();
    let mut ids = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "status" => status = v.into_owned(),
            "note" => note = v.into_owned(),
            "ids" => ids.push(v.into_owned()),
            _ => {}
        }
    }
    let s = match crate::acting(&state, &req, &csrf, crate::acting::MOVE_FINDING).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    if ids.is_empty() {
        let e = ApiError::bad_request("select at least one finding with its checkbox");
        return crate::shown(&s, "Nothing moved", e);
    }
    let mut moved = 0usize;
    let mut refused = Vec::new();
    for id in ids.iter().take(PAGE as usize) {
        let Ok(n) = id.parse::<i64>() else {
            refused.push(format!("'{id}' is not a finding id"));
            continue;
        };
        let change = StatusChange {
            status: status.clone(),
            note: nonempty(note.trim()),
        };
        match change_status(&state, s.caller.clone(), n, change).await {
            Ok(_) => moved += 1,
            Err(e) if e.status.is_client_error() => refused.push(format!("{n}: {}", e.detail)),
            Err(e) => return Err(e),
        }
    }
    if refused.is_empty() {
        return Ok(see_other("/console/findings").finish());
    }
    let detail = format!(
        "{moved} moved to {status}; not moved: {}",
        refused.join("; ")
    );
    let e = ApiError::new(StatusCode::CONFLICT, detail);
    crate::shown(&s, "Some findings not moved", e)
}

#[derive(Deserialize)]
pub(crate) struct MoveForm {
    #[serde(default)]
    csrf: String,
    status: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn move_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::MOVE_FINDING).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let f = form.into_inner();
    let change = StatusChange {
        status: f.status,
        note: nonempty(f.note.trim()),
    };
    match change_status(&state, s.caller.clone(), path.into_inner(), change).await {
        Ok(_) => {
            let to = crate::audit_page::back_to(&f.back, "/console/findings");
            Ok(see_other(&to).finish())
        }
        Err(e) => crate::shown(&s, "Finding not moved", e),
    }
}
