//! The setup portal (`/setup/{token}`): the customer's IT admin, without a Lanyard account,
//! picks their IdP and gets a guided page: the values to paste into the IdP, a form for the
//! IdP's values, and "Save and test". Nothing else of the tenant is reachable: the link's actor
//! ([`lanyard_core::audit::Actor::SetupLink`]) reaches only connection functions, and only the
//! connection the link created.
//!
//! The first browser to open a link claims it: a cookie scoped to the link's path holds the
//! claim token (its SHA-256 is stored); another browser is refused `setup_link.claimed`. The
//! portal's forms carry the MAC of the claim token as their CSRF token.

use super::connections::{
    CopyValue, FieldView, cert_views, copy_values, field_views, form_meta, save, test_starting,
};
use super::{error_page, render};
use crate::AppState;
use crate::extract::Meta;
use crate::i18n::{Lang, PageLang, Tr};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::connection::{KIND_OIDC, KIND_SAML};
use lanyard_core::console::guided_oidc::{GOOGLE_ISSUER, GuidedIdp};
use lanyard_core::console::setup::OpenedLink;
use lanyard_core::model::Connection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/{token}", get(start))
        .route("/setup/{token}/idp/{idp}", get(guide).post(submit))
        .route("/setup/{token}/test", get(test))
        .route("/setup/{token}/finish", post(finish))
}

/// The identity providers the portal guides through: (id, connection kind, attribute preset).
pub const IDPS: [(&str, &str, &str); 9] = [
    ("okta", KIND_SAML, "okta"),
    ("okta-oidc", KIND_OIDC, "okta"),
    ("entra", KIND_SAML, "entra"),
    ("entra-oidc", KIND_OIDC, "entra"),
    ("google", KIND_SAML, "google"),
    ("google-oidc", KIND_OIDC, "google"),
    ("adfs", KIND_SAML, "generic"),
    ("saml", KIND_SAML, "generic"),
    ("oidc", KIND_OIDC, "generic"),
];

/// The fields the IT admin fills in: the IdP's values only (no provisioning, no names).
const SKIP: &[&str] = &[
    "slug",
    "name",
    "request_binding",
    "sign_requests",
    "allow_idp_initiated",
    "require_signed_assertions",
    "allow_sha1",
    "clock_skew_secs",
    "jit",
    "username_attribute",
    "email_attribute",
    "display_name_attribute",
    "logoff_url",
    "token_endpoint_auth_method",
    "audience_uris",
    "key_claim",
    "allowed_algorithms",
    "signing_certificates",
    "use_userinfo",
    "require_iss",
    "trust_verified_domain_emails",
    "hosted_domain",
    "username_claim",
    "scopes",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "jwks_uri",
    "discovery_json",
    "provisioning.attribute_preset",
    "provisioning.federation_id_attribute",
    "provisioning.role_claim",
    "provisioning.role_mapping",
    "provisioning.default_role",
    "provisioning.role_sync",
    "provisioning.role_claim_is_role_name",
    "provisioning.jit_requires_email",
    "provisioning.required_authn_contexts",
];

/// The fields `idp`'s form leaves out: [`SKIP`], and for a guided OpenID Connect provider the
/// discovery URL (its endpoints follow from the issuer), but not Google's hosted domain.
fn skip_for(idp: &str) -> Vec<&'static str> {
    let mut skip = SKIP.to_vec();
    match GuidedIdp::from_portal_id(idp) {
        Some(GuidedIdp::Google) => {
            skip.retain(|f| *f != "hosted_domain");
            skip.push("discovery_url");
        }
        Some(_) => skip.push("discovery_url"),
        None => {}
    }
    skip
}

