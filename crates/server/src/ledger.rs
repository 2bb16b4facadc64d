//! The compliance log's keys and checkpoints in the server, and `auditor log export|verify`.
//!
//! The signing key is a file outside the database (created owner-only at first start, or
//! supplied; `AUDITOR_SIGNING_KEY` may carry it instead). The checkpointer thread makes the
//! time-based checkpoints and copies every checkpoint to the append-only outside file.

use anyhow::{Context, bail};
use audit_store::Store;
use audit_store::repo::log::{self, Checkpointing};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Default entries between checkpoints.
pub const DEFAULT_EVERY: i64 = 100;

/// The signing key's default place: beside a SQLite database, else the working directory.
pub fn default_key_path(database_url: &str) -> PathBuf {
    let name = "auditor-signing.key";
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return PathBuf::from(name);
    }
    let db = Path::new(
        database_url
            .strip_prefix("sqlite://")
            .unwrap_or(database_url),
    );
    db.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// Loads (or creates) the signing key and makes it the process's checkpointing; returns the
/// public key in hex.
pub fn configure(key_file: &Path, every_entries: i64) -> anyhow::Result<String> {
    let k = audit_keys::keyfile::from_env_or_file("AUDITOR_SIGNING_KEY", key_file)
        .context("cannot load the compliance log's signing key")?;
    if k.created {
        tracing::warn!(path = %key_file.display(), "created a new signing key for the compliance log: back it up apart from the database");
    }
    let signer = audit_keys::Signer::from_seed(&k.key);
    let public = signer.public_key_hex();
    // The fingerprint key is derived from the signing key, so it too never enters the database.
    let fingerprint_key = audit_keys::derive(&k.key, "ai-auditor fingerprint");
    log::configure(Some(Checkpointing {
        signer,
        every_entries,
        fingerprint_key,
    }));
    tracing::info!(public_key = %public, every_entries, "compliance log entries and checkpoints signed");
    Ok(public)
}

