//! Console part B, tenant settings and the audit log: rendering, access, CSRF, each action's
//! effect and audit event, and a page in Japanese.

use crate::console_users::{admin_cookie, csrf_of, events, location};
use crate::harness::{PW, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_proto as proto;

#[tokio::test]
async fn the_settings_form_updates_the_tenant_and_is_audited() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let page = app.get("/admin/t/acme/settings", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert!(
            page.text()
                .contains("name=\"session_minutes\" min=\"1\" value=\"480\"")
        );
        let csrf = csrf_of(&page);
        let res = app
            .form(
                "/admin/t/acme/settings",
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("name", "Acme Corp"),
                    ("sso_required", "false"),
                    ("sso_required", "true"),
                    ("session_minutes", "90"),
                    ("sso_default_role", "viewer"),
                    ("require_email_confirmation", "false"),
                    ("require_email_confirmation", "true"),
                    ("network_masks", "192.0.2.0/24\n2001:db8::/32"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(location(&res), "/admin/t/acme/settings?done=settings-saved");
        let t = app.lanyard.admin_tenant(&Ctx::cli(), "acme").await.unwrap();
        assert_eq!(t.name, "Acme Corp");
        assert!(t.sso_required && t.require_email_confirmation);
        assert_eq!(t.session_lifetime_secs, 5400);
        assert_eq!(t.sso_default_role.as_deref(), Some("viewer"));
        assert_eq!(
            t.network_masks.to_strings(),
            vec!["192.0.2.0/24", "2001:db8::/32"]
        );
        assert_eq!(events(&app, "acme", "tenant.updated").await.len(), 1);
        // A bad mask: the form comes back with the code and what was typed; nothing changes.
        let res = app
            .form(
                "/admin/t/acme/settings",
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("session_minutes", "90"),
                    ("network_masks", "192.0.2.1/24"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(
            res.text()
                .contains("data-code=\"tenant.network_mask_invalid\""),
            "{}",
            res.text()
        );
        assert!(res.text().contains(">192.0.2.1/24</textarea>"));
        let t = app.lanyard.admin_tenant(&Ctx::cli(), "acme").await.unwrap();
        assert_eq!(t.network_masks.to_strings().len(), 2);
        // Two admins saving at once: both answered, the tenant holds one of the two values.
        let a = [("csrf_token", csrf.as_str()), ("session_minutes", "60")];
        let b = [("csrf_token", csrf.as_str()), ("session_minutes", "120")];
        let (ra, rb) = tokio::join!(
            app.form("/admin/t/acme/settings", &cookie, &a),
            app.form("/admin/t/acme/settings", &cookie, &b)
        );
        assert_eq!(
            (ra.status, rb.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        let t = app.lanyard.admin_tenant(&Ctx::cli(), "acme").await.unwrap();
        assert!([3600, 7200].contains(&t.session_lifetime_secs));
    })
    .await;
}

#[tokio::test]
async fn domains_show_the_txt_record_and_verify_now_reports_its_code() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let csrf = csrf_of(&app.get("/admin/t/acme/settings", Some(&cookie)).await);
        let res = app
            .form(
                "/admin/t/acme/settings/domains",
                &cookie,
                &[("csrf_token", &csrf), ("domain", "Acme.Example")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(events(&app, "acme", "domain.claimed").await.len(), 1);
        let page = app
            .get("/admin/t/acme/settings?done=domain-claimed", Some(&cookie))
            .await;
        let html = page.text();
        assert!(html.contains("data-domain=\"acme.example\""), "{html}");
        let d = &app.lanyard.list_domains(&Ctx::cli(), "acme").await.unwrap()[0];
        assert!(html.contains(&format!("data-txt-value>{}</code>", d.challenge_token)));
        assert!(html.contains("data-state=\"pending\""));
        // No resolver in tests: "verify now" answers the settings page with the DNS code.
        let res = app
            .form(
                "/admin/t/acme/settings/domains/acme.example/check",
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert!(
            res.status.is_server_error() || res.status.is_client_error(),
            "{}",
            res.status
        );
        assert!(res.text().contains("data-code=\"domain."), "{}", res.text());
        // A tenant admin cannot vouch for a domain without DNS (operator only).
        let res = app
            .form(
                "/admin/t/acme/settings/domains/acme.example/override",
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
        let res = app
            .form(
                "/admin/t/acme/settings/domains/acme.example/delete",
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert!(
            app.lanyard
                .list_domains(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(events(&app, "acme", "domain.deleted").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_operator_verifies_a_domain_without_dns() {
    TestApp::each_store(|app| async move {
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
        let op = app.sign_in("other", "root", PW).await;
        app.lanyard
            .claim_domain(&Ctx::cli(), "acme", "acme.example")
            .await
            .unwrap();
        let page = app.get("/admin/t/acme/settings", Some(&op)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let res = app
            .form(
                "/admin/t/acme/settings/domains/acme.example/override",
                &op,
                &[("csrf_token", &csrf_of(&page))],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(
            location(&res),
            "/admin/t/acme/settings?done=domain-verified"
        );
        assert!(app.lanyard.list_domains(&Ctx::cli(), "acme").await.unwrap()[0].verified());
    })
    .await;
}

#[tokio::test]
async fn settings_forms_refuse_a_missing_csrf_token() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        app.lanyard
            .claim_domain(&Ctx::cli(), "acme", "acme.example")
            .await
            .unwrap();
        let before = app.audit_kinds().await.len();
        for f in [
            "/admin/t/acme/settings",
            "/admin/t/acme/settings/domains",
            "/admin/t/acme/settings/domains/acme.example/check",
            "/admin/t/acme/settings/domains/acme.example/override",
            "/admin/t/acme/settings/domains/acme.example/delete",
        ] {
            let res = app
                .form(
                    f,
                    &cookie,
                    &[("sso_required", "true"), ("domain", "x.example")],
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{f}");
            assert!(res.text().contains("request.csrf_invalid"), "{f}");
        }
        assert_eq!(app.audit_kinds().await.len(), before);
        assert!(
            !app.lanyard
                .admin_tenant(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .sso_required
        );
        assert_eq!(
            app.lanyard
                .list_domains(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_by_user_kind_code_and_time_and_stays_in_its_tenant() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        // A refusal with a code in acme, and activity in the other tenant.
        let page = app.get("/t/acme/login", None).await;
        let csrf_cookie = app.csrf_cookie_name();
        let c = page.cookie_value(csrf_cookie).unwrap();
        app.form(
            "/t/acme/login",
            &format!("{csrf_cookie}={c}"),
            &[
                ("username", "jo"),
                ("password", "wrong password!!"),
                ("csrf_token", &c),
            ],
        )
        .await;
        let _ola = admin_cookie(&app, "other", "ola").await;
        let page = app.get("/admin/t/acme/audit", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        assert!(html.contains("data-kind=\"login.failed\""), "{html}");
        assert!(html.contains("<details>") && html.contains("data-details"));
        // The other tenant's events never show (ola was created and signed in there).
        assert!(!html.contains("ola@other.test"), "{html}");
        let jo = app.user_id("acme", "jo").await;
        let code = app
            .lanyard
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                kind: Some("login.failed".into()),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()[0]
            .code
            .clone()
            .unwrap();
        let page = app
            .get(&format!("/admin/t/acme/audit?code={code}"), Some(&cookie))
            .await;
        assert!(page.text().contains("data-kind=\"login.failed\""));
        assert!(!page.text().contains("data-kind=\"login.succeeded\""));
        let page = app
            .get(
                "/admin/t/acme/audit?kind=user.created&user=jo",
                Some(&cookie),
            )
            .await;
        let html = page.text();
        assert!(html.contains("data-kind=\"user.created\""));
        assert!(html.contains(&jo));
        assert!(!html.contains("data-kind=\"login.failed\""));
        // Time: the events are at T0 (2026-12-01T00:00Z); a window after it is empty.
        let page = app
            .get("/admin/t/acme/audit?since=2026-12-02T00:00", Some(&cookie))
            .await;
        assert!(page.text().contains("data-empty"));
        let page = app
            .get(
                "/admin/t/acme/audit?since=2026-11-30T00:00&until=2026-12-02T00:00",
                Some(&cookie),
            )
            .await;
        assert!(page.text().contains("data-kind=\"login.failed\""));
        let bad = app
            .get("/admin/t/acme/audit?since=yesterday", Some(&cookie))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("data-code=\"request.invalid_field\""));
        let bad = app
            .get("/admin/t/acme/audit?user=nobody", Some(&cookie))
            .await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.text().contains("data-code=\"user.not_found\""));
        // The admin API takes the same code filter.
        let res = app
            .api(
                axum::http::Method::GET,
                &format!("/api/v1/tenants/acme/audit-events?code={code}"),
                None,
                None,
            )
            .await;
        let items = res.json()["items"].as_array().unwrap().clone();
        assert!(!items.is_empty() && items.iter().all(|e| e["code"] == code.as_str()));
    })
    .await;
}

#[tokio::test]
async fn the_pages_speak_japanese_when_asked() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        for path in [
            "/admin/t/acme/users".to_owned(),
            format!("/admin/t/acme/users/{jo}"),
            "/admin/t/acme/settings".to_owned(),
            "/admin/t/acme/audit".to_owned(),
            "/admin/t/acme/invitations".to_owned(),
        ] {
            let req = Request::get(&path)
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT_LANGUAGE, "ja-JP,ja;q=0.9,en;q=0.5")
                .body(Body::empty())
                .unwrap();
            let res = app.send(req).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            let html = res.text();
            assert!(html.contains("<html lang=\"ja\">"), "{path}");
            assert!(html.contains("監査ログ"), "{path}");
        }
        let res = app.get("/admin/t/acme/users?lang=ja", Some(&cookie)).await;
        assert!(res.text().contains("ロールが必要なユーザーのみ"));
    })
    .await;
}
