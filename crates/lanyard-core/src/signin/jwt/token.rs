//! The pure part of JWT remote login: which parameter carries the token, the configured key
//! parsed and checked, and the token verified (header before any cryptography, then the
//! signature with exactly the configured key and algorithm, then the claims).

use crate::clock::UnixTime;
use crate::error::JwtError;
use crate::signin::StrictObject;
use crate::signin::pem::{
    OID_EC, OID_RSA, bit_length, curve_of, key_type_name, pem_blocks, pkcs1_to_spki,
};
use crate::validate;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use lanyard_proto::JwtAlgorithm;
use serde_json::{Map, Value};
use std::fmt;

/// Longest token accepted (any of the four parameters). A remote-login JWT carries a handful
/// of claims (well under 2 KiB even with an RSA-4096 signature); 16 KiB leaves room for large
/// group lists while staying far below hyper's own limits, so an oversized token reaches
/// Lanyard and gets a page with a code instead of hyper's bare 414.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest `redirect_url` accepted at the verify URL (a same-origin page: at most 2 KiB of path
/// and query after Lanyard's own origin, which may be spelled out).
pub const MAX_REDIRECT_URL_BYTES: usize = 4 * 1024;
/// Longest query accepted at the verify URL: one token plus a redirect URL and percent-encoding
/// slack. hyper refuses request lines over 64 KiB (and header sections over ~400 KiB) itself,
/// with a bare 414/431 before Lanyard sees the request; this limit, half of that, makes every
/// oversize query Lanyard's own refusal (page, code, metric, audit).
pub const MAX_QUERY_BYTES: usize = 32 * 1024;
/// Largest header section accepted at the verify URL (names, values and separators). Browsers
/// send a few KiB; hyper's own limit is ~400 KiB.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Longest accepted `jti` (it is kept in the replay cache).
pub const MAX_JTI_LEN: usize = 256;
/// The query parameters a remote login may put its token in.
pub const TOKEN_PARAMS: [&str; 4] = ["jwt", "code", "id_token", "access_token"];

fn failed(reason: impl Into<String>) -> JwtError {
    JwtError::TokenVerificationFailed(reason.into())
}

fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::HS384 => Algorithm::HS384,
        JwtAlgorithm::HS512 => Algorithm::HS512,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::RS384 => Algorithm::RS384,
        JwtAlgorithm::RS512 => Algorithm::RS512,
        JwtAlgorithm::ES256 => Algorithm::ES256,
        JwtAlgorithm::ES384 => Algorithm::ES384,
    }
}

/// RFC 7518 §3.2: an HMAC key at least as long as the hash output.
pub fn min_secret_len(a: JwtAlgorithm) -> usize {
    match a {
        JwtAlgorithm::HS384 => 48,
        JwtAlgorithm::HS512 => 64,
        _ => 32,
    }
}

pub(super) fn strict_object(b64: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    serde_json::from_slice::<StrictObject>(&bytes)
        .ok()
        .map(|o| o.0)
}

/// The claims of a verified token that the login uses (plus all of them, for the audit log).
#[derive(Debug, Clone, PartialEq)]
pub struct JwtClaims {
    pub email: String,
    pub sub: Option<String>,
    pub jti: Option<String>,
    pub exp: i64,
    pub name: Option<String>,
    pub claims: Map<String, Value>,
}

impl JwtClaims {
    /// `sub` when present, otherwise the email.
    pub fn federation_id(&self) -> &str {
        self.sub.as_deref().unwrap_or(&self.email)
    }
}

/// A connection's settings prepared for verifying tokens: the key parsed once.
pub struct JwtVerifier {
    alg: Algorithm,
    key: DecodingKey,
    issuer: Option<String>,
    subject: Option<String>,
    audience: Option<String>,
    skew: i64,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A number claim that must be an integer NumericDate (no floats, strings or huge values).
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if (0..=253_402_300_799).contains(&v) => Ok(Some(v)),
            _ => Err(failed(format!("`{name}` is not a whole number of seconds"))),
        },
        Some(_) => Err(failed(format!("`{name}` is not a number"))),
    }
}

