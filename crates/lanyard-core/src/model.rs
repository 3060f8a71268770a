//! Domain records as the store keeps them, and their wire forms.

use crate::clock::{UnixTime, rfc3339};
use lanyard_proto as proto;

/// The roles every tenant starts with.
pub const BUILTIN_ROLES: [(&str, &str); 4] = [
    ("admin", "Full control of the tenant"),
    ("standard", "Regular member"),
    ("support", "Helps other members; limited administration"),
    ("viewer", "Read-only access"),
];

/// Sessions last 8 hours unless the tenant says otherwise.
pub const DEFAULT_SESSION_LIFETIME_SECS: i64 = 8 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub session_lifetime_secs: i64,
    /// Password login is refused for everyone but super admins (see [`crate::access::routing`]).
    pub sso_required: bool,
    /// The role collaborators get when they join SSO; `None` means no role.
    pub sso_default_role: Option<String>,
    /// Accounts created just in time must confirm their email before they can sign in.
    pub require_email_confirmation: bool,
    /// Where the client's address sends it at sign-in (see [`crate::access::routing`]).
    #[sqlx(try_from = "String")]
    pub network_masks: crate::netmask::NetworkMasks,
    /// The language of the tenant's emails when the request causing one states none, and of
    /// those written with no request at all.
    #[sqlx(try_from = "String")]
    pub language: crate::mail_text::Lang,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Tenant {
    pub fn to_wire(&self) -> proto::Tenant {
        proto::Tenant {
            id: self.id.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            session_lifetime_secs: self.session_lifetime_secs,
            sso_required: self.sso_required,
            sso_default_role: self.sso_default_role.clone(),
            require_email_confirmation: self.require_email_confirmation,
            network_masks: self.network_masks.to_strings(),
            language: self.language.code().to_owned(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Role {
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
}

impl Role {
    pub fn to_wire(&self) -> proto::Role {
        proto::Role {
            name: self.name.clone(),
            description: self.description.clone(),
            builtin: self.builtin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password_hash: Option<String>,
    pub super_admin: bool,
    pub disabled: bool,
    pub password_changed_at: Option<UnixTime>,
    /// Where the account stands on the way to SSO.
    #[sqlx(try_from = "String")]
    pub sso_state: SsoState,
    /// An outside collaborator: joins SSO with the tenant's SSO default role.
    pub collaborator: bool,
    /// `false` only for an account created just in time whose email is not confirmed yet.
    pub email_confirmed: bool,
    /// May sign in with a password although the tenant requires SSO, until the account links to
    /// a connection again: set when a removed or disconnected connection left it a password
    /// reset (see [`crate::access::routing::password_route`]).
    pub sso_exempt: bool,
    /// The next password sign-in must choose a new password before a session is issued.
    pub must_change_password: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// Where an account stands on the way to SSO. `Linked` means it has a federated identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SsoState {
    /// Password only, never invited.
    #[default]
    None,
    Invited,
    Declined,
    Linked,
}

impl SsoState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Invited => "invited",
            Self::Declined => "declined",
            Self::Linked => "linked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "invited" => Self::Invited,
            "declined" => Self::Declined,
            "linked" => Self::Linked,
            _ => return None,
        })
    }
}

impl TryFrom<String> for SsoState {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown sso_state `{s}`"))
    }
}

impl User {
    /// A fresh account with no password, role or SSO link; callers fill in the rest.
    pub fn new(tenant_id: &str, username: String, now: UnixTime) -> Self {
        Self {
            id: new_id(),
            tenant_id: tenant_id.to_owned(),
            username,
            email: None,
            display_name: None,
            role: None,
            password_hash: None,
            super_admin: false,
            disabled: false,
            password_changed_at: None,
            sso_state: SsoState::None,
            collaborator: false,
            email_confirmed: true,
            sso_exempt: false,
            must_change_password: false,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn to_wire(&self, tenant_slug: &str) -> proto::User {
        proto::User {
            id: self.id.clone(),
            tenant: tenant_slug.to_owned(),
            username: self.username.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role.clone(),
            super_admin: self.super_admin,
            disabled: self.disabled,
            has_password: self.password_hash.is_some(),
            password_changed_at: self.password_changed_at.map(rfc3339),
            sso_state: self.sso_state.as_str().to_owned(),
            collaborator: self.collaborator,
            email_confirmed: self.email_confirmed,
            sso_exempt: self.sso_exempt,
            must_change_password: self.must_change_password,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

/// Case-insensitive uniqueness keys for usernames and emails.
pub fn fold_key(s: &str) -> String {
    s.to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub auth_method: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The connection that opened the session; `None` for a local password.
    pub connection_id: Option<String>,
    /// The IdP's role and group claims at sign-in (JSON array), for the provider's `groups`.
    pub idp_groups: Option<String>,
}

/// A session joined with its user and tenant: what one lookup on the hot path returns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionView {
    pub id: String,
    pub tenant_id: String,
    pub tenant_slug: String,
    pub user_id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub user_disabled: bool,
    pub auth_method: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub connection_id: Option<String>,
    pub idp_groups: Option<String>,
}

impl SessionView {
    pub fn to_wire(&self) -> proto::Session {
        proto::Session {
            id: self.id.clone(),
            tenant: self.tenant_slug.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            auth_method: self.auth_method.clone(),
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
            revoked_at: self.revoked_at.map(rfc3339),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: Option<String>,
    pub tenant_slug: Option<String>,
    pub name: String,
    pub prefix: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

impl ApiKey {
    pub fn to_wire(&self) -> proto::ApiKey {
        proto::ApiKey {
            id: self.id.clone(),
            name: self.name.clone(),
            tenant: self.tenant_slug.clone(),
            prefix: self.prefix.clone(),
            created_at: rfc3339(self.created_at),
            last_used_at: self.last_used_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
        }
    }
}

/// One audit event. Written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: String,
    pub at: UnixTime,
    pub tenant: Option<String>,
    pub actor: String,
    pub kind: String,
    pub code: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub id: String,
    pub at: UnixTime,
    pub tenant: Option<String>,
    pub actor: String,
    pub kind: String,
    pub code: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
}

impl AuditRow {
    pub fn to_wire(&self) -> proto::AuditEvent {
        proto::AuditEvent {
            id: self.id.clone(),
            at: rfc3339(self.at),
            tenant: self.tenant.clone(),
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            code: self.code.clone(),
            user_id: self.user_id.clone(),
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
            details: serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Filters of the audit listing; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
    /// The stable error code of a refusal, e.g. `login.sso_required`.
    pub code: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
    /// Return events older than this sequence number (the page cursor).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A tenant's connection to an identity provider; `settings` is the protocol's JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Connection {
    pub id: String,
    pub tenant_id: String,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    pub settings: String,
    /// Protocol-neutral provisioning settings (JSON; see [`crate::identity::provisioning`]).
    pub provisioning: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A login started with one connection, waiting (single-use) for the IdP's answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingLogin {
    /// The AuthnRequest ID, matched against the response's InResponseTo.
    pub id: String,
    pub tenant_id: String,
    pub connection_id: String,
    /// The opaque RelayState sent with the request.
    pub relay_state: String,
    /// Hash of the browser-binding cookie the login was started with, if any.
    pub browser_binding: Option<String>,
    /// Where to send the browser afterwards (already validated as a same-origin path).
    pub return_to: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// The upgrade invitation this login was started from.
    #[sqlx(default)]
    pub invitation_id: Option<String>,
    /// `None` for a sign-in; [`PURPOSE_TEST`] for a console test (reported, no session).
    #[sqlx(default)]
    pub purpose: Option<String>,
}

/// The purpose of a console or setup-portal test sign-in (`pending_logins.purpose`).
pub const PURPOSE_TEST: &str = "test";

/// A setup link for a customer's IT admin (`setup_links`): one tenant, one person, expiring,
/// revocable, finished once. The token and the claim cookie are kept as SHA-256 only.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SetupLink {
    pub id: String,
    pub tenant_id: String,
    pub token_hash: Vec<u8>,
    /// Whom the link is for (shown to admins).
    pub note: String,
    /// The actor label of the admin who created it.
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub claim_hash: Option<Vec<u8>>,
    pub claimed_at: Option<UnixTime>,
    /// The connection the IT admin created through the link (the only one it may change).
    pub connection_id: Option<String>,
    pub used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

/// The link from an IdP subject (per connection) to a user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FederatedIdentity {
    pub tenant_id: String,
    pub connection_id: String,
    pub federation_id: String,
    pub user_id: String,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
}

/// Where a message of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt, or kept by the embedded outbox transport.
    Queued,
    Sent,
    /// Given up after the maximum number of attempts; `last_error` says why.
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for OutboxStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            _ => Err(format!("unknown outbox status `{s}`")),
        }
    }
}

/// One email of the outbox (plain text; the transport adds the sender and headers).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub tenant_id: String,
    #[sqlx(rename = "to_address")]
    pub to: String,
    pub subject: String,
    #[sqlx(rename = "body_text")]
    pub body: String,
    #[sqlx(try_from = "String")]
    pub status: OutboxStatus,
    pub created_at: UnixTime,
    pub next_attempt_at: UnixTime,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<UnixTime>,
}

impl OutboxMessage {
    pub fn to_wire(&self, tenant_slug: &str) -> proto::OutboxMessage {
        proto::OutboxMessage {
            id: self.id.clone(),
            tenant: tenant_slug.to_owned(),
            to: self.to.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            status: self.status.as_str().to_owned(),
            attempts: self.attempts,
            created_at: rfc3339(self.created_at),
            next_attempt_at: (self.status == OutboxStatus::Queued)
                .then(|| rfc3339(self.next_attempt_at)),
            last_error: self.last_error.clone(),
            sent_at: self.sent_at.map(rfc3339),
        }
    }
}

/// A long-lived per-user API token (the secret itself is only ever shown once).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

impl ApiToken {
    pub fn to_wire(&self) -> proto::ApiToken {
        proto::ApiToken {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
            last_used_at: self.last_used_at.map(rfc3339),
            revoked_at: self.revoked_at.map(rfc3339),
        }
    }
}

/// What a [`UserLink`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Move a password account to SSO; never expires, can be declined and resumed.
    Invitation,
    EmailConfirmation,
    PasswordReset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::EmailConfirmation => "email_confirmation",
            Self::PasswordReset => "password_reset",
        }
    }
}

impl TryFrom<String> for LinkPurpose {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "invitation" => Self::Invitation,
            "email_confirmation" => Self::EmailConfirmation,
            "password_reset" => Self::PasswordReset,
            _ => return Err(format!("unknown link purpose `{s}`")),
        })
    }
}

