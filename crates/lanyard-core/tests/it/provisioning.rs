//! Provisioning on SQLite and PostgreSQL: the one path every protocol's Identity takes (JIT,
//! reconcile, roles, upgrade invitations), the emailed links and their single use, and that
//! every multi-row change commits whole or not at all.

use crate::harness::{Env, each_backend, meta};
use lanyard_core::identity::Identity;
use lanyard_core::identity::provisioning::Provisioned;
use lanyard_core::model::{Connection, SsoState, Tenant, User};
use lanyard_core::{Ctx, Lanyard};
use lanyard_proto as proto;
use serde_json::json;

pub(crate) const PW: &str = "correct horse battery staple";

pub(crate) fn cert() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-saml/tests/fixtures/keys/idp.crt"),
    )
    .unwrap()
}

pub(crate) struct Fx {
    pub(crate) l: Lanyard,
    pub(crate) t: Tenant,
    pub(crate) c: Connection,
}

pub(crate) async fn fixture(e: &Env, provisioning: Option<proto::ProvisioningInput>) -> Fx {
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

pub(crate) fn identity(fid: &str, email: Option<&str>) -> Identity {
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
        authn_contexts: Vec::new(),
    }
}

impl Fx {
    pub(crate) async fn login(&self, id: &Identity) -> lanyard_core::Result<Provisioned> {
        self.refresh_and_login(id, None).await
    }

    pub(crate) async fn refresh_and_login(
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

    pub(crate) async fn password_user(&self, username: &str, email: &str, role: &str) -> User {
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

    pub(crate) async fn user(&self, id: &str) -> User {
        self.l
            .store
            .user_by_id(&self.t.id, id)
            .await
            .unwrap()
            .unwrap()
    }

    pub(crate) async fn users(&self) -> usize {
        self.l
            .store
            .list_users(&self.t.id, None, 1000)
            .await
            .unwrap()
            .len()
    }

    pub(crate) async fn outbox(&self) -> Vec<lanyard_core::model::OutboxMessage> {
        let (rows, _) = self
            .l
            .list_outbox(&Ctx::cli(), "acme", None, Some(200))
            .await
            .unwrap();
        rows.into_iter().rev().collect() // oldest first
    }

    /// The body of the newest mail with a link to `/t/acme/{path}/`.
    pub(crate) async fn newest_mail_with(&self, path: &str) -> String {
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
pub(crate) fn token_in(body: &str, path: &str) -> String {
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
    pub(crate) async fn user_named(&self, name: &str) -> User {
        self.l
            .store
            .user_by_username(&self.t.id, name)
            .await
            .unwrap()
            .unwrap()
    }

    pub(crate) async fn set_provisioning(&self, p: proto::ProvisioningInput) {
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

pub(crate) fn mapping(rows: &[(&str, &str)]) -> Vec<proto::RoleMapping> {
    rows.iter()
        .map(|(v, r)| proto::RoleMapping {
            value: (*v).into(),
            role: (*r).into(),
        })
        .collect()
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
        // And the command line's token from the device grant (`lanyard login`).
        let view = f.l.session("acme", &session.token).await.unwrap();
        let cli_token = device_token(&f.l, &view).await;
        assert!(f.l.authenticate_api_token("acme", &cli_token).await.is_ok());

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
            f.l.authenticate_api_token("acme", &cli_token)
                .await
                .unwrap_err()
                .code(),
            "auth.api_token_invalid",
            "the SSO upgrade revokes the CLI's token too"
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

/// A `lyt_` token issued through the device grant for the person of `view`.
async fn device_token(
    l: &lanyard_core::Lanyard,
    view: &lanyard_core::model::SessionView,
) -> String {
    use lanyard_core::provider::device::CLI_CLIENT_ID;
    let m = meta("198.51.100.2");
    let d = l
        .start_device_authorization(CLI_CLIENT_ID, "acme", "laptop-cli", &m)
        .await
        .unwrap();
    l.decide_device(&d.user_code, view, true, &m).await.unwrap();
    let app = l.app(CLI_CLIENT_ID).await.unwrap();
    l.poll_device(&app, &d.device_code).await.unwrap().secret
}
