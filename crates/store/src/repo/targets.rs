//! `active_targets`: where a model's active audit sends its probes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use audit_keys::Sealer;

use crate::records::{naive, utc};
use crate::schema::active_targets;
use crate::secrets::{self, Reseal, RowState, Tally, context, mask_url};
use crate::{AnyConnection, StoreError};

/// A model's probe target as configured, full URL and secret included: what [`put`] seals and
/// [`ActiveTarget::open`] returns, for the runner only. Never serialised; `Debug` hides both.
#[derive(Clone, PartialEq)]
pub struct Target {
    pub model_id: String,
    pub url: String,
    pub model_name: String,
    pub auth_header: Option<String>,
    pub secret: Option<String>,
    pub temperature: f64,
    pub max_tokens: i32,
    pub requests_per_minute: i32,
    pub timeout_secs: i32,
    pub max_calls: i64,
    pub token_budget: i64,
    /// `openai_chat` or `anthropic_messages`.
    pub api_style: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("model_id", &self.model_id)
            .field("url", &mask_url(&self.url))
            .field("model_name", &self.model_name)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// A stored target: `url` masked (user-info and query values `***`), `url_sealed` the full URL
/// when masking hid anything, `secret` sealed and bound to the full URL.
#[derive(Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = active_targets)]
pub struct ActiveTarget {
    pub model_id: String,
    pub url: String,
    pub model_name: String,
    pub auth_header: Option<String>,
    pub secret: Option<String>,
    pub temperature: f64,
    pub max_tokens: i32,
    pub requests_per_minute: i32,
    pub timeout_secs: i32,
    pub max_calls: i64,
    pub token_budget: i64,
    pub updated_at: chrono::NaiveDateTime,
    /// `openai_chat` or `anthropic_messages`.
    pub api_style: String,
    pub url_sealed: Option<String>,
}

impl std::fmt::Debug for ActiveTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveTarget")
            .field("model_id", &self.model_id)
            .field("model_name", &self.model_name)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// What the API shows of a target: everything but the secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetView {
    pub model_id: String,
    /// `openai_chat` (chat completions) or `anthropic_messages`.
    pub api_style: String,
    pub url: String,
    pub model: String,
    pub auth_header: Option<String>,
    /// Whether a secret is stored (it is never returned; the URL is shown with its user-info
    /// and query values masked).
    pub has_secret: bool,
    pub temperature: f64,
    pub max_tokens: i32,
    pub requests_per_minute: i32,
    pub timeout_secs: i32,
    pub max_calls: i64,
    pub token_budget: i64,
    pub updated_at: DateTime<Utc>,
}

