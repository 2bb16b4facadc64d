//! Maintenance commands: `auditor purge` (the retention purge the scheduler also runs) and
//! `auditor backup` (a crash-safe, checked copy of a SQLite database). docs/retention.md.

use anyhow::Context;
use audit_store::backup::{self, Check};
use audit_store::repo::purge::{self, PurgeReport};
use audit_store::{Store, StoreOptions, redact_url};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// The database (a SQLite file path or postgres:// URL).
    #[arg(
        long,
        alias = "database",
        env = "DATABASE_URL",
        default_value = "auditor.db"
    )]
    pub database_url: String,
    /// Count what would be purged, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the counts as JSON (one object per tenant).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The SQLite database file to copy (PostgreSQL: see docs/retention.md for pg_dump).
    #[arg(
        long,
        alias = "database-url",
        env = "DATABASE_URL",
        default_value = "auditor.db"
    )]
    pub database: String,
    /// Where the backup goes; it appears under this name only complete and synced.
    #[arg(long, required_unless_present = "verify")]
    pub out: Option<PathBuf>,
    /// Check an existing backup file instead of making one.
    #[arg(long, conflicts_with = "out")]
    pub verify: Option<PathBuf>,
}

/// The purge's actor in the compliance log when run from the command line.
const CLI_ACTOR: &str = "system";

fn purge_line(r: &PurgeReport, dry_run: bool) -> String {
    let verb = if dry_run { "would purge" } else { "purged" };
    format!(
        "tenant {}: {verb} {} model(s), {} audit(s), {} finding(s), {} log payload(s) (models archived before {}, log entries before {})",
        r.tenant_id,
        r.models,
        r.audits,
        r.findings,
        r.log_entries,
        r.records_before.to_rfc3339(),
        r.log_before
    )
}

pub fn run_purge(a: &PurgeArgs) -> anyhow::Result<ExitCode> {
    // The purge's log entry is signed like the server's entries, or verify would call it
    // forged.
    crate::ledger::configure_default(&a.database_url)?;
    let store = Store::open(&a.database_url, &StoreOptions::default())
        .with_context(|| format!("cannot open '{}'", redact_url(&a.database_url)))?;
    let reports = purge::purge_all(&store, audit_store::now(), CLI_ACTOR, a.dry_run)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        writeln!(out, "{}", purge_line(r, a.dry_run))?;
    }
    let sum = |f: fn(&PurgeReport) -> u64| reports.iter().map(f).sum::<u64>();
    writeln!(
        out,
        "total: {} model(s), {} audit(s), {} finding(s), {} log payload(s){}",
        sum(|r| r.models),
        sum(|r| r.audits),
        sum(|r| r.findings),
        sum(|r| r.log_entries),
        if a.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints what a check found; exit code 0 when all is well, 1 when something is not.
fn print_check(out: &mut impl Write, c: &Check) -> anyhow::Result<ExitCode> {
    writeln!(out, "integrity: {}", c.integrity)?;
    let state = match (c.pending.is_empty(), c.unknown.is_empty()) {
        (true, true) => "current".to_owned(),
        (false, _) => format!(
            "NOT current: {} pending ({})",
            c.pending.len(),
            c.pending.join(", ")
        ),
        (true, false) => format!("NEWER than this auditor: unknown {}", c.unknown.join(", ")),
    };
    writeln!(
        out,
        "migrations: {} applied, latest {}, {state}",
        c.applied,
        c.latest.as_deref().unwrap_or("none")
    )?;
    if c.chains.is_empty() {
        writeln!(out, "compliance log: no chain")?;
    }
    for ch in &c.chains {
        match &ch.reason {
            None => writeln!(
                out,
                "compliance log: chain {}: {} entries, valid (head {})",
                ch.tenant_id, ch.entries, ch.head_hash
            )?,
            Some(why) => writeln!(
                out,
                "compliance log: chain {}: BROKEN after {} entries: {why}",
                ch.tenant_id, ch.entries
            )?,
        }
    }
    let rows: Vec<String> = c.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    writeln!(out, "rows: {}", rows.join(", "))?;
    writeln!(
        out,
        "{}",
        if c.ok() { "check: ok" } else { "check: FAILED" }
    )?;
    Ok(if c.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads the server's signing key when there is one (never creates it: a backup writes no
/// log), so that the check verifies signatures and checkpoints too. Says which.
fn signing_key(database: &str) -> anyhow::Result<String> {
    let path = std::env::var_os("AUDITOR_SIGNING_KEY_FILE")
        .map_or_else(|| crate::ledger::default_key_path(database), PathBuf::from);
    if std::env::var_os("AUDITOR_SIGNING_KEY").is_none() && !path.is_file() {
        return Ok(format!(
            "signatures: not checked (no signing key at {}; AUDITOR_SIGNING_KEY_FILE names it)",
            path.display()
        ));
    }
    crate::ledger::configure_default(database)?;
    Ok("signatures: checked with the server's signing key".into())
}

pub fn run_backup(a: &BackupArgs) -> anyhow::Result<ExitCode> {
    let keyed = signing_key(&a.database)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{keyed}")?;
    if let Some(file) = &a.verify {
        let c = backup::check_file(file)?;
        writeln!(out, "checked: {}", file.display())?;
        return print_check(&mut out, &c);
    }
    let source = backup::sqlite_path(&a.database)?;
    let dest = a.out.as_ref().context("--out names the backup file")?;
    let b = backup::backup_sqlite(&source, dest)?;
    for r in &b.removed {
        writeln!(out, "removed an interrupted backup's file: {}", r.display())?;
    }
    writeln!(
        out,
        "backup: {} ({} bytes) of {}",
        b.path.display(),
        b.bytes,
        source.display()
    )?;
    print_check(&mut out, &b.check)
}
