//! App secrets rotated by an operator, and the grant types an app may be given, on both stores:
//! the new secret works and the old one stops at once, a rotation racing a settings update
//! keeps the new secret, a public app has no secret to rotate, a tenant admin may not rotate,
//! and a device-grant app needs no redirect URI.

use crate::harness::{Env, each_backend};
use lanyard_core::provider::apps::GRANT_DEVICE_CODE;
use lanyard_core::{Actor, Ctx, RequestMeta};
use lanyard_proto as proto;

fn confidential() -> proto::CreateApp {
    proto::CreateApp {
        name: "App".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once_and_is_audited() {
    each_backend(|e: Env| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        let (app, old) = l.create_app(&c, confidential()).await.unwrap();
        let old = old.unwrap();
        let (_, new) = l.rotate_app_secret(&c, &app.id).await.unwrap();
        assert!(new.starts_with("lnc_") && new != old, "{}", e.name);
        let auth =
            |s: &str| l.authenticate_client(Some((app.id.clone(), s.to_owned())), None, None);
        assert!(auth(&new).await.is_ok(), "{}", e.name);
        assert_eq!(
            auth(&old).await.unwrap_err().code(),
            "oauth.client_auth_failed"
        );
        let audit = l
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                kind: Some("app.secret_rotated".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1, "{}", e.name);
        assert!(audit[0].details.contains(&app.id));

        // A rotation racing a settings update: the rotated secret is the one that works.
        let upd = proto::UpdateApp {
            name: Some("App 2".into()),
            ..Default::default()
        };
        let (rot, up) = tokio::join!(
            l.rotate_app_secret(&c, &app.id),
            l.update_app(&c, &app.id, upd)
        );
        let (_, newest) = rot.unwrap();
        up.unwrap();
        assert!(auth(&newest).await.is_ok(), "{}", e.name);
        assert!(auth(&new).await.is_err(), "{}", e.name);

        // A public app has no secret; a tenant admin may not rotate.
        let (public, none) = l
            .create_app(
                &c,
                proto::CreateApp {
                    public: true,
                    ..confidential()
                },
            )
            .await
            .unwrap();
        assert!(none.is_none());
        let err = l.rotate_app_secret(&c, &public.id).await.unwrap_err();
        assert_eq!(err.code(), "app.public_has_no_secret");
        let admin = Ctx::new(
            Actor::Admin {
                id: "u".into(),
                tenant_id: Some("t".into()),
            },
            RequestMeta::default(),
        );
        let err = l.rotate_app_secret(&admin, &app.id).await.unwrap_err();
        assert_eq!(err.code(), "auth.operator_only");
        let err = l.rotate_app_secret(&c, "nope").await.unwrap_err();
        assert_eq!(err.code(), "app.not_found");
        assert!(auth(&newest).await.is_ok(), "{}: nothing changed", e.name);
    })
    .await;
}

#[tokio::test]
async fn the_device_grant_may_be_given_and_needs_no_redirect_uri() {
    each_backend(|e: Env| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        let (app, _) = l
            .create_app(
                &c,
                proto::CreateApp {
                    name: "Kiosk".into(),
                    redirect_uris: vec![],
                    public: true,
                    grant_types: Some(vec![GRANT_DEVICE_CODE.into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(app.allows_grant(GRANT_DEVICE_CODE), "{}", e.name);
        // The code grant needs a redirect URI, and refresh tokens need the code grant.
        for grants in [
            vec!["authorization_code"],
            vec!["refresh_token", GRANT_DEVICE_CODE],
        ] {
            let err = l
                .create_app(
                    &c,
                    proto::CreateApp {
                        name: "Bad".into(),
                        redirect_uris: vec![],
                        grant_types: Some(grants.iter().map(|g| (*g).to_owned()).collect()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(err.code(), "request.invalid_field", "{grants:?}");
        }
        let err = l
            .update_app(
                &c,
                &app.id,
                proto::UpdateApp {
                    grant_types: Some(vec!["authorization_code".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("redirect_uris"), "{err}");
    })
    .await;
}
