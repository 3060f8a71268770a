//! Lanyard as the OpenID provider: every refusal, with the error it answers AND proof that
//! nothing was issued (no code in a redirect, no token in a body, earlier tokens revoked
//! where the attack calls for it).

use crate::harness::{PW, TestApp};
use crate::provider::*;
use axum::http::{StatusCode, header};
use std::collections::HashMap;

fn oauth_error(r: &crate::harness::Res) -> (String, String) {
    let v = r.json();
    assert!(
        v.get("access_token").is_none() && v.get("id_token").is_none(),
        "{v}"
    );
    (
        v["error"].as_str().unwrap().to_owned(),
        v["error_description"].as_str().unwrap().to_owned(),
    )
}

/// A redirect back to the app with an error, `iss` and `state`, and no code.
fn redirected_error(r: &crate::harness::Res) -> HashMap<String, String> {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let loc = location(r);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let q = query_of(&loc);
    assert!(!q.contains_key("code"), "{loc}");
    assert_eq!(q["iss"], ISSUER, "RFC 9207: iss on error responses too");
    q
}

#[tokio::test]
async fn redirect_uri_mismatches_are_shown_as_a_page_never_redirected() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    for bad in [
        "https://app.example/cb/",
        "https://app.example/cb/evil",
        "https://app.example/c",
        "https://app.example:8443/cb",
        "https://app.example/cb#frag",
        "https://APP.example/cb",
        "https://app.example/CB",
        "https://evil.example/cb",
        "http://app.example/cb",
    ] {
        let r = t
            .get(&authorize_path(&c, &[("redirect_uri", bad)]), Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.headers.get(header::LOCATION).is_none(), "{bad}");
        assert!(r.text().contains("oauth.redirect_uri_mismatch"), "{bad}");
    }
    let r = t
        .get(&authorize_path(&c, &[("redirect_uri", "")]), Some(&cookie))
        .await;
    assert!(r.headers.get(header::LOCATION).is_none());
    assert!(
        !t.audit_kinds()
            .await
            .contains(&"oauth.code_issued".to_owned())
    );
}

#[tokio::test]
async fn unknown_client_is_a_page() {
    let t = TestApp::new().await;
    let c = Client {
        id: "no-such-app".into(),
        secret: None,
    };
    let r = t.get(&authorize_path(&c, &[]), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::LOCATION).is_none());
    assert!(r.text().contains("oauth.unknown_client"));
    let r = redeem(&t, &c, "whatever").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_error(&r).0, "invalid_client");
}

