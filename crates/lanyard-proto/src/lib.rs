//! Wire types of Lanyard's admin API and session endpoint, shared by the server and the CLI.
//!
//! Timestamps are RFC 3339 strings in UTC so that this crate stays serde-only. Request bodies
//! refuse unknown fields: a typo in an admin script must fail loudly, not be ignored.
//!
//! The types are grouped by area ([`tenants`], [`connections`], [`provisioning`], [`errors`]) and
//! all re-exported here, so `lanyard_proto::User` is the path to use.

pub mod apps;
pub mod connections;
pub mod content;
pub mod errors;
pub mod provisioning;
pub mod tenants;

pub use apps::*;
pub use connections::*;
pub use content::*;
pub use errors::*;
pub use provisioning::*;
pub use tenants::*;

use serde::{Deserialize, Deserializer, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One page of a listing; pass `next_cursor` back as `cursor` to get the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A listing that fits one page (roles, connections, keys, tokens): every list in the API
    /// has this one shape, so clients page through all of them the same way.
    pub fn all(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}

/// Distinguishes a field that is absent (`None`) from one that is `null` (`Some(None)`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
