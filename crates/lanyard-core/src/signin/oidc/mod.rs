//! OpenID Connect sign-in: settings ([`settings`]: validated when saved; the client secret sealed), the start
//! (authorization code + PKCE S256 + state + nonce, single-use in the store, bound to the
//! browser) and the callback, in two steps around the HTTP calls the server makes:
//! [`Lanyard::oidc_callback_begin`] consumes the state and checks the RFC 9207 `iss` before any
//! token request; [`Lanyard::oidc_callback_finish`] verifies the ID token ([`crate::signin::oidc::checks`]),
//! checks userinfo, resolves the user by (connection, key claim) and opens the session.

pub mod checks;
pub mod issued;
pub mod keys;
pub mod settings;

use crate::audit::{Actor, Ctx, RequestMeta};
use crate::connection::{KIND_OIDC, callback_url};
use crate::error::{Error, OidcError, Result};
use crate::identity::sign_in::SignInRecord;
use crate::model::{Connection, PURPOSE_TEST, PendingLogin, SessionView, Tenant};
use crate::secret::{constant_time_eq, random_token};
use crate::signin::oidc::checks::{
    IdTokenCheck, Jwks, parse_algorithm, pkce_challenge, verify_id_token,
};
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde_json::{Map, Value, json};
use settings::OidcSettings;

pub const PENDING_OIDC_TTL_SECS: i64 = 600;
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
    /// The pending login was a console test: the finish reports instead of signing in.
    pub test: bool,
    /// The `state`: the pending login the sign-in consumes (or a refusal spends).
    state: String,
    nonce: String,
    return_to: Option<String>,
    invitation_id: Option<String>,
}

/// The outcome of an OIDC sign-in.
#[derive(Debug)]
pub struct OidcLogin {
    pub session: crate::session::NewSession,
    pub return_to: Option<String>,
    pub user_created: bool,
    /// What provisioning did: [`crate::identity::provisioning::Provisioned::outcome`].
    pub provisioning: &'static str,
    pub warnings: Vec<String>,
}

