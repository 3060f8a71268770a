//! Authentication strength per connection (issue 12): a configured list of acceptable SAML
//! AuthnContextClassRef / OIDC `acr`/`amr` values; a login with none of them is refused with
//! `login.mfa_required`, creating, linking and opening nothing (audited).

use crate::provisioning::{person, saml_login};
use crate::saml::{assert_refused, connection, counts};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const MFA_CLASS: &str = "http://schemas.microsoft.com/claims/multipleauthn";
const PPT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

async fn require(app: &crate::harness::TestApp, path: &str, values: Value) {
    let res = app
        .api(
            Method::PATCH,
            path,
            Some(json!({"provisioning": {"required_authn_contexts": values}})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        res.json()["provisioning"]["required_authn_contexts"],
        values
    );
}

#[tokio::test]
async fn saml_logins_without_an_acceptable_authn_context_are_refused() {
    let app = crate::harness::TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    require(
        &app,
        "/api/v1/tenants/acme/connections/okta",
        json!([MFA_CLASS]),
    )
    .await;
    let before = counts(&app).await;
    let fresh = |ctx: &str| {
        let mut r = person("00u-mfa", &[("email", "mfa@acme.test")]);
        r.authn_context = ctx.into();
        r
    };
    let res = saml_login(&app, fresh(PPT)).await;
    assert_refused(&app, &res, "login.mfa_required", before).await;
    assert!(
        res.text().contains(PPT),
        "the page names what came: {}",
        res.text()
    );
    let res = saml_login(&app, fresh(MFA_CLASS)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // Cleared: any context goes again.
    require(&app, "/api/v1/tenants/acme/connections/okta", json!([])).await;
    let res = saml_login(&app, fresh(PPT)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let refused = app
        .lanyard
        .store
        .list_audit(&lanyard_core::model::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.code.as_deref() == Some("login.mfa_required"))
        .count();
    assert!(refused >= 1, "the refusal is audited");
}

#[tokio::test]
async fn oidc_logins_need_an_acceptable_acr_or_amr() {
    use crate::oidc::{authorize, callback, setup};
    let (app, _issuer, op) = setup(json!({"use_userinfo": false})).await;
    require(
        &app,
        "/api/v1/tenants/acme/oidc-connections/op",
        json!(["mfa", "urn:acr:strong"]),
    )
    .await;
    for (patch, ok) in [
        (json!({"amr": null, "acr": null}), false),
        (json!({"amr": ["pwd"], "acr": "urn:acr:weak"}), false),
        (json!({"amr": ["pwd", "mfa"]}), true),
        (json!({"amr": null, "acr": "urn:acr:strong"}), true),
    ] {
        op.lock().unwrap().patch = patch.clone();
        let before = counts(&app).await;
        let (state, code) = authorize(&app, &op).await;
        let res = callback(&app, &format!("code={code}&state={state}")).await;
        if ok {
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{patch}: {}", res.text());
        } else {
            assert_refused(&app, &res, "login.mfa_required", before).await;
        }
    }
    // JWT connections have no such claim: the setting is refused there.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/jwt-connections",
            Some(json!({
                "slug": "portal", "name": "Portal", "login_url": "https://portal.example/login",
                "secret_key": "0123456789abcdef0123456789abcdef",
                "provisioning": {"required_authn_contexts": ["mfa"]},
            })),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
}
