//! User pages: the list (search, SSO state, "needs a role") and one user's page (profile and
//! role, federation IDs per connection, invitation, sessions, API tokens, password). The pages
//! read through the same core functions as the admin API; the forms post to
//! [`super::user_actions`].

use super::posted::done_notice;
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
use lanyard_core::model::{SsoState, Tenant};
use lanyard_core::store::UserFilter;
use lanyard_core::{Ctx, Error};
use lanyard_proto as proto;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    use super::user_actions as a;
    Router::new()
        .route("/admin/t/{tenant}/users", get(list))
        .route(
            "/admin/t/{tenant}/users/{user}",
            get(detail).post(a::update),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/federation/{conn}",
            post(a::federation),
        )
        .route("/admin/t/{tenant}/users/{user}/invite", post(a::invite))
        .route(
            "/admin/t/{tenant}/users/{user}/sessions/revoke",
            post(a::revoke_all_sessions),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/sessions/{session}/revoke",
            post(a::revoke_session),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/tokens/{token}/revoke",
            post(a::revoke_token),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/require-password-change",
            post(a::require_password_change),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/reset-link",
            post(a::reset_link),
        )
        .route(
            "/admin/t/{tenant}/invitations",
            get(a::invitations).post(a::invite_many),
        )
}

/// The SSO-state filter values of the list, in the order the select shows them.
pub(crate) const SSO_FILTERS: &[&str] = &["not_on_sso", "none", "invited", "declined", "linked"];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub sso: String,
    #[serde(default)]
    pub needs_role: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The core's filter; an unknown SSO state is refused with the API's code.
    pub fn filter(&self) -> Result<UserFilter, Error> {
        let mut f = UserFilter {
            needs_role: self.needs_role.as_deref() == Some("1"),
            search: Some(self.search.trim().to_owned()).filter(|s| !s.is_empty()),
            ..UserFilter::default()
        };
        match self.sso.as_str() {
            "" => {}
            "not_on_sso" => f.not_on_sso = true,
            other => {
                f.sso_state = Some(SsoState::parse(other).ok_or_else(|| {
                    Error::invalid(
                        "sso",
                        "must be not_on_sso, none, invited, declined or linked",
                    )
                })?)
            }
        }
        Ok(f)
    }

    /// This listing's query string without the cursor (for the next page and the language).
    pub fn query_string(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !self.search.is_empty() {
            q.append_pair("search", &self.search);
        }
        if !self.sso.is_empty() {
            q.append_pair("sso", &self.sso);
        }
        if self.needs_role.as_deref() == Some("1") {
            q.append_pair("needs_role", "1");
        }
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct ListPage {
    nav: Nav,
    q: ListQuery,
    rows: Vec<proto::User>,
    next: Option<String>,
    filters: &'static [&'static str],
}

