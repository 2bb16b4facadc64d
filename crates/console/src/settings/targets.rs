//! The probe targets tab: the LLM endpoint each model's active audits call, with their limits.
//! A target's secret is write-only here as in the API: a page says only whether one is stored.

use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::api::read;
use audit_http::api::targets::{TargetInput, remove_target, set_target as put};
use audit_http::{ApiError, AppState};
use audit_store::repo::targets::{self, TargetView};
use maud::{Markup, html};
use serde::Deserialize;

use super::people::{Csrf, acting_or_answer, button_form};
use super::{Outcome, Tab, closed, frame, number, removed};
use crate::acting::{DELETE_TARGET, SET_TARGET};
use crate::form_markup::{input, select};
use crate::pages::time;
use crate::session::Session;
use crate::{acting, may};

pub(crate) async fn targets(
    state: web::Data<AppState>,
    s: Session,
) -> Result<HttpResponse, ApiError> {
    if let Some(r) = closed(&s, Tab::Targets) {
        return Ok(r);
    }
    page(&state, &s, &Outcome::default()).await
}

fn limits(t: &TargetView) -> String {
    format!(
        "{} calls, {} tokens per run; {} a minute; {} s each",
        t.max_calls, t.token_budget, t.requests_per_minute, t.timeout_secs
    )
}

async fn page(
    state: &web::Data<AppState>,
    s: &Session,
    o: &Outcome,
) -> Result<HttpResponse, ApiError> {
    let scope = s.caller.scope();
    let list: Vec<TargetView> = read(state, move |c| {
        Ok(targets::list(c, scope.as_deref())?
            .iter()
            .map(targets::ActiveTarget::view)
            .collect())
    })
    .await?;
    let act = may(s, SET_TARGET);
    let remove = may(s, DELETE_TARGET);
    let body = html! {
        p class="hint" {
            "An LLM model's active audit sends bounded probes (prompt injection, leakage, jailbreaks) "
            "to its target and keeps only the verdicts. Each run stops at its call and token budget."
        }
        @if list.is_empty() {
            p class="empty" { "No probe target yet: active audits have nothing to call." @if act { " Set one for an LLM model below." } }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="Probe targets" { table {
                thead { tr {
                    th scope="col" { "Model" } th scope="col" { "Endpoint" } th scope="col" { "Credential" }
                    th scope="col" { "Limits" } th scope="col" { "Updated" }
                    @if remove { th scope="col" { span class="visually-hidden" { "Actions" } } }
                } }
                tbody { @for t in &list { tr {
                    th scope="row" { a href={ "/console/models/" (t.model_id) } { (t.model_id) } }
                    td class="wrap" { code { (t.url) } br; small { (t.api_style) ", model " (t.model) } }
                    td { @match (&t.auth_header, t.has_secret) {
                        (Some(h), true) => { "stored, sent as " code { (h) } },
                        _ => "none",
                    } }
                    td { (limits(t)) } td { (time(t.updated_at)) }
                    @if remove { td { (button_form(s, &format!("/console/settings/targets/{}/delete", t.model_id), "Remove", &t.model_id)) } }
                } } }
            } }
        }
        @if act { (form(s, o)) }
    };
    Ok(frame(s, Tab::Targets, o, body))
}

