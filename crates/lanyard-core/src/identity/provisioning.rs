//! From "the IdP vouched for this person" to "this person has an account with the right role":
//! the one path every protocol's [`Identity`] takes.
//!
//! - Linking is by (connection, federation ID) only. An email match never links: a first login
//!   whose verified email belongs to an existing account is refused with
//!   [`Error::AccountExistsUseInvitation`]; existing accounts join through the upgrade invitation.
//! - An unknown federation ID creates the user when the connection has JIT on (welcome email
//!   with a confirmation link), else it is refused.
//! - Later logins update username, email and display name when the claims differ, and the role
//!   when the connection syncs roles at every login; the audit log records each change.
//! - Role: the first row of the connection's role table matching a role-claim value, else (with
//!   `role_claim_is_role_name`) the first claim value naming a tenant role, else the
//!   connection's default role, else no role. `role_sync`: `at_creation` applies it once;
//!   `every_login` re-applies what the claims grant (never the fallback); `every_login_default`
//!   (CData Arc's order) re-applies all of it, default and no role included.

use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::model::{
    Connection, FederatedIdentity, LinkPurpose, SsoState, Tenant, User, UserLink, fold_key,
};
use crate::store::Changes;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const MAX_ROLE_MAPPINGS: usize = 200;

/// A connection's provisioning settings (the `provisioning` JSON column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisioningSettings {
    pub attribute_preset: proto::AttributePreset,
    pub federation_id_attribute: Option<String>,
    pub role_claim: Option<String>,
    pub role_mapping: Vec<proto::RoleMapping>,
    pub default_role: Option<String>,
    pub role_sync: proto::RoleSync,
    /// Role-claim values may name tenant roles directly (case-insensitive), after the table.
    pub role_claim_is_role_name: bool,
    /// `None`: the kind's default (SAML requires an email to create accounts, the others not).
    pub jit_requires_email: Option<bool>,
}

fn claim_name(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be an attribute or claim name of 1-256 characters",
        ));
    }
    Ok(())
}

impl ProvisioningSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored provisioning settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn requires_email(&self, kind: &str) -> bool {
        self.jit_requires_email
            .unwrap_or(kind == crate::connection::KIND_SAML)
    }

    pub fn to_wire(&self, kind: &str) -> proto::Provisioning {
        proto::Provisioning {
            attribute_preset: self.attribute_preset,
            federation_id_attribute: self.federation_id_attribute.clone(),
            role_claim: self.role_claim.clone(),
            role_mapping: self.role_mapping.clone(),
            default_role: self.default_role.clone(),
            role_sync: self.role_sync,
            role_claim_is_role_name: self.role_claim_is_role_name,
            jit_requires_email: self.requires_email(kind),
        }
    }

    /// Applies an admin's change; role names are checked against the tenant by the caller.
    pub fn apply(&self, input: &proto::ProvisioningInput, kind: &str) -> Result<Self> {
        let mut s = self.clone();
        if let Some(p) = input.attribute_preset {
            s.attribute_preset = p;
        }
        if let Some(a) = &input.federation_id_attribute {
            if let Some(a) = a {
                if kind != crate::connection::KIND_SAML {
                    return Err(Error::invalid(
                        "provisioning.federation_id_attribute",
                        "applies to SAML connections only; OIDC connections use `key_claim`, JWT remote login `sub`",
                    ));
                }
                claim_name("provisioning.federation_id_attribute", a)?;
            }
            s.federation_id_attribute = a.clone();
        }
        if let Some(c) = &input.role_claim {
            if let Some(c) = c {
                claim_name("provisioning.role_claim", c)?;
            }
            s.role_claim = c.clone();
        }
        if let Some(m) = &input.role_mapping {
            if m.len() > MAX_ROLE_MAPPINGS {
                return Err(Error::invalid(
                    "provisioning.role_mapping",
                    format!("at most {MAX_ROLE_MAPPINGS} rows"),
                ));
            }
            for row in m {
                if row.value.is_empty()
                    || row.value.len() > 512
                    || row.value.chars().any(char::is_control)
                {
                    return Err(Error::invalid(
                        "provisioning.role_mapping",
                        "each value must be 1-512 characters",
                    ));
                }
            }
            s.role_mapping = m.clone();
        }
        if let Some(r) = &input.default_role {
            s.default_role = r.clone();
        }
        if let Some(r) = input.role_sync {
            s.role_sync = r;
        }
        if let Some(r) = input.jit_requires_email {
            s.jit_requires_email = Some(r);
        }
        if let Some(r) = input.role_claim_is_role_name {
            s.role_claim_is_role_name = r;
        }
        Ok(s)
    }

    /// The role the claims grant through the role table (first matching row), if any.
    pub fn mapped_role(&self, role_claims: &[String]) -> Option<&str> {
        self.role_mapping
            .iter()
            .find(|m| role_claims.contains(&m.value))
            .map(|m| m.role.as_str())
    }

    /// The tenant role the first role-claim value naming one designates (in the order the IdP
    /// sent them; an exact name first, else case-insensitively), when the connection lets the
    /// claim name roles.
    pub fn named_role<'r>(
        &self,
        role_claims: &[String],
        tenant_roles: &'r [String],
    ) -> Option<&'r str> {
        if !self.role_claim_is_role_name {
            return None;
        }
        role_claims.iter().find_map(|v| {
            let v = v.trim();
            tenant_roles
                .iter()
                .find(|r| r.as_str() == v)
                .or_else(|| tenant_roles.iter().find(|r| r.eq_ignore_ascii_case(v)))
                .map(String::as_str)
        })
    }

    /// The role the claims resolve to, and from where. The order: (1) the first row of the role
    /// table matching a claim value; (2) with `role_claim_is_role_name`, the first claim value
    /// naming a tenant role; (3) the default role; (4) no role. Whether (3) and (4) apply
    /// depends on the sync mode: see [`Lanyard::provision`].
    pub fn resolve_role(
        &self,
        role_claims: &[String],
        tenant_roles: &[String],
    ) -> (Option<String>, RoleSource) {
        if let Some(r) = self.mapped_role(role_claims) {
            return (Some(r.to_owned()), RoleSource::RoleMapping);
        }
        if let Some(r) = self.named_role(role_claims, tenant_roles) {
            return (Some(r.to_owned()), RoleSource::ClaimNamesRole);
        }
        match &self.default_role {
            Some(r) => (Some(r.clone()), RoleSource::DefaultRole),
            None => (None, RoleSource::NoRole),
        }
    }

    /// Every role name the settings mention (to check they exist in the tenant).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.role_mapping
            .iter()
            .map(|m| m.role.as_str())
            .chain(self.default_role.as_deref())
    }
}

