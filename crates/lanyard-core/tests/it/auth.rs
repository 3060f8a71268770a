use crate::harness::{Env, T0, each_backend, meta};
use lanyard_core::Ctx;
use lanyard_core::model::AuditFilter;
use lanyard_proto as proto;

const PW: &str = "correct horse battery";

async fn setup(e: &Env, lifetime: Option<i64>) -> String {
    let l = &e.lanyard;
    l.create_tenant(
        &Ctx::cli(),
        proto::CreateTenant {
            slug: "acme".into(),
            name: "Acme".into(),
            session_lifetime_secs: lifetime,
        },
    )
    .await
    .unwrap();
    let u = l
        .create_user(
            &Ctx::cli(),
            "acme",
            proto::CreateUser {
                collaborator: false,
                username: "jo".into(),
                email: Some("jo@acme.test".into()),
                display_name: None,
                role: Some("standard".into()),
                password: Some(PW.into()),
                super_admin: false,
            },
        )
        .await
        .unwrap();
    u.id
}

async fn audit_kinds(e: &Env) -> Vec<(String, Option<String>)> {
    let rows = e
        .lanyard
        .store
        .list_audit(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.into_iter().rev().map(|r| (r.kind, r.code)).collect()
}

#[tokio::test]
async fn password_login_opens_a_session_and_audits_it() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let uid = setup(&e, None).await;
        let s = l
            .password_login("acme", "JO", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(s.session.user_id, uid);
        assert_eq!(s.session.expires_at, T0 + 8 * 3600);
        let view = l.session("acme", &s.token).await.unwrap();
        assert_eq!(
            (
                view.username.as_str(),
                view.auth_method.as_str(),
                view.role.as_deref()
            ),
            ("jo", "password", Some("standard"))
        );
        // A second login gets a different session (no fixation).
        let s2 = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_ne!(s.token, s2.token);
        assert_ne!(s.session.id, s2.session.id);
        assert!(
            audit_kinds(&e)
                .await
                .contains(&("login.succeeded".into(), None)),
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_fail_alike() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        let a = l
            .password_login("acme", "jo", "wrong password!", &meta("192.0.2.1"))
            .await
            .unwrap_err();
        let b = l
            .password_login("acme", "nobody", PW, &meta("192.0.2.1"))
            .await
            .unwrap_err();
        assert_eq!((a.code(), a.to_string()), (b.code(), b.to_string()));
        assert_eq!(a.code(), "login.invalid_credentials");
        let fails: Vec<_> = audit_kinds(&e)
            .await
            .into_iter()
            .filter(|(k, _)| k == "login.failed")
            .collect();
        assert_eq!(fails.len(), 2, "{}", e.name);
        assert_eq!(
            l.password_login("nope", "jo", PW, &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "tenant.not_found"
        );
    })
    .await;
}

#[tokio::test]
async fn disabled_and_password_less_accounts_cannot_sign_in() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let uid = setup(&e, None).await;
        l.create_user(
            &Ctx::cli(),
            "acme",
            proto::CreateUser {
                collaborator: false,
                username: "sso-only".into(),
                email: None,
                display_name: None,
                role: None,
                password: None,
                super_admin: false,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            l.password_login("acme", "sso-only", "", &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        let live = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        l.update_user(
            &Ctx::cli(),
            "acme",
            &uid,
            proto::UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            l.password_login("acme", "jo", PW, &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        assert_eq!(
            l.session("acme", &live.token).await.unwrap_err().code(),
            "session.revoked",
            "disabling ends sessions"
        );
    })
    .await;
}

/// SECURITY.md W-BRUTE: one account is throttled after repeated failures, even for the right password.
#[tokio::test]
async fn repeated_failures_throttle_the_account() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        for _ in 0..5 {
            assert_eq!(
                l.password_login("acme", "jo", "bad password!!", &meta("192.0.2.1"))
                    .await
                    .unwrap_err()
                    .code(),
                "login.invalid_credentials"
            );
        }
        // Locked for a second: even the right password (from another IP) is refused, unchecked.
        let err = l
            .password_login("acme", "jo", PW, &meta("198.51.100.7"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "login.throttled", "{}", e.name);
        assert!(matches!(
            err,
            lanyard_core::Error::Throttled {
                retry_after_secs: 1
            }
        ));
        // Unknown accounts are throttled the same way (no enumeration through the throttle).
        for _ in 0..5 {
            let _ = l
                .password_login("acme", "ghost", "bad password!!", &meta("192.0.2.2"))
                .await;
        }
        assert_eq!(
            l.password_login("acme", "ghost", "x", &meta("192.0.2.2"))
                .await
                .unwrap_err()
                .code(),
            "login.throttled"
        );
        e.clock.advance(1);
        l.password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        // Success cleared the account's counter.
        assert_eq!(
            l.password_login("acme", "jo", "bad password!!", &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        assert!(
            audit_kinds(&e)
                .await
                .contains(&("login.failed".into(), Some("login.throttled".into())))
        );
    })
    .await;
}

/// SECURITY.md W-BRUTE: one IP spraying many accounts is stopped.
#[tokio::test]
async fn one_ip_spraying_many_accounts_is_throttled() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        for i in 0..100 {
            let err = l
                .password_login(
                    "acme",
                    &format!("user{i}"),
                    "guess guess guess",
                    &meta("203.0.113.9"),
                )
                .await
                .unwrap_err();
            assert_eq!(err.code(), "login.invalid_credentials", "attempt {i}");
        }
        assert_eq!(
            l.password_login("acme", "jo", PW, &meta("203.0.113.9"))
                .await
                .unwrap_err()
                .code(),
            "login.throttled",
            "{}",
            e.name
        );
        // Another address is unaffected.
        l.password_login("acme", "jo", PW, &meta("203.0.113.10"))
            .await
            .unwrap();
        e.clock.advance(15 * 60);
        l.password_login("acme", "jo", PW, &meta("203.0.113.9"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_at_eight_hours_or_the_tenant_lifetime() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        let s = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        e.clock.advance(8 * 3600 - 1);
        l.session("acme", &s.token).await.unwrap();
        e.clock.advance(1);
        assert_eq!(
            l.session("acme", &s.token).await.unwrap_err().code(),
            "session.expired",
            "{}",
            e.name
        );

        l.update_tenant(
            &Ctx::cli(),
            "acme",
            proto::UpdateTenant {
                session_lifetime_secs: Some(3600),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let s = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        e.clock.advance(3599);
        l.session("acme", &s.token).await.unwrap();
        e.clock.advance(1);
        assert_eq!(
            l.session("acme", &s.token).await.unwrap_err().code(),
            "session.expired"
        );
    })
    .await;
}

#[tokio::test]
async fn admin_revocation_and_password_change_end_sessions() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let uid = setup(&e, None).await;
        let a = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        let b = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        l.revoke_session(&Ctx::cli(), "acme", &a.session.id)
            .await
            .unwrap();
        assert_eq!(
            l.session("acme", &a.token).await.unwrap_err().code(),
            "session.revoked"
        );
        l.session("acme", &b.token).await.unwrap();
        assert_eq!(
            l.revoke_session(&Ctx::cli(), "acme", "no-such-id")
                .await
                .unwrap_err()
                .code(),
            "session.not_found"
        );

        l.update_user(
            &Ctx::cli(),
            "acme",
            &uid,
            proto::UpdateUser {
                password: Some(Some("a brand new password".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            l.session("acme", &b.token).await.unwrap_err().code(),
            "session.revoked",
            "{}",
            e.name
        );
        assert_eq!(
            l.password_login("acme", "jo", PW, &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
        l.password_login("acme", "jo", "a brand new password", &meta("192.0.2.1"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn logout_needs_the_sessions_csrf_token() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        let s = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(
            l.logout("acme", &s.token, "forged", &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "request.csrf_invalid"
        );
        l.session("acme", &s.token).await.unwrap();
        let other = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        // Another session's token does not work either.
        let foreign = l.csrf_token(&other.token);
        assert_eq!(
            l.logout("acme", &s.token, &foreign, &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "request.csrf_invalid"
        );
        l.logout(
            "acme",
            &s.token,
            &l.csrf_token(&s.token),
            &meta("192.0.2.1"),
        )
        .await
        .unwrap();
        assert_eq!(
            l.session("acme", &s.token).await.unwrap_err().code(),
            "session.revoked"
        );
        assert!(
            audit_kinds(&e).await.contains(&("logout".into(), None)),
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test]
async fn a_session_only_works_on_its_own_tenant() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(&e, None).await;
        l.create_tenant(
            &Ctx::cli(),
            proto::CreateTenant {
                slug: "other".into(),
                name: "O".into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
        let s = l
            .password_login("acme", "jo", PW, &meta("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(
            l.session("other", &s.token).await.unwrap_err().code(),
            "session.wrong_tenant",
            "{}",
            e.name
        );
        assert_eq!(
            l.session("acme", "garbage").await.unwrap_err().code(),
            "session.missing"
        );
        assert_eq!(
            l.password_login("other", "jo", PW, &meta("192.0.2.1"))
                .await
                .unwrap_err()
                .code(),
            "login.invalid_credentials"
        );
    })
    .await;
}
