//! `/webhooks`: notification targets of the caller's tenant, their delivery attempts, and a
//! test delivery (the frontend's "Connection Test").

use actix_web::{HttpResponse, delete, get, post, web};
use audit_store::StoreError;
use audit_store::repo::events::Event;
use audit_store::repo::webhooks::{self, Delivery, WebhookView};
use audit_store::repo::{events, log};
use serde::{Deserialize, Serialize};

use super::models::check_text;
use super::{Deleted, read, visible_model, write};
use crate::auth::{self, Caller};
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookInput {
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Where to POST (http or https; redirects are not followed).
    pub url: String,
    /// `json` (default), `slack` (incoming-webhook `{"text"}`) or `teams` (MessageCard).
    pub style: Option<String>,
    /// The HMAC key; generated (and shown once) when absent. Stored sealed; a given secret is
    /// never returned.
    pub secret: Option<String>,
    /// Only this model's events (a policy is per model).
    pub model_id: Option<String>,
    /// Completed audits with these results (`AUDIT_FAIL`, `AUDIT_WARN`, `AUDIT_PASS`,
    /// `BASELINE_CREATED`, or `FAILED`/`PARTIAL` for runs without a result); default
    /// `["AUDIT_FAIL", "FAILED"]`; empty: every completed audit.
    pub results: Option<Vec<String>>,
    /// Also each new finding at or above this severity (`LOW` … `CRITICAL`); default none.
    pub min_severity: Option<String>,
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for NewWebhookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhookInput")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The generated secret, shown once (absent when the request gave one): verify
    /// `X-Auditor-Signature` (`sha256=` HMAC-SHA256 of the body) with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

const RESULTS: [&str; 6] = [
    "AUDIT_PASS",
    "AUDIT_WARN",
    "AUDIT_FAIL",
    "BASELINE_CREATED",
    "FAILED",
    "PARTIAL",
];

fn visible_hook(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    id: i64,
) -> Result<webhooks::Webhook, StoreError> {
    let missing = || StoreError::NotFound(format!("webhook {id} not found"));
    let h = webhooks::get(c, id)?.ok_or_else(missing)?;
    if caller.sees(&h.tenant_id) {
        Ok(h)
    } else {
        Err(missing())
    }
}

/// Add a notification target.
#[utoipa::path(
    tag = "notifications",
    request_body = NewWebhookInput,
    responses((status = 201, body = CreatedWebhook), (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody))
)]
#[post("/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewWebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let h = add(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(h))
}

/// Adds a notification target as `POST /webhooks` does (the console's settings page too).
pub async fn add(
    state: &web::Data<AppState>,
    caller: Caller,
    b: NewWebhookInput,
) -> Result<CreatedWebhook, ApiError> {
    check_text("name", &b.name, 128)?;
    if b.url.len() > 2048 {
        return Err(ApiError::invalid("url is longer than 2048 characters"));
    }
    if let Some(m) = b.model_id.clone() {
        // Another tenant's model is "not found" before anything is said about the URL.
        let who = caller.clone();
        read(state, move |c| visible_model(c, &who, &m).map(|_| ())).await?;
    }
    super::check_outbound(state, &b.url).await?;
    let style = b.style.unwrap_or_else(|| "json".into());
    if !["json", "slack", "teams"].contains(&style.as_str()) {
        return Err(ApiError::invalid("style must be json, slack or teams"));
    }
    let results = b
        .results
        .unwrap_or_else(|| vec!["AUDIT_FAIL".into(), "FAILED".into()]);
    if let Some(r) = results.iter().find(|r| !RESULTS.contains(&r.as_str())) {
        return Err(ApiError::invalid(format!(
            "results: '{r}' is not one of {}",
            RESULTS.join(", ")
        )));
    }
    if let Some(m) = &b.min_severity
        && !["LOW", "MEDIUM", "HIGH", "CRITICAL"].contains(&m.as_str())
    {
        return Err(ApiError::invalid(
            "min_severity must be LOW, MEDIUM, HIGH or CRITICAL",
        ));
    }
    let (secret, shown) = match b.secret {
        Some(s) if s.len() < 16 || s.len() > 256 => {
            return Err(ApiError::invalid("secret must be 16 to 256 characters"));
        }
        Some(s) => (s, None),
        None => {
            let s = auth::random_hex(32)?;
            (s.clone(), Some(s))
        }
    };
    let sealer = state.store.sealer()?;
    let h = write(state, move |c| {
        let tenant = match &b.model_id {
            Some(m) => visible_model(c, &caller, m)?.tenant_id,
            None => caller.tenant_id.clone(),
        };
        let start_after = events::latest_id(c)?;
        let h = webhooks::create(
            c,
            &sealer,
            &webhooks::NewWebhook {
                tenant_id: &tenant,
                name: &b.name,
                url: &b.url,
                style: &style,
                secret: &secret,
                model_id: b.model_id.as_deref(),
                results: &results,
                min_severity: b.min_severity.as_deref(),
                enabled: b.enabled.unwrap_or(true),
                start_after,
            },
        )?;
        let view = h.view();
        log::append(
            c,
            &log::Change {
                tenant_id: &tenant,
                actor: &caller.actor,
                action: "webhook.create",
                object_type: "webhook",
                object_id: &h.id.to_string(),
                // The log keeps a fingerprint of the secret, never the secret.
                change: serde_json::json!({"after": {"webhook": view, "secret": secret}}),
            },
        )?;
        Ok(view)
    })
    .await?;
    Ok(CreatedWebhook {
        webhook: h,
        secret: shown,
    })
}