#[tokio::test]
async fn wrong_secret_and_missing_secret_are_invalid_client_with_basic_challenge() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    for wrong in [
        Client {
            id: c.id.clone(),
            secret: Some("lnc_wrong".into()),
        },
        Client {
            id: c.id.clone(),
            secret: None,
        },
    ] {
        let r = redeem(&t, &wrong, &code).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
        assert!(
            r.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let (e, d) = oauth_error(&r);
        assert_eq!(e, "invalid_client");
        assert!(d.starts_with("oauth.client_auth_failed:"), "{d}");
    }
    // The code was never touched by the failed attempts: the real client still redeems it.
    assert_eq!(redeem(&t, &c, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_or_missing_pkce_verifier_issues_nothing_and_burns_the_code() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let other_verifier = "another-verifier-another-verifier-another-verifier";
    for verifier in [Some(other_verifier), None] {
        let code = code(&t, &c, &cookie, &[]).await;
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            fields.push(("code_verifier", v));
        }
        let r = token(&t, &c, &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let (e, d) = oauth_error(&r);
        assert_eq!(
            e,
            if verifier.is_some() {
                "invalid_grant"
            } else {
                "invalid_request"
            }
        );
        assert!(d.starts_with("oauth.pkce_"), "{d}");
        // The right verifier afterwards does not help: the code is gone.
        let r = redeem(&t, &c, &code).await;
        assert_eq!(oauth_error(&r).0, "invalid_grant");
    }
}

#[tokio::test]
async fn plain_pkce_and_public_client_without_pkce_are_refused_by_redirect() {
    let t = TestApp::new().await;
    let public = create_app(&t, true, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let plain = t
        .get(
            &authorize_path(
                &public,
                &[
                    ("code_challenge_method", "plain"),
                    ("code_challenge", VERIFIER),
                ],
            ),
            Some(&cookie),
        )
        .await;
    let q = redirected_error(&plain);
    assert_eq!(q["error"], "invalid_request");
    assert!(
        q["error_description"].starts_with("oauth.pkce_method"),
        "{q:?}"
    );
    assert_eq!(q["state"], "st-1");
    let none = t
        .get(
            &authorize_path(
                &public,
                &[("code_challenge", ""), ("code_challenge_method", "")],
            ),
            Some(&cookie),
        )
        .await;
    let q = redirected_error(&none);
    assert!(
        q["error_description"].starts_with("oauth.pkce_required"),
        "{q:?}"
    );
    assert!(
        !t.audit_kinds()
            .await
            .contains(&"oauth.code_issued".to_owned())
    );
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let first = redeem(&t, &c, &code).await.json();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo(&t, access).await.status, StatusCode::OK);
    let second = redeem(&t, &c, &code).await;
    let (e, d) = oauth_error(&second);
    assert_eq!(e, "invalid_grant");
    assert!(d.starts_with("oauth.code_replayed"), "{d}");
    // Everything issued from the code is revoked.
    let ui = userinfo(&t, access).await;
    assert_eq!(ui.status, StatusCode::UNAUTHORIZED);
    assert!(
        ui.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(introspect(&t, &c, access).await["active"], false);
    assert_eq!(introspect(&t, &c, refresh).await["active"], false);
    let r = token(
        &t,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(oauth_error(&r).0, "invalid_grant");
}

#[tokio::test]
async fn the_same_code_redeemed_twice_at_once_gives_exactly_one_token_response() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    for _ in 0..3 {
        let code = code(&t, &c, &cookie, &[]).await;
        let (a, b) = tokio::join!(redeem(&t, &c, &code), redeem(&t, &c, &code));
        let ok = [&a, &b]
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "{} / {}", a.text(), b.text());
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let first = redeem(&t, &c, &code).await.json();
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let next = token(
        &t,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text());
    let next = next.json();
    let r2 = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let a2 = next["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&t, &a2).await.status, StatusCode::OK);
    // r1 again: reuse. The whole family (r2 and its access token) dies.
    let reuse = token(
        &t,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    let (e, d) = oauth_error(&reuse);
    assert_eq!(e, "invalid_grant");
    assert!(d.starts_with("oauth.refresh_reused"), "{d}");
    let r = token(
        &t,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(oauth_error(&r).0, "invalid_grant");
    assert_eq!(userinfo(&t, &a2).await.status, StatusCode::UNAUTHORIZED);
    // Each step left its audit event (written in the step's own transaction).
    let kinds = t.audit_kinds().await;
    for k in [
        "oauth.code_issued",
        "oauth.code_redeemed",
        "oauth.tokens_issued",
        "oauth.tokens_refreshed",
        "oauth.refresh_reused",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn the_same_refresh_token_used_twice_at_once_gives_one_answer() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let rt = redeem(&t, &c, &code).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let f = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let (a, b) = tokio::join!(token(&t, &c, &f), token(&t, &c, &f));
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{} / {}", a.text(), b.text());
}

#[tokio::test]
async fn ending_the_session_ends_refresh_userinfo_and_introspection_at_once() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let body = redeem(&t, &c, &code).await.json();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    // The admin revokes the user's sessions.
    let uid = t.user_id("acme", "jo").await;
    t.lanyard
        .revoke_user_sessions(&lanyard_core::Ctx::cli(), "acme", &uid)
        .await
        .unwrap();
    assert_eq!(userinfo(&t, access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&t, &c, access).await["active"], false);
    assert_eq!(introspect(&t, &c, refresh).await["active"], false);
    let r = token(
        &t,
        &c,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    let (e, d) = oauth_error(&r);
    assert_eq!(e, "invalid_grant");
    assert!(d.starts_with("oauth.grant_revoked"), "{d}");
}

#[tokio::test]
async fn revocation_makes_introspection_inactive_at_once() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let body = redeem(&t, &c, &code).await.json();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&t, &c, refresh).await["active"], true);
    // Another app cannot revoke it (answer 200, nothing happens).
    let other = create_app(&t, false, None).await;
    let r = post_client(&t, "/oauth2/revoke", &other, &[("token", refresh)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(introspect(&t, &c, refresh).await["active"], true);
    let r = post_client(&t, "/oauth2/revoke", &c, &[("token", refresh)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(introspect(&t, &c, refresh).await["active"], false);
    assert_eq!(introspect(&t, &c, access).await["active"], false);
    assert_eq!(userinfo(&t, access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_the_app_may_not_serve_is_access_denied() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, Some(vec!["other"])).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let r = t.get(&authorize_path(&c, &[]), Some(&cookie)).await;
    let q = redirected_error(&r);
    assert_eq!(q["error"], "access_denied");
    assert!(
        q["error_description"].starts_with("oauth.tenant_not_allowed"),
        "{q:?}"
    );
    // Without an organisation, an app limited to one tenant goes to that tenant's sign-in.
    let r = t
        .get(&authorize_path(&c, &[("organization", "")]), Some(&cookie))
        .await;
    assert!(
        location(&r).starts_with("/t/other/login?"),
        "{}",
        location(&r)
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let r = t
        .get(&authorize_path(&c, &[("prompt", "none")]), None)
        .await;
    let q = redirected_error(&r);
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-1");
    // A session of another tenant is no session here.
    let other = t.sign_in("other", "jo", PW).await;
    let r = t
        .get(&authorize_path(&c, &[("prompt", "none")]), Some(&other))
        .await;
    assert_eq!(redirected_error(&r)["error"], "login_required");
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_for_a_fresh_sign_in() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let r = t
        .get(&authorize_path(&c, &[("prompt", "login")]), Some(&cookie))
        .await;
    let loc = location(&r);
    assert!(
        loc.starts_with("/t/acme/login?") && loc.ends_with("&prompt=login"),
        "{loc}"
    );
    // The sign-in page shows the form although a session exists.
    let page = t.get(&loc, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("password"), "{}", page.text());
    // max_age: an hour later the session is too old for max_age=60.
    t.clock.advance(3600);
    let r = t
        .get(&authorize_path(&c, &[("max_age", "60")]), Some(&cookie))
        .await;
    assert!(
        location(&r).starts_with("/t/acme/login?"),
        "{}",
        location(&r)
    );
    // …and fresh enough for max_age=7200: a code, with auth_time of the sign-in.
    let code = code(&t, &c, &cookie, &[("max_age", "7200")]).await;
    let id = redeem(&t, &c, &code).await.json();
    let claims = verify_id_token(&t, &c, id["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["auth_time"].as_i64().unwrap(), crate::harness::T0);
}

#[tokio::test]
async fn a_code_or_session_of_one_tenant_or_app_does_not_serve_another() {
    let t = TestApp::new().await;
    let acme_app = create_app(&t, false, Some(vec!["acme"])).await;
    let other_app = create_app(&t, false, Some(vec!["other"])).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    // acme's session cookie does not sign anyone in to `other`.
    let r = t
        .get(
            &authorize_path(&other_app, &[("organization", "other")]),
            Some(&cookie),
        )
        .await;
    assert!(
        location(&r).starts_with("/t/other/login?"),
        "{}",
        location(&r)
    );
    // A code issued to acme's app, redeemed by other's app: refused, and burnt.
    let code = code(&t, &acme_app, &cookie, &[]).await;
    let r = redeem(&t, &other_app, &code).await;
    let (e, d) = oauth_error(&r);
    assert_eq!(e, "invalid_grant");
    assert!(d.starts_with("oauth.code_wrong_client"), "{d}");
    assert_eq!(
        oauth_error(&redeem(&t, &acme_app, &code).await).0,
        "invalid_grant"
    );
    // A refresh token of acme's app presented by other's app: refused, and the family revoked.
    let code = crate::provider::code(&t, &acme_app, &cookie, &[]).await;
    let rt = redeem(&t, &acme_app, &code).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = token(
        &t,
        &other_app,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(oauth_error(&r).0, "invalid_grant");
    assert_eq!(introspect(&t, &acme_app, &rt).await["active"], false);
}

#[tokio::test]
async fn malformed_token_requests_are_refused_the_oauth_way() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let r = token(&t, &c, &[("grant_type", "password"), ("username", "jo")]).await;
    assert_eq!(oauth_error(&r).0, "unsupported_grant_type");
    let r = token(&t, &c, &[("code", "x")]).await;
    assert_eq!(oauth_error(&r).0, "invalid_request");
    let r = token(
        &t,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(oauth_error(&r).0, "invalid_request");
    let r = userinfo(&t, "not-a-token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let cookie = t.sign_in("acme", "jo", PW).await;
    let r = t
        .get(
            &authorize_path(&c, &[("response_type", "token")]),
            Some(&cookie),
        )
        .await;
    assert_eq!(redirected_error(&r)["error"], "unsupported_response_type");
    let r = t
        .get(&authorize_path(&c, &[("scope", "profile")]), Some(&cookie))
        .await;
    assert_eq!(redirected_error(&r)["error"], "invalid_scope");
    let r = t
        .get(
            &authorize_path(&c, &[("organization", "nope")]),
            Some(&cookie),
        )
        .await;
    assert_eq!(redirected_error(&r)["error"], "invalid_request");
    // No organisation: a page asks for it (the request's parameters kept in the form).
    let r = t
        .get(&authorize_path(&c, &[("organization", "")]), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("name=\"organization\""), "{}", r.text());
    assert!(r.text().contains(&c.id));
}
