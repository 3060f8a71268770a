//! Forward-auth for private content (issue 13): the reverse proxy in front of a customer's
//! site asks `GET /auth/check` whether a request may through (nginx `auth_request`, Caddy
//! `forward_auth`, Traefik `forwardAuth`); the visitor signs in on Lanyard's host
//! (`GET /content/signin`) and comes back to the site's own host at
//! `GET /_lanyard/callback?code=…` (which the proxy forwards here), where a one-time code
//! becomes a cookie scoped to that host, so no third-party cookie is ever needed.
//!
//! Registration content sends visitors to `GET /content/link` instead ([`contact_link`]): a
//! registered contact gets an emailed one-time link that ends at the same callback.
//!
//! The original host and URI are read from the forwarding headers only when the socket peer
//! is a configured trusted proxy; identity headers (`X-Lanyard-*`) are only ever written,
//! never read.

mod contact_link;

use crate::AppState;
use crate::error::PageError;
use crate::signin::session_cookie_name;
use axum::Router;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use lanyard_core::Error;
use lanyard_core::access::routing::EntryPoint;
use lanyard_core::content::codes::Refusal;
use lanyard_core::content::decide::{Decision, SignInKind, Visitor};
use lanyard_core::content::original::{
    ForwardedHeaders, OriginalRequest, OriginalRequestError, original_request,
};
use lanyard_core::content::{CALLBACK_PATH, normalize_host};
use lanyard_core::model::ContentSite;
use serde::Deserialize;
use std::net::SocketAddr;

/// The site cookie: host-only (no Domain), HttpOnly, SameSite=Lax.
pub const SITE_COOKIE: &str = "lanyard_site";
/// How long a site cookie lives in the browser; the session behind it decides validity.
const SITE_COOKIE_MAX_AGE_SECS: i64 = 8 * 3600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/check", get(check))
        .route("/content/signin", get(signin))
        .route(
            "/content/link",
            get(contact_link::form).post(contact_link::send),
        )
        .route(CALLBACK_PATH, get(callback))
}

fn peer_trusted(parts: &Parts, s: &AppState) -> bool {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            parts
                .extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        });
    peer.is_some_and(|ip| {
        let ip = lanyard_core::access::client_ip::normalize(ip);
        s.config.trusted_proxies.iter().any(|n| n.contains(&ip))
    })
}

fn header<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

// The proxies' headers as constants: a lookup by `&str` parses the name on every request.
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");

/// The value of cookie `name` in the request's `Cookie` headers (the last one sent wins, as in
/// a `CookieJar`), read without building a jar of every cookie: `/auth/check` runs on every
/// request the proxy serves and needs one cookie.
fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim())
        .next_back()
}

/// The original request as the proxy describes it: nginx sends `Host` + `X-Original-URI`
/// (and `X-Original-Method` if configured); Caddy and Traefik `X-Forwarded-Host`,
/// `X-Forwarded-Uri`, `X-Forwarded-Method` and `X-Forwarded-Proto`. The path is made canonical
/// in [`lanyard_core::content::original`] (what the origin serves is what rules are matched on).
struct Original {
    host: String,
    /// The request target as sent, for the return address after sign-in.
    uri: String,
    /// The canonical path resource rules are matched against.
    path: String,
    /// The original method was GET or HEAD (or not stated): a redirect to sign in is safe.
    navigable: bool,
}

fn original(h: &HeaderMap) -> Result<Original, OriginalRequestError> {
    let OriginalRequest {
        host, uri, path, ..
    } = original_request(&ForwardedHeaders {
        x_forwarded_host: header(h, &X_FORWARDED_HOST),
        host: header(h, &header::HOST),
        x_original_uri: header(h, &X_ORIGINAL_URI),
        x_forwarded_uri: header(h, &X_FORWARDED_URI),
        x_forwarded_proto: header(h, &X_FORWARDED_PROTO),
    })?;
    let navigable = header(h, &X_FORWARDED_METHOD)
        .or_else(|| header(h, &X_ORIGINAL_METHOD))
        .is_none_or(|m| m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("HEAD"));
    Ok(Original {
        host,
        uri,
        path,
        navigable,
    })
}

/// A refusal in the admin API's error shape: a stable code and a sentence a person can act on.
fn refuse(status: StatusCode, r: Refusal) -> Response {
    answer(status, r.code(), &r.to_string(), true)
}

