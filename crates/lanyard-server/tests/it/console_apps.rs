//! Console pages for OpenID-provider apps (operators only), on SQLite and PostgreSQL: register
//! (the secret shown once, and working at the token endpoint), the developer's values, edit,
//! rotate, delete after a confirmation, each with its store effect and audit event; 403 for a
//! tenant admin and a member; CSRF on every form; a refused redirect URI with its code on the
//! form; the pages in Japanese. Also the tenant's email language (its settings select and the
//! invitation mail's language).

use crate::console_users::{admin_cookie, csrf_of, location};
use crate::harness::{PW, Res, TestApp};
use crate::provisioning::mails;
use crate::saml::connection;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use lanyard_core::Ctx;
use lanyard_proto as proto;
use serde_json::json;

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A super admin (operator) signed in; their session lives in the tenant `other`.
async fn operator_cookie(app: &TestApp) -> String {
    app.lanyard
        .create_user(
            &Ctx::cli(),
            "other",
            proto::CreateUser {
                username: "root".into(),
                email: None,
                display_name: None,
                role: None,
                password: Some(PW.into()),
                super_admin: true,
                collaborator: false,
            },
        )
        .await
        .unwrap();
    app.sign_in("other", "root", PW).await
}

/// The audit events of `kind` (apps have no tenant).
async fn app_events(app: &TestApp, kind: &str) -> usize {
    app.lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            kind: Some(kind.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn apps(app: &TestApp) -> Vec<lanyard_core::provider::apps::App> {
    app.lanyard
        .list_apps(&Ctx::cli(), None, None)
        .await
        .unwrap()
        .0
}

/// The text between `start` and the next `"` or `<`.
fn after(html: &str, start: &str) -> String {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"))
        + start.len();
    html[at..]
        .chars()
        .take_while(|c| *c != '"' && *c != '<')
        .collect()
}

/// The token endpoint with HTTP Basic client authentication and an unknown refresh token:
/// a 400 (`invalid_grant`, or `unauthorized_client` once the app lost the refresh grant) when
/// the client authenticated, 401 `invalid_client` when not.
async fn token_status(app: &TestApp, client_id: &str, secret: &str) -> StatusCode {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let res = app
        .send(
            Request::post("/oauth2/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, format!("Basic {basic}"))
                .body(Body::from("grant_type=refresh_token&refresh_token=nope"))
                .unwrap(),
        )
        .await;
    let error = res.json()["error"].as_str().unwrap_or_default().to_owned();
    match res.status {
        StatusCode::BAD_REQUEST => assert!(
            ["invalid_grant", "unauthorized_client"].contains(&error.as_str()),
            "{}",
            res.text()
        ),
        _ => assert_eq!(error, "invalid_client", "{}", res.text()),
    }
    res.status
}

fn app_fields<'a>(csrf: &'a str, name: &'a str, redirects: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("client_type", "confidential"),
        ("name", name),
        ("redirect_uris", redirects),
        ("post_logout_redirect_uris", "https://wiki.example/bye"),
        ("backchannel_logout_uri", "https://wiki.example/bcl"),
        ("grant_type", "authorization_code"),
        ("grant_type", "refresh_token"),
        ("grant_type", DEVICE),
        ("id_token_alg", "ES256"),
        ("tenants", "acme"),
    ]
}

fn secret_of(res: &Res) -> String {
    after(&res.text(), "data-client-secret>")
}

#[tokio::test]
async fn an_operator_registers_edits_rotates_and_deletes_an_app() {
    TestApp::each_store(|app| async move {
        let op = operator_cookie(&app).await;
        let list = app.get("/admin/apps", Some(&op)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        assert!(list.text().contains("data-empty"), "{}", list.text());
        assert!(list.text().contains("data-nav-apps"));
        let new = app.get("/admin/apps/new", Some(&op)).await;
        assert_eq!(new.status, StatusCode::OK);
        assert!(new.text().contains(&format!("value=\"{DEVICE}\"")));
        let csrf = csrf_of(&new);

        // A refused redirect URI: the form again with the code and what was typed; no app.
        let res = app
            .form(
                "/admin/apps",
                &op,
                &app_fields(&csrf, "Wiki", "http://wiki.example/cb"),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(
            res.text().contains("data-code=\"request.invalid_field\""),
            "{}",
            res.text()
        );
        assert!(res.text().contains(">http://wiki.example/cb</textarea>"));
        assert!(apps(&app).await.is_empty());

        // Registered: the secret is on the answer (no-store), once.
        let res = app
            .form(
                "/admin/apps",
                &op,
                &app_fields(
                    &csrf,
                    "Wiki",
                    "https://wiki.example/cb\nhttp://127.0.0.1:9000/cb",
                ),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
        let secret = secret_of(&res);
        assert!(secret.starts_with("lnc_"), "{secret}");
        assert!(res.text().contains("data-copy=\"client-secret\""));
        let stored = apps(&app).await;
        assert_eq!(stored.len(), 1);
        let a = &stored[0];
        assert_eq!(a.name, "Wiki");
        assert_eq!(a.redirect_uris.len(), 2);
        assert_eq!(
            a.post_logout_redirect_uris,
            vec!["https://wiki.example/bye"]
        );
        assert_eq!(
            a.backchannel_logout_uri.as_deref(),
            Some("https://wiki.example/bcl")
        );
        assert!(a.allows_grant(DEVICE) && !a.is_public());
        assert_eq!(a.id_token_alg, "ES256");
        assert_eq!(a.tenant_ids.as_ref().map(Vec::len), Some(1));
        assert_eq!(app_events(&app, "app.created").await, 1);
        let id = a.id.clone();
        assert_eq!(
            token_status(&app, &id, &secret).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            token_status(&app, &id, "lnc_wrong").await,
            StatusCode::UNAUTHORIZED
        );

        // The app's page: what the developer needs, and never the secret again.
        let page = app.get(&format!("/admin/apps/{id}"), Some(&op)).await;
        let html = page.text();
        assert_eq!(page.status, StatusCode::OK, "{html}");
        assert!(
            html.contains("data-issuer>http://127.0.0.1:8080</code>"),
            "{html}"
        );
        assert!(html.contains(
            "data-discovery>http://127.0.0.1:8080/.well-known/openid-configuration</code>"
        ));
        assert!(html.contains(&format!("data-client-id>{id}</code>")));
        assert!(html.contains("data-redirect-uri>https://wiki.example/cb</code>"));
        assert!(!html.contains(&secret) && !html.contains("data-client-secret"));
        let list = app.get("/admin/apps", Some(&op)).await.text();
        assert!(list.contains(&format!("data-app=\"{id}\"")), "{list}");
        assert!(list.contains("data-type=\"confidential\""));
        assert!(list.contains("data-redirects=\"2\""));

        // Edit.
        let res = app
            .form(
                &format!("/admin/apps/{id}"),
                &op,
                &[
                    ("csrf_token", &csrf),
                    ("name", "Wiki 2"),
                    ("redirect_uris", "https://wiki.example/cb2"),
                    ("grant_type", "authorization_code"),
                    ("id_token_alg", "RS256"),
                    ("tenants", ""),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(location(&res), format!("/admin/apps/{id}?done=app-saved"));
        let a = app.lanyard.get_app(&Ctx::cli(), &id).await.unwrap();
        assert_eq!(a.name, "Wiki 2");
        assert_eq!(a.redirect_uris, vec!["https://wiki.example/cb2"]);
        assert!(a.post_logout_redirect_uris.is_empty() && a.backchannel_logout_uri.is_none());
        assert!(!a.allows_grant(DEVICE) && a.tenant_ids.is_none());
        assert_eq!(app_events(&app, "app.updated").await, 1);
        // An invalid one: the page with the code and the typed value; nothing changed.
        let res = app
            .form(
                &format!("/admin/apps/{id}"),
                &op,
                &[
                    ("csrf_token", &csrf),
                    ("name", "Wiki 3"),
                    ("redirect_uris", "https://wiki.example/cb#frag"),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(res.text().contains("data-code=\"request.invalid_field\""));
        assert!(
            res.text()
                .contains(">https://wiki.example/cb#frag</textarea>")
        );
        let a = app.lanyard.get_app(&Ctx::cli(), &id).await.unwrap();
        assert_eq!(a.name, "Wiki 2");
        // Two saves at once: both answered, the app holds one of the two names.
        let one = [
            ("csrf_token", csrf.as_str()),
            ("name", "Left"),
            ("redirect_uris", "https://wiki.example/cb2"),
            ("grant_type", "authorization_code"),
        ];
        let two = [
            ("csrf_token", csrf.as_str()),
            ("name", "Right"),
            ("redirect_uris", "https://wiki.example/cb2"),
            ("grant_type", "authorization_code"),
        ];
        let path = format!("/admin/apps/{id}");
        let (r1, r2) = tokio::join!(app.form(&path, &op, &one), app.form(&path, &op, &two));
        assert_eq!(
            (r1.status, r2.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        let a = app.lanyard.get_app(&Ctx::cli(), &id).await.unwrap();
        assert!(["Left", "Right"].contains(&a.name.as_str()), "{}", a.name);

        // Rotate: the new secret is shown once and works; the old one stops.
        let res = app
            .form(
                &format!("/admin/apps/{id}/secret"),
                &op,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
        let rotated = secret_of(&res);
        assert_ne!(rotated, secret);
        assert_eq!(
            token_status(&app, &id, &rotated).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            token_status(&app, &id, &secret).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(app_events(&app, "app.secret_rotated").await, 1);

        // Delete, after a confirmation page.
        let confirm = app
            .get(&format!("/admin/apps/{id}/delete"), Some(&op))
            .await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(
            confirm.text().contains("data-confirm"),
            "{}",
            confirm.text()
        );
        assert!(apps(&app).await.len() == 1, "a GET deletes nothing");
        let res = app
            .form(
                &format!("/admin/apps/{id}/delete"),
                &op,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(location(&res), "/admin/apps?done=app-deleted");
        assert!(apps(&app).await.is_empty());
        assert_eq!(app_events(&app, "app.deleted").await, 1);
        assert_eq!(
            token_status(&app, &id, &rotated).await,
            StatusCode::UNAUTHORIZED
        );
        let gone = app.get(&format!("/admin/apps/{id}"), Some(&op)).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert!(gone.text().contains("app.not_found"));
    })
    .await;
}

#[tokio::test]
async fn only_operators_reach_the_apps_and_every_form_needs_the_csrf_token() {
    TestApp::each_store(|app| async move {
        let op = operator_cookie(&app).await;
        let (a, _) = app
            .lanyard
            .create_app(
                &Ctx::cli(),
                proto::CreateApp {
                    name: "Wiki".into(),
                    redirect_uris: vec!["https://wiki.example/cb".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let id = a.id.clone();
        let ada = admin_cookie(&app, "acme", "ada").await;
        let jo = app.sign_in("acme", "jo", PW).await;
        let ada_csrf = csrf_of(&app.get("/admin/t/acme/users", Some(&ada)).await);
        // A tenant admin sees no Apps entry, and gets 403 everywhere, reads and forms alike.
        let home = app.get("/admin/t/acme", Some(&ada)).await;
        assert!(!home.text().contains("data-nav-apps"), "{}", home.text());
        for (who, cookie) in [("admin", &ada), ("member", &jo)] {
            for path in [
                "/admin/apps".to_owned(),
                "/admin/apps/new".into(),
                format!("/admin/apps/{id}"),
                format!("/admin/apps/{id}/delete"),
            ] {
                let res = app.get(&path, Some(cookie)).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{who} {path}");
                assert!(res.text().contains("console.not_admin"), "{who} {path}");
            }
        }
        let forms = [
            "/admin/apps".to_owned(),
            format!("/admin/apps/{id}"),
            format!("/admin/apps/{id}/secret"),
            format!("/admin/apps/{id}/delete"),
        ];
        for path in &forms {
            let res = app
                .form(
                    path,
                    &ada,
                    &[
                        ("csrf_token", &ada_csrf),
                        ("name", "Owned"),
                        ("redirect_uris", "https://x.example/cb"),
                        ("grant_type", "authorization_code"),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
            assert!(res.text().contains("console.not_admin"), "{path}");
        }
        // Signed out: the sign-in page, coming back here.
        let res = app.get("/admin/apps", None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/login?return_to=%2Fadmin%2Fapps");
        // The operator without the token, or with another session's: refused, nothing done.
        for token in ["", ada_csrf.as_str()] {
            for path in &forms {
                let res = app
                    .form(
                        path,
                        &op,
                        &[
                            ("csrf_token", token),
                            ("name", "Forged"),
                            ("redirect_uris", "https://x.example/cb"),
                            ("grant_type", "authorization_code"),
                        ],
                    )
                    .await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{path} {token:?}");
                assert!(res.text().contains("request.csrf_invalid"), "{path}");
            }
        }
        let left = apps(&app).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].name, "Wiki");
        assert_eq!(left[0].secret_hash, a.secret_hash, "not rotated");
        for kind in ["app.updated", "app.secret_rotated", "app.deleted"] {
            assert_eq!(app_events(&app, kind).await, 0, "{kind}");
        }
        assert_eq!(app_events(&app, "app.created").await, 1);
    })
    .await;
}

#[tokio::test]
async fn the_apps_pages_speak_japanese() {
    TestApp::each_store(|app| async move {
        let op = operator_cookie(&app).await;
        let list = app.get("/admin/apps?lang=ja", Some(&op)).await;
        assert_eq!(list.status, StatusCode::OK);
        let html = list.text();
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
        assert!(html.contains("アプリを登録"), "{html}");
        let new = app.get("/admin/apps/new?lang=ja", Some(&op)).await;
        let csrf = csrf_of(&new);
        assert!(new.text().contains("リダイレクト URI"));
        let res = app
            .send(
                Request::post("/admin/apps")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, format!("{op}; lanyard_lang=ja"))
                    .body(Body::from(format!(
                        "csrf_token={csrf}&client_type=public&name=CLI&redirect_uris=ftp%3A%2F%2Fx&grant_type=authorization_code"
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let html = res.text();
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
        assert!(html.contains("data-code=\"request.invalid_field\""));
        assert!(html.contains("パブリック"));
    })
    .await;
}

#[tokio::test]
async fn the_invitation_mail_takes_the_tenants_language_unless_the_request_states_one() {
    TestApp::each_store(|app| async move {
        connection(&app, "acme", "okta", json!({})).await;
        // The settings select, and the API's check.
        let ada = admin_cookie(&app, "acme", "ada").await;
        let page = app.get("/admin/t/acme/settings", Some(&ada)).await;
        assert!(
            page.text()
                .contains("<option value=\"en\" selected>English</option>"),
            "{}",
            page.text()
        );
        let csrf = csrf_of(&page);
        let res = app
            .form(
                "/admin/t/acme/settings",
                &ada,
                &[("csrf_token", &csrf), ("language", "ja")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let t = app.lanyard.admin_tenant(&Ctx::cli(), "acme").await.unwrap();
        assert_eq!(t.language.code(), "ja");
        let res = app
            .form(
                "/admin/t/acme/settings",
                &ada,
                &[("csrf_token", &csrf), ("language", "fr")],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert!(
            res.text().contains("data-code=\"tenant.language_invalid\""),
            "{}",
            res.text()
        );
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"language": "de"})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert_eq!(res.code(), "tenant.language_invalid");
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme",
                Some(json!({"language": "ja"})),
                None,
            )
            .await;
        assert_eq!(res.json()["language"], "ja", "{}", res.text());

        // No language stated (no ?lang, cookie or Accept-Language): Japanese, the tenant's.
        let res = app
            .api(
                Method::POST,
                "/api/v1/tenants/acme/invitations",
                Some(json!({"users": ["jo"]})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let ja = mails(&app, "jo@acme.test", "アカウントをシングルサインオンに連携").await;
        assert_eq!(ja.len(), 1);
        // The administrator's request says English: English.
        let res = app
            .send(
                Request::post("/api/v1/tenants/acme/invitations")
                    .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
                    .body(Body::from(json!({"users": ["ada"]}).to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let en = mails(
            &app,
            "ada@acme.test",
            "connect your account to single sign-on",
        )
        .await;
        assert_eq!(en.len(), 1, "one English invitation");
        assert!(
            mails(&app, "ada@acme.test", "シングルサインオン")
                .await
                .is_empty()
        );
    })
    .await;
}
