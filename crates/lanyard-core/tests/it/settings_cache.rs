//! The sign-in path's per-node cache of tenants and connections (`signin/settings_cache.rs`):
//! two `Lanyard` values on one store stand for two nodes. A connection disabled on one node
//! stops sign-ins there at once, and on the other within the staleness bound.

use crate::harness::each_backend;
use crate::signin_txn::{acs, response, setup};
use lanyard_core::signin::saml::AcsOutcome;
use lanyard_core::{Ctx, Error, Lanyard};
use lanyard_proto as proto;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The staleness bound of both nodes in these tests.
const BOUND: Duration = Duration::from_millis(1500);

async fn two_nodes(e: &crate::harness::Env) -> (Lanyard, Lanyard) {
    let a = e.lanyard.clone().with_settings_cache_ttl(BOUND);
    let b = Lanyard::new(
        e.lanyard.store.clone(),
        Arc::new(e.clock.clone()),
        e.lanyard.master_key().clone(),
    )
    .await
    .unwrap()
    .with_settings_cache_ttl(BOUND);
    (a, b)
}

fn outcome(o: lanyard_core::Result<AcsOutcome>) -> &'static str {
    match o {
        Ok(AcsOutcome::SignedIn(_)) => "ok",
        Ok(AcsOutcome::Tested(_)) => "tested",
        Err(Error::ConnectionDisabled) => "disabled",
        Err(e) => panic!("unexpected refusal: {} ({e})", e.code()),
    }
}

#[tokio::test]
async fn a_disabled_connection_stops_sign_ins_here_at_once_and_on_the_other_node_within_the_bound()
{
    each_backend(|e| async move {
        setup(&e.lanyard).await;
        let (a, b) = two_nodes(&e).await;
        let body = |n: &str| {
            response(
                "a",
                "okta",
                &format!("{n}@acme.example"),
                &format!("_a-cache-{n}"),
                None,
            )
        };
        // Both nodes sign someone in: each now holds the tenant and the enabled connection.
        assert_eq!(outcome(acs(&a, &body("warm-a")).await), "ok", "{}", e.name);
        let b_fetched = Instant::now();
        assert_eq!(outcome(acs(&b, &body("warm-b")).await), "ok", "{}", e.name);

        a.update_connection(
            &Ctx::cli(),
            "a",
            "okta",
            proto::ConnectionInput {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // The node that disabled it: at once.
        assert_eq!(
            outcome(acs(&a, &body("after-a")).await),
            "disabled",
            "{}",
            e.name
        );
        // The other node still uses its copy while it is younger than the bound…
        let seen = outcome(acs(&b, &body("stale-b")).await);
        if b_fetched.elapsed() < BOUND - Duration::from_millis(200) {
            assert_eq!(
                seen, "ok",
                "{}: within the bound, node B's copy is used",
                e.name
            );
        }
        // …and not after it.
        tokio::time::sleep(BOUND + Duration::from_millis(100)).await;
        assert_eq!(
            outcome(acs(&b, &body("after-b")).await),
            "disabled",
            "{}",
            e.name
        );

        // Enabled again on B: B at once, A (which cached nothing since: the disabled row was
        // read after its own clear) within the bound.
        b.update_connection(
            &Ctx::cli(),
            "a",
            "okta",
            proto::ConnectionInput {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(outcome(acs(&b, &body("again-b")).await), "ok", "{}", e.name);
        tokio::time::sleep(BOUND + Duration::from_millis(100)).await;
        assert_eq!(outcome(acs(&a, &body("again-a")).await), "ok", "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn a_deleted_connection_is_gone_here_at_once() {
    each_backend(|e| async move {
        setup(&e.lanyard).await;
        let a = e
            .lanyard
            .clone()
            .with_settings_cache_ttl(Duration::from_secs(600));
        let body = response("a", "okta", "del@acme.example", "_a-del-1", None);
        assert_eq!(outcome(acs(&a, &body).await), "ok", "{}", e.name);
        a.delete_connection(&Ctx::cli(), "a", "okta").await.unwrap();
        let body = response("a", "okta", "del@acme.example", "_a-del-2", None);
        let err = acs(&a, &body).await.expect_err("deleted");
        assert!(
            matches!(err, Error::ConnectionNotFound(_)),
            "{}: {err}",
            e.name
        );
    })
    .await;
}
