//! Local password sign-in, the session endpoint and logout: `/t/{tenant}/…`.

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::extract::{Client, Meta};
use crate::metrics::login_outcome;
use crate::pages::{self, LoginPage, SignedInPage};
use crate::signin::{
    cookie, default_landing, login_csrf_cookie_name, removal, session_cookie_name,
};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;
use lanyard_core::access::routing::{EntryPoint, Route};
use lanyard_core::clock::rfc3339;
use lanyard_core::secret::{constant_time_eq, random_token};
use lanyard_core::{Error, validate};
use lanyard_proto::{SessionInfo, SessionUser};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/login", get(login_page).post(login_submit))
        .route("/t/{tenant}/logout", post(logout))
        .route("/t/{tenant}/recover", get(recover))
        .route("/t/{tenant}/session", get(session_json))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    return_to: Option<String>,
    /// `login`: show the form even to a signed-in person (the OpenID provider's prompt=login
    /// and max_age ask for a fresh sign-in).
    #[serde(default)]
    prompt: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

async fn login_page(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<LoginQuery>,
    Client(client): Client,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let tenant = s.lanyard.tenant(&slug).await?;
    let return_to = q.return_to.as_deref().and_then(validate::return_to);
    if q.prompt.as_deref() != Some("login")
        && let Some(token) = jar
            .get(&session_cookie_name(&s, &slug))
            .map(|c| c.value().to_owned())
    {
        let view = match s.lanyard.session(&slug, &token).await {
            Ok(view) => view,
            Err(e) => {
                let ended = session_ended_notice(&e);
                return ended_or_form(&s, jar, &tenant, return_to.as_deref(), ended, client).await;
            }
        };
        {
            if let Some(target) = return_to {
                return Ok(Redirect::to(&target).into_response());
            }
            let expires = rfc3339(view.expires_at);
            let csrf = s.lanyard.csrf_token(&token);
            let page = SignedInPage {
                tenant_slug: &tenant.slug,
                tenant_name: &tenant.name,
                username: &view.username,
                role: view.role.as_deref().unwrap_or("(none)"),
                auth_method: &view.auth_method,
                expires_at: &expires,
                csrf_token: &csrf,
            };
            return Ok(pages::render(StatusCode::OK, &page));
        }
    }
    ended_or_form(&s, jar, &tenant, return_to.as_deref(), None, client).await
}

/// What the sign-in page says (in the request's language) when the browser's session ended
/// under it.
fn session_ended_notice(e: &Error) -> Option<&'static str> {
    match e {
        Error::SessionExpired => Some(crate::i18n::Tr::current().t("pg-session-expired")),
        Error::SessionRevoked => Some(crate::i18n::Tr::current().t("pg-session-revoked")),
        _ => None,
    }
}

/// The recovery cookie: a one-time token that makes the "log out and sign in again" link
/// GET-safe (a page elsewhere cannot know it). SameSite=Strict: the link is on our page.
pub(crate) fn recover_cookie_name(s: &AppState) -> &'static str {
    if s.config.secure_cookies() {
        "__Host-lanyard_recover"
    } else {
        "lanyard_recover"
    }
}

/// The sign-in page, with the "session ended" notice and its recovery link when `ended`.
async fn ended_or_form(
    s: &AppState,
    jar: CookieJar,
    tenant: &lanyard_core::model::Tenant,
    return_to: Option<&str>,
    ended: Option<&'static str>,
    client: Option<lanyard_core::access::client_ip::ClientAddr>,
) -> Result<Response, PageError> {
    let slug = tenant.slug.clone();
    let rt = return_to.unwrap_or("");
    let Some(notice) = ended else {
        return tenant_form(s, jar, tenant, rt, client).await;
    };
    let token = random_token();
    let jar = jar.add(cookie(
        s,
        recover_cookie_name(s).to_owned(),
        token.clone(),
        600,
        SameSite::Strict,
    ));
    let (jar, csrf) = login_csrf(s, jar);
    let sso = sso_buttons(s, tenant, rt).await;
    let recover = format!("/t/{slug}/recover?token={token}");
    let page = LoginPage {
        tenant_slug: &slug,
        tenant_name: &tenant.name,
        csrf_token: &csrf,
        return_to: rt,
        username: "",
        error: None,
        error_code: "",
        error_help: None,
        sso: &sso,
        password_form: true,
        notice: Some(notice),
        recover_href: Some(&recover),
    };
    Ok((jar, pages::render(StatusCode::OK, &page)).into_response())
}

/// `GET /t/{tenant}/recover?token=…`: "log out and sign in again". Clears the Lanyard session
/// cookie (and the sign-in's other cookies) and restarts sign-in. GET-safe: it acts only with
/// the one-time token of the recovery cookie, which it removes.
async fn recover(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    q: Result<Query<RecoverQuery>, axum::extract::rejection::QueryRejection>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let tenant = s.lanyard.tenant(&slug).await?;
    let given = q.map(|Query(q)| q.token).unwrap_or_default();
    let expected = jar
        .get(recover_cookie_name(&s))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(Error::CsrfInvalid.into());
    }
    let jar = jar
        .add(removal(&s, session_cookie_name(&s, &tenant.slug)))
        .add(removal(&s, recover_cookie_name(&s).to_owned()))
        .add(removal(&s, login_csrf_cookie_name(&s).to_owned()));
    Ok((jar, Redirect::to(&default_landing(&tenant.slug))).into_response())
}

