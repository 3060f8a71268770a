//! Provisioning, continued: the ways in and out of an account (email confirmation, resets when a
//! connection goes away, SSO-required routing, disconnecting, admin-set federation IDs, API tokens).

use crate::harness::{T0, each_backend, meta};
use crate::provisioning::*;
use lanyard_core::model::SsoState;
use lanyard_core::{Actor, Ctx, Lanyard};
use lanyard_proto as proto;

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
            .set(T0 + lanyard_core::identity::links::CONFIRMATION_TTL_SECS + 1);
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
            .set(T0 + lanyard_core::identity::links::PASSWORD_RESET_TTL_SECS);
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
