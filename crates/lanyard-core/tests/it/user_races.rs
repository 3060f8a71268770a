//! Lost updates on users (issue 17): an admin's PATCH and a connection removal's fallout write
//! different columns of one user. Each writes only its own columns, so whichever commits last
//! does not put back what the other changed.

use crate::harness::each_backend;
use crate::provisioning::{fixture, identity};
use lanyard_core::Ctx;
use lanyard_core::model::SsoState;
use lanyard_proto as proto;

/// The interleaving that lost the exemption: the admin's edit reads the user, the connection is
/// removed (fallout: `sso_state = none`, `sso_exempt = true`, a reset mailed), then the edit
/// commits what it read. With whole-row writes the user lost the exemption and was back on
/// "linked": their only way in (the reset password) was refused with `login.sso_required`.
#[tokio::test]
async fn an_admin_edit_committed_after_a_connection_removal_keeps_the_exemption() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let sam = f
            .login(&identity("00u-sam", Some("sam@acme.example")))
            .await
            .unwrap()
            .user;
        // The admin's request read the user before the removal …
        let mut stale = f.user(&sam.id).await;
        assert!(!stale.sso_exempt);
        f.l.delete_connection(&Ctx::cli(), "acme", "okta")
            .await
            .unwrap();
        // … and commits its change after it.
        stale.display_name = Some("Sam Renamed".into());
        stale.updated_at += 1;
        let ev = Ctx::cli()
            .event(e.lanyard.now(), Some("acme"), "user.updated")
            .user(&sam.id);
        f.l.store
            .update_user_fields(&stale, &["display_name"], None, &ev)
            .await
            .unwrap();
        let now = f.user(&sam.id).await;
        assert_eq!(
            now.display_name.as_deref(),
            Some("Sam Renamed"),
            "{}",
            e.name
        );
        assert!(
            now.sso_exempt,
            "{}: the fallout's exemption survives the edit",
            e.name
        );
        assert_eq!(now.sso_state, SsoState::None, "{}", e.name);
    })
    .await;
}

/// The same two writes really at once, through the public calls, many times: both always land.
#[tokio::test]
async fn an_admin_patch_racing_a_connection_removal_loses_neither() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let sam = f
            .login(&identity("00u-sam", Some("sam@acme.example")))
            .await
            .unwrap()
            .user;
        let ctx = Ctx::cli();
        let patch = f.l.update_user(
            &ctx,
            "acme",
            &sam.id,
            proto::UpdateUser {
                display_name: Some(Some("Sam at once".into())),
                role: Some(Some("viewer".into())),
                ..Default::default()
            },
        );
        let removal = f.l.delete_connection(&ctx, "acme", "okta");
        let (p, r) = tokio::join!(patch, removal);
        p.unwrap();
        r.unwrap();
        let now = f.user(&sam.id).await;
        assert_eq!(
            now.display_name.as_deref(),
            Some("Sam at once"),
            "{}",
            e.name
        );
        assert_eq!(now.role.as_deref(), Some("viewer"), "{}", e.name);
        assert!(now.sso_exempt, "{}", e.name);
        assert_eq!(now.sso_state, SsoState::None, "{}", e.name);
    })
    .await;
}