impl JwtVerifier {
    /// `secret`: for HS* the opened shared secret; for RS/ES the public key PEM.
    pub fn new(
        alg: JwtAlgorithm,
        secret: &[u8],
        issuer: Option<String>,
        subject: Option<String>,
        audience: Option<String>,
        skew_secs: u32,
    ) -> Result<Self, JwtError> {
        let key = decoding_key(alg, secret)?;
        Ok(Self {
            alg: algorithm(alg),
            key,
            issuer,
            subject,
            audience,
            skew: i64::from(skew_secs),
        })
    }

    /// Verifies `token` at `now` (Unix seconds). Pure.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<JwtClaims, JwtError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(failed("no token was sent"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::RequestTooLarge {
                part: "token",
                max: MAX_TOKEN_BYTES,
                got: token.len(),
            });
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(failed(
                "a signed JWT has exactly three dot-separated parts (JWE and JSON serialisation are not accepted)",
            ));
        };
        let header = strict_object(h).ok_or(JwtError::CouldNotParseHeader(
            "it must be base64url (no padding) of one JSON object without duplicate members",
        ))?;
        self.check_header(&header)?;
        if sig.is_empty() {
            return Err(failed("the signature is empty"));
        }
        let sig_bytes = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| failed("the signature is not base64url"))?;
        if sig_bytes.is_empty() {
            return Err(failed("the signature is empty"));
        }
        let message_len = h.len() + 1 + p.len();
        let message = token.get(..message_len).unwrap_or_default();
        let ok = jsonwebtoken::crypto::verify(sig, message.as_bytes(), &self.key, self.alg)
            .map_err(|_| failed("the signature does not verify with the configured key"))?;
        if !ok {
            return Err(failed(
                "the signature does not verify with the configured key",
            ));
        }
        let claims = strict_object(p).ok_or_else(|| {
            failed("the payload must be base64url of one JSON object without duplicate members")
        })?;
        self.check_claims(claims, now)
    }

    fn check_header(&self, header: &Map<String, Value>) -> Result<(), JwtError> {
        let alg = match header.get("alg") {
            None | Some(Value::Null) => return Err(JwtError::AlgorithmMissingInHeader),
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(JwtError::AlgorithmMissingInHeader);
            }
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(JwtError::CouldNotParseHeader("`alg` is not a string")),
        };
        if alg.trim().eq_ignore_ascii_case("none") {
            return Err(JwtError::NoneAlgorithmProvided);
        }
        match header.get("typ") {
            None => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
            Some(Value::String(t)) => {
                return Err(JwtError::WrongTypeInHeader(t.chars().take(64).collect()));
            }
            Some(other) => {
                return Err(JwtError::WrongTypeInHeader(
                    other.to_string().chars().take(64).collect(),
                ));
            }
        }
        for unsupported in ["crit", "enc", "zip", "b64"] {
            if header.contains_key(unsupported) {
                return Err(failed(format!(
                    "the header parameter `{unsupported}` is not supported"
                )));
            }
        }
        let expected = format!("{:?}", self.alg);
        if alg != expected {
            return Err(failed(format!(
                "the token is signed with {}, the connection is configured for {expected}",
                alg.chars().take(16).collect::<String>()
            )));
        }
        Ok(())
    }

    fn check_claims(
        &self,
        claims: Map<String, Value>,
        now: UnixTime,
    ) -> Result<JwtClaims, JwtError> {
        let exp = numeric_date(&claims, "exp")?.ok_or_else(|| failed("`exp` is missing"))?;
        if now >= exp.saturating_add(self.skew) {
            return Err(failed("the token has expired (`exp`)"));
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && now.saturating_add(self.skew) < nbf
        {
            return Err(failed("the token is not valid yet (`nbf`)"));
        }
        if let Some(iat) = numeric_date(&claims, "iat")?
            && iat > now.saturating_add(self.skew)
        {
            return Err(failed("the token was issued in the future (`iat`)"));
        }
        let text = |name: &'static str| -> Result<Option<String>, JwtError> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(failed(format!("`{name}` is not a string"))),
            }
        };
        let iss = text("iss")?;
        if let Some(want) = &self.issuer
            && iss.as_deref() != Some(want.as_str())
        {
            return Err(failed("`iss` is not the configured issuer"));
        }
        let sub = text("sub")?.filter(|s| !s.is_empty());
        if let Some(want) = &self.subject
            && sub.as_deref() != Some(want.as_str())
        {
            return Err(failed("`sub` is not the configured subject"));
        }
        if let Some(want) = &self.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(a)) => a == want,
                // Every listed audience must be us: a token also meant for others is refused.
                Some(Value::Array(list)) => {
                    !list.is_empty() && list.iter().all(|a| a.as_str() == Some(want.as_str()))
                }
                _ => false,
            };
            if !ok {
                return Err(failed("`aud` is not (only) the configured audience"));
            }
        }
        let jti = match claims.get("jti") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_JTI_LEN => Some(s.clone()),
            Some(_) => {
                return Err(JwtError::JtiClaimInvalid(
                    "must be a string of 1-256 characters",
                ));
            }
        };
        let email = match claims.get("email") {
            Some(Value::String(e)) if validate::email(e.trim()).is_ok() => e.trim().to_owned(),
            _ => return Err(JwtError::MissingEmailInToken),
        };
        let name = claims
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| validate::display_name(n).is_ok() && !n.is_empty())
            .map(str::to_owned);
        Ok(JwtClaims {
            email,
            sub,
            jti,
            exp,
            name,
            claims,
        })
    }
}

