//! The authorization request: client and redirect URI first (errors there are shown on a page,
//! never redirected), then the rest (errors go back to the app with `iss`), the tenant, and the
//! decision with the person's Lanyard session: issue a code, or send them to sign in and come
//! back through the resume URL (the request waits in the store, named by a random token).

use super::apps::App;
use super::{AUTH_REQUEST_TTL_SECS, CODE_TTL_SECS, SCOPES, pkce};
use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, ProviderError, Result};
use crate::model::{SessionView, Tenant, new_id};
use crate::secret::{random_token, token_hash};
use crate::store::{AuthRequestRow, GrantRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The query of `/oauth2/authorize`, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub organization: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A checked authorization request (what waits in the store while the person signs in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub max_age: Option<i64>,
}

/// What to do with the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A code was issued: redirect here.
    Redirect(String),
    /// The person must sign in to the tenant (again, when `force`), then open the resume URL
    /// `/oauth2/authorize/resume?request={token}`.
    Login { token: String, force: bool },
}

/// A waiting request, found by its resume token.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub token: String,
    pub app: App,
    pub request: ValidRequest,
    pub tenant: Tenant,
    pub created_at: i64,
}

const MAX_PARAM: usize = 2048;

fn bounded(name: &'static str, v: &Option<String>) -> std::result::Result<(), ProviderError> {
    match v {
        Some(s) if s.len() > MAX_PARAM => Err(ProviderError::InvalidRequest(format!(
            "{name} is longer than {MAX_PARAM} characters"
        ))),
        _ => Ok(()),
    }
}

/// The redirect URI with `pairs` appended to its query (keeping the query it already has).
pub fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// Where an authorization error goes once client and redirect URI are known good (RFC 6749
/// §4.1.2.1, with `iss` of RFC 9207).
pub fn error_redirect(
    redirect_uri: &str,
    e: &ProviderError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let desc = e.description();
    let mut pairs = vec![("error", e.oauth_error()), ("error_description", &desc)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    redirect_with(redirect_uri, &pairs)
}

/// The part of the request that can be answered by redirect: response type, scope, PKCE,
/// prompt, max_age.
pub fn validate(
    app: &App,
    redirect_uri: &str,
    p: &AuthorizeParams,
) -> std::result::Result<ValidRequest, ProviderError> {
    for (n, v) in [
        ("state", &p.state),
        ("nonce", &p.nonce),
        ("scope", &p.scope),
        ("login_hint", &p.login_hint),
        ("organization", &p.organization),
    ] {
        bounded(n, v)?;
    }
    if p.request.is_some() || p.request_uri.is_some() {
        return Err(ProviderError::InvalidRequest(
            "request objects (request, request_uri) are not supported".into(),
        ));
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => {
            return Err(ProviderError::InvalidRequest(
                "response_type is missing".into(),
            ));
        }
        Some(_) => return Err(ProviderError::UnsupportedResponseType),
    }
    if let Some(m) = p.response_mode.as_deref().filter(|m| *m != "query") {
        return Err(ProviderError::InvalidRequest(format!(
            "response_mode `{}` is not supported (query)",
            m.chars().take(32).collect::<String>()
        )));
    }
    if !app.allows_grant(super::apps::GRANT_AUTHORIZATION_CODE) {
        return Err(ProviderError::GrantTypeNotAllowed(
            super::apps::GRANT_AUTHORIZATION_CODE.into(),
        ));
    }
    let mut scope: Vec<String> = Vec::new();
    for s in p
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !SCOPES.contains(&s) {
            return Err(ProviderError::InvalidScope(s.chars().take(64).collect()));
        }
        if !scope.iter().any(|x| x == s) {
            scope.push(s.to_owned());
        }
    }
    if !scope.iter().any(|s| s == "openid") {
        return Err(ProviderError::OpenidScopeMissing);
    }
    let code_challenge = match (&p.code_challenge, app.is_public()) {
        (Some(c), _) => {
            pkce::check_challenge(c, p.code_challenge_method.as_deref())?;
            Some(c.clone())
        }
        (None, true) => return Err(ProviderError::PkceRequired),
        (None, false) => {
            if p.code_challenge_method.is_some() {
                return Err(ProviderError::InvalidRequest(
                    "code_challenge_method without code_challenge".into(),
                ));
            }
            None
        }
    };
    let mut prompt_none = false;
    let mut prompt_login = false;
    for v in p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        match v {
            "none" => prompt_none = true,
            "login" => prompt_login = true,
            // No consent screen (apps are the SaaS's own) and one account per tenant.
            "consent" | "select_account" => {}
            other => {
                return Err(ProviderError::InvalidRequest(format!(
                    "prompt `{}` is not supported",
                    other.chars().take(32).collect::<String>()
                )));
            }
        }
    }
    if prompt_none && prompt_login {
        return Err(ProviderError::InvalidRequest(
            "prompt=none cannot be combined with other prompt values".into(),
        ));
    }
    let max_age = match p.max_age.as_deref() {
        None | Some("") => None,
        Some(m) => Some(m.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ProviderError::InvalidRequest("max_age must be a non-negative integer".into())
        })?),
    };
    Ok(ValidRequest {
        client_id: app.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge,
        prompt_none,
        prompt_login,
        max_age,
    })
}

