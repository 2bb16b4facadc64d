//! The tamper suite: an attacker who can write the database (the threat a signed hash chain
//! exists for) drops the triggers and changes the log in each of the ways below. Each is caught
//! by `GET /compliance-log/verify` and by `auditor log verify` on an `auditor log export`,
//! checked against the checkpoint copy the server keeps outside the database.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use audit_ledger::{Entry, entry_hash, sha256_hex};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Every trigger that guards the log, by backend.
const DROP_SQLITE: &str = "DROP TRIGGER compliance_log_no_update; DROP TRIGGER compliance_log_no_delete; \
    DROP TRIGGER log_heads_no_delete; DROP TRIGGER log_heads_no_rewind; \
    DROP TRIGGER log_checkpoints_no_update; DROP TRIGGER log_checkpoints_no_delete;";
const DROP_PG: &str = "DROP TRIGGER compliance_log_no_change ON compliance_log; \
    DROP TRIGGER compliance_log_no_truncate ON compliance_log; \
    DROP TRIGGER log_heads_no_delete ON log_heads; DROP TRIGGER log_heads_no_rewind ON log_heads; \
    DROP TRIGGER log_checkpoints_no_change ON log_checkpoints;";

enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// A connection to the server's database; the cases' SQL names the second tenant `'acme'`,
/// which `exec` replaces with its real id.
struct Db {
    conn: Conn,
    acme: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = BigInt)]
    tenant_seq: i64,
    #[diesel(sql_type = Text)]
    at: String,
    #[diesel(sql_type = Text)]
    actor: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Text)]
    object_type: String,
    #[diesel(sql_type = Text)]
    object_id: String,
    #[diesel(sql_type = Text)]
    digest: String,
    #[diesel(sql_type = Text)]
    prev_hash: String,
    #[diesel(sql_type = Text)]
    hash: String,
    #[diesel(sql_type = Nullable<Text>)]
    content: Option<String>,
}

