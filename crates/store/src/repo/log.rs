//! The compliance log: an append-only record of every change, one SHA-256 hash chain per
//! tenant. Each entry's hash covers its predecessor's hash and its own fields, so editing,
//! removing or reordering rows breaks the chain; `log_heads` keeps each chain's length and last
//! hash, so removing the newest entries is noticed too. Database triggers refuse UPDATE and
//! DELETE on the log; `verify` catches what someone with the triggers dropped could do.

use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::schema::{compliance_log, log_heads};
use crate::{AnyConnection, Page, Paging, StoreError};

/// The hash before a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change: `user:<name>`, `key:<key_id>`, `scheduler` or `system`.
pub type Actor = str;

/// One entry as stored and served.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = compliance_log)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub seq: i64,
    pub tenant_id: String,
    /// Position in the tenant's chain, from 1.
    pub tenant_seq: i64,
    /// RFC 3339 UTC with microseconds.
    pub at: String,
    pub actor: String,
    /// e.g. `model.create`, `key.revoke`, `audit.finish`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SHA-256 of the change (its JSON, secrets left out).
    pub digest: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = compliance_log)]
struct NewEntry<'a> {
    tenant_id: &'a str,
    tenant_seq: i64,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    digest: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

/// Bytes as lower-case hex (digests, keys, signatures: one encoder for all of them).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of text, in hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// SHA-256 of a change's JSON.
pub fn digest_of(change: &serde_json::Value) -> String {
    sha256_hex(&change.to_string())
}

