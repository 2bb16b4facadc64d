//! A model's active-audit target: `PUT`/`GET`/`DELETE /models/{model_id}/active-target`.
//! The secret is write-only: stored sealed for use, never returned, never logged; the URL is
//! returned with its user-info and query values masked.

use actix_web::{HttpResponse, delete, get, put, web};
use audit_store::StoreError;
use audit_store::repo::targets;
use audit_store::repo::targets::TargetView;
use serde::Deserialize;

use super::{Deleted, changeable_model, read, visible_model, write};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// A chat endpoint (OpenAI-compatible chat completions, or Anthropic-style messages) and the
/// limits of each active run.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// `openai_chat` (default: OpenAI, Azure OpenAI, vLLM, llama.cpp, Ollama, most gateways) or
    /// `anthropic_messages` (`POST /v1/messages`; use `auth_header: x-api-key`).
    #[serde(default)]
    pub api_style: Option<String>,
    /// Endpoint URL, e.g. `https://api.openai.com/v1/chat/completions` or
    /// `https://api.anthropic.com/v1/messages`.
    pub url: String,
    /// Model name sent with each request.
    pub model: String,
    /// Header carrying the credential, e.g. `authorization` or `api-key`.
    #[serde(default)]
    pub auth_header: Option<String>,
    /// The header's value. Write-only; omit it on an update to keep the stored one.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Largest answer per call, in tokens (default 256).
    #[serde(default)]
    pub max_tokens: Option<i32>,
    /// Default 30.
    #[serde(default)]
    pub requests_per_minute: Option<i32>,
    /// Per call, default 30.
    #[serde(default)]
    pub timeout_secs: Option<i32>,
    /// Most calls per run (default 200).
    #[serde(default)]
    pub max_calls: Option<i64>,
    /// Most tokens per run, as the endpoint reports them (default 200,000).
    #[serde(default)]
    pub token_budget: Option<i64>,
}

impl std::fmt::Debug for TargetInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetInput")
            .field("model", &self.model)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

fn check(t: &TargetInput) -> Result<(), ApiError> {
    if t.url.len() > 2048 {
        return Err(ApiError::invalid("url is longer than 2048 characters"));
    }
    if let Some(s) = &t.api_style
        && audit_rules::probe::ApiStyle::parse(s).is_none()
    {
        return Err(ApiError::invalid(format!(
            "api_style '{s}' is not one of openai_chat, anthropic_messages"
        )));
    }
    if t.model.trim().is_empty() {
        return Err(ApiError::invalid("model must not be empty"));
    }
    if t.secret.is_some() && t.auth_header.is_none() {
        return Err(ApiError::invalid(
            "a secret needs auth_header (the header that carries it)",
        ));
    }
    let range = |name: &str, v: Option<i64>, lo: i64, hi: i64| match v {
        Some(x) if !(lo..=hi).contains(&x) => Err(ApiError::invalid(format!(
            "{name} must be between {lo} and {hi}"
        ))),
        _ => Ok(()),
    };
    range("max_tokens", t.max_tokens.map(i64::from), 1, 32_768)?;
    range(
        "requests_per_minute",
        t.requests_per_minute.map(i64::from),
        1,
        6_000,
    )?;
    range("timeout_secs", t.timeout_secs.map(i64::from), 1, 300)?;
    range("max_calls", t.max_calls, 1, 100_000)?;
    range("token_budget", t.token_budget, 1, 100_000_000)?;
    if let Some(x) = t.temperature
        && !(0.0..=2.0).contains(&x)
    {
        return Err(ApiError::invalid("temperature must be between 0 and 2"));
    }
    Ok(())
}