impl Lanyard {
    /// The client and its redirect URI: refusals here are shown to the person, never sent to
    /// the redirect URI (it may be an attacker's).
    pub async fn authorize_client(&self, p: &AuthorizeParams) -> Result<(App, String)> {
        let id = p
            .client_id
            .as_deref()
            .ok_or_else(|| ProviderError::InvalidRequest("client_id is missing".into()))?;
        let app = self.app(id).await?;
        let uri = p
            .redirect_uri
            .as_deref()
            .ok_or_else(|| ProviderError::InvalidRequest("redirect_uri is missing".into()))?;
        if !app.has_redirect_uri(uri) {
            return Err(ProviderError::RedirectUriMismatch.into());
        }
        Ok((app, uri.to_owned()))
    }

    /// The tenant the request names: `organization` (slug or id), else the `login_hint`'s
    /// email domain ([`Self::tenant_for_login_hint`]), else the app's only tenant when it is
    /// limited to one; `None` asks the person.
    pub async fn authorization_tenant(
        &self,
        app: &App,
        p: &AuthorizeParams,
    ) -> Result<Option<Tenant>> {
        if let Some(org) = p.organization.as_deref().filter(|o| !o.is_empty()) {
            if let Some(t) = self.store.tenant_by_slug(org).await? {
                return Ok(Some(t));
            }
            return match self.store.tenant_by_id(org).await? {
                Some(t) => Ok(Some(t)),
                None => {
                    Err(ProviderError::UnknownOrganization(org.chars().take(64).collect()).into())
                }
            };
        }
        if let Some(hint) = p.login_hint.as_deref()
            && let Some(t) = self.tenant_for_login_hint(hint).await?
        {
            return Ok(Some(t));
        }
        match app.tenant_ids.as_deref() {
            Some([only]) => self.store.tenant_by_id(only).await,
            _ => Ok(None),
        }
    }

    /// Where the routing issue's verified domains plug in: the tenant whose verified domain is
    /// the `login_hint` email's domain. Until then no hint names a tenant, and the person is
    /// asked for their organisation.
    pub async fn tenant_for_login_hint(&self, _login_hint: &str) -> Result<Option<Tenant>> {
        Ok(None)
    }

