//! `/.well-known/openid-configuration` and `/oauth2/jwks`.

use super::issuer;
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::provider::{CLAIMS, SCOPES};
use serde_json::{Value, json};

pub(super) async fn configuration(State(s): State<AppState>) -> Response {
    let o = issuer(&s);
    let doc: Value = json!({
        "issuer": o,
        "authorization_endpoint": format!("{o}/oauth2/authorize"),
        "token_endpoint": format!("{o}/oauth2/token"),
        "userinfo_endpoint": format!("{o}/oauth2/userinfo"),
        "jwks_uri": format!("{o}/oauth2/jwks"),
        "revocation_endpoint": format!("{o}/oauth2/revoke"),
        "introspection_endpoint": format!("{o}/oauth2/introspect"),
        "end_session_endpoint": format!("{o}/oauth2/logout"),
        "registration_endpoint": format!("{o}/oauth2/register"),
        "device_authorization_endpoint": format!("{o}/oauth2/device"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": SCOPES,
        "claims_supported": CLAIMS,
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    cacheable(Json(doc).into_response(), 300)
}

pub(super) async fn jwks(State(s): State<AppState>) -> Result<Response, ApiError> {
    let keys = s.lanyard.provider_keys().await?;
    let mut res = Json(keys.jwks.clone()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    Ok(cacheable(res, 60))
}

fn cacheable(mut res: Response, secs: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={secs}")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
