//! Sessions (opening, checking, logout), admin API keys, per-user API tokens ([`api_token`])
//! and password hashing ([`password`]).

pub mod api_token;
pub mod cache;
pub mod password;

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::model::{ApiKey, Session, SessionView, Tenant, new_id};
use crate::secret::{constant_time_eq, mac_token, random_token, token_hash};
use serde_json::json;

/// SHA-256 of a session token, as the cache keys it.
fn token_hash_array(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(digest.as_ref()) {
        *o = *b;
    }
    out
}

/// Group claims kept with a session at most.
const MAX_GROUPS: usize = 100;

/// API keys carry a recognisable prefix so secret scanners and people can spot them.
pub const API_KEY_PREFIX: &str = "lny_";

/// A new session: the token goes into the cookie once and is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub session: Session,
    pub tenant: Tenant,
}

/// A session built but not yet stored ([`Lanyard::new_session`]).
#[derive(Debug)]
pub(crate) struct PreparedSession {
    pub new: NewSession,
    pub token_hash: Vec<u8>,
    pub audit: crate::model::AuditRecord,
}

impl Lanyard {
    pub async fn tenant(&self, slug: &str) -> Result<Tenant> {
        self.store
            .tenant_by_slug(slug)
            .await?
            .ok_or_else(|| Error::TenantNotFound(slug.to_owned()))
    }