fn form(s: &Session, o: &Outcome) -> Markup {
    let styles = [
        ("openai_chat", "OpenAI-compatible chat completions"),
        ("anthropic_messages", "Anthropic-style messages"),
    ];
    let n = |k: &'static str, label: &str, hint: &str| {
        input(k, label, "number", o.value(k), hint, o.error(k))
    };
    html! {
        form class="card wide" method="post" action="/console/settings/targets" aria-labelledby="set-target" novalidate {
            h3 id="set-target" { "Set a model's probe target" }
            p class="hint" { "Replaces the model's target if it has one." }
            input type="hidden" name="csrf" value=(s.csrf());
            (input("model_id", "Model ID", "text", o.value("model_id"), "", o.error("model_id")))
            (select("api_style", "API", &styles, o.value("api_style"), o.error("api_style")))
            (input("url", "Endpoint URL", "url", o.value("url"), "e.g. https://api.openai.com/v1/chat/completions", o.error("url")))
            (input("model", "Model name sent", "text", o.value("model"), "", o.error("model")))
            (input("auth_header", "Credential header", "text", o.value("auth_header"), "e.g. authorization or x-api-key; empty: none.", o.error("auth_header")))
            (input("secret", "Credential", "password", "", "Write-only: stored sealed, never shown. Empty keeps a stored one for the same URL and header.", o.error("secret")))
            div class="grid" {
                (n("max_calls", "Calls per run", "Default 200."))
                (n("token_budget", "Tokens per run", "Default 200,000."))
                (n("requests_per_minute", "Calls a minute", "Default 30."))
                (n("timeout_secs", "Seconds per call", "Default 30."))
            }
            button type="submit" { "Save target" }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TargetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    model_id: String,
    #[serde(default)]
    api_style: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    auth_header: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    max_calls: String,
    #[serde(default)]
    token_budget: String,
    #[serde(default)]
    requests_per_minute: String,
    #[serde(default)]
    timeout_secs: String,
}

fn some(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The API's input from the form, or the field that is not a number.
fn input_of(f: &TargetForm) -> Result<TargetInput, (&'static str, String)> {
    let whole = |k: &'static str, v: &str| number::<i64>(v).map_err(|e| (k, e));
    let small = |k: &'static str, v: &str| number::<i32>(v).map_err(|e| (k, e));
    Ok(TargetInput {
        api_style: some(&f.api_style),
        url: f.url.trim().to_owned(),
        model: f.model.trim().to_owned(),
        auth_header: some(&f.auth_header),
        secret: some(&f.secret),
        temperature: None,
        max_tokens: None,
        requests_per_minute: small("requests_per_minute", &f.requests_per_minute)?,
        timeout_secs: small("timeout_secs", &f.timeout_secs)?,
        max_calls: whole("max_calls", &f.max_calls)?,
        token_budget: whole("token_budget", &f.token_budget)?,
    })
}

pub(crate) async fn set_target(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, SET_TARGET);
    let f = form.into_inner();
    let o = Outcome::keeping([
        ("model_id", f.model_id.clone()),
        ("api_style", f.api_style.clone()),
        ("url", f.url.clone()),
        ("model", f.model.clone()),
        ("auth_header", f.auth_header.clone()),
        ("max_calls", f.max_calls.clone()),
        ("token_budget", f.token_budget.clone()),
        ("requests_per_minute", f.requests_per_minute.clone()),
        ("timeout_secs", f.timeout_secs.clone()),
    ]);
    let id = f.model_id.trim().to_owned();
    if id.is_empty() {
        return page(
            &state,
            &s,
            &o.failed("model_id", "model_id must not be empty"),
        )
        .await;
    }
    let input = match input_of(&f) {
        Ok(i) => i,
        Err((field, e)) => return page(&state, &s, &o.failed(field, e)).await,
    };
    match put(&state, s.caller.clone(), id, input).await {
        Ok(t) => {
            let done = format!("Probe target of '{}' saved.", t.model_id);
            page(&state, &s, &Outcome::done(done)).await
        }
        Err(e) if e.status.is_client_error() && e.detail.starts_with("a secret needs") => {
            page(&state, &s, &o.failed("auth_header", e.detail)).await
        }
        Err(e) if e.status.is_client_error() => {
            let fields = [
                "model_id",
                "url",
                "api_style",
                "model",
                "max_calls",
                "token_budget",
                "requests_per_minute",
                "timeout_secs",
            ];
            let o = o.refused(&e, &fields);
            page(&state, &s, &o).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn delete_target(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, DELETE_TARGET);
    let o = removed(remove_target(&state, s.caller.clone(), path.into_inner()).await)?;
    page(&state, &s, &o).await
}
