//! SAML sign-in through the router: connections in the admin API, SP metadata, SP-initiated
//! login to a session, and every refusal (with its code, an audit event, no session, no user).

use crate::harness::{Res, T0, TestApp, urlencode};
use crate::saml_idp::{IDP, Resp, SSO_URL, cert_pem, ts};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use lanyard_core::model::AuditFilter;
use serde_json::{Value, json};

/// Creates a SAML connection `slug` in `tenant` through the API.
pub(crate) async fn connection(app: &TestApp, tenant: &str, slug: &str, extra: Value) -> Value {
    let mut body = json!({
        "slug": slug, "name": format!("{slug} IdP"),
        "idp_entity_id": IDP, "sso_url": SSO_URL, "certificates": [cert_pem("idp")],
        "email_attribute": "email", "display_name_attribute": "displayName",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/connections"),
            Some(body),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

/// Starts SP-initiated login; returns the AuthnRequest ID and the RelayState sent to the IdP.
pub(crate) async fn start(
    app: &TestApp,
    tenant: &str,
    conn: &str,
    return_to: Option<&str>,
) -> (String, String) {
    let path = match return_to {
        Some(r) => format!("/t/{tenant}/sso/{conn}/start?return_to={}", urlencode(r)),
        None => format!("/t/{tenant}/sso/{conn}/start"),
    };
    let res = app.get(&path, None).await;
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
    assert!(
        xml.contains(&format!(
            "AssertionConsumerServiceURL=\"http://127.0.0.1:8080/t/{tenant}/saml/{conn}/acs\""
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<saml:Issuer>http://127.0.0.1:8080/t/{tenant}/saml/{conn}/metadata</saml:Issuer>"
        )),
        "{xml}"
    );
    (id, q["RelayState"].clone())
}

pub(crate) async fn post_acs(
    app: &TestApp,
    tenant: &str,
    conn: &str,
    response: &str,
    relay_state: Option<&str>,
) -> Res {
    let mut body = format!("SAMLResponse={}", urlencode(response));
    if let Some(rs) = relay_state {
        body.push_str(&format!("&RelayState={}", urlencode(rs)));
    }
    // The IdP's cross-site POST: no cookies.
    let req = Request::post(format!("/t/{tenant}/saml/{conn}/acs"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

/// (users, sessions) across both tenants.
pub async fn counts(app: &TestApp) -> (usize, usize) {
    let mut users = 0;
    let mut sessions = 0;
    for slug in ["acme", "other"] {
        let t = app.lanyard.tenant(slug).await.unwrap();
        users += app
            .lanyard
            .store
            .list_users(&t.id, None, 1000)
            .await
            .unwrap()
            .len();
        sessions += app
            .lanyard
            .store
            .list_sessions(&t.id, None, None, None, 1000)
            .await
            .unwrap()
            .len();
    }
    (users, sessions)
}

/// Asserts a refusal: the code on the HTML error page, no cookie, nothing created, and the
/// `login.failed` audit event with that code.
pub async fn assert_refused(app: &TestApp, res: &Res, code: &str, before: (usize, usize)) {
    assert!(
        res.status.is_client_error(),
        "expected a refusal with {code}, got {}: {}",
        res.status,
        res.text()
    );
    let html = res.text();
    assert!(
        html.contains(&format!("<code>{code}</code>")),
        "{code} not on the page: {html}"
    );
    assert!(
        html.contains("reference <code>"),
        "the page shows the request ID: {html}"
    );
    assert!(
        res.set_cookies()
            .iter()
            .all(|c| !c.contains("lanyard_session")),
        "{:?}",
        res.set_cookies()
    );
    assert_eq!(
        counts(app).await,
        before,
        "no user or session may be created on {code}"
    );
    let ev = app
        .lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("login.failed".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        ev.first().and_then(|e| e.code.as_deref()),
        Some(code),
        "audit event of {code}"
    );
}

pub async fn session_json(app: &TestApp, res: &Res, tenant: &str) -> Value {
    let name = app.session_cookie_name(tenant);
    let cookie = res
        .cookie_value(&name)
        .unwrap_or_else(|| panic!("no session cookie: {}", res.text()));
    let s = app
        .get(
            &format!("/t/{tenant}/session"),
            Some(&format!("{name}={cookie}")),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    s.json()
}

#[tokio::test]
async fn sp_initiated_login_creates_the_user_just_in_time_and_a_session() {
    let app = TestApp::new().await;
    let c = connection(&app, "acme", "okta", json!({"jit": true})).await;
    assert_eq!(
        c["sp_entity_id"],
        "http://127.0.0.1:8080/t/acme/saml/okta/metadata"
    );
    assert_eq!(c["acs_url"], "http://127.0.0.1:8080/t/acme/saml/okta/acs");
    assert_eq!(c["metadata_url"], c["sp_entity_id"]);
    let before = counts(&app).await;

    let (id, rs) = start(&app, "acme", "okta", Some("/t/acme/app?tab=1")).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.headers[header::LOCATION], "/t/acme/app?tab=1");
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("lanyard_session_acme="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["auth_method"], "saml");
    // No username attribute: the email is the username (the NameID stays the federation ID).
    assert_eq!(s["user"]["username"], "alice@acme.example");
    assert_eq!(s["user"]["email"], "alice@acme.example");
    assert_eq!(s["user"]["display_name"], "Alice Doe");
    assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 1));
    let kinds = app.audit_kinds().await;
    assert!(
        kinds.contains(&"user.created".to_owned()) && kinds.contains(&"login.succeeded".to_owned()),
        "{kinds:?}"
    );

    // The next login finds the linked user, even with JIT off and a changed email claim.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/okta",
        Some(json!({"jit": false})),
        None,
    )
    .await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.attributes = vec![("email".into(), "new@acme.example".into())];
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.headers[header::LOCATION], "/t/acme/login");
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["username"], "alice@acme.example");
    assert_eq!(
        s["user"]["email"], "new@acme.example",
        "the email follows the IdP"
    );
    assert_eq!(counts(&app).await.0, before.0 + 1, "no second user");
}

#[tokio::test]
async fn session_not_on_or_after_caps_the_session() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.session_not_on_or_after = Some(ts(3600));
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["expires_at"], lanyard_core::clock::rfc3339(T0 + 3600));
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("lanyard_session_acme="))
        .unwrap();
    assert!(cookie.contains("Max-Age=3600"), "{cookie}");

    // A later limit than the tenant's lifetime does not extend it (8 h).
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.session_not_on_or_after = Some(ts(86_400));
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_eq!(
        session_json(&app, &res, "acme").await["expires_at"],
        lanyard_core::clock::rfc3339(T0 + 8 * 3600)
    );
}

