use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use lanyard_proto::{ErrorBody, Page, Session};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SessionQuery {
    /// Only this user's sessions.
    #[serde(default)]
    user_id: Option<String>,
    /// Include revoked and expired sessions (default: live ones only).
    #[serde(default)]
    include_ended: bool,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// Sessions of a tenant, newest first.
#[utoipa::path(get, path = "/tenants/{tenant}/sessions", tag = "sessions", params(("tenant" = String, Path), SessionQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<Session>), (status = 404, body = ErrorBody)))]
async fn list_sessions(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> Result<Json<Page<Session>>, ApiError> {
    let (rows, next_cursor) = s
        .lanyard
        .list_sessions(
            &ctx,
            &slug,
            q.user_id.as_deref(),
            q.include_ended,
            q.cursor.as_deref(),
            q.limit,
        )
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(|v| v.to_wire()).collect(),
        next_cursor,
    }))
}

/// End one session now; the user must sign in again.
#[utoipa::path(delete, path = "/tenants/{tenant}/sessions/{session_id}", tag = "sessions", params(("tenant" = String, Path), ("session_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
async fn revoke_session(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(
        s.lanyard.revoke_session(&ctx, &slug, &id).await?.to_wire(),
    ))
}
