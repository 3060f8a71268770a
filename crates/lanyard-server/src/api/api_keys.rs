use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{ApiKey, CreateApiKey, CreatedApiKey, ErrorBody, Page};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_operator_keys, create_operator_key))
        .routes(routes!(revoke_operator_key))
        .routes(routes!(list_tenant_keys, create_tenant_key))
        .routes(routes!(revoke_tenant_key))
}

/// Operator keys (not bound to a tenant); operator keys only.
#[utoipa::path(get, path = "/api-keys", tag = "api-keys", security(("api_key" = [])),
    responses((status = 200, body = Page<ApiKey>), (status = 403, body = ErrorBody)))]
async fn list_operator_keys(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    Ok(Json(Page::all(
        s.lanyard
            .list_api_keys(&ctx, None)
            .await?
            .iter()
            .map(|k| k.to_wire())
            .collect(),
    )))
}

/// Create an operator key. The token is in this response only.
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", request_body = CreateApiKey, security(("api_key" = [])),
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody)))]
async fn create_operator_key(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let (key, token) = s.lanyard.create_api_key(&ctx, None, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            api_key: key.to_wire(),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/api-keys/{key_id}", tag = "api-keys", params(("key_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
async fn revoke_operator_key(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(
        s.lanyard.revoke_api_key(&ctx, None, &id).await?.to_wire(),
    ))
}

#[utoipa::path(get, path = "/tenants/{tenant}/api-keys", tag = "api-keys", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<ApiKey>), (status = 403, body = ErrorBody)))]
async fn list_tenant_keys(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    Ok(Json(Page::all(
        s.lanyard
            .list_api_keys(&ctx, Some(&slug))
            .await?
            .iter()
            .map(|k| k.to_wire())
            .collect(),
    )))
}

/// Create a key that administers this tenant only. The token is in this response only.
#[utoipa::path(post, path = "/tenants/{tenant}/api-keys", tag = "api-keys", params(("tenant" = String, Path)), request_body = CreateApiKey, security(("api_key" = [])),
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody)))]
async fn create_tenant_key(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let (key, token) = s
        .lanyard
        .create_api_key(&ctx, Some(&slug), &req.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            api_key: key.to_wire(),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/tenants/{tenant}/api-keys/{key_id}", tag = "api-keys", params(("tenant" = String, Path), ("key_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
async fn revoke_tenant_key(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(
        s.lanyard
            .revoke_api_key(&ctx, Some(&slug), &id)
            .await?
            .to_wire(),
    ))
}
