//! OpenID Connect sign-in: settings (validated when saved; the client secret sealed), the start
//! (authorization code + PKCE S256 + state + nonce, single-use in the store, bound to the
//! browser) and the callback, in two steps around the HTTP calls the server makes:
//! [`Lanyard::oidc_callback_begin`] consumes the state and checks the RFC 9207 `iss` before any
//! token request; [`Lanyard::oidc_callback_finish`] verifies the ID token ([`crate::oidc`]),
//! checks userinfo, resolves the user by (connection, key claim) and opens the session.

use crate::audit::{Actor, Ctx, RequestMeta};
use crate::connection::validate_http_url;
use crate::error::{Error, Result};
use crate::model::{Connection, PendingLogin, SessionView, Tenant};
use crate::oidc::{
    DEFAULT_ALGORITHMS, IdTokenCheck, Jwks, OidcError, parse_algorithm, parse_discovery,
    pkce_challenge, verify_id_token,
};
use crate::secret::{MasterKey, constant_time_eq, random_token};
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub const KIND_OIDC: &str = "oidc";
pub const PENDING_OIDC_TTL_SECS: i64 = 600;
pub const DEFAULT_SCOPES: &str = "openid profile email";
pub const DEFAULT_OIDC_SKEW_SECS: u32 = 60;

/// The stored settings of an OIDC connection (the `settings` JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    pub issuer: String,
    #[serde(default)]
    pub discovery_url: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    pub jwks_uri: String,
    pub client_id: String,
    #[serde(default)]
    pub sealed_client_secret: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: proto::TokenAuthMethod,
    #[serde(default)]
    pub audience_uris: Vec<String>,
    pub scopes: String,
    pub key_claim: String,
    pub allowed_algorithms: Vec<String>,
    #[serde(default)]
    pub logoff_url: Option<String>,
    #[serde(default)]
    pub use_userinfo: bool,
    #[serde(default)]
    pub hosted_domain: Option<String>,
    #[serde(default)]
    pub username_claim: Option<String>,
    pub clock_skew_secs: u32,
    #[serde(default)]
    pub jit: bool,
    /// RFC 9207: refuse authorization responses without `iss` (set from the discovery
    /// document's `authorization_response_iss_parameter_supported` at import, or by the admin).
    #[serde(default)]
    pub require_iss: bool,
    /// Pasted PEM certificates or public keys: when present, the only keys ID tokens are
    /// verified with (the JWKS URI is then never fetched).
    #[serde(default)]
    pub signing_certificates: Vec<String>,
}

pub fn callback_url(public_url: &str, tenant_slug: &str, conn_slug: &str) -> String {
    format!(
        "{}/t/{tenant_slug}/oidc/{conn_slug}/callback",
        public_url.trim_end_matches('/')
    )
}

pub fn secret_context(connection_id: &str) -> String {
    format!("connection:{connection_id}:oidc_client_secret")
}

fn claim_name(field: &'static str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            "must be a claim name of 1-128 characters",
        ));
    }
    Ok(())
}

