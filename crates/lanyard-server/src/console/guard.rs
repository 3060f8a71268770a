//! The one gate every console form passes before it changes anything: an administrator session
//! of this browser that may act on the page's tenant (`/admin/t/{tenant}/…`, authorised by the
//! core as the admin API authorises a key), and the session's CSRF token in the posted form.
//! A handler taking [`TenantForm`] cannot forget either check. Operator pages (no tenant in
//! the path, e.g. `/admin/apps`) take [`OperatorForm`]: an operator (super admin) session of
//! this browser, and the CSRF token.

use super::posted::{Posted, value};
use super::{AdminSession, csrf_refused, for_operator, for_tenant};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang};
use axum::extract::{Form, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::RequestMeta;
use lanyard_core::model::Tenant;
use serde::de::DeserializeOwned;

/// A posted form that carries the CSRF token of the console session.
pub(crate) trait CsrfToken {
    fn csrf_token(&self) -> &str;
}

impl CsrfToken for Posted {
    fn csrf_token(&self) -> &str {
        value(self, "csrf_token")
    }
}

/// A console form for a tenant page that passed the session, role and CSRF checks, with what
/// the handler needs to answer (the request's language, the audit facts, the cookies).
pub(crate) struct TenantForm<F = Posted> {
    pub admin: AdminSession,
    pub tenant: Tenant,
    pub lang: Lang,
    pub meta: RequestMeta,
    pub jar: CookieJar,
    pub form: F,
}

impl<F> FromRequest<AppState> for TenantForm<F>
where
    F: DeserializeOwned + CsrfToken + Send,
{
    /// The sign-in redirect, the "not an administrator" page, the CSRF refusal, or the form's
    /// own rejection (malformed body, wrong content type).
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(PageLang(lang)) = PageLang::from_request_parts(&mut parts, s).await;
        let Ok(Meta(meta)) = Meta::from_request_parts(&mut parts, s).await;
        let Ok(jar) = CookieJar::from_request_parts(&mut parts, s).await;
        let params = RawPathParams::from_request_parts(&mut parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        // Every route using this extractor has `{tenant}`; one without it is a routing mistake.
        let Some(slug) = params
            .iter()
            .find(|(name, _)| *name == "tenant")
            .map(|(_, v)| v.to_owned())
        else {
            return Err(StatusCode::NOT_FOUND.into_response());
        };
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let (admin, tenant) = for_tenant(s, &jar, &meta, lang, &slug)
            .await
            .map_err(IntoResponse::into_response)?;
        if !admin.csrf_ok(s, form.csrf_token()) {
            return Err(csrf_refused(lang));
        }
        Ok(Self {
            admin,
            tenant,
            lang,
            meta,
            jar,
            form,
        })
    }
}

/// A console form of an operator page (no `{tenant}` in the path) that passed the session,
/// operator and CSRF checks: the sign-in redirect, `console.not_admin` (a tenant administrator
/// or anyone else) or `request.csrf_invalid` is answered before the handler runs.
pub(crate) struct OperatorForm<F = Posted> {
    pub admin: AdminSession,
    pub lang: Lang,
    pub meta: RequestMeta,
    pub form: F,
}

impl<F> FromRequest<AppState> for OperatorForm<F>
where
    F: DeserializeOwned + CsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(PageLang(lang)) = PageLang::from_request_parts(&mut parts, s).await;
        let Ok(Meta(meta)) = Meta::from_request_parts(&mut parts, s).await;
        let Ok(jar) = CookieJar::from_request_parts(&mut parts, s).await;
        let back = parts.uri.path().to_owned();
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let admin = for_operator(s, &jar, lang, &back)
            .await
            .map_err(IntoResponse::into_response)?;
        if !admin.csrf_ok(s, form.csrf_token()) {
            return Err(csrf_refused(lang));
        }
        Ok(Self {
            admin,
            lang,
            meta,
            form,
        })
    }
}
