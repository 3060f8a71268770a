//! Forward-auth for private content through the router: `/auth/check` as a trusted proxy asks
//! it, the sign-in handoff to the site's own host, every audience with SSO on, off and on
//! again, list membership, header spoofing, a revoked session, cache headers and the admin
//! warnings.

use crate::harness::{Res, TestApp, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lanyard_core::Ctx;
use lanyard_core::content::decide::{Audience, ResourceKind};
use serde_json::json;

const HOST: &str = "docs.acme.example";
pub(crate) const PROXY: &str = "127.0.0.1:40000";

pub(crate) struct Site {
    pub(crate) app: TestApp,
    conn_id: String,
    list_id: String,
}

pub(crate) async fn setup() -> Site {
    let app = TestApp::new().await.with_trusted_proxies(&["127.0.0.1/32"]);
    let conn = crate::saml::connection(&app, "acme", "okta", json!({})).await;
    let conn_id = conn["id"].as_str().unwrap().to_owned();
    let c = Ctx::cli();
    let l = &app.lanyard;
    l.create_site(&c, "acme", HOST, Some("okta"), true)
        .await
        .unwrap();
    let list = l.create_list(&c, "acme", "partners").await.unwrap();
    let set = |kind, path: &'static str, aud, lists: Vec<String>| {
        let c = c.clone();
        async move {
            l.set_resources(&c, "acme", HOST, kind, &[path.to_owned()], aud, &lists)
                .await
                .unwrap()
        }
    };
    set(ResourceKind::Page, "/pricing", Audience::Public, vec![]).await;
    set(ResourceKind::Page, "/guide", Audience::Sso, vec![]).await;
    set(
        ResourceKind::Blog,
        "/blog",
        Audience::SsoLists,
        vec![list.id.clone()],
    )
    .await;
    set(
        ResourceKind::Article,
        "/kb/a",
        Audience::Registration,
        vec![],
    )
    .await;
    Site {
        app,
        conn_id,
        list_id: list.id,
    }
}

/// The proxy's subrequest, nginx style (`Host` + `X-Original-URI`).
pub(crate) async fn check(
    app: &TestApp,
    peer: &str,
    uri: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
) -> Res {
    let mut b = Request::get("/auth/check")
        .header(header::HOST, HOST)
        .header("x-original-uri", uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    app.send_from(peer, b.body(Body::empty()).unwrap()).await
}

fn cache(res: &Res) -> Option<&str> {
    res.headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
}

pub(crate) fn hdr<'a>(res: &'a Res, name: &str) -> Option<&'a str> {
    res.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Signs `jo` in through the site's connection and walks the handoff to the site's host;
