//! Setup links for a customer's IT admin: create (the URL is answered once), list, revoke.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{CreateSetupLink, CreatedSetupLink, ErrorBody, Page, SetupLink};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_setup_links, create_setup_link))
        .routes(routes!(revoke_setup_link))
}

/// The tenant's setup links, newest first (at most 200).
#[utoipa::path(get, path = "/tenants/{tenant}/setup-links", tag = "setup-links", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<SetupLink>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_setup_links(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<SetupLink>>, ApiError> {
    let (t, rows) = s.lanyard.list_setup_links(&ctx, &slug).await?;
    let now = s.lanyard.now();
    Ok(Json(Page::all(
        rows.iter().map(|l| l.to_wire(&t.slug, now)).collect(),
    )))
}

/// Create a setup link: one person (the first browser that opens it), one tenant's SSO
/// connection, expiring (`lifetime_hours`, 1-720, default 72), revocable. The URL is answered
/// once; only the SHA-256 of its token is stored.
#[utoipa::path(post, path = "/tenants/{tenant}/setup-links", tag = "setup-links", params(("tenant" = String, Path)), request_body = CreateSetupLink, security(("api_key" = [])),
    responses((status = 201, body = CreatedSetupLink), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_setup_link(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateSetupLink>,
) -> Result<(StatusCode, Json<CreatedSetupLink>), ApiError> {
    let new = s
        .lanyard
        .create_setup_link(
            &ctx,
            &slug,
            req.note.as_deref().unwrap_or(""),
            req.lifetime_hours,
        )
        .await?;
    let url = format!(
        "{}/setup/{}",
        s.config.public_url.as_str().trim_end_matches('/'),
        new.token
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedSetupLink {
            link: new.link.to_wire(&slug, s.lanyard.now()),
            url,
        }),
    ))
}

/// Revoke a setup link: it stops working at once (revoking twice is harmless).
#[utoipa::path(post, path = "/tenants/{tenant}/setup-links/{id}/revoke", tag = "setup-links", params(("tenant" = String, Path), ("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = SetupLink), (status = 404, body = ErrorBody)))]
async fn revoke_setup_link(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<SetupLink>, ApiError> {
    let l = s.lanyard.revoke_setup_link(&ctx, &slug, &id).await?;
    Ok(Json(l.to_wire(&slug, s.lanyard.now())))
}
