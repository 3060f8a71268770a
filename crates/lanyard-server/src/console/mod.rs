//! The admin console (`/admin`) and the IT admin's setup portal (`/setup/{token}`):
//! server-rendered pages (askama) that work without JavaScript; `console.js` (served from here,
//! never inline) only adds copy buttons and opens the test sign-in.
//!
//! Who may see what: `/admin` takes the browser's Lanyard sessions (one cookie per tenant);
//! a super admin acts with operator authority on every tenant, a holder of the `admin` role on
//! their own tenant only. Every action calls the same core function as its admin API call with
//! the console's actor, so the core authorises it and writes the same audit event. Every form
//! carries the session's CSRF token (the MAC of the session token the logout form uses); the
//! portal's forms carry the MAC of the link's claim cookie.

mod apps;
mod connections;
pub(crate) mod form;
mod guard;
mod portal;
mod setup;
// Part B: users, tenant settings, audit log.
mod audit_log;
mod posted;
mod settings;
mod user_actions;
mod users;
// Private content: sites (resources, registered contacts) and lists.
mod lists;
mod site_actions;
mod sites;

use crate::AppState;
use crate::error::status_of;
use crate::extract::Meta;
use crate::i18n::{LANG_COOKIE, Lang, PageLang, Tr, query_lang};
use crate::pages;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::console::ConsoleAdmin;
use lanyard_core::model::Tenant;

pub use crate::pages::CONSOLE_CSP;

pub const SCRIPT_PATH: &str = "/admin/static/console.js";
const SCRIPT: &str = include_str!("../../static/console.js");

/// Pasted metadata can be large; nothing else here is.
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route(SCRIPT_PATH, get(script))
        // Browsers ask for it on every page; no icon, and no 404 in their consoles.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/admin/t/{tenant}", get(overview))
        .merge(connections::router())
        .merge(apps::router())
        .merge(setup::router())
        .merge(portal::router())
        .merge(users::router())
        .merge(settings::router())
        .merge(audit_log::router())
        .merge(sites::router())
        .merge(lists::router())
        .layer(axum::middleware::from_fn(remember_lang))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `?lang=en|ja` switches the language and the `lanyard_lang` cookie remembers it.
async fn remember_lang(req: Request, next: Next) -> Response {
    let lang = req.uri().query().and_then(query_lang);
    let mut res = next.run(req).await;
    if let Some(l) = lang {
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

async fn script() -> Response {
    let mut res = SCRIPT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// Renders a console or portal page with the console's headers.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    pages::render_with_csp(status, page, CONSOLE_CSP)
}

/// The navigation and header every console page shows.
#[derive(Debug, Clone)]
pub(crate) struct Nav {
    pub t: Tr,
    /// The path of this page (for the language switch).
    pub here: String,
    pub user: String,
    /// The tenant in view, if any: (slug, name).
    pub tenant: Option<(String, String)>,
    pub operator: bool,
    /// Sign out: the session's tenant and the CSRF token.
    pub home_slug: String,
    pub csrf: String,
    /// The active section: `overview`, `connections`, `setup`, `users`, `sites`, `lists`,
    /// `settings`, `audit`, `apps` (operators only).
    pub section: &'static str,
}

impl Nav {
    pub fn other_langs(&self) -> Vec<(&'static str, &'static str)> {
        Lang::ALL
            .iter()
            .filter(|l| **l != self.t.lang)
            .map(|l| (l.code(), l.tr().t("lang-name")))
            .collect()
    }
}

/// One administrator session of this browser, with its token (for the CSRF MAC).
#[derive(Debug, Clone)]
pub(crate) struct AdminSession {
    pub admin: ConsoleAdmin,
    pub token: String,
}

impl AdminSession {
    pub fn csrf(&self, s: &AppState) -> String {
        s.lanyard.csrf_token(&self.token)
    }

    pub fn csrf_ok(&self, s: &AppState, presented: &str) -> bool {
        s.lanyard.csrf_matches(&self.token, presented)
    }

    pub fn nav(
        &self,
        s: &AppState,
        t: Tr,
        here: &str,
        tenant: Option<&Tenant>,
        section: &'static str,
    ) -> Nav {
        Nav {
            t,
            here: here.to_owned(),
            user: self.admin.user.username.clone(),
            tenant: tenant.map(|t| (t.slug.clone(), t.name.clone())),
            operator: self.admin.operator,
            home_slug: self.admin.tenant.slug.clone(),
            csrf: self.csrf(s),
            section,
        }
    }
}

/// What the browser's session cookies amount to.
struct Sessions {
    admins: Vec<AdminSession>,
    /// A valid session of someone who is not an administrator.
    non_admin: bool,
}

fn session_cookie_prefix(s: &AppState) -> &'static str {
    if s.config.secure_cookies() {
        "__Host-lanyard_session_"
    } else {
        "lanyard_session_"
    }
}

async fn sessions(s: &AppState, jar: &CookieJar) -> Sessions {
    let prefix = session_cookie_prefix(s);
    let mut out = Sessions {
        admins: Vec::new(),
        non_admin: false,
    };
    for c in jar.iter().take(16) {
        let Some(slug) = c.name().strip_prefix(prefix) else {
            continue;
        };
        match s.lanyard.console_admin(slug, c.value()).await {
            Ok(admin) => out.admins.push(AdminSession {
                admin,
                token: c.value().to_owned(),
            }),
            Err(Error::Console(_)) => out.non_admin = true,
            Err(_) => {}
        }
    }
    // Operators first: they reach every tenant.
    out.admins.sort_by_key(|a| !a.admin.operator);
    out
}

/// Why a console page is not shown: sign in first, or a refusal page.
pub(crate) enum Refusal {
    SignIn(String),
    Page(Response),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(to) => Redirect::to(&to).into_response(),
            Self::Page(r) => r,
        }
    }
}

