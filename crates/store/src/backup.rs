//! Backups of a SQLite database that a crash cannot leave half-written under their name, and
//! the check of a backup (integrity, migrations, compliance-log chains).
//!
//! The copy is written by `VACUUM INTO` (a consistent snapshot, taken while the server keeps
//! writing) to a temporary name in the destination's directory, synced, checked, and only then
//! renamed to its final name and the directory synced: a `kill -9` at any moment leaves either
//! no file under the final name or a complete one. Temporary files of interrupted runs are
//! removed by the next run; each run holds a lock on its own, so a run in progress keeps its
//! file. PostgreSQL is backed up with `pg_dump` (docs/retention.md).

use diesel::ConnectionError;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::repo::log::{self, ChainReport};
use crate::{AnyConnection, Backend, StoreError, backend_of};

/// Where the PostgreSQL backup is documented.
pub const PG_DUMP_HINT: &str = "back PostgreSQL up with pg_dump: pg_dump --format=custom --file=auditor.dump \"$DATABASE_URL\" (docs/retention.md, \"Backups\")";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("this command copies SQLite files; {PG_DUMP_HINT}")]
    Postgres,
    #[error("{0}")]
    Invalid(String),
    #[error("{what} '{}'", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open '{}'", path.display())]
    Open {
        path: PathBuf,
        source: ConnectionError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("migrations of the copy: {0}")]
    Migrations(String),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// What the check of a database file found.
#[derive(Debug, Clone)]
pub struct Check {
    /// `PRAGMA integrity_check`: `ok`, or the first problems it names.
    pub integrity: String,
    /// Migrations applied in the file.
    pub applied: usize,
    /// The newest of them.
    pub latest: Option<String>,
    /// Migrations of this version the file lacks (it is older than the binary).
    pub pending: Vec<String>,
    /// Migrations in the file this version does not know (it is newer than the binary).
    pub unknown: Vec<String>,
    /// One verification per compliance-log chain.
    pub chains: Vec<ChainReport>,
    /// Rows of the main tables, for the record.
    pub counts: Vec<(&'static str, i64)>,
}

impl Check {
    /// Intact, current and with every chain valid.
    pub fn ok(&self) -> bool {
        self.integrity == "ok"
            && self.pending.is_empty()
            && self.unknown.is_empty()
            && self.chains.iter().all(|c| c.valid)
    }
}

/// A backup made.
#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    /// Temporary files of interrupted runs removed before this one.
    pub removed: Vec<PathBuf>,
    pub check: Check,
}

/// The SQLite file a URL names; PostgreSQL is refused with the `pg_dump` hint.
pub fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    match backend_of(url) {
        (Backend::Postgres, _) => Err(BackupError::Postgres),
        (Backend::Sqlite, p) if p.is_empty() || p == ":memory:" => Err(BackupError::Invalid(
            "name the SQLite database file to back up".into(),
        )),
        (Backend::Sqlite, p) => Ok(PathBuf::from(p)),
    }
}

/// The temporary files of `out` are `.<name>.<unique>.partial` in its directory (SQLite's
/// sidecars of them add `-journal` and the like): the main file's path, for either.
fn partial_main(file: &str, name: &str) -> Option<String> {
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let end = rest.find(".partial")? + ".partial".len();
    Some(format!(".{name}.{}", &rest[..end]))
}

/// Removes temporary files of interrupted runs: those nobody holds a lock on, and sidecars
/// whose main file is gone.
fn remove_leftovers(dir: &Path, name: &str) -> Result<Vec<PathBuf>, BackupError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("cannot list", dir))? {
        let entry = entry.map_err(io("cannot list", dir))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(main) = partial_main(&file, name) {
            found.push((main == file, entry.path(), dir.join(main)));
        }
    }
    // Main files first, so that their sidecars are judged after them.
    found.sort_by_key(|(is_main, ..)| !*is_main);
    let mut removed = Vec::new();
    for (is_main, path, main) in found {
        let free = if is_main {
            // A run in progress holds its file's lock: leave that one alone.
            File::open(&path).is_ok_and(|f| f.try_lock().is_ok())
        } else {
            !main.exists()
        };
        if free {
            std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync directory", dir))
}

/// Copies the SQLite database `source` to `out` (see the module documentation), checks the
/// copy, and returns what it found. The copy keeps its name even when the check finds a
/// broken chain: it is a faithful copy, and the report says what is wrong with it.
pub fn backup_sqlite(source: &Path, out: &Path) -> Result<Backup, BackupError> {
    if !source.is_file() {
        return Err(BackupError::Invalid(format!(
            "'{}' is not a database file",
            source.display()
        )));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| BackupError::Invalid(format!("'{}' is not a file name", out.display())))?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let same = |a: &Path, b: &Path| matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y);
    if same(out, source) {
        return Err(BackupError::Invalid(
            "the backup cannot overwrite the database it copies".into(),
        ));
    }
    let removed = remove_leftovers(&dir, &name)?;
    let unique = format!(
        "{}.{}",
        std::process::id(),
        &crate::repo::tenants::uuid_hex()[..8]
    );
    let temp = dir.join(format!(".{name}.{unique}.partial"));
    // Created empty (VACUUM INTO accepts an empty file) and locked for the whole run. Owner
    // only: the copy holds what the database holds (key and password hashes among it).
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let held = options.open(&temp).map_err(io("cannot create", &temp))?;
    held.lock().map_err(io("cannot lock", &temp))?;
    let result = write_and_check(source, &temp);
    let check = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    let bytes = std::fs::metadata(&temp)
        .map_err(io("cannot read", &temp))?
        .len();
    std::fs::rename(&temp, out).map_err(io("cannot rename to", out))?;
    sync_dir(&dir)?;
    drop(held);
    Ok(Backup {
        path: out.to_owned(),
        bytes,
        removed,
        check,
    })
}

