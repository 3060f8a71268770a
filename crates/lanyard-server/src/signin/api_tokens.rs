//! Self-service API tokens, authenticated by the user's own `Authorization: Bearer lyt_…`:
//! `GET /t/{tenant}/api-tokens` lists the user's tokens (the presented one marked `current`),
//! `DELETE /t/{tenant}/api-tokens/{id}` revokes one (`current`: the presented one, which is
//! what `lanyard logout` does). Admins list and revoke the same tokens through the admin API.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Meta;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use lanyard_core::Error;
use lanyard_core::session::api_token::API_TOKEN_PREFIX;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/api-tokens", get(list))
        .route("/t/{tenant}/api-tokens/{id}", delete(revoke))
}

fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(API_TOKEN_PREFIX))
        .ok_or(Error::ApiTokenInvalid)
}

async fn list(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, current, rows) = s.lanyard.own_api_tokens(&slug, bearer(&headers)?).await?;
    let items: Vec<_> = rows
        .iter()
        .map(|t| {
            let mut v = json!(t.to_wire());
            if let Some(o) = v.as_object_mut() {
                o.insert("current".into(), json!(t.id == current));
            }
            v
        })
        .collect();
    let mut res = Json(json!({ "items": items })).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

async fn revoke(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .revoke_own_api_token(&slug, bearer(&headers)?, &id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
