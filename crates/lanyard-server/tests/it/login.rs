use crate::harness::{PW, T0, TestApp};
use axum::http::StatusCode;

#[tokio::test]
async fn the_form_signs_in_and_the_session_endpoint_shows_it() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Sign in to acme Inc"));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = app.sign_in("acme", "jo", PW).await;
    let s = app.get("/t/acme/session", Some(&cookie)).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    let j = s.json();
    assert_eq!(j["user"]["username"], "jo");
    assert_eq!(j["tenant"], "acme");
    assert_eq!(j["auth_method"], "password");
    assert_eq!(j["user"]["role"], "standard");
    assert_eq!(j["expires_at"], lanyard_core::clock::rfc3339(T0 + 8 * 3600));
    assert_eq!(s.headers["cache-control"], "private, no-store");
    // The login page now shows who is signed in.
    assert!(
        app.get("/t/acme/login", Some(&cookie))
            .await
            .text()
            .contains("You are signed in")
    );
}

#[tokio::test]
async fn session_cookie_attributes_over_http_and_https() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let res = app
        .form(
            "/t/acme/login",
            &format!("lanyard_login_csrf={csrf}"),
            &[("username", "jo"), ("password", PW), ("csrf_token", &csrf)],
        )
        .await;
    let c = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("lanyard_session_acme="))
        .unwrap();
    assert!(
        c.contains("HttpOnly")
            && c.contains("SameSite=Lax")
            && c.contains("Path=/")
            && !c.contains("Secure"),
        "{c}"
    );

    // SECURITY.md W-COOKIE: over https the cookie is __Host-, Secure, HttpOnly, SameSite=Lax.
    let app = TestApp::with_url("https://sso.example.com").await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    assert!(cookie.starts_with("__Host-lanyard_session_acme="));
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("__Host-lanyard_login_csrf").unwrap();
    let res = app
        .form(
            "/t/acme/login",
            &format!("__Host-lanyard_login_csrf={csrf}"),
            &[("username", "jo"), ("password", PW), ("csrf_token", &csrf)],
        )
        .await;
    let c = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-lanyard_session_acme="))
        .unwrap();
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(c.contains(attr), "{attr} missing in {c}");
    }
    assert!(!c.contains("Domain"), "{c}");
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_page() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let cookie = format!("lanyard_login_csrf={csrf}");
    let a = app
        .form(
            "/t/acme/login",
            &cookie,
            &[
                ("username", "jo"),
                ("password", "not the password"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    let b = app
        .form(
            "/t/acme/login",
            &cookie,
            &[
                ("username", "jo-nobody"),
                ("password", "not the password"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.status, b.status);
    let strip = |s: String, u: &str| s.replace(&format!("value=\"{u}\""), "");
    assert_eq!(
        strip(a.text(), "jo"),
        strip(b.text(), "jo-nobody"),
        "identical apart from the echoed username"
    );
    assert!(a.text().contains("The username or password is incorrect."));
    // Issue 15: the sign-in form's refusal carries its help sentence (the same for both).
    assert!(
        a.text()
            .contains("<p class=\"help\">Check your username and password"),
        "{}",
        a.text()
    );
    assert!(a.cookie_value("lanyard_session_acme").is_none());
}

/// Login CSRF (SECURITY.md 4.2): a cross-site form post without the double-submit token fails.
#[tokio::test]
async fn login_without_the_csrf_token_is_refused() {
    let app = TestApp::new().await;
    let res = app
        .form(
            "/t/acme/login",
            "",
            &[
                ("username", "jo"),
                ("password", PW),
                ("csrf_token", "guess"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.cookie_value("lanyard_session_acme").is_none());
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let res = app
        .form(
            "/t/acme/login",
            &format!("lanyard_login_csrf={csrf}"),
            &[
                ("username", "jo"),
                ("password", PW),
                ("csrf_token", "different"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        !app.audit_kinds()
            .await
            .contains(&"login.succeeded".to_owned())
    );
}

#[tokio::test]
async fn throttled_sign_in_answers_429_with_retry_after() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let cookie = format!("lanyard_login_csrf={csrf}");
    for _ in 0..5 {
        assert_eq!(
            app.form(
                "/t/acme/login",
                &cookie,
                &[
                    ("username", "jo"),
                    ("password", "nope nope nope"),
                    ("csrf_token", &csrf)
                ]
            )
            .await
            .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app
        .form(
            "/t/acme/login",
            &cookie,
            &[("username", "jo"), ("password", PW), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers["retry-after"], "1");
    assert!(res.text().contains("Too many failed sign-in attempts"));
    app.clock.advance(1);
    app.sign_in("acme", "jo", PW).await;
}

/// SECURITY.md 4.1: return_to never leads off-site.
#[tokio::test]
async fn return_to_is_kept_only_when_same_origin() {
    let app = TestApp::new().await;
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let cookie = format!("lanyard_login_csrf={csrf}");
    for (given, expected) in [
        ("/t/acme/app?x=1", "/t/acme/app?x=1"),
        ("https://evil.test", "/t/acme/login"),
        ("//evil.test", "/t/acme/login"),
        ("/\\evil.test", "/t/acme/login"),
        ("https:evil.test", "/t/acme/login"),
        ("javascript:alert(1)", "/t/acme/login"),
        ("/x\r\nSet-Cookie: a=b", "/t/acme/login"),
    ] {
        let res = app
            .form(
                "/t/acme/login",
                &cookie,
                &[
                    ("username", "jo"),
                    ("password", PW),
                    ("csrf_token", &csrf),
                    ("return_to", given),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{given}");
        assert_eq!(res.headers["location"], expected, "{given}");
    }
    // The page itself never echoes an unsafe return_to into the form.
    let page = app
        .get("/t/acme/login?return_to=%2F%2Fevil.test", None)
        .await;
    assert!(!page.text().contains("evil.test"));
}

/// SECURITY.md W-LOGOUT-CSRF: logout needs the session's CSRF token.
#[tokio::test]
async fn logout_is_a_post_with_the_sessions_csrf_token() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    assert_eq!(
        app.get("/t/acme/logout", Some(&cookie)).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let forged = app
        .form("/t/acme/logout", &cookie, &[("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.text().contains("request.csrf_invalid"));
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.status,
        StatusCode::OK,
        "still signed in"
    );
    let csrf = app.get("/t/acme/session", Some(&cookie)).await.json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .form("/t/acme/logout", &cookie, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("lanyard_session_acme=;") || c.contains("Max-Age=0")),
        "{:?}",
        out.set_cookies()
    );
    let after = app.get("/t/acme/session", Some(&cookie)).await;
    assert_eq!(
        (after.status, after.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session.revoked")
    );
}

#[tokio::test]
async fn session_endpoint_reports_why_there_is_no_session() {
    let app = TestApp::new().await;
    let none = app.get("/t/acme/session", None).await;
    assert_eq!(
        (none.status, none.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session.missing")
    );
    let cookie = app.sign_in("acme", "jo", PW).await;
    app.clock.advance(8 * 3600);
    let expired = app.get("/t/acme/session", Some(&cookie)).await;
    assert_eq!(
        (expired.status, expired.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session.expired")
    );
}

/// SECURITY.md W-TENANT: a session of tenant A is refused on tenant B's routes.
#[tokio::test]
async fn a_session_cookie_of_one_tenant_is_refused_by_another() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    let token = cookie.split_once('=').unwrap().1;
    let res = app
        .get(
            "/t/other/session",
            Some(&format!("lanyard_session_other={token}")),
        )
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session.wrong_tenant")
    );
    assert_eq!(
        app.get("/t/other/session", Some(&cookie)).await.code(),
        "session.missing"
    );
}

#[tokio::test]
async fn unknown_tenant_gets_a_404_page() {
    let app = TestApp::new().await;
    let res = app.get("/t/nope/login", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.text().contains("tenant.not_found"));
    assert_eq!(
        app.get("/nowhere", None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// SECURITY.md N-XFF: a direct client's X-Forwarded-For is not its address in the audit log.
#[tokio::test]
async fn audit_records_the_socket_peer_not_a_spoofed_header() {
    let app = TestApp::new().await.with_peer("203.0.113.7:4000");
    let req = axum::http::Request::post("/t/acme/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", "10.0.0.5")
        .header("cookie", "lanyard_login_csrf=abc")
        .body(axum::body::Body::from(
            "username=jo&password=x&csrf_token=abc",
        ))
        .unwrap();
    app.send(req).await;
    let rows = app
        .lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            kind: Some("login.failed".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows[0].ip.as_deref(), Some("203.0.113.7"));
}

/// `Authorization: Bearer lyt_…` is a per-user API token; any other Authorization value (a
/// proxy's Basic credentials) is not ours and the session cookie decides.
#[tokio::test]
async fn the_session_endpoint_takes_user_api_tokens_and_ignores_other_authorization() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    let jo = app.user_id("acme", "jo").await;
    let created = app
        .api(
            axum::http::Method::POST,
            &format!("/api/v1/tenants/acme/users/{jo}/api-tokens"),
            Some(serde_json::json!({"name": "script"})),
            None,
        )
        .await
        .json();
    let token = created["token"].as_str().unwrap().to_owned();
    let get = |auth: String, cookie: Option<String>| {
        let mut b = Request::get("/t/acme/session").header(header::AUTHORIZATION, auth);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        app.send(b.body(Body::empty()).unwrap())
    };
    let res = get(format!("Bearer {token}"), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["auth_method"], "api_token");
    assert_eq!(res.json()["user"]["id"], jo.as_str());
    // The token belongs to acme only.
    let other = app
        .send(
            Request::get("/t/other/session")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other.json()["error"]["code"], "auth.api_token_invalid");
    let res = get("Bearer lyt_not-a-token".into(), Some(cookie.clone())).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json()["error"]["code"], "auth.api_token_invalid");
    let res = get("Basic am86cHc=".into(), Some(cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["auth_method"], "password");
}
