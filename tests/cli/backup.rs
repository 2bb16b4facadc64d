//! `auditor backup`: a checked copy, and a `kill -9` at any moment leaves either no file or a
//! complete one under the backup's name. `auditor purge` on a database without a server.

use super::auditor;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A database of `models`/`audits`/`findings` rows with one compliance-log entry.
fn bench_db(dir: &Path, name: &str, sizes: [&str; 3]) -> String {
    let r = auditor(
        dir,
        &[
            "bench-db",
            "--database-url",
            name,
            "--models",
            sizes[0],
            "--audits",
            sizes[1],
            "--findings",
            sizes[2],
        ],
    );
    assert_eq!(r.code, 0, "bench-db: {}", r.stderr);
    let r = auditor(dir, &["admin-key", "--database-url", name]);
    assert_eq!(r.code, 0, "admin-key: {}", r.stderr);
    format!(
        "ai_models {}, audit_runs {}, audit_findings {}",
        sizes[0], sizes[1], sizes[2]
    )
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_backup_is_checked_and_names_its_findings() {
    let d = tempfile::tempdir().expect("tempdir");
    let rows = bench_db(d.path(), "src.db", ["5", "50", "200"]);
    std::fs::create_dir(d.path().join("b")).expect("mkdir");
    let r = auditor(
        d.path(),
        &["backup", "--database", "src.db", "--out", "b/copy.db"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for line in [
        "signatures: checked with the server's signing key",
        "integrity: ok",
        "current",
        "compliance log: chain default: 1 entries, valid",
        &rows,
        "check: ok",
    ] {
        assert!(
            r.stdout.contains(line),
            "missing '{line}' in:\n{}",
            r.stdout
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("b/copy.db"))
            .expect("copy")
            .permissions();
        assert_eq!(mode.mode() & 0o077, 0, "the copy is readable by others");
    }
    let v = auditor(d.path(), &["backup", "--verify", "b/copy.db"]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(v.stdout.contains(&rows));

    // PostgreSQL is refused with the pg_dump command; so is a missing source.
    let pg = auditor(
        d.path(),
        &[
            "backup",
            "--database",
            "postgres://u@localhost/db",
            "--out",
            "x.db",
        ],
    );
    assert_eq!(pg.code, 2);
    assert!(pg.stderr.contains("pg_dump"), "{}", pg.stderr);
    let missing = auditor(
        d.path(),
        &["backup", "--database", "nope.db", "--out", "x.db"],
    );
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        !d.path().join("nope.db").exists(),
        "a backup never creates its source"
    );

    // A copy of a tampered log is still made, and says what is broken (exit 1).
    tamper(&d.path().join("src.db"));
    let t = auditor(
        d.path(),
        &["backup", "--database", "src.db", "--out", "b/t.db"],
    );
    assert_eq!(t.code, 1, "{}", t.stdout);
    assert!(
        t.stdout.contains("BROKEN") && t.stdout.contains("check: FAILED"),
        "{}",
        t.stdout
    );
    assert!(d.path().join("b/t.db").is_file());
}

/// Edits the log entry in place, as someone who dropped the triggers could.
fn tamper(db: &Path) {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    let mut c = SqliteConnection::establish(&db.to_string_lossy()).expect("open");
    diesel::sql_query("DROP TRIGGER compliance_log_no_update")
        .execute(&mut c)
        .expect("drop trigger");
    diesel::sql_query("UPDATE compliance_log SET actor = 'someone else'")
        .execute(&mut c)
        .expect("tamper");
}

/// Starts a backup and kills it (`kill -9`) once `ready` says so, or after `limit`.
fn killed_backup(dir: &Path, limit: Duration, ready: impl Fn() -> bool) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditor"))
        .current_dir(dir)
        .args(["backup", "--database", "big.db", "--out", "b/copy.db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start backup");
    let end = Instant::now() + limit;
    while Instant::now() < end && !ready() {
        if child.try_wait().expect("poll").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let finished = child.try_wait().expect("poll").is_some();
    child.kill().expect("kill -9"); // SIGKILL: no cleanup of any kind runs
    child.wait().expect("reap");
    !finished
}

#[test]
fn a_killed_backup_leaves_nothing_or_a_complete_copy() {
    let d = tempfile::tempdir().expect("tempdir");
    let rows = bench_db(d.path(), "big.db", ["100", "20000", "200000"]);
    let b = d.path().join("b");
    std::fs::create_dir(&b).expect("mkdir");
    let copy = b.join("copy.db");
    let complete = || {
        let v = auditor(d.path(), &["backup", "--verify", "b/copy.db"]);
        v.code == 0 && v.stdout.contains(&rows)
    };

    // Killed while the copy is being written: nothing under the final name.
    let writing = || {
        std::fs::read_dir(&b).is_ok_and(|mut e| {
            e.any(|e| {
                e.is_ok_and(|e| {
                    e.file_name().to_string_lossy().ends_with(".partial")
                        && e.metadata().is_ok_and(|m| m.len() > 0)
                })
            })
        })
    };
    assert!(
        killed_backup(d.path(), Duration::from_secs(60), writing),
        "the backup ended before it could be killed"
    );
    assert!(
        !copy.exists(),
        "a half-written backup appeared under its name"
    );
    assert!(
        !partials(&b).is_empty(),
        "the killed run left no temporary file"
    );

    // Killed at other moments (whatever it was doing then): none, or a complete one.
    for ms in [5, 50, 300, 800, 1500, 3000] {
        killed_backup(d.path(), Duration::from_millis(ms), || false);
        assert!(
            !copy.exists() || complete(),
            "kill after {ms} ms left a broken copy"
        );
    }

    // The next run removes what a killed one left and makes a complete copy.
    assert!(killed_backup(d.path(), Duration::from_secs(60), writing));
    assert!(!partials(&b).is_empty());
    let r = auditor(
        d.path(),
        &["backup", "--database", "big.db", "--out", "b/copy.db"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("removed an interrupted backup's file"),
        "{}",
        r.stdout
    );
    assert_eq!(partials(&b), Vec::<String>::new());
    assert!(complete());

    // With a complete copy in place, a killed run leaves that one intact.
    assert!(killed_backup(d.path(), Duration::from_secs(60), writing));
    assert!(complete(), "the previous backup was damaged");
}

#[test]
fn purge_runs_without_a_server() {
    let d = tempfile::tempdir().expect("tempdir");
    bench_db(d.path(), "p.db", ["3", "10", "20"]);
    let dry = auditor(d.path(), &["purge", "--database-url", "p.db", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("tenant default: would purge 0 model(s)"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("(dry run: nothing changed)"));
    // Nothing archived, nothing old: no model goes, and no purge entry is written.
    let r = auditor(d.path(), &["purge", "--database-url", "p.db", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reports = r.json();
    assert_eq!(reports[0]["models"], 0);
    let v = auditor(d.path(), &["backup", "--verify", "p.db"]);
    assert!(
        v.stdout
            .contains("compliance log: chain default: 1 entries, valid"),
        "{}",
        v.stdout
    );
}
