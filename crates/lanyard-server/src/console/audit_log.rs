//! The tenant's audit log: newest first, filtered by user, kind, code and time, each event
//! expandable to its details (`<details>`, no script needed). Read through the same core
//! function as `GET /tenants/{t}/audit-events`, held to the tenant in view.

use super::{Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::PageLang;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::clock::parse_rfc3339;
use lanyard_core::model::AuditFilter;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/t/{tenant}/audit", get(list))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    /// A user ID or username.
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub code: String,
    /// RFC 3339, or a browser's `datetime-local` value (read as UTC).
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// An instant typed into the filter: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]` in UTC.
pub(crate) fn instant(field: &'static str, v: &str) -> Result<Option<i64>, Error> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let with_zone = match v.len() {
        16 => format!("{v}:00Z"),
        19 => format!("{v}Z"),
        _ => v.to_owned(),
    };
    parse_rfc3339(&with_zone).map(Some).ok_or_else(|| {
        Error::invalid(
            field,
            "use a UTC time such as 2026-12-01T08:00 or an RFC 3339 instant",
        )
    })
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl AuditQuery {
    /// This listing's query string without the cursor.
    pub fn query_string(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", &self.user),
            ("kind", &self.kind),
            ("code", &self.code),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// One event as the page shows it.
#[derive(Debug, Clone)]
pub(crate) struct EventView {
    pub at: String,
    pub kind: String,
    pub code: Option<String>,
    pub actor: String,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// The details as indented JSON.
    pub details: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    q: AuditQuery,
    rows: Vec<EventView>,
    next: Option<String>,
    error: Option<(String, String)>,
}

async fn list(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<AuditQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    let ctx = admin.admin.ctx(&meta);
    let result = async {
        let user_id = match opt(&q.user) {
            Some(u) => Some(s.lanyard.user_by_ref(&ctx, &slug, &u).await?.1.id),
            None => None,
        };
        let filter = AuditFilter {
            tenant: Some(tenant.slug.clone()),
            user_id,
            kind: opt(&q.kind),
            code: opt(&q.code),
            since: instant("since", &q.since)?,
            until: instant("until", &q.until)?,
            ..AuditFilter::default()
        };
        s.lanyard
            .list_audit(&ctx, filter, q.cursor.as_deref(), Some(100))
            .await
    }
    .await;
    let (rows, next, error) = match result {
        Ok((rows, next)) => (rows, next, None),
        Err(e @ (Error::Invalid { .. } | Error::UserNotFound)) => (Vec::new(), None, Some(e)),
        Err(e) => return Ok(error_page(lang, &e)),
    };
    let rows = rows
        .iter()
        .map(|r| {
            let w = r.to_wire();
            EventView {
                details: serde_json::to_string_pretty(&w.details).unwrap_or_default(),
                at: w.at,
                kind: w.kind,
                code: w.code,
                actor: w.actor,
                user_id: w.user_id,
                ip: w.ip,
                request_id: w.request_id,
            }
        })
        .collect();
    let qs = q.query_string();
    let here = if qs.is_empty() {
        format!("/admin/t/{slug}/audit")
    } else {
        format!("/admin/t/{slug}/audit?{qs}")
    };
    let status = error
        .as_ref()
        .map_or(StatusCode::OK, |e| crate::error::status_of(e.kind()));
    let page = AuditPage {
        nav: admin.nav(&s, lang.tr(), &here, Some(&tenant), "audit"),
        q,
        rows,
        next,
        error: error.as_ref().map(|e| super::form_error(lang, e)),
    };
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_times_take_rfc3339_and_the_browsers_local_form_as_utc() {
        let t = parse_rfc3339("2026-12-01T08:00:00Z").unwrap();
        assert_eq!(instant("since", "2026-12-01T08:00").unwrap(), Some(t));
        assert_eq!(instant("since", "2026-12-01T08:00:00").unwrap(), Some(t));
        assert_eq!(
            instant("since", "2026-12-01T09:00:00+01:00").unwrap(),
            Some(t)
        );
        assert_eq!(instant("since", " ").unwrap(), None);
        let e = instant("until", "yesterday").unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
        assert!(e.to_string().starts_with("until"));
    }
}
