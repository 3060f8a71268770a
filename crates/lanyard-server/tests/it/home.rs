//! The landing page, the API reference, the shape of every list, and the error pages a failed
//! sign-in ends on.

use crate::harness::TestApp;
use axum::http::{Method, StatusCode, header};

#[tokio::test]
async fn the_landing_page_leads_to_sign_in_the_api_reference_and_health() {
    let app = TestApp::new().await;
    let home = app.get("/", None).await;
    assert_eq!(home.status, StatusCode::OK);
    let html = home.text();
    for link in [
        "action=\"/signin\"",
        "href=\"/docs/api\"",
        "href=\"/api/v1/openapi.json\"",
        "href=\"/healthz\"",
    ] {
        assert!(html.contains(link), "{link} missing: {html}");
    }
    assert!(!html.contains("<script"), "no script: the CSP forbids it");
    assert!(home.headers.contains_key(header::CONTENT_SECURITY_POLICY));

    let go = app.get("/signin?tenant=acme", None).await;
    assert_eq!(go.status, StatusCode::SEE_OTHER);
    assert_eq!(go.headers[header::LOCATION], "/t/acme/login");
    assert_eq!(app.get("/t/acme/login", None).await.status, StatusCode::OK);
}

/// The organisation field must not become an open redirect or a path trick: anything that is
/// not a slug stays on the landing page with a message.
#[tokio::test]
async fn the_sign_in_form_refuses_what_is_not_a_tenant_name() {
    let app = TestApp::new().await;
    for bad in [
        "",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "acme%2F..%2F..%2Fapi",
        "ac%20me",
        "%3Cscript%3E",
        "acme%0d%0aSet-Cookie%3A%20x%3D1",
    ] {
        let res = app.get(&format!("/signin?tenant={bad}"), None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.headers.get(header::LOCATION).is_none(), "{bad}");
        assert!(res.text().contains("your IT admin knows it"), "{bad}");
    }
}

#[tokio::test]
async fn the_api_reference_is_a_page_of_every_operation() {
    let app = TestApp::new().await;
    let res = app.get("/docs/api", None).await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "{path} missing"
        );
        for m in item.as_object().unwrap().keys() {
            let anchor = format!(
                "id=\"{m}-{}\"",
                path.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            );
            assert!(html.contains(&anchor), "{m} {path} missing");
        }
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
    }
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("https://cdn"),
        "nothing fetched from elsewhere"
    );
}

/// Every list in the API has one shape, `{items, next_cursor}`: the OpenAPI document says so
/// for every GET answering a list, and the answers agree.
#[tokio::test]
async fn every_list_has_the_items_and_next_cursor_shape() {
    let app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    let uid = app.user_id("acme", "jo").await;
    let site = serde_json::json!({"host": "docs.acme.example"});
    let res = app
        .api(Method::POST, "/api/v1/tenants/acme/sites", Some(site), None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, res) in op["responses"].as_object().unwrap() {
                assert_ne!(
                    res["content"]["application/json"]["schema"]["type"], "array",
                    "{method} {path} answers {status} with a bare array: use Page<T>"
                );
            }
        }
        let Some(get) = item.get("get") else { continue };
        let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
        assert_ne!(
            schema["type"], "array",
            "GET {path} answers a bare array: use Page<T>"
        );
        let name = schema["$ref"].as_str().unwrap_or_default();
        if !name.contains("Page") {
            continue;
        }
        lists += 1;
        let url = path
            .replace("{tenant}", "acme")
            .replace("{user_id}", &uid)
            .replace("{id}", &uid)
            .replace("{host}", "docs.acme.example");
        let res = app.api(Method::GET, &url, None, None).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.text());
        let body = res.json();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["items", "next_cursor"], "{url}: {body}");
        assert!(body["items"].is_array(), "{url}");
    }
    assert!(lists >= 10, "only {lists} lists found");
}

/// A sign-in that fails at the identity provider step ends on a page headed for what happened,
/// with a way back to the tenant's sign-in page; pages outside a tenant get no such link, and
/// a path that is not a tenant name is never turned into a link.
#[tokio::test]
async fn failed_sign_in_pages_say_what_happened_and_link_back() {
    let app = TestApp::new().await;
    for (path, heading) in [
        (
            "/t/acme/sso/nope/start",
            "Single sign-on is not available here",
        ),
        (
            "/t/acme/oidc/nope/callback?code=x&state=y",
            "Single sign-on",
        ),
        ("/t/acme/jwt/nope/verify?jwt=x", "Single sign-on"),
    ] {
        let res = app.get(path, None).await;
        assert!(res.status.is_client_error(), "{path}: {}", res.status);
        let html = res.text();
        assert!(html.contains(&format!("<h1>{heading}")), "{path}: {html}");
        assert!(
            html.contains("<a href=\"/t/acme/login\">Back to sign-in</a>"),
            "{path}: {html}"
        );
    }
    let elsewhere = app.get("/nowhere", None).await.text();
    assert!(!elsewhere.contains("Back to sign-in"));
    for odd in [
        "/t/%22onmouseover=x/login/x",
        "/t/ACME%2F..%2Fapi/sso/x/start",
    ] {
        let html = app.get(odd, None).await.text();
        assert!(!html.contains("Back to sign-in"), "{odd}: {html}");
    }
}
