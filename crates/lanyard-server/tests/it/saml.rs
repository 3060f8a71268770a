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
    assert!(
        res.text().contains("ask your administrator"),
        "{}",
        res.text()
    );

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

#[tokio::test]
async fn connection_admin_api_validates_and_isolates_tenants() {
    let app = TestApp::new().await;
    let api = |m: Method, p: &str, b: Option<Value>| {
        let app = &app;
        let p = p.to_owned();
        async move { app.api(m, &p, b, None).await }
    };
    let base = json!({"slug": "okta", "name": "Okta", "idp_entity_id": IDP, "sso_url": SSO_URL, "certificates": [cert_pem("idp")]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("certificates", json!([])), "request.invalid_field"),
        (
            with("certificates", json!([cert_pem("weak")])),
            "saml.weak_key",
        ),
        (
            with(
                "certificates",
                json!(["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]),
            ),
            "saml.bad_certificate",
        ),
        (
            with("sso_url", json!("javascript:alert(1)")),
            "request.invalid_field",
        ),
        (with("idp_entity_id", json!("")), "request.invalid_field"),
        (with("slug", json!("Bad Slug")), "request.invalid_field"),
        (
            with("clock_skew_secs", json!(3600)),
            "request.invalid_field",
        ),
        (
            with("request_binding", json!("artifact")),
            "request.invalid_body",
        ),
        (with("colour", json!("red")), "request.invalid_body"),
        (
            with("metadata_xml", json!("<!DOCTYPE x><x/>")),
            "saml.dtd_forbidden",
        ),
        (
            with("metadata_url", json!("http://127.0.0.1:9/metadata")),
            "fetch.saml_metadata.address_not_allowed",
        ),
        (
            with("metadata_url", json!("http://169.254.169.254/latest")),
            "fetch.saml_metadata.address_forbidden",
        ),
    ];
    for (body, code) in cases {
        let res = api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(body.clone()),
        )
        .await;
        assert_eq!(res.code(), code, "{body}: {}", res.text());
    }
    assert_eq!(
        api(Method::GET, "/api/v1/tenants/acme/connections", None)
            .await
            .json(),
        json!([]),
        "bad input created nothing"
    );

    // Import from metadata XML: entity ID, SSO URL and certificate come from the document.
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://md.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://md.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        cert_pem("idp")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    );
    let res = api(
        Method::POST,
        "/api/v1/tenants/acme/connections",
        Some(json!({"slug": "md", "name": "From metadata", "metadata_xml": md})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let c = res.json();
    assert_eq!(c["saml"]["idp_entity_id"], "https://md.example/idp");
    assert_eq!(c["saml"]["sso_url"], "https://md.example/sso");
    assert_eq!(
        c["saml"]["request_binding"], "post",
        "the only binding the IdP offers"
    );
    assert_eq!(
        c["saml"]["certificate_fingerprints"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(c["saml"]["clock_skew_secs"], 90);
    assert_eq!(c["saml"]["allow_idp_initiated"], false);
    assert_eq!(c["saml"]["allow_sha1"], false);
    assert_eq!(c["saml"]["require_signed_assertions"], true);

    // Rollover: two certificates; a bad PATCH changes nothing.
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"certificates": [cert_pem("idp"), cert_pem("attacker")]})),
    )
    .await;
    assert_eq!(
        res.json()["saml"]["certificates"].as_array().unwrap().len(),
        2
    );
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"name": "Renamed", "certificates": [cert_pem("weak")]})),
    )
    .await;
    assert_eq!(res.code(), "saml.weak_key");
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"slug": "renamed"})),
    )
    .await;
    assert_eq!(res.code(), "request.invalid_field");
    let c = api(Method::GET, "/api/v1/tenants/acme/connections/md", None)
        .await
        .json();
    assert_eq!(c["name"], "From metadata");
    assert_eq!(c["saml"]["certificates"].as_array().unwrap().len(), 2);

    let dup = api(
        Method::POST,
        "/api/v1/tenants/acme/connections",
        Some(json!({"slug": "md", "name": "Again", "metadata_xml": md})),
    )
    .await;
    assert_eq!(
        (dup.status, dup.code().as_str()),
        (StatusCode::CONFLICT, "connection.slug_taken")
    );

    // A key bound to tenant `other` sees nothing of acme's connections.
    let (_, other_key) = app
        .lanyard
        .create_api_key(&lanyard_core::Ctx::cli(), Some("other"), "other")
        .await
        .unwrap();
    let res = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/md",
            None,
            Some(&other_key),
        )
        .await;
    assert_eq!(res.code(), "auth.api_key_wrong_tenant");
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(base.clone()),
            Some(&other_key),
        )
        .await;
    assert_eq!(res.code(), "auth.api_key_wrong_tenant");

    assert_eq!(
        api(Method::DELETE, "/api/v1/tenants/acme/connections/md", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api(Method::GET, "/api/v1/tenants/acme/connections/md", None)
            .await
            .code(),
        "connection.not_found"
    );
    let kinds = app.audit_kinds().await;
    for k in [
        "connection.created",
        "connection.updated",
        "connection.deleted",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k}: {kinds:?}");
    }

    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/v1/tenants/{tenant}/connections/{connection}"]["patch"].is_object());
}