/// returns the Lanyard session id and the site's `Cookie` value.
pub(crate) async fn site_cookie(s: &Site, return_to: &str) -> (String, String) {
    let app = &s.app;
    let t = app
        .lanyard
        .store
        .tenant_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    let uid = app.user_id("acme", "jo").await;
    let ns = app
        .lanyard
        .open_session_capped(
            &t,
            &uid,
            "saml",
            &Default::default(),
            None,
            Some((&s.conn_id, &[])),
        )
        .await
        .unwrap();
    let lanyard_cookie = format!("{}={}", app.session_cookie_name("acme"), ns.token);
    let first = check(app, PROXY, return_to, None, &[]).await;
    let signin = hdr(&first, "location").unwrap().to_owned();
    let signin = signin.strip_prefix("http://127.0.0.1:8080").unwrap();
    let res = app.get(signin, Some(&lanyard_cookie)).await;
    assert!(res.status.is_redirection(), "{}", res.text());
    let to = hdr(&res, "location").unwrap();
    let path = to
        .strip_prefix(&format!("http://{HOST}"))
        .unwrap_or_else(|| panic!("handoff leaves for the site's host: {to}"));
    assert!(path.starts_with("/_lanyard/callback?code="), "{path}");
    let cb = app
        .send(
            Request::get(path)
                .header(header::HOST, HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(cb.status.is_redirection(), "{}", cb.text());
    assert_eq!(
        hdr(&cb, "location"),
        Some(return_to),
        "back to the page asked for"
    );
    let set = cb.set_cookies().join("; ");
    assert!(
        set.contains("HttpOnly") && !set.to_lowercase().contains("domain="),
        "{set}"
    );
    // The code is single-use.
    let again = app
        .send(
            Request::get(path)
                .header(header::HOST, HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.status.as_u16(), 401, "{}", again.text());
    let token = cb.cookie_value("lanyard_site").unwrap();
    (ns.session.id, format!("lanyard_site={token}"))
}

#[tokio::test]
async fn every_audience_with_sso_on_off_and_on_again() {
    let s = setup().await;
    let app = &s.app;

    // Public: 200 without a session, cacheable; unlisted paths too.
    for p in ["/pricing", "/", "/about"] {
        let r = check(app, PROXY, p, None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        assert_eq!(cache(&r), None, "{p}");
        assert_eq!(
            hdr(&r, "x-lanyard-user"),
            Some(""),
            "anonymous, named as such"
        );
    }
    // SSO and SSO + lists without a session: 401 to the sign-in URL, never cached.
    for p in ["/guide", "/blog/post-1?x=1"] {
        let r = check(app, PROXY, p, None, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{p}");
        assert_eq!(cache(&r), Some("private, no-store"));
        let loc = hdr(&r, "location").unwrap();
        assert!(
            loc.starts_with("http://127.0.0.1:8080/content/signin?site=")
                && loc.ends_with(&format!("return_to={}", urlencode(p).replace("%2D", "-"))),
            "{loc}"
        );
    }
    // Registration content: 401 to the page that emails registered contacts a link.
    let r = check(app, PROXY, "/kb/a", None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "content.registration_sign_in");
    assert!(
        hdr(&r, "location")
            .unwrap()
            .starts_with("http://127.0.0.1:8080/content/link?site="),
        "{:?}",
        hdr(&r, "location")
    );

    // Signed in through the site's connection.
    let (_, cookie) = site_cookie(&s, "/guide").await;
    let r = check(app, PROXY, "/guide", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        hdr(&r, "x-lanyard-user"),
        Some(app.user_id("acme", "jo").await.as_str())
    );
    assert_eq!(hdr(&r, "x-lanyard-email"), Some("jo@acme.test"));
    assert_eq!(hdr(&r, "x-lanyard-role"), Some("standard"));
    assert_eq!(cache(&r), Some("private, no-store"));
    // Not on the list: 403; added (case folded): 200 with the list; removed: 403 again.
    let r = check(app, PROXY, "/blog/post-1", Some(&cookie), &[]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "content.not_on_list")
    );
    assert!(
        r.text().contains("ask the site's owner to add your email"),
        "a refusal says what to do: {}",
        r.text()
    );
    let c = Ctx::cli();
    assert!(
        app.lanyard
            .set_member(&c, "acme", &s.list_id, "JO@Acme.Test", true)
            .await
            .unwrap()
    );
    let r = check(app, PROXY, "/blog/post-1", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(hdr(&r, "x-lanyard-lists"), Some(s.list_id.as_str()));
    assert!(
        app.lanyard
            .set_member(&c, "acme", &s.list_id, "jo@acme.test", false)
            .await
            .unwrap()
    );
    let r = check(app, PROXY, "/blog/post-1", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.lanyard
        .set_member(&c, "acme", &s.list_id, "jo@acme.test", true)
        .await
        .unwrap();

    // SSO off: SSO content public, list content inaccessible even to members; warned first.
    let (_, warnings) = app
        .lanyard
        .update_site(&c, "acme", HOST, Some("okta"), false)
        .await
        .unwrap();
    let codes: Vec<_> = warnings.iter().map(|w| (w.code, w.paths.clone())).collect();
    assert_eq!(
        codes,
        [
            ("content.sso_off_makes_public", vec!["/guide".to_owned()]),
            ("content.sso_off_closes_lists", vec!["/blog".to_owned()]),
        ]
    );
    assert!(warnings[0].message.contains("SSO + lists"));
    let r = check(app, PROXY, "/guide", None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = check(app, PROXY, "/blog/post-1", Some(&cookie), &[]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "content.sso_off")
    );
    // SSO on again: the previous behaviour is back (settings were kept).
    let (_, warnings) = app
        .lanyard
        .update_site(&c, "acme", HOST, Some("okta"), true)
        .await
        .unwrap();
    assert!(warnings.is_empty());
    assert_eq!(
        check(app, PROXY, "/guide", None, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        check(app, PROXY, "/blog/x", Some(&cookie), &[])
            .await
            .status,
        StatusCode::OK
    );

    // Requiring SSO on registration content warns that registered contacts lose access.
    let (_, warnings) = app
        .lanyard
        .set_resources(
            &c,
            "acme",
            HOST,
            ResourceKind::Article,
            &["/kb/a".into()],
            Audience::Sso,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].code,
        "content.registration_contacts_lose_access"
    );
    assert_eq!(warnings[0].paths, ["/kb/a"]);
}

#[tokio::test]
async fn spoofed_headers_untrusted_peers_and_revoked_sessions_get_nothing() {
    let s = setup().await;
    let app = &s.app;
    let (session_id, cookie) = site_cookie(&s, "/guide").await;

    // Attack: the client asks Lanyard directly (not through the proxy) with made-up headers.
    let r = check(app, "192.0.2.99:1", "/pricing", Some(&cookie), &[]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "content.untrusted_proxy")
    );
    assert!(r.text().contains("trusted_proxies"), "{}", r.text());
    // Attack: identity headers sent by the client are never read.
    let r = check(
        app,
        PROXY,
        "/guide",
        None,
        &[
            ("x-lanyard-user", "admin"),
            ("x-lanyard-email", "boss@acme.test"),
            ("x-lanyard-lists", &s.list_id),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Attack: a forged site cookie.
    let r = check(app, PROXY, "/guide", Some("lanyard_site=forged"), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Attack: an unknown host is denied, never allowed.
    let r = app
        .send_from(
            PROXY,
            Request::get("/auth/check")
                .header(header::HOST, "evil.example")
                .header("x-original-uri", "/pricing")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "content.unknown_site")
    );
    // Attack: the sign-in's return path cannot leave the site.
    let t = app.lanyard.store.site_by_host(HOST).await.unwrap().unwrap();
    let res = app
        .get(
            &format!(
                "/content/signin?site={}&return_to={}",
                t.id,
                urlencode("//evil.example/x")
            ),
            None,
        )
        .await;
    let loc = hdr(&res, "location").unwrap_or("");
    assert!(!loc.contains("evil.example"), "{loc}");
    // Attack: a password session of the tenant is not an SSO session of the site.
    let pw = app.sign_in("acme", "jo", crate::harness::PW).await;
    let res = app
        .get(
            &format!("/content/signin?site={}&return_to=/guide", t.id),
            Some(&pw),
        )
        .await;
    assert!(
        hdr(&res, "location")
            .unwrap()
            .starts_with("/t/acme/sso/okta/start?"),
        "{:?}",
        res.headers
    );

    // A revoked session ends the site's cookie at the next check.
    assert_eq!(
        check(app, PROXY, "/guide", Some(&cookie), &[]).await.status,
        StatusCode::OK
    );
    app.lanyard
        .revoke_session(&Ctx::cli(), "acme", &session_id)
        .await
        .unwrap();
    let r = check(app, PROXY, "/guide", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(cache(&r), Some("private, no-store"));
}

#[tokio::test]
async fn caddy_style_forwarded_headers_are_read_from_the_trusted_proxy() {
    let s = setup().await;
    let r = s
        .app
        .send_from(
            PROXY,
            Request::get("/auth/check")
                .header(header::HOST, "127.0.0.1:8080")
                .header("x-forwarded-host", HOST)
                .header("x-forwarded-uri", "/guide")
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-method", "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    // Caddy and Traefik pass the answer through to the browser: a redirect, not a 401.
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    assert!(hdr(&r, "location").unwrap().contains("return_to=%2Fguide"));
    assert_eq!(cache(&r), Some("private, no-store"));
}

/// Two admins saving the same path at once leave one resource; two adds of one member, one row.
#[tokio::test]
async fn racing_resource_saves_and_member_adds_settle_on_one_row() {
    let s = setup().await;
    let l = &s.app.lanyard;
    let c = Ctx::cli();
    let path = vec!["/race".to_owned()];
    let (a, b) = tokio::join!(
        l.set_resources(
            &c,
            "acme",
            HOST,
            ResourceKind::Page,
            &path,
            Audience::Sso,
            &[]
        ),
        l.set_resources(
            &c,
            "acme",
            HOST,
            ResourceKind::Page,
            &path,
            Audience::Public,
            &[]
        ),
    );
    a.unwrap();
    b.unwrap();
    let rs = l.site_resources(&c, "acme", HOST).await.unwrap();
    assert_eq!(rs.iter().filter(|r| r.path == "/race").count(), 1);
    let (x, y) = tokio::join!(
        l.set_member(&c, "acme", &s.list_id, "ann@acme.test", true),
        l.set_member(&c, "acme", &s.list_id, "ANN@acme.test", true),
    );
    assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|v| **v).count(), 1);
}

/// The admin API: sites, bulk page audiences, warnings, lists, members and the CSV import.
#[tokio::test]
async fn admin_api_for_sites_resources_lists_and_members() {
    use axum::http::Method;
    let app = TestApp::new().await;
    crate::saml::connection(&app, "acme", "okta", json!({})).await;
    let api = |m: Method, p: &str, b: Option<serde_json::Value>| {
        let p = format!("/api/v1/tenants/acme{p}");
        let app = &app;
        async move { app.api(m, &p, b, None).await }
    };
    let r = api(
        Method::POST,
        "/sites",
        Some(json!({"host": "Docs.Acme.Example", "connection": "okta", "sso_enabled": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["host"], HOST);
    // One host belongs to one tenant.
    let r = app
        .api(
            Method::POST,
            "/api/v1/tenants/other/sites",
            Some(json!({"host": HOST})),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "content.host_taken")
    );
    let r = api(
        Method::POST,
        "/sites",
        Some(json!({"host": "x.acme.example", "connection": "nope"})),
    )
    .await;
    assert_eq!(r.code(), "connection.not_found");

    let r = api(Method::POST, "/lists", Some(json!({"name": "partners"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = r.json()["id"].as_str().unwrap().to_owned();
    let r = api(
        Method::POST,
        &format!("/lists/{list}/import"),
        Some(json!({"csv": "email\nann@acme.test\nnot-an-email\n\"BOB@acme.test\",Bob\nann@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["added"], 2);
    assert_eq!(r.json()["errors"][0]["line"], 3);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 1);
    let r = api(
        Method::PUT,
        &format!("/lists/{list}/members/jo@acme.test"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api(
        Method::DELETE,
        &format!("/lists/{list}/members/ann@acme.test"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api(Method::PUT, "/lists/no-such/members/jo@acme.test", None).await;
    assert_eq!(r.code(), "content.list_not_found");

    // Bulk audience for pages; blogs one at a time; lists only with sso_lists.
    let r = api(
        Method::PUT,
        &format!("/sites/{HOST}/resources"),
        Some(json!({"kind": "page", "paths": ["/a", "/b"], "audience": "registration"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let r = api(
        Method::PUT,
        &format!("/sites/{HOST}/resources"),
        Some(json!({"kind": "blog", "paths": ["/b1", "/b2"], "audience": "sso"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api(
        Method::PUT,
        &format!("/sites/{HOST}/resources"),
        Some(json!({"kind": "page", "paths": ["/a"], "audience": "sso_lists"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api(
        Method::PUT,
        &format!("/sites/{HOST}/resources"),
        Some(json!({"kind": "page", "paths": ["//evil"], "audience": "sso"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api(Method::PUT, &format!("/sites/{HOST}/resources"), Some(json!({"kind": "page", "paths": ["/a", "/b"], "audience": "sso_lists", "lists": [list]}))).await;
    assert_eq!(
        r.json()["warnings"][0]["code"],
        "content.registration_contacts_lose_access"
    );
    assert_eq!(r.json()["warnings"][0]["paths"], json!(["/a", "/b"]));
    let r = api(Method::GET, &format!("/sites/{HOST}/resources"), None).await;
    assert_eq!(r.json()["items"][0]["lists"], json!([list]));

    let r = api(
        Method::PATCH,
        &format!("/sites/{HOST}"),
        Some(json!({"connection": "okta", "sso_enabled": false})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["warnings"][0]["code"],
        "content.sso_off_closes_lists"
    );
    assert_eq!(r.json()["site"]["sso_enabled"], false);
    let r = api(Method::GET, "/sites", None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert!(
        app.audit_kinds()
            .await
            .iter()
            .any(|k| k == "content.member_added")
    );
}
