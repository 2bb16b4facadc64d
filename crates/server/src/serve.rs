//! `auditor serve`: the HTTP API and the scheduler over one database.
//!
//! Settings come from, in order of precedence: command-line flags, environment variables, an
//! optional TOML file (`--config` / `AUDITOR_CONFIG`), then defaults. docs/configuration.md
//! lists every key.

use crate::demo;
use anyhow::{Context, bail};
use audit_http::{AppState, HttpConfig};
use audit_scheduler::{Scheduler, SchedulerConfig, SourcePolicy, TimeScale};
use audit_store::{Store, StoreOptions, redact_url};
use clap::Args;
use serde::Deserialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (flags and environment variables win).
    #[arg(long, env = "AUDITOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// `postgres://user:pass@host/db`, or a SQLite file path (default `auditor.db`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The seal key file (created owner-only at first start): the key that seals the secrets
    /// the database keeps. Default: `<database dir>/<database name>.seal.key` for SQLite,
    /// `auditor.seal.key` for PostgreSQL. `AUDITOR_SEAL_KEY` (64 hex digits) wins over it.
    #[arg(long, env = "AUDITOR_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8000; port 0 picks a free port).
    #[arg(long, env = "AUDITOR_BIND")]
    pub bind: Option<String>,
    /// Directories file evidence may be read from (comma-separated).
    #[arg(long, env = "AUDITOR_EVIDENCE_ROOTS", value_delimiter = ',')]
    pub evidence_roots: Vec<PathBuf>,
    /// Browser origins allowed by CORS (comma-separated; `*` for any).
    #[arg(long, env = "AUDITOR_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Schedule speed-up: 1 is real time, 5760 makes a day last 15 seconds.
    #[arg(long, env = "AUDITOR_TIME_SCALE")]
    pub time_scale: Option<f64>,
    /// Threads running audits.
    #[arg(long, env = "AUDITOR_AUDIT_WORKERS")]
    pub audit_workers: Option<usize>,
    /// Run-now audits queued or running at once per tenant (each model has at most one).
    #[arg(long, env = "AUDITOR_RUN_NOW_PER_TENANT")]
    pub run_now_per_tenant: Option<usize>,
    /// Threads serving HTTP (default: one per core).
    #[arg(long, env = "AUDITOR_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Seconds between scans for due policies (1–59).
    #[arg(long, env = "AUDITOR_TICK_SECONDS")]
    pub tick_seconds: Option<u32>,
    /// Database connections in the pool.
    #[arg(long, env = "AUDITOR_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,
    /// Milliseconds a list or dashboard response may be served from cache (0 disables).
    #[arg(long, env = "AUDITOR_CACHE_TTL_MS")]
    pub cache_ttl_ms: Option<u64>,
    /// Timeout of `api` evidence sources, in seconds.
    #[arg(long, env = "AUDITOR_API_TIMEOUT_SECS")]
    pub api_timeout_secs: Option<u64>,
    /// Largest inference summary an `api` source may return, in bytes.
    #[arg(long, env = "AUDITOR_API_MAX_BYTES")]
    pub api_max_bytes: Option<u64>,
    /// Internal destinations outbound calls (api sources, webhooks, probe targets) may reach
    /// besides public addresses: comma-separated hosts, IPs and CIDR networks, each with an
    /// optional port or port range (docs/configuration.md).
    #[arg(long, env = "AUDITOR_OUTBOUND_ALLOW")]
    pub outbound_allow: Option<String>,
    /// Largest sample upload, in bytes.
    #[arg(long, env = "AUDITOR_MAX_SAMPLE_BYTES")]
    pub max_sample_bytes: Option<usize>,
    /// Seconds after which a run still `running` counts as interrupted (its instance died).
    #[arg(long, env = "AUDITOR_RUN_TIMEOUT_SECS")]
    pub run_timeout_secs: Option<u64>,
    /// Do not run scheduled audits (API only; useful beside another instance).
    #[arg(long, env = "AUDITOR_NO_SCHEDULER")]
    pub no_scheduler: bool,
    /// Let requests without credentials read, as viewers of the system tenant (the demo
    /// turns this on). Writes always need credentials.
    #[arg(long, env = "AUDITOR_ANONYMOUS_READS")]
    pub anonymous_reads: bool,
    /// Never allow reads without credentials, not even with `--demo` (e.g. to test that every
    /// route needs its credential).
    #[arg(long, conflicts_with = "anonymous_reads")]
    pub no_anonymous_reads: bool,
    /// Open mode for a trusted local network: requests without credentials act as an admin of
    /// this tenant (its id; `default` is the system tenant), logged as actor `anonymous`. The
    /// demo turns it on for the system tenant. Refused on an address beyond loopback unless
    /// `--open-access-beyond-loopback` says so too.
    #[arg(long, env = "AUDITOR_OPEN_ACCESS", value_name = "TENANT")]
    pub open_access: Option<String>,
    /// Allow open mode on an address other people can reach (a second, explicit yes).
    #[arg(long, env = "AUDITOR_OPEN_ACCESS_BEYOND_LOOPBACK")]
    pub open_access_beyond_loopback: bool,
    /// No open mode, not even with `--demo` (e.g. to test that every route needs its
    /// credential).
    #[arg(long, conflicts_with = "open_access")]
    pub no_open_access: bool,
    /// Seconds a login token lives (default 3600).
    #[arg(long, env = "AUDITOR_TOKEN_TTL_SECS")]
    pub token_ttl_secs: Option<u64>,
    /// Seconds live events and webhook delivery records are kept (default 30 days).
    #[arg(long, env = "AUDITOR_EVENT_RETENTION_SECS")]
    pub event_retention_secs: Option<u64>,
    /// The Ed25519 key that signs the compliance log's checkpoints (default: beside a SQLite
    /// database, else `./auditor-signing.key`); created owner-only at first start.
    /// `AUDITOR_SIGNING_KEY` (64 hex digits) supplies it instead.
    #[arg(long, env = "AUDITOR_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// A signed checkpoint after this many entries of a chain (default 100).
    #[arg(long, env = "AUDITOR_CHECKPOINT_EVERY")]
    pub checkpoint_every: Option<i64>,
    /// And at least this often, in seconds, while a chain moves (default 600).
    #[arg(long, env = "AUDITOR_CHECKPOINT_SECS")]
    pub checkpoint_secs: Option<u64>,
    /// Append-only file outside the database each checkpoint is copied to; verify checks the
    /// log against it, which catches a rewrite of the whole database.
    #[arg(long, env = "AUDITOR_CHECKPOINT_COPY")]
    pub checkpoint_copy: Option<PathBuf>,
    /// Seconds between retention purges on a scheduling instance (default 3600; 0: never,
    /// e.g. when `auditor purge` runs from cron instead).
    #[arg(long, env = "AUDITOR_PURGE_INTERVAL_SECS")]
    pub purge_interval_secs: Option<u64>,
    /// Load the demo registry from seeds/ into a fresh database, compress time and feed new
    /// evidence windows.
    #[arg(long)]
    pub demo: bool,
    /// Where the demo keeps its database and evidence (recreated at every start).
    #[arg(long, env = "AUDITOR_DEMO_DIR", default_value = "auditor-demo")]
    pub demo_dir: PathBuf,
    /// The demo registry.
    #[arg(long, env = "AUDITOR_DEMO_SEED", default_value = "seeds/demo.toml")]
    pub demo_seed: PathBuf,
}

