//! `GET /oauth2/authorize` and `GET /oauth2/authorize/resume`: refusals before the client and
//! its redirect URI are known good are pages; after, they go back to the app with `iss`.

use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::pages::{self, ProviderOrgPage};
use crate::signin::session_cookie_name;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::audit::RequestMeta;
use lanyard_core::model::{SessionView, Tenant};
use lanyard_core::provider::apps::App;
use lanyard_core::provider::authorize::{
    AuthorizeParams, Decision, Pending, ValidRequest, error_redirect, validate,
};

pub(super) const RESUME_PATH: &str = "/oauth2/authorize/resume";

fn params_of(raw: Option<&str>) -> Result<(AuthorizeParams, Vec<(String, String)>), Error> {
    Ok(lanyard_core::provider::params::authorize_params(
        raw.unwrap_or(""),
    )?)
}

async fn session_for(s: &AppState, jar: &CookieJar, tenant: &Tenant) -> Option<SessionView> {
    let token = jar
        .get(&session_cookie_name(s, &tenant.slug))?
        .value()
        .to_owned();
    s.lanyard.session(&tenant.slug, &token).await.ok()
}

fn back_to_app(s: &AppState, req: &ValidRequest, e: Error) -> Response {
    match e {
        Error::Provider(p) => Redirect::to(&error_redirect(
            &req.redirect_uri,
            &p,
            req.state.as_deref(),
            s.lanyard.public_url(),
        ))
        .into_response(),
        other => PageError(other).into_response(),
    }
}

pub(super) async fn authorize(
    State(s): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    RawQuery(raw): RawQuery,
) -> Response {
    let (p, pairs) = match params_of(raw.as_deref()) {
        Ok(x) => x,
        Err(e) => return PageError(e).into_response(),
    };
    let (app, redirect_uri) = match s.lanyard.authorize_client(&p).await {
        Ok(x) => x,
        Err(e) => return PageError(e).into_response(),
    };
    let req = match validate(&app, &redirect_uri, &p) {
        Ok(r) => r,
        Err(e) => {
            let fallback = ValidRequest {
                client_id: app.id.clone(),
                redirect_uri,
                scope: Vec::new(),
                state: p.state.clone(),
                nonce: None,
                code_challenge: None,
                prompt_none: false,
                prompt_login: false,
                max_age: None,
            };
            return back_to_app(&s, &fallback, e.into());
        }
    };
    let tenant = match s.lanyard.authorization_tenant(&app, &p).await {
        Ok(Some(t)) => t,
        Ok(None) if req.prompt_none => {
            return back_to_app(
                &s,
                &req,
                lanyard_core::error::ProviderError::LoginRequired.into(),
            );
        }
        Ok(None) => {
            let page = ProviderOrgPage {
                app_name: &app.name,
                hidden: pairs
                    .into_iter()
                    .filter(|(k, _)| k != "organization")
                    .collect(),
            };
            return pages::render(StatusCode::OK, &page);
        }
        Err(e) => return back_to_app(&s, &req, e),
    };
    let session = session_for(&s, &jar, &tenant).await;
    decide(&s, &app, &req, &tenant, session, None, &meta).await
}

#[derive(serde::Deserialize)]
pub(super) struct ResumeQuery {
    #[serde(default)]
    request: String,
}

pub(super) async fn resume(
    State(s): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    axum::extract::Query(q): axum::extract::Query<ResumeQuery>,
) -> Response {
    let pending = match s.lanyard.pending_authorization(&q.request).await {
        Ok(p) => p,
        Err(e) => return PageError(e).into_response(),
    };
    let session = session_for(&s, &jar, &pending.tenant).await;
    decide(
        &s,
        &pending.app,
        &pending.request,
        &pending.tenant,
        session,
        Some(&pending),
        &meta,
    )
    .await
}

async fn decide(
    s: &AppState,
    app: &App,
    req: &ValidRequest,
    tenant: &Tenant,
    session: Option<SessionView>,
    pending: Option<&Pending>,
    meta: &RequestMeta,
) -> Response {
    match s
        .lanyard
        .authorize_decide(app, req, tenant, session, pending, meta)
        .await
    {
        Ok(Decision::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(Decision::Login { token, force }) => {
            let resume = format!("{RESUME_PATH}?request={token}");
            let mut target = format!(
                "/t/{}/login?return_to={}",
                tenant.slug,
                url::form_urlencoded::byte_serialize(resume.as_bytes()).collect::<String>()
            );
            if force {
                target.push_str("&prompt=login");
            }
            Redirect::to(&target).into_response()
        }
        Err(e) => back_to_app(s, req, e),
    }
}
