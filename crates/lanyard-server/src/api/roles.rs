use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{CreateRole, ErrorBody, Page, Role};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_roles, create_role))
        .routes(routes!(delete_role))
}

#[utoipa::path(get, path = "/tenants/{tenant}/roles", tag = "roles", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<Role>), (status = 404, body = ErrorBody)))]
async fn list_roles(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<Role>>, ApiError> {
    Ok(Json(Page::all(
        s.lanyard
            .list_roles(&ctx, &slug)
            .await?
            .iter()
            .map(|r| r.to_wire())
            .collect(),
    )))
}

#[utoipa::path(post, path = "/tenants/{tenant}/roles", tag = "roles", params(("tenant" = String, Path)), request_body = CreateRole, security(("api_key" = [])),
    responses((status = 201, body = Role), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_role(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateRole>,
) -> Result<(StatusCode, Json<Role>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.lanyard.create_role(&ctx, &slug, req).await?.to_wire()),
    ))
}

/// Delete a custom role that no user holds.
#[utoipa::path(delete, path = "/tenants/{tenant}/roles/{role}", tag = "roles", params(("tenant" = String, Path), ("role" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_role(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, role)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard.delete_role(&ctx, &slug, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}
