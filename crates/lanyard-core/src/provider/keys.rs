//! The provider's signing keys: RS256 (default) and ES256, generated on first use, private keys
//! sealed with the master key, rotated by command and on a schedule. A retired key stays in the
//! JWKS until every token it signed has expired. Keys live in the store so any node serves any
//! request; each node caches them for at most [`CACHE_SECS`].

use crate::Lanyard;
use crate::audit::Ctx;
use crate::clock::UnixTime;
use crate::error::{Error, ProviderError, Result};
use crate::model::new_id;
use crate::secret::MasterKey;
use crate::store::SigningKeyRow;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How stale a node's copy of the keys may be (a rotation reaches every node within this).
pub const CACHE_SECS: u64 = 30;
/// How long a retired key stays published: longer than any token it signed lives (ID and
/// access tokens: [`super::TOKEN_TTL_SECS`]) plus every node's cache.
pub const RETIRED_KEY_KEEP_SECS: i64 = 3600;

pub const ALGS: [&str; 2] = ["RS256", "ES256"];

fn algorithm(alg: &str) -> Result<Algorithm> {
    match alg {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        other => Err(ProviderError::SigningKey(format!("unsupported algorithm {other}")).into()),
    }
}

fn context(kid: &str) -> String {
    format!("provider_signing_key:{kid}")
}

/// One key that signs.
pub struct ActiveKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub created_at: UnixTime,
}

/// The keys as a node knows them: the newest signing key per algorithm and the JWKS.
pub struct KeySet {
    pub signing: Vec<ActiveKey>,
    pub jwks: Value,
    verifying: Vec<(String, Algorithm, DecodingKey)>,
}

impl KeySet {
    /// The published key with this `kid` (to verify tokens this provider issued).
    pub fn verifier(&self, kid: &str) -> Option<(Algorithm, &DecodingKey)> {
        self.verifying
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, a, d)| (*a, d))
    }

    fn signer(&self, alg: &str) -> Result<&ActiveKey> {
        let want = algorithm(alg)?;
        self.signing
            .iter()
            .find(|k| k.alg == want)
            .ok_or_else(|| ProviderError::SigningKey(format!("no {alg} key")).into())
    }

    /// Signs `claims` as a JWS with the current key of `alg` and the given `typ`.
    pub fn sign(&self, alg: &str, typ: &str, claims: &impl Serialize) -> Result<String> {
        let k = self.signer(alg)?;
        let mut header = Header::new(k.alg);
        header.kid = Some(k.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &k.key)
            .map_err(|e| ProviderError::SigningKey(e.to_string()).into())
    }
}

/// This node's copy of the keys.
#[derive(Default)]
pub struct KeyCache {
    inner: RwLock<Option<(Instant, Arc<KeySet>)>>,
}

impl KeyCache {
    fn fresh(&self) -> Option<Arc<KeySet>> {
        let g = self.inner.read().ok()?;
        let (at, set) = g.as_ref()?;
        (at.elapsed() < Duration::from_secs(CACHE_SECS)).then(|| set.clone())
    }

    fn put(&self, set: Arc<KeySet>) {
        if let Ok(mut g) = self.inner.write() {
            *g = Some((Instant::now(), set));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.write() {
            *g = None;
        }
    }
}

/// A new key of `alg`: PKCS#8 PEM sealed under the master key, and its public JWK.
/// Blocking (RSA generation): run it off the async runtime.
fn generate(master: &MasterKey, alg: &str, now: UnixTime) -> Result<SigningKeyRow> {
    let fail = |e: rcgen::Error| ProviderError::SigningKey(e.to_string());
    let kp = match alg {
        "RS256" => {
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(fail)?
        }
        "ES256" => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?,
        other => return Err(ProviderError::SigningKey(format!("unsupported {other}")).into()),
    };
    let pem = crate::connection::pem_encode("PRIVATE KEY", &kp.serialize_der());
    let kid = new_id();
    let key = encoding_key(alg, &pem)?;
    let jwk = public_jwk(&key, alg, &kid)?;
    Ok(SigningKeyRow {
        sealed_private_key: master.seal(&context(&kid), pem.as_bytes()),
        id: kid,
        alg: alg.to_owned(),
        public_jwk: jwk.to_string(),
        created_at: now,
        retired_at: None,
        expires_at: None,
    })
}

fn encoding_key(alg: &str, pem: &str) -> Result<EncodingKey> {
    let r = match alg {
        "RS256" => EncodingKey::from_rsa_pem(pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()),
    };
    r.map_err(|e| ProviderError::SigningKey(e.to_string()).into())
}

fn public_jwk(key: &EncodingKey, alg: &str, kid: &str) -> Result<Value> {
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, algorithm(alg)?)
        .map_err(|e| ProviderError::SigningKey(e.to_string()))?;
    let mut v = serde_json::to_value(jwk).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("kid".into(), json!(kid));
        o.insert("use".into(), json!("sig"));
        o.insert("alg".into(), json!(alg));
    }
    Ok(v)
}

