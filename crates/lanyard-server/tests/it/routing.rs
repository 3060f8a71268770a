//! Login routing through the real router (issue 12): every cell of both routing tables that has
//! an HTTP entry point in this server (the generic page `/login`, the tenant URL
//! `/t/{tenant}/login`, the direct page `/t/{tenant}/login/direct`) × IPv4/IPv6 × the client
//! reaching us directly (its forwarding header ignored) or through a trusted proxy × SSO on/off ×
//! super admin/other; network masks saved through the admin API; how "not sent to SSO"
//! combines with "SSO required" and the upgrade state.

use crate::harness::{PW, Res, TestApp};
use crate::provisioning::CSRF;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_proto as proto;
use serde_json::json;

const MASKS: [&str; 2] = ["198.51.100.0/24", "2001:db8:1::/48"];
const PROXIES: [&str; 2] = ["10.0.0.0/8", "fd00::/8"];

/// How the request reaches us.
#[derive(Debug, Clone, Copy)]
struct Via {
    /// The client's real address.
    client: &'static str,
    /// Through a trusted proxy (which appends the client to X-Forwarded-For); otherwise
    /// directly, with a forged X-Forwarded-For naming an address inside the masks.
    proxied: bool,
    inside: bool,
}

impl Via {
    fn peer(&self) -> String {
        let v6 = self.client.contains(':');
        match (self.proxied, v6) {
            (false, false) => format!("{}:40000", self.client),
            (false, true) => format!("[{}]:40000", self.client),
            (true, false) => "10.0.0.1:40000".into(),
            (true, true) => "[fd00::1]:40000".into(),
        }
    }
    fn xff(&self) -> String {
        // The left entry is whatever the client sent: always a forged inside address.
        if self.proxied {
            format!("198.51.100.66, {}", self.client)
        } else {
            "198.51.100.66, 2001:db8:1::66".into()
        }
    }
}

fn all_vias() -> Vec<Via> {
    let mut v = Vec::new();
    for proxied in [false, true] {
        for (client, inside) in [
            ("198.51.100.7", true),
            ("203.0.113.7", false),
            ("2001:db8:1::7", true),
            ("2001:db8:2::7", false),
        ] {
            v.push(Via {
                client,
                proxied,
                inside,
            });
        }
    }
    v
}

async fn send(
    app: &TestApp,
    via: Via,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Res {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("x-forwarded-for", via.xff());
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let body = if form.is_empty() {
        Body::empty()
    } else {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            s.append_pair(k, v);
        }
        Body::from(s.finish())
    };
    app.send_from(&via.peer(), b.body(body).unwrap()).await
}

fn location(res: &Res) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    res.headers[header::LOCATION].to_str().unwrap().to_owned()
}

/// A tenant `acme` with a super admin `root` and the regular `jo`, an enabled SAML connection
/// when `sso`, and the network masks when `masks`.
async fn setup(masks: bool, sso: bool) -> TestApp {
    let app = TestApp::new().await.with_trusted_proxies(&PROXIES);
    app.lanyard
        .create_user(
            &Ctx::cli(),
            "acme",
            proto::CreateUser {
                collaborator: false,
                username: "root".into(),
                email: Some("root@acme.test".into()),
                display_name: None,
                role: Some("admin".into()),
                password: Some(PW.into()),
                super_admin: true,
            },
        )
        .await
        .unwrap();
    if sso {
        crate::saml::connection(&app, "acme", "okta", json!({})).await;
    }
    if masks {
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"network_masks": MASKS})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.json()["network_masks"], json!(MASKS));
    }
    app
}