/// Where a resolved role came from (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    RoleMapping,
    ClaimNamesRole,
    DefaultRole,
    NoRole,
}

impl RoleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoleMapping => "role_mapping",
            Self::ClaimNamesRole => "claim_names_role",
            Self::DefaultRole => "default_role",
            Self::NoRole => "none",
        }
    }

    /// The claims themselves granted the role (not the fallback).
    pub fn from_claims(self) -> bool {
        matches!(self, Self::RoleMapping | Self::ClaimNamesRole)
    }
}

impl Connection {
    pub fn provisioning_settings(&self) -> Result<ProvisioningSettings> {
        ProvisioningSettings::from_json(&self.provisioning)
    }
}

/// The outcome of provisioning: the user to open a session for.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub user: User,
    pub created: bool,
    /// The user accepted an upgrade invitation with this login.
    pub upgraded: bool,
}

impl Provisioned {
    /// `created` (just in time), `joined_sso` (invitation accepted) or `existing`: a metric label.
    pub fn outcome(&self) -> &'static str {
        if self.created {
            "created"
        } else if self.upgraded {
            "joined_sso"
        } else {
            "existing"
        }
    }
}

/// The federated identity a first login through `c` creates.
fn first_login_link(
    tenant: &Tenant,
    c: &Connection,
    id: &Identity,
    user_id: &str,
    now: crate::clock::UnixTime,
) -> FederatedIdentity {
    FederatedIdentity {
        tenant_id: tenant.id.clone(),
        connection_id: c.id.clone(),
        federation_id: id.federation_id.clone(),
        user_id: user_id.to_owned(),
        created_at: now,
        last_login_at: Some(now),
    }
}

/// The claims as received, for the audit record of a new account (what the IdP sent is what
/// admins debug mappings with); omitted above 8 KiB.
fn bounded_claims(v: &Value) -> Value {
    if v.to_string().len() <= 8 * 1024 {
        v.clone()
    } else {
        json!({"omitted": "the claims are larger than 8 KiB"})
    }
}

