//! Lanyard as the OpenID provider of the SaaS's apps: discovery, JWKS, authorization (with the
//! resume after sign-in), token, UserInfo, revocation, introspection, RP-initiated logout,
//! dynamic client registration; and the back-channel logout sender. Errors are answered the
//! OAuth way ([`oauth`]): JSON `{error, error_description}` at the back-channel endpoints, a
//! redirect with `error` and `iss` once the client and its redirect URI are known good, and a
//! page otherwise.

mod discovery;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/oauth2/jwks", get(discovery::jwks))
        .layer(DefaultBodyLimit::max(64 * 1024))
}

/// The issuer: the deployment's public URL without a trailing slash.
pub(crate) fn issuer(s: &AppState) -> String {
    s.config
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}
