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

pub use super::settings::{MAX_ROLE_MAPPINGS, ProvisioningSettings, RoleSource};
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::model::{
    Connection, FederatedIdentity, LinkPurpose, SsoState, Tenant, User, UserLink, fold_key,
};
use crate::store::Changes;
use crate::{Lanyard, validate};
use lanyard_proto as proto;
use serde_json::{Value, json};

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

/// What provisioning decided, not yet written: the changes to commit and, once they are, the
/// user to open a session for, or the refusal that stands even so (an account created, or a
/// fresh confirmation mail queued, for an email that is not confirmed yet).
#[derive(Debug)]
pub(crate) struct Plan {
    pub changes: Changes,
    pub outcome: Result<Provisioned>,
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
    /// upgrade invitation the login was started from. Refusals change nothing. A sign-in that
    /// also opens a session commits both in one transaction: [`Lanyard::federated_sign_in`].
    pub async fn provision(
        &self,
        tenant: &Tenant,
        c: &Connection,
        jit: bool,
        id: &Identity,
        invitation_id: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Provisioned> {
        let (prov, _) = self
            .federated_sign_in(tenant, c, jit, id, invitation_id, meta, None)
            .await?;
        Ok(prov)
    }

    /// A later login of a linked user: brings username, email, display name and (with role sync
    /// at every login) the role up to date with the claims.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn reconcile(
        &self,
        tenant: &Tenant,
        c: &Connection,
        p: &ProvisioningSettings,
        id: &Identity,
        mut u: User,
        invitation: Option<UserLink>,
        meta: &RequestMeta,
    ) -> Result<Plan> {
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
            let mut ch = Changes::at(self.now());
            if let Some(email) = &u.email
                && !self
                    .store
                    .has_open_link(&u.id, LinkPurpose::EmailConfirmation, self.now())
                    .await?
            {
                self.welcome_mail(tenant, c, &u, email, meta.lang, &mut ch)?;
            }
            return Ok(Plan {
                changes: ch,
                outcome: Err(Error::EmailUnconfirmed),
            });
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
        if u.sso_exempt {
            // Back on SSO: the password exemption a removed connection left ends here.
            u.sso_exempt = false;
            changes.insert("sso_exempt".into(), json!({"from": true, "to": false}));
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
        Ok(Plan {
            changes: ch,
            outcome: Ok(Provisioned {
                user: u,
                created: false,
                upgraded: false,
            }),
        })
    }

    /// The invited password account joins SSO: linked to this identity, password removed,
    /// API tokens revoked, every other session ended (the new one opens after this commits).
    /// Collaborators get the tenant's SSO default role; everyone else keeps theirs.
    pub(super) async fn upgrade(
        &self,
        tenant: &Tenant,
        c: &Connection,
        id: &Identity,
        inv: UserLink,
        meta: &RequestMeta,
    ) -> Result<Plan> {
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
        u.sso_exempt = false;
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
        Ok(Plan {
            changes: ch,
            outcome: Ok(Provisioned {
                user: u,
                created: false,
                upgraded: true,
            }),
        })
    }

    /// The welcome email of an account created just in time, with a fresh confirmation link.
    fn welcome_mail(
        &self,
        tenant: &Tenant,
        c: &Connection,
        u: &User,
        email: &str,
        lang: Option<crate::mail_text::Lang>,
        ch: &mut Changes,
    ) -> Result<()> {
        let (link, hash, url) =
            self.new_link(tenant, &u.id, LinkPurpose::EmailConfirmation, None)?;
        let lang = crate::mail_text::Lang::for_mail(lang, tenant);
        let (subject, body) = lang.welcome_mail(&crate::mail_text::Welcome {
            tenant: &tenant.name,
            username: &u.username,
            connection: &c.name,
            must_confirm: tenant.require_email_confirmation,
            url: &url,
        });
        ch.outbox
            .push(self.compose_mail(&tenant.id, email, &subject, &body)?);
        ch.close_open_links
            .push((u.id.clone(), LinkPurpose::EmailConfirmation));
        ch.new_links.push((link, hash));
        Ok(())
    }

    pub(super) async fn create_just_in_time(
        &self,
        tenant: &Tenant,
        c: &Connection,
        p: &ProvisioningSettings,
        id: &Identity,
        meta: &RequestMeta,
    ) -> Result<Plan> {
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
            self.welcome_mail(tenant, c, &u, e, meta.lang, &mut ch)?;
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
        // The account exists once this commits, but it signs in only with a confirmed email.
        let outcome = if !u.email_confirmed && tenant.require_email_confirmation {
            Err(Error::EmailUnconfirmed)
        } else {
            Ok(Provisioned {
                user: u,
                created: true,
                upgraded: false,
            })
        };
        Ok(Plan {
            changes: ch,
            outcome,
        })
    }
}

impl Lanyard {
    /// [`ProvisioningSettings::resolve_role`] with the tenant's roles (read only when the claim
    /// may name roles).
    pub(crate) async fn resolve_role_for(
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
        self.store.update_connection(c, &ev, &fallout).await?;
        // Disabled, certificates replaced, settings changed: the sign-in path here sees it now.
        self.settings_cache().clear();
        self.changes_seen(&fallout);
        Ok(())
    }
}

/// Refusals a first sign-in gets when a concurrent sign-in of the same identity committed
/// between its lookup and its write: the federated identity, the email or the username it was
/// about to take is suddenly someone's (a unique violation, or a pre-check that now sees the
/// other account), or the invitation it carried was just used. [`Lanyard::provision`] re-reads
/// the link and, when the identity is linked now, continues as a returning sign-in; when it is
/// not, the refusal was real and stands.
pub(super) fn lost_a_race(e: &Error) -> bool {
    matches!(
        e,
        Error::IdentityAlreadyLinked
            | Error::EmailTaken(_)
            | Error::UsernameTaken(_)
            | Error::AccountExistsUseInvitation
            | Error::ProvisioningUsernameTaken(_)
            | Error::InvitationUsed
    )
}