/// What an accepted callback led to: a session, or (a console test) a report.
#[derive(Debug)]
pub enum OidcOutcome {
    SignedIn(Box<OidcLogin>),
    Tested(Box<crate::console::test::TestReport>),
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
    /// back to the tenant's sign-in page; for a session from a SAML connection, its `logoff_url`
    /// as is. `None` for other sessions. The target comes only from
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
        if c.kind == crate::connection::KIND_SAML {
            // The SAML connection's logoff URL as configured (no SAML Single Logout).
            return Ok(c.saml_settings()?.logoff_url);
        }
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
        allow_disabled: bool,
    ) -> Result<(Connection, OidcSettings)> {
        let c = self
            .sign_in_connection(&tenant.id, conn_slug)
            .await?
            .filter(|c| c.kind == KIND_OIDC)
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        if !c.enabled && !allow_disabled {
            return Err(Error::ConnectionDisabled);
        }
        let s = c.oidc_settings()?;
        Ok((c, s))
    }

    /// Audits a refused OIDC sign-in (`login.failed` with its code; `"test": true` when it
    /// answered a console test).
    pub async fn audit_oidc_failure(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        meta: &RequestMeta,
        e: &Error,
        details: Value,
        test: bool,
    ) {
        let details = json!({ "trace": details, "test": test });
        self.audit_login_failure(tenant_slug, "oidc", conn_slug, meta, e, details)
            .await;
    }

    /// The counts of this node's memory of the OIDC states it issued (for `/metrics`).
    pub fn oidc_state_stats(&self) -> issued::IssuedStateStats {
        self.oidc_states.stats()
    }

    /// Starts an OIDC sign-in: stores the single-use state (with sealed nonce and PKCE
    /// verifier) and returns the provider's authorization URL. A console test
    /// (`start.test`) may use a disabled connection; its pending login has `purpose = 'test'`.
    pub async fn oidc_start(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        start: crate::model::LoginStart<'_>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<String> {
        let tenant = self.sign_in_tenant(tenant_slug).await?;
        let (c, s) = match self.oidc_connection(&tenant, conn_slug, start.test).await {
            Ok(v) => v,
            Err(e) => {
                self.audit_oidc_failure(&tenant.slug, conn_slug, meta, &e, Value::Null, start.test)
                    .await;
                return Err(e);
            }
        };
        let now = self.now();
        self.purge_login_state_if_due().await;
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
            purpose: start.test.then(|| PURPOSE_TEST.to_owned()),
        };
        let mk = self.master_key();
        let sealed_nonce = mk.seal(&pending_context(&state, "nonce"), nonce.as_bytes());
        let sealed_verifier = mk.seal(&pending_context(&state, "pkce"), verifier.as_bytes());
        self.store
            .insert_oidc_pending(&pending, &sealed_nonce, &sealed_verifier)
            .await?;
        // The callback usually comes back to this node: it then reads the state from here.
        self.oidc_states
            .keep(&pending, &sealed_nonce, &sealed_verifier, now);
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

    /// First half of the callback: finds the state, checks browser binding, expiry, the
    /// provider's error and the RFC 9207 `iss` (mix-up) before any token request is made.
    /// Refusals are audited and spend the state. A state that passes stays pending: the
    /// sign-in consumes it in its own transaction, and a callback that fails later spends it
    /// ([`Lanyard::oidc_callback_abandon`]) — single use whatever the verdict, without a
    /// write of its own on the way to a sign-in.
    pub async fn oidc_callback_begin(
        &self,
        tenant_slug: &str,
        conn_slug: &str,
        p: &CallbackParams,
        browser_binding: Option<&str>,
        public_url: &str,
        meta: &RequestMeta,
    ) -> Result<CallbackBegun> {
        let tenant = self.sign_in_tenant(tenant_slug).await?;
        let mut test = false;
        let mut found = None;
        match self
            .callback_begin_inner(
                &tenant,
                conn_slug,
                p,
                browser_binding,
                public_url,
                (&mut test, &mut found),
            )
            .await
        {
            Ok(b) => Ok(b),
            Err(e) => {
                if let Some((state, connection_id)) = &found {
                    self.spend_oidc_state(state, &tenant.id, connection_id)
                        .await;
                }
                self.audit_oidc_failure(
                    &tenant.slug,
                    conn_slug,
                    meta,
                    &e,
                    json!({"iss": p.iss, "error": p.error}),
                    test,
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
        (test, found): (&mut bool, &mut Option<(String, String)>),
    ) -> Result<CallbackBegun> {
        // A console test may try a connection before it is enabled: only the consumed pending
        // login can say so; every other callback to a disabled connection is refused.
        let (c, s) = self.oidc_connection(tenant, conn_slug, true).await?;
        let state = p
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 256);
        // A state issued here is answered from memory (taken: a second callback reads the
        // store); either way only the sign-in's transaction makes it single-use.
        let taken = match state {
            Some(st) => match self.oidc_states.take(st, &tenant.id, &c.id) {
                Some(kept) => Some(kept),
                None => self.store.oidc_pending(st, &tenant.id, &c.id).await?,
            },
            None => None,
        };
        if let (Some(st), Some(_)) = (state, &taken) {
            *found = Some((st.to_owned(), c.id.clone()));
        }
        *test = taken
            .as_ref()
            .is_some_and(|(p, _, _)| p.purpose.as_deref() == Some(PURPOSE_TEST));
        if !c.enabled && !*test {
            return Err(Error::ConnectionDisabled);
        }
        let (Some(state), Some((pending, sealed_nonce, sealed_verifier))) = (state, taken) else {
            return Err(Error::OidcStateUnknown);
        };
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
            test: *test,
            state: state.to_owned(),
            nonce,
            return_to: pending.return_to,
            invitation_id: pending.invitation_id,
        })
    }

    /// Second half: verifies the ID token with `jwks`, checks userinfo, resolves the user and
    /// opens the session, consuming the state in the sign-in's transaction.
    /// `Err(OidcError::UnknownKid)` tells the server to refetch the JWKS (rate-limited) and call
    /// again (`final_try`: the last call, which audits and spends an unknown `kid` too). Other
    /// refusals are audited and spend the state, as does a console test's report.
    pub async fn oidc_callback_finish(
        &self,
        b: &CallbackBegun,
        tokens: &TokenResult<'_>,
        jwks: &Jwks,
        meta: &RequestMeta,
        final_try: bool,
    ) -> Result<OidcOutcome> {
        match self.finish_inner(b, tokens, jwks, meta).await {
            Ok(OidcOutcome::Tested(report)) => {
                self.spend_oidc_state(&b.state, &b.tenant.id, &b.connection.id)
                    .await;
                Ok(OidcOutcome::Tested(report))
            }
            Ok(l) => Ok(l),
            Err(e) => {
                if final_try || !matches!(e, Error::Oidc(OidcError::UnknownKid)) {
                    self.oidc_callback_abandon(b, &e, meta).await;
                }
                Err(e)
            }
        }
    }

    /// A callback that failed after [`Lanyard::oidc_callback_begin`] (the token, JWKS or
    /// userinfo request, or a verdict of the finish): audited, and its state spent, so the
    /// same `state` cannot be tried again with another code.
    pub async fn oidc_callback_abandon(&self, b: &CallbackBegun, e: &Error, meta: &RequestMeta) {
        self.spend_oidc_state(&b.state, &b.tenant.id, &b.connection.id)
            .await;
        self.audit_oidc_failure(
            &b.tenant.slug,
            &b.connection.slug,
            meta,
            e,
            Value::Null,
            b.test,
        )
        .await;
    }

    /// Deletes the pending login `state` (best effort: the refusal stands either way; an
    /// unspent state still expires and is checked at use).
    async fn spend_oidc_state(&self, state: &str, tenant_id: &str, connection_id: &str) {
        if let Err(err) = self
            .store
            .take_pending_login(state, tenant_id, connection_id)
            .await
        {
            tracing::warn!(code = err.code(), "could not spend a refused OIDC state");
        }
    }

    async fn finish_inner(
        &self,
        b: &CallbackBegun,
        tokens: &TokenResult<'_>,
        jwks: &Jwks,
        meta: &RequestMeta,
    ) -> Result<OidcOutcome> {
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
        let mut identity = crate::identity::from_oidc(
            &all,
            fid,
            s.username_claim.as_deref(),
            &b.connection.provisioning_settings()?,
        );
        // Entra ID sends no `email_verified`: the connection may vouch for emails in the
        // tenant's verified domains (never when the provider says `false`).
        if s.trust_verified_domain_emails
            && !identity.email_verified
            && !all.contains_key("email_verified")
            && let Some(email) = identity.email.clone()
            && self.email_in_verified_domain(&b.tenant.id, &email).await?
        {
            identity.email_verified = true;
            identity.email_sources.push(
                "email in a verified domain of this tenant (trust_verified_domain_emails)".into(),
            );
        }
        if b.test {
            // The console's test: verified as above, then reported; no user change, no session.
            let facts = crate::console::test::TestFacts {
                transient_name_id: false,
                idp_clock_ahead_secs: claims
                    .get("iat")
                    .and_then(Value::as_i64)
                    .map(|iat| iat - self.now())
                    .filter(|d| *d > 0),
                certificates: s.signing_certificates.clone(),
            };
            let report = self
                .test_report(&b.tenant, &b.connection, s.jit, &identity, &facts, meta)
                .await?;
            return Ok(OidcOutcome::Tested(Box::new(report)));
        }
        // The warnings' event commits with the sign-in (one transaction).
        let warning_event = |user: &crate::model::User| {
            Ctx::new(Actor::System, meta.clone())
                .event(self.now(), Some(&b.tenant.slug), "login.warning")
                .user(&user.id)
                .details(json!({"method": "oidc", "connection": b.connection.slug, "warnings": warnings}))
        };
        let rec = SignInRecord {
            replay: None,
            replayed: || Error::Internal("an OIDC sign-in has no replay record".into()),
            // Single use: of two callbacks with this state (on any nodes), one commits.
            pending: Some(crate::store::PendingRef {
                id: &b.state,
                tenant_id: &b.tenant.id,
                connection_id: &b.connection.id,
            }),
            pending_gone: || Error::OidcStateUnknown,
            method: "oidc",
            cap: None,
            groups: &identity.role_claims,
            extra_audit: if warnings.is_empty() {
                None
            } else {
                Some(&warning_event)
            },
        };
        let (prov, session) = self
            .federated_sign_in(
                &b.tenant,
                &b.connection,
                s.jit,
                &identity,
                b.invitation_id.as_deref(),
                meta,
                Some(&rec),
            )
            .await?;
        let session =
            session.ok_or_else(|| Error::Internal("the sign-in opened no session".into()))?;
        let provisioning = prov.outcome();
        let user_created = prov.created;
        Ok(OidcOutcome::SignedIn(Box::new(OidcLogin {
            session,
            return_to: b.return_to.clone(),
            user_created,
            provisioning,
            warnings,
        })))
    }

    pub async fn create_oidc_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        input: proto::OidcConnectionInput,
    ) -> Result<(Tenant, Connection)> {
        let t = self.connection_tenant(ctx, slug).await?;
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
