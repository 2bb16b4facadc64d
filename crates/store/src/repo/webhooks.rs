//! `webhooks` and `webhook_deliveries`: where notifications go and what became of each try.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{naive, utc};
use crate::schema::{webhook_deliveries, webhooks};
use crate::{AnyConnection, StoreError};

/// A target with its secret: for the sender only, never serialised.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub tenant_id: String,
    pub name: String,
    pub url: String,
    pub style: String,
    pub secret: String,
    pub model_id: Option<String>,
    /// JSON array of audit results (`AUDIT_FAIL`, …, `FAILED` for runs without one); empty:
    /// every completed audit.
    pub results: String,
    pub min_severity: Option<String>,
    pub enabled: bool,
    pub last_event_id: i64,
    pub created_at: chrono::NaiveDateTime,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What the API shows of a target (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: i64,
    pub tenant_id: String,
    pub name: String,
    pub url: String,
    /// `json`, `slack` or `teams`.
    pub style: String,
    pub model_id: Option<String>,
    pub results: Vec<String>,
    pub min_severity: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    pub fn results(&self) -> Vec<String> {
        serde_json::from_str(&self.results).unwrap_or_default()
    }
    pub fn view(&self) -> WebhookView {
        WebhookView {
            id: self.id,
            tenant_id: self.tenant_id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            style: self.style.clone(),
            model_id: self.model_id.clone(),
            results: self.results(),
            min_severity: self.min_severity.clone(),
            enabled: self.enabled,
            created_at: utc(self.created_at),
        }
    }
}

/// A new target's fields.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub style: &'a str,
    pub secret: &'a str,
    pub model_id: Option<&'a str>,
    pub results: &'a [String],
    pub min_severity: Option<&'a str>,
    pub enabled: bool,
    /// Deliver events after this id (the newest at creation: no history is replayed).
    pub start_after: i64,
}

pub fn create(conn: &mut AnyConnection, w: &NewWebhook<'_>) -> Result<Webhook, StoreError> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::tenant_id.eq(w.tenant_id),
            webhooks::name.eq(w.name),
            webhooks::url.eq(w.url),
            webhooks::style.eq(w.style),
            webhooks::secret.eq(w.secret),
            webhooks::model_id.eq(w.model_id),
            webhooks::results.eq(serde_json::json!(w.results).to_string()),
            webhooks::min_severity.eq(w.min_severity),
            webhooks::enabled.eq(w.enabled),
            webhooks::last_event_id.eq(w.start_after),
            webhooks::created_at.eq(naive(crate::now())),
        ))
        .execute(conn)?;
    webhooks::table
        .order(webhooks::id.desc())
        .select(Webhook::as_select())
        .first(conn)
        .map_err(Into::into)
}

pub fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Webhook>, StoreError> {
    Ok(webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()?)
}

/// Targets of one tenant (`None`: all), or only enabled ones.
pub fn list(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    only_enabled: bool,
) -> Result<Vec<Webhook>, StoreError> {
    let mut q = webhooks::table.into_boxed();
    if let Some(t) = tenant {
        q = q.filter(webhooks::tenant_id.eq(t.to_owned()));
    }
    if only_enabled {
        q = q.filter(webhooks::enabled.eq(true));
    }
    Ok(q.order(webhooks::id.asc())
        .select(Webhook::as_select())
        .load(conn)?)
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(webhooks::table.find(id)).execute(conn)? == 1)
}

/// Claims the events after `from` up to `to` for delivery: true for exactly one claimant,
/// also across instances.
pub fn claim(conn: &mut AnyConnection, id: i64, from: i64, to: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(
        webhooks::table
            .find(id)
            .filter(webhooks::last_event_id.eq(from)),
    )
    .set(webhooks::last_event_id.eq(to))
    .execute(conn)?
        == 1)
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub attempt: i32,
    pub ok: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    #[serde(serialize_with = "as_utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub at: chrono::NaiveDateTime,
}

fn as_utc<S: serde::Serializer>(t: &chrono::NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    utc(*t).serialize(s)
}

#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut AnyConnection,
    webhook_id: i64,
    event_id: i64,
    event_type: &str,
    attempt: i32,
    ok: bool,
    status_code: Option<i32>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::attempt.eq(attempt),
            webhook_deliveries::ok.eq(ok),
            webhook_deliveries::status_code.eq(status_code),
            webhook_deliveries::error.eq(error),
            webhook_deliveries::at.eq(naive(crate::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// The latest attempts of a target, newest first.
pub fn deliveries(
    conn: &mut AnyConnection,
    webhook_id: i64,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit.clamp(1, 500))
        .select(Delivery::as_select())
        .load(conn)?)
}

/// Removes delivery records made before `before` (retention); returns how many.
pub fn prune_deliveries(
    conn: &mut AnyConnection,
    before: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::at.lt(naive(before))))
            .execute(conn)?,
    )
}
