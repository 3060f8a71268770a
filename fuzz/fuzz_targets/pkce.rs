//! PKCE (RFC 7636) on arbitrary challenges, methods and verifiers.
//!
//! Invariants: only an S256 challenge of 43 unreserved characters is accepted; a verifier
//! matches exactly the challenge computed from it, and a verifier outside 43-128 unreserved
//! characters never matches anything.
#![no_main]

use arbitrary::Arbitrary;
use lanyard_core::provider::pkce::{challenge_of, check_challenge, verify};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    challenge: String,
    method: Option<String>,
    verifier: String,
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fuzz_target!(|i: Input| {
    if check_challenge(&i.challenge, i.method.as_deref()).is_ok() {
        assert_eq!(i.method.as_deref(), Some("S256"));
        assert_eq!(i.challenge.len(), 43);
        assert!(unreserved(&i.challenge));
    }
    let well_formed = (43..=128).contains(&i.verifier.len()) && unreserved(&i.verifier);
    let own = challenge_of(&i.verifier);
    assert!(
        check_challenge(&own, Some("S256")).is_ok(),
        "a computed challenge is well formed"
    );
    assert_eq!(verify(&i.verifier, &own).is_ok(), well_formed);
    if verify(&i.verifier, &i.challenge).is_ok() {
        assert!(well_formed);
        assert_eq!(own, i.challenge);
    }
});
