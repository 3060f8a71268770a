//! The per-node session cache (`session/cache.rs`): two `Lanyard` values on one store stand for
//! two nodes, each with its own cache. A change on one node shows there at once; on the other
//! within the staleness bound; and the cache never keeps an expired session alive.

use crate::harness::{Env, each_backend, meta};
use lanyard_core::{Ctx, Lanyard};
use lanyard_proto as proto;
use std::sync::Arc;
use std::time::Duration;

const PW: &str = "correct horse battery";
/// The staleness bound of both nodes in these tests.
const BOUND: Duration = Duration::from_millis(300);

async fn setup(e: &Env) -> String {
    let l = &e.lanyard;
    l.create_tenant(
        &Ctx::cli(),
        proto::CreateTenant {
            slug: "acme".into(),
            name: "Acme".into(),
            session_lifetime_secs: Some(3600),
        },
    )
    .await
    .unwrap();
    l.create_user(
        &Ctx::cli(),
        "acme",
        proto::CreateUser {
            collaborator: false,
            username: "jo".into(),
            email: Some("jo@acme.test".into()),
            display_name: None,
            role: Some("standard".into()),
            password: Some(PW.into()),
            super_admin: false,
        },
    )
    .await
    .unwrap()
    .id
}

/// Node A and node B: one store, one clock, one master key, two caches.
async fn two_nodes(e: &Env) -> (Lanyard, Lanyard) {
    let a = e.lanyard.clone().with_session_cache_ttl(BOUND);
    let b = Lanyard::new(
        e.lanyard.store.clone(),
        Arc::new(e.clock.clone()),
        e.lanyard.master_key().clone(),
    )
    .await
    .unwrap()
    .with_session_cache_ttl(BOUND);
    (a, b)
}

async fn code(l: &Lanyard, token: &str) -> &'static str {
    match l.session("acme", token).await {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// Waits out the bound (plus a margin for the scheduler).
async fn past_the_bound() {
    tokio::time::sleep(BOUND + Duration::from_millis(50)).await;
}

#[tokio::test]
async fn an_admin_revocation_on_one_node_ends_the_session_on_the_other_within_the_bound() {
    each_backend(|e| async move {
        setup(&e).await;
        let (a, b) = two_nodes(&e).await;
        let s = a
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        // Both nodes have seen (and cached) the session.
        assert_eq!(code(&a, &s.token).await, "ok");
        assert_eq!(code(&b, &s.token).await, "ok");
        a.revoke_session(&Ctx::cli(), "acme", &s.session.id)
            .await
            .unwrap();
        assert_eq!(
            code(&a, &s.token).await,
            "session.revoked",
            "{}: at once on the revoking node",
            e.name
        );
        past_the_bound().await;
        assert_eq!(
            code(&b, &s.token).await,
            "session.revoked",
            "{}: on the other node within the bound",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn a_logout_on_one_node_ends_the_session_on_the_other_within_the_bound() {
    each_backend(|e| async move {
        setup(&e).await;
        let (a, b) = two_nodes(&e).await;
        let s = a
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(code(&a, &s.token).await, "ok");
        assert_eq!(code(&b, &s.token).await, "ok");
        b.logout(
            "acme",
            &s.token,
            &b.csrf_token(&s.token),
            &meta("192.0.2.1"),
        )
        .await
        .unwrap();
        assert_eq!(code(&b, &s.token).await, "session.revoked", "{}", e.name);
        past_the_bound().await;
        assert_eq!(code(&a, &s.token).await, "session.revoked", "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn disabling_a_user_on_one_node_ends_their_sessions_on_the_other_within_the_bound() {
    each_backend(|e| async move {
        let uid = setup(&e).await;
        let (a, b) = two_nodes(&e).await;
        let s = a
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(code(&a, &s.token).await, "ok");
        assert_eq!(code(&b, &s.token).await, "ok");
        a.update_user(
            &Ctx::cli(),
            "acme",
            &uid,
            proto::UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(code(&a, &s.token).await, "session.revoked", "{}", e.name);
        past_the_bound().await;
        assert_eq!(code(&b, &s.token).await, "session.revoked", "{}", e.name);
    })
    .await;
}

/// Every way this node ends sessions shows at once on this node, with the bound far away.
#[tokio::test]
async fn changes_on_this_node_take_effect_at_once_despite_the_cache() {
    each_backend(|e| async move {
        let uid = setup(&e).await;
        let l = e
            .lanyard
            .clone()
            .with_session_cache_ttl(Duration::from_secs(600));
        let m = meta("192.0.2.1");
        let login = || l.password_login("acme", "jo", PW, &m);

        let s = login().await.unwrap();
        assert_eq!(code(&l, &s.token).await, "ok");
        l.revoke_user_sessions(&Ctx::cli(), "acme", &uid)
            .await
            .unwrap();
        assert_eq!(
            code(&l, &s.token).await,
            "session.revoked",
            "{}: revoke all",
            e.name
        );

        let s = login().await.unwrap();
        assert_eq!(code(&l, &s.token).await, "ok");
        l.require_password_change(&Ctx::cli(), "acme", &uid)
            .await
            .unwrap();
        assert_eq!(
            code(&l, &s.token).await,
            "session.revoked",
            "{}: password change required",
            e.name
        );

        let s = l
            .open_session(
                &l.tenant("acme").await.unwrap(),
                &uid,
                "password",
                &meta("192.0.2.1"),
            )
            .await
            .unwrap();
        assert_eq!(code(&l, &s.token).await, "ok");
        l.delete_user(&Ctx::cli(), "acme", &uid).await.unwrap();
        // A deleted user's sessions go with the account (no row: no session at all).
        assert_eq!(
            code(&l, &s.token).await,
            "session.missing",
            "{}: deleted user",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn the_cache_never_extends_a_session_past_its_expiry() {
    each_backend(|e| async move {
        setup(&e).await;
        let l = e
            .lanyard
            .clone()
            .with_session_cache_ttl(Duration::from_secs(600));
        let s = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(code(&l, &s.token).await, "ok");
        e.clock.set(s.session.expires_at - 1);
        assert_eq!(code(&l, &s.token).await, "ok");
        e.clock.set(s.session.expires_at);
        assert_eq!(code(&l, &s.token).await, "session.expired", "{}", e.name);
    })
    .await;
}