/// The settings a guided OpenID Connect provider adds to the posted form: the issuer checked
/// and normalised, the endpoints that follow from it, and on create the provider's needs.
fn guided_fields(
    g: GuidedIdp,
    posted: &mut Vec<(String, String)>,
    create: bool,
) -> Result<(), Error> {
    let last = |name: &str| {
        posted
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if create || last("hosted_domain").is_some() {
        lanyard_core::console::guided_oidc::check_hosted_domain(
            g,
            last("hosted_domain").as_deref(),
        )
        .map_err(Error::Console)?;
    }
    let issuer = last("issuer").unwrap_or_default();
    if !create && issuer.trim().is_empty() {
        return Ok(());
    }
    let o = g.settings(&issuer).map_err(Error::Console)?;
    posted.retain(|(k, _)| k != "issuer");
    let mut add = |k: &str, v: &str| posted.push((k.to_owned(), v.to_owned()));
    add("issuer", &o.issuer);
    add("authorization_endpoint", &o.authorization_endpoint);
    add("token_endpoint", &o.token_endpoint);
    add("userinfo_endpoint", &o.userinfo_endpoint);
    add("jwks_uri", &o.jwks_uri);
    if let Some(e) = &o.end_session_endpoint {
        add("end_session_endpoint", e);
    }
    if create {
        add("key_claim", o.key_claim);
        add(
            "use_userinfo",
            if o.use_userinfo { "true" } else { "false" },
        );
        add(
            "trust_verified_domain_emails",
            if o.trust_verified_domain_emails {
                "true"
            } else {
                "false"
            },
        );
    }
    Ok(())
}

/// The language switch of the portal's pages.
fn other_langs(lang: Lang) -> Vec<(&'static str, &'static str)> {
    Lang::ALL
        .iter()
        .filter(|l| **l != lang)
        .map(|l| (l.code(), l.tr().t("lang-name")))
        .collect()
}

/// The claim cookie of one link: scoped to the link's path, so links never share it.
fn claim_cookie_name(s: &AppState) -> &'static str {
    if s.config.secure_cookies() {
        "__Secure-lanyard_setup"
    } else {
        "lanyard_setup"
    }
}

fn set_claim_cookie(s: &AppState, res: &mut Response, token: &str, claim: &str) {
    let secure = if s.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{}={claim}; Path=/setup/{token}; Max-Age=2592000; HttpOnly; SameSite=Strict{secure}",
        claim_cookie_name(s)
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Opens the link for this browser (claiming it on first use): the link, and the claim token
/// that authenticates this browser (for the CSRF MAC).
async fn open(
    s: &AppState,
    jar: &CookieJar,
    token: &str,
    meta: &lanyard_core::RequestMeta,
) -> Result<(OpenedLink, String), Error> {
    let claim = jar.get(claim_cookie_name(s)).map(|c| c.value().to_owned());
    let opened = s
        .lanyard
        .open_setup_link(token, claim.as_deref(), meta)
        .await?;
    let claim = opened.new_claim.clone().or(claim).unwrap_or_default();
    Ok((opened, claim))
}

/// Attaches the claim cookie when this request claimed the link.
fn with_claim(s: &AppState, mut res: Response, token: &str, opened: &OpenedLink) -> Response {
    if let Some(c) = &opened.new_claim {
        set_claim_cookie(s, &mut res, token, c);
    }
    res
}

/// The link's connection, if it created one already.
async fn link_connection(
    s: &AppState,
    opened: &OpenedLink,
    _meta: &lanyard_core::RequestMeta,
) -> Result<Option<Connection>, Error> {
    s.lanyard.setup_connection(&opened.link).await
}

#[derive(Template)]
#[template(path = "console/portal_start.html")]
struct StartPage {
    t: Tr,
    langs: Vec<(&'static str, &'static str)>,
    portal_intro: String,
    token: String,
    idps: Vec<(&'static str, &'static str)>,
}

async fn start(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (opened, _) = match open(&s, &jar, &token, &meta).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &e),
    };
    // A link that created its connection goes straight back to it.
    let res = match link_connection(&s, &opened, &meta).await {
        Ok(Some(c)) => {
            let idp = c.slug.clone();
            Redirect::to(&format!("/setup/{token}/idp/{idp}")).into_response()
        }
        Ok(None) => {
            let t = lang.tr();
            render(
                StatusCode::OK,
                &StartPage {
                    t,
                    langs: other_langs(lang),
                    portal_intro: t.f("portal-intro", [("organisation", &opened.tenant.name)]),
                    token: token.clone(),
                    idps: IDPS
                        .iter()
                        .map(|(id, _, _)| (*id, t.t(&format!("idp-{id}"))))
                        .collect(),
                },
            )
        }
        Err(e) => error_page(lang, &e),
    };
    with_claim(&s, res, &token, &opened)
}

