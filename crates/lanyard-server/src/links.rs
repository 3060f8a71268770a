//! Links people get by email: the upgrade invitation to SSO (`/t/{tenant}/invite/{token}`),
//! email confirmation (`/t/{tenant}/confirm/{token}`) and password reset
//! (`/t/{tenant}/reset/{token}`). Each GET shows a page and changes nothing (mail scanners
//! fetch links); the POST acts, with the login-CSRF double-submit cookie.

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::pages::{self, ConfirmPage, InvitePage, NoticePage, ResetPage};
use crate::signin::{
    begin_sso, cookie, default_landing, invitation_cookie_name, login_csrf_cookie_name,
};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;
use lanyard_core::Error;
use lanyard_core::model::LinkPurpose;
use lanyard_core::secret::{constant_time_eq, random_token};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/t/{tenant}/invite/{token}",
            get(invite_page).post(invite_submit),
        )
        .route(
            "/t/{tenant}/confirm/{token}",
            get(confirm_page).post(confirm_submit),
        )
        .route(
            "/t/{tenant}/reset/{token}",
            get(reset_page).post(reset_submit),
        )
        .layer(DefaultBodyLimit::max(16 * 1024))
}

/// How long an accepted invitation waits for the remote login to come back.
const INVITATION_COOKIE_SECS: i64 = 15 * 60;

/// The form's CSRF token: the existing cookie's, or a new one (set on the response).
fn csrf(s: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let existing = jar
        .get(login_csrf_cookie_name(s))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let token = existing.unwrap_or_else(random_token);
    let jar = jar.add(cookie(
        s,
        login_csrf_cookie_name(s).to_owned(),
        token.clone(),
        3600,
        SameSite::Strict,
    ));
    (jar, token)
}

fn csrf_ok(s: &AppState, jar: &CookieJar, presented: &str) -> bool {
    let c = jar
        .get(login_csrf_cookie_name(s))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    !c.is_empty() && constant_time_eq(c.as_bytes(), presented.as_bytes())
}

/// A notice page; the title, message and link label are catalogue keys, shown in the
/// request's language.
fn notice(title: &str, message: &str, link: Option<(&str, &str)>) -> Response {
    let t = crate::i18n::Tr::current();
    pages::render(
        StatusCode::OK,
        &NoticePage {
            title: t.t(title),
            message: t.t(message),
            link: link.map(|(label, href)| (t.t(label), href)),
        },
    )
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
}

async fn invite_page(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let inv = s.lanyard.invitation(&tenant, &token).await?;
    let (jar, csrf) = csrf(&s, jar);
    let action = format!("/t/{tenant}/invite/{token}");
    let page = InvitePage {
        tenant_name: &inv.opened.tenant.name,
        username: &inv.opened.user.username,
        connection_name: &inv.connection.name,
        declined: inv.opened.link.declined_at.is_some(),
        action: &action,
        csrf_token: &csrf,
    };
    Ok((jar, pages::render(StatusCode::OK, &page)).into_response())
}

async fn invite_submit(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<InviteForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(Error::CsrfInvalid.into());
    };
    if !csrf_ok(&s, &jar, &form.csrf_token) {
        return Err(Error::CsrfInvalid.into());
    }
    match form.action.as_str() {
        "accept" => {
            let inv = s.lanyard.invitation(&tenant, &token).await?;
            let res = begin_sso(
                &s,
                &jar,
                &tenant,
                &inv.connection.slug,
                None,
                Some(&inv.opened.link.id),
                &meta,
            )
            .await?;
            if inv.connection.kind != lanyard_core::connection::KIND_JWT {
                return Ok(res);
            }
            let c = cookie(
                &s,
                invitation_cookie_name(&s).to_owned(),
                s.lanyard.invitation_cookie(&inv.opened.link.id),
                INVITATION_COOKIE_SECS,
                SameSite::Lax,
            );
            Ok((CookieJar::new().add(c), res).into_response())
        }
        "decline" => {
            let o = s.lanyard.decline_invitation(&tenant, &token, &meta).await?;
            let back = format!("/t/{tenant}/invite/{token}");
            let msg = if o.tenant.sso_required {
                "pg-invite-later-required"
            } else {
                "pg-invite-later"
            };
            Ok(notice(
                "pg-invite-decline",
                msg,
                Some(("pg-invite-connect-now", &back)),
            ))
        }
        _ => Err(Error::invalid("action", "must be accept or decline").into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

async fn confirm_page(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let o = s
        .lanyard
        .open_link(&tenant, LinkPurpose::EmailConfirmation, &token)
        .await?;
    let (jar, csrf) = csrf(&s, jar);
    let action = format!("/t/{tenant}/confirm/{token}");
    let page = ConfirmPage {
        tenant_name: &o.tenant.name,
        username: &o.user.username,
        action: &action,
        csrf_token: &csrf,
    };
    Ok((jar, pages::render(StatusCode::OK, &page)).into_response())
}

async fn confirm_submit(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let presented = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    if !csrf_ok(&s, &jar, &presented) {
        return Err(Error::CsrfInvalid.into());
    }
    s.lanyard.confirm_email(&tenant, &token, &meta).await?;
    let login = default_landing(&tenant);
    Ok(notice(
        "pg-confirmed-title",
        "pg-confirmed",
        Some(("pg-sign-in", &login)),
    ))
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn reset_page(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let o = s
        .lanyard
        .open_link(&tenant, LinkPurpose::PasswordReset, &token)
        .await?;
    Ok(reset_form(
        &s,
        jar,
        &o.tenant.name,
        &o.user.username,
        &tenant,
        &token,
        None,
    ))
}

fn reset_form(
    s: &AppState,
    jar: CookieJar,
    tenant_name: &str,
    username: &str,
    tenant: &str,
    token: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (jar, csrf) = csrf(s, jar);
    let action = format!("/t/{tenant}/reset/{token}");
    let (status, error) = match error {
        Some((st, e)) => (st, Some(e)),
        None => (StatusCode::OK, None),
    };
    let page = ResetPage {
        tenant_name,
        username,
        action: &action,
        csrf_token: &csrf,
        error,
    };
    (jar, pages::render(status, &page)).into_response()
}

async fn reset_submit(
    State(s): State<AppState>,
    Path((tenant, token)): Path<(String, String)>,
    Meta(meta): Meta,
    jar: CookieJar,
    form: Result<Form<ResetForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(Error::CsrfInvalid.into());
    };
    if !csrf_ok(&s, &jar, &form.csrf_token) {
        return Err(Error::CsrfInvalid.into());
    }
    let o = s
        .lanyard
        .open_link(&tenant, LinkPurpose::PasswordReset, &token)
        .await?;
    if form.password != form.password2 {
        return Ok(reset_form(
            &s,
            jar,
            &o.tenant.name,
            &o.user.username,
            &tenant,
            &token,
            Some((
                StatusCode::BAD_REQUEST,
                crate::i18n::Tr::current().t("pg-reset-differ").into(),
            )),
        ));
    }
    match s
        .lanyard
        .reset_password(&tenant, &token, &form.password, &meta)
        .await
    {
        Ok(_) => {
            let login = default_landing(&tenant);
            Ok(notice(
                "pg-reset-done-title",
                "pg-reset-done",
                Some(("pg-sign-in", &login)),
            ))
        }
        Err(e @ Error::Invalid { .. }) => Ok(reset_form(
            &s,
            jar,
            &o.tenant.name,
            &o.user.username,
            &tenant,
            &token,
            Some((StatusCode::BAD_REQUEST, e.to_string())),
        )),
        Err(e) => Err(e.into()),
    }
}
