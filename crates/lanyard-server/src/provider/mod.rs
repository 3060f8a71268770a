//! Lanyard as the OpenID provider of the SaaS's apps: discovery, JWKS, authorization (with the
//! resume after sign-in), token, UserInfo, revocation, introspection, RP-initiated logout,
//! dynamic client registration; and the back-channel logout sender. Errors are answered the
//! OAuth way ([`oauth`]): JSON `{error, error_description}` at the back-channel endpoints, a
//! redirect with `error` and `iss` once the client and its redirect URI are known good, and a
//! page otherwise.

mod authorize;
mod device;
mod discovery;
mod logout;
mod oauth;
mod register;
mod token;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use logout::{LogoutReport, send_due_logouts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/oauth2/jwks", get(discovery::jwks))
        .route(
            "/oauth2/device",
            post(device::authorize_device).options(oauth::preflight),
        )
        .route(
            device::DEVICE_PATH,
            get(device::device_page).post(device::device_decide),
        )
        .route("/oauth2/authorize", get(authorize::authorize))
        .route(authorize::RESUME_PATH, get(authorize::resume))
        .route(
            "/oauth2/token",
            post(token::token).options(oauth::preflight),
        )
        .route(
            "/oauth2/userinfo",
            get(token::userinfo)
                .post(token::userinfo)
                .options(oauth::preflight),
        )
        .route(
            "/oauth2/revoke",
            post(token::revoke).options(oauth::preflight),
        )
        .route("/oauth2/introspect", post(token::introspect))
        .route("/oauth2/logout", get(logout::logout).post(logout::logout))
        .route("/oauth2/register", post(register::register))
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
