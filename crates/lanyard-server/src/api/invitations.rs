use super::PageQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{CreateInvitations, ErrorBody, Invitation, Page};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_invitations, create_invitations))
}

/// Invites password users (chosen ones, or `all: true`) to move to SSO. Each gets a link that
/// starts an SSO login; when it completes, the account is linked, its password stops working,
/// its API tokens are revoked and its other sessions end. An open invitation is re-sent, never
/// replaced, so earlier links keep working.
#[utoipa::path(post, path = "/tenants/{tenant}/invitations", tag = "invitations", params(("tenant" = String, Path)), request_body = CreateInvitations, security(("api_key" = [])),
    responses((status = 201, body = Page<Invitation>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_invitations(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateInvitations>,
) -> Result<(StatusCode, Json<Page<Invitation>>), ApiError> {
    let (_, rows) = s.lanyard.create_invitations(&ctx, &slug, req).await?;
    Ok((StatusCode::CREATED, Json(Page::all(rows))))
}

/// Every invitation with its link and status (`pending`, `declined`, `accepted`).
#[utoipa::path(get, path = "/tenants/{tenant}/invitations", tag = "invitations", params(("tenant" = String, Path), PageQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<Invitation>), (status = 404, body = ErrorBody)))]
async fn list_invitations(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Invitation>>, ApiError> {
    let (items, next_cursor) = s
        .lanyard
        .list_invitations(&ctx, &slug, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(Page { items, next_cursor }))
}