    /// Decides a checked request for `tenant` with the person's session there (if any).
    /// `pending` is the stored request when the browser comes back through the resume URL.
    pub async fn authorize_decide(
        &self,
        app: &App,
        req: &ValidRequest,
        tenant: &Tenant,
        session: Option<SessionView>,
        pending: Option<&Pending>,
        meta: &RequestMeta,
    ) -> Result<Decision> {
        if !app.allows_tenant(&tenant.id) {
            return Err(ProviderError::TenantNotAllowed(tenant.slug.clone()).into());
        }
        let now = self.now();
        let too_old = |s: &SessionView| req.max_age.is_some_and(|m| now - s.created_at > m);
        let usable = session.filter(|s| match pending {
            // Back from the sign-in page: a forced login must have happened after the request.
            Some(p) if req.prompt_login || req.max_age.is_some() => {
                s.created_at >= p.created_at || !(req.prompt_login || too_old(s))
            }
            _ => !req.prompt_login && !too_old(s),
        });
        if let Some(s) = usable {
            if let Some(p) = pending
                && !self.store.delete_auth_request(&p.id).await?
            {
                return Err(ProviderError::AuthRequestUnknown.into());
            }
            return self
                .issue_code(app, req, tenant, &s, meta)
                .await
                .map(Decision::Redirect);
        }
        if req.prompt_none {
            return Err(ProviderError::LoginRequired.into());
        }
        let force = req.prompt_login || req.max_age.is_some();
        if let Some(p) = pending {
            return Ok(Decision::Login {
                token: p.token.clone(),
                force,
            });
        }
        let token = random_token();
        let row = AuthRequestRow {
            id: new_id(),
            app_id: app.id.clone(),
            tenant_id: tenant.id.clone(),
            params: serde_json::to_string(req).map_err(|e| Error::Internal(e.to_string()))?,
            created_at: now,
            expires_at: now + AUTH_REQUEST_TTL_SECS,
        };
        self.store
            .insert_auth_request(&row, &token_hash(&token))
            .await?;
        Ok(Decision::Login { token, force })
    }

    /// The waiting request behind a resume token.
    pub async fn pending_authorization(&self, token: &str) -> Result<Pending> {
        if token.is_empty() || token.len() > 64 {
            return Err(ProviderError::AuthRequestUnknown.into());
        }
        let row = self
            .store
            .auth_request_by_token_hash(&token_hash(token))
            .await?
            .filter(|r| r.expires_at > self.now())
            .ok_or(ProviderError::AuthRequestUnknown)?;
        let request: ValidRequest = serde_json::from_str(&row.params).map_err(|e| {
            Error::Internal(format!("stored authorization request unreadable: {e}"))
        })?;
        let app = self.app(&row.app_id).await?;
        // The app may have changed since: its redirect URI must still be registered.
        if !app.has_redirect_uri(&request.redirect_uri) {
            return Err(ProviderError::RedirectUriMismatch.into());
        }
        let tenant = self
            .store
            .tenant_by_id(&row.tenant_id)
            .await?
            .ok_or(ProviderError::AuthRequestUnknown)?;
        Ok(Pending {
            id: row.id,
            token: token.to_owned(),
            app,
            request,
            tenant,
            created_at: row.created_at,
        })
    }

    async fn issue_code(
        &self,
        app: &App,
        req: &ValidRequest,
        tenant: &Tenant,
        s: &SessionView,
        meta: &RequestMeta,
    ) -> Result<String> {
        let now = self.now();
        let code = random_token();
        let grant = GrantRow {
            id: new_id(),
            app_id: app.id.clone(),
            tenant_id: tenant.id.clone(),
            user_id: s.user_id.clone(),
            session_id: s.id.clone(),
            scope: req.scope.join(" "),
            nonce: req.nonce.clone(),
            auth_time: s.created_at,
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            code_expires_at: now + CODE_TTL_SECS,
            code_consumed_at: None,
            created_at: now,
            revoked_at: None,
        };
        let ev = Ctx::new(
            Actor::User {
                id: s.user_id.clone(),
                tenant_id: tenant.id.clone(),
            },
            meta.clone(),
        )
        .event(now, Some(&tenant.slug), "oauth.code_issued")
        .user(&s.user_id)
        .details(json!({"client_id": app.id, "grant_id": grant.id, "session_id": s.id, "scope": grant.scope}));
        self.store
            .insert_grant(&grant, &token_hash(&code), &ev)
            .await?;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(st) = req.state.as_deref() {
            pairs.push(("state", st));
        }
        pairs.push(("iss", self.public_url()));
        Ok(redirect_with(&req.redirect_uri, &pairs))
    }
}
