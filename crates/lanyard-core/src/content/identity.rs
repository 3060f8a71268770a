//! The optional signed identity on a forward-auth 200 (`X-Lanyard-Identity`, per-site setting,
//! off by default): a JWT the site's app verifies with Lanyard's `/oauth2/jwks`, so it need not
//! trust the plain `X-Lanyard-*` headers alone. Signed with the OpenID provider's current ES256
//! key (both provider keys are published; ES256 signs in microseconds where RSA-2048 takes about
//! a millisecond, which matters on a per-request path). Lives [`IDENTITY_TTL_SECS`].

use super::decide::{Visitor, VisitorKind};
use crate::Lanyard;
use crate::error::Result;
use crate::model::ContentSite;
use serde::Serialize;

/// Lifetime of an identity JWT: it is meant for the request it came with.
pub const IDENTITY_TTL_SECS: i64 = 60;
/// The JOSE `typ` of an identity JWT (not an ID or access token).
pub const IDENTITY_TYP: &str = "lanyard-identity+jwt";
/// The algorithm it is signed with.
pub const IDENTITY_ALG: &str = "ES256";

/// The claims of an identity JWT.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IdentityClaims {
    /// Lanyard's public URL.
    pub iss: String,
    /// The site's host.
    pub aud: String,
    /// The user's id, or `contact:{id}` for a registered contact.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Ids of the tenant's lists the email is on.
    pub lists: Vec<String>,
    /// `sso` or `contact`.
    pub via: String,
    pub iat: i64,
    pub exp: i64,
}

impl Lanyard {
    /// The signed identity of `visitor` for `site`.
    pub async fn content_identity_jwt(
        &self,
        site: &ContentSite,
        visitor: &Visitor,
    ) -> Result<String> {
        let keys = self.provider_keys().await?;
        let now = self.now();
        let claims = IdentityClaims {
            iss: self.public_url().to_owned(),
            aud: site.host.clone(),
            sub: visitor.user_id.clone(),
            email: visitor.email.clone(),
            lists: visitor.lists.clone(),
            via: match visitor.kind {
                VisitorKind::Sso => "sso",
                VisitorKind::Contact => "contact",
            }
            .to_owned(),
            iat: now,
            exp: now + IDENTITY_TTL_SECS,
        };
        keys.sign(IDENTITY_ALG, IDENTITY_TYP, &claims)
    }
}
