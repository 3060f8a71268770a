//! JWT remote login through the store on SQLite and PostgreSQL: settings checked at save time
//! and secrets sealed, jti replay, linking by federation ID, and no user or session on any refusal.

use crate::harness::{T0, each_backend, meta};
use crate::jwt_login::*;
use jsonwebtoken::Algorithm;
use lanyard_core::model::AuditFilter;
use lanyard_core::signin::jwt::JwtVerifyRequest;
use lanyard_core::{Ctx, Error, Lanyard};
use lanyard_proto::{self as proto, JwtAlgorithm};
use serde_json::json;

pub fn jwt_input(slug: &str, alg: JwtAlgorithm, key: &str) -> proto::JwtConnectionInput {
    proto::JwtConnectionInput {
        slug: Some(slug.into()),
        name: Some(format!("{slug} portal")),
        login_url: Some("https://portal.example/login".into()),
        algorithm: Some(alg),
        secret_key: Some(key.into()),
        jit: Some(true),
        ..Default::default()
    }
}

async fn tenant(l: &Lanyard, slug: &str) -> lanyard_core::model::Tenant {
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

async fn counts(l: &Lanyard, tenant: &str) -> (usize, usize) {
    let (_, users, _) = l
        .list_users(&Ctx::cli(), tenant, &Default::default(), None, Some(200))
        .await
        .unwrap();
    let (sessions, _) = l
        .list_sessions(&Ctx::cli(), tenant, None, false, None, Some(200))
        .await
        .unwrap();
    (users.len(), sessions.len())
}

async fn failures(l: &Lanyard, code: &str) -> usize {
    l.store
        .list_audit(&AuditFilter {
            kind: Some("login.failed".into()),
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|r| r.code.as_deref() == Some(code))
        .count()
}

async fn verify(
    l: &Lanyard,
    tenant: &str,
    conn: &str,
    token: &str,
) -> Result<lanyard_core::signin::jwt::JwtLogin, Error> {
    l.jwt_verify(
        tenant,
        conn,
        &JwtVerifyRequest {
            token: Ok(token),
            redirect_url: Some("/t/a/app"),
            public_url: "https://sso.example.com",
            invitation_id: None,
        },
        &meta("203.0.113.7"),
    )
    .await
}

#[tokio::test]
async fn settings_are_validated_when_saved_and_secrets_sealed() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        tenant(l, "a").await;
        let ctx = Ctx::cli();
        let err = l
            .create_jwt_connection(
                &ctx,
                "a",
                jwt_input("p", JwtAlgorithm::HS256, &"k".repeat(31)),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_KEY_LENGTH", "{}", e.name);
        let err = l
            .create_jwt_connection(
                &ctx,
                "a",
                jwt_input("p", JwtAlgorithm::HS512, &"k".repeat(63)),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_KEY_LENGTH");
        let private = fixture_text("rsa.key");
        let err = l
            .create_jwt_connection(
                &ctx,
                "a",
                jwt_input("p", JwtAlgorithm::RS256, &private),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "PRIVATE_KEY_PROVIDED");
        for url in [
            "http://portal.example/login",
            "/login",
            "javascript:alert(1)",
            "https://u:p@portal.example/",
            "ftp://portal.example/",
        ] {
            let mut i = jwt_input("p", JwtAlgorithm::HS256, SECRET);
            i.login_url = Some(url.into());
            let err = l
                .create_jwt_connection(&ctx, "a", i, false)
                .await
                .unwrap_err();
            assert_eq!(err.code(), "INVALID_LOGIN_URL", "{url}");
        }
        let mut dev = jwt_input("dev", JwtAlgorithm::HS256, SECRET);
        dev.login_url = Some("http://127.0.0.1:3000/login".into());
        l.create_jwt_connection(&ctx, "a", dev, true).await.unwrap();
        let mut empty_iss = jwt_input("p", JwtAlgorithm::HS256, SECRET);
        empty_iss.issuer = Some(Some(String::new()));
        let err = l
            .create_jwt_connection(&ctx, "a", empty_iss, false)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "request.invalid_field");
        // Nothing of the refused attempts was stored; the private key appears nowhere.
        let (_, list) = l.list_connections(&ctx, "a").await.unwrap();
        assert_eq!(list.len(), 1);
        let audit = l
            .store
            .list_audit(&AuditFilter {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(!format!("{audit:?}").contains("PRIVATE KEY"));

        let (_, c) = l
            .create_jwt_connection(
                &ctx,
                "a",
                jwt_input("p", JwtAlgorithm::HS256, SECRET),
                false,
            )
            .await
            .unwrap();
        assert_eq!(c.kind, "jwt");
        assert!(
            !c.settings.contains(SECRET),
            "the secret is sealed: {}",
            c.settings
        );
        assert!(
            !format!(
                "{:?}",
                l.store
                    .list_audit(&AuditFilter {
                        limit: 500,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            )
            .contains(SECRET)
        );
        let wire = c.to_wire("a", "https://sso.example.com").unwrap();
        let jwt = wire.jwt.unwrap();
        assert!(jwt.secret_configured);
        assert_eq!(
            wire.verify_url.as_deref(),
            Some("https://sso.example.com/t/a/jwt/p/verify")
        );
        // HS256 -> HS512 keeps the 64-byte secret; HS -> RS needs a new key.
        let up = proto::JwtConnectionInput {
            algorithm: Some(JwtAlgorithm::HS512),
            ..Default::default()
        };
        l.update_jwt_connection(&ctx, "a", "p", up, false)
            .await
            .unwrap();
        let up = proto::JwtConnectionInput {
            algorithm: Some(JwtAlgorithm::RS256),
            ..Default::default()
        };
        assert_eq!(
            l.update_jwt_connection(&ctx, "a", "p", up, false)
                .await
                .unwrap_err()
                .code(),
            "request.invalid_field"
        );
        let up = proto::JwtConnectionInput {
            secret_key: Some(fixture_text("rsa.key")),
            algorithm: Some(JwtAlgorithm::RS256),
            ..Default::default()
        };
        assert_eq!(
            l.update_jwt_connection(&ctx, "a", "p", up, false)
                .await
                .unwrap_err()
                .code(),
            "PRIVATE_KEY_PROVIDED"
        );
        let (_, after) = l.get_connection(&ctx, "a", "p").await.unwrap();
        assert_eq!(after.jwt_settings().unwrap().algorithm, JwtAlgorithm::HS512);
        // The SAML endpoint does not edit a JWT connection.
        let err = l
            .update_connection(&ctx, "a", "p", proto::ConnectionInput::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "request.invalid_field");
    })
    .await;
}

#[tokio::test]
async fn login_links_by_federation_id_and_refuses_replays() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        tenant(l, "a").await;
        tenant(l, "b").await;
        let ctx = Ctx::cli();
        l.create_jwt_connection(&ctx, "a", jwt_input("p", JwtAlgorithm::HS256, SECRET), false)
            .await
            .unwrap();
        let k = hs();
        let h = json!({"alg": "HS256", "typ": "JWT"});
        let mut c = claims(T0);
        c["jti"] = json!("jti-1");
        let t = sign(&h, &c, &k, Algorithm::HS256);

        // NO_SETTINGS: unknown connection, a connection of tenant a at tenant b.
        assert_eq!(verify(l, "a", "nope", &t).await.unwrap_err().code(), "NO_SETTINGS");
        assert_eq!(verify(l, "b", "p", &t).await.unwrap_err().code(), "NO_SETTINGS");

        let first = verify(l, "a", "p", &t).await.unwrap();
        assert!(first.user_created);
        assert_eq!(first.return_to.as_deref(), Some("/t/a/app"));
        assert_eq!(first.session.session.auth_method, "jwt");
        assert_eq!(counts(l, "a").await, (1, 1));

        // J-JTI: the same token again is a replay, and changes nothing.
        let err = verify(l, "a", "p", &t).await.unwrap_err();
        assert_eq!(err.code(), "JTI_CLAIM_INVALID", "{}", e.name);
        assert_eq!(counts(l, "a").await, (1, 1));
        assert_eq!(failures(l, "JTI_CLAIM_INVALID").await, 1);

        // Same subject, new jti: the same user, a new session.
        c["jti"] = json!("jti-2");
        let again = verify(l, "a", "p", &sign(&h, &c, &k, Algorithm::HS256)).await.unwrap();
        assert!(!again.user_created);
        assert_eq!(again.session.session.user_id, first.session.session.user_id);
        assert_eq!(counts(l, "a").await, (1, 2));

        // O-NOAUTH for JWT: the same email with another sub is another identity; the email
        // belongs to the first user, so JIT refuses (never links by email) and says how to join.
        c["jti"] = json!("jti-3");
        c["sub"] = json!("attacker");
        let err = verify(l, "a", "p", &sign(&h, &c, &k, Algorithm::HS256)).await.unwrap_err();
        assert_eq!(err.code(), "login.account_exists_use_invitation", "{}", e.name);
        assert_eq!(counts(l, "a").await, (1, 2));

        // Every refusal: its code in the audit log, no user, no session.
        let bad = [
            (sign(&json!({"alg": "none"}), &c, &k, Algorithm::HS256), "NONE_ALGORITHM_PROVIDED"),
            (sign(&json!({"alg": "HS256", "typ": "at+jwt"}), &c, &k, Algorithm::HS256), "WRONG_TYPE_IN_HEADER"),
            (sign(&json!({"typ": "JWT"}), &c, &k, Algorithm::HS256), "ALGORITHM_MISSING_IN_HEADER"),
            ("%%%.e30.e30".to_owned(), "COULD_NOT_PARSE_HEADER"),
            (sign(&h, &json!({"sub": "x", "exp": T0 + 60}), &k, Algorithm::HS256), "MISSING_EMAIL_IN_TOKEN"),
            (sign(&h, &json!({"email": "x@example.com", "exp": T0 - 600}), &k, Algorithm::HS256), "TOKEN_VERIFICATION_FAILED"),
        ];
        for (token, want) in &bad {
            let before = failures(l, want).await;
            assert_eq!(verify(l, "a", "p", token).await.unwrap_err().code(), *want);
            assert_eq!(failures(l, want).await, before + 1, "{want} audited");
            assert_eq!(counts(l, "a").await, (1, 2), "{want}");
        }

        // JIT off: an unknown subject is refused.
        let up = proto::JwtConnectionInput { jit: Some(false), ..Default::default() };
        l.update_jwt_connection(&ctx, "a", "p", up, false).await.unwrap();
        let mut other = claims(T0);
        other["sub"] = json!("user-9");
        other["email"] = json!("grace@example.com");
        let err = verify(l, "a", "p", &sign(&h, &other, &k, Algorithm::HS256)).await.unwrap_err();
        assert_eq!(err.code(), "login.unknown_user");
        assert_eq!(counts(l, "a").await, (1, 2));

        // A replay is refused on the shared store after the clock moves, until exp + skew.
        e.clock.advance(200);
        assert_eq!(verify(l, "a", "p", &t).await.unwrap_err().code(), "JTI_CLAIM_INVALID");

        // The start URL: remote login + redirect_url to our verify URL (+ the same-origin page).
        let url = l
            .jwt_start("a", "p", Some("/t/a/app"), "https://sso.example.com", &meta("203.0.113.7"))
            .await
            .unwrap();
        assert_eq!(
            url,
            "https://portal.example/login?redirect_url=https%3A%2F%2Fsso.example.com%2Ft%2Fa%2Fjwt%2Fp%2Fverify%3Fredirect_url%3D%252Ft%252Fa%252Fapp"
        );
        let url = l
            .jwt_start("a", "p", Some("https://evil.test/"), "https://sso.example.com", &meta("203.0.113.7"))
            .await
            .unwrap();
        assert!(!url.contains("evil"), "{url}");
    })
    .await;
}