/// `login.warning`: the IdP's username claim was not used (see
/// [`Identity::claimed_username`]).
#[allow(clippy::too_many_arguments)]
fn username_warning_event(
    tenant_slug: &str,
    c: &Connection,
    id: &Identity,
    user_id: &str,
    warning: String,
    now: crate::clock::UnixTime,
    meta: &RequestMeta,
) -> crate::model::AuditRecord {
    Ctx::new(Actor::System, meta.clone())
        .event(now, Some(tenant_slug), "login.warning")
        .user(user_id)
        .details(json!({"method": id.method, "connection": c.slug, "federation_id": id.federation_id, "warnings": [warning]}))
}

/// One field's change, for the audit log.
fn change(
    changes: &mut serde_json::Map<String, Value>,
    field: &str,
    from: &Option<String>,
    to: &Option<String>,
) {
    changes.insert(field.into(), json!({"from": from, "to": to}));
}

impl Lanyard {
    /// Resolves `id` (verified by the connection `c` of `tenant`) to a user, creating, updating
    /// or upgrading it, all in one transaction with its audit events. `invitation_id` is the
    /// upgrade invitation the login was started from. Refusals change nothing.
    pub async fn provision(
        &self,
        tenant: &Tenant,
        c: &Connection,
        jit: bool,
        id: &Identity,
        invitation_id: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Provisioned> {
        let p = c.provisioning_settings()?;
        let linked = self
            .store
            .federated_user(&tenant.id, &c.id, &id.federation_id)
            .await?;
        let invitation = match invitation_id {
            Some(i) => Some(
                self.store
                    .user_link(&tenant.id, i)
                    .await?
                    .filter(|l| l.purpose == LinkPurpose::Invitation)
                    .ok_or(Error::InvitationNotFound)?,
            ),
            None => None,
        };
        match (linked, invitation) {
            (Some(u), inv) => self.reconcile(tenant, c, &p, id, u, inv, meta).await,
            (None, Some(inv)) => self.upgrade(tenant, c, id, inv, meta).await,
            (None, None) => {
                if !jit {
                    return Err(Error::FederatedUnknownUser {
                        tenant: tenant.slug.clone(),
                        connection: c.slug.clone(),
                        federation_id: id.federation_id.chars().take(256).collect(),
                    });
                }
                self.create_just_in_time(tenant, c, &p, id, meta).await
            }
        }
    }

    /// A later login of a linked user: brings username, email, display name and (with role sync
    /// at every login) the role up to date with the claims.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile(
        &self,
        tenant: &Tenant,
        c: &Connection,
        p: &ProvisioningSettings,
        id: &Identity,
        mut u: User,
        invitation: Option<UserLink>,
        meta: &RequestMeta,
    ) -> Result<Provisioned> {
        if u.disabled {
            return Err(Error::FederatedUserDisabled);
        }
        if let Some(inv) = &invitation
            && inv.user_id != u.id
        {
            return Err(Error::InvitationIdentityInUse);
        }
        if !u.email_confirmed && tenant.require_email_confirmation {
            // Not locked out by an old link: when the last one expired, send a fresh one.
            if let Some(email) = &u.email
                && !self
                    .store
                    .has_open_link(&u.id, LinkPurpose::EmailConfirmation, self.now())
                    .await?
            {
                let mut ch = Changes::at(self.now());
                self.welcome_mail(tenant, c, &u, email, &mut ch)?;
                self.store.apply(&ch).await?;
            }
            return Err(Error::EmailUnconfirmed);
        }
        let now = self.now();
        let mut ch = Changes::at(now);
        let mut changes = serde_json::Map::new();
        let mut warnings: Vec<String> = Vec::new();
        let (claimed_username, username_warning) = id.claimed_username();
        if let Some(w) = username_warning {
            ch.audit.push(username_warning_event(
                &tenant.slug,
                c,
                id,
                &u.id,
                w,
                now,
                meta,
            ));
        }
        if let Some(name) = claimed_username
            && *name != u.username
        {
            if validate::username(name).is_err() {
                warnings.push(format!(
                    "username `{name}` from the IdP is not a valid username; kept `{}`",
                    u.username
                ));
            } else if fold_key(name) != fold_key(&u.username)
                && self
                    .store
                    .user_by_username(&tenant.id, name)
                    .await?
                    .is_some()
            {
                warnings.push(format!(
                    "username `{name}` from the IdP belongs to another account; kept `{}`",
                    u.username
                ));
            } else {
                change(
                    &mut changes,
                    "username",
                    &Some(u.username.clone()),
                    &Some(name.to_owned()),
                );
                u.username = name.to_owned();
            }
        }
        if let Some(email) = id.verified_email()
            && u.email.as_deref() != Some(email)
        {
            let taken = match &u.email {
                Some(old) if fold_key(old) == fold_key(email) => false,
                _ => self.store.user_by_email(&tenant.id, email).await?.is_some(),
            };
            if taken {
                warnings.push(format!(
                    "email `{email}` from the IdP belongs to another account; kept the current one"
                ));
            } else {
                change(&mut changes, "email", &u.email, &Some(email.to_owned()));
                u.email = Some(email.to_owned());
            }
        }
        if let Some(d) = &id.display_name
            && u.display_name.as_ref() != Some(d)
            && validate::display_name(d).is_ok()
        {
            change(
                &mut changes,
                "display_name",
                &u.display_name,
                &Some(d.clone()),
            );
            u.display_name = Some(d.clone());
        }
        if p.role_sync != proto::RoleSync::AtCreation {
            let (wanted, source) = self.resolve_role_for(tenant, p, id).await?;
            // `every_login` only follows what the claims grant; `every_login_default` (Arc's
            // order) also falls back to the default role, else to no role.
            let applies = source.from_claims() || p.role_sync == proto::RoleSync::EveryLoginDefault;
            if applies && u.role != wanted {
                match &wanted {
                    Some(role) if self.store.role(&tenant.id, role).await?.is_none() => {
                        let by = match source {
                            RoleSource::RoleMapping => "the role table grants",
                            RoleSource::ClaimNamesRole => "the role claim names",
                            RoleSource::DefaultRole | RoleSource::NoRole => "the default role is",
                        };
                        warnings.push(format!(
                            "{by} `{role}`, which no longer exists in this tenant; role unchanged"
                        ));
                    }
                    _ => {
                        change(&mut changes, "role", &u.role, &wanted);
                        changes.insert("role_source".into(), json!(source.as_str()));
                        u.role = wanted;
                    }
                }
            }
        }
        ch.touch_links
            .push((c.id.clone(), id.federation_id.clone(), now));
        if let Some(inv) = &invitation {
            // The invited account was already linked to this identity: the invitation is done.
            ch.use_links.push(inv.id.clone());
        }
        if !changes.is_empty() {
            u.updated_at = now;
            ch.audit.push(
                Ctx::new(Actor::System, meta.clone())
                    .event(now, Some(&tenant.slug), "user.updated")
                    .user(&u.id)
                    .details(json!({"via": format!("{}.login", id.method), "connection": c.slug, "federation_id": id.federation_id, "changes": changes, "warnings": warnings})),
            );
            ch.update_users.push(u.clone());
        } else if !warnings.is_empty() {
            ch.audit.push(
                Ctx::new(Actor::System, meta.clone())
                    .event(now, Some(&tenant.slug), "login.warning")
                    .user(&u.id)
                    .details(
                        json!({"method": id.method, "connection": c.slug, "warnings": warnings}),
                    ),
            );
        }
        self.store.apply(&ch).await?;
        Ok(Provisioned {
            user: u,
            created: false,
            upgraded: false,
        })
    }

