use crate::harness::{T0, each_backend};
use lanyard_core::Ctx;
use lanyard_core::model::AuditFilter;
use lanyard_proto as proto;

#[tokio::test]
async fn migrations_apply_and_are_idempotent() {
    each_backend(|e| async move {
        let s = &e.lanyard.store;
        // PostgreSQL has one more: the sign-in check of its one-statement sign-ins (0014).
        let mut all: Vec<i64> = (1..=13).collect();
        if e.name == "postgres" {
            all.push(14);
        }
        assert_eq!(s.applied_migrations().await.unwrap(), all, "{}", e.name);
        s.migrate().await.unwrap();
        assert_eq!(s.applied_migrations().await.unwrap(), all, "{}", e.name);
        s.ping().await.unwrap();
        assert_eq!(s.count_tenants().await.unwrap(), 0);
    })
    .await;
}

/// The store opens its SQLite file more than once (the sign-in writer, the readers): a private
/// in-memory database would exist only in the first connection, so it is refused up front with
/// a reason, never half-opened.
#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_with_a_reason() {
    let Err(e) = lanyard_core::Store::connect("sqlite::memory:").await else {
        panic!("an in-memory SQLite store must be refused");
    };
    assert_eq!(e.code(), "request.invalid_field", "{e}");
    assert!(e.to_string().contains("name a file"), "{e}");
}

