//! Secrets at rest. The database never holds a credential in plain text: header values of
//! `api` sources, probe-target secrets, webhook secrets, and the user-info and query of every
//! stored URL are sealed with the server's seal key ([`audit_keys::Sealer`], kept outside the
//! database). Each table keeps, in its old column, what may be shown — the URL with user-info
//! and query values replaced by `***`, a source config with its secret values masked — and,
//! in a `*_sealed` column, the full value sealed. Secret columns hold sealed values.
//!
//! Every sealed value is bound to where it belongs (table, column, owning model or tenant, and
//! for a credential the full URL it is sent to): someone who can write the database but not
//! read the key can neither read a secret nor have the server send it somewhere else.
//!
//! [`reseal`] seals what is still plain (rows from before sealing existed, at every start) or
//! re-seals everything with the current key (`auditor rotate-key`), in one transaction.

use audit_keys::seal::{is_sealed, sealed_key_id};
use audit_keys::{SealError, Sealer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

use crate::records::naive;
use crate::schema::seal_keys;
use crate::{AnyConnection, Backend, Store, StoreError};

/// What a masked part of a URL or config shows.
pub const MASK: &str = "***";

impl From<SealError> for StoreError {
    fn from(e: SealError) -> StoreError {
        StoreError::Sealed(e.to_string())
    }
}

/// Where a URL's path is itself the credential: the index of the first path segment that is
/// secret, for the webhook services that put their token in the path (Slack, Microsoft Teams
/// and Office 365 connectors, Discord, Mattermost-style `/hooks/…`). `None` for other hosts.
pub fn secret_path_start<'a>(
    host: &str,
    segments: impl IntoIterator<Item = &'a str>,
) -> Option<usize> {
    let host = host.to_ascii_lowercase();
    let segs: Vec<&str> = segments.into_iter().collect();
    let first = |names: &[&str]| segs.first().is_some_and(|s| names.contains(s));
    let found = if host == "hooks.slack.com" {
        first(&["services", "workflows", "triggers"]).then_some(1)
    } else if host.ends_with(".webhook.office.com")
        || host == "outlook.office.com"
        || host == "outlook.office365.com"
    {
        first(&["webhookb2", "webhook"]).then_some(1)
    } else if [
        "discord.com",
        "discordapp.com",
        "ptb.discord.com",
        "canary.discord.com",
    ]
    .contains(&host.as_str())
    {
        // `/api/webhooks/{id}/{token}` or `/api/v10/webhooks/…`.
        segs.iter().position(|s| *s == "webhooks").map(|i| i + 1)
    } else {
        // Mattermost, Rocket.Chat and similar: `/hooks/{key}` right at the root.
        first(&["hooks"]).then_some(1)
    };
    found.filter(|&i| i < segs.len() && segs[i..].iter().any(|s| !s.is_empty()))
}

/// The URL with user name, password, every query value, the fragment and a path that is a
/// credential ([`secret_path_start`]) replaced by `***` (query keys are kept; a query part
/// without `=` is masked whole, as it may be a token). A URL with none of these is returned as
/// given; one that does not parse is all `***`.
pub fn mask_url(raw: &str) -> String {
    let Ok(mut u) = url::Url::parse(raw) else {
        return MASK.to_owned();
    };
    let secret_path = u
        .host_str()
        .zip(u.path_segments())
        .and_then(|(h, segs)| secret_path_start(h, segs));
    let nothing = u.username().is_empty()
        && u.password().is_none()
        && u.query().is_none()
        && u.fragment().is_none()
        && secret_path.is_none();
    if nothing {
        return raw.to_owned();
    }
    if let Some(i) = secret_path {
        let kept: Vec<String> = u
            .path_segments()
            .map(|s| s.take(i).map(str::to_owned).collect())
            .unwrap_or_default();
        u.set_path(&format!("/{}/{MASK}", kept.join("/")));
    }
    if !u.username().is_empty() {
        let _ = u.set_username(MASK);
    }
    if u.password().is_some() {
        let _ = u.set_password(Some(MASK));
    }
    if let Some(q) = u.query().map(mask_query) {
        u.set_query(Some(&q));
    }
    if u.fragment().is_some() {
        u.set_fragment(Some(MASK));
    }
    u.to_string()
}