    /// The invited password account joins SSO: linked to this identity, password removed,
    /// API tokens revoked, every other session ended (the new one opens after this commits).
    /// Collaborators get the tenant's SSO default role; everyone else keeps theirs.
    async fn upgrade(
        &self,
        tenant: &Tenant,
        c: &Connection,
        id: &Identity,
        inv: UserLink,
        meta: &RequestMeta,
    ) -> Result<Provisioned> {
        if inv.used_at.is_some() {
            return Err(Error::InvitationUsed);
        }
        let mut u = self
            .store
            .user_by_id(&tenant.id, &inv.user_id)
            .await?
            .ok_or(Error::InvitationNotFound)?;
        if u.disabled {
            return Err(Error::FederatedUserDisabled);
        }
        if let (Some(theirs), Some(ours)) = (id.verified_email(), u.email.as_deref())
            && fold_key(theirs) != fold_key(ours)
        {
            return Err(Error::InvitationEmailMismatch);
        }
        let now = self.now();
        let role_before = u.role.clone();
        if u.collaborator {
            u.role = match &tenant.sso_default_role {
                Some(r) if self.store.role(&tenant.id, r).await?.is_some() => Some(r.clone()),
                _ => None,
            };
        }
        let had_password = u.password_hash.is_some();
        u.password_hash = None;
        u.password_changed_at = Some(now);
        u.sso_state = SsoState::Linked;
        u.updated_at = now;
        let mut ch = Changes::at(now);
        ch.link.push(first_login_link(tenant, c, id, &u.id, now));
        ch.revoke_sessions_of.push(u.id.clone());
        ch.revoke_api_tokens_of.push(u.id.clone());
        ch.use_links.push(inv.id.clone());
        ch.close_open_links
            .push((u.id.clone(), LinkPurpose::PasswordReset));
        ch.audit.push(
            Ctx::new(Actor::User { id: u.id.clone(), tenant_id: tenant.id.clone() }, meta.clone())
                .event(now, Some(&tenant.slug), "user.joined_sso")
                .user(&u.id)
                .details(json!({"via": format!("{}.invitation", id.method), "connection": c.slug, "federation_id": id.federation_id,
                    "invitation_id": inv.id, "password_removed": had_password, "api_tokens_revoked": true, "sessions_ended": true,
                    "collaborator": u.collaborator, "role": {"from": role_before, "to": u.role}})),
        );
        ch.update_users.push(u.clone());
        self.store.apply(&ch).await?;
        Ok(Provisioned {
            user: u,
            created: false,
            upgraded: true,
        })
    }

