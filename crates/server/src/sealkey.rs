//! The seal key: which key seals the database's secrets (docs/access.md, "Secrets at rest"),
//! where it comes from, and `auditor rotate-key`.
//!
//! The key is `AUDITOR_SEAL_KEY` (64 hex digits) when set, else the key file (`seal_key_file`,
//! by default `<database dir>/<database name>.seal.key` for SQLite and `auditor.seal.key` in the
//! working directory for PostgreSQL), created owner-only at the first start. Keys in
//! `AUDITOR_SEAL_OLD_KEYS` (comma-separated hex) and a `<key file>.new` left by an interrupted
//! rotation open values but do not seal them, unless the database records one of them as its
//! key.

use anyhow::{Context, bail};
use audit_keys::{KeyFile, Sealer, keyfile};
use audit_store::secrets::{self, Reseal, Resealed};
use audit_store::{Backend, Store, backend_of};
use std::path::{Path, PathBuf};

/// The key itself (64 hex digits); wins over the file.
pub const KEY_ENV: &str = "AUDITOR_SEAL_KEY";
/// Older keys, comma-separated hex: they open values, during a rotation of `AUDITOR_SEAL_KEY`.
pub const OLD_KEYS_ENV: &str = "AUDITOR_SEAL_OLD_KEYS";

/// Where the key file is when no setting says: beside a SQLite database (named after it, so
/// that two databases in one directory do not share a key, and so that copying `auditor.db*`
/// does not copy the key with the data), in the working directory for PostgreSQL.
pub fn default_key_file(database_url: &str) -> PathBuf {
    match backend_of(database_url) {
        (Backend::Sqlite, path) => {
            let p = Path::new(&path);
            let stem = p
                .file_stem()
                .map_or_else(|| "auditor".into(), |s| s.to_string_lossy().into_owned());
            p.with_file_name(format!("{stem}.seal.key"))
        }
        (Backend::Postgres, _) => PathBuf::from("auditor.seal.key"),
    }
}

/// `<key file>.new`: the next key while a rotation is under way.
pub fn next_key_file(key_file: &Path) -> PathBuf {
    let mut p = key_file.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

fn env_key(var: &str) -> anyhow::Result<Option<[u8; 32]>> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Some(keyfile::parse(&v, var)?)),
        _ => Ok(None),
    }
}

fn old_env_keys() -> anyhow::Result<Vec<[u8; 32]>> {
    match std::env::var(OLD_KEYS_ENV) {
        Ok(v) => v
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| Ok(keyfile::parse(k, OLD_KEYS_ENV)?))
            .collect(),
        Err(_) => Ok(Vec::new()),
    }
}

/// The configured key: the environment's, or the file's. The file is created only while the
/// database records no key: a missing file then means a lost or misplaced key, and a new one
/// would seal values no other instance (and no later start) could open.
fn current_key(store: &Store, key_file: &Path) -> anyhow::Result<KeyFile> {
    if let Some(key) = env_key(KEY_ENV)? {
        return Ok(KeyFile {
            key,
            path: None,
            created: false,
        });
    }
    if key_file.exists() {
        return Ok(keyfile::load(key_file)?);
    }
    if let Some(id) = store.read(secrets::recorded_key)? {
        bail!(
            "the database's secrets are sealed with key {id}, but the seal key file '{}' does not exist: restore it, point --seal-key-file (AUDITOR_SEAL_KEY_FILE) at it, or set {KEY_ENV}",
            key_file.display()
        );
    }
    Ok(keyfile::load_or_create(key_file)?)
}

/// The configured key with every key that may open values (old ones from the environment, the
/// next key of an interrupted rotation).
fn ring(store: &Store, key_file: &Path) -> anyhow::Result<(KeyFile, Sealer)> {
    let current = current_key(store, key_file)?;
    let mut ring = Sealer::new(&current.key);
    for k in old_env_keys()? {
        ring = ring.accepting(&k);
    }
    let next = next_key_file(key_file);
    if current.path.is_some() && next.exists() {
        ring = ring.accepting(&keyfile::load(&next)?.key);
        tracing::warn!(
            file = %next.display(),
            "an interrupted seal-key rotation left this file; run `auditor rotate-key` again to finish it (do not delete the file)"
        );
    }
    Ok((current, ring))
}

