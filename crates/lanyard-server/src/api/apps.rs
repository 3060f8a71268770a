//! Apps of Lanyard as the OpenID provider (OAuth clients): operator keys only.

use super::PageQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{App, CreateApp, CreatedApp, ErrorBody, Page, UpdateApp};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create_app))
        .routes(routes!(get_app, update_app, delete_app))
        .routes(routes!(rotate_secret))
}

/// List the apps that sign people in with Lanyard.
#[utoipa::path(get, path = "/apps", tag = "apps", params(PageQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<App>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_apps(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<App>>, ApiError> {
    let (apps, next_cursor) = s
        .lanyard
        .list_apps(&ctx, q.cursor.as_deref(), q.limit)
        .await?;
    let mut items = Vec::with_capacity(apps.len());
    for a in &apps {
        items.push(s.lanyard.app_to_wire(a).await?);
    }
    Ok(Json(Page { items, next_cursor }))
}

/// Register an app. A confidential app's `client_secret` is in this response only.
#[utoipa::path(post, path = "/apps", tag = "apps", request_body = CreateApp, security(("api_key" = [])),
    responses((status = 201, body = CreatedApp), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_app(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(req): ApiJson<CreateApp>,
) -> Result<(StatusCode, Json<CreatedApp>), ApiError> {
    let (app, client_secret) = s.lanyard.create_app(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApp {
            app: s.lanyard.app_to_wire(&app).await?,
            client_secret,
        }),
    ))
}

#[utoipa::path(get, path = "/apps/{client_id}", tag = "apps", params(("client_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = App), (status = 404, body = ErrorBody)))]
async fn get_app(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<App>, ApiError> {
    let app = s.lanyard.get_app(&ctx, &id).await?;
    Ok(Json(s.lanyard.app_to_wire(&app).await?))
}

/// Change an app's settings (only the fields sent).
#[utoipa::path(patch, path = "/apps/{client_id}", tag = "apps", params(("client_id" = String, Path)), request_body = UpdateApp, security(("api_key" = [])),
    responses((status = 200, body = App), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_app(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateApp>,
) -> Result<Json<App>, ApiError> {
    let app = s.lanyard.update_app(&ctx, &id, req).await?;
    Ok(Json(s.lanyard.app_to_wire(&app).await?))
}

/// Delete an app: its grants and tokens stop working at once.
#[utoipa::path(delete, path = "/apps/{client_id}", tag = "apps", params(("client_id" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_app(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.lanyard.delete_app(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a confidential app a new secret (in this response only); the old one stops working at once.
#[utoipa::path(post, path = "/apps/{client_id}/secret", tag = "apps", params(("client_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = CreatedApp), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CreatedApp>, ApiError> {
    let (app, secret) = s.lanyard.rotate_app_secret(&ctx, &id).await?;
    Ok(Json(CreatedApp {
        app: s.lanyard.app_to_wire(&app).await?,
        client_secret: Some(secret),
    }))
}