impl Db {
    fn open(s: &Server, acme: &str) -> Db {
        let conn = match &s.db_file {
            Some(f) => Conn::Sqlite(SqliteConnection::establish(&f.to_string_lossy()).unwrap()),
            None => Conn::Pg(PgConnection::establish(&s.db_url).unwrap()),
        };
        Db {
            conn,
            acme: acme.to_owned(),
        }
    }
    fn exec(&mut self, sql: &str) {
        let sql = sql.replace("'acme'", &format!("'{}'", self.acme));
        match &mut self.conn {
            Conn::Sqlite(c) => c.batch_execute(&sql),
            Conn::Pg(c) => c.batch_execute(&sql),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    fn count(&mut self, q: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        match &mut self.conn {
            Conn::Sqlite(c) => diesel::sql_query(q).get_result::<N>(c),
            Conn::Pg(c) => diesel::sql_query(q).get_result::<N>(c),
        }
        .unwrap()
        .n
    }
    /// One tenant's chain in order.
    fn chain(&mut self, tenant: &str) -> Vec<Entry> {
        let q = format!(
            "SELECT seq, tenant_id, tenant_seq, at, actor, action, object_type, object_id, digest, \
             prev_hash, hash, content FROM compliance_log WHERE tenant_id = '{tenant}' ORDER BY tenant_seq"
        );
        let rows: Vec<Row> = match &mut self.conn {
            Conn::Sqlite(c) => diesel::sql_query(q).load(c),
            Conn::Pg(c) => diesel::sql_query(q).load(c),
        }
        .unwrap();
        rows.into_iter()
            .map(|r| Entry {
                seq: r.seq,
                tenant_id: r.tenant_id,
                tenant_seq: r.tenant_seq,
                at: r.at,
                actor: r.actor,
                action: r.action,
                object_type: r.object_type,
                object_id: r.object_id,
                digest: r.digest,
                prev_hash: r.prev_hash,
                hash: r.hash,
                content: r.content,
                purged_at: None,
                signature: None,
            })
            .collect()
    }
    fn insert(&mut self, e: &Entry) {
        let content = e
            .content
            .as_deref()
            .map_or("NULL".into(), |c| format!("'{c}'"));
        self.exec(&format!(
            "INSERT INTO compliance_log (tenant_id, tenant_seq, at, actor, action, object_type, object_id, \
             digest, prev_hash, hash, content) VALUES ('{}', {}, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', {content})",
            e.tenant_id, e.tenant_seq, e.at, e.actor, e.action, e.object_type, e.object_id, e.digest,
            e.prev_hash, e.hash
        ));
    }
}

/// A well-formed entry after `prev` (correct digest and hash, no signature: only the server
/// has the key).
fn forged(prev: &Entry, pos: i64) -> Entry {
    let content = json!({"after": {"owner": "mallory"}}).to_string();
    let mut e = Entry {
        seq: 0,
        tenant_id: prev.tenant_id.clone(),
        tenant_seq: pos,
        at: prev.at.clone(),
        actor: "user:mallory".into(),
        action: "model.update".into(),
        object_type: "model".into(),
        object_id: "m1".into(),
        digest: sha256_hex(&content),
        prev_hash: prev.hash.clone(),
        hash: String::new(),
        content: Some(content),
        purged_at: None,
        signature: None,
    };
    e.hash = entry_hash(&e);
    e
}

type Tamper = fn(&mut Db, &[Entry]);

fn cases() -> Vec<(&'static str, Tamper)> {
    vec![
        ("edit actor", |db, _| {
            db.exec("UPDATE compliance_log SET actor = 'user:mallory' WHERE tenant_id = 'default' AND tenant_seq = 3")
        }),
        ("edit action", |db, _| {
            db.exec("UPDATE compliance_log SET action = 'model.read' WHERE tenant_id = 'default' AND tenant_seq = 4")
        }),
        ("edit object type", |db, _| {
            db.exec("UPDATE compliance_log SET object_type = 'user' WHERE tenant_id = 'default' AND tenant_seq = 4")
        }),
        ("edit object id", |db, _| {
            db.exec("UPDATE compliance_log SET object_id = 'other' WHERE tenant_id = 'default' AND tenant_seq = 5")
        }),
        ("edit time", |db, _| {
            db.exec("UPDATE compliance_log SET at = '2020-01-01T00:00:00.000000Z' WHERE tenant_id = 'default' AND tenant_seq = 5")
        }),
        ("edit digest", |db, _| {
            db.exec("UPDATE compliance_log SET digest = 'x' || substr(digest, 2) WHERE tenant_id = 'default' AND tenant_seq = 5")
        }),
        ("edit content", |db, _| {
            db.exec("UPDATE compliance_log SET content = '{\"after\":{\"owner\":\"mallory\"}}' WHERE tenant_id = 'default' AND tenant_seq = 6")
        }),
        ("edit content and its digest", |db, _| {
            let c = "{\"after\":{\"owner\":\"mallory\"}}";
            db.exec(&format!("UPDATE compliance_log SET content = '{c}', digest = '{}' WHERE tenant_id = 'default' AND tenant_seq = 6", sha256_hex(c)));
        }),
        ("edit prev_hash", |db, _| {
            db.exec("UPDATE compliance_log SET prev_hash = hash WHERE tenant_id = 'default' AND tenant_seq = 7")
        }),
        ("edit hash", |db, _| {
            db.exec("UPDATE compliance_log SET hash = prev_hash WHERE tenant_id = 'default' AND tenant_seq = 7")
        }),
        ("edit signature", |db, _| {
            // Another first byte whatever it was (a fixed '00' left one signature in 256 as it was).
            db.exec("UPDATE compliance_log SET signature = (CASE WHEN substr(signature, 1, 2) = '00' THEN 'ff' ELSE '00' END) || substr(signature, 3) WHERE tenant_id = 'default' AND tenant_seq = 8")
        }),
        ("remove content without a purge", |db, _| {
            db.exec("UPDATE compliance_log SET content = NULL WHERE tenant_id = 'default' AND tenant_seq = 8")
        }),
        ("fake a purge", |db, _| {
            db.exec("UPDATE compliance_log SET content = NULL, purged_at = '2026-01-01T00:00:00Z' WHERE tenant_id = 'default' AND tenant_seq = 8")
        }),
        ("delete first", |db, _| {
            db.exec("DELETE FROM compliance_log WHERE tenant_id = 'default' AND tenant_seq = 1")
        }),
        ("delete middle", |db, _| {
            db.exec("DELETE FROM compliance_log WHERE tenant_id = 'default' AND tenant_seq = 6")
        }),
        ("delete last", |db, c| {
            db.exec(&format!(
                "DELETE FROM compliance_log WHERE seq = {}",
                c.last().unwrap().seq
            ))
        }),
        ("reorder positions", |db, _| {
            db.exec(
            "UPDATE compliance_log SET tenant_seq = -2 WHERE tenant_id = 'default' AND tenant_seq = 2; \
             UPDATE compliance_log SET tenant_seq = 2 WHERE tenant_id = 'default' AND tenant_seq = 3; \
             UPDATE compliance_log SET tenant_seq = 3 WHERE tenant_id = 'default' AND tenant_seq = -2")
        }),
        ("reorder the log's order", |db, c| {
            let (a, b) = (c[2].seq, c[3].seq);
            db.exec(&format!(
                "UPDATE compliance_log SET seq = -5 WHERE seq = {a}; UPDATE compliance_log SET seq = {a} WHERE seq = {b}; \
                 UPDATE compliance_log SET seq = {b} WHERE seq = -5"));
        }),
        ("insert in the middle", |db, c| {
            // Shift positions 5.. up by one (through negatives, past the unique index), then
            // insert a well-formed entry at 5.
            let n = c.len() as i64;
            db.exec(&format!("UPDATE compliance_log SET tenant_seq = -tenant_seq WHERE tenant_id = 'default' AND tenant_seq >= 5 AND tenant_seq <= {n}"));
            db.exec("UPDATE compliance_log SET tenant_seq = 1 - tenant_seq WHERE tenant_id = 'default' AND tenant_seq < 0");
            db.insert(&forged(&c[3], 5));
        }),
        ("forge after the head", |db, c| {
            db.insert(&forged(c.last().unwrap(), c.len() as i64 + 1))
        }),
        ("forge after the head and move the head", |db, c| {
            let e = forged(c.last().unwrap(), c.len() as i64 + 1);
            db.insert(&e);
            db.exec(&format!("UPDATE log_heads SET entries = entries + 1, hash = '{}' WHERE tenant_id = 'default'", e.hash));
        }),
        (
            "rewrite the whole chain, signatures and checkpoints removed",
            |db, c| {
                let mut prev: Option<Entry> = None;
                db.exec("DELETE FROM log_checkpoints WHERE tenant_id = 'default'");
                for old in c {
                    let mut e = old.clone();
                    e.actor = "user:mallory".into();
                    e.prev_hash = prev
                        .as_ref()
                        .map_or(audit_ledger::GENESIS.to_owned(), |p| p.hash.clone());
                    e.hash = entry_hash(&e);
                    db.exec(&format!(
                    "UPDATE compliance_log SET actor = '{}', prev_hash = '{}', hash = '{}', signature = NULL WHERE seq = {}",
                    e.actor, e.prev_hash, e.hash, e.seq));
                    prev = Some(e);
                }
                let last = prev.unwrap();
                db.exec(&format!(
                    "UPDATE log_heads SET hash = '{}' WHERE tenant_id = 'default'",
                    last.hash
                ));
            },
        ),
        (
            "truncate and rewind the head, checkpoints removed",
            |db, c| {
                let keep = c.len() - 3;
                db.exec(&format!(
                    "DELETE FROM compliance_log WHERE tenant_id = 'default' AND tenant_seq > {keep}"
                ));
                db.exec(&format!(
                    "DELETE FROM log_checkpoints WHERE tenant_id = 'default' AND entries > {keep}"
                ));
                db.exec(&format!("UPDATE log_heads SET entries = {keep}, hash = '{}' WHERE tenant_id = 'default'", c[keep - 1].hash));
            },
        ),
        ("remove the head", |db, _| {
            db.exec("DELETE FROM log_heads WHERE tenant_id = 'default'")
        }),
        ("delete a tenant's chain with its head", |db, _| {
            db.exec(
            "DELETE FROM compliance_log WHERE tenant_id = 'acme'; DELETE FROM log_heads WHERE tenant_id = 'acme'")
        }),
        (
            "delete a tenant with its chain, head and checkpoints",
            |db, _| {
                db.exec(
            "DELETE FROM compliance_log WHERE tenant_id = 'acme'; DELETE FROM log_heads WHERE tenant_id = 'acme'; \
             DELETE FROM log_checkpoints WHERE tenant_id = 'acme'; DELETE FROM api_keys WHERE tenant_id = 'acme'; \
             DELETE FROM projects WHERE tenant_id = 'acme'; DELETE FROM tenants WHERE tenant_id = 'acme'")
            },
        ),
        ("move a row to another tenant", |db, _| {
            db.exec("UPDATE compliance_log SET tenant_id = 'acme' WHERE tenant_id = 'default' AND tenant_seq = 5")
        }),
        ("forge a checkpoint", |db, c| {
            let last = c.last().unwrap();
            db.exec(&format!(
                "INSERT INTO log_checkpoints (tenant_id, sequence, entries, head_hash, at, every_entries, public_key, signature) \
                 VALUES ('default', 999, {}, '{}', '{}', 4, 'ab', '{}')", c.len(), last.hash, last.at, "0".repeat(128)));
        }),
        ("delete every checkpoint", |db, _| {
            db.exec("DELETE FROM log_checkpoints")
        }),
    ]
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_auditor"))
        .args(args)
        .env_remove("AUDITOR_SIGNING_KEY")
        .output()
        .unwrap()
}

/// Waits until the outside copy holds every checkpoint of the database.
fn wait_for_copy(db: &mut Db, copy: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let n = db.count("SELECT COUNT(*) AS n FROM log_checkpoints");
        let have = std::fs::read_to_string(copy).map_or(0, |t| t.lines().count() as i64);
        if n > 0 && have == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint copy has {have} of {n}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `auditor log export` then `auditor log verify` against the copy: the exit code.
fn offline(s: &Server, dir: &Path, copy: &Path, key: &str) -> (Option<i32>, String) {
    let export = dir.join("export.jsonl");
    let e = cli(&[
        "log",
        "export",
        "--database-url",
        &s.db_url,
        "-o",
        &export.to_string_lossy(),
    ]);
    assert!(
        e.status.success(),
        "export: {}",
        String::from_utf8_lossy(&e.stderr)
    );
    let r = cli(&[
        "log",
        "verify",
        &export.to_string_lossy(),
        "--public-key",
        key,
        "--checkpoints",
        &copy.to_string_lossy(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    (r.status.code(), text)
}

/// A server with two tenants' chains, checkpoints every 4 entries and an outside copy.
fn seeded(b: &Backend, copy: &Path) -> (Server, String) {
    let s = Server::start(
        b,
        Options {
            extra: vec![
                "--checkpoint-every".into(),
                "4".into(),
                "--checkpoint-copy".into(),
                copy.to_string_lossy().into_owned(),
            ],
            ..Options::default()
        },
    );
    let acme = s.post("/v1/tenants", &json!({"name": "acme"})).ok(201)["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..10 {
        s.post(
            "/models/register",
            &model(&format!("m{i}"), "ml", "sample", json!({"type": "sample"})),
        )
        .ok(201);
    }
    (s, acme)
}

fn tamper_suite(b: Backend) {
    let all = cases();
    assert!(all.len() >= 20, "the issue asks for at least 20 kinds");
    let mut detected = 0;
    for (what, tamper) in &all {
        let out = tempfile::tempdir().unwrap();
        let copy = out.path().join("checkpoints.jsonl");
        let (s, acme) = seeded(&b, &copy);
        let mut db = Db::open(&s, &acme);
        wait_for_copy(&mut db, &copy);
        let v = s.get("/compliance-log/verify").ok(200);
        assert_eq!(v["valid"], true, "{what}: before tampering: {v}");
        assert_eq!(v["outside_copy"], true);
        let key = s.get("/compliance-log/public-key").ok(200)["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, text) = offline(&s, out.path(), &copy, &key);
        assert_eq!(
            code,
            Some(0),
            "{what}: the untouched export must verify: {text}"
        );

        db.exec(match &db.conn {
            Conn::Sqlite(_) => DROP_SQLITE,
            Conn::Pg(_) => DROP_PG,
        });
        let chain = db.chain("default");
        assert!(chain.len() >= 11, "{what}: {} entries", chain.len());
        tamper(&mut db, &chain);
        drop(db);

        let v = s.get("/compliance-log/verify").ok(200);
        assert_eq!(v["valid"], false, "{what} went unnoticed by verify: {v}");
        let (code, text) = offline(&s, out.path(), &copy, &key);
        assert_eq!(code, Some(1), "{what} went unnoticed offline: {text}");
        detected += 1;
    }
    eprintln!("tamper: {detected}/{} detected", all.len());
}
on_both!(tamper_suite);

/// A row forged past the head does not turn later writes into 500s: they are refused with a
/// sentence, and a `log.tampered` event tells live clients and webhooks.
fn foreign_row_refuses_writes(b: Backend) {
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("checkpoints.jsonl");
    let (s, acme) = seeded(&b, &copy);
    let mut db = Db::open(&s, &acme);
    let chain = db.chain("default");
    db.insert(&forged(chain.last().unwrap(), chain.len() as i64 + 1));
    let detail = s
        .post(
            "/models/register",
            &model("late", "ml", "sample", json!({"type": "sample"})),
        )
        .detail(503);
    assert!(detail.contains("past its recorded head"), "{detail}");
    assert_eq!(
        db.count("SELECT COUNT(*) AS n FROM events WHERE kind = 'log.tampered'"),
        1
    );
    // Another tenant's chain is untouched: its writes go on.
    let v = s.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], false);
}
on_both!(foreign_row_refuses_writes);

/// Each entry says what changed — the fields before and after — and never a secret; the log
/// filters by object.
fn entries_say_what_changed(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mut m = model("owned", "ml", "sample", json!({"type": "sample"}));
    m["owner"] = json!("alice");
    s.post("/models/register", &m).ok(201);
    s.put("/models/owned", &json!({"owner": "bob"})).ok(200);
    let log = s
        .get("/compliance-log?object_type=model&object_id=owned")
        .ok(200);
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    let update: serde_json::Value =
        serde_json::from_str(entries[1]["content"].as_str().unwrap()).unwrap();
    assert_eq!(update["before"]["owner"], "alice", "{update}");
    assert_eq!(update["after"]["owner"], "bob", "{update}");
    assert!(
        update["before"].get("name").is_none(),
        "unchanged fields are left out: {update}"
    );
    assert_eq!(
        entries[1]["digest"],
        sha256_hex(entries[1]["content"].as_str().unwrap())
    );

    // Secrets in an api source's URL and headers become fingerprints.
    let secrets = ["pw-secret-789", "tok-secret-456", "hdr-secret-123"];
    s.post(
        "/models/register",
        &model(
            "api-m",
            "llm",
            "api",
            json!({"type": "api", "config": {
                "url": "http://u:pw-secret-789@127.0.0.1:9/s?token=tok-secret-456",
                "headers": {"X-Api-Key": "hdr-secret-123"}}}),
        ),
    )
    .ok(201);
    let all = s.get("/compliance-log?object_id=api-m").ok(200).to_string();
    assert!(all.contains("fp:"), "{all}");
    for secret in secrets {
        assert!(!all.contains(secret), "{secret} is in the log: {all}");
    }
}
on_both!(entries_say_what_changed);

/// `kill -9` while every write makes a checkpoint and the copy is being written: after a
/// restart the log verifies, against the outside copy too, online and offline.
fn kill_during_checkpointing(b: Backend) {
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("checkpoints.jsonl");
    let args = vec![
        "--checkpoint-every".to_owned(),
        "1".into(),
        "--checkpoint-secs".into(),
        "1".into(),
        "--checkpoint-copy".into(),
        copy.to_string_lossy().into_owned(),
    ];
    let s = Server::start(
        &b,
        Options {
            extra: args.clone(),
            ..Options::default()
        },
    );
    let pid = s.pid();
    std::thread::scope(|sc| {
        for t in 0..3 {
            let s = &s;
            sc.spawn(move || {
                for i in 0..400 {
                    let m = model(
                        &format!("k{t}-{i}"),
                        "ml",
                        "sample",
                        json!({"type": "sample"}),
                    );
                    if s.client()
                        .post(s.url("/models/register"))
                        .json(&m)
                        .send()
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(700));
        let killed = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    });
    let again = s.sibling(Options {
        extra: args,
        ..Options::default()
    });
    let v = again.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], true, "after kill -9: {v}");
    assert_eq!(v["outside_copy"], true);
    assert!(v["entries_checked"].as_i64().unwrap() > 5, "{v}");
    let key = again.get("/compliance-log/public-key").ok(200)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut db = Db::open(&again, "");
    wait_for_copy(&mut db, &copy);
    let (code, text) = offline(&again, out.path(), &copy, &key);
    assert_eq!(code, Some(0), "after kill -9, offline: {text}");
}
on_both!(kill_during_checkpointing);