fn mask_query(q: &str) -> String {
    q.split('&')
        .map(|part| match part.split_once('=') {
            Some((k, "")) => format!("{k}="),
            Some((k, _)) => format!("{k}={MASK}"),
            None if part.is_empty() => String::new(),
            None => MASK.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Keys whose values are secrets wherever they appear in a source config.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "token",
    "secret",
    "password",
    "authorization",
    "auth_header_value",
    "bearer",
];

/// A source config as it may be shown: values of secret-named keys `***`, `headers` with their
/// names and `***` values, every `url` (or `*_url`) masked by [`mask_url`]. Applying it twice
/// changes nothing more.
pub fn masked_config(config: &Value) -> Value {
    match config {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let masked = match v {
                    Value::Null => Value::Null,
                    Value::Object(h) if lower == "headers" => h
                        .keys()
                        .map(|name| (name.clone(), Value::String(MASK.into())))
                        .collect(),
                    Value::String(u) if lower == "url" || lower.ends_with("_url") => {
                        Value::String(mask_url(u))
                    }
                    _ if lower == "headers" || SECRET_KEYS.iter().any(|s| lower.contains(s)) => {
                        Value::String(MASK.into())
                    }
                    other => masked_config(other),
                };
                (k.clone(), masked)
            })
            .collect(),
        Value::Array(items) => items.iter().map(masked_config).collect(),
        other => other.clone(),
    }
}

/// A config given back as it was shown: each `***` and each masked URL that matches the stored
/// config's at the same place takes the stored (full) value, so a client that reads a model and
/// writes it back keeps its secrets. A value the client changed is taken as given.
///
/// Secrets are kept only for the same endpoint: when the given `url` is not the stored one
/// (full or masked), a `***` still in the config is refused, as keeping it would send the
/// stored secret somewhere its owner never gave it.
pub fn restore_masked(given: &Value, stored: &Value) -> Result<Value, String> {
    let same_endpoint = match (given.get("url"), stored.get("url")) {
        (Some(Value::String(g)), Some(Value::String(o))) => g == o || *g == mask_url(o),
        (None, None) => true,
        _ => false,
    };
    if !same_endpoint {
        return if holds_mask(given) {
            Err("a masked value (***) can be kept only while the source's url stays the same; give the secret again".into())
        } else {
            Ok(given.clone())
        };
    }
    Ok(restore(given, stored))
}

fn restore(given: &Value, stored: &Value) -> Value {
    match (given, stored) {
        (Value::String(g), old) if g == MASK => old.clone(),
        (Value::String(g), Value::String(o)) if g != o && *g == mask_url(o) => {
            Value::String(o.clone())
        }
        (Value::Object(g), Value::Object(o)) => g
            .iter()
            .map(|(k, v)| {
                let v = o.get(k).map_or_else(|| v.clone(), |old| restore(v, old));
                (k.clone(), v)
            })
            .collect(),
        (Value::Array(g), Value::Array(o)) => g
            .iter()
            .enumerate()
            .map(|(i, v)| o.get(i).map_or_else(|| v.clone(), |old| restore(v, old)))
            .collect(),
        _ => given.clone(),
    }
}

/// True when a `***` (alone or inside a URL) is somewhere in the value.
pub fn holds_mask(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(MASK),
        Value::Object(o) => o.values().any(holds_mask),
        Value::Array(a) => a.iter().any(holds_mask),
        _ => false,
    }
}

/// Where a sealed value belongs: its associated data. Changing one breaks every stored value.
pub(crate) mod context {
    pub fn source_config(model_id: &str) -> String {
        format!("evidence_sources.config/{model_id}")
    }
    pub fn target_url(model_id: &str) -> String {
        format!("active_targets.url/{model_id}")
    }
    /// Bound to the full URL too: a secret opens only for the endpoint it was given for.
    pub fn target_secret(model_id: &str, url: &str) -> String {
        format!("active_targets.secret/{model_id}/{url}")
    }
    pub fn webhook_url(tenant_id: &str) -> String {
        format!("webhooks.url/{tenant_id}")
    }
    pub fn webhook_secret(tenant_id: &str, url: &str) -> String {
        format!("webhooks.secret/{tenant_id}/{url}")
    }
}

