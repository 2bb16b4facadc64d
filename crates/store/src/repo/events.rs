//! `events`: what live clients are told (`audit.started`, `audit.completed`,
//! `finding.created`, `finding.updated`), written in the transaction of the change itself, so
//! an event exists exactly when its change does. Ids only grow: a client that reconnects asks
//! for what came after the last id it saw.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{json, naive, utc};
use crate::schema::events;
use crate::{AnyConnection, StoreError};

/// One event as clients receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    /// `audit.started`, `audit.completed`, `finding.created` or `finding.updated`.
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: String,
    pub model_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Records an event about `model_id` for its tenant (call inside `Store::write`).
pub fn emit(
    conn: &mut AnyConnection,
    model_id: &str,
    kind: &str,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    emit_all(conn, model_id, vec![(kind, data)])
}

/// Records several events about one model, looking its tenant up once (an audit's findings).
pub fn emit_all(
    conn: &mut AnyConnection,
    model_id: &str,
    items: Vec<(&str, serde_json::Value)>,
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let tenant = super::tenants::tenant_of_model(conn, model_id)?
        .unwrap_or_else(|| super::tenants::SYSTEM_TENANT.to_owned());
    let at = naive(crate::now());
    for (kind, data) in items {
        diesel::insert_into(events::table)
            .values((
                events::tenant_id.eq(&tenant),
                events::kind.eq(kind),
                events::model_id.eq(model_id),
                events::payload.eq(data.to_string()),
                events::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: i64,
    tenant_id: String,
    kind: String,
    model_id: String,
    payload: String,
    created_at: chrono::NaiveDateTime,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Event, StoreError> {
        Ok(Event {
            id: r.id,
            tenant_id: r.tenant_id,
            kind: r.kind,
            model_id: r.model_id,
            data: json(&r.payload, "event payload")?,
            created_at: utc(r.created_at),
        })
    }
}

/// Events of one tenant (`None`: every tenant) after `after`, in id order (`newest_first`
/// reverses it), at most `limit`.
fn load(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    after: i64,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let mut q = events::table.filter(events::id.gt(after)).into_boxed();
    if let Some(t) = tenant {
        q = q.filter(events::tenant_id.eq(t.to_owned()));
    }
    q = if newest_first {
        q.order(events::id.desc())
    } else {
        q.order(events::id.asc())
    };
    q.limit(limit)
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Event::try_from)
        .collect()
}

/// Events after `after`, oldest first, of one tenant (`None`: every tenant), at most `limit`.
pub fn since(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    load(conn, tenant, after, false, limit.clamp(1, 1000))
}

/// The newest event id (0 when there is none): where a client that asks for no history starts.
pub fn latest_id(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    use diesel::dsl::max;
    Ok(events::table
        .select(max(events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// The newest `limit` events, newest first.
pub fn recent(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    load(conn, tenant, 0, true, limit.clamp(1, 200))
}

/// Removes events made before `before` (retention); returns how many.
pub fn prune(conn: &mut AnyConnection, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(events::table.filter(events::created_at.lt(naive(before)))).execute(conn)?)
}
