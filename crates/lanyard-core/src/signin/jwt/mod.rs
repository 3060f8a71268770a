//! JWT remote login (the flow customers know from hosted-content products): a visitor is sent to
//! the customer's own login page, which sends them back to
//! `/t/{tenant}/jwt/{connection}/verify` with a signed JWT in `jwt`, `code`, `id_token` or
//! `access_token`. The verifier here is pure (token bytes and a time in, claims or a typed
//! error out); [`Lanyard::jwt_verify`] adds the jti replay cache, the user and the session.
//!
//! The key and the algorithm come from the connection's settings; the token's header only has to
//! agree with them. The header is decoded and checked here before any cryptography: `alg: none`
//! in any spelling, a `typ` other than JWT, `crit`, JWE and unencoded-payload headers are
//! refused, and `jwk`, `jku`, `x5u`, `x5c` and `kid` are never read (no key is ever taken from a
//! token, and nothing is fetched). Then jsonwebtoken verifies the signature with the configured
//! key and exactly the configured algorithm, and the claims are checked here: `exp` required,
//! `nbf` and `iat` honoured, with the configured skew; `iss`, `sub` and `aud` when configured.
//!
//! Federation ID: the token's `sub` when it has one, otherwise its `email`. Linking is by
//! (connection, federation ID) only, never by matching an existing account's email.

use crate::audit::{Actor, Ctx, RequestMeta};
use crate::clock::UnixTime;
use crate::connection::validate_http_url;
use crate::connection::{KIND_JWT, verify_url};
use crate::error::{Error, JwtError, Result};
use crate::model::{Connection, Tenant};
use crate::secret::MasterKey;
use crate::signin::StrictObject;
use crate::{Lanyard, validate};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use lanyard_proto as proto;
use lanyard_proto::JwtAlgorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// Longest token accepted (any of the four parameters).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
pub const DEFAULT_JWT_SKEW_SECS: u32 = 60;
pub const MAX_JWT_SKEW_SECS: u32 = 600;
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

fn strict_object(b64: &str) -> Option<Map<String, Value>> {
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

/// The stored settings of a JWT connection (the `settings` JSON column). The HS secret is
/// sealed with the master key (context `connection:{id}:jwt_secret`); public keys are stored as
/// PEM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtSettings {
    pub login_url: String,
    pub algorithm: JwtAlgorithm,
    #[serde(default)]
    pub sealed_secret: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default = "default_skew")]
    pub clock_skew_secs: u32,
    #[serde(default)]
    pub jit: bool,
}

fn default_skew() -> u32 {
    DEFAULT_JWT_SKEW_SECS
}

pub fn secret_context(connection_id: &str) -> String {
    format!("connection:{connection_id}:jwt_secret")
}

/// An absolute https URL (plain http only when `allow_http`), without credentials or fragment.
pub fn validate_login_url(s: &str, allow_http: bool) -> Result<String, JwtError> {
    let u = validate_http_url("login_url", s)
        .map_err(|_| JwtError::InvalidLoginUrl("must be an absolute https:// URL"))?;
    if u.scheme() != "https" && !allow_http {
        return Err(JwtError::InvalidLoginUrl(
            "must use https (plain http is accepted only in development mode)",
        ));
    }
    if u.query_pairs().any(|(k, _)| k == "redirect_url") {
        return Err(JwtError::InvalidLoginUrl(
            "must not contain redirect_url: Lanyard adds it",
        ));
    }
    Ok(u.to_string())
}

fn optional_claim(field: &'static str, v: Option<String>) -> Result<Option<String>> {
    match v {
        Some(s) if s.is_empty() || s.len() > 1024 || s.chars().any(char::is_control) => Err(
            Error::invalid(field, "must be 1-1024 characters, or null to not check it"),
        ),
        other => Ok(other),
    }
}

