//! Command-line interface. Exit codes: 0 pass / warn / baseline created, 1 fail, 2 error.

use crate::output::render_text;
use crate::progress::Display;
use crate::synth::{GenSpec, Generator, OutFormat, Style};
use anyhow::{Context, bail};
use audit_core::{
    AuditOutcome, AuditResult, Collected, EvidenceReadOptions, FieldMapping, Format, Progress,
    Thresholds, TimeWindow,
};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "auditor",
    version,
    about = "AI Auditor: audit AI models from the evidence they already produced"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reduce evidence files to a profile of aggregates (JSON).
    Profile(ProfileArgs),
    /// Compare current evidence with a baseline and print the verdict (exit 0 pass/warn/baseline, 1 fail, 2 error).
    Audit(AuditArgs),
    /// Write deterministic synthetic prediction logs.
    GenEvidence(GenArgs),
    /// Run a rule pack of security probes against an OpenAI-compatible chat endpoint
    /// (exit 0 pass/warn, 1 fail, 2 error).
    Probe(crate::probe::ProbeArgs),
    /// Create an admin API key of the system tenant and print it once (for whoever can open
    /// the database: first set-up scripts, a lost key).
    AdminKey(AdminKeyArgs),
    /// Export the compliance log, or verify an export offline.
    #[command(subcommand)]
    Log(crate::ledger::LogCommand),
    /// Replace the seal key: a new key file, every sealed secret re-sealed with it in one
    /// transaction, then the old key file replaced (stop the servers first).
    RotateKey(RotateKeyArgs),
    /// Run the HTTP API and the audit scheduler (`--demo` for a self-running demonstration).
    Serve(Box<crate::serve::ServeArgs>),
    /// Purge what is past each tenant's retention: archived models with their records, and
    /// compliance-log payloads (`--dry-run` counts and changes nothing).
    Purge(crate::maint::PurgeArgs),
    /// Copy a SQLite database to a file that appears only complete, then check the copy
    /// (exit 0 ok, 1 the check found a problem, 2 error). PostgreSQL: pg_dump.
    Backup(crate::maint::BackupArgs),
    /// Fill a database with a large synthetic audit history (for benchmarks).
    #[command(hide = true)]
    BenchDb(crate::benchdb::BenchDbArgs),
}