/// For one-shot commands that write the log: the server's key at its default place (or
/// `AUDITOR_SIGNING_KEY_FILE` / `AUDITOR_SIGNING_KEY`), the interval from the environment.
pub fn configure_default(database_url: &str) -> anyhow::Result<()> {
    let path = std::env::var_os("AUDITOR_SIGNING_KEY_FILE")
        .map_or_else(|| default_key_path(database_url), PathBuf::from);
    let every = std::env::var("AUDITOR_CHECKPOINT_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_EVERY);
    configure(&path, every).map(|_| ())
}

/// The thread that makes time-based checkpoints and delivers every checkpoint to the outside
/// copy. Stops when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Checkpoints at start every chain its newest checkpoint does not cover (a database from
    /// before checkpoints, or entries made while checkpointing was off), then every `every`.
    pub fn start(store: Store, every: Duration, copy: Option<PathBuf>) -> anyhow::Result<Self> {
        let made = store
            .write(|c| log::time_checkpoints(c, "9999"))
            .context("cannot checkpoint the compliance log")?;
        if !made.is_empty() {
            tracing::info!(chains = made.len(), "checkpointed chains at start");
        }
        let mut delivery = match copy {
            Some(p) => Some(Delivery::open(p)?),
            None => None,
        };
        if let Some(d) = delivery.as_mut() {
            d.deliver(&store)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("checkpointer".into())
            .spawn(move || {
                let mut last = Instant::now();
                while !flag.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(500));
                    if last.elapsed() >= every {
                        last = Instant::now();
                        let cut = audit_store::log_time(
                            audit_store::now()
                                - chrono::Duration::from_std(every).unwrap_or_default(),
                        );
                        if let Err(e) = store.write(|c| log::time_checkpoints(c, &cut)) {
                            tracing::error!(error = %e, "time checkpoint failed");
                        }
                    }
                    if let Some(d) = delivery.as_mut()
                        && let Err(e) = d.deliver(&store)
                    {
                        tracing::error!(error = %e, "checkpoint delivery failed");
                    }
                }
            })
            .context("cannot start the checkpointer")?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The outside copy: an append-only JSON Lines file of checkpoints.
struct Delivery {
    path: PathBuf,
    /// (tenant, sequence) already in the file.
    have: std::collections::BTreeSet<(String, i64)>,
    after_id: i64,
}

impl Delivery {
    fn open(path: PathBuf) -> anyhow::Result<Self> {
        let have = match std::fs::File::open(&path) {
            Ok(f) => audit_ledger::export::read_checkpoints(std::io::BufReader::new(f))
                .with_context(|| format!("checkpoint copy {}", path.display()))?
                .into_values()
                .flatten()
                .map(|c| (c.tenant_id, c.sequence))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
            Err(e) => return Err(e).context(format!("checkpoint copy {}", path.display())),
        };
        Ok(Delivery {
            path,
            have,
            after_id: 0,
        })
    }

    /// Appends what the file lacks, one line per checkpoint, synced before it counts as sent.
    fn deliver(&mut self, store: &Store) -> anyhow::Result<()> {
        loop {
            let after = self.after_id;
            let batch = store.read(|c| log::undelivered(c, after, 500))?;
            let Some((last, _)) = batch.last() else {
                return Ok(());
            };
            self.after_id = *last;
            let mut text = String::new();
            for (_, cp) in batch {
                if self.have.insert((cp.tenant_id.clone(), cp.sequence)) {
                    text.push_str(&serde_json::to_string(
                        &audit_ledger::export::Line::Checkpoint(cp),
                    )?);
                    text.push('\n');
                }
            }
            if !text.is_empty() {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .with_context(|| format!("checkpoint copy {}", self.path.display()))?;
                f.write_all(text.as_bytes())?;
                f.sync_data()?;
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Write the compliance log (entries, heads, signed checkpoints) as JSON Lines.
    Export(ExportArgs),
    /// Verify an export offline: every chain, every signature, optionally against the
    /// checkpoint copy kept outside the database (exit 0 valid, 1 broken, 2 error).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The database (a SQLite file path or postgres:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "auditor.db")]
    pub database_url: String,
    /// Only this tenant's chain.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Where to write (default: standard output).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// The server's checkpoint interval, recorded in the export so that removed checkpoints
    /// are noticed offline.
    #[arg(long, env = "AUDITOR_CHECKPOINT_EVERY", default_value_t = DEFAULT_EVERY)]
    pub checkpoint_every: i64,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The export (`auditor log export` or `GET /compliance-log/export`).
    pub file: PathBuf,
    /// The server's public key: 64 hex digits, or a file holding them
    /// (`GET /compliance-log/public-key`, printed at the server's start).
    #[arg(long)]
    pub public_key: String,
    /// The checkpoint copy kept outside the database (`checkpoint_copy`).
    #[arg(long)]
    pub checkpoints: Option<PathBuf>,
}

pub fn run(cmd: &LogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Export(a) => export(a),
        LogCommand::Verify(a) => verify(a),
    }
}

fn export(a: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&a.database_url, &Default::default())
        .with_context(|| format!("cannot open '{}'", audit_store::redact_url(&a.database_url)))?;
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create '{}'", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let n =
        store.read(|c| log::export(c, a.tenant.as_deref(), Some(a.checkpoint_every), &mut out))?;
    out.flush()?;
    tracing::info!(entries = n, "exported");
    Ok(ExitCode::SUCCESS)
}

fn verify(a: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(&a.public_key) {
        Ok(t) => t,
        Err(_) => a.public_key.clone(),
    };
    let Some(key) = audit_keys::Verifier::from_hex(text.trim()) else {
        bail!("--public-key is neither 64 hex digits of an Ed25519 key nor a file holding them");
    };
    let outside = match &a.checkpoints {
        Some(p) => audit_ledger::export::read_checkpoints(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open '{}'", p.display()))?,
        ))?,
        None => Default::default(),
    };
    let f = std::fs::File::open(&a.file)
        .with_context(|| format!("cannot open '{}'", a.file.display()))?;
    let reports = audit_ledger::export::verify_export(std::io::BufReader::new(f), &key, outside)?;
    let valid = reports.iter().all(|r| r.valid);
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(
        &mut out,
        &serde_json::json!({
            "valid": valid,
            "entries_checked": reports.iter().map(|r| r.entries).sum::<i64>(),
            "outside_copy": a.checkpoints.is_some(),
            "chains": reports,
        }),
    )?;
    writeln!(out)?;
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
