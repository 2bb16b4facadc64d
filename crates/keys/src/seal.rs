//! Secrets sealed at rest: XChaCha20-Poly1305 (RustCrypto) with a random 24-byte nonce per
//! value, so the same secret sealed twice gives two unrelated texts.
//!
//! A sealed value is one line of text, `sealed:v1:<key id>:<hex of nonce ‖ ciphertext ‖ tag>`.
//! The key id (16 hex digits derived from the key) names the key that sealed it, so that during
//! a rotation a [`Sealer`] holding the new key and the old ones opens every value, and a server
//! given the wrong key says which key it lacks instead of "cannot decrypt".
//!
//! Each value is bound to a *context* (which table, column and row it belongs to), given as
//! associated data: a sealed value copied into another row or field does not open there. The
//! version and key id are bound too, so the label cannot be changed either.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every sealed value starts with.
pub const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const ID_LEN: usize = 16;

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed value")]
    NotSealed,
    #[error("sealed with key {0}, which is not among the configured seal keys")]
    UnknownKey(String),
    /// Wrong context, altered text, or a key with a colliding id: all look the same.
    #[error("sealed value does not open: altered, or moved from another field")]
    Refused,
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// The id of a key: 16 hex digits of HMAC-SHA256(key, label). It says which key sealed a value
/// and tells nothing about the key.
pub fn key_id(key: &[u8; 32]) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"ai-auditor seal key id v1");
            crate::hex(&mac.finalize().into_bytes()[..ID_LEN / 2])
        }
        // HMAC takes keys of any length; 32 bytes cannot fail.
        Err(_) => "0".repeat(ID_LEN),
    }
}

/// Whether `text` has the shape of a sealed value (it may still fail to open).
pub fn is_sealed(text: &str) -> bool {
    parts(text).is_some()
}

/// The id of the key that sealed `text`, when it is a sealed value.
pub fn sealed_key_id(text: &str) -> Option<&str> {
    parts(text).map(|(id, _)| id)
}

/// `(key id, payload hex)` of a well-formed sealed value.
fn parts(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, payload) = rest.split_once(':')?;
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let well_formed = id.len() == ID_LEN
        && hex(id)
        && payload.len() >= 2 * (NONCE_LEN + TAG_LEN)
        && payload.len() % 2 == 0
        && hex(payload);
    well_formed.then_some((id, payload))
}

fn aad(id: &str, context: &str) -> Vec<u8> {
    format!("{PREFIX}{id}:{context}").into_bytes()
}

#[derive(Clone)]
struct SealKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealKey {
    fn new(key: &[u8; 32]) -> SealKey {
        SealKey {
            id: key_id(key),
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }
}

/// A key ring: the current key seals; it and the older keys open. Older keys exist only during
/// a rotation (or when the database says another of the ring's keys is current).
#[derive(Clone)]
pub struct Sealer {
    current: SealKey,
    older: Vec<SealKey>,
}

impl std::fmt::Debug for Sealer {
    // Key ids only: never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Sealer {
    /// A ring of one key, which seals and opens.
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer {
            current: SealKey::new(key),
            older: Vec::new(),
        }
    }

    /// The same ring that also opens values sealed with `key` (no effect if it is already in).
    pub fn accepting(mut self, key: &[u8; 32]) -> Sealer {
        let k = SealKey::new(key);
        if !self.has_key(&k.id) {
            self.older.push(k);
        }
        self
    }

