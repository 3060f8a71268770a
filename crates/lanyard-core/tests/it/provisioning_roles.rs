//! Provisioning, roles: the role table, role claims naming tenant roles, the default role, and
//! when roles sync (at creation, every login, every login with CData Arc's fallback order).

use crate::harness::each_backend;
use crate::provisioning::*;
use lanyard_core::Ctx;
use lanyard_core::identity::provisioning::Provisioned;
use lanyard_proto as proto;

#[tokio::test]
async fn role_resolution_mapping_then_default_then_none_and_sync_modes() {
    each_backend(|e| async move {
        let f = fixture(
            &e,
            Some(proto::ProvisioningInput {
                role_mapping: Some(mapping(&[("Admins", "admin"), ("Staff", "support")])),
                default_role: Some(Some("viewer".into())),
                ..Default::default()
            }),
        )
        .await;
        let with = |fid: &str, claims: &[&str]| {
            let mut i = identity(fid, Some(&format!("{fid}@acme.example")));
            i.role_claims = claims.iter().map(|s| (*s).to_owned()).collect();
            i
        };
        // The first row that matches wins, whatever the claim order.
        let a = f.login(&with("a", &["Staff", "Admins"])).await.unwrap();
        assert_eq!(a.user.role.as_deref(), Some("admin"), "{}", e.name);
        let b = f.login(&with("b", &["Staff"])).await.unwrap();
        assert_eq!(b.user.role.as_deref(), Some("support"));
        // No row matches: the default role.
        let c = f.login(&with("c", &["Other"])).await.unwrap();
        assert_eq!(c.user.role.as_deref(), Some("viewer"));
        // At creation only (the default): a later claim does not change the role.
        f.login(&with("c", &["Admins"])).await.unwrap();
        assert_eq!(f.user(&c.user.id).await.role.as_deref(), Some("viewer"));
        // Every login: it does; and no matching claim leaves the role alone (never demoted to
        // the default).
        f.set_provisioning(proto::ProvisioningInput {
            role_sync: Some(proto::RoleSync::EveryLogin),
            ..Default::default()
        })
        .await;
        f.login(&with("c", &["Admins"])).await.unwrap();
        assert_eq!(f.user(&c.user.id).await.role.as_deref(), Some("admin"));
        f.login(&with("c", &[])).await.unwrap();
        assert_eq!(f.user(&c.user.id).await.role.as_deref(), Some("admin"));
        // No default role: no role; the user signs in and is listed as needing one.
        f.set_provisioning(proto::ProvisioningInput {
            default_role: Some(None),
            ..Default::default()
        })
        .await;
        let d = f.login(&with("d", &[])).await.unwrap();
        assert_eq!(d.user.role, None);
        let (_, needing, _) =
            f.l.list_users(
                &Ctx::cli(),
                "acme",
                &lanyard_core::store::UserFilter {
                    needs_role: true,
                    ..Default::default()
                },
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            needing
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["d@acme.example"]
        );
        // A mapping to a role that does not exist is refused at save.
        let err =
            f.l.update_connection(
                &Ctx::cli(),
                "acme",
                "okta",
                proto::ConnectionInput {
                    provisioning: Some(proto::ProvisioningInput {
                        role_mapping: Some(mapping(&[("X", "no-such-role")])),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "role.not_found");
    })
    .await;
}

/// Issue 15: CData Arc's order. With `role_claim_is_role_name` the claim names tenant roles
/// directly (case-insensitively; first value that names one); `every_login_default` resolves
/// the role at every sign-in: table row, else a claim naming a role, else the default role,
/// else no role. Table rows keep priority over role names.
#[tokio::test]
async fn claim_names_roles_and_every_login_default_follows_arcs_order() {
    each_backend(|e| async move {
        let f = fixture(
            &e,
            Some(proto::ProvisioningInput {
                role_mapping: Some(mapping(&[("Okta-Admins", "admin")])),
                default_role: Some(Some("viewer".into())),
                role_claim_is_role_name: Some(true),
                role_sync: Some(proto::RoleSync::EveryLoginDefault),
                ..Default::default()
            }),
        )
        .await;
        f.l.create_role(
            &Ctx::cli(),
            "acme",
            proto::CreateRole {
                name: "auditor".into(),
                description: None,
            },
        )
        .await
        .unwrap();
        let with = |claims: &[&str]| {
            let mut i = identity("u1", Some("u1@acme.example"));
            i.role_claims = claims.iter().map(|s| (*s).to_owned()).collect();
            i
        };
        let role = |p: Provisioned| p.user.role;
        // Created with the role the claim names (case-insensitive).
        let u = f.login(&with(&["STANDARD"])).await.unwrap();
        assert!(u.created, "{}", e.name);
        assert_eq!(u.user.role.as_deref(), Some("standard"), "{}", e.name);
        // Multi-valued: the first value that names a role.
        assert_eq!(
            role(
                f.login(&with(&["nobody", "Auditor", "support"]))
                    .await
                    .unwrap()
            )
            .as_deref(),
            Some("auditor")
        );
        // A table row beats a role name, wherever it is in the claim.
        assert_eq!(
            role(f.login(&with(&["support", "Okta-Admins"])).await.unwrap()).as_deref(),
            Some("admin")
        );
        // An unknown role name: the default role (Arc), not "unchanged".
        assert_eq!(
            role(f.login(&with(&["no-such-role"])).await.unwrap()).as_deref(),
            Some("viewer")
        );
        assert_eq!(
            role(f.login(&with(&["support"])).await.unwrap()).as_deref(),
            Some("support")
        );
        // The claim missing altogether: the default role.
        assert_eq!(
            role(f.login(&with(&[])).await.unwrap()).as_deref(),
            Some("viewer")
        );
        // No default role: no role.
        f.set_provisioning(proto::ProvisioningInput {
            default_role: Some(None),
            ..Default::default()
        })
        .await;
        assert_eq!(
            role(f.login(&with(&["support"])).await.unwrap()).as_deref(),
            Some("support")
        );
        assert_eq!(role(f.login(&with(&[])).await.unwrap()), None);
        // Each change is audited with where the role came from.
        let events =
            f.l.store
                .list_audit(&lanyard_core::model::AuditFilter {
                    kind: Some("user.updated".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
        let sources: Vec<String> = events
            .iter()
            .filter_map(|ev| {
                let d: serde_json::Value = serde_json::from_str(&ev.details).unwrap();
                d["changes"]["role_source"].as_str().map(str::to_owned)
            })
            .collect();
        for s in ["claim_names_role", "role_mapping", "default_role", "none"] {
            assert!(
                sources.iter().any(|x| x == s),
                "{s} not audited: {sources:?}"
            );
        }
        // `every_login` (not Arc): a role name is followed, but no match never demotes.
        f.set_provisioning(proto::ProvisioningInput {
            role_sync: Some(proto::RoleSync::EveryLogin),
            default_role: Some(Some("viewer".into())),
            ..Default::default()
        })
        .await;
        assert_eq!(
            role(f.login(&with(&["Support"])).await.unwrap()).as_deref(),
            Some("support")
        );
        assert_eq!(
            role(f.login(&with(&["no-such-role"])).await.unwrap()).as_deref(),
            Some("support")
        );
        assert_eq!(
            role(f.login(&with(&[])).await.unwrap()).as_deref(),
            Some("support")
        );
        // `at_creation`: later claims change nothing; a new user gets the named role once.
        f.set_provisioning(proto::ProvisioningInput {
            role_sync: Some(proto::RoleSync::AtCreation),
            ..Default::default()
        })
        .await;
        assert_eq!(
            role(f.login(&with(&["admin"])).await.unwrap()).as_deref(),
            Some("support")
        );
        let mut other = identity("u2", Some("u2@acme.example"));
        other.role_claims = vec!["AUDITOR".into()];
        assert_eq!(
            role(f.login(&other).await.unwrap()).as_deref(),
            Some("auditor")
        );
        // Names are not roles unless the connection says so.
        f.set_provisioning(proto::ProvisioningInput {
            role_claim_is_role_name: Some(false),
            ..Default::default()
        })
        .await;
        let mut third = identity("u3", Some("u3@acme.example"));
        third.role_claims = vec!["admin".into()];
        assert_eq!(
            role(f.login(&third).await.unwrap()).as_deref(),
            Some("viewer")
        );
    })
    .await;
}
