//! RFC 9207 through the router: a provider that announces `iss` in authorization responses
//! (recorded at discovery import as `require_iss`, shown by the API) gets responses without it
//! refused before the code is redeemed.

use crate::harness::{TestApp, urlencode};
use crate::oidc::{authorize, callback, fake_op, oidc_connection};
use crate::saml::{assert_refused, counts};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn missing_iss_is_refused_when_the_discovery_document_announces_it() {
    let app = TestApp::new().await.with_private_metadata_urls();
    let (issuer, op) = fake_op().await;
    // The provider's document with the flag, given as the imported document.
    let doc = json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/jwks"),
        "authorization_response_iss_parameter_supported": true});
    let res = oidc_connection(
        &app,
        &issuer,
        json!({"discovery_url": null, "discovery_json": doc.to_string()}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["oidc"]["require_iss"], true, "{}", res.text());
    // Mix-up: no iss, so possibly another provider's response; the code is never redeemed.
    let before = counts(&app).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.issuer_missing", before).await;
    assert_eq!(op.lock().unwrap().token_calls, 0);
    // A wrong iss is the mix-up code; the right one signs in.
    let (state, code) = authorize(&app, &op).await;
    let res = callback(
        &app,
        &format!(
            "code={code}&state={state}&iss={}",
            urlencode("https://other.example")
        ),
    )
    .await;
    assert_refused(&app, &res, "oidc.issuer_mix_up", before).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(
        &app,
        &format!("code={code}&state={state}&iss={}", urlencode(&issuer)),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    // The admin may turn it off (e.g. a provider that stopped sending iss).
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/oidc-connections/op",
            Some(json!({"require_iss": false})),
            None,
        )
        .await;
    assert_eq!(res.json()["oidc"]["require_iss"], false, "{}", res.text());
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
}
