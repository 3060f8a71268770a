//! The console's core on both stores: setup links (one browser wins the claim of a link, even
//! two at once; expiry, revocation and finishing end it; only hashes at rest) and who is an
//! administrator.

use crate::harness::{T0, each_backend, meta};
use lanyard_core::Ctx;
use lanyard_core::console::test::{TestFacts, warnings};
use lanyard_proto as proto;

async fn tenant(l: &lanyard_core::Lanyard, slug: &str) {
    l.create_tenant(
        &Ctx::cli(),
        proto::CreateTenant {
            slug: slug.into(),
            name: slug.into(),
            session_lifetime_secs: None,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn two_browsers_opening_a_setup_link_at_once_one_claims_it() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        tenant(l, "acme").await;
        let new = l
            .create_setup_link(&Ctx::cli(), "acme", "Ken", None)
            .await
            .unwrap();
        assert_eq!(new.link.expires_at, T0 + 72 * 3600, "{}", e.name);
        assert_eq!(
            new.link.token_hash,
            lanyard_core::secret::token_hash(&new.token)
        );
        let m = meta("203.0.113.9");
        let (a, b) = tokio::join!(
            l.open_setup_link(&new.token, None, &m),
            l.open_setup_link(&new.token, None, &m)
        );
        let (won, lost) = match (a, b) {
            (Ok(w), Err(x)) | (Err(x), Ok(w)) => (w, x),
            other => panic!("{}: exactly one claim wins: {other:?}", e.name),
        };
        assert_eq!(lost.code(), "setup_link.claimed", "{}", e.name);
        let claim = won.new_claim.clone().unwrap();
        // The winner comes back with its cookie; nobody else gets in.
        let again = l
            .open_setup_link(&new.token, Some(&claim), &m)
            .await
            .unwrap();
        assert!(again.new_claim.is_none());
        assert_eq!(
            l.open_setup_link(&new.token, Some("guess"), &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.claimed"
        );
        // Finishing ends it, once.
        l.finish_setup_link(&again.link, &m).await.unwrap();
        assert_eq!(
            l.open_setup_link(&new.token, Some(&claim), &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.used"
        );
        assert_eq!(
            l.finish_setup_link(&again.link, &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.used"
        );
    })
    .await;
}

#[tokio::test]
async fn setup_links_expire_are_revoked_and_stay_in_their_tenant() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        tenant(l, "acme").await;
        tenant(l, "other").await;
        let m = meta("203.0.113.9");
        assert_eq!(
            l.create_setup_link(&Ctx::cli(), "acme", "", Some(0))
                .await
                .unwrap_err()
                .code(),
            "setup_link.lifetime_invalid"
        );
        assert_eq!(
            l.create_setup_link(&Ctx::cli(), "acme", "", Some(721))
                .await
                .unwrap_err()
                .code(),
            "setup_link.lifetime_invalid"
        );
        let short = l
            .create_setup_link(&Ctx::cli(), "acme", "", Some(1))
            .await
            .unwrap();
        e.clock.advance(3600);
        assert_eq!(
            l.open_setup_link(&short.token, None, &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.expired",
            "{}",
            e.name
        );
        let link = l
            .create_setup_link(&Ctx::cli(), "acme", "", None)
            .await
            .unwrap();
        let (_, key) = l
            .create_api_key(&Ctx::cli(), Some("other"), "k")
            .await
            .unwrap();
        let (actor, _) = l.authenticate_api_key(&key).await.unwrap();
        let other = Ctx::new(actor, m.clone());
        assert_eq!(
            l.revoke_setup_link(&other, "acme", &link.link.id)
                .await
                .unwrap_err()
                .code(),
            "auth.api_key_wrong_tenant"
        );
        let revoked = l
            .revoke_setup_link(&Ctx::cli(), "acme", &link.link.id)
            .await
            .unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(
            l.open_setup_link(&link.token, None, &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.revoked"
        );
        assert_eq!(
            l.open_setup_link("lys_unknown", None, &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.not_found"
        );
        assert_eq!(
            l.open_setup_link("not-a-link", None, &m)
                .await
                .unwrap_err()
                .code(),
            "setup_link.not_found"
        );
        let (_, rows) = l.list_setup_links(&Ctx::cli(), "acme").await.unwrap();
        assert_eq!(rows.len(), 2, "{}", e.name);
    })
    .await;
}

#[test]
fn test_warnings_name_what_the_it_admin_must_fix() {
    let mut id = lanyard_core::identity::Identity {
        method: "saml",
        federation_id: "x".into(),
        email: Some("a@b.test".into()),
        email_verified: false,
        username: None,
        display_name: None,
        role_claims: vec![],
        session_not_after: None,
        raw_claims: serde_json::json!({"http://schemas.microsoft.com/claims/groups.link": "https://graph"}),
        email_sources: vec![],
        authn_contexts: vec![],
    };
    let facts = TestFacts {
        transient_name_id: true,
        idp_clock_ahead_secs: Some(42),
        certificates: vec![],
    };
    let w = warnings(&id, &facts, T0).join("\n");
    for want in [
        "not marked as verified",
        "transient",
        "groups overage",
        "42 seconds ahead",
    ] {
        assert!(w.contains(want), "{want}: {w}");
    }
    id.email_verified = true;
    id.raw_claims = serde_json::json!({});
    assert!(warnings(&id, &TestFacts::default(), T0).is_empty());
}
