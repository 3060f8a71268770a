//! Lanyard as the OpenID provider, on both stores: apps, signing keys (sealed, rotated, kept
//! while their tokens live), single-use codes and rotating refresh tokens under races, and the
//! back-channel logout queued by every way a session ends.

use crate::harness::{Env, each_backend, meta};
use lanyard_core::model::SessionView;
use lanyard_core::provider::apps::App;
use lanyard_core::provider::authorize::{AuthorizeParams, Decision, validate};
use lanyard_core::provider::keys::RETIRED_KEY_KEEP_SECS;
use lanyard_core::provider::pkce::challenge_of;
use lanyard_core::{Ctx, Error};
use lanyard_proto as proto;

const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "core-verifier-core-verifier-core-verifier-core-0001";

async fn setup(e: &Env, backchannel: Option<&str>) -> (App, Option<String>, SessionView) {
    let l = &e.lanyard;
    let c = Ctx::cli();
    l.create_tenant(
        &c,
        proto::CreateTenant {
            slug: "acme".into(),
            name: "Acme".into(),
            session_lifetime_secs: None,
        },
    )
    .await
    .unwrap();
    let u = l
        .create_user(
            &c,
            "acme",
            proto::CreateUser {
                collaborator: false,
                username: "jo".into(),
                email: Some("jo@acme.test".into()),
                display_name: None,
                role: Some("standard".into()),
                password: None,
                super_admin: false,
            },
        )
        .await
        .unwrap();
    let (app, secret) = l
        .create_app(
            &c,
            proto::CreateApp {
                name: "App".into(),
                redirect_uris: vec![REDIRECT.into()],
                backchannel_logout_uri: backchannel.map(str::to_owned),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let session = open(e, &u.id).await;
    (app, secret, session)
}

async fn open(e: &Env, user_id: &str) -> SessionView {
    let l = &e.lanyard;
    let t = l.tenant("acme").await.unwrap();
    let s = l
        .open_session(&t, user_id, "password", &meta("192.0.2.1"))
        .await
        .unwrap();
    l.session("acme", &s.token).await.unwrap()
}

async fn code(e: &Env, app: &App, s: &SessionView, scope: &str) -> String {
    let l = &e.lanyard;
    let p = AuthorizeParams {
        client_id: Some(app.id.clone()),
        redirect_uri: Some(REDIRECT.into()),
        response_type: Some("code".into()),
        scope: Some(scope.into()),
        code_challenge: Some(challenge_of(VERIFIER)),
        code_challenge_method: Some("S256".into()),
        ..Default::default()
    };
    let req = validate(app, REDIRECT, &p).unwrap();
    let t = l.tenant("acme").await.unwrap();
    match l
        .authorize_decide(app, &req, &t, Some(s.clone()), None, &meta("192.0.2.1"))
        .await
        .unwrap()
    {
        Decision::Redirect(url) => url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn apps_are_stored_listed_limited_to_tenants_and_updated_under_races() {
    each_backend(|e| async move {
        let (app, secret, _) = setup(&e, None).await;
        let l = &e.lanyard;
        let c = Ctx::cli();
        assert!(secret.as_deref().unwrap().starts_with("lnc_"));
        assert!(app.secret_matches(secret.as_deref().unwrap()) && !app.secret_matches("lnc_x"));
        let stored = l.app(&app.id).await.unwrap();
        assert_eq!(stored, app);
        let (page, next) = l.list_apps(&c, None, Some(1)).await.unwrap();
        assert_eq!((page.len(), next), (1, None));
        // Two updates at once: both succeed, the tenant list is one of the two, never merged.
        l.create_tenant(
            &c,
            proto::CreateTenant {
                slug: "b".into(),
                name: "B".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
        let upd = |t: &'static str| proto::UpdateApp {
            tenants: Some(Some(vec![t.into()])),
            ..Default::default()
        };
        let (x, y) = tokio::join!(
            l.update_app(&c, &app.id, upd("acme")),
            l.update_app(&c, &app.id, upd("b"))
        );
        x.unwrap();
        y.unwrap();
        let now = l.app(&app.id).await.unwrap();
        assert_eq!(now.tenant_ids.as_ref().map(Vec::len), Some(1), "{}", e.name);
        let wire = l.app_to_wire(&now).await.unwrap();
        assert!(matches!(wire.tenants.as_deref(), Some([t]) if t == "acme" || t == "b"));
        // Bad settings are refused with the field named.
        let bad = l
            .create_app(
                &c,
                proto::CreateApp {
                    name: "x".into(),
                    redirect_uris: vec!["http://evil.example/cb".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(bad.code(), "request.invalid_field");
        l.delete_app(&c, &app.id).await.unwrap();
        assert_eq!(
            l.app(&app.id).await.unwrap_err().code(),
            "oauth.unknown_client"
        );
    })
    .await;
}

#[tokio::test]
async fn signing_keys_are_sealed_rotated_and_kept_while_their_tokens_live() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        // Two nodes asking for the first keys at once: both can sign, the JWKS has every key.
        let other = l.clone();
        let (a, b) = tokio::join!(l.provider_keys(), other.provider_keys());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.signing.len(), 2);
        assert_eq!(b.signing.len(), 2);
        let rows = l.store.signing_keys(l.now()).await.unwrap();
        for r in &rows {
            assert!(
                r.sealed_private_key.starts_with("v1:")
                    && !r.sealed_private_key.contains("PRIVATE")
            );
            assert!(!r.public_jwk.contains("\"d\""));
        }
        let before: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let new = l.rotate_signing_keys(&Ctx::cli()).await.unwrap();
        let keys = l.provider_keys().await.unwrap();
        for (kid, _) in &new {
            assert!(keys.signing.iter().any(|k| &k.kid == kid), "{kid} signs");
        }
        let published = |k: &lanyard_core::provider::keys::KeySet| -> Vec<String> {
            k.jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        for old in &before {
            assert!(published(&keys).contains(old), "{old} still published");
        }
        e.clock.advance(RETIRED_KEY_KEEP_SECS + 1);
        l.provider_key_cache().clear();
        let later = l.provider_keys().await.unwrap();
        for old in &before {
            assert!(
                !published(&later).contains(old),
                "{old} dropped after its tokens expired"
            );
        }
        // The schedule rotates only keys older than the limit.
        assert!(!l.rotate_signing_keys_if_due(86_400).await.unwrap());
        e.clock.advance(86_400);
        assert!(l.rotate_signing_keys_if_due(86_400).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn a_code_redeemed_twice_at_once_issues_tokens_once_and_revokes_them() {
    each_backend(|e| async move {
        let (app, _, s) = setup(&e, None).await;
        let l = &e.lanyard;
        let m = meta("192.0.2.1");
        let c1 = code(&e, &app, &s, "openid offline_access").await;
        let (a, b) = tokio::join!(
            l.exchange_code(&app, &c1, Some(REDIRECT), Some(VERIFIER), &m),
            l.exchange_code(&app, &c1, Some(REDIRECT), Some(VERIFIER), &m)
        );
        let winners: Vec<_> = [&a, &b]
            .into_iter()
            .filter_map(|r| r.as_ref().ok())
            .collect();
        assert_eq!(winners.len(), 1, "{}: {a:?} / {b:?}", e.name);
        let loser = [a.as_ref().err(), b.as_ref().err()]
            .into_iter()
            .flatten()
            .next()
            .unwrap();
        assert_eq!(loser.code(), "oauth.code_replayed");
        // The replay revoked the winner's grant.
        let rt = winners[0].refresh_token.clone().unwrap();
        assert_eq!(
            l.refresh(&app, &rt, None, &m).await.unwrap_err().code(),
            "oauth.grant_revoked"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refresh_token_used_twice_at_once_rotates_once() {
    each_backend(|e| async move {
        let (app, _, s) = setup(&e, None).await;
        let l = &e.lanyard;
        let m = meta("192.0.2.1");
        let c1 = code(&e, &app, &s, "openid offline_access").await;
        let first = l
            .exchange_code(&app, &c1, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        let rt = first.refresh_token.unwrap();
        let (a, b) = tokio::join!(
            l.refresh(&app, &rt, None, &m),
            l.refresh(&app, &rt, None, &m)
        );
        let ok = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{}: {a:?} / {b:?}", e.name);
        // Without offline_access there is no refresh token at all.
        let c2 = code(&e, &app, &s, "openid").await;
        let r = l
            .exchange_code(&app, &c2, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        assert!(r.refresh_token.is_none());
    })
    .await;
}

#[tokio::test]
async fn every_way_a_session_ends_queues_one_back_channel_logout_per_app() {
    each_backend(|e| async move {
        let (app, _, s) = setup(&e, Some("https://app.example/bcl")).await;
        let l = &e.lanyard;
        let c = Ctx::cli();
        let m = meta("192.0.2.1");
        // A session that received tokens, logged out by the admin.
        let code1 = code(&e, &app, &s, "openid").await;
        l.exchange_code(&app, &code1, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        // A second code from the same session: still one logout for (session, app).
        let code2 = code(&e, &app, &s, "openid").await;
        l.exchange_code(&app, &code2, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        l.revoke_session(&c, "acme", &s.id).await.unwrap();
        let q = l.store.list_logouts().await.unwrap();
        assert_eq!(q.len(), 1, "{}", e.name);
        assert_eq!(
            (q[0].session_id.as_str(), q[0].uri.as_str()),
            (s.id.as_str(), "https://app.example/bcl")
        );
        // A code never redeemed gave the app nothing: no logout for that session.
        let s2 = open(&e, &s.user_id).await;
        let _unused = code(&e, &app, &s2, "openid").await;
        // A session whose tokens were received, ended by disabling the user.
        let s3 = open(&e, &s.user_id).await;
        let code3 = code(&e, &app, &s3, "openid").await;
        l.exchange_code(&app, &code3, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        l.update_user(
            &c,
            "acme",
            &s.user_id,
            proto::UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let q = l.store.list_logouts().await.unwrap();
        let sids: Vec<&str> = q.iter().map(|j| j.session_id.as_str()).collect();
        assert_eq!(sids.len(), 2, "{}: {sids:?}", e.name);
        assert!(sids.contains(&s3.id.as_str()) && !sids.contains(&s2.id.as_str()));
        // The SSO upgrade (and every other multi-row sign-in change) ends sessions through
        // `Changes`: a session whose tokens were received there is queued too.
        l.update_user(
            &c,
            "acme",
            &s.user_id,
            proto::UpdateUser {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let s4 = open(&e, &s.user_id).await;
        let code4 = code(&e, &app, &s4, "openid").await;
        l.exchange_code(&app, &code4, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        let mut ch = lanyard_core::store::Changes::at(l.now());
        ch.revoke_sessions_of.push(s.user_id.clone());
        l.store.apply(&ch).await.unwrap();
        let q = l.store.list_logouts().await.unwrap();
        assert!(
            q.iter().any(|j| j.session_id == s4.id),
            "{}: upgrade path",
            e.name
        );
        assert_eq!(q.len(), 3);
        // The logout token names the session and the user.
        let token = l.logout_token(&q[1]).await.unwrap();
        assert_eq!(token.split('.').count(), 3);
        let err = l
            .exchange_code(&app, "nope", Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Provider(_)));
    })
    .await;
}

#[tokio::test]
async fn groups_the_idp_sent_reach_the_id_token_and_userinfo() {
    each_backend(|e| async move {
        let (app, _, password_session) = setup(&e, None).await;
        let l = &e.lanyard;
        let m = meta("192.0.2.1");
        let t = l.tenant("acme").await.unwrap();
        let groups = vec!["eng".to_owned(), "admins".to_owned()];
        let new = l
            .open_session_capped(
                &t,
                &password_session.user_id,
                "saml",
                &m,
                None,
                Some(("conn-1", &groups)),
            )
            .await
            .unwrap();
        let s = l.session("acme", &new.token).await.unwrap();
        let c = code(&e, &app, &s, "openid").await;
        let tokens = l
            .exchange_code(&app, &c, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        let info = l.userinfo(&tokens.access_token).await.unwrap();
        assert_eq!(
            info["groups"],
            serde_json::json!(["eng", "admins"]),
            "{}",
            e.name
        );
        assert_eq!(info["amr"], serde_json::json!(["fed"]));
        assert_eq!(info["acr"], "urn:lanyard:acr:sso:saml");
        let payload = tokens.id_token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["groups"], serde_json::json!(["eng", "admins"]));
        // A password session has no groups claim at all.
        let c = code(&e, &app, &password_session, "openid").await;
        let tokens = l
            .exchange_code(&app, &c, Some(REDIRECT), Some(VERIFIER), &m)
            .await
            .unwrap();
        assert!(
            l.userinfo(&tokens.access_token)
                .await
                .unwrap()
                .get("groups")
                .is_none()
        );
    })
    .await;
}