impl JwtSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored connection settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn to_wire(&self) -> proto::JwtSettings {
        proto::JwtSettings {
            login_url: self.login_url.clone(),
            algorithm: self.algorithm,
            public_key: self.public_key.clone(),
            secret_configured: self.sealed_secret.is_some(),
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            audience: self.audience.clone(),
            clock_skew_secs: self.clock_skew_secs,
            jit: self.jit,
        }
    }

    /// Applies an admin's input onto `current` (None on create): validates everything and
    /// returns the new settings or the first refusal. A pasted private key is refused before
    /// anything is kept; an HS secret is sealed here and never stored in the clear.
    pub fn apply(
        current: Option<&Self>,
        input: &proto::JwtConnectionInput,
        connection_id: &str,
        master_key: &MasterKey,
        allow_http: bool,
    ) -> Result<Self> {
        let login_url = match (&input.login_url, current) {
            (Some(u), _) => validate_login_url(u, allow_http).map_err(Error::Jwt)?,
            (None, Some(c)) => c.login_url.clone(),
            (None, None) => {
                return Err(Error::Jwt(JwtError::InvalidLoginUrl(
                    "is required: the absolute https URL of the remote login page",
                )));
            }
        };
        let algorithm = input
            .algorithm
            .or(current.map(|c| c.algorithm))
            .ok_or_else(|| {
                Error::invalid(
                    "algorithm",
                    "is required: one of HS256/384/512, RS256/384/512, ES256/384",
                )
            })?;
        let (sealed_secret, public_key) = match (&input.secret_key, current) {
            (Some(key), _) => {
                let raw = key.as_bytes();
                decoding_key(algorithm, raw).map_err(Error::Jwt)?;
                if algorithm.is_hmac() {
                    (
                        Some(master_key.seal(&secret_context(connection_id), raw)),
                        None,
                    )
                } else {
                    (None, Some(key.trim().to_owned() + "\n"))
                }
            }
            (None, Some(c)) => {
                if c.algorithm.is_hmac() != algorithm.is_hmac() {
                    return Err(Error::invalid(
                        "secret_key",
                        "is required when the algorithm changes between HS and RS/ES",
                    ));
                }
                // The kept key must suit the new algorithm (e.g. HS256 -> HS512 needs 64 bytes).
                let raw = match (&c.sealed_secret, &c.public_key) {
                    (Some(sealed), _) => master_key
                        .open(&secret_context(connection_id), sealed)
                        .map_err(|_| Error::Internal("stored JWT secret does not open".into()))?,
                    (None, Some(pem)) => pem.as_bytes().to_vec(),
                    (None, None) => Vec::new(),
                };
                decoding_key(algorithm, &raw).map_err(Error::Jwt)?;
                (c.sealed_secret.clone(), c.public_key.clone())
            }
            (None, None) => {
                return Err(Error::invalid(
                    "secret_key",
                    "is required: the shared secret (HS*) or the public key PEM (RS*/ES*)",
                ));
            }
        };
        let pick = |given: &Option<Option<String>>, cur: Option<&Option<String>>| match given {
            Some(v) => v.clone(),
            None => cur.cloned().flatten(),
        };
        let issuer = optional_claim("issuer", pick(&input.issuer, current.map(|c| &c.issuer)))?;
        let subject = optional_claim("subject", pick(&input.subject, current.map(|c| &c.subject)))?;
        let audience = optional_claim(
            "audience",
            pick(&input.audience, current.map(|c| &c.audience)),
        )?;
        let clock_skew_secs = input
            .clock_skew_secs
            .or(current.map(|c| c.clock_skew_secs))
            .unwrap_or(DEFAULT_JWT_SKEW_SECS);
        if clock_skew_secs > MAX_JWT_SKEW_SECS {
            return Err(Error::invalid(
                "clock_skew_secs",
                format!("must be between 0 and {MAX_JWT_SKEW_SECS}"),
            ));
        }
        Ok(Self {
            login_url,
            algorithm,
            sealed_secret,
            public_key,
            issuer,
            subject,
            audience,
            clock_skew_secs,
            jit: input.jit.or(current.map(|c| c.jit)).unwrap_or(false),
        })
    }

    /// The verifier for these settings (opens the sealed secret).
    pub fn verifier(&self, connection_id: &str, master_key: &MasterKey) -> Result<JwtVerifier> {
        let raw = match (&self.sealed_secret, &self.public_key) {
            (Some(sealed), _) => master_key
                .open(&secret_context(connection_id), sealed)
                .map_err(|_| Error::Internal("stored JWT secret does not open".into()))?,
            (None, Some(pem)) => pem.as_bytes().to_vec(),
            (None, None) => return Err(Error::Jwt(JwtError::NoSettings)),
        };
        JwtVerifier::new(
            self.algorithm,
            &raw,
            self.issuer.clone(),
            self.subject.clone(),
            self.audience.clone(),
            self.clock_skew_secs,
        )
        .map_err(Error::Jwt)
    }
}

