//! The webhooks tab: notification targets, a test delivery now, each target's last attempts.

use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::api::read;
use audit_http::api::webhooks::{NewWebhookInput, add, delete_hook as remove, test_delivery};
use audit_http::{ApiError, AppState};
use audit_store::repo::webhooks::{self, Delivery, WebhookView};
use maud::{Markup, html};

use super::people::{Csrf, acting_or_answer, button_form};
use super::{Outcome, Tab, closed, frame, removed};
use crate::acting::{CREATE_HOOK, DELETE_HOOK, TEST_HOOK};
use crate::form_markup::{input, select};
use crate::pages::time;
use crate::session::Session;
use crate::{acting, may};

/// What a target can be sent, as the API names them, with what people read.
const RESULTS: [(&str, &str); 6] = [
    ("AUDIT_FAIL", "an audit fails"),
    ("FAILED", "an audit cannot run"),
    ("AUDIT_WARN", "an audit warns"),
    ("PARTIAL", "an audit runs in part"),
    ("AUDIT_PASS", "an audit passes"),
    ("BASELINE_CREATED", "a baseline is made"),
];

pub(crate) async fn webhooks(
    state: web::Data<AppState>,
    s: Session,
) -> Result<HttpResponse, ApiError> {
    if let Some(r) = closed(&s, Tab::Webhooks) {
        return Ok(r);
    }
    page(&state, &s, &Outcome::default()).await
}

fn last(d: &[Delivery]) -> Markup {
    html! {
        @match d.first() {
            None => "none yet",
            Some(d) => {
                @if d.ok { span class="tag ok" { "delivered" } } @else { span class="tag" { "failed" } }
                " " (d.event_type) " "
                (time(chrono::DateTime::from_naive_utc_and_offset(d.at, chrono::Utc)))
                @if let Some(c) = d.status_code { " (HTTP " (c) ")" }
            }
        }
    }
}

fn sends(h: &WebhookView) -> String {
    let mut what: Vec<&str> = RESULTS
        .iter()
        .filter(|(k, _)| h.results.iter().any(|r| r == k))
        .map(|(_, v)| *v)
        .collect();
    if h.results.is_empty() {
        what.push("every completed audit");
    }
    let mut text = what.join(", ");
    if let Some(m) = &h.min_severity {
        text.push_str(&format!("; findings at {m} or above"));
    }
    text
}

async fn page(
    state: &web::Data<AppState>,
    s: &Session,
    o: &Outcome,
) -> Result<HttpResponse, ApiError> {
    let scope = s.caller.scope();
    let hooks = read(state, move |c| {
        webhooks::list(c, scope.as_deref(), false)?
            .iter()
            .map(|h| Ok((h.view(), webhooks::deliveries(c, h.id, 1)?)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let act = may(s, CREATE_HOOK);
    let body = html! {
        p class="hint" {
            "Each target gets a POST when an audit it listens for completes, signed with "
            code { "X-Auditor-Signature" } " (HMAC-SHA256 of the body with its secret)."
        }
        @if hooks.is_empty() {
            p class="empty" { "No webhook yet: nothing is sent when an audit fails." @if act { " Add a target below, then send it a test." } }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="Webhooks" { table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "URL" } th scope="col" { "Sent when" }
                    th scope="col" { "Models" } th scope="col" { "Last delivery" }
                    @if act { th scope="col" { span class="visually-hidden" { "Actions" } } }
                } }
                tbody { @for (h, d) in &hooks { tr {
                    th scope="row" { (h.name) br; small { (h.style) @if !h.enabled { ", paused" } } }
                    td class="wrap" { code { (h.url) } } td { (sends(h)) }
                    td { (h.model_id.as_deref().unwrap_or("all")) } td { (last(d)) }
                    @if act { td class="actions" {
                        (button_form(s, &format!("/console/settings/webhooks/{}/test", h.id), "Send a test", &h.name))
                        (button_form(s, &format!("/console/settings/webhooks/{}/delete", h.id), "Remove", &h.name))
                    } }
                } } }
            } }
        }
        @if act { (form(s, o)) }
    };
    Ok(frame(s, Tab::Webhooks, o, body))
}