/// The TOML file: the same settings, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub seal_key_file: Option<PathBuf>,
    pub bind: Option<String>,
    pub evidence_roots: Option<Vec<PathBuf>>,
    pub cors_origins: Option<Vec<String>>,
    pub time_scale: Option<f64>,
    pub audit_workers: Option<usize>,
    pub run_now_per_tenant: Option<usize>,
    pub http_workers: Option<usize>,
    pub tick_seconds: Option<u32>,
    pub db_pool_size: Option<u32>,
    pub cache_ttl_ms: Option<u64>,
    pub api_timeout_secs: Option<u64>,
    pub api_max_bytes: Option<u64>,
    pub outbound_allow: Option<Vec<String>>,
    pub max_sample_bytes: Option<usize>,
    pub run_timeout_secs: Option<u64>,
    pub no_scheduler: Option<bool>,
    pub anonymous_reads: Option<bool>,
    pub token_ttl_secs: Option<u64>,
    pub event_retention_secs: Option<u64>,
    pub signing_key_file: Option<PathBuf>,
    pub checkpoint_every: Option<i64>,
    pub checkpoint_secs: Option<u64>,
    pub checkpoint_copy: Option<PathBuf>,
    pub purge_interval_secs: Option<u64>,
}

/// Settings after merging flags, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub seal_key_file: PathBuf,
    pub bind: String,
    pub evidence_roots: Vec<PathBuf>,
    pub cors_origins: Vec<String>,
    pub time_scale: f64,
    pub audit_workers: usize,
    pub run_now_per_tenant: usize,
    pub http_workers: usize,
    pub tick_seconds: u32,
    pub db_pool_size: u32,
    pub cache_ttl_ms: u64,
    pub api_timeout_secs: u64,
    pub api_max_bytes: u64,
    pub outbound_allow: String,
    pub max_sample_bytes: usize,
    pub run_timeout_secs: u64,
    pub no_scheduler: bool,
    pub anonymous_reads: bool,
    pub open_access: Option<String>,
    pub token_ttl_secs: u64,
    pub event_retention_secs: u64,
    pub signing_key_file: Option<PathBuf>,
    pub checkpoint_every: i64,
    pub checkpoint_secs: u64,
    pub checkpoint_copy: Option<PathBuf>,
    pub purge_interval_secs: u64,
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

