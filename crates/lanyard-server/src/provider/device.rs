//! The device authorization grant (RFC 8628): `POST /oauth2/device` gives a command line its
//! code pair; `/device` is where the person enters the user code (prefilled from
//! `verification_uri_complete`), signs in to the tenant through its normal sign-in (coming back
//! here by `return_to`) and approves or denies on a page that shows the app, the machine, the
//! requesting IP and the time (a CSRF-protected POST). The device polls `/oauth2/token` with
//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` ([`super::token`]).

use super::oauth::{OAuthError, no_store};
use super::token::{client, form_of};
use crate::AppState;
use crate::error::PageError;
use crate::extract::Meta;
use crate::pages::{self, DeviceCodePage, DeviceConfirmPage, NoticePage};
use crate::signin::session_cookie_name;
use axum::body::Bytes;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Error;
use lanyard_core::clock::rfc3339;
use lanyard_core::error::ProviderError;
use lanyard_core::provider::device::{CLI_CLIENT_ID, DeviceToken, format_user_code};
use serde::Deserialize;
use serde_json::json;

pub(super) const DEVICE_PATH: &str = "/device";

/// `POST /oauth2/device`: `client_id`, `organization` (the tenant's slug) and `name` (the
/// machine's name, which names the token; default "device").
pub(super) async fn authorize_device(
    State(s): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = form_of(&headers, &body)?;
    // The built-in public app may not exist yet (it is created on first use); it has no secret.
    let builtin = form.get("client_id").map(String::as_str) == Some(CLI_CLIENT_ID)
        && !form.contains_key("client_secret")
        && !headers.contains_key(axum::http::header::AUTHORIZATION);
    let client_id = if builtin {
        CLI_CLIENT_ID.to_owned()
    } else {
        client(&s, &headers, &form).await?.id
    };
    let org = form
        .get("organization")
        .filter(|o| !o.is_empty())
        .ok_or_else(|| {
            ProviderError::InvalidRequest(
                "organization is missing (the short name of your organisation)".into(),
            )
        })?;
    let name = form.get("name").map(String::as_str).unwrap_or("device");
    let d = s
        .lanyard
        .start_device_authorization(&client_id, org, name, &meta)
        .await?;
    let base = format!("{}{DEVICE_PATH}", super::issuer(&s));
    Ok(no_store(json!({
        "device_code": d.device_code,
        "user_code": d.user_code,
        "verification_uri": base,
        "verification_uri_complete": format!("{base}?user_code={}", d.user_code),
        "expires_in": d.expires_in,
        "interval": d.interval,
    })))
}

/// The token response of an approved device: the `access_token` is the user's new `lyt_` API
/// token (Bearer, a year), with who it belongs to.
pub(super) fn device_token_response(s: &AppState, t: &DeviceToken) -> Response {
    let now = s.lanyard.now();
    no_store(json!({
        "access_token": t.secret,
        "token_type": "Bearer",
        "expires_in": (t.token.expires_at - now).max(0),
        "api_token_id": t.token.id,
        "user": {
            "id": t.user.id,
            "username": t.user.username,
            "email": t.user.email,
        },
    }))
}

#[derive(Deserialize)]
pub(super) struct DeviceQuery {
    #[serde(default)]
    user_code: String,
}

fn code_page(status: StatusCode, user_code: &str, message: Option<&str>) -> Response {
    pages::render(status, &DeviceCodePage { user_code, message })
}

/// `GET /device[?user_code=…]`: the code form, the sign-in, or the confirmation.
pub(super) async fn device_page(
    State(s): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Query(q): Query<DeviceQuery>,
) -> Response {
    if q.user_code.trim().is_empty() {
        return code_page(StatusCode::OK, "", None);
    }
    let p = match s.lanyard.pending_device(&q.user_code, &meta).await {
        Ok(p) => p,
        Err(e @ Error::Provider(ProviderError::UserCodeUnknown)) => {
            let message = crate::i18n::Tr::current().explain(e.code(), &e.to_string());
            return code_page(StatusCode::BAD_REQUEST, &q.user_code, Some(&message));
        }
        Err(e) => return PageError(e).into_response(),
    };
    let shown = format_user_code(&p.user_code);
    let token = jar
        .get(&session_cookie_name(&s, &p.tenant.slug))
        .map(|c| c.value().to_owned());
    let view = match &token {
        Some(t) => s.lanyard.session(&p.tenant.slug, t).await.ok(),
        None => None,
    };
    let (Some(token), Some(view)) = (token, view) else {
        let back = format!("{DEVICE_PATH}?user_code={shown}");
        let target = format!(
            "/t/{}/login?return_to={}",
            p.tenant.slug,
            url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    };
    let csrf = s.lanyard.csrf_token(&token);
    let asked_at = rfc3339(p.created_at);
    let page = DeviceConfirmPage {
        app_name: &p.app.name,
        tenant_name: &p.tenant.name,
        username: view.email.as_deref().unwrap_or(&view.username),
        user_code: &shown,
        machine_name: &p.machine_name,
        client_ip: p.client_ip.as_deref().unwrap_or("unknown"),
        asked_at: &asked_at,
        csrf_token: &csrf,
    };
    pages::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
}

/// `POST /device`: approve or deny, with the session's CSRF token.
pub(super) async fn device_decide(
    State(s): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let p = s.lanyard.pending_device(&f.user_code, &meta).await?;
    let token = jar
        .get(&session_cookie_name(&s, &p.tenant.slug))
        .map(|c| c.value().to_owned())
        .ok_or(Error::CsrfInvalid)?;
    if !s.lanyard.csrf_matches(&token, &f.csrf_token) {
        return Err(Error::CsrfInvalid.into());
    }
    let view = s.lanyard.session(&p.tenant.slug, &token).await?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            return Err(Error::from(ProviderError::InvalidRequest(
                "decision must be approve or deny".into(),
            ))
            .into());
        }
    };
    s.lanyard
        .decide_device(&f.user_code, &view, approve, &meta)
        .await?;
    let t = crate::i18n::Tr::current();
    let (title, message) = if approve {
        (t.t("pg-device-approved-title"), t.t("pg-device-approved"))
    } else {
        (t.t("pg-device-denied-title"), t.t("pg-device-denied"))
    };
    Ok(pages::render(
        StatusCode::OK,
        &NoticePage {
            title,
            message,
            link: None,
        },
    ))
}