#[derive(Debug, Args)]
pub struct AdminKeyArgs {
    /// The database (a SQLite file path or postgres:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "auditor.db")]
    pub database_url: String,
    /// What the key is for.
    #[arg(long, default_value = "cli")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// TOML file of `auditor serve` (its `database_url` and `seal_key_file` are used).
    #[arg(long, env = "AUDITOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database (a SQLite file path or postgres:// URL; default `auditor.db`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The seal key file the servers use (default: as `auditor serve`).
    #[arg(long, env = "AUDITOR_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Field mapping (TOML or JSON). Default: the columns written by `gen-evidence`.
    #[arg(long, short = 'm')]
    pub mapping: Option<PathBuf>,
    /// Force the input format instead of inferring it from file names.
    #[arg(long = "input-format", value_parser = parse_format)]
    pub input_format: Option<Format>,
    /// Only rows at or after this time (RFC 3339) count.
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Only rows before this time (RFC 3339) count.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Longest accepted line or record, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_line_bytes: usize,
    /// No progress display.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Read files last modified before --from too (they are skipped as append-only logs that
    /// cannot hold a later row).
    #[arg(long)]
    pub no_prune_mtime: bool,
    /// Read files whose Hive-style partition (`dt=…/`, `year=/month=/day=`) lies outside the
    /// window too.
    #[arg(long)]
    pub no_prune_partition: bool,
    /// A date in file names (`%Y %m %d %H` and literal text, e.g. `preds-%Y%m%d`): files
    /// dated outside the window are skipped.
    #[arg(long)]
    pub file_date_pattern: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Evidence files, directories or glob patterns.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Where to write the profile (default: standard output).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Baseline: evidence files, or one profile JSON written by `auditor profile`.
    #[arg(long, required = true, num_args = 1..)]
    pub baseline: Vec<String>,
    /// Current evidence files, directories or glob patterns.
    #[arg(long, required = true, num_args = 1..)]
    pub current: Vec<String>,
    /// Threshold overrides (TOML or JSON); unspecified keys keep their defaults.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
    /// Also write the current profile here (to approve as the next baseline).
    #[arg(long)]
    pub save_profile: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenFormat {
    Jsonl,
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenStyle {
    Ml,
    Llm,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[arg(long, default_value_t = 1000)]
    pub rows: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// 0..1: shift of scores, confidence and label mix.
    #[arg(long, default_value_t = 0.0)]
    pub drift: f64,
    /// 0..1: selection-rate gap against gender = female.
    #[arg(long, default_value_t = 0.0)]
    pub bias: f64,
    #[arg(long, value_enum, default_value_t = GenFormat::Jsonl)]
    pub format: GenFormat,
    #[arg(long, value_enum, default_value_t = GenStyle::Ml)]
    pub style: GenStyle,
    /// Time of the first row (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<DateTime<Utc>>,
    /// Milliseconds between rows.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: i64,
    /// Share of deliberately malformed rows (JSONL and CSV).
    #[arg(long, default_value_t = 0.0)]
    pub invalid_rate: f64,
    /// A marker string planted in LLM prompts and responses.
    #[arg(long)]
    pub marker: Option<String>,
    /// Add this many numeric (`num_0`, …) and as many categorical (`cat_0`, …) input-feature
    /// columns (JSONL and CSV).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub features: u16,
    /// LLM style: longer multilingual prompts and responses (accents, CJK, emoji), some prompts
    /// holding the user's own contact details.
    #[arg(long)]
    pub non_ascii: bool,
    /// Output file (default: standard output; required for Parquet). A `.gz` name is gzip-compressed.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    audit_evidence::parse_timestamp(s)
        .ok_or_else(|| format!("'{s}' is not a time (use RFC 3339, e.g. 2026-03-01T00:00:00Z)"))
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("'{s}' is not a format (jsonl, csv, tsv, parquet)"))
}

/// Reads a TOML or JSON file into `T`, by extension (TOML unless `.json`).
fn read_config<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} '{}'", path.display()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_str(&text)
            .with_context(|| format!("{what} '{}' is not valid", path.display()))
    } else {
        toml::from_str(&text).with_context(|| format!("{what} '{}' is not valid", path.display()))
    }
}

fn mapping(read: &ReadArgs) -> anyhow::Result<FieldMapping> {
    let m = match &read.mapping {
        Some(p) => read_config::<FieldMapping>(p, "field mapping")?,
        None => FieldMapping::conventional(),
    };
    m.validate()?;
    Ok(m)
}

fn read_options(read: &ReadArgs, progress: &Arc<Progress>) -> EvidenceReadOptions {
    EvidenceReadOptions {
        window: TimeWindow {
            from: read.from,
            to: read.to,
        },
        max_line_bytes: read.max_line_bytes,
        threads: read.threads,
        format: read.input_format,
        progress: Some(Arc::clone(progress)),
        pruning: audit_core::Pruning {
            by_mtime: !read.no_prune_mtime,
            by_partition: !read.no_prune_partition,
            file_date_pattern: read.file_date_pattern.clone(),
        },
        ..EvidenceReadOptions::default()
    }
}

fn collect(
    label: &'static str,
    files: &[String],
    read: &ReadArgs,
    mapping: &FieldMapping,
) -> anyhow::Result<Collected> {
    let progress = Arc::new(Progress::default());
    let opts = read_options(read, &progress);
    let started = Instant::now();
    let collected = {
        let _display = Display::start(label, &progress, !read.quiet);
        audit_core::collect(files, mapping, &opts)?
    };
    let secs = started.elapsed().as_secs_f64();
    let p = &collected.profile;
    tracing::info!(
        what = label,
        rows = p.rows_read(),
        invalid = p.invalid_rows(),
        seconds = secs,
        rows_per_s = p.rows_read() as f64 / secs.max(1e-9),
        "evidence read"
    );
    if !read.quiet {
        eprintln!(
            "{label}: {} rows ({} invalid) from {} file(s) in {:.2} s, {:.2}M rows/s",
            p.rows_read(),
            p.invalid_rows(),
            collected.files.len(),
            secs,
            p.rows_read() as f64 / secs.max(1e-9) / 1e6
        );
        if !collected.pruned.is_empty() {
            eprintln!(
                "{label}: skipped {} file(s) and {} Parquet row group(s) outside the window ({:?})",
                collected.pruned.files, collected.pruned.row_groups, collected.pruned.by_reason
            );
        }
    }
    for f in &collected.files {
        if let Some(e) = &f.error {
            eprintln!("warning: {}: {e}", f.path);
        }
    }
    Ok(collected)
}