/// A URL as stored: `shown` is masked; `sealed` holds the full URL when masking hid anything.
pub(crate) struct StoredUrl {
    pub shown: String,
    pub sealed: Option<String>,
}

pub(crate) fn store_url(sealer: &Sealer, ctx: &str, url: &str) -> Result<StoredUrl, SealError> {
    let shown = mask_url(url);
    let sealed = if shown == url {
        None
    } else {
        Some(sealer.seal(ctx, url)?)
    };
    Ok(StoredUrl { shown, sealed })
}

/// The full URL of a stored one: the sealed copy when there is one, else the column itself
/// (nothing was masked, or the row predates sealing).
pub(crate) fn open_url(
    sealer: &Sealer,
    ctx: &str,
    shown: &str,
    sealed: Option<&str>,
) -> Result<String, SealError> {
    match sealed {
        Some(s) => sealer.open(ctx, s),
        None => Ok(shown.to_owned()),
    }
}

/// A secret column's value opened; one that is not sealed predates sealing and is plain.
pub(crate) fn open_secret(sealer: &Sealer, ctx: &str, stored: &str) -> Result<String, SealError> {
    if is_sealed(stored) {
        sealer.open(ctx, stored)
    } else {
        Ok(stored.to_owned())
    }
}

/// What a pass of [`reseal`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Seal what is still plain (rows written before sealing existed). Run at every start.
    Plain,
    /// Also re-seal every value another key sealed, and record the current key as the
    /// database's (rotation).
    All,
}

/// How a row's stored values stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowState {
    /// Nothing to do.
    Done,
    /// Plain values to seal, or (in [`Reseal::All`]) values of another key.
    Reseal,
    /// A value sealed with a key the ring does not hold.
    Unopenable,
}

/// Judges a row from its URL pair and sealed values (`plain_secret`: a secret column that is
/// not sealed).
pub(crate) fn row_state(
    sealer: &Sealer,
    mode: Reseal,
    plain_url: Option<&str>,
    sealed: &[Option<&str>],
    plain_secret: bool,
) -> RowState {
    let sealed: Vec<&str> = sealed.iter().flatten().copied().collect();
    if sealed
        .iter()
        .any(|s| sealed_key_id(s).is_some_and(|id| !sealer.has_key(id)))
    {
        return RowState::Unopenable;
    }
    let plain = plain_secret || plain_url.is_some_and(|u| mask_url(u) != u);
    let stale = mode == Reseal::All && sealed.iter().any(|s| sealer.is_stale(s));
    if plain || stale {
        RowState::Reseal
    } else {
        RowState::Done
    }
}

/// Rows rewritten by [`reseal`], and rows it could not open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub sources: u64,
    pub targets: u64,
    pub webhooks: u64,
    /// Rows holding a value sealed with a key the ring lacks (left as they are).
    pub unopenable: u64,
}

impl Resealed {
    pub fn rows(&self) -> u64 {
        self.sources + self.targets + self.webhooks
    }
}

/// One tally per table.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub resealed: u64,
    pub unopenable: u64,
}

impl Tally {
    pub fn count(&mut self, state: RowState) {
        match state {
            RowState::Reseal => self.resealed += 1,
            RowState::Unopenable => self.unopenable += 1,
            RowState::Done => {}
        }
    }
}

