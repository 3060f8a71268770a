//! OIDC connections with pasted signing certificates (`signing_certificates`): shown by the API,
//! checked at save, and at sign-in the only keys: the JWKS URI is never fetched, and a token
//! signed by any other key is refused.

use crate::harness::TestApp;
use crate::oidc::{Op, authorize, callback, fake_op, oidc_connection};
use crate::saml::{assert_refused, counts};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn fixture(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-core/tests/fixtures")
            .join(path),
    )
    .unwrap()
}

async fn patch(app: &TestApp, body: Value) -> crate::harness::Res {
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/oidc-connections/op",
        Some(body),
        None,
    )
    .await
}

async fn setup() -> (TestApp, String, Op) {
    let app = TestApp::new().await.with_private_metadata_urls();
    let (issuer, op) = fake_op().await;
    // The JWKS URI points where a fetch would be refused: any fetch would show.
    let res = oidc_connection(
        &app,
        &issuer,
        json!({"signing_certificates": [fixture("jwt/rsa.pub")], "jwks_uri": "http://10.0.0.5/jwks"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(
        res.json()["oidc"]["signing_certificates"][0],
        fixture("jwt/rsa.pub").trim(),
        "shown (public): {}",
        res.text()
    );
    (app, issuer, op)
}

/// The pasted key verifies; the JWKS URI is never fetched (not even for an unknown kid).
#[tokio::test]
async fn pasted_keys_are_the_only_keys_and_the_jwks_uri_is_never_fetched() {
    let (app, _issuer, op) = setup().await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // A kid the pasted keys do not name is no reason to fetch anything.
    op.lock().unwrap().header_patch = json!({"kid": "rotated-kid"});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(op.lock().unwrap().jwks_calls, 0);
    let res = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/op",
            None,
            None,
        )
        .await;
    assert_eq!(
        res.json()["oidc"]["signing_certificates"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{}",
        res.text()
    );
}

/// Key substitution: a token signed by a key that is not among the pasted ones (here the one
/// the provider's JWKS would hold after a takeover of the JWKS host) is refused.
#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let (app, _issuer, op) = setup().await;
    op.lock().unwrap().wrong_key = true;
    let before = counts(&app).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.bad_signature", before).await;
    // The other key pasted instead: its tokens verify, the first key's no longer do.
    let res = patch(
        &app,
        json!({"signing_certificates": [fixture("jwt/rsa_other.pub")]}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    op.lock().unwrap().wrong_key = false;
    let before = counts(&app).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.bad_signature", before).await;
    assert_eq!(op.lock().unwrap().jwks_calls, 0);
}

/// Checked at save with clear codes; clearing needs a JWKS URI and then uses it.
#[tokio::test]
async fn signing_certificates_are_checked_at_save() {
    let (app, issuer, op) = setup().await;
    for (pem, want) in [
        (fixture("jwt/rsa1024.pub"), "oidc.signing_key_too_short"),
        (
            fixture("jwt/rsa.key"),
            "oidc.signing_certificate_private_key",
        ),
        ("hello".to_owned(), "oidc.signing_certificate_not_pem"),
    ] {
        let res = patch(&app, json!({"signing_certificates": [pem]})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert_eq!(res.code(), want, "{}", res.text());
    }
    let res = patch(
        &app,
        json!({"signing_certificates": [fixture("jwt/ec256.pub")]}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Cleared: the JWKS URI counts again (here the provider's own).
    let res = patch(
        &app,
        json!({"signing_certificates": [], "jwks_uri": format!("{issuer}/jwks")}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["oidc"]["signing_certificates"], json!([]));
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(op.lock().unwrap().jwks_calls, 1);
}
