//! `POST /oauth2/register`: OAuth 2.0 Dynamic Client Registration (RFC 7591), authorised by an
//! operator API key as the initial access token, so standard tooling can register apps.

use super::oauth::{OAuthError, bearer};
use crate::AppState;
use crate::extract::Meta;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::error::ProviderError;
use lanyard_core::{Ctx, Error};
use lanyard_proto as proto;
use serde::Deserialize;
use serde_json::json;

/// The client metadata Lanyard reads (RFC 7591 §2, OIDC Registration, Back-Channel Logout);
/// other members are ignored, as the RFC asks.
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
}

fn registration_error(code: &str, description: String) -> Response {
    let mut res = (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(super) async fn register(
    State(s): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let token = bearer(&headers).ok_or(ProviderError::RegistrationUnauthorized)?;
    let (actor, _) = s
        .lanyard
        .authenticate_api_key(token)
        .await
        .map_err(|_| ProviderError::RegistrationUnauthorized)?;
    let ctx = Ctx::new(actor, meta);
    let md: Metadata = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return Ok(registration_error(
                "invalid_client_metadata",
                format!("request.invalid_body: the body is not client metadata JSON: {e}"),
            ));
        }
    };
    let public = match md.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") | Some("client_secret_post") => false,
        Some("none") => true,
        Some(other) => {
            return Ok(registration_error(
                "invalid_client_metadata",
                format!(
                    "request.invalid_field: token_endpoint_auth_method `{}` is not supported (client_secret_basic, client_secret_post, none)",
                    other.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    if let Some(rt) = &md.response_types
        && rt.iter().any(|r| r != "code")
    {
        return Ok(registration_error(
            "invalid_client_metadata",
            "request.invalid_field: response_types must be [\"code\"]".into(),
        ));
    }
    let req = proto::CreateApp {
        name: md
            .client_name
            .clone()
            .unwrap_or_else(|| "Registered app".into()),
        redirect_uris: md.redirect_uris,
        public,
        post_logout_redirect_uris: md.post_logout_redirect_uris,
        backchannel_logout_uri: md.backchannel_logout_uri,
        grant_types: md.grant_types,
        id_token_alg: md.id_token_signed_response_alg,
        tenants: None,
    };
    let (app, secret) = match s.lanyard.create_app(&ctx, req).await {
        Ok(x) => x,
        Err(Error::Invalid { field, reason }) => {
            let code = if field == "redirect_uris" {
                "invalid_redirect_uri"
            } else {
                "invalid_client_metadata"
            };
            return Ok(registration_error(
                code,
                format!("request.invalid_field: {field}: {reason}"),
            ));
        }
        Err(Error::OperatorOnly | Error::ApiKeyMissing) => {
            return Err(ProviderError::RegistrationUnauthorized.into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = json!({
        "client_id": app.id,
        "client_id_issued_at": app.created_at,
        "client_name": app.name,
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "grant_types": app.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": md.token_endpoint_auth_method.unwrap_or_else(|| "client_secret_basic".into()),
        "id_token_signed_response_alg": app.id_token_alg,
        "backchannel_logout_uri": app.backchannel_logout_uri,
        "backchannel_logout_session_required": app.backchannel_logout_uri.is_some(),
    });
    if let (Some(secret), Some(o)) = (secret, out.as_object_mut()) {
        o.insert("client_secret".into(), json!(secret));
        o.insert("client_secret_expires_at".into(), json!(0));
    }
    let mut res = (StatusCode::CREATED, Json(out)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
