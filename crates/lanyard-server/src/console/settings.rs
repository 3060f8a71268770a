//! Tenant settings: SSO required, session length, the default SSO role of collaborators, email
//! confirmation, the default language of its emails, network masks (sign-in routing), and verified email domains (the DNS TXT
//! record to publish, "verify now", the operator's override). Each form calls the core function
//! of its admin API call (`PATCH /tenants/{t}`, `…/domains…`), so it is audited alike.

use super::guard::TenantForm;
use super::posted::{checkbox, done_notice, value};
use super::users::DoneQuery;
use super::{AdminSession, Nav, Refusal, error_page, for_tenant, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::model::Tenant;
use lanyard_proto as proto;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/settings", get(show).post(save))
        .route("/admin/t/{tenant}/settings/domains", post(claim))
        .route(
            "/admin/t/{tenant}/settings/domains/{domain}/{action}",
            post(domain_action),
        )
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    nav: Nav,
    tenant: proto::Tenant,
    session_minutes: String,
    roles: Vec<String>,
    domains: Vec<proto::TenantDomain>,
    notice: Option<&'static str>,
    error: Option<(String, String)>,
    /// The masks as posted after a refusal (else the tenant's).
    masks_text: String,
    /// The languages a tenant's emails may default to: (code, name in that language).
    languages: Vec<(&'static str, &'static str)>,
}

