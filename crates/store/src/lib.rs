//! Persistence of AI Auditor: the six tables of seed 000 plus the baseline store, over SQLite
//! (default, one file) or PostgreSQL (`postgres://…`), with one code path for both.
//!
//! - Migrations are embedded and applied by [`Store::open`].
//! - SQLite: WAL is set once at open; every pooled connection gets `busy_timeout`,
//!   `foreign_keys = ON`; writes run in `BEGIN IMMEDIATE` transactions so that concurrent
//!   writers queue on the busy timeout instead of failing with "database is locked".
//! - Every call blocks: run it on a blocking thread (`actix_web::web::block`, a worker pool),
//!   never on an async worker.

pub mod backup;
pub mod records;
pub mod repo;
pub mod schema;
pub mod secrets;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::time::Duration;

pub use audit_keys::Sealer;
pub use records::*;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Pool(String),
    #[error("cannot open database: {0}")]
    Open(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The compliance log holds rows the server did not write (see `repo::log::append`).
    #[error("{reason}")]
    LogTampered { tenant_id: String, reason: String },
    /// A secret could not be sealed or opened (no key loaded, a key missing from the ring, a
    /// value altered or moved). Names key ids at most, never a secret.
    #[error("sealed secret: {0}")]
    Sealed(String),
}

impl StoreError {
    /// True for errors worth retrying (SQLite busy beyond the timeout, serialization failures).
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Database(diesel::result::Error::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("database is locked") || m.contains("could not serialize")
            }
            _ => false,
        }
    }
}

/// Whether an error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[derive(Debug)]
pub struct ManagerError(String);

impl std::fmt::Display for ManagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ManagerError {}

/// Opens connections of one backend and prepares each one.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
    busy_timeout_ms: u64,
}

/// Per-connection SQLite settings (WAL itself is a property of the file, set once at open).
fn sqlite_pragmas(busy_timeout_ms: u64) -> String {
    format!(
        "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL;"
    )
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = ManagerError;

    fn connect(&self) -> Result<AnyConnection, ManagerError> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.url)
                    .map_err(|e| ManagerError(e.to_string()))?;
                c.batch_execute(&sqlite_pragmas(self.busy_timeout_ms))
                    .map_err(|e| ManagerError(e.to_string()))?;
                Ok(AnyConnection::Sqlite(c))
            }
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(AnyConnection::Postgresql)
                .map_err(|e| ManagerError(e.to_string())),
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ManagerError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ManagerError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

pub type Pooled = r2d2::PooledConnection<Manager>;

/// Options of [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub pool_size: u32,
    pub busy_timeout_ms: u64,
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            busy_timeout_ms: 10_000,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The database: a connection pool plus the backend it points at.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// Bumped after every committed write through this store: readers cache by it.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Seals and opens the secrets of sources, targets and webhooks ([`secrets`]).
    sealer: Option<std::sync::Arc<Sealer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("sealer", &self.sealer)
            .finish()
    }
}

/// `postgres://…` / `postgresql://…` is PostgreSQL; anything else is a SQLite file path
/// (an optional `sqlite://` prefix is dropped).
pub fn backend_of(url: &str) -> (Backend, String) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (Backend::Postgres, url.to_owned())
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        (Backend::Sqlite, path.to_owned())
    }
}

/// The URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        let (backend, target) = backend_of(url);
        match backend {
            Backend::Sqlite => {
                if target.is_empty() || target == ":memory:" {
                    return Err(StoreError::Open(
                        "SQLite needs a file path (an in-memory database would lose everything)"
                            .into(),
                    ));
                }
                let mut c = SqliteConnection::establish(&target)
                    .map_err(|e| StoreError::Open(e.to_string()))?;
                c.batch_execute(&sqlite_pragmas(opts.busy_timeout_ms))?;
                c.batch_execute("PRAGMA journal_mode = WAL;")?;
                c.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| StoreError::Open(format!("migrations: {e}")))?;
            }
            Backend::Postgres => {
                let mut c = PgConnection::establish(&target)
                    .map_err(|e| StoreError::Open(e.to_string()))?;
                c.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map_err(|e| StoreError::Open(format!("migrations: {e}")))?;
            }
        }
        let manager = Manager {
            url: target,
            backend,
            busy_timeout_ms: opts.busy_timeout_ms,
        };
        let pool = r2d2::Pool::builder()
            .max_size(opts.pool_size.max(1))
            .connection_timeout(opts.connect_timeout)
            .build(manager)
            .map_err(|e| StoreError::Open(e.to_string()))?;
        Ok(Store {
            pool,
            backend,
            generation: Default::default(),
            sealer: None,
        })
    }

    /// The same store, sealing and opening secrets with `sealer` (see [`secrets::adopt`] for
    /// which ring to give it).
    pub fn with_sealer(mut self, sealer: Sealer) -> Store {
        self.sealer = Some(std::sync::Arc::new(sealer));
        self
    }

    /// The seal key ring; an error when none was given (a tool that opened the database
    /// without the seal key cannot touch secrets).
    pub fn sealer(&self) -> Result<std::sync::Arc<Sealer>, StoreError> {
        self.sealer
            .clone()
            .ok_or_else(|| StoreError::Sealed("no seal key is loaded".into()))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Changes whenever a write through this store commits (or fails after starting).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A pooled connection for reads (autocommit).
    pub fn conn(&self) -> Result<Pooled, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Runs `f` in one write transaction: all of it commits or none of it does.
    /// SQLite takes the write lock up front (`BEGIN IMMEDIATE`).
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self.write_inner(f);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Err(StoreError::LogTampered { tenant_id, reason }) = &result {
            // The change rolled back; the alert is its own transaction so that it survives.
            tracing::error!(tenant_id = %tenant_id, reason = %reason, "compliance log tampered: write refused");
            if let Err(e) = self.write_inner(|c| repo::log::alert_tampered(c, tenant_id, reason)) {
                tracing::error!(error = %e, "the tampering alert could not be recorded");
            }
        }
        result
    }

    fn write_inner<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        match &mut *conn {
            AnyConnection::Sqlite(_) => {
                conn.batch_execute("BEGIN IMMEDIATE")?;
                match f(&mut conn) {
                    Ok(v) => match conn.batch_execute("COMMIT") {
                        Ok(()) => Ok(v),
                        Err(e) => {
                            let _ = conn.batch_execute("ROLLBACK");
                            Err(e.into())
                        }
                    },
                    Err(e) => {
                        if let Err(rb) = conn.batch_execute("ROLLBACK") {
                            tracing::warn!(error = %rb, "rollback failed");
                        }
                        Err(e)
                    }
                }
            }
            AnyConnection::Postgresql(_) => conn.transaction(f),
        }
    }

    /// Runs `f` in a write transaction that is always rolled back: what a change would do
    /// (dry runs), without doing it. The result is `f`'s, computed inside the transaction.
    pub fn rehearse<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let begin = match &mut *conn {
            AnyConnection::Sqlite(_) => "BEGIN IMMEDIATE",
            AnyConnection::Postgresql(_) => "BEGIN",
        };
        conn.batch_execute(begin)?;
        let result = f(&mut conn);
        conn.batch_execute("ROLLBACK")?;
        result
    }

    /// Runs `f` on a pooled connection without a transaction (reads).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// A cheap liveness check for `GET /health`.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.batch_execute("SELECT 1").map_err(Into::into))
    }
}