fn answer(status: StatusCode, code: &str, message: &str, gated: bool) -> Response {
    let mut res = (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response();
    if gated {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    res
}

/// The identity headers of a 200: all of them, empty when anonymous, so a proxy that copies
/// them always overwrites a copy the client sent (Caddy 2.6 otherwise leaves its placeholder
/// text or the client's value). `X-Lanyard-Identity` is the signed JWT when the site asks.
async fn identity_headers(
    s: &AppState,
    site: Option<&ContentSite>,
    visitor: Option<&Visitor>,
    h: &mut HeaderMap,
) {
    let (user, email, role, lists) = match visitor {
        Some(v) => (
            v.user_id.clone(),
            v.email.clone().unwrap_or_default(),
            v.role.clone().unwrap_or_default(),
            v.lists.join(","),
        ),
        None => Default::default(),
    };
    let jwt = match (site, visitor) {
        (Some(site), Some(v)) if site.identity_jwt => {
            match s.lanyard.content_identity_jwt(site, v).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(code = e.code(), "identity JWT not signed");
                    String::new()
                }
            }
        }
        _ => String::new(),
    };
    for (name, val) in [
        ("x-lanyard-user", user),
        ("x-lanyard-email", email),
        ("x-lanyard-role", role),
        ("x-lanyard-lists", lists),
        ("x-lanyard-identity", jwt),
    ] {
        h.insert(
            name,
            HeaderValue::from_str(&val).unwrap_or(HeaderValue::from_static("")),
        );
    }
}

async fn check(State(s): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, _) = req.into_parts();
    if !peer_trusted(&parts, &s) {
        return refuse(StatusCode::FORBIDDEN, Refusal::UntrustedProxy);
    }
    let orig = match original(&parts.headers) {
        Ok(o) => o,
        Err(e) => return answer(StatusCode::FORBIDDEN, e.code(), &e.to_string(), true),
    };
    let path = orig.path.as_str();
    let token = cookie(&parts.headers, SITE_COOKIE);
    let check = match s.lanyard.content_check(&orig.host, path, token).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(code = e.code(), "forward-auth check failed");
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                e.code(),
                &e.to_string(),
                true,
            );
        }
    };
    match check.decision {
        Decision::Allow(visitor) => {
            let mut res = StatusCode::OK.into_response();
            identity_headers(&s, check.site.as_ref(), visitor.as_ref(), res.headers_mut()).await;
            if check.gated {
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                );
            }
            res
        }
        Decision::SignIn(kind) => {
            let Some(site) = check.site else {
                return refuse(StatusCode::FORBIDDEN, Refusal::UnknownSite);
            };
            let (to, refusal) = match kind {
                SignInKind::Sso => ("/content/signin", Refusal::SignInRequired),
                SignInKind::Registration => ("/content/link", Refusal::RegistrationSignIn),
            };
            let mut url = s.config.public_url.clone();
            url.set_path(to);
            url.query_pairs_mut()
                .append_pair("site", &site.id)
                .append_pair("return_to", &orig.uri);
            // nginx `auth_request` wants 401 (its error_page redirects); Caddy `forward_auth`
            // and Traefik `forwardAuth` pass the answer through, so they get the redirect —
            // unless the original request was not a GET or HEAD, which a redirect would turn
            // into a GET and lose the body of.
            let status = if parts.headers.contains_key(&X_ORIGINAL_URI) || !orig.navigable {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FOUND
            };
            let mut res = refuse(status, refusal);
            if let Ok(v) = HeaderValue::from_str(url.as_str()) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Decision::Deny(reason) => refuse(StatusCode::FORBIDDEN, reason.refusal()),
    }
}

