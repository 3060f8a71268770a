//! Moving a tenant to SSO and back: upgrade invitations (emailed links that start an SSO login
//! and link the account when it completes), email confirmation, password resets (sent when a
//! connection that users depend on is disabled or removed, or an admin disconnects a user),
//! and admin editing of federated identities.

use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, Result};
use crate::mail_text::ResetReason;
use crate::model::{
    Connection, FederatedIdentity, LinkPurpose, SsoState, Tenant, User, UserLink, new_id,
};
use crate::secret::{constant_time_eq, mac_token, random_token, token_hash};
use crate::store::Changes;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde_json::json;

pub const CONFIRMATION_TTL_SECS: i64 = 7 * 24 * 3600;
pub const PASSWORD_RESET_TTL_SECS: i64 = 3 * 24 * 3600;
/// Invitations sent by one request at most (use several requests for bigger tenants).
pub const MAX_INVITATIONS_PER_REQUEST: usize = 1000;

fn link_path(p: LinkPurpose) -> &'static str {
    match p {
        LinkPurpose::Invitation => "invite",
        LinkPurpose::EmailConfirmation => "confirm",
        LinkPurpose::PasswordReset => "reset",
    }
}

fn seal_context(link_id: &str) -> String {
    format!("user_link:{link_id}:token")
}

/// A link's public URL.
pub fn link_url(public_url: &str, tenant_slug: &str, p: LinkPurpose, token: &str) -> String {
    format!(
        "{}/t/{tenant_slug}/{}/{token}",
        public_url.trim_end_matches('/'),
        link_path(p)
    )
}

/// Where a presented link stands.
#[derive(Debug, Clone)]
pub struct OpenedLink {
    pub tenant: Tenant,
    pub link: UserLink,
    pub user: User,
}

/// An invitation ready to start its SSO login.
#[derive(Debug, Clone)]
pub struct InvitationStart {
    pub opened: OpenedLink,
    pub connection: Connection,
}

impl Lanyard {
    /// The value of the browser cookie that carries an accepted invitation through a JWT remote
    /// login (which, unlike SAML and OIDC, has no pending-login row to keep it in): the
    /// invitation's ID with a MAC under a master-key-derived key, so it cannot be forged.
    pub fn invitation_cookie(&self, link_id: &str) -> String {
        let mac = mac_token(
            self.csrf_key(),
            format!("invitation-cookie:{link_id}").as_bytes(),
        );
        format!("{link_id}.{mac}")
    }

    /// The invitation ID in a cookie made by [`Self::invitation_cookie`], if its MAC is right.
    pub fn invitation_from_cookie(&self, value: &str) -> Option<String> {
        let (id, mac) = value.rsplit_once('.')?;
        let expected = mac_token(
            self.csrf_key(),
            format!("invitation-cookie:{id}").as_bytes(),
        );
        constant_time_eq(expected.as_bytes(), mac.as_bytes()).then(|| id.to_owned())
    }

    /// A new link for `user_id` (not yet stored): the record, its token's hash, and its URL.
    pub(crate) fn new_link(
        &self,
        tenant: &Tenant,
        user_id: &str,
        purpose: LinkPurpose,
        connection_id: Option<&str>,
    ) -> Result<(UserLink, Vec<u8>, String)> {
        let now = self.now();
        let token = random_token();
        let id = new_id();
        let sealed = (purpose == LinkPurpose::Invitation)
            .then(|| self.master_key().seal(&seal_context(&id), token.as_bytes()));
        let link = UserLink {
            id,
            tenant_id: tenant.id.clone(),
            user_id: user_id.to_owned(),
            purpose,
            sealed_token: sealed,
            connection_id: connection_id.map(str::to_owned),
            created_at: now,
            expires_at: match purpose {
                LinkPurpose::Invitation => None,
                LinkPurpose::EmailConfirmation => Some(now + CONFIRMATION_TTL_SECS),
                LinkPurpose::PasswordReset => Some(now + PASSWORD_RESET_TTL_SECS),
            },
            used_at: None,
            declined_at: None,
        };
        let url = link_url(self.public_url(), &tenant.slug, purpose, &token);
        Ok((link, token_hash(&token), url))
    }

