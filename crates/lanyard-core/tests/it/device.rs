//! The device authorization grant (RFC 8628) on both stores: the code pair, the typed user
//! code (case- and dash-insensitive, throttled), approval and denial, polling (pending,
//! slow_down, expired), single-use consumption under a race, and the API token it issues.

use crate::harness::{Env, each_backend, meta};
use lanyard_core::model::SessionView;
use lanyard_core::provider::device::{
    CLI_CLIENT_ID, DEVICE_CODE_TTL_SECS, DeviceStart, POLL_INTERVAL_SECS, normalize_user_code,
};
use lanyard_core::{Ctx, Error};
use lanyard_proto as proto;

async fn user(e: &Env, tenant: &str, name: &str) -> SessionView {
    let l = &e.lanyard;
    let c = Ctx::cli();
    if l.tenant(tenant).await.is_err() {
        l.create_tenant(
            &c,
            proto::CreateTenant {
                slug: tenant.into(),
                name: tenant.into(),
                session_lifetime_secs: None,
            },
        )
        .await
        .unwrap();
    }
    let u = l
        .create_user(
            &c,
            tenant,
            proto::CreateUser {
                collaborator: false,
                username: name.into(),
                email: Some(format!("{name}@{tenant}.test")),
                display_name: None,
                role: Some("standard".into()),
                password: None,
                super_admin: false,
            },
        )
        .await
        .unwrap();
    let t = l.tenant(tenant).await.unwrap();
    let s = l
        .open_session(&t, &u.id, "password", &meta("192.0.2.1"))
        .await
        .unwrap();
    l.session(tenant, &s.token).await.unwrap()
}

async fn start(e: &Env, org: &str) -> DeviceStart {
    e.lanyard
        .start_device_authorization(CLI_CLIENT_ID, org, "jo-laptop", &meta("203.0.113.7"))
        .await
        .unwrap()
}

fn code(r: Result<impl Sized, Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.code().into(),
    }
}

#[test]
fn typed_user_codes_ignore_case_dashes_and_spaces() {
    assert_eq!(
        normalize_user_code("bcdf-ghjk").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(
        normalize_user_code(" BCDF GHJK ").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(normalize_user_code("BCDFGHJ"), None, "too short");
    assert_eq!(
        normalize_user_code("BCDF-GHJ0"),
        None,
        "0 is not in the alphabet"
    );
    assert_eq!(
        normalize_user_code("ABCD-EFGH"),
        None,
        "vowels are not in the alphabet"
    );
}

#[tokio::test]
async fn approved_device_gets_one_named_api_token_once() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let s = user(&e, "acme", "jo").await;
        let d = start(&e, "acme").await;
        assert_eq!(
            (d.expires_in, d.interval),
            (DEVICE_CODE_TTL_SECS, POLL_INTERVAL_SECS)
        );
        assert_eq!(d.user_code.len(), 9);
        assert_eq!(d.user_code.chars().nth(4), Some('-'));
        let app = l.app(CLI_CLIENT_ID).await.unwrap();
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.authorization_pending"
        );

        // The page: typed in lower case without the dash, it shows app, machine, IP and time.
        let typed = d.user_code.replace('-', "").to_lowercase();
        let p = l.pending_device(&typed, &meta("192.0.2.1")).await.unwrap();
        assert_eq!(p.app.id, CLI_CLIENT_ID);
        assert_eq!(p.machine_name, "jo-laptop");
        assert_eq!(p.client_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(p.created_at, l.now());
        l.decide_device(&typed, &s, true, &meta("192.0.2.1"))
            .await
            .unwrap();
        // Decided: the code is no longer offered.
        assert_eq!(
            code(l.pending_device(&typed, &meta("192.0.2.1")).await),
            "oauth.user_code_unknown"
        );

        e.clock.advance(POLL_INTERVAL_SECS);
        let t = l.poll_device(&app, &d.device_code).await.unwrap();
        assert!(t.secret.starts_with("lyt_"));
        assert_eq!(t.user.id, s.user_id);
        assert_eq!(t.token.name, "jo-laptop");
        assert_eq!(t.token.expires_at - t.token.created_at, 365 * 86_400);
        let (_, who, _) = l.authenticate_api_token("acme", &t.secret).await.unwrap();
        assert_eq!(who.id, s.user_id);
        let listed = l
            .list_api_tokens(&Ctx::cli(), "acme", &s.user_id)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{}", e.name);
        assert_eq!(listed[0].name, "jo-laptop");

        // Used twice: refused, and no second token.
        e.clock.advance(POLL_INTERVAL_SECS);
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.device_code_invalid"
        );
        let listed = l
            .list_api_tokens(&Ctx::cli(), "acme", &s.user_id)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);

        // Revoked by the user: the CLI's token stops working.
        l.revoke_api_token(&Ctx::cli(), "acme", &s.user_id, &t.token.id)
            .await
            .unwrap();
        assert_eq!(
            code(l.authenticate_api_token("acme", &t.secret).await),
            "auth.api_token_invalid"
        );
    })
    .await;
}