    /// Issues a fresh session token for `user_id` (a new ID at every login: no fixation).
    pub async fn open_session(
        &self,
        tenant: &Tenant,
        user_id: &str,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<NewSession> {
        self.open_session_capped(tenant, user_id, method, meta, None, None)
            .await
    }

    /// [`Self::open_session`], ending no later than `cap` (the IdP's SessionNotOnOrAfter) when
    /// that comes before the tenant's session lifetime. `federated` is the connection and the
    /// role and group claims the IdP sent (kept, bounded, for the OpenID provider's `groups`).
    pub async fn open_session_capped(
        &self,
        tenant: &Tenant,
        user_id: &str,
        method: &str,
        meta: &RequestMeta,
        cap: Option<UnixTime>,
        federated: Option<(&str, &[String])>,
    ) -> Result<NewSession> {
        let s = self.new_session(tenant, user_id, method, meta, cap, federated)?;
        self.store
            .insert_session(&s.new.session, &s.token_hash, &s.audit)
            .await?;
        Ok(s.new)
    }

    /// A session for `user_id`, not yet stored: the row, its token's hash and its
    /// `login.succeeded` event ([`Self::open_session_capped`] stores it; a federated sign-in
    /// commits it with the rest of the sign-in).
    pub(crate) fn new_session(
        &self,
        tenant: &Tenant,
        user_id: &str,
        method: &str,
        meta: &RequestMeta,
        cap: Option<UnixTime>,
        federated: Option<(&str, &[String])>,
    ) -> Result<PreparedSession> {
        let connection_id = federated.map(|(c, _)| c);
        let idp_groups = federated
            .map(|(_, g)| g)
            .filter(|g| !g.is_empty())
            .map(|g| {
                let kept: Vec<String> = g
                    .iter()
                    .take(MAX_GROUPS)
                    .map(|s| s.chars().take(256).collect())
                    .collect();
                serde_json::Value::from(kept).to_string()
            });
        let now = self.now();
        let lifetime_end = now + tenant.session_lifetime_secs;
        let expires_at = cap.map_or(lifetime_end, |c| c.min(lifetime_end));
        if expires_at <= now {
            return Err(Error::Saml(lanyard_saml::Error::Expired(
                "SessionNotOnOrAfter",
            )));
        }
        let token = random_token();
        let session = Session {
            id: new_id(),
            tenant_id: tenant.id.clone(),
            user_id: user_id.to_owned(),
            auth_method: method.to_owned(),
            created_at: now,
            expires_at,
            revoked_at: None,
            ip: meta.ip.clone(),
            user_agent: meta
                .user_agent
                .as_deref()
                .map(|s| s.chars().take(256).collect()),
            connection_id: connection_id.map(str::to_owned),
            idp_groups,
        };
        let audit = Ctx::new(
            Actor::User {
                id: user_id.to_owned(),
                tenant_id: tenant.id.clone(),
            },
            meta.clone(),
        )
        .event(now, Some(&tenant.slug), "login.succeeded")
        .user(user_id)
        .details(
            json!({"method": method, "session_id": session.id, "expires_at": session.expires_at}),
        );
        Ok(PreparedSession {
            token_hash: token_hash(&token),
            audit,
            new: NewSession {
                token,
                session,
                tenant: tenant.clone(),
            },
        })
    }

    /// The live session behind `token` on `tenant_slug`'s routes, or why there is none.
    ///
    /// The row comes from this node's [`cache`] when it was fetched within the staleness bound;
    /// the checks below (tenant, revoked, disabled, expired against the clock) run on every call.
    pub async fn session(&self, tenant_slug: &str, token: &str) -> Result<SessionView> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::NoSession);
        }
        let hash = token_hash_array(token);
        let cache = self.session_cache();
        let view = match cache.get(&hash) {
            Some(v) => v,
            None => {
                let ticket = cache.ticket();
                let v = std::sync::Arc::new(
                    self.store
                        .session_by_token_hash(&hash)
                        .await?
                        .ok_or(Error::NoSession)?,
                );
                cache.put(hash, v.clone(), ticket);
                v
            }
        };
        let view = SessionView::clone(&view);
        if view.tenant_slug != tenant_slug {
            return Err(Error::SessionWrongTenant);
        }
        if view.revoked_at.is_some() || view.user_disabled {
            return Err(Error::SessionRevoked);
        }
        if self.now() >= view.expires_at {
            return Err(Error::SessionExpired);
        }
        Ok(view)
    }

    /// The Lanyard session behind a site cookie (`lanyard_site`) of `site_id`, as stored: the
    /// row comes from this node's [`cache`] like [`Self::session`]'s (same bound, same marks:
    /// a site session is a pointer to a Lanyard session, so ending that session or changing its
    /// user on this node drops it at once). The caller runs the validity checks on every call.
    pub(crate) async fn site_session_row(
        &self,
        site_id: &str,
        token: &str,
    ) -> Result<Option<std::sync::Arc<SessionView>>> {
        let token_hash = token_hash_array(token);
        // Keyed apart from session tokens: SHA-256 over a domain label, the site and the token's
        // hash (a site cookie of one site never finds another site's row).
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(b"lanyard site session\0");
        ctx.update(site_id.as_bytes());
        ctx.update(b"\0");
        ctx.update(&token_hash);
        let mut key = [0u8; 32];
        for (o, b) in key.iter_mut().zip(ctx.finish().as_ref()) {
            *o = *b;
        }
        let cache = self.session_cache();
        if let Some(v) = cache.get(&key) {
            return Ok(Some(v));
        }
        let ticket = cache.ticket();
        let Some(v) = self.store.site_session(&token_hash, site_id).await? else {
            return Ok(None);
        };
        let v = std::sync::Arc::new(v);
        cache.put(key, v.clone(), ticket);
        Ok(Some(v))
    }

    /// The CSRF token for forms posted with this session (logout, later SSO disconnect): a MAC
    /// of the session token, so it needs no storage and is useless without the HttpOnly cookie.
    pub fn csrf_token(&self, session_token: &str) -> String {
        mac_token(self.csrf_key(), &token_hash(session_token))
    }

    pub fn csrf_matches(&self, session_token: &str, presented: &str) -> bool {
        constant_time_eq(
            self.csrf_token(session_token).as_bytes(),
            presented.as_bytes(),
        )
    }

    /// Ends the session behind `token` after checking the form's CSRF token; returns it.
    pub async fn logout(
        &self,
        tenant_slug: &str,
        token: &str,
        csrf: &str,
        meta: &RequestMeta,
    ) -> Result<SessionView> {
        let view = self.session(tenant_slug, token).await?;
        if !self.csrf_matches(token, csrf) {
            return Err(Error::CsrfInvalid);
        }
        let now = self.now();
        let ev = Ctx::new(
            Actor::User {
                id: view.user_id.clone(),
                tenant_id: view.tenant_id.clone(),
            },
            meta.clone(),
        )
        .event(now, Some(&view.tenant_slug), "logout")
        .user(&view.user_id)
        .details(json!({"session_id": view.id}));
        self.store
            .revoke_session(&view.tenant_id, &view.id, now, &ev)
            .await?;
        self.session_cache().session_changed(&view.id);
        Ok(view)
    }

    /// Commits one unit of work ([`crate::store::Changes`]) and tells this node's session cache
    /// which users it touched (updated, sessions ended), so the change shows here at once.
    pub(crate) async fn apply_changes(&self, ch: &crate::store::Changes) -> Result<()> {
        self.store.apply(ch).await?;
        self.changes_seen(ch);
        Ok(())
    }

    /// Marks the users a committed unit of work touched as changed in the session cache.
    pub(crate) fn changes_seen(&self, ch: &crate::store::Changes) {
        let cache = self.session_cache();
        for u in &ch.update_users {
            cache.user_changed(&u.id);
        }
        for u in ch
            .revoke_sessions_of
            .iter()
            .chain(&ch.password_change_done)
            .chain(&ch.sso_state_none)
            .chain(&ch.sso_exempt_on)
        {
            cache.user_changed(u);
        }
    }

    /// Resolves `Authorization: Bearer lny_…` to the key's authority.
    pub async fn authenticate_api_key(&self, token: &str) -> Result<(Actor, ApiKey)> {
        if !token.starts_with(API_KEY_PREFIX) || token.len() > 128 {
            return Err(Error::ApiKeyInvalid);
        }
        let key = self
            .store
            .api_key_by_hash(&token_hash(token))
            .await?
            .ok_or(Error::ApiKeyInvalid)?;
        if key.revoked_at.is_some() {
            return Err(Error::ApiKeyInvalid);
        }
        self.store.touch_api_key(&key.id, self.now()).await?;
        Ok((
            Actor::ApiKey {
                id: key.id.clone(),
                tenant_id: key.tenant_id.clone(),
            },
            key,
        ))
    }
}