impl Connection {
    pub fn jwt_settings(&self) -> Result<JwtSettings> {
        JwtSettings::from_json(&self.settings)
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

/// A same-origin page to land on: a relative path, or an absolute URL on Lanyard's own origin.
pub fn landing_page(redirect_url: &str, public_url: &str) -> Option<String> {
    let origin = url::Url::parse(public_url)
        .ok()?
        .origin()
        .ascii_serialization();
    let rest = match redirect_url.strip_prefix(origin.as_str()) {
        Some(r) if r.starts_with('/') => r,
        Some(_) => return None,
        None => redirect_url,
    };
    validate::return_to(rest)
}

/// The outcome of a JWT remote login: the new session and where to send the visitor.
#[derive(Debug)]
pub struct JwtLogin {
    pub session: crate::session::NewSession,
    pub return_to: Option<String>,
    pub user_created: bool,
    /// What provisioning did: [`crate::identity::provisioning::Provisioned::outcome`].
    pub provisioning: &'static str,
}

/// What the remote login sent, as the verify endpoint received it.
#[derive(Debug, Clone, Copy)]
pub struct JwtVerifyRequest<'a> {
    /// The token, or why none could be taken from the query.
    pub token: std::result::Result<&'a str, &'a JwtError>,
    pub redirect_url: Option<&'a str>,
    pub public_url: &'a str,
    /// The upgrade invitation this login carries (from the browser's invitation cookie).
    pub invitation_id: Option<&'a str>,
}

#[derive(Default)]
struct Trace {
    connection_id: Option<String>,
    federation_id: Option<String>,
    jti: Option<String>,
    header_alg: Option<String>,
}

impl Lanyard {
    async fn jwt_connection(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
    ) -> Result<(Connection, JwtSettings)> {
        let c = self
            .store
            .connection_by_slug(&tenant.id, conn_slug)
            .await?
            .filter(|c| c.kind == KIND_JWT)
            .ok_or(Error::Jwt(JwtError::NoSettings))?;
        if !c.enabled {
            return Err(Error::ConnectionDisabled);
        }
        let s = c
            .jwt_settings()
            .map_err(|_| Error::Jwt(JwtError::NoSettings))?;
        Ok((c, s))
    }

    /// Where to send a visitor who signs in with this JWT connection: the remote login URL with
    /// `redirect_url=<verify URL>?redirect_url=<page>` (the page only when it is same-origin).
    pub async fn jwt_start(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        page: Option<&str>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let tenant = self.tenant(tenant_slug).await?;
        let (c, s) = match self.jwt_connection(&tenant, conn_slug).await {
            Ok(v) => v,
            Err(e) => {
                self.audit_jwt_failure(&tenant, conn_slug, meta, &e, &Trace::default())
                    .await;
                return Err(e);
            }
        };
        let mut verify = url::Url::parse(&verify_url(public_url, &tenant.slug, &c.slug))
            .map_err(|_| Error::Internal("public URL does not parse".into()))?;
        if let Some(p) = page.and_then(|p| landing_page(p, public_url)) {
            verify.query_pairs_mut().append_pair("redirect_url", &p);
        }
        let mut remote = url::Url::parse(&s.login_url)
            .map_err(|_| Error::Jwt(JwtError::InvalidLoginUrl("stored value does not parse")))?;
        remote
            .query_pairs_mut()
            .append_pair("redirect_url", verify.as_str());
        Ok(remote.to_string())
    }

    /// The verify endpoint: checks the token, resolves the user, opens a session. Every refusal
    /// is audited (`login.failed` with its code) and changes nothing else.
    pub async fn jwt_verify(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        req: &JwtVerifyRequest<'_>,
        meta: &RequestMeta,
    ) -> Result<JwtLogin> {
        let tenant = self.tenant(tenant_slug).await?;
        let mut trace = Trace::default();
        match self
            .jwt_verify_inner(&tenant, conn_slug, req, meta, &mut trace)
            .await
        {
            Ok(login) => Ok(login),
            Err(e) => {
                self.audit_jwt_failure(&tenant, conn_slug, meta, &e, &trace)
                    .await;
                Err(e)
            }
        }
    }

    async fn audit_jwt_failure(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        trace: &Trace,
    ) {
        let ev = Ctx::new(Actor::Anonymous, meta.clone())
            .event(self.now(), Some(&tenant.slug), "login.failed")
            .code(e.code())
            .details(json!({
                "method": "jwt",
                "connection": conn_slug,
                "connection_id": trace.connection_id,
                "header_alg": trace.header_alg,
                // Only once the signature verified.
                "federation_id": trace.federation_id,
                "identity_verified": trace.federation_id.is_some(),
                "jti": trace.jti,
                "reason": e.to_string(),
            }));
        if let Err(err) = self.store.insert_audit(&ev).await {
            tracing::error!(error = %err, "could not audit a refused JWT login");
        }
    }

