//! Verified domains as seen by the sign-in flows (issue 12): an OIDC connection may trust
//! emails without `email_verified` (Entra ID) in the tenant's verified domains.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// Off by default, never for an unverified domain, never against `email_verified: false`.
#[tokio::test]
async fn oidc_emails_in_verified_domains_are_trusted_only_when_asked() {
    use crate::oidc::{authorize, callback, setup};
    let (app, _issuer, op) = setup(json!({"use_userinfo": false})).await;
    let login = |sub: &'static str, email: &'static str, verified: Value| {
        let (app, op) = (&app, &op);
        async move {
            op.lock().unwrap().patch =
                json!({"sub": sub, "email": email, "email_verified": verified});
            let (state, code) = authorize(app, op).await;
            let res = callback(app, &format!("code={code}&state={state}")).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
            crate::saml::session_json(app, &res, "acme").await["user"]["email"].clone()
        }
    };
    let trust = |on: bool| {
        let app = &app;
        async move {
            let res = app
                .api(
                    Method::PATCH,
                    "/api/v1/tenants/acme/oidc-connections/op",
                    Some(json!({"trust_verified_domain_emails": on})),
                    None,
                )
                .await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text());
            assert!(
                res.text()
                    .contains(&format!("\"trust_verified_domain_emails\":{on}")),
                "{}",
                res.text()
            );
        }
    };
    // Claimed but not verified, setting on: not trusted.
    let claim = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/domains",
            Some(json!({"domain": "corp.example"})),
            None,
        )
        .await;
    assert_eq!(claim.status, StatusCode::CREATED);
    trust(true).await;
    assert!(login("u1", "a@corp.example", Value::Null).await.is_null());
    // Verified, setting off (the default): not trusted.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/domains/corp.example/override",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    trust(false).await;
    assert!(login("u2", "b@corp.example", Value::Null).await.is_null());
    // Verified and on: trusted; another domain or an explicit false is not.
    trust(true).await;
    assert_eq!(
        login("u3", "c@corp.example", Value::Null).await,
        "c@corp.example"
    );
    assert!(
        login("u4", "d@elsewhere.example", Value::Null)
            .await
            .is_null()
    );
    assert!(login("u5", "e@corp.example", json!(false)).await.is_null());
}
