//! Provisioning through real logins, continued: SSO-required routing, password resets when a
//! connection goes away, email confirmation, admin-set federation IDs and disconnecting.

use crate::harness::{PW, TestApp};
use crate::provisioning::*;
use crate::saml::{assert_refused, connection, counts};
use axum::http::{Method, StatusCode};
use lanyard_core::model::AuditFilter;
use serde_json::json;

#[tokio::test]
async fn sso_required_refuses_passwords_except_super_admins_until_no_connection_is_enabled() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    create_user(
        &app,
        json!({"username": "root", "email": "root@acme.test", "password": PW, "super_admin": true}),
    )
    .await;
    patch_tenant(&app, json!({"sso_required": true})).await;

    let res = password_login(&app, "jo", PW).await;
    assert_password_refused(&res, "login.sso_required");
    assert!(
        res.text()
            .contains(r#"<a class="sso" href="/t/acme/sso/okta/start">Sign in with okta IdP</a>"#),
        "{}",
        res.text()
    );
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
    assert_eq!(failed[0].code.as_deref(), Some("login.sso_required"));
    // A wrong password still says only that.
    assert_password_refused(
        &password_login(&app, "jo", "not the password").await,
        "login.invalid_credentials",
    );
    // Super admins keep their password (to repair a broken connection).
    let root = app.sign_in("acme", "root", PW).await;
    assert_eq!(
        app.get("/t/acme/session", Some(&root)).await.json()["user"]["username"],
        "root"
    );

    // With no enabled connection nobody is locked out.
    patch_okta(&app, json!({"enabled": false})).await;
    let jo = app.sign_in("acme", "jo", PW).await;
    assert_eq!(
        app.get("/t/acme/session", Some(&jo)).await.json()["user"]["username"],
        "jo"
    );
    let page = password_login(&app, "jo", "not the password").await;
    assert!(
        !page.text().contains("Sign in with okta IdP"),
        "{}",
        page.text()
    );
}

// --- 9 ---

