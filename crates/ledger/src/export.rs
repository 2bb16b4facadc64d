//! The JSON Lines export of the compliance log, and its offline verification.
//!
//! An export is grouped by tenant: for each chain its head (when the database has one), its
//! checkpoints, then its entries in chain order. One line per record, each with a `type`.
//! `verify_export` needs only the export, the server's public key and, optionally, the
//! outside copy of the checkpoints (the file the server appends each checkpoint to): a chain
//! rewritten inside the database, checkpoints and all, still contradicts that copy.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::verify::{ChainReport, ChainVerifier, Head};
use crate::{Checkpoint, Entry};

/// One line of an export or of the outside checkpoint copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The first line: when and by which key.
    Export {
        version: u32,
        at: String,
        public_key: String,
        every_entries: i64,
    },
    /// Opens each chain's records: the tenant exists, whether or not its chain does.
    Chain {
        tenant_id: String,
    },
    Head {
        tenant_id: String,
        entries: i64,
        hash: String,
    },
    Checkpoint(Checkpoint),
    Entry(Entry),
}

/// Why an export could not be read at all (a broken chain is a report, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {0} is not an export record: {1}")]
    Json(usize, String),
    #[error("line {0}: tenant {1:?} appears again after another tenant's records")]
    Order(usize, String),
}

/// Reads checkpoint lines (the outside copy), grouped by tenant. Lines of other types are
/// ignored, so an export can serve as a copy too.
pub fn read_checkpoints(r: impl BufRead) -> Result<BTreeMap<String, Vec<Checkpoint>>, ReadError> {
    let mut out: BTreeMap<String, Vec<Checkpoint>> = BTreeMap::new();
    for (i, line) in r.lines().enumerate() {
        let line = line.map_err(ReadError::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        if let Line::Checkpoint(c) =
            serde_json::from_str(&line).map_err(|e| ReadError::Json(i + 1, e.to_string()))?
        {
            out.entry(c.tenant_id.clone()).or_default().push(c);
        }
    }
    Ok(out)
}

/// Verifies every chain of an export. `outside`: checkpoints from the outside copy; a tenant
/// that has checkpoints there but no chain in the export is reported broken.
pub fn verify_export(
    r: impl BufRead,
    key: &audit_keys::Verifier,
    mut outside: BTreeMap<String, Vec<Checkpoint>>,
) -> Result<Vec<ChainReport>, ReadError> {
    let mut reports = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut every = 0i64;
    // The chain being read: its tenant, head and checkpoints until its first entry.
    let mut current: Option<(String, Head, Vec<Checkpoint>)> = None;
    let mut verifier: Option<ChainVerifier<'_>> = None;
    for (i, line) in r.lines().enumerate() {
        let line = line.map_err(ReadError::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: Line =
            serde_json::from_str(&line).map_err(|e| ReadError::Json(i + 1, e.to_string()))?;
        let tenant = match &rec {
            Line::Export { every_entries, .. } => {
                every = *every_entries;
                continue;
            }
            Line::Head { tenant_id, .. } | Line::Chain { tenant_id } => tenant_id.clone(),
            Line::Checkpoint(c) => c.tenant_id.clone(),
            Line::Entry(e) => e.tenant_id.clone(),
        };
        if current.as_ref().is_none_or(|(t, _, _)| *t != tenant) {
            if done.contains(&tenant) {
                return Err(ReadError::Order(i + 1, tenant));
            }
            if let Some((t, head, cps)) = current.take() {
                reports.push(close(
                    t.clone(),
                    head,
                    cps,
                    verifier.take(),
                    key,
                    every,
                    &mut outside,
                ));
                done.insert(t);
            }
            // An export writes every recorded head, so a chain without one lost it.
            current = Some((tenant.clone(), Head::Missing, Vec::new()));
        }
        let Some((t, head, cps)) = current.as_mut() else {
            continue;
        };
        match rec {
            Line::Head { entries, hash, .. } => *head = Head::Recorded { entries, hash },
            Line::Checkpoint(c) => cps.push(c),
            Line::Entry(e) => {
                let v = verifier.get_or_insert_with(|| {
                    let copy = outside.remove(t.as_str()).unwrap_or_default();
                    ChainVerifier::with_copy(t, std::mem::take(cps), copy, Some(key), every)
                });
                v.push(&e);
            }
            Line::Export { .. } | Line::Chain { .. } => {}
        }
    }
    if let Some((t, head, cps)) = current.take() {
        reports.push(close(
            t.clone(),
            head,
            cps,
            verifier.take(),
            key,
            every,
            &mut outside,
        ));
        done.insert(t);
    }
    // Chains the outside copy knows and the export lacks: removed with their head.
    for (t, cps) in std::mem::take(&mut outside) {
        let mut r = ChainVerifier::new(&t, cps, Some(key), every).finish(Head::Missing);
        if r.checkpoints > 0 {
            r.valid = false;
            r.reason = Some(format!(
                "the outside copy holds {} signed checkpoints of this chain, and the log has none of its entries: the chain was removed",
                r.checkpoints
            ));
        }
        reports.push(r);
    }
    Ok(reports)
}

/// Finishes a chain; a chain with no entries, no head and no checkpoint whose tenant the
/// export names was removed whole.
fn close<'k>(
    tenant: String,
    head: Head,
    cps: Vec<Checkpoint>,
    verifier: Option<ChainVerifier<'k>>,
    key: &'k audit_keys::Verifier,
    every: i64,
    outside: &mut BTreeMap<String, Vec<Checkpoint>>,
) -> ChainReport {
    let empty = verifier.is_none();
    let v = verifier.unwrap_or_else(|| {
        let copy = outside.remove(&tenant).unwrap_or_default();
        ChainVerifier::with_copy(&tenant, cps, copy, Some(key), every)
    });
    let missing_head = head == Head::Missing;
    let mut r = v.finish(head);
    if r.valid && empty && missing_head && r.checkpoints == 0 {
        r.valid = false;
        r.first_broken_position = Some(1);
        r.reason = Some("the tenant exists but its chain and head are gone".into());
    }
    r
}
