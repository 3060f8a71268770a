//! Apps (OAuth 2.0 / OpenID Connect clients) of Lanyard as the OpenID provider.

use crate::present;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An app that signs people in with Lanyard (an OAuth client). `client_id` is its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct App {
    pub client_id: String,
    pub name: String,
    /// A public app (SPA, CLI, mobile) has no secret and must use PKCE S256.
    pub public: bool,
    /// Exact redirect URIs (compared character for character).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where OpenID Back-Channel Logout tokens are POSTed when a session ends.
    pub backchannel_logout_uri: Option<String>,
    /// `authorization_code`, `refresh_token`.
    pub grant_types: Vec<String>,
    /// `RS256` (default) or `ES256`.
    pub id_token_alg: String,
    /// Tenant slugs that may use the app; `null`: every tenant.
    pub tenants: Option<Vec<String>>,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to creating an app (or rotating its secret): the secret is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedApp {
    #[serde(flatten)]
    pub app: App,
    /// Only for confidential apps; stored hashed, never shown again.
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Default: `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Default: `RS256`.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    /// Tenant slugs (or ids); absent: every tenant.
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub backchannel_logout_uri: Option<Option<String>>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub id_token_alg: Option<String>,
    /// `null`: every tenant.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub tenants: Option<Option<Vec<String>>>,
}
