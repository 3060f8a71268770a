//! Wire types of Lanyard's admin API and session endpoint, shared by the server and the CLI.
//!
//! Timestamps are RFC 3339 strings in UTC so that this crate stays serde-only. Request bodies
//! refuse unknown fields: a typo in an admin script must fail loudly, not be ignored.

use serde::{Deserialize, Deserializer, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `user.not_found`.
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
    /// Correlates this response with the server's logs and audit events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One page of a listing; pass `next_cursor` back as `cursor` to get the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Tenant {
    pub id: String,
    /// URL-safe identifier used in `/t/{slug}/…`.
    pub slug: String,
    pub name: String,
    /// Absolute lifetime of a session in seconds (default 28800 = 8 hours).
    pub session_lifetime_secs: i64,
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
}

/// Distinguishes a field that is absent (`None`) from one that is `null` (`Some(None)`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
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

/// How the AuthnRequest reaches the IdP: a 302 redirect (DEFLATE in the URL) or an HTML form POST
/// (required by some IdPs, ADFS and Entra ID among them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestBinding {
    #[default]
    Redirect,
    Post,
}

/// A SAML 2.0 connection as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Connection {
    pub id: String,
    pub tenant: String,
    /// URL identifier, used in `/t/{tenant}/sso/{connection}/start`.
    pub slug: String,
    pub name: String,
    /// Always `saml` for now.
    pub kind: String,
    pub enabled: bool,
    /// Copy this into the IdP as the SP entity ID / Audience (it is also the metadata URL).
    pub sp_entity_id: String,
    /// Copy this into the IdP as the ACS (reply) URL.
    pub acs_url: String,
    /// This connection's SP metadata, for IdPs that import it.
    pub metadata_url: String,
    /// Where users start signing in with this connection.
    pub login_url: String,
    pub saml: SamlSettings,
    pub created_at: String,
    pub updated_at: String,
}

/// The SAML settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SamlSettings {
    /// The IdP entity ID (the Issuer of its responses).
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL, where AuthnRequests are sent.
    pub sso_url: String,
    /// The IdP's signing certificates (PEM); several are allowed during a rollover.
    pub certificates: Vec<String>,
    /// SHA-256 fingerprints of `certificates`, in the same order, to compare with the IdP.
    pub certificate_fingerprints: Vec<String>,
    /// Where the settings were last imported from, if from a metadata URL.
    pub idp_metadata_url: Option<String>,
    pub request_binding: RequestBinding,
    /// Accept responses the IdP sends without a request from Lanyard (default false).
    pub allow_idp_initiated: bool,
    /// Accept rsa-sha1 / sha1 signatures (default false; only for IdPs that cannot do better).
    pub allow_sha1: bool,
    /// Require the Assertion itself to be signed (default true).
    pub require_signed_assertions: bool,
    /// Allowed clock difference with the IdP in seconds (default 90).
    pub clock_skew_secs: u32,
    /// Create a user on first sign-in when no user is linked to the IdP's subject (default false).
    pub jit: bool,
    /// Attribute (Name or FriendlyName) holding the username for new users; the NameID if unset.
    pub username_attribute: Option<String>,
    /// Attribute holding the email address for new users.
    pub email_attribute: Option<String>,
    /// Attribute holding the display name for new users.
    pub display_name_attribute: Option<String>,
}

/// Creates (POST) or partially updates (PATCH) a SAML connection. On create `slug` and `name` are
/// required; the slug cannot change later (it is part of the SP entity ID and ACS URL). IdP
/// settings come from the fields, or are imported from `metadata_xml` or `metadata_url`; fields
/// given explicitly win over the metadata. A field left out of a PATCH is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionInput {
    /// 1-63 lowercase letters, digits and inner hyphens (create only).
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub idp_entity_id: Option<String>,
    #[serde(default)]
    pub sso_url: Option<String>,
    /// PEM certificates (or bare base64 DER), replacing the configured ones.
    #[serde(default)]
    pub certificates: Option<Vec<String>>,
    /// IdP metadata XML to import entity ID, SSO URL and certificates from.
    #[serde(default)]
    pub metadata_xml: Option<String>,
    /// An http(s) URL the server fetches the IdP metadata from (timeout 10 s, at most 1 MiB).
    #[serde(default)]
    pub metadata_url: Option<String>,
    #[serde(default)]
    pub request_binding: Option<RequestBinding>,
    #[serde(default)]
    pub allow_idp_initiated: Option<bool>,
    #[serde(default)]
    pub allow_sha1: Option<bool>,
    #[serde(default)]
    pub require_signed_assertions: Option<bool>,
    #[serde(default)]
    pub clock_skew_secs: Option<u32>,
    #[serde(default)]
    pub jit: Option<bool>,
    /// `null` clears (the NameID is then the username).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub username_attribute: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email_attribute: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub display_name_attribute: Option<Option<String>>,
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
