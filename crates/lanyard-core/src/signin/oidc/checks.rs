//! OpenID Connect relying party, the pure part: the provider's discovery document and JWKS
//! parsed, and ID tokens verified (bytes, keys and a time in; claims or a typed error out).
//!
//! Keys come only from the provider's JWKS (fetched from its configured `jwks_uri`); the token's
//! `kid` only selects among them, and `jwk`/`jku`/`x5u`/`x5c` are never read. Algorithms come
//! from the connection's allow-list, which can only hold asymmetric ones (RS/PS/ES/EdDSA):
//! `none` and HMAC keyed with a public key can never verify.

use crate::clock::UnixTime;
use crate::error::OidcError;
use crate::secret::constant_time_eq;
use crate::signin::StrictObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// Largest ID token, JWKS or discovery document accepted.
pub const MAX_ID_TOKEN_BYTES: usize = 32 * 1024;
pub const MAX_JWKS_KEYS: usize = 32;

/// The ID-token signing algorithms a connection may allow (never `none`, never HS*).
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

pub const DEFAULT_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The endpoints imported from a provider's discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub jwks_uri: String,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3): the provider sends
    /// `iss` with every authorization response, so one without it is refused.
    pub iss_parameter_supported: bool,
}

/// Parses a discovery document; its `issuer` must equal `expected_issuer` exactly (OIDC
/// Discovery §4.3), so a document served for another provider is refused at import.
pub fn parse_discovery(bytes: &[u8], expected_issuer: &str) -> Result<Discovery, OidcError> {
    if bytes.len() > MAX_ID_TOKEN_BYTES * 4 {
        return Err(OidcError::DiscoveryInvalid("larger than 128 KiB".into()));
    }
    let doc = serde_json::from_slice::<StrictObject>(bytes)
        .map_err(|e| OidcError::DiscoveryInvalid(format!("not a JSON object: {e}")))?
        .0;
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    let need =
        |k: &str| text(k).ok_or_else(|| OidcError::DiscoveryInvalid(format!("`{k}` is missing")));
    let issuer = need("issuer")?;
    if issuer != expected_issuer {
        return Err(OidcError::DiscoveryIssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: issuer.chars().take(256).collect(),
        });
    }
    Ok(Discovery {
        issuer,
        authorization_endpoint: need("authorization_endpoint")?,
        token_endpoint: need("token_endpoint")?,
        userinfo_endpoint: text("userinfo_endpoint"),
        end_session_endpoint: text("end_session_endpoint"),
        jwks_uri: need("jwks_uri")?,
        iss_parameter_supported: doc.get("authorization_response_iss_parameter_supported")
            == Some(&Value::Bool(true)),
    })
}

/// One verification key of a provider's JWKS.
pub struct Jwk {
    pub kid: Option<String>,
    pub alg: Option<String>,
    kty: String,
    crv: Option<String>,
    key: DecodingKey,
    /// A key the admin pasted (no kid): tried whatever kid the token names.
    any_kid: bool,
}

impl Jwk {
    #[cfg(test)]
    pub(crate) fn verify_for_test(&self, sig: &str, msg: &[u8], alg: Algorithm) -> bool {
        jsonwebtoken::crypto::verify(sig, msg, &self.key, alg).unwrap_or(false)
    }
    /// A key from the connection's pasted `signing_certificates`.
    pub(crate) fn pasted(kty: &str, crv: Option<&str>, key: DecodingKey) -> Self {
        Self {
            kid: None,
            alg: None,
            kty: kty.to_owned(),
            crv: crv.map(str::to_owned),
            key,
            any_kid: true,
        }
    }
}

/// A provider's signing keys. Unparseable, private, encryption-only and symmetric keys are
/// skipped (a JWKS may carry keys for other purposes); at most [`MAX_JWKS_KEYS`] are kept.
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| k.kid.clone()).collect();
        f.debug_struct("Jwks").field("kids", &kids).finish()
    }
}

