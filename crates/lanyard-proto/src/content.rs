//! Private content behind SSO (issue 13): sites, protected resources, lists and members.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A site: one host name of one tenant, with its own SSO setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Site {
    pub id: String,
    /// Lowercase host name, e.g. `docs.acme.example`; one host belongs to one tenant.
    pub host: String,
    /// The connection that signs visitors in (its id), if any.
    pub connection_id: Option<String>,
    /// Off: SSO-required content is public and list content inaccessible; audiences are kept.
    pub sso_enabled: bool,
    /// Whether `/auth/check` answers carry a signed identity JWT (`X-Lanyard-Identity`).
    pub identity_jwt: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub host: String,
    /// Slug of the tenant's connection that signs visitors in.
    #[serde(default)]
    pub connection: Option<String>,
    #[serde(default)]
    pub sso_enabled: bool,
    /// Sign an identity JWT onto every `/auth/check` 200 (default off).
    #[serde(default)]
    pub identity_jwt: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    /// Slug of the connection; absent or null: none.
    #[serde(default)]
    pub connection: Option<String>,
    pub sso_enabled: bool,
    /// Absent: unchanged.
    #[serde(default)]
    pub identity_jwt: Option<bool>,
    /// Only answer the warnings the change would give; change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Something a change does that the admin should see before confirming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ContentWarning {
    /// `content.sso_off_makes_public`, `content.sso_off_closes_lists`,
    /// `content.registration_contacts_lose_access`.
    pub code: String,
    pub message: String,
    /// The resources concerned.
    pub paths: Vec<String>,
    /// With `content.registration_contacts_lose_access`: how many registered contacts of the
    /// site lose access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SiteChanged {
    /// False for a dry run: `site` is what it would become.
    pub applied: bool,
    pub site: Site,
    pub warnings: Vec<ContentWarning>,
}

/// A protected resource of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Resource {
    pub id: String,
    /// `page`, `landing`, `blog` (covers every post below its path) or `article`.
    pub kind: String,
    pub path: String,
    /// `public`, `registration`, `sso` or `sso_lists`.
    pub audience: String,
    /// Ids of the lists (with `sso_lists`).
    pub lists: Vec<String>,
    pub updated_at: String,
}

/// Sets the audience of resources, creating them as needed; several paths only for pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetResources {
    pub kind: String,
    pub paths: Vec<String>,
    pub audience: String,
    #[serde(default)]
    pub lists: Vec<String>,
    /// Only answer the warnings the change would give; change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResourcesChanged {
    /// False for a dry run: `items` are what they would become.
    pub applied: bool,
    pub items: Vec<Resource>,
    pub warnings: Vec<ContentWarning>,
}

/// A list of contacts by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ContactList {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateList {
    pub name: String,
}

/// CSV text: the first column of each line is an email; a header `email` is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportMembers {
    pub csv: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportResult {
    pub added: usize,
    pub errors: Vec<LineError>,
}

/// A registered contact of a site: signs in to its registration content by an emailed link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Contact {
    pub id: String,
    /// Case folded.
    pub email: String,
    pub created_at: String,
}