#[tokio::test]
async fn unknown_user_is_refused_without_jit_and_email_never_links() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let before = counts(&app).await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_refused(&app, &res, "login.unknown_user", before).await;
    // Issue 15: the page says why (JIT off, no identity with this federation ID, shown) and
    // what the IT admin can do (turn JIT on, or link the user through the API).
    let html = res.text();
    for needed in [
        "00u-alice",
        "JIT) is off",
        "&#34;jit&#34;: true",
        "PUT /api/v1/tenants/acme/users/{user_id}/federated-identities/okta",
    ] {
        assert!(html.contains(needed), "{needed} missing: {html}");
    }

    // JIT on, and the IdP claims the email of the existing password user `jo`: no silent link,
    // no takeover, no new user.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/okta",
        Some(json!({"jit": true})),
        None,
    )
    .await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.attributes = vec![("email".into(), "jo@acme.test".into())];
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "login.account_exists_use_invitation", before).await;
    assert!(res.text().contains("invitation"), "{}", res.text());

    // Nor by username: a username claim equal to jo's does not log in as jo.
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.name_id = "jo".into();
    r.attributes = vec![
        ("email".into(), "someone@acme.example".into()),
        ("username".into(), "JO".into()),
    ];
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "login.username_taken", before).await;

    // SAML JIT needs an email: a bare NameID creates nobody.
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.attributes.clear();
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "login.missing_email", before).await;
}

