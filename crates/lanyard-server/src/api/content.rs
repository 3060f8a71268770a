//! Private content (issue 13): sites, their resources (bulk audience for pages), lists and
//! members (add/remove by email, CSV import). Changes that open or close content answer with
//! warnings the UI shows before confirming.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiCtx, ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lanyard_core::content::decide::{Audience, ResourceKind};
use lanyard_core::content::{SiteChange, Warning};
use lanyard_proto::{
    Contact, ContactList, ContentWarning, CreateList, CreateSite, ErrorBody, ImportMembers,
    ImportResult, LineError, Page, Resource, ResourcesChanged, SetResources, Site, SiteChanged,
    UpdateSite,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sites, create_site))
        .routes(routes!(update_site))
        .routes(routes!(list_resources, set_resources))
        .routes(routes!(list_lists, create_list))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(import_members))
        .routes(routes!(list_contacts))
        .routes(routes!(add_contact, remove_contact))
        .routes(routes!(import_contacts))
}

fn warnings(w: Vec<Warning>) -> Vec<ContentWarning> {
    w.into_iter()
        .map(|w| ContentWarning {
            code: w.code.to_owned(),
            message: w.message,
            paths: w.paths,
            contacts: w.contacts,
        })
        .collect()
}

/// The tenant's sites.
#[utoipa::path(get, path = "/tenants/{tenant}/sites", tag = "content", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<Site>), (status = 404, body = ErrorBody)))]
async fn list_sites(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<Site>>, ApiError> {
    let sites = s.lanyard.list_sites(&ctx, &slug).await?;
    Ok(Json(Page::all(sites.iter().map(|x| x.to_wire()).collect())))
}

/// Create a site (a host name of this tenant).
#[utoipa::path(post, path = "/tenants/{tenant}/sites", tag = "content", params(("tenant" = String, Path)), request_body = CreateSite, security(("api_key" = [])),
    responses((status = 201, body = Site), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_site(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateSite>,
) -> Result<(StatusCode, Json<Site>), ApiError> {
    let site = s
        .lanyard
        .create_site_with(
            &ctx,
            &slug,
            &req.host,
            req.connection.as_deref(),
            req.sso_enabled,
            req.identity_jwt,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(site.to_wire())))
}

/// Change a site's SSO connection, switch or identity JWT; turning SSO off warns what opens and
/// closes. With `dry_run` only the warnings are answered (`applied: false`), to show before
/// confirming.
#[utoipa::path(patch, path = "/tenants/{tenant}/sites/{host}", tag = "content", params(("tenant" = String, Path), ("host" = String, Path)), request_body = UpdateSite, security(("api_key" = [])),
    responses((status = 200, body = SiteChanged), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_site(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateSite>,
) -> Result<Json<SiteChanged>, ApiError> {
    let change = SiteChange {
        connection: req.connection.as_deref(),
        sso_enabled: req.sso_enabled,
        identity_jwt: req.identity_jwt,
        dry_run: req.dry_run,
    };
    let (site, w) = s.lanyard.change_site(&ctx, &slug, &host, &change).await?;
    Ok(Json(SiteChanged {
        applied: !req.dry_run,
        site: site.to_wire(),
        warnings: warnings(w),
    }))
}

/// The site's protected resources.
#[utoipa::path(get, path = "/tenants/{tenant}/sites/{host}/resources", tag = "content", params(("tenant" = String, Path), ("host" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<Resource>), (status = 404, body = ErrorBody)))]
async fn list_resources(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host)): ApiPath<(String, String)>,
) -> Result<Json<Page<Resource>>, ApiError> {
    let rs = s.lanyard.site_resources(&ctx, &slug, &host).await?;
    Ok(Json(Page::all(rs.iter().map(|r| r.to_wire()).collect())))
}