impl OidcSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored connection settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn to_wire(&self) -> proto::OidcSettings {
        proto::OidcSettings {
            issuer: self.issuer.clone(),
            discovery_url: self.discovery_url.clone(),
            authorization_endpoint: self.authorization_endpoint.clone(),
            token_endpoint: self.token_endpoint.clone(),
            userinfo_endpoint: self.userinfo_endpoint.clone(),
            end_session_endpoint: self.end_session_endpoint.clone(),
            jwks_uri: self.jwks_uri.clone(),
            client_id: self.client_id.clone(),
            client_secret_configured: self.sealed_client_secret.is_some(),
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            audience_uris: self.audience_uris.clone(),
            scopes: self.scopes.clone(),
            key_claim: self.key_claim.clone(),
            allowed_algorithms: self.allowed_algorithms.clone(),
            logoff_url: self.logoff_url.clone(),
            use_userinfo: self.use_userinfo,
            hosted_domain: self.hosted_domain.clone(),
            username_claim: self.username_claim.clone(),
            clock_skew_secs: self.clock_skew_secs,
            jit: self.jit,
            require_iss: self.require_iss,
            signing_certificates: self.signing_certificates.clone(),
        }
    }

    /// Applies an admin's input onto `current` (None on create); validates everything. A
    /// discovery document given in `discovery_json` must name the configured issuer.
    pub fn apply(
        current: Option<&Self>,
        input: &proto::OidcConnectionInput,
        connection_id: &str,
        master_key: &MasterKey,
    ) -> Result<Self> {
        let issuer = input
            .issuer
            .clone()
            .or_else(|| current.map(|c| c.issuer.clone()))
            .ok_or_else(|| {
                Error::invalid(
                    "issuer",
                    "is required (e.g. https://login.microsoftonline.com/{tenant-id}/v2.0)",
                )
            })?;
        validate_http_url("issuer", &issuer)?;
        let disco = match &input.discovery_json {
            Some(doc) => Some(parse_discovery(doc.as_bytes(), &issuer).map_err(Error::Oidc)?),
            None => None,
        };
        let pick = |given: &Option<String>, from_disco: Option<String>, cur: Option<String>| {
            given.clone().or(from_disco).or(cur)
        };
        let need = |field: &'static str, v: Option<String>| -> Result<String> {
            let v =
                v.ok_or_else(|| Error::invalid(field, "is required (or give discovery_url)"))?;
            validate_http_url(field, &v)?;
            Ok(v)
        };
        let authorization_endpoint = need(
            "authorization_endpoint",
            pick(
                &input.authorization_endpoint,
                disco.as_ref().map(|d| d.authorization_endpoint.clone()),
                current.map(|c| c.authorization_endpoint.clone()),
            ),
        )?;
        let token_endpoint = need(
            "token_endpoint",
            pick(
                &input.token_endpoint,
                disco.as_ref().map(|d| d.token_endpoint.clone()),
                current.map(|c| c.token_endpoint.clone()),
            ),
        )?;
        let signing_certificates: Vec<String> = match &input.signing_certificates {
            Some(list) => list
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => current
                .map(|c| c.signing_certificates.clone())
                .unwrap_or_default(),
        };
        crate::oidc_keys::parse_signing_certificates(&signing_certificates)
            .map_err(Error::OidcSigningKey)?;
        let jwks_uri = pick(
            &input.jwks_uri,
            disco.as_ref().map(|d| d.jwks_uri.clone()),
            current
                .map(|c| c.jwks_uri.clone())
                .filter(|u| !u.is_empty()),
        );
        // With pasted keys the JWKS URI is optional (and never fetched).
        let jwks_uri = match jwks_uri {
            None if !signing_certificates.is_empty() => String::new(),
            v => need("jwks_uri", v)?,
        };
        let optional_url = |field: &'static str, v: Option<String>| -> Result<Option<String>> {
            if let Some(u) = &v {
                validate_http_url(field, u)?;
            }
            Ok(v)
        };
        let userinfo_endpoint = optional_url(
            "userinfo_endpoint",
            pick(
                &input.userinfo_endpoint,
                disco.as_ref().and_then(|d| d.userinfo_endpoint.clone()),
                current.and_then(|c| c.userinfo_endpoint.clone()),
            ),
        )?;
        let end_session_endpoint = optional_url(
            "end_session_endpoint",
            pick(
                &input.end_session_endpoint,
                disco.as_ref().and_then(|d| d.end_session_endpoint.clone()),
                current.and_then(|c| c.end_session_endpoint.clone()),
            ),
        )?;
        let client_id = input
            .client_id
            .clone()
            .or_else(|| current.map(|c| c.client_id.clone()))
            .ok_or_else(|| Error::invalid("client_id", "is required"))?;
        if client_id.is_empty() || client_id.len() > 512 || client_id.chars().any(char::is_control)
        {
            return Err(Error::invalid("client_id", "must be 1-512 characters"));
        }
        let sealed_client_secret = match &input.client_secret {
            Some(s) if s.is_empty() || s.len() > 4096 => {
                return Err(Error::invalid("client_secret", "must be 1-4096 characters"));
            }
            Some(s) => Some(master_key.seal(&secret_context(connection_id), s.as_bytes())),
            None => current.and_then(|c| c.sealed_client_secret.clone()),
        };
        let audience_uris = match &input.audience_uris {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => current.map(|c| c.audience_uris.clone()).unwrap_or_default(),
        };
        let scopes = input
            .scopes
            .clone()
            .or_else(|| current.map(|c| c.scopes.clone()))
            .unwrap_or_else(|| DEFAULT_SCOPES.into());
        if !scopes.split(' ').any(|s| s == "openid") || scopes.chars().any(char::is_control) {
            return Err(Error::invalid(
                "scopes",
                "must be space-separated and include `openid`",
            ));
        }
        let key_claim = input
            .key_claim
            .clone()
            .or_else(|| current.map(|c| c.key_claim.clone()))
            .unwrap_or_else(|| "sub".into());
        claim_name("key_claim", &key_claim)?;
        let allowed_algorithms = input
            .allowed_algorithms
            .clone()
            .or_else(|| current.map(|c| c.allowed_algorithms.clone()))
            .unwrap_or_else(|| DEFAULT_ALGORITHMS.iter().map(|s| (*s).to_owned()).collect());
        if allowed_algorithms.is_empty()
            || allowed_algorithms
                .iter()
                .any(|a| parse_algorithm(a).is_none())
        {
            return Err(Error::invalid(
                "allowed_algorithms",
                "must list some of RS256/384/512, PS256/384/512, ES256/384, EdDSA (unsigned and HMAC tokens are never accepted)",
            ));
        }
        let opt = |given: &Option<Option<String>>, cur: Option<&Option<String>>| match given {
            Some(v) => v.clone(),
            None => cur.cloned().flatten(),
        };
        let logoff_url = opt(&input.logoff_url, current.map(|c| &c.logoff_url));
        if let Some(u) = &logoff_url {
            validate_http_url("logoff_url", u)?;
        }
        let hosted_domain = opt(&input.hosted_domain, current.map(|c| &c.hosted_domain));
        let username_claim = opt(&input.username_claim, current.map(|c| &c.username_claim));
        if let Some(u) = &username_claim {
            claim_name("username_claim", u)?;
        }
        let clock_skew_secs = input
            .clock_skew_secs
            .or(current.map(|c| c.clock_skew_secs))
            .unwrap_or(DEFAULT_OIDC_SKEW_SECS);
        if clock_skew_secs > 600 {
            return Err(Error::invalid(
                "clock_skew_secs",
                "must be between 0 and 600",
            ));
        }
        Ok(Self {
            issuer,
            discovery_url: input
                .discovery_url
                .clone()
                .or_else(|| current.and_then(|c| c.discovery_url.clone())),
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            end_session_endpoint,
            jwks_uri,
            client_id,
            sealed_client_secret,
            token_endpoint_auth_method: input
                .token_endpoint_auth_method
                .or(current.map(|c| c.token_endpoint_auth_method))
                .unwrap_or_default(),
            audience_uris,
            scopes,
            key_claim,
            allowed_algorithms,
            logoff_url,
            use_userinfo: input
                .use_userinfo
                .or(current.map(|c| c.use_userinfo))
                .unwrap_or(false),
            hosted_domain,
            username_claim,
            clock_skew_secs,
            jit: input.jit.or(current.map(|c| c.jit)).unwrap_or(false),
            require_iss: input
                .require_iss
                .or(disco.as_ref().map(|d| d.iss_parameter_supported))
                .or(current.map(|c| c.require_iss))
                .unwrap_or(false),
            signing_certificates,
        })
    }

    pub fn client_secret(
        &self,
        connection_id: &str,
        master_key: &MasterKey,
    ) -> Result<Option<String>> {
        match &self.sealed_client_secret {
            None => Ok(None),
            Some(sealed) => {
                let raw = master_key
                    .open(&secret_context(connection_id), sealed)
                    .map_err(|_| Error::Internal("stored client secret does not open".into()))?;
                String::from_utf8(raw)
                    .map(Some)
                    .map_err(|_| Error::Internal("stored client secret is not UTF-8".into()))
            }
        }
    }
}