#[derive(Deserialize)]
struct RecoverQuery {
    #[serde(default)]
    token: String,
}

async fn tenant_form(
    s: &AppState,
    jar: CookieJar,
    tenant: &lanyard_core::model::Tenant,
    rt: &str,
    client: Option<lanyard_core::access::client_ip::ClientAddr>,
) -> Result<Response, PageError> {
    let slug = tenant.slug.clone();
    // The tenant URL's row of the routing table (network masks; see access::routing).
    let routing = s
        .lanyard
        .route_login(&slug, EntryPoint::TenantUrl, None, client)
        .await?;
    let sso = sso_buttons(s, tenant, rt).await;
    let password_form = match routing.route {
        Route::Sso => {
            if let [(_, href)] = sso.as_slice() {
                return Ok(Redirect::to(href).into_response());
            }
            false
        }
        Route::UsernameThenPassword => {
            return Ok(Redirect::to(&direct_url(&slug, rt, None)).into_response());
        }
        _ => true,
    };
    Ok(form_response(
        s,
        jar,
        &tenant.slug,
        &tenant.name,
        rt,
        "",
        None,
        &sso,
        password_form,
    ))
}

/// The direct sign-in page's URL, carrying the return path and the username typed so far.
pub(crate) fn direct_url(slug: &str, return_to: &str, username: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !return_to.is_empty() {
        q.append_pair("return_to", return_to);
    }
    if let Some(u) = username {
        q.append_pair("username", u);
    }
    let q = q.finish();
    if q.is_empty() {
        format!("/t/{slug}/login/direct")
    } else {
        format!("/t/{slug}/login/direct?{q}")
    }
}

