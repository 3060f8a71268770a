//! Sessions and recovery (issue 12): "require a password change at next sign-in" ends the
//! user's sessions and turns the next password sign-in into a password reset; a sign-in page
//! opened under an ended session says so and offers a one-time "log out and sign in again"
//! link that clears the session cookie and restarts sign-in.

use crate::harness::{PW, Res, TestApp};
use axum::http::{Method, StatusCode, header};

const NEW_PW: &str = "a new password chosen after the request";

fn recover_href(page: &Res) -> String {
    let t = page.text();
    let at = t
        .find("href=\"/t/acme/recover?token=")
        .expect("the recovery link")
        + 6;
    t[at..at + t[at..].find('"').unwrap()].to_owned()
}

/// Signs in on the tenant form; the raw answer.
async fn password(app: &TestApp, username: &str, password: &str) -> Res {
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    app.form(
        "/t/acme/login",
        &format!("lanyard_login_csrf={csrf}"),
        &[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    )
    .await
}

#[tokio::test]
async fn a_required_password_change_ends_sessions_and_the_next_sign_in_sets_a_new_password() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    let uid = app.user_id("acme", "jo").await;
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/acme/users/{uid}/require-password-change"),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["must_change_password"], true);
    let s = app.get("/t/acme/session", Some(&cookie)).await;
    assert_eq!(s.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.code(), "session.revoked");

    // The right password opens no session: it leads to a reset page.
    let res = password(&app, "jo", PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(res.cookie_value("lanyard_session_acme").is_none());
    let to = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    let path = to
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("{to}"))
        .to_owned();
    assert!(path.starts_with("/t/acme/reset/"), "{path}");
    // A wrong password still says only "wrong" (nothing about the pending change).
    let wrong = password(&app, "jo", "not the password at all").await;
    assert!(
        wrong.text().contains("login.invalid_credentials"),
        "{}",
        wrong.text()
    );

    let page = app.get(&path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let csrf = page.cookie_value("lanyard_login_csrf").unwrap();
    let cookie_name = "lanyard_login_csrf";
    let set = app
        .form(
            &path,
            &format!("{cookie_name}={csrf}"),
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PW),
                ("password2", NEW_PW),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let ok = password(&app, "jo", NEW_PW).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert!(ok.cookie_value("lanyard_session_acme").is_some());
    let u = app
        .api(
            Method::GET,
            &format!("/api/v1/tenants/acme/users/{uid}"),
            None,
            None,
        )
        .await;
    assert_eq!(u.json()["must_change_password"], false);
    let kinds = app.audit_kinds().await;
    for k in [
        "user.password_change_required",
        "login.password_change_required",
        "user.password_reset",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k}: {kinds:?}");
    }
}

/// Race: two administrators require the change at once; both succeed, the flag is set once.
#[tokio::test]
async fn concurrent_password_change_requirements_both_hold() {
    let app = TestApp::new().await;
    let uid = app.user_id("acme", "jo").await;
    let path = format!("/api/v1/tenants/acme/users/{uid}/require-password-change");
    let patch = format!("/api/v1/tenants/acme/users/{uid}");
    let (a, b, c) = tokio::join!(
        app.api(Method::POST, &path, None, None),
        app.api(Method::POST, &path, None, None),
        app.api(
            Method::PATCH,
            &patch,
            Some(serde_json::json!({"display_name": "Jo Renamed"})),
            None
        ),
    );
    assert_eq!(
        (a.status, b.status, c.status),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    let u = app.api(Method::GET, &patch, None, None).await.json();
    assert_eq!(u["must_change_password"], true, "{u}");
}

#[tokio::test]
async fn an_ended_session_is_explained_and_the_recovery_link_is_one_time() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("acme", "jo", PW).await;
    let uid = app.user_id("acme", "jo").await;
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/acme/users/{uid}/sessions/revoke"),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let page = app.get("/t/acme/login", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("data-notice=\"session_ended\""),
        "{}",
        page.text()
    );
    assert!(page.text().contains("log out and sign in again"));
    let href = recover_href(&page);
    let token = page.cookie_value("lanyard_recover").unwrap();
    assert!(href.ends_with(&token));

    // Without the cookie (another site linking here) or with a wrong token: nothing happens.
    let forged = app.get(&href, Some(&cookie)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text());
    assert!(forged.cookie_value("lanyard_session_acme").is_none());
    let wrong = app
        .get(
            "/t/acme/recover?token=wrong",
            Some(&format!("{cookie}; lanyard_recover={token}")),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // The real link clears the session and its cookies and restarts sign-in.
    let both = format!("{cookie}; lanyard_recover={token}");
    let res = app.get(&href, Some(&both)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.headers[header::LOCATION], "/t/acme/login");
    let cleared = res.set_cookies();
    for name in [
        "lanyard_session_acme=",
        "lanyard_recover=",
        "lanyard_login_csrf=",
    ] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{name} removed: {cleared:?}"
        );
    }
    // One time: the browser no longer has the recovery cookie.
    let again = app.get(&href, Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);

    // An expired session says so too.
    let cookie = app.sign_in("acme", "jo", PW).await;
    app.clock.advance(8 * 3600 + 1);
    let page = app.get("/t/acme/login", Some(&cookie)).await;
    assert!(
        page.text().contains("Your session expired"),
        "{}",
        page.text()
    );
}