/// Loads the seal key for a server, checks it against the database, seals the secrets still
/// plain (rows from before sealing) and returns the store that seals with it. Logs the key's
/// id and file, never the key.
pub fn attach(store: Store, key_file: &Path) -> anyhow::Result<Store> {
    let (current, ring) = ring(&store, key_file)?;
    let sealer = secrets::adopt(&store, &ring).map_err(|e| anyhow::anyhow!("{e}"))?;
    match &current.path {
        Some(p) => {
            tracing::info!(key_id = sealer.key_id(), file = %p.display(), created = current.created, "seal key ready")
        }
        None => tracing::info!(key_id = sealer.key_id(), source = KEY_ENV, "seal key ready"),
    }
    let done = secrets::reseal(&store, &sealer, Reseal::Plain)
        .context("cannot seal the secrets stored before sealing")?;
    if done.rows() > 0 {
        tracing::info!(
            sources = done.sources,
            targets = done.targets,
            webhooks = done.webhooks,
            "sealed secrets stored in plain text before this version"
        );
    }
    if done.unopenable > 0 {
        tracing::warn!(
            rows = done.unopenable,
            "rows hold secrets sealed with a key that is not configured; their sources, targets or webhooks fail until it is"
        );
    }
    Ok(store.with_sealer(sealer))
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
    pub resealed: Resealed,
    /// The key file now holding the new key (`None`: the key is `AUDITOR_SEAL_KEY`).
    pub key_file: Option<PathBuf>,
}