    /// The URL of a stored invitation (its token is kept sealed for this).
    fn invitation_url(&self, tenant: &Tenant, l: &UserLink) -> Result<String> {
        let sealed = l
            .sealed_token
            .as_deref()
            .ok_or_else(|| Error::Internal("invitation without a sealed token".into()))?;
        let token = self
            .master_key()
            .open(&seal_context(&l.id), sealed)
            .map_err(|e| Error::Internal(format!("invitation token unreadable: {e}")))?;
        let token = String::from_utf8(token)
            .map_err(|_| Error::Internal("invitation token is not text".into()))?;
        Ok(link_url(self.public_url(), &tenant.slug, l.purpose, &token))
    }

    /// Looks up a presented link of `purpose` in `tenant_slug`. Unknown, other tenant's,
    /// expired and used links all give [`Error::LinkInvalid`] (invitations: see below).
    pub async fn open_link(
        &self,
        tenant_slug: &str,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<OpenedLink> {
        let tenant = self.tenant(tenant_slug).await?;
        match self.open_link_in(tenant, purpose, token).await {
            Ok(o) => Ok(o),
            Err(e @ (Error::StoreUnavailable(_) | Error::Internal(_))) => Err(e),
            Err(e) => {
                let ev = Ctx::new(Actor::Anonymous, RequestMeta::default())
                    .event(self.now(), Some(tenant_slug), "link.refused")
                    .code(e.code())
                    .details(json!({"purpose": purpose.as_str()}));
                if let Err(err) = self.store.insert_audit(&ev).await {
                    tracing::error!(error = %err, "could not audit a refused link");
                }
                Err(e)
            }
        }
    }

    async fn open_link_in(
        &self,
        tenant: Tenant,
        purpose: LinkPurpose,
        token: &str,
    ) -> Result<OpenedLink> {
        let not_found = if purpose == LinkPurpose::Invitation {
            Error::InvitationNotFound
        } else {
            Error::LinkInvalid
        };
        if token.is_empty() || token.len() > 128 {
            return Err(not_found);
        }
        let link = match self.store.user_link_by_hash(&token_hash(token)).await? {
            Some(l) if l.tenant_id == tenant.id && l.purpose == purpose => l,
            _ => return Err(not_found),
        };
        if link.used_at.is_some() {
            return Err(if purpose == LinkPurpose::Invitation {
                Error::InvitationUsed
            } else {
                Error::LinkInvalid
            });
        }
        if link.expires_at.is_some_and(|e| self.now() >= e) {
            return Err(Error::LinkInvalid);
        }
        let user = self
            .store
            .user_by_id(&tenant.id, &link.user_id)
            .await?
            .ok_or(not_found)?;
        if user.disabled {
            return Err(Error::FederatedUserDisabled);
        }
        Ok(OpenedLink { tenant, link, user })
    }

    /// The connection an invitation signs in with: its own while enabled, else the tenant's
    /// only enabled connection.
    async fn invitation_connection(
        &self,
        tenant: &Tenant,
        preferred: Option<&str>,
        by_slug: bool,
    ) -> Result<Connection> {
        let all = self.store.list_connections(&tenant.id).await?;
        let usable = |c: &&Connection| c.enabled;
        if let Some(p) = preferred {
            let found = all
                .iter()
                .find(|c| if by_slug { c.slug == p } else { c.id == p });
            match found {
                Some(c) if usable(&c) => return Ok(c.clone()),
                Some(c) if by_slug => {
                    return Err(Error::InvitationNoConnection(format!(
                        ": `{}` is disabled",
                        c.slug
                    )));
                }
                None if by_slug => return Err(Error::ConnectionNotFound(p.to_owned())),
                _ => {}
            }
        }
        let mut candidates = all.iter().filter(usable);
        match (candidates.next(), candidates.next()) {
            (Some(c), None) => Ok(c.clone()),
            (None, _) => Err(Error::InvitationNoConnection(String::new())),
            (Some(_), Some(_)) => Err(Error::InvitationNoConnection(
                "; it has several, so name one with `connection`".into(),
            )),
        }
    }

    /// Invites password users to move to SSO: one link per user (an open invitation is sent
    /// again, never replaced, so an earlier email keeps working), emailed when the user has an
    /// email. All or nothing in one transaction.
    pub async fn create_invitations(
        &self,
        ctx: &Ctx,
        slug: &str,
        req: proto::CreateInvitations,
    ) -> Result<(Tenant, Vec<proto::Invitation>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let conn = self
            .invitation_connection(&t, req.connection.as_deref(), true)
            .await?;
        let users: Vec<User> = match (&req.users, req.all) {
            (Some(_), true) | (None, false) => {
                return Err(Error::invalid(
                    "users",
                    "give either `users` (IDs or usernames) or `all: true`",
                ));
            }
            (Some(list), false) => {
                if list.is_empty() || list.len() > MAX_INVITATIONS_PER_REQUEST {
                    return Err(Error::invalid(
                        "users",
                        format!("give 1-{MAX_INVITATIONS_PER_REQUEST} users"),
                    ));
                }
                let mut out = Vec::new();
                for key in list {
                    let u = match self.store.user_by_id(&t.id, key).await? {
                        Some(u) => Some(u),
                        None => self.store.user_by_username(&t.id, key).await?,
                    };
                    let u = u.ok_or_else(|| {
                        Error::invalid("users", format!("no user `{key}` in this tenant"))
                    })?;
                    if u.sso_state == SsoState::Linked {
                        return Err(Error::invalid(
                            "users",
                            format!("`{}` is already on SSO", u.username),
                        ));
                    }
                    if !out.iter().any(|o: &User| o.id == u.id) {
                        out.push(u);
                    }
                }
                out
            }
            (None, true) => {
                let filter = crate::store::UserFilter {
                    not_on_sso: true,
                    ..Default::default()
                };
                let mut out = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let page = self
                        .store
                        .list_users_filtered(&t.id, &filter, cursor.as_deref(), 500)
                        .await?;
                    let done = page.len() < 500;
                    cursor = page.last().map(|u| u.id.clone());
                    out.extend(page.into_iter().filter(|u| !u.disabled && !u.super_admin));
                    if done || out.len() > MAX_INVITATIONS_PER_REQUEST {
                        break;
                    }
                }
                if out.len() > MAX_INVITATIONS_PER_REQUEST {
                    return Err(Error::invalid(
                        "all",
                        format!(
                            "more than {MAX_INVITATIONS_PER_REQUEST} users; invite them in batches with `users`"
                        ),
                    ));
                }
                out
            }
        };
        let now = self.now();
        let mut ch = Changes::at(now);
        let mut shown = Vec::new();
        for mut u in users {
            let (link, url) = match self.store.open_invitation_of(&u.id).await? {
                Some(l) => {
                    let url = self.invitation_url(&t, &l)?;
                    (l, url)
                }
                None => {
                    let (l, hash, url) =
                        self.new_link(&t, &u.id, LinkPurpose::Invitation, Some(&conn.id))?;
                    ch.new_links.push((l.clone(), hash));
                    (l, url)
                }
            };
            let emailed = match &u.email {
                Some(e) => {
                    let (subject, body) = crate::mail_text::Lang::for_mail(ctx.meta.lang, &t)
                        .invitation_mail(&t.name, &conn.name, &u.username, &url);
                    ch.outbox
                        .push(self.compose_mail(&t.id, e, &subject, &body)?);
                    true
                }
                None => false,
            };
            ch.audit.push(
                ctx.event(now, Some(&t.slug), "invitation.sent")
                    .user(&u.id)
                    .details(json!({"invitation_id": link.id, "connection": conn.slug, "emailed": emailed, "username": u.username})),
            );
            if u.sso_state != SsoState::Invited {
                u.sso_state = SsoState::Invited;
                u.updated_at = now;
                ch.update_users.push(u.clone());
            }
            shown.push(self.invitation_wire(
                &t,
                &link,
                &u,
                Some(&conn.slug),
                emailed,
                Some(url),
            )?);
        }
        self.apply_changes(&ch).await?;
        Ok((t, shown))
    }