impl ActiveTarget {
    pub fn view(&self) -> TargetView {
        TargetView {
            model_id: self.model_id.clone(),
            api_style: self.api_style.clone(),
            url: self.url.clone(),
            model: self.model_name.clone(),
            auth_header: self.auth_header.clone(),
            has_secret: self.secret.is_some(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            requests_per_minute: self.requests_per_minute,
            timeout_secs: self.timeout_secs,
            max_calls: self.max_calls,
            token_budget: self.token_budget,
            updated_at: utc(self.updated_at),
        }
    }

    /// The target with its full URL and secret opened: for the runner, right before it calls.
    pub fn open(&self, sealer: &Sealer) -> Result<Target, StoreError> {
        let url = secrets::open_url(
            sealer,
            &context::target_url(&self.model_id),
            &self.url,
            self.url_sealed.as_deref(),
        )?;
        let secret = self
            .secret
            .as_deref()
            .map(|s| secrets::open_secret(sealer, &context::target_secret(&self.model_id, &url), s))
            .transpose()?;
        Ok(Target {
            model_id: self.model_id.clone(),
            url,
            model_name: self.model_name.clone(),
            auth_header: self.auth_header.clone(),
            secret,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            requests_per_minute: self.requests_per_minute,
            timeout_secs: self.timeout_secs,
            max_calls: self.max_calls,
            token_budget: self.token_budget,
            api_style: self.api_style.clone(),
        })
    }
}

impl Target {
    /// The row that stores it: URL masked and sealed, secret sealed.
    fn sealed(
        &self,
        sealer: &Sealer,
        at: chrono::NaiveDateTime,
    ) -> Result<ActiveTarget, StoreError> {
        let url = secrets::store_url(sealer, &context::target_url(&self.model_id), &self.url)?;
        let secret_ctx = context::target_secret(&self.model_id, &self.url);
        Ok(ActiveTarget {
            model_id: self.model_id.clone(),
            url: url.shown,
            url_sealed: url.sealed,
            model_name: self.model_name.clone(),
            auth_header: self.auth_header.clone(),
            secret: self
                .secret
                .as_deref()
                .map(|s| sealer.seal(&secret_ctx, s))
                .transpose()?,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            requests_per_minute: self.requests_per_minute,
            timeout_secs: self.timeout_secs,
            max_calls: self.max_calls,
            token_budget: self.token_budget,
            updated_at: at,
            api_style: self.api_style.clone(),
        })
    }
}

pub fn get(conn: &mut AnyConnection, model_id: &str) -> Result<Option<ActiveTarget>, StoreError> {
    Ok(active_targets::table
        .find(model_id)
        .select(ActiveTarget::as_select())
        .first(conn)
        .optional()?)
}

/// The targets of a tenant's models (every tenant's when `tenant` is `None`), by model id.
pub fn list(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
) -> Result<Vec<ActiveTarget>, StoreError> {
    use crate::schema::ai_models;
    let mut q = active_targets::table
        .select(ActiveTarget::as_select())
        .order(active_targets::model_id.asc())
        .into_boxed();
    if let Some(t) = tenant {
        // A subquery rather than a join: the tables share no declared relation.
        q = q.filter(
            active_targets::model_id.eq_any(
                ai_models::table
                    .filter(ai_models::tenant_id.eq(t.to_owned()))
                    .select(ai_models::model_id),
            ),
        );
    }
    Ok(q.load(conn)?)
}

/// Inserts or replaces the target (call inside `Store::write`), sealing its URL and secret.
/// Returns the stored row.
pub fn put(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    t: &Target,
    at: DateTime<Utc>,
) -> Result<ActiveTarget, StoreError> {
    let row = t.sealed(sealer, naive(at))?;
    diesel::delete(active_targets::table.find(&t.model_id)).execute(conn)?;
    diesel::insert_into(active_targets::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Seals the targets still plain or (in [`Reseal::All`]) sealed with another key
/// ([`secrets::reseal`]).
pub(crate) fn reseal(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    mode: Reseal,
) -> Result<Tally, StoreError> {
    let rows = active_targets::table
        .order(active_targets::model_id.asc())
        .select(ActiveTarget::as_select())
        .load(conn)?;
    let mut tally = Tally::default();
    for row in rows {
        let state = secrets::row_state(
            sealer,
            mode,
            row.url_sealed.is_none().then_some(row.url.as_str()),
            &[row.url_sealed.as_deref(), row.secret.as_deref()],
            row.secret
                .as_deref()
                .is_some_and(|s| !audit_keys::seal::is_sealed(s)),
        );
        tally.count(state);
        if state != RowState::Reseal {
            continue;
        }
        let sealed = row.open(sealer)?.sealed(sealer, row.updated_at)?;
        diesel::update(active_targets::table.find(&row.model_id))
            .set((
                active_targets::url.eq(&sealed.url),
                active_targets::url_sealed.eq(&sealed.url_sealed),
                active_targets::secret.eq(&sealed.secret),
            ))
            .execute(conn)?;
    }
    Ok(tally)
}

pub fn delete(conn: &mut AnyConnection, model_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(active_targets::table.find(model_id)).execute(conn)? == 1)
}