    /// The welcome email of an account created just in time, with a fresh confirmation link.
    fn welcome_mail(
        &self,
        tenant: &Tenant,
        c: &Connection,
        u: &User,
        email: &str,
        ch: &mut Changes,
    ) -> Result<()> {
        let (link, hash, url) =
            self.new_link(tenant, &u.id, LinkPurpose::EmailConfirmation, None)?;
        let must = if tenant.require_email_confirmation {
            "You can sign in once you have confirmed your email address:"
        } else {
            "Please confirm your email address:"
        };
        let body = format!(
            "Welcome to {}.\n\nYour account `{}` was created when you first signed in with {}.\n{must}\n\n{url}\n\nThe link works for 7 days; signing in again after that sends a new one. If you did not sign in, tell your administrator.\n",
            tenant.name, u.username, c.name
        );
        ch.outbox.push(self.compose_mail(
            &tenant.id,
            email,
            &format!("Welcome to {}: confirm your email", tenant.name),
            &body,
        )?);
        ch.close_open_links
            .push((u.id.clone(), LinkPurpose::EmailConfirmation));
        ch.new_links.push((link, hash));
        Ok(())
    }

    async fn create_just_in_time(
        &self,
        tenant: &Tenant,
        c: &Connection,
        p: &ProvisioningSettings,
        id: &Identity,
        meta: &RequestMeta,
    ) -> Result<Provisioned> {
        let email = id.verified_email().map(str::to_owned);
        if let Some(e) = &email
            && self.store.user_by_email(&tenant.id, e).await?.is_some()
        {
            return Err(Error::AccountExistsUseInvitation);
        }
        if email.is_none() && p.requires_email(&c.kind) {
            return Err(Error::ProvisioningMissingEmail(id.email_sources.join(", ")));
        }
        let (username, username_warnings) = id.new_account_username();
        validate::username(&username)
            .map_err(|_| Error::ProvisioningMissingClaim("username".into()))?;
        if self
            .store
            .user_by_username(&tenant.id, &username)
            .await?
            .is_some()
        {
            return Err(Error::ProvisioningUsernameTaken(username));
        }
        let mut warnings: Vec<String> = Vec::new();
        let (wanted, role_source) = self.resolve_role_for(tenant, p, id).await?;
        let role = match wanted.as_deref() {
            Some(r) if self.store.role(&tenant.id, r).await?.is_some() => Some(r.to_owned()),
            Some(r) => {
                warnings.push(format!(
                    "role `{r}` no longer exists in this tenant; the user has no role"
                ));
                None
            }
            None => None,
        };
        let now = self.now();
        let mut u = User::new(&tenant.id, username, now);
        u.email = email.clone();
        u.display_name = id
            .display_name
            .clone()
            .filter(|d| validate::display_name(d).is_ok());
        u.role = role;
        u.sso_state = SsoState::Linked;
        u.email_confirmed = email.is_none();
        let mut ch = Changes::at(now);
        ch.link.push(first_login_link(tenant, c, id, &u.id, now));
        for w in username_warnings {
            ch.audit.push(username_warning_event(
                &tenant.slug,
                c,
                id,
                &u.id,
                w,
                now,
                meta,
            ));
        }
        if let Some(e) = &email {
            self.welcome_mail(tenant, c, &u, e, &mut ch)?;
        }
        ch.audit.push(
            Ctx::new(Actor::System, meta.clone())
                .event(now, Some(&tenant.slug), "user.created")
                .user(&u.id)
                .details(json!({"username": u.username, "email": u.email, "display_name": u.display_name, "role": u.role, "role_source": role_source.as_str(),
                    "via": format!("{}.jit", id.method), "connection": c.slug, "federation_id": id.federation_id,
                    "role_claims": id.role_claims, "email_unverified_ignored": id.email.is_some() && !id.email_verified,
                    "claims": bounded_claims(&id.raw_claims),
                    "warnings": warnings})),
        );
        ch.insert_users.push(u.clone());
        self.store.apply(&ch).await?;
        if !u.email_confirmed && tenant.require_email_confirmation {
            return Err(Error::EmailUnconfirmed);
        }
        Ok(Provisioned {
            user: u,
            created: true,
            upgraded: false,
        })
    }
}