impl FileConfig {
    /// The TOML file at `path`, or nothing when there is none.
    pub fn read(path: Option<&std::path::Path>) -> anyhow::Result<FileConfig> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config '{}'", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("config '{}' is not valid", p.display()))
            }
            None => Ok(FileConfig::default()),
        }
    }
}

impl Settings {
    pub fn resolve(a: &ServeArgs) -> anyhow::Result<Settings> {
        let file = FileConfig::read(a.config.as_deref())?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let database_url = a
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| "auditor.db".into());
        let s = Settings {
            seal_key_file: a
                .seal_key_file
                .clone()
                .or(file.seal_key_file)
                .unwrap_or_else(|| crate::sealkey::default_key_file(&database_url)),
            database_url,
            bind: a
                .bind
                .clone()
                .or(file.bind)
                .unwrap_or_else(|| "127.0.0.1:8000".into()),
            evidence_roots: non_empty(a.evidence_roots.clone())
                .or(file.evidence_roots)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            cors_origins: non_empty(a.cors_origins.clone())
                .or(file.cors_origins)
                .unwrap_or_else(|| vec!["http://localhost:3000".into()]),
            time_scale: a.time_scale.or(file.time_scale).unwrap_or(1.0),
            audit_workers: a.audit_workers.or(file.audit_workers).unwrap_or(2),
            run_now_per_tenant: a
                .run_now_per_tenant
                .or(file.run_now_per_tenant)
                .unwrap_or(4),
            http_workers: a.http_workers.or(file.http_workers).unwrap_or(cores),
            tick_seconds: a.tick_seconds.or(file.tick_seconds).unwrap_or(5),
            db_pool_size: a.db_pool_size.or(file.db_pool_size).unwrap_or(16),
            cache_ttl_ms: a.cache_ttl_ms.or(file.cache_ttl_ms).unwrap_or(1000),
            api_timeout_secs: a.api_timeout_secs.or(file.api_timeout_secs).unwrap_or(10),
            api_max_bytes: a.api_max_bytes.or(file.api_max_bytes).unwrap_or(1 << 20),
            outbound_allow: a
                .outbound_allow
                .clone()
                .or(file.outbound_allow.map(|v| v.join(",")))
                .unwrap_or_default(),
            max_sample_bytes: a
                .max_sample_bytes
                .or(file.max_sample_bytes)
                .unwrap_or(64 << 20),
            run_timeout_secs: a
                .run_timeout_secs
                .or(file.run_timeout_secs)
                .unwrap_or(30 * 60),
            no_scheduler: a.no_scheduler || file.no_scheduler.unwrap_or(false),
            anonymous_reads: !a.no_anonymous_reads
                && (a.anonymous_reads || file.anonymous_reads.unwrap_or(false)),
            open_access: a.open_access.clone().filter(|_| !a.no_open_access),
            token_ttl_secs: a.token_ttl_secs.or(file.token_ttl_secs).unwrap_or(3600),
            event_retention_secs: a
                .event_retention_secs
                .or(file.event_retention_secs)
                .unwrap_or(30 * 86_400),
            signing_key_file: a.signing_key_file.clone().or(file.signing_key_file),
            checkpoint_every: a
                .checkpoint_every
                .or(file.checkpoint_every)
                .unwrap_or(crate::ledger::DEFAULT_EVERY),
            checkpoint_secs: a.checkpoint_secs.or(file.checkpoint_secs).unwrap_or(600),
            checkpoint_copy: a.checkpoint_copy.clone().or(file.checkpoint_copy),
            purge_interval_secs: a
                .purge_interval_secs
                .or(file.purge_interval_secs)
                .unwrap_or(3600),
        };
        if !(1..=1_000_000).contains(&s.checkpoint_every) || s.checkpoint_secs == 0 {
            bail!("checkpoint_every must be 1–1000000 and checkpoint_secs at least 1");
        }
        if !(s.time_scale.is_finite() && s.time_scale >= 1.0) {
            bail!("time_scale must be a number ≥ 1 (1 is real time)");
        }
        if !(1..=59).contains(&s.tick_seconds) {
            bail!("tick_seconds must be between 1 and 59");
        }
        audit_outbound::OutboundPolicy::parse(&s.outbound_allow)?;
        if s.event_retention_secs == 0 {
            bail!("event_retention_secs must be at least 1");
        }
        if !(1..=30 * 86_400).contains(&s.token_ttl_secs) {
            bail!("token_ttl_secs must be between 1 and 2592000 (30 days)");
        }
        if s.audit_workers == 0
            || s.http_workers == 0
            || s.db_pool_size == 0
            || s.run_now_per_tenant == 0
        {
            bail!(
                "audit_workers, http_workers, db_pool_size and run_now_per_tenant must be at least 1"
            );
        }
        Ok(s)
    }
}

