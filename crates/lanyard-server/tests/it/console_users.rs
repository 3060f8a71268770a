//! Console part B, user pages: every page and form through the router, on both stores; access
//! (non-admin, another tenant's admin, signed out), CSRF on every form, and each action's effect
//! and audit event.

use crate::harness::{PW, Res, TestApp};
use axum::http::{Method, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_proto as proto;
use serde_json::json;

/// Creates an administrator (`admin` role) of `tenant` and signs them in.
pub async fn admin_cookie(app: &TestApp, tenant: &str, username: &str) -> String {
    app.lanyard
        .create_user(
            &Ctx::cli(),
            tenant,
            proto::CreateUser {
                username: username.into(),
                email: Some(format!("{username}@{tenant}.test")),
                display_name: None,
                role: Some("admin".into()),
                password: Some(PW.into()),
                super_admin: false,
                collaborator: false,
            },
        )
        .await
        .unwrap();
    app.sign_in(tenant, username, PW).await
}

/// The CSRF token a console page's forms carry.
pub fn csrf_of(page: &Res) -> String {
    let html = page.text();
    let at = html
        .find("name=\"csrf_token\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field on the page: {html}"));
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Where a redirect goes.
pub fn location(res: &Res) -> String {
    res.headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The audit events of `kind` in `tenant`: (user_id, details).
pub async fn events(app: &TestApp, tenant: &str, kind: &str) -> Vec<(Option<String>, String)> {
    app.lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            tenant: Some(tenant.into()),
            kind: Some(kind.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.user_id, r.details))
        .collect()
}

/// A JWT connection `portal` in `tenant` (the simplest kind to create).
pub async fn portal_connection(app: &TestApp, tenant: &str) {
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/jwt-connections"),
            Some(json!({"slug": "portal", "name": "Portal", "login_url": "https://portal.example/login",
                        "algorithm": "HS256", "secret_key": "a-shared-secret-of-at-least-32-bytes!!", "jit": true})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

#[tokio::test]
async fn user_pages_render_for_an_admin_with_sso_state_roles_and_search() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        // A user without a role.
        app.lanyard
            .create_user(
                &Ctx::cli(),
                "acme",
                proto::CreateUser {
                    username: "norole".into(),
                    email: Some("nobody@acme.test".into()),
                    display_name: None,
                    role: None,
                    password: Some(PW.into()),
                    super_admin: false,
                    collaborator: false,
                },
            )
            .await
            .unwrap();
        let page = app.get("/admin/t/acme/users", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        assert!(html.contains("data-user=\"jo\""), "{html}");
        assert!(html.contains("data-user=\"norole\""));
        assert!(html.contains("data-needs-role"));
        assert!(html.contains("data-sso-state=\"none\""));
        assert!(page.headers.get("content-security-policy").is_some());
        // Search by part of an email, case-insensitively; LIKE wildcards are literal.
        let page = app
            .get("/admin/t/acme/users?search=NOBODY%40", Some(&cookie))
            .await;
        assert!(page.text().contains("data-user=\"norole\""));
        assert!(!page.text().contains("data-user=\"jo\""));
        let page = app
            .get("/admin/t/acme/users?search=%25", Some(&cookie))
            .await;
        assert!(page.text().contains("data-empty"), "{}", page.text());
        // "Needs a role" and SSO-state filters.
        let page = app
            .get("/admin/t/acme/users?needs_role=1", Some(&cookie))
            .await;
        assert!(page.text().contains("data-user=\"norole\""));
        assert!(!page.text().contains("data-user=\"jo\""));
        let page = app
            .get("/admin/t/acme/users?sso=linked", Some(&cookie))
            .await;
        assert!(page.text().contains("data-empty"));
        let bad = app
            .get("/admin/t/acme/users?sso=sideways", Some(&cookie))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("request.invalid_field"));
        // The user's page and the invitations page.
        let jo = app.user_id("acme", "jo").await;
        let page = app
            .get(&format!("/admin/t/acme/users/{jo}"), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let page = app.get("/admin/t/acme/invitations", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        // The API's listing takes the same search.
        let res = app
            .api(
                Method::GET,
                "/api/v1/tenants/acme/users?search=nobody",
                None,
                None,
            )
            .await;
        assert_eq!(res.json()["items"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn user_pages_refuse_non_admins_other_tenants_admins_and_the_signed_out() {
    TestApp::each_store(|app| async move {
        let jo_acme = app.user_id("acme", "jo").await;
        let member = app.sign_in("acme", "jo", PW).await;
        let other_admin = admin_cookie(&app, "other", "ola").await;
        let pages = [
            "/admin/t/acme/users".to_owned(),
            format!("/admin/t/acme/users/{jo_acme}"),
            "/admin/t/acme/invitations".to_owned(),
            "/admin/t/acme/settings".to_owned(),
            "/admin/t/acme/audit".to_owned(),
        ];
        for p in &pages {
            let res = app.get(p, Some(&member)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{p}");
            assert!(res.text().contains("console.not_admin"), "{p}");
            // Cross-tenant read: the other organisation's admin sees nothing of acme.
            let res = app.get(p, Some(&other_admin)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{p}");
            assert!(!res.text().contains("jo@acme.test"), "{p}");
            let res = app.get(p, None).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{p}");
            assert!(location(&res).starts_with("/login?return_to="), "{p}");
        }
        // Cross-tenant write: the other admin's valid token for their own session does not
        // make a form on acme work.
        let own = app.get("/admin/t/other/users", Some(&other_admin)).await;
        let token = csrf_of(&own);
        let res = app
            .form(
                &format!("/admin/t/acme/users/{jo_acme}"),
                &other_admin,
                &[("csrf_token", &token), ("role", "admin")],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let (_, jo) = app
            .lanyard
            .get_user(&Ctx::cli(), "acme", &jo_acme)
            .await
            .unwrap();
        assert_eq!(jo.role.as_deref(), Some("standard"));
    })
    .await;
}

#[tokio::test]
async fn every_user_form_refuses_a_missing_or_foreign_csrf_token_and_changes_nothing() {
    TestApp::each_store(|app| async move {
        portal_connection(&app, "acme").await;
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let base = format!("/admin/t/acme/users/{jo}");
        let forms = [
            base.clone(),
            format!("{base}/federation/portal"),
            format!("{base}/invite"),
            format!("{base}/sessions/revoke"),
            format!("{base}/sessions/x/revoke"),
            format!("{base}/tokens/x/revoke"),
            format!("{base}/require-password-change"),
            format!("{base}/reset-link"),
            "/admin/t/acme/invitations".to_owned(),
        ];
        let before = app.audit_kinds().await.len();
        for f in &forms {
            for token in [None, Some("forged-token")] {
                let mut fields = vec![
                    ("role", "admin"),
                    ("federation_id", "x"),
                    ("action", "save"),
                ];
                if let Some(t) = token {
                    fields.push(("csrf_token", t));
                }
                let res = app.form(f, &cookie, &fields).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{f}");
                assert!(res.text().contains("request.csrf_invalid"), "{f}");
            }
        }
        assert_eq!(
            app.audit_kinds().await.len(),
            before,
            "a refused form wrote nothing"
        );
        let (_, u) = app
            .lanyard
            .get_user(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert_eq!(u.role.as_deref(), Some("standard"));
    })
    .await;
}

#[tokio::test]
async fn profile_role_and_federation_id_forms_change_the_user_and_are_audited() {
    TestApp::each_store(|app| async move {
        portal_connection(&app, "acme").await;
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let base = format!("/admin/t/acme/users/{jo}");
        let page = app.get(&base, Some(&cookie)).await;
        let csrf = csrf_of(&page);
        assert!(page.text().contains("data-connection=\"portal\""));
        // Role cleared: "needs a role".
        let res = app
            .form(
                &base,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("display_name", "Jo Q"),
                    ("role", ""),
                    ("disabled", "false"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(location(&res), format!("{base}?done=user-saved"));
        let (_, u) = app
            .lanyard
            .get_user(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert_eq!(u.role, None);
        assert_eq!(u.display_name.as_deref(), Some("Jo Q"));
        let ev = events(&app, "acme", "user.updated").await;
        assert!(
            ev.iter()
                .any(|(uid, d)| uid.as_deref() == Some(jo.as_str()) && d.contains("role")),
            "{ev:?}"
        );
        let page = app
            .get(&format!("{base}?done=user-saved"), Some(&cookie))
            .await;
        assert!(page.text().contains("data-notice"));
        assert!(page.text().contains("data-needs-role"));
        // An unknown role is refused with the API's code.
        let res = app
            .form(
                &base,
                &cookie,
                &[("csrf_token", &csrf), ("role", "emperor")],
            )
            .await;
        assert!(res.status.is_client_error());
        assert!(res.text().contains("role"), "{}", res.text());
        // Copy a federation ID into the user; then disconnect.
        let fed = format!("{base}/federation/portal");
        let res = app
            .form(
                &fed,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("federation_id", "portal|42"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let ids = app
            .lanyard
            .federated_identities(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(
            (ids[0].connection.as_str(), ids[0].federation_id.as_str()),
            ("portal", "portal|42")
        );
        assert_eq!(
            events(&app, "acme", "federated_identity.set").await.len(),
            1
        );
        let page = app.get(&base, Some(&cookie)).await;
        assert!(page.text().contains("value=\"portal|42\""));
        // The same federation ID on another user is refused (taken), with its code.
        let ada = app.user_id("acme", "ada").await;
        let res = app
            .form(
                &format!("/admin/t/acme/users/{ada}/federation/portal"),
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("federation_id", "portal|42"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
        assert!(res.text().contains("federated_identity.taken"));
        let res = app
            .form(
                &fed,
                &cookie,
                &[("csrf_token", &csrf), ("action", "remove")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert!(
            app.lanyard
                .federated_identities(&Ctx::cli(), "acme", &jo)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            events(&app, "acme", "federated_identity.removed")
                .await
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn two_racing_federation_id_saves_leave_one_identity() {
    TestApp::each_store(|app| async move {
        portal_connection(&app, "acme").await;
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let fed = format!("/admin/t/acme/users/{jo}/federation/portal");
        let csrf = csrf_of(
            &app.get(&format!("/admin/t/acme/users/{jo}"), Some(&cookie))
                .await,
        );
        let a = [
            ("csrf_token", csrf.as_str()),
            ("federation_id", "a-1"),
            ("action", "save"),
        ];
        let b = [
            ("csrf_token", csrf.as_str()),
            ("federation_id", "b-2"),
            ("action", "save"),
        ];
        let (ra, rb) = tokio::join!(app.form(&fed, &cookie, &a), app.form(&fed, &cookie, &b));
        for r in [&ra, &rb] {
            assert!(
                r.status == StatusCode::SEE_OTHER || r.status == StatusCode::CONFLICT,
                "{} {}",
                r.status,
                r.text()
            );
        }
        let ids = app
            .lanyard
            .federated_identities(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert!(["a-1", "b-2"].contains(&ids[0].federation_id.as_str()));
    })
    .await;
}

#[tokio::test]
async fn invitations_are_sent_resent_and_listed_with_their_status() {
    TestApp::each_store(|app| async move {
        portal_connection(&app, "acme").await;
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let base = format!("/admin/t/acme/users/{jo}");
        let csrf = csrf_of(&app.get(&base, Some(&cookie)).await);
        let res = app
            .form(
                &format!("{base}/invite"),
                &cookie,
                &[("csrf_token", &csrf), ("connection", "portal")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(location(&res), format!("{base}?done=invitation-sent"));
        let page = app.get(&base, Some(&cookie)).await;
        assert!(
            page.text().contains("data-status=\"pending\""),
            "{}",
            page.text()
        );
        assert!(page.text().contains("data-sso-state=\"invited\""));
        // Re-send (twice at once): still one open invitation, each send audited.
        let invite = format!("{base}/invite");
        let fields = [("csrf_token", csrf.as_str()), ("connection", "portal")];
        let (r1, r2) = tokio::join!(
            app.form(&invite, &cookie, &fields),
            app.form(&invite, &cookie, &fields)
        );
        assert_eq!(
            (r1.status, r2.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        let (all, _) = app
            .lanyard
            .list_invitations(&Ctx::cli(), "acme", None, None)
            .await
            .unwrap();
        assert_eq!(all.iter().filter(|i| i.user_id == jo).count(), 1, "{all:?}");
        assert!(events(&app, "acme", "invitation.sent").await.len() >= 2);
        // The invitations page lists it; "invite everyone" goes through the same function.
        let page = app.get("/admin/t/acme/invitations", Some(&cookie)).await;
        assert!(page.text().contains("data-status=\"pending\""));
        let res = app
            .form(
                "/admin/t/acme/invitations",
                &cookie,
                &[("csrf_token", &csrf), ("connection", "portal")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        // An unknown connection is refused with its code.
        let res = app
            .form(
                &format!("{base}/invite"),
                &cookie,
                &[("csrf_token", &csrf), ("connection", "nope")],
            )
            .await;
        assert!(res.status.is_client_error(), "{}", res.text());
    })
    .await;
}

#[tokio::test]
async fn sessions_and_api_tokens_are_revoked_from_the_users_page() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let jo_cookie = app.sign_in("acme", "jo", PW).await;
        assert_eq!(
            app.get("/t/acme/session", Some(&jo_cookie)).await.status,
            StatusCode::OK
        );
        let (tok, _) = app
            .lanyard
            .create_api_token(
                &Ctx::cli(),
                "acme",
                &jo,
                proto::CreateApiToken {
                    name: "laptop".into(),
                    expires_in_days: None,
                },
            )
            .await
            .unwrap();
        let base = format!("/admin/t/acme/users/{jo}");
        let page = app.get(&base, Some(&cookie)).await;
        let csrf = csrf_of(&page);
        let html = page.text();
        assert!(html.contains(&format!("data-token=\"{}\"", tok.id)));
        let sid = {
            let at = html
                .find("data-session=\"")
                .expect("the live session is listed");
            let rest = &html[at + 14..];
            rest[..rest.find('"').unwrap()].to_owned()
        };
        // A session of another user cannot be ended through this user's page.
        let ada = app.user_id("acme", "ada").await;
        let res = app
            .form(
                &format!("/admin/t/acme/users/{ada}/sessions/{sid}/revoke"),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get("/t/acme/session", Some(&jo_cookie)).await.status,
            StatusCode::OK
        );
        let res = app
            .form(
                &format!("{base}/sessions/{sid}/revoke"),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(
            app.get("/t/acme/session", Some(&jo_cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert!(!events(&app, "acme", "session.revoked").await.is_empty());
        let res = app
            .form(
                &format!("{base}/tokens/{}/revoke", tok.id),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let live = app
            .lanyard
            .list_api_tokens(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert!(live.iter().all(|t| t.revoked_at.is_some()));
        assert_eq!(events(&app, "acme", "api_token.revoked").await.len(), 1);
        // End all sessions.
        let _again = app.sign_in("acme", "jo", PW).await;
        let res = app
            .form(
                &format!("{base}/sessions/revoke"),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let (live, _) = app
            .lanyard
            .list_sessions(&Ctx::cli(), "acme", Some(&jo), false, None, None)
            .await
            .unwrap();
        assert!(live.is_empty());
    })
    .await;
}

#[tokio::test]
async fn password_change_at_next_sign_in_and_a_reset_link_shown_once() {
    TestApp::each_store(|app| async move {
        let cookie = admin_cookie(&app, "acme", "ada").await;
        let jo = app.user_id("acme", "jo").await;
        let base = format!("/admin/t/acme/users/{jo}");
        let csrf = csrf_of(&app.get(&base, Some(&cookie)).await);
        let res = app
            .form(
                &format!("{base}/require-password-change"),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let (_, u) = app
            .lanyard
            .get_user(&Ctx::cli(), "acme", &jo)
            .await
            .unwrap();
        assert!(u.must_change_password);
        assert_eq!(
            events(&app, "acme", "user.password_change_required")
                .await
                .len(),
            1
        );
        assert!(
            app.get(&base, Some(&cookie))
                .await
                .text()
                .contains("data-must-change")
        );
        let res = app
            .form(
                &format!("{base}/reset-link"),
                &cookie,
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert!(
            res.text()
                .contains("data-reset-link>http://127.0.0.1:8080/t/acme/"),
            "{}",
            res.text()
        );
        assert_eq!(
            events(&app, "acme", "user.password_reset_link_created")
                .await
                .len(),
            1
        );
        // Not shown again.
        assert!(
            !app.get(&base, Some(&cookie))
                .await
                .text()
                .contains("data-reset-link")
        );
    })
    .await;
}
