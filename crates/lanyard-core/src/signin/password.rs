//! Signing in with a local password: throttling, the SSO-or-password routing decision, then a
//! session.

use crate::Lanyard;
use crate::access::routing;
use crate::access::throttle::{self, ACCOUNT_SCOPE, ACCOUNT_WINDOW_SECS, IP_SCOPE, IP_WINDOW_SECS};
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, Result};
use crate::model::fold_key;
use crate::session::{NewSession, password};
use serde_json::json;

impl Lanyard {
    /// Checks a username and password and opens a session.
    ///
    /// Unknown user, wrong password, disabled account and password-less (SSO-only) account all
    /// give the same [`Error::InvalidCredentials`] after the same work; the audit log keeps the
    /// real reason. Throttling is checked before the password, so a locked-out guesser learns
    /// nothing even when the guess is right.
    pub async fn password_login(
        &self,
        tenant_slug: &str,
        username: &str,
        password_text: &str,
        meta: &RequestMeta,
    ) -> Result<NewSession> {
        let tenant = self.tenant(tenant_slug).await?;
        let now = self.now();
        let ctx = Ctx::new(Actor::Anonymous, meta.clone());
        let account_key = format!("{}:{}", tenant.id, fold_key(username));

        let mut retry_after = None;
        if let Some(ip) = &meta.ip
            && let Some(c) = self.store.failures(IP_SCOPE, ip).await?
        {
            retry_after = throttle::ip_retry_after(&c, now);
        }
        if retry_after.is_none()
            && let Some(c) = self.store.failures(ACCOUNT_SCOPE, &account_key).await?
        {
            retry_after = throttle::account_retry_after(&c, now);
        }
        if let Some(retry_after_secs) = retry_after {
            let err = Error::Throttled { retry_after_secs };
            let ev = ctx
                .event(now, Some(&tenant.slug), "login.failed")
                .code(err.code())
                .details(json!({"method": "password", "username": username}));
            self.store.insert_audit(&ev).await?;
            return Err(err);
        }

        // The username, or the account's email (what the generic page asks for).
        let user = if username.len() > 512 {
            None
        } else {
            match self.store.user_by_username(&tenant.id, username).await? {
                Some(u) => Some(u),
                None if username.contains('@') => {
                    self.store.user_by_email(&tenant.id, username).await?
                }
                None => None,
            }
        };
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let candidate = password_text.to_owned();
        let verified = if password_text.len() > crate::validate::MAX_PASSWORD_BYTES {
            false
        } else {
            let hash = stored_hash
                .clone()
                .unwrap_or_else(|| password::dummy_hash().to_owned());
            let ok = tokio::task::spawn_blocking(move || password::verify(&candidate, &hash))
                .await
                .map_err(|e| Error::Internal(format!("password check failed: {e}")))?;
            ok && stored_hash.is_some()
        };

        let reason = match &user {
            None => Some("unknown_user"),
            Some(_) if !verified => Some(if stored_hash.is_none() {
                "no_password"
            } else {
                "wrong_password"
            }),
            Some(u) if u.disabled => Some("disabled"),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            if let Some(ip) = &meta.ip {
                self.store
                    .record_failure(IP_SCOPE, ip, now, IP_WINDOW_SECS)
                    .await?;
            }
            self.store
                .record_failure(ACCOUNT_SCOPE, &account_key, now, ACCOUNT_WINDOW_SECS)
                .await?;
            let err = Error::InvalidCredentials;
            let mut ev = ctx
                .event(now, Some(&tenant.slug), "login.failed")
                .code(err.code())
                .details(json!({"method": "password", "username": username, "reason": reason}));
            if let Some(u) = &user {
                ev = ev.user(&u.id);
            }
            self.store.insert_audit(&ev).await?;
            return Err(err);
        }
        let Some(user) = user else {
            return Err(Error::InvalidCredentials);
        };
        self.store
            .clear_failures(ACCOUNT_SCOPE, &account_key)
            .await?;
        // Decided after the password, so the answer tells nothing a success would not.
        let sso_enabled = tenant.sso_required
            && self
                .store
                .list_connections(&tenant.id)
                .await?
                .iter()
                .any(|c| c.enabled);
        if routing::password_route(&tenant, &user, sso_enabled)
            == routing::PasswordRoute::RequireSso
        {
            let err = Error::SsoRequired;
            let ev = ctx
                .event(now, Some(&tenant.slug), "login.failed")
                .code(err.code())
                .user(&user.id)
                .details(
                    json!({"method": "password", "username": username, "reason": "sso_required"}),
                );
            self.store.insert_audit(&ev).await?;
            return Err(err);
        }
        if user.must_change_password {
            // No session: a fresh reset link, and the sign-in continues there.
            let mut ch = crate::store::Changes::at(now);
            let (link, hash, url) = self.new_link(
                &tenant,
                &user.id,
                crate::model::LinkPurpose::PasswordReset,
                None,
            )?;
            ch.close_open_links
                .push((user.id.clone(), crate::model::LinkPurpose::PasswordReset));
            ch.audit.push(
                ctx.event(now, Some(&tenant.slug), "login.password_change_required")
                    .code("login.password_change_required")
                    .user(&user.id)
                    .details(json!({"method": "password", "reset_link_id": link.id})),
            );
            ch.new_links.push((link, hash));
            self.apply_changes(&ch).await?;
            return Err(Error::PasswordChangeRequired(url));
        }
        self.open_session(&tenant, &user.id, "password", meta).await
    }

