//! Connection pages: the list; create and edit SAML, OIDC and JWT connections with every
//! setting of the admin API (metadata and discovery import included); the values to copy into
//! the IdP; certificates; enable/disable with its consequences first; and "Save and test".

use super::form::{self, Kind};
use super::guard::{CsrfToken, TenantForm};
use super::{AdminSession, Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang, Tr};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::connection::{KIND_JWT, KIND_OIDC, KIND_SAML};
use lanyard_core::console::test::{CERT_WARN_DAYS, cert_info};
use lanyard_core::model::{Connection, Tenant};
use lanyard_core::{Ctx, Error};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/connections", get(list))
        .route(
            "/admin/t/{tenant}/connections/new",
            get(new_form).post(create),
        )
        .route(
            "/admin/t/{tenant}/connections/{conn}",
            get(detail).post(update),
        )
        .route(
            "/admin/t/{tenant}/connections/{conn}/enabled",
            get(confirm_toggle).post(toggle),
        )
        .route("/admin/t/{tenant}/connections/{conn}/test", get(start_test))
}

/// One field as the form shows it.
#[derive(Debug, Clone)]
pub(crate) struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `text`, `number`, `bool`, `select`, `secret`, `textarea`.
    pub widget: &'static str,
    pub value: String,
    pub options: &'static [&'static str],
    pub section: &'static str,
}

impl FieldView {
    pub fn checked(&self) -> bool {
        self.value == "true"
    }
}

/// The form's fields for `kind`, filled from the posted values (after a refusal) or from the
/// connection's current settings.
pub(crate) fn field_views(
    t: Tr,
    kind: &str,
    create: bool,
    wire: Option<&Value>,
    posted: Option<&[(String, String)]>,
    skip: &[&str],
) -> Vec<FieldView> {
    form::fields(kind)
        .filter(|f| create || !f.create_only)
        .filter(|f| !skip.contains(&f.name))
        .map(|f| {
            let key = format!("field-{}", f.name.replace(['.', '_'], "-"));
            let value = match (posted, wire) {
                (Some(p), _) if !matches!(f.kind, Kind::Secret) => p
                    .iter()
                    .rev()
                    .find(|(k, _)| k == f.name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                (_, Some(w)) => form::current_value(w, kind, f),
                _ => default_value(kind, f.name),
            };
            FieldView {
                name: f.name,
                label: t.t(&key),
                help: t.t(&format!("{key}-help")),
                widget: match f.kind {
                    Kind::Number => "number",
                    Kind::Bool => "bool",
                    Kind::Select(_) => "select",
                    Kind::Secret if f.name == "secret_key" => "textarea",
                    Kind::Secret => "secret",
                    Kind::Pems | Kind::Lines | Kind::RoleRows | Kind::LongText => "textarea",
                    Kind::Text | Kind::OptText | Kind::Words => "text",
                },
                value,
                options: match f.kind {
                    Kind::Select(o) => o,
                    _ => &[],
                },
                section: if f.name.starts_with("provisioning.") {
                    "provisioning"
                } else if matches!(
                    f.name,
                    "metadata_url" | "metadata_xml" | "discovery_url" | "discovery_json"
                ) {
                    "import"
                } else {
                    "settings"
                },
            }
        })
        .collect()
}

/// What a new connection's form starts with (the API's defaults, so the form shows them).
fn default_value(kind: &str, name: &str) -> String {
    match (kind, name) {
        (_, "jit" | "provisioning.jit_requires_email") => "true",
        (KIND_SAML, "require_signed_assertions") | (KIND_OIDC, "require_iss" | "use_userinfo") => {
            "true"
        }
        (_, "clock_skew_secs") => "120",
        (KIND_OIDC, "scopes") => "openid profile email",
        (KIND_OIDC, "key_claim") => "sub",
        (KIND_JWT, "algorithm") => "RS256",
        _ => "",
    }
    .to_owned()
}

fn kind_of(q: &str) -> &'static str {
    match q {
        KIND_OIDC => KIND_OIDC,
        KIND_JWT => KIND_JWT,
        _ => KIND_SAML,
    }
}

#[derive(Template)]
#[template(path = "console/connections.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Connection>,
}

async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let rows = match s
        .lanyard
        .list_connections(&admin.admin.ctx(&meta), &slug)
        .await
    {
        Ok((_, rows)) => rows,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let nav = admin.nav(
        &s,
        lang.tr(),
        &format!("/admin/t/{slug}/connections"),
        Some(&tenant),
        "connections",
    );
    Ok(render(StatusCode::OK, &ListPage { nav, rows }))
}