    /// The id of the key that seals.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Every key id of the ring, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .map(|k| k.id.as_str())
            .collect()
    }

    pub fn has_key(&self, id: &str) -> bool {
        self.key_ids().contains(&id)
    }

    /// The same ring with the key of id `id` sealing (the previous current key still opens);
    /// `None` when the ring does not hold that key.
    pub fn sealing_with(&self, id: &str) -> Option<Sealer> {
        if self.current.id == id {
            return Some(self.clone());
        }
        let i = self.older.iter().position(|k| k.id == id)?;
        let mut older = self.older.clone();
        let current = older.remove(i);
        older.insert(0, self.current.clone());
        Some(Sealer { current, older })
    }

    /// Seals `plain` for `context` with the current key.
    pub fn seal(&self, context: &str, plain: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let k = &self.current;
        let sealed = k
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad(&k.id, context),
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .map_err(|_| SealError::Refused)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", k.id, crate::hex(&bytes)))
    }

    /// Opens a value sealed for `context` with any key of the ring.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, SealError> {
        let (id, payload) = parts(sealed).ok_or(SealError::NotSealed)?;
        let k = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let bytes = crate::unhex(payload).ok_or(SealError::NotSealed)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let plain = k
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad(id, context),
                },
            )
            .map_err(|_| SealError::Refused)?;
        String::from_utf8(plain).map_err(|_| SealError::Refused)
    }

    /// Whether `sealed` is sealed with another key than the current one (it needs re-sealing
    /// to finish a rotation).
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed_key_id(sealed).is_some_and(|id| id != self.current.id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: [u8; 32] = [1u8; 32];
    const B: [u8; 32] = [2u8; 32];

    #[test]
    fn round_trips_and_hides_the_secret() {
        let s = Sealer::new(&A);
        let v = s.seal("webhooks.secret/t1", "hunter2-hunter2").unwrap();
        assert!(v.starts_with(&format!("{PREFIX}{}:", key_id(&A))));
        assert!(!v.contains("hunter2"));
        assert!(is_sealed(&v));
        assert_eq!(sealed_key_id(&v), Some(key_id(&A).as_str()));
        assert_eq!(s.open("webhooks.secret/t1", &v).unwrap(), "hunter2-hunter2");
        // A fresh nonce each time.
        assert_ne!(v, s.seal("webhooks.secret/t1", "hunter2-hunter2").unwrap());
        assert_eq!(s.open("c", &s.seal("c", "").unwrap()).unwrap(), "");
    }

    #[test]
    fn tampered_values_and_other_contexts_are_refused() {
        let s = Sealer::new(&A);
        let v = s.seal("active_targets.secret/m1", "sk-live-123").unwrap();
        assert!(matches!(
            s.open("active_targets.secret/m2", &v),
            Err(SealError::Refused)
        ));
        // Flip one hex digit anywhere in the payload (nonce, ciphertext or tag).
        let start = PREFIX.len() + ID_LEN + 1;
        for i in [start, start + 60, v.len() - 1] {
            let mut b = v.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(b).unwrap();
            assert!(
                matches!(
                    s.open("active_targets.secret/m1", &t),
                    Err(SealError::Refused)
                ),
                "altered at {i}"
            );
        }
        // A truncated payload is not even a sealed value.
        assert!(matches!(
            s.open("active_targets.secret/m1", &v[..v.len() - 40]),
            Err(SealError::NotSealed)
        ));
        assert!(!is_sealed("sk-live-123"));
        assert!(!is_sealed("sealed:v1:zz:00"));
    }

    #[test]
    fn another_key_is_named_and_refused() {
        let v = Sealer::new(&A).seal("c", "secret").unwrap();
        match Sealer::new(&B).open("c", &v) {
            Err(SealError::UnknownKey(id)) => assert_eq!(id, key_id(&A)),
            other => panic!("{other:?}"),
        }
        // Relabelled with B's id: B's key does not open it either.
        let relabelled = v.replace(&key_id(&A), &key_id(&B));
        assert!(matches!(
            Sealer::new(&B).open("c", &relabelled),
            Err(SealError::Refused)
        ));
    }

    #[test]
    fn old_values_open_during_a_rotation_and_new_ones_use_the_new_key() {
        let old = Sealer::new(&A);
        let v = old.seal("c", "secret").unwrap();
        let ring = Sealer::new(&B).accepting(&A);
        assert_eq!(ring.key_id(), key_id(&B));
        assert_eq!(ring.open("c", &v).unwrap(), "secret");
        assert!(ring.is_stale(&v));
        let w = ring.seal("c", "secret").unwrap();
        assert!(!ring.is_stale(&w));
        assert_eq!(sealed_key_id(&w), Some(key_id(&B).as_str()));
        // After the rotation the old key alone cannot open what the new one sealed.
        assert!(matches!(old.open("c", &w), Err(SealError::UnknownKey(_))));
        // The ring can be told to seal with its older key, and still opens both.
        let back = ring.sealing_with(&key_id(&A)).unwrap();
        assert_eq!(back.key_id(), key_id(&A));
        assert_eq!(back.open("c", &w).unwrap(), "secret");
        assert!(ring.sealing_with("0123456789abcdef").is_none());
        assert_eq!(ring.clone().accepting(&B).key_ids().len(), 2);
    }

    #[test]
    fn debug_shows_ids_not_keys() {
        let s = Sealer::new(&[0xab; 32]).accepting(&B);
        let d = format!("{s:?}");
        assert!(d.contains(&key_id(&[0xab; 32])));
        assert!(!d.contains("abababab"));
        assert!(!d.contains(&crate::hex(&B)));
    }
}