    fn invitation_wire(
        &self,
        t: &Tenant,
        l: &UserLink,
        u: &User,
        connection: Option<&str>,
        emailed: bool,
        url: Option<String>,
    ) -> Result<proto::Invitation> {
        let url = match url {
            Some(u) => u,
            None => self.invitation_url(t, l)?,
        };
        Ok(proto::Invitation {
            id: l.id.clone(),
            user_id: u.id.clone(),
            username: u.username.clone(),
            status: if l.used_at.is_some() {
                "accepted"
            } else if l.declined_at.is_some() {
                "declined"
            } else {
                "pending"
            }
            .into(),
            url,
            connection: connection.map(str::to_owned),
            created_at: crate::clock::rfc3339(l.created_at),
            declined_at: l.declined_at.map(crate::clock::rfc3339),
            accepted_at: l.used_at.map(crate::clock::rfc3339),
            emailed,
        })
    }

    pub async fn list_invitations(
        &self,
        ctx: &Ctx,
        slug: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<proto::Invitation>, Option<String>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let limit = crate::admin::page_limit(limit)?;
        let rows = self
            .store
            .list_user_links(&t.id, LinkPurpose::Invitation, cursor, limit + 1)
            .await?;
        let (rows, next) = crate::admin::paginate(rows, limit, |l| l.id.clone());
        let conns = self.store.list_connections(&t.id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for l in rows {
            let Some(u) = self.store.user_by_id(&t.id, &l.user_id).await? else {
                continue;
            };
            let conn = l
                .connection_id
                .as_deref()
                .and_then(|id| conns.iter().find(|c| c.id == id))
                .map(|c| c.slug.as_str());
            out.push(self.invitation_wire(&t, &l, &u, conn, u.email.is_some(), None)?);
        }
        Ok((out, next))
    }

    /// The invitation behind `token` and the connection to sign in with.
    pub async fn invitation(&self, tenant_slug: &str, token: &str) -> Result<InvitationStart> {
        let opened = self
            .open_link(tenant_slug, LinkPurpose::Invitation, token)
            .await?;
        let connection = self
            .invitation_connection(&opened.tenant, opened.link.connection_id.as_deref(), false)
            .await?;
        Ok(InvitationStart { opened, connection })
    }

    /// "Not now": the user stays on passwords (unless SSO is required) and is listed as not on
    /// SSO; the same link still works later.
    pub async fn decline_invitation(
        &self,
        tenant_slug: &str,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<OpenedLink> {
        let mut o = self
            .open_link(tenant_slug, LinkPurpose::Invitation, token)
            .await?;
        let now = self.now();
        let mut ch = Changes::at(now);
        ch.decline_links.push(o.link.id.clone());
        o.user.sso_state = SsoState::Declined;
        o.user.updated_at = now;
        ch.update_users.push(o.user.clone());
        ch.audit.push(
            Ctx::new(
                Actor::User {
                    id: o.user.id.clone(),
                    tenant_id: o.tenant.id.clone(),
                },
                meta.clone(),
            )
            .event(now, Some(&o.tenant.slug), "invitation.declined")
            .user(&o.user.id)
            .details(json!({"invitation_id": o.link.id})),
        );
        self.apply_changes(&ch).await?;
        o.link.declined_at = Some(now);
        Ok(o)
    }

    /// Confirms the email of an account created just in time.
    pub async fn confirm_email(
        &self,
        tenant_slug: &str,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<OpenedLink> {
        let mut o = self
            .open_link(tenant_slug, LinkPurpose::EmailConfirmation, token)
            .await?;
        let now = self.now();
        let mut ch = Changes::at(now);
        ch.use_links.push(o.link.id.clone());
        o.user.email_confirmed = true;
        o.user.updated_at = now;
        ch.update_users.push(o.user.clone());
        ch.audit.push(
            Ctx::new(Actor::Anonymous, meta.clone())
                .event(now, Some(&o.tenant.slug), "user.email_confirmed")
                .user(&o.user.id)
                .details(json!({"email": o.user.email})),
        );
        self.apply_changes(&ch).await?;
        Ok(o)
    }

    /// Sets a new password through a reset link; ends every session of the user.
    pub async fn reset_password(
        &self,
        tenant_slug: &str,
        token: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> Result<OpenedLink> {
        let mut o = self
            .open_link(tenant_slug, LinkPurpose::PasswordReset, token)
            .await?;
        validate::password(new_password)?;
        let hash = crate::admin::hash_password(new_password.to_owned()).await?;
        let now = self.now();
        let mut ch = Changes::at(now);
        ch.close_open_links
            .push((o.user.id.clone(), LinkPurpose::PasswordReset));
        ch.revoke_sessions_of.push(o.user.id.clone());
        o.user.password_hash = Some(hash);
        o.user.password_changed_at = Some(now);
        o.user.must_change_password = false;
        o.user.updated_at = now;
        ch.update_users.push(o.user.clone());
        ch.password_change_done.push(o.user.id.clone());
        ch.audit.push(
            Ctx::new(Actor::Anonymous, meta.clone())
                .event(now, Some(&o.tenant.slug), "user.password_reset")
                .user(&o.user.id)
                .details(json!({"reset_link_id": o.link.id, "sessions_ended": true})),
        );
        self.apply_changes(&ch).await?;
        Ok(o)
    }

    /// Password resets for `users` (queued mail + link), because `why`.
    fn reset_mails(
        &self,
        ctx: &Ctx,
        t: &Tenant,
        users: &[User],
        why: &ResetReason<'_>,
        ch: &mut Changes,
    ) -> Result<()> {
        let reason = why.sentence(crate::mail_text::Lang::En, &t.name);
        for u in users {
            let Some(email) = &u.email else {
                ch.audit.push(
                    ctx.event(ch.at, Some(&t.slug), "user.password_reset_unreachable")
                        .user(&u.id)
                        .details(json!({"reason": reason, "help": "the user has no email; set a password for them with PATCH /api/v1/tenants/{tenant}/users/{user}"})),
                );
                continue;
            };
            let (link, hash, url) = self.new_link(t, &u.id, LinkPurpose::PasswordReset, None)?;
            let (subject, body) = crate::mail_text::Lang::for_mail(ctx.meta.lang, t).reset_mail(
                why,
                &t.name,
                &u.username,
                &url,
            );
            ch.outbox
                .push(self.compose_mail(&t.id, email, &subject, &body)?);
            ch.audit.push(
                ctx.event(ch.at, Some(&t.slug), "user.password_reset_sent")
                    .user(&u.id)
                    .details(json!({"reason": reason, "reset_link_id": link.id})),
            );
            ch.close_open_links
                .push((u.id.clone(), LinkPurpose::PasswordReset));
            ch.new_links.push((link, hash));
        }
        Ok(())
    }

    /// What disabling or removing `c` does to its users: everyone who could only sign in
    /// through it gets a password reset by email (written with the change, so none is lost).
    pub(crate) async fn connection_fallout(
        &self,
        ctx: &Ctx,
        t: &Tenant,
        c: &Connection,
        removed: bool,
    ) -> Result<Changes> {
        let mut ch = Changes::at(self.now());
        let users = self.store.users_only_on_connection(&t.id, &c.id).await?;
        let why = ResetReason::ConnectionOff {
            connection: &c.name,
            removed,
        };
        self.reset_mails(ctx, t, &users, &why, &mut ch)?;
        // Only the columns the fallout means are written (not whole rows read above), so an
        // admin's edit of the same user committed meanwhile is kept (no lost update).
        if removed {
            // Their only federated identity goes with the connection: they are off SSO (and
            // can be invited again).
            for u in self.store.users_linked_only_to(&t.id, &c.id).await? {
                ch.sso_state_none.push(u.id);
            }
        }
        // The reset promises a working way in: their password works even if the tenant
        // requires SSO through another connection, until they link again (issue 12).
        ch.sso_exempt_on.extend(users.into_iter().map(|u| u.id));
        Ok(ch)
    }

    // --- federated identities (admin) ---

    async fn user_and_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
        conn_slug: &str,
    ) -> Result<(Tenant, User, Connection)> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        let c = self
            .store
            .connection_by_slug(&t.id, conn_slug)
            .await?
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        Ok((t, u, c))
    }

    pub async fn federated_identities(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
    ) -> Result<Vec<proto::FederatedIdentity>> {
        let (t, u) = self.get_user(ctx, slug, user_id).await?;
        let conns = self.store.list_connections(&t.id).await?;
        Ok(self
            .store
            .federated_identities_of(&u.id)
            .await?
            .into_iter()
            .map(|f| proto::FederatedIdentity {
                connection: conns
                    .iter()
                    .find(|c| c.id == f.connection_id)
                    .map(|c| c.slug.clone())
                    .unwrap_or_default(),
                federation_id: f.federation_id,
                created_at: crate::clock::rfc3339(f.created_at),
                last_login_at: f.last_login_at.map(crate::clock::rfc3339),
            })
            .collect())
    }

    /// Sets (or changes) the federation ID a user signs in with on a connection — how admins
    /// pre-create users for connections without JIT.
    pub async fn set_federated_identity(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
        conn_slug: &str,
        federation_id: &str,
    ) -> Result<proto::FederatedIdentity> {
        let (t, mut u, c) = self
            .user_and_connection(ctx, slug, user_id, conn_slug)
            .await?;
        let fid = federation_id.trim();
        if fid.is_empty()
            || fid.len() > crate::identity::MAX_CLAIM_LEN
            || fid.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "federation_id",
                "must be 1-512 characters without control characters, exactly as the IdP sends it",
            ));
        }
        let before = self
            .store
            .federated_identities_of(&u.id)
            .await?
            .into_iter()
            .find(|f| f.connection_id == c.id);
        let now = self.now();
        let mut ch = Changes::at(now);
        // Unconditionally, and after the user row's update below (which `apply` writes first):
        // two racing saves serialise on the user row, and the second replaces the first's link
        // instead of adding a second identity for the same connection.
        ch.unlink.push((c.id.clone(), u.id.clone()));
        let link = FederatedIdentity {
            tenant_id: t.id.clone(),
            connection_id: c.id.clone(),
            federation_id: fid.to_owned(),
            user_id: u.id.clone(),
            created_at: now,
            last_login_at: None,
        };
        ch.link.push(link.clone());
        u.sso_state = SsoState::Linked;
        u.sso_exempt = false;
        u.updated_at = now;
        ch.update_users.push(u.clone());
        ch.audit.push(
            ctx.event(now, Some(&t.slug), "federated_identity.set")
                .user(&u.id)
                .details(json!({"connection": c.slug, "federation_id": {"from": before.map(|b| b.federation_id), "to": fid}})),
        );
        self.apply_changes(&ch).await.map_err(|e| match e {
            Error::IdentityAlreadyLinked => Error::FederationIdTaken,
            e => e,
        })?;
        Ok(proto::FederatedIdentity {
            connection: c.slug,
            federation_id: link.federation_id,
            created_at: crate::clock::rfc3339(now),
            last_login_at: None,
        })
    }

    /// Disconnects a user from a connection. Only an administrator can: a user cannot remove
    /// their own account from SSO. A user left with no way to sign in gets a password reset.
    pub async fn disconnect_federated_identity(
        &self,
        ctx: &Ctx,
        slug: &str,
        user_id: &str,
        conn_slug: &str,
    ) -> Result<()> {
        if let Actor::User { id, .. } = &ctx.actor
            && id == user_id
        {
            return Err(Error::SelfDisconnectForbidden);
        }
        let (t, mut u, c) = self
            .user_and_connection(ctx, slug, user_id, conn_slug)
            .await?;
        let links = self.store.federated_identities_of(&u.id).await?;
        let Some(link) = links.iter().find(|f| f.connection_id == c.id) else {
            return Err(Error::FederatedIdentityNotFound);
        };
        let now = self.now();
        let mut ch = Changes::at(now);
        ch.unlink.push((c.id.clone(), u.id.clone()));
        // The user's sessions end with the link: some of them came through it.
        ch.revoke_sessions_of.push(u.id.clone());
        let last = links.len() == 1;
        if last {
            u.sso_state = SsoState::None;
            u.updated_at = now;
            // Without a password the reset below is their way back in: it must work even if
            // the tenant requires SSO (the exemption ends when they link again).
            u.sso_exempt = u.password_hash.is_none();
            ch.update_users.push(u.clone());
            if u.password_hash.is_none() {
                let why = ResetReason::Disconnected {
                    connection: &c.name,
                };
                self.reset_mails(ctx, &t, std::slice::from_ref(&u), &why, &mut ch)?;
            }
        }
        ch.audit.push(
            ctx.event(now, Some(&t.slug), "federated_identity.removed")
                .user(&u.id)
                .details(json!({"connection": c.slug, "federation_id": link.federation_id, "sessions_ended": true, "last_identity": last})),
        );
        self.apply_changes(&ch).await
    }
}
