//! The server's own keys. They live in files (or the environment), never in the database, so
//! that someone who can write the database can neither forge a signed checkpoint nor read a
//! sealed secret.
//!
//! - [`keyfile`]: 32-byte keys as hex text in a file created with owner-only permissions at
//!   first start, or supplied; a supplied file readable by others is refused.
//! - [`sign`]: Ed25519 signing and verification (checkpoints of the compliance log).
//! - [`seal`]: XChaCha20-Poly1305 sealing of the secrets the database keeps (credentials of
//!   sources, probe targets and webhooks), with a key ring for rotations.
//! - [`fingerprint`]: a keyed, truncated HMAC of a secret, so the log can say a secret changed
//!   without holding anything that helps guess it.

pub mod keyfile;
pub mod seal;
pub mod sign;

pub use keyfile::{KeyError, KeyFile};
pub use seal::{SealError, Sealer};
pub use sign::{Signer, Verifier};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses lower- or upper-case hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A 32-byte key for one purpose derived from `key` (HMAC-SHA256 of the label), so that one
/// secret file can serve several purposes without one use revealing another's key.
pub fn derive(key: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// `fp:` and the first 16 hex digits of HMAC-SHA256(key, secret): equal secrets give equal
/// fingerprints under one key, and without the key a fingerprint says nothing of the secret.
pub fn fingerprint(key: &[u8; 32], secret: &str) -> String {
    // HMAC accepts keys of any length; 32 bytes cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return "fp:unavailable".to_owned(),
    };
    mac.update(secret.as_bytes());
    let out = mac.finalize().into_bytes();
    format!("fp:{}", &hex(&out)[..16])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&b), "0001abff");
        assert_eq!(unhex("0001ABff"), Some(b.to_vec()));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn fingerprints_depend_on_key_and_secret() {
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        let a = fingerprint(&k1, "hunter2");
        assert_eq!(a.len(), 19);
        assert_eq!(a, fingerprint(&k1, "hunter2"));
        assert_ne!(a, fingerprint(&k1, "hunter3"));
        assert_ne!(a, fingerprint(&k2, "hunter2"));
        assert!(!a.contains("hunter2"));
    }
}