/// `auditor rotate-key`. With a key file: the next key is written to `<file>.new` first (or
/// taken from there when an earlier rotation was interrupted), every sealed value is re-sealed
/// with it in one write transaction that also records it as the database's key, and only then
/// does `<file>.new` replace the file. A crash at any point leaves both keys on disk until the
/// file is replaced, so every value still opens; running the command again finishes the work.
/// With `AUDITOR_SEAL_KEY`: re-seals everything with that key (the old one given in
/// `AUDITOR_SEAL_OLD_KEYS`).
pub fn rotate(store: &Store, key_file: &Path) -> anyhow::Result<Rotated> {
    let recorded = store.read(secrets::recorded_key)?;
    if env_key(KEY_ENV)?.is_some() {
        let (_, ring) = ring(store, key_file)?;
        let resealed = secrets::reseal(store, &ring, Reseal::All)?;
        return Ok(Rotated {
            old_key_id: recorded.unwrap_or_default(),
            new_key_id: ring.key_id().to_owned(),
            resealed,
            key_file: None,
        });
    }
    let old = keyfile::load(key_file).with_context(|| {
        format!(
            "rotate-key needs the current seal key file '{}' (or {KEY_ENV})",
            key_file.display()
        )
    })?;
    let next_file = next_key_file(key_file);
    let next = if next_file.exists() {
        keyfile::load(&next_file)?.key
    } else {
        let k = keyfile::random_key()?;
        keyfile::write(&next_file, &k)?;
        k
    };
    let mut ring = Sealer::new(&next).accepting(&old.key);
    for k in old_env_keys()? {
        ring = ring.accepting(&k);
    }
    if let Some(id) = &recorded
        && !ring.has_key(id)
    {
        bail!(
            "the database's secrets are sealed with key {id}, which neither '{}' nor '{}' holds",
            key_file.display(),
            next_file.display()
        );
    }
    let resealed = secrets::reseal(store, &ring, Reseal::All)?;
    // The database now opens with the next key alone: it may replace the old one.
    keyfile::rename(&next_file, key_file)?;
    Ok(Rotated {
        old_key_id: audit_keys::seal::key_id(&old.key),
        new_key_id: ring.key_id().to_owned(),
        resealed,
        key_file: Some(key_file.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use audit_store::repo::webhooks;

    fn hook(store: &Store) -> webhooks::Webhook {
        store
            .read(|c| webhooks::list(c, None, false))
            .unwrap()
            .remove(0)
    }

    fn id_of_file(path: &Path) -> String {
        audit_keys::seal::key_id(&keyfile::load(path).unwrap().key)
    }

    /// A crash at each step of a rotation leaves a database every start can open, and running
    /// the command again finishes it.
    #[test]
    fn interrupted_rotations_keep_every_value_open_and_finish() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let key_file = default_key_file(db.to_str().unwrap());
        let open = || Store::open(db.to_str().unwrap(), &Default::default()).unwrap();
        let store = attach(open(), &key_file).unwrap();
        let k0 = id_of_file(&key_file);
        let sealer = store.sealer().unwrap();
        assert_eq!(sealer.key_id(), k0);
        store
            .write(|c| {
                webhooks::create(
                    c,
                    &sealer,
                    &webhooks::NewWebhook {
                        tenant_id: "default",
                        name: "w",
                        url: "https://h/hook?token=t0ken",
                        style: "json",
                        secret: "the-webhook-secret",
                        model_id: None,
                        results: &[],
                        min_severity: None,
                        enabled: true,
                        start_after: 0,
                    },
                )
            })
            .unwrap();

        // Crash after `<file>.new` was written, before the transaction: the old key still seals.
        let next = next_key_file(&key_file);
        keyfile::write(&next, &[9u8; 32]).unwrap();
        let k1 = id_of_file(&next);
        let s = attach(open(), &key_file).unwrap();
        assert_eq!(s.sealer().unwrap().key_id(), k0);
        assert_eq!(
            hook(&s).destination(&s.sealer().unwrap()).unwrap().secret,
            "the-webhook-secret"
        );

        // Crash after the commit, before the file was replaced: the new key seals.
        let ring = Sealer::new(&[9u8; 32]).accepting(&keyfile::load(&key_file).unwrap().key);
        let done = secrets::reseal(&s, &ring, Reseal::All).unwrap();
        assert_eq!(done.webhooks, 1);
        let s = attach(open(), &key_file).unwrap();
        assert_eq!(s.sealer().unwrap().key_id(), k1);
        let d = hook(&s).destination(&s.sealer().unwrap()).unwrap();
        assert_eq!(
            (d.url.as_str(), d.secret.as_str()),
            ("https://h/hook?token=t0ken", "the-webhook-secret")
        );

        // Running it again finishes: nothing left to re-seal, the file replaced.
        let r = rotate(&open(), &key_file).unwrap();
        assert_eq!(
            (r.old_key_id.as_str(), r.new_key_id.as_str()),
            (k0.as_str(), k1.as_str())
        );
        assert_eq!(r.resealed.rows(), 0);
        assert!(!next.exists());
        assert_eq!(id_of_file(&key_file), k1);
        let s = attach(open(), &key_file).unwrap();
        assert_eq!(s.sealer().unwrap().key_ids(), vec![k1.as_str()]);
        assert_eq!(
            hook(&s)
                .destination(&Sealer::new(&[9u8; 32]))
                .unwrap()
                .secret,
            "the-webhook-secret"
        );

        // A full rotation from there: a fresh key, one row re-sealed.
        let r = rotate(&open(), &key_file).unwrap();
        assert_eq!(r.resealed.webhooks, 1);
        assert_ne!(r.new_key_id, k1);
        assert_eq!(id_of_file(&key_file), r.new_key_id);
    }

    #[test]
    fn a_lost_or_wrong_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let key_file = dir.path().join("keys/seal.key");
        let open = || Store::open(db.to_str().unwrap(), &Default::default()).unwrap();
        attach(open(), &key_file).unwrap();
        let k0 = id_of_file(&key_file);
        std::fs::remove_file(&key_file).unwrap();
        let e = attach(open(), &key_file).unwrap_err().to_string();
        assert!(e.contains(&k0) && e.contains("does not exist"), "{e}");
        assert!(
            !key_file.exists(),
            "a new key was made for a sealed database"
        );
        keyfile::write(&key_file, &[4u8; 32]).unwrap();
        let e = attach(open(), &key_file).unwrap_err().to_string();
        assert!(e.contains(&k0), "{e}");
        assert!(
            !e.contains(&audit_keys::hex(&[4u8; 32])),
            "the key is in the message"
        );
    }

    #[test]
    fn key_files_sit_beside_sqlite_databases() {
        assert_eq!(
            default_key_file("/srv/a/auditor.db"),
            PathBuf::from("/srv/a/auditor.seal.key")
        );
        assert_eq!(
            default_key_file("sqlite://demo.db"),
            PathBuf::from("demo.seal.key")
        );
        assert_eq!(
            default_key_file("postgres://u:p@h/db"),
            PathBuf::from("auditor.seal.key")
        );
        assert_eq!(
            next_key_file(Path::new("/k/seal.key")),
            PathBuf::from("/k/seal.key.new")
        );
    }
}