impl Connection {
    pub fn oidc_settings(&self) -> Result<OidcSettings> {
        OidcSettings::from_json(&self.settings)
    }
}

/// What the provider sent to the callback.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A callback whose state was consumed and whose `iss` was checked: what the server needs for
/// the token request, and what [`Lanyard::oidc_callback_finish`] needs afterwards.
#[derive(Debug)]
pub struct CallbackBegun {
    pub tenant: Tenant,
    pub connection: Connection,
    pub settings: OidcSettings,
    pub code: String,
    pub code_verifier: String,
    pub redirect_uri: String,
    pub client_secret: Option<String>,
    nonce: String,
    return_to: Option<String>,
    invitation_id: Option<String>,
}

/// The outcome of an OIDC sign-in.
#[derive(Debug)]
pub struct OidcLogin {
    pub session: crate::auth::NewSession,
    pub return_to: Option<String>,
    pub user_created: bool,
    /// What provisioning did: [`crate::provisioning::Provisioned::outcome`].
    pub provisioning: &'static str,
    pub warnings: Vec<String>,
}

/// What the server fetched for the finish step.
#[derive(Debug)]
pub struct TokenResult<'a> {
    pub id_token: &'a str,
    pub access_token: Option<&'a str>,
    pub userinfo: Option<&'a Map<String, Value>>,
}

