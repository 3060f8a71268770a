//! Provisioning through real logins: attribute and role reconciliation, role mapping, upgrade
//! invitations (accept, decline, email mismatch, collaborators), email takeover refusals,
//! SSO-required routing, password resets when a connection goes away, email confirmation,
//! pre-created users (federation IDs set by an admin) and disconnecting an identity.

use crate::harness::{PW, Res, TestApp};
use crate::saml::{assert_refused, connection, counts, post_acs, session_json, start};
use crate::saml_idp::{Resp, SSO_URL};
use axum::http::{Method, StatusCode, header};
use lanyard_core::model::AuditFilter;
use serde_json::{Value, json};

pub(crate) const PUBLIC: &str = "http://127.0.0.1:8080";
pub(crate) const CSRF: &str = "lanyard_login_csrf";

/// A response from the test IdP for `name_id` with these attributes (no InResponseTo yet).
pub(crate) fn person(name_id: &str, attributes: &[(&str, &str)]) -> Resp {
    let mut r = Resp::new("acme", "okta", None);
    r.name_id = name_id.into();
    r.attributes = attributes
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    r
}

/// A complete SP-initiated login at acme/okta answered with `r`.
pub(crate) async fn saml_login(app: &TestApp, mut r: Resp) -> Res {
    let (id, rs) = start(app, "acme", "okta", None).await;
    r.in_response_to = Some(id);
    post_acs(app, "acme", "okta", &r.signed(), Some(&rs)).await
}

/// `saml_login` that must succeed; returns the session JSON.
pub(crate) async fn saml_ok(app: &TestApp, r: Resp) -> Value {
    let res = saml_login(app, r).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    session_json(app, &res, "acme").await
}

/// The pending login (AuthnRequest ID, RelayState) of a redirect to the IdP.
pub(crate) fn pending_of(res: &Res) -> (String, String) {
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{SSO_URL}?SAMLRequest=")),
        "{location}"
    );
    let url = url::Url::parse(&location).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let xml =
        lanyard_saml::authn_request::inflate_redirect_message(&q["SAMLRequest"], 1 << 20).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    let id = xml
        .split(" ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (id, q["RelayState"].clone())
}

