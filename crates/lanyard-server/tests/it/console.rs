//! The admin console (`/admin`): who sees what (super admins every tenant, tenant admins their
//! own, others a 403 page), CSRF on every form, the security headers, languages, connection
//! pages that go through the admin API's core functions, and "Save and test" (a verified SAML
//! sign-in reported instead of provisioned: no session, no user).

use crate::harness::{PW, TestApp};
use crate::saml::{connection, counts, post_acs};
use crate::saml_idp::{IDP, Resp, SSO_URL, cert_pem};
use axum::http::{Method, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_proto as proto;
use serde_json::json;

/// Makes `username` in `tenant` with `role` (and super admin or not); returns its session cookie.
pub(crate) async fn admin(
    app: &TestApp,
    tenant: &str,
    username: &str,
    role: &str,
    sa: bool,
) -> String {
    app.lanyard
        .create_user(
            &Ctx::cli(),
            tenant,
            proto::CreateUser {
                collaborator: false,
                username: username.into(),
                email: Some(format!("{username}@{tenant}.test")),
                display_name: None,
                role: Some(role.into()),
                password: Some(PW.into()),
                super_admin: sa,
            },
        )
        .await
        .unwrap();
    app.sign_in(tenant, username, PW).await
}

/// The CSRF token of the first form on a console page.
pub(crate) fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field: {html}"))
        .to_owned()
}

/// The stable code on a console error page.
pub(crate) fn page_code(html: &str) -> String {
    html.split("data-code=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("<none>")
        .to_owned()
}

#[tokio::test]
async fn a_tenant_admin_sees_only_their_tenant_and_a_super_admin_every_one() {
    let app = TestApp::new().await;
    let acme_admin = admin(&app, "acme", "ada", "admin", false).await;
    let operator = admin(&app, "other", "root", "standard", true).await;

    // A tenant admin: their tenant's pages...
    let res = app
        .get("/admin/t/acme/connections", Some(&acme_admin))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // ...never another tenant's, nor whether it exists (the same refusal for both).
    for path in [
        "/admin/t/other",
        "/admin/t/other/connections",
        "/admin/t/other/setup-links",
        "/admin/t/nope/connections",
    ] {
        let res = app.get(path, Some(&acme_admin)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text());
        assert_eq!(page_code(&res.text()), "console.not_admin", "{path}");
    }
    // /admin goes straight to the one tenant.
    let res = app.get("/admin", Some(&acme_admin)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers[header::LOCATION], "/admin/t/acme");

    // A super admin of `other` administers every tenant.
    let res = app.get("/admin", Some(&operator)).await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    assert!(
        html.contains("href=\"/admin/t/acme\"") && html.contains("href=\"/admin/t/other\""),
        "{html}"
    );
    let res = app.get("/admin/t/acme/connections", Some(&operator)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Someone signed in without the admin role gets a clear 403 page, not the console.
    let jo = app.sign_in("acme", "jo", PW).await;
    for path in ["/admin", "/admin/t/acme", "/admin/t/acme/connections"] {
        let res = app.get(path, Some(&jo)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page_code(&res.text()), "console.not_admin");
        assert!(
            res.text().contains("not as an administrator"),
            "{}",
            res.text()
        );
    }
    // Nobody signed in: to the sign-in page, coming back afterwards.
    let res = app.get("/admin", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers[header::LOCATION], "/login?return_to=%2Fadmin");
    let res = app.get("/admin/t/acme/connections", None).await;
    assert_eq!(
        res.headers[header::LOCATION],
        "/login?return_to=%2Fadmin%2Ft%2Facme"
    );
}

#[tokio::test]
async fn console_pages_have_the_security_headers_and_no_inline_script() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    connection(&app, "acme", "okta", json!({})).await;
    for path in [
        "/admin/t/acme",
        "/admin/t/acme/connections",
        "/admin/t/acme/connections/okta",
        "/admin/t/acme/connections/new?kind=oidc",
        "/admin/t/acme/connections/okta/enabled",
        "/admin/t/acme/setup-links",
    ] {
        let res = app.get(path, Some(&ada)).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text());
        let csp = res.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline'; img")
                || csp.contains("style-src 'unsafe-inline'"),
            "{csp}"
        );
        assert!(
            !csp.contains("script-src 'unsafe-inline'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("form-action 'self'"),
            "{csp}"
        );
        assert_eq!(res.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
        let html = res.text();
        // Every script is the served file; no inline script, no inline handler.
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=\"/admin/static/console.js\"")
                .count(),
            "{path}"
        );
        assert!(
            !html.contains(" onclick=") && !html.contains("javascript:"),
            "{path}"
        );
    }
    let js = app.get("/admin/static/console.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().contains("data-copy"));
}

