//! OAuth-shaped answers: `{error, error_description}` (RFC 6749 §5.2) with the Lanyard code in
//! the description, `WWW-Authenticate` on 401s, `Cache-Control: no-store`; and request parsing
//! that refuses repeated parameters (RFC 6749 §3.1) and reads HTTP Basic client credentials.

use crate::error::ErrorCode;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::error::ProviderError;
use lanyard_core::{Error, ErrorKind};
use serde_json::json;

#[derive(Debug)]
pub(crate) struct OAuthError(pub Error);

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<ProviderError> for OAuthError {
    fn from(e: ProviderError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, description, challenge) = match &self.0 {
            Error::Provider(p) => {
                let status = match p.oauth_error() {
                    "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
                    "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                let challenge = match p.oauth_error() {
                    "invalid_client" => Some("Basic realm=\"lanyard\"".to_owned()),
                    "invalid_token" => Some(format!(
                        "Bearer realm=\"lanyard\", error=\"invalid_token\", error_description=\"{}\"",
                        p.code()
                    )),
                    _ => None,
                };
                (status, p.oauth_error(), p.description(), challenge)
            }
            e => {
                let (status, error) = match e.kind() {
                    ErrorKind::Unavailable => {
                        (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
                    }
                    ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
                    _ => (StatusCode::BAD_REQUEST, "invalid_request"),
                };
                if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Internal) {
                    tracing::error!(code = e.code(), error = ?e, "provider request failed");
                }
                (status, error, format!("{}: {e}", e.code()), None)
            }
        };
        let mut res = (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        allow_any_origin(h);
        if let Some(c) = challenge
            && let Ok(v) = HeaderValue::from_str(&c)
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        res.extensions_mut().insert(ErrorCode(self.0.code()));
        res
    }
}

/// A JSON answer that must not be cached (tokens, introspection, UserInfo).
pub(crate) fn no_store(body: serde_json::Value) -> Response {
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    allow_any_origin(h);
    res
}

/// Browser apps (SPAs, public clients) call the token, UserInfo and revocation endpoints from
/// their own origin. No cookies are involved there (`*` forbids credentials), only the code with
/// its verifier or a bearer token, so any origin may read the answer.
pub(crate) fn allow_any_origin(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The CORS preflight of those endpoints.
pub(crate) async fn preflight() -> Response {
    let mut res = axum::http::StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    allow_any_origin(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    res
}

pub(crate) use lanyard_core::provider::params::single_params;

/// HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-urlencoded), parsed by
/// [`lanyard_core::provider::params::basic_credentials`].
pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, ProviderError> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => lanyard_core::provider::params::basic_credentials(v.as_bytes()),
    }
}

/// `Authorization: Bearer …`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}
