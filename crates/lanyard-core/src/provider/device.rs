//! The device authorization grant (RFC 8628) for command lines: the device asks for a code
//! pair, the person enters the user code at `/device`, signs in to the tenant, sees which app
//! asks from which IP and when, and approves or denies; the device polls the token endpoint.
//!
//! The credential a device receives is a per-user API token (`lyt_`, see
//! [`crate::session::api_token`]), named after the machine, valid a year: the same kind of token
//! the user and admins list and revoke, and that the SSO upgrade revokes. The token response's
//! `access_token` IS that `lyt_` token (`token_type` Bearer, `expires_in` its lifetime); no ID
//! token or refresh token is issued. Only apps allowed the device grant may start one; the
//! built-in public app `lanyard-cli` (created on first use, so app lists stay as the
//! operator made them until someone logs in from the command line) is the one the `lanyard login` CLI uses.
//!
//! Guessing odds: user codes are 8 characters from the 20 consonants `BCDFGHJKLMNPQRSTVWXZ`
//! (no vowels, so no words; no digits, so no 0/O or 1/I look-alikes): 20^8 ≈ 2.56e10 codes.
//! A code lives 10 minutes and entry is limited to 10 wrong codes per client IP per 15 minutes
//! ([`crate::access::throttle::device_code_retry_after`]). With 10 000 codes live at once, one
//! address hits a live code with probability about 10 × 1e4 / 2.56e10 ≈ 3.9e-6 per window,
//! ≈ 3.7e-4 per day; and a hit only shows the confirmation page, which approves the device for
//! the *guesser's* own account, never the victim's.

use super::apps::App;
use crate::Lanyard;
use crate::access::throttle::{self, DEVICE_CODE_SCOPE, DEVICE_CODE_WINDOW_SECS};
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, ProviderError, Result};
use crate::model::{ApiToken, SessionView, Tenant, User, new_id};
use crate::secret::{random_bytes, random_token, token_hash};
use crate::session::api_token::{API_TOKEN_PREFIX, DEFAULT_TOKEN_DAYS};
use crate::store::{AppRow, DeviceConsume, DeviceGrantRow};
use serde_json::json;

pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The built-in public app of the `lanyard` command line.
pub const CLI_CLIENT_ID: &str = "lanyard-cli";
/// Lifetime of a device code and its user code.
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// The polling interval the device is told (and held to: faster polls get `slow_down`).
pub const POLL_INTERVAL_SECS: i64 = 5;
/// User-code alphabet: no vowels and no digits, so no words and no look-alikes.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// The answer of the device authorization endpoint (RFC 8628 §3.2), minus the URIs the server
/// adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStart {
    pub device_code: String,
    /// Shown as `XXXX-XXXX`.
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A pending device sign-in, as the confirmation page shows it.
#[derive(Debug, Clone)]
pub struct DevicePending {
    pub id: String,
    /// The normalised code (8 letters), for the form.
    pub user_code: String,
    pub app: App,
    pub tenant: Tenant,
    pub machine_name: String,
    pub client_ip: Option<String>,
    pub created_at: i64,
}

/// What the device receives once approved.
#[derive(Debug, Clone)]
pub struct DeviceToken {
    pub token: ApiToken,
    pub secret: String,
    pub user: User,
}

fn draw_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    while out.len() < USER_CODE_LEN {
        for b in random_bytes::<16>() {
            // 240 = 12 × 20: rejecting the rest keeps every letter equally likely.
            if b < 240 && out.len() < USER_CODE_LEN {
                let i = usize::from(b % 20);
                if let Some(c) = USER_CODE_ALPHABET.get(i) {
                    out.push(char::from(*c));
                }
            }
        }
    }
    out
}

/// `BCDFGHJK` → `BCDF-GHJK`.
pub fn format_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(4));
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a}-{b}")
    }
}

/// A typed code, case- and dash-insensitive (spaces ignored too); `None` if it cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ok.then_some(code)
}

fn user_code_hash(code: &str) -> Vec<u8> {
    token_hash(&format!("user-code:{code}"))
}