#[tokio::test]
async fn polling_too_fast_denial_and_expiry_have_their_errors() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let s = user(&e, "acme", "jo").await;
        let d = start(&e, "acme").await;
        let app = l.app(CLI_CLIENT_ID).await.unwrap();
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.authorization_pending"
        );
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.slow_down"
        );
        e.clock.advance(POLL_INTERVAL_SECS - 1);
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.slow_down"
        );
        e.clock.advance(1);
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.authorization_pending"
        );

        l.decide_device(&d.user_code, &s, false, &meta("192.0.2.1"))
            .await
            .unwrap();
        e.clock.advance(POLL_INTERVAL_SECS);
        let err = l.poll_device(&app, &d.device_code).await.unwrap_err();
        assert_eq!(err.code(), "oauth.device_denied");
        let Error::Provider(p) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(p.oauth_error(), "access_denied");

        let d2 = start(&e, "acme").await;
        e.clock.advance(DEVICE_CODE_TTL_SECS);
        let err = l.poll_device(&app, &d2.device_code).await.unwrap_err();
        let Error::Provider(p) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (err.code(), p.oauth_error()),
            ("oauth.device_expired", "expired_token")
        );
        assert_eq!(
            code(l.pending_device(&d2.user_code, &meta("192.0.2.1")).await),
            "oauth.user_code_unknown"
        );
        assert_eq!(
            code(
                l.decide_device(&d2.user_code, &s, true, &meta("192.0.2.1"))
                    .await
            ),
            "oauth.user_code_unknown"
        );
        assert!(
            l.list_api_tokens(&Ctx::cli(), "acme", &s.user_id)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn two_pollers_at_once_get_one_token() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let s = user(&e, "acme", "jo").await;
        // The built-in app is created on first use; two first uses at once both work.
        assert_eq!(code(l.app(CLI_CLIENT_ID).await), "oauth.unknown_client");
        let (a, b) = tokio::join!(start(&e, "acme"), start(&e, "acme"));
        assert_ne!(a.device_code, b.device_code);
        let (apps, _) = l.list_apps(&Ctx::cli(), None, None).await.unwrap();
        assert_eq!(apps.iter().filter(|a| a.id == CLI_CLIENT_ID).count(), 1);
        let app = l.app(CLI_CLIENT_ID).await.unwrap();
        assert!(app.is_public());
        for round in 0..5 {
            let d = start(&e, "acme").await;
            l.decide_device(&d.user_code, &s, true, &meta("192.0.2.1"))
                .await
                .unwrap();
            let (a, b) = tokio::join!(
                l.poll_device(&app, &d.device_code),
                l.poll_device(&app, &d.device_code)
            );
            let ok = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
            assert_eq!(ok, 1, "{} round {round}: {a:?} {b:?}", e.name);
            let loser = if a.is_ok() { b } else { a };
            let c = code(loser);
            assert!(
                c == "oauth.slow_down" || c == "oauth.device_code_invalid",
                "{c}"
            );
            e.clock.advance(POLL_INTERVAL_SECS);
        }
        let tokens = l
            .list_api_tokens(&Ctx::cli(), "acme", &s.user_id)
            .await
            .unwrap();
        assert_eq!(tokens.len(), 5);
    })
    .await;
}

#[tokio::test]
async fn a_person_of_another_organisation_cannot_approve() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let _jo = user(&e, "acme", "jo").await;
        let eve = user(&e, "globex", "eve").await;
        let d = start(&e, "acme").await;
        let err = l
            .decide_device(&d.user_code, &eve, true, &meta("192.0.2.1"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "oauth.device_wrong_organization");
        assert!(err.to_string().contains("acme"), "{err}");
        // Still pending for the right person.
        assert!(
            l.pending_device(&d.user_code, &meta("192.0.2.1"))
                .await
                .is_ok()
        );
        // Unknown organisation at the start.
        assert_eq!(
            code(
                l.start_device_authorization(CLI_CLIENT_ID, "nope", "m", &meta("203.0.113.7"))
                    .await
            ),
            "oauth.unknown_organization"
        );
    })
    .await;
}

#[tokio::test]
async fn wrong_user_codes_are_throttled_per_address() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let _jo = user(&e, "acme", "jo").await;
        let d = start(&e, "acme").await;
        let guesser = meta("198.51.100.9");
        for _ in 0..10 {
            assert_eq!(
                code(l.pending_device("BBBB-BBBB", &guesser).await),
                "oauth.user_code_unknown"
            );
        }
        // Even the right code is refused now from that address, but not from another.
        assert_eq!(
            code(l.pending_device(&d.user_code, &guesser).await),
            "oauth.user_code_throttled"
        );
        assert!(
            l.pending_device(&d.user_code, &meta("192.0.2.1"))
                .await
                .is_ok()
        );
        e.clock.advance(15 * 60);
        assert!(
            l.pending_device(&d.user_code, &guesser).await.is_err(),
            "expired by now"
        );
        assert_eq!(
            code(l.pending_device("BBBB-BBBB", &guesser).await),
            "oauth.user_code_unknown",
            "a new window"
        );
    })
    .await;
}

#[tokio::test]
async fn only_apps_allowed_the_device_grant_may_use_it() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        let _jo = user(&e, "acme", "jo").await;
        let (app, _) = l
            .create_app(
                &Ctx::cli(),
                proto::CreateApp {
                    name: "Web".into(),
                    redirect_uris: vec!["https://app.example/cb".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            code(
                l.start_device_authorization(&app.id, "acme", "m", &meta("203.0.113.7"))
                    .await
            ),
            "oauth.grant_type_not_allowed"
        );
        let d = start(&e, "acme").await;
        assert_eq!(
            code(l.poll_device(&app, &d.device_code).await),
            "oauth.grant_type_not_allowed"
        );
    })
    .await;
}
