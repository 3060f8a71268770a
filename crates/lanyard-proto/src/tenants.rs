//! Tenants, roles, users, sessions, admin API keys and the audit trail.

use crate::present;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Tenant {
    pub id: String,
    /// URL-safe identifier used in `/t/{slug}/…`.
    pub slug: String,
    pub name: String,
    /// Absolute lifetime of a session in seconds (default 28800 = 8 hours).
    pub session_lifetime_secs: i64,
    /// Password login is refused for everyone but super admins while an SSO connection is enabled.
    pub sso_required: bool,
    /// The role collaborators get when they join SSO (`null`: no role).
    pub sso_default_role: Option<String>,
    /// Accounts created just in time must confirm their email before they can sign in.
    pub require_email_confirmation: bool,
    /// CIDR ranges (IPv4 and IPv6, canonical form) that decide where sign-in sends a client:
    /// inside a mask to SSO, outside to the password form. Empty: no mask rules.
    #[serde(default)]
    pub network_masks: Vec<String>,
    /// `en` or `ja`: the language of the tenant's emails when the request causing one states
    /// no language (no `?lang`, language cookie or Accept-Language naming either), and of those
    /// sent with no request (background jobs).
    #[serde(default = "default_language")]
    pub language: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub session_lifetime_secs: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub session_lifetime_secs: Option<i64>,
    #[serde(default)]
    pub sso_required: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub sso_default_role: Option<Option<String>>,
    #[serde(default)]
    pub require_email_confirmation: Option<bool>,
    /// Replaces the whole list. Each entry is a CIDR range with its prefix length and no host
    /// bits set (`192.0.2.0/24`, `2001:db8::/32`); at most 500.
    #[serde(default)]
    pub network_masks: Option<Vec<String>>,
    /// `en` or `ja` (anything else: `tenant.language_invalid`).
    #[serde(default)]
    pub language: Option<String>,
}

fn default_language() -> String {
    "en".into()
}

/// An email domain the tenant claims for home-realm discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TenantDomain {
    /// Normalised: lowercase, IDN as punycode, no trailing dot.
    pub domain: String,
    /// `pending` until the challenge is found (or an operator vouches), then `verified`.
    pub state: String,
    /// Publish a TXT record at this name …
    pub challenge_record: String,
    /// … holding exactly this value, then call `POST …/domains/{domain}/check`.
    pub challenge_value: String,
    pub verified_at: Option<String>,
    /// `dns` or `operator`.
    pub verified_by: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimDomain {
    /// An email domain (`example.com`, `bücher.example`); stored normalised.
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: String,
    pub tenant: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// The user's role in the tenant; `null` means the user needs one.
    pub role: Option<String>,
    pub super_admin: bool,
    pub disabled: bool,
    /// Whether the account can sign in with a local password.
    pub has_password: bool,
    pub password_changed_at: Option<String>,
    /// `none` (password only), `invited`, `declined` (both "not on SSO"), or `linked`.
    pub sso_state: String,
    /// Outside collaborators join SSO with the tenant's `sso_default_role`.
    pub collaborator: bool,
    /// `false` while an account created just in time has not confirmed its email.
    pub email_confirmed: bool,
    /// The password works although the tenant requires SSO, until the account links to a
    /// connection again (set when its only connection was removed or disconnected).
    #[serde(default)]
    pub sso_exempt: bool,
    /// The next password sign-in must choose a new password first.
    #[serde(default)]
    pub must_change_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    /// A local password (at least 12 characters). Omit for SSO-only accounts.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub super_admin: bool,
    #[serde(default)]
    pub collaborator: bool,
}

/// A partial update. A field left out is unchanged; `null` clears a clearable field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub role: Option<Option<String>>,
    /// Setting or clearing the password ends every session of the user.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Option<String>>,
    #[serde(default)]
    pub super_admin: Option<bool>,
    /// Disabling a user ends every session of the user.
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub collaborator: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Role {
    pub name: String,
    pub description: String,
    /// Seeded roles (admin, standard, support, viewer) cannot be deleted.
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    pub id: String,
    pub tenant: String,
    pub user_id: String,
    pub username: String,
    /// How the user authenticated: `password`, `saml`, `oidc`, `jwt`.
    pub auth_method: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// `null` for an operator key that may administer every tenant.
    pub tenant: Option<String>,
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
}

/// Returned once, at creation: the token itself is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    pub tenant: Option<String>,
    /// Who acted: `user:<id>`, `api_key:<id>`, `system`, or `anonymous`.
    pub actor: String,
    /// What happened, e.g. `login.succeeded`, `login.failed`, `user.updated`.
    pub kind: String,
    /// The stable error code of a refusal; `null` on success.
    pub code: Option<String>,
    /// The user the event is about, when there is one.
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// `GET /t/{tenant}/session`: who is signed in, until when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInfo {
    pub tenant: String,
    pub user: SessionUser,
    pub auth_method: String,
    pub created_at: String,
    pub expires_at: String,
    /// Send this as `csrf_token` with `POST /t/{tenant}/logout`.
    pub csrf_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionUser {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_user_tells_absent_from_null() {
        let patch: UpdateUser =
            serde_json::from_str(r#"{"role": null, "email": "a@b.test"}"#).unwrap();
        assert_eq!(patch.role, Some(None));
        assert_eq!(patch.email, Some(Some("a@b.test".into())));
        assert_eq!(patch.display_name, None);
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let err = serde_json::from_str::<CreateTenant>(r#"{"slug":"a","name":"A","colour":"red"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