/// The generic page: identifier and organisation submitted (with the login-CSRF pair).
async fn generic(app: &TestApp, via: Via, identifier: &str) -> Res {
    let page = send(app, via, Method::GET, "/login", None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.cookie_value(CSRF).unwrap();
    send(
        app,
        via,
        Method::POST,
        "/login",
        Some(&format!("{CSRF}={csrf}")),
        &[
            ("identifier", identifier),
            ("organisation", "acme"),
            ("csrf_token", &csrf),
        ],
    )
    .await
}

/// The direct page, both steps; the answer to the password step.
async fn direct(app: &TestApp, via: Via, username: &str) -> Res {
    let page = send(app, via, Method::GET, "/t/acme/login/direct", None, &[]).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the direct page never redirects"
    );
    assert!(page.text().contains("action=\"/t/acme/login/direct\""));
    assert!(!page.text().contains("name=\"password\""), "username first");
    let csrf = page.cookie_value(CSRF).unwrap();
    let cookie = format!("{CSRF}={csrf}");
    let step = send(
        app,
        via,
        Method::POST,
        "/t/acme/login/direct",
        Some(&cookie),
        &[("username", username), ("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.text());
    assert!(
        step.text().contains("name=\"password\""),
        "then the password"
    );
    assert!(!step.text().contains("/sso/"), "never SSO");
    send(
        app,
        via,
        Method::POST,
        "/t/acme/login/direct",
        Some(&cookie),
        &[
            ("username", username),
            ("password", PW),
            ("csrf_token", &csrf),
        ],
    )
    .await
}

/// Every cell: (masks, SSO) × (IPv4, IPv6) × (direct, trusted proxy) × (inside, outside) ×
/// (super admin, other) × entry point.
#[tokio::test]
async fn every_cell_of_both_routing_tables_through_the_router() {
    for masks in [false, true] {
        for sso in [false, true] {
            let app = setup(masks, sso).await;
            for via in all_vias() {
                let ctx = format!("masks={masks} sso={sso} {via:?}");
                // Tenant URL.
                let res = send(&app, via, Method::GET, "/t/acme/login", None, &[]).await;
                match (masks, via.inside, sso) {
                    (false, _, _) => {
                        assert_eq!(res.status, StatusCode::OK, "{ctx}");
                        assert!(
                            res.text().contains("action=\"/t/acme/login\""),
                            "{ctx}: the password form"
                        );
                        assert_eq!(
                            res.text().contains("/t/acme/sso/okta/start"),
                            sso,
                            "{ctx}: the SSO button"
                        );
                    }
                    (true, true, true) => {
                        assert_eq!(location(&res), "/t/acme/sso/okta/start", "{ctx}")
                    }
                    (true, _, _) => {
                        assert_eq!(location(&res), "/t/acme/login/direct", "{ctx}")
                    }
                }
                // Generic page.
                for (who, super_admin) in [("root", true), ("jo", false)] {
                    let res = generic(&app, via, who).await;
                    let ctx = format!("{ctx} generic {who}");
                    match (masks, super_admin, sso) {
                        (true, _, _) => assert_eq!(
                            location(&res),
                            format!("/t/acme/login/direct?username={who}"),
                            "{ctx}"
                        ),
                        (false, true, _) => {
                            assert_eq!(res.status, StatusCode::OK, "{ctx}");
                            let t = res.text();
                            assert!(t.contains("action=\"/t/acme/login/direct\""), "{ctx}");
                            assert!(t.contains("name=\"password\""), "{ctx}");
                            assert!(t.contains("value=\"/admin\""), "{ctx}: to the console");
                            assert!(!t.contains("/sso/"), "{ctx}: never SSO");
                        }
                        (false, false, true) => {
                            assert_eq!(location(&res), "/t/acme/sso/okta/start", "{ctx}")
                        }
                        (false, false, false) => assert_eq!(
                            location(&res),
                            "/t/acme/login/direct?username=jo",
                            "{ctx}: nobody is sent to SSO without it"
                        ),
                    }
                }
            }
            // The direct page (the same for every address): username, then password, a session.
            for via in [all_vias()[0], all_vias()[7]] {
                for who in ["root", "jo"] {
                    let res = direct(&app, via, who).await;
                    assert_eq!(location(&res), "/t/acme/login", "{who}");
                    assert!(res.cookie_value("lanyard_session_acme").is_some());
                }
            }
        }
    }
}

/// SECURITY.md 4.10: odd spellings in a trusted proxy's header never count as inside; a
/// `Forwarded` header is read only when configured, and then not X-Forwarded-For.
#[tokio::test]
async fn odd_forwarded_forms_never_count_as_inside() {
    let app = setup(true, true).await;
    for xff in [
        "::ffff:198.51.100.7",
        "198.51.100.7%eth0",
        "0198.51.100.7",
        "198.51.100",
        "unknown",
        "[2001:db8:1::7]",
        "2001:db8:1::7%1",
    ] {
        let req = Request::get("/t/acme/login")
            .header("x-forwarded-for", xff)
            .body(Body::empty())
            .unwrap();
        let res = app.send_from("10.0.0.1:1", req).await;
        assert_eq!(location(&res), "/t/acme/login/direct", "{xff}");
    }
    // A mapped socket peer (dual-stack listener) is the IPv4 client it stands for.
    let req = Request::get("/t/acme/login").body(Body::empty()).unwrap();
    let res = app.send_from("[::ffff:198.51.100.7]:1", req).await;
    assert_eq!(location(&res), "/t/acme/sso/okta/start");

    let app = setup(true, true).await.with_forwarded_header();
    let get = |name: &'static str, value: &'static str| {
        Request::get("/t/acme/login")
            .header(name, value)
            .body(Body::empty())
            .unwrap()
    };
    let res = app
        .send_from(
            "10.0.0.1:1",
            get("forwarded", "for=\"[2001:db8:1::7]:4711\";proto=https"),
        )
        .await;
    assert_eq!(location(&res), "/t/acme/sso/okta/start");
    let res = app
        .send_from("10.0.0.1:1", get("x-forwarded-for", "198.51.100.7"))
        .await;
    assert_eq!(
        location(&res),
        "/t/acme/login/direct",
        "X-Forwarded-For is not read when the proxies write Forwarded"
    );
    let res = app
        .send_from("10.0.0.1:1", get("forwarded", "for=_hidden"))
        .await;
    assert_eq!(location(&res), "/t/acme/login/direct");
}

/// "Not sent to SSO" is not "may use a password": outside the masks, SSO required still refuses
/// regular users' passwords, super admins and exempted users get in, a linked account (no
/// password) never does, and without an enabled connection or with SSO not required everyone
/// with a password gets in.
#[tokio::test]
async fn not_sent_to_sso_combines_with_sso_required_and_the_upgrade_state() {
    let outside = all_vias()[1];
    for sso_required in [false, true] {
        for enabled in [false, true] {
            let app = setup(true, true).await;
            // `linked`: an account on SSO without a password (as after the upgrade).
            app.lanyard
                .create_user(
                    &Ctx::cli(),
                    "acme",
                    proto::CreateUser {
                        collaborator: false,
                        username: "linked".into(),
                        email: None,
                        display_name: None,
                        role: Some("standard".into()),
                        password: None,
                        super_admin: false,
                    },
                )
                .await
                .unwrap();
            let uid = app.user_id("acme", "linked").await;
            let r = app
                .api(
                    Method::PUT,
                    &format!("/api/v1/tenants/acme/users/{uid}/federated-identities/okta"),
                    Some(json!({"federation_id": "linked@idp"})),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = app
                .api(
                    Method::PATCH,
                    "/api/v1/tenants/acme",
                    Some(json!({"sso_required": sso_required})),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
            if !enabled {
                let r = app
                    .api(
                        Method::PATCH,
                        "/api/v1/tenants/acme/connections/okta",
                        Some(json!({"enabled": false})),
                        None,
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            }
            let ctx = format!("sso_required={sso_required} enabled={enabled}");
            // The tenant URL from outside: the password form, whatever the rules.
            let res = send(&app, outside, Method::GET, "/t/acme/login", None, &[]).await;
            assert_eq!(location(&res), "/t/acme/login/direct", "{ctx}");

            let root = direct(&app, outside, "root").await;
            assert_eq!(location(&root), "/t/acme/login", "{ctx}: super admin");
            let jo = direct(&app, outside, "jo").await;
            if sso_required && enabled {
                crate::provisioning::assert_password_refused(&jo, "login.sso_required");
                assert!(
                    jo.text().contains("href=\"/t/acme/sso/okta/start\""),
                    "the way that works is offered: {}",
                    jo.text()
                );
            } else {
                assert_eq!(location(&jo), "/t/acme/login", "{ctx}: jo");
            }
            let l = direct(&app, outside, "linked").await;
            crate::provisioning::assert_password_refused(&l, "login.invalid_credentials");
        }
    }
}

/// Masks are validated on save, with a code naming the bad entry, and refused lists change
/// nothing; the audit log keeps the change.
#[tokio::test]
async fn network_masks_are_validated_on_save() {
    let app = setup(false, false).await;
    for (bad, code) in [
        (json!(["10.1.2.3/8"]), "tenant.network_mask_invalid"),
        (
            json!(["10.0.0.0/8", "010.0.0.0/8"]),
            "tenant.network_mask_invalid",
        ),
        (
            json!(["::ffff:10.0.0.0/104"]),
            "tenant.network_mask_invalid",
        ),
        (json!(["fe80::/10%eth0"]), "tenant.network_mask_invalid"),
        (
            json!(
                (0..501)
                    .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
                    .collect::<Vec<_>>()
            ),
            "tenant.network_masks_too_many",
        ),
    ] {
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"network_masks": bad})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        assert_eq!(res.code(), code, "{bad}");
    }
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme",
            Some(json!({"network_masks": ["10.1.2.3/8"]})),
            None,
        )
        .await;
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`10.1.2.3/8`"),
        "the entry is named: {}",
        res.text()
    );
    let t = app
        .api(Method::GET, "/api/v1/tenants/acme", None, None)
        .await;
    assert_eq!(
        t.json()["network_masks"],
        json!([]),
        "refusals change nothing"
    );
    let ok = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme",
            Some(json!({"network_masks": ["2001:DB8::/32"]})),
            None,
        )
        .await;
    assert_eq!(ok.json()["network_masks"], json!(["2001:db8::/32"]));
    assert!(
        app.audit_kinds()
            .await
            .contains(&"tenant.updated".to_owned())
    );
}

/// Race: two administrators change different tenant settings at once; both changes stay.
#[tokio::test]
async fn concurrent_tenant_updates_keep_both_changes() {
    let app = setup(false, false).await;
    for round in 0..5 {
        let masks = [format!("10.{round}.0.0/16")];
        let name = format!("Acme {round}");
        let (a, b) = tokio::join!(
            app.api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"network_masks": masks})),
                None,
            ),
            app.api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"name": name})),
                None,
            ),
        );
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        assert_eq!(b.status, StatusCode::OK, "{}", b.text());
        let t = app
            .api(Method::GET, "/api/v1/tenants/acme", None, None)
            .await
            .json();
        assert_eq!(t["network_masks"], json!(masks), "round {round}");
        assert_eq!(t["name"], json!(name), "round {round}");
    }
}