/// The sign-in form posted with a password; the raw answer.
pub(crate) async fn password_login(app: &TestApp, username: &str, password: &str) -> Res {
    let page = app.get("/t/acme/login", None).await;
    let csrf = page.cookie_value(CSRF).unwrap();
    app.form(
        "/t/acme/login",
        &format!("{CSRF}={csrf}"),
        &[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    )
    .await
}

pub(crate) fn assert_password_refused(res: &Res, code: &str) {
    assert!(
        res.status.is_client_error(),
        "{code}: {} {}",
        res.status,
        res.text()
    );
    assert!(
        res.text().contains(&format!("data-code=\"{code}\"")),
        "{code} not on the page: {}",
        res.text()
    );
    // Issue 15: every login.* refusal says what to do, on the sign-in form too.
    assert!(
        res.text().contains("<p class=\"help\">"),
        "{code} has no help on the page: {}",
        res.text()
    );
    assert!(res.cookie_value("lanyard_session_acme").is_none());
}

/// Asserts an HTML error page with `code` (and no session cookie).
pub(crate) fn assert_error_page(res: &Res, code: &str) {
    assert!(
        res.status.is_client_error(),
        "expected {code}, got {}: {}",
        res.status,
        res.text()
    );
    assert!(
        res.text().contains(&format!("<code>{code}</code>")),
        "{code} not on the page: {}",
        res.text()
    );
    assert!(res.cookie_value("lanyard_session_acme").is_none());
}

pub(crate) fn session_cookie(res: &Res) -> String {
    format!(
        "lanyard_session_acme={}",
        res.cookie_value("lanyard_session_acme")
            .unwrap_or_else(|| panic!("no session cookie: {}", res.text()))
    )
}

pub(crate) async fn api_ok(app: &TestApp, m: Method, path: &str, body: Option<Value>) -> Value {
    let res = app.api(m.clone(), path, body, None).await;
    assert!(
        res.status.is_success(),
        "{m} {path}: {} {}",
        res.status,
        res.text()
    );
    if res.body.is_empty() {
        Value::Null
    } else {
        res.json()
    }
}

pub(crate) async fn user(app: &TestApp, id: &str) -> Value {
    api_ok(
        app,
        Method::GET,
        &format!("/api/v1/tenants/acme/users/{id}"),
        None,
    )
    .await
}

pub(crate) async fn create_user(app: &TestApp, body: Value) -> String {
    let res = app
        .api(Method::POST, "/api/v1/tenants/acme/users", Some(body), None)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn users_where(app: &TestApp, query: &str) -> Vec<Value> {
    api_ok(
        app,
        Method::GET,
        &format!("/api/v1/tenants/acme/users?{query}"),
        None,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn identities(app: &TestApp, uid: &str) -> Vec<Value> {
    api_ok(
        app,
        Method::GET,
        &format!("/api/v1/tenants/acme/users/{uid}/federated-identities"),
        None,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn invitations(app: &TestApp) -> Vec<Value> {
    api_ok(app, Method::GET, "/api/v1/tenants/acme/invitations", None).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn patch_tenant(app: &TestApp, body: Value) {
    api_ok(app, Method::PATCH, "/api/v1/tenants/acme", Some(body)).await;
}

pub(crate) async fn patch_okta(app: &TestApp, body: Value) -> Value {
    api_ok(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme/connections/okta",
        Some(body),
    )
    .await
}

/// Queued mail to `to` whose subject contains `subject`.
pub(crate) async fn mails(app: &TestApp, to: &str, subject: &str) -> Vec<Value> {
    let page = api_ok(
        app,
        Method::GET,
        "/api/v1/tenants/acme/outbox?limit=200",
        None,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == to && m["subject"].as_str().unwrap().contains(subject))
        .cloned()
        .collect()
}

/// The path of the `/t/acme/{kind}/…` link in a mail body.
pub(crate) fn link_in(mail: &Value, kind: &str) -> String {
    let body = mail["body"].as_str().unwrap();
    let prefix = format!("{PUBLIC}/t/acme/{kind}/");
    let at = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {kind} link in {body}"));
    let url: String = body[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url.strip_prefix(PUBLIC).unwrap().to_owned()
}

/// GETs a link page; returns it and its CSRF token (cookie and hidden field).
pub(crate) async fn open_page(app: &TestApp, path: &str) -> (Res, String) {
    let page = app.get(path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
    let csrf = page
        .cookie_value(CSRF)
        .expect("the page sets the CSRF cookie");
    assert!(
        page.text()
            .contains(&format!(r#"name="csrf_token" value="{csrf}""#)),
        "{}",
        page.text()
    );
    (page, csrf)
}

pub(crate) async fn submit(app: &TestApp, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Res {
    let mut all = vec![("csrf_token", csrf)];
    all.extend_from_slice(fields);
    app.form(path, &format!("{CSRF}={csrf}"), &all).await
}

/// Invites `username` (the only connection is used) and returns the invitation link's path.
pub(crate) async fn invite(app: &TestApp, username: &str, email: &str) -> String {
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/invitations",
            Some(json!({"users": [username]})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let inv = res.json()["items"][0].clone();
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["emailed"], true);
    let sent = mails(app, email, "connect your account to single sign-on").await;
    assert_eq!(sent.len(), 1, "one invitation email to {email}");
    let path = link_in(&sent[0], "invite");
    assert_eq!(format!("{PUBLIC}{path}"), inv["url"].as_str().unwrap());
    path
}

/// Accepts the invitation at `path`: the page, then the POST that starts the SSO login.
pub(crate) async fn accept(app: &TestApp, path: &str) -> (String, String) {
    let (page, csrf) = open_page(app, path).await;
    assert!(
        page.text().contains("Continue with okta IdP"),
        "{}",
        page.text()
    );
    let res = submit(app, path, &csrf, &[("action", "accept")]).await;
    pending_of(&res)
}

/// Posts `r` as the answer to the pending login `(id, rs)`.
pub(crate) async fn answer(app: &TestApp, pending: (String, String), mut r: Resp) -> Res {
    r.in_response_to = Some(pending.0);
    post_acs(app, "acme", "okta", &r.signed(), Some(&pending.1)).await
}

pub(crate) async fn audit(app: &TestApp, kind: &str, user_id: Option<&str>) -> Vec<Value> {
    app.lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some(kind.into()),
            user_id: user_id.map(str::to_owned),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.details).unwrap())
        .collect()
}

// --- 1 ---

#[tokio::test]
async fn a_later_saml_login_updates_username_and_email_and_audits_the_change() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let s = saml_ok(
        &app,
        person(
            "00u-alice",
            &[("email", "alice@acme.example"), ("username", "alice")],
        ),
    )
    .await;
    assert_eq!(s["user"]["username"], "alice");
    let uid = s["user"]["id"].as_str().unwrap().to_owned();
    // The new account's audit record keeps what the IdP sent, for debugging mappings.
    let created = audit(&app, "user.created", Some(&uid)).await;
    assert_eq!(created[0]["claims"]["name_id"]["value"], "00u-alice");
    assert_eq!(created[0]["via"], "saml.jit");

    let s = saml_ok(
        &app,
        person(
            "00u-alice",
            &[("email", "alice.new@acme.example"), ("username", "alice2")],
        ),
    )
    .await;
    assert_eq!(s["user"]["id"], uid.as_str(), "same account");
    assert_eq!(s["user"]["username"], "alice2");
    assert_eq!(s["user"]["email"], "alice.new@acme.example");
    let u = user(&app, &uid).await;
    assert_eq!(
        (u["username"].as_str(), u["email"].as_str()),
        (Some("alice2"), Some("alice.new@acme.example"))
    );
    let ev = audit(&app, "user.updated", Some(&uid)).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    let ch = &ev[0]["changes"];
    assert_eq!(ch["username"], json!({"from": "alice", "to": "alice2"}));
    assert_eq!(
        ch["email"],
        json!({"from": "alice@acme.example", "to": "alice.new@acme.example"})
    );
    assert_eq!(ev[0]["via"], "saml.login");

    // The same claims again change nothing and log no update.
    saml_ok(
        &app,
        person(
            "00u-alice",
            &[("email", "alice.new@acme.example"), ("username", "alice2")],
        ),
    )
    .await;
    assert_eq!(audit(&app, "user.updated", Some(&uid)).await.len(), 1);
}

// --- 2 ---

pub(crate) fn member(n: &str, groups: &[&str]) -> Resp {
    let email = format!("{n}@acme.example");
    let mut attrs = vec![("email", email.as_str()), ("username", n)];
    for g in groups {
        attrs.push(("groups", g));
    }
    person(&format!("00u-{n}"), &attrs)
}

#[tokio::test]
async fn saml_role_resolution_mapping_priority_default_none_and_sync() {
    let app = TestApp::new().await;
    connection(
        &app,
        "acme",
        "okta",
        json!({"jit": true, "provisioning": {
            "role_claim": "groups",
            "role_mapping": [{"value": "Admins", "role": "admin"}, {"value": "Staff", "role": "support"}],
            "default_role": "viewer"
        }}),
    )
    .await;
    let role = |s: &Value| s["user"]["role"].clone();

    assert_eq!(
        role(&saml_ok(&app, member("ann", &["Admins"])).await),
        "admin"
    );
    // The first matching row wins, whatever the order of the claim values.
    assert_eq!(
        role(&saml_ok(&app, member("bob", &["Staff", "Admins"])).await),
        "admin"
    );
    assert_eq!(
        role(&saml_ok(&app, member("cy", &["Staff"])).await),
        "support"
    );
    // No row matches: the default role. Only the configured claim counts (`role` is ignored).
    let mut dee = member("dee", &["Contractors"]);
    dee.attributes.push(("role".into(), "Admins".into()));
    assert_eq!(role(&saml_ok(&app, dee).await), "viewer");

    // No match and no default: no role, but the user signs in and is listed as needing one.
    patch_okta(&app, json!({"provisioning": {"default_role": null}})).await;
    let s = saml_ok(&app, member("eve", &["Contractors"])).await;
    assert!(role(&s).is_null(), "{s}");
    assert_eq!(s["user"]["username"], "eve");
    let needing: Vec<Value> = users_where(&app, "needs_role=true")
        .await
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(needing, vec![json!("eve")]);

    // role_sync at_creation: another claim at a later login leaves the role alone.
    assert_eq!(
        role(&saml_ok(&app, member("ann", &["Staff"])).await),
        "admin"
    );
    let ann = app.user_id("acme", "ann").await;
    assert_eq!(user(&app, &ann).await["role"], "admin");

    // every_login: the claim wins at each login, and the change is audited.
    let c = patch_okta(&app, json!({"provisioning": {"role_sync": "every_login"}})).await;
    assert_eq!(c["provisioning"]["role_sync"], "every_login");
    assert_eq!(
        c["provisioning"]["role_mapping"].as_array().unwrap().len(),
        2,
        "a partial PATCH keeps the table"
    );
    assert_eq!(
        role(&saml_ok(&app, member("ann", &["Staff"])).await),
        "support"
    );
    assert_eq!(user(&app, &ann).await["role"], "support");
    let ev = audit(&app, "user.updated", Some(&ann)).await;
    assert_eq!(
        ev[0]["changes"]["role"],
        json!({"from": "admin", "to": "support"})
    );
    // A claim matching no row under every_login keeps the current role.
    assert_eq!(
        role(&saml_ok(&app, member("ann", &["Contractors"])).await),
        "support"
    );
}

// --- 3 ---

#[tokio::test]
async fn collaborators_joining_sso_get_the_default_role_others_keep_theirs() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    patch_tenant(&app, json!({"sso_default_role": "viewer"})).await;
    let cat = create_user(
        &app,
        json!({"username": "cat", "email": "cat@acme.test", "role": "support", "password": PW}),
    )
    .await;
    let u = api_ok(
        &app,
        Method::PATCH,
        &format!("/api/v1/tenants/acme/users/{cat}"),
        Some(json!({"collaborator": true})),
    )
    .await;
    assert_eq!(u["collaborator"], true);

    let link = invite(&app, "cat", "cat@acme.test").await;
    let p = accept(&app, &link).await;
    let res = answer(
        &app,
        p,
        person(
            "00u-cat",
            &[("email", "cat@acme.test"), ("username", "cat")],
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["id"], cat.as_str());
    assert_eq!(
        s["user"]["role"], "viewer",
        "collaborator: the SSO default role"
    );
    assert_eq!(user(&app, &cat).await["role"], "viewer");

    let jo = app.user_id("acme", "jo").await;
    let link = invite(&app, "jo", "jo@acme.test").await;
    let p = accept(&app, &link).await;
    let res = answer(
        &app,
        p,
        person("00u-jo", &[("email", "jo@acme.test"), ("username", "jo")]),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["id"], jo.as_str());
    assert_eq!(
        s["user"]["role"], "standard",
        "not a collaborator: role kept"
    );
    assert_eq!(user(&app, &jo).await["role"], "standard");
}

// --- 4 ---

#[tokio::test]
async fn an_accepted_invitation_links_jo_and_ends_password_tokens_and_sessions() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let jo = app.user_id("acme", "jo").await;
    let old_session = app.sign_in("acme", "jo", PW).await;
    let tok = api_ok(
        &app,
        Method::POST,
        &format!("/api/v1/tenants/acme/users/{jo}/api-tokens"),
        Some(json!({"name": "laptop"})),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = app
        .api(Method::GET, "/t/acme/session", None, Some(&tok))
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    assert_eq!(s.json()["user"]["id"], jo.as_str());
    assert_eq!(s.json()["auth_method"], "api_token");

    let link = invite(&app, "jo", "jo@acme.test").await;
    assert_eq!(user(&app, &jo).await["sso_state"], "invited");
    let new_jo = || {
        person(
            "00u-jo-new",
            &[("email", "jo@acme.test"), ("displayName", "Jo Doe")],
        )
    };

    // The same identity through a plain start (no invitation in the pending login) is refused.
    let before = counts(&app).await;
    let res = saml_login(&app, new_jo()).await;
    assert_refused(&app, &res, "login.unknown_user", before).await;

    // Through the invitation's pending login it links jo's account.
    let p = accept(&app, &link).await;
    let res = answer(&app, p, new_jo()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["id"], jo.as_str());
    assert_eq!(s["auth_method"], "saml");

    assert_password_refused(
        &password_login(&app, "jo", PW).await,
        "login.invalid_credentials",
    );
    let t = app
        .api(Method::GET, "/t/acme/session", None, Some(&tok))
        .await;
    assert_eq!(
        (t.status, t.code().as_str()),
        (StatusCode::UNAUTHORIZED, "auth.api_token_invalid"),
        "{}",
        t.text()
    );
    let old = app.get("/t/acme/session", Some(&old_session)).await;
    assert_ne!(old.status, StatusCode::OK, "{}", old.text());
    assert_eq!(old.code(), "session.revoked");
    // The new session survives.
    assert_eq!(
        app.get("/t/acme/session", Some(&session_cookie(&res)))
            .await
            .status,
        StatusCode::OK
    );

    let u = user(&app, &jo).await;
    assert_eq!(u["sso_state"], "linked");
    assert_eq!(u["has_password"], false);
    let ids = identities(&app, &jo).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0]["connection"], "okta");
    assert_eq!(ids[0]["federation_id"], "00u-jo-new");
    let inv = invitations(&app).await;
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["status"], "accepted");
    assert!(inv[0]["accepted_at"].is_string());
    let joined = audit(&app, "user.joined_sso", Some(&jo)).await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0]["password_removed"], true);

    // The next login with that identity is jo's, without any invitation.
    let s = saml_ok(&app, new_jo()).await;
    assert_eq!(s["user"]["id"], jo.as_str());
    // Both are counted (the recorder is process-wide, so other tests add to the same series).
    let m = app.get("/metrics", None).await.text();
    for outcome in ["joined_sso", "existing"] {
        assert!(
            m.contains(&format!(
                r#"lanyard_provisioning_total{{method="saml",outcome="{outcome}"}}"#
            )),
            "{m}"
        );
    }
    // The used link is done.
    let again = app.get(&link, None).await;
    assert_error_page(&again, "invitation.already_accepted");
}

// --- 5 ---

#[tokio::test]
async fn a_declined_invitation_is_listed_and_can_still_be_accepted() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let jo = app.user_id("acme", "jo").await;
    let link = invite(&app, "jo", "jo@acme.test").await;
    let (_, csrf) = open_page(&app, &link).await;
    let res = submit(&app, &link, &csrf, &[("action", "decline")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("Not now"), "{}", res.text());

    let listed = users_where(&app, "sso=not_on_sso").await;
    let j = listed.iter().find(|u| u["id"] == jo.as_str()).unwrap();
    assert_eq!(j["sso_state"], "declined");
    assert_eq!(
        users_where(&app, "sso=declined").await.len(),
        1,
        "only jo declined"
    );
    assert_eq!(invitations(&app).await[0]["status"], "declined");
    // Still on passwords.
    app.sign_in("acme", "jo", PW).await;

    let (page, _) = open_page(&app, &link).await;
    assert!(page.text().contains("You chose"), "{}", page.text());
    let p = accept(&app, &link).await;
    let res = answer(&app, p, person("00u-jo", &[("email", "jo@acme.test")])).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        session_json(&app, &res, "acme").await["user"]["id"],
        jo.as_str()
    );
    assert_eq!(user(&app, &jo).await["sso_state"], "linked");
    assert_eq!(invitations(&app).await[0]["status"], "accepted");
    assert!(
        users_where(&app, "sso=not_on_sso")
            .await
            .iter()
            .all(|u| u["id"] != jo.as_str())
    );
}

// --- 6 ---

#[tokio::test]
async fn an_invitation_answered_with_another_verified_email_changes_nothing() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let jo = app.user_id("acme", "jo").await;
    let link = invite(&app, "jo", "jo@acme.test").await;
    let before = counts(&app).await;
    let p = accept(&app, &link).await;
    let res = answer(
        &app,
        p,
        person("00u-mallory", &[("email", "mallory@acme.example")]),
    )
    .await;
    assert_refused(&app, &res, "invitation.email_mismatch", before).await;
    assert!(identities(&app, &jo).await.is_empty());
    let u = user(&app, &jo).await;
    assert_eq!(u["sso_state"], "invited");
    assert_eq!(u["has_password"], true);
    assert_eq!(u["email"], "jo@acme.test");
    assert_eq!(invitations(&app).await[0]["status"], "pending");
    app.sign_in("acme", "jo", PW).await;
    assert!(audit(&app, "user.joined_sso", None).await.is_empty());
}

// --- 7 ---

#[tokio::test]
async fn a_matching_email_never_takes_over_an_account_saml_and_oidc() {
    let (app, _issuer, op) = crate::oidc::setup(json!({})).await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let jo = app.user_id("acme", "jo").await;
    let jo_before = user(&app, &jo).await;
    let before = counts(&app).await;

    // SAML (the IdP's email is trusted), JIT on: refused, nothing created or linked.
    let res = saml_login(&app, person("00u-imposter", &[("email", "JO@acme.test")])).await;
    assert_refused(&app, &res, "login.account_exists_use_invitation", before).await;

    // OIDC with a verified email of jo's: refused the same way.
    op.lock().unwrap().patch = json!({"email": "jo@acme.test", "email_verified": true});
    let (state, code) = crate::oidc::authorize(&app, &op).await;
    let res = crate::oidc::callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "login.account_exists_use_invitation", before).await;
    assert_eq!(user(&app, &jo).await, jo_before, "jo unchanged");
    assert!(identities(&app, &jo).await.is_empty());

    // Unverified (false, then absent): a new, separate user, without the email.
    for (sub, verified) in [("op-user-1", json!(false)), ("op-user-2", Value::Null)] {
        op.lock().unwrap().patch =
            json!({"sub": sub, "email": "jo@acme.test", "email_verified": verified});
        let (state, code) = crate::oidc::authorize(&app, &op).await;
        let res = crate::oidc::callback(&app, &format!("code={code}&state={state}")).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{sub}: {}", res.text());
        let s = session_json(&app, &res, "acme").await;
        assert_ne!(s["user"]["id"], jo.as_str(), "{s}");
        assert!(s["user"]["email"].is_null(), "{s}");
        assert_eq!(s["user"]["username"], sub);
    }
    assert_eq!(counts(&app).await.0, before.0 + 2);
    assert_eq!(user(&app, &jo).await, jo_before, "jo still unchanged");
    app.sign_in("acme", "jo", PW).await;
}

// --- 8 ---