#[derive(Deserialize)]
struct SigninQuery {
    site: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// On Lanyard's host: with a session of the site's tenant, hand it to the site's host through
/// a one-time code; without one, start SSO with the site's connection and come back here.
async fn signin(
    State(s): State<AppState>,
    jar: CookieJar,
    Query(q): Query<SigninQuery>,
    req: axum::extract::Request,
) -> Result<Response, PageError> {
    let (parts, _) = req.into_parts();
    let site = s
        .lanyard
        .store
        .site_by_id(&q.site)
        .await?
        .ok_or_else(|| Error::SiteNotFound(q.site.chars().take(64).collect()))?;
    let tenant = s
        .lanyard
        .store
        .tenant_by_id(&site.tenant_id)
        .await?
        .ok_or_else(|| Error::SiteNotFound(site.host.clone()))?;
    let ret = q
        .return_to
        .as_deref()
        .and_then(lanyard_core::validate::return_to)
        .unwrap_or_else(|| "/".to_owned());
    let token = jar
        .get(&session_cookie_name(&s, &tenant.slug))
        .map(|c| c.value().to_owned());
    let session = match token {
        Some(t) => s.lanyard.session(&tenant.slug, &t).await.ok(),
        None => None,
    }
    // Only a session the site's own connection opened is handed to the site.
    .filter(|v| v.connection_id.is_some() && v.connection_id == site.connection_id);
    let Some(session) = session else {
        // An unauthenticated request for a tenant's page, routed like every sign-in (docs
        // §12). Only the site's own connection opens its content (a password session never
        // does), so whatever page routing would show, the visitor goes to that connection
        // when the tenant has it enabled, and is told otherwise.
        let client = crate::extract::client_addr(&parts, &s);
        let routing = s
            .lanyard
            .route_login(&tenant.slug, EntryPoint::TenantPage, None, client)
            .await?;
        tracing::debug!(route = ?routing.route, host = %site.host, "content sign-in routed");
        let Some(conn) = routing
            .connections
            .into_iter()
            .find(|c| Some(&c.id) == site.connection_id.as_ref())
        else {
            let r = Refusal::SsoUnavailable;
            return Ok(crate::pages::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                r.code(),
                &r.to_string(),
            ));
        };
        let mut back = url::Url::parse("https://lanyard.invalid/content/signin")
            .map_err(|e| Error::Internal(e.to_string()))?;
        back.query_pairs_mut()
            .append_pair("site", &site.id)
            .append_pair("return_to", &ret);
        let back = format!("{}?{}", back.path(), back.query().unwrap_or(""));
        let mut start = url::Url::parse("https://lanyard.invalid/")
            .map_err(|e| Error::Internal(e.to_string()))?;
        start.set_path(&format!("/t/{}/sso/{}/start", tenant.slug, conn.slug));
        start.query_pairs_mut().append_pair("return_to", &back);
        let to = format!("{}?{}", start.path(), start.query().unwrap_or(""));
        return Ok(Redirect::to(&to).into_response());
    };
    let (site, code) = s.lanyard.content_handoff(&session, &site.id, &ret).await?;
    let scheme = s.config.public_url.scheme();
    let to = format!("{scheme}://{}{CALLBACK_PATH}?code={code}", site.host);
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    /// The SSO handoff code (from `/content/signin`).
    #[serde(default)]
    code: Option<String>,
    /// The emailed link's token (registered contacts).
    #[serde(default)]
    link: Option<String>,
}

/// On the site's own host (forwarded by its proxy): redeem the code, set the host-only
/// cookie, return to the page asked for (a same-origin path).
async fn callback(
    State(s): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, PageError> {
    let host = header(&headers, &header::HOST).unwrap_or("");
    let https = s.config.secure_cookies();
    let host = normalize_host(host);
    let (token, ret) = match (&q.code, &q.link) {
        (Some(code), None) => s.lanyard.content_redeem(&host, code).await?,
        (None, Some(link)) => s.lanyard.redeem_contact_link(&host, link).await?,
        _ => return Err(Error::ContentHandoffInvalid.into()),
    };
    let c = Cookie::build((SITE_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(SITE_COOKIE_MAX_AGE_SECS))
        .build();
    let mut res = (jar.add(c), Redirect::to(&ret)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn the_site_cookie_is_found_by_exact_name_in_any_cookie_header() {
        let h = headers(&["a=1; lanyard_site2=x;lanyard_site = tok1 ", "b=2"]);
        assert_eq!(cookie(&h, SITE_COOKIE), Some("tok1"));
        // The last one sent wins, as in a cookie jar.
        let h = headers(&["lanyard_site=old", "x=1; lanyard_site=new"]);
        assert_eq!(cookie(&h, SITE_COOKIE), Some("new"));
        // A longer or shorter name, a bare name, no header: none.
        let h = headers(&["lanyard_site2=x; lanyard_sit=y; lanyard_site"]);
        assert_eq!(cookie(&h, SITE_COOKIE), None);
        assert_eq!(cookie(&HeaderMap::new(), SITE_COOKIE), None);
        // A value holding '=' (base64 padding) is kept whole.
        let h = headers(&["lanyard_site=ab=="]);
        assert_eq!(cookie(&h, SITE_COOKIE), Some("ab=="));
    }
}