impl Lanyard {
    /// Device authorization request (RFC 8628 §3.1) from `client_id` for the organisation
    /// `org` (slug or id), naming the machine; `meta.ip` is shown on the confirmation page.
    pub async fn start_device_authorization(
        &self,
        client_id: &str,
        org: &str,
        machine_name: &str,
        meta: &RequestMeta,
    ) -> Result<DeviceStart> {
        let app = match self.app(client_id).await {
            Err(Error::Provider(ProviderError::UnknownClient(_))) if client_id == CLI_CLIENT_ID => {
                self.create_cli_app().await?
            }
            other => other?,
        };
        if !app.allows_grant(GRANT_DEVICE_CODE) {
            return Err(ProviderError::GrantTypeNotAllowed(GRANT_DEVICE_CODE.into()).into());
        }
        let tenant = match self.store.tenant_by_slug(org).await? {
            Some(t) => t,
            None => self.store.tenant_by_id(org).await?.ok_or_else(|| {
                ProviderError::UnknownOrganization(org.chars().take(64).collect())
            })?,
        };
        if !app.allows_tenant(&tenant.id) {
            return Err(ProviderError::TenantNotAllowed(tenant.slug.clone()).into());
        }
        let name = machine_name.trim();
        crate::validate::key_name(name).map_err(|_| {
            ProviderError::InvalidRequest("name must be 1-128 printable characters".into())
        })?;
        let now = self.now();
        let ctx = Ctx::new(Actor::Anonymous, meta.clone());
        for _ in 0..4 {
            let device_code = random_token();
            let user_code = draw_user_code();
            let row = DeviceGrantRow {
                id: new_id(),
                app_id: app.id.clone(),
                tenant_id: tenant.id.clone(),
                machine_name: name.to_owned(),
                client_ip: meta.ip.clone(),
                status: "pending".into(),
                user_id: None,
                api_token_id: None,
                interval_secs: POLL_INTERVAL_SECS,
                last_polled_at: None,
                created_at: now,
                expires_at: now + DEVICE_CODE_TTL_SECS,
                decided_at: None,
            };
            let ev = ctx
                .event(now, Some(&tenant.slug), "oauth.device_started")
                .details(json!({"device_grant_id": row.id, "client_id": app.id, "name": row.machine_name}));
            if self
                .store
                .insert_device_grant(
                    &row,
                    &token_hash(&device_code),
                    &user_code_hash(&user_code),
                    &ev,
                )
                .await?
            {
                return Ok(DeviceStart {
                    device_code,
                    user_code: format_user_code(&user_code),
                    expires_in: DEVICE_CODE_TTL_SECS,
                    interval: POLL_INTERVAL_SECS,
                });
            }
        }
        Err(Error::Internal("could not draw a free user code".into()))
    }

    /// Creates the built-in public app `lanyard-cli` (device grant only, every tenant). Two
    /// nodes creating it at once is fine: the loser reads the winner's.
    async fn create_cli_app(&self) -> Result<App> {
        let now = self.now();
        let row = AppRow {
            id: CLI_CLIENT_ID.into(),
            name: "Lanyard command line".into(),
            secret_hash: None,
            redirect_uris: "[]".into(),
            post_logout_redirect_uris: "[]".into(),
            backchannel_logout_uri: None,
            grant_types: json!([GRANT_DEVICE_CODE]).to_string(),
            id_token_alg: "RS256".into(),
            all_tenants: true,
            created_at: now,
            updated_at: now,
        };
        let ev = Ctx::system()
            .event(now, None, "app.created")
            .details(json!({"app_id": CLI_CLIENT_ID, "built_in": true}));
        if let Err(e) = self.store.insert_app(&row, &[], &ev).await
            && self.store.app_by_id(CLI_CLIENT_ID).await?.is_none()
        {
            return Err(e);
        }
        self.app(CLI_CLIENT_ID).await
    }

    /// The pending device sign-in behind a typed user code, for the confirmation page. Wrong
    /// codes count against the client IP ([`throttle::device_code_retry_after`]).
    pub async fn pending_device(&self, typed: &str, meta: &RequestMeta) -> Result<DevicePending> {
        let now = self.now();
        let ip = meta.ip.clone().unwrap_or_default();
        if let Some(c) = self.store.failures(DEVICE_CODE_SCOPE, &ip).await?
            && let Some(wait) = throttle::device_code_retry_after(&c, now)
        {
            return Err(ProviderError::UserCodeThrottled(wait).into());
        }
        let found = match normalize_user_code(typed) {
            Some(code) => self
                .store
                .device_grant_by_user_code(&user_code_hash(&code))
                .await?
                .filter(|g| g.status == "pending" && g.expires_at > now)
                .map(|g| (code, g)),
            None => None,
        };
        let Some((code, g)) = found else {
            self.store
                .record_failure(DEVICE_CODE_SCOPE, &ip, now, DEVICE_CODE_WINDOW_SECS)
                .await?;
            return Err(ProviderError::UserCodeUnknown.into());
        };
        let app = self.app(&g.app_id).await?;
        let tenant = self
            .store
            .tenant_by_id(&g.tenant_id)
            .await?
            .ok_or(ProviderError::UserCodeUnknown)?;
        Ok(DevicePending {
            id: g.id,
            user_code: code,
            app,
            tenant,
            machine_name: g.machine_name,
            client_ip: g.client_ip,
            created_at: g.created_at,
        })
    }

