//! The compliance log's format, apart from any database, so that the server, the offline
//! verifier (`auditor log verify`) and an embedder all check a chain the same way.
//!
//! - One hash chain per tenant: an [`Entry`]'s hash covers its predecessor's hash and all of its
//!   fields; its `digest` is the SHA-256 of its `content` (what changed), so the hash covers
//!   the content too, and a purge can drop the content while the chain still verifies.
//! - [`Checkpoint`]s: the chain's length and head hash at a moment, signed with the server's
//!   Ed25519 key, which lives outside the database. A rewrite of the whole chain with
//!   recomputed hashes does not match a checkpoint, and nobody without the key can sign anew.
//! - [`verify::ChainVerifier`]: streams one chain's entries and reports the first break.
//! - [`export`]: the JSON Lines export and its offline verification.

pub mod export;
pub mod verify;

pub use verify::{ChainReport, ChainVerifier, Head};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action of a purge entry; its content's `log_before` is the cut-off of purged payloads.
pub const PURGE_ACTION: &str = "retention.purge";

/// One entry of a tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// Global order of the log (not hashed: the chain is ordered by `tenant_seq`).
    pub seq: i64,
    pub tenant_id: String,
    /// Position in the tenant's chain, from 1.
    pub tenant_seq: i64,
    /// RFC 3339 UTC with microseconds.
    pub at: String,
    /// `user:<name>`, `key:<key_id>`, `scheduler` or `system`.
    pub actor: String,
    /// e.g. `model.create`, `key.revoke`, `audit.finish`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SHA-256 of `content` (of the change's JSON for entries older than content).
    pub digest: String,
    pub prev_hash: String,
    pub hash: String,
    /// What changed, as JSON text: `{"before": {...}, "after": {...}}` with the changed fields
    /// only (secrets as fingerprints). `None` once purged, and for entries made before the log
    /// kept content.
    pub content: Option<String>,
    /// When the content was purged past the retention period.
    pub purged_at: Option<String>,
    /// Hex Ed25519 signature of [`entry_message`] by the server's key (`None` for entries
    /// made before entries were signed).
    pub signature: Option<String>,
}

/// What an entry's signature signs: its hash, which covers every field and its predecessor.
pub fn entry_message(hash: &str) -> Vec<u8> {
    format!("ai-auditor entry v1\n{hash}\n").into_bytes()
}

/// Lower-case hex SHA-256 of text.
pub fn sha256_hex(text: &str) -> String {
    audit_keys::hex(&Sha256::digest(text.as_bytes()))
}

/// The hash of an entry: its predecessor's hash and every hashed field, length-prefixed so
/// that no two different entries hash the same bytes.
pub fn entry_hash(e: &Entry) -> String {
    let mut h = Sha256::new();
    for part in [
        e.prev_hash.as_str(),
        &e.tenant_seq.to_string(),
        &e.tenant_id,
        &e.at,
        &e.actor,
        &e.action,
        &e.object_type,
        &e.object_id,
        &e.digest,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    audit_keys::hex(&h.finalize())
}

/// A signed statement of a chain's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    pub tenant_id: String,
    /// Its number in the tenant's series of checkpoints, from 1.
    pub sequence: i64,
    /// Entries of the chain it covers.
    pub entries: i64,
    /// The hash of entry number `entries` (GENESIS for an empty chain).
    pub head_hash: String,
    /// RFC 3339 UTC.
    pub at: String,
    /// The interval in entries in force when it was made.
    pub every_entries: i64,
    /// Hex Ed25519 public key of the signer (informative: verification uses the trusted key).
    pub public_key: String,
    /// Hex Ed25519 signature of [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes: every field but the signature, one per line, under a version tag.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "ai-auditor checkpoint v1\ntenant={}\nsequence={}\nentries={}\nhead={}\nat={}\nevery={}\nkey={}\n",
            self.tenant_id.len().to_string() + ":" + &self.tenant_id,
            self.sequence,
            self.entries,
            self.head_hash,
            self.at,
            self.every_entries,
            self.public_key
        )
        .into_bytes()
    }

    /// A checkpoint signed by `signer`.
    pub fn signed(
        signer: &audit_keys::Signer,
        tenant_id: &str,
        sequence: i64,
        entries: i64,
        head_hash: &str,
        at: &str,
        every_entries: i64,
    ) -> Self {
        let mut c = Checkpoint {
            tenant_id: tenant_id.to_owned(),
            sequence,
            entries,
            head_hash: head_hash.to_owned(),
            at: at.to_owned(),
            every_entries,
            public_key: signer.public_key_hex(),
            signature: String::new(),
        };
        c.signature = signer.sign_hex(&c.message());
        c
    }

    /// Whether the trusted key signed exactly these fields.
    pub fn signature_valid(&self, key: &audit_keys::Verifier) -> bool {
        key.verify_hex(&self.message(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn checkpoint_signature_covers_every_field() {
        let s = audit_keys::Signer::from_seed(&[3u8; 32]);
        let v = s.verifier();
        let c = Checkpoint::signed(&s, "t1", 1, 10, GENESIS, "2026-12-02T00:00:00Z", 100);
        assert!(c.signature_valid(&v));
        let mut edits: Vec<Checkpoint> = Vec::new();
        for f in 0..6 {
            let mut d = c.clone();
            match f {
                0 => d.tenant_id = "t2".into(),
                1 => d.sequence = 2,
                2 => d.entries = 11,
                3 => d.head_hash = "1".repeat(64),
                4 => d.at = "2026-12-03T00:00:00Z".into(),
                _ => d.every_entries = 1,
            }
            edits.push(d);
        }
        assert!(edits.iter().all(|d| !d.signature_valid(&v)));
        let other = audit_keys::Signer::from_seed(&[4u8; 32]).verifier();
        assert!(!c.signature_valid(&other));
    }
}
