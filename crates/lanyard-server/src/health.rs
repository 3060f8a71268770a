//! Liveness, readiness and Prometheus metrics.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The store answers; a load balancer should stop sending traffic otherwise.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.lanyard.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    match &s.lanyard.store {
        lanyard_core::Store::Sqlite(db) => {
            crate::metrics::sqlite_sign_in_groups(db.sign_in_groups())
        }
        lanyard_core::Store::Postgres(db) => {
            crate::metrics::postgres_sign_in_groups(db.sign_in_groups())
        }
    }
    crate::metrics::oidc_states(s.lanyard.oidc_state_stats());
    let body = crate::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