/// `VACUUM INTO` the temporary file, sync it, check it.
fn write_and_check(source: &Path, temp: &Path) -> Result<Check, BackupError> {
    let src = source.to_string_lossy();
    let mut conn = SqliteConnection::establish(&src).map_err(|e| BackupError::Open {
        path: source.to_owned(),
        source: e,
    })?;
    // Waits for the server's writes rather than failing on them.
    conn.batch_execute("PRAGMA busy_timeout = 30000;")
        .map_err(StoreError::from)?;
    conn.batch_execute(&format!(
        "VACUUM INTO {}",
        sql_string(&temp.to_string_lossy())
    ))
    .map_err(StoreError::from)?;
    drop(conn);
    File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", temp))?;
    check_file(temp)
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Checks a SQLite database file: integrity, migrations against this version's, and every
/// compliance-log chain. Reads only.
pub fn check_file(path: &Path) -> Result<Check, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Invalid(format!(
            "'{}' is not a database file",
            path.display()
        )));
    }
    let mut conn =
        SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| BackupError::Open {
            path: path.to_owned(),
            source: e,
        })?;
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(StoreError::from)?;
    let integrity = lines
        .into_iter()
        .take(5)
        .map(|l| l.integrity_check)
        .collect::<Vec<_>>()
        .join("; ");
    let (applied, latest, pending, unknown) = migrations(&mut conn)?;
    let mut any = AnyConnection::Sqlite(conn);
    let chains = log::chains(&mut any)?
        .iter()
        .map(|t| log::verify(&mut any, t, &[]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut counts = Vec::new();
    for table in [
        "ai_models",
        "audit_runs",
        "audit_findings",
        "compliance_log",
    ] {
        let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result(&mut any)
            .map_err(StoreError::from)?;
        counts.push((table, c.n));
    }
    Ok(Check {
        integrity,
        applied,
        latest,
        pending,
        unknown,
        chains,
        counts,
    })
}

type MigrationState = (usize, Option<String>, Vec<String>, Vec<String>);

/// (applied, newest applied, pending, unknown) against the migrations this version embeds.
fn migrations(conn: &mut SqliteConnection) -> Result<MigrationState, BackupError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| BackupError::Migrations(e.to_string());
    let mut applied: Vec<String> = conn
        .applied_migrations()
        .map_err(err)?
        .iter()
        .map(ToString::to_string)
        .collect();
    applied.sort();
    let known: Vec<String> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&crate::SQLITE_MIGRATIONS)
            .map_err(err)?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
    let pending = known
        .iter()
        .filter(|k| !applied.contains(k))
        .cloned()
        .collect();
    let unknown = applied
        .iter()
        .filter(|a| !known.contains(a))
        .cloned()
        .collect();
    Ok((applied.len(), applied.last().cloned(), pending, unknown))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn temporary_names_belong_to_their_backup_only() {
        let main = Some(".b.db.12.abcd.partial".to_owned());
        assert_eq!(partial_main(".b.db.12.abcd.partial", "b.db"), main);
        assert_eq!(partial_main(".b.db.12.abcd.partial-journal", "b.db"), main);
        assert_eq!(partial_main("b.db", "b.db"), None);
        assert_eq!(partial_main(".b.db2.12.abcd.partial", "b.db"), None);
        assert_eq!(partial_main(".other.12.partial", "b.db"), None);
    }

    #[test]
    fn postgres_is_refused_with_the_pg_dump_hint() {
        let e = sqlite_path("postgres://u@h/db").unwrap_err().to_string();
        assert!(e.contains("pg_dump"), "{e}");
        assert_eq!(sqlite_path("sqlite://a.db").unwrap(), PathBuf::from("a.db"));
    }

    #[test]
    fn a_backup_is_complete_checked_and_leftovers_go() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src.db");
        let store = crate::Store::open(&src.to_string_lossy(), &Default::default()).unwrap();
        store
            .write(|c| {
                log::append(
                    c,
                    &log::Change {
                        tenant_id: "default",
                        actor: "system",
                        action: "test.entry",
                        object_type: "test",
                        object_id: "1",
                        change: serde_json::json!({"n": 1}),
                    },
                )
            })
            .unwrap();
        let left = d.path().join(".copy.db.1.dead.partial");
        std::fs::write(&left, b"half").unwrap();
        let out = d.path().join("copy.db");
        let b = backup_sqlite(&src, &out).unwrap();
        assert!(b.check.ok(), "{:?}", b.check);
        assert_eq!(b.removed, vec![left.clone()]);
        assert!(!left.exists());
        assert_eq!(b.check.chains.len(), 1);
        assert_eq!(b.check.chains[0].entries, 1);
        assert!(out.is_file());
        // No temporary file is left beside it.
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".partial")), "{names:?}");
        // The source is never the destination; an older copy is replaced whole.
        assert!(backup_sqlite(&src, &src).is_err());
        std::fs::write(d.path().join(".copy.db.2.dead.partial-journal"), b"x").unwrap();
        let again = backup_sqlite(&src, &out).unwrap();
        assert!(again.check.ok());
        assert_eq!(again.removed.len(), 1, "an orphaned sidecar goes too");
    }

    #[test]
    fn a_run_in_progress_keeps_its_file() {
        let d = tempfile::tempdir().unwrap();
        let busy = d.path().join(".copy.db.9.live.partial");
        let f = File::create(&busy).unwrap();
        f.lock().unwrap();
        assert!(remove_leftovers(d.path(), "copy.db").unwrap().is_empty());
        assert!(busy.exists());
        drop(f);
        assert_eq!(remove_leftovers(d.path(), "copy.db").unwrap(), vec![busy]);
    }
}