    /// "Require a password change at next sign-in": ends the user's sessions now; their next
    /// password sign-in leads to choosing a new password before any session is issued.
    pub async fn require_password_change(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
    ) -> Result<crate::model::User> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        let now = self.now();
        let ev = ctx
            .event(now, Some(&t.slug), "user.password_change_required")
            .user(&u.id)
            .details(json!({"sessions_ended": true}));
        self.store.require_password_change(&u.id, now, &ev).await?;
        self.session_cache().user_changed(&u.id);
        Ok(self.get_user(ctx, slug, user_id).await?.1)
    }
}

/// A routing decision with what the entry point needs to act on it.
#[derive(Debug, Clone)]
pub struct LoginRouting {
    pub tenant: crate::model::Tenant,
    pub route: routing::Route,
    /// The tenant's enabled SSO connections, ordered by slug (where [`routing::Route::Sso`]
    /// goes: the one connection's start, or the tenant's page of them).
    pub connections: Vec<crate::model::Connection>,
}

impl Lanyard {
    /// Decides where a sign-in at `entry` goes (see [`routing::route`]): the entry points
    /// (`/login`, `/t/{tenant}/login`, `/t/{tenant}/login/direct`, and the OpenID provider's
    /// authorize endpoint and forward-auth when they come) all call this. `identifier` is the
    /// username or email typed so far (an unknown one routes like any non-super-admin, so the
    /// answer says no more than whether the name is a super admin's); `client` comes from
    /// `access::client_ip` through the trusted proxies.
    pub async fn route_login(
        &self,
        tenant_slug: &str,
        entry: routing::EntryPoint,
        identifier: Option<&str>,
        client: Option<crate::access::client_ip::ClientAddr>,
    ) -> Result<LoginRouting> {
        let tenant = self.tenant(tenant_slug).await?;
        let connections: Vec<_> = self
            .store
            .list_connections(&tenant.id)
            .await?
            .into_iter()
            .filter(|c| c.enabled)
            .collect();
        let user = match identifier
            .map(str::trim)
            .filter(|i| !i.is_empty() && i.len() <= 512)
        {
            Some(i) => match self.store.user_by_username(&tenant.id, i).await? {
                Some(u) => Some(u),
                None if i.contains('@') => self.store.user_by_email(&tenant.id, i).await?,
                None => None,
            },
            None => None,
        };
        let route = routing::route(
            entry,
            routing::TenantRouting::of(&tenant, !connections.is_empty()),
            routing::Person::of(user.as_ref()),
            client,
        );
        Ok(LoginRouting {
            tenant,
            route,
            connections,
        })
    }
}
