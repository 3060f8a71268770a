use crate::harness::{each_backend, meta};
use lanyard_core::model::AuditFilter;
use lanyard_core::{Actor, Ctx};
use lanyard_proto as proto;

async fn two_tenants(l: &lanyard_core::Lanyard) {
    for slug in ["a", "b"] {
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
}

/// SECURITY.md W-TENANT: an API key of tenant A is refused on tenant B.
#[tokio::test]
async fn tenant_bound_api_keys_reach_only_their_tenant() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        two_tenants(l).await;
        let (_, token) = l
            .create_api_key(&Ctx::cli(), Some("a"), "ci")
            .await
            .unwrap();
        let (actor, key) = l.authenticate_api_key(&token).await.unwrap();
        assert_eq!(key.tenant_slug.as_deref(), Some("a"));
        let ctx = Ctx::new(actor, meta("192.0.2.1"));
        l.list_users(&ctx, "a", &Default::default(), None, None)
            .await
            .unwrap();
        assert_eq!(
            l.list_users(&ctx, "b", &Default::default(), None, None)
                .await
                .unwrap_err()
                .code(),
            "auth.api_key_wrong_tenant",
            "{}",
            e.name
        );
        assert_eq!(
            l.list_users(&ctx, "nonexistent", &Default::default(), None, None)
                .await
                .unwrap_err()
                .code(),
            "auth.api_key_wrong_tenant",
            "no probing for tenants"
        );
        let mk = proto::CreateUser {
            collaborator: false,
            username: "x".into(),
            email: None,
            display_name: None,
            role: None,
            password: None,
            super_admin: false,
        };
        assert_eq!(
            l.create_user(&ctx, "b", mk).await.unwrap_err().code(),
            "auth.api_key_wrong_tenant"
        );
        assert_eq!(
            l.create_tenant(
                &ctx,
                proto::CreateTenant {
                    slug: "c".into(),
                    name: "c".into(),
                    session_lifetime_secs: None
                }
            )
            .await
            .unwrap_err()
            .code(),
            "auth.operator_only"
        );
        let (tenants, _) = l.list_tenants(&ctx, None, None).await.unwrap();
        assert_eq!(
            tenants.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        // Audit: forced onto its own tenant; asking for another is refused.
        let (rows, _) = l
            .list_audit(&ctx, AuditFilter::default(), None, None)
            .await
            .unwrap();
        assert!(rows.iter().all(|r| r.tenant.as_deref() == Some("a")));
        let f = AuditFilter {
            tenant: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            l.list_audit(&ctx, f, None, None).await.unwrap_err().code(),
            "auth.api_key_wrong_tenant"
        );
        // Nothing was created in b.
        assert!(
            l.list_users(&Ctx::cli(), "b", &Default::default(), None, None)
                .await
                .unwrap()
                .1
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn api_keys_are_stored_hashed_and_revocable() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        two_tenants(l).await;
        let (key, token) = l.create_api_key(&Ctx::cli(), None, "ops").await.unwrap();
        assert!(token.starts_with("lny_") && token.len() == 47);
        assert!(token.starts_with(&key.prefix));
        let (actor, _) = l.authenticate_api_key(&token).await.unwrap();
        assert_eq!(
            actor,
            Actor::ApiKey {
                id: key.id.clone(),
                tenant_id: None
            }
        );
        assert_eq!(
            l.authenticate_api_key("lny_wrong")
                .await
                .unwrap_err()
                .code(),
            "auth.api_key_invalid"
        );
        assert_eq!(
            l.authenticate_api_key(&token[4..])
                .await
                .unwrap_err()
                .code(),
            "auth.api_key_invalid"
        );
        let revoked = l.revoke_api_key(&Ctx::cli(), None, &key.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(
            l.authenticate_api_key(&token).await.unwrap_err().code(),
            "auth.api_key_invalid",
            "{}",
            e.name
        );
        // A tenant key is not revocable through the operator listing, nor through another tenant.
        let (tk, _) = l.create_api_key(&Ctx::cli(), Some("a"), "t").await.unwrap();
        assert_eq!(
            l.revoke_api_key(&Ctx::cli(), None, &tk.id)
                .await
                .unwrap_err()
                .code(),
            "api_key.not_found"
        );
        assert_eq!(
            l.revoke_api_key(&Ctx::cli(), Some("b"), &tk.id)
                .await
                .unwrap_err()
                .code(),
            "api_key.not_found"
        );
        assert_eq!(
            l.list_api_keys(&Ctx::cli(), Some("a")).await.unwrap().len(),
            1
        );
        assert_eq!(l.list_api_keys(&Ctx::cli(), None).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bootstrap_creates_the_demo_once() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let secrets = l
            .bootstrap_demo()
            .await
            .unwrap()
            .expect("first start bootstraps");
        assert_eq!(
            (secrets.tenant.as_str(), secrets.username.as_str()),
            ("demo", "admin")
        );
        assert!(secrets.password.len() >= 20);
        assert!(
            l.bootstrap_demo().await.unwrap().is_none(),
            "{}: second start creates nothing",
            e.name
        );
        let s = l
            .password_login("demo", "admin", &secrets.password, &meta("127.0.0.1"))
            .await
            .unwrap();
        assert_eq!(
            l.session("demo", &s.token).await.unwrap().role.as_deref(),
            Some("admin")
        );
        let (actor, _) = l.authenticate_api_key(&secrets.api_key).await.unwrap();
        assert!(matches!(
            actor,
            Actor::ApiKey {
                tenant_id: None,
                ..
            }
        ));
    })
    .await;
}

#[tokio::test]
async fn invalid_input_changes_nothing() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        for (slug, name, life) in [
            ("Bad Slug", "x", None),
            ("ok", "", None),
            ("ok", "x", Some(10)),
            ("ok", "x\u{7}", None),
        ] {
            let err = l
                .create_tenant(
                    &c,
                    proto::CreateTenant {
                        slug: slug.into(),
                        name: name.into(),
                        session_lifetime_secs: life,
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(err.code(), "request.invalid_field");
        }
        assert_eq!(l.store.count_tenants().await.unwrap(), 0, "{}", e.name);
        two_tenants(l).await;
        let bad = [
            proto::CreateUser {
                collaborator: false,
                username: "".into(),
                email: None,
                display_name: None,
                role: None,
                password: None,
                super_admin: false,
            },
            proto::CreateUser {
                collaborator: false,
                username: "u".into(),
                email: Some("nope".into()),
                display_name: None,
                role: None,
                password: None,
                super_admin: false,
            },
            proto::CreateUser {
                collaborator: false,
                username: "u".into(),
                email: None,
                display_name: None,
                role: None,
                password: Some("short".into()),
                super_admin: false,
            },
        ];
        for b in bad {
            assert_eq!(
                l.create_user(&c, "a", b).await.unwrap_err().code(),
                "request.invalid_field"
            );
        }
        assert!(
            l.list_users(&c, "a", &Default::default(), None, None)
                .await
                .unwrap()
                .1
                .is_empty()
        );
        assert_eq!(
            l.get_user(&c, "a", "missing").await.unwrap_err().code(),
            "user.not_found"
        );
    })
    .await;
}
