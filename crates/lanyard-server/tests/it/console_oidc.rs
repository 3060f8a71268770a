//! "Save and test" for OpenID Connect connections: the callback of a test sign-in verifies
//! exactly as a sign-in (state, `iss`, nonce, token request, ID token, userinfo) and then
//! reports instead of provisioning: no session, no user, audited `connection.tested`; a failure
//! is the error page with its code, audited `login.failed` with `test: true`. Both stores.

use crate::console::{admin, csrf_of};
use crate::harness::{TestApp, urlencode};
use crate::oidc::{Op, fake_op, oidc_connection};
use crate::saml::counts;
use axum::http::{Method, StatusCode, header};
use lanyard_core::model::AuditFilter;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Follows a test start (`path`, with the admin's cookie) to the provider, which
/// "authenticates" and issues a code. Returns (state, code).
async fn authorize_test(
    app: &TestApp,
    op: &Op,
    path: &str,
    cookie: Option<&str>,
) -> (String, String) {
    let res = app.get(path, cookie).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let loc = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    let code = lanyard_core::secret::random_token();
    op.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), q["nonce"].clone()),
    );
    (q["state"].clone(), code)
}

async fn last_failure(app: &TestApp) -> (String, Value) {
    let failed = app
        .lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("login.failed".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    (
        failed[0].code.clone().unwrap_or_default(),
        serde_json::from_str(&failed[0].details).unwrap(),
    )
}

/// The code on a sign-in error page ("Error code `<code>…</code>`").
fn error_code(html: &str) -> String {
    html.split("Error code <code>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or("<none>")
        .to_owned()
}

const TEST_PATH: &str = "/admin/t/acme/connections/op/test";

#[tokio::test]
async fn oidc_save_and_test_reports_the_sign_in_and_changes_nothing() {
    TestApp::each_store(|app| async move {
        let app = app.with_private_metadata_urls();
        let (issuer, op) = fake_op().await;
        let ada = admin(&app, "acme", "ada", "admin", false).await;
        // Not enabled yet: the test is how the admin finds out whether it works.
        let res = oidc_connection(
            &app,
            &issuer,
            json!({"enabled": false, "use_userinfo": true,
                "provisioning": {"role_mapping": [{"value": "eng", "role": "admin"}]}}),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        // The console offers "Save and test" for OIDC, and it hands over to the test start.
        let page = app
            .get("/admin/t/acme/connections/op", Some(&ada))
            .await
            .text();
        assert!(page.contains("value=\"test\""), "{page}");
        let res = app
            .form(
                "/admin/t/acme/connections/op",
                &ada,
                &[
                    ("csrf_token", &csrf_of(&page)),
                    ("action", "test"),
                    ("name", "Provider"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(
            res.text().contains(&format!("href=\"{TEST_PATH}\"")),
            "{}",
            res.text()
        );
        // The sign-in start stays refused while disabled; only the console may test.
        let res = app.get("/t/acme/sso/op/start", None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());

        let before = counts(&app).await;
        let audit_before = app.audit_kinds().await.len();
        let (state, code) = authorize_test(&app, &op, TEST_PATH, Some(&ada)).await;
        let q = format!("code={code}&state={state}&iss={}", urlencode(&issuer));
        let res = app
            .get(&format!("/t/acme/oidc/op/callback?{q}"), None)
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let html = res.text();
        assert!(html.contains("data-test-result=\"ok\""), "{html}");
        assert!(
            html.contains("data-federation-id>op-user-1</code>"),
            "{html}"
        );
        assert!(html.contains("data-mapped=\"email\">ada@op.test"), "{html}");
        assert!(html.contains("data-jit=\"create\""), "{html}");
        assert!(html.contains("data-role-source=\"role_mapping\""), "{html}");
        assert!(
            html.contains("at_hash"),
            "raw ID token claims shown: {html}"
        );
        assert_eq!(op.lock().unwrap().token_calls, 1, "the code was redeemed");
        // No session, no user, nothing but the test's own audit event.
        assert!(
            res.set_cookies()
                .iter()
                .all(|c| !c.contains("lanyard_session")),
            "{:?}",
            res.set_cookies()
        );
        assert_eq!(counts(&app).await, before);
        let kinds = app.audit_kinds().await;
        assert_eq!(kinds.len(), audit_before + 1, "{kinds:?}");
        assert_eq!(kinds.first().map(String::as_str), Some("connection.tested"));
        // The test's state is single-use like a sign-in's; replayed, it opens nothing (and the
        // connection, still disabled, says so).
        let res = app
            .get(&format!("/t/acme/oidc/op/callback?{q}"), None)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
        assert_eq!(
            error_code(&res.text()),
            "connection.disabled",
            "{}",
            res.text()
        );
        assert_eq!(counts(&app).await, before);

        // A test whose provider signs with a key it does not publish: the verifier's code.
        op.lock().unwrap().wrong_key = true;
        let (state, code) = authorize_test(&app, &op, TEST_PATH, Some(&ada)).await;
        let res = app
            .get(
                &format!("/t/acme/oidc/op/callback?code={code}&state={state}"),
                None,
            )
            .await;
        assert!(res.status.is_client_error(), "{}", res.text());
        let (code_seen, details) = last_failure(&app).await;
        assert!(code_seen.starts_with("oidc."), "{code_seen}");
        assert_eq!(error_code(&res.text()), code_seen, "{}", res.text());
        assert_eq!(details["test"], true, "a failed test is audited as one");
        op.lock().unwrap().wrong_key = false;

        // A misconfigured connection (a wrong client secret): the token request's refusal.
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme/oidc-connections/op",
                Some(json!({"client_secret": "not-the-secret"})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let (state, code) = authorize_test(&app, &op, TEST_PATH, Some(&ada)).await;
        let res = app
            .get(
                &format!("/t/acme/oidc/op/callback?code={code}&state={state}"),
                None,
            )
            .await;
        assert!(
            res.status.is_client_error() || res.status.is_server_error(),
            "{}",
            res.text()
        );
        let (code_seen, details) = last_failure(&app).await;
        assert_eq!(code_seen, "fetch.token.http_error");
        assert_eq!(error_code(&res.text()), code_seen, "{}", res.text());
        assert!(
            res.text().contains("invalid_client"),
            "the provider's reason: {}",
            res.text()
        );
        assert_eq!(details["test"], true, "a failed test is audited as one");
        assert_eq!(counts(&app).await, before);
    })
    .await;
}

#[tokio::test]
async fn an_oidc_sign_in_state_is_never_a_test_and_an_enabled_test_signs_nobody_in() {
    TestApp::each_store(|app| async move {
        let app = app.with_private_metadata_urls();
        let (issuer, op) = fake_op().await;
        let ada = admin(&app, "acme", "ada", "admin", false).await;
        let res = oidc_connection(&app, &issuer, json!({})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let before = counts(&app).await;
        // A test of an enabled connection, from a provider whose clock runs 30 s ahead (within
        // the allowed skew): reported with the measured difference, and still no session.
        op.lock().unwrap().patch = json!({"iat": crate::harness::T0 + 30});
        let (state, code) = authorize_test(&app, &op, TEST_PATH, Some(&ada)).await;
        let res = app
            .get(
                &format!("/t/acme/oidc/op/callback?code={code}&state={state}"),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(
            res.text().contains("clock is about 30 seconds ahead"),
            "{}",
            res.text()
        );
        op.lock().unwrap().patch = json!({});
        assert!(
            res.set_cookies()
                .iter()
                .all(|c| !c.contains("lanyard_session"))
        );
        assert_eq!(counts(&app).await, before);
        // A sign-in started at the login page is a sign-in: it provisions and opens a session.
        let (state, code) = crate::oidc::authorize(&app, &op).await;
        let res = app
            .get(
                &format!("/t/acme/oidc/op/callback?code={code}&state={state}"),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(counts(&app).await.0, before.0 + 1);
        // A member cannot start a test (the console refuses non-admins).
        let jo = app.sign_in("acme", "jo", crate::harness::PW).await;
        let res = app.get(TEST_PATH, Some(&jo)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    })
    .await;
}

#[tokio::test]
async fn the_setup_portal_saves_and_tests_a_generic_oidc_connection() {
    TestApp::each_store(|app| async move {
        let app = app.with_private_metadata_urls();
        let (issuer, op) = fake_op().await;
        let (_, path) = crate::console_setup::link(&app, "acme").await;
        let cookie = crate::console_setup::claim(&app, &path).await;
        let page = app.get(&format!("{path}/idp/oidc"), Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert!(
            page.text().contains("value=\"test\""),
            "the test is offered: {}",
            page.text()
        );
        let discovery = format!("{issuer}/.well-known/openid-configuration");
        let res = app
            .form(
                &format!("{path}/idp/oidc"),
                &cookie,
                &[
                    ("csrf_token", &csrf_of(&page.text())),
                    ("action", "test"),
                    ("issuer", &issuer),
                    ("discovery_url", &discovery),
                    ("client_id", "lanyard-client"),
                    ("client_secret", "client-secret-1"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let test_path = format!("{path}/test");
        assert!(
            res.text().contains(&format!("href=\"{test_path}\"")),
            "{}",
            res.text()
        );
        let before = counts(&app).await;
        // The portal's connection is created disabled: only its test reaches the provider.
        let res = app.get(&test_path, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
        let loc = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
        let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
        let callback = url::Url::parse(&q["redirect_uri"]).unwrap();
        let code = lanyard_core::secret::random_token();
        op.lock().unwrap().codes.insert(
            code.clone(),
            (q["code_challenge"].clone(), q["nonce"].clone()),
        );
        let res = app
            .get(
                &format!("{}?code={code}&state={}", callback.path(), q["state"]),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(
            res.text().contains("data-test-result=\"ok\""),
            "{}",
            res.text()
        );
        assert!(
            res.text().contains("data-federation-id>op-user-1</code>"),
            "{}",
            res.text()
        );
        assert_eq!(counts(&app).await, before, "no user, no session");
        assert_eq!(
            app.audit_kinds().await.first().map(String::as_str),
            Some("connection.tested")
        );
    })
    .await;
}
