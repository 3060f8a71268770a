//! The routed entry points: the deployment's generic sign-in page `/login` (work email or
//! username, then the organisation when no verified domain names it, then the routing table)
//! and the direct sign-in page `/t/{tenant}/login/direct` (username, then password; never SSO).
//! Where each sends the person is `lanyard_core::access::routing::route`.

use crate::AppState;
use crate::error::PageError;
use crate::extract::{Client, Meta};
use crate::metrics::login_outcome;
use crate::pages::{self, DirectLoginPage, GenericLoginPage};
use crate::signin::login::{capitalise, direct_url, login_csrf, login_csrf_ok, sso_buttons};
use crate::signin::{cookie, default_landing, session_cookie_name};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;
use lanyard_core::access::routing::{EntryPoint, Route};
use lanyard_core::{Error, validate};
use serde::Deserialize;

/// Where a super admin's password sign-in from the generic page lands (the admin console).
pub const ADMIN_CONSOLE_PATH: &str = "/admin";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(generic_page).post(generic_submit))
        .route(
            "/t/{tenant}/login/direct",
            get(direct_page).post(direct_submit),
        )
        .layer(DefaultBodyLimit::max(16 * 1024))
}

#[derive(Deserialize)]
struct GenericQuery {
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct GenericForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct DirectQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct DirectForm {
    #[serde(default)]
    username: String,
    /// Absent on the first step (username only).
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    return_to: String,
}

#[allow(clippy::too_many_arguments)]
fn generic_form(
    s: &AppState,
    jar: CookieJar,
    status: StatusCode,
    return_to: &str,
    identifier: &str,
    organisation: &str,
    ask_organisation: bool,
    error: Option<&Error>,
) -> Response {
    let (jar, csrf) = login_csrf(s, jar);
    let page = GenericLoginPage {
        csrf_token: &csrf,
        return_to,
        identifier,
        organisation,
        ask_organisation,
        error: error.map(|e| capitalise(&crate::i18n::Tr::current().explain_error(e).0)),
        error_code: error.map(Error::code).unwrap_or(""),
    };
    let mut res = (jar, pages::render(status, &page)).into_response();
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

async fn generic_page(
    State(s): State<AppState>,
    q: Result<Query<GenericQuery>, axum::extract::rejection::QueryRejection>,
    jar: CookieJar,
) -> Response {
    let rt = q
        .ok()
        .and_then(|Query(q)| q.return_to)
        .and_then(|r| validate::return_to(&r))
        .unwrap_or_default();
    generic_form(&s, jar, StatusCode::OK, &rt, "", "", false, None)
}

async fn generic_submit(
    State(s): State<AppState>,
    Client(client): Client,
    jar: CookieJar,
    form: Result<Form<GenericForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Ok(generic_form(
            &s,
            jar,
            StatusCode::BAD_REQUEST,
            "",
            "",
            "",
            false,
            Some(&Error::CsrfInvalid),
        ));
    };
    let rt = validate::return_to(&form.return_to).unwrap_or_default();
    let identifier = form.identifier.trim();
    let organisation = form.organisation.trim();
    if !login_csrf_ok(&s, &jar, &form.csrf_token) {
        return Ok(generic_form(
            &s,
            jar,
            StatusCode::FORBIDDEN,
            &rt,
            identifier,
            organisation,
            !organisation.is_empty(),
            Some(&Error::CsrfInvalid),
        ));
    }
    if identifier.is_empty() || identifier.len() > 512 {
        let e = Error::invalid("identifier", "enter your work email or username");
        return Ok(generic_form(
            &s,
            jar,
            StatusCode::BAD_REQUEST,
            &rt,
            "",
            organisation,
            false,
            Some(&e),
        ));
    }
    // The organisation typed wins; else a verified email domain names the tenant.
    let slug = if organisation.is_empty() {
        s.lanyard
            .tenant_for_email(identifier)
            .await?
            .map(|t| t.slug)
    } else {
        Some(organisation.to_owned())
    };
    let Some(slug) = slug else {
        return Ok(generic_form(
            &s,
            jar,
            StatusCode::OK,
            &rt,
            identifier,
            "",
            true,
            None,
        ));
    };
    let routing = match s
        .lanyard
        .route_login(&slug, EntryPoint::GenericPage, Some(identifier), client)
        .await
    {
        Ok(r) => r,
        Err(e @ Error::TenantNotFound(_)) => {
            return Ok(generic_form(
                &s,
                jar,
                StatusCode::NOT_FOUND,
                &rt,
                identifier,
                organisation,
                true,
                Some(&e),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let slug = routing.tenant.slug.clone();
    Ok(match routing.route {
        Route::PasswordToConsole => direct_form(
            &s,
            jar,
            StatusCode::OK,
            &routing.tenant,
            ADMIN_CONSOLE_PATH,
            identifier,
            true,
            None,
            &[],
        ),
        Route::Sso => {
            let sso = sso_buttons(&s, &routing.tenant, &rt).await;
            match sso.as_slice() {
                [(_, href)] => Redirect::to(href).into_response(),
                _ => Redirect::to(&tenant_login_url(&slug, &rt)).into_response(),
            }
        }
        Route::DirectPage | Route::UsernameThenPassword => {
            Redirect::to(&direct_url(&slug, &rt, Some(identifier))).into_response()
        }
        Route::UsernameThenSso | Route::TenantPage => {
            Redirect::to(&tenant_login_url(&slug, &rt)).into_response()
        }
    })
}

fn tenant_login_url(slug: &str, return_to: &str) -> String {
    if return_to.is_empty() {
        default_landing(slug)
    } else {
        let rt: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        format!("/t/{slug}/login?return_to={rt}")
    }
}

#[allow(clippy::too_many_arguments)]
fn direct_form(
    s: &AppState,
    jar: CookieJar,
    status: StatusCode,
    tenant: &lanyard_core::model::Tenant,
    return_to: &str,
    username: &str,
    ask_password: bool,
    error: Option<&Error>,
    sso: &[(String, String)],
) -> Response {
    let (jar, csrf) = login_csrf(s, jar);
    let page = DirectLoginPage {
        tenant_slug: &tenant.slug,
        tenant_name: &tenant.name,
        csrf_token: &csrf,
        return_to,
        username,
        ask_password,
        error: error.map(|e| capitalise(&crate::i18n::Tr::current().explain_error(e).0)),
        error_code: error.map(Error::code).unwrap_or(""),
        error_help: error.and_then(|e| crate::i18n::Tr::current().explain_error(e).1),
        sso,
    };
    let mut res = (jar, pages::render(status, &page)).into_response();
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
        if let Error::Throttled { retry_after_secs } = e
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

async fn direct_page(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    q: Result<Query<DirectQuery>, axum::extract::rejection::QueryRejection>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let tenant = s.lanyard.tenant(&slug).await?;
    let (rt, username) = match q {
        Ok(Query(q)) => (
            q.return_to
                .and_then(|r| validate::return_to(&r))
                .unwrap_or_default(),
            q.username
                .map(|u| u.trim().chars().take(512).collect::<String>())
                .unwrap_or_default(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    let ask_password = !username.is_empty();
    Ok(direct_form(
        &s,
        jar,
        StatusCode::OK,
        &tenant,
        &rt,
        &username,
        ask_password,
        None,
        &[],
    ))
}

async fn direct_submit(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<DirectForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let tenant = s.lanyard.tenant(&slug).await?;
    let Ok(Form(form)) = form else {
        return Ok(direct_form(
            &s,
            jar,
            StatusCode::BAD_REQUEST,
            &tenant,
            "",
            "",
            false,
            Some(&Error::CsrfInvalid),
            &[],
        ));
    };
    let rt = validate::return_to(&form.return_to).unwrap_or_default();
    let username = form.username.trim();
    let Some(password) = form.password else {
        // First step: the username is known, ask for the password (nothing happens yet).
        return Ok(direct_form(
            &s,
            jar,
            StatusCode::OK,
            &tenant,
            &rt,
            username,
            !username.is_empty(),
            None,
            &[],
        ));
    };
    if !login_csrf_ok(&s, &jar, &form.csrf_token) {
        login_outcome("password", Error::CsrfInvalid.code());
        return Ok(direct_form(
            &s,
            jar,
            StatusCode::FORBIDDEN,
            &tenant,
            &rt,
            username,
            true,
            Some(&Error::CsrfInvalid),
            &[],
        ));
    }
    match s
        .lanyard
        .password_login(&slug, username, &password, &meta)
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
            let target = if rt.is_empty() {
                default_landing(&slug)
            } else {
                rt
            };
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
            // Refused because SSO is required: the way that works is offered (never redirected
            // to): the tenant's connections.
            let sso = if matches!(e, Error::SsoRequired) {
                sso_buttons(&s, &tenant, &rt).await
            } else {
                Vec::new()
            };
            Ok(direct_form(
                &s,
                jar,
                status,
                &tenant,
                &rt,
                username,
                true,
                Some(&e),
                &sso,
            ))
        }
        Err(e) => {
            login_outcome("password", e.code());
            Err(e.into())
        }
    }
}
