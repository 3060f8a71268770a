//! A provider's JWKS (`Jwks::parse`, fetched from its `jwks_uri`) and the keys an administrator
//! pastes instead (`pasted_jwks`: PEM certificates and public keys) on arbitrary bytes.
//!
//! Invariant: an accepted key set holds between 1 and 32 keys; every key kept from a JWKS comes
//! from a member of `keys` that is an RSA, EC or OKP signing key without private parts.
#![no_main]

use lanyard_core::signin::oidc::checks::Jwks;
use lanyard_core::signin::oidc::keys::pasted_jwks;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwks) = Jwks::parse(data) {
        assert!((1..=32).contains(&jwks.keys.len()));
        let doc: Value = serde_json::from_slice(data).expect("accepted bytes are JSON");
        let members = doc.get("keys").and_then(Value::as_array).expect("keys");
        for k in &jwks.keys {
            let from = members.iter().any(|m| {
                m.get("kid").and_then(Value::as_str) == k.kid.as_deref()
                    && m.get("d").is_none()
                    && matches!(
                        m.get("kty").and_then(Value::as_str),
                        Some("RSA" | "EC" | "OKP")
                    )
                    && m.get("use").is_none_or(|u| u.as_str() == Some("sig"))
            });
            assert!(
                from,
                "a kept key has no public signing key member: {:?}",
                k.kid
            );
            if let Some(kid) = &k.kid {
                assert!(jwks.has_kid(kid));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(jwks) = pasted_jwks(&[text.to_owned()]) {
            assert!(!text.contains("PRIVATE KEY"));
            assert!(jwks.keys.len() <= lanyard_core::signin::oidc::keys::MAX_SIGNING_CERTIFICATES);
        }
    }
});