#[tokio::test]
async fn removing_a_connection_sends_a_single_use_password_reset_to_its_users() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let s = saml_ok(
        &app,
        person("00u-alice", &[("email", "alice@acme.example")]),
    )
    .await;
    let alice = s["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user(&app, &alice).await["has_password"], false);
    assert!(
        mails(&app, "alice@acme.example", "choose a password")
            .await
            .is_empty()
    );

    let res = app
        .api(
            Method::DELETE,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let sent = mails(&app, "alice@acme.example", "choose a password").await;
    assert_eq!(sent.len(), 1);
    // jo has a password: no reset for jo.
    assert!(
        mails(&app, "jo@acme.test", "choose a password")
            .await
            .is_empty()
    );
    let link = link_in(&sent[0], "reset");

    let (page, csrf) = open_page(&app, &link).await;
    assert!(
        page.text().contains("alice@acme.example"),
        "{}",
        page.text()
    );
    let new_pw = "a fresh password for alice";
    // Different passwords: the form again, nothing set.
    let res = submit(
        &app,
        &link,
        &csrf,
        &[
            ("password", new_pw),
            ("password2", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    // Without the CSRF cookie: refused.
    let res = app
        .form(
            &link,
            "x=y",
            &[
                ("csrf_token", &csrf),
                ("password", new_pw),
                ("password2", new_pw),
            ],
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.text());
    assert_eq!(user(&app, &alice).await["has_password"], false);

    let res = submit(
        &app,
        &link,
        &csrf,
        &[("password", new_pw), ("password2", new_pw)],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("Password set"), "{}", res.text());
    let cookie = app.sign_in("acme", "alice@acme.example", new_pw).await;
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.json()["user"]["id"],
        alice.as_str()
    );

    let again = submit(
        &app,
        &link,
        &csrf,
        &[
            ("password", "yet another password!"),
            ("password2", "yet another password!"),
        ],
    )
    .await;
    assert_error_page(&again, "link.invalid");
    assert_error_page(&app.get(&link, None).await, "link.invalid");
    app.sign_in("acme", "alice@acme.example", new_pw).await;
}

// --- 10 ---

#[tokio::test]
async fn required_email_confirmation_holds_the_first_login_until_confirmed() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    patch_tenant(&app, json!({"require_email_confirmation": true})).await;
    let before = counts(&app).await;
    let alice = || person("00u-alice", &[("email", "alice@acme.example")]);

    let res = saml_login(&app, alice()).await;
    assert_error_page(&res, "login.email_unconfirmed");
    assert_eq!(
        counts(&app).await,
        (before.0 + 1, before.1),
        "the user exists, no session"
    );
    let uid = app.user_id("acme", "alice@acme.example").await;
    assert_eq!(user(&app, &uid).await["email_confirmed"], false);
    let sent = mails(&app, "alice@acme.example", "confirm your email").await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["body"]
            .as_str()
            .unwrap()
            .contains("You can sign in once you have confirmed"),
        "{}",
        sent[0]["body"]
    );
    let link = link_in(&sent[0], "confirm");

    // Still unconfirmed at the next login; opening the link (as a mail scanner would) confirms
    // nothing.
    assert_error_page(&saml_login(&app, alice()).await, "login.email_unconfirmed");
    let (page, csrf) = open_page(&app, &link).await;
    assert!(page.text().contains("Confirm my email"), "{}", page.text());
    assert_error_page(&saml_login(&app, alice()).await, "login.email_unconfirmed");

    let res = submit(&app, &link, &csrf, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("Email confirmed"), "{}", res.text());
    assert_eq!(user(&app, &uid).await["email_confirmed"], true);
    let s = saml_ok(&app, alice()).await;
    assert_eq!(s["user"]["id"], uid.as_str());
    assert_error_page(&app.get(&link, None).await, "link.invalid");
}

// --- 11 ---

#[tokio::test]
async fn without_jit_an_admin_sets_the_federation_id_nameid_or_attribute() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let sam = create_user(
        &app,
        json!({"username": "sam", "email": "sam@acme.test", "role": "standard"}),
    )
    .await;
    let sam_resp = || person("00u-sam", &[("email", "sam@acme.test")]);
    let before = counts(&app).await;
    let res = saml_login(&app, sam_resp()).await;
    assert_refused(&app, &res, "login.unknown_user", before).await;

    let f = api_ok(
        &app,
        Method::PUT,
        &format!("/api/v1/tenants/acme/users/{sam}/federated-identities/okta"),
        Some(json!({"federation_id": "00u-sam"})),
    )
    .await;
    assert_eq!(f["federation_id"], "00u-sam");
    assert_eq!(user(&app, &sam).await["sso_state"], "linked");
    let s = saml_ok(&app, sam_resp()).await;
    assert_eq!(s["user"]["id"], sam.as_str());
    assert_eq!(counts(&app).await.0, before.0, "no user created");

    // With a federation ID attribute, its value is the key; the NameID no longer counts.
    let c = patch_okta(
        &app,
        json!({"provisioning": {"federation_id_attribute": "employeeId"}}),
    )
    .await;
    assert_eq!(c["provisioning"]["federation_id_attribute"], "employeeId");
    let kim = create_user(&app, json!({"username": "kim", "email": "kim@acme.test"})).await;
    api_ok(
        &app,
        Method::PUT,
        &format!("/api/v1/tenants/acme/users/{kim}/federated-identities/okta"),
        Some(json!({"federation_id": "E-1001"})),
    )
    .await;
    // sam's NameID, kim's employee ID: kim.
    let s = saml_ok(
        &app,
        person(
            "00u-sam",
            &[("email", "kim@acme.test"), ("employeeId", "E-1001")],
        ),
    )
    .await;
    assert_eq!(s["user"]["id"], kim.as_str());
    // sam's NameID with an employee ID nobody has: unknown.
    let before = counts(&app).await;
    let res = saml_login(
        &app,
        person(
            "00u-sam",
            &[("email", "sam@acme.test"), ("employeeId", "E-9999")],
        ),
    )
    .await;
    assert_refused(&app, &res, "login.unknown_user", before).await;
    // No attribute at all: refused for the missing attribute.
    let res = saml_login(&app, sam_resp()).await;
    assert_refused(&app, &res, "saml.missing_attribute", before).await;
}

// --- 12 ---

#[tokio::test]
async fn disconnecting_a_federated_identity_ends_sessions_and_the_link() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let sam = create_user(&app, json!({"username": "sam", "email": "sam@acme.test"})).await;
    api_ok(
        &app,
        Method::PUT,
        &format!("/api/v1/tenants/acme/users/{sam}/federated-identities/okta"),
        Some(json!({"federation_id": "00u-sam"})),
    )
    .await;
    let sam_resp = || person("00u-sam", &[("email", "sam@acme.test")]);
    let res = saml_login(&app, sam_resp()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let cookie = session_cookie(&res);
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.json()["user"]["id"],
        sam.as_str()
    );

    let del = app
        .api(
            Method::DELETE,
            &format!("/api/v1/tenants/acme/users/{sam}/federated-identities/okta"),
            None,
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text());
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.code(),
        "session.revoked"
    );
    assert!(identities(&app, &sam).await.is_empty());
    assert_eq!(user(&app, &sam).await["sso_state"], "none");
    // Left with no way to sign in: a password reset by email.
    assert_eq!(
        mails(&app, "sam@acme.test", "choose a password")
            .await
            .len(),
        1
    );
    let removed = audit(&app, "federated_identity.removed", Some(&sam)).await;
    assert_eq!(removed.len(), 1);

    let before = counts(&app).await;
    let res = saml_login(&app, sam_resp()).await;
    assert_refused(&app, &res, "login.unknown_user", before).await;
    // Deleting again: nothing to delete.
    let again = app
        .api(
            Method::DELETE,
            &format!("/api/v1/tenants/acme/users/{sam}/federated-identities/okta"),
            None,
            None,
        )
        .await;
    assert_eq!(again.code(), "federated_identity.not_found");
}