/// The tenant's notification targets (never their secrets).
#[utoipa::path(tag = "notifications", responses((status = 200, body = Vec<WebhookView>)))]
#[get("/webhooks")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let v = read(&state, move |c| {
        Ok(webhooks::list(c, scope.as_deref(), false)?
            .iter()
            .map(webhooks::Webhook::view)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Remove a notification target.
#[utoipa::path(
    tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = crate::ErrorBody))
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let d = delete_hook(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Removes a notification target as `DELETE /webhooks/{id}` does.
pub async fn delete_hook(
    state: &web::Data<AppState>,
    caller: Caller,
    id: i64,
) -> Result<Deleted, ApiError> {
    write(state, move |c| {
        let h = visible_hook(c, &caller, id)?;
        webhooks::delete(c, id)?;
        log::append(
            c,
            &log::Change {
                tenant_id: &h.tenant_id,
                actor: &caller.actor,
                action: "webhook.delete",
                object_type: "webhook",
                object_id: &id.to_string(),
                change: serde_json::json!({"before": {"id": id, "name": h.name, "url": h.url}}),
            },
        )
    })
    .await?;
    Ok(Deleted {
        deleted: true,
        detail: format!("webhook {id} removed"),
    })
}

/// Every delivery attempt of a target, newest first (at most 200).
#[utoipa::path(
    tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = crate::ErrorBody))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let v = read(&state, move |c| {
        visible_hook(c, &caller, id)?;
        webhooks::deliveries(c, id, 200)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestDelivery {
    pub ok: bool,
    /// The target's status on success; absent on failure.
    pub status_code: Option<u16>,
    /// On failure, one sentence whatever the cause (the server log has the details).
    pub error: Option<String>,
}

/// Send one `webhook.test` message now (one attempt, recorded) and say how it went.
#[utoipa::path(
    tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = TestDelivery), (status = 404, body = crate::ErrorBody))
)]
#[post("/webhooks/{id}/test")]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let got = test_delivery(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(got))
}

/// Sends one test message as `POST /webhooks/{id}/test` does.
pub async fn test_delivery(
    state: &web::Data<AppState>,
    caller: Caller,
    id: i64,
) -> Result<TestDelivery, ApiError> {
    let h = read(state, move |c| visible_hook(c, &caller, id)).await?;
    let event = Event {
        id: 0,
        kind: "webhook.test".into(),
        tenant_id: h.tenant_id.clone(),
        model_id: h.model_id.clone().unwrap_or_default(),
        data: serde_json::json!({"detail": "a test message from AI Auditor", "webhook": h.name}),
        created_at: audit_store::now(),
    };
    let store = state.store.clone();
    let outbound = state.runner.sources().outbound.clone();
    let got = web::block(move || {
        let destination = h.destination(&*store.sealer()?)?;
        let got = audit_scheduler::notify::send_once(
            &outbound,
            std::time::Duration::from_secs(5),
            &h,
            &destination,
            &event,
        );
        // One sentence for every failure: the answer must not tell refused from unreachable
        // from an error status.
        let (ok, status, error) = match got {
            Ok(s) => (true, Some(s), None),
            Err(_) => (
                false,
                None,
                Some(audit_scheduler::notify::DELIVERY_FAILED.to_owned()),
            ),
        };
        store.write(|c| {
            webhooks::record(
                c,
                h.id,
                0,
                "webhook.test",
                1,
                ok,
                status.map(i32::from),
                error.as_deref(),
            )
        })?;
        Ok::<_, StoreError>(TestDelivery {
            ok,
            status_code: status,
            error,
        })
    })
    .await??;
    Ok(got)
}
