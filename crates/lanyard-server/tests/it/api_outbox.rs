//! The email outbox through the admin API (split from `api.rs`, which covers every route).

use crate::harness::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn the_outbox_lists_a_tenants_mail_newest_first_and_pages() {
    let app = TestApp::new().await;
    let acme = app.lanyard.tenant("acme").await.unwrap();
    let other = app.lanyard.tenant("other").await.unwrap();
    for i in 0..3 {
        app.lanyard
            .enqueue_mail(
                &acme.id,
                "jo@acme.test",
                &format!("Welcome {i}"),
                "Hello Jo",
            )
            .await
            .unwrap();
    }
    app.lanyard
        .enqueue_mail(&other.id, "jo@other.test", "Not yours", "x")
        .await
        .unwrap();
    let first = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/outbox?limit=2",
            None,
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let page = first.json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["subject"], "Welcome 2");
    assert_eq!(items[0]["to"], "jo@acme.test");
    assert_eq!(items[0]["body"], "Hello Jo");
    // Embedded default: kept in the outbox, queued, never attempted.
    assert_eq!(items[0]["status"], "queued");
    assert_eq!(items[0]["attempts"], 0);
    assert_eq!(items[0]["last_error"], Value::Null);
    assert_eq!(items[0]["tenant"], "acme");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .api(
            Method::GET,
            &format!("/api/v1/tenants/acme/outbox?limit=2&cursor={cursor}"),
            None,
            None,
        )
        .await
        .json();
    let rest = rest["items"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["subject"], "Welcome 0");
    let bad = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/outbox?limit=0",
            None,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