/// Set the model's active-audit target (replaces it).
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    request_body = TargetInput,
    responses(
        (status = 200, body = TargetView),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "The model is archived", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[put("/models/{model_id}/active-target")]
pub async fn put_target(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<TargetInput>,
) -> Result<HttpResponse, ApiError> {
    let view = set_target(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Sets a model's active-audit target as `PUT /models/{model_id}/active-target` does (the
/// console's settings page calls it too).
pub async fn set_target(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
    t: TargetInput,
) -> Result<TargetView, ApiError> {
    check(&t)?;
    // Another tenant's model is "not found" before anything is said about the URL.
    let (who, mid) = (caller.clone(), id.clone());
    read(state, move |c| visible_model(c, &who, &mid).map(|_| ())).await?;
    super::check_outbound(state, &t.url).await?;
    let sealer = state.store.sealer()?;
    let view = write(state, move |c| {
        changeable_model(c, &caller, &id)?;
        // A stored secret is kept only for the same URL and header: otherwise an edit could
        // send it somewhere new without whoever set it knowing.
        let old = targets::get(c, &id)?
            .map(|old| old.open(&sealer))
            .transpose()?;
        let before = old.as_ref().map_or(serde_json::Value::Null, target_state);
        // The URL given back as it was shown (masked) is the stored one.
        let url = match &old {
            Some(o) if t.url != o.url && t.url == audit_store::secrets::mask_url(&o.url) => {
                o.url.clone()
            }
            _ => t.url,
        };
        let kept = old
            .filter(|old| old.url == url && old.auth_header == t.auth_header)
            .and_then(|old| old.secret);
        let target = targets::Target {
            model_id: id.clone(),
            url,
            model_name: t.model,
            auth_header: t.auth_header,
            secret: t.secret.or(kept),
            temperature: t.temperature.unwrap_or(0.0),
            max_tokens: t.max_tokens.unwrap_or(256),
            requests_per_minute: t.requests_per_minute.unwrap_or(30),
            timeout_secs: t.timeout_secs.unwrap_or(30),
            max_calls: t.max_calls.unwrap_or(200),
            token_budget: t.token_budget.unwrap_or(200_000),
            api_style: t.api_style.unwrap_or_else(|| "openai_chat".into()),
        };
        let view = targets::put(c, &sealer, &target, audit_store::now())?.view();
        audit_store::repo::log::record_for_model(
            c,
            &id,
            &caller.actor,
            "target.set",
            "active_target",
            &id,
            audit_store::repo::log::diff(&before, &target_state(&target)),
        )?;
        Ok(view)
    })
    .await?;
    tracing::info!(model_id = %view.model_id, has_secret = view.has_secret, "active target set");
    Ok(view)
}

/// The model's active-audit target (without its secret).
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    responses((status = 200, body = TargetView), (status = 404, body = crate::ErrorBody))
)]
#[get("/models/{model_id}/active-target")]
pub async fn get_target(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let t = read(&state, move |c| {
        visible_model(c, &caller, &id)?;
        targets::get(c, &id)?
            .ok_or_else(|| StoreError::NotFound(format!("model '{id}' has no active target")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(t.view()))
}

/// Remove the model's active-audit target (its active audits stop).
#[utoipa::path(
    tag = "models",
    params(("model_id" = String, Path, description = "The model's identifier")),
    responses((status = 200, body = Deleted), (status = 404, body = crate::ErrorBody))
)]
#[delete("/models/{model_id}/active-target")]
pub async fn delete_target(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = remove_target(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Removes a model's active-audit target as `DELETE /models/{model_id}/active-target` does.
pub async fn remove_target(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<Deleted, ApiError> {
    let msg = format!("active target of '{id}' removed");
    write(state, move |c| {
        // Allowed on an archived model too: removing a stored secret never waits for a restore.
        visible_model(c, &caller, &id)?;
        if targets::delete(c, &id)? {
            audit_store::repo::log::record_for_model(
                c,
                &id,
                &caller.actor,
                "target.delete",
                "active_target",
                &id,
                serde_json::json!({"before": {"model_id": id}}),
            )?;
            super::models::warn_of_policy(c, &id)?;
            Ok(())
        } else {
            Err(StoreError::NotFound(format!(
                "model '{id}' has no active target"
            )))
        }
    })
    .await?;
    Ok(Deleted {
        deleted: true,
        detail: msg,
    })
}

/// A target as the log compares it: its settings, full URL and secret — the log's scrubber
/// turns the URL's user-info and query values and the secret into fingerprints, so a changed
/// secret shows as a changed fingerprint and none is stored.
fn target_state(t: &targets::Target) -> serde_json::Value {
    serde_json::json!({
        "url": t.url, "model": t.model_name, "auth_header": t.auth_header, "secret": t.secret,
        "temperature": t.temperature, "max_tokens": t.max_tokens,
        "requests_per_minute": t.requests_per_minute, "timeout_secs": t.timeout_secs,
        "max_calls": t.max_calls, "token_budget": t.token_budget, "api_style": t.api_style,
    })
}
