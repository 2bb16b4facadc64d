//! `ai_models` and `evidence_sources`.

use audit_keys::Sealer;
use diesel::prelude::*;

use crate::records::{json, naive, parse, utc};
use crate::schema::{ai_models, evidence_sources};
use crate::secrets::{self, Reseal, RowState, Tally, context};
use crate::{
    AnyConnection, EvidenceSource, Model, ModelChanges, NewEvidenceSource, NewModel, Page, Paging,
    StoreError, is_unique_violation,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = ai_models)]
struct ModelRow {
    id: i64,
    model_id: String,
    name: String,
    version: String,
    model_type: String,
    connection_type: String,
    created_at: chrono::NaiveDateTime,
    description: Option<String>,
    owner: Option<String>,
    updated_at: chrono::NaiveDateTime,
    tenant_id: String,
    project_id: String,
    archived_at: Option<chrono::NaiveDateTime>,
    archived_by: Option<String>,
}

impl TryFrom<ModelRow> for Model {
    type Error = StoreError;
    fn try_from(r: ModelRow) -> Result<Model, StoreError> {
        Ok(Model {
            id: r.id,
            model_type: parse(&r.model_type, "model_type")?,
            connection_type: parse(&r.connection_type, "connection_type")?,
            model_id: r.model_id,
            name: r.name,
            version: r.version,
            created_at: utc(r.created_at),
            description: r.description,
            owner: r.owner,
            updated_at: utc(r.updated_at),
            tenant_id: r.tenant_id,
            project_id: r.project_id,
            archived_at: r.archived_at.map(utc),
            archived_by: r.archived_by,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = evidence_sources)]
struct SourceRow {
    id: i64,
    model_id: String,
    source_type: String,
    config: String,
    read_only: bool,
    created_at: chrono::NaiveDateTime,
    config_sealed: Option<String>,
}

impl TryFrom<SourceRow> for EvidenceSource {
    type Error = StoreError;
    fn try_from(r: SourceRow) -> Result<EvidenceSource, StoreError> {
        Ok(EvidenceSource {
            id: r.id,
            source_type: parse(&r.source_type, "evidence source type")?,
            config: json(&r.config, "evidence source config")?,
            model_id: r.model_id,
            read_only: r.read_only,
            created_at: utc(r.created_at),
            sealed_config: r.config_sealed,
        })
    }
}

/// A config as stored: the masked JSON text, and the full one sealed when masking hid anything.
fn stored_config(
    sealer: &Sealer,
    model_id: &str,
    config: &serde_json::Value,
) -> Result<(String, Option<String>), StoreError> {
    let shown = secrets::masked_config(config);
    let sealed = if shown == *config {
        None
    } else {
        Some(sealer.seal(&context::source_config(model_id), &config.to_string())?)
    };
    Ok((shown.to_string(), sealed))
}

/// Inserts a model and its evidence sources. A taken `model_id` is a `Conflict`.
pub fn insert(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    m: &NewModel,
    sources: &[NewEvidenceSource],
) -> Result<(Model, Vec<EvidenceSource>), StoreError> {
    let now = naive(crate::now());
    let inserted = diesel::insert_into(ai_models::table)
        .values((
            ai_models::model_id.eq(&m.model_id),
            ai_models::name.eq(&m.name),
            ai_models::version.eq(&m.version),
            ai_models::model_type.eq(m.model_type.as_str()),
            ai_models::connection_type.eq(m.connection_type.as_str()),
            ai_models::created_at.eq(now),
            ai_models::description.eq(&m.description),
            ai_models::owner.eq(&m.owner),
            ai_models::updated_at.eq(now),
            ai_models::tenant_id.eq(&m.tenant_id),
            ai_models::project_id.eq(&m.project_id),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!(
                "a model with model_id '{}' is already registered",
                m.model_id
            )));
        }
        other => other?,
    };
    for s in sources {
        add_source(conn, sealer, &m.model_id, s)?;
    }
    let model = get(conn, &m.model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("model '{}' vanished", m.model_id)))?;
    Ok((model, sources_of(conn, &m.model_id)?))
}