    /// The signed-in person's decision on a device sign-in. The session must belong to the
    /// tenant the device asked for.
    pub async fn decide_device(
        &self,
        typed: &str,
        session: &SessionView,
        approve: bool,
        meta: &RequestMeta,
    ) -> Result<()> {
        let p = self.pending_device(typed, meta).await?;
        if session.tenant_id != p.tenant.id {
            return Err(ProviderError::DeviceWrongOrganization(p.tenant.slug).into());
        }
        let now = self.now();
        let status = if approve { "approved" } else { "denied" };
        let ctx = Ctx::new(
            Actor::User {
                id: session.user_id.clone(),
                tenant_id: session.tenant_id.clone(),
            },
            meta.clone(),
        );
        let ev = ctx
            .event(now, Some(&p.tenant.slug), &format!("oauth.device_{status}"))
            .user(&session.user_id)
            .details(
                json!({"device_grant_id": p.id, "client_id": p.app.id, "name": p.machine_name}),
            );
        if !self
            .store
            .decide_device_grant(&p.id, status, &session.user_id, now, &ev)
            .await?
        {
            return Err(ProviderError::UserCodeUnknown.into());
        }
        Ok(())
    }

    /// The device polls (RFC 8628 §3.4-3.5). Approved: the grant is consumed atomically and
    /// the device's API token issued (only one poller ever gets it).
    pub async fn poll_device(&self, app: &App, device_code: &str) -> Result<DeviceToken> {
        if !app.allows_grant(GRANT_DEVICE_CODE) {
            return Err(ProviderError::GrantTypeNotAllowed(GRANT_DEVICE_CODE.into()).into());
        }
        if device_code.is_empty() || device_code.len() > 128 {
            return Err(ProviderError::DeviceCodeInvalid.into());
        }
        let g = self
            .store
            .device_grant_by_device_code(&token_hash(device_code))
            .await?
            .filter(|g| g.app_id == app.id)
            .ok_or(ProviderError::DeviceCodeInvalid)?;
        let now = self.now();
        if g.status == "consumed" {
            return Err(ProviderError::DeviceCodeInvalid.into());
        }
        if now >= g.expires_at {
            return Err(ProviderError::DeviceExpired.into());
        }
        if !self.store.mark_device_poll(&g.id, now).await? {
            return Err(ProviderError::SlowDown.into());
        }
        match g.status.as_str() {
            "pending" => return Err(ProviderError::AuthorizationPending.into()),
            "denied" => return Err(ProviderError::DeviceDenied.into()),
            _ => {}
        }
        let user_id = g.user_id.clone().ok_or(ProviderError::DeviceCodeInvalid)?;
        let user = self
            .store
            .user_by_id(&g.tenant_id, &user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ProviderError::DeviceDenied)?;
        let tenant_slug = self
            .store
            .tenant_by_id(&g.tenant_id)
            .await?
            .map(|t| t.slug)
            .unwrap_or_default();
        let secret = format!("{API_TOKEN_PREFIX}{}", random_token());
        let tok = ApiToken {
            id: new_id(),
            tenant_id: g.tenant_id.clone(),
            user_id: user.id.clone(),
            name: g.machine_name.clone(),
            prefix: secret.chars().take(8).collect(),
            created_at: now,
            expires_at: now + i64::from(DEFAULT_TOKEN_DAYS) * 86_400,
            last_used_at: None,
            revoked_at: None,
        };
        let ev = Ctx::system()
            .event(now, Some(&tenant_slug), "api_token.created")
            .user(&user.id)
            .details(json!({"api_token_id": tok.id, "name": tok.name, "expires_at": tok.expires_at, "device_grant_id": g.id, "client_id": app.id}));
        match self
            .store
            .consume_device_grant(&g.id, &tok, &token_hash(&secret), &ev)
            .await?
        {
            DeviceConsume::Issued => Ok(DeviceToken {
                token: tok,
                secret,
                user,
            }),
            DeviceConsume::NotApproved => Err(ProviderError::DeviceCodeInvalid.into()),
        }
    }
}
