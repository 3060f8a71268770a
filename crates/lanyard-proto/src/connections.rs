//! Connections to identity providers and their per-protocol settings (SAML 2.0, OpenID Connect,
//! JWT remote login).

use crate::present;
use crate::provisioning::{Provisioning, ProvisioningInput};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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

/// A connection to an identity provider as the admin API shows it (SAML 2.0 or JWT remote login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Connection {
    pub id: String,
    pub tenant: String,
    /// URL identifier, used in `/t/{tenant}/sso/{connection}/start`.
    pub slug: String,
    pub name: String,
    /// `saml` or `jwt`.
    pub kind: String,
    pub enabled: bool,
    /// SAML: copy this into the IdP as the SP entity ID / Audience (it is also the metadata URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_entity_id: Option<String>,
    /// SAML: copy this into the IdP as the ACS (reply) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acs_url: Option<String>,
    /// SAML: this connection's SP metadata, for IdPs that import it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
    /// JWT remote login: where the remote login sends the visitor back with the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
    /// Where users start signing in with this connection.
    pub login_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtSettings>,
    /// OIDC: the redirect URI to register at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSettings>,
    /// How identities from this connection become users (every kind).
    pub provisioning: Provisioning,
    pub created_at: String,
    pub updated_at: String,
}

/// The signing algorithm a JWT remote login uses (configured; the token's header must agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum JwtAlgorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
}

impl JwtAlgorithm {
    pub const ALL: [JwtAlgorithm; 8] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::ES256,
        Self::ES384,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
        }
    }

    /// HS256/384/512: a shared secret rather than a public key.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }
}

/// The settings of a JWT remote-login connection. The shared secret is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct JwtSettings {
    /// The remote login URL visitors are sent to (absolute https).
    pub login_url: String,
    pub algorithm: JwtAlgorithm,
    /// RS/ES: the public key (PEM) that verifies the tokens.
    pub public_key: Option<String>,
    /// HS: whether a shared secret is stored (it is sealed and never returned).
    pub secret_configured: bool,
    /// When set, the token's `iss` must equal it.
    pub issuer: Option<String>,
    /// When set, the token's `sub` must equal it.
    pub subject: Option<String>,
    /// When set, the token's `aud` must be exactly this value (or a list of only this value).
    pub audience: Option<String>,
    /// Allowed clock difference in seconds for exp/nbf/iat (default 60).
    pub clock_skew_secs: u32,
    /// Create a user on first sign-in when no user is linked to the token's subject (default false).
    pub jit: bool,
}

/// How Lanyard authenticates to the provider's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

/// The settings of an OpenID Connect connection. The client secret is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OidcSettings {
    pub issuer: String,
    pub discovery_url: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub jwks_uri: String,
    pub client_id: String,
    pub client_secret_configured: bool,
    pub token_endpoint_auth_method: TokenAuthMethod,
    /// Extra values that may appear in the ID token's `aud` besides the client ID.
    pub audience_uris: Vec<String>,
    pub scopes: String,
    /// The claim that is the federation ID (`sub`; `oid` for Entra ID).
    pub key_claim: String,
    pub allowed_algorithms: Vec<String>,
    /// RP-initiated logout URL (defaults to the end-session endpoint).
    pub logoff_url: Option<String>,
    /// Also call the userinfo endpoint (its `sub` must equal the ID token's).
    pub use_userinfo: bool,
    /// Google Workspace: the `hd` claim must equal this domain.
    pub hosted_domain: Option<String>,
    /// Claim used as the username of new users (default: the email, else the federation ID).
    pub username_claim: Option<String>,
    pub clock_skew_secs: u32,
    pub jit: bool,
    /// Refuse authorization responses without `iss` (RFC 9207); set at discovery import from
    /// `authorization_response_iss_parameter_supported`.
    #[serde(default)]
    pub require_iss: bool,
    /// Trust the `email` of a token that has no `email_verified` claim (Entra ID) when it is
    /// in one of the tenant's verified domains.
    #[serde(default)]
    pub trust_verified_domain_emails: bool,
    /// Pasted PEM certificates or public keys of the provider (public, so shown): when present,
    /// ID tokens are verified with these keys only and `jwks_uri` is never fetched.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
}

