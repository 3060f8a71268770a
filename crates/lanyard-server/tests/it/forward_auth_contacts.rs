//! Forward-auth, second part, through the router: registered contacts signing in by an emailed
//! link (admin API for contacts, the link page that never tells whether an email is
//! registered, mail in English or Japanese, the site's callback), the warning with the number
//! of contacts who lose access (dry run, then confirmed), the signed identity JWT verified with
//! the JWKS (and never passed through from the client), and Traefik's forwarding headers.

use crate::forward_auth::{PROXY, check, hdr, setup, site_cookie};
use crate::harness::{Res, TestApp, method, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

const HOST: &str = "docs.acme.example";

/// Asks for a link on Lanyard's page as a browser would (form, CSRF cookie, language).
async fn ask_link(app: &TestApp, location: &str, email: &str, lang: &str) -> Res {
    let path = location.strip_prefix("http://127.0.0.1:8080").unwrap();
    let page = app.get(path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(
        hdr(&page, "cache-control"),
        Some("private, no-store"),
        "the form is never cached"
    );
    let csrf = page.cookie_value(app.csrf_cookie_name()).unwrap();
    let html = page.text();
    let field = |name: &str| {
        let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        html[at..].split('"').next().unwrap().replace("&#x2f;", "/")
    };
    let body = [
        ("csrf_token", csrf.clone()),
        ("site", field("site")),
        ("return_to", field("return_to")),
        ("email", email.to_owned()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", urlencode(v)))
    .collect::<Vec<_>>()
    .join("&");
    app.send(
        Request::post("/content/link")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("{}={csrf}", app.csrf_cookie_name()))
            .header(header::ACCEPT_LANGUAGE, lang)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let r = app
        .api(method("GET"), "/api/v1/tenants/acme/outbox", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

/// Follows the emailed link to the site's callback (Host: the site); returns the cookie.
async fn follow_link(app: &TestApp, body: &str) -> Res {
    let at = body
        .find(&format!("http://{HOST}/_lanyard/callback?link="))
        .unwrap();
    let url = body[at..].split_whitespace().next().unwrap();
    let path = url.strip_prefix(&format!("http://{HOST}")).unwrap();
    app.send(
        Request::get(path)
            .header(header::HOST, HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn registered_contacts_sign_in_by_an_emailed_link_and_reach_registration_content_only() {
    let s = setup().await;
    let app = &s.app;
    // Register two contacts through the admin API (one by CSV).
    let r = app
        .api(
            method("PUT"),
            &format!("/api/v1/tenants/acme/sites/{HOST}/contacts/Ann@Example.com"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = app
        .api(
            method("POST"),
            &format!("/api/v1/tenants/acme/sites/{HOST}/contacts/import"),
            Some(json!({"csv": "email\nbo@example.com\nbad\n"})),
            None,
        )
        .await;
    assert_eq!(r.json()["added"], 1);
    assert_eq!(r.json()["errors"][0]["line"], 3);
    let r = app
        .api(
            method("GET"),
            &format!("/api/v1/tenants/acme/sites/{HOST}/contacts"),
            None,
            None,
        )
        .await;
    let emails: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, ["ann@example.com", "bo@example.com"]);
    let r = app
        .api(
            method("DELETE"),
            &format!("/api/v1/tenants/acme/sites/{HOST}/contacts/nobody@example.com"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "content.contact_not_found")
    );

    // The proxy's 401 names the link page; it keeps the page asked for.
    let first = check(app, PROXY, "/kb/a?ref=mail", None, &[]).await;
    assert_eq!(first.code(), "content.registration_sign_in");
    let loc = hdr(&first, "location").unwrap().to_owned();
    assert!(loc.contains("return_to=%2Fkb%2Fa%3Fref%3Dmail"), "{loc}");

    // Attack: probing which emails are registered. Same page, same words, nothing sent.
    // (Both in Japanese: the answer is in the asker's language.)
    let unknown = ask_link(app, &loc, "eve@example.com", "ja").await;
    let known = ask_link(app, &loc, "ann@example.com", "ja-JP,ja;q=0.9,en;q=0.5").await;
    assert_eq!(unknown.status, StatusCode::OK, "{}", unknown.text());
    assert_eq!(known.status, unknown.status);
    assert_eq!(
        known.text().replace("ann@example.com", "X"),
        unknown.text().replace("eve@example.com", "X"),
        "the answer does not tell whether an email is registered"
    );
    let mail = outbox(app).await;
    assert_eq!(mail.len(), 1, "only the registered contact got mail");
    assert_eq!(mail[0]["to"], "ann@example.com");
    let subject = mail[0]["subject"].as_str().unwrap();
    assert!(subject.contains("サインインリンク"), "Japanese: {subject}");
    let body = mail[0]["body"].as_str().unwrap().to_owned();
    // An English browser gets English mail.
    ask_link(app, &loc, "bo@example.com", "en-GB").await;
    let mail = outbox(app).await;
    let bo = mail.iter().find(|m| m["to"] == "bo@example.com").unwrap();
    assert!(
        bo["subject"]
            .as_str()
            .unwrap()
            .starts_with("Your sign-in link")
    );
    // Attack: a cross-site form post without the CSRF cookie is refused and sends nothing.
    let site_id = app
        .lanyard
        .store
        .site_by_host(HOST)
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = app
        .send(
            Request::post("/content/link")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "site={site_id}&email=ann%40example.com&csrf_token=forged"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.text().contains("data-code=\"request.csrf_invalid\""),
        "{}",
        r.text()
    );
    assert_eq!(outbox(app).await.len(), 2);

    // The link ends on the site's own host: a host-only cookie, back to the page asked for.
    let cb = follow_link(app, &body).await;
    assert!(cb.status.is_redirection(), "{}", cb.text());
    assert_eq!(hdr(&cb, "location"), Some("/kb/a?ref=mail"));
    let set = cb.set_cookies().join("; ");
    assert!(
        set.contains("HttpOnly") && !set.to_lowercase().contains("domain="),
        "{set}"
    );
    let cookie = format!("lanyard_site={}", cb.cookie_value("lanyard_site").unwrap());
    // Attack: replaying the link.
    let again = follow_link(app, &body).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text());
    assert!(
        again.text().contains("content.link_invalid"),
        "{}",
        again.text()
    );

    let r = check(app, PROXY, "/kb/a", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(hdr(&r, "x-lanyard-user").unwrap().starts_with("contact:"));
    assert_eq!(hdr(&r, "x-lanyard-email"), Some("ann@example.com"));
    assert_eq!(hdr(&r, "cache-control"), Some("private, no-store"));
    // A contact is not an SSO visitor: SSO content still sends them to SSO.
    let r = check(app, PROXY, "/guide", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(hdr(&r, "location").unwrap().contains("/content/signin?"));

    // Requiring SSO on the registration article: a dry run shows the number of contacts who
    // lose access and changes nothing…
    let put = |dry: bool| json!({"kind": "article", "paths": ["/kb/a"], "audience": "sso", "dry_run": dry});
    let path = format!("/api/v1/tenants/acme/sites/{HOST}/resources");
    let r = app.api(method("PUT"), &path, Some(put(true)), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let w = &r.json()["warnings"][0];
    assert_eq!(r.json()["applied"], false);
    assert_eq!(w["code"], "content.registration_contacts_lose_access");
    assert_eq!(w["contacts"], 2);
    assert_eq!(w["paths"], json!(["/kb/a"]));
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .starts_with("2 registered contact(s)")
    );
    assert_eq!(
        check(app, PROXY, "/kb/a", Some(&cookie), &[]).await.status,
        StatusCode::OK,
        "a dry run changes nothing"
    );
    // …confirming says it again, and the contact loses access at once.
    let r = app.api(method("PUT"), &path, Some(put(false)), None).await;
    assert_eq!(r.json()["applied"], true);
    assert_eq!(r.json()["warnings"][0]["contacts"], 2);
    let r = check(app, PROXY, "/kb/a", Some(&cookie), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "content.sign_in_required");
}

#[tokio::test]
async fn the_identity_jwt_verifies_with_the_jwks_and_a_client_copy_never_passes() {
    let s = setup().await;
    let app = &s.app;
    let (_, cookie) = site_cookie(&s, "/guide").await;
    let forged = [(
        "x-lanyard-identity",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
    )];
    // Off by default: the header is there, empty, whatever the client sent.
    let r = check(app, PROXY, "/guide", Some(&cookie), &forged).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(hdr(&r, "x-lanyard-identity"), Some(""));
    // Turned on for the site.
    let r = app
        .api(
            method("PATCH"),
            &format!("/api/v1/tenants/acme/sites/{HOST}"),
            Some(json!({"connection": "okta", "sso_enabled": true, "identity_jwt": true})),
            None,
        )
        .await;
    assert_eq!(r.json()["site"]["identity_jwt"], true, "{}", r.text());
    let r = check(app, PROXY, "/guide", Some(&cookie), &forged).await;
    let jwt = hdr(&r, "x-lanyard-identity").unwrap().to_owned();
    assert_ne!(jwt, forged[0].1);
    // The app verifies it with the provider's JWKS, for its own host as audience.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&app.get("/oauth2/jwks", None).await.body).unwrap();
    let head = jsonwebtoken::decode_header(&jwt).unwrap();
    let jwk = jwks.find(head.kid.as_deref().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(head.alg);
    v.set_audience(&[HOST]);
    v.set_issuer(&["http://127.0.0.1:8080"]);
    // The test clock is frozen in 2026-12; check expiry against it, not the wall clock.
    v.validate_exp = false;
    let claims: Value =
        jsonwebtoken::decode(&jwt, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], app.user_id("acme", "jo").await);
    assert_eq!(claims["email"], "jo@acme.test");
    assert_eq!(claims["aud"], HOST);
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(ttl > 0 && ttl <= 60, "{ttl}");
    assert_eq!(claims["iat"].as_i64().unwrap(), app.lanyard.now());
    // Attack: a token for another site does not verify here.
    let mut other = v.clone();
    other.set_audience(&["blog.acme.example"]);
    assert!(
        jsonwebtoken::decode::<Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &other
        )
        .is_err()
    );
    // Anonymous (public page) answers carry no identity, only the empty header.
    let r = check(app, PROXY, "/pricing", None, &forged).await;
    assert_eq!(hdr(&r, "x-lanyard-identity"), Some(""));
}

/// Traefik is not packaged in Debian, so it is not run as a peer: its `forwardAuth` request
/// shape (`X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`, no `X-Original-URI`) is covered here.
#[tokio::test]
async fn traefik_forward_auth_headers_are_read_and_non_get_requests_are_not_redirected() {
    let s = setup().await;
    let app = &s.app;
    let traefik = |m: &'static str, uri: &'static str, cookie: Option<String>| {
        let mut b = Request::get("/auth/check")
            .header(header::HOST, "lanyard:8080")
            .header("x-forwarded-method", m)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", HOST)
            .header("x-forwarded-uri", uri)
            .header("x-forwarded-for", "203.0.113.9");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        app.send_from(PROXY, b.body(Body::empty()).unwrap())
    };
    let r = traefik("GET", "/guide?tab=2", None).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    assert!(
        hdr(&r, "location")
            .unwrap()
            .ends_with("return_to=%2Fguide%3Ftab%3D2")
    );
    // A POST without a session: 401 (a redirect would turn it into a GET and lose its body).
    let r = traefik("POST", "/guide", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "content.sign_in_required");
    let (_, cookie) = site_cookie(&s, "/guide").await;
    for m in ["GET", "HEAD", "POST"] {
        let r = traefik(m, "/guide", Some(cookie.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{m}");
        assert_eq!(hdr(&r, "x-lanyard-email"), Some("jo@acme.test"));
    }
    let r = traefik("GET", "/pricing", None).await;
    assert_eq!(r.status, StatusCode::OK);
}
