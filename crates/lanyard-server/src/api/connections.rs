use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_proto::{
    Connection, ConnectionInput, ErrorBody, JwtConnectionInput, OidcConnectionInput, Page,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(
            get_connection,
            update_connection,
            delete_connection
        ))
        .routes(routes!(create_jwt_connection))
        .routes(routes!(update_jwt_connection))
        .routes(routes!(create_oidc_connection))
        .routes(routes!(update_oidc_connection))
}

fn public(s: &AppState) -> String {
    s.config.public_url.as_str().to_owned()
}

/// Fetches `metadata_url` (if given) into `metadata_xml`, so the domain sees only the document.
async fn resolve_metadata(s: &AppState, input: &mut ConnectionInput) -> Result<(), ApiError> {
    Ok(crate::fetch::resolve_metadata(&s.config.outbound, input).await?)
}

#[utoipa::path(get, path = "/tenants/{tenant}/connections", tag = "connections", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<Connection>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_connections(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<Connection>>, ApiError> {
    let (t, rows) = s.lanyard.list_connections(&ctx, &slug).await?;
    let public = public(&s);
    let items = rows
        .iter()
        .map(|c| c.to_wire(&t.slug, &public))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Page::all(items)))
}

/// Create a SAML connection. The response shows the SP entity ID, ACS URL and metadata URL to
/// enter in the IdP. IdP settings may be pasted, or imported from `metadata_xml` or
/// `metadata_url` (fetched by the server: http(s) only, 10 s timeout, at most 1 MiB).
#[utoipa::path(post, path = "/tenants/{tenant}/connections", tag = "connections", params(("tenant" = String, Path)), request_body = ConnectionInput, security(("api_key" = [])),
    responses((status = 201, body = Connection), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(mut input): ApiJson<ConnectionInput>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    // Authorise before fetching anything on the caller's behalf.
    s.lanyard.admin_tenant(&ctx, &slug).await?;
    resolve_metadata(&s, &mut input).await?;
    let (t, c) = s.lanyard.create_connection(&ctx, &slug, input).await?;
    Ok((StatusCode::CREATED, Json(c.to_wire(&t.slug, &public(&s))?)))
}

#[utoipa::path(get, path = "/tenants/{tenant}/connections/{connection}", tag = "connections", params(("tenant" = String, Path), ("connection" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Connection), (status = 404, body = ErrorBody)))]
async fn get_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, conn)): ApiPath<(String, String)>,
) -> Result<Json<Connection>, ApiError> {
    let (t, c) = s.lanyard.get_connection(&ctx, &slug, &conn).await?;
    Ok(Json(c.to_wire(&t.slug, &public(&s))?))
}

/// Partial update; give `certificates` (the whole list) to roll over certificates, or
/// `metadata_xml` / `metadata_url` to re-import. Invalid input changes nothing.
#[utoipa::path(patch, path = "/tenants/{tenant}/connections/{connection}", tag = "connections", params(("tenant" = String, Path), ("connection" = String, Path)), request_body = ConnectionInput, security(("api_key" = [])),
    responses((status = 200, body = Connection), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, conn)): ApiPath<(String, String)>,
    ApiJson(mut input): ApiJson<ConnectionInput>,
) -> Result<Json<Connection>, ApiError> {
    s.lanyard.get_connection(&ctx, &slug, &conn).await?;
    resolve_metadata(&s, &mut input).await?;
    let (t, c) = s
        .lanyard
        .update_connection(&ctx, &slug, &conn, input)
        .await?;
    Ok(Json(c.to_wire(&t.slug, &public(&s))?))
}

