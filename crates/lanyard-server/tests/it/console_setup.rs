//! Setup links and the IT admin's portal (`/setup/{token}`): created by an admin (console or
//! API), one browser per link, only the link's tenant's connection form, and dead after use,
//! expiry or revocation. CSRF on the portal's forms.

use crate::console::{admin, csrf_of, page_code, start_test};
use crate::harness::TestApp;
use crate::saml::{counts, post_acs};
use crate::saml_idp::{IDP, Resp, SSO_URL, cert_pem};
use axum::http::{Method, StatusCode, header};
use serde_json::json;

/// A setup link for `tenant` through the admin API: (id, path `/setup/lys_…`).
pub(crate) async fn link(app: &TestApp, tenant: &str) -> (String, String) {
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/setup-links"),
            Some(json!({"note": "Ken (IT)", "lifetime_hours": 24})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    let url = v["url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap()
        .to_owned();
    (v["link"]["id"].as_str().unwrap().to_owned(), path)
}

/// Opens the link in a fresh browser; returns its claim cookie (`name=value`).
pub(crate) async fn claim(app: &TestApp, path: &str) -> String {
    let res = app.get(path, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    format!(
        "lanyard_setup={}",
        res.cookie_value("lanyard_setup").expect("claim cookie")
    )
}

/// Saves the okta form of the portal with the IdP's values.
async fn save_okta(app: &TestApp, path: &str, cookie: &str, action: &str) -> crate::harness::Res {
    let page = app.get(&format!("{path}/idp/okta"), Some(cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let cert = cert_pem("idp");
    app.form(
        &format!("{path}/idp/okta"),
        cookie,
        &[
            ("csrf_token", &csrf_of(&page.text())),
            ("action", action),
            ("idp_entity_id", IDP),
            ("sso_url", SSO_URL),
            ("certificates", &cert),
        ],
    )
    .await
}

#[tokio::test]
async fn a_setup_link_walks_the_it_admin_from_link_to_a_successful_test() {
    let app = TestApp::new().await;
    let (id, path) = link(&app, "acme").await;
    // Only a hash of the token is at rest.
    let token = path.strip_prefix("/setup/").unwrap();
    let t = app.lanyard.tenant("acme").await.unwrap();
    let stored = app
        .lanyard
        .store
        .setup_link(&t.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.token_hash, token.as_bytes());
    assert_eq!(stored.token_hash, lanyard_core::secret::token_hash(token));

    let cookie = claim(&app, &path).await;
    let page = app
        .get(&format!("{path}/idp/okta"), Some(&cookie))
        .await
        .text();
    // The values to paste into Okta, before anything exists.
    assert!(
        page.contains("http://127.0.0.1:8080/t/acme/saml/okta/acs")
            && page.contains("http://127.0.0.1:8080/t/acme/saml/okta/metadata"),
        "{page}"
    );
    assert!(page.contains("Okta Admin Console"), "the guide: {page}");
    // Only the IdP's values are asked for.
    assert!(
        !page.contains("name=\"provisioning.default_role\"") && !page.contains("name=\"slug\""),
        "{page}"
    );

    let res = save_okta(&app, &path, &cookie, "test").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(
        res.text().contains(&format!("href=\"{path}/test\"")),
        "{}",
        res.text()
    );
    // Created disabled (the tenant's admin turns it on), and audited as the link's doing.
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
    assert_eq!(c["provisioning"]["attribute_preset"], "okta");
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
    assert_eq!(
        ev.first().map(|e| e.actor.clone()),
        Some(format!("setup_link:{id}"))
    );

    // Save and test: a real (test) round trip through the IdP, reported, nothing created.
    let before = counts(&app).await;
    let (rid, rs) = start_test(&app, &format!("{path}/test"), Some(&cookie)).await;
    let res = post_acs(
        &app,
        "acme",
        "okta",
        &Resp::new("acme", "okta", Some(&rid)).signed(),
        Some(&rs),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(
        res.text().contains("data-test-result=\"ok\""),
        "{}",
        res.text()
    );
    assert_eq!(counts(&app).await, before);

    // Finish: the link stops working, for this browser too.
    let page = app
        .get(&format!("{path}/idp/okta"), Some(&cookie))
        .await
        .text();
    let res = app
        .form(
            &format!("{path}/finish"),
            &cookie,
            &[("csrf_token", &csrf_of(&page))],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.get(&path, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(page_code(&res.text()), "setup_link.used");
    let kinds = app.audit_kinds().await;
    for k in [
        "setup_link.created",
        "setup_link.opened",
        "connection.tested",
        "setup_link.used",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k}: {kinds:?}");
    }
}

#[tokio::test]
async fn a_setup_link_opens_only_its_tenants_connection_form_for_one_browser() {
    let app = TestApp::new().await;
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    crate::saml::connection(&app, "acme", "corp", json!({})).await;
    let (_, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    // A second person (another browser) cannot use it.
    let res = app.get(&path, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(page_code(&res.text()), "setup_link.claimed");
    let res = app.get(&path, Some("lanyard_setup=forged")).await;
    assert_eq!(page_code(&res.text()), "setup_link.claimed");

    let res = save_okta(&app, &path, &cookie, "save").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // Bound to its connection: another IdP's form, or a slug of another connection, is refused.
    for idp in ["entra", "corp", "nope"] {
        let res = app.get(&format!("{path}/idp/{idp}"), Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{idp}");
        assert_eq!(page_code(&res.text()), "setup_link.scope", "{idp}");
    }
    // Posting settings beyond the IdP's values changes none of them.
    let page = app
        .get(&format!("{path}/idp/okta"), Some(&cookie))
        .await
        .text();
    let res = app
        .form(
            &format!("{path}/idp/okta"),
            &cookie,
            &[
                ("csrf_token", &csrf_of(&page)),
                ("enabled", "true"),
                ("provisioning.default_role", "admin"),
                ("jit", "true"),
            ],
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
    assert_eq!(
        (
            c["enabled"].as_bool(),
            c["provisioning"]["default_role"].as_str()
        ),
        (Some(false), None)
    );
    // The claim cookie is no console session.
    let res = app.get("/admin/t/acme", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // The link's actor reaches no tenant operation in the core.
    let t = app.lanyard.tenant("acme").await.unwrap();
    let opened = app
        .lanyard
        .store
        .list_setup_links(&t.id)
        .await
        .unwrap()
        .remove(0);
    let ctx = opened.ctx(&Default::default());
    assert_eq!(
        app.lanyard
            .list_users(&ctx, "acme", &Default::default(), None, None)
            .await
            .unwrap_err()
            .code(),
        "setup_link.scope"
    );
    assert_eq!(
        app.lanyard
            .get_connection(&ctx, "other", "okta")
            .await
            .unwrap_err()
            .code(),
        "setup_link.scope"
    );
    assert_eq!(
        app.lanyard
            .delete_connection(&ctx, "acme", "corp")
            .await
            .unwrap_err()
            .code(),
        "setup_link.scope"
    );
    let _ = ada;
}

#[tokio::test]
async fn a_setup_link_stops_working_after_expiry_or_revocation() {
    let app = TestApp::new().await;
    let (_, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    app.clock.advance(24 * 3600);
    let res = app.get(&path, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(page_code(&res.text()), "setup_link.expired");

    // Revoked in the console: the open page's form no longer saves.
    let ada = admin(&app, "acme", "ada", "admin", false).await;
    let (id, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    let portal = app
        .get(&format!("{path}/idp/okta"), Some(&cookie))
        .await
        .text();
    let page = app
        .get("/admin/t/acme/setup-links", Some(&ada))
        .await
        .text();
    assert!(
        page.contains(&format!("data-setup-link-id=\"{id}\""))
            && page.contains("data-state=\"claimed\""),
        "{page}"
    );
    let res = app
        .form(
            &format!("/admin/t/acme/setup-links/{id}/revoke"),
            &ada,
            &[("csrf_token", &csrf_of(&page))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let res = app
        .form(
            &format!("{path}/idp/okta"),
            &cookie,
            &[
                ("csrf_token", &csrf_of(&portal)),
                ("idp_entity_id", IDP),
                ("sso_url", SSO_URL),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(page_code(&res.text()), "setup_link.revoked");
    assert_eq!(
        app.api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // A tenant-bound key of another tenant cannot list or revoke acme's links.
    let (_, other_key) = app
        .lanyard
        .create_api_key(&lanyard_core::Ctx::cli(), Some("other"), "o")
        .await
        .unwrap();
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/acme/setup-links/{id}/revoke"),
            None,
            Some(&other_key),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Unknown tokens are just unknown.
    let res = app.get("/setup/lys_nope", None).await;
    assert_eq!(page_code(&res.text()), "setup_link.not_found");
}

#[tokio::test]
async fn csrf_the_portals_forms_need_the_claiming_browsers_token() {
    let app = TestApp::new().await;
    let (_, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    for token in ["", "forged"] {
        let res = app
            .form(
                &format!("{path}/idp/okta"),
                &cookie,
                &[
                    ("csrf_token", token),
                    ("idp_entity_id", IDP),
                    ("sso_url", SSO_URL),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
        assert_eq!(page_code(&res.text()), "request.csrf_invalid");
        let res = app
            .form(&format!("{path}/finish"), &cookie, &[("csrf_token", token)])
            .await;
        assert_eq!(page_code(&res.text()), "request.csrf_invalid");
    }
    assert_eq!(
        app.api(
            Method::GET,
            "/api/v1/tenants/acme/connections/okta",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // And the console's link form is CSRF-checked (see console::csrf_*); the API answers JSON.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/setup-links",
            Some(json!({"lifetime_hours": 0})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "setup_link.lifetime_invalid");
    let res = app
        .api(Method::GET, "/api/v1/tenants/acme/setup-links", None, None)
        .await;
    assert_eq!(res.json()["items"][0]["state"], "claimed");
    assert!(res.headers.get(header::CONTENT_TYPE).is_some());
}

#[tokio::test]
async fn two_saves_of_a_new_portal_connection_at_once_make_one_connection() {
    let app = TestApp::new().await;
    let (id, path) = link(&app, "acme").await;
    let cookie = claim(&app, &path).await;
    let page = app
        .get(&format!("{path}/idp/okta"), Some(&cookie))
        .await
        .text();
    let csrf = csrf_of(&page);
    let cert = cert_pem("idp");
    let form = |entity: &'static str| {
        let (app, path, cookie, csrf, cert) = (&app, &path, &cookie, &csrf, &cert);
        async move {
            app.form(
                &format!("{path}/idp/okta"),
                cookie,
                &[
                    ("csrf_token", csrf),
                    ("idp_entity_id", entity),
                    ("sso_url", SSO_URL),
                    ("certificates", cert),
                ],
            )
            .await
        }
    };
    let (a, b) = tokio::join!(
        form("https://idp.example.test/a"),
        form("https://idp.example.test/b")
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    // One creates; the other either lost the race on the slug (409, nothing half-made) or came
    // second and updated the connection the first bound to the link.
    assert!(
        statuses == [303, 409] || statuses == [303, 303],
        "{statuses:?}: {} / {}",
        a.text(),
        b.text()
    );
    let t = app.lanyard.tenant("acme").await.unwrap();
    let conns = app.lanyard.store.list_connections(&t.id).await.unwrap();
    assert_eq!(conns.len(), 1, "one connection");
    let l = app
        .lanyard
        .store
        .setup_link(&t.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        l.connection_id.as_deref(),
        Some(conns[0].id.as_str()),
        "bound to it"
    );
}
