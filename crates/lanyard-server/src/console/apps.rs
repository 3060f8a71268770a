//! Apps of Lanyard as the OpenID provider (OAuth clients), for operators only: the list,
//! registering an app (its secret shown once, on the page that answers), the page an app's
//! developer needs (issuer, discovery URL, client ID, redirect URIs), editing, rotating the
//! secret (shown once) and deleting after a confirmation. Every page takes an operator session
//! ([`super::for_operator`]) and every form [`OperatorForm`]; each action calls the core
//! function of its admin API call (`/api/v1/apps…`), so it is authorised and audited alike.

use super::guard::OperatorForm;
use super::posted::{Posted, done_notice, enc, value};
use super::users::DoneQuery;
use super::{AdminSession, Nav, Refusal, error_page, for_operator, render};
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
use lanyard_core::Error;
use lanyard_core::provider::apps::{GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_TYPES};
use lanyard_proto as proto;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/apps", get(list).post(create))
        .route("/admin/apps/new", get(new_form))
        .route("/admin/apps/{app}", get(show).post(save))
        .route("/admin/apps/{app}/secret", axum::routing::post(rotate))
        .route("/admin/apps/{app}/delete", get(confirm_delete).post(delete))
}

/// The app's settings as the form shows them (from the app, or as posted after a refusal).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub name: String,
    /// One URI per line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: String,
    pub grant_types: Vec<String>,
    pub public: bool,
    pub id_token_alg: String,
    /// Tenant slugs, one per line; empty: every tenant.
    pub tenants: String,
}

impl Fields {
    fn new_app() -> Self {
        Self {
            grant_types: vec![GRANT_AUTHORIZATION_CODE.into(), GRANT_REFRESH_TOKEN.into()],
            id_token_alg: "RS256".into(),
            ..Self::default()
        }
    }

    fn of_app(a: &proto::App) -> Self {
        Self {
            name: a.name.clone(),
            redirect_uris: a.redirect_uris.join("\n"),
            post_logout_redirect_uris: a.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: a.backchannel_logout_uri.clone().unwrap_or_default(),
            grant_types: a.grant_types.clone(),
            public: a.public,
            id_token_alg: a.id_token_alg.clone(),
            tenants: a.tenants.as_deref().unwrap_or_default().join("\n"),
        }
    }

    fn of_posted(p: &[(String, String)]) -> Self {
        Self {
            name: value(p, "name").trim().to_owned(),
            redirect_uris: value(p, "redirect_uris").to_owned(),
            post_logout_redirect_uris: value(p, "post_logout_redirect_uris").to_owned(),
            backchannel_logout_uri: value(p, "backchannel_logout_uri").trim().to_owned(),
            grant_types: p
                .iter()
                .filter(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.clone())
                .collect(),
            public: value(p, "client_type") == "public",
            id_token_alg: value(p, "id_token_alg").trim().to_owned(),
            tenants: value(p, "tenants").to_owned(),
        }
    }

    /// The grant types with their labels and whether each is chosen.
    pub fn grant_options(&self, t: &Tr) -> Vec<(&'static str, &'static str, bool)> {
        GRANT_TYPES
            .iter()
            .map(|g| {
                let key = match *g {
                    GRANT_AUTHORIZATION_CODE => "apps-grant-code",
                    GRANT_REFRESH_TOKEN => "apps-grant-refresh",
                    _ => "apps-grant-device",
                };
                (*g, t.t(key), self.grant_types.iter().any(|c| c == g))
            })
            .collect()
    }
}

/// Lines of a textarea, trimmed, without empty ones.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl Fields {
    pub(crate) fn to_create(&self) -> proto::CreateApp {
        let tenants = lines(&self.tenants);
        proto::CreateApp {
            name: self.name.clone(),
            redirect_uris: lines(&self.redirect_uris),
            public: self.public,
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            backchannel_logout_uri: opt(&self.backchannel_logout_uri),
            grant_types: Some(self.grant_types.clone()),
            id_token_alg: opt(&self.id_token_alg),
            tenants: (!tenants.is_empty()).then_some(tenants),
        }
    }

    /// Every setting the form shows (the client type cannot change: the API has no such update).
    pub(crate) fn to_update(&self) -> proto::UpdateApp {
        let tenants = lines(&self.tenants);
        proto::UpdateApp {
            name: Some(self.name.clone()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            backchannel_logout_uri: Some(opt(&self.backchannel_logout_uri)),
            grant_types: Some(self.grant_types.clone()),
            id_token_alg: opt(&self.id_token_alg),
            tenants: Some((!tenants.is_empty()).then_some(tenants)),
        }
    }
}