/// Adds a source; its secrets are sealed, never stored plain.
pub fn add_source(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    model_id: &str,
    s: &NewEvidenceSource,
) -> Result<(), StoreError> {
    let (shown, sealed) = stored_config(sealer, model_id, &s.config)?;
    diesel::insert_into(evidence_sources::table)
        .values((
            evidence_sources::model_id.eq(model_id),
            evidence_sources::source_type.eq(s.source_type.as_str()),
            evidence_sources::config.eq(shown),
            evidence_sources::config_sealed.eq(sealed),
            evidence_sources::read_only.eq(s.read_only),
            evidence_sources::created_at.eq(naive(crate::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces every evidence source of a model. A source given back as it was shown keeps its
/// secrets: its `***` values and masked URLs take the stored ones of the old source at the same
/// position (or, failing that, the first of the same type), for the same URL only
/// ([`secrets::restore_masked`]; otherwise `Invalid`).
pub fn replace_sources(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    model_id: &str,
    sources: &[NewEvidenceSource],
) -> Result<(), StoreError> {
    let old = sources_of(conn, model_id)?
        .into_iter()
        .map(|s| Ok((s.source_type, s.open_config(sealer)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut restored = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        let stored = old
            .get(i)
            .filter(|(t, _)| *t == s.source_type)
            .or_else(|| old.iter().find(|(t, _)| *t == s.source_type));
        let config = match stored {
            Some((_, full)) => secrets::restore_masked(&s.config, full)
                .map_err(|e| StoreError::Invalid(format!("evidence_sources[{i}]: {e}")))?,
            None => s.config.clone(),
        };
        restored.push(NewEvidenceSource {
            config,
            ..s.clone()
        });
    }
    diesel::delete(evidence_sources::table.filter(evidence_sources::model_id.eq(model_id)))
        .execute(conn)?;
    for s in &restored {
        add_source(conn, sealer, model_id, s)?;
    }
    Ok(())
}

/// Seals the configs still plain or (in [`Reseal::All`]) sealed with another key
/// ([`secrets::reseal`]).
pub(crate) fn reseal_sources(
    conn: &mut AnyConnection,
    sealer: &Sealer,
    mode: Reseal,
) -> Result<Tally, StoreError> {
    let rows = evidence_sources::table
        .order(evidence_sources::id.asc())
        .select(SourceRow::as_select())
        .load(conn)?;
    let mut tally = Tally::default();
    for r in rows {
        let id = r.id;
        let source = EvidenceSource::try_from(r)?;
        let plain = source.sealed_config.is_none()
            && secrets::masked_config(&source.config) != source.config;
        let state = secrets::row_state(
            sealer,
            mode,
            None,
            &[source.sealed_config.as_deref()],
            plain,
        );
        tally.count(state);
        if state != RowState::Reseal {
            continue;
        }
        let full = source.open_config(sealer)?;
        let (shown, sealed) = stored_config(sealer, &source.model_id, &full)?;
        diesel::update(evidence_sources::table.find(id))
            .set((
                evidence_sources::config.eq(shown),
                evidence_sources::config_sealed.eq(sealed),
            ))
            .execute(conn)?;
    }
    Ok(tally)
}

pub fn get(conn: &mut AnyConnection, model_id: &str) -> Result<Option<Model>, StoreError> {
    ai_models::table
        .filter(ai_models::model_id.eq(model_id))
        .select(ModelRow::as_select())
        .first(conn)
        .optional()?
        .map(Model::try_from)
        .transpose()
}

pub fn sources_of(
    conn: &mut AnyConnection,
    model_id: &str,
) -> Result<Vec<EvidenceSource>, StoreError> {
    evidence_sources::table
        .filter(evidence_sources::model_id.eq(model_id))
        .order(evidence_sources::id.asc())
        .select(SourceRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EvidenceSource::try_from)
        .collect()
}

/// Filters of `GET /models`.
#[derive(Debug, Clone, Default)]
pub struct ModelFilter {
    /// Only this tenant's models (`None`: every tenant).
    pub tenant_id: Option<String>,
    pub project_id: Option<String>,
    pub model_type: Option<audit_domain::ModelType>,
    pub connection_type: Option<audit_domain::ConnectionType>,
    /// Archived models too (lists leave them out by default).
    pub include_archived: bool,
    /// Only models whose id, name or owner contains this text (any case).
    pub search: Option<String>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Text>, y: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A LIKE pattern matching `text` anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

pub fn list(
    conn: &mut AnyConnection,
    f: &ModelFilter,
    paging: Paging,
) -> Result<Page<Model>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    macro_rules! filtered {
        () => {{
            let mut q = ai_models::table.into_boxed();
            if let Some(t) = &f.tenant_id {
                q = q.filter(ai_models::tenant_id.eq(t.clone()));
            }
            if let Some(p) = &f.project_id {
                q = q.filter(ai_models::project_id.eq(p.clone()));
            }
            if let Some(t) = f.model_type {
                q = q.filter(ai_models::model_type.eq(t.as_str()));
            }
            if let Some(t) = f.connection_type {
                q = q.filter(ai_models::connection_type.eq(t.as_str()));
            }
            if !f.include_archived {
                q = q.filter(ai_models::archived_at.is_null());
            }
            if let Some(text) = f.search.as_deref().filter(|t| !t.is_empty()) {
                let p = contains_pattern(text);
                q = q.filter(
                    lower(ai_models::model_id)
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(ai_models::name).like(p.clone()).escape('\\'))
                        .or(lower(coalesce(ai_models::owner, "")).like(p).escape('\\')),
                );
            }
            q
        }};
    }
    let total: i64 = filtered!().count().get_result(conn)?;
    let items = filtered!()
        .order(ai_models::id.asc())
        .offset(skip)
        .limit(limit)
        .select(ModelRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Model::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page { total, items })
}

pub fn update(
    conn: &mut AnyConnection,
    model_id: &str,
    c: &ModelChanges,
) -> Result<Model, StoreError> {
    let current = get(conn, model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("model '{model_id}' not found")))?;
    diesel::update(ai_models::table.filter(ai_models::model_id.eq(model_id)))
        .set((
            ai_models::name.eq(c.name.as_ref().unwrap_or(&current.name)),
            ai_models::version.eq(c.version.as_ref().unwrap_or(&current.version)),
            ai_models::model_type.eq(c.model_type.unwrap_or(current.model_type).as_str()),
            ai_models::connection_type.eq(c
                .connection_type
                .unwrap_or(current.connection_type)
                .as_str()),
            ai_models::description.eq(c.description.clone().unwrap_or(current.description)),
            ai_models::owner.eq(c.owner.clone().unwrap_or(current.owner)),
            ai_models::updated_at.eq(naive(crate::now())),
        ))
        .execute(conn)?;
    get(conn, model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("model '{model_id}' not found")))
}

/// Archives a model (instead of deleting it): its records stay, its policy stops running.
/// `Conflict` when it already is archived.
pub fn archive(
    conn: &mut AnyConnection,
    model_id: &str,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Model, StoreError> {
    let n = diesel::update(
        ai_models::table
            .filter(ai_models::model_id.eq(model_id))
            .filter(ai_models::archived_at.is_null()),
    )
    .set((
        ai_models::archived_at.eq(Some(naive(at))),
        ai_models::archived_by.eq(Some(actor)),
    ))
    .execute(conn)?;
    let m = get(conn, model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("model '{model_id}' not found")))?;
    if n == 0 {
        return Err(archived_conflict(&m));
    }
    Ok(m)
}

/// Makes an archived model active again. `Conflict` when it is not archived.
pub fn restore(conn: &mut AnyConnection, model_id: &str) -> Result<Model, StoreError> {
    let n = diesel::update(
        ai_models::table
            .filter(ai_models::model_id.eq(model_id))
            .filter(ai_models::archived_at.is_not_null()),
    )
    .set((
        ai_models::archived_at.eq(None::<chrono::NaiveDateTime>),
        ai_models::archived_by.eq(None::<String>),
    ))
    .execute(conn)?;
    let m = get(conn, model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("model '{model_id}' not found")))?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "model '{model_id}' is not archived"
        )));
    }
    Ok(m)
}

