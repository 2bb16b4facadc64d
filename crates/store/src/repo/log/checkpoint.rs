//! Signed checkpoints. Appends happen inside many repositories' transactions that only hold a
//! connection, so the signing key and interval are process-wide, set once by the server at
//! start ([`configure`]); without them (an embedder, a unit test) no checkpoints are made.
//!
//! A checkpoint is written in the same transaction as the entry that makes `every_entries`
//! entries since the newest checkpoint, so a crash can never leave one without the other, and
//! verification may treat a longer uncovered stretch as removed checkpoints. The server also
//! checkpoints, at least every few minutes, chains that moved since their newest checkpoint
//! ([`time_checkpoints`]), and copies every checkpoint to an append-only file outside the
//! database ([`undelivered`]).

use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use crate::schema::{log_checkpoints, log_heads};
use crate::{AnyConnection, StoreError};
use audit_ledger::Checkpoint;

/// How checkpoints are made.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    pub signer: audit_keys::Signer,
    /// A checkpoint after this many entries since the newest one (at least 1).
    pub every_entries: i64,
    /// Key of the fingerprints that stand for secrets in entries' content.
    pub fingerprint_key: [u8; 32],
}

static CONFIG: RwLock<Option<Arc<Checkpointing>>> = RwLock::new(None);

/// Sets (or clears) the process's checkpointing.
pub fn configure(c: Option<Checkpointing>) {
    let mut g = CONFIG
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *g = c.map(|mut c| {
        c.every_entries = c.every_entries.max(1);
        Arc::new(c)
    });
}

/// The process's checkpointing, when configured.
pub fn configured() -> Option<Arc<Checkpointing>> {
    CONFIG
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// A fingerprint standing for a secret in an entry's content (keyed, so it helps nobody guess
/// the secret). Without configuration, a key drawn once per process.
pub fn fingerprint(secret: &str) -> String {
    static FALLBACK: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let key = match configured() {
        Some(c) => c.fingerprint_key,
        None => *FALLBACK.get_or_init(|| audit_keys::keyfile::random_key().unwrap_or([0u8; 32])),
    };
    audit_keys::fingerprint(&key, secret)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = log_checkpoints)]
struct Row {
    id: i64,
    tenant_id: String,
    sequence: i64,
    entries: i64,
    head_hash: String,
    at: String,
    every_entries: i64,
    public_key: String,
    signature: String,
}

impl From<Row> for (i64, Checkpoint) {
    fn from(r: Row) -> Self {
        (
            r.id,
            Checkpoint {
                tenant_id: r.tenant_id,
                sequence: r.sequence,
                entries: r.entries,
                head_hash: r.head_hash,
                at: r.at,
                every_entries: r.every_entries,
                public_key: r.public_key,
                signature: r.signature,
            },
        )
    }
}

/// The newest checkpoint's (sequence, entries, at) of a tenant.
fn newest(
    conn: &mut AnyConnection,
    tenant: &str,
) -> Result<Option<(i64, i64, String)>, StoreError> {
    Ok(log_checkpoints::table
        .filter(log_checkpoints::tenant_id.eq(tenant))
        .order(log_checkpoints::sequence.desc())
        .select((
            log_checkpoints::sequence,
            log_checkpoints::entries,
            log_checkpoints::at,
        ))
        .first(conn)
        .optional()?)
}

fn insert(
    conn: &mut AnyConnection,
    cfg: &Checkpointing,
    tenant: &str,
    sequence: i64,
    entries: i64,
    head_hash: &str,
) -> Result<Checkpoint, StoreError> {
    let at = crate::log_time(crate::now());
    let c = Checkpoint::signed(
        &cfg.signer,
        tenant,
        sequence,
        entries,
        head_hash,
        &at,
        cfg.every_entries,
    );
    diesel::insert_into(log_checkpoints::table)
        .values((
            log_checkpoints::tenant_id.eq(&c.tenant_id),
            log_checkpoints::sequence.eq(c.sequence),
            log_checkpoints::entries.eq(c.entries),
            log_checkpoints::head_hash.eq(&c.head_hash),
            log_checkpoints::at.eq(&c.at),
            log_checkpoints::every_entries.eq(c.every_entries),
            log_checkpoints::public_key.eq(&c.public_key),
            log_checkpoints::signature.eq(&c.signature),
        ))
        .execute(conn)?;
    Ok(c)
}

/// Called by `append` with the chain's new length and head hash.
pub(super) fn after_append(
    conn: &mut AnyConnection,
    tenant: &str,
    entries: i64,
    head_hash: &str,
) -> Result<(), StoreError> {
    let Some(cfg) = configured() else {
        return Ok(());
    };
    let (seq, covered) = newest(conn, tenant)?.map_or((0, 0), |(s, e, _)| (s, e));
    // A chain's first entry is checkpointed too, so every chain is in the outside copy from
    // its birth and removing a young chain whole is noticed.
    if entries - covered >= cfg.every_entries || seq == 0 {
        insert(conn, &cfg, tenant, seq + 1, entries, head_hash)?;
    }
    Ok(())
}

/// Checkpoints every chain that moved since its newest checkpoint when that checkpoint is
/// older than `older_than` (RFC 3339) or absent. Call inside `Store::write`; returns what it
/// made.
pub fn time_checkpoints(
    conn: &mut AnyConnection,
    older_than: &str,
) -> Result<Vec<Checkpoint>, StoreError> {
    let Some(cfg) = configured() else {
        return Ok(Vec::new());
    };
    let heads: Vec<(String, i64, String)> = log_heads::table
        .select((log_heads::tenant_id, log_heads::entries, log_heads::hash))
        .load(conn)?;
    let mut made = Vec::new();
    for (tenant, entries, hash) in heads {
        let (seq, covered, at) = newest(conn, &tenant)?.unwrap_or((0, 0, String::new()));
        if entries > covered && (seq == 0 || at.as_str() < older_than) {
            made.push(insert(conn, &cfg, &tenant, seq + 1, entries, &hash)?);
        }
    }
    Ok(made)
}

/// A tenant's checkpoints (every tenant's with `None`), oldest first.
pub fn checkpoints(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
) -> Result<Vec<Checkpoint>, StoreError> {
    let mut q = log_checkpoints::table.into_boxed();
    if let Some(t) = tenant {
        q = q.filter(log_checkpoints::tenant_id.eq(t.to_owned()));
    }
    Ok(q.order(log_checkpoints::id.asc())
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| <(i64, Checkpoint)>::from(r).1)
        .collect())
}

/// Checkpoints with an id above `after_id`, oldest first, at most `limit`, with their ids:
/// what the outside copy has not received yet.
pub fn undelivered(
    conn: &mut AnyConnection,
    after_id: i64,
    limit: i64,
) -> Result<Vec<(i64, Checkpoint)>, StoreError> {
    Ok(log_checkpoints::table
        .filter(log_checkpoints::id.gt(after_id))
        .order(log_checkpoints::id.asc())
        .limit(limit)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}