/// SECURITY 4.2 (login CSRF): over https the start sets a SameSite=None binding cookie, and the
/// ACS accepts the answer only in the browser that carries it.
#[tokio::test]
async fn over_https_a_response_completes_only_in_the_browser_that_started_it() {
    let app = TestApp::with_url("https://sso.example.com").await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let public = "https://sso.example.com";
    let before = counts(&app).await;

    // The attacker's own response, posted from the victim's browser (no binding cookie).
    let (id, rs, _attackers) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        None,
    )
    .await;
    assert_refused(&app, &res, "saml.browser_mismatch", before).await;

    // ... or from a browser with a binding of its own.
    let (id, rs, _) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        Some("x".repeat(43)),
    )
    .await;
    assert_refused(&app, &res, "saml.browser_mismatch", before).await;

    // The browser that started it completes it.
    let (id, rs, binding) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        Some(binding),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-lanyard_session_acme="))
        .unwrap();
    assert!(
        set.contains("Secure") && set.contains("SameSite=Lax"),
        "{set}"
    );
}

async fn https_begin(app: &TestApp) -> (String, String, String) {
    let res = app.get("/t/acme/sso/okta/start", None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-lanyard_sso_binding="))
        .expect("binding cookie");
    assert!(
        set.contains("SameSite=None") && set.contains("Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    let binding = res.cookie_value("__Host-lanyard_sso_binding").unwrap();
    let url = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
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
    (id, q["RelayState"].clone(), binding)
}

async fn https_post(app: &TestApp, response: String, rs: String, cookie: Option<String>) -> Res {
    let mut b = Request::post("/t/acme/saml/okta/acs")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("__Host-lanyard_sso_binding={c}"));
    }
    let body = format!(
        "SAMLResponse={}&RelayState={}",
        urlencode(&response),
        urlencode(&rs)
    );
    app.send(b.body(Body::from(body)).unwrap()).await
}

/// Serves each of `responses` (raw HTTP) to one connection on a loopback port.
async fn one_shot_http(responses: Vec<Vec<u8>>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for r in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(&r).await;
            let _ = sock.shutdown().await;
        }
    });
    port
}

