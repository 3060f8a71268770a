//! Who did what, from where: the context every domain operation receives and records.

use crate::clock::UnixTime;
use crate::model::{AuditRecord, new_id};

/// The party on whose authority an operation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An admin API key; `tenant_id` is `None` for an operator key.
    ApiKey {
        id: String,
        tenant_id: Option<String>,
    },
    /// A signed-in user acting on their own session.
    User {
        id: String,
        tenant_id: String,
    },
    /// A signed-in administrator in the admin console (`/admin`): a super admin has operator
    /// authority (`tenant_id` is `None`), a tenant's `admin` role that tenant's.
    Admin {
        id: String,
        tenant_id: Option<String>,
    },
    /// The customer's IT admin through a setup link (`/setup/{token}`): the connections of one
    /// tenant only, and nothing else of it.
    SetupLink {
        id: String,
        tenant_id: String,
    },
    /// `lanyard admin …` on the server itself: full authority, like the database owner.
    Cli,
    /// Lanyard itself (bootstrap, background jobs).
    System,
    Anonymous,
}

impl Actor {
    /// The one tenant a tenant-bound actor (API key, tenant admin) is held to. A setup link is
    /// not tenant-bound in this sense: it reaches no tenant operation, only connections.
    pub fn bound_tenant(&self) -> Option<&str> {
        match self {
            Self::ApiKey {
                tenant_id: Some(t), ..
            }
            | Self::Admin {
                tenant_id: Some(t), ..
            } => Some(t),
            _ => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::ApiKey { id, .. } => format!("api_key:{id}"),
            Self::User { id, .. } | Self::Admin { id, .. } => format!("user:{id}"),
            Self::SetupLink { id, .. } => format!("setup_link:{id}"),
            Self::Cli => "cli".into(),
            Self::System => "system".into(),
            Self::Anonymous => "anonymous".into(),
        }
    }
}

/// Facts about the request that the audit log keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
    /// The language the request stated (`?lang`, the language cookie, or an Accept-Language
    /// naming English or Japanese); emails it causes are written in it. `None`: it stated
    /// none (or there is no request), and emails use the tenant's language.
    pub lang: Option<crate::mail_text::Lang>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub actor: Actor,
    pub meta: RequestMeta,
}

impl Ctx {
    pub fn new(actor: Actor, meta: RequestMeta) -> Self {
        Self { actor, meta }
    }

    pub fn cli() -> Self {
        Self::new(Actor::Cli, RequestMeta::default())
    }

    pub fn system() -> Self {
        Self::new(Actor::System, RequestMeta::default())
    }

    /// Starts an audit record of `kind` at `at` for `tenant`.
    pub fn event(&self, at: UnixTime, tenant: Option<&str>, kind: &str) -> AuditRecord {
        AuditRecord {
            id: new_id(),
            at,
            tenant: tenant.map(str::to_owned),
            actor: self.actor.label(),
            kind: kind.to_owned(),
            code: None,
            user_id: None,
            ip: self.meta.ip.clone(),
            request_id: self.meta.request_id.clone(),
            details: serde_json::Value::Object(Default::default()),
        }
    }
}

impl AuditRecord {
    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}