/// The administrator for a page of `slug`, and the tenant (authorised by the core, as the
/// admin API authorises a key): the tenant's own admin session first, else an operator's.
pub(crate) async fn for_tenant(
    s: &AppState,
    jar: &CookieJar,
    meta: &lanyard_core::RequestMeta,
    lang: Lang,
    slug: &str,
) -> Result<(AdminSession, Tenant), Refusal> {
    let all = sessions(s, jar).await;
    let chosen = all
        .admins
        .iter()
        .find(|a| a.admin.tenant.slug == slug)
        .or_else(|| all.admins.first())
        .cloned();
    let Some(admin) = chosen else {
        if all.non_admin {
            return Err(Refusal::Page(error_page(
                lang,
                &Error::Console(lanyard_core::error::ConsoleError::NotAdmin),
            )));
        }
        let back = format!("/admin/t/{slug}");
        let rt: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        return Err(Refusal::SignIn(format!("/login?return_to={rt}")));
    };
    match s.lanyard.admin_tenant(&admin.admin.ctx(meta), slug).await {
        Ok(t) => Ok((admin, t)),
        // A tenant admin learns nothing about other tenants: the same refusal either way.
        Err(Error::ApiKeyWrongTenant(_) | Error::TenantNotFound(_)) => {
            Err(Refusal::Page(error_page(
                lang,
                &Error::Console(lanyard_core::error::ConsoleError::NotAdmin),
            )))
        }
        Err(e) => Err(Refusal::Page(error_page(lang, &e))),
    }
}

/// The operator (super admin) session of this browser for an operator page (`back`: where the
/// sign-in returns). A tenant administrator or anyone else signed in gets `console.not_admin`,
/// like a tenant page they may not see.
pub(crate) async fn for_operator(
    s: &AppState,
    jar: &CookieJar,
    lang: Lang,
    back: &str,
) -> Result<AdminSession, Refusal> {
    let all = sessions(s, jar).await;
    if let Some(op) = all.admins.iter().find(|a| a.admin.operator) {
        return Ok(op.clone());
    }
    if all.non_admin || !all.admins.is_empty() {
        return Err(Refusal::Page(error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::NotAdmin),
        )));
    }
    let rt: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    Err(Refusal::SignIn(format!("/login?return_to={rt}")))
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    t: Tr,
    title: &'static str,
    message: String,
    help: Option<String>,
    code: &'a str,
}

