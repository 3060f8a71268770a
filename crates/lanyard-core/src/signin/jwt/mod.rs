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

pub mod token;

use crate::audit::{Ctx, RequestMeta};
use crate::connection::validate_http_url;
use crate::connection::{KIND_JWT, verify_url};
use crate::error::{Error, JwtError, Result};
use crate::identity::sign_in::SignInRecord;
use crate::model::{Connection, Tenant};
use crate::secret::MasterKey;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use lanyard_proto::JwtAlgorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use token::{JwtVerifier, certificate_warnings, decoding_key, strict_object};

pub const DEFAULT_JWT_SKEW_SECS: u32 = 60;
pub const MAX_JWT_SKEW_SECS: u32 = 600;
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
    /// The verified token's replay-record expiry (a refusal after verification spends its jti).
    replay_until: Option<i64>,
}

impl Lanyard {
    async fn jwt_connection(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
    ) -> Result<(Connection, JwtSettings)> {
        let c = self
            .sign_in_connection(&tenant.id, conn_slug)
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
        let tenant = self.sign_in_tenant(tenant_slug).await?;
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
        let tenant = self.sign_in_tenant(tenant_slug).await?;
        let mut trace = Trace::default();
        match self
            .jwt_verify_inner(&tenant, conn_slug, req, meta, &mut trace)
            .await
        {
            Ok(login) => Ok(login),
            Err(e) => {
                if let (Some(conn), Some(jti), Some(until)) =
                    (&trace.connection_id, &trace.jti, trace.replay_until)
                {
                    let key = format!("jti:{jti}");
                    let replay = crate::store::ReplayRecord {
                        connection_id: conn,
                        assertion_id: &key,
                        expires_at: until,
                    };
                    self.spend_refused_answer(&e, None, Some(replay)).await;
                }
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
        let details = json!({
            "connection_id": trace.connection_id,
            "header_alg": trace.header_alg,
            // Only once the signature verified.
            "federation_id": trace.federation_id,
            "identity_verified": trace.federation_id.is_some(),
            "jti": trace.jti,
        });
        self.audit_login_failure(&tenant.slug, "jwt", conn_slug, meta, e, details)
            .await;
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
        // The jti's replay record commits with the sign-in (one transaction).
        let jti_key = claims.jti.as_ref().map(|jti| format!("jti:{jti}"));
        let until = claims.exp.saturating_add(i64::from(s.clock_skew_secs));
        trace.replay_until = Some(until);
        let identity = crate::identity::from_jwt(
            &claims.email,
            claims.federation_id(),
            claims.name.as_deref(),
            &claims.claims,
            &c.provisioning_settings()?,
        );
        let rec = SignInRecord {
            replay: jti_key.as_deref().map(|k| crate::store::ReplayRecord {
                connection_id: &c.id,
                assertion_id: k,
                expires_at: until,
            }),
            replayed: || {
                Error::Jwt(JwtError::JtiClaimInvalid(
                    "was already used to sign in (replay)",
                ))
            },
            pending: None,
            pending_gone: || Error::Internal("a JWT sign-in has no pending login".into()),
            method: "jwt",
            cap: None,
            groups: &identity.role_claims,
            extra_audit: None,
        };
        let (prov, session) = self
            .federated_sign_in(
                tenant,
                &c,
                s.jit,
                &identity,
                req.invitation_id,
                meta,
                Some(&rec),
            )
            .await?;
        let session =
            session.ok_or_else(|| Error::Internal("the sign-in opened no session".into()))?;
        let provisioning = prov.outcome();
        let user_created = prov.created;
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
        let t = self.connection_tenant(ctx, slug).await?;
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
        "key_warnings": certificate_warnings(s.public_key.as_deref(), c.updated_at),
    })
}
