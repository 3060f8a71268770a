//! `POST /oauth2/token`, `GET|POST /oauth2/userinfo`, `POST /oauth2/revoke` (RFC 7009) and
//! `POST /oauth2/introspect` (RFC 7662).

use super::oauth::{OAuthError, basic_credentials, bearer, no_store, single_params};
use crate::AppState;
use crate::extract::Meta;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::error::ProviderError;
use lanyard_core::provider::apps::App;
use lanyard_core::provider::device::GRANT_DEVICE_CODE;
use std::collections::HashMap;

pub(super) fn form_of(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, OAuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ProviderError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded".into(),
        )
        .into());
    }
    Ok(single_params(body)?)
}

pub(super) async fn client(
    s: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<App, OAuthError> {
    let basic = basic_credentials(headers)?;
    Ok(s.lanyard
        .authenticate_client(
            basic,
            form.get("client_id").map(String::as_str),
            form.get("client_secret").map(String::as_str),
        )
        .await?)
}

pub(super) async fn token(
    State(s): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = form_of(&headers, &body)?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| ProviderError::InvalidRequest("grant_type is missing".into()))?;
    let app = client(&s, &headers, &form).await?;
    let get = |k: &str| form.get(k).map(String::as_str);
    let res = match grant_type.as_str() {
        "authorization_code" => {
            let code = get("code")
                .ok_or_else(|| ProviderError::InvalidRequest("code is missing".into()))?;
            s.lanyard
                .exchange_code(&app, code, get("redirect_uri"), get("code_verifier"), &meta)
                .await?
        }
        "refresh_token" => {
            let rt = get("refresh_token")
                .ok_or_else(|| ProviderError::InvalidRequest("refresh_token is missing".into()))?;
            s.lanyard.refresh(&app, rt, get("scope"), &meta).await?
        }
        GRANT_DEVICE_CODE => {
            let dc = get("device_code")
                .ok_or_else(|| ProviderError::InvalidRequest("device_code is missing".into()))?;
            let t = s.lanyard.poll_device(&app, dc).await?;
            return Ok(super::device::device_token_response(&s, &t));
        }
        other => {
            return Err(
                ProviderError::UnsupportedGrantType(other.chars().take(64).collect()).into(),
            );
        }
    };
    let body = serde_json::to_value(res)
        .map_err(|e| OAuthError(lanyard_core::Error::Internal(e.to_string())))?;
    Ok(no_store(body))
}

pub(super) async fn userinfo(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let token = bearer(&headers).ok_or(ProviderError::InvalidToken)?;
    let claims = s.lanyard.userinfo(token).await?;
    Ok(no_store(claims))
}

pub(super) async fn revoke(
    State(s): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = form_of(&headers, &body)?;
    let app = client(&s, &headers, &form).await?;
    let token = form
        .get("token")
        .ok_or_else(|| ProviderError::InvalidRequest("token is missing".into()))?;
    s.lanyard.revoke_token(&app, token, &meta).await?;
    let mut res = StatusCode::OK.into_response();
    super::oauth::allow_any_origin(res.headers_mut());
    Ok(res)
}

pub(super) async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = form_of(&headers, &body)?;
    let app = client(&s, &headers, &form).await?;
    let token = form
        .get("token")
        .ok_or_else(|| ProviderError::InvalidRequest("token is missing".into()))?;
    Ok(no_store(s.lanyard.introspect(&app, token).await?))
}
