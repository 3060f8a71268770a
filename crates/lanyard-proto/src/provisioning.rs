//! How identities become users: provisioning settings and role mapping, federated identities,
//! per-user API tokens, upgrade invitations and the mail outbox.

use crate::present;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Which identity provider's attribute names to expect where none are configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AttributePreset {
    /// Common names of every preset (`email`, `mail`, the claims URIs, …).
    #[default]
    Generic,
    Okta,
    /// Entra ID (Azure AD): claims URIs, `roles`, `oid`.
    Entra,
    /// Google Workspace.
    Google,
}

/// Whether the role claim sets the role only when the account is created, or at every login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleSync {
    #[default]
    AtCreation,
    /// A role the claims grant (role table, or a role named by the claim) replaces the role at
    /// each sign-in; no match leaves the role as it is (never demotes to the default).
    EveryLogin,
    /// CData Arc's order, at every sign-in: the role the claims grant, else the default role,
    /// else no role (a user whose claim no longer grants anything drops to the default).
    EveryLoginDefault,
}

/// One row of a connection's role table: a role-claim value and the tenant role it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    /// The value the IdP sends (compared exactly, e.g. `Lanyard-Admins`).
    pub value: String,
    /// A role of the tenant.
    pub role: String,
}

/// How identities from a connection become users. Every protocol uses the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Provisioning {
    pub attribute_preset: AttributePreset,
    /// SAML: the attribute whose value is the federation ID (`null`: the NameID). OIDC uses
    /// `key_claim`, JWT remote login `sub`.
    pub federation_id_attribute: Option<String>,
    /// The claim or attribute holding role values (`null`: the preset's names, e.g. `role`,
    /// `roles`, the Entra role claim URI).
    pub role_claim: Option<String>,
    /// Role-claim values mapped to tenant roles; the first row that matches wins.
    pub role_mapping: Vec<RoleMapping>,
    /// The role of a new account when no row matches (`null`: no role).
    pub default_role: Option<String>,
    pub role_sync: RoleSync,
    /// The role claim's values may name tenant roles directly (compared case-insensitively; the
    /// first value, in the order sent, that names a role wins). Role-table rows come first.
    #[serde(default)]
    pub role_claim_is_role_name: bool,
    /// Refuse to create an account just in time without an email (default: SAML yes, others no).
    pub jit_requires_email: bool,
    /// Acceptable authentication contexts: SAML AuthnContextClassRef values, OIDC `acr` or
    /// `amr` values (e.g. `mfa`); a login with none of them is refused (`login.mfa_required`).
    /// Empty: no requirement.
    #[serde(default)]
    pub required_authn_contexts: Vec<String>,
}

/// A change to a connection's provisioning; a field left out is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProvisioningInput {
    #[serde(default)]
    pub attribute_preset: Option<AttributePreset>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub federation_id_attribute: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub role_claim: Option<Option<String>>,
    #[serde(default)]
    pub role_mapping: Option<Vec<RoleMapping>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub default_role: Option<Option<String>>,
    #[serde(default)]
    pub role_sync: Option<RoleSync>,
    #[serde(default)]
    pub role_claim_is_role_name: Option<bool>,
    #[serde(default)]
    pub jit_requires_email: Option<bool>,
    /// Replaces the list of acceptable authentication contexts (`[]`: no requirement).
    #[serde(default)]
    pub required_authn_contexts: Option<Vec<String>>,
}

/// A user's link to one connection: the IdP subject that signs in as this user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedIdentity {
    /// The connection's slug.
    pub connection: String,
    pub federation_id: String,
    pub created_at: String,
    pub last_login_at: Option<String>,
}

/// `PUT /api/v1/tenants/{tenant}/users/{user}/federated-identities/{connection}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetFederatedIdentity {
    pub federation_id: String,
}

/// A long-lived API token of one user, for scripts acting as that user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiToken {
    pub name: String,
    /// 1-730 days; default 365.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// Returned once, at creation: the token itself is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedApiToken {
    pub api_token: ApiToken,
    pub token: String,
}

/// `POST /api/v1/tenants/{tenant}/invitations`: invite password users to move to SSO.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInvitations {
    /// The connection the invitation signs in with; may be left out when the tenant has exactly
    /// one enabled connection.
    #[serde(default)]
    pub connection: Option<String>,
    /// User IDs or usernames to invite; leave out (with `all: true`) to invite every password
    /// user who is not on SSO yet.
    #[serde(default)]
    pub users: Option<Vec<String>>,
    #[serde(default)]
    pub all: bool,
}

/// An upgrade invitation as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Invitation {
    pub id: String,
    pub user_id: String,
    pub username: String,
    /// `pending`, `declined` (can still be resumed from the same link) or `accepted`.
    pub status: String,
    /// The link the user follows (also emailed when the user has an email).
    pub url: String,
    /// The connection's slug.
    pub connection: Option<String>,
    pub created_at: String,
    pub declined_at: Option<String>,
    pub accepted_at: Option<String>,
    /// Whether an email with the link was queued.
    pub emailed: bool,
}

/// One email of a tenant's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OutboxMessage {
    pub id: String,
    pub tenant: String,
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// `queued` (waiting, or kept because no SMTP server is configured), `sent`, or `failed`
    /// (given up after the maximum number of attempts).
    pub status: String,
    /// Failed delivery attempts so far.
    pub attempts: i64,
    pub created_at: String,
    /// When the next attempt is due; `null` once sent or given up.
    pub next_attempt_at: Option<String>,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}
