//! Console pages for private content (sites, resources, registered contacts, lists): each page
//! for an admin, refusals (non-admin, another tenant's admin, signed out), CSRF on every form,
//! each action's effect in the store and its audit event, the dry-run confirmation before a
//! change the core warns about, a page in Japanese, and racing adds.

use crate::console_users::{admin_cookie, csrf_of, events, location};
use crate::harness::{PW, Res, TestApp};
use axum::http::StatusCode;
use lanyard_core::Ctx;
use lanyard_core::content::decide::{Audience, ResourceKind};
use serde_json::json;

const HOST: &str = "docs.acme.example";
const SITE: &str = "/admin/t/acme/sites/docs.acme.example";

/// An admin of acme with an SSO connection `okta` and the site `HOST` on it; the admin's
/// cookie and CSRF token.
async fn with_site(app: &TestApp) -> (String, String) {
    crate::saml::connection(app, "acme", "okta", json!({})).await;
    let cookie = admin_cookie(app, "acme", "ada").await;
    let csrf = csrf_of(&app.get("/admin/t/acme/sites", Some(&cookie)).await);
    let res = app
        .form(
            "/admin/t/acme/sites",
            &cookie,
            &[
                ("csrf_token", &csrf),
                ("host", "Docs.Acme.Example"),
                ("connection", "okta"),
                ("sso_enabled", "false"),
                ("sso_enabled", "true"),
                ("identity_jwt", "false"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(location(&res), format!("{SITE}?done=site-created"));
    (cookie, csrf)
}

async fn resources(app: &TestApp) -> Vec<(String, String, String)> {
    app.lanyard
        .site_resources(&Ctx::cli(), "acme", HOST)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.path, r.kind, r.audience))
        .collect()
}

async fn sso_on(app: &TestApp) -> bool {
    app.lanyard
        .admin_site(&Ctx::cli(), "acme", HOST)
        .await
        .unwrap()
        .sso_enabled
}

fn ok_redirect(res: &Res, to: &str) {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(location(res), to);
}

#[tokio::test]
async fn sites_are_listed_created_and_show_their_settings_and_proxy_snippets() {
    TestApp::each_store(|app| async move {
        let (cookie, _) = with_site(&app).await;
        let site = app
            .lanyard
            .admin_site(&Ctx::cli(), "acme", HOST)
            .await
            .unwrap();
        assert!(site.sso_enabled && !site.identity_jwt && site.connection_id.is_some());
        assert_eq!(events(&app, "acme", "content.site_created").await.len(), 1);
        // Audited as the admin who clicked, like the API call with their key.
        let rows = app
            .lanyard
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                kind: Some("content.site_created".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let ada = app.user_id("acme", "ada").await;
        assert_eq!(rows[0].actor, format!("user:{ada}"));
        let page = app.get("/admin/t/acme/sites", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        assert!(
            html.contains("href=\"/admin/t/acme/sites\" aria-current=\"page\""),
            "{html}"
        );
        assert!(html.contains(&format!("data-site=\"{HOST}\"")), "{html}");
        assert!(html.contains("data-sso=\"true\"") && html.contains("data-jwt=\"false\""));
        assert!(html.contains("<td>okta</td>"), "{html}");
        let page = app
            .get(&format!("{SITE}?done=site-created"), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        assert!(html.contains("data-notice>Site added."), "{html}");
        assert!(html.contains("<option value=\"okta\" selected>"), "{html}");
        // The snippets point at this Lanyard's /auth/check, as the proxy tests configure them.
        assert!(html.contains("auth_request /_lanyard_auth;"), "{html}");
        assert!(
            html.contains("proxy_pass http://127.0.0.1:8080/auth/check;"),
            "{html}"
        );
        assert!(html.contains("forward_auth 127.0.0.1:8080 {"), "{html}");
        assert!(html.contains(&format!("server_name {HOST};")));
        // The same host twice: refused with its code, nothing added.
        let csrf = csrf_of(&page);
        let res = app
            .form(
                "/admin/t/acme/sites",
                &cookie,
                &[("csrf_token", &csrf), ("host", HOST)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
        assert!(res.text().contains("data-code=\"content.host_taken\""));
        assert_eq!(
            app.lanyard
                .list_sites(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .len(),
            1
        );
        // Identity JWT on, no warning: applied at once.
        let res = app
            .form(
                SITE,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("connection", "okta"),
                    ("sso_enabled", "true"),
                    ("identity_jwt", "true"),
                ],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=site-saved"));
        let site = app
            .lanyard
            .admin_site(&Ctx::cli(), "acme", HOST)
            .await
            .unwrap();
        assert!(site.identity_jwt && site.sso_enabled);
        assert_eq!(events(&app, "acme", "content.site_updated").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn turning_sso_off_shows_the_warnings_first_and_applies_only_when_confirmed() {
    TestApp::each_store(|app| async move {
        let (cookie, csrf) = with_site(&app).await;
        let list = app
            .lanyard
            .create_list(&Ctx::cli(), "acme", "partners")
            .await
            .unwrap();
        // Resources through the console: two SSO pages at once, a blog for a list.
        let res = app
            .form(
                &format!("{SITE}/resources"),
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("kind", "page"),
                    ("paths", "/guide\r\n/faq\n"),
                    ("audience", "sso"),
                ],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=resources-saved"));
        let res = app
            .form(
                &format!("{SITE}/resources"),
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("kind", "blog"),
                    ("paths", "/blog"),
                    ("audience", "sso_lists"),
                    ("lists", &list.id),
                ],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=resources-saved"));
        assert_eq!(
            resources(&app).await,
            vec![
                ("/blog".into(), "blog".into(), "sso_lists".into()),
                ("/faq".into(), "page".into(), "sso".into()),
                ("/guide".into(), "page".into(), "sso".into()),
            ]
        );
        assert_eq!(events(&app, "acme", "content.resource_set").await.len(), 3);
        let page = app.get(SITE, Some(&cookie)).await;
        assert!(page.text().contains("data-resource=\"/blog\""));
        assert!(page.text().contains("partners</span>"), "{}", page.text());
        // SSO off: the confirmation page lists both warnings with their counts; nothing changes.
        let off = [
            ("csrf_token", csrf.as_str()),
            ("connection", "okta"),
            ("sso_enabled", "false"),
            ("identity_jwt", "false"),
        ];
        let res = app.form(SITE, &cookie, &off).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let html = res.text();
        assert!(
            html.contains("data-warning=\"content.sso_off_makes_public\" data-count=\"2\""),
            "{html}"
        );
        assert!(html.contains("data-warning=\"content.sso_off_closes_lists\" data-count=\"1\""));
        assert!(
            html.contains("2 SSO-required resources become public"),
            "{html}"
        );
        assert!(html.contains("<code>/guide</code>") && html.contains("<code>/blog</code>"));
        assert!(html.contains("name=\"confirm\" value=\"yes\""));
        assert!(html.contains("name=\"sso_enabled\" value=\"false\""));
        assert!(sso_on(&app).await);
        assert!(
            events(&app, "acme", "content.site_updated")
                .await
                .is_empty()
        );
        // Confirmed: applied and audited.
        let mut confirmed = off.to_vec();
        confirmed.push(("confirm", "yes"));
        let res = app.form(SITE, &cookie, &confirmed).await;
        ok_redirect(&res, &format!("{SITE}?done=site-saved"));
        assert!(!sso_on(&app).await);
        assert_eq!(events(&app, "acme", "content.site_updated").await.len(), 1);
        // On again: no warning, applied directly; the audiences were kept.
        let res = app
            .form(
                SITE,
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("connection", "okta"),
                    ("sso_enabled", "true"),
                ],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=site-saved"));
        assert!(sso_on(&app).await);
        assert_eq!(resources(&app).await.len(), 3);
        // Removing a resource: gone, audited; removing it again is refused with its code.
        let rm = [("csrf_token", csrf.as_str()), ("path", "/faq")];
        let res = app
            .form(&format!("{SITE}/resources/remove"), &cookie, &rm)
            .await;
        ok_redirect(&res, &format!("{SITE}?done=resource-removed"));
        assert_eq!(resources(&app).await.len(), 2);
        assert_eq!(
            events(&app, "acme", "content.resource_removed").await.len(),
            1
        );
        let res = app
            .form(&format!("{SITE}/resources/remove"), &cookie, &rm)
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(
            res.text()
                .contains("data-code=\"content.resource_not_found\"")
        );
        // A bad path: the core's refusal with its code, nothing written.
        let res = app
            .form(
                &format!("{SITE}/resources"),
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    ("kind", "article"),
                    ("paths", "kb?x=1"),
                    ("audience", "sso"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(res.text().contains("data-code=\"request.invalid_field\""));
        assert_eq!(resources(&app).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn requiring_sso_on_registration_content_warns_with_the_contact_count_first() {
    TestApp::each_store(|app| async move {
        let (cookie, csrf) = with_site(&app).await;
        app.lanyard
            .set_resources(
                &Ctx::cli(),
                "acme",
                HOST,
                ResourceKind::Article,
                &["/kb/a".to_owned()],
                Audience::Registration,
                &[],
            )
            .await
            .unwrap();
        // Contacts: one added, an import with a bad line, one removed.
        let res = app
            .form(
                &format!("{SITE}/contacts"),
                &cookie,
                &[("csrf_token", &csrf), ("email", "Reader@Example.com")],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=contact-added"));
        let res = app
            .form(
                &format!("{SITE}/contacts/import"),
                &cookie,
                &[
                    ("csrf_token", &csrf),
                    (
                        "csv",
                        "email\nb@example.com\nnot-an-email\nc@example.com,Carol\n",
                    ),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let html = res.text();
        assert!(html.contains("data-imported=\"2\""), "{html}");
        assert!(html.contains("data-import-errors=\"1\""), "{html}");
        assert!(html.contains("<li data-line=\"3\">Line 3:"), "{html}");
        assert!(html.contains("data-contact=\"reader@example.com\""));
        let res = app
            .form(
                &format!("{SITE}/contacts/remove"),
                &cookie,
                &[("csrf_token", &csrf), ("email", "c@example.com")],
            )
            .await;
        ok_redirect(&res, &format!("{SITE}?done=contact-removed"));
        let contacts: Vec<String> = app
            .lanyard
            .list_contacts(&Ctx::cli(), "acme", HOST)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.email)
            .collect();
        assert_eq!(contacts, vec!["b@example.com", "reader@example.com"]);
        assert_eq!(events(&app, "acme", "content.contact_added").await.len(), 3);
        assert_eq!(
            events(&app, "acme", "content.contact_removed").await.len(),
            1
        );
        // Requiring SSO on the article: the warning says 2 contacts lose access; nothing changes.
        let to_sso = [
            ("csrf_token", csrf.as_str()),
            ("kind", "article"),
            ("paths", "/kb/a"),
            ("audience", "sso"),
        ];
        let res = app
            .form(&format!("{SITE}/resources"), &cookie, &to_sso)
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let html = res.text();
        assert!(
            html.contains("data-warning=\"content.registration_contacts_lose_access\""),
            "{html}"
        );
        assert!(
            html.contains("2 registered contacts lose access to 1 resources"),
            "{html}"
        );
        assert_eq!(resources(&app).await[0].2, "registration");
        assert!(events(&app, "acme", "content.resource_set").await.len() == 1);
        // In Japanese, the same confirmation.
        let res = app
            .form(&format!("{SITE}/resources?lang=ja"), &cookie, &to_sso)
            .await;
        assert!(
            res.text().contains("登録済みの連絡先 2 人"),
            "{}",
            res.text()
        );
        let mut confirmed = to_sso.to_vec();
        confirmed.push(("confirm", "yes"));
        let res = app
            .form(&format!("{SITE}/resources"), &cookie, &confirmed)
            .await;
        ok_redirect(&res, &format!("{SITE}?done=resources-saved"));
        assert_eq!(resources(&app).await[0].2, "sso");
        assert_eq!(events(&app, "acme", "content.resource_set").await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn lists_are_created_renamed_filled_imported_and_deleted_unless_in_use() {
    TestApp::each_store(|app| async move {
        let (cookie, csrf) = with_site(&app).await;
        let res = app
            .form(
                "/admin/t/acme/lists",
                &cookie,
                &[("csrf_token", &csrf), ("name", "partners")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let lists = app.lanyard.list_lists(&Ctx::cli(), "acme").await.unwrap();
        assert_eq!(lists.len(), 1);
        let id = lists[0].id.clone();
        let url = format!("/admin/t/acme/lists/{id}");
        assert_eq!(location(&res), format!("{url}?done=list-created"));
        assert_eq!(events(&app, "acme", "content.list_created").await.len(), 1);
        let res = app
            .form(
                &url,
                &cookie,
                &[("csrf_token", &csrf), ("name", "customers")],
            )
            .await;
        ok_redirect(&res, &format!("{url}?done=list-renamed"));
        assert_eq!(
            app.lanyard
                .admin_list(&Ctx::cli(), "acme", &id)
                .await
                .unwrap()
                .name,
            "customers"
        );
        assert_eq!(events(&app, "acme", "content.list_renamed").await.len(), 1);
        let res = app
            .form(
                &format!("{url}/members"),
                &cookie,
                &[("csrf_token", &csrf), ("email", "Ann@Example.com")],
            )
            .await;
        ok_redirect(&res, &format!("{url}?done=member-added"));
        let res = app
            .form(
                &format!("{url}/import"),
                &cookie,
                &[("csrf_token", &csrf), ("csv", "bob@example.com\nnope\n")],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(res.text().contains("data-imported=\"1\""));
        assert!(
            res.text().contains("<li data-line=\"2\">"),
            "{}",
            res.text()
        );
        let res = app
            .form(
                &format!("{url}/members/remove"),
                &cookie,
                &[("csrf_token", &csrf), ("email", "bob@example.com")],
            )
            .await;
        ok_redirect(&res, &format!("{url}?done=member-removed"));
        let members: Vec<String> = app
            .lanyard
            .list_members(&Ctx::cli(), "acme", &id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.email)
            .collect();
        assert_eq!(members, vec!["ann@example.com"]);
        assert_eq!(events(&app, "acme", "content.member_added").await.len(), 2);
        assert_eq!(
            events(&app, "acme", "content.member_removed").await.len(),
            1
        );
        let page = app.get("/admin/t/acme/lists", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("data-list=\"customers\""));
        assert!(
            page.text().contains("data-members=\"1\""),
            "{}",
            page.text()
        );
        let page = app.get(&url, Some(&cookie)).await;
        assert!(page.text().contains("data-member=\"ann@example.com\""));
        // A resource uses the list: deleting is refused with its code and nothing goes.
        app.lanyard
            .set_resources(
                &Ctx::cli(),
                "acme",
                HOST,
                ResourceKind::Page,
                &["/p".to_owned()],
                Audience::SsoLists,
                std::slice::from_ref(&id),
            )
            .await
            .unwrap();
        let del = [("csrf_token", csrf.as_str())];
        let res = app.form(&format!("{url}/delete"), &cookie, &del).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
        assert!(res.text().contains("data-code=\"content.list_in_use\""));
        assert_eq!(
            app.lanyard
                .list_lists(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .len(),
            1
        );
        // Once unused, deleted with its members, audited.
        app.lanyard
            .remove_resource(&Ctx::cli(), "acme", HOST, "/p")
            .await
            .unwrap();
        let res = app.form(&format!("{url}/delete"), &cookie, &del).await;
        ok_redirect(&res, "/admin/t/acme/lists?done=list-deleted");
        assert!(
            app.lanyard
                .list_lists(&Ctx::cli(), "acme")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(events(&app, "acme", "content.list_deleted").await.len(), 1);
        let res = app.get(&url, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(res.text().contains("data-code=\"content.list_not_found\""));
    })
    .await;
}

#[tokio::test]
async fn content_pages_refuse_non_admins_other_tenants_admins_and_the_signed_out() {
    TestApp::each_store(|app| async move {
        let (_, _) = with_site(&app).await;
        let list = app
            .lanyard
            .create_list(&Ctx::cli(), "acme", "partners")
            .await
            .unwrap();
        let member = app.sign_in("acme", "jo", PW).await;
        let other_admin = admin_cookie(&app, "other", "ola").await;
        let pages = [
            "/admin/t/acme/sites".to_owned(),
            SITE.to_owned(),
            "/admin/t/acme/lists".to_owned(),
            format!("/admin/t/acme/lists/{}", list.id),
        ];
        for p in &pages {
            let res = app.get(p, Some(&member)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{p}");
            assert!(res.text().contains("console.not_admin"), "{p}");
            let res = app.get(p, Some(&other_admin)).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{p}");
            assert!(
                !res.text().contains(HOST) && !res.text().contains("partners"),
                "{p}"
            );
            let res = app.get(p, None).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{p}");
            assert!(location(&res).starts_with("/login?return_to="), "{p}");
        }
        // The other admin's own valid token does not make a form on acme work.
        let own = app.get("/admin/t/other/sites", Some(&other_admin)).await;
        assert_eq!(own.status, StatusCode::OK);
        let res = app
            .form(
                &format!("{SITE}/contacts"),
                &other_admin,
                &[("csrf_token", &csrf_of(&own)), ("email", "x@example.com")],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(
            app.lanyard
                .list_contacts(&Ctx::cli(), "acme", HOST)
                .await
                .unwrap()
                .is_empty()
        );
        // Another tenant's site is not found through this tenant's pages.
        let res = app
            .get("/admin/t/other/sites/docs.acme.example", Some(&other_admin))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(res.text().contains("data-code=\"content.site_not_found\""));
    })
    .await;
}

#[tokio::test]
async fn every_content_form_refuses_a_missing_or_forged_csrf_token_and_changes_nothing() {
    TestApp::each_store(|app| async move {
        let (cookie, _) = with_site(&app).await;
        let c = Ctx::cli();
        let list = app
            .lanyard
            .create_list(&c, "acme", "partners")
            .await
            .unwrap();
        app.lanyard
            .set_contact(&c, "acme", HOST, "r@example.com", true)
            .await
            .unwrap();
        app.lanyard
            .set_member(&c, "acme", &list.id, "m@example.com", true)
            .await
            .unwrap();
        app.lanyard
            .set_resources(
                &c,
                "acme",
                HOST,
                ResourceKind::Page,
                &["/g".to_owned()],
                Audience::Sso,
                &[],
            )
            .await
            .unwrap();
        let l = format!("/admin/t/acme/lists/{}", list.id);
        let forms = [
            "/admin/t/acme/sites".to_owned(),
            SITE.to_owned(),
            format!("{SITE}/resources"),
            format!("{SITE}/resources/remove"),
            format!("{SITE}/contacts"),
            format!("{SITE}/contacts/remove"),
            format!("{SITE}/contacts/import"),
            "/admin/t/acme/lists".to_owned(),
            l.clone(),
            format!("{l}/delete"),
            format!("{l}/members"),
            format!("{l}/members/remove"),
            format!("{l}/import"),
        ];
        let before = app.audit_kinds().await.len();
        for f in &forms {
            for token in [None, Some("forged-token")] {
                let mut fields = vec![
                    ("host", "x.acme.example"),
                    ("sso_enabled", "false"),
                    ("confirm", "yes"),
                    ("kind", "page"),
                    ("paths", "/g"),
                    ("path", "/g"),
                    ("audience", "public"),
                    ("email", "m@example.com"),
                    ("csv", "n@example.com"),
                    ("name", "renamed"),
                ];
                if let Some(t) = token {
                    fields.push(("csrf_token", t));
                }
                let res = app.form(f, &cookie, &fields).await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{f} {token:?}");
                assert!(res.text().contains("request.csrf_invalid"), "{f}");
            }
        }
        assert_eq!(app.audit_kinds().await.len(), before);
        assert!(sso_on(&app).await);
        assert_eq!(app.lanyard.list_sites(&c, "acme").await.unwrap().len(), 1);
        assert_eq!(
            resources(&app).await,
            vec![("/g".into(), "page".into(), "sso".into())]
        );
        assert_eq!(
            app.lanyard
                .list_contacts(&c, "acme", HOST)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            app.lanyard
                .admin_list(&c, "acme", &list.id)
                .await
                .unwrap()
                .name,
            "partners"
        );
        assert_eq!(
            app.lanyard
                .list_members(&c, "acme", &list.id)
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn content_pages_read_in_japanese() {
    TestApp::each_store(|app| async move {
        let (cookie, _) = with_site(&app).await;
        let page = app.get("/admin/t/acme/sites?lang=ja", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
        assert!(
            html.contains("<h1>サイト</h1>") && html.contains("サイトを追加"),
            "{html}"
        );
        let page = app.get(&format!("{SITE}?lang=ja"), Some(&cookie)).await;
        let html = page.text();
        assert!(html.contains("リバースプロキシの設定") && html.contains("登録済みの連絡先"));
        assert!(html.contains("非公開 – SSO + リスト"), "{html}");
        let page = app.get("/admin/t/acme/lists?lang=ja", Some(&cookie)).await;
        assert!(page.text().contains("リストを作成"), "{}", page.text());
    })
    .await;
}

#[tokio::test]
async fn racing_adds_of_one_resource_path_or_list_member_leave_one_row() {
    TestApp::each_store(|app| async move {
        let (cookie, csrf) = with_site(&app).await;
        let f = [
            ("csrf_token", csrf.as_str()),
            ("kind", "page"),
            ("paths", "/race"),
            ("audience", "sso"),
        ];
        let url = format!("{SITE}/resources");
        let (a, b) = tokio::join!(app.form(&url, &cookie, &f), app.form(&url, &cookie, &f));
        assert_eq!(
            (a.status, b.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        assert_eq!(
            resources(&app).await,
            vec![("/race".into(), "page".into(), "sso".into())]
        );
        let list = app
            .lanyard
            .create_list(&Ctx::cli(), "acme", "l")
            .await
            .unwrap();
        let url = format!("/admin/t/acme/lists/{}/members", list.id);
        let m = [("csrf_token", csrf.as_str()), ("email", "same@example.com")];
        let (a, b) = tokio::join!(app.form(&url, &cookie, &m), app.form(&url, &cookie, &m));
        assert_eq!(
            (a.status, b.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        let members = app
            .lanyard
            .list_members(&Ctx::cli(), "acme", &list.id)
            .await
            .unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(events(&app, "acme", "content.member_added").await.len(), 1);
        // Two contacts registered at once: one row.
        let url = format!("{SITE}/contacts");
        let (a, b) = tokio::join!(app.form(&url, &cookie, &m), app.form(&url, &cookie, &m));
        assert_eq!(
            (a.status, b.status),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
        );
        assert_eq!(
            app.lanyard
                .list_contacts(&Ctx::cli(), "acme", HOST)
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}
