//! Administration of tenants, users, roles, sessions, API keys and the audit log.
//!
//! Every operation takes a [`Ctx`]: its actor is authorised here (a tenant-bound API key reaches
//! only its tenant), and the change and its audit event are written in one transaction.

use crate::audit::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::model::*;
use crate::secret::{random_token, token_hash};
use crate::session::API_KEY_PREFIX;
use crate::session::password;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde_json::json;

pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_PAGE: i64 = 50;

/// The credentials made by [`Lanyard::bootstrap_demo`], shown once.
#[derive(Debug, Clone)]
pub struct DemoSecrets {
    pub tenant: String,
    pub username: String,
    pub password: String,
    pub api_key: String,
}

pub(crate) fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// Splits one extra row off a `limit + 1` fetch into the next cursor.
pub(crate) fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(cursor_of);
        (rows, next)
    } else {
        (rows, None)
    }
}

pub(crate) async fn hash_password(pw: String) -> Result<String> {
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

fn random_password() -> String {
    // 20 base64url characters = 120 bits.
    random_token().chars().take(20).collect()
}

impl Lanyard {
    // --- authorisation ---

    fn authorize_tenant(&self, ctx: &Ctx, tenant: &Tenant) -> Result<()> {
        match &ctx.actor {
            Actor::ApiKey {
                tenant_id: Some(t), ..
            } if *t != tenant.id => Err(Error::ApiKeyWrongTenant(tenant.slug.clone())),
            Actor::Admin {
                tenant_id: Some(t), ..
            } if *t != tenant.id => Err(Error::ApiKeyWrongTenant(tenant.slug.clone())),
            Actor::ApiKey { .. } | Actor::Admin { .. } | Actor::Cli | Actor::System => Ok(()),
            // A setup link reaches its tenant's connections only (`connection_tenant`).
            Actor::SetupLink { .. } => Err(crate::error::ConsoleError::SetupLinkScope.into()),
            Actor::User { .. } | Actor::Anonymous => Err(Error::ApiKeyMissing),
        }
    }

    pub(crate) fn authorize_operator(&self, ctx: &Ctx) -> Result<()> {
        match &ctx.actor {
            Actor::ApiKey {
                tenant_id: None, ..
            }
            | Actor::Admin {
                tenant_id: None, ..
            }
            | Actor::Cli
            | Actor::System => Ok(()),
            Actor::ApiKey { .. } | Actor::Admin { .. } => Err(Error::OperatorOnly),
            Actor::SetupLink { .. } => Err(crate::error::ConsoleError::SetupLinkScope.into()),
            Actor::User { .. } | Actor::Anonymous => Err(Error::ApiKeyMissing),
        }
    }

    /// Looks up a tenant the actor may administer.
    pub async fn admin_tenant(&self, ctx: &Ctx, slug: &str) -> Result<Tenant> {
        let tenant = self.tenant(slug).await;
        // A tenant-bound key (or tenant admin) learns nothing about other tenants, not even
        // whether they exist.
        if let Some(own) = ctx.actor.bound_tenant() {
            match &tenant {
                Ok(t) if own != t.id => return Err(Error::ApiKeyWrongTenant(slug.to_owned())),
                Err(Error::TenantNotFound(_)) => {
                    return Err(Error::ApiKeyWrongTenant(slug.to_owned()));
                }
                _ => {}
            }
        }
        let tenant = tenant?;
        self.authorize_tenant(ctx, &tenant)?;
        Ok(tenant)
    }

    /// Looks up a tenant whose connections the actor may read and change: what
    /// [`Self::admin_tenant`] allows, and a setup link for its own tenant.
    pub async fn connection_tenant(&self, ctx: &Ctx, slug: &str) -> Result<Tenant> {
        if let Actor::SetupLink { tenant_id, .. } = &ctx.actor {
            return match self.tenant(slug).await {
                Ok(t) if t.id == *tenant_id => Ok(t),
                _ => Err(crate::error::ConsoleError::SetupLinkScope.into()),
            };
        }
        self.admin_tenant(ctx, slug).await
    }

    // --- tenants ---

    pub async fn create_tenant(&self, ctx: &Ctx, req: proto::CreateTenant) -> Result<Tenant> {
        self.authorize_operator(ctx)?;
        validate::slug(&req.slug)?;
        validate::tenant_name(&req.name)?;
        let lifetime = req
            .session_lifetime_secs
            .unwrap_or(DEFAULT_SESSION_LIFETIME_SECS);
        validate::session_lifetime(lifetime)?;
        let now = self.now();
        let tenant = Tenant {
            id: new_id(),
            slug: req.slug,
            name: req.name,
            session_lifetime_secs: lifetime,
            sso_required: false,
            sso_default_role: None,
            require_email_confirmation: false,
            network_masks: crate::netmask::NetworkMasks::default(),
            language: crate::mail_text::Lang::En,
            created_at: now,
            updated_at: now,
        };
        let roles: Vec<Role> = BUILTIN_ROLES
            .iter()
            .map(|(name, description)| Role {
                tenant_id: tenant.id.clone(),
                name: (*name).into(),
                description: (*description).into(),
                builtin: true,
            })
            .collect();
        let ev = ctx
            .event(now, Some(&tenant.slug), "tenant.created")
            .details(json!({"name": tenant.name, "session_lifetime_secs": lifetime}));
        self.store.insert_tenant(&tenant, &roles, &ev).await?;
        self.settings_cache().clear();
        Ok(tenant)
    }

    /// Every tenant for an operator; a tenant-bound key sees only its own.
    pub async fn list_tenants(
        &self,
        ctx: &Ctx,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<Tenant>, Option<String>)> {
        let limit = page_limit(limit)?;
        if let Some(own) = ctx.actor.bound_tenant() {
            let t = self.store.tenant_by_id(own).await?;
            return Ok((t.into_iter().collect(), None));
        }
        self.authorize_operator(ctx)?;
        let rows = self.store.list_tenants(cursor, limit + 1).await?;
        Ok(paginate(rows, limit, |t| t.id.clone()))
    }

    pub async fn update_tenant(
        &self,
        ctx: &Ctx,
        slug: &str,
        req: proto::UpdateTenant,
    ) -> Result<Tenant> {
        let mut t = self.admin_tenant(ctx, slug).await?;
        let mut changed = Vec::new();
        if let Some(name) = req.name {
            validate::tenant_name(&name)?;
            t.name = name;
            changed.push("name");
        }
        if let Some(l) = req.session_lifetime_secs {
            validate::session_lifetime(l)?;
            t.session_lifetime_secs = l;
            changed.push("session_lifetime_secs");
        }
        if let Some(r) = req.sso_required {
            t.sso_required = r;
            changed.push("sso_required");
        }
        if let Some(role) = req.sso_default_role {
            self.check_role(&t, role.as_deref()).await?;
            t.sso_default_role = role;
            changed.push("sso_default_role");
        }
        if let Some(r) = req.require_email_confirmation {
            t.require_email_confirmation = r;
            changed.push("require_email_confirmation");
        }
        if let Some(masks) = req.network_masks {
            t.network_masks = crate::netmask::NetworkMasks::parse(&masks)?;
            changed.push("network_masks");
        }
        if let Some(code) = req.language {
            t.language = crate::mail_text::Lang::from_code(&code)?;
            changed.push("language");
        }
        let now = self.now();
        t.updated_at = now;
        let ev = ctx.event(now, Some(&t.slug), "tenant.updated").details(json!({"changed": changed, "name": t.name, "session_lifetime_secs": t.session_lifetime_secs,
            "sso_required": t.sso_required, "sso_default_role": t.sso_default_role, "require_email_confirmation": t.require_email_confirmation,
            "network_masks": t.network_masks.to_strings(), "language": t.language.code()}));
        self.store.update_tenant(&t, &changed, &ev).await?;
        self.settings_cache().clear();
        // Concurrent updates of other fields are kept (only `changed` columns are written):
        // answer with the row as it is now.
        Ok(self.store.tenant_by_id(&t.id).await?.unwrap_or(t))
    }

    // --- roles ---

    pub async fn list_roles(&self, ctx: &Ctx, slug: &str) -> Result<Vec<Role>> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store.list_roles(&t.id).await
    }

    pub async fn create_role(&self, ctx: &Ctx, slug: &str, req: proto::CreateRole) -> Result<Role> {
        let t = self.admin_tenant(ctx, slug).await?;
        validate::role_name(&req.name)?;
        let description = req.description.unwrap_or_default();
        if description.chars().count() > 512 {
            return Err(Error::invalid(
                "description",
                "must be at most 512 characters",
            ));
        }
        let role = Role {
            tenant_id: t.id.clone(),
            name: req.name,
            description,
            builtin: false,
        };
        let ev = ctx
            .event(self.now(), Some(&t.slug), "role.created")
            .details(json!({"role": role.name}));
        self.store.insert_role(&role, &ev).await?;
        Ok(role)
    }

    pub async fn delete_role(&self, ctx: &Ctx, slug: &str, name: &str) -> Result<()> {
        let t = self.admin_tenant(ctx, slug).await?;
        let role = self
            .store
            .role(&t.id, name)
            .await?
            .ok_or_else(|| Error::RoleNotFound(name.to_owned()))?;
        if role.builtin {
            return Err(Error::RoleBuiltin(role.name));
        }
        let ev = ctx
            .event(self.now(), Some(&t.slug), "role.deleted")
            .details(json!({"role": name}));
        if !self.store.delete_role(&t.id, name, &ev).await? {
            return Err(Error::RoleNotFound(name.to_owned()));
        }
        Ok(())
    }

    async fn check_role(&self, tenant: &Tenant, role: Option<&str>) -> Result<()> {
        if let Some(r) = role
            && self.store.role(&tenant.id, r).await?.is_none()
        {
            return Err(Error::RoleNotFound(r.to_owned()));
        }
        Ok(())
    }

    // --- users ---

    pub async fn create_user(&self, ctx: &Ctx, slug: &str, req: proto::CreateUser) -> Result<User> {
        let t = self.admin_tenant(ctx, slug).await?;
        validate::username(&req.username)?;
        if let Some(e) = &req.email {
            validate::email(e)?;
        }
        if let Some(d) = &req.display_name {
            validate::display_name(d)?;
        }
        if let Some(p) = &req.password {
            validate::password(p)?;
        }
        self.check_role(&t, req.role.as_deref()).await?;
        let password_hash = match req.password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let now = self.now();
        let mut user = User::new(&t.id, req.username, now);
        user.email = req.email;
        user.display_name = req.display_name;
        user.role = req.role;
        user.password_changed_at = password_hash.as_ref().map(|_| now);
        user.password_hash = password_hash;
        user.super_admin = req.super_admin;
        user.collaborator = req.collaborator;
        let ev = ctx
            .event(now, Some(&t.slug), "user.created")
            .user(&user.id)
            .details(json!({"username": user.username, "email": user.email, "role": user.role, "super_admin": user.super_admin, "collaborator": user.collaborator, "has_password": user.password_hash.is_some()}));
        self.store.insert_user(&user, &ev).await?;
        Ok(user)
    }

    pub async fn get_user(&self, ctx: &Ctx, slug: &str, id: &str) -> Result<(Tenant, User)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let u = self
            .store
            .user_by_id(&t.id, id)
            .await?
            .ok_or(Error::UserNotFound)?;
        Ok((t, u))
    }

    /// A page of the tenant's users that match `filter` (e.g. "not on SSO", "needs a role").
    pub async fn list_users(
        &self,
        ctx: &Ctx,
        slug: &str,
        filter: &crate::store::UserFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Tenant, Vec<User>, Option<String>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_users_filtered(&t.id, filter, cursor, limit + 1)
            .await?;
        let (rows, next) = paginate(rows, limit, |u| u.id.clone());
        Ok((t, rows, next))
    }

    /// Applies a partial update. Changing or clearing the password, or disabling the user, ends
    /// every session of the user in the same transaction.
    pub async fn update_user(
        &self,
        ctx: &Ctx,
        slug: &str,
        id: &str,
        req: proto::UpdateUser,
    ) -> Result<(Tenant, User)> {
        let (t, mut u) = self.get_user(ctx, slug, id).await?;
        let now = self.now();
        let mut changed: Vec<&str> = Vec::new();
        let mut end_sessions = false;
        if let Some(name) = req.username {
            validate::username(&name)?;
            u.username = name;
            changed.push("username");
        }
        if let Some(email) = req.email {
            if let Some(e) = &email {
                validate::email(e)?;
            }
            u.email = email;
            changed.push("email");
        }
        if let Some(d) = req.display_name {
            if let Some(d) = &d {
                validate::display_name(d)?;
            }
            u.display_name = d;
            changed.push("display_name");
        }
        if let Some(role) = req.role {
            self.check_role(&t, role.as_deref()).await?;
            u.role = role;
            changed.push("role");
        }
        if let Some(sa) = req.super_admin {
            u.super_admin = sa;
            changed.push("super_admin");
        }
        if let Some(c) = req.collaborator {
            u.collaborator = c;
            changed.push("collaborator");
        }
        if let Some(disabled) = req.disabled {
            end_sessions |= disabled && !u.disabled;
            u.disabled = disabled;
            changed.push("disabled");
        }
        if let Some(pw) = req.password {
            u.password_hash = match pw {
                Some(p) => {
                    validate::password(&p)?;
                    Some(hash_password(p).await?)
                }
                None => None,
            };
            u.password_changed_at = Some(now);
            end_sessions = true;
            changed.push("password");
        }
        u.updated_at = now;
        let ev = ctx
            .event(now, Some(&t.slug), "user.updated")
            .user(&u.id)
            .details(json!({"changed": changed, "sessions_ended": end_sessions, "username": u.username, "email": u.email, "role": u.role, "disabled": u.disabled, "super_admin": u.super_admin}));
        // Only the fields this request names are written: a concurrent change of the others
        // (a connection removal's `sso_exempt`, a sign-in's reconcile) is not lost.
        self.store
            .update_user_fields(&u, &changed, end_sessions.then_some(now), &ev)
            .await?;
        self.session_cache().user_changed(&u.id);
        Ok((t, u))
    }

    pub async fn delete_user(&self, ctx: &Ctx, slug: &str, id: &str) -> Result<()> {
        let (t, u) = self.get_user(ctx, slug, id).await?;
        let ev = ctx
            .event(self.now(), Some(&t.slug), "user.deleted")
            .user(&u.id)
            .details(json!({"username": u.username}));
        if !self.store.delete_user(&t.id, &u.id, &ev).await? {
            return Err(Error::UserNotFound);
        }
        self.session_cache().user_changed(&u.id);
        Ok(())
    }

    // --- sessions ---

    pub async fn list_sessions(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: Option<&str>,
        include_ended: bool,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<SessionView>, Option<String>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let limit = page_limit(limit)?;
        let active_at = (!include_ended).then(|| self.now());
        let rows = self
            .store
            .list_sessions(&t.id, user_id, active_at, cursor, limit + 1)
            .await?;
        Ok(paginate(rows, limit, |s| s.id.clone()))
    }

    pub async fn revoke_session(&self, ctx: &Ctx, slug: &str, id: &str) -> Result<SessionView> {
        let t = self.admin_tenant(ctx, slug).await?;
        let s = self
            .store
            .session_by_id(&t.id, id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        let now = self.now();
        let ev = ctx
            .event(now, Some(&t.slug), "session.revoked")
            .user(&s.user_id)
            .details(json!({"session_id": s.id}));
        self.store.revoke_session(&t.id, id, now, &ev).await?;
        self.session_cache().session_changed(&s.id);
        self.store
            .session_by_id(&t.id, id)
            .await?
            .ok_or(Error::SessionNotFound)
    }

    pub async fn revoke_user_sessions(&self, ctx: &Ctx, slug: &str, user_id: &str) -> Result<u64> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        let now = self.now();
        let ev = ctx
            .event(now, Some(&t.slug), "session.revoked_all")
            .user(&u.id);
        let n = self.store.revoke_user_sessions(&u.id, now, &ev).await?;
        self.session_cache().user_changed(&u.id);
        Ok(n)
    }

    // --- API keys ---

    /// Creates an admin API key bound to `tenant_slug`, or an operator key when it is `None`.
    pub async fn create_api_key(
        &self,
        ctx: &Ctx,
        tenant_slug: Option<&str>,
        name: &str,
    ) -> Result<(ApiKey, String)> {
        let tenant = match tenant_slug {
            Some(s) => Some(self.admin_tenant(ctx, s).await?),
            None => {
                self.authorize_operator(ctx)?;
                None
            }
        };
        if name.trim().is_empty()
            || name.chars().count() > 128
            || name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "name",
                "give the key a name of 1-128 printable characters, e.g. `terraform`",
            ));
        }
        let token = format!("{API_KEY_PREFIX}{}", random_token());
        let now = self.now();
        let key = ApiKey {
            id: new_id(),
            tenant_id: tenant.as_ref().map(|t| t.id.clone()),
            tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
            name: name.to_owned(),
            prefix: token.chars().take(12).collect(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let ev = ctx
            .event(now, key.tenant_slug.as_deref(), "api_key.created")
            .details(json!({"api_key_id": key.id, "name": key.name, "prefix": key.prefix}));
        self.store
            .insert_api_key(&key, &token_hash(&token), &ev)
            .await?;
        Ok((key, token))
    }

    pub async fn list_api_keys(&self, ctx: &Ctx, tenant_slug: Option<&str>) -> Result<Vec<ApiKey>> {
        match tenant_slug {
            Some(s) => {
                let t = self.admin_tenant(ctx, s).await?;
                self.store.list_api_keys(Some(&t.id)).await
            }
            None => {
                self.authorize_operator(ctx)?;
                self.store.list_api_keys(None).await
            }
        }
    }

    pub async fn revoke_api_key(
        &self,
        ctx: &Ctx,
        tenant_slug: Option<&str>,
        id: &str,
    ) -> Result<ApiKey> {
        let key = self
            .store
            .api_key_by_id(id)
            .await?
            .ok_or(Error::ApiKeyNotFound)?;
        match tenant_slug {
            Some(s) => {
                let t = self.admin_tenant(ctx, s).await?;
                if key.tenant_id.as_deref() != Some(t.id.as_str()) {
                    return Err(Error::ApiKeyNotFound);
                }
            }
            None => {
                self.authorize_operator(ctx)?;
                if key.tenant_id.is_some() {
                    return Err(Error::ApiKeyNotFound);
                }
            }
        }
        let now = self.now();
        let ev = ctx
            .event(now, key.tenant_slug.as_deref(), "api_key.revoked")
            .details(json!({"api_key_id": key.id, "name": key.name}));
        self.store.revoke_api_key(&key.id, now, &ev).await?;
        self.store
            .api_key_by_id(id)
            .await?
            .ok_or(Error::ApiKeyNotFound)
    }

    // --- audit ---

    /// Audit events, newest first. A tenant-bound key is held to its tenant whatever it asks.
    pub async fn list_audit(
        &self,
        ctx: &Ctx,
        mut filter: AuditFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<AuditRow>, Option<String>)> {
        match ctx.actor.bound_tenant() {
            Some(own) => {
                let own = self
                    .store
                    .tenant_by_id(own)
                    .await?
                    .ok_or(Error::ApiKeyInvalid)?;
                match &filter.tenant {
                    Some(asked) if *asked != own.slug => {
                        return Err(Error::ApiKeyWrongTenant(asked.clone()));
                    }
                    _ => filter.tenant = Some(own.slug),
                }
            }
            None => self.authorize_operator(ctx)?,
        }
        let limit = page_limit(limit)?;
        filter.before_seq = match cursor {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                Error::invalid("cursor", "pass back the next_cursor of the previous page")
            })?),
            None => None,
        };
        filter.limit = limit + 1;
        let rows = self.store.list_audit(&filter).await?;
        Ok(paginate(rows, limit, |r| r.seq.to_string()))
    }

    // --- recovery (an operator on the server: `lanyard admin reset-password`) ---

    /// The user of `slug` named by `user` (an ID or a username).
    pub async fn user_by_ref(&self, ctx: &Ctx, slug: &str, user: &str) -> Result<(Tenant, User)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let u = match self.store.user_by_id(&t.id, user).await? {
            Some(u) => u,
            None => self
                .store
                .user_by_username(&t.id, user)
                .await?
                .ok_or(Error::UserNotFound)?,
        };
        Ok((t, u))
    }

    /// Gives `user` a new random password (ending their sessions, audited as any password
    /// change) and returns it, for an admin who lost theirs.
    pub async fn reset_password_to_random(
        &self,
        ctx: &Ctx,
        slug: &str,
        user: &str,
    ) -> Result<(User, String)> {
        let (t, u) = self.user_by_ref(ctx, slug, user).await?;
        let password = random_password();
        let (_, u) = self
            .update_user(
                ctx,
                &t.slug,
                &u.id,
                proto::UpdateUser {
                    password: Some(Some(password.clone())),
                    ..Default::default()
                },
            )
            .await?;
        Ok((u, password))
    }

    /// A password-reset link for `user` (valid 3 days, one use), returned rather than mailed:
    /// older reset links stop working; the current password stays until the link is used.
    pub async fn password_reset_link(
        &self,
        ctx: &Ctx,
        slug: &str,
        user: &str,
    ) -> Result<(User, String)> {
        let (t, u) = self.user_by_ref(ctx, slug, user).await?;
        let mut ch = crate::store::Changes::at(self.now());
        let (link, hash, url) = self.new_link(&t, &u.id, LinkPurpose::PasswordReset, None)?;
        ch.audit.push(
            ctx.event(ch.at, Some(&t.slug), "user.password_reset_link_created")
                .user(&u.id)
                .details(json!({"reset_link_id": link.id, "username": u.username})),
        );
        ch.close_open_links
            .push((u.id.clone(), LinkPurpose::PasswordReset));
        ch.new_links.push((link, hash));
        self.apply_changes(&ch).await?;
        Ok((u, url))
    }

    // --- first start ---

    /// On an empty store: the `demo` tenant, an admin with a random password, and an operator
    /// API key. Returns `None` (and creates nothing) once any tenant exists.
    pub async fn bootstrap_demo(&self) -> Result<Option<DemoSecrets>> {
        if self.store.count_tenants().await? > 0 {
            return Ok(None);
        }
        let ctx = Ctx::system();
        let tenant = self
            .create_tenant(
                &ctx,
                proto::CreateTenant {
                    slug: "demo".into(),
                    name: "Demo".into(),
                    session_lifetime_secs: None,
                },
            )
            .await?;
        let password = random_password();
        self.create_user(
            &ctx,
            &tenant.slug,
            proto::CreateUser {
                collaborator: false,
                username: "admin".into(),
                email: Some("admin@demo.example".into()),
                display_name: Some("Demo Admin".into()),
                role: Some("admin".into()),
                password: Some(password.clone()),
                super_admin: true,
            },
        )
        .await?;
        let (_, api_key) = self.create_api_key(&ctx, None, "bootstrap").await?;
        Ok(Some(DemoSecrets {
            tenant: tenant.slug,
            username: "admin".into(),
            password,
            api_key,
        }))
    }
}
