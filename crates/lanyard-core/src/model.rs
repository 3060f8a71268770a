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
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl User {
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
