//! The compliance log: an append-only record of every change, one hash chain per tenant
//! (the format, hashes and checks are `audit-ledger`'s). Each entry keeps what changed
//! (`content`, fields before and after) and its digest; each entry's hash covers its
//! predecessor's hash and its own fields. `log_heads` keeps each chain's length and last hash;
//! signed checkpoints (`checkpoint.rs`) anchor the chain outside the database's control.
//! Database triggers refuse UPDATE and DELETE on the log except a purge of content;
//! `verify` (`verify.rs`) catches what someone with the triggers dropped could do.

mod checkpoint;
mod content;
mod verify;

pub use content::mask_url;

pub use audit_ledger::{ChainReport, Checkpoint, GENESIS, PURGE_ACTION};
pub use checkpoint::{
    Checkpointing, checkpoints, configure, configured, fingerprint, time_checkpoints, undelivered,
};
pub use verify::{chains, export, export_header, verify, verify_all, write_line};

use diesel::prelude::*;

use crate::schema::{compliance_log, log_heads};
use crate::{AnyConnection, Page, Paging, StoreError};

/// One entry as stored and served.
pub type LogEntry = audit_ledger::Entry;

/// Who made a change: `user:<name>`, `key:<key_id>`, `scheduler` or `system`.
pub type Actor = str;

#[derive(Queryable, Selectable)]
#[diesel(table_name = compliance_log)]
struct Row {
    seq: i64,
    tenant_id: String,
    tenant_seq: i64,
    at: String,
    actor: String,
    action: String,
    object_type: String,
    object_id: String,
    digest: String,
    prev_hash: String,
    hash: String,
    content: Option<String>,
    purged_at: Option<String>,
    signature: Option<String>,
}

impl From<Row> for LogEntry {
    fn from(r: Row) -> Self {
        LogEntry {
            seq: r.seq,
            tenant_id: r.tenant_id,
            tenant_seq: r.tenant_seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            digest: r.digest,
            prev_hash: r.prev_hash,
            hash: r.hash,
            content: r.content,
            purged_at: r.purged_at,
            signature: r.signature,
        }
    }
}

/// Bytes as lower-case hex (digests, keys, signatures: one encoder for all of them).
pub fn hex(bytes: &[u8]) -> String {
    audit_keys::hex(bytes)
}

/// SHA-256 of text, in hex.
pub fn sha256_hex(text: &str) -> String {
    audit_ledger::sha256_hex(text)
}

/// What changed between two JSON objects: `{"before": {...}, "after": {...}}` holding only the
/// top-level fields that differ (a field absent on one side is `null` there). Creations pass
/// `Value::Null` as `before`, deletions as `after`.
pub fn diff(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Map, Value};
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let (mut was, mut now) = (Map::new(), Map::new());
    for k in b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))) {
        let (x, y) = (
            b.get(k).unwrap_or(&Value::Null),
            a.get(k).unwrap_or(&Value::Null),
        );
        if x != y {
            was.insert(k.clone(), x.clone());
            now.insert(k.clone(), y.clone());
        }
    }
    let mut out = Map::new();
    if !before.is_null() {
        out.insert("before".into(), Value::Object(was));
    }
    if !after.is_null() {
        out.insert("after".into(), Value::Object(now));
    }
    Value::Object(out)
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub tenant_id: &'a str,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    /// What changed (no secrets: fingerprints instead), usually [`diff`]'s output. Stored as
    /// the entry's content; its digest is hashed into the chain.
    pub change: serde_json::Value,
}

/// The refusal when a chain holds rows the server did not write: appending would fork the
/// chain or fail on the unique position, so the write is refused with this sentence.
fn tampered(tenant: &str, what: &str) -> StoreError {
    StoreError::LogTampered {
        tenant_id: tenant.to_owned(),
        reason: format!(
            "the compliance log of tenant '{tenant}' {what}; changes are refused until an operator runs GET /compliance-log/verify and restores the database"
        ),
    }
}