/// The 409 for a change to an archived model: says since when and how to undo it.
pub fn archived_conflict(m: &Model) -> StoreError {
    let since = m
        .archived_at
        .map(|t| format!(" since {}", t.to_rfc3339()))
        .unwrap_or_default();
    StoreError::Conflict(format!(
        "model '{}' is archived{since}: restore it with POST /models/{}/restore first",
        m.model_id, m.model_id
    ))
}

/// Active (not archived) models, of one tenant or of all.
pub fn count_active(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<i64, StoreError> {
    let mut q = ai_models::table
        .filter(ai_models::archived_at.is_null())
        .into_boxed();
    if let Some(t) = tenant {
        q = q.filter(ai_models::tenant_id.eq(t.to_owned()));
    }
    Ok(q.count().get_result(conn)?)
}

/// Archived models, of one tenant or of all.
pub fn count_archived(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<i64, StoreError> {
    let mut q = ai_models::table
        .filter(ai_models::archived_at.is_not_null())
        .into_boxed();
    if let Some(t) = tenant {
        q = q.filter(ai_models::tenant_id.eq(t.to_owned()));
    }
    Ok(q.count().get_result(conn)?)
}

/// The first active model (oldest) named `name`, of one tenant (`None`: any tenant). Archived
/// models are passed over: a name is looked up to start work, which they no longer take.
pub fn by_name(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    name: &str,
) -> Result<Option<Model>, StoreError> {
    let mut q = ai_models::table
        .filter(ai_models::name.eq(name.to_owned()))
        .filter(ai_models::archived_at.is_null())
        .into_boxed();
    if let Some(t) = tenant {
        q = q.filter(ai_models::tenant_id.eq(t.to_owned()));
    }
    q.order(ai_models::id.asc())
        .select(ModelRow::as_select())
        .first(conn)
        .optional()?
        .map(Model::try_from)
        .transpose()
}
