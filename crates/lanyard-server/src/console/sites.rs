//! Private content, sites: the tenant's sites (host, connection, SSO on/off, identity JWT),
//! creating one, and one site's page (its settings, the nginx and Caddy snippets to copy, its
//! resources and its registered contacts). A settings change the core warns about (turning SSO
//! off opens SSO content and closes list content) is first run with `dry_run` and shown as a
//! confirmation page; it is applied only when the admin confirms. The resource and contact forms
//! are [`super::site_actions`].

use super::guard::TenantForm;
use super::posted::{Posted, after, checkbox, done_notice, enc, value};
use super::users::DoneQuery;
use super::{AdminSession, Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang, Tr};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::content::{SiteChange, Warning};
use lanyard_core::model::{ContentSite, Tenant};
use lanyard_core::{Ctx, Error, RequestMeta};

pub fn router() -> Router<AppState> {
    use super::site_actions as a;
    Router::new()
        .route("/admin/t/{tenant}/sites", get(list).post(create))
        .route("/admin/t/{tenant}/sites/{host}", get(detail).post(change))
        .route(
            "/admin/t/{tenant}/sites/{host}/resources",
            post(a::set_resources),
        )
        .route(
            "/admin/t/{tenant}/sites/{host}/resources/remove",
            post(a::remove_resource),
        )
        .route(
            "/admin/t/{tenant}/sites/{host}/contacts",
            post(a::add_contact),
        )
        .route(
            "/admin/t/{tenant}/sites/{host}/contacts/remove",
            post(a::remove_contact),
        )
        .route(
            "/admin/t/{tenant}/sites/{host}/contacts/import",
            post(a::import_contacts),
        )
}

pub(crate) fn site_url(slug: &str, host: &str) -> String {
    format!("/admin/t/{slug}/sites/{}", enc(host))
}

/// One row of the sites table.
pub(crate) struct SiteRow {
    pub host: String,
    /// The connection's slug, if the site has one.
    pub connection: Option<String>,
    pub sso_enabled: bool,
    pub identity_jwt: bool,
}

/// The tenant's connections: (id, slug, name).
pub(crate) async fn connections(
    s: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<Vec<(String, String, String)>, Error> {
    let (_, conns) = s.lanyard.list_connections(ctx, slug).await?;
    Ok(conns.into_iter().map(|c| (c.id, c.slug, c.name)).collect())
}

pub(crate) fn row(site: &ContentSite, conns: &[(String, String, String)]) -> SiteRow {
    SiteRow {
        host: site.host.clone(),
        connection: site.connection_id.as_ref().and_then(|id| {
            conns
                .iter()
                .find(|(cid, _, _)| cid == id)
                .map(|(_, slug, _)| slug.clone())
        }),
        sso_enabled: site.sso_enabled,
        identity_jwt: site.identity_jwt,
    }
}

#[derive(Template)]
#[template(path = "console/sites.html")]
struct ListPage {
    nav: Nav,
    sites: Vec<SiteRow>,
    connections: Vec<(String, String, String)>,
    notice: Option<&'static str>,
}

/// `GET /admin/t/{tenant}/sites`.
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
    let (sites, conns) = match (
        s.lanyard.list_sites(&ctx, &slug).await,
        connections(&s, &ctx, &slug).await,
    ) {
        (Ok(sites), Ok(c)) => (sites, c),
        (Err(e), _) | (_, Err(e)) => return Ok(error_page(lang, &e)),
    };
    let t = lang.tr();
    let page = ListPage {
        nav: admin.nav(
            &s,
            t,
            &format!("/admin/t/{slug}/sites"),
            Some(&tenant),
            "sites",
        ),
        sites: sites.iter().map(|x| row(x, &conns)).collect(),
        connections: conns,
        notice: done_notice(t, q.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// A connection field: empty means none.
fn connection_field(posted: &[(String, String)]) -> Option<&str> {
    Some(value(posted, "connection").trim()).filter(|c| !c.is_empty())
}

/// `POST /admin/t/{tenant}/sites`: creates a site (host, connection, SSO on/off, identity JWT).
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
    let res = s
        .lanyard
        .create_site_with(
            &admin.admin.ctx(&meta),
            &slug,
            value(&posted, "host"),
            connection_field(&posted),
            checkbox(&posted, "sso_enabled").unwrap_or(false),
            checkbox(&posted, "identity_jwt").unwrap_or(false),
        )
        .await;
    match res {
        Ok(site) => Ok(after(
            lang,
            Ok::<(), Error>(()),
            &site_url(&slug, &site.host),
            "site-created",
        )),
        Err(e) => Ok(error_page(lang, &e)),
    }
}

/// A resource as the site page shows it.
pub(crate) struct ResourceRow {
    pub kind: String,
    pub path: String,
    pub audience: String,
    pub list_ids: Vec<String>,
    /// The names of its lists (an id no list has any more shows as the id).
    pub list_names: String,
}

/// The import result a page shows after a CSV import: how many added, the per-line errors.
pub(crate) type Imported = (usize, Vec<(usize, String)>);

#[derive(Template)]
#[template(path = "console/site.html")]
struct SitePage {
    nav: Nav,
    /// This page's path (the forms post below it).
    base: String,
    site: SiteRow,
    connections: Vec<(String, String, String)>,
    nginx: String,
    caddy: String,
    resources: Vec<ResourceRow>,
    lists: Vec<(String, String)>,
    contacts: Vec<(String, String)>,
    notice: Option<&'static str>,
    imported: Option<Imported>,
    kinds: &'static [&'static str],
    audiences: &'static [&'static str],
}

