//! Secrets at rest in the store: rows from before sealing are sealed (once), a rotation moves
//! every value to the new key, and a sealed value opens only in its own row and for its own URL.

#![allow(clippy::unwrap_used)]

use audit_domain::{ConnectionType, ModelType};
use audit_keys::Sealer;
use audit_keys::seal::sealed_key_id;
use audit_store::repo::{execute_raw, models, targets, webhooks};
use audit_store::secrets::{self, Reseal};
use audit_store::{NewEvidenceSource, NewModel, Store, StoreOptions};
use serde_json::json;

const OLD: [u8; 32] = [11u8; 32];
const NEW: [u8; 32] = [22u8; 32];

fn open() -> (tempfile::TempDir, Store, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let store = Store::open(db.to_str().unwrap(), &StoreOptions::default()).unwrap();
    (dir, store, db)
}

fn model(store: &Store, sealer: &Sealer, id: &str, config: serde_json::Value) {
    store
        .write(|c| {
            models::insert(
                c,
                sealer,
                &NewModel {
                    model_id: id.into(),
                    name: id.into(),
                    version: "1".into(),
                    model_type: ModelType::Llm,
                    connection_type: ConnectionType::Api,
                    description: None,
                    owner: None,
                    tenant_id: "default".into(),
                    project_id: "default".into(),
                },
                &[NewEvidenceSource {
                    source_type: ConnectionType::Api,
                    config,
                    read_only: true,
                }],
            )
            .map(|_| ())
        })
        .unwrap();
}

fn target(model_id: &str, url: &str, secret: &str) -> targets::Target {
    targets::Target {
        model_id: model_id.into(),
        url: url.into(),
        model_name: "m".into(),
        auth_header: Some("authorization".into()),
        secret: Some(secret.into()),
        temperature: 0.0,
        max_tokens: 16,
        requests_per_minute: 30,
        timeout_secs: 5,
        max_calls: 10,
        token_budget: 1000,
        api_style: "openai_chat".into(),
    }
}

