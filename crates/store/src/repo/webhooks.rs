//! `webhooks` and `webhook_deliveries`: where notifications go and what became of each try.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use audit_keys::Sealer;

use crate::records::{naive, utc};
use crate::schema::{webhook_deliveries, webhooks};
use crate::secrets::{self, Reseal, RowState, Tally, context};
use crate::{AnyConnection, StoreError};

/// A stored target: `url` masked (user-info and query values `***`), `url_sealed` the full URL
/// when masking hid anything, `secret` sealed and bound to the full URL. Never serialised;
/// [`Webhook::destination`] opens what the sender needs.
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
    pub url_sealed: Option<String>,
}

/// Where a webhook is POSTed and the key its bodies are signed with, opened for one delivery.
#[derive(Clone)]
pub struct Destination {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("url", &secrets::mask_url(&self.url))
            .finish_non_exhaustive()
    }
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

    /// The full URL and the secret: for the sender, right before it sends.
    pub fn destination(&self, sealer: &Sealer) -> Result<Destination, StoreError> {
        let url = secrets::open_url(
            sealer,
            &context::webhook_url(&self.tenant_id),
            &self.url,
            self.url_sealed.as_deref(),
        )?;
        let secret = secrets::open_secret(
            sealer,
            &context::webhook_secret(&self.tenant_id, &url),
            &self.secret,
        )?;
        Ok(Destination { url, secret })
    }
}

/// `(url, url_sealed, secret)` columns of a destination.
fn sealed_columns(
    sealer: &Sealer,
    tenant_id: &str,
    d: &Destination,
) -> Result<(String, Option<String>, String), StoreError> {
    let url = secrets::store_url(sealer, &context::webhook_url(tenant_id), &d.url)?;
    let secret = sealer.seal(&context::webhook_secret(tenant_id, &d.url), &d.secret)?;
    Ok((url.shown, url.sealed, secret))
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

/// Adds a target, its URL and secret sealed.
pub fn create(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    w: &NewWebhook<'_>,
) -> Result<Webhook, StoreError> {
    let (url, url_sealed, secret) = sealed_columns(
        sealer,
        w.tenant_id,
        &Destination {
            url: w.url.to_owned(),
            secret: w.secret.to_owned(),
        },
    )?;
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::tenant_id.eq(w.tenant_id),
            webhooks::name.eq(w.name),
            webhooks::url.eq(url),
            webhooks::url_sealed.eq(url_sealed),
            webhooks::style.eq(w.style),
            webhooks::secret.eq(secret),
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

/// Seals the targets still plain or (in [`Reseal::All`]) sealed with another key
/// ([`secrets::reseal`]).
pub(crate) fn reseal(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    mode: Reseal,
) -> Result<Tally, StoreError> {
    let mut tally = Tally::default();
    for h in list(conn, None, false)? {
        let state = secrets::row_state(
            sealer,
            mode,
            h.url_sealed.is_none().then_some(h.url.as_str()),
            &[h.url_sealed.as_deref(), Some(h.secret.as_str())],
            !audit_keys::seal::is_sealed(&h.secret),
        );
        tally.count(state);
        if state != RowState::Reseal {
            continue;
        }
        let (url, url_sealed, secret) =
            sealed_columns(sealer, &h.tenant_id, &h.destination(sealer)?)?;
        diesel::update(webhooks::table.find(h.id))
            .set((
                webhooks::url.eq(url),
                webhooks::url_sealed.eq(url_sealed),
                webhooks::secret.eq(secret),
            ))
            .execute(conn)?;
    }
    Ok(tally)
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