/// The settings form as the admin API's partial update.
pub(crate) fn to_update(posted: &[(String, String)]) -> Result<proto::UpdateTenant, Error> {
    let minutes = value(posted, "session_minutes").trim();
    let session_lifetime_secs = if minutes.is_empty() {
        None
    } else {
        let m = minutes.parse::<i64>().map_err(|_| {
            Error::invalid(
                "session_lifetime_secs",
                "write the session length in whole minutes",
            )
        })?;
        Some(m.checked_mul(60).ok_or_else(|| {
            Error::invalid("session_lifetime_secs", "the session length is too long")
        })?)
    };
    let role = value(posted, "sso_default_role").trim();
    let language = value(posted, "language").trim();
    Ok(proto::UpdateTenant {
        language: (!language.is_empty()).then(|| language.to_owned()),
        name: Some(value(posted, "name").trim().to_owned()).filter(|n| !n.is_empty()),
        session_lifetime_secs,
        sso_required: checkbox(posted, "sso_required"),
        sso_default_role: Some((!role.is_empty()).then(|| role.to_owned())),
        require_email_confirmation: checkbox(posted, "require_email_confirmation"),
        network_masks: Some(
            value(posted, "network_masks")
                .split(['\n', ',', ' '])
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    })
}

async fn show(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(slug): Path<String>,
    Query(q): Query<DoneQuery>,
    jar: CookieJar,
) -> Result<Response, Refusal> {
    let (admin, tenant) = for_tenant(&s, &jar, &meta, lang, &slug).await?;
    Ok(page(
        &s,
        lang,
        &admin,
        &tenant,
        &meta,
        q.done.as_deref(),
        None,
        None,
    )
    .await)
}

#[allow(clippy::too_many_arguments)]
async fn page(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    tenant: &Tenant,
    meta: &lanyard_core::RequestMeta,
    done: Option<&str>,
    error: Option<&Error>,
    posted: Option<&[(String, String)]>,
) -> Response {
    let ctx = admin.admin.ctx(meta);
    let roles = match s.lanyard.list_roles(&ctx, &tenant.slug).await {
        Ok(r) => r.into_iter().map(|r| r.name).collect(),
        Err(e) => return error_page(lang, &e),
    };
    let domains = match s.lanyard.list_domains(&ctx, &tenant.slug).await {
        Ok(d) => d.iter().map(|d| d.to_wire()).collect(),
        Err(e) => return error_page(lang, &e),
    };
    let wire = tenant.to_wire();
    let masks_text = match posted {
        Some(p) => value(p, "network_masks").to_owned(),
        None => wire.network_masks.join("\n"),
    };
    let t = lang.tr();
    let p = SettingsPage {
        nav: admin.nav(
            s,
            t,
            &format!("/admin/t/{}/settings", tenant.slug),
            Some(tenant),
            "settings",
        ),
        session_minutes: (wire.session_lifetime_secs / 60).to_string(),
        tenant: wire,
        roles,
        domains,
        notice: done_notice(t, done),
        error: error.map(|e| super::form_error(lang, e)),
        masks_text,
        languages: Lang::ALL
            .iter()
            .map(|l| (l.code(), l.tr().t("lang-name")))
            .collect(),
    };
    let status = error.map_or(StatusCode::OK, |e| crate::error::status_of(e.kind()));
    let mut res = render(status, &p);
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

/// After an action: back to the settings with a notice, or the settings page with the error.
#[allow(clippy::too_many_arguments)]
async fn answer<T>(
    s: &AppState,
    lang: Lang,
    admin: &AdminSession,
    slug: &str,
    meta: &lanyard_core::RequestMeta,
    res: Result<T, Error>,
    done: &str,
    posted: Option<&[(String, String)]>,
) -> Response {
    match res {
        Ok(_) => Redirect::to(&format!("/admin/t/{slug}/settings?done={done}")).into_response(),
        Err(e) => {
            // Read the tenant again: the form shows what is stored now.
            match s.lanyard.admin_tenant(&admin.admin.ctx(meta), slug).await {
                Ok(t) => page(s, lang, admin, &t, meta, None, Some(&e), posted).await,
                Err(other) => error_page(lang, &other),
            }
        }
    }
}

async fn save(
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
    let res = match to_update(&posted) {
        Ok(req) => {
            s.lanyard
                .update_tenant(&admin.admin.ctx(&meta), &slug, req)
                .await
        }
        Err(e) => Err(e),
    };
    Ok(answer(
        &s,
        lang,
        &admin,
        &slug,
        &meta,
        res,
        "settings-saved",
        Some(&posted),
    )
    .await)
}

/// `POST …/settings/domains`: claims an email domain (pending until its TXT record is found).
async fn claim(
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
        .claim_domain(&admin.admin.ctx(&meta), &slug, value(&posted, "domain"))
        .await;
    Ok(answer(&s, lang, &admin, &slug, &meta, res, "domain-claimed", None).await)
}

/// `POST …/settings/domains/{domain}/{check|override|delete}`.
async fn domain_action(
    State(s): State<AppState>,
    Path((slug, domain, action)): Path<(String, String, String)>,
    TenantForm {
        admin, lang, meta, ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let ctx = admin.admin.ctx(&meta);
    let l = &s.lanyard;
    let (res, done) = match action.as_str() {
        "check" => match l.check_domain(&ctx, &slug, &domain).await {
            Ok(d) if d.verified() => (Ok(()), "domain-verified"),
            Ok(_) => (Ok(()), "domain-checked"),
            Err(e) => (Err(e), ""),
        },
        "override" => (
            l.override_domain(&ctx, &slug, &domain).await.map(|_| ()),
            "domain-verified",
        ),
        "delete" => (
            l.delete_domain(&ctx, &slug, &domain).await,
            "domain-deleted",
        ),
        _ => (
            Err(Error::invalid("action", "use check, override or delete")),
            "",
        ),
    };
    Ok(answer(&s, lang, &admin, &slug, &meta, res, done, None).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::posted::Posted;

    fn p(pairs: &[(&str, &str)]) -> Posted {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_settings_form_becomes_the_apis_update() {
        let u = to_update(&p(&[
            ("name", " Acme "),
            ("session_minutes", "90"),
            ("sso_required", "false"),
            ("sso_required", "true"),
            ("require_email_confirmation", "false"),
            ("sso_default_role", ""),
            ("network_masks", "192.0.2.0/24\n\n2001:db8::/32 "),
            ("language", "ja"),
        ]))
        .unwrap();
        assert_eq!(u.name.as_deref(), Some("Acme"));
        assert_eq!(u.session_lifetime_secs, Some(5400));
        assert_eq!(u.sso_required, Some(true));
        assert_eq!(u.require_email_confirmation, Some(false));
        assert_eq!(u.sso_default_role, Some(None));
        assert_eq!(u.language.as_deref(), Some("ja"));
        assert_eq!(
            u.network_masks,
            Some(vec!["192.0.2.0/24".to_owned(), "2001:db8::/32".to_owned()])
        );
        let e = to_update(&p(&[("session_minutes", "soon")])).unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
        assert!(e.to_string().starts_with("session_lifetime_secs"));
        let e = to_update(&p(&[("session_minutes", &i64::MAX.to_string())])).unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
    }
}