#[tokio::test]
async fn a_pending_request_is_single_use_and_assertions_do_not_replay() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let r = Resp::new("acme", "okta", Some(&id));
    let signed = r.signed();
    assert_eq!(
        post_acs(&app, "acme", "okta", &signed, Some(&rs))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let before = counts(&app).await;

    // S-IRT-REUSE: the same response again.
    let res = post_acs(&app, "acme", "okta", &signed, Some(&rs)).await;
    assert_refused(&app, &res, "saml.unknown_request", before).await;

    // S-REPLAY: the same assertion ID answering a fresh request.
    let (id2, rs2) = start(&app, "acme", "okta", None).await;
    let mut again = Resp::new("acme", "okta", Some(&id2));
    again.assertion_id = r.assertion_id.clone();
    let res = post_acs(&app, "acme", "okta", &again.signed(), Some(&rs2)).await;
    assert_refused(&app, &res, "saml.replayed_assertion", before).await;
}

#[tokio::test]
async fn unsolicited_responses_are_refused_unless_allowed_and_never_replay() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let before = counts(&app).await;
    let unsolicited = Resp::new("acme", "okta", None).signed();
    let res = post_acs(&app, "acme", "okta", &unsolicited, None).await;
    assert_refused(&app, &res, "saml.unsolicited", before).await;

    let c = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/okta",
            Some(json!({"allow_idp_initiated": true})),
            None,
        )
        .await;
    assert_eq!(c.json()["saml"]["allow_idp_initiated"], true);
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &unsolicited,
        Some("https://evil.test/"),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // RelayState is an opaque key, never a URL to follow.
    assert_eq!(res.headers[header::LOCATION], "/t/acme/login");
    let before = counts(&app).await;
    let res = post_acs(&app, "acme", "okta", &unsolicited, None).await;
    assert_refused(&app, &res, "saml.replayed_assertion", before).await;
}

#[tokio::test]
async fn responses_only_count_at_their_own_connection_and_tenant() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    connection(&app, "acme", "azure", json!({"jit": true})).await;
    connection(&app, "other", "okta", json!({"jit": true})).await;
    let before = counts(&app).await;

    // A response for acme/okta posted to acme/azure's ACS: its request is not pending there.
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let for_okta = Resp::new("acme", "okta", Some(&id)).signed();
    let res = post_acs(&app, "acme", "azure", &for_okta, Some(&rs)).await;
    assert_refused(&app, &res, "saml.unknown_request", before).await;
    // ... nor at the other tenant's connection of the same name.
    let res = post_acs(&app, "other", "okta", &for_okta, Some(&rs)).await;
    assert_refused(&app, &res, "saml.unknown_request", before).await;

    // Even with a request pending at azure, okta's audience and ACS URL do not verify there.
    let (id2, rs2) = start(&app, "acme", "azure", None).await;
    let wrong = Resp::new("acme", "okta", Some(&id2)).signed();
    let res = post_acs(&app, "acme", "azure", &wrong, Some(&rs2)).await;
    assert_refused(&app, &res, "saml.bad_destination", before).await;

    // The original request was not consumed by the misdirected posts: it still completes.
    let res = post_acs(&app, "acme", "okta", &for_okta, Some(&rs)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
}

#[tokio::test]
async fn return_to_open_redirect_payloads_end_at_the_default_page() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    for bad in [
        "//evil.test",
        "https://evil.test",
        "javascript:alert(1)",
        "/\\evil.test",
        "%2F%2Fevil.test",
    ] {
        let (id, rs) = start(&app, "acme", "okta", Some(bad)).await;
        let res = post_acs(
            &app,
            "acme",
            "okta",
            &Resp::new("acme", "okta", Some(&id)).signed(),
            Some(&rs),
        )
        .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{bad}: {}", res.text());
        assert_eq!(res.headers[header::LOCATION], "/t/acme/login", "{bad}");
    }
}