#[tokio::test]
async fn csrf_every_console_form_refuses_a_missing_or_foreign_token() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    let eve = admin(&app, "acme", "eve", "admin", false).await;
    connection(&app, "acme", "okta", json!({})).await;
    // Eve's token is valid for Eve's session only: a page elsewhere cannot forge Ada's.
    let eves = csrf_of(
        &app.get("/admin/t/acme/setup-links", Some(&eve))
            .await
            .text(),
    );
    let forms: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "/admin/t/acme/connections/new?kind=saml",
            vec![
                ("slug", "evil"),
                ("name", "Evil"),
                ("idp_entity_id", IDP),
                ("sso_url", SSO_URL),
            ],
        ),
        ("/admin/t/acme/connections/okta", vec![("name", "Renamed")]),
        (
            "/admin/t/acme/connections/okta/enabled",
            vec![("enabled", "false")],
        ),
        ("/admin/t/acme/setup-links", vec![("note", "x")]),
        ("/admin/t/acme/setup-links/any/revoke", vec![]),
    ];
    let before = app.audit_kinds().await.len();
    for (path, fields) in &forms {
        for token in ["", "forged", eves.as_str()] {
            let mut f = fields.clone();
            f.push(("csrf_token", token));
            let res = app.form(path, &ada, &f).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{path} with `{token}`: {}",
                res.text()
            );
            assert_eq!(page_code(&res.text()), "request.csrf_invalid", "{path}");
        }
    }
    assert_eq!(app.audit_kinds().await.len(), before, "nothing changed");
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(
        (c["name"].as_str(), c["enabled"].as_bool()),
        (Some("okta IdP"), Some(true))
    );
    assert_eq!(
        app.api(
            Method::GET,
            "/api/v1/tenants/acme/connections/evil",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_connection_made_in_the_console_is_the_apis_and_audited_alike() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    let page = app
        .get("/admin/t/acme/connections/new?kind=saml", Some(&ada))
        .await
        .text();
    let csrf = csrf_of(&page);
    let cert = cert_pem("idp");
    let res = app
        .form(
            "/admin/t/acme/connections/new?kind=saml",
            &ada,
            &[
                ("csrf_token", &csrf),
                ("action", "save"),
                ("slug", "okta"),
                ("name", "Okta"),
                ("idp_entity_id", IDP),
                ("sso_url", SSO_URL),
                ("certificates", &cert),
                ("jit", "false"),
                ("jit", "true"),
                ("clock_skew_secs", "90"),
                ("provisioning.role_mapping", "Admins => admin"),
                ("provisioning.default_role", "viewer"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        res.headers[header::LOCATION],
        "/admin/t/acme/connections/okta?saved=1"
    );
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(c["saml"]["clock_skew_secs"], 90);
    assert_eq!(c["saml"]["jit"], true);
    assert_eq!(c["provisioning"]["role_mapping"][0]["role"], "admin");
    assert_eq!(c["provisioning"]["default_role"], "viewer");
    // Audited as the API call is, with the administrator as the actor.
    let ev = app
        .lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            kind: Some("connection.created".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let uid = app.user_id("acme", "ada").await;
    assert_eq!(
        ev.first().map(|e| e.actor.clone()),
        Some(format!("user:{uid}"))
    );

    // The detail page: values to copy, the certificate, the settings as saved.
    let html = app
        .get("/admin/t/acme/connections/okta?saved=1", Some(&ada))
        .await
        .text();
    for want in [
        "http://127.0.0.1:8080/t/acme/saml/okta/acs",
        "http://127.0.0.1:8080/t/acme/saml/okta/metadata",
        "http://127.0.0.1:8080/t/acme/sso/okta/start",
        "data-copy=",
        "SHA-256",
        "Admins =",
        "value=\"90\"",
    ] {
        assert!(html.contains(want), "{want} missing: {html}");
    }
    // A refused edit shows the API's code on the form and changes nothing.
    let res = app
        .form(
            "/admin/t/acme/connections/okta",
            &ada,
            &[("csrf_token", &csrf), ("sso_url", "ftp://x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(page_code(&res.text()), "request.invalid_field");
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(c["saml"]["sso_url"], SSO_URL);
}

#[tokio::test]
async fn metadata_pasted_into_the_console_fills_the_connection() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    let csrf = csrf_of(
        &app.get("/admin/t/acme/connections/new?kind=saml", Some(&ada))
            .await
            .text(),
    );
    let body: String = cert_pem("idp")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SSO_URL}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let res = app
        .form(
            "/admin/t/acme/connections/new?kind=saml",
            &ada,
            &[
                ("csrf_token", &csrf),
                ("slug", "imported"),
                ("name", "Imported"),
                ("metadata_xml", &xml),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/imported",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(c["saml"]["idp_entity_id"], IDP);
    assert_eq!(c["saml"]["sso_url"], SSO_URL);
    assert_eq!(c["saml"]["certificates"].as_array().map(Vec::len), Some(1));
}

/// Starts a console test of `conn`; returns the AuthnRequest ID and the RelayState.
pub(crate) async fn start_test(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
) -> (String, String) {
    let res = app.get(path, cookie).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
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

#[tokio::test]
async fn save_and_test_reports_the_sign_in_and_changes_nothing() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    // Not enabled yet: a test is how an admin finds out whether it works.
    connection(&app, "acme", "okta", json!({"enabled": false, "jit": true, "provisioning": {"role_mapping": [{"value": "Admins", "role": "admin"}]}})).await;
    let csrf = csrf_of(
        &app.get("/admin/t/acme/connections/okta", Some(&ada))
            .await
            .text(),
    );
    // "Save and test" saves, then hands over to the test start (followed by console.js).
    let res = app
        .form(
            "/admin/t/acme/connections/okta",
            &ada,
            &[("csrf_token", &csrf), ("action", "test"), ("name", "Okta")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(
        res.text()
            .contains("href=\"/admin/t/acme/connections/okta/test\""),
        "{}",
        res.text()
    );

    let before = counts(&app).await;
    let audit_before = app.audit_kinds().await.len();
    let (id, rs) = start_test(&app, "/admin/t/acme/connections/okta/test", Some(&ada)).await;
    assert!(rs.starts_with("test."), "{rs}");
    let mut r = Resp::new("acme", "okta", Some(&id));
    r.attributes.push(("groups".into(), "Admins".into()));
    let res = post_acs(&app, "acme", "okta", &r.signed(), Some(&rs)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    assert!(html.contains("data-test-result=\"ok\""), "{html}");
    assert!(
        html.contains("data-federation-id>00u-alice</code>"),
        "{html}"
    );
    assert!(
        html.contains("data-mapped=\"email\">alice@acme.example"),
        "{html}"
    );
    assert!(html.contains("data-jit=\"create\""), "{html}");
    assert!(html.contains("data-role-source=\"role_mapping\""), "{html}");
    assert!(
        html.contains("data-role-row>Admins =&#62; admin<")
            || html.contains("data-role-row>Admins =&gt; admin<"),
        "{html}"
    );
    assert!(
        html.contains("&#34;displayName&#34;") || html.contains("displayName"),
        "raw claims shown: {html}"
    );
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
    // The test's request is single-use like any other.
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    // A misconfigured IdP (it signs with a key the connection does not trust): the error page
    // with the verifier's code, as a sign-in would get it.
    let (id, rs) = start_test(&app, "/admin/t/acme/connections/okta/test", Some(&ada)).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed_by("attacker"),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert!(res.text().contains("<code>saml."), "{}", res.text());
    assert_eq!(counts(&app).await, before);
    let failed = app
        .lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            kind: Some("login.failed".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&failed[0].details).unwrap()["test"],
        true,
        "a failed test is audited as one"
    );
}

#[tokio::test]
async fn a_test_request_never_opens_a_session_and_a_disabled_connection_stays_closed() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    connection(
        &app,
        "acme",
        "okta",
        json!({"enabled": false, "jit": true, "allow_idp_initiated": true}),
    )
    .await;
    let before = counts(&app).await;
    // Claiming to be a test in the RelayState opens nothing: the pending login decides.
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", None).signed(),
        Some("test.forged"),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert!(
        res.text().contains("<code>connection.disabled</code>"),
        "{}",
        res.text()
    );
    // The sign-in start stays refused for a disabled connection; only the console may test.
    let res = app.get("/t/acme/sso/okta/start", None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app.get("/admin/t/acme/connections/okta/test", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "no session: to sign-in");
    // A test's answer replayed with a sign-in's RelayState is still only a test.
    let (id, _) = start_test(&app, "/admin/t/acme/connections/okta/test", Some(&ada)).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        None,
    )
    .await;
    assert!(res.status.is_client_error(), "{}", res.text());
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn disabling_shows_who_gets_a_password_reset_before_confirming() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    // Alice signs in through okta just in time: no password, okta is her only way in.
    let (id, rs) = crate::saml::start(&app, "acme", "okta", None).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&id)).signed(),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = app
        .get("/admin/t/acme/connections/okta/enabled", Some(&ada))
        .await;
    let html = page.text();
    assert!(
        html.contains("data-resets=\"1\"") && html.contains("alice@acme.example"),
        "{html}"
    );
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(
        c["enabled"], true,
        "showing the consequences changes nothing"
    );
    let res = app
        .form(
            "/admin/t/acme/connections/okta/enabled",
            &ada,
            &[("csrf_token", &csrf_of(&html)), ("enabled", "false")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let c = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None,
        )
        .await
        .json();
    assert_eq!(c["enabled"], false);
    let kinds = app.audit_kinds().await;
    assert!(
        kinds.contains(&"connection.updated".to_owned()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn pages_follow_accept_language_and_the_switch_and_codes_stay_the_same() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    let get = |cookie: String, lang: Option<&'static str>| {
        let app = &app;
        async move {
            let mut b = axum::http::Request::get("/admin/t/acme/connections")
                .header(header::COOKIE, cookie);
            if let Some(l) = lang {
                b = b.header(header::ACCEPT_LANGUAGE, l);
            }
            app.send(b.body(axum::body::Body::empty()).unwrap()).await
        }
    };
    let ja = get(ada.clone(), Some("ja-JP,ja;q=0.9,en;q=0.5"))
        .await
        .text();
    assert!(
        ja.contains("<html lang=\"ja\">") && ja.contains("新しい SAML 接続"),
        "{ja}"
    );
    let en = get(ada.clone(), Some("en-US")).await.text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("New SAML connection"));
    // The switch: ?lang= wins and is remembered in a cookie.
    let res = app
        .get("/admin/t/acme/connections?lang=ja", Some(&ada))
        .await;
    assert!(res.text().contains("新しい SAML 接続"));
    assert_eq!(res.cookie_value("lanyard_lang").as_deref(), Some("ja"));
    let again = get(format!("{ada}; lanyard_lang=ja"), Some("en"))
        .await
        .text();
    assert!(
        again.contains("新しい SAML 接続"),
        "the cookie wins over the header"
    );
    // A refusal in Japanese keeps its code.
    let jo = app.sign_in("acme", "jo", PW).await;
    let res = get(jo, Some("ja")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(page_code(&res.text()), "console.not_admin");
    assert!(
        res.text().contains("管理者ではありません"),
        "{}",
        res.text()
    );
}