/// Seals what is plain, or (with [`Reseal::All`]) re-seals every value with the ring's current
/// key, in one write transaction. On SQLite the old bytes are then overwritten
/// (`secure_delete`) and the WAL checkpointed and truncated, so neither the file nor its `-wal`
/// keeps the plain or old-key text. [`Reseal::All`] refuses to commit while any value opens
/// with no key of the ring: retiring the old key would lose it.
pub fn reseal(store: &Store, sealer: &Sealer, mode: Reseal) -> Result<Resealed, StoreError> {
    let sqlite = store.backend() == Backend::Sqlite;
    let done = store.write(|c| {
        if sqlite {
            // Per connection; freed cells and pages are zeroed from here on.
            c.batch_execute("PRAGMA secure_delete = ON")?;
        }
        let s = crate::repo::models::reseal_sources(c, sealer, mode)?;
        let t = crate::repo::targets::reseal(c, sealer, mode)?;
        let w = crate::repo::webhooks::reseal(c, sealer, mode)?;
        let r = Resealed {
            sources: s.resealed,
            targets: t.resealed,
            webhooks: w.resealed,
            unopenable: s.unopenable + t.unopenable + w.unopenable,
        };
        if mode == Reseal::All {
            if r.unopenable > 0 {
                return Err(StoreError::Sealed(format!(
                    "{} rows hold values sealed with a key that is not configured; nothing was re-sealed",
                    r.unopenable
                )));
            }
            record_key(c, sealer.key_id())?;
        }
        Ok(r)
    })?;
    if sqlite && done.rows() > 0 {
        store.read(|c| Ok(c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?))?;
    }
    Ok(done)
}

const CURRENT: &str = "current";

/// The id of the key the database's values are sealed with, once a server has recorded one.
pub fn recorded_key(conn: &mut AnyConnection) -> Result<Option<String>, StoreError> {
    Ok(seal_keys::table
        .find(CURRENT)
        .select(seal_keys::key_id)
        .first(conn)
        .optional()?)
}