fn file_text(db: &std::path::Path) -> String {
    let mut bytes = std::fs::read(db).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(w) = std::fs::read(&wal) {
        bytes.extend(w);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Plain rows as the code before sealing wrote them.
fn write_legacy_rows(store: &Store, sealer: &Sealer) {
    model(store, sealer, "legacy", json!({"url": "https://h/s"}));
    store
        .write(|c| {
            execute_raw(
                c,
                r#"UPDATE evidence_sources SET config_sealed = NULL,
                   config = '{"url":"https://u:legacy-pw@h/s?token=legacy-tok","headers":{"X-Key":"legacy-hdr"}}'
                   WHERE model_id = 'legacy'"#,
            )?;
            execute_raw(
                c,
                "INSERT INTO active_targets (model_id, url, model_name, auth_header, secret, temperature, max_tokens, requests_per_minute, timeout_secs, max_calls, token_budget, updated_at, api_style) \
                 VALUES ('legacy', 'https://h/v1/chat?key=legacy-tgt-tok', 'm', 'authorization', 'legacy-tgt-secret', 0, 16, 30, 5, 10, 1000, '2026-01-01 00:00:00', 'openai_chat')",
            )?;
            execute_raw(
                c,
                "INSERT INTO webhooks (tenant_id, name, url, style, secret, results, enabled, last_event_id, created_at) \
                 VALUES ('default', 'old', 'https://h/hook?sig=legacy-hook-tok', 'json', 'legacy-hook-secret', '[]', 1, 0, '2026-01-01 00:00:00')",
            )
        })
        .unwrap();
}

const LEGACY: [&str; 7] = [
    "legacy-pw",
    "legacy-tok",
    "legacy-hdr",
    "legacy-tgt-tok",
    "legacy-tgt-secret",
    "legacy-hook-tok",
    "legacy-hook-secret",
];

#[test]
fn plain_rows_are_sealed_once_and_still_open() {
    let (_dir, store, db) = open();
    let sealer = Sealer::new(&OLD);
    write_legacy_rows(&store, &sealer);
    assert!(LEGACY.iter().all(|s| file_text(&db).contains(s)));

    let done = secrets::reseal(&store, &sealer, Reseal::Plain).unwrap();
    assert_eq!((done.sources, done.targets, done.webhooks), (1, 1, 1));
    assert_eq!(done.unopenable, 0);
    let text = file_text(&db);
    for s in LEGACY {
        assert!(!text.contains(s), "{s} still in the database file");
    }
    // Idempotent: nothing is plain any more.
    assert_eq!(
        secrets::reseal(&store, &sealer, Reseal::Plain)
            .unwrap()
            .rows(),
        0
    );

    let (source, target, hook) = store
        .read(|c| {
            Ok((
                models::sources_of(c, "legacy")?.remove(0),
                targets::get(c, "legacy")?.unwrap(),
                webhooks::list(c, None, false)?.remove(0),
            ))
        })
        .unwrap();
    assert_eq!(
        source.config,
        json!({"url": "https://***:***@h/s?token=***", "headers": {"X-Key": "***"}})
    );
    assert_eq!(
        source.open_config(&sealer).unwrap()["headers"]["X-Key"],
        "legacy-hdr"
    );
    assert_eq!(target.view().url, "https://h/v1/chat?key=***");
    let t = target.open(&sealer).unwrap();
    assert_eq!(t.url, "https://h/v1/chat?key=legacy-tgt-tok");
    assert_eq!(t.secret.as_deref(), Some("legacy-tgt-secret"));
    assert_eq!(hook.view().url, "https://h/hook?sig=***");
    let d = hook.destination(&sealer).unwrap();
    assert_eq!(
        (d.url.as_str(), d.secret.as_str()),
        ("https://h/hook?sig=legacy-hook-tok", "legacy-hook-secret")
    );
}

#[test]
fn rotation_moves_every_value_to_the_new_key() {
    let (_dir, store, db) = open();
    let old = Sealer::new(&OLD);
    model(
        &store,
        &old,
        "m",
        json!({"url": "https://h/s?token=tok-1", "headers": {"X-Key": "hdr-1"}}),
    );
    store
        .write(|c| {
            targets::put(
                c,
                &old,
                &target("m", "https://h/v1?k=tgt-1", "sec-1"),
                audit_store::now(),
            )?;
            webhooks::create(
                c,
                &old,
                &webhooks::NewWebhook {
                    tenant_id: "default",
                    name: "w",
                    url: "https://h/hook",
                    style: "json",
                    secret: "hook-secret-1",
                    model_id: None,
                    results: &[],
                    min_severity: None,
                    enabled: true,
                    start_after: 0,
                },
            )
            .map(|_| ())
        })
        .unwrap();
    let old_id = old.key_id().to_owned();
    assert!(file_text(&db).contains(&format!("sealed:v1:{old_id}:")));

    // The new key alone opens nothing yet: the rotation needs both.
    let ring = Sealer::new(&NEW).accepting(&OLD);
    let done = secrets::reseal(&store, &ring, Reseal::All).unwrap();
    // One source, one target (URL and secret), one webhook (secret; its URL has nothing to hide).
    assert_eq!((done.sources, done.targets, done.webhooks), (1, 1, 1));
    assert_eq!(
        store.read(secrets::recorded_key).unwrap().as_deref(),
        Some(ring.key_id())
    );
    let text = file_text(&db);
    assert!(
        !text.contains(&format!("sealed:v1:{old_id}:")),
        "an old-key value is left"
    );

    let new_only = Sealer::new(&NEW);
    let (source, target, hook) = store
        .read(|c| {
            Ok((
                models::sources_of(c, "m")?.remove(0),
                targets::get(c, "m")?.unwrap(),
                webhooks::list(c, None, false)?.remove(0),
            ))
        })
        .unwrap();
    assert_eq!(
        source.open_config(&new_only).unwrap()["headers"]["X-Key"],
        "hdr-1"
    );
    assert_eq!(
        target.open(&new_only).unwrap().secret.as_deref(),
        Some("sec-1")
    );
    assert_eq!(hook.destination(&new_only).unwrap().secret, "hook-secret-1");
    assert!(hook.destination(&old).is_err(), "the old key still opens");
    for s in [&source.sealed_config, &target.url_sealed, &target.secret] {
        assert_eq!(
            sealed_key_id(s.as_deref().unwrap()),
            Some(new_only.key_id())
        );
    }
}

#[test]
fn sealed_values_open_only_where_they_belong() {
    let (_dir, store, _db) = open();
    let s = Sealer::new(&OLD);
    model(&store, &s, "a", json!({"url": "https://h/s"}));
    model(&store, &s, "b", json!({"url": "https://h/s"}));
    store
        .write(|c| {
            targets::put(
                c,
                &s,
                &target("a", "https://a.example/v1", "secret-of-a"),
                audit_store::now(),
            )?;
            targets::put(
                c,
                &s,
                &target("b", "https://b.example/v1", "secret-of-b"),
                audit_store::now(),
            )
            .map(|_| ())
        })
        .unwrap();
    // Someone who can write the database copies a's secret into b's row ...
    store
        .write(|c| {
            execute_raw(
                c,
                "UPDATE active_targets SET secret = (SELECT secret FROM active_targets WHERE model_id = 'a') WHERE model_id = 'b'",
            )
        })
        .unwrap();
    let b = store.read(|c| targets::get(c, "b")).unwrap().unwrap();
    assert!(b.open(&s).is_err(), "a secret opened in another row");
    // ... or points a's target elsewhere: its secret does not open for the new URL.
    store
        .write(|c| {
            execute_raw(
                c,
                "UPDATE active_targets SET url = 'https://evil.example/v1', url_sealed = NULL WHERE model_id = 'a'",
            )
        })
        .unwrap();
    let a = store.read(|c| targets::get(c, "a")).unwrap().unwrap();
    assert!(a.open(&s).is_err(), "a secret opened for another URL");

    // A value of a key the ring lacks: counted at start, and a rotation refuses to commit.
    let plain = secrets::reseal(&store, &Sealer::new(&NEW), Reseal::Plain).unwrap();
    assert_eq!(plain.unopenable, 2, "{plain:?}");
    let before = store.read(secrets::recorded_key).unwrap();
    assert!(secrets::reseal(&store, &Sealer::new(&NEW), Reseal::All).is_err());
    assert_eq!(store.read(secrets::recorded_key).unwrap(), before);
}

#[test]
fn the_recorded_key_decides_which_key_seals() {
    let (_dir, store, _db) = open();
    let first = secrets::adopt(&store, &Sealer::new(&OLD)).unwrap();
    assert_eq!(first.key_id(), Sealer::new(&OLD).key_id());
    // Another key alone is refused, naming both ids but no key.
    let e = secrets::adopt(&store, &Sealer::new(&NEW))
        .unwrap_err()
        .to_string();
    assert!(e.contains(first.key_id()), "{e}");
    assert!(e.contains(Sealer::new(&NEW).key_id()), "{e}");
    // A ring that holds the recorded key seals with it, whichever it was given as current.
    let ring = secrets::adopt(&store, &Sealer::new(&NEW).accepting(&OLD)).unwrap();
    assert_eq!(ring.key_id(), first.key_id());
}