fn write_json(path: Option<&Path>, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match path {
        Some(p) => std::fs::write(p, text + "\n")
            .with_context(|| format!("cannot write '{}'", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            Ok(())
        }
    }
}

fn run_profile(args: &ProfileArgs) -> anyhow::Result<ExitCode> {
    let m = mapping(&args.read)?;
    let c = collect("profile", &args.files, &args.read, &m)?;
    if c.files.iter().all(|f| f.error.is_some()) {
        bail!("no evidence file could be read");
    }
    write_json(args.output.as_deref(), &c.profile)?;
    Ok(ExitCode::SUCCESS)
}

/// A single `.json` argument holding a profile object is a baseline profile.
fn try_profile(files: &[String]) -> anyhow::Result<Option<audit_core::Profile>> {
    let [single] = files else { return Ok(None) };
    let path = Path::new(single);
    if !path.is_file()
        || !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read '{single}'"))?;
    let looks_like_profile = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .is_some_and(|v| v.get("schema_version").is_some() && v.get("labels").is_some());
    if !looks_like_profile {
        return Ok(None);
    }
    audit_core::parse_profile(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("baseline profile '{single}': {e}"))
}

fn run_audit(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let m = mapping(&args.read)?;
    let thresholds = match &args.thresholds {
        Some(p) => read_config::<Thresholds>(p, "thresholds")?,
        None => Thresholds::default(),
    };
    thresholds.validate()?;
    let baseline = match try_profile(&args.baseline)? {
        Some(p) => p,
        None => {
            // The baseline is read without the time window, which applies to current evidence.
            let read = ReadArgs {
                from: None,
                to: None,
                mapping: None,
                ..clone_read(&args.read)
            };
            let b = collect("baseline", &args.baseline, &read, &m)?;
            if b.profile.n == 0 {
                bail!("the baseline evidence has no valid row");
            }
            b.profile
        }
    };
    let current = collect("current", &args.current, &args.read, &m)?;
    let outcome: AuditOutcome = audit_core::judge(current, Some(&baseline), &thresholds);
    if let Some(p) = &args.save_profile {
        write_json(Some(p), &outcome.profile)?;
    }
    match args.format {
        ReportFormat::Json => write_json(None, &outcome)?,
        ReportFormat::Text => {
            let mut out = std::io::stdout().lock();
            write!(out, "{}", render_text(&outcome))?;
        }
    }
    Ok(match outcome.audit_result {
        None => ExitCode::from(2),
        Some(AuditResult::AuditFail) => ExitCode::from(1),
        Some(_) => ExitCode::SUCCESS,
    })
}

fn clone_read(r: &ReadArgs) -> ReadArgs {
    ReadArgs {
        mapping: r.mapping.clone(),
        input_format: r.input_format,
        from: r.from,
        to: r.to,
        threads: r.threads,
        max_line_bytes: r.max_line_bytes,
        quiet: r.quiet,
        no_prune_mtime: r.no_prune_mtime,
        no_prune_partition: r.no_prune_partition,
        file_date_pattern: r.file_date_pattern.clone(),
    }
}

fn run_gen(args: &GenArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.drift)
        || !(0.0..=1.0).contains(&args.bias)
        || !(0.0..=1.0).contains(&args.invalid_rate)
    {
        bail!("--drift, --bias and --invalid-rate must be between 0 and 1");
    }
    let spec = GenSpec {
        rows: args.rows,
        seed: args.seed,
        drift: args.drift,
        bias: args.bias,
        style: match args.style {
            GenStyle::Ml => Style::Ml,
            GenStyle::Llm => Style::Llm,
        },
        start: args.start.unwrap_or(GenSpec::default().start),
        interval_ms: args.interval_ms,
        invalid_rate: args.invalid_rate,
        marker: args.marker.clone(),
        features: usize::from(args.features),
        non_ascii: args.non_ascii,
    };
    let g = Generator::new(spec);
    let format = match args.format {
        GenFormat::Jsonl => OutFormat::Jsonl,
        GenFormat::Csv => OutFormat::Csv,
        GenFormat::Parquet => OutFormat::Parquet,
    };
    if format == OutFormat::Parquet {
        let Some(path) = &args.output else {
            bail!("--format parquet needs --output FILE")
        };
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot create '{}'", path.display()))?;
        crate::synth::write_parquet(g, f)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create '{}'", path.display()))?;
            let buf = std::io::BufWriter::with_capacity(1 << 20, f);
            if path.extension().is_some_and(|e| e == "gz") {
                let mut gz = flate2::write::GzEncoder::new(buf, flate2::Compression::fast());
                crate::synth::write_text(g, format, &mut gz)?;
                gz.finish()?.flush()?;
            } else {
                let mut buf = buf;
                crate::synth::write_text(g, format, &mut buf)?;
                buf.flush()?;
            }
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            crate::synth::write_text(g, format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs on standard error: plain lines (coloured only on a terminal, and not with `NO_COLOR`),
/// or with `AUDITOR_LOG_FORMAT=json` one JSON object a line for log collectors.
fn init_tracing(default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let format = std::env::var("AUDITOR_LOG_FORMAT").unwrap_or_default();
    let _ = match format.as_str() {
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        _ => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let done = builder.with_ansi(colour).try_init();
            if !matches!(format.as_str(), "" | "text") {
                tracing::warn!(format = %format, "AUDITOR_LOG_FORMAT is text or json; writing text");
            }
            done
        }
    };
}

fn run_rotate_key(a: &RotateKeyArgs) -> anyhow::Result<ExitCode> {
    let file = crate::serve::FileConfig::read(a.config.as_deref())?;
    let database_url = a
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| "auditor.db".into());
    let key_file = a
        .seal_key_file
        .clone()
        .or(file.seal_key_file)
        .unwrap_or_else(|| crate::sealkey::default_key_file(&database_url));
    let store =
        audit_store::Store::open(&database_url, &Default::default()).with_context(|| {
            format!(
                "cannot open database '{}'",
                audit_store::redact_url(&database_url)
            )
        })?;
    let r = crate::sealkey::rotate(&store, &key_file)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "re-sealed {} rows ({} evidence sources, {} probe targets, {} webhooks) with key {} (was {})",
        r.resealed.rows(),
        r.resealed.sources,
        r.resealed.targets,
        r.resealed.webhooks,
        r.new_key_id,
        if r.old_key_id.is_empty() {
            "-"
        } else {
            &r.old_key_id
        }
    )?;
    match &r.key_file {
        Some(p) => writeln!(
            out,
            "{} now holds the new key; the old key is no longer used",
            p.display()
        )?,
        None => writeln!(
            out,
            "the database is sealed with AUDITOR_SEAL_KEY alone; AUDITOR_SEAL_OLD_KEYS may now be removed"
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Profile(a) => run_profile(a),
        Command::Audit(a) => run_audit(a),
        Command::GenEvidence(a) => run_gen(a),
        Command::Serve(a) => crate::serve::run(a).map(|()| ExitCode::SUCCESS),
        Command::BenchDb(a) => {
            crate::ledger::configure_default(&a.database_url)?;
            crate::benchdb::run(a).map(|()| ExitCode::SUCCESS)
        }
        Command::Probe(a) => crate::probe::run(a),
        Command::Log(c) => crate::ledger::run(c),
        Command::RotateKey(a) => run_rotate_key(a),
        Command::Purge(a) => crate::maint::run_purge(a),
        Command::Backup(a) => crate::maint::run_backup(a),
        Command::AdminKey(a) => {
            // The key's log entry is signed like the server's, or verify would call it forged.
            crate::ledger::configure_default(&a.database_url)?;
            let store = audit_store::Store::open(&a.database_url, &Default::default())?;
            let key = audit_http::api::access::mint_admin_key(&store, &a.name)
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{key}")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server reports what it does; the one-shot commands only what went wrong.
    init_tracing(match cli.command {
        Command::Serve(_) | Command::BenchDb(_) => "info,actix_server=warn",
        _ => "warn",
    });
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`auditor gen-evidence | head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