fn looks_private(text: &str) -> bool {
    if text.contains("PRIVATE KEY") {
        return true;
    }
    // A private JWK: has the private exponent / scalar `d`.
    serde_json::from_str::<Value>(text.trim())
        .ok()
        .and_then(|v| v.get("d").cloned())
        .is_some()
}

/// Parses and checks the configured key for `alg`: the shared secret (HS) or the public key
/// PEM (RS/ES). Private keys, public keys used as HMAC secrets, short secrets, RSA under 2048
/// bits and keys of the wrong type are refused.
pub fn decoding_key(alg: JwtAlgorithm, secret: &[u8]) -> Result<DecodingKey, JwtError> {
    let text = std::str::from_utf8(secret).unwrap_or_default();
    if looks_private(text) {
        return Err(JwtError::PrivateKeyProvided);
    }
    if alg.is_hmac() {
        if text.contains("-----BEGIN") {
            return Err(JwtError::InvalidKey(
                "a PEM key or certificate is not a shared secret; HS algorithms need a random secret shared with the remote login".into(),
            ));
        }
        let min = min_secret_len(alg);
        if secret.len() < min {
            return Err(JwtError::InvalidKeyLength {
                alg: alg.as_str(),
                min,
                got: secret.len(),
            });
        }
        return Ok(DecodingKey::from_secret(secret));
    }
    let (spki, _cert) = public_key_info(text)?;
    checked_public_key(alg, &spki)
}

/// What a pasted certificate says about itself (its key is used; the dates only warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateDates {
    pub not_before: i64,
    pub not_after: i64,
}

/// The SubjectPublicKeyInfo DER of the one PEM block in `text`: a `PUBLIC KEY`, a PKCS#1
/// `RSA PUBLIC KEY` or an X.509 `CERTIFICATE` (its subject key; the dates are returned so the
/// caller can warn). Text around the block (e.g. `openssl x509 -text` output) is ignored.
pub fn public_key_info(text: &str) -> Result<(Vec<u8>, Option<CertificateDates>), JwtError> {
    use x509_parser::prelude::FromDer as _;
    let blocks = pem_blocks(text);
    let [(label, der)] = blocks.as_slice() else {
        return Err(JwtError::InvalidKey(if blocks.is_empty() {
            "no PEM block found: paste the public key (-----BEGIN PUBLIC KEY-----) or the certificate (-----BEGIN CERTIFICATE-----)".into()
        } else {
            format!(
                "{} PEM blocks found: paste exactly one public key or certificate",
                blocks.len()
            )
        }));
    };
    if der.is_empty() {
        return Err(JwtError::InvalidKey(format!(
            "the `{label}` PEM block is not valid base64 (or is not closed by -----END {label}-----)"
        )));
    }
    match label.as_str() {
        "PUBLIC KEY" => Ok((der.clone(), None)),
        "RSA PUBLIC KEY" => Ok((pkcs1_to_spki(der), None)),
        "CERTIFICATE" => {
            let (rest, cert) =
                x509_parser::certificate::X509Certificate::from_der(der).map_err(|_| {
                    JwtError::InvalidKey("the CERTIFICATE block is not an X.509 certificate".into())
                })?;
            if !rest.is_empty() {
                return Err(JwtError::InvalidKey(
                    "the CERTIFICATE block has bytes after the certificate".into(),
                ));
            }
            let dates = CertificateDates {
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
            };
            Ok((cert.public_key().raw.to_vec(), Some(dates)))
        }
        l => Err(JwtError::InvalidKey(format!(
            "a `{l}` PEM block is not a public key; paste -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----"
        ))),
    }
}

