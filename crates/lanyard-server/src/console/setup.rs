//! Setup links in the console: list, create (the link is shown once), revoke.

use super::guard::{CsrfToken, TenantForm};
use super::{Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::PageLang;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::clock::rfc3339;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/setup-links", get(list).post(create))
        .route("/admin/t/{tenant}/setup-links/{id}/revoke", post(revoke))
}

/// A link as listed: id, note, state, created, expires.
struct Row {
    id: String,
    note: String,
    state: &'static str,
    state_key: String,
    created: String,
    expires: String,
    live: bool,
}

#[derive(Template)]
#[template(path = "console/setup_links.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    /// A link just created: its URL and lifetime in hours (shown once).
    created: Option<(String, i64)>,
    created_text: String,
    error: Option<(String, String)>,
}

async fn page(
    s: &AppState,
    lang: crate::i18n::Lang,
    meta: &lanyard_core::RequestMeta,
    slug: &str,
    jar: &CookieJar,
    created: Option<(String, i64)>,
    error: Option<&lanyard_core::Error>,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(s, jar, meta, lang, slug).await?;
    let links = match s
        .lanyard
        .list_setup_links(&admin.admin.ctx(meta), slug)
        .await
    {
        Ok((_, l)) => l,
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let now = s.lanyard.now();
    let rows = links
        .into_iter()
        .map(|l| {
            let state = l.state(now);
            Row {
                state_key: format!("state-{}", state.as_str()),
                live: matches!(
                    state,
                    lanyard_core::console::setup::LinkState::Open
                        | lanyard_core::console::setup::LinkState::Claimed
                ),
                state: state.as_str(),
                created: rfc3339(l.created_at),
                expires: rfc3339(l.expires_at),
                id: l.id,
                note: l.note,
            }
        })
        .collect();
    let here = format!("/admin/t/{slug}/setup-links");
    let status = error.map_or(StatusCode::OK, |e| crate::error::status_of(e.kind()));
    let t = lang.tr();
    let created_text = created
        .as_ref()
        .map(|(_, h)| t.f("setup-links-created", [("hours", &h.to_string())]))
        .unwrap_or_default();
    let page = ListPage {
        nav: admin.nav(s, t, &here, Some(&tenant), "setup"),
        rows,
        created,
        created_text,
        error: error.map(|e| super::form_error(lang, e)),
    };
    Ok(render(status, &page))
}

async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    page(&s, lang, &meta, &slug, &jar, None, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    hours: String,
}

impl CsrfToken for CreateForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn create(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    TenantForm {
        admin,
        lang,
        meta,
        jar,
        form: f,
        ..
    }: TenantForm<CreateForm>,
) -> Result<Response, Refusal> {
    let hours = match f.hours.trim() {
        "" => None,
        h => match h.parse::<i64>() {
            Ok(h) => Some(h),
            Err(_) => Some(0),
        },
    };
    match s
        .lanyard
        .create_setup_link(&admin.admin.ctx(&meta), &slug, &f.note, hours)
        .await
    {
        Ok(new) => {
            let url = format!(
                "{}/setup/{}",
                s.config.public_url.as_str().trim_end_matches('/'),
                new.token
            );
            let h = (new.link.expires_at - new.link.created_at) / 3600;
            page(&s, lang, &meta, &slug, &jar, Some((url, h)), None).await
        }
        Err(e) => page(&s, lang, &meta, &slug, &jar, None, Some(&e)).await,
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf_token: String,
}

impl CsrfToken for RevokeForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn revoke(
    State(s): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm<RevokeForm>,
) -> Result<Response, Refusal> {
    match s
        .lanyard
        .revoke_setup_link(&admin.admin.ctx(&meta), &slug, &id)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/admin/t/{slug}/setup-links")).into_response()),
        Err(e) => Ok(error_page(lang, &e)),
    }
}
