//! SAML 2.0 sign-in: SP metadata, the start of SP-initiated login and the assertion consumer.
//! `/t/{tenant}/saml/{connection}/…` and `/t/{tenant}/sso/{connection}/start`.
//!
//! The ACS is a cross-site POST from the IdP, so it reads no SameSite=Lax cookie: the pending
//! login is found server-side by the response's InResponseTo (checked against RelayState), in the
//! store. Over https the start also sets a SameSite=None binding cookie that the ACS requires,
//! so a response cannot complete a login in a browser that did not start it (login CSRF).

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::metrics::login_outcome;
use crate::pages;
use crate::signin::{BINDING_MAX_AGE_SECS, binding_cookie};
use crate::signin::{browser_binding, set_binding_cookie, signed_in};
use axum::Router;
use axum::extract::rejection::RawFormRejection;
use axum::extract::{DefaultBodyLimit, Path, RawForm, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::signin::saml::{AcsOutcome, AcsPost, SamlStart};

/// Large enough for the biggest response the verifier accepts (256 KiB of XML, base64-encoded).
pub const ACS_BODY_LIMIT: usize = 512 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/saml/{connection}/metadata", get(sp_metadata))
        .route(
            "/t/{tenant}/saml/{connection}/acs",
            post(acs).layer(DefaultBodyLimit::max(ACS_BODY_LIMIT)),
        )
}

fn public(s: &AppState) -> String {
    s.config.public_url.as_str().to_owned()
}

async fn sp_metadata(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let xml = s
        .lanyard
        .saml_sp_metadata(&tenant, &conn, &public(&s))
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/samlmetadata+xml"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        xml,
    )
        .into_response())
}

/// Starts a SAML login: the AuthnRequest by redirect or by auto-submitted form, and (over https)
/// the browser-binding cookie. `test`: a console test (reported at the ACS, no session).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start(
    s: &AppState,
    jar: &CookieJar,
    tenant: &str,
    conn: &str,
    return_to: Option<&str>,
    invitation_id: Option<&str>,
    test: bool,
    meta: &lanyard_core::RequestMeta,
) -> Result<Response, PageError> {
    let binding = browser_binding(s, jar);
    let start = match s
        .lanyard
        .saml_start(
            tenant,
            conn,
            lanyard_core::model::LoginStart {
                return_to,
                invitation_id,
                browser_binding: binding.as_deref(),
                test,
            },
            &public(s),
            meta,
        )
        .await
    {
        Ok(start) => start,
        Err(e) => {
            login_outcome("saml", e.code());
            return Err(e.into());
        }
    };
    let mut res = match start {
        SamlStart::Redirect(url) => {
            // 302 (not 303): the IdP expects a plain GET of the SSO URL.
            let mut res = StatusCode::FOUND.into_response();
            let v = HeaderValue::from_str(&url)
                .map_err(|_| Error::Internal("IdP SSO URL is not a valid header".into()))?;
            res.headers_mut().insert(header::LOCATION, v);
            res
        }
        SamlStart::Post {
            sso_url,
            saml_request,
            relay_state,
        } => {
            let origin = url::Url::parse(&sso_url)
                .map(|u| u.origin().ascii_serialization())
                .map_err(|_| Error::Internal("stored IdP SSO URL does not parse".into()))?;
            pages::render_saml_post(&sso_url, &saml_request, &relay_state, &origin)
        }
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_binding_cookie(s, &mut res, binding, BINDING_MAX_AGE_SECS);
    Ok(res)
}

/// The ACS form's two fields (see [`crate::form`]).
struct AcsForm {
    saml_response: String,
    relay_state: Option<String>,
}

async fn acs(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    form: Result<RawForm, RawFormRejection>,
) -> Result<Response, PageError> {
    let parsed = form
        .as_ref()
        .ok()
        .map(|RawForm(body)| crate::form::fields(body, ["SAMLResponse", "RelayState"]));
    let form = match (parsed, form) {
        (Some(Some([saml_response, relay_state])), _) => AcsForm {
            saml_response: saml_response.unwrap_or_default(),
            relay_state,
        },
        (_, Err(r)) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            login_outcome("saml", "request.body_too_large");
            let mut res = pages::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.body_too_large",
                "The sign-in response is larger than this server accepts.",
            );
            res.extensions_mut()
                .insert(crate::error::ErrorCode("request.body_too_large"));
            return Ok(res);
        }
        // Not a form, or a field repeated: the verifier refuses the empty response, with its
        // code and an audit event.
        _ => AcsForm {
            saml_response: String::new(),
            relay_state: None,
        },
    };
    match s
        .lanyard
        .saml_acs(
            &tenant,
            &conn,
            &AcsPost {
                saml_response: &form.saml_response,
                relay_state: form.relay_state.as_deref(),
                browser_binding: binding_cookie(&jar).as_deref(),
                public_url: &public(&s),
            },
            &meta,
        )
        .await
    {
        Ok(AcsOutcome::SignedIn(login)) => {
            let login = *login;
            login_outcome("saml", "ok");
            crate::metrics::provisioning_outcome("saml", login.provisioning);
            Ok(signed_in(&s, jar, login.session, login.return_to))
        }
        Ok(AcsOutcome::Tested(report)) => {
            login_outcome("saml", "test");
            let lang = crate::i18n::Lang::of_request(&headers, &jar);
            Ok(pages::test_result(lang, &report))
        }
        Err(e) => {
            login_outcome("saml", e.code());
            Err(e.into())
        }
    }
}
