//! Registering apps: the admin API (`/api/v1/apps`) and Dynamic Client Registration
//! (`/oauth2/register`, RFC 7591) with an operator API key as the initial access token.

use crate::harness::{PW, TestApp};
use crate::provider::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

async fn register(t: &TestApp, key: Option<&str>, body: Value) -> crate::harness::Res {
    let mut b = Request::post("/oauth2/register").header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    t.send(b.body(Body::from(body.to_string())).unwrap()).await
}

async fn app_count(t: &TestApp) -> usize {
    t.lanyard.store.list_apps(None, 1000).await.unwrap().len()
}

#[tokio::test]
async fn dynamic_registration_needs_an_operator_key_and_registers_a_working_client() {
    let t = TestApp::new().await;
    let md = json!({
        "client_name": "Tool",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "logo_uri": "https://app.example/logo.png",
    });
    // No key, a bad key, a tenant-bound key: refused, nothing registered.
    let tenant_key = t
        .api(
            Method::POST,
            "/api/v1/tenants/acme/api-keys",
            Some(json!({"name": "t"})),
            None,
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for key in [None, Some("lny_nope"), Some(tenant_key.as_str())] {
        let r = register(&t, key, md.clone()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{key:?}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_token");
    }
    assert_eq!(app_count(&t).await, 0);
    let r = register(&t, Some(&t.key), md).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let reg = r.json();
    let c = Client {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: Some(reg["client_secret"].as_str().unwrap().to_owned()),
    };
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_post");
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    assert_eq!(redeem(&t, &c, &code).await.status, StatusCode::OK);
    // A public client: no secret.
    let r = register(
        &t,
        Some(&t.key),
        json!({"redirect_uris": ["http://127.0.0.1:7777/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.json().get("client_secret").is_none());
}

#[tokio::test]
async fn dynamic_registration_refuses_bad_metadata_and_registers_nothing() {
    let t = TestApp::new().await;
    for (body, error) in [
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#f"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "id_token_signed_response_alg": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "invalid_client_metadata",
        ),
    ] {
        let r = register(&t, Some(&t.key), body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(r.json()["error"], error, "{body}");
    }
    assert_eq!(app_count(&t).await, 0);
}

#[tokio::test]
async fn the_admin_api_manages_apps_and_shows_the_secret_once() {
    let t = TestApp::new().await;
    let r = t
        .api(
            Method::POST,
            "/api/v1/apps",
            Some(json!({"name": "Web", "redirect_uris": [REDIRECT], "tenants": ["acme"]})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(
        created["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("lnc_")
    );
    assert_eq!(created["tenants"], json!(["acme"]));
    let got = t
        .api(Method::GET, &format!("/api/v1/apps/{id}"), None, None)
        .await
        .json();
    assert!(got.get("client_secret").is_none());
    let list = t
        .api(Method::GET, "/api/v1/apps?limit=1", None, None)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list.get("next_cursor").is_some());
    let r = t
        .api(
            Method::PATCH,
            &format!("/api/v1/apps/{id}"),
            Some(
                json!({"tenants": null, "post_logout_redirect_uris": ["https://app.example/bye"]}),
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["tenants"], Value::Null);
    // Tokens of a deleted app stop working.
    let c = Client {
        id: id.clone(),
        secret: created["client_secret"].as_str().map(str::to_owned),
    };
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let access = redeem(&t, &c, &code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(userinfo(&t, &access).await.status, StatusCode::OK);
    let r = t
        .api(Method::DELETE, &format!("/api/v1/apps/{id}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(userinfo(&t, &access).await.status, StatusCode::UNAUTHORIZED);
    let r = t
        .api(Method::GET, &format!("/api/v1/apps/{id}"), None, None)
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "app.not_found")
    );
    // Tenant keys may not manage apps.
    let tenant_key = t
        .api(
            Method::POST,
            "/api/v1/tenants/acme/api-keys",
            Some(json!({"name": "t"})),
            None,
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .api(Method::GET, "/api/v1/apps", None, Some(&tenant_key))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "auth.operator_only")
    );
}