/// Warnings about a pasted certificate's dates, for the audit record of the settings change. The
/// certificate is only a container for the public key: a JWT signature does not depend on its
/// validity dates, so an expired (or not yet valid) certificate is accepted and its key used,
/// with this warning.
pub fn certificate_warnings(public_key: Option<&str>, now: UnixTime) -> Vec<String> {
    let Some(Ok((_, Some(d)))) = public_key.map(public_key_info) else {
        return Vec::new();
    };
    let date = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| t.to_string())
    };
    let mut out = Vec::new();
    if d.not_after < now {
        out.push(format!(
            "the certificate expired on {}; its public key is still used to verify tokens (JWT signatures do not depend on certificate dates), but check that the remote login still signs with this key",
            date(d.not_after)
        ));
    }
    if d.not_before > now {
        out.push(format!(
            "the certificate is valid only from {}; its public key is used to verify tokens already",
            date(d.not_before)
        ));
    }
    out
}

/// Smallest and largest RSA modulus accepted for RS* (the verifier checks 2048-8192 bits).
pub const MIN_RSA_BITS: usize = 2048;
pub const MAX_RSA_BITS: usize = 8192;

/// Checks a SubjectPublicKeyInfo against `alg` (RS* or ES*) and returns the key to verify
/// with. Reads the key type, the RSA size and the EC curve and point itself, so each refusal
/// says what was found and what the algorithm needs.
pub fn checked_public_key(alg: JwtAlgorithm, spki_der: &[u8]) -> Result<DecodingKey, JwtError> {
    use x509_parser::prelude::FromDer as _;
    let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| {
            JwtError::InvalidKey(
                "the PEM block is not a SubjectPublicKeyInfo (export the public key in PEM/SPKI form)"
                    .into(),
            )
        })?;
    if !rest.is_empty() {
        return Err(JwtError::InvalidKey(
            "the public key has bytes after its end".into(),
        ));
    }
    let oid = spki.algorithm.algorithm.to_id_string();
    let found = key_type_name(&oid).unwrap_or("an unknown type of");
    let is_rsa = matches!(
        alg,
        JwtAlgorithm::RS256 | JwtAlgorithm::RS384 | JwtAlgorithm::RS512
    );
    let wanted = if is_rsa { "RSA" } else { "EC" };
    let key_bytes: &[u8] = &spki.subject_public_key.data;
    match (oid.as_str(), is_rsa) {
        (OID_RSA, true) => {
            let (_, rsa) = x509_parser::public_key::RSAPublicKey::from_der(key_bytes)
                .map_err(|_| JwtError::InvalidKey("the RSA public key does not parse".into()))?;
            let bits = bit_length(rsa.modulus);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(JwtError::InvalidRsaKeyLength {
                    alg: alg.as_str(),
                    bits,
                });
            }
            let params: &'static aws_lc_rs::signature::RsaParameters = match alg {
                JwtAlgorithm::RS384 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA384,
                JwtAlgorithm::RS512 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
                _ => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            };
            aws_lc_rs::signature::ParsedPublicKey::new(params, key_bytes).map_err(|e| {
                JwtError::InvalidKey(format!("the RSA public key is not usable ({e})"))
            })?;
            Ok(DecodingKey::from_rsa_der(key_bytes))
        }
        (OID_EC, false) => {
            let (want_curve, want_len, verify_alg): (
                &str,
                usize,
                &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm,
            ) = if alg == JwtAlgorithm::ES384 {
                ("P-384", 48, &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED)
            } else {
                ("P-256", 32, &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED)
            };
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                // A named curve is an OBJECT IDENTIFIER (tag 6); explicit parameters are a SEQUENCE.
                .filter(|p| p.tag().0 == 6)
                .and_then(|p| p.clone().oid().ok())
                .map(|o| o.to_id_string())
                .ok_or_else(|| {
                    JwtError::InvalidKey(format!(
                        "the EC key does not name its curve (explicit curve parameters are not supported); {} needs a {want_curve} key",
                        alg.as_str()
                    ))
                })?;
            let (curve, _) = curve_of(&curve_oid).unwrap_or(("an unknown curve", 0));
            if curve != want_curve {
                return Err(JwtError::InvalidKey(format!(
                    "the EC key is on {curve} ({curve_oid}); {} needs a {want_curve} key",
                    alg.as_str()
                )));
            }
            match key_bytes.first() {
                Some(0x04) if key_bytes.len() == 1 + 2 * want_len => {}
                Some(0x02 | 0x03) => {
                    return Err(JwtError::InvalidKey(
                        "the EC point is compressed, which is not supported: export the public key uncompressed"
                            .into(),
                    ));
                }
                Some(0x00) => {
                    return Err(JwtError::InvalidKey(
                        "the EC point is the point at infinity, which is not a public key".into(),
                    ));
                }
                _ => {
                    return Err(JwtError::InvalidKey(format!(
                        "the EC point is not a {want_curve} point ({} bytes; an uncompressed point has {})",
                        key_bytes.len(),
                        1 + 2 * want_len
                    )));
                }
            }
            aws_lc_rs::signature::ParsedPublicKey::new(verify_alg, key_bytes).map_err(|_| {
                JwtError::InvalidKey(format!(
                    "the EC point is not on the {want_curve} curve (the key is corrupt or forged)"
                ))
            })?;
            Ok(DecodingKey::from_ec_der(key_bytes))
        }
        _ => Err(JwtError::InvalidKey(format!(
            "this is {found} key{}; {} needs an {wanted} public key",
            if found == "an unknown type of" {
                format!(" ({oid})")
            } else {
                String::new()
            },
            alg.as_str()
        ))),
    }
}