fn record_key(conn: &mut AnyConnection, key_id: &str) -> Result<(), StoreError> {
    diesel::delete(seal_keys::table.find(CURRENT)).execute(conn)?;
    diesel::insert_into(seal_keys::table)
        .values((
            seal_keys::name.eq(CURRENT),
            seal_keys::key_id.eq(key_id),
            seal_keys::updated_at.eq(naive(crate::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// The ring to seal with: the one whose key the database records (recording the ring's current
/// key when none is yet). Refused when the ring does not hold the recorded key: values sealed
/// with another would be unreadable to every other instance.
pub fn adopt(store: &Store, sealer: &Sealer) -> Result<Sealer, StoreError> {
    store.write(|c| match recorded_key(c)? {
        None => {
            record_key(c, sealer.key_id())?;
            Ok(sealer.clone())
        }
        Some(id) => sealer.sealing_with(&id).ok_or_else(|| {
            StoreError::Sealed(format!(
                "the database's secrets are sealed with key {id}, but the configured seal keys are {}: give this server the seal key file (or AUDITOR_SEAL_KEY) the database was sealed with",
                sealer.key_ids().join(", ")
            ))
        }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_keep_their_shape_and_lose_their_credentials() {
        assert_eq!(
            mask_url("https://user:pw@example.com:8443/s?token=abc&page=2#frag"),
            "https://***:***@example.com:8443/s?token=***&page=***#***"
        );
        assert_eq!(
            mask_url("https://tok@example.com/s?flag&x="),
            "https://***@example.com/s?***&x="
        );
        for clean in ["https://Example.com/a/b", "http://127.0.0.1:9/x"] {
            assert_eq!(mask_url(clean), clean, "unchanged when nothing is secret");
        }
        let once = mask_url("http://u:p@h/p?a=1&b");
        assert_eq!(mask_url(&once), once, "idempotent");
        assert_eq!(mask_url("not a url"), MASK);
    }

    #[test]
    fn webhook_tokens_in_paths_are_masked() {
        for (raw, shown) in [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXsecret",
                "https://hooks.slack.com/services/***",
            ),
            (
                "https://acme.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d",
                "https://acme.webhook.office.com/webhookb2/***",
            ),
            (
                "https://discord.com/api/webhooks/123/tok",
                "https://discord.com/api/webhooks/***",
            ),
            (
                "https://chat.example.com/hooks/abc123",
                "https://chat.example.com/hooks/***",
            ),
        ] {
            assert_eq!(mask_url(raw), shown);
            assert_eq!(mask_url(shown), shown, "idempotent");
        }
        for clean in [
            "https://hooks.slack.com/",
            "https://example.com/services/a/b",
        ] {
            assert_eq!(mask_url(clean), clean);
        }
    }

    #[test]
    fn configs_keep_names_and_lose_values() {
        let c = json!({"url": "https://h/s?token=t0k3n", "timeout_secs": 5,
            "headers": {"X-Api-Key": "k3y", "Authorization": "Bearer b3arer"},
            "nested": [{"password": "pw", "path": "a/*.jsonl"}]});
        let m = masked_config(&c);
        assert_eq!(
            m,
            json!({"url": "https://h/s?token=***", "timeout_secs": 5,
                "headers": {"X-Api-Key": "***", "Authorization": "***"},
                "nested": [{"password": "***", "path": "a/*.jsonl"}]})
        );
        assert_eq!(masked_config(&m), m);
        let text = m.to_string();
        for s in ["t0k3n", "k3y", "b3arer", "\"pw\""] {
            assert!(!text.contains(s), "{s} in {text}");
        }
    }

    #[test]
    fn written_back_configs_keep_their_secrets_for_the_same_endpoint() {
        let full = json!({"url": "https://u:pw@h/s?token=t0k", "timeout_secs": 5,
            "headers": {"X-Api-Key": "k3y", "X-Other": "o1"}});
        let shown = masked_config(&full);
        assert_eq!(
            restore_masked(&shown, &full).unwrap(),
            full,
            "read, write back: same"
        );
        let mut edited = shown.clone();
        edited["timeout_secs"] = json!(9);
        edited["headers"]["X-Other"] = json!("new");
        let r = restore_masked(&edited, &full).unwrap();
        assert_eq!(r["headers"], json!({"X-Api-Key": "k3y", "X-Other": "new"}));
        assert_eq!(r["url"], full["url"]);
        assert_eq!(r["timeout_secs"], 9);
        let mut moved = shown.clone();
        moved["url"] = json!("https://elsewhere.example/s");
        assert!(
            restore_masked(&moved, &full).is_err(),
            "no secret follows a new url"
        );
        let fresh = json!({"url": "https://elsewhere.example/s", "headers": {"X-Api-Key": "n3w"}});
        assert_eq!(restore_masked(&fresh, &full).unwrap(), fresh);
        let files = json!({"path": "a/*.jsonl"});
        assert_eq!(
            restore_masked(&files, &json!({"path": "b"})).unwrap(),
            files
        );
    }

    #[test]
    fn stored_urls_open_only_in_their_own_place() {
        let s = Sealer::new(&[5u8; 32]);
        let full = "https://u:pw@h/x?token=t";
        let st = store_url(&s, "a", full).unwrap();
        assert_eq!(st.shown, "https://***:***@h/x?token=***");
        assert_eq!(
            open_url(&s, "a", &st.shown, st.sealed.as_deref()).unwrap(),
            full
        );
        assert!(open_url(&s, "b", &st.shown, st.sealed.as_deref()).is_err());
        let clean = store_url(&s, "a", "https://h/x").unwrap();
        assert!(clean.sealed.is_none());
        assert_eq!(
            open_secret(&s, "c", "legacy-plain").unwrap(),
            "legacy-plain"
        );
    }

    #[test]
    fn row_states() {
        let old = Sealer::new(&[1u8; 32]);
        let ring = Sealer::new(&[2u8; 32]).accepting(&[1u8; 32]);
        let v = old.seal("c", "x").unwrap();
        let st = |m, u, sealed: &[Option<&str>], p| row_state(&ring, m, u, sealed, p);
        assert_eq!(
            st(Reseal::Plain, Some("https://h/"), &[], false),
            RowState::Done
        );
        assert_eq!(
            st(Reseal::Plain, Some("https://h/?t=1"), &[], false),
            RowState::Reseal
        );
        assert_eq!(st(Reseal::Plain, None, &[None], true), RowState::Reseal);
        assert_eq!(st(Reseal::Plain, None, &[Some(&v)], false), RowState::Done);
        assert_eq!(st(Reseal::All, None, &[Some(&v)], false), RowState::Reseal);
        let other = Sealer::new(&[3u8; 32]).seal("c", "x").unwrap();
        assert_eq!(
            st(Reseal::Plain, None, &[Some(&other)], false),
            RowState::Unopenable
        );
    }
}
