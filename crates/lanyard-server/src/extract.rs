//! Extractors whose rejections are our errors, and the request facts every handler needs.

use crate::error::ApiError;
use crate::{AppState, REQUEST_ID};
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use lanyard_core::{Ctx, RequestMeta};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// The client address, resolved through the trusted proxies (never from headers alone), with
/// whether it is certain enough for a network-mask decision.
pub fn client_addr(
    parts: &Parts,
    state: &AppState,
) -> Option<lanyard_core::access::client_ip::ClientAddr> {
    let peer = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ci) => ci.0.ip(),
        // In-process tests stand in for the socket with axum's MockConnectInfo.
        None => parts
            .extensions
            .get::<MockConnectInfo<SocketAddr>>()?
            .0
            .ip(),
    };
    let header = state.config.client_ip_header;
    let values: Vec<&str> = parts
        .headers
        .get_all(header.header_name())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(lanyard_core::access::client_ip::resolve_addr(
        peer,
        header,
        &values,
        &state.config.trusted_proxies,
    ))
}

/// The client address for the audit log.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    client_addr(parts, state).map(|c| c.ip)
}

/// The client address as routing sees it (see [`client_addr`]).
pub struct Client(pub Option<lanyard_core::access::client_ip::ClientAddr>);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts, state)))
    }
}

/// Facts about the request for the audit log: client IP, request ID, user agent.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Self(RequestMeta {
            ip: client_ip(parts, state).map(|ip| ip.to_string()),
            request_id: header(REQUEST_ID),
            user_agent: header(header::USER_AGENT).map(|s| s.chars().take(256).collect()),
            // Only a stated choice: without one, emails take the tenant's language.
            lang: crate::i18n::Lang::stated(parts.uri.query(), &parts.headers).map(Into::into),
        }))
    }
}

/// An admin API caller, authenticated by `Authorization: Bearer lny_…`.
pub struct ApiCtx(pub Ctx);

impl FromRequestParts<AppState> for ApiCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Meta(meta) = Meta::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match auth.and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        }) {
            Some(t) => t.trim(),
            None => return Err(lanyard_core::Error::ApiKeyMissing.into()),
        };
        let (actor, _) = state.lanyard.authenticate_api_key(token).await?;
        Ok(Self(Ctx::new(actor, meta)))
    }
}

/// JSON body whose every failure is a JSON error with a stable code.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let detail = r.body_text();
    match r {
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid_body",
            format!("the JSON body does not match the expected shape: {detail}"),
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.malformed_json",
            format!("the body is not valid JSON: {detail}"),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.body_too_large",
            "the request body is larger than this endpoint accepts (64 KiB)",
        ),
        other => ApiError::new(
            other.status(),
            "request.unreadable_body",
            format!("the request body could not be read: {detail}"),
        ),
    }
}

/// Path parameters with JSON errors.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(r) => Err(path_rejection(r)),
        }
    }
}

fn path_rejection(r: PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "request.invalid_path",
        format!("the URL path is not valid: {}", r.body_text()),
    )
}

/// Query parameters with JSON errors; unknown parameters are refused by the target type.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(r) => Err(query_rejection(r)),
        }
    }
}

fn query_rejection(r: QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "request.invalid_query",
        format!("the query string is not valid: {}", r.body_text()),
    )
}