#[tokio::test]
async fn tenant_slug_is_unique_and_roles_are_seeded() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let t = l
            .create_tenant(
                &Ctx::cli(),
                proto::CreateTenant {
                    slug: "acme".into(),
                    name: "Acme".into(),
                    session_lifetime_secs: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(t.session_lifetime_secs, 8 * 3600);
        let err = l
            .create_tenant(
                &Ctx::cli(),
                proto::CreateTenant {
                    slug: "acme".into(),
                    name: "Other".into(),
                    session_lifetime_secs: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "tenant.slug_taken", "{}", e.name);
        let roles: Vec<_> = l
            .list_roles(&Ctx::cli(), "acme")
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(roles, ["admin", "standard", "support", "viewer"]);
        // The failed insert left nothing behind: one tenant, one audit event for it.
        assert_eq!(l.store.count_tenants().await.unwrap(), 1);
        let f = AuditFilter {
            kind: Some("tenant.created".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(l.store.list_audit(&f).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn usernames_and_emails_are_unique_per_tenant_case_insensitively() {
    each_backend(|e| async move {
        let l = &e.lanyard;
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
        let mk = |name: &str, email: &str| proto::CreateUser {
            collaborator: false,
            username: name.into(),
            email: Some(email.into()),
            display_name: None,
            role: None,
            password: None,
            super_admin: false,
        };
        l.create_user(&Ctx::cli(), "a", mk("Jo", "jo@a.test"))
            .await
            .unwrap();
        assert_eq!(
            l.create_user(&Ctx::cli(), "a", mk("jo", "other@a.test"))
                .await
                .unwrap_err()
                .code(),
            "user.username_taken"
        );
        assert_eq!(
            l.create_user(&Ctx::cli(), "a", mk("jo2", "JO@a.test"))
                .await
                .unwrap_err()
                .code(),
            "user.email_taken"
        );
        // Another tenant may reuse both.
        l.create_user(&Ctx::cli(), "b", mk("jo", "jo@a.test"))
            .await
            .unwrap();
        let err = l
            .create_user(
                &Ctx::cli(),
                "a",
                proto::CreateUser {
                    collaborator: false,
                    role: Some("wizard".into()),
                    ..mk("kim", "kim@a.test")
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "role.not_found");
        let (_, users, _) = l
            .list_users(&Ctx::cli(), "a", &Default::default(), None, None)
            .await
            .unwrap();
        assert_eq!(
            users.len(),
            1,
            "{}: refused creations wrote nothing",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn roles_in_use_and_builtin_roles_cannot_be_deleted() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        l.create_tenant(
            &c,
            proto::CreateTenant {
                slug: "a".into(),
                name: "A".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
        l.create_role(
            &c,
            "a",
            proto::CreateRole {
                name: "billing".into(),
                description: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            l.create_role(
                &c,
                "a",
                proto::CreateRole {
                    name: "billing".into(),
                    description: None
                }
            )
            .await
            .unwrap_err()
            .code(),
            "role.exists"
        );
        l.create_user(
            &c,
            "a",
            proto::CreateUser {
                collaborator: false,
                username: "u".into(),
                email: None,
                display_name: None,
                role: Some("billing".into()),
                password: None,
                super_admin: false,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            l.delete_role(&c, "a", "billing").await.unwrap_err().code(),
            "role.in_use",
            "{}",
            e.name
        );
        assert_eq!(
            l.delete_role(&c, "a", "admin").await.unwrap_err().code(),
            "role.builtin"
        );
        assert_eq!(
            l.delete_role(&c, "a", "nope").await.unwrap_err().code(),
            "role.not_found"
        );
        let (_, users, _) = l
            .list_users(&c, "a", &Default::default(), None, None)
            .await
            .unwrap();
        l.update_user(
            &c,
            "a",
            &users[0].id,
            proto::UpdateUser {
                role: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        l.delete_role(&c, "a", "billing").await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn audit_listing_filters_and_pages() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let c = Ctx::cli();
        for i in 0..5 {
            e.clock.set(T0 + i * 100);
            l.create_tenant(
                &c,
                proto::CreateTenant {
                    slug: format!("t{i}"),
                    name: "T".into(),
                    session_lifetime_secs: None,
                },
            )
            .await
            .unwrap();
        }
        let (page1, next) = l
            .list_audit(&c, AuditFilter::default(), None, Some(2))
            .await
            .unwrap();
        assert_eq!(
            page1
                .iter()
                .map(|r| r.tenant.clone().unwrap())
                .collect::<Vec<_>>(),
            ["t4", "t3"]
        );
        let (page2, _) = l
            .list_audit(&c, AuditFilter::default(), next.as_deref(), Some(2))
            .await
            .unwrap();
        assert_eq!(
            page2
                .iter()
                .map(|r| r.tenant.clone().unwrap())
                .collect::<Vec<_>>(),
            ["t2", "t1"]
        );
        let f = AuditFilter {
            since: Some(T0 + 100),
            until: Some(T0 + 300),
            ..Default::default()
        };
        let (ranged, _) = l.list_audit(&c, f, None, None).await.unwrap();
        assert_eq!(ranged.len(), 2, "{}", e.name);
        let f = AuditFilter {
            tenant: Some("t0".into()),
            kind: Some("tenant.created".into()),
            ..Default::default()
        };
        assert_eq!(l.list_audit(&c, f, None, None).await.unwrap().0.len(), 1);
        assert_eq!(
            l.list_audit(&c, AuditFilter::default(), Some("x"), None)
                .await
                .unwrap_err()
                .code(),
            "request.invalid_field"
        );
        assert_eq!(
            l.list_audit(&c, AuditFilter::default(), None, Some(0))
                .await
                .unwrap_err()
                .code(),
            "request.invalid_field"
        );
    })
    .await;
}

#[tokio::test]
async fn a_different_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    let store = lanyard_core::Store::connect(&url).await.unwrap();
    let clock = std::sync::Arc::new(lanyard_core::SystemClock);
    let key = lanyard_core::MasterKey::generate();
    lanyard_core::Lanyard::new(store.clone(), clock.clone(), key.clone())
        .await
        .unwrap();
    lanyard_core::Lanyard::new(store.clone(), clock.clone(), key)
        .await
        .unwrap();
    let err = lanyard_core::Lanyard::new(store, clock, lanyard_core::MasterKey::generate())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "config.master_key_mismatch");
}
