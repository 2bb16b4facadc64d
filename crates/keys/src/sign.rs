//! Ed25519 signatures (RFC 8032) over the bytes the caller chooses. The secret is the 32-byte
//! seed from a [`crate::KeyFile`]; the public key is published as hex.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// Signs with the server's key.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public_key_hex())
            .finish()
    }
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The signature of `message`, as 128 hex digits.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        crate::hex(&self.key.sign(message).to_bytes())
    }

    pub fn public_key_hex(&self) -> String {
        crate::hex(self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> Verifier {
        Verifier {
            key: self.key.verifying_key(),
        }
    }
}

/// Checks signatures against a published public key.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifyingKey,
}

impl Verifier {
    /// From 64 hex digits; `None` when they are not a valid Ed25519 public key.
    pub fn from_hex(public_key: &str) -> Option<Self> {
        let bytes = <[u8; 32]>::try_from(crate::unhex(public_key)?).ok()?;
        VerifyingKey::from_bytes(&bytes)
            .ok()
            .map(|key| Self { key })
    }

    /// Whether `signature_hex` is this key's signature of `message` (strict verification:
    /// no malleable or small-order forms).
    pub fn verify_hex(&self, message: &[u8], signature_hex: &str) -> bool {
        let Some(bytes) = crate::unhex(signature_hex).and_then(|v| <[u8; 64]>::try_from(v).ok())
        else {
            return false;
        };
        let sig = Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &sig).is_ok() && self.key.verify(message, &sig).is_ok()
    }

    pub fn public_key_hex(&self) -> String {
        crate::hex(self.key.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_changes() {
        let s = Signer::from_seed(&[9u8; 32]);
        let sig = s.sign_hex(b"checkpoint 1");
        assert_eq!(sig.len(), 128);
        let v = Verifier::from_hex(&s.public_key_hex()).unwrap();
        assert!(v.verify_hex(b"checkpoint 1", &sig));
        assert!(!v.verify_hex(b"checkpoint 2", &sig));
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        assert!(!v.verify_hex(b"checkpoint 1", &String::from_utf8(bad).unwrap()));
        let other = Signer::from_seed(&[8u8; 32]).verifier();
        assert!(!other.verify_hex(b"checkpoint 1", &sig));
        assert!(Verifier::from_hex("00").is_none());
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1, TEST 1: empty message.
        let seed = crate::unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let s = Signer::from_seed(&seed.try_into().unwrap());
        assert_eq!(
            s.public_key_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            s.sign_hex(b""),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