/// A link emailed to a user (invitation, email confirmation, password reset). Only the token's
/// hash is used for lookups; an invitation also keeps the token sealed so admins can show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserLink {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    #[sqlx(try_from = "String")]
    pub purpose: LinkPurpose,
    pub sealed_token: Option<String>,
    pub connection_id: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub used_at: Option<UnixTime>,
    pub declined_at: Option<UnixTime>,
}

/// How a browser starts an SSO login: where to go afterwards, the upgrade invitation it carries,
/// and the browser-binding cookie value.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginStart<'a> {
    pub return_to: Option<&'a str>,
    pub invitation_id: Option<&'a str>,
    pub browser_binding: Option<&'a str>,
    /// A console test (`pending_logins.purpose = 'test'`): verified, reported, no session.
    pub test: bool,
}

/// An email domain a tenant claims (see [`crate::domain`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantDomain {
    pub id: String,
    pub tenant_id: String,
    /// Normalised: lowercase ASCII (IDN as punycode), no trailing dot.
    pub domain: String,
    /// `pending` or `verified`.
    pub state: String,
    pub challenge_token: String,
    pub verified_at: Option<UnixTime>,
    /// `dns` or `operator`.
    pub verified_by: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl TenantDomain {
    pub fn verified(&self) -> bool {
        self.state == "verified"
    }

    pub fn to_wire(&self) -> proto::TenantDomain {
        proto::TenantDomain {
            domain: self.domain.clone(),
            state: self.state.clone(),
            challenge_record: format!("{}{}", crate::domain::CHALLENGE_PREFIX, self.domain),
            challenge_value: self.challenge_token.clone(),
            verified_at: self.verified_at.map(rfc3339),
            verified_by: self.verified_by.clone(),
            created_at: rfc3339(self.created_at),
        }
    }
}