/// Creates (POST) or partially updates (PATCH) an OpenID Connect connection. Give
/// `discovery_url` (the Import action: the server fetches it and fills the endpoints; the
/// document's issuer must equal `issuer`) or the endpoints themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OidcConnectionInput {
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub discovery_url: Option<String>,
    /// The discovery document itself (filled by the server from `discovery_url`).
    #[serde(default)]
    pub discovery_json: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// Comma-separated extra `aud` values.
    #[serde(default)]
    pub audience_uris: Option<String>,
    /// Default `openid profile email`.
    #[serde(default)]
    pub scopes: Option<String>,
    #[serde(default)]
    pub key_claim: Option<String>,
    #[serde(default)]
    pub allowed_algorithms: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub logoff_url: Option<Option<String>>,
    #[serde(default)]
    pub use_userinfo: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub hosted_domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub username_claim: Option<Option<String>>,
    #[serde(default)]
    pub clock_skew_secs: Option<u32>,
    #[serde(default)]
    pub jit: Option<bool>,
    /// Refuse authorization responses without `iss` (RFC 9207). Default: the discovery
    /// document's `authorization_response_iss_parameter_supported` when one is imported,
    /// else unchanged (false on create).
    #[serde(default)]
    pub require_iss: Option<bool>,
    /// Trust the `email` of a token without `email_verified` (Entra ID sends none) when it is
    /// in one of the tenant's verified domains. Default: off.
    #[serde(default)]
    pub trust_verified_domain_emails: Option<bool>,
    /// PEM X.509 certificates or public keys (RSA ≥ 2048 bits, EC P-256/P-384, Ed25519) to
    /// verify ID tokens with instead of the JWKS URI; `[]` clears (then `jwks_uri` is needed).
    #[serde(default)]
    pub signing_certificates: Option<Vec<String>>,
    #[serde(default)]
    pub provisioning: Option<ProvisioningInput>,
}

/// Creates (POST) or partially updates (PATCH) a JWT remote-login connection. On create `slug`,
/// `name`, `login_url`, `algorithm` and `secret_key` are required. A field left out of a PATCH is
/// unchanged; changing `algorithm` between HS and RS/ES needs a new `secret_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JwtConnectionInput {
    /// 1-63 lowercase letters, digits and inner hyphens (create only).
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Absolute https URL (plain http only when the server runs in development mode).
    #[serde(default)]
    pub login_url: Option<String>,
    #[serde(default)]
    pub algorithm: Option<JwtAlgorithm>,
    /// HS*: the shared secret (at least 32/48/64 bytes for HS256/384/512); RS/ES: the public
    /// key as PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`). A private key is refused.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// `null` clears.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub issuer: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub audience: Option<Option<String>>,
    #[serde(default)]
    pub clock_skew_secs: Option<u32>,
    #[serde(default)]
    pub jit: Option<bool>,
    #[serde(default)]
    pub provisioning: Option<ProvisioningInput>,
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
    /// Require the Assertion itself to be signed (default false: a signed Response, which covers
    /// its Assertion, is enough; turn on to refuse responses whose Assertion is not signed).
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
    /// Sign AuthnRequests (rsa-sha256) for IdPs that require signed requests (default false).
    pub sign_requests: bool,
    /// The SP signing certificate (PEM) to upload to the IdP; present once signing was enabled.
    pub sp_certificate: Option<String>,
    /// Where the browser goes after signing out of a session that came from this connection
    /// (the IdP's logoff page, as CData Arc and others offer); none: the tenant's sign-in page.
    #[serde(default)]
    pub logoff_url: Option<String>,
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
    /// Sign AuthnRequests; turning it on generates the SP key and certificate.
    #[serde(default)]
    pub sign_requests: Option<bool>,
    /// An https URL (http only on a loopback host) the browser goes to after signing out of a
    /// session from this connection; `null` clears.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub logoff_url: Option<Option<String>>,
    #[serde(default)]
    pub provisioning: Option<ProvisioningInput>,
}

/// A setup link for a customer's IT admin (issue 14): it opens `/setup/{token}`, where one
/// person sets up this tenant's SSO connection and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SetupLink {
    pub id: String,
    pub tenant: String,
    /// Whom the link is for.
    pub note: String,
    /// `open`, `claimed` (opened in a browser), `used` (finished), `revoked` or `expired`.
    pub state: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub claimed_at: Option<String>,
    /// The ID of the connection set up through the link, once saved.
    pub connection_id: Option<String>,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `POST /api/v1/tenants/{tenant}/setup-links`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSetupLink {
    /// Whom the link is for (at most 200 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// 1 to 720 hours; 72 when not given.
    #[serde(default)]
    pub lifetime_hours: Option<i64>,
}

/// A new setup link and its URL: shown once (only a hash of its token is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedSetupLink {
    pub link: SetupLink,
    pub url: String,
}
