use super::PageQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{CreateUser, ErrorBody, Page, UpdateUser, User};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(revoke_user_sessions))
}

#[utoipa::path(get, path = "/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path), PageQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let (t, rows, next_cursor) = s
        .lanyard
        .list_users(&ctx, &slug, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(|u| u.to_wire(&t.slug)).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path)), request_body = CreateUser, security(("api_key" = [])),
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let u = s.lanyard.create_user(&ctx, &slug, req).await?;
    Ok((StatusCode::CREATED, Json(u.to_wire(&slug))))
}

#[utoipa::path(get, path = "/tenants/{tenant}/users/{user_id}", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let (t, u) = s.lanyard.get_user(&ctx, &slug, &id).await?;
    Ok(Json(u.to_wire(&t.slug)))
}

/// Partial update. Setting or clearing `password`, or `disabled: true`, ends the user's sessions.
#[utoipa::path(patch, path = "/tenants/{tenant}/users/{user_id}", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), request_body = UpdateUser, security(("api_key" = [])),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    let (t, u) = s.lanyard.update_user(&ctx, &slug, &id, req).await?;
    Ok(Json(u.to_wire(&t.slug)))
}

#[utoipa::path(delete, path = "/tenants/{tenant}/users/{user_id}", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_user(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard.delete_user(&ctx, &slug, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct Revoked {
    /// How many live sessions were ended.
    revoked: u64,
}

/// End every live session of a user.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user_id}/sessions/revoke", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Revoked), (status = 404, body = ErrorBody)))]
async fn revoke_user_sessions(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<Revoked>, ApiError> {
    Ok(Json(Revoked {
        revoked: s.lanyard.revoke_user_sessions(&ctx, &slug, &id).await?,
    }))
}