/// A site of hosted content (see [`crate::content`]): one host of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentSite {
    pub id: String,
    pub tenant_id: String,
    /// Lowercase host name, no port.
    pub host: String,
    pub connection_id: Option<String>,
    pub sso_enabled: bool,
    /// Whether `/auth/check` answers carry a signed identity JWT (off by default).
    pub identity_jwt: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A registered contact of one site (email case folded): signs in by an emailed link.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentContact {
    pub id: String,
    pub site_id: String,
    pub email: String,
    pub created_at: UnixTime,
}

impl ContentContact {
    pub fn to_wire(&self) -> proto::Contact {
        proto::Contact {
            id: self.id.clone(),
            email: self.email.clone(),
            created_at: rfc3339(self.created_at),
        }
    }
}

/// A protected resource of a site: `kind` and `audience` as in [`crate::content::decide`].
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentResource {
    pub id: String,
    pub tenant_id: String,
    pub site_id: String,
    pub kind: String,
    pub path: String,
    pub audience: String,
    /// JSON array of list ids.
    pub list_ids: String,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A list of contacts (by email) of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContentList {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: UnixTime,
}

impl ContentSite {
    pub fn to_wire(&self) -> proto::Site {
        proto::Site {
            id: self.id.clone(),
            host: self.host.clone(),
            connection_id: self.connection_id.clone(),
            sso_enabled: self.sso_enabled,
            identity_jwt: self.identity_jwt,
            created_at: rfc3339(self.created_at),
        }
    }
}

impl ContentResource {
    pub fn to_wire(&self) -> proto::Resource {
        proto::Resource {
            id: self.id.clone(),
            kind: self.kind.clone(),
            path: self.path.clone(),
            audience: self.audience.clone(),
            lists: serde_json::from_str(&self.list_ids).unwrap_or_default(),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

impl ContentList {
    pub fn to_wire(&self) -> proto::ContactList {
        proto::ContactList {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: rfc3339(self.created_at),
        }
    }
}
