//! Prometheus metrics: requests by route and status, latency histograms, login outcomes.

use crate::REQUEST_ID;
use crate::error::ErrorCode;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

tokio::task_local! {
    /// The current request's ID, for error bodies built deep inside handlers.
    pub static CURRENT_REQUEST_ID: String;
    /// The current request's path, so an error page can link back to its tenant's sign-in.
    pub static CURRENT_PATH: String;
}

/// Installs the process-wide recorder once; later calls (tests build many apps) reuse it.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            start_upkeep(handle.clone());
            Some(handle)
        })
        .as_ref()
}

/// How often the recorder drains what histograms recorded.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Upkeep rounds run since the start (for the test that the drain runs).
static UPKEEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Drains the histograms every [`UPKEEP_EVERY`]. The recorder keeps each recorded value (8
/// bytes per request) in a queue until a scrape or an upkeep round folds it into the buckets;
/// without this thread a server nobody scraped grew by that much per request, for ever (the
/// issue-17 soak: RSS +10–16 bytes per sign-in). A thread of its own, not a task: the recorder
/// is process-wide and outlives any one runtime (tests build many).
fn start_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
                UPKEEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    if let Err(e) = spawned {
        // Scrapes still drain the histograms; say why memory may grow between them.
        tracing::warn!(error = %e, "could not start the metrics upkeep thread");
    }
}

fn describe() {
    metrics::describe_counter!(
        "lanyard_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "lanyard_http_request_duration_seconds",
        "HTTP request latency by route"
    );
    metrics::describe_counter!(
        "lanyard_sqlite_sign_in_groups_total",
        "SQLite: sign-in transactions committed by the group commit (one per group)"
    );
    metrics::describe_counter!(
        "lanyard_sqlite_grouped_sign_ins_total",
        "SQLite: sign-ins written by the group commit (divide by the groups for the mean group size)"
    );
    metrics::describe_gauge!(
        "lanyard_sqlite_sign_in_group_largest",
        "SQLite: the most sign-ins one group commit carried since the start"
    );
    metrics::describe_counter!(
        "lanyard_postgres_sign_in_groups_total",
        "PostgreSQL: statements that committed groups of returning sign-ins (one per group)"
    );
    metrics::describe_counter!(
        "lanyard_postgres_grouped_sign_ins_total",
        "PostgreSQL: returning sign-ins written in groups (divide by the groups for the mean group size)"
    );
    metrics::describe_gauge!(
        "lanyard_postgres_sign_in_group_largest",
        "PostgreSQL: the most sign-ins one group carried since the start"
    );
    metrics::describe_gauge!(
        "lanyard_oidc_states_kept",
        "OIDC login states this node issued and keeps in memory until their callback"
    );
    metrics::describe_counter!(
        "lanyard_oidc_callback_states_total",
        "OIDC callbacks by where their state was read: memory (started on this node) or store"
    );
    metrics::describe_counter!(
        "lanyard_logins_total",
        "Sign-in attempts by method, outcome and error code"
    );
}

/// The SQLite store's group commit (read when `/metrics` is scraped): transactions, the
/// sign-ins they carried (their ratio is the mean group size) and the largest group.
pub fn sqlite_sign_in_groups(g: lanyard_core::store::SignInGroups) {
    metrics::counter!("lanyard_sqlite_sign_in_groups_total").absolute(g.groups);
    metrics::counter!("lanyard_sqlite_grouped_sign_ins_total").absolute(g.sign_ins);
    metrics::gauge!("lanyard_sqlite_sign_in_group_largest").set(g.largest as f64);
}

/// The PostgreSQL store's group commit of returning sign-ins (read when `/metrics` is
/// scraped): statements, the sign-ins they carried and the largest group.
pub fn postgres_sign_in_groups(g: lanyard_core::store::SignInGroups) {
    metrics::counter!("lanyard_postgres_sign_in_groups_total").absolute(g.groups);
    metrics::counter!("lanyard_postgres_grouped_sign_ins_total").absolute(g.sign_ins);
    metrics::gauge!("lanyard_postgres_sign_in_group_largest").set(g.largest as f64);
}

/// This node's memory of the OIDC states it issued (read when `/metrics` is scraped).
pub fn oidc_states(s: lanyard_core::signin::oidc::issued::IssuedStateStats) {
    metrics::gauge!("lanyard_oidc_states_kept").set(s.kept as f64);
    metrics::counter!("lanyard_oidc_callback_states_total", "source" => "memory")
        .absolute(s.from_memory);
    metrics::counter!("lanyard_oidc_callback_states_total", "source" => "store")
        .absolute(s.from_store);
}

/// Counts a sign-in attempt; `code` is `ok` on success.
pub fn login_outcome(method: &'static str, code: &'static str) {
    let outcome = if code == "ok" { "success" } else { "failure" };
    metrics::counter!("lanyard_logins_total", "method" => method, "outcome" => outcome, "code" => code).increment(1);
}

/// Counts what a successful SSO sign-in did to the account: `created` (just in time),
/// `joined_sso` (an upgrade invitation accepted) or `existing`.
pub fn provisioning_outcome(method: &'static str, outcome: &'static str) {
    metrics::counter!("lanyard_provisioning_total", "method" => method, "outcome" => outcome)
        .increment(1);
}

/// Middleware: times each request, labels it by its route template (not the raw path, which
/// would explode cardinality), and makes the request ID available to error bodies.
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path = req.uri().path().to_owned();
    let lang = crate::i18n::Lang::of_parts(req.uri().query(), req.headers());
    let here = crate::i18n::here_without_lang(&path, req.uri().query());
    let page =
        crate::i18n::CURRENT_LANG.scope(lang, crate::i18n::CURRENT_HERE.scope(here, next.run(req)));
    let res = CURRENT_REQUEST_ID
        .scope(request_id, CURRENT_PATH.scope(path, page))
        .await;
    let status = res.status().as_u16().to_string();
    if let Some(ErrorCode(code)) = res.extensions().get::<ErrorCode>() {
        tracing::info!(status = %status, code, "refused");
    }
    metrics::counter!("lanyard_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("lanyard_http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// The drain runs on its own, without a scrape (a server nobody scrapes must not keep every
    /// request's latency in memory).
    #[test]
    fn histograms_are_drained_without_a_scrape() {
        assert!(handle().is_some(), "the recorder is installed");
        metrics::histogram!("lanyard_http_request_duration_seconds", "route" => "/test")
            .record(0.001);
        let before = UPKEEPS.load(Ordering::Relaxed);
        let deadline = Instant::now() + 10 * UPKEEP_EVERY;
        while UPKEEPS.load(Ordering::Relaxed) < before + 2 {
            assert!(
                Instant::now() < deadline,
                "no upkeep round in {:?}",
                10 * UPKEEP_EVERY
            );
            std::thread::sleep(UPKEEP_EVERY / 10);
        }
    }
}