/// A refusal shown on a form: (code, message).
fn shown(e: &Error) -> (String, String) {
    (e.code().to_owned(), e.to_string())
}

/// Renders a page with the status of its refusal (if any) and the code for the metrics.
fn answer(page: &impl Template, error: Option<&Error>) -> Response {
    let status = error.map_or(StatusCode::OK, |e| crate::error::status_of(e.kind()));
    let mut res = render(status, page);
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct ListPage {
    nav: Nav,
    apps: Vec<proto::App>,
    more: bool,
    notice: Option<&'static str>,
}

async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let admin = for_operator(&s, &jar, lang, "/admin/apps").await?;
    let ctx = admin.admin.ctx(&meta);
    let (apps, next) = match s.lanyard.list_apps(&ctx, None, Some(200)).await {
        Ok(a) => a,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let mut wire = Vec::with_capacity(apps.len());
    for a in &apps {
        match s.lanyard.app_to_wire(a).await {
            Ok(w) => wire.push(w),
            Err(e) => return Ok(error_page(lang, &e)),
        }
    }
    let t = lang.tr();
    let page = ListPage {
        nav: admin.nav(&s, t, "/admin/apps", None, "apps"),
        apps: wire,
        more: next.is_some(),
        notice: done_notice(t, q.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "console/apps_new.html")]
struct NewPage {
    nav: Nav,
    f: Fields,
    error: Option<(String, String)>,
}

async fn new_form(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let admin = for_operator(&s, &jar, lang, "/admin/apps/new").await?;
    let page = NewPage {
        nav: admin.nav(&s, lang.tr(), "/admin/apps/new", None, "apps"),
        f: Fields::new_app(),
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/apps`: registers the app and answers its page with the secret, once.
async fn create(
    State(s): State<AppState>,
    OperatorForm {
        admin,
        lang,
        meta,
        form,
    }: OperatorForm,
) -> Response {
    let f = Fields::of_posted(&form);
    match s
        .lanyard
        .create_app(&admin.admin.ctx(&meta), f.to_create())
        .await
    {
        Ok((app, secret)) => match s.lanyard.app_to_wire(&app).await {
            Ok(w) => app_page(&s, lang, &admin, w, None, secret, None, None),
            Err(e) => error_page(lang, &e),
        },
        Err(e) => {
            let page = NewPage {
                nav: admin.nav(&s, lang.tr(), "/admin/apps/new", None, "apps"),
                f,
                error: Some(shown(&e)),
            };
            answer(&page, Some(&e))
        }
    }
}

#[derive(Template)]
#[template(path = "console/apps_app.html")]
struct AppPage {
    nav: Nav,
    app: proto::App,
    f: Fields,
    issuer: String,
    discovery: String,
    /// Shown once: just after registering or rotating.
    secret: Option<String>,
    notice: Option<&'static str>,
    error: Option<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
fn app_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    app: proto::App,
    posted: Option<Fields>,
    secret: Option<String>,
    done: Option<&str>,
    error: Option<&Error>,
) -> Response {
    let t = lang.tr();
    let issuer = crate::provider::issuer(s);
    let page = AppPage {
        nav: admin.nav(
            s,
            t,
            &format!("/admin/apps/{}", enc(&app.client_id)),
            None,
            "apps",
        ),
        f: posted.unwrap_or_else(|| Fields::of_app(&app)),
        discovery: format!("{issuer}/.well-known/openid-configuration"),
        issuer,
        app,
        secret,
        notice: done_notice(t, done),
        error: error.map(shown),
    };
    answer(&page, error)
}

/// The app in its wire form, or the console's error page (`app.not_found`, …).
async fn wire_app(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    meta: &lanyard_core::RequestMeta,
    id: &str,
) -> Result<proto::App, Response> {
    let app = s
        .lanyard
        .get_app(&admin.admin.ctx(meta), id)
        .await
        .map_err(|e| error_page(lang, &e))?;
    s.lanyard
        .app_to_wire(&app)
        .await
        .map_err(|e| error_page(lang, &e))
}

async fn show(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let back = format!("/admin/apps/{}", enc(&id));
    let admin = for_operator(&s, &jar, lang, &back).await?;
    Ok(match wire_app(&s, lang, &admin, &meta, &id).await {
        Ok(app) => app_page(&s, lang, &admin, app, None, None, q.done.as_deref(), None),
        Err(r) => r,
    })
}

/// `POST /admin/apps/{app}`: saves every setting of the form.
async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm {
        admin,
        lang,
        meta,
        form,
    }: OperatorForm,
) -> Response {
    let f = Fields::of_posted(&form);
    match s
        .lanyard
        .update_app(&admin.admin.ctx(&meta), &id, f.to_update())
        .await
    {
        Ok(app) => {
            Redirect::to(&format!("/admin/apps/{}?done=app-saved", enc(&app.id))).into_response()
        }
        Err(e) => match wire_app(&s, lang, &admin, &meta, &id).await {
            // The form comes back with what was typed and the code.
            Ok(app) => {
                let f = Fields {
                    public: app.public,
                    ..f
                };
                app_page(&s, lang, &admin, app, Some(f), None, None, Some(&e))
            }
            Err(r) => r,
        },
    }
}

/// `POST /admin/apps/{app}/secret`: a new secret, shown once on the page that answers.
async fn rotate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm {
        admin, lang, meta, ..
    }: OperatorForm,
) -> Response {
    match s
        .lanyard
        .rotate_app_secret(&admin.admin.ctx(&meta), &id)
        .await
    {
        Ok((app, secret)) => match s.lanyard.app_to_wire(&app).await {
            Ok(w) => app_page(&s, lang, &admin, w, None, Some(secret), None, None),
            Err(e) => error_page(lang, &e),
        },
        Err(e) => error_page(lang, &e),
    }
}

#[derive(Template)]
#[template(path = "console/apps_delete.html")]
struct DeletePage {
    nav: Nav,
    app: proto::App,
    confirm: String,
}

async fn confirm_delete(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(id): Path<String>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let back = format!("/admin/apps/{}/delete", enc(&id));
    let admin = for_operator(&s, &jar, lang, &back).await?;
    Ok(match wire_app(&s, lang, &admin, &meta, &id).await {
        Ok(app) => {
            let t = lang.tr();
            let page = DeletePage {
                nav: admin.nav(&s, t, &back, None, "apps"),
                confirm: t.f("apps-delete-confirm", [("name", &app.name)]),
                app,
            };
            render(StatusCode::OK, &page)
        }
        Err(r) => r,
    })
}

/// `POST /admin/apps/{app}/delete` (from the confirmation page).
async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm {
        admin, lang, meta, ..
    }: OperatorForm<Posted>,
) -> Response {
    match s.lanyard.delete_app(&admin.admin.ctx(&meta), &id).await {
        Ok(()) => Redirect::to("/admin/apps?done=app-deleted").into_response(),
        Err(e) => error_page(lang, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Posted {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_app_form_becomes_the_apis_create_and_update() {
        let f = Fields::of_posted(&p(&[
            ("name", " Wiki "),
            (
                "redirect_uris",
                "https://wiki.example/cb\r\n\r\n http://127.0.0.1:9/cb ",
            ),
            ("post_logout_redirect_uris", ""),
            ("backchannel_logout_uri", " "),
            ("grant_type", "authorization_code"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_type", "public"),
            ("id_token_alg", "ES256"),
            ("tenants", "acme\nother\n"),
        ]));
        let c = f.to_create();
        assert_eq!(c.name, "Wiki");
        assert_eq!(
            c.redirect_uris,
            vec!["https://wiki.example/cb", "http://127.0.0.1:9/cb"]
        );
        assert!(c.public);
        assert!(c.post_logout_redirect_uris.is_empty());
        assert_eq!(c.backchannel_logout_uri, None);
        assert_eq!(c.grant_types.as_ref().map(Vec::len), Some(2));
        assert_eq!(c.id_token_alg.as_deref(), Some("ES256"));
        assert_eq!(c.tenants, Some(vec!["acme".into(), "other".into()]));
        let u = f.to_update();
        assert_eq!(u.backchannel_logout_uri, Some(None));
        assert_eq!(u.tenants, Some(Some(vec!["acme".into(), "other".into()])));
        // No tenants listed: every tenant.
        let u = Fields::of_posted(&p(&[("tenants", " \n")])).to_update();
        assert_eq!(u.tenants, Some(None));
        assert!(!Fields::of_posted(&p(&[("client_type", "confidential")])).public);
    }
}
