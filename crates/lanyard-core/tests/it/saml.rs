//! Connections and the single-use SAML login state, on SQLite and PostgreSQL: consumption is
//! atomic in the store, so it holds across nodes sharing one database.

use crate::harness::{T0, each_backend};
use lanyard_core::Ctx;
use lanyard_core::model::{AuditFilter, FederatedIdentity, PendingLogin, User};
use lanyard_proto as proto;

fn cert(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-saml/tests/fixtures/keys")
            .join(format!("{name}.crt")),
    )
    .unwrap()
}

async fn tenant(l: &lanyard_core::Lanyard, slug: &str) -> lanyard_core::model::Tenant {
    l.create_tenant(
        &Ctx::cli(),
        proto::CreateTenant {
            slug: slug.into(),
            name: slug.into(),
            session_lifetime_secs: None,
        },
    )
    .await
    .unwrap()
}

fn input(slug: &str) -> proto::ConnectionInput {
    proto::ConnectionInput {
        slug: Some(slug.into()),
        name: Some(format!("{slug} IdP")),
        idp_entity_id: Some("https://idp.example/".into()),
        sso_url: Some("https://idp.example/sso".into()),
        certificates: Some(vec![cert("idp")]),
        ..Default::default()
    }
}

fn pending(id: &str, tenant_id: &str, connection_id: &str, expires_at: i64) -> PendingLogin {
    PendingLogin {
        id: id.into(),
        tenant_id: tenant_id.into(),
        connection_id: connection_id.into(),
        relay_state: "rs".into(),
        browser_binding: None,
        return_to: Some("/t/a/app".into()),
        created_at: T0,
        expires_at,
        invitation_id: None,
        purpose: None,
    }
}