async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<ListQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let (rows, next) = match s
        .lanyard
        .list_users(&ctx, &slug, &filter, q.cursor.as_deref(), Some(50))
        .await
    {
        Ok((t, rows, next)) => (rows.iter().map(|u| u.to_wire(&t.slug)).collect(), next),
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let qs = q.query_string();
    let here = if qs.is_empty() {
        format!("/admin/t/{slug}/users")
    } else {
        format!("/admin/t/{slug}/users?{qs}")
    };
    let page = ListPage {
        nav: admin.nav(&s, lang.tr(), &here, Some(&tenant), "users"),
        q,
        rows,
        next,
        filters: SSO_FILTERS,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One connection's row on a user's page: the federation ID the user signs in with, if any.
#[derive(Debug, Clone)]
pub(crate) struct FederationRow {
    pub connection: String,
    pub name: String,
    pub enabled: bool,
    pub federation_id: Option<String>,
    pub last_login_at: Option<String>,
}

#[derive(Template)]
#[template(path = "console/user.html")]
pub(crate) struct UserPage {
    pub nav: Nav,
    pub user: proto::User,
    pub roles: Vec<String>,
    pub federation: Vec<FederationRow>,
    pub invitations: Vec<proto::Invitation>,
    pub sessions: Vec<proto::Session>,
    pub tokens: Vec<proto::ApiToken>,
    pub notice: Option<&'static str>,
    /// A password reset link just created: shown once.
    pub reset_link: Option<String>,
}

impl UserPage {
    /// Connections the user could be invited through (enabled ones).
    pub fn invite_connections(&self) -> Vec<&FederationRow> {
        self.federation.iter().filter(|f| f.enabled).collect()
    }

    /// The page's own path (its forms post below it).
    pub fn base(&self) -> String {
        let slug = self.nav.tenant.as_ref().map_or("", |(s, _)| s.as_str());
        format!("/admin/t/{slug}/users/{}", self.user.id)
    }

    /// The catalogue key of the user's SSO state.
    pub fn state_key(&self) -> String {
        format!("sso-state-{}", self.user.sso_state)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    pub done: Option<String>,
}

async fn detail(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    Ok(user_page(
        &s,
        lang,
        &admin,
        &tenant,
        &meta,
        &id,
        q.done.as_deref(),
        None,
    )
    .await)
}

/// Renders a user's page (after a GET, or with a reset link just created).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn user_page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    meta: &lanyard_core::RequestMeta,
    id: &str,
    done: Option<&str>,
    reset_link: Option<String>,
) -> Response {
    let ctx = admin.admin.ctx(meta);
    match load(s, &ctx, &tenant.slug, id).await {
        Ok(mut page) => {
            let t = lang.tr();
            page.nav = admin.nav(
                s,
                t,
                &format!("/admin/t/{}/users/{}", tenant.slug, page.user.id),
                Some(tenant),
                "users",
            );
            page.notice = done_notice(t, done);
            page.reset_link = reset_link;
            render(StatusCode::OK, &page)
        }
        Err(e) => error_page(lang, &e),
    }
}

/// Everything a user's page shows, read as the admin API reads it.
async fn load(s: &AppState, ctx: &Ctx, slug: &str, id: &str) -> Result<UserPage, Error> {
    let l = &s.lanyard;
    let (t, u) = l.get_user(ctx, slug, id).await?;
    let roles = l
        .list_roles(ctx, slug)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let ids = l.federated_identities(ctx, slug, &u.id).await?;
    let (_, conns) = l.list_connections(ctx, slug).await?;
    let federation = conns
        .iter()
        .map(|c| {
            let fi = ids.iter().find(|f| f.connection == c.slug);
            FederationRow {
                connection: c.slug.clone(),
                name: c.name.clone(),
                enabled: c.enabled,
                federation_id: fi.map(|f| f.federation_id.clone()),
                last_login_at: fi.and_then(|f| f.last_login_at.clone()),
            }
        })
        .collect();
    let (sessions, _) = l
        .list_sessions(ctx, slug, Some(&u.id), false, None, Some(200))
        .await?;
    let tokens = l
        .list_api_tokens(ctx, slug, &u.id)
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| t.to_wire())
        .collect();
    Ok(UserPage {
        nav: placeholder_nav(),
        invitations: invitations_of(s, ctx, slug, &u.id).await?,
        user: u.to_wire(&t.slug),
        roles,
        federation,
        sessions: sessions.iter().map(|v| v.to_wire()).collect(),
        tokens,
        notice: None,
        reset_link: None,
    })
}

/// The user's invitations (the listing is per tenant: read until the end, at most 20 pages).
async fn invitations_of(
    s: &AppState,
    ctx: &Ctx,
    slug: &str,
    user_id: &str,
) -> Result<Vec<proto::Invitation>, Error> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let (rows, next) = s
            .lanyard
            .list_invitations(ctx, slug, cursor.as_deref(), Some(200))
            .await?;
        out.extend(rows.into_iter().filter(|i| i.user_id == user_id));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    Ok(out)
}

/// Replaced by the real navigation before rendering.
fn placeholder_nav() -> Nav {
    Nav {
        t: Lang::En.tr(),
        here: String::new(),
        user: String::new(),
        tenant: None,
        operator: false,
        home_slug: String::new(),
        csrf: String::new(),
        section: "users",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_become_the_cores_filter() {
        let q = ListQuery {
            search: "  Jo ".into(),
            sso: "not_on_sso".into(),
            needs_role: Some("1".into()),
            cursor: None,
        };
        let f = q.filter().unwrap();
        assert!(f.not_on_sso && f.needs_role);
        assert_eq!(f.search.as_deref(), Some("Jo"));
        assert_eq!(q.query_string(), "search=++Jo+&sso=not_on_sso&needs_role=1");
        let q = ListQuery {
            sso: "linked".into(),
            ..Default::default()
        };
        assert_eq!(q.filter().unwrap().sso_state, Some(SsoState::Linked));
        let q = ListQuery {
            sso: "bogus".into(),
            ..Default::default()
        };
        assert_eq!(q.filter().unwrap_err().code(), "request.invalid_field");
    }
}
