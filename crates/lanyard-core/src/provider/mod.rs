//! Lanyard as the OpenID provider (authorization server) of the SaaS's apps, on top of the
//! sessions it already has: apps ([`apps`]), signing keys ([`keys`]), PKCE ([`pkce`]), the
//! authorization request and its resume after sign-in ([`authorize`]), tokens and claims
//! ([`tokens`]), and logout with the back-channel queue ([`logout`]).
//!
//! Every token is tied to a grant (one authorization of one app by one Lanyard session): the
//! grant dies when the session ends (logout, admin revocation, user disabled, SSO upgrade,
//! password change) and every refresh, UserInfo and introspection call checks it, so what was
//! issued from a session stops working at once.

pub mod apps;
pub mod authorize;
pub mod device;
pub mod keys;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod tokens;

/// Lifetime of ID tokens and access tokens (RFC 9068 JWTs).
pub const TOKEN_TTL_SECS: i64 = 600;
/// Lifetime of an authorization code (single use).
pub const CODE_TTL_SECS: i64 = 60;
/// How long a person has to sign in before an authorization request is forgotten.
pub const AUTH_REQUEST_TTL_SECS: i64 = 900;
/// Lifetime of a refresh token (each use rotates it; the session's end ends it sooner).
pub const REFRESH_TTL_SECS: i64 = 30 * 86_400;

/// The scopes this provider knows.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// The claims ID tokens and UserInfo may carry.
pub const CLAIMS: [&str; 18] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "org_id",
    "org",
    "role",
    "groups",
    "amr",
    "acr",
];