/// Prepares a fresh demo directory and returns its settings overrides.
fn demo_settings(a: &ServeArgs, s: &mut Settings) -> anyhow::Result<PathBuf> {
    let dir = &a.demo_dir;
    demo::fresh_dir(dir)?;
    let evidence = dir.join("evidence");
    std::fs::create_dir_all(&evidence)
        .with_context(|| format!("cannot create '{}'", evidence.display()))?;
    if a.database_url.is_none() {
        s.database_url = dir.join("demo.db").to_string_lossy().into_owned();
        if a.seal_key_file.is_none() {
            s.seal_key_file = crate::sealkey::default_key_file(&s.database_url);
        }
    }
    s.evidence_roots = vec![evidence.clone()];
    if a.time_scale.is_none() {
        s.time_scale = demo::DEMO_TIME_SCALE;
    }
    if a.tick_seconds.is_none() {
        s.tick_seconds = 1;
    }
    s.anonymous_reads = !a.no_anonymous_reads;
    if !a.no_open_access && s.open_access.is_none() {
        s.open_access = Some(audit_store::repo::tenants::SYSTEM_TENANT.to_owned());
    }
    if s.checkpoint_copy.is_none() {
        s.checkpoint_copy = Some(dir.join("checkpoints.jsonl"));
    }
    Ok(evidence)
}