impl Lanyard {
    /// [`ProvisioningSettings::resolve_role`] with the tenant's roles (read only when the claim
    /// may name roles).
    async fn resolve_role_for(
        &self,
        tenant: &Tenant,
        p: &ProvisioningSettings,
        id: &Identity,
    ) -> Result<(Option<String>, RoleSource)> {
        let tenant_roles: Vec<String> = if p.role_claim_is_role_name {
            self.store
                .list_roles(&tenant.id)
                .await?
                .into_iter()
                .map(|r| r.name)
                .collect()
        } else {
            Vec::new()
        };
        Ok(p.resolve_role(&id.role_claims, &tenant_roles))
    }

    /// A connection's provisioning JSON after applying `input` onto `current` (`None` on
    /// create); every role it names must exist in the tenant.
    pub(crate) async fn provisioning_json(
        &self,
        t: &Tenant,
        kind: &str,
        current: Option<&str>,
        input: Option<&proto::ProvisioningInput>,
    ) -> Result<String> {
        let current = match current {
            Some(c) => ProvisioningSettings::from_json(c)?,
            None => ProvisioningSettings::default(),
        };
        let Some(input) = input else {
            return Ok(current.to_json());
        };
        let next = current.apply(input, kind)?;
        for r in next.roles() {
            if self.store.role(&t.id, r).await?.is_none() {
                return Err(Error::RoleNotFound(r.to_owned()));
            }
        }
        Ok(next.to_json())
    }

    /// What every kind's connection update shares: `enabled` and `provisioning`. Returns
    /// whether the connection was enabled before.
    pub(crate) async fn apply_common_update(
        &self,
        t: &Tenant,
        c: &mut Connection,
        enabled: Option<bool>,
        provisioning: Option<&proto::ProvisioningInput>,
    ) -> Result<bool> {
        let was_enabled = c.enabled;
        if let Some(e) = enabled {
            c.enabled = e;
        }
        c.provisioning = self
            .provisioning_json(t, &c.kind, Some(&c.provisioning), provisioning)
            .await?;
        Ok(was_enabled)
    }

    /// Saves an updated connection; turning it off sends password resets to the users who
    /// could only sign in through it, in the same transaction.
    pub(crate) async fn save_connection_update(
        &self,
        ctx: &Ctx,
        t: &Tenant,
        c: &Connection,
        was_enabled: bool,
        mut ev: crate::model::AuditRecord,
    ) -> Result<()> {
        if let Value::Object(m) = &mut ev.details {
            m.insert(
                "provisioning".into(),
                serde_json::to_value(c.provisioning_settings()?.to_wire(&c.kind))
                    .unwrap_or(Value::Null),
            );
        }
        let fallout = if was_enabled && !c.enabled {
            self.connection_fallout(ctx, t, c, false).await?
        } else {
            Changes::at(self.now())
        };
        self.store.update_connection(c, &ev, &fallout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(&str, &str)]) -> Vec<proto::RoleMapping> {
        r.iter()
            .map(|(v, role)| proto::RoleMapping {
                value: (*v).into(),
                role: (*role).into(),
            })
            .collect()
    }