#[derive(Template)]
#[template(path = "console/portal_guide.html")]
struct GuidePage {
    t: Tr,
    langs: Vec<(&'static str, &'static str)>,
    title: String,
    token: String,
    idp: String,
    idp_name: &'static str,
    steps: Vec<&'static str>,
    /// What the issuer of a guided OpenID Connect provider looks like.
    issuer_hint: Option<&'static str>,
    copy: Vec<CopyValue>,
    fields: Vec<FieldView>,
    csrf: String,
    error: Option<(String, String)>,
    saved: bool,
    certs: Vec<super::connections::CertView>,
    testable: bool,
}

#[allow(clippy::too_many_arguments)]
async fn guide_page(
    s: &AppState,
    lang: Lang,
    meta: &lanyard_core::RequestMeta,
    token: &str,
    idp: &str,
    opened: &OpenedLink,
    claim: &str,
    posted: Option<&[(String, String)]>,
    error: Option<&Error>,
) -> Response {
    let t = lang.tr();
    let Some((id, kind, _)) = IDPS.iter().find(|(i, _, _)| *i == idp) else {
        return error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::SetupLinkScope),
        );
    };
    let existing = match link_connection(s, opened, meta).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &e),
    };
    // The link's connection is the only one it may show (whatever the URL names).
    if let Some(c) = &existing
        && c.slug != *id
    {
        return error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::SetupLinkScope),
        );
    }
    let public = s.config.public_url.as_str();
    let wire = match &existing {
        Some(c) => c
            .to_wire(&opened.tenant.slug, public)
            .ok()
            .and_then(|w| serde_json::to_value(w).ok()),
        None => Some(planned_wire(public, &opened.tenant.slug, id, kind)),
    };
    let steps = (1..=6)
        .map(|i| t.t(&format!("guide-{id}-{i}")))
        .filter(|s| !s.is_empty() && *s != "-" && *s != "?")
        .collect();
    let guided = GuidedIdp::from_portal_id(id);
    let mut fields = field_views(
        t,
        kind,
        existing.is_none(),
        existing.as_ref().and(wire.as_ref()),
        posted,
        &skip_for(id),
    );
    if guided == Some(GuidedIdp::Google) && existing.is_none() && posted.is_none() {
        for f in fields.iter_mut().filter(|f| f.name == "issuer") {
            f.value = GOOGLE_ISSUER.to_owned();
        }
    }
    let now = s.lanyard.now();
    let idp_name = t.t(&format!("idp-{id}"));
    let page = GuidePage {
        t,
        langs: other_langs(lang),
        title: t.f(
            "portal-guide-title",
            [("idp", idp_name), ("organisation", &opened.tenant.name)],
        ),
        token: token.to_owned(),
        idp: (*id).to_owned(),
        idp_name,
        steps,
        issuer_hint: guided.map(|_| t.t(&format!("portal-issuer-{id}"))),
        copy: wire.as_ref().map(|w| copy_values(t, w)).unwrap_or_default(),
        fields,
        csrf: s.lanyard.csrf_token(claim),
        error: error.map(|e| super::form_error(lang, e)),
        saved: existing.is_some(),
        certs: existing
            .as_ref()
            .and(wire.as_ref())
            .map(|w| cert_views(w, now))
            .unwrap_or_default(),
        testable: super::connections::testable(kind),
    };
    let status = error.map_or(StatusCode::OK, |e| crate::error::status_of(e.kind()));
    let mut res = render(status, &page);
    if let Some(e) = error {
        res.extensions_mut()
            .insert(crate::error::ErrorCode(e.code()));
    }
    res
}

/// The values the IdP needs before the connection exists (they depend only on the slugs).
fn planned_wire(public: &str, tenant: &str, conn: &str, kind: &str) -> serde_json::Value {
    let urls = lanyard_core::connection::sp_urls(public, tenant, conn);
    if kind == KIND_OIDC {
        serde_json::json!({
            "callback_url": lanyard_core::connection::callback_url(public, tenant, conn),
            "login_url": urls.login_url,
        })
    } else {
        serde_json::json!({
            "sp_entity_id": urls.entity_id, "acs_url": urls.acs_url,
            "metadata_url": urls.metadata_url, "login_url": urls.login_url,
        })
    }
}

async fn guide(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((token, idp)): Path<(String, String)>,
    jar: CookieJar,
) -> Response {
    let (opened, claim) = match open(&s, &jar, &token, &meta).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &e),
    };
    let res = guide_page(&s, lang, &meta, &token, &idp, &opened, &claim, None, None).await;
    with_claim(&s, res, &token, &opened)
}

