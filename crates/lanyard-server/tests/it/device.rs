//! The device authorization grant over HTTP: discovery, `/oauth2/device`, the `/device` page
//! (prefilled code, sign-in round trip, confirmation showing app, IP and time, CSRF-checked
//! approve/deny), polling the token endpoint, and the self-service token endpoints.

use crate::harness::{PW, Res, TestApp, urlencode};
use crate::provider::location;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

async fn post_form(t: &TestApp, path: &str, fields: &[(&str, &str)]) -> Res {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    t.send(req).await
}

async fn start(t: &TestApp, org: &str) -> Value {
    let r = post_form(
        t,
        "/oauth2/device",
        &[
            ("client_id", "lanyard-cli"),
            ("organization", org),
            ("name", "jo-laptop"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn poll(t: &TestApp, device_code: &str) -> Res {
    post_form(
        t,
        "/oauth2/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "lanyard-cli"),
        ],
    )
    .await
}

fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

fn csrf_of(page: &str) -> String {
    let i = page.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    page[i..].split('"').next().unwrap().to_owned()
}

async fn bearer(t: &TestApp, m: Method, path: &str, token: &str) -> Res {
    let req = Request::builder()
        .method(m)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    t.send(req).await
}

#[tokio::test]
async fn a_person_approves_a_device_in_the_browser_and_it_gets_a_token() {
    let t = TestApp::new().await;
    let d = t
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert!(
        d["device_authorization_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth2/device")
    );
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("urn:ietf:params:oauth:grant-type:device_code"))
    );

    let s = start(&t, "acme").await;
    let user_code = s["user_code"].as_str().unwrap().to_owned();
    let device_code = s["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        (s["expires_in"].as_i64(), s["interval"].as_i64()),
        (Some(600), Some(5))
    );
    assert!(s["verification_uri"].as_str().unwrap().ends_with("/device"));
    let complete = s["verification_uri_complete"].as_str().unwrap();
    assert!(complete.ends_with(&format!("/device?user_code={user_code}")));

    let p = poll(&t, &device_code).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.json()["error"], "authorization_pending");
    let p = poll(&t, &device_code).await;
    assert_eq!(p.json()["error"], "slow_down");

    // Not signed in: off to the tenant's sign-in, coming back to the same page.
    let r = t.get(&path_of(complete), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = location(&r);
    assert!(
        loc.starts_with("/t/acme/login?return_to=%2Fdevice%3Fuser_code%3D"),
        "{loc}"
    );

    // Signed in, the code typed in lower case without the dash: the confirmation page.
    let cookie = t.sign_in("acme", "jo", PW).await;
    let typed = user_code.replace('-', "").to_lowercase();
    let page = t
        .get(&format!("/device?user_code={typed}"), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    for want in [
        &user_code,
        "Lanyard command line",
        "jo-laptop",
        "192.0.2.10",
        "2026-12-01T00:00:00Z",
    ] {
        assert!(html.contains(want), "{want} missing from {html}");
    }
    let csrf = csrf_of(&html);

    // A forged POST (no CSRF token) decides nothing.
    let r = t
        .form(
            "/device",
            &cookie,
            &[
                ("user_code", &user_code),
                ("decision", "approve"),
                ("csrf_token", "x"),
            ],
        )
        .await;
    assert_ne!(r.status, StatusCode::OK);
    assert_eq!(
        poll_after(&t, &device_code).await.json()["error"],
        "authorization_pending"
    );

    let r = t
        .form(
            "/device",
            &cookie,
            &[
                ("user_code", &user_code),
                ("decision", "approve"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let p = poll_after(&t, &device_code).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    let tok = p.json();
    let secret = tok["access_token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("lyt_"));
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 365 * 86_400);
    assert_eq!(tok["user"]["email"], "jo@acme.test");

    // Used twice.
    let again = poll_after(&t, &device_code).await;
    assert_eq!(again.json()["error"], "invalid_grant");

    // whoami, the token list, logout.
    let me = bearer(&t, Method::GET, "/t/acme/session", &secret).await;
    assert_eq!(me.json()["user"]["username"], "jo");
    let list = bearer(&t, Method::GET, "/t/acme/api-tokens", &secret)
        .await
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["name"].as_str(), items[0]["current"].as_bool()),
        (Some("jo-laptop"), Some(true))
    );
    // Another tenant's URL does not accept it.
    assert_eq!(
        bearer(&t, Method::GET, "/t/other/api-tokens", &secret)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = bearer(&t, Method::DELETE, "/t/acme/api-tokens/current", &secret).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let me = bearer(&t, Method::GET, "/t/acme/session", &secret).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(
        t.audit_kinds()
            .await
            .iter()
            .any(|k| k == "oauth.device_approved")
    );
}

async fn poll_after(t: &TestApp, device_code: &str) -> Res {
    t.clock.advance(5);
    poll(t, device_code).await
}

#[tokio::test]
async fn denial_and_unknown_codes_have_their_answers() {
    let t = TestApp::new().await;
    let s = start(&t, "acme").await;
    let user_code = s["user_code"].as_str().unwrap().to_owned();
    let cookie = t.sign_in("acme", "jo", PW).await;
    let page = t
        .get(&format!("/device?user_code={user_code}"), Some(&cookie))
        .await;
    let csrf = csrf_of(&page.text());
    let r = t
        .form(
            "/device",
            &cookie,
            &[
                ("user_code", &user_code),
                ("decision", "deny"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let p = poll(&t, s["device_code"].as_str().unwrap()).await;
    assert_eq!(p.json()["error"], "access_denied");
    assert!(
        p.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("oauth.device_denied")
    );

    // An unknown code: the form again with the reason.
    let r = t.get("/device?user_code=BBBB-BBBB", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("unknown or has expired"), "{}", r.text());
    // No code: the entry form.
    let r = t.get("/device", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("name=\"user_code\""));

    // Expired: 10 minutes later.
    let s = start(&t, "acme").await;
    t.clock.advance(600);
    let p = poll(&t, s["device_code"].as_str().unwrap()).await;
    assert_eq!(p.json()["error"], "expired_token");

    // An unknown organisation, and an app without the grant.
    let r = post_form(
        &t,
        "/oauth2/device",
        &[("client_id", "lanyard-cli"), ("organization", "nope")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("oauth.unknown_organization")
    );
}
