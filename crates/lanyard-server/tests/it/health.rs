use crate::harness::{PW, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    app.sign_in("acme", "jo", PW).await;
    let m = app.get("/metrics", None).await.text();
    assert!(
        m.contains(r#"lanyard_logins_total{method="password",outcome="success",code="ok"}"#),
        "{m}"
    );
    assert!(
        m.contains(
            r#"lanyard_http_requests_total{route="/t/{tenant}/login",method="POST",status="303"}"#
        ),
        "{m}"
    );
    assert!(
        m.contains("lanyard_http_request_duration_seconds_bucket{route=\"/healthz\""),
        "{m}"
    );
}

#[tokio::test]
async fn readiness_fails_when_the_store_is_gone() {
    let app = TestApp::new().await;
    app.lanyard.store.close().await;
    assert_eq!(
        app.get("/readyz", None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = TestApp::new().await;
    let res = app.get("/healthz", None).await;
    assert!(res.headers.get("x-request-id").is_some());
}
