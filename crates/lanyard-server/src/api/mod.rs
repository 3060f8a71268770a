//! The admin REST API under `/api/v1`, authenticated by bearer admin API keys.
//!
//! Routes are registered through `utoipa_axum`'s `routes!`, which reads each handler's
//! `#[utoipa::path]`: the router and `/api/v1/openapi.json` come from the same declarations and
//! cannot drift apart.

mod api_keys;
mod apps;
mod audit;
mod connections;
mod content;
mod domains;
mod invitations;
mod outbox;
mod roles;
mod sessions;
mod setup_links;
mod tenants;
mod users;

use crate::AppState;
use crate::error::ApiError;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use lanyard_proto as proto;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Lanyard admin API", description = "Administer tenants, users, roles, SSO connections, sessions, API keys, the audit log and the email outbox. Authenticate with `Authorization: Bearer lny_…`."),
    modifiers(&BearerAuth),
    components(schemas(proto::ErrorBody, proto::ErrorDetail)),
    tags(
        (name = "tenants"), (name = "users"), (name = "roles"), (name = "sessions"), (name = "api-keys"), (name = "audit"), (name = "connections"), (name = "domains"), (name = "setup-links"), (name = "content"), (name = "outbox"), (name = "invitations"), (name = "apps")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("lny_ API key")
                .build(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", scheme);
    }
}

/// `?cursor=…&limit=…` of every listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Items per page, 1-200 (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::router())
        .merge(roles::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(connections::router())
        .merge(domains::router())
        .merge(setup_links::router())
        .merge(content::router())
        .merge(outbox::router())
        .merge(invitations::router())
        .merge(apps::router())
}

/// The generated OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_routes())
        .split_for_parts();
    doc
}

pub fn router() -> axum::Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api_routes())
        .split_for_parts();
    let json: Arc<str> = doc.to_pretty_json().unwrap_or_else(|_| "{}".into()).into();
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "request.method_not_allowed",
                "this endpoint does not accept that HTTP method; see /api/v1/openapi.json",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
