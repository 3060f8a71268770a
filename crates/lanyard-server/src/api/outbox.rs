use super::PageQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use lanyard_proto::{ErrorBody, OutboxMessage, Page};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_outbox))
}

/// A tenant's outgoing email, newest first: what was sent, what waits for another attempt (or,
/// with no SMTP server configured, is kept here), and what was given up, with the last error.
#[utoipa::path(get, path = "/tenants/{tenant}/outbox", tag = "outbox", params(("tenant" = String, Path), PageQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<OutboxMessage>), (status = 404, body = ErrorBody)))]
async fn list_outbox(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<OutboxMessage>>, ApiError> {
    let (rows, next_cursor) = s
        .lanyard
        .list_outbox(&ctx, &slug, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(|m| m.to_wire(&slug)).collect(),
        next_cursor,
    }))
}