/// Records a `log.tampered` event for the tenant (what live clients and webhooks are told), at
/// most one a minute per tenant so that a stream of refused writes does not flood them.
pub fn alert_tampered(
    conn: &mut AnyConnection,
    tenant_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    use crate::schema::events;
    let since = crate::records::naive(crate::now() - chrono::Duration::minutes(1));
    let recent: i64 = events::table
        .filter(events::tenant_id.eq(tenant_id))
        .filter(events::kind.eq("log.tampered"))
        .filter(events::created_at.ge(since))
        .count()
        .get_result(conn)?;
    if recent == 0 {
        diesel::insert_into(events::table)
            .values((
                events::tenant_id.eq(tenant_id),
                events::kind.eq("log.tampered"),
                events::model_id.eq(""),
                events::payload.eq(serde_json::json!({"reason": reason}).to_string()),
                events::created_at.eq(crate::records::naive(crate::now())),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Appends an entry (call inside the transaction that makes the change).
pub fn append(conn: &mut AnyConnection, c: &Change<'_>) -> Result<LogEntry, StoreError> {
    // Take the chain's head row first: on PostgreSQL the UPDATE locks it, so concurrent
    // appends to one chain queue here instead of forking it (SQLite writes are serial anyway).
    let bumped = diesel::update(log_heads::table.find(c.tenant_id))
        .set(log_heads::entries.eq(log_heads::entries + 1))
        .execute(conn)?;
    let (n, prev) = if bumped == 0 {
        if rows_from(conn, c.tenant_id, 1)? > 0 {
            return Err(tampered(c.tenant_id, "has entries but no head record"));
        }
        diesel::insert_into(log_heads::table)
            .values((
                log_heads::tenant_id.eq(c.tenant_id),
                log_heads::entries.eq(1i64),
                log_heads::hash.eq(GENESIS),
            ))
            .execute(conn)?;
        (1, GENESIS.to_owned())
    } else {
        let (n, prev) = log_heads::table
            .find(c.tenant_id)
            .select((log_heads::entries, log_heads::hash))
            .first::<(i64, String)>(conn)?;
        // One indexed range probe: rows at or past the new position were not written here.
        if rows_from(conn, c.tenant_id, n)? > 0 {
            return Err(tampered(
                c.tenant_id,
                "holds entries past its recorded head",
            ));
        }
        (n, prev)
    };
    let content = content::prepare(&c.change).to_string();
    let mut e = LogEntry {
        seq: 0,
        tenant_id: c.tenant_id.to_owned(),
        tenant_seq: n,
        at: crate::log_time(crate::now()),
        actor: c.actor.to_owned(),
        action: c.action.to_owned(),
        object_type: c.object_type.to_owned(),
        object_id: c.object_id.to_owned(),
        digest: sha256_hex(&content),
        prev_hash: prev,
        hash: String::new(),
        content: Some(content),
        purged_at: None,
        signature: None,
    };
    e.hash = audit_ledger::entry_hash(&e);
    e.signature = configured().map(|c| c.signer.sign_hex(&audit_ledger::entry_message(&e.hash)));
    diesel::insert_into(compliance_log::table)
        .values((
            compliance_log::tenant_id.eq(&e.tenant_id),
            compliance_log::tenant_seq.eq(e.tenant_seq),
            compliance_log::at.eq(&e.at),
            compliance_log::actor.eq(&e.actor),
            compliance_log::action.eq(&e.action),
            compliance_log::object_type.eq(&e.object_type),
            compliance_log::object_id.eq(&e.object_id),
            compliance_log::digest.eq(&e.digest),
            compliance_log::prev_hash.eq(&e.prev_hash),
            compliance_log::hash.eq(&e.hash),
            compliance_log::content.eq(&e.content),
            compliance_log::signature.eq(&e.signature),
        ))
        .execute(conn)?;
    diesel::update(log_heads::table.find(c.tenant_id))
        .set(log_heads::hash.eq(&e.hash))
        .execute(conn)?;
    checkpoint::after_append(conn, c.tenant_id, n, &e.hash)?;
    Ok(e)
}

fn rows_from(conn: &mut AnyConnection, tenant: &str, pos: i64) -> Result<i64, StoreError> {
    Ok(compliance_log::table
        .filter(compliance_log::tenant_id.eq(tenant))
        .filter(compliance_log::tenant_seq.ge(pos))
        .count()
        .get_result(conn)?)
}

/// Appends an entry about something of `model_id`, in the model's tenant's chain (the
/// system tenant's when the model is gone).
pub fn record_for_model(
    conn: &mut AnyConnection,
    model_id: &str,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    change: serde_json::Value,
) -> Result<LogEntry, StoreError> {
    let tenant = super::tenants::tenant_of_model(conn, model_id)?
        .unwrap_or_else(|| super::tenants::SYSTEM_TENANT.to_owned());
    append(
        conn,
        &Change {
            tenant_id: &tenant,
            actor,
            action,
            object_type,
            object_id,
            change,
        },
    )
}

/// Marks the content of `tenant_id`'s entries made before `before_at` (RFC 3339, the log's
/// format) purged: the content is cleared, the digest and hash stay, so the chain still
/// verifies. The caller logs the purge (action [`PURGE_ACTION`], content with `log_before`)
/// in the same transaction; verification refuses purged entries no purge entry accounts for.
pub fn purge_payloads(
    conn: &mut AnyConnection,
    tenant_id: &str,
    before_at: &str,
) -> Result<u64, StoreError> {
    let now = crate::log_time(crate::now());
    let n = diesel::update(
        compliance_log::table
            .filter(compliance_log::tenant_id.eq(tenant_id))
            .filter(compliance_log::at.lt(before_at))
            .filter(compliance_log::purged_at.is_null()),
    )
    .set((
        compliance_log::content.eq(None::<String>),
        compliance_log::purged_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n as u64)
}

/// Filters of `GET /compliance-log`.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// `None`: every tenant (operators).
    pub tenant_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// RFC 3339 bounds, compared as text (every `at` has the same format).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Entries matching `f`, oldest first (the order of the chain).
pub fn list(
    conn: &mut AnyConnection,
    f: &LogFilter,
    paging: Paging,
) -> Result<Page<LogEntry>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    macro_rules! filtered {
        () => {{
            let mut q = compliance_log::table.into_boxed();
            if let Some(v) = &f.tenant_id {
                q = q.filter(compliance_log::tenant_id.eq(v.clone()));
            }
            if let Some(v) = &f.actor {
                q = q.filter(compliance_log::actor.eq(v.clone()));
            }
            if let Some(v) = &f.action {
                q = q.filter(compliance_log::action.eq(v.clone()));
            }
            if let Some(v) = &f.object_type {
                q = q.filter(compliance_log::object_type.eq(v.clone()));
            }
            if let Some(v) = &f.object_id {
                q = q.filter(compliance_log::object_id.eq(v.clone()));
            }
            if let Some(v) = &f.from {
                q = q.filter(compliance_log::at.ge(v.clone()));
            }
            if let Some(v) = &f.to {
                q = q.filter(compliance_log::at.lt(v.clone()));
            }
            q
        }};
    }
    let total = filtered!().count().get_result(conn)?;
    let items = filtered!()
        .order(compliance_log::seq.asc())
        .offset(skip)
        .limit(limit)
        .select(Row::as_select())
        .load(conn)?;
    Ok(Page {
        total,
        items: items.into_iter().map(LogEntry::from).collect(),
    })
}

/// One tenant's entries after position `after` (all from the lowest with `None`: a forged
/// row at position 0 or below is read too), in chain order, at most `limit`.
fn chain_page(
    conn: &mut AnyConnection,
    tenant: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut q = compliance_log::table
        .filter(compliance_log::tenant_id.eq(tenant.to_owned()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(compliance_log::tenant_seq.gt(a));
    }
    Ok(q.order(compliance_log::tenant_seq.asc())
        .limit(limit)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(LogEntry::from)
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_keeps_only_changed_fields() {
        let d = diff(
            &json!({"owner": "x", "name": "m", "gone": 1}),
            &json!({"owner": "y", "name": "m", "new": true}),
        );
        assert_eq!(
            d,
            json!({"before": {"owner": "x", "gone": 1, "new": null},
                   "after": {"owner": "y", "gone": null, "new": true}})
        );
        assert_eq!(
            diff(&serde_json::Value::Null, &json!({"a": 1})),
            json!({"after": {"a": 1}})
        );
        assert_eq!(
            diff(&json!({"a": 1}), &serde_json::Value::Null),
            json!({"before": {"a": 1}})
        );
    }
}