async fn generate_off_runtime(
    master: &MasterKey,
    alg: &'static str,
    now: UnixTime,
) -> Result<SigningKeyRow> {
    let master = master.clone();
    tokio::task::spawn_blocking(move || generate(&master, alg, now))
        .await
        .map_err(|e| Error::Internal(format!("key generation task failed: {e}")))?
}

impl Lanyard {
    /// The provider's keys (this node's copy, at most [`CACHE_SECS`] old); generates the first
    /// key of each algorithm on first use.
    pub async fn provider_keys(&self) -> Result<Arc<KeySet>> {
        if let Some(set) = self.provider_key_cache().fresh() {
            return Ok(set);
        }
        let now = self.now();
        let mut rows = self.store.signing_keys(now).await?;
        for alg in ALGS {
            if !rows.iter().any(|r| r.alg == alg && r.retired_at.is_none()) {
                let row = generate_off_runtime(self.master_key(), alg, now).await?;
                let ev = Ctx::system()
                    .event(now, None, "provider.signing_key_created")
                    .details(json!({"kid": row.id, "alg": alg}));
                self.store.insert_signing_key(&row, None, &ev).await?;
                rows = self.store.signing_keys(now).await?;
            }
        }
        let set = Arc::new(self.key_set(&rows)?);
        self.provider_key_cache().put(set.clone());
        Ok(set)
    }

    fn key_set(&self, rows: &[SigningKeyRow]) -> Result<KeySet> {
        let mut signing: Vec<ActiveKey> = Vec::new();
        let mut keys = Vec::new();
        let mut verifying = Vec::new();
        // Newest first: the first unretired key of an algorithm signs.
        for r in rows {
            let alg = algorithm(&r.alg)?;
            if let Ok(jwk) = serde_json::from_str::<jsonwebtoken::jwk::Jwk>(&r.public_jwk)
                && let Ok(d) = DecodingKey::from_jwk(&jwk)
            {
                verifying.push((r.id.clone(), alg, d));
            }
            if let Ok(v) = serde_json::from_str::<Value>(&r.public_jwk) {
                keys.push(v);
            }
            if r.retired_at.is_none() && !signing.iter().any(|k| k.alg == alg) {
                let pem = self
                    .master_key()
                    .open(&context(&r.id), &r.sealed_private_key)
                    .map_err(|_| Error::MasterKeyMismatch)?;
                let pem = String::from_utf8(pem)
                    .map_err(|_| ProviderError::SigningKey("stored key is not PEM".into()))?;
                signing.push(ActiveKey {
                    kid: r.id.clone(),
                    alg,
                    key: encoding_key(&r.alg, &pem)?,
                    created_at: r.created_at,
                });
            }
        }
        Ok(KeySet {
            signing,
            jwks: json!({ "keys": keys }),
            verifying,
        })
    }

    /// Replaces every signing key with a new one; the old keys stay in the JWKS for
    /// [`RETIRED_KEY_KEEP_SECS`]. Returns the new key ids.
    pub async fn rotate_signing_keys(&self, ctx: &Ctx) -> Result<Vec<(String, String)>> {
        self.authorize_operator(ctx)?;
        let now = self.now();
        let mut out = Vec::new();
        for alg in ALGS {
            let row = generate_off_runtime(self.master_key(), alg, now).await?;
            let ev = ctx
                .event(now, None, "provider.signing_key_rotated")
                .details(json!({"kid": row.id, "alg": alg}));
            self.store
                .insert_signing_key(&row, Some((now, now + RETIRED_KEY_KEEP_SECS)), &ev)
                .await?;
            out.push((row.id, alg.to_owned()));
        }
        self.provider_key_cache().clear();
        Ok(out)
    }

    /// The schedule: rotates when the newest signing key is older than `max_age_secs`.
    /// Returns whether it rotated.
    pub async fn rotate_signing_keys_if_due(&self, max_age_secs: i64) -> Result<bool> {
        let now = self.now();
        let rows = self.store.signing_keys(now).await?;
        let newest = rows
            .iter()
            .filter(|r| r.retired_at.is_none())
            .map(|r| r.created_at)
            .max();
        match newest {
            Some(t) if now - t >= max_age_secs => {
                self.rotate_signing_keys(&Ctx::system()).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