/// The hash of an entry: its predecessor's hash and every field, length-prefixed so that no
/// two different entries hash the same text.
pub fn entry_hash(e: &LogEntry) -> String {
    let mut h = Sha256::new();
    for part in [
        e.prev_hash.as_str(),
        &e.tenant_seq.to_string(),
        &e.tenant_id,
        &e.at,
        &e.actor,
        &e.action,
        &e.object_type,
        &e.object_id,
        &e.digest,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub tenant_id: &'a str,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    /// What changed (no secrets): only its digest is stored.
    pub change: serde_json::Value,
}

/// Appends an entry (call inside the transaction that makes the change).
pub fn append(conn: &mut AnyConnection, c: &Change<'_>) -> Result<LogEntry, StoreError> {
    // Take the chain's head row first: on PostgreSQL the UPDATE locks it, so concurrent
    // appends to one chain queue here instead of forking it (SQLite writes are serial anyway).
    let bumped = diesel::update(log_heads::table.find(c.tenant_id))
        .set(log_heads::entries.eq(log_heads::entries + 1))
        .execute(conn)?;
    let (n, prev) = if bumped == 0 {
        diesel::insert_into(log_heads::table)
            .values((
                log_heads::tenant_id.eq(c.tenant_id),
                log_heads::entries.eq(1i64),
                log_heads::hash.eq(GENESIS),
            ))
            .execute(conn)?;
        (1, GENESIS.to_owned())
    } else {
        log_heads::table
            .find(c.tenant_id)
            .select((log_heads::entries, log_heads::hash))
            .first::<(i64, String)>(conn)?
    };
    let mut e = LogEntry {
        seq: 0,
        tenant_id: c.tenant_id.to_owned(),
        tenant_seq: n,
        at: crate::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        actor: c.actor.to_owned(),
        action: c.action.to_owned(),
        object_type: c.object_type.to_owned(),
        object_id: c.object_id.to_owned(),
        digest: digest_of(&c.change),
        prev_hash: prev,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    diesel::insert_into(compliance_log::table)
        .values(NewEntry {
            tenant_id: &e.tenant_id,
            tenant_seq: e.tenant_seq,
            at: &e.at,
            actor: &e.actor,
            action: &e.action,
            object_type: &e.object_type,
            object_id: &e.object_id,
            digest: &e.digest,
            prev_hash: &e.prev_hash,
            hash: &e.hash,
        })
        .execute(conn)?;
    diesel::update(log_heads::table.find(c.tenant_id))
        .set(log_heads::hash.eq(&e.hash))
        .execute(conn)?;
    Ok(e)
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
        .select(LogEntry::as_select())
        .load(conn)?;
    Ok(Page { total, items })
}

/// What `verify` found for one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    pub tenant_id: String,
    pub valid: bool,
    /// Entries checked.
    pub entries: i64,
    /// The global `seq` of the first entry that does not fit (or of the entry where a gap
    /// starts); `None` when valid or when only the end of the chain is missing.
    pub first_broken_seq: Option<i64>,
    /// Position in the tenant's chain where it breaks.
    pub first_broken_position: Option<i64>,
    pub reason: Option<String>,
    /// The chain's last hash as recorded in its head. Keep it outside the database (a ticket,
    /// a signed report): someone able to rewrite both the log and its head can cut the end off
    /// unseen, but not past a hash kept elsewhere.
    pub head_hash: String,
}

/// Re-computes every hash of the tenant's chain, in `seq` order, and compares the end with the
/// chain's head. Reads in pages so that a long log does not sit in memory.
pub fn verify(conn: &mut AnyConnection, tenant_id: &str) -> Result<ChainReport, StoreError> {
    let head: Option<(i64, String)> = log_heads::table
        .find(tenant_id)
        .select((log_heads::entries, log_heads::hash))
        .first(conn)
        .optional()?;
    let mut report = ChainReport {
        tenant_id: tenant_id.to_owned(),
        valid: true,
        entries: 0,
        first_broken_seq: None,
        first_broken_position: None,
        reason: None,
        head_hash: head
            .as_ref()
            .map_or_else(|| GENESIS.to_owned(), |(_, h)| h.clone()),
    };
    // The head is read first: entries appended while this runs lie beyond it and are left for
    // the next verification, so concurrent writes never look like tampering.
    let limit = head.as_ref().map_or(i64::MAX, |(n, _)| *n);
    let mut prev = GENESIS.to_owned();
    let mut expected_pos = 1i64;
    let mut after = 0i64;
    let broken = |r: &mut ChainReport, seq: Option<i64>, pos: i64, why: String| {
        r.valid = false;
        r.first_broken_seq = seq;
        r.first_broken_position = Some(pos);
        r.reason = Some(why);
    };
    loop {
        if report.entries >= limit {
            break;
        }
        let batch: Vec<LogEntry> = compliance_log::table
            .filter(compliance_log::tenant_id.eq(tenant_id))
            .filter(compliance_log::tenant_seq.le(limit))
            .filter(compliance_log::seq.gt(after))
            .order(compliance_log::seq.asc())
            .limit(1000)
            .select(LogEntry::as_select())
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for e in batch {
            report.entries += 1;
            if e.tenant_seq != expected_pos {
                broken(
                    &mut report,
                    Some(e.seq),
                    expected_pos,
                    format!(
                        "entry {} holds position {} where {expected_pos} was expected (removed or reordered entries)",
                        e.seq, e.tenant_seq
                    ),
                );
                return Ok(report);
            }
            if e.prev_hash != prev {
                broken(
                    &mut report,
                    Some(e.seq),
                    expected_pos,
                    format!("entry {} does not follow its predecessor's hash", e.seq),
                );
                return Ok(report);
            }
            if entry_hash(&e) != e.hash {
                broken(
                    &mut report,
                    Some(e.seq),
                    expected_pos,
                    format!(
                        "entry {} was altered: its hash does not match its fields",
                        e.seq
                    ),
                );
                return Ok(report);
            }
            prev = e.hash;
            expected_pos += 1;
        }
    }
    let seen = report.entries;
    let Some((n, hash)) = head else {
        if seen > 0 {
            broken(
                &mut report,
                None,
                seen,
                "the chain's head record is missing (log_heads was altered)".into(),
            );
        }
        return Ok(report);
    };
    if n != seen || hash != prev {
        broken(
            &mut report,
            None,
            seen + 1,
            format!(
                "the chain ends after {seen} entries but its head records {n}: entries were removed from its end"
            ),
        );
    }
    Ok(report)
}

/// Tenants that have a chain: from the heads and from the entries, so that a removed head
/// does not hide its chain from verification.
pub fn chains(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let mut v: Vec<String> = log_heads::table.select(log_heads::tenant_id).load(conn)?;
    v.extend(
        compliance_log::table
            .select(compliance_log::tenant_id)
            .distinct()
            .load::<String>(conn)?,
    );
    v.sort();
    v.dedup();
    Ok(v)
}

/// TEMPORARY (branch `retention` only, until `main`'s version lands): marks the tenant's
/// entries with `at < before_at` purged. This placeholder purges nothing.
pub fn purge_payloads(
    _conn: &mut AnyConnection,
    _tenant_id: &str,
    _before_at: &str,
) -> Result<u64, StoreError> {
    Ok(0)
}
