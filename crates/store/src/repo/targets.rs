//! `active_targets`: where a model's active audit sends its probes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{naive, utc};
use crate::schema::active_targets;
use crate::{AnyConnection, StoreError};

/// A model's probe target, secret included: for the runner only, never serialised.
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
}

impl std::fmt::Debug for ActiveTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveTarget")
            .field("model_id", &self.model_id)
            .field("model_name", &self.model_name)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
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
    /// Whether a secret is stored (it is never returned).
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
}

pub fn get(conn: &mut AnyConnection, model_id: &str) -> Result<Option<ActiveTarget>, StoreError> {
    Ok(active_targets::table
        .find(model_id)
        .select(ActiveTarget::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts or replaces the target (call inside `Store::write`).
pub fn put(
    conn: &mut AnyConnection,
    t: &ActiveTarget,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::delete(active_targets::table.find(&t.model_id)).execute(conn)?;
    let mut t = t.clone();
    t.updated_at = naive(at);
    diesel::insert_into(active_targets::table)
        .values(&t)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut AnyConnection, model_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(active_targets::table.find(model_id)).execute(conn)? == 1)
}