/// A value to copy into the IdP: (label, value, whether it is long text).
pub(crate) type CopyValue = (&'static str, String, bool);

/// A certificate as shown: subject, SHA-256 fingerprint, expiry date, expiring soon.
#[derive(Debug, Clone)]
pub(crate) struct CertView {
    pub subject: String,
    pub sha256: String,
    pub expires: String,
    pub warn: bool,
}

/// The values the IdP needs, from the connection's wire form.
pub(crate) fn copy_values(t: Tr, wire: &Value) -> Vec<CopyValue> {
    let get = |p: &str| wire.pointer(p).and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    let mut push = |key: &str, v: Option<String>, long: bool| {
        if let Some(v) = v {
            out.push((t.t(key), v, long));
        }
    };
    push("copy-entity-id", get("/sp_entity_id"), false);
    push("copy-acs-url", get("/acs_url"), false);
    push("copy-metadata-url", get("/metadata_url"), false);
    push("copy-callback-url", get("/callback_url"), false);
    push("copy-verify-url", get("/verify_url"), false);
    push("copy-login-url", get("/login_url"), false);
    push("copy-sp-certificate", get("/saml/sp_certificate"), true);
    out
}

/// The certificates the connection trusts, with expiry warnings.
pub(crate) fn cert_views(wire: &Value, now: i64) -> Vec<CertView> {
    let list = |p: &str| {
        wire.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let mut pems = list("/saml/certificates");
    pems.extend(list("/oidc/signing_certificates"));
    if let Some(k) = wire.pointer("/jwt/public_key").and_then(Value::as_str) {
        pems.push(k.to_owned());
    }
    pems.iter()
        .filter_map(|p| cert_info(p))
        .map(|c| CertView {
            warn: c.expires_within(now, CERT_WARN_DAYS),
            expires: lanyard_core::clock::rfc3339(c.not_after),
            subject: c.subject,
            sha256: c.sha256,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/connection.html")]
struct ConnectionPage {
    nav: Nav,
    kind: String,
    action: String,
    fields: Vec<FieldView>,
    error: Option<(String, String)>,
    /// An existing connection: (slug, name, enabled).
    existing: Option<(String, String, bool)>,
    copy: Vec<CopyValue>,
    certs: Vec<CertView>,
    saved: bool,
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    saved: Option<String>,
}

async fn new_form(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<NewQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let kind = kind_of(&q.kind);
    Ok(form_page(
        &s,
        lang,
        &admin,
        &tenant,
        kind,
        None,
        None,
        None,
        StatusCode::OK,
        false,
    ))
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    kind: &str,
    existing: Option<&Connection>,
    posted: Option<&[(String, String)]>,
    error: Option<&Error>,
    status: StatusCode,
    saved: bool,
) -> Response {
    let t = lang.tr();
    let public = s.config.public_url.as_str();
    let wire = existing
        .and_then(|c| c.to_wire(&tenant.slug, public).ok())
        .and_then(|w| serde_json::to_value(w).ok());
    let (action, here) = match existing {
        Some(c) => {
            let a = format!("/admin/t/{}/connections/{}", tenant.slug, c.slug);
            (a.clone(), a)
        }
        None => (
            format!("/admin/t/{}/connections/new?kind={kind}", tenant.slug),
            format!("/admin/t/{}/connections/new?kind={kind}", tenant.slug),
        ),
    };
    let now = s.lanyard.now();
    let page = ConnectionPage {
        nav: admin.nav(s, t, &here, Some(tenant), "connections"),
        kind: kind.to_owned(),
        action,
        fields: field_views(t, kind, existing.is_none(), wire.as_ref(), posted, &[]),
        error: error.map(|e| super::form_error(lang, e)),
        existing: existing.map(|c| (c.slug.clone(), c.name.clone(), c.enabled)),
        copy: wire.as_ref().map(|w| copy_values(t, w)).unwrap_or_default(),
        certs: wire
            .as_ref()
            .map(|w| cert_views(w, now))
            .unwrap_or_default(),
        saved,
    };
    let mut res = render(status, &page);
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

/// Creates or updates a connection of `kind` from a posted form, through the admin API's core
/// functions (and its metadata / discovery import).
pub(crate) async fn save(
    s: &AppState,
    ctx: &Ctx,
    slug: &str,
    kind: &str,
    existing: Option<&str>,
    posted: &[(String, String)],
    create_disabled: bool,
) -> Result<Connection, Error> {
    let create = existing.is_none();
    let mut json = form::to_input(kind, posted, create)?;
    if create_disabled
        && create
        && let Value::Object(m) = &mut json
    {
        m.insert("enabled".into(), Value::Bool(false));
    }
    let dev = s.config.dev_mode;
    let (_, c) = match (kind, existing) {
        (KIND_OIDC, conn) => {
            let mut input: lanyard_proto::OidcConnectionInput = form::parse(json)?;
            crate::fetch::resolve_discovery(&s.config.outbound, &mut input).await?;
            match conn {
                None => s.lanyard.create_oidc_connection(ctx, slug, input).await?,
                Some(c) => {
                    s.lanyard
                        .update_oidc_connection(ctx, slug, c, input)
                        .await?
                }
            }
        }
        (KIND_JWT, conn) => {
            let input: lanyard_proto::JwtConnectionInput = form::parse(json)?;
            match conn {
                None => {
                    s.lanyard
                        .create_jwt_connection(ctx, slug, input, dev)
                        .await?
                }
                Some(c) => {
                    s.lanyard
                        .update_jwt_connection(ctx, slug, c, input, dev)
                        .await?
                }
            }
        }
        (_, conn) => {
            let mut input: lanyard_proto::ConnectionInput = form::parse(json)?;
            crate::fetch::resolve_metadata(&s.config.outbound, &mut input).await?;
            match conn {
                None => s.lanyard.create_connection(ctx, slug, input).await?,
                Some(c) => s.lanyard.update_connection(ctx, slug, c, input).await?,
            }
        }
    };
    Ok(c)
}

/// The posted form's CSRF token and action (`save` or `test`).
pub(crate) fn form_meta(posted: &[(String, String)]) -> (&str, &str) {
    let get = |n: &str| {
        posted
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    (get("csrf_token"), get("action"))
}

async fn create(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<NewQuery>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let (_, action) = form_meta(&posted);
    let kind = kind_of(&q.kind);
    match save(
        &s,
        &admin.admin.ctx(&meta),
        &slug,
        kind,
        None,
        &posted,
        false,
    )
    .await
    {
        Ok(c) => Ok(after_save(&tenant, &c, action, lang)),
        Err(e) => {
            let status = crate::error::status_of(e.kind());
            Ok(form_page(
                &s,
                lang,
                &admin,
                &tenant,
                kind,
                None,
                Some(&posted),
                Some(&e),
                status,
                false,
            ))
        }
    }
}

/// After a save: back to the connection, or (Save and test) the page that opens the test.
fn after_save(tenant: &Tenant, c: &Connection, action: &str, lang: Lang) -> Response {
    let base = format!("/admin/t/{}/connections/{}", tenant.slug, c.slug);
    if action == "test" {
        return test_starting(lang, &format!("{base}/test"), &base);
    }
    Redirect::to(&format!("{base}?saved=1")).into_response()
}

#[derive(Template)]
#[template(path = "console/test_starting.html")]
struct TestStartingPage {
    t: Tr,
    start: String,
    back: String,
}

/// "The test sign-in opens": a link the script follows at once (a redirect straight from the
/// form's POST would be blocked by the page's `form-action 'self'` once it leaves for the IdP).
pub(crate) fn test_starting(lang: Lang, start: &str, back: &str) -> Response {
    render(
        StatusCode::OK,
        &TestStartingPage {
            t: lang.tr(),
            start: start.to_owned(),
            back: back.to_owned(),
        },
    )
}

async fn detail(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, conn)): Path<(String, String)>,
    Query(q): Query<NewQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    match s
        .lanyard
        .get_connection(&admin.admin.ctx(&meta), &slug, &conn)
        .await
    {
        Ok((_, c)) => Ok(form_page(
            &s,
            lang,
            &admin,
            &tenant,
            kind_of(&c.kind),
            Some(&c),
            None,
            None,
            StatusCode::OK,
            q.saved.is_some(),
        )),
        Err(e) => Ok(error_page(lang, &e)),
    }
}

async fn update(
    State(s): State<AppState>,
    Path((slug, conn)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let (_, action) = form_meta(&posted);
    let ctx = admin.admin.ctx(&meta);
    let current = match s.lanyard.get_connection(&ctx, &slug, &conn).await {
        Ok((_, c)) => c,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let kind = kind_of(&current.kind);
    match save(&s, &ctx, &slug, kind, Some(&conn), &posted, false).await {
        Ok(c) => Ok(after_save(&tenant, &c, action, lang)),
        Err(e) => {
            let status = crate::error::status_of(e.kind());
            Ok(form_page(
                &s,
                lang,
                &admin,
                &tenant,
                kind,
                Some(&current),
                Some(&posted),
                Some(&e),
                status,
                false,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "console/confirm_toggle.html")]
struct ConfirmPage {
    nav: Nav,
    title: String,
    action: String,
    enable: bool,
    resets: Vec<String>,
    sso_required: bool,
}

async fn confirm_toggle(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, conn)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let c = match s.lanyard.get_connection(&ctx, &slug, &conn).await {
        Ok((_, c)) => c,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let resets = if c.enabled {
        match s.lanyard.disable_preview(&ctx, &slug, &conn).await {
            Ok(users) => users
                .into_iter()
                .map(|u| match u.email {
                    Some(e) => format!("{} <{e}>", u.username),
                    None => u.username,
                })
                .collect(),
            Err(e) => return Ok(error_page(lang, &e)),
        }
    } else {
        Vec::new()
    };
    let action = format!("/admin/t/{slug}/connections/{conn}/enabled");
    let t = lang.tr();
    let key = if c.enabled {
        "disable-title"
    } else {
        "enable-title"
    };
    let page = ConfirmPage {
        nav: admin.nav(&s, t, &action, Some(&tenant), "connections"),
        title: t.f(key, [("name", &c.name)]),
        action,
        enable: !c.enabled,
        resets,
        sso_required: tenant.sso_required,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct ToggleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    enabled: String,
}

impl CsrfToken for ToggleForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn toggle(
    State(s): State<AppState>,
    Path((slug, conn)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: f,
        ..
    }: TenantForm<ToggleForm>,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    let kind = match s.lanyard.get_connection(&ctx, &slug, &conn).await {
        Ok((_, c)) => c.kind,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let posted = vec![("enabled".to_owned(), f.enabled.clone())];
    let enabled = f.enabled == "true";
    let res = match kind.as_str() {
        KIND_OIDC => {
            s.lanyard
                .update_oidc_connection(
                    &ctx,
                    &slug,
                    &conn,
                    lanyard_proto::OidcConnectionInput {
                        enabled: Some(enabled),
                        ..Default::default()
                    },
                )
                .await
        }
        KIND_JWT => {
            s.lanyard
                .update_jwt_connection(
                    &ctx,
                    &slug,
                    &conn,
                    lanyard_proto::JwtConnectionInput {
                        enabled: Some(enabled),
                        ..Default::default()
                    },
                    s.config.dev_mode,
                )
                .await
        }
        _ => {
            s.lanyard
                .update_connection(
                    &ctx,
                    &slug,
                    &conn,
                    lanyard_proto::ConnectionInput {
                        enabled: Some(enabled),
                        ..Default::default()
                    },
                )
                .await
        }
    };
    let _ = posted;
    match res {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/t/{slug}/connections/{conn}?saved=1")).into_response(),
        ),
        Err(e) => Ok(error_page(lang, &e)),
    }
}

/// `GET …/test`: starts a test sign-in (SAML or OIDC) with the connection, enabled or not.
async fn start_test(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, conn)): Path<(String, String)>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, _) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let c = match s.lanyard.get_connection(&ctx, &slug, &conn).await {
        Ok((_, c)) => c,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    Ok(begin_test(&s, &jar, &slug, &c, lang, &meta).await)
}

/// Starts the test sign-in of a connection (SAML or OIDC; a JWT connection is refused with a
/// code: its sign-in starts at the application that mints the token).
pub(crate) async fn begin_test(
    s: &AppState,
    jar: &CookieJar,
    slug: &str,
    c: &Connection,
    lang: Lang,
    meta: &lanyard_core::RequestMeta,
) -> Response {
    if !testable(&c.kind) {
        return error_page(
            lang,
            &Error::invalid(
                "kind",
                "save and test is available for SAML and OpenID Connect connections; sign in through this connection's login URL to try it",
            ),
        );
    }
    let oidc = c.kind == lanyard_core::connection::KIND_OIDC;
    match crate::signin::begin_test(s, jar, slug, &c.slug, oidc, meta).await {
        Ok(r) => r,
        Err(e) => error_page(lang, &e.0),
    }
}

/// Whether "save and test" is offered for a connection kind.
pub(crate) fn testable(kind: &str) -> bool {
    kind == KIND_SAML || kind == lanyard_core::connection::KIND_OIDC
}
