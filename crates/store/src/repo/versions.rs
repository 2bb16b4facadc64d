//! `model_versions`: a model's version history with evaluation metrics per version.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{json, naive, utc};
use crate::schema::{ai_models, model_versions};
use crate::{AnyConnection, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersion {
    pub id: i64,
    pub model_id: String,
    pub version_tag: String,
    /// Where the artifact lives (a registry URI or path; never read by the auditor).
    pub artifact_location: Option<String>,
    pub notes: Option<String>,
    /// Evaluation metrics by name (accuracy, f1, auc, bias metrics, any named metric).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Whether this is the model's current version.
    pub current: bool,
}

type Row = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    chrono::NaiveDateTime,
);

macro_rules! cols {
    () => {
        (
            model_versions::id,
            model_versions::model_id,
            model_versions::version_tag,
            model_versions::artifact_location,
            model_versions::notes,
            model_versions::metrics,
            model_versions::created_by,
            model_versions::created_at,
        )
    };
}

fn version(r: Row, current: &str) -> Result<ModelVersion, StoreError> {
    let metrics = match json(&r.5, "metrics")? {
        serde_json::Value::Object(m) => m,
        _ => return Err(StoreError::Corrupt("metrics is not an object".into())),
    };
    Ok(ModelVersion {
        current: r.2 == current,
        id: r.0,
        model_id: r.1,
        version_tag: r.2,
        artifact_location: r.3,
        notes: r.4,
        metrics,
        created_by: r.6,
        created_at: utc(r.7),
    })
}

fn current_of(conn: &mut AnyConnection, model_id: &str) -> Result<String, StoreError> {
    ai_models::table
        .filter(ai_models::model_id.eq(model_id))
        .select(ai_models::version)
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("model '{model_id}' not found")))
}

/// A new version's fields.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub model_id: &'a str,
    pub version_tag: &'a str,
    pub artifact_location: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub metrics: &'a serde_json::Map<String, serde_json::Value>,
    pub created_by: &'a str,
    /// Make it the model's current version (what audits record and baselines key on).
    pub make_current: bool,
}

/// Adds a version (409 when the tag exists) and optionally makes it current.
pub fn create(conn: &mut AnyConnection, v: &NewVersion<'_>) -> Result<ModelVersion, StoreError> {
    current_of(conn, v.model_id)?;
    let taken: i64 = model_versions::table
        .filter(model_versions::model_id.eq(v.model_id))
        .filter(model_versions::version_tag.eq(v.version_tag))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "model '{}' already has version '{}'",
            v.model_id, v.version_tag
        )));
    }
    let now = crate::now();
    diesel::insert_into(model_versions::table)
        .values((
            model_versions::model_id.eq(v.model_id),
            model_versions::version_tag.eq(v.version_tag),
            model_versions::artifact_location.eq(v.artifact_location),
            model_versions::notes.eq(v.notes),
            model_versions::metrics.eq(serde_json::Value::Object(v.metrics.clone()).to_string()),
            model_versions::created_by.eq(v.created_by),
            model_versions::created_at.eq(naive(now)),
        ))
        .execute(conn)
        .map_err(|e| {
            super::tenants::conflict_if_taken(e, || {
                format!(
                    "model '{}' already has version '{}'",
                    v.model_id, v.version_tag
                )
            })
        })?;
    if v.make_current {
        diesel::update(ai_models::table.filter(ai_models::model_id.eq(v.model_id)))
            .set((
                ai_models::version.eq(v.version_tag),
                ai_models::updated_at.eq(naive(now)),
            ))
            .execute(conn)?;
    }
    get(conn, v.model_id, v.version_tag)?
        .ok_or_else(|| StoreError::NotFound(v.version_tag.to_owned()))
}

pub fn get(
    conn: &mut AnyConnection,
    model_id: &str,
    tag: &str,
) -> Result<Option<ModelVersion>, StoreError> {
    let current = current_of(conn, model_id)?;
    model_versions::table
        .filter(model_versions::model_id.eq(model_id))
        .filter(model_versions::version_tag.eq(tag))
        .select(cols!())
        .first::<Row>(conn)
        .optional()?
        .map(|r| version(r, &current))
        .transpose()
}

/// Records `tag`, the version the model says it runs, in its history when it is not there yet
/// (at registration, and when an edit changes the version in use); it stays the current one.
pub fn record_in_use(
    conn: &mut AnyConnection,
    model_id: &str,
    tag: &str,
    by: &str,
) -> Result<(), StoreError> {
    let known: i64 = model_versions::table
        .filter(model_versions::model_id.eq(model_id))
        .filter(model_versions::version_tag.eq(tag))
        .count()
        .get_result(conn)?;
    if known == 0 {
        create(
            conn,
            &NewVersion {
                model_id,
                version_tag: tag,
                artifact_location: None,
                notes: None,
                metrics: &serde_json::Map::new(),
                created_by: by,
                make_current: false,
            },
        )?;
    }
    Ok(())
}

/// The version history, oldest first.
pub fn list(conn: &mut AnyConnection, model_id: &str) -> Result<Vec<ModelVersion>, StoreError> {
    let current = current_of(conn, model_id)?;
    model_versions::table
        .filter(model_versions::model_id.eq(model_id))
        .order(model_versions::id.asc())
        .select(cols!())
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| version(r, &current))
        .collect()
}

/// Adds or replaces named metrics of a version.
pub fn put_metrics(
    conn: &mut AnyConnection,
    model_id: &str,
    tag: &str,
    metrics: &serde_json::Map<String, serde_json::Value>,
) -> Result<ModelVersion, StoreError> {
    let mut v = get(conn, model_id, tag)?.ok_or_else(|| {
        StoreError::NotFound(format!("model '{model_id}' has no version '{tag}'"))
    })?;
    for (k, val) in metrics {
        v.metrics.insert(k.clone(), val.clone());
    }
    diesel::update(model_versions::table.find(v.id))
        .set(model_versions::metrics.eq(serde_json::Value::Object(v.metrics.clone()).to_string()))
        .execute(conn)?;
    Ok(v)
}