/// The sign-in form, with a login-CSRF token in a cookie and a hidden field (double submit).
/// The tenant's enabled connections as sign-in buttons (name, start URL with `return_to`).
pub(crate) async fn sso_buttons(
    s: &AppState,
    tenant: &lanyard_core::model::Tenant,
    return_to: &str,
) -> Vec<(String, String)> {
    let conns = match s.lanyard.store.list_connections(&tenant.id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                code = e.code(),
                "cannot list connections for the sign-in page: {e}"
            );
            return Vec::new();
        }
    };
    conns
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| {
            let mut href = format!("/t/{}/sso/{}/start", tenant.slug, c.slug);
            if !return_to.is_empty() {
                href.push_str("?return_to=");
                href.push_str(
                    &url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>(),
                );
            }
            (c.name, href)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn form_response(
    s: &AppState,
    jar: CookieJar,
    slug: &str,
    name: &str,
    return_to: &str,
    username: &str,
    error: Option<(StatusCode, &Error)>,
    sso: &[(String, String)],
    password_form: bool,
) -> Response {
    let (jar, csrf) = login_csrf(s, jar);
    let (status, message, code, help) = match error {
        Some((status, e)) => {
            let (message, help) = crate::i18n::Tr::current().explain_error(e);
            (status, Some(message), e.code(), help)
        }
        None => (StatusCode::OK, None, "", None),
    };
    let page = LoginPage {
        tenant_slug: slug,
        tenant_name: name,
        csrf_token: &csrf,
        return_to,
        username,
        error: message.map(|m| capitalise(&m)),
        error_code: code,
        error_help: help,
        sso,
        password_form,
        notice: None,
        recover_href: None,
    };
    let mut res = (jar, pages::render(status, &page)).into_response();
    if let Some((_, e)) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

/// The login-CSRF token (double submit: a cookie and a hidden field), kept if the browser has
/// one already.
pub(crate) fn login_csrf(s: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let existing = jar
        .get(login_csrf_cookie_name(s))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let csrf = existing.unwrap_or_else(random_token);
    let jar = jar.add(cookie(
        s,
        login_csrf_cookie_name(s).to_owned(),
        csrf.clone(),
        3600,
        SameSite::Strict,
    ));
    (jar, csrf)
}

/// Whether the form's CSRF token matches the login-CSRF cookie.
pub(crate) fn login_csrf_ok(s: &AppState, jar: &CookieJar, submitted: &str) -> bool {
    let cookie_csrf = jar
        .get(login_csrf_cookie_name(s))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    !cookie_csrf.is_empty() && constant_time_eq(cookie_csrf.as_bytes(), submitted.as_bytes())
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

async fn login_submit(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let tenant = s.lanyard.tenant(&slug).await?;
    let Ok(Form(form)) = form else {
        return Ok(form_response(
            &s,
            jar,
            &tenant.slug,
            &tenant.name,
            "",
            "",
            Some((StatusCode::BAD_REQUEST, &Error::CsrfInvalid)),
            &[],
            true,
        ));
    };
    let return_to = validate::return_to(&form.return_to);
    let rt = return_to.as_deref().unwrap_or("");
    let sso = sso_buttons(&s, &tenant, rt).await;
    if !login_csrf_ok(&s, &jar, &form.csrf_token) {
        login_outcome("password", Error::CsrfInvalid.code());
        return Ok(form_response(
            &s,
            jar,
            &tenant.slug,
            &tenant.name,
            rt,
            &form.username,
            Some((StatusCode::FORBIDDEN, &Error::CsrfInvalid)),
            &sso,
            true,
        ));
    }
    match s
        .lanyard
        .password_login(&slug, &form.username, &form.password, &meta)
        .await
    {
        Ok(new) => {
            login_outcome("password", "ok");
            let max_age = new.session.expires_at - new.session.created_at;
            let jar = jar.add(cookie(
                &s,
                session_cookie_name(&s, &slug),
                new.token,
                max_age,
                SameSite::Lax,
            ));
            let target = return_to.unwrap_or_else(|| default_landing(&slug));
            Ok((jar, Redirect::to(&target)).into_response())
        }
        Err(Error::PasswordChangeRequired(url)) => {
            // The password was right, but a new one comes first: on to the reset page.
            login_outcome("password", "login.password_change_required");
            Ok(Redirect::to(&url).into_response())
        }
        Err(e @ (Error::InvalidCredentials | Error::Throttled { .. } | Error::SsoRequired)) => {
            login_outcome("password", e.code());
            let status = crate::error::status_of(e.kind());
            let mut res = form_response(
                &s,
                jar,
                &tenant.slug,
                &tenant.name,
                rt,
                &form.username,
                Some((status, &e)),
                &sso,
                true,
            );
            if let Error::Throttled { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        Err(e) => {
            login_outcome("password", e.code());
            Err(e.into())
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let name = session_cookie_name(&s, &slug);
    let Some(token) = jar.get(&name).map(|c| c.value().to_owned()) else {
        return Ok(Redirect::to(&default_landing(&slug)).into_response());
    };
    let csrf = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    match s.lanyard.logout(&slug, &token, &csrf, &meta).await {
        Ok(ended) => {
            // A session from an OpenID provider also ends there (RP-initiated logout); the local
            // session is already gone whatever the provider does.
            let target = match s
                .lanyard
                .idp_logout_url(&ended, s.config.public_url.as_str())
                .await
            {
                Ok(Some(url)) => url,
                Ok(None) => default_landing(&slug),
                Err(e) => {
                    tracing::warn!(code = e.code(), "cannot build the provider logout URL: {e}");
                    default_landing(&slug)
                }
            };
            Ok((jar.add(removal(&s, name)), Redirect::to(&target)).into_response())
        }
        Err(Error::CsrfInvalid) => Err(Error::CsrfInvalid.into()),
        // Already expired, revoked or unknown: nothing to end; drop the stale cookie.
        Err(
            Error::NoSession
            | Error::SessionExpired
            | Error::SessionRevoked
            | Error::SessionWrongTenant,
        ) => Ok((
            jar.add(removal(&s, name)),
            Redirect::to(&default_landing(&slug)),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /t/{tenant}/session`: the current session as JSON, or 401 with the reason's code.
async fn session_json(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    // A script acting as the user: `Authorization: Bearer lyt_…` (a per-user API token). Other
    // Authorization values (a proxy's Basic credentials, say) are not ours: the cookie decides.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(lanyard_core::session::api_token::API_TOKEN_PREFIX));
    if let Some(token) = bearer {
        let (t, u, tok) = s.lanyard.authenticate_api_token(&slug, token).await?;
        let info = SessionInfo {
            tenant: t.slug,
            user: SessionUser {
                id: u.id,
                username: u.username,
                email: u.email,
                display_name: u.display_name,
                role: u.role,
            },
            auth_method: "api_token".into(),
            created_at: rfc3339(tok.created_at),
            expires_at: rfc3339(tok.expires_at),
            csrf_token: String::new(),
        };
        let mut res = Json(info).into_response();
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(res);
    }
    let token = jar
        .get(&session_cookie_name(&s, &slug))
        .map(|c| c.value().to_owned())
        .ok_or(Error::NoSession)?;
    let view = s.lanyard.session(&slug, &token).await?;
    let info = SessionInfo {
        tenant: view.tenant_slug.clone(),
        user: SessionUser {
            id: view.user_id.clone(),
            username: view.username.clone(),
            email: view.email.clone(),
            display_name: view.display_name.clone(),
            role: view.role.clone(),
        },
        auth_method: view.auth_method.clone(),
        created_at: rfc3339(view.created_at),
        expires_at: rfc3339(view.expires_at),
        csrf_token: s.lanyard.csrf_token(&token),
    };
    let mut res = Json(info).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