impl Jwks {
    pub fn parse(bytes: &[u8]) -> Result<Self, OidcError> {
        if bytes.len() > MAX_ID_TOKEN_BYTES * 8 {
            return Err(OidcError::JwksInvalid("larger than 256 KiB".into()));
        }
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| OidcError::JwksInvalid(format!("not JSON: {e}")))?;
        let list = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| OidcError::JwksInvalid("`keys` is missing".into()))?;
        let mut keys = Vec::new();
        for v in list.iter().take(MAX_JWKS_KEYS * 4) {
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            let kty = s("kty").unwrap_or_default();
            if v.get("d").is_some()
                || s("use").is_some_and(|u| u != "sig")
                || !matches!(kty.as_str(), "RSA" | "EC" | "OKP")
            {
                continue;
            }
            let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(v.clone()) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            if kty == "RSA" {
                let n = s("n").and_then(|n| URL_SAFE_NO_PAD.decode(n).ok());
                let bits = n.map(|n| n.iter().skip_while(|b| **b == 0).count() * 8);
                if bits.is_none_or(|b| b < 2048) {
                    continue;
                }
            }
            keys.push(Jwk {
                kid: s("kid"),
                alg: s("alg"),
                kty,
                crv: s("crv"),
                key,
                any_kid: false,
            });
            if keys.len() == MAX_JWKS_KEYS {
                break;
            }
        }
        if keys.is_empty() {
            return Err(OidcError::JwksInvalid("no usable signing key".into()));
        }
        Ok(Self { keys })
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may have signed a token with this alg and kid.
    fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Jwk> {
        self.keys.iter().filter(move |k| {
            let family_ok = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => k.kty == "RSA",
                Algorithm::ES256 => k.kty == "EC" && k.crv.as_deref() == Some("P-256"),
                Algorithm::ES384 => k.kty == "EC" && k.crv.as_deref() == Some("P-384"),
                Algorithm::EdDSA => k.kty == "OKP" && k.crv.as_deref() == Some("Ed25519"),
                _ => false,
            };
            let alg_ok = k.alg.as_deref().is_none_or(|a| a == format!("{alg:?}"));
            let kid_ok = k.any_kid || kid.is_none_or(|want| k.kid.as_deref() == Some(want));
            family_ok && alg_ok && kid_ok
        })
    }
}

/// What an ID token must satisfy for one sign-in.
#[derive(Debug, Clone)]
pub struct IdTokenCheck<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// Further values allowed in `aud` besides the client ID (the connection's audience URIs).
    pub extra_audiences: &'a [String],
    pub allowed_algorithms: &'a [Algorithm],
    /// The nonce this sign-in sent.
    pub nonce: &'a str,
    /// The access token from the same token response, to check `at_hash` when present.
    pub access_token: Option<&'a str>,
    pub skew_secs: i64,
    pub now: UnixTime,
}

/// The parts of an ID token before its signature is checked: where to look up the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// Reads and checks the header (never the key material in it).
pub fn id_token_header(token: &str, allowed: &[Algorithm]) -> Result<IdTokenHeader, OidcError> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(OidcError::Malformed("larger than 32 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::Malformed("not a compact JWS with three parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice::<StrictObject>(&b).ok())
        .ok_or(OidcError::Malformed("the header is not base64url JSON"))?
        .0;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(OidcError::Malformed("the header has no alg"))?;
    let alg = parse_algorithm(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| OidcError::AlgorithmNotAllowed(alg_name.chars().take(16).collect()))?;
    if let Some(t) = header.get("typ")
        && !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(OidcError::Malformed("the header's typ is not JWT"));
    }
    if header.contains_key("crit") || header.contains_key("b64") {
        return Err(OidcError::Malformed("the header has unsupported crit/b64"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= 256 => Some(k.clone()),
        Some(_) => {
            return Err(OidcError::Malformed(
                "the header's kid is not a short string",
            ));
        }
    };
    Ok(IdTokenHeader { alg, kid })
}

fn left_half_hash(alg: Algorithm, input: &[u8]) -> Vec<u8> {
    use aws_lc_rs::digest;
    let d = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => &digest::SHA384,
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let h = digest::digest(d, input);
    let bytes = h.as_ref();
    bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec()
}

/// Verifies an ID token: signature by a JWKS key (kid selects; without a kid every key of the
/// right type is tried), then iss, aud (+ azp), exp/iat/nbf with the skew, nonce and at_hash.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    check: &IdTokenCheck<'_>,
) -> Result<Map<String, Value>, OidcError> {
    let header = id_token_header(token, check.allowed_algorithms)?;
    let (message, sig) = token
        .rsplit_once('.')
        .ok_or(OidcError::Malformed("no signature"))?;
    if sig.is_empty() {
        return Err(OidcError::BadSignature);
    }
    let mut candidates = jwks
        .candidates(header.alg, header.kid.as_deref())
        .peekable();
    if candidates.peek().is_none() {
        return Err(if header.kid.as_deref().is_some_and(|k| !jwks.has_kid(k)) {
            OidcError::UnknownKid
        } else {
            OidcError::BadSignature
        });
    }
    let verified = candidates.any(|k| {
        jsonwebtoken::crypto::verify(sig, message.as_bytes(), &k.key, header.alg).unwrap_or(false)
    });
    if !verified {
        return Err(OidcError::BadSignature);
    }
    let payload = message
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<StrictObject>(&b).ok())
        .ok_or(OidcError::Malformed("the payload is not base64url JSON"))?
        .0;
    check_claims(&payload, header.alg, check)?;
    Ok(payload)
}

fn int(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|t| (0..=253_402_300_799).contains(t))
            .map(Some)
            .ok_or(OidcError::TimeInvalid(
                "has a time claim that is not a whole number of seconds",
            )),
    }
}

