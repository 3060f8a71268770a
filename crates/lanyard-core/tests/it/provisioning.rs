//! Provisioning on SQLite and PostgreSQL: the one path every protocol's Identity takes (JIT,
//! reconcile, roles, upgrade invitations), the emailed links and their single use, and that
//! every multi-row change commits whole or not at all.

use crate::harness::{Env, T0, each_backend, meta};
use lanyard_core::identity::Identity;
use lanyard_core::model::{Connection, SsoState, Tenant, User};
use lanyard_core::provisioning::Provisioned;
use lanyard_core::{Actor, Ctx, Lanyard};
use lanyard_proto as proto;
use serde_json::json;

const PW: &str = "correct horse battery staple";

fn cert() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-saml/tests/fixtures/keys/idp.crt"),
    )
    .unwrap()
}

struct Fx {
    l: Lanyard,
    t: Tenant,
    c: Connection,
}

async fn fixture(e: &Env, provisioning: Option<proto::ProvisioningInput>) -> Fx {
    let l = e.lanyard.clone();
    let ctx = Ctx::cli();
    let t = l
        .create_tenant(
            &ctx,
            proto::CreateTenant {
                slug: "acme".into(),
                name: "Acme".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
    let (_, c) = l
        .create_connection(
            &ctx,
            "acme",
            proto::ConnectionInput {
                slug: Some("okta".into()),
                name: Some("Okta".into()),
                idp_entity_id: Some("https://idp.example/".into()),
                sso_url: Some("https://idp.example/sso".into()),
                certificates: Some(vec![cert()]),
                jit: Some(true),
                provisioning,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Fx { l, t, c }
}

fn identity(fid: &str, email: Option<&str>) -> Identity {
    Identity {
        method: "saml",
        federation_id: fid.into(),
        email: email.map(str::to_owned),
        email_verified: true,
        username: None,
        display_name: None,
        role_claims: Vec::new(),
        session_not_after: None,
        raw_claims: json!({}),
        email_sources: vec!["email".into()],
    }
}

impl Fx {
    async fn login(&self, id: &Identity) -> lanyard_core::Result<Provisioned> {
        self.refresh_and_login(id, None).await
    }

    async fn refresh_and_login(
        &self,
        id: &Identity,
        invitation: Option<&str>,
    ) -> lanyard_core::Result<Provisioned> {
        // The tenant and connection as stored now (settings may have changed).
        let t = self.l.tenant("acme").await.unwrap();
        let c = self
            .l
            .store
            .connection_by_id(&t.id, &self.c.id)
            .await
            .unwrap()
            .unwrap();
        let jit = c.saml_settings().unwrap().jit;
        self.l
            .provision(&t, &c, jit, id, invitation, &meta("198.51.100.1"))
            .await
    }

    async fn password_user(&self, username: &str, email: &str, role: &str) -> User {
        self.l
            .create_user(
                &Ctx::cli(),
                "acme",
                proto::CreateUser {
                    collaborator: false,
                    username: username.into(),
                    email: Some(email.into()),
                    display_name: None,
                    role: Some(role.into()),
                    password: Some(PW.into()),
                    super_admin: false,
                },
            )
            .await
            .unwrap()
    }

    async fn user(&self, id: &str) -> User {
        self.l
            .store
            .user_by_id(&self.t.id, id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn users(&self) -> usize {
        self.l
            .store
            .list_users(&self.t.id, None, 1000)
            .await
            .unwrap()
            .len()
    }

    async fn outbox(&self) -> Vec<lanyard_core::model::OutboxMessage> {
        let (rows, _) = self
            .l
            .list_outbox(&Ctx::cli(), "acme", None, Some(200))
            .await
            .unwrap();
        rows.into_iter().rev().collect() // oldest first
    }

    /// The body of the newest mail with a link to `/t/acme/{path}/`.
    async fn newest_mail_with(&self, path: &str) -> String {
        let marker = format!("/t/acme/{path}/");
        self.outbox()
            .await
            .into_iter()
            .rev()
            .find(|m| m.body.contains(&marker))
            .map(|m| m.body)
            .unwrap_or_else(|| panic!("no mail links to {marker}"))
    }
}

/// The token of the last link to `/t/acme/{path}/` in the outbox.
fn token_in(body: &str, path: &str) -> String {
    let marker = format!("/t/acme/{path}/");
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test]
async fn jit_creates_once_then_reconciles_and_audits_each_change() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let mut id = identity("00u-ada", Some("ada@acme.example"));
        id.username = Some("ada".into());
        id.display_name = Some("Ada L".into());
        let first = f.login(&id).await.unwrap();
        assert!(first.created, "{}", e.name);
        let u = f.user(&first.user.id).await;
        assert_eq!(u.username, "ada");
        assert_eq!(u.email.as_deref(), Some("ada@acme.example"));
        assert_eq!(u.sso_state, SsoState::Linked);
        assert!(!u.email_confirmed, "JIT accounts confirm their email");
        assert_eq!(u.role, None, "no mapping and no default role: no role");
        let mails = f.outbox().await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "ada@acme.example");
        assert!(
            mails[0].body.contains("/t/acme/confirm/"),
            "{}",
            mails[0].body
        );

        // The second login: same user; username, email and display name follow the IdP.
        id.username = Some("ada.lovelace".into());
        id.email = Some("ada.lovelace@acme.example".into());
        id.display_name = Some("Ada Lovelace".into());
        let second = f.login(&id).await.unwrap();
        assert!(!second.created);
        assert_eq!(second.user.id, first.user.id);
        let u = f.user(&first.user.id).await;
        assert_eq!(u.username, "ada.lovelace");
        assert_eq!(u.email.as_deref(), Some("ada.lovelace@acme.example"));
        assert_eq!(u.display_name.as_deref(), Some("Ada Lovelace"));
        let ev =
            f.l.store
                .list_audit(&lanyard_core::model::AuditFilter {
                    kind: Some("user.updated".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .unwrap();
        assert_eq!(ev.len(), 1, "{}", e.name);
        let d: serde_json::Value = serde_json::from_str(&ev[0].details).unwrap();
        assert_eq!(d["changes"]["username"]["from"], "ada");
        assert_eq!(d["changes"]["username"]["to"], "ada.lovelace");
        assert_eq!(d["changes"]["email"]["to"], "ada.lovelace@acme.example");

        // A claimed username that another account has is not taken: kept, with a warning.
        f.password_user("grace", "grace@acme.example", "standard")
            .await;
        id.username = Some("Grace".into());
        let third = f.login(&id).await.unwrap();
        assert_eq!(f.user(&third.user.id).await.username, "ada.lovelace");
        assert_eq!(
            f.user_named("grace").await.email.as_deref(),
            Some("grace@acme.example")
        );
        // An unverified email is never stored.
        id.username = None;
        id.email = Some("evil@acme.example".into());
        id.email_verified = false;
        f.login(&id).await.unwrap();
        assert_eq!(
            f.user(&first.user.id).await.email.as_deref(),
            Some("ada.lovelace@acme.example")
        );
        assert_eq!(f.users().await, 2);
    })
    .await;
}

impl Fx {
    async fn user_named(&self, name: &str) -> User {
        self.l
            .store
            .user_by_username(&self.t.id, name)
            .await
            .unwrap()
            .unwrap()
    }

    async fn set_provisioning(&self, p: proto::ProvisioningInput) {
        self.l
            .update_connection(
                &Ctx::cli(),
                "acme",
                "okta",
                proto::ConnectionInput {
                    provisioning: Some(p),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
}

fn mapping(rows: &[(&str, &str)]) -> Vec<proto::RoleMapping> {
    rows.iter()
        .map(|(v, r)| proto::RoleMapping {
            value: (*v).into(),
            role: (*r).into(),
        })
        .collect()
}

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

#[tokio::test]
async fn first_login_never_takes_over_an_account_by_email() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let jo = f.password_user("jo", "jo@acme.example", "admin").await;
        let before = f.users().await;
        let err = f
            .login(&identity("attacker", Some("JO@acme.example")))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            "login.account_exists_use_invitation",
            "{}",
            e.name
        );
        assert_eq!(f.users().await, before);
        assert_eq!(f.user(&jo.id).await, jo, "jo unchanged");
        assert!(
            f.l.store
                .federated_identities_of(&jo.id)
                .await
                .unwrap()
                .is_empty()
        );
        // The same email, unverified, is not used for matching (or kept): a separate account
        // named by the federation ID... which SAML's email requirement then refuses.
        let mut unverified = identity("attacker", Some("jo@acme.example"));
        unverified.email_verified = false;
        let err = f.login(&unverified).await.unwrap_err();
        assert_eq!(err.code(), "login.missing_email");
        assert_eq!(f.users().await, before);
    })
    .await;
}

#[tokio::test]
async fn invitation_upgrade_links_and_revokes_password_tokens_and_sessions() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        let jo = f.password_user("jo", "jo@acme.example", "support").await;
        let session =
            f.l.password_login("acme", "jo", PW, &meta("198.51.100.2"))
                .await
                .unwrap();
        let (_, token) =
            f.l.create_api_token(
                &ctx,
                "acme",
                &jo.id,
                proto::CreateApiToken {
                    name: "laptop".into(),
                    expires_in_days: None,
                },
            )
            .await
            .unwrap();
        assert!(f.l.authenticate_api_token("acme", &token).await.is_ok());

        let (_, inv) =
            f.l.create_invitations(
                &ctx,
                "acme",
                proto::CreateInvitations {
                    users: Some(vec!["jo".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(inv.len(), 1);
        assert!(inv[0].emailed && inv[0].status == "pending");
        assert_eq!(f.user(&jo.id).await.sso_state, SsoState::Invited);
        let mail = f.newest_mail_with("invite").await;
        assert!(mail.contains(&inv[0].url), "{mail}");
        let tok = token_in(&inv[0].url, "invite");
        // Inviting again re-sends the same link.
        let (_, again) =
            f.l.create_invitations(
                &ctx,
                "acme",
                proto::CreateInvitations {
                    users: Some(vec![jo.id.clone()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(again[0].url, inv[0].url);

        // Decline: not on SSO, still resumable.
        f.l.decline_invitation("acme", &tok, &meta("198.51.100.2"))
            .await
            .unwrap();
        assert_eq!(f.user(&jo.id).await.sso_state, SsoState::Declined);
        let start = f.l.invitation("acme", &tok).await.unwrap();
        assert_eq!(start.connection.slug, "okta");

        // Accept: the login that carries the invitation links jo.
        let mut id = identity("00u-jo", Some("jo@acme.example"));
        id.role_claims = vec!["Admins".into()];
        let p = f
            .refresh_and_login(&id, Some(&start.opened.link.id))
            .await
            .unwrap();
        assert!(p.upgraded && !p.created, "{}", e.name);
        assert_eq!(p.user.id, jo.id);
        let u = f.user(&jo.id).await;
        assert_eq!(u.sso_state, SsoState::Linked);
        assert_eq!(u.password_hash, None, "the password stops working");
        assert_eq!(
            u.role.as_deref(),
            Some("support"),
            "existing users keep their role"
        );
        assert_eq!(
            f.l.password_login("acme", "jo", PW, &meta("198.51.100.2"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        assert_eq!(
            f.l.authenticate_api_token("acme", &token)
                .await
                .unwrap_err()
                .code(),
            "auth.api_token_invalid"
        );
        assert_eq!(
            f.l.session("acme", &session.token)
                .await
                .unwrap_err()
                .code(),
            "session.revoked"
        );
        // The link is used up; the same identity simply signs in afterwards.
        assert_eq!(
            f.l.invitation("acme", &tok).await.unwrap_err().code(),
            "invitation.already_accepted"
        );
        assert_eq!(f.login(&id).await.unwrap().user.id, jo.id);
        let (listed, _) =
            f.l.list_invitations(&ctx, "acme", None, None)
                .await
                .unwrap();
        assert_eq!(listed[0].status, "accepted");
    })
    .await;
}

#[tokio::test]
async fn invitation_refusals_change_nothing() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        let jo = f.password_user("jo", "jo@acme.example", "support").await;
        let kim = f.password_user("kim", "kim@acme.example", "standard").await;
        // kim is already on SSO with 00u-kim.
        f.l.set_federated_identity(&ctx, "acme", &kim.id, "okta", "00u-kim")
            .await
            .unwrap();
        let (_, inv) =
            f.l.create_invitations(
                &ctx,
                "acme",
                proto::CreateInvitations {
                    all: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            inv.iter().map(|i| i.username.as_str()).collect::<Vec<_>>(),
            ["jo"],
            "all = everyone not on SSO"
        );
        let link_id =
            f.l.invitation("acme", &token_in(&inv[0].url, "invite"))
                .await
                .unwrap()
                .opened
                .link
                .id;
        let jo_before = f.user(&jo.id).await;
        // Someone else's verified email: not the invited person.
        let err = f
            .refresh_and_login(&identity("00u-x", Some("x@acme.example")), Some(&link_id))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invitation.email_mismatch", "{}", e.name);
        // An identity already linked to another account.
        let err = f
            .refresh_and_login(
                &identity("00u-kim", Some("kim@acme.example")),
                Some(&link_id),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invitation.identity_in_use");
        assert_eq!(f.user(&jo.id).await, jo_before);
        // Bad requests.
        for (req, code) in [
            (
                proto::CreateInvitations {
                    all: true,
                    users: Some(vec!["jo".into()]),
                    ..Default::default()
                },
                "request.invalid_field",
            ),
            (
                proto::CreateInvitations {
                    users: Some(vec!["kim".into()]),
                    ..Default::default()
                },
                "request.invalid_field",
            ),
            (
                proto::CreateInvitations {
                    users: Some(vec!["nobody".into()]),
                    ..Default::default()
                },
                "request.invalid_field",
            ),
            (
                proto::CreateInvitations {
                    all: true,
                    connection: Some("nope".into()),
                    ..Default::default()
                },
                "connection.not_found",
            ),
        ] {
            assert_eq!(
                f.l.create_invitations(&ctx, "acme", req)
                    .await
                    .unwrap_err()
                    .code(),
                code
            );
        }
        assert_eq!(
            f.l.invitation("acme", "not-a-token")
                .await
                .unwrap_err()
                .code(),
            "invitation.not_found"
        );
        // Every refused link is in the audit log with its code.
        let refused =
            f.l.store
                .list_audit(&lanyard_core::model::AuditFilter {
                    kind: Some("link.refused".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .unwrap();
        assert_eq!(refused.len(), 1, "{}", e.name);
        assert_eq!(refused[0].code.as_deref(), Some("invitation.not_found"));
    })
    .await;
}

#[tokio::test]
async fn collaborators_join_sso_with_the_tenant_default_role() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        let pat = f.password_user("pat", "pat@partner.example", "admin").await;
        f.l.update_user(
            &ctx,
            "acme",
            &pat.id,
            proto::UpdateUser {
                collaborator: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        f.l.update_tenant(
            &ctx,
            "acme",
            proto::UpdateTenant {
                sso_default_role: Some(Some("viewer".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let (_, inv) =
            f.l.create_invitations(
                &ctx,
                "acme",
                proto::CreateInvitations {
                    users: Some(vec!["pat".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let start =
            f.l.invitation("acme", &token_in(&inv[0].url, "invite"))
                .await
                .unwrap();
        let p = f
            .refresh_and_login(
                &identity("00u-pat", Some("pat@partner.example")),
                Some(&start.opened.link.id),
            )
            .await
            .unwrap();
        assert_eq!(p.user.role.as_deref(), Some("viewer"), "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn confirmation_required_blocks_until_the_emailed_link_is_used() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        f.l.update_tenant(
            &Ctx::cli(),
            "acme",
            proto::UpdateTenant {
                require_email_confirmation: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let id = identity("00u-new", Some("new@acme.example"));
        assert_eq!(
            f.login(&id).await.unwrap_err().code(),
            "login.email_unconfirmed"
        );
        assert_eq!(f.users().await, 1, "created, not signed in: {}", e.name);
        assert_eq!(
            f.login(&id).await.unwrap_err().code(),
            "login.email_unconfirmed"
        );
        assert_eq!(
            f.outbox().await.len(),
            1,
            "a refused retry within the week mails nothing new"
        );
        let stale = token_in(&f.newest_mail_with("confirm").await, "confirm");
        // A week later the link has expired; the next sign-in sends a fresh one.
        e.clock
            .set(T0 + lanyard_core::links::CONFIRMATION_TTL_SECS + 1);
        assert_eq!(
            f.l.confirm_email("acme", &stale, &meta("198.51.100.3"))
                .await
                .unwrap_err()
                .code(),
            "link.invalid"
        );
        assert_eq!(
            f.login(&id).await.unwrap_err().code(),
            "login.email_unconfirmed"
        );
        assert_eq!(f.outbox().await.len(), 2);
        let tok = token_in(&f.newest_mail_with("confirm").await, "confirm");
        assert_ne!(tok, stale);
        f.l.confirm_email("acme", &tok, &meta("198.51.100.3"))
            .await
            .unwrap();
        assert!(f.login(&id).await.is_ok());
        assert_eq!(
            f.l.confirm_email("acme", &tok, &meta("198.51.100.3"))
                .await
                .unwrap_err()
                .code(),
            "link.invalid",
            "single use"
        );
    })
    .await;
}

#[tokio::test]
async fn removing_or_disabling_a_connection_sends_resets_that_restore_access() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        let sso_only = f
            .login(&identity("00u-sam", Some("sam@acme.example")))
            .await
            .unwrap()
            .user;
        let _has_password = f.password_user("jo", "jo@acme.example", "standard").await;
        let mails_before = f.outbox().await.len();
        // Disabling: the SSO-only user is sent a reset; the password user is not.
        f.l.update_connection(
            &ctx,
            "acme",
            "okta",
            proto::ConnectionInput {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mails = f.outbox().await;
        assert_eq!(mails.len(), mails_before + 1, "{}", e.name);
        let reset = mails.last().unwrap();
        assert_eq!(reset.to, "sam@acme.example");
        let first = token_in(&reset.body, "reset");
        // Re-enabled then removed: a new reset replaces the first link.
        f.l.update_connection(
            &ctx,
            "acme",
            "okta",
            proto::ConnectionInput {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        f.l.delete_connection(&ctx, "acme", "okta").await.unwrap();
        assert_eq!(
            f.user(&sso_only.id).await.sso_state,
            SsoState::None,
            "off SSO with its connection, so it can be invited again"
        );
        let mails = f.outbox().await;
        assert_eq!(mails.len(), mails_before + 2);
        let second = token_in(&f.newest_mail_with("reset").await, "reset");
        assert_ne!(first, second);
        assert_eq!(
            f.l.reset_password("acme", &first, "a new password 123", &meta("198.51.100.4"))
                .await
                .unwrap_err()
                .code(),
            "link.invalid",
            "the older link was closed"
        );
        // A short password is refused and the link stays usable.
        assert_eq!(
            f.l.reset_password("acme", &second, "short", &meta("198.51.100.4"))
                .await
                .unwrap_err()
                .code(),
            "request.invalid_field"
        );
        f.l.reset_password("acme", &second, "a new password 123", &meta("198.51.100.4"))
            .await
            .unwrap();
        let s =
            f.l.password_login(
                "acme",
                &sso_only.username,
                "a new password 123",
                &meta("198.51.100.4"),
            )
            .await
            .unwrap();
        assert_eq!(s.session.user_id, sso_only.id);
        assert_eq!(
            f.l.reset_password("acme", &second, "another password 1", &meta("198.51.100.4"))
                .await
                .unwrap_err()
                .code(),
            "link.invalid",
            "single use"
        );
    })
    .await;
}

#[tokio::test]
async fn reset_links_expire() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        f.login(&identity("00u-sam", Some("sam@acme.example")))
            .await
            .unwrap();
        f.l.delete_connection(&Ctx::cli(), "acme", "okta")
            .await
            .unwrap();
        let tok = token_in(&f.newest_mail_with("reset").await, "reset");
        e.clock
            .set(T0 + lanyard_core::links::PASSWORD_RESET_TTL_SECS);
        assert_eq!(
            f.l.reset_password("acme", &tok, "a new password 123", &meta("198.51.100.4"))
                .await
                .unwrap_err()
                .code(),
            "link.invalid",
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn sso_required_refuses_passwords_except_super_admins() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        f.password_user("jo", "jo@acme.example", "standard").await;
        f.l.create_user(
            &ctx,
            "acme",
            proto::CreateUser {
                collaborator: false,
                username: "root".into(),
                email: None,
                display_name: None,
                role: Some("admin".into()),
                password: Some(PW.into()),
                super_admin: true,
            },
        )
        .await
        .unwrap();
        f.l.update_tenant(
            &ctx,
            "acme",
            proto::UpdateTenant {
                sso_required: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let m = meta("198.51.100.5");
        assert_eq!(
            f.l.password_login("acme", "jo", PW, &m)
                .await
                .unwrap_err()
                .code(),
            "login.sso_required",
            "{}",
            e.name
        );
        // A wrong password still gets the generic answer: SSO-required says nothing more.
        assert_eq!(
            f.l.password_login("acme", "jo", "wrong wrong wrong", &m)
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        assert!(f.l.password_login("acme", "root", PW, &m).await.is_ok());
        // No enabled connection: nobody is locked out.
        f.l.update_connection(
            &ctx,
            "acme",
            "okta",
            proto::ConnectionInput {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(f.l.password_login("acme", "jo", PW, &m).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn only_admins_disconnect_and_the_user_keeps_a_way_in() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let sam = f
            .login(&identity("00u-sam", Some("sam@acme.example")))
            .await
            .unwrap()
            .user;
        let s =
            f.l.open_session(&f.t, &sam.id, "saml", &meta("198.51.100.6"))
                .await
                .unwrap();
        let own = Ctx::new(
            Actor::User {
                id: sam.id.clone(),
                tenant_id: f.t.id.clone(),
            },
            meta("198.51.100.6"),
        );
        assert_eq!(
            f.l.disconnect_federated_identity(&own, "acme", &sam.id, "okta")
                .await
                .unwrap_err()
                .code(),
            "sso.self_disconnect_forbidden",
            "{}",
            e.name
        );
        assert_eq!(
            f.l.store
                .federated_identities_of(&sam.id)
                .await
                .unwrap()
                .len(),
            1
        );
        let mails = f.outbox().await.len();
        f.l.disconnect_federated_identity(&Ctx::cli(), "acme", &sam.id, "okta")
            .await
            .unwrap();
        assert!(
            f.l.store
                .federated_identities_of(&sam.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(f.user(&sam.id).await.sso_state, SsoState::None);
        assert_eq!(
            f.l.session("acme", &s.token).await.unwrap_err().code(),
            "session.revoked"
        );
        let reset = f.outbox().await;
        assert_eq!(
            reset.len(),
            mails + 1,
            "a password reset so sam is not locked out"
        );
        assert!(reset.last().unwrap().body.contains("/t/acme/reset/"));
        assert_eq!(
            f.l.disconnect_federated_identity(&Ctx::cli(), "acme", &sam.id, "okta")
                .await
                .unwrap_err()
                .code(),
            "federated_identity.not_found"
        );
        // With JIT off the old identity no longer signs in as sam.
        f.l.update_connection(
            &Ctx::cli(),
            "acme",
            "okta",
            proto::ConnectionInput {
                jit: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            f.login(&identity("00u-sam", Some("sam@acme.example")))
                .await
                .unwrap_err()
                .code(),
            "login.unknown_user"
        );
    })
    .await;
}

#[tokio::test]
async fn admins_set_federation_ids_for_connections_without_jit() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        f.l.update_connection(
            &ctx,
            "acme",
            "okta",
            proto::ConnectionInput {
                jit: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let id = identity("E-1001", Some("lee@acme.example"));
        let t = f.l.tenant("acme").await.unwrap();
        let c =
            f.l.store
                .connection_by_id(&t.id, &f.c.id)
                .await
                .unwrap()
                .unwrap();
        let m = meta("198.51.100.7");
        assert_eq!(
            f.l.provision(&t, &c, false, &id, None, &m)
                .await
                .unwrap_err()
                .code(),
            "login.unknown_user",
            "{}",
            e.name
        );
        assert_eq!(f.users().await, 0);
        let lee =
            f.l.create_user(
                &ctx,
                "acme",
                proto::CreateUser {
                    collaborator: false,
                    username: "lee".into(),
                    email: Some("lee@acme.example".into()),
                    display_name: None,
                    role: Some("standard".into()),
                    password: None,
                    super_admin: false,
                },
            )
            .await
            .unwrap();
        f.l.set_federated_identity(&ctx, "acme", &lee.id, "okta", "E-1001")
            .await
            .unwrap();
        let p = f.l.provision(&t, &c, false, &id, None, &m).await.unwrap();
        assert_eq!(p.user.id, lee.id);
        let ids =
            f.l.federated_identities(&ctx, "acme", &lee.id)
                .await
                .unwrap();
        assert_eq!(ids[0].connection, "okta");
        assert_eq!(ids[0].federation_id, "E-1001");
        assert!(ids[0].last_login_at.is_some());
        // Changing it: the old value stops working; a value linked elsewhere is refused.
        f.l.set_federated_identity(&ctx, "acme", &lee.id, "okta", "E-2002")
            .await
            .unwrap();
        assert_eq!(
            f.l.provision(&t, &c, false, &id, None, &m)
                .await
                .unwrap_err()
                .code(),
            "login.unknown_user"
        );
        let other = f.password_user("kim", "kim@acme.example", "standard").await;
        assert_eq!(
            f.l.set_federated_identity(&ctx, "acme", &other.id, "okta", "E-2002")
                .await
                .unwrap_err()
                .code(),
            "federated_identity.taken"
        );
        assert!(
            f.l.store
                .federated_identities_of(&other.id)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn api_tokens_expire_are_revocable_and_stay_in_their_tenant() {
    each_backend(|e| async move {
        let f = fixture(&e, None).await;
        let ctx = Ctx::cli();
        let jo = f.password_user("jo", "jo@acme.example", "standard").await;
        let (t, secret) =
            f.l.create_api_token(
                &ctx,
                "acme",
                &jo.id,
                proto::CreateApiToken {
                    name: "ci".into(),
                    expires_in_days: Some(1),
                },
            )
            .await
            .unwrap();
        assert!(secret.starts_with("lyt_"));
        let (_, u, _) = f.l.authenticate_api_token("acme", &secret).await.unwrap();
        assert_eq!(u.id, jo.id, "{}", e.name);
        f.l.create_tenant(
            &ctx,
            proto::CreateTenant {
                slug: "other".into(),
                name: "Other".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
        for (tenant, token) in [
            ("other", secret.as_str()),
            ("acme", "lyt_unknown"),
            ("acme", "lny_not-a-user-token"),
        ] {
            assert_eq!(
                f.l.authenticate_api_token(tenant, token)
                    .await
                    .unwrap_err()
                    .code(),
                "auth.api_token_invalid"
            );
        }
        e.clock.set(T0 + 86_400);
        assert_eq!(
            f.l.authenticate_api_token("acme", &secret)
                .await
                .unwrap_err()
                .code(),
            "auth.api_token_invalid",
            "expired"
        );
        f.l.revoke_api_token(&ctx, "acme", &jo.id, &t.id)
            .await
            .unwrap();
        assert_eq!(
            f.l.revoke_api_token(&ctx, "acme", &jo.id, &t.id)
                .await
                .unwrap_err()
                .code(),
            "api_token.not_found"
        );
        assert_eq!(
            f.l.list_api_tokens(&ctx, "acme", &jo.id)
                .await
                .unwrap()
                .len(),
            1
        );
        for days in [0, 731] {
            assert_eq!(
                f.l.create_api_token(
                    &ctx,
                    "acme",
                    &jo.id,
                    proto::CreateApiToken {
                        name: "x".into(),
                        expires_in_days: Some(days),
                    },
                )
                .await
                .unwrap_err()
                .code(),
                "request.invalid_field"
            );
        }
    })
    .await;
}

/// Impersonation through the username claim: an IdP that does not verify `preferred_username`
/// (or any username attribute) lets a user pick `victim@…`, and the account then reads as the
/// victim in user lists and the audit log. A username that looks like an email is taken only
/// when it equals the identity's verified email (ignoring case), at JIT and at every later
/// login, for every protocol's identity; each refusal leaves a `login.warning` saying why.
#[tokio::test]
async fn usernames_that_look_like_someone_elses_email_are_not_taken() {
    each_backend(|e| async move {
        // Accounts without an email may be created (to see the federation-ID fallback).
        let f = fixture(
            &e,
            Some(proto::ProvisioningInput {
                jit_requires_email: Some(false),
                ..Default::default()
            }),
        )
        .await;
        let warnings = |l: Lanyard| async move {
            l.store
                .list_audit(&lanyard_core::model::AuditFilter {
                    kind: Some("login.warning".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
        };
        // JIT: each look-alike of the victim's address, from each protocol's identity.
        let look_alikes = [
            "victim@acme.example",
            "Victim@Acme.Example",
            "victim+sso@acme.example",
            "victim\u{FF20}acme.example",
            "victim\u{FE6B}acme.example",
            "victim@acme.example.evil.test",
        ];
        for (i, name) in look_alikes.iter().enumerate() {
            for method in ["saml", "oidc", "jwt"] {
                let mut id = identity(
                    &format!("mallory-{method}-{i}"),
                    Some(&format!("mallory.{method}.{i}@acme.example")),
                );
                id.method = method;
                id.username = Some((*name).to_owned());
                let p = f.login(&id).await.unwrap();
                assert!(p.created);
                assert_eq!(
                    p.user.username,
                    format!("mallory.{method}.{i}@acme.example"),
                    "{} {method}: `{name}` falls back to the verified email",
                    e.name
                );
            }
        }
        let ev = warnings(f.l.clone()).await;
        assert_eq!(ev.len(), look_alikes.len() * 3, "{}", e.name);
        assert!(ev[0].details.contains("looks like an email address"));
        assert_eq!(ev[0].kind, "login.warning");

        // Without a verified email the federation ID names the account; one that looks like
        // an email gets a neutral name.
        let mut id = identity("00u-x", Some("victim@acme.example"));
        id.email_verified = false;
        id.username = Some("victim@acme.example".into());
        let p = f.login(&id).await.unwrap();
        assert_eq!(p.user.username, "00u-x");
        let mut id = identity("victim@acme.example", None);
        id.method = "oidc";
        let p = f.login(&id).await.unwrap();
        assert!(p.user.username.starts_with("oidc-"), "{}", p.user.username);

        // The verified email itself (in any case) is a fine username; so is a plain name.
        let mut id = identity("00u-own", Some("own@acme.example"));
        id.username = Some("OWN@acme.example".into());
        assert_eq!(
            f.login(&id).await.unwrap().user.username,
            "OWN@acme.example"
        );
        let mut id = identity("00u-plain", Some("plain@acme.example"));
        id.username = Some("plain".into());
        assert_eq!(f.login(&id).await.unwrap().user.username, "plain");

        // Reconcile: a linked user whose username claim turns into the victim's address keeps
        // the username, with a warning; the own verified email is still accepted.
        let before = warnings(f.l.clone()).await.len();
        id.username = Some("victim@acme.example".into());
        let p = f.login(&id).await.unwrap();
        assert_eq!(p.user.username, "plain");
        assert_eq!(warnings(f.l.clone()).await.len(), before + 1);
        id.username = Some("Plain@Acme.Example".into());
        let p = f.login(&id).await.unwrap();
        assert_eq!(p.user.username, "Plain@Acme.Example");
    })
    .await;
}