#[tokio::test]
async fn metadata_urls_are_fetched_with_limits_and_without_redirects() {
    let app = TestApp::new().await.with_private_metadata_urls();
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://fetched.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://fetched.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        cert_pem("idp")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    );
    let ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{md}",
        md.len()
    );
    let redirect = b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
    let huge = {
        let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        r.extend(std::iter::repeat_n(b' ', 1024 * 1024 + 10));
        r
    };
    let port = one_shot_http(vec![ok.into_bytes(), redirect, huge]).await;
    let url = format!("http://127.0.0.1:{port}/metadata");
    let create = |slug: &str| json!({"slug": slug, "name": slug, "metadata_url": url});

    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("fetched")),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let c = res.json();
    assert_eq!(c["saml"]["idp_entity_id"], "https://fetched.example/idp");
    assert_eq!(c["saml"]["sso_url"], "https://fetched.example/sso");
    assert_eq!(c["saml"]["idp_metadata_url"], url.as_str());

    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("redirected")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.redirect_refused",
        "{}",
        res.text()
    );
    assert!(res.text().contains("302"), "{}", res.text());
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("huge")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.too_large",
        "{}",
        res.text()
    );
    assert!(res.text().contains("1 MiB"), "{}", res.text());
    // Nothing listens any more: a plain connection failure, with its code.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("gone")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.unreachable",
        "{}",
        res.text()
    );
    let both = json!({"slug": "both", "name": "both", "metadata_url": url, "metadata_xml": md});
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(both),
            None,
        )
        .await;
    assert_eq!(res.code(), "request.invalid_field");

    let listed = app
        .api(Method::GET, "/api/v1/tenants/acme/connections", None, None)
        .await
        .json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "only the good import created a connection"
    );
}

/// IdPs that require signed AuthnRequests: turning signing on generates the SP key, publishes
/// its certificate in the metadata and the API, and signs both bindings verifiably.
#[tokio::test]
async fn signed_authn_requests_on_both_bindings() {
    use lanyard_saml::keys::{SignatureAlgorithm, TrustedKeys};
    let app = TestApp::new().await;
    let c = connection(&app, "acme", "entra", json!({})).await;
    assert!(
        c["saml"]["sp_certificate"].is_null(),
        "no key until signing is turned on"
    );
    assert_eq!(c["saml"]["sign_requests"], false);
    let patched = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/entra",
            Some(json!({"sign_requests": true})),
            None,
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let cert = patched.json()["saml"]["sp_certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !patched.text().contains("sealed_private_key") && !patched.text().contains("PRIVATE KEY")
    );
    let keys = TrustedKeys::from_pem(&cert).unwrap();

    let md = app.get("/t/acme/saml/entra/metadata", None).await.text();
    assert!(md.contains(r#"AuthnRequestsSigned="true""#), "{md}");
    let b64: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(
        md.contains(&b64),
        "the metadata publishes the SP certificate"
    );

    // HTTP-Redirect: the query signature covers SAMLRequest, RelayState and SigAlg.
    let res = app.get("/t/acme/sso/entra/start", None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    let (signed, sig) = query.split_once("&Signature=").unwrap();
    assert!(
        signed.starts_with("SAMLRequest=")
            && signed.contains("&RelayState=")
            && signed.contains("&SigAlg=")
    );
    let sig = urlencoding_decode(sig);
    let sig = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
    assert!(
        keys.verify(SignatureAlgorithm::RsaSha256, signed.as_bytes(), &sig)
            .is_some()
    );
    assert!(
        keys.verify(
            SignatureAlgorithm::RsaSha256,
            format!("{signed}x").as_bytes(),
            &sig
        )
        .is_none()
    );

    // HTTP-POST: an enveloped XML signature our verifier accepts with the published certificate.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/entra",
        Some(json!({"request_binding": "post"})),
        None,
    )
    .await;
    let page = app.get("/t/acme/sso/entra/start", None).await.text();
    let value = page
        .split(r#"name="SAMLRequest" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let xml = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, value).unwrap();
    let doc = lanyard_saml::xml::parse(&xml, &lanyard_saml::xml::Limits::default()).unwrap();
    let root = doc.root_element();
    let sig = lanyard_saml::dsig::find_signature(root)
        .unwrap()
        .expect("signed");
    lanyard_saml::dsig::parse_signature(
        root,
        sig,
        lanyard_saml::dsig::Policy { allow_sha1: false },
    )
    .unwrap()
    .verify(&keys)
    .unwrap();

    // Turning signing off keeps the key (the IdP still has the certificate) but stops signing.
    let off = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/entra",
            Some(json!({"sign_requests": false, "request_binding": "redirect"})),
            None,
        )
        .await;
    assert_eq!(
        off.json()["saml"]["sp_certificate"].as_str(),
        Some(cert.as_str())
    );
    let loc = app.get("/t/acme/sso/entra/start", None).await.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!loc.contains("Signature="));
}

fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}
