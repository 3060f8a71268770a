//! The registration audience's sign-in on Lanyard's host: `GET /content/link?site=…&return_to=…`
//! asks for the email, `POST /content/link` mails a one-time link to a registered contact of the
//! site and answers the same page whether or not the email is registered. The link leads to the
//! site's own `/_lanyard/callback?link=…` (see [`super::callback`]).

use crate::AppState;
use crate::error::PageError;
use crate::pages::{self, ContentLinkPage, NoticePage};
use crate::signin::login::{login_csrf, login_csrf_ok};
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::content::contacts::Lang;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct LinkQuery {
    site: String,
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    site: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf_token: String,
}

fn safe_return(raw: Option<&str>) -> String {
    raw.and_then(lanyard_core::validate::return_to)
        .unwrap_or_else(|| "/".to_owned())
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    res
}

pub(super) async fn form(
    State(s): State<AppState>,
    jar: CookieJar,
    Query(q): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let site = s
        .lanyard
        .store
        .site_by_id(&q.site)
        .await?
        .ok_or_else(|| Error::SiteNotFound(q.site.chars().take(64).collect()))?;
    let (jar, csrf) = login_csrf(&s, jar);
    let ret = safe_return(q.return_to.as_deref());
    let page = ContentLinkPage {
        host: &site.host,
        site_id: &site.id,
        return_to: &ret,
        csrf_token: &csrf,
        email: "",
        error: None,
        error_code: "",
    };
    Ok(no_store(
        (jar, pages::render(StatusCode::OK, &page)).into_response(),
    ))
}

pub(super) async fn send(
    State(s): State<AppState>,
    crate::extract::Meta(meta): crate::extract::Meta,
    jar: CookieJar,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    let site = s
        .lanyard
        .store
        .site_by_id(&f.site)
        .await?
        .ok_or_else(|| Error::SiteNotFound(f.site.chars().take(64).collect()))?;
    let ret = safe_return(Some(&f.return_to));
    let again = |jar: CookieJar, e: &Error| {
        let (jar, csrf) = login_csrf(&s, jar);
        let page = ContentLinkPage {
            host: &site.host,
            site_id: &site.id,
            return_to: &ret,
            csrf_token: &csrf,
            email: &f.email,
            error: Some(e.to_string()),
            error_code: e.code(),
        };
        no_store((jar, pages::render(StatusCode::BAD_REQUEST, &page)).into_response())
    };
    if !login_csrf_ok(&s, &jar, &f.csrf_token) {
        return Ok(again(jar, &Error::CsrfInvalid));
    }
    // The same negotiation as the pages (`?lang=`, the switch's cookie, `Accept-Language`),
    // but only a stated choice: without one the mail takes the site's tenant's language.
    let lang: Option<Lang> = meta.lang;
    match s
        .lanyard
        .request_contact_link(&site.id, &f.email, &ret, lang)
        .await
    {
        Ok(()) => {}
        Err(e @ Error::Invalid { .. }) => return Ok(again(jar, &e)),
        Err(e) => return Err(e.into()),
    }
    let t = crate::i18n::Tr::current();
    let msg = t.f(
        "pg-content-sent",
        [("email", f.email.trim()), ("host", &site.host)],
    );
    let page = NoticePage {
        title: t.t("pg-content-sent-title"),
        message: &msg,
        link: None,
    };
    Ok(no_store(pages::render(StatusCode::OK, &page)))
}
