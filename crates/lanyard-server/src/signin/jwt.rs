//! JWT remote login: `/t/{tenant}/jwt/{connection}/verify` (where the remote login sends the
//! visitor back with a token) and the start of a login (`/t/{tenant}/sso/{connection}/start`
//! dispatches here for JWT connections, see [`crate::signin`]).
//!
//! The token arrives in the query string (`jwt`, `code`, `id_token` or `access_token`); the
//! query is read raw so that a repeated or second, different token is noticed and refused.

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::metrics::login_outcome;
use crate::signin::signed_in;
use crate::signin::{invitation_cookie_name, removal};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::error::JwtError;
use lanyard_core::signin::jwt::JwtVerifyRequest;
use lanyard_core::signin::jwt::token::{
    MAX_HEADER_BYTES, MAX_QUERY_BYTES, MAX_REDIRECT_URL_BYTES, pick_token,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/jwt/{connection}/verify", get(verify))
        .route("/t/{tenant}/jwt/{connection}/start", get(start_route))
}

fn public(s: &AppState) -> String {
    s.config.public_url.as_str().to_owned()
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Sends the visitor to the remote login URL (302), asking it to come back to the verify URL.
pub(crate) async fn start(
    s: &AppState,
    tenant: &str,
    conn: &str,
    page: Option<&str>,
    meta: &lanyard_core::RequestMeta,
) -> Result<Response, PageError> {
    match s
        .lanyard
        .jwt_start(tenant, conn, page, &public(s), meta)
        .await
    {
        Ok(url) => {
            let mut res = StatusCode::FOUND.into_response();
            let v = HeaderValue::from_str(&url)
                .map_err(|_| Error::Internal("remote login URL is not a valid header".into()))?;
            res.headers_mut().insert(header::LOCATION, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(e) => {
            login_outcome("jwt", e.code());
            Err(e.into())
        }
    }
}

async fn start_route(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
    Meta(meta): Meta,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = query_pairs(raw.as_deref());
    let page = pairs
        .iter()
        .find(|(k, _)| k == "redirect_url" || k == "return_to")
        .map(|(_, v)| v.as_str());
    start(&s, &tenant, &conn, page, &meta).await
}

/// The size of a request's header section as sent (name, `: `, value, CRLF per field).
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum()
}

/// Lanyard's own size limits on what reaches the verify URL, checked before anything is
/// decoded: an oversize header section or query, or an oversize `redirect_url`. (Each token
/// parameter is checked by [`pick_token`].) A refusal goes through the login like any other:
/// error page with its code, metric and audit event.
fn oversize(headers: &HeaderMap, raw: Option<&str>) -> Option<JwtError> {
    let too_large =
        |part, max, got| (got > max).then_some(JwtError::RequestTooLarge { part, max, got });
    too_large("header section", MAX_HEADER_BYTES, header_bytes(headers))
        .or_else(|| too_large("query", MAX_QUERY_BYTES, raw.map_or(0, str::len)))
}

async fn verify(
    State(s): State<AppState>,
    Path((tenant, conn)): Path<(String, String)>,
    Meta(meta): Meta,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // A request far larger than any token is refused before its query is decoded.
    let refused = oversize(&headers, raw.as_deref());
    let pairs = if refused.is_some() {
        Vec::new()
    } else {
        query_pairs(raw.as_deref())
    };
    let redirect_url = pairs
        .iter()
        .find(|(k, _)| k == "redirect_url")
        .map(|(_, v)| v.as_str());
    let refused = refused.or_else(|| {
        let got = redirect_url.map_or(0, str::len);
        (got > MAX_REDIRECT_URL_BYTES).then_some(JwtError::RequestTooLarge {
            part: "redirect_url",
            max: MAX_REDIRECT_URL_BYTES,
            got,
        })
    });
    let picked = match refused {
        Some(e) => Err(e),
        None => pick_token(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    };
    let public = public(&s);
    let invitation_cookie = invitation_cookie_name(&s);
    let invitation = jar
        .get(invitation_cookie)
        .and_then(|c| s.lanyard.invitation_from_cookie(c.value()));
    let req = JwtVerifyRequest {
        token: picked.as_ref().map(|t| *t),
        redirect_url,
        public_url: &public,
        invitation_id: invitation.as_deref(),
    };
    // The invitation rides along on one attempt only.
    let jar = if invitation.is_some() {
        jar.add(removal(&s, invitation_cookie.to_owned()))
    } else {
        jar
    };
    match s.lanyard.jwt_verify(&tenant, &conn, &req, &meta).await {
        Ok(login) => {
            login_outcome("jwt", "ok");
            crate::metrics::provisioning_outcome("jwt", login.provisioning);
            let mut res = signed_in(&s, jar, login.session, login.return_to);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The token is in this URL: do not pass it on to the next page.
            res.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            Ok(res)
        }
        Err(e) => {
            login_outcome("jwt", e.code());
            Ok((jar, PageError::from(e)).into_response())
        }
    }
}