/// A refusal in the console's language: a translated title and (for the console's own codes)
/// message and help; other messages as the core words them. The code never changes.
/// A refusal shown on a console form: its code, and its message in the page's language, with
/// the help sentence when there is one to show.
pub(crate) fn form_error(lang: Lang, e: &Error) -> (String, String) {
    let (message, help) = lang.tr().explain_error(e);
    let message = match help {
        Some(h) => format!("{message} {h}"),
        None => message,
    };
    (e.code().to_owned(), message)
}

pub(crate) fn error_page(lang: Lang, e: &Error) -> Response {
    let t = lang.tr();
    let status = status_of(e.kind());
    let title = match status {
        StatusCode::FORBIDDEN => t.t("error-title-forbidden"),
        StatusCode::NOT_FOUND => t.t("error-title-not-found"),
        StatusCode::UNAUTHORIZED => t.t("error-title-unauthenticated"),
        s if s.is_server_error() => t.t("error-title-server"),
        _ => t.t("error-title-refused"),
    };
    let key = format!("err-{}", e.code().replace('.', "-"));
    let (message, help) = match e {
        Error::Console(_) => (
            t.t(&key).to_owned(),
            Some(t.t(&format!("{key}-help")).to_owned()),
        ),
        other => t.explain_error(other),
    };
    let mut res = render(
        status,
        &ErrorPage {
            t,
            title,
            message,
            help,
            code: e.code(),
        },
    );
    res.extensions_mut()
        .insert(crate::error::ErrorCode(e.code()));
    res
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    nav: Nav,
    tenants: Vec<(String, String)>,
}

/// `GET /admin`: the tenants this administrator may open (one: straight to it).
async fn home(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    jar: CookieJar,
) -> Response {
    let all = sessions(&s, &jar).await;
    let Some(admin) = all.admins.first().cloned() else {
        if all.non_admin {
            return error_page(
                lang,
                &Error::Console(lanyard_core::error::ConsoleError::NotAdmin),
            );
        }
        return Redirect::to("/login?return_to=%2Fadmin").into_response();
    };
    let tenants = if admin.admin.operator {
        match s
            .lanyard
            .list_tenants(&admin.admin.ctx(&meta), None, Some(200))
            .await
        {
            Ok((rows, _)) => rows.into_iter().map(|t| (t.slug, t.name)).collect(),
            Err(e) => return error_page(lang, &e),
        }
    } else {
        let mut v: Vec<(String, String)> = all
            .admins
            .iter()
            .map(|a| (a.admin.tenant.slug.clone(), a.admin.tenant.name.clone()))
            .collect();
        v.dedup();
        if let [(slug, _)] = v.as_slice() {
            return Redirect::to(&format!("/admin/t/{slug}")).into_response();
        }
        v
    };
    let nav = admin.nav(&s, lang.tr(), "/admin", None, "home");
    render(StatusCode::OK, &HomePage { nav, tenants })
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    nav: Nav,
    count_text: String,
    sso_required: bool,
    session_text: String,
}

/// `GET /admin/t/{tenant}`: the tenant at a glance.
async fn overview(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let conns = match s
        .lanyard
        .list_connections(&admin.admin.ctx(&meta), &slug)
        .await
    {
        Ok((_, c)) => c,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let t = lang.tr();
    let total = conns.len().to_string();
    let enabled = conns.iter().filter(|c| c.enabled).count().to_string();
    let hours = (tenant.session_lifetime_secs / 3600).to_string();
    let page = OverviewPage {
        nav: admin.nav(
            &s,
            t,
            &format!("/admin/t/{slug}"),
            Some(&tenant),
            "overview",
        ),
        count_text: t.f(
            "overview-connections-count",
            [("total", &total), ("enabled", &enabled)],
        ),
        sso_required: tenant.sso_required,
        session_text: t.f("hours", [("n", &hours)]),
    };
    Ok(render(StatusCode::OK, &page))
}

/// A form whose CSRF token does not match the session (or the setup link's claim).
pub(crate) fn csrf_refused(lang: Lang) -> Response {
    error_page(lang, &Error::CsrfInvalid)
}