#[tokio::test]
async fn connections_are_unique_per_tenant_and_every_change_is_audited() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        tenant(l, "a").await;
        tenant(l, "b").await;
        let (_, c) = l
            .create_connection(&Ctx::cli(), "a", input("okta"))
            .await
            .unwrap();
        assert_eq!(c.kind, "saml");
        assert!(c.enabled);
        let err = l
            .create_connection(&Ctx::cli(), "a", input("okta"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "connection.slug_taken", "{}", e.name);
        // The same slug in another tenant is another connection.
        l.create_connection(&Ctx::cli(), "b", input("okta"))
            .await
            .unwrap();

        let mut weak = input("weak");
        weak.certificates = Some(vec![cert("weak")]);
        let err = l
            .create_connection(&Ctx::cli(), "a", weak)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "saml.weak_key", "{}", e.name);

        let patch = proto::ConnectionInput {
            jit: Some(true),
            clock_skew_secs: Some(30),
            ..Default::default()
        };
        let (_, c2) = l
            .update_connection(&Ctx::cli(), "a", "okta", patch)
            .await
            .unwrap();
        let s = c2.saml_settings().unwrap();
        assert!(s.jit);
        assert_eq!(s.clock_skew_secs, 30);
        assert_eq!(
            s.idp_entity_id, "https://idp.example/",
            "untouched fields stay"
        );
        let (_, listed) = l.list_connections(&Ctx::cli(), "a").await.unwrap();
        assert_eq!(listed.len(), 1);

        l.delete_connection(&Ctx::cli(), "a", "okta").await.unwrap();
        assert_eq!(
            l.delete_connection(&Ctx::cli(), "a", "okta")
                .await
                .unwrap_err()
                .code(),
            "connection.not_found"
        );
        let f = AuditFilter {
            tenant: Some("a".into()),
            limit: 50,
            ..Default::default()
        };
        let kinds: Vec<_> = l
            .store
            .list_audit(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "connection.deleted",
                "connection.updated",
                "connection.created",
                "tenant.created"
            ],
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn a_pending_login_is_consumed_once_and_only_by_its_connection() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let t = tenant(l, "a").await;
        let (_, c1) = l
            .create_connection(&Ctx::cli(), "a", input("one"))
            .await
            .unwrap();
        let (_, c2) = l
            .create_connection(&Ctx::cli(), "a", input("two"))
            .await
            .unwrap();
        let s = &l.store;
        s.insert_pending_login(&pending("_r1", &t.id, &c1.id, T0 + 600))
            .await
            .unwrap();

        // Another connection (or tenant) cannot take it, and trying does not consume it.
        assert!(
            s.take_pending_login("_r1", &t.id, &c2.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.take_pending_login("_r1", "other-tenant", &c1.id)
                .await
                .unwrap()
                .is_none()
        );

        // Two nodes race for it: exactly one wins.
        let (a, b) = tokio::join!(
            s.take_pending_login("_r1", &t.id, &c1.id),
            s.take_pending_login("_r1", &t.id, &c1.id)
        );
        let winners: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(winners.len(), 1, "{}", e.name);
        assert_eq!(winners[0].return_to.as_deref(), Some("/t/a/app"));
        assert!(
            s.take_pending_login("_r1", &t.id, &c1.id)
                .await
                .unwrap()
                .is_none()
        );

        // Expired state is purged; live state stays.
        s.insert_pending_login(&pending("_old", &t.id, &c1.id, T0 - 1))
            .await
            .unwrap();
        s.insert_pending_login(&pending("_new", &t.id, &c1.id, T0 + 600))
            .await
            .unwrap();
        s.remember_assertion(&c1.id, "_a_old", T0 - 1, T0 - 100)
            .await
            .unwrap();
        assert_eq!(
            s.purge_expired_login_state(T0).await.unwrap(),
            2,
            "{}",
            e.name
        );
        assert!(
            s.take_pending_login("_new", &t.id, &c1.id)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn an_assertion_id_is_accepted_once_per_connection_until_it_expires() {
    each_backend(|e| async move {
        let s = &e.lanyard.store;
        assert!(
            s.remember_assertion("c1", "_a", T0 + 300, T0)
                .await
                .unwrap()
        );
        assert!(
            !s.remember_assertion("c1", "_a", T0 + 300, T0 + 10)
                .await
                .unwrap(),
            "{}",
            e.name
        );
        // The same ID at another connection is another assertion.
        assert!(
            s.remember_assertion("c2", "_a", T0 + 300, T0)
                .await
                .unwrap()
        );
        // Concurrent nodes: one accepts.
        let (x, y) = tokio::join!(
            s.remember_assertion("c1", "_b", T0 + 300, T0),
            s.remember_assertion("c1", "_b", T0 + 300, T0)
        );
        assert_eq!(
            [x.unwrap(), y.unwrap()].iter().filter(|v| **v).count(),
            1,
            "{}",
            e.name
        );
        // After its expiry the entry no longer blocks (the verifier refuses the assertion anyway).
        assert!(
            s.remember_assertion("c1", "_a", T0 + 900, T0 + 300)
                .await
                .unwrap(),
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn federated_identities_link_by_connection_and_subject_only() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let t = tenant(l, "a").await;
        let (_, c) = l
            .create_connection(&Ctx::cli(), "a", input("okta"))
            .await
            .unwrap();
        let existing = l
            .create_user(
                &Ctx::cli(),
                "a",
                proto::CreateUser {
                    collaborator: false,
                    username: "jo".into(),
                    email: Some("jo@a.test".into()),
                    display_name: None,
                    role: None,
                    password: None,
                    super_admin: false,
                },
            )
            .await
            .unwrap();
        let user = |username: &str, email: Option<&str>| User {
            email: email.map(str::to_owned),
            ..User::new(&t.id, username.into(), T0)
        };
        let link = |u: &User, fid: &str| FederatedIdentity {
            tenant_id: t.id.clone(),
            connection_id: c.id.clone(),
            federation_id: fid.into(),
            user_id: u.id.clone(),
            created_at: T0,
            last_login_at: None,
        };
        let ev = Ctx::system().event(T0, Some("a"), "user.created");
        let s = &l.store;

        // An email already in use: refused, and the transaction left no link and no user behind.
        let u = user("new", Some("JO@a.test"));
        let err = s
            .insert_federated_user(&u, &link(&u, "sub-1"), &ev)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "user.email_taken", "{}", e.name);
        assert!(
            s.federated_user(&t.id, &c.id, "sub-1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(s.list_users(&t.id, None, 10).await.unwrap().len(), 1);

        let u = user("alice", None);
        s.insert_federated_user(&u, &link(&u, "sub-1"), &ev)
            .await
            .unwrap();
        assert_eq!(
            s.federated_user(&t.id, &c.id, "sub-1")
                .await
                .unwrap()
                .unwrap()
                .id,
            u.id
        );
        // Lookups are by (connection, federation ID) and tenant: nothing else matches.
        assert!(
            s.federated_user(&t.id, &c.id, "jo")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.federated_user(&t.id, &c.id, "jo@a.test")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.federated_user("other", &c.id, "sub-1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            s.federated_identities_of(&existing.id).await.unwrap(),
            vec![]
        );

        // One subject links to one user per connection.
        let u2 = user("alice2", None);
        let err = s
            .insert_federated_user(&u2, &link(&u2, "sub-1"), &ev)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "saml.identity_already_linked", "{}", e.name);

        // Deleting the connection drops its links; the user stays.
        l.delete_connection(&Ctx::cli(), "a", "okta").await.unwrap();
        assert!(s.federated_identities_of(&u.id).await.unwrap().is_empty());
        assert!(s.user_by_id(&t.id, &u.id).await.unwrap().is_some());
    })
    .await;
}

/// `require_signed_assertions` is off for new connections; settings stored while the default was
/// on carry the field explicitly and keep it; an explicit true stays strict through unrelated
/// changes.
#[test]
fn signed_assertions_default_off_for_new_connections_and_stored_settings_keep_theirs() {
    use lanyard_core::connection::SamlSettings;
    let new = SamlSettings::apply(None, &input("n")).unwrap();
    assert!(!new.require_signed_assertions);
    let strict = SamlSettings::apply(
        None,
        &proto::ConnectionInput {
            require_signed_assertions: Some(true),
            ..input("s")
        },
    )
    .unwrap();
    assert!(strict.require_signed_assertions);
    // A later PATCH of another field keeps the strict setting.
    let patched = SamlSettings::apply(
        Some(&strict),
        &proto::ConnectionInput {
            jit: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(patched.require_signed_assertions);
    // Stored JSON from before the change always has the field (every save writes it).
    let stored = strict.to_json();
    assert!(
        stored.contains("\"require_signed_assertions\":true"),
        "{stored}"
    );
    assert!(
        SamlSettings::from_json(&stored)
            .unwrap()
            .require_signed_assertions
    );
    // Only hand-written settings without the field get the new default.
    let minimal = r#"{"idp_entity_id":"https://idp.example/","sso_url":"https://idp.example/sso","certificates":[]}"#;
    let s = SamlSettings::from_json(minimal).unwrap();
    assert!(!s.require_signed_assertions);
    assert_eq!(s.logoff_url, None);
}

/// The logoff URL: https, or http on a loopback host only; other schemes and credentials refused.
#[test]
fn saml_logoff_url_is_validated() {
    use lanyard_core::connection::SamlSettings;
    let with = |u: Option<&str>| {
        SamlSettings::apply(
            None,
            &proto::ConnectionInput {
                logoff_url: Some(u.map(str::to_owned)),
                ..input("l")
            },
        )
    };
    for ok in [
        "https://arc.example/logoff",
        "http://localhost/bye",
        "http://LOCALHOST:8080/bye",
        "http://127.0.0.2/bye",
        "http://[::1]:9/bye",
    ] {
        assert_eq!(with(Some(ok)).unwrap().logoff_url.as_deref(), Some(ok));
    }
    for bad in [
        "http://arc.example/logoff",
        "http://localhost.evil.example/",
        "http://127.0.0.1.nip.io/",
        "javascript:alert(1)",
        "data:text/html,x",
        "https://u:p@arc.example/",
        "https://arc.example/#frag",
        "//arc.example/",
        "",
    ] {
        assert_eq!(
            with(Some(bad)).unwrap_err().code(),
            "request.invalid_field",
            "{bad}"
        );
    }
    assert_eq!(with(None).unwrap().logoff_url, None);
}