/// The generic page finds the tenant from a verified email domain (any case, trailing dot),
/// never from a claimed but unverified one; then the email signs in like the username.
#[tokio::test]
async fn the_generic_page_finds_the_tenant_by_verified_domain_only() {
    let app = setup(false, false).await;
    let via = all_vias()[1];
    let post = |identifier: &'static str| {
        let app = &app;
        async move {
            let page = send(app, via, Method::GET, "/login", None, &[]).await;
            let csrf = page.cookie_value(CSRF).unwrap();
            send(
                app,
                via,
                Method::POST,
                "/login",
                Some(&format!("{CSRF}={csrf}")),
                &[("identifier", identifier), ("csrf_token", &csrf)],
            )
            .await
        }
    };
    let asks = |res: &Res| {
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(
            res.text().contains("name=\"organisation\""),
            "{}",
            res.text()
        );
    };
    asks(&post("jo@acme.test").await);
    let claim = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/domains",
            Some(json!({"domain": "ACME.test."})),
            None,
        )
        .await;
    assert_eq!(claim.status, StatusCode::CREATED, "{}", claim.text());
    assert_eq!(claim.json()["domain"], "acme.test");
    assert_eq!(claim.json()["state"], "pending");
    asks(&post("jo@acme.test").await);
    // The tenant's own key cannot vouch for it (no DNS proof); the operator can.
    let (_, tenant_key) = app
        .lanyard
        .create_api_key(&Ctx::cli(), Some("acme"), "acme")
        .await
        .unwrap();
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/domains/acme.test/override",
            None,
            Some(&tenant_key),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.code(), "auth.operator_only");
    asks(&post("jo@acme.test").await);
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/domains/acme.test/override",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["verified_by"], "operator");
    for email in ["jo@acme.test", "Jo@ACME.TEST."] {
        let res = post(email).await;
        let to = location(&res);
        assert!(
            to.starts_with("/t/acme/login/direct?username=Jo%40ACME")
                || to.starts_with("/t/acme/login/direct?username=jo%40acme"),
            "{email}: {to}"
        );
    }
    // The email then signs in on the direct page.
    let page = send(&app, via, Method::GET, "/t/acme/login/direct", None, &[]).await;
    let csrf = page.cookie_value(CSRF).unwrap();
    let res = send(
        &app,
        via,
        Method::POST,
        "/t/acme/login/direct",
        Some(&format!("{CSRF}={csrf}")),
        &[
            ("username", "jo@acme.test"),
            ("password", PW),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(location(&res), "/t/acme/login");
    // A second tenant cannot take it over.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/other/domains",
            Some(json!({"domain": "acme.test"})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.code(), "domain.verified_elsewhere");
    // Deleted: it names nobody again.
    let res = app
        .api(
            Method::DELETE,
            "/api/v1/tenants/acme/domains/ACME.test",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    asks(&post("jo@acme.test").await);
}