    async fn jwt_verify_inner(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        req: &JwtVerifyRequest<'_>,
        meta: &RequestMeta,
        trace: &mut Trace,
    ) -> Result<JwtLogin> {
        let (c, s) = self.jwt_connection(tenant, conn_slug).await?;
        trace.connection_id = Some(c.id.clone());
        let token = req.token.map_err(|e| Error::Jwt(e.clone()))?;
        trace.header_alg = token
            .split('.')
            .next()
            .and_then(strict_object)
            .and_then(|h| {
                h.get("alg")
                    .and_then(Value::as_str)
                    .map(|a| a.chars().take(16).collect())
            });
        let verifier = s.verifier(&c.id, self.master_key())?;
        let now = self.now();
        let claims = verifier.verify(token, now).map_err(Error::Jwt)?;
        trace.federation_id = Some(claims.federation_id().to_owned());
        trace.jti = claims.jti.clone();
        if let Some(jti) = &claims.jti {
            let until = claims.exp.saturating_add(i64::from(s.clock_skew_secs));
            if !self
                .store
                .remember_assertion(&c.id, &format!("jti:{jti}"), until, now)
                .await?
            {
                return Err(Error::Jwt(JwtError::JtiClaimInvalid(
                    "was already used to sign in (replay)",
                )));
            }
        }
        let identity = crate::identity::from_jwt(
            &claims.email,
            claims.federation_id(),
            claims.name.as_deref(),
            &claims.claims,
            &c.provisioning_settings()?,
        );
        let prov = self
            .provision(tenant, &c, s.jit, &identity, req.invitation_id, meta)
            .await?;
        let provisioning = prov.outcome();
        let (user, user_created) = (prov.user, prov.created);
        let session = self
            .open_session_capped(tenant, &user.id, "jwt", meta, None, Some(&c.id))
            .await?;
        Ok(JwtLogin {
            session,
            return_to: req
                .redirect_url
                .and_then(|r| landing_page(r, req.public_url)),
            user_created,
            provisioning,
        })
    }

    /// Creates a JWT remote-login connection.
    pub async fn create_jwt_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        input: proto::JwtConnectionInput,
        allow_http: bool,
    ) -> Result<(Tenant, Connection)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let n = crate::connection::NewConnection::from_input(
            input.slug.as_ref(),
            input.name.as_ref(),
            input.enabled,
            ("portal", "Customer portal"),
        )?;
        let settings = JwtSettings::apply(None, &input, &n.id, self.master_key(), allow_http)?;
        let c = self
            .insert_new_connection(
                ctx,
                &t,
                n,
                (KIND_JWT, settings.to_json()),
                input.provisioning.as_ref(),
                |c| jwt_audit_details(c, &settings, &input),
            )
            .await?;
        Ok((t, c))
    }

    /// Partially updates a JWT remote-login connection; invalid input changes nothing.
    pub async fn update_jwt_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        conn_slug: &str,
        input: proto::JwtConnectionInput,
        allow_http: bool,
    ) -> Result<(Tenant, Connection)> {
        let (t, mut c) = self.get_connection(ctx, slug, conn_slug).await?;
        if c.kind != KIND_JWT {
            return Err(Error::invalid(
                "kind",
                "this connection is not a JWT remote-login connection; update it at /connections/{connection}",
            ));
        }
        if let Some(s) = &input.slug
            && *s != c.slug
        {
            return Err(Error::invalid(
                "slug",
                "cannot change: it is part of the verify URL the remote login knows; create a new connection instead",
            ));
        }
        if let Some(n) = &input.name {
            crate::connection::validate_name(n)?;
        }
        let current = c.jwt_settings()?;
        let settings =
            JwtSettings::apply(Some(&current), &input, &c.id, self.master_key(), allow_http)?;
        if let Some(n) = &input.name {
            c.name = n.clone();
        }
        let was_enabled = self
            .apply_common_update(&t, &mut c, input.enabled, input.provisioning.as_ref())
            .await?;
        c.settings = settings.to_json();
        c.updated_at = self.now();
        let ev = ctx
            .event(c.updated_at, Some(&t.slug), "connection.updated")
            .details(jwt_audit_details(&c, &settings, &input));
        self.save_connection_update(ctx, &t, &c, was_enabled, ev)
            .await?;
        Ok((t, c))
    }
}

/// What the audit log keeps of a JWT settings change (never the secret).
fn jwt_audit_details(
    c: &Connection,
    s: &JwtSettings,
    i: &proto::JwtConnectionInput,
) -> serde_json::Value {
    let changed: Vec<&str> = [
        ("name", i.name.is_some()),
        ("enabled", i.enabled.is_some()),
        ("login_url", i.login_url.is_some()),
        ("algorithm", i.algorithm.is_some()),
        ("secret_key", i.secret_key.is_some()),
        ("issuer", i.issuer.is_some()),
        ("subject", i.subject.is_some()),
        ("audience", i.audience.is_some()),
        ("clock_skew_secs", i.clock_skew_secs.is_some()),
        ("jit", i.jit.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, p)| p.then_some(n))
    .collect();
    json!({
        "connection": c.slug, "connection_id": c.id, "name": c.name, "enabled": c.enabled,
        "kind": KIND_JWT, "changed": changed, "login_url": s.login_url,
        "algorithm": s.algorithm.as_str(), "secret_configured": s.sealed_secret.is_some(),
        "public_key": s.public_key, "issuer": s.issuer, "subject": s.subject,
        "audience": s.audience, "clock_skew_secs": s.clock_skew_secs, "jit": s.jit,
    })
}