/// Set the audience of resources (several paths at once for pages); warns when registered
/// contacts lose access, with how many. With `dry_run` only the warnings are answered
/// (`applied: false`), to show before confirming.
#[utoipa::path(put, path = "/tenants/{tenant}/sites/{host}/resources", tag = "content", params(("tenant" = String, Path), ("host" = String, Path)), request_body = SetResources, security(("api_key" = [])),
    responses((status = 200, body = ResourcesChanged), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_resources(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SetResources>,
) -> Result<Json<ResourcesChanged>, ApiError> {
    let kind = ResourceKind::parse(&req.kind).ok_or_else(|| {
        lanyard_core::Error::invalid("kind", "one of page, landing, blog, article")
    })?;
    let audience = Audience::parse(&req.audience).ok_or_else(|| {
        lanyard_core::Error::invalid("audience", "one of public, registration, sso, sso_lists")
    })?;
    let (rs, w) = s
        .lanyard
        .change_resources(
            &ctx,
            &slug,
            &host,
            kind,
            &req.paths,
            audience,
            &req.lists,
            req.dry_run,
        )
        .await?;
    Ok(Json(ResourcesChanged {
        applied: !req.dry_run,
        items: rs.iter().map(|r| r.to_wire()).collect(),
        warnings: warnings(w),
    }))
}

/// The tenant's lists of contacts.
#[utoipa::path(get, path = "/tenants/{tenant}/lists", tag = "content", params(("tenant" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<ContactList>), (status = 404, body = ErrorBody)))]
async fn list_lists(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Page<ContactList>>, ApiError> {
    let ls = s.lanyard.list_lists(&ctx, &slug).await?;
    Ok(Json(Page::all(ls.iter().map(|l| l.to_wire()).collect())))
}

/// Create a list.
#[utoipa::path(post, path = "/tenants/{tenant}/lists", tag = "content", params(("tenant" = String, Path)), request_body = CreateList, security(("api_key" = [])),
    responses((status = 201, body = ContactList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_list(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateList>,
) -> Result<(StatusCode, Json<ContactList>), ApiError> {
    let l = s.lanyard.create_list(&ctx, &slug, &req.name).await?;
    Ok((StatusCode::CREATED, Json(l.to_wire())))
}

/// Add a member by email (case folded); adding twice changes nothing.
#[utoipa::path(put, path = "/tenants/{tenant}/lists/{list_id}/members/{email}", tag = "content", params(("tenant" = String, Path), ("list_id" = String, Path), ("email" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_member(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, list, email)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .set_member(&ctx, &slug, &list, &email, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member by email.
#[utoipa::path(delete, path = "/tenants/{tenant}/lists/{list_id}/members/{email}", tag = "content", params(("tenant" = String, Path), ("list_id" = String, Path), ("email" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_member(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, list, email)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .set_member(&ctx, &slug, &list, &email, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Import members from CSV; bad lines are reported by number, good ones added.
#[utoipa::path(post, path = "/tenants/{tenant}/lists/{list_id}/import", tag = "content", params(("tenant" = String, Path), ("list_id" = String, Path)), request_body = ImportMembers, security(("api_key" = [])),
    responses((status = 200, body = ImportResult), (status = 404, body = ErrorBody)))]
async fn import_members(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, list)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ImportMembers>,
) -> Result<Json<ImportResult>, ApiError> {
    let (added, errors) = s
        .lanyard
        .import_members(&ctx, &slug, &list, &req.csv)
        .await?;
    Ok(Json(ImportResult {
        added,
        errors: errors
            .into_iter()
            .map(|(line, message)| LineError { line, message })
            .collect(),
    }))
}

/// The site's registered contacts (they sign in to registration content by an emailed link).
#[utoipa::path(get, path = "/tenants/{tenant}/sites/{host}/contacts", tag = "content", params(("tenant" = String, Path), ("host" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Page<Contact>), (status = 404, body = ErrorBody)))]
async fn list_contacts(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host)): ApiPath<(String, String)>,
) -> Result<Json<Page<Contact>>, ApiError> {
    let cs = s.lanyard.list_contacts(&ctx, &slug, &host).await?;
    Ok(Json(Page::all(cs.iter().map(|c| c.to_wire()).collect())))
}

/// Register a contact by email (case folded); registering twice changes nothing.
#[utoipa::path(put, path = "/tenants/{tenant}/sites/{host}/contacts/{email}", tag = "content", params(("tenant" = String, Path), ("host" = String, Path), ("email" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_contact(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host, email)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.lanyard
        .set_contact(&ctx, &slug, &host, &email, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a registered contact; their contact sessions end with it.
#[utoipa::path(delete, path = "/tenants/{tenant}/sites/{host}/contacts/{email}", tag = "content", params(("tenant" = String, Path), ("host" = String, Path), ("email" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_contact(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host, email)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    if !s
        .lanyard
        .set_contact(&ctx, &slug, &host, &email, false)
        .await?
    {
        return Err(
            lanyard_core::Error::ContentContactNotFound(email.chars().take(254).collect()).into(),
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Import registered contacts from CSV; bad lines are reported by number, good ones added.
#[utoipa::path(post, path = "/tenants/{tenant}/sites/{host}/contacts/import", tag = "content", params(("tenant" = String, Path), ("host" = String, Path)), request_body = ImportMembers, security(("api_key" = [])),
    responses((status = 200, body = ImportResult), (status = 404, body = ErrorBody)))]
async fn import_contacts(
    State(s): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiPath((slug, host)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ImportMembers>,
) -> Result<Json<ImportResult>, ApiError> {
    let (added, errors) = s
        .lanyard
        .import_contacts(&ctx, &slug, &host, &req.csv)
        .await?;
    Ok(Json(ImportResult {
        added,
        errors: errors
            .into_iter()
            .map(|(line, message)| LineError { line, message })
            .collect(),
    }))
}
