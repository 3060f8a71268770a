//! Private content, lists: the tenant's lists of contacts (resources with the audience
//! "SSO + lists" name them), creating, renaming and deleting one (refused while a resource
//! names it), and one list's members: add and remove by email, import by CSV (the API's
//! import, its per-line errors shown). Each form calls the core function of its admin API
//! call, so it is authorised and audited alike.

use super::guard::TenantForm;
use super::posted::{after, done_notice, enc, value};
use super::users::DoneQuery;
use super::{AdminSession, Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::RequestMeta;
use lanyard_core::model::Tenant;
use lanyard_core::store::ListMember;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/lists", get(list).post(create))
        .route("/admin/t/{tenant}/lists/{list}", get(detail).post(rename))
        .route("/admin/t/{tenant}/lists/{list}/delete", post(delete))
        .route("/admin/t/{tenant}/lists/{list}/members", post(add_member))
        .route(
            "/admin/t/{tenant}/lists/{list}/members/remove",
            post(remove_member),
        )
        .route("/admin/t/{tenant}/lists/{list}/import", post(import))
}

fn list_url(slug: &str, id: &str) -> String {
    format!("/admin/t/{slug}/lists/{}", enc(id))
}

#[derive(Template)]
#[template(path = "console/lists.html")]
struct ListsPage {
    nav: Nav,
    /// (id, name, members)
    lists: Vec<(String, String, i64)>,
    notice: Option<&'static str>,
}

/// `GET /admin/t/{tenant}/lists`.
async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let (lists, counts) = match (
        s.lanyard.list_lists(&ctx, &slug).await,
        s.lanyard.list_member_counts(&ctx, &slug).await,
    ) {
        (Ok(l), Ok(c)) => (l, c),
        (Err(e), _) | (_, Err(e)) => return Ok(error_page(lang, &e)),
    };
    let t = lang.tr();
    let page = ListsPage {
        nav: admin.nav(
            &s,
            t,
            &format!("/admin/t/{slug}/lists"),
            Some(&tenant),
            "lists",
        ),
        lists: lists
            .into_iter()
            .map(|l| {
                let n = counts
                    .iter()
                    .find(|(id, _)| *id == l.id)
                    .map_or(0, |(_, n)| *n);
                (l.id, l.name, n)
            })
            .collect(),
        notice: done_notice(t, q.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/t/{tenant}/lists`: creates a list.
async fn create(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    match s
        .lanyard
        .create_list(
            &admin.admin.ctx(&meta),
            &slug,
            value(&posted, "name").trim(),
        )
        .await
    {
        Ok(l) => Ok(after(
            lang,
            Ok::<(), lanyard_core::Error>(()),
            &list_url(&slug, &l.id),
            "list-created",
        )),
        Err(e) => Ok(error_page(lang, &e)),
    }
}

#[derive(Template)]
#[template(path = "console/list.html")]
struct ListPage {
    nav: Nav,
    /// This page's path (the forms post below it).
    base: String,
    name: String,
    members: Vec<ListMember>,
    /// Whether the page shows only the first members.
    more: bool,
    notice: Option<&'static str>,
    imported: Option<super::sites::Imported>,
}

impl ListPage {
    fn added(&self, m: &ListMember) -> String {
        lanyard_core::clock::rfc3339(m.added_at)
    }
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    meta: &RequestMeta,
    id: &str,
    notice: Option<&'static str>,
    imported: Option<super::sites::Imported>,
) -> Response {
    let ctx = admin.admin.ctx(meta);
    let slug = &tenant.slug;
    let (l, members) = match (
        s.lanyard.admin_list(&ctx, slug, id).await,
        s.lanyard.list_members(&ctx, slug, id).await,
    ) {
        (Ok(l), Ok(m)) => (l, m),
        (Err(e), _) | (_, Err(e)) => return error_page(lang, &e),
    };
    let t = lang.tr();
    let more = i64::try_from(members.len())
        .is_ok_and(|n| n >= lanyard_core::content::lists::MEMBERS_SHOWN);
    let base = list_url(slug, &l.id);
    let page = ListPage {
        nav: admin.nav(s, t, &base, Some(tenant), "lists"),
        base,
        name: l.name,
        members,
        more,
        notice,
        imported,
    };
    render(StatusCode::OK, &page)
}

/// `GET /admin/t/{tenant}/lists/{list}`.
async fn detail(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let notice = done_notice(lang.tr(), q.done.as_deref());
    Ok(list_page(&s, lang, &admin, &tenant, &meta, &id, notice, None).await)
}

/// `POST /admin/t/{tenant}/lists/{list}`: renames the list.
async fn rename(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .rename_list(&admin.admin.ctx(&meta), &slug, &id, value(&posted, "name"))
        .await;
    Ok(after(lang, res, &list_url(&slug, &id), "list-renamed"))
}

/// `POST /admin/t/{tenant}/lists/{list}/delete`: deletes the list and its members (refused
/// with `content.list_in_use` while a resource names it).
async fn delete(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .delete_list(&admin.admin.ctx(&meta), &slug, &id)
        .await;
    Ok(after(
        lang,
        res,
        &format!("/admin/t/{slug}/lists"),
        "list-deleted",
    ))
}

/// `POST …/lists/{list}/members`: adds a member by email (adding twice changes nothing).
async fn add_member(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .set_member(
            &admin.admin.ctx(&meta),
            &slug,
            &id,
            value(&posted, "email"),
            true,
        )
        .await;
    Ok(after(lang, res, &list_url(&slug, &id), "member-added"))
}

/// `POST …/lists/{list}/members/remove`: removes a member by email.
async fn remove_member(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .set_member(
            &admin.admin.ctx(&meta),
            &slug,
            &id,
            value(&posted, "email"),
            false,
        )
        .await;
    Ok(after(lang, res, &list_url(&slug, &id), "member-removed"))
}

/// `POST …/lists/{list}/import`: imports members from the pasted CSV (the API's import); the
/// list page shows how many were added and each refused line.
async fn import(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    match s
        .lanyard
        .import_members(&admin.admin.ctx(&meta), &slug, &id, value(&posted, "csv"))
        .await
    {
        Ok(imported) => {
            Ok(list_page(&s, lang, &admin, &tenant, &meta, &id, None, Some(imported)).await)
        }
        Err(e) => Ok(error_page(lang, &e)),
    }
}
