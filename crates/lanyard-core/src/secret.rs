//! Random tokens, their hashes, constant-time comparison, and the master key that seals the
//! secrets Lanyard must be able to read back (IdP client secrets, shared JWT keys, SP keys).
//!
//! Tokens (sessions, API keys) are hashed, never encrypted: a database dump yields no usable token.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use subtle::ConstantTimeEq;

/// 256 bits from the OS CSPRNG, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS CSPRNG failing is not recoverable and not caused by input; an all-zero token would be
    // worse than aborting the request, so the failure is surfaced as a process abort.
    if SystemRandom::new().fill(&mut buf).is_err() {
        std::process::abort();
    }
    buf
}

/// SHA-256 of a token: what the store keeps and looks up by.
pub fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// Constant-time equality for secrets of possibly different lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error(
        "the master key must be 32 bytes encoded as base64 (generate one with `openssl rand -base64 32`)"
    )]
    BadEncoding,
    #[error(
        "a sealed secret could not be opened: it was sealed with another master key, or altered"
    )]
    CannotOpen,
    #[error("a sealed secret is not in Lanyard's `v1:` format")]
    BadFormat,
}

/// The instance's master key: seals secrets with AES-256-GCM and derives purpose-bound subkeys.
#[derive(Clone)]
pub struct MasterKey {
    aead: std::sync::Arc<LessSafeKey>,
    raw: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes::<32>())
    }

    pub fn from_bytes(raw: [u8; 32]) -> Self {
        // AES-256-GCM accepts any 32-byte key, so this cannot fail; fall back to abort to avoid a panic path.
        let unbound = match UnboundKey::new(&aead::AES_256_GCM, &raw) {
            Ok(k) => k,
            Err(_) => std::process::abort(),
        };
        Self {
            aead: std::sync::Arc::new(LessSafeKey::new(unbound)),
            raw,
        }
    }

    /// Parses the base64 form kept in `master.key` or `LANYARD_MASTER_KEY`.
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::BadEncoding)?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::BadEncoding)?;
        Ok(Self::from_bytes(raw))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.raw)
    }

    /// Encrypts `plaintext`; `context` (e.g. `connection:42:client_secret`) is bound as associated
    /// data, so a sealed value copied into another row does not open there.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let nonce_bytes = random_bytes::<12>();
        let mut buf = plaintext.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        if self
            .aead
            .seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut buf)
            .is_err()
        {
            std::process::abort();
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        format!("v1:{}", STANDARD.encode(out))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, MasterKeyError> {
        let body = sealed
            .strip_prefix("v1:")
            .ok_or(MasterKeyError::BadFormat)?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| MasterKeyError::BadFormat)?;
        if bytes.len() < 12 + 16 {
            return Err(MasterKeyError::BadFormat);
        }
        let (nonce_bytes, ciphertext) = bytes.split_at(12);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| MasterKeyError::BadFormat)?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| MasterKeyError::CannotOpen)?;
        Ok(plain.to_vec())
    }

    /// A subkey for one purpose (CSRF tokens, cookie MACs), so one leaked MAC key is not the master.
    pub fn derive_mac_key(&self, purpose: &str) -> hmac::Key {
        let root = hmac::Key::new(hmac::HMAC_SHA256, &self.raw);
        let sub = hmac::sign(&root, purpose.as_bytes());
        hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref())
    }
}

/// A MAC of `data` under `key`, base64url: used for CSRF tokens bound to a session.
pub fn mac_token(key: &hmac::Key, data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(hmac::sign(key, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn sealed_secret_opens_only_in_its_context_with_its_key() {
        let key = MasterKey::generate();
        let sealed = key.seal("connection:1:client_secret", b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            key.open("connection:1:client_secret", &sealed).unwrap(),
            b"hunter2"
        );
        assert_eq!(
            key.open("connection:2:client_secret", &sealed),
            Err(MasterKeyError::CannotOpen)
        );
        assert_eq!(
            MasterKey::generate().open("connection:1:client_secret", &sealed),
            Err(MasterKeyError::CannotOpen)
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            key.open(
                "connection:1:client_secret",
                std::str::from_utf8(&tampered).unwrap()
            )
            .is_err()
        );
        assert_eq!(key.open("x", "plain"), Err(MasterKeyError::BadFormat));
        assert_eq!(key.open("x", "v1:AAAA"), Err(MasterKeyError::BadFormat));
    }

    #[test]
    fn master_key_base64_round_trip_and_rejects_wrong_length() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.open("c", &key.seal("c", b"x")).unwrap(), b"x");
        assert_eq!(
            MasterKey::from_base64("c2hvcnQ=").unwrap_err(),
            MasterKeyError::BadEncoding
        );
        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            MasterKeyError::BadEncoding
        );
    }

    #[test]
    fn constant_time_eq_handles_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