fn form(s: &Session, o: &Outcome) -> Markup {
    let styles = [
        ("json", "JSON"),
        ("slack", "Slack incoming webhook"),
        ("teams", "Microsoft Teams card"),
    ];
    let severities = [
        ("", "No finding messages"),
        ("LOW", "LOW"),
        ("MEDIUM", "MEDIUM"),
        ("HIGH", "HIGH"),
        ("CRITICAL", "CRITICAL"),
    ];
    let fresh = o.values.is_empty();
    let chosen = |k: &str| {
        if fresh {
            k == "AUDIT_FAIL" || k == "FAILED"
        } else {
            o.value("results").split(',').any(|r| r == k)
        }
    };
    html! {
        form class="card" method="post" action="/console/settings/webhooks" aria-labelledby="new-hook" novalidate {
            h3 id="new-hook" { "Add a webhook" }
            input type="hidden" name="csrf" value=(s.csrf());
            (input("name", "Name", "text", o.value("name"), "", o.error("name")))
            (input("url", "URL", "url", o.value("url"), "http or https, to a host the server's outbound policy allows; redirects are not followed.", o.error("url")))
            (select("style", "Message style", &styles, o.value("style"), o.error("style")))
            fieldset {
                legend { "Send when" }
                @if let Some(e) = o.error("results") { p class="error" { (e) } }
                @for (k, v) in RESULTS {
                    label class="check" { input type="checkbox" name="results" value=(k) checked[chosen(k)]; " " (v) }
                }
            }
            (select("min_severity", "Also each new finding at", &severities, o.value("min_severity"), o.error("min_severity")))
            (input("model_id", "Only this model (ID)", "text", o.value("model_id"), "Empty: every model of the tenant.", o.error("model_id")))
            (input("secret", "Signing secret", "password", "", "16 to 256 characters; empty: one is made and shown once.", o.error("secret")))
            button type="submit" { "Add webhook" }
        }
    }
}

pub(crate) async fn create_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut f = std::collections::BTreeMap::<String, String>::new();
    let mut results = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        if k == "results" {
            results.push(v.into_owned());
        } else {
            f.insert(k.into_owned(), v.into_owned());
        }
    }
    let field = |k: &str| f.get(k).map_or("", |v| v.trim()).to_owned();
    let s = acting_or_answer!(state, req, &field("csrf"), CREATE_HOOK);
    let o = Outcome::keeping([
        ("name", field("name")),
        ("url", field("url")),
        ("style", field("style")),
        ("min_severity", field("min_severity")),
        ("model_id", field("model_id")),
        ("results", results.join(",")),
    ]);
    let some = |k: &str| Some(field(k)).filter(|v| !v.is_empty());
    let input = NewWebhookInput {
        name: field("name"),
        url: field("url"),
        style: some("style"),
        secret: some("secret"),
        model_id: some("model_id"),
        results: Some(results),
        min_severity: some("min_severity"),
        enabled: Some(true),
    };
    match add(&state, s.caller.clone(), input).await {
        Ok(h) => {
            let o = match h.secret {
                Some(secret) => Outcome::once(
                    format!("Webhook '{}' added: its signing secret", h.webhook.name),
                    secret,
                ),
                None => Outcome::done(format!("Webhook '{}' added.", h.webhook.name)),
            };
            page(&state, &s, &o).await
        }
        Err(e) if e.status.is_client_error() => {
            let fields = [
                "name",
                "url",
                "style",
                "results",
                "min_severity",
                "secret",
                "model_id",
            ];
            page(&state, &s, &o.refused(&e, &fields)).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn test_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, TEST_HOOK);
    let o = match test_delivery(&state, s.caller.clone(), path.into_inner()).await {
        Ok(t) if t.ok => Outcome::done(format!(
            "Test message delivered (HTTP {}).",
            t.status_code.unwrap_or_default()
        )),
        Ok(t) => Outcome::default().failed(
            "form",
            format!(
                "Test message not delivered: {}",
                t.error.unwrap_or_default()
            ),
        ),
        Err(e) if e.status.is_client_error() => Outcome::default().refused(&e, &[]),
        Err(e) => return Err(e),
    };
    // A failed test is an answer, not a wrong field: the page is 200 either way.
    let shown = page(&state, &s, &o).await?;
    Ok(with_ok(shown))
}

fn with_ok(mut r: HttpResponse) -> HttpResponse {
    *r.status_mut() = actix_web::http::StatusCode::OK;
    r
}

pub(crate) async fn delete_hook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, DELETE_HOOK);
    let o = removed(remove(&state, s.caller.clone(), path.into_inner()).await)?;
    page(&state, &s, &o).await
}
