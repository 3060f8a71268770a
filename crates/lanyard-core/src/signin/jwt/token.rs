//! The pure part of JWT remote login: which parameter carries the token, the configured key
//! parsed and checked, and the token verified (header before any cryptography, then the
//! signature with exactly the configured key and algorithm, then the claims).

use crate::clock::UnixTime;
use crate::error::JwtError;
use crate::signin::StrictObject;
use crate::validate;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use lanyard_proto::JwtAlgorithm;
use serde_json::{Map, Value};
use std::fmt;

/// Longest token accepted (any of the four parameters).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
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
            return Err(failed("the token is larger than 16 KiB"));
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

/// One PEM block: its label and DER bytes.
fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).unwrap_or_default();
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after.get(..label_end).unwrap_or_default().to_owned();
        let body_start = after.get(label_end + 5..).unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            out.push((label, Vec::new()));
            break;
        };
        let body: String = body_start
            .get(..body_end)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push((label, STANDARD.decode(body).unwrap_or_default()));
        rest = body_start
            .get(body_end + end_marker.len()..)
            .unwrap_or_default();
    }
    out
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

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else if n <= 0xff {
        vec![0x81, n as u8]
    } else {
        vec![0x82, (n >> 8) as u8, (n & 0xff) as u8]
    }
}

/// Wraps a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo.
fn pkcs1_to_spki(pkcs1: &[u8]) -> Vec<u8> {
    const ALG: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit = vec![0x03];
    bit.extend(der_len(pkcs1.len() + 1));
    bit.push(0);
    bit.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    out.extend(der_len(ALG.len() + bit.len()));
    out.extend_from_slice(&ALG);
    out.extend(bit);
    out
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
    let blocks = pem_blocks(text);
    let [(label, der)] = blocks.as_slice() else {
        return Err(JwtError::InvalidKey(
            "paste exactly one public key in PEM form (-----BEGIN PUBLIC KEY-----)".into(),
        ));
    };
    if der.is_empty() {
        return Err(JwtError::InvalidKey(
            "the PEM block is not valid base64".into(),
        ));
    }
    let is_rsa = matches!(
        alg,
        JwtAlgorithm::RS256 | JwtAlgorithm::RS384 | JwtAlgorithm::RS512
    );
    match (label.as_str(), is_rsa) {
        ("PUBLIC KEY", true) | ("RSA PUBLIC KEY", true) => {
            let spki = if label == "RSA PUBLIC KEY" {
                pkcs1_to_spki(der)
            } else {
                der.clone()
            };
            let k = aws_lc_rs::rsa::PublicEncryptingKey::from_der(&spki)
                .map_err(|_| JwtError::InvalidKey("not an RSA public key".into()))?;
            if k.key_size_bits() < 2048 {
                return Err(JwtError::InvalidKey(format!(
                    "the RSA key has {} bits; at least 2048 are required",
                    k.key_size_bits()
                )));
            }
            DecodingKey::from_rsa_pem(text.as_bytes())
                .map_err(|e| JwtError::InvalidKey(format!("not an RSA public key ({e})")))
        }
        ("PUBLIC KEY", false) => {
            let k = DecodingKey::from_ec_pem(text.as_bytes())
                .map_err(|_| JwtError::InvalidKey("not an EC public key".into()))?;
            let point = k
                .try_get_as_bytes()
                .map_err(|_| JwtError::InvalidKey("not an EC public key".into()))?;
            let want = if alg == JwtAlgorithm::ES256 { 65 } else { 97 };
            if point.len() != want {
                return Err(JwtError::InvalidKey(format!(
                    "the EC key is not on the curve {} needs ({})",
                    alg.as_str(),
                    if want == 65 { "P-256" } else { "P-384" }
                )));
            }
            Ok(k)
        }
        (l, _) => Err(JwtError::InvalidKey(format!(
            "a `{l}` PEM block is not a public key for {}; paste -----BEGIN PUBLIC KEY-----",
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
        if !TOKEN_PARAMS.contains(&k) || v.is_empty() {
            continue;
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
