//! One mapping from domain errors to HTTP: JSON for the API, an HTML page for people.

use crate::pages;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::{Error, ErrorKind};
use lanyard_proto::{ErrorBody, ErrorDetail};

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answered as `{"error": {"code", "message", "request_id"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

fn log_if_server_side(e: &Error) {
    match e.kind() {
        ErrorKind::Internal | ErrorKind::Unavailable => {
            tracing::error!(code = e.code(), error = ?e, "request failed")
        }
        _ => tracing::debug!(code = e.code(), "request refused: {e}"),
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        log_if_server_side(&e);
        let retry_after = match &e {
            Error::Throttled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Self {
            status: status_of(e.kind()),
            code: e.code(),
            message: e.to_string(),
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = crate::metrics::CURRENT_REQUEST_ID
            .try_with(Clone::clone)
            .ok()
            .filter(|s| !s.is_empty());
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                request_id,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        res.extensions_mut().insert(ErrorCode(self.code));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The stable code of a refusal, left on the response for the metrics and request-ID layers.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// An error answered with an HTML page for a person.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        log_if_server_side(&self.0);
        let status = status_of(self.0.kind());
        let help = self.0.help_text();
        let mut res = pages::error_page_with_help(
            status,
            self.0.code(),
            &self.0.to_string(),
            help.as_deref(),
        );
        res.extensions_mut().insert(ErrorCode(self.0.code()));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    fn escaped(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    }

    /// Issue 15: the error page of every `login.*` refusal carries the code and that refusal's
    /// own help sentence (a bare code leaves the user and their IT admin with nothing to do).
    #[tokio::test]
    async fn every_login_refusal_page_carries_its_own_help() {
        let refusals = [
            Error::InvalidCredentials,
            Error::Throttled {
                retry_after_secs: 30,
            },
            Error::FederatedUnknownUser {
                tenant: "acme".into(),
                connection: "okta".into(),
                federation_id: "00u1abc".into(),
            },
            Error::FederatedUserDisabled,
            Error::AccountExistsUseInvitation,
            Error::ProvisioningUsernameTaken("ada".into()),
            Error::ProvisioningMissingEmail("email, mail".into()),
            Error::ProvisioningMissingClaim("username".into()),
            Error::EmailUnconfirmed,
            Error::SsoRequired,
        ];
        let mut helps = std::collections::HashSet::new();
        for e in refusals {
            let code = e.code();
            let help = e.help_text().unwrap_or_default();
            assert!(!help.is_empty(), "{code} has no help");
            assert!(helps.insert(help.clone()), "{code} shares its help");
            let res = PageError(e).into_response();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let html = String::from_utf8(body.to_vec()).unwrap();
            assert!(html.contains(code), "{code}: {html}");
            assert!(
                html.contains(&escaped(&help)),
                "{code}: help missing from {html}"
            );
        }
    }
}
