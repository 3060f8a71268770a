use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use lanyard_core::clock::parse_rfc3339;
use lanyard_core::model::AuditFilter;
use lanyard_core::{Ctx, Error};
use lanyard_proto::{AuditEvent, ErrorBody, Page};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(list_tenant_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Tenant slug (a tenant key is always held to its own).
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    /// Event kind, e.g. `login.failed`.
    #[serde(default)]
    kind: Option<String>,
    /// The stable error code of a refusal, e.g. `login.sso_required`.
    #[serde(default)]
    code: Option<String>,
    /// RFC 3339 instant, inclusive.
    #[serde(default)]
    since: Option<String>,
    /// RFC 3339 instant, exclusive.
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

fn instant(field: &'static str, v: Option<&str>) -> Result<Option<i64>, Error> {
    v.map(|s| {
        parse_rfc3339(s).ok_or_else(|| {
            Error::invalid(
                field,
                "use an RFC 3339 instant such as 2026-12-01T08:00:00Z",
            )
        })
    })
    .transpose()
}

async fn list(s: &AppState, ctx: &Ctx, q: AuditQuery) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let filter = AuditFilter {
        tenant: q.tenant,
        user_id: q.user_id,
        kind: q.kind,
        code: q.code,
        since: instant("since", q.since.as_deref())?,
        until: instant("until", q.until.as_deref())?,
        before_seq: None,
        limit: 0,
    };
    let (rows, next_cursor) = s
        .lanyard
        .list_audit(ctx, filter, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(|r| r.to_wire()).collect(),
        next_cursor,
    }))
}

/// Audit events, newest first, filtered by tenant, user, kind and time.
#[utoipa::path(get, path = "/audit-events", tag = "audit", params(AuditQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<AuditEvent>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_events(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    list(&s, &ctx, q).await
}

/// The same listing held to one tenant.
#[utoipa::path(get, path = "/tenants/{tenant}/audit-events", tag = "audit", params(("tenant" = String, Path), AuditQuery), security(("api_key" = [])),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = ErrorBody)))]
async fn list_tenant_events(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(mut q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let t = s.lanyard.admin_tenant(&ctx, &slug).await?;
    if q.tenant.as_deref().is_some_and(|asked| asked != t.slug) {
        return Err(Error::invalid(
            "tenant",
            "do not pass ?tenant= on a tenant's own audit route",
        )
        .into());
    }
    q.tenant = Some(t.slug);
    list(&s, &ctx, q).await
}
