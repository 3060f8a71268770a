//! Lanyard's HTTP surfaces. Each module exposes `router()`; handlers extract, call the domain,
//! and map its errors onto responses in one place ([`error`]). [`app`] assembles the whole service.

pub mod address_policy;
pub mod api;
mod console;
pub mod dev_idp;
pub mod error;
pub mod extract;
pub mod fetch;
mod form;
mod forward_auth;
pub mod health;
mod home;
pub mod i18n;
mod links;
pub mod metrics;
pub mod pages;
pub mod provider;
pub mod signin;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use ipnet::IpNet;
use lanyard_core::Lanyard;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Settings the HTTP layer needs; built by the binary from the configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The URL users reach Lanyard at; `https` turns on `Secure` + `__Host-` cookies.
    pub public_url: url::Url,
    /// Peers whose forwarding header is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Which forwarding header those proxies write (only that one is read).
    pub client_ip_header: lanyard_core::access::client_ip::ForwardedHeader,
    /// Maximum time a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Outbound requests to identity providers: the networks beyond the public internet they
    /// may reach (`outbound_allow_networks`) and their time limit.
    pub outbound: address_policy::OutboundPolicy,
    /// Development mode (the public URL is plain http): JWT remote-login URLs may be http too.
    pub dev_mode: bool,
    /// The built-in test identity provider, mounted under `/dev-idp` (`serve --demo` only).
    pub dev_idp: Option<Arc<dev_idp::DevIdp>>,
}

impl ServerConfig {
    pub fn new(public_url: url::Url) -> Self {
        Self {
            dev_mode: public_url.scheme() == "http",
            public_url,
            trusted_proxies: Vec::new(),
            client_ip_header: Default::default(),
            request_timeout: Duration::from_secs(30),
            outbound: address_policy::OutboundPolicy::default(),
            dev_idp: None,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

#[derive(Clone)]
pub struct AppState {
    pub lanyard: Lanyard,
    pub config: Arc<ServerConfig>,
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole service: public pages, admin API, health and metrics, with tracing, request IDs,
/// timeouts and security headers around them.
pub fn app(lanyard: Lanyard, config: ServerConfig) -> Router {
    let timeout = config.request_timeout;
    let dev_idp = config
        .dev_idp
        .clone()
        .map(dev_idp::router)
        .unwrap_or_default();
    let state = AppState {
        lanyard,
        config: Arc::new(config),
    };
    Router::new()
        .merge(signin::router())
        .merge(signin::api_tokens::router())
        .merge(links::router())
        .merge(forward_auth::router())
        .merge(console::router())
        .merge(provider::router())
        .merge(api::router())
        .merge(health::router())
        .merge(dev_idp)
        .merge(home::router())
        .fallback(pages::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(i18n::remember_lang))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
