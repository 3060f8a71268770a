//! Forward-auth decides on the path the origin server will serve (issue 18): spellings of a
//! protected path that nginx or Caddy resolve to it (dot segments, merged slashes, percent
//! escapes, a trailing slash) are decided by its rule, and request targets that cannot be read
//! safely are refused with `content.original_uri_invalid`, never let through.

use crate::harness::{Res, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_core::content::decide::{Audience, ResourceKind};
use serde_json::json;

const HOST: &str = "docs.acme.example";
const PROXY: &str = "127.0.0.1:40000";

async fn site() -> TestApp {
    let app = TestApp::new().await.with_trusted_proxies(&["127.0.0.1/32"]);
    crate::saml::connection(&app, "acme", "okta", json!({})).await;
    let c = Ctx::cli();
    let l = &app.lanyard;
    l.create_site(&c, "acme", HOST, Some("okta"), true)
        .await
        .unwrap();
    for (kind, path, audience) in [
        (ResourceKind::Page, "/pricing", Audience::Public),
        (ResourceKind::Page, "/guide", Audience::Sso),
        (ResourceKind::Blog, "/internal", Audience::Sso),
    ] {
        l.set_resources(&c, "acme", HOST, kind, &[path.to_owned()], audience, &[])
            .await
            .unwrap();
    }
    app
}

/// nginx's subrequest: `Host` + `X-Original-URI` as the visitor sent the target.
async fn check(app: &TestApp, uri: &str) -> Res {
    let req = Request::get("/auth/check")
        .header(header::HOST, HOST)
        .header("x-original-uri", uri)
        .body(Body::empty())
        .unwrap();
    app.send_from(PROXY, req).await
}

/// Attack: path confusion. Each target reaches the origin as `/guide` (or inside the
/// `/internal` blog); compared as sent they named no resource and were let through as public.
#[tokio::test]
async fn spellings_of_a_protected_path_need_sign_in() {
    let app = site().await;
    for uri in [
        "/guide",
        "/pricing/../guide",
        "/pricing/%2e%2e/guide",
        "//guide",
        "/./guide",
        "/%67uide",
        "/%67%75%69%64%65?x=1",
        "/guide/",
        "/x/y/../../guide#top",
        "/internal/a/../b",
        "//internal//post",
        "/%69nternal",
    ] {
        let r = check(&app, uri).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}: {}", r.text());
        assert_eq!(r.code(), "content.sign_in_required", "{uri}");
    }
    // Public pages stay public however they are spelled.
    for uri in ["/pricing", "/pricing/", "/guide/../pricing", "/%70ricing?q"] {
        assert_eq!(check(&app, uri).await.status, StatusCode::OK, "{uri}");
    }
}

/// Attack: targets an origin may resolve differently (absolute-form, escapes that do not
/// decode, encoded control characters, backslashes, climbing above the root) are refused.
#[tokio::test]
async fn unreadable_request_targets_are_refused_not_allowed() {
    let app = site().await;
    for uri in [
        "http://docs.acme.example/guide",
        "guide",
        "*",
        "/../guide",
        "/guide%",
        "/gu%zzide",
        "/guide%00.html",
        "/guide%0d%0aX-Lanyard-User:%20admin",
        "/pricing\\..\\guide",
        "/pricing%5c..%5cguide",
        "/%ff",
    ] {
        let r = check(&app, uri).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::FORBIDDEN, "content.original_uri_invalid"),
            "{uri}: {}",
            r.text()
        );
        assert!(r.text().contains("path starting with /"), "{}", r.text());
        assert_eq!(
            r.headers
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("private, no-store")
        );
    }
}