pub(crate) const KINDS: &[&str] = &["page", "landing", "blog", "article"];
pub(crate) const AUDIENCES: &[&str] = &["public", "registration", "sso", "sso_lists"];

/// The nginx `auth_request` and Caddy `forward_auth` blocks for `host` in front of this
/// Lanyard (as the proxy tests in `crates/lanyard/tests/it/forward_auth_proxy.rs` run them).
pub(crate) fn snippets(public_url: &url::Url, host: &str) -> (String, String) {
    let origin = public_url.origin().ascii_serialization();
    let authority = public_url
        .host_str()
        .map(|h| match public_url.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        })
        .unwrap_or_default();
    let nginx = format!(
        r#"server {{
  server_name {host};
  # … listen, TLS and root as before …
  location = /_lanyard_auth {{
    internal;
    proxy_pass {origin}/auth/check;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header Host $host;
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header X-Forwarded-Proto $scheme;
  }}
  location /_lanyard/ {{
    proxy_pass {origin};
    proxy_set_header Host $host;
  }}
  location / {{
    auth_request /_lanyard_auth;
    auth_request_set $lanyard_user $upstream_http_x_lanyard_user;
    auth_request_set $lanyard_location $upstream_http_location;
    auth_request_set $lanyard_cache $upstream_http_cache_control;
    add_header Cache-Control $lanyard_cache always;
    error_page 401 = @signin;
  }}
  location @signin {{
    add_header Cache-Control "private, no-store" always;
    return 302 $lanyard_location;
  }}
}}"#
    );
    let upstream = if public_url.scheme() == "https" {
        format!("https://{authority}")
    } else {
        authority.clone()
    };
    let caddy = format!(
        r#"{host} {{
  handle /_lanyard/* {{
    reverse_proxy {upstream}
  }}
  route {{
    forward_auth {upstream} {{
      uri /auth/check
      copy_headers X-Lanyard-User X-Lanyard-Email X-Lanyard-Role X-Lanyard-Lists
    }}
    # … root and file_server (or reverse_proxy to the site) as before …
  }}
}}"#
    );
    (nginx, caddy)
}

/// The site page of `host`, with a notice or an import's result.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn site_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    meta: &RequestMeta,
    host: &str,
    notice: Option<&'static str>,
    imported: Option<Imported>,
) -> Response {
    let ctx = admin.admin.ctx(meta);
    let slug = &tenant.slug;
    let l = &s.lanyard;
    let site = match l.admin_site(&ctx, slug, host).await {
        Ok(site) => site,
        Err(e) => return error_page(lang, &e),
    };
    let (conns, resources, lists, contacts) = match (
        connections(s, &ctx, slug).await,
        l.site_resources(&ctx, slug, &site.host).await,
        l.list_lists(&ctx, slug).await,
        l.list_contacts(&ctx, slug, &site.host).await,
    ) {
        (Ok(c), Ok(r), Ok(ls), Ok(cs)) => (c, r, ls, cs),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return error_page(lang, &e);
        }
    };
    let lists: Vec<(String, String)> = lists.into_iter().map(|x| (x.id, x.name)).collect();
    let resources = resources
        .iter()
        .map(|r| {
            let ids = r.lists();
            let names: Vec<&str> = ids
                .iter()
                .map(|id| {
                    lists
                        .iter()
                        .find(|(lid, _)| lid == id)
                        .map_or(id.as_str(), |(_, n)| n.as_str())
                })
                .collect();
            ResourceRow {
                kind: r.kind.clone(),
                path: r.path.clone(),
                audience: r.audience.clone(),
                list_names: names.join(", "),
                list_ids: ids,
            }
        })
        .collect();
    let (nginx, caddy) = snippets(&s.config.public_url, &site.host);
    let t = lang.tr();
    let base = site_url(slug, &site.host);
    let page = SitePage {
        nav: admin.nav(s, t, &base, Some(tenant), "sites"),
        base,
        site: row(&site, &conns),
        connections: conns,
        nginx,
        caddy,
        resources,
        lists,
        contacts: contacts
            .iter()
            .map(|c| (c.email.clone(), c.to_wire().created_at))
            .collect(),
        notice,
        imported,
        kinds: KINDS,
        audiences: AUDIENCES,
    };
    render(StatusCode::OK, &page)
}

/// `GET /admin/t/{tenant}/sites/{host}`.
async fn detail(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, host)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let notice = done_notice(lang.tr(), q.done.as_deref());
    Ok(site_page(&s, lang, &admin, &tenant, &meta, &host, notice, None).await)
}

/// One warning as the confirmation page shows it: its code, the translated sentence (with
/// its counts) and the paths concerned.
pub(crate) struct WarningRow {
    pub code: &'static str,
    pub text: String,
    pub paths: Vec<String>,
}

pub(crate) fn warning_rows(t: Tr, ws: &[Warning]) -> Vec<WarningRow> {
    ws.iter()
        .map(|w| {
            let count = w.paths.len().to_string();
            let contacts = w.contacts.unwrap_or(0).to_string();
            let key = format!("warn-{}", w.code.replace('.', "-"));
            WarningRow {
                code: w.code,
                text: t.f(&key, [("count", &count), ("contacts", &contacts)]),
                paths: w.paths.clone(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/sites_confirm.html")]
struct ConfirmPage {
    nav: Nav,
    warnings: Vec<WarningRow>,
    action: String,
    back: String,
    /// The posted fields to post again (without the CSRF token and the confirmation).
    fields: Posted,
}

/// The confirmation page of a change the core warned about: the warnings, and the same form
/// again with `confirm=yes`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn confirm_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    action: String,
    back: String,
    warnings: &[Warning],
    posted: &[(String, String)],
) -> Response {
    let t = lang.tr();
    let page = ConfirmPage {
        nav: admin.nav(s, t, &back, Some(tenant), "sites"),
        warnings: warning_rows(t, warnings),
        action,
        back,
        fields: posted
            .iter()
            .filter(|(k, _)| k != "csrf_token" && k != "confirm")
            .cloned()
            .collect(),
    };
    render(StatusCode::OK, &page)
}

/// Whether the admin confirmed a change on its confirmation page.
pub(crate) fn confirmed(posted: &[(String, String)]) -> bool {
    value(posted, "confirm") == "yes"
}

/// `POST /admin/t/{tenant}/sites/{host}`: the site's connection, SSO switch and identity JWT.
/// Without `confirm=yes` the change is first run as a dry run; if the core warns, the
/// confirmation page is shown and nothing changes.
async fn change(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    let mut change = SiteChange {
        connection: connection_field(&posted),
        sso_enabled: checkbox(&posted, "sso_enabled").unwrap_or(false),
        identity_jwt: checkbox(&posted, "identity_jwt"),
        dry_run: !confirmed(&posted),
    };
    let back = site_url(&slug, &host);
    if change.dry_run {
        match s.lanyard.change_site(&ctx, &slug, &host, &change).await {
            Ok((_, w)) if !w.is_empty() => {
                return Ok(confirm_page(
                    &s,
                    lang,
                    &admin,
                    &tenant,
                    back.clone(),
                    back,
                    &w,
                    &posted,
                ));
            }
            Ok(_) => change.dry_run = false,
            Err(e) => return Ok(error_page(lang, &e)),
        }
    }
    let res = s.lanyard.change_site(&ctx, &slug, &host, &change).await;
    Ok(after(lang, res, &back, "site-saved"))
}