async fn submit(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path((token, idp)): Path<(String, String)>,
    jar: CookieJar,
    Form(mut posted): Form<Vec<(String, String)>>,
) -> Response {
    let (opened, claim) = match open(&s, &jar, &token, &meta).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &e),
    };
    let (csrf, action) = form_meta(&posted);
    let action = action.to_owned();
    if claim.is_empty() || !s.lanyard.csrf_matches(&claim, csrf) {
        return super::csrf_refused(lang);
    }
    let Some((id, kind, preset)) = IDPS.iter().find(|(i, _, _)| *i == idp) else {
        return error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::SetupLinkScope),
        );
    };
    let existing = match link_connection(&s, &opened, &meta).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &e),
    };
    if existing.as_ref().is_some_and(|c| c.slug != *id) {
        return error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::SetupLinkScope),
        );
    }
    // Only the IdP's values are taken from the form; the rest is the portal's (a new
    // connection starts disabled: the tenant's admin turns it on after a successful test).
    let skip = skip_for(id);
    posted.retain(|(k, _)| !skip.contains(&k.as_str()) && k != "enabled");
    if existing.is_none() {
        posted.push(("slug".into(), (*id).to_owned()));
        posted.push(("name".into(), lang.tr().t(&format!("idp-{id}")).to_owned()));
        posted.push(("provisioning.attribute_preset".into(), (*preset).to_owned()));
    }
    if let Some(g) = GuidedIdp::from_portal_id(id)
        && let Err(e) = guided_fields(g, &mut posted, existing.is_none())
    {
        return guide_page(
            &s,
            lang,
            &meta,
            &token,
            &idp,
            &opened,
            &claim,
            Some(&posted),
            Some(&e),
        )
        .await;
    }
    let ctx = opened.link.ctx(&meta);
    let slug = opened.tenant.slug.clone();
    let saved = save(
        &s,
        &ctx,
        &slug,
        kind,
        existing.as_ref().map(|c| c.slug.as_str()),
        &posted,
        true,
    )
    .await;
    let c = match saved {
        Ok(c) => c,
        Err(e) => {
            return guide_page(
                &s,
                lang,
                &meta,
                &token,
                &idp,
                &opened,
                &claim,
                Some(&posted),
                Some(&e),
            )
            .await;
        }
    };
    if existing.is_none()
        && let Err(e) = s.lanyard.bind_setup_connection(&opened.link, &c.id).await
    {
        return error_page(lang, &e);
    }
    if action == "test" {
        return test_starting(
            lang,
            &format!("/setup/{token}/test"),
            &format!("/setup/{token}/idp/{idp}"),
        );
    }
    Redirect::to(&format!("/setup/{token}/idp/{idp}")).into_response()
}

async fn test(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (opened, _) = match open(&s, &jar, &token, &meta).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &e),
    };
    match link_connection(&s, &opened, &meta).await {
        Ok(Some(c)) => {
            super::connections::begin_test(&s, &jar, &opened.tenant.slug, &c, lang, &meta).await
        }
        Ok(None) => error_page(
            lang,
            &Error::Console(lanyard_core::error::ConsoleError::TestNotPending),
        ),
        Err(e) => error_page(lang, &e),
    }
}

#[derive(Template)]
#[template(path = "console/portal_done.html")]
struct DonePage {
    t: Tr,
    body: String,
}

#[derive(serde::Deserialize)]
struct FinishForm {
    #[serde(default)]
    csrf_token: String,
}

async fn finish(
    State(s): State<AppState>,
    PageLang(lang): PageLang,
    Meta(meta): Meta,
    Path(token): Path<String>,
    jar: CookieJar,
    Form(f): Form<FinishForm>,
) -> Response {
    let (opened, claim) = match open(&s, &jar, &token, &meta).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &e),
    };
    if claim.is_empty() || !s.lanyard.csrf_matches(&claim, &f.csrf_token) {
        return super::csrf_refused(lang);
    }
    if let Err(e) = s.lanyard.finish_setup_link(&opened.link, &meta).await {
        return error_page(lang, &e);
    }
    render(
        StatusCode::OK,
        &DonePage {
            t: lang.tr(),
            body: lang
                .tr()
                .f("portal-done-body", [("organisation", &opened.tenant.name)]),
        },
    )
}
