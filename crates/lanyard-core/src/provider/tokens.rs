//! The token endpoint's grants (authorization code, refresh token), the ID and access tokens
//! and their claims, UserInfo, introspection (RFC 7662) and revocation (RFC 7009). Every use of
//! a token checks its grant and the Lanyard session behind it, so ending the session ends them.

use super::apps::{App, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use super::{REFRESH_TTL_SECS, TOKEN_TTL_SECS, pkce};
use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, ProviderError, Result};
use crate::model::{SessionView, User, new_id};
use crate::secret::{random_token, token_hash};
use crate::store::{CodeOutcome, GrantRow, RefreshOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The token endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// The claims of an access token that Lanyard reads back (RFC 9068 + the grant).
#[derive(Debug, Clone, Deserialize)]
struct AccessClaims {
    iss: String,
    exp: i64,
    #[serde(default)]
    iat: i64,
    sub: String,
    client_id: String,
    scope: String,
    gid: String,
    #[serde(default)]
    sid: String,
}

/// A grant whose session is still live, with its person.
struct Live {
    grant: GrantRow,
    session: SessionView,
    user: User,
}

fn has(scope: &str, s: &str) -> bool {
    scope.split(' ').any(|x| x == s)
}

/// `amr` (RFC 8176) and `acr` from how the session began.
fn amr_acr(method: &str) -> (Value, String) {
    match method {
        "password" => (json!(["pwd"]), "urn:lanyard:acr:password".into()),
        other => (json!(["fed"]), format!("urn:lanyard:acr:sso:{other}")),
    }
}

/// The person's claims for `scope` (ID token, UserInfo): always sub, org_id, org, role, sid,
/// amr, acr; `profile` adds name and preferred_username; `email` adds email and email_verified.
fn person_claims(l: &Live) -> Map<String, Value> {
    let mut m = Map::new();
    let scope = &l.grant.scope;
    m.insert("sub".into(), json!(l.user.id));
    m.insert("org_id".into(), json!(l.session.tenant_id));
    m.insert("org".into(), json!(l.session.tenant_slug));
    if let Some(r) = &l.user.role {
        m.insert("role".into(), json!(r));
    }
    m.insert("sid".into(), json!(l.session.id));
    if let Some(groups) = l
        .session
        .idp_groups
        .as_deref()
        .and_then(|g| serde_json::from_str::<Vec<String>>(g).ok())
        .filter(|g| !g.is_empty())
    {
        m.insert("groups".into(), json!(groups));
    }
    let (amr, acr) = amr_acr(&l.session.auth_method);
    m.insert("amr".into(), amr);
    m.insert("acr".into(), json!(acr));
    if has(scope, "profile") {
        m.insert(
            "name".into(),
            json!(
                l.user
                    .display_name
                    .clone()
                    .unwrap_or_else(|| l.user.username.clone())
            ),
        );
        m.insert("preferred_username".into(), json!(l.user.username));
    }
    if has(scope, "email")
        && let Some(e) = &l.user.email
    {
        m.insert("email".into(), json!(e));
        m.insert("email_verified".into(), json!(l.user.email_confirmed));
    }
    m
}

impl Lanyard {
    /// The grant, if it and its session are live (not revoked, not expired, user enabled).
    async fn live(&self, grant: GrantRow) -> Result<Live> {
        if grant.revoked_at.is_some() {
            return Err(ProviderError::GrantRevoked.into());
        }
        let session = self
            .store
            .session_by_id(&grant.tenant_id, &grant.session_id)
            .await?
            .filter(|s| s.revoked_at.is_none() && !s.user_disabled && s.expires_at > self.now())
            .ok_or(ProviderError::GrantRevoked)?;
        let user = self
            .store
            .user_by_id(&grant.tenant_id, &grant.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ProviderError::GrantRevoked)?;
        Ok(Live {
            grant,
            session,
            user,
        })
    }

    fn grant_event(
        &self,
        tenant_slug: Option<&str>,
        g: &GrantRow,
        kind: &str,
        meta: &RequestMeta,
    ) -> crate::model::AuditRecord {
        Ctx::new(
            Actor::User {
                id: g.user_id.clone(),
                tenant_id: g.tenant_id.clone(),
            },
            meta.clone(),
        )
        .event(self.now(), tenant_slug, kind)
        .user(&g.user_id)
        .details(json!({"client_id": g.app_id, "grant_id": g.id, "session_id": g.session_id, "tenant_id": g.tenant_id}))
    }

    async fn tenant_slug_of(&self, tenant_id: &str) -> Result<String> {
        Ok(self
            .store
            .tenant_by_id(tenant_id)
            .await?
            .map(|t| t.slug)
            .unwrap_or_default())
    }

    /// `grant_type=authorization_code`. The code is used up before anything else is checked,
    /// so a code presented with a wrong verifier or redirect URI is gone too; a code presented
    /// twice revokes everything issued from it.
    pub async fn exchange_code(
        &self,
        app: &App,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<TokenResponse> {
        if !app.allows_grant(GRANT_AUTHORIZATION_CODE) {
            return Err(ProviderError::GrantTypeNotAllowed(GRANT_AUTHORIZATION_CODE.into()).into());
        }
        if code.is_empty() || code.len() > 64 {
            return Err(ProviderError::CodeInvalid.into());
        }
        let now = self.now();
        let replay = Ctx::new(Actor::Anonymous, meta.clone())
            .event(now, None, "oauth.code_replayed")
            .code(ProviderError::CodeReplayed.code())
            .details(json!({"client_id": app.id}));
        let g = match self
            .store
            .redeem_code(
                &token_hash(code),
                now,
                |g: &GrantRow| self.grant_event(None, g, "oauth.code_redeemed", meta),
                &replay,
            )
            .await?
        {
            CodeOutcome::Redeemed(g) => g,
            CodeOutcome::Replayed(_) => return Err(ProviderError::CodeReplayed.into()),
            CodeOutcome::Unknown => return Err(ProviderError::CodeInvalid.into()),
        };
        let refuse = |e: ProviderError| self.refuse_code(&g, e, meta);
        if g.app_id != app.id {
            return refuse(ProviderError::CodeWrongClient).await;
        }
        if now > g.code_expires_at {
            return refuse(ProviderError::CodeInvalid).await;
        }
        if redirect_uri != Some(g.redirect_uri.as_str()) {
            return refuse(ProviderError::CodeRedirectMismatch).await;
        }
        match (&g.code_challenge, verifier) {
            (Some(c), Some(v)) => {
                if let Err(e) = pkce::verify(v, c) {
                    return refuse(e).await;
                }
            }
            (Some(_), None) => return refuse(ProviderError::PkceVerifierMissing).await,
            (None, Some(_)) => return refuse(ProviderError::PkceMismatch).await,
            (None, None) if app.is_public() => return refuse(ProviderError::PkceRequired).await,
            (None, None) => {}
        }
        let live = self.live(g).await?;
        let issued = self.grant_event(
            Some(&live.session.tenant_slug),
            &live.grant,
            "oauth.tokens_issued",
            meta,
        );
        let refresh =
            if app.allows_grant(GRANT_REFRESH_TOKEN) && has(&live.grant.scope, "offline_access") {
                let t = random_token();
                self.store
                    .insert_refresh_token(
                        &token_hash(&t),
                        &live.grant.id,
                        now,
                        now + REFRESH_TTL_SECS,
                        &issued,
                    )
                    .await?;
                Some(t)
            } else {
                self.store.insert_audit(&issued).await?;
                None
            };
        self.token_response(app, &live, refresh).await
    }

    /// Revokes the grant of a code that was redeemed but refused, and returns the refusal.
    async fn refuse_code(
        &self,
        g: &GrantRow,
        e: ProviderError,
        meta: &RequestMeta,
    ) -> Result<TokenResponse> {
        let slug = self.tenant_slug_of(&g.tenant_id).await?;
        let ev = self
            .grant_event(Some(&slug), g, "oauth.code_refused", meta)
            .code(e.code());
        self.store.revoke_grant(&g.id, self.now(), &ev).await?;
        Err(e.into())
    }

    /// `grant_type=refresh_token`: rotates the token; a used one revokes the whole grant.
    pub async fn refresh(
        &self,
        app: &App,
        refresh_token: &str,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<TokenResponse> {
        if !app.allows_grant(GRANT_REFRESH_TOKEN) {
            return Err(ProviderError::GrantTypeNotAllowed(GRANT_REFRESH_TOKEN.into()).into());
        }
        if refresh_token.is_empty() || refresh_token.len() > 64 {
            return Err(ProviderError::RefreshInvalid.into());
        }
        let now = self.now();
        let next = random_token();
        let reuse = Ctx::new(Actor::Anonymous, meta.clone())
            .event(now, None, "oauth.refresh_reused")
            .code(ProviderError::RefreshReused.code())
            .details(json!({"client_id": app.id}));
        let g = match self
            .store
            .rotate_refresh_token(
                &token_hash(refresh_token),
                &token_hash(&next),
                now,
                now + REFRESH_TTL_SECS,
                |g: &GrantRow| self.grant_event(None, g, "oauth.tokens_refreshed", meta),
                &reuse,
            )
            .await?
        {
            RefreshOutcome::Rotated(g) => g,
            RefreshOutcome::Reused(_) => return Err(ProviderError::RefreshReused.into()),
            RefreshOutcome::Revoked(_) => return Err(ProviderError::GrantRevoked.into()),
            RefreshOutcome::Unknown => return Err(ProviderError::RefreshInvalid.into()),
        };
        if g.app_id != app.id {
            let slug = self.tenant_slug_of(&g.tenant_id).await?;
            let ev = self
                .grant_event(Some(&slug), &g, "oauth.refresh_refused", meta)
                .code(ProviderError::RefreshInvalid.code());
            self.store.revoke_grant(&g.id, now, &ev).await?;
            return Err(ProviderError::RefreshInvalid.into());
        }
        if let Some(s) = scope {
            // A refresh may narrow the scope, never widen it (RFC 6749 §6); tokens keep the grant's.
            if s.split(' ')
                .filter(|x| !x.is_empty())
                .any(|x| !has(&g.scope, x))
            {
                return Err(ProviderError::InvalidScope(s.chars().take(64).collect()).into());
            }
        }
        let live = self.live(g).await?;
        self.token_response(app, &live, Some(next)).await
    }

    async fn token_response(
        &self,
        app: &App,
        l: &Live,
        refresh: Option<String>,
    ) -> Result<TokenResponse> {
        let keys = self.provider_keys().await?;
        let now = self.now();
        let iss = self.public_url();
        let mut id = person_claims(l);
        id.insert("iss".into(), json!(iss));
        id.insert("aud".into(), json!(app.id));
        id.insert("azp".into(), json!(app.id));
        id.insert("iat".into(), json!(now));
        id.insert("exp".into(), json!(now + TOKEN_TTL_SECS));
        id.insert("auth_time".into(), json!(l.grant.auth_time));
        if let Some(n) = &l.grant.nonce {
            id.insert("nonce".into(), json!(n));
        }
        let id_token = keys.sign(&app.id_token_alg, "JWT", &Value::Object(id))?;
        let access = json!({
            "iss": iss,
            "sub": l.user.id,
            "aud": app.id,
            "client_id": app.id,
            "iat": now,
            "exp": now + TOKEN_TTL_SECS,
            "jti": new_id(),
            "scope": l.grant.scope,
            "auth_time": l.grant.auth_time,
            "sid": l.session.id,
            "org_id": l.session.tenant_id,
            "gid": l.grant.id,
        });
        let access_token = keys.sign("RS256", "at+jwt", &access)?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: TOKEN_TTL_SECS,
            id_token,
            refresh_token: refresh,
            scope: l.grant.scope.clone(),
        })
    }

    /// Verifies an access token this provider issued (signature, typ, issuer, expiry) and
    /// checks its grant and session on every call.
    async fn access_token(&self, token: &str) -> Result<(AccessClaims, Live)> {
        let claims: AccessClaims = self.verify_own_jwt(token, "at+jwt", true).await?;
        if claims.iss != self.public_url() {
            return Err(ProviderError::InvalidToken.into());
        }
        let g = self
            .store
            .grant_by_id(&claims.gid)
            .await?
            .filter(|g| g.user_id == claims.sub && g.app_id == claims.client_id)
            .ok_or(ProviderError::InvalidToken)?;
        let live = self.live(g).await.map_err(|e| match e {
            Error::Provider(ProviderError::GrantRevoked) => ProviderError::InvalidToken.into(),
            other => other,
        })?;
        Ok((claims, live))
    }

    /// Verifies a JWT signed with one of this provider's keys (the JWKS it publishes); with
    /// `check_exp`, refuses an expired one (by this service's clock).
    pub async fn verify_own_jwt<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        check_exp: bool,
    ) -> Result<T> {
        let bad = || Error::from(ProviderError::InvalidToken);
        if token.len() > 8192 {
            return Err(bad());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        if header.typ.as_deref().map(str::to_ascii_lowercase) != Some(typ.to_ascii_lowercase()) {
            return Err(bad());
        }
        let kid = header.kid.ok_or_else(bad)?;
        let mut keys = self.provider_keys().await?;
        if keys.verifier(&kid).is_none() {
            // Signed by a key another node made after this node's copy was taken.
            self.provider_key_cache().clear();
            keys = self.provider_keys().await?;
        }
        let (alg, key) = keys.verifier(&kid).ok_or_else(bad)?;
        if header.alg != alg {
            return Err(bad());
        }
        let mut v = jsonwebtoken::Validation::new(alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(token, key, &v).map_err(|_| bad())?;
        if check_exp {
            let exp = data
                .claims
                .get("exp")
                .and_then(Value::as_i64)
                .ok_or_else(bad)?;
            if self.now() >= exp {
                return Err(bad());
            }
        }
        serde_json::from_value(data.claims).map_err(|_| bad())
    }

    /// UserInfo: the person's claims for the token's scope, while the grant and session live.
    pub async fn userinfo(&self, bearer: &str) -> Result<Value> {
        let (_, live) = self.access_token(bearer).await?;
        Ok(Value::Object(person_claims(&live)))
    }

    /// Introspection (RFC 7662) by an authenticated confidential app: `{"active": false}` for
    /// anything not live, at once after a revocation.
    pub async fn introspect(&self, caller: &App, token: &str) -> Result<Value> {
        if caller.is_public() {
            return Err(ProviderError::ClientAuthFailed.into());
        }
        let inactive = json!({"active": false});
        if token.contains('.') {
            return Ok(match self.access_token(token).await {
                Ok((c, l)) => json!({
                    "active": true,
                    "token_type": "access_token",
                    "scope": c.scope,
                    "client_id": c.client_id,
                    "sub": c.sub,
                    "aud": c.client_id,
                    "iss": self.public_url(),
                    "exp": c.exp,
                    "iat": c.iat,
                    "sid": c.sid,
                    "org_id": l.session.tenant_id,
                    "org": l.session.tenant_slug,
                    "username": l.user.username,
                }),
                Err(Error::Provider(_)) => inactive,
                Err(e) => return Err(e),
            });
        }
        let Some(g) = self
            .store
            .grant_of_refresh_token(&token_hash(token), self.now())
            .await?
        else {
            return Ok(inactive);
        };
        Ok(match self.live(g).await {
            Ok(l) => json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": l.grant.scope,
                "client_id": l.grant.app_id,
                "sub": l.user.id,
                "iss": self.public_url(),
                "sid": l.session.id,
                "org_id": l.session.tenant_id,
                "org": l.session.tenant_slug,
            }),
            Err(Error::Provider(_)) => inactive,
            Err(e) => return Err(e),
        })
    }

    /// Revocation (RFC 7009): a refresh or access token of the calling app revokes its whole
    /// grant. Unknown tokens and other apps' tokens are ignored (the answer is the same).
    pub async fn revoke_token(&self, caller: &App, token: &str, meta: &RequestMeta) -> Result<()> {
        let grant = if token.contains('.') {
            match self
                .verify_own_jwt::<AccessClaims>(token, "at+jwt", false)
                .await
            {
                Ok(c) => self.store.grant_by_id(&c.gid).await?,
                Err(_) => None,
            }
        } else {
            self.store
                .grant_of_refresh_token(&token_hash(token), self.now())
                .await?
        };
        if let Some(g) = grant.filter(|g| g.app_id == caller.id) {
            let slug = self.tenant_slug_of(&g.tenant_id).await?;
            let ev = self.grant_event(Some(&slug), &g, "oauth.token_revoked", meta);
            self.store.revoke_grant(&g.id, self.now(), &ev).await?;
        }
        Ok(())
    }
}