#[tokio::test]
async fn verifier_and_request_refusals_change_nothing() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let before = counts(&app).await;

    let (id, rs) = start(&app, "acme", "okta", None).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).tampered(),
        Some(&rs),
    )
    .await;
    assert_refused(&app, &res, "saml.bad_signature", before).await;
    assert!(
        res.text().contains("configured certificate"),
        "the help text is shown: {}",
        res.text()
    );

    let (id, rs) = start(&app, "acme", "okta", None).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed_by("attacker"),
        Some(&rs),
    )
    .await;
    assert_refused(&app, &res, "saml.bad_signature", before).await;

    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.audience = "https://other-sp.example/".into();
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "saml.bad_audience", before).await;

    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.issuer = "https://other-idp.example/".into();
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "saml.bad_issuer", before).await;

    // The RelayState must be the one sent with the request.
    let (id, _) = start(&app, "acme", "okta", None).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        Some("forged"),
    )
    .await;
    assert_refused(&app, &res, "saml.relay_state_mismatch", before).await;

    // A request older than 10 minutes has expired (the test clock moves; nobody sleeps).
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let r = Resp::new("acme", "okta", Some(&id));
    app.clock.advance(11 * 60);
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "saml.request_expired", before).await;
    app.clock.set(T0);

    // The assertion itself expired (NotOnOrAfter + 90 s skew is past).
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.not_on_or_after = ts(-91);
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "saml.expired", before).await;

    // An IdP session ending within the clock skew: accepted by the verifier, but no session
    // could last, so nothing is created (not even the JIT user).
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.session_not_on_or_after = Some(ts(-30));
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_refused(&app, &res, "saml.expired", before).await;

    // Not base64, and no form at all.
    let res = post_acs(&app, "acme", "okta", "%%%not base64", None).await;
    assert_refused(&app, &res, "saml.bad_base64", before).await;
    let req = Request::post("/t/acme/saml/okta/acs")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let res = app.send(req).await;
    // Not a form: read as an empty SAMLResponse, refused by the verifier like any other.
    assert_refused(&app, &res, "saml.malformed_xml", before).await;

    // A disabled connection refuses, and so does a connection that does not exist.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/okta",
        Some(json!({"enabled": false})),
        None,
    )
    .await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", None).signed(),
        None,
    )
    .await;
    assert_refused(&app, &res, "connection.disabled", before).await;
    let res = app.get("/t/acme/sso/okta/start", None).await;
    assert_refused(&app, &res, "connection.disabled", before).await;
    let res = app.get("/t/acme/sso/nope/start", None).await;
    assert_refused(&app, &res, "connection.not_found", before).await;
}

#[tokio::test]
async fn oversized_responses_are_refused_before_parsing() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({})).await;
    let res = post_acs(&app, "acme", "okta", &"A".repeat(2 * 1024 * 1024), None).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().contains("request.body_too_large"));
    let res = post_acs(&app, "acme", "okta", &"A".repeat(400 * 1024), None).await;
    assert!(res.text().contains("saml.too_large"), "{}", res.text());
}

#[tokio::test]
async fn sp_metadata_and_the_post_binding_page() {
    let app = TestApp::new().await;
    connection(&app, "acme", "adfs", json!({"request_binding": "post"})).await;
    let md = app.get("/t/acme/saml/adfs/metadata", None).await;
    assert_eq!(md.status, StatusCode::OK);
    assert_eq!(
        md.headers[header::CONTENT_TYPE],
        "application/samlmetadata+xml"
    );
    let xml = md.text();
    assert!(
        xml.contains(r#"entityID="http://127.0.0.1:8080/t/acme/saml/adfs/metadata""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"Location="http://127.0.0.1:8080/t/acme/saml/adfs/acs""#),
        "{xml}"
    );
    assert_eq!(
        app.get("/t/acme/saml/nope/metadata", None).await.status,
        StatusCode::NOT_FOUND
    );

    let page = app
        .get("/t/acme/sso/adfs/start?return_to=/t/acme/x", None)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains(&format!(r#"action="{SSO_URL}""#)), "{html}");
    assert!(html.contains(r#"name="SAMLRequest""#) && html.contains(r#"name="RelayState""#));
    assert!(html.contains("<button type=\"submit\">Continue</button>"));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("form-action https://idp.example.test;"),
        "{csp}"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        html.contains(&format!(r#"<script nonce="{nonce}">"#)),
        "{html}"
    );
}