/// The token the remote login sent: from whichever of the four parameters carry one. Two
/// different tokens at once are refused (which one would be meant?); the same token repeated
/// is one token.
pub fn pick_token<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<&'a str, JwtError> {
    let mut found: Option<&str> = None;
    for (k, v) in params {
        let Some(param) = TOKEN_PARAMS.iter().find(|p| **p == k) else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        if v.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::RequestTooLarge {
                part: param,
                max: MAX_TOKEN_BYTES,
                got: v.len(),
            });
        }
        match found {
            Some(f) if f != v => {
                return Err(failed(
                    "two different tokens were sent (use exactly one of jwt, code, id_token, access_token)",
                ));
            }
            _ => found = Some(v),
        }
    }
    found.ok_or_else(|| failed("no token was sent in jwt, code, id_token or access_token"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn self_signed(not_before: i64, not_after: i64) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["remote-login.example".into()]).unwrap();
        p.not_before = time::OffsetDateTime::from_unix_timestamp(not_before).unwrap();
        p.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        let der = p.self_signed(&key).unwrap().der().to_vec();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(der)
        )
    }

    /// Decision: an expired or not-yet-valid certificate is accepted (its key verifies tokens
    /// the same whatever the dates) and the settings change's audit record warns about it.
    #[test]
    fn expired_and_future_certificates_are_accepted_with_a_warning() {
        let now = 1_800_000_000;
        let expired = self_signed(now - 400 * 86_400, now - 35 * 86_400);
        assert!(decoding_key(JwtAlgorithm::ES256, expired.as_bytes()).is_ok());
        let w = certificate_warnings(Some(&expired), now);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("expired on 2026-"), "{w:?}");
        let future = self_signed(now + 86_400, now + 400 * 86_400);
        assert!(decoding_key(JwtAlgorithm::ES256, future.as_bytes()).is_ok());
        assert!(certificate_warnings(Some(&future), now)[0].contains("valid only from"));
        let current = self_signed(now - 86_400, now + 86_400);
        assert!(certificate_warnings(Some(&current), now).is_empty());
        // A certificate of the wrong curve is refused like the bare key would be.
        assert_eq!(
            decoding_key(JwtAlgorithm::ES384, current.as_bytes())
                .unwrap_err()
                .code(),
            "INVALID_KEY"
        );
    }

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[]), 0);
    }
}
