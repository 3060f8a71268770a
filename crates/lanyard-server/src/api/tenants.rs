use super::PageQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{CreateTenant, ErrorBody, Page, Tenant, UpdateTenant};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant))
}

/// List tenants (an operator key sees all; a tenant key sees its own).
#[utoipa::path(get, path = "/tenants", tag = "tenants", params(PageQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<Tenant>), (status = 401, body = ErrorBody)))]
async fn list_tenants(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Tenant>>, ApiError> {
    let (rows, next_cursor) = s
        .lanyard
        .list_tenants(&ctx, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(|t| t.to_wire()).collect(),
        next_cursor,
    }))
}

/// Create a tenant with the seeded roles (operator keys only).
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = CreateTenant, security(("api_key" = [])),
    responses((status = 201, body = Tenant), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tenant(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(req): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let t = s.lanyard.create_tenant(&ctx, req).await?;
    Ok((StatusCode::CREATED, Json(t.to_wire())))
}

#[utoipa::path(get, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path, description = "Tenant slug")), security(("api_key" = [])),
    responses((status = 200, body = Tenant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_tenant(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(s.lanyard.admin_tenant(&ctx, &slug).await?.to_wire()))
}

/// Rename a tenant or change its session lifetime.
#[utoipa::path(patch, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path, description = "Tenant slug")), request_body = UpdateTenant, security(("api_key" = [])),
    responses((status = 200, body = Tenant), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_tenant(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateTenant>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(
        s.lanyard.update_tenant(&ctx, &slug, req).await?.to_wire(),
    ))
}