/// The demo's console account (an admin; its password is printed at start).
const DEMO_USER: &str = "demo";

pub fn run(a: &ServeArgs) -> anyhow::Result<()> {
    let mut s = Settings::resolve(a)?;
    let demo_evidence = if a.demo {
        Some(demo_settings(a, &mut s)?)
    } else {
        None
    };
    let store = Store::open(
        &s.database_url,
        &StoreOptions {
            pool_size: s.db_pool_size,
            ..StoreOptions::default()
        },
    )
    .with_context(|| format!("cannot open database '{}'", redact_url(&s.database_url)))?;
    tracing::info!(database = %redact_url(&s.database_url), backend = store.backend().name(), "database ready");
    let key_file = s
        .signing_key_file
        .clone()
        .unwrap_or_else(|| crate::ledger::default_key_path(&s.database_url));
    let public_key = crate::ledger::configure(&key_file, s.checkpoint_every)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "compliance log public key (Ed25519): {public_key}")?;
        out.flush()?;
    }
    let store = crate::sealkey::attach(store, &s.seal_key_file)?;

    let mut sources = SourcePolicy::new(&s.evidence_roots).map_err(anyhow::Error::msg)?;
    sources.api_timeout = Duration::from_secs(s.api_timeout_secs);
    sources.api_max_bytes = s.api_max_bytes;
    let outbound = std::sync::Arc::new(audit_outbound::OutboundPolicy::parse(&s.outbound_allow)?);
    if outbound.allow_entries() > 0 {
        tracing::warn!(
            allow = %s.outbound_allow,
            "outbound calls may reach these internal destinations (AUDITOR_OUTBOUND_ALLOW)"
        );
    }
    sources.outbound = outbound.clone();
    if s.evidence_roots.is_empty() {
        tracing::warn!(
            "no evidence root configured (AUDITOR_EVIDENCE_ROOTS): logs, batch and container sources are refused"
        );
    }

    let feeder = match &demo_evidence {
        Some(dir) => Some(demo::load(
            &store,
            &sources,
            &a.demo_seed,
            dir,
            s.time_scale,
        )?),
        None => None,
    };

    let scheduler = Scheduler::start(
        store.clone(),
        sources,
        SchedulerConfig {
            workers: s.audit_workers,
            tick_seconds: s.tick_seconds,
            time_scale: TimeScale(s.time_scale),
            run_timeout: Duration::from_secs(s.run_timeout_secs.max(1)),
            run_now_per_tenant: s.run_now_per_tenant,
            purge_every: (s.purge_interval_secs > 0)
                .then(|| Duration::from_secs(s.purge_interval_secs)),
            notify: audit_scheduler::notify::NotifyConfig {
                retention: Duration::from_secs(s.event_retention_secs),
                outbound,
                ..Default::default()
            },
            ..SchedulerConfig::default()
        },
        !s.no_scheduler,
    )?;
    if s.no_scheduler {
        tracing::warn!("scheduler disabled: audits run only on request");
    }

    // First start: an admin credential, shown once on standard output (never logged).
    let first_key = audit_http::api::access::bootstrap(&store)
        .map_err(|e| anyhow::anyhow!("cannot create the first admin key: {}", e.detail))?;
    // The demo's console needs a person to sign in: one account, its password shown once.
    let demo_password = match (&first_key, a.demo) {
        (Some(_), true) => Some(
            audit_http::api::access::mint_demo_user(&store, DEMO_USER)
                .map_err(|e| anyhow::anyhow!("cannot create the demo's user: {}", e.detail))?,
        ),
        _ => None,
    };
    let checkpointer = crate::ledger::Checkpointer::start(
        store.clone(),
        Duration::from_secs(s.checkpoint_secs),
        s.checkpoint_copy.clone(),
    )?;
    if let Some(t) = &s.open_access {
        check_open_access(&store, t, &s.bind, a.open_access_beyond_loopback)?;
    }
    if s.anonymous_reads {
        tracing::warn!(
            "ANONYMOUS READS ARE ON: anyone who can reach this server can read every audit of the system tenant without credentials"
        );
    }
    let state = AppState::new(
        store,
        scheduler.runner.clone(),
        HttpConfig {
            cors_origins: s.cors_origins.clone(),
            cache_ttl: Duration::from_millis(s.cache_ttl_ms),
            max_sample_bytes: s.max_sample_bytes,
            anonymous_reads: s.anonymous_reads,
            open_access: s.open_access.clone(),
            open_access_beyond_loopback: a.open_access_beyond_loopback,
            token_ttl: Duration::from_secs(s.token_ttl_secs),
            checkpoint_copy: s.checkpoint_copy.clone(),
            ..HttpConfig::default()
        },
    );
    let result = actix_web::rt::System::new().block_on(async {
        let server = actix_web::HttpServer::new(move || {
            audit_http::app(state.clone(), audit_console::configure)
        })
        .workers(s.http_workers)
        .backlog(2048)
        .bind(&s.bind)
        .with_context(|| format!("cannot listen on {}", s.bind))?;
        if let Some(key) = &first_key {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "admin API key (shown once; send it as 'Authorization: Bearer <key>'): {key}"
            )?;
            out.flush()?;
        }
        if let (Some(password), Some(addr)) = (&demo_password, server.addrs().first()) {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "console: sign in at http://{addr}/ as '{DEMO_USER}' with password '{password}' (shown once)"
            )?;
            out.flush()?;
        }
        for addr in server.addrs() {
            announce(addr)?;
        }
        server.run().await.context("HTTP server failed")
    });
    if let Some(f) = feeder {
        f.stop();
    }
    scheduler.shutdown();
    drop(checkpointer);
    result
}

