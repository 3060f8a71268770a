//! PKCE (RFC 7636), S256 only: `plain` is refused.

use crate::error::ProviderError;
use crate::secret::constant_time_eq;
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// 43-128 characters of the unreserved set (RFC 7636 §4.1); an S256 challenge is exactly 43.
fn well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the challenge of an authorization request: method S256 (absent means `plain`).
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), ProviderError> {
    match method {
        Some("S256") => {}
        Some(other) => return Err(ProviderError::PkceMethod(other.chars().take(16).collect())),
        None => return Err(ProviderError::PkceMethod("plain".into())),
    }
    if challenge.len() != 43 || !well_formed(challenge) {
        return Err(ProviderError::PkceMalformed);
    }
    Ok(())
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Checks a code_verifier against the stored challenge, in constant time.
pub fn verify(verifier: &str, challenge: &str) -> Result<(), ProviderError> {
    if !well_formed(verifier) {
        return Err(ProviderError::PkceMalformed);
    }
    if constant_time_eq(challenge_of(verifier).as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err(ProviderError::PkceMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            challenge_of(v),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verify(v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
        assert_eq!(
            verify(
                &v.replace('d', "e"),
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            ),
            Err(ProviderError::PkceMismatch)
        );
    }

    #[test]
    fn plain_and_malformed_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_challenge(c, Some("S256")).is_ok());
        assert!(matches!(
            check_challenge(c, Some("plain")),
            Err(ProviderError::PkceMethod(_))
        ));
        assert!(matches!(
            check_challenge(c, None),
            Err(ProviderError::PkceMethod(_))
        ));
        assert_eq!(
            check_challenge("short", Some("S256")),
            Err(ProviderError::PkceMalformed)
        );
        assert_eq!(verify("short", c), Err(ProviderError::PkceMalformed));
    }
}