/// Delete a connection; users stay, their links to this IdP go.
#[utoipa::path(delete, path = "/tenants/{tenant}/connections/{connection}", tag = "connections", params(("tenant" = String, Path), ("connection" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, conn)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard.delete_connection(&ctx, &slug, &conn).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a JWT remote-login connection. The response shows the `verify_url` to give the remote
/// login (it sends visitors back there with the token) and the `login_url` where sign-in starts.
/// Refusals use the customer codes: INVALID_LOGIN_URL, INVALID_KEY, INVALID_KEY_LENGTH,
/// PRIVATE_KEY_PROVIDED (the pasted private key is not stored). A shared secret is stored
/// sealed with the master key and never returned.
#[utoipa::path(post, path = "/tenants/{tenant}/jwt-connections", tag = "connections", params(("tenant" = String, Path)), request_body = JwtConnectionInput, security(("api_key" = [])),
    responses((status = 201, body = Connection), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_jwt_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(input): ApiJson<JwtConnectionInput>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    let (t, c) = s
        .lanyard
        .create_jwt_connection(&ctx, &slug, input, s.config.dev_mode)
        .await?;
    Ok((StatusCode::CREATED, Json(c.to_wire(&t.slug, &public(&s))?)))
}

/// Partially update a JWT remote-login connection (give `secret_key` to rotate the key).
/// Invalid input changes nothing. Read and delete it at `/tenants/{tenant}/connections/{connection}`.
#[utoipa::path(patch, path = "/tenants/{tenant}/jwt-connections/{connection}", tag = "connections", params(("tenant" = String, Path), ("connection" = String, Path)), request_body = JwtConnectionInput, security(("api_key" = [])),
    responses((status = 200, body = Connection), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_jwt_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, conn)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<JwtConnectionInput>,
) -> Result<Json<Connection>, ApiError> {
    let (t, c) = s
        .lanyard
        .update_jwt_connection(&ctx, &slug, &conn, input, s.config.dev_mode)
        .await?;
    Ok(Json(c.to_wire(&t.slug, &public(&s))?))
}

/// The Import action: fetches `discovery_url` (SSRF-guarded) into `discovery_json`.
async fn resolve_discovery(s: &AppState, input: &mut OidcConnectionInput) -> Result<(), ApiError> {
    Ok(crate::fetch::resolve_discovery(&s.config.outbound, input).await?)
}

/// Create an OpenID Connect connection. `discovery_url` imports the endpoints (the document's
/// `issuer` must equal `issuer`: oidc.discovery_issuer_mismatch otherwise). The response shows the
/// `callback_url` to register at the provider. The client secret is sealed and never returned.
#[utoipa::path(post, path = "/tenants/{tenant}/oidc-connections", tag = "connections", params(("tenant" = String, Path)), request_body = OidcConnectionInput, security(("api_key" = [])),
    responses((status = 201, body = Connection), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_oidc_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(mut input): ApiJson<OidcConnectionInput>,
) -> Result<(StatusCode, Json<Connection>), ApiError> {
    s.lanyard.admin_tenant(&ctx, &slug).await?;
    resolve_discovery(&s, &mut input).await?;
    let (t, c) = s.lanyard.create_oidc_connection(&ctx, &slug, input).await?;
    Ok((StatusCode::CREATED, Json(c.to_wire(&t.slug, &public(&s))?)))
}

/// Partially update an OpenID Connect connection (give `discovery_url` to re-import).
#[utoipa::path(patch, path = "/tenants/{tenant}/oidc-connections/{connection}", tag = "connections", params(("tenant" = String, Path), ("connection" = String, Path)), request_body = OidcConnectionInput, security(("api_key" = [])),
    responses((status = 200, body = Connection), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_oidc_connection(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, conn)): ApiPath<(String, String)>,
    ApiJson(mut input): ApiJson<OidcConnectionInput>,
) -> Result<Json<Connection>, ApiError> {
    s.lanyard.get_connection(&ctx, &slug, &conn).await?;
    resolve_discovery(&s, &mut input).await?;
    let (t, c) = s
        .lanyard
        .update_oidc_connection(&ctx, &slug, &conn, input)
        .await?;
    Ok(Json(c.to_wire(&t.slug, &public(&s))?))
}
