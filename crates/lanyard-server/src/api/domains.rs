//! Verified email domains: claim, check (DNS TXT), operator override, delete.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{ClaimDomain, ErrorBody, Page, TenantDomain};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains, claim_domain))
        .routes(routes!(delete_domain))
        .routes(routes!(check_domain))
        .routes(routes!(override_domain))
}

/// The tenant's claimed email domains, pending and verified.
#[utoipa::path(get, path = "/tenants/{tenant}/domains", tag = "domains", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<TenantDomain>), (status = 404, body = ErrorBody)))]
async fn list_domains(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<TenantDomain>>, ApiError> {
    Ok(Json(Page::all(
        s.lanyard
            .list_domains(&ctx, &slug)
            .await?
            .iter()
            .map(|d| d.to_wire())
            .collect(),
    )))
}

/// Claim an email domain; the answer says which TXT record proves it.
#[utoipa::path(post, path = "/tenants/{tenant}/domains", tag = "domains", params(("tenant" = String, Path)), request_body = ClaimDomain, security(("api_key" = [])),
    responses((status = 201, body = TenantDomain), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim_domain(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<ClaimDomain>,
) -> Result<(StatusCode, Json<TenantDomain>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.lanyard
                .claim_domain(&ctx, &slug, &req.domain)
                .await?
                .to_wire(),
        ),
    ))
}

/// Look for the challenge TXT record now; the domain is verified when it is there.
#[utoipa::path(post, path = "/tenants/{tenant}/domains/{domain}/check", tag = "domains", params(("tenant" = String, Path), ("domain" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = TenantDomain), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn check_domain(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, domain)): ApiPath<(String, String)>,
) -> Result<Json<TenantDomain>, ApiError> {
    Ok(Json(
        s.lanyard
            .check_domain(&ctx, &slug, &domain)
            .await?
            .to_wire(),
    ))
}

/// Verify the domain without DNS (operator keys only).
#[utoipa::path(post, path = "/tenants/{tenant}/domains/{domain}/override", tag = "domains", params(("tenant" = String, Path), ("domain" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = TenantDomain), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn override_domain(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, domain)): ApiPath<(String, String)>,
) -> Result<Json<TenantDomain>, ApiError> {
    Ok(Json(
        s.lanyard
            .override_domain(&ctx, &slug, &domain)
            .await?
            .to_wire(),
    ))
}

/// Delete the claim (a verified domain stops routing at once).
#[utoipa::path(delete, path = "/tenants/{tenant}/domains/{domain}", tag = "domains", params(("tenant" = String, Path), ("domain" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_domain(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, domain)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard.delete_domain(&ctx, &slug, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}
