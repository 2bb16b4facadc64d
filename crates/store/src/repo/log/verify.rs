//! Verification and export of the chains as stored. Each chain is read in one snapshot (a
//! read transaction; REPEATABLE READ on PostgreSQL), so entries appended meanwhile are either
//! wholly in it — head included — or not at all, and concurrent writes never look like
//! tampering. Every row of the tenant is read, including rows past the recorded head.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{LogEntry, chain_page, checkpoints, configured};
use crate::schema::{compliance_log, log_checkpoints, log_heads, tenants};
use crate::{AnyConnection, StoreError};
use audit_ledger::export::Line;
use audit_ledger::{ChainReport, ChainVerifier, Checkpoint, Head};

fn snapshot<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(|c| {
        if matches!(c, AnyConnection::Postgresql(_)) {
            c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        f(c)
    })
}

fn head_of(conn: &mut AnyConnection, tenant: &str) -> Result<Head, StoreError> {
    Ok(log_heads::table
        .find(tenant)
        .select((log_heads::entries, log_heads::hash))
        .first::<(i64, String)>(conn)
        .optional()?
        .map_or(Head::Missing, |(entries, hash)| Head::Recorded {
            entries,
            hash,
        }))
}

/// Checks one tenant's chain against its head, its signed checkpoints and `outside` (the
/// checkpoints of the copy kept outside the database, when there is one).
pub fn verify(
    conn: &mut AnyConnection,
    tenant_id: &str,
    outside: &[Checkpoint],
) -> Result<ChainReport, StoreError> {
    let cfg = configured();
    let key = cfg.as_ref().map(|c| c.signer.verifier());
    let every = cfg.as_ref().map_or(0, |c| c.every_entries);
    snapshot(conn, |c| {
        let head = head_of(c, tenant_id)?;
        let cps = checkpoints(c, Some(tenant_id))?;
        let mut v = ChainVerifier::with_copy(tenant_id, cps, outside.to_vec(), key.as_ref(), every);
        let mut after = None;
        while v.is_valid() {
            let page = chain_page(c, tenant_id, after, 1000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.tenant_seq);
            for e in &page {
                v.push(e);
            }
        }
        let mut report = v.finish(head);
        // Rows paging cannot reach (a second row at a position already read) still count.
        let rows: i64 = compliance_log::table
            .filter(compliance_log::tenant_id.eq(tenant_id))
            .count()
            .get_result(c)?;
        if report.valid && rows != report.entries {
            report.valid = false;
            report.reason = Some(format!(
                "the log holds {rows} rows of this tenant but its chain has {}: rows were inserted beside the chain",
                report.entries
            ));
        }
        Ok(report)
    })
}

/// Tenants that have a chain or should: from the heads, the entries, the checkpoints and the
/// tenants table, so that a removed head or chain does not hide it from verification.
pub fn chains(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let mut v: BTreeSet<String> = log_heads::table
        .select(log_heads::tenant_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    v.extend(
        compliance_log::table
            .select(compliance_log::tenant_id)
            .distinct()
            .load::<String>(conn)?,
    );
    v.extend(
        log_checkpoints::table
            .select(log_checkpoints::tenant_id)
            .distinct()
            .load::<String>(conn)?,
    );
    v.extend(
        tenants::table
            .select(tenants::tenant_id)
            .load::<String>(conn)?,
    );
    Ok(v.into_iter().collect())
}

/// Verifies the chains of `scope` (every chain with `None`) and of every tenant the outside
/// copy knows within that scope.
pub fn verify_all(
    conn: &mut AnyConnection,
    scope: Option<&str>,
    outside: &BTreeMap<String, Vec<Checkpoint>>,
) -> Result<Vec<ChainReport>, StoreError> {
    let tenants: Vec<String> = match scope {
        Some(t) => vec![t.to_owned()],
        None => {
            let mut all: BTreeSet<String> = chains(conn)?.into_iter().collect();
            all.extend(outside.keys().cloned());
            all.into_iter().collect()
        }
    };
    let known: BTreeSet<String> = tenants::table
        .select(tenants::tenant_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    tenants
        .iter()
        .map(|t| {
            let mut r = verify(conn, t, outside.get(t).map_or(&[], Vec::as_slice))?;
            // Every tenant's creation is its chain's first entry (the system tenant's first
            // admin key), so a tenant without a chain lost it.
            if r.valid && r.entries == 0 && known.contains(t) && configured().is_some() {
                r.valid = false;
                r.first_broken_position = Some(1);
                r.reason = Some("the tenant exists but its chain and head are gone".into());
            }
            Ok(r)
        })
        .collect()
}

/// The export's first line: when, by which key, and the checkpoint interval in force
/// (`every_entries`: the configured one when `None`).
pub fn export_header(every_entries: Option<i64>) -> Line {
    let cfg = configured();
    Line::Export {
        version: 1,
        at: crate::log_time(crate::now()),
        public_key: cfg
            .as_ref()
            .map(|c| c.signer.public_key_hex())
            .unwrap_or_default(),
        every_entries: every_entries.unwrap_or_else(|| cfg.as_ref().map_or(0, |c| c.every_entries)),
    }
}

/// Writes one line of the export.
pub fn write_line(out: &mut dyn Write, l: &Line) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, l).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    out.write_all(b"\n")
        .map_err(|e| StoreError::Corrupt(format!("cannot write the export: {e}")))
}

/// Writes the JSON Lines export of `scope`'s chains (every chain with `None`): the header
/// ([`export_header`] with `every_entries`), then per tenant a `chain` line, its head,
/// checkpoints and entries in chain order. Returns entries written.
pub fn export(
    conn: &mut AnyConnection,
    scope: Option<&str>,
    every_entries: Option<i64>,
    out: &mut dyn Write,
) -> Result<i64, StoreError> {
    let line = write_line;
    snapshot(conn, |c| {
        line(out, &export_header(every_entries))?;
        let tenants = match scope {
            Some(t) => vec![t.to_owned()],
            None => chains(c)?,
        };
        let mut written = 0;
        for t in tenants {
            line(
                out,
                &Line::Chain {
                    tenant_id: t.clone(),
                },
            )?;
            if let Head::Recorded { entries, hash } = head_of(c, &t)? {
                line(
                    out,
                    &Line::Head {
                        tenant_id: t.clone(),
                        entries,
                        hash,
                    },
                )?;
            }
            for cp in checkpoints(c, Some(&t))? {
                line(out, &Line::Checkpoint(cp))?;
            }
            let mut after = None;
            loop {
                let page: Vec<LogEntry> = chain_page(c, &t, after, 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.tenant_seq);
                for e in page {
                    written += 1;
                    line(out, &Line::Entry(e))?;
                }
            }
        }
        Ok(written)
    })
}
