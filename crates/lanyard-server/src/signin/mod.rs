//! The ways in: password login ([`login`]), SAML ([`saml`]), OpenID Connect ([`oidc`]) and JWT
//! remote login ([`jwt`]), one module each. What they share lives here: the start of a login at
//! `/t/{tenant}/sso/{connection}/start` for every kind of connection, and the cookies. A surface
//! imports from here, never from another surface.

pub mod api_tokens;
pub mod entry;
pub mod jwt;
pub mod login;
pub mod oidc;
pub mod saml;

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

/// Largest token-endpoint, JWKS or userinfo response read.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The browser binding for a login about to start (over https only): one per browser, reused by
/// concurrent logins (two tabs), renewed at each start.
pub(crate) fn browser_binding(s: &AppState, jar: &CookieJar) -> Option<String> {
    s.config
        .secure_cookies()
        .then(|| binding_cookie(jar).unwrap_or_else(lanyard_core::secret::random_token))
}

/// Sets the browser-binding cookie (SameSite=None: the IdP's answer may be a cross-site POST).
pub(crate) fn set_binding_cookie(
    s: &AppState,
    res: &mut Response,
    binding: Option<String>,
    max_age_secs: i64,
) {
    if let Some(b) = binding {
        let c = cookie(
            s,
            BINDING_COOKIE.to_owned(),
            b,
            max_age_secs,
            SameSite::None,
        );
        if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// A finished federated login: the session cookie, and a redirect to the page asked for (or the
/// tenant's default page).
pub(crate) fn signed_in(
    s: &AppState,
    jar: CookieJar,
    new: lanyard_core::session::NewSession,
    return_to: Option<String>,
) -> Response {
    let max_age = new.session.expires_at - new.session.created_at;
    let jar = jar.add(cookie(
        s,
        session_cookie_name(s, &new.tenant.slug),
        new.token,
        max_age,
        SameSite::Lax,
    ));
    let target = return_to.unwrap_or_else(|| default_landing(&new.tenant.slug));
    (jar, Redirect::to(&target)).into_response()
}

/// Every sign-in route: the start for any kind of connection and each protocol's own routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/sso/{connection}/start", get(start))
        .merge(login::router())
        .merge(entry::router())
        .merge(saml::router())
        .merge(jwt::router())
        .merge(oidc::router())
}

/// The session cookie of one tenant. Over https it carries the `__Host-` prefix, which the
/// browser only accepts with `Secure`, `Path=/` and no `Domain`: no subdomain can plant or read it.
pub fn session_cookie_name(state: &AppState, tenant: &str) -> String {
    if state.config.secure_cookies() {
        format!("__Host-lanyard_session_{tenant}")
    } else {
        format!("lanyard_session_{tenant}")
    }
}

pub(crate) fn login_csrf_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        "__Host-lanyard_login_csrf"
    } else {
        "lanyard_login_csrf"
    }
}

pub(crate) fn cookie(
    state: &AppState,
    name: String,
    value: String,
    max_age_secs: i64,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(same_site)
        .max_age(time::Duration::seconds(max_age_secs.max(0)))
        .build()
}

pub(crate) fn removal(state: &AppState, name: String) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new(), 0, SameSite::Lax);
    c.make_removal();
    c
}

pub(crate) fn default_landing(slug: &str) -> String {
    format!("/t/{slug}/login")
}

/// Carries an accepted invitation through a JWT remote login (SAML and OIDC keep it in the
/// pending login instead). SameSite=Lax: the remote login's return is a top-level GET.
pub(crate) fn invitation_cookie_name(s: &AppState) -> &'static str {
    if s.config.secure_cookies() {
        "__Host-lanyard_invitation"
    } else {
        "lanyard_invitation"
    }
}

/// The browser-binding cookie: SameSite=None (the IdP's POST to the ACS is cross-site), so it
/// needs Secure and exists only when the public URL is https; `__Host-` keeps subdomains out.
pub const BINDING_COOKIE: &str = "__Host-lanyard_sso_binding";
pub(crate) const BINDING_MAX_AGE_SECS: i64 = lanyard_core::signin::saml::PENDING_LOGIN_TTL_SECS;

pub(crate) fn binding_cookie(jar: &CookieJar) -> Option<String> {
    jar.get(BINDING_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    return_to: Option<String>,
}

async fn start(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
    Meta(meta): Meta,
    jar: CookieJar,
    q: Result<Query<StartQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let return_to = q.ok().and_then(|Query(q)| q.return_to);
    begin_sso(&s, &jar, &tenant, &conn, return_to.as_deref(), None, &meta).await
}

/// Starts a login with the connection `conn` of whatever kind, optionally carrying the upgrade
/// invitation it was started from (SAML and OIDC keep it in the pending login).
pub(crate) async fn begin_sso(
    s: &AppState,
    jar: &CookieJar,
    tenant: &str,
    conn: &str,
    return_to: Option<&str>,
    invitation_id: Option<&str>,
    meta: &lanyard_core::RequestMeta,
) -> Result<Response, PageError> {
    match s.lanyard.connection_kind(tenant, conn).await?.as_deref() {
        Some(lanyard_core::connection::KIND_JWT) => {
            return jwt::start(s, tenant, conn, return_to, meta).await;
        }
        Some(lanyard_core::connection::KIND_OIDC) => {
            return oidc::start(s, jar, tenant, conn, return_to, invitation_id, false, meta).await;
        }
        _ => {}
    }
    saml::start(s, jar, tenant, conn, return_to, invitation_id, false, meta).await
}

/// Starts a console test sign-in with the SAML or OIDC connection `conn` (it may be disabled
/// still): verified like a sign-in at the ACS or callback, then reported; no session
/// (`lanyard_core::console::test`).
pub(crate) async fn begin_test(
    s: &AppState,
    jar: &CookieJar,
    tenant: &str,
    conn: &str,
    oidc: bool,
    meta: &lanyard_core::RequestMeta,
) -> Result<Response, PageError> {
    if oidc {
        return oidc::start(s, jar, tenant, conn, None, None, true, meta).await;
    }
    saml::start(s, jar, tenant, conn, None, None, true, meta).await
}
