//! `GET|POST /oauth2/logout` (RP-initiated logout) and the back-channel logout sender that
//! `lanyard serve` runs in the background.

use super::oauth::single_params;
use crate::AppState;
use crate::address_policy::OutboundPolicy;
use crate::error::PageError;
use crate::extract::Meta;
use crate::pages::{self, NoticePage};
use crate::signin::{removal, session_cookie_name};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use lanyard_core::Lanyard;
use lanyard_core::outbound::Endpoint;
use lanyard_core::provider::logout::LogoutParams;

pub(super) async fn logout(
    State(s): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let params = single_params(raw)
        .map_err(lanyard_core::Error::from)
        .and_then(|m| {
            let obj = m
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            serde_json::from_value::<LogoutParams>(serde_json::Value::Object(obj))
                .map_err(|e| lanyard_core::Error::Internal(e.to_string()))
        });
    let params = match params {
        Ok(p) => p,
        Err(e) => return PageError(e).into_response(),
    };
    let done = match s.lanyard.end_session(&params, &meta).await {
        Ok(d) => d,
        Err(e) => return PageError(e).into_response(),
    };
    let jar = match &done.tenant_slug {
        Some(slug) => jar.add(removal(&s, session_cookie_name(&s, slug))),
        None => jar,
    };
    match done.redirect {
        Some(url) => (jar, Redirect::to(&url)).into_response(),
        None => {
            let t = crate::i18n::Tr::current();
            let message = if done.tenant_slug.is_some() {
                t.t("pg-signed-out")
            } else {
                t.t("pg-signed-out-nothing")
            };
            let page = NoticePage {
                title: t.t("pg-signed-out-title"),
                message,
                link: None,
            };
            (jar, pages::render(StatusCode::OK, &page)).into_response()
        }
    }
}

/// How much of an app's answer to a logout token is read.
const MAX_ANSWER: usize = 16 * 1024;

/// What one sending step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LogoutReport {
    pub sent: usize,
    pub failed: usize,
}

/// One back-channel sending step: claims the due logouts and POSTs each app its logout token
/// (`logout_token=…`) through the outbound policy; a 2xx answer is delivery, anything else is
/// retried with backoff.
pub async fn send_due_logouts(
    lanyard: &Lanyard,
    policy: &OutboundPolicy,
) -> lanyard_core::Result<LogoutReport> {
    let mut report = LogoutReport::default();
    for job in lanyard.claim_due_logouts().await? {
        let token = match lanyard.logout_token(&job).await {
            Ok(t) => t,
            Err(e) => {
                lanyard.logout_failed(&job, &e.to_string()).await?;
                report.failed += 1;
                continue;
            }
        };
        let answer = crate::fetch::post_form(
            Endpoint::BackchannelLogout,
            &job.uri,
            &[("logout_token", &token)],
            None,
            policy,
            MAX_ANSWER,
        )
        .await;
        match answer {
            Ok((status, _)) if (200..300).contains(&status) => {
                lanyard.logout_delivered(&job).await?;
                report.sent += 1;
            }
            Ok((status, _)) => {
                tracing::warn!(logout = %job.id, status, "back-channel logout refused by the app");
                lanyard
                    .logout_failed(&job, &format!("the app answered HTTP {status}"))
                    .await?;
                report.failed += 1;
            }
            Err(e) => {
                tracing::warn!(logout = %job.id, code = e.code(), "back-channel logout failed: {e}");
                lanyard.logout_failed(&job, &e.to_string()).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