fn check_claims(
    c: &Map<String, Value>,
    alg: Algorithm,
    check: &IdTokenCheck<'_>,
) -> Result<(), OidcError> {
    if c.get("iss").and_then(Value::as_str) != Some(check.issuer) {
        return Err(OidcError::IssuerMismatch);
    }
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let listed = match c.get("aud") {
        Some(Value::Array(list)) => list.len(),
        _ => auds.len(),
    };
    if auds.len() != listed
        || !auds.contains(&check.client_id)
        || auds
            .iter()
            .any(|a| *a != check.client_id && !check.extra_audiences.iter().any(|x| x == a))
    {
        return Err(OidcError::AudienceMismatch);
    }
    match c.get("azp") {
        Some(Value::String(azp)) if azp == check.client_id => {}
        Some(_) => return Err(OidcError::AzpMismatch),
        None if auds.len() > 1 => return Err(OidcError::AzpMismatch),
        None => {}
    }
    let now = check.now;
    let exp = int(c, "exp")?.ok_or(OidcError::TimeInvalid("has no exp"))?;
    if now >= exp.saturating_add(check.skew_secs) {
        return Err(OidcError::TimeInvalid("has expired"));
    }
    let iat = int(c, "iat")?.ok_or(OidcError::TimeInvalid("has no iat"))?;
    if iat > now.saturating_add(check.skew_secs) {
        return Err(OidcError::TimeInvalid("was issued in the future"));
    }
    if let Some(nbf) = int(c, "nbf")?
        && nbf > now.saturating_add(check.skew_secs)
    {
        return Err(OidcError::TimeInvalid("is not valid yet (nbf)"));
    }
    match c.get("nonce").and_then(Value::as_str) {
        Some(n) if constant_time_eq(n.as_bytes(), check.nonce.as_bytes()) => {}
        _ => return Err(OidcError::NonceMismatch),
    }
    match (c.get("at_hash"), check.access_token) {
        (Some(Value::String(h)), Some(at)) => {
            let want = URL_SAFE_NO_PAD.encode(left_half_hash(alg, at.as_bytes()));
            if !constant_time_eq(h.as_bytes(), want.as_bytes()) {
                return Err(OidcError::AtHashMismatch);
            }
        }
        (Some(Value::String(_)), None) | (None, _) => {}
        (Some(_), _) => return Err(OidcError::AtHashMismatch),
    }
    match c.get("sub").and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= 255 => Ok(()),
        _ => Err(OidcError::MissingClaim("sub".into())),
    }
}

/// `at_hash` of an access token for `alg` (for tests and tools).
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(left_half_hash(alg, access_token.as_bytes()))
}

/// PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Minimum time between two JWKS refetches of one connection caused by an unknown kid.
pub const JWKS_REFETCH_INTERVAL_SECS: i64 = 60;

/// Per-connection JWKS cache with a rate-limited refetch on an unknown kid: of any number of
/// unknown-kid tokens within [`JWKS_REFETCH_INTERVAL_SECS`], at most one causes a fetch.
#[derive(Default)]
pub struct JwksCache {
    inner: std::sync::Mutex<std::collections::HashMap<String, CachedJwks>>,
}

struct CachedJwks {
    jwks: std::sync::Arc<Jwks>,
    fetched_at: UnixTime,
    uri: String,
    /// When an unknown kid last caused a refetch.
    last_refetch: Option<UnixTime>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksCache")
    }
}

/// How long a cached JWKS is used without an unknown kid forcing a refetch.
pub const JWKS_MAX_AGE_SECS: i64 = 3600;

impl JwksCache {
    /// The cached keys of `connection_id` for `uri`, if fresh.
    pub fn get(
        &self,
        connection_id: &str,
        uri: &str,
        now: UnixTime,
    ) -> Option<std::sync::Arc<Jwks>> {
        let map = self.inner.lock().ok()?;
        map.get(connection_id)
            .filter(|c| c.uri == uri && now - c.fetched_at < JWKS_MAX_AGE_SECS)
            .map(|c| c.jwks.clone())
    }

    /// Whether a refetch for an unknown kid is allowed now (the first one, then at most one
    /// per [`JWKS_REFETCH_INTERVAL_SECS`]); when it is, the slot is taken at once, so
    /// concurrent callers do not all fetch.
    pub fn claim_refetch(&self, connection_id: &str, now: UnixTime) -> bool {
        let Ok(mut map) = self.inner.lock() else {
            return false;
        };
        match map.get_mut(connection_id) {
            Some(c)
                if c.last_refetch
                    .is_some_and(|t| now - t < JWKS_REFETCH_INTERVAL_SECS) =>
            {
                false
            }
            Some(c) => {
                c.last_refetch = Some(now);
                true
            }
            None => true,
        }
    }

    pub fn put(
        &self,
        connection_id: &str,
        uri: &str,
        jwks: Jwks,
        now: UnixTime,
    ) -> std::sync::Arc<Jwks> {
        let jwks = std::sync::Arc::new(jwks);
        if let Ok(mut map) = self.inner.lock() {
            let last_refetch = map.get(connection_id).and_then(|c| c.last_refetch);
            map.insert(
                connection_id.to_owned(),
                CachedJwks {
                    jwks: jwks.clone(),
                    fetched_at: now,
                    uri: uri.to_owned(),
                    last_refetch,
                },
            );
        }
        jwks
    }
}
