use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_core::model::SsoState;
use lanyard_core::store::UserFilter;
use lanyard_proto::{
    ApiToken, CreateApiToken, CreateUser, CreatedApiToken, ErrorBody, FederatedIdentity, Page,
    SetFederatedIdentity, UpdateUser, User,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(revoke_user_sessions))
        .routes(routes!(require_password_change))
        .routes(routes!(list_federated_identities))
        .routes(routes!(set_federated_identity, remove_federated_identity))
        .routes(routes!(list_api_tokens, create_api_token))
        .routes(routes!(revoke_api_token))
}

/// `GET /tenants/{tenant}/users` filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UserQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    /// `not_on_sso` (password users: never invited, invited, or declined), or one state:
    /// `none`, `invited`, `declined`, `linked`.
    #[serde(default)]
    sso: Option<String>,
    /// `true`: only users without a role (they can sign in but reach nothing that needs one).
    #[serde(default)]
    needs_role: Option<bool>,
    /// Part of the username or email (case-insensitive).
    #[serde(default)]
    search: Option<String>,
}

#[utoipa::path(get, path = "/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path), UserQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<User>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let mut filter = UserFilter {
        needs_role: q.needs_role.unwrap_or(false),
        search: q.search,
        ..UserFilter::default()
    };
    match q.sso.as_deref() {
        None => {}
        Some("not_on_sso") => filter.not_on_sso = true,
        Some(other) => {
            filter.sso_state = Some(SsoState::parse(other).ok_or_else(|| {
                lanyard_core::Error::invalid(
                    "sso",
                    "must be not_on_sso, none, invited, declined or linked",
                )
            })?)
        }
    }
    let (t, rows, next_cursor) = s
        .lanyard
        .list_users(&ctx, &slug, &filter, q.cursor.as_deref(), q.limit)
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

/// Require a new password at the next sign-in: ends the user's sessions now; their next
/// password sign-in leads to a password reset page instead of a session.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user_id}/require-password-change", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn require_password_change(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let u = s.lanyard.require_password_change(&ctx, &slug, &id).await?;
    Ok(Json(u.to_wire(&slug)))
}

/// The identities (per connection) that sign in as this user.
#[utoipa::path(get, path = "/tenants/{tenant}/users/{user_id}/federated-identities", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<FederatedIdentity>), (status = 404, body = ErrorBody)))]
async fn list_federated_identities(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<Page<FederatedIdentity>>, ApiError> {
    Ok(Json(Page::all(
        s.lanyard.federated_identities(&ctx, &slug, &id).await?,
    )))
}

/// Sets the federation ID the user signs in with on a connection (exactly as the IdP sends it:
/// SAML NameID or the configured attribute, OIDC `sub`/`oid`, JWT `sub`).
#[utoipa::path(put, path = "/tenants/{tenant}/users/{user_id}/federated-identities/{connection}", tag = "users",
    params(("tenant" = String, Path), ("user_id" = String, Path), ("connection" = String, Path)), request_body = SetFederatedIdentity, security(("api_key" = [])),
    responses((status = 200, body = FederatedIdentity), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_federated_identity(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id, conn)): ApiPath<(String, String, String)>,
    ApiJson(req): ApiJson<SetFederatedIdentity>,
) -> Result<Json<FederatedIdentity>, ApiError> {
    Ok(Json(
        s.lanyard
            .set_federated_identity(&ctx, &slug, &id, &conn, &req.federation_id)
            .await?,
    ))
}

/// Disconnects the user from a connection (ends their sessions; a user left without any way to
/// sign in is emailed a password reset).
#[utoipa::path(delete, path = "/tenants/{tenant}/users/{user_id}/federated-identities/{connection}", tag = "users",
    params(("tenant" = String, Path), ("user_id" = String, Path), ("connection" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_federated_identity(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id, conn)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .disconnect_federated_identity(&ctx, &slug, &id, &conn)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/tenants/{tenant}/users/{user_id}/api-tokens", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<ApiToken>), (status = 404, body = ErrorBody)))]
async fn list_api_tokens(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> Result<Json<Page<ApiToken>>, ApiError> {
    let rows = s.lanyard.list_api_tokens(&ctx, &slug, &id).await?;
    Ok(Json(Page::all(rows.iter().map(|t| t.to_wire()).collect())))
}

/// Issues a long-lived API token for the user (`lyt_…`, shown once). It authenticates
/// `GET /t/{tenant}/session` as the user until it expires, is revoked, or the user joins SSO.
#[utoipa::path(post, path = "/tenants/{tenant}/users/{user_id}/api-tokens", tag = "users", params(("tenant" = String, Path), ("user_id" = String, Path)), request_body = CreateApiToken, security(("api_key" = [])),
    responses((status = 201, body = CreatedApiToken), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_api_token(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<CreateApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let (t, token) = s.lanyard.create_api_token(&ctx, &slug, &id, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            api_token: t.to_wire(),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/tenants/{tenant}/users/{user_id}/api-tokens/{token_id}", tag = "users",
    params(("tenant" = String, Path), ("user_id" = String, Path), ("token_id" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_api_token(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, id, token_id)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .revoke_api_token(&ctx, &slug, &id, &token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
