//! RP-initiated logout and back-channel logout: what ends a session, where the browser may be
//! sent afterwards (registered URIs only), and the durable queue that tells every app.

use crate::harness::{PW, TestApp};
use crate::provider::*;
use axum::http::{StatusCode, header};
use lanyard_core::Ctx;
use lanyard_proto as proto;
use lanyard_server::address_policy::OutboundPolicy;
use serde_json::Value;
use std::sync::{Arc, Mutex};

fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy {
        allow_networks: OutboundPolicy::parse_networks(&["127.0.0.0/8".to_owned()]).unwrap(),
        ..Default::default()
    }
}

type Answer = Arc<std::sync::atomic::AtomicU16>;

/// A tiny app that records the logout tokens POSTed to it (answers `status`).
async fn receiver(status: StatusCode) -> (String, Arc<Mutex<Vec<String>>>) {
    let (uri, got, _) = switchable_receiver(status).await;
    (uri, got)
}

/// [`receiver`] whose answer can be changed later.
async fn switchable_receiver(status: StatusCode) -> (String, Arc<Mutex<Vec<String>>>, Answer) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let answer: Answer = Arc::new(status.as_u16().into());
    let (g, a) = (got.clone(), answer.clone());
    let app = axum::Router::new().route(
        "/bcl",
        axum::routing::post(move |body: String| {
            let (g, a) = (g.clone(), a.clone());
            async move {
                g.lock().unwrap().push(body);
                StatusCode::from_u16(a.load(std::sync::atomic::Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/bcl"), got, answer)
}

async fn app_with_backchannel(t: &TestApp, uri: &str) -> Client {
    let (app, secret) = t
        .lanyard
        .create_app(
            &Ctx::cli(),
            proto::CreateApp {
                name: "BCL".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec!["https://app.example/bye".into()],
                backchannel_logout_uri: Some(uri.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Client { id: app.id, secret }
}

async fn tokens(t: &TestApp, c: &Client, cookie: &str) -> Value {
    let code = code(t, c, cookie, &[]).await;
    redeem(t, c, &code).await.json()
}

#[tokio::test]
async fn logout_with_id_token_hint_ends_the_session_and_tells_the_apps_back_channel() {
    let t = TestApp::new().await;
    let (uri, got) = receiver(StatusCode::OK).await;
    let c = app_with_backchannel(&t, &uri).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let body = tokens(&t, &c, &cookie).await;
    let idt = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let sid = verify_id_token(&t, &c, idt).await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .get(
            &format!(
                "/oauth2/logout?id_token_hint={idt}&post_logout_redirect_uri={}&state=s9",
                crate::harness::urlencode("https://app.example/bye")
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "https://app.example/bye?state=s9");
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with("lanyard_session_acme=;")),
        "{:?}",
        r.set_cookies()
    );
    assert_eq!(userinfo(&t, access).await.status, StatusCode::UNAUTHORIZED);
    // One logout queued for the app; the sender delivers it.
    let queued = t.lanyard.store.list_logouts().await.unwrap();
    assert_eq!(queued.len(), 1);
    let report = lanyard_server::provider::send_due_logouts(&t.lanyard, &loopback_policy())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    let bodies = got.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let token = bodies[0].strip_prefix("logout_token=").unwrap();
    let h = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(h.typ.as_deref(), Some("logout+jwt"));
    let claims = verify_id_token(&t, &c, token).await;
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], t.user_id("acme", "jo").await);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none() && claims["jti"].is_string());
    // Delivered once: nothing left to send.
    let again = lanyard_server::provider::send_due_logouts(&t.lanyard, &loopback_policy())
        .await
        .unwrap();
    assert_eq!((again.sent, again.failed), (0, 0));
}

#[tokio::test]
async fn post_logout_redirects_only_to_registered_uris() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    let body = tokens(&t, &c, &cookie).await;
    let idt = body["id_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    for evil in [
        "https://evil.example/",
        "https://app.example/bye/",
        "https://app.example/byeX",
        "//evil.example",
        "https://app.example/bye#x",
    ] {
        let enc = crate::harness::urlencode(evil);
        for q in [
            format!("id_token_hint={idt}&post_logout_redirect_uri={enc}"),
            format!("client_id={}&post_logout_redirect_uri={enc}", c.id),
            format!("post_logout_redirect_uri={enc}"),
        ] {
            let r = t.get(&format!("/oauth2/logout?{q}"), Some(&cookie)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{evil}: {}", r.text());
            assert!(r.headers.get(header::LOCATION).is_none(), "{evil}");
            assert!(r.text().contains("oauth.post_logout_redirect_unregistered"));
        }
    }
    // Nothing was ended by the refused requests.
    assert_eq!(userinfo(&t, access).await.status, StatusCode::OK);
    // A forged hint is refused too.
    let r = t
        .get(
            "/oauth2/logout?id_token_hint=eyJhbGciOiJub25lIn0.e30.",
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(userinfo(&t, access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn back_channel_logouts_survive_failures_and_are_retried_with_backoff() {
    let t = TestApp::new().await;
    let (uri, got, answer) = switchable_receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    let c = app_with_backchannel(&t, &uri).await;
    let cookie = t.sign_in("acme", "jo", PW).await;
    tokens(&t, &c, &cookie).await;
    // The user's sessions end (admin): the logout is queued in the same transaction.
    let uid = t.user_id("acme", "jo").await;
    t.lanyard
        .revoke_user_sessions(&Ctx::cli(), "acme", &uid)
        .await
        .unwrap();
    let policy = loopback_policy();
    let r = lanyard_server::provider::send_due_logouts(&t.lanyard, &policy)
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 1));
    assert_eq!(got.lock().unwrap().len(), 1);
    let job = &t.lanyard.store.list_logouts().await.unwrap()[0];
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 1));
    assert!(job.last_error.as_deref().unwrap().contains("503"));
    // Not due again before the backoff.
    let r = lanyard_server::provider::send_due_logouts(&t.lanyard, &policy)
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 0));
    // When due, the sender retries (from the queue in the store, with a cold key cache as
    // after a restart), and the app now answers 204.
    t.clock.advance(lanyard_core::mail::backoff_secs(0) + 1);
    answer.store(204, std::sync::atomic::Ordering::SeqCst);
    let other_node = t.lanyard.clone();
    other_node.provider_key_cache().clear();
    let r = lanyard_server::provider::send_due_logouts(&other_node, &policy)
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (1, 0));
    assert_eq!(got.lock().unwrap().len(), 2);
    let job = &t.lanyard.store.list_logouts().await.unwrap()[0];
    assert_eq!((job.status.as_str(), job.attempts), ("sent", 1));
}

#[tokio::test]
async fn two_senders_never_claim_the_same_logout() {
    let t = TestApp::new().await;
    let c = app_with_backchannel(&t, "http://127.0.0.1:9/bcl").await;
    for _ in 0..3 {
        let cookie = t.sign_in("acme", "jo", PW).await;
        tokens(&t, &c, &cookie).await;
    }
    let uid = t.user_id("acme", "jo").await;
    t.lanyard
        .revoke_user_sessions(&Ctx::cli(), "acme", &uid)
        .await
        .unwrap();
    let (a, b) = tokio::join!(t.lanyard.claim_due_logouts(), t.lanyard.claim_due_logouts());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 3, "three sessions, three logouts");
    for j in &a {
        assert!(!b.iter().any(|k| k.id == j.id));
    }
}