    #[test]
    fn first_matching_row_wins() {
        let p = ProvisioningSettings {
            role_mapping: rows(&[("Admins", "admin"), ("Staff", "standard")]),
            default_role: Some("viewer".into()),
            ..Default::default()
        };
        let claims = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(p.mapped_role(&claims(&["Staff", "Admins"])), Some("admin"));
        assert_eq!(p.mapped_role(&claims(&["Staff"])), Some("standard"));
        assert_eq!(
            p.mapped_role(&claims(&["admins"])),
            None,
            "values match exactly"
        );
        assert_eq!(p.mapped_role(&[]), None);
    }

    /// Issue 15: the resolution order, every branch: table row, claim naming a role (exact
    /// first, else case-insensitive; first matching value of a multi-valued claim), default,
    /// none.
    #[test]
    fn role_resolution_order() {
        let roles: Vec<String> = ["admin", "auditor", "standard", "viewer"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let claims = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut p = ProvisioningSettings {
            role_mapping: rows(&[("Okta-Admins", "admin")]),
            default_role: Some("viewer".into()),
            role_claim_is_role_name: true,
            ..Default::default()
        };
        let r = |p: &ProvisioningSettings, c: &[&str]| {
            let (role, src) = p.resolve_role(&claims(c), &roles);
            (role, src.as_str())
        };
        // The table wins over a value naming a role, wherever it is in the claim.
        assert_eq!(
            r(&p, &["standard", "Okta-Admins"]),
            (Some("admin".into()), "role_mapping")
        );
        assert_eq!(
            r(&p, &["standard"]),
            (Some("standard".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &["AUDITOR"]),
            (Some("auditor".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &[" viewer "]),
            (Some("viewer".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &["nobody", "Standard", "admin"]),
            (Some("standard".into()), "claim_names_role"),
            "first value that names a role"
        );
        assert_eq!(
            r(&p, &["no-such-role"]),
            (Some("viewer".into()), "default_role")
        );
        assert_eq!(r(&p, &[]), (Some("viewer".into()), "default_role"));
        p.default_role = None;
        assert_eq!(r(&p, &["no-such-role"]), (None, "none"));
        assert_eq!(r(&p, &[]), (None, "none"));
        p.role_claim_is_role_name = false;
        assert_eq!(
            r(&p, &["standard"]),
            (None, "none"),
            "off: names are not roles"
        );
        assert_eq!(
            r(&p, &["Okta-Admins"]),
            (Some("admin".into()), "role_mapping")
        );
    }

    #[test]
    fn apply_validates_and_merges() {
        let p = ProvisioningSettings::default();
        let i = proto::ProvisioningInput {
            federation_id_attribute: Some(Some("employeeId".into())),
            ..Default::default()
        };
        assert!(p.apply(&i, "oidc").is_err(), "SAML only");
        let p = p.apply(&i, "saml").unwrap();
        assert_eq!(p.federation_id_attribute.as_deref(), Some("employeeId"));
        let p = p
            .apply(
                &proto::ProvisioningInput {
                    role_sync: Some(proto::RoleSync::EveryLogin),
                    ..Default::default()
                },
                "saml",
            )
            .unwrap();
        assert_eq!(
            p.federation_id_attribute.as_deref(),
            Some("employeeId"),
            "untouched"
        );
        assert_eq!(p.role_sync, proto::RoleSync::EveryLogin);
        let too_many = proto::ProvisioningInput {
            role_mapping: Some(rows(&[("x", "admin"); MAX_ROLE_MAPPINGS + 1])),
            ..Default::default()
        };
        assert!(p.apply(&too_many, "saml").is_err());
        let p = p
            .apply(
                &proto::ProvisioningInput {
                    role_claim_is_role_name: Some(true),
                    role_sync: Some(proto::RoleSync::EveryLoginDefault),
                    ..Default::default()
                },
                "jwt",
            )
            .unwrap();
        assert!(p.role_claim_is_role_name);
        assert_eq!(
            serde_json::to_value(p.to_wire("jwt")).unwrap()["role_sync"],
            "every_login_default"
        );
        assert!(p.requires_email("saml") && !p.requires_email("oidc"));
        assert_eq!(
            ProvisioningSettings::from_json("{}").unwrap(),
            ProvisioningSettings::default()
        );
    }
}