fn binding_hash(b: &str) -> String {
    use base64::Engine as _;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn pending_context(state: &str, what: &str) -> String {
    format!("pending:{state}:{what}")
}

impl Lanyard {
    /// RP-initiated logout: after a session opened through an OIDC connection ends here, where to
    /// send the browser so the provider ends its session too — the connection's logoff URL, else
    /// the discovered `end_session_endpoint` — with `client_id` and a `post_logout_redirect_uri`
    /// back to the tenant's sign-in page. `None` for other sessions. The target comes only from
    /// the admin's configuration, never from the request.
    pub async fn idp_logout_url(
        &self,
        ended: &SessionView,
        public_url: &str,
    ) -> Result<Option<String>> {
        let Some(cid) = &ended.connection_id else {
            return Ok(None);
        };
        let Some(c) = self.store.connection_by_id(&ended.tenant_id, cid).await? else {
            return Ok(None);
        };
        if c.kind != KIND_OIDC {
            return Ok(None);
        }
        let s = c.oidc_settings()?;
        let Some(base) = s
            .logoff_url
            .clone()
            .or_else(|| s.end_session_endpoint.clone())
        else {
            return Ok(None);
        };
        let mut url = url::Url::parse(&base)
            .map_err(|_| Error::invalid("logoff_url", "is not an absolute URL"))?;
        let back = format!(
            "{}/t/{}/login",
            public_url.trim_end_matches('/'),
            ended.tenant_slug
        );
        url.query_pairs_mut()
            .append_pair("client_id", &s.client_id)
            .append_pair("post_logout_redirect_uri", &back);
        Ok(Some(url.into()))
    }

    async fn oidc_connection(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
    ) -> Result<(Connection, OidcSettings)> {
        let c = self
            .store
            .connection_by_slug(&tenant.id, conn_slug)
            .await?
            .filter(|c| c.kind == KIND_OIDC)
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        if !c.enabled {
            return Err(Error::ConnectionDisabled);
        }
        let s = c.oidc_settings()?;
        Ok((c, s))
    }

    /// Audits a refused OIDC sign-in (`login.failed` with its code).
    pub async fn audit_oidc_failure(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        details: Value,
    ) {
        let ev = Ctx::new(Actor::Anonymous, meta.clone())
            .event(self.now(), Some(tenant_slug), "login.failed")
            .code(e.code())
            .details(json!({"method": "oidc", "connection": conn_slug, "reason": e.to_string(), "trace": details}));
        if let Err(err) = self.store.insert_audit(&ev).await {
            tracing::error!(error = %err, "could not audit a refused OIDC login");
        }
    }

    /// Starts an OIDC sign-in: stores the single-use state (with sealed nonce and PKCE
    /// verifier) and returns the provider's authorization URL.
    pub async fn oidc_start(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        start: crate::model::LoginStart<'_>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let tenant = self.tenant(tenant_slug).await?;
        let (c, s) = match self.oidc_connection(&tenant, conn_slug).await {
            Ok(v) => v,
            Err(e) => {
                self.audit_oidc_failure(&tenant.slug, conn_slug, meta, &e, Value::Null)
                    .await;
                return Err(e);
            }
        };
        let now = self.now();
        self.store.purge_expired_login_state(now).await?;
        let state = random_token();
        let nonce = random_token();
        let verifier = format!("{}{}", random_token(), random_token());
        let pending = PendingLogin {
            id: state.clone(),
            tenant_id: tenant.id.clone(),
            connection_id: c.id.clone(),
            relay_state: String::new(),
            browser_binding: start.browser_binding.map(binding_hash),
            return_to: start.return_to.and_then(validate::return_to),
            created_at: now,
            expires_at: now + PENDING_OIDC_TTL_SECS,
            invitation_id: start.invitation_id.map(str::to_owned),
        };
        let mk = self.master_key();
        self.store
            .insert_oidc_pending(
                &pending,
                &mk.seal(&pending_context(&state, "nonce"), nonce.as_bytes()),
                &mk.seal(&pending_context(&state, "pkce"), verifier.as_bytes()),
            )
            .await?;
        let mut url = url::Url::parse(&s.authorization_endpoint)
            .map_err(|_| Error::Internal("stored authorization endpoint does not parse".into()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &s.client_id)
            .append_pair(
                "redirect_uri",
                &callback_url(public_url, &tenant.slug, &c.slug),
            )
            .append_pair("scope", &s.scopes)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.to_string())
    }

    /// First half of the callback: consumes the state (whatever the verdict), checks browser
    /// binding, expiry, the provider's error and the RFC 9207 `iss` (mix-up) before any token
    /// request is made. Refusals are audited.
    pub async fn oidc_callback_begin(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        p: &CallbackParams,
        browser_binding: Option<&str>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<CallbackBegun> {
        let tenant = self.tenant(tenant_slug).await?;
        match self
            .callback_begin_inner(&tenant, conn_slug, p, browser_binding, public_url)
            .await
        {
            Ok(b) => Ok(b),
            Err(e) => {
                self.audit_oidc_failure(
                    &tenant.slug,
                    conn_slug,
                    meta,
                    &e,
                    json!({"iss": p.iss, "error": p.error}),
                )
                .await;
                Err(e)
            }
        }
    }

    async fn callback_begin_inner(
        &self,
        tenant: &Tenant,
        conn_slug: &str,
        p: &CallbackParams,
        browser_binding: Option<&str>,
        public_url: &str,
    ) -> Result<CallbackBegun> {
        let (c, s) = self.oidc_connection(tenant, conn_slug).await?;
        let state = p
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or(Error::OidcStateUnknown)?;
        let (pending, sealed_nonce, sealed_verifier) = self
            .store
            .take_oidc_pending(state, &tenant.id, &c.id)
            .await?
            .ok_or(Error::OidcStateUnknown)?;
        if self.now() >= pending.expires_at {
            return Err(Error::OidcStateExpired);
        }
        if let Some(expected) = &pending.browser_binding {
            let presented = browser_binding.map(binding_hash).unwrap_or_default();
            if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
                return Err(Error::OidcBrowserMismatch);
            }
        }
        match &p.iss {
            Some(iss) if *iss != s.issuer => return Err(Error::OidcIssuerMixUp),
            // RFC 9207 §2.4: a provider that announced `iss` must send it; a response without
            // it may come from another provider.
            None if s.require_iss => return Err(Error::OidcIssuerMissing),
            _ => {}
        }
        if let Some(err) = &p.error {
            return Err(Error::OidcProviderError(format!(
                "{}{}",
                err.chars().take(64).collect::<String>(),
                p.error_description
                    .as_deref()
                    .map(|d| format!(": {}", d.chars().take(256).collect::<String>()))
                    .unwrap_or_default()
            )));
        }
        let code = p
            .code
            .clone()
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or(Error::OidcMissingCode)?;
        let mk = self.master_key();
        let open = |sealed: &str, what| {
            mk.open(&pending_context(state, what), sealed)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::Internal("pending OIDC login does not open".into()))
        };
        let nonce = open(&sealed_nonce, "nonce")?;
        let code_verifier = open(&sealed_verifier, "pkce")?;
        let client_secret = s.client_secret(&c.id, mk)?;
        Ok(CallbackBegun {
            redirect_uri: callback_url(public_url, &tenant.slug, &c.slug),
            tenant: tenant.clone(),
            connection: c,
            settings: s,
            code,
            code_verifier,
            client_secret,
            nonce,
            return_to: pending.return_to,
            invitation_id: pending.invitation_id,
        })
    }

    /// Second half: verifies the ID token with `jwks`, checks userinfo, resolves the user and
    /// opens the session. `Err(OidcError::UnknownKid)` tells the server to refetch the JWKS
    /// (rate-limited) and call again. Refusals other than that are audited.
    pub async fn oidc_callback_finish(
        &self,
        b: &CallbackBegun,
        tokens: &TokenResult<'_>,
        jwks: &Jwks,
        meta: &RequestMeta,
        audit_unknown_kid: bool,
    ) -> Result<OidcLogin> {
        match self.finish_inner(b, tokens, jwks, meta).await {
            Ok(l) => Ok(l),
            Err(e) => {
                if audit_unknown_kid || !matches!(e, Error::Oidc(OidcError::UnknownKid)) {
                    self.audit_oidc_failure(
                        &b.tenant.slug,
                        &b.connection.slug,
                        meta,
                        &e,
                        Value::Null,
                    )
                    .await;
                }
                Err(e)
            }
        }
    }

    async fn finish_inner(
        &self,
        b: &CallbackBegun,
        tokens: &TokenResult<'_>,
        jwks: &Jwks,
        meta: &RequestMeta,
    ) -> Result<OidcLogin> {
        let s = &b.settings;
        let algs: Vec<_> = s
            .allowed_algorithms
            .iter()
            .filter_map(|a| parse_algorithm(a))
            .collect();
        let claims = verify_id_token(
            tokens.id_token,
            jwks,
            &IdTokenCheck {
                issuer: &s.issuer,
                client_id: &s.client_id,
                extra_audiences: &s.audience_uris,
                allowed_algorithms: &algs,
                nonce: &b.nonce,
                access_token: tokens.access_token,
                skew_secs: i64::from(s.clock_skew_secs),
                now: self.now(),
            },
        )
        .map_err(Error::Oidc)?;
        let mut all = claims.clone();
        if let Some(info) = tokens.userinfo {
            if info.get("sub") != claims.get("sub") {
                return Err(Error::OidcUserinfoSubMismatch);
            }
            for (k, v) in info {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut warnings = Vec::new();
        // Entra ID groups overage: the groups are not in the token; say so, do not drop silently.
        if all
            .get("_claim_names")
            .and_then(|n| n.get("groups"))
            .is_some()
        {
            warnings.push("groups overage: the provider sent `_claim_names.groups` instead of the groups (Entra ID sends this above 200 groups); groups were not read".to_owned());
        }
        if let Some(hd) = &s.hosted_domain
            && all.get("hd").and_then(Value::as_str) != Some(hd.as_str())
        {
            return Err(Error::OidcHostedDomainMismatch);
        }
        let fid = match all.get(&s.key_claim) {
            Some(Value::String(v)) if !v.is_empty() && v.len() <= 512 => v.clone(),
            _ => return Err(Error::Oidc(OidcError::MissingClaim(s.key_claim.clone()))),
        };
        let identity = crate::identity::from_oidc(
            &all,
            fid,
            s.username_claim.as_deref(),
            &b.connection.provisioning_settings()?,
        );
        let prov = self
            .provision(
                &b.tenant,
                &b.connection,
                s.jit,
                &identity,
                b.invitation_id.as_deref(),
                meta,
            )
            .await?;
        let provisioning = prov.outcome();
        let (user, user_created) = (prov.user, prov.created);
        let session = self
            .open_session_capped(
                &b.tenant,
                &user.id,
                "oidc",
                meta,
                None,
                Some(&b.connection.id),
            )
            .await?;
        if !warnings.is_empty() {
            let ev = Ctx::new(Actor::System, meta.clone())
                .event(self.now(), Some(&b.tenant.slug), "login.warning")
                .user(&user.id)
                .details(json!({"method": "oidc", "connection": b.connection.slug, "warnings": warnings}));
            self.store.insert_audit(&ev).await?;
        }
        Ok(OidcLogin {
            session,
            return_to: b.return_to.clone(),
            user_created,
            provisioning,
            warnings,
        })
    }

    pub async fn create_oidc_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        input: proto::OidcConnectionInput,
    ) -> Result<(Tenant, Connection)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let n = crate::connection::NewConnection::from_input(
            input.slug.as_ref(),
            input.name.as_ref(),
            input.enabled,
            ("entra", "Entra ID"),
        )?;
        let settings = OidcSettings::apply(None, &input, &n.id, self.master_key())?;
        let c = self
            .insert_new_connection(
                ctx,
                &t,
                n,
                (KIND_OIDC, settings.to_json()),
                input.provisioning.as_ref(),
                |c| oidc_audit(c, &settings),
            )
            .await?;
        Ok((t, c))
    }

    pub async fn update_oidc_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        conn_slug: &str,
        input: proto::OidcConnectionInput,
    ) -> Result<(Tenant, Connection)> {
        let (t, mut c) = self.get_connection(ctx, slug, conn_slug).await?;
        if c.kind != KIND_OIDC {
            return Err(Error::invalid(
                "kind",
                "this connection is not an OpenID Connect connection",
            ));
        }
        if input.slug.as_ref().is_some_and(|s| *s != c.slug) {
            return Err(Error::invalid(
                "slug",
                "cannot change: it is part of the callback URL the provider knows",
            ));
        }
        if let Some(n) = &input.name {
            crate::connection::validate_name(n)?;
        }
        let current = c.oidc_settings()?;
        let settings = OidcSettings::apply(Some(&current), &input, &c.id, self.master_key())?;
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
            .details(oidc_audit(&c, &settings));
        self.save_connection_update(ctx, &t, &c, was_enabled, ev)
            .await?;
        Ok((t, c))
    }
}

fn oidc_audit(c: &Connection, s: &OidcSettings) -> Value {
    let mut w = serde_json::to_value(s.to_wire()).unwrap_or(Value::Null);
    if let Some(o) = w.as_object_mut() {
        o.insert("connection".into(), json!(c.slug));
        o.insert("connection_id".into(), json!(c.id));
        o.insert("kind".into(), json!(KIND_OIDC));
    }
    w
}