/// Open mode only for a tenant that exists and, unless told twice, only on loopback; then a
/// warning nobody can miss.
fn check_open_access(
    store: &Store,
    tenant: &str,
    bind: &str,
    beyond_loopback: bool,
) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs;
    let id = tenant.to_owned();
    let known = store
        .read(move |c| audit_store::repo::tenants::get(c, &id))
        .map_err(|e| anyhow::anyhow!("cannot read the tenants: {e}"))?;
    anyhow::ensure!(
        known.is_some(),
        "--open-access: no tenant '{tenant}' (`default` is the system tenant; GET /v1/tenants lists the others)"
    );
    let addrs: Vec<_> = bind
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {bind}"))?
        .collect();
    let local = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
    anyhow::ensure!(
        local || beyond_loopback,
        "--open-access on {bind}, which is not a loopback address: anyone who reaches it would be an admin. Bind to 127.0.0.1, add --open-access-beyond-loopback on a network you trust, or turn it off with --no-open-access"
    );
    tracing::warn!(
        tenant = %tenant,
        bind = %bind,
        "OPEN ACCESS IS ON: every request without credentials acts as an ADMIN of tenant '{tenant}' (logged as 'anonymous'); use only on a trusted network"
    );
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "open access: requests without credentials act as an admin of tenant '{tenant}'"
    )?;
    out.flush()?;
    Ok(())
}

/// One line on standard output that scripts and tests wait for.
fn announce(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    tracing::info!(%addr, "listening; API docs at http://{addr}/docs/");
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    out.flush()?;
    Ok(())
}
