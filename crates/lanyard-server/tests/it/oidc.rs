//! OpenID Connect through the router, against a small fake provider on a loopback port (its
//! token endpoint checks the PKCE verifier and the client authentication, and signs whatever ID
//! token the test asks for): the O-* cases of SECURITY.md §7, each with its code on the page,
//! in the audit log, and no session or user created; provider specifics (Entra, Okta, Google).

use crate::harness::{T0, TestApp, urlencode};
use crate::saml::{assert_refused, counts, session_json};
use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use lanyard_core::model::AuditFilter;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT: &str = "lanyard-client";
const SECRET: &str = "client-secret-1";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-core/tests/fixtures/jwt")
            .join(name),
    )
    .unwrap()
}

#[derive(Default)]
pub(crate) struct OpState {
    issuer: String,
    /// Claims patch applied to the next ID tokens (null removes a claim).
    pub(crate) patch: Value,
    pub(crate) header_patch: Value,
    /// Sign with the attacker's key.
    pub(crate) wrong_key: bool,
    /// Keys published at /jwks: "k1" and, after a rotation, "k2".
    rotated: bool,
    userinfo_sub: Option<String>,
    /// code -> (code_challenge, nonce)
    pub(crate) codes: HashMap<String, (String, String)>,
    pub(crate) token_calls: usize,
    pub(crate) jwks_calls: usize,
    auth_seen: Vec<String>,
}

pub(crate) type Op = Arc<Mutex<OpState>>;

fn key(kid: &str) -> EncodingKey {
    let file = if kid == "k2" {
        "rsa_other.key"
    } else {
        "rsa.key"
    };
    EncodingKey::from_rsa_pem(fixture(file).as_bytes()).unwrap()
}

fn jwk(kid: &str) -> Value {
    let mut j =
        serde_json::to_value(Jwk::from_encoding_key(&key(kid), Algorithm::RS256).unwrap()).unwrap();
    j["kid"] = json!(kid);
    j
}

fn sign(header: &Value, claims: &Value, key: &EncodingKey) -> String {
    let msg = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, Algorithm::RS256).unwrap();
    format!("{msg}.{sig}")
}

async fn token(
    State(op): State<Op>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let mut st = op.lock().unwrap();
    st.token_calls += 1;
    let auth = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .or_else(|| f.get("client_secret").map(|s| format!("post:{s}")))
        .unwrap_or_default();
    st.auth_seen.push(auth.clone());
    let basic = format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}")));
    if auth != basic && auth != format!("post:{SECRET}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    let Some((challenge, nonce)) = f.get("code").and_then(|c| st.codes.remove(c)) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        );
    };
    // PKCE: S256(code_verifier) must be the challenge of the authorization request.
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if lanyard_core::signin::oidc::checks::pkce_challenge(&verifier) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "PKCE"})),
        );
    }
    let mut claims = json!({"iss": st.issuer, "aud": CLIENT, "sub": "op-user-1", "nonce": nonce,
        "iat": T0, "exp": T0 + 300, "email": "ada@op.test", "email_verified": true, "name": "Ada",
        "at_hash": lanyard_core::signin::oidc::checks::at_hash(Algorithm::RS256, "access-1")});
    for (k, v) in st.patch.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(&k);
        } else {
            claims[&k] = v;
        }
    }
    let kid = if st.rotated { "k2" } else { "k1" };
    let mut h = json!({"alg": "RS256", "kid": kid});
    for (k, v) in st.header_patch.as_object().cloned().unwrap_or_default() {
        h[&k] = v;
    }
    let signing = if st.wrong_key {
        EncodingKey::from_rsa_pem(fixture("rsa_other.key").as_bytes()).unwrap()
    } else {
        key(kid)
    };
    let id_token = sign(&h, &claims, &signing);
    (
        StatusCode::OK,
        Json(json!({"access_token": "access-1", "token_type": "Bearer", "id_token": id_token})),
    )
}

async fn jwks(State(op): State<Op>) -> Json<Value> {
    let mut st = op.lock().unwrap();
    st.jwks_calls += 1;
    let keys = if st.rotated {
        vec![jwk("k2"), jwk("k1")]
    } else {
        vec![jwk("k1")]
    };
    Json(json!({"keys": keys}))
}

async fn userinfo(State(op): State<Op>) -> Json<Value> {
    let st = op.lock().unwrap();
    Json(
        json!({"sub": st.userinfo_sub.clone().unwrap_or_else(|| "op-user-1".into()), "groups": ["eng"]}),
    )
}

async fn discovery(State(op): State<Op>) -> Json<Value> {
    let iss = op.lock().unwrap().issuer.clone();
    Json(
        json!({"issuer": iss, "authorization_endpoint": format!("{iss}/auth"),
        "token_endpoint": format!("{iss}/token"), "jwks_uri": format!("{iss}/jwks"),
        "userinfo_endpoint": format!("{iss}/me"), "end_session_endpoint": format!("{iss}/logout")}),
    )
}

/// Starts the fake provider; returns its issuer and state.
pub(crate) async fn fake_op() -> (String, Op) {
    let op: Op = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    op.lock().unwrap().issuer = issuer.clone();
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/token", post(token))
        .route("/jwks", get(jwks))
        .route("/me", get(userinfo))
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "http://10.0.0.1/")]) }),
        )
        .with_state(op.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (issuer, op)
}

pub(crate) async fn oidc_connection(
    app: &TestApp,
    issuer: &str,
    extra: Value,
) -> crate::harness::Res {
    let mut body = json!({"slug": "op", "name": "Provider", "issuer": issuer,
        "discovery_url": format!("{issuer}/.well-known/openid-configuration"),
        "client_id": CLIENT, "client_secret": SECRET, "jit": true});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.api(
        Method::POST,
        "/api/v1/tenants/acme/oidc-connections",
        Some(body),
        None,
    )
    .await
}

pub(crate) async fn setup(extra: Value) -> (TestApp, String, Op) {
    let app = TestApp::new().await.with_private_metadata_urls();
    let (issuer, op) = fake_op().await;
    let res = oidc_connection(&app, &issuer, extra).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    (app, issuer, op)
}

/// Starts a login; the provider "authenticates" and issues a code for the request's challenge
/// and nonce. Returns (state, code).
pub(crate) async fn authorize(app: &TestApp, op: &Op) -> (String, String) {
    let res = app
        .get(
            &format!(
                "/t/acme/sso/op/start?return_to={}",
                urlencode("/t/acme/app")
            ),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let loc = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(
        q["redirect_uri"],
        "http://127.0.0.1:8080/t/acme/oidc/op/callback"
    );
    let code = lanyard_core::secret::random_token();
    op.lock().unwrap().codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), q["nonce"].clone()),
    );
    (q["state"].clone(), code)
}

pub(crate) async fn callback(app: &TestApp, query: &str) -> crate::harness::Res {
    app.get(&format!("/t/acme/oidc/op/callback?{query}"), None)
        .await
}

#[tokio::test]
async fn code_flow_with_pkce_opens_a_session_and_the_state_is_single_use() {
    let (app, issuer, op) = setup(json!({"use_userinfo": true})).await;
    let (state, code) = authorize(&app, &op).await;
    let q = format!("code={code}&state={state}&iss={}", urlencode(&issuer));
    let res = callback(&app, &q).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.headers[header::LOCATION], "/t/acme/app");
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["auth_method"], "oidc");
    assert_eq!(s["user"]["username"], "ada@op.test");
    // O-PKCE: the verifier was sent (the fake provider checks it) with client_secret_basic.
    assert!(op.lock().unwrap().auth_seen[0].starts_with("Basic "));
    // O-STATE: reused.
    let before = counts(&app).await;
    let calls = op.lock().unwrap().token_calls;
    let res = callback(&app, &q).await;
    assert_refused(&app, &res, "oidc.state_unknown", before).await;
    assert_eq!(
        op.lock().unwrap().token_calls,
        calls,
        "the code is never redeemed"
    );
    // client_secret_post works too.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/oidc-connections/op",
        Some(json!({"token_endpoint_auth_method": "client_secret_post"})),
        None,
    )
    .await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        op.lock().unwrap().auth_seen.last().unwrap(),
        &format!("post:{SECRET}")
    );
}

/// O-STATE after the checks: the state is only read until the callback ends, so a callback
/// that fails later — the provider refuses the code, or the ID token does not verify — must
/// still spend it. Else the same `state` (captured from a failed attempt) could be tried again
/// with another code. Each refusal is audited once, and the retry never reaches the provider.
#[tokio::test]
async fn a_callback_refused_after_the_checks_spends_its_state() {
    let (app, issuer, op) = setup(json!({})).await;
    let before = counts(&app).await;
    let iss = urlencode(&issuer);
    // The provider refuses the code (invalid_grant): refused, then the state is gone.
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code=never-issued&state={state}&iss={iss}")).await;
    assert_refused(&app, &res, "fetch.token.http_error", before).await;
    assert_eq!(op.lock().unwrap().token_calls, 1);
    let res = callback(&app, &format!("code={code}&state={state}&iss={iss}")).await;
    assert_refused(&app, &res, "oidc.state_unknown", before).await;
    assert_eq!(
        op.lock().unwrap().token_calls,
        1,
        "the retry is not redeemed"
    );
    // The ID token does not verify (another key signed it): refused, then the state is gone.
    op.lock().unwrap().wrong_key = true;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}&iss={iss}")).await;
    assert!(res.status.is_client_error(), "{}", res.text());
    op.lock().unwrap().wrong_key = false;
    let (_, fresh) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={fresh}&state={state}&iss={iss}")).await;
    assert_refused(&app, &res, "oidc.state_unknown", before).await;
    assert_eq!(op.lock().unwrap().token_calls, 2);
    let failed = app
        .lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("login.failed".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 4, "one event per refusal: {failed:?}");
}

#[tokio::test]
async fn o_state_and_mixup_are_refused_before_the_token_request() {
    let (app, issuer, op) = setup(json!({})).await;
    let before = counts(&app).await;
    let (state, code) = authorize(&app, &op).await;
    let cases = [
        (format!("code={code}"), "oidc.state_unknown"),
        (
            format!("code={code}&state=forged-state"),
            "oidc.state_unknown",
        ),
        (
            format!("code={code}&state={state}&state={state}"),
            "oidc.state_unknown",
        ),
        // O-MIXUP: another issuer's response (the state is consumed).
        (
            format!(
                "code={code}&state={state}&iss={}",
                urlencode("https://op-of-tenant-b.example")
            ),
            "oidc.issuer_mix_up",
        ),
    ];
    for (q, want) in cases {
        let res = callback(&app, &q).await;
        assert_refused(&app, &res, want, before).await;
    }
    assert_eq!(op.lock().unwrap().token_calls, 0);
    // A state from another tenant's connection does not count here.
    let (state, code) = authorize(&app, &op).await;
    let res = app
        .get(
            &format!(
                "/t/other/oidc/op/callback?code={code}&state={state}&iss={}",
                urlencode(&issuer)
            ),
            None,
        )
        .await;
    assert!(res.status.is_client_error());
    // The provider's error.
    let res = callback(&app, &format!("error=access_denied&state={state}")).await;
    assert_refused(&app, &res, "oidc.provider_error", before).await;
    // Expired state.
    let (state, code) = authorize(&app, &op).await;
    app.clock.advance(601);
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.state_expired", before).await;
    assert_eq!(op.lock().unwrap().token_calls, 0);
}

#[tokio::test]
async fn o_id_token_refusals_change_nothing() {
    let (app, _issuer, op) = setup(json!({"use_userinfo": true})).await;
    let before = counts(&app).await;
    let cases: Vec<(Value, Value, bool, Option<&str>, &str)> = vec![
        (
            json!({"nonce": "other"}),
            json!({}),
            false,
            None,
            "oidc.nonce_mismatch",
        ),
        (
            json!({"aud": [CLIENT, "other"], "azp": "other"}),
            json!({}),
            false,
            None,
            "oidc.audience_mismatch",
        ),
        (
            json!({"iss": "https://evil.example"}),
            json!({}),
            false,
            None,
            "oidc.issuer_mismatch",
        ),
        (
            json!({"exp": T0 - 3600}),
            json!({}),
            false,
            None,
            "oidc.id_token_time_invalid",
        ),
        (
            json!({"iat": T0 + 86400}),
            json!({}),
            false,
            None,
            "oidc.id_token_time_invalid",
        ),
        (
            json!({"at_hash": "AAAA"}),
            json!({}),
            false,
            None,
            "oidc.at_hash_mismatch",
        ),
        (
            json!({}),
            json!({"alg": "none"}),
            false,
            None,
            "oidc.algorithm_not_allowed",
        ),
        (json!({}), json!({}), true, None, "oidc.bad_signature"),
        (
            json!({}),
            json!({}),
            false,
            Some("someone-else"),
            "oidc.userinfo_sub_mismatch",
        ),
    ];
    for (patch, hpatch, wrong_key, sub, want) in cases {
        {
            let mut st = op.lock().unwrap();
            st.patch = patch.clone();
            st.header_patch = hpatch;
            st.wrong_key = wrong_key;
            st.userinfo_sub = sub.map(str::to_owned);
        }
        let (state, code) = authorize(&app, &op).await;
        let res = callback(&app, &format!("code={code}&state={state}")).await;
        assert_refused(&app, &res, want, before).await;
    }
}

#[tokio::test]
async fn o_azp_with_configured_extra_audience() {
    let (app, _issuer, op) =
        setup(json!({"audience_uris": "https://api.example, https://other.example"})).await;
    let before = counts(&app).await;
    op.lock().unwrap().patch =
        json!({"aud": [CLIENT, "https://api.example"], "azp": "https://api.example"});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.azp_mismatch", before).await;
    op.lock().unwrap().patch = json!({"aud": [CLIENT, "https://api.example"], "azp": CLIENT});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
}

/// O-KIDMISS / O-ROTATE: a rotated key is picked up by one refetch; a flood of unknown-kid
/// tokens causes at most one more fetch.
#[tokio::test]
async fn o_kidmiss_one_refetch_and_rotation() {
    let (app, _issuer, op) = setup(json!({})).await;
    let (state, code) = authorize(&app, &op).await;
    assert_eq!(
        callback(&app, &format!("code={code}&state={state}"))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(op.lock().unwrap().jwks_calls, 1);
    op.lock().unwrap().rotated = true;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "rotation: {}",
        res.text()
    );
    assert_eq!(op.lock().unwrap().jwks_calls, 2);
    // Unknown kids, many times within the minute: no further fetch.
    op.lock().unwrap().header_patch = json!({"kid": "k-unknown"});
    let before = counts(&app).await;
    for _ in 0..20 {
        let (state, code) = authorize(&app, &op).await;
        let res = callback(&app, &format!("code={code}&state={state}")).await;
        assert_refused(&app, &res, "oidc.unknown_kid", before).await;
    }
    assert_eq!(
        op.lock().unwrap().jwks_calls,
        2,
        "at most one refetch per minute"
    );
}

/// A burst of callbacks on a cold key cache (after a start) costs the provider ONE JWKS
/// request: the others wait for that fetch instead of each sending their own.
#[tokio::test]
async fn o_concurrent_callbacks_on_a_cold_cache_fetch_the_jwks_once() {
    let (app, _issuer, op) = setup(json!({})).await;
    let mut flows = Vec::new();
    for _ in 0..6 {
        flows.push(authorize(&app, &op).await);
    }
    let queries: Vec<String> = flows
        .iter()
        .map(|(state, code)| format!("code={code}&state={state}"))
        .collect();
    let (a, b, c, d, e, f) = tokio::join!(
        callback(&app, &queries[0]),
        callback(&app, &queries[1]),
        callback(&app, &queries[2]),
        callback(&app, &queries[3]),
        callback(&app, &queries[4]),
        callback(&app, &queries[5]),
    );
    for res in [a, b, c, d, e, f] {
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    }
    assert_eq!(op.lock().unwrap().jwks_calls, 1, "one fetch for the burst");
}

#[tokio::test]
async fn o_disco_and_ssrf_are_refused_at_import() {
    let app = TestApp::new().await.with_private_metadata_urls();
    let (issuer, _op) = fake_op().await;
    let res = oidc_connection(
        &app,
        "https://login.example.com/other",
        json!({"discovery_url": format!("{issuer}/.well-known/openid-configuration")}),
    )
    .await;
    assert_eq!(
        res.code(),
        "oidc.discovery_issuer_mismatch",
        "{}",
        res.text()
    );
    // Redirects are not followed (here: to an RFC 1918 address).
    let res = oidc_connection(
        &app,
        &issuer,
        json!({"discovery_url": format!("{issuer}/redirect")}),
    )
    .await;
    assert_eq!(
        res.code(),
        "fetch.discovery.redirect_refused",
        "{}",
        res.text()
    );
    // Without the private-targets setting: loopback, link-local metadata, RFC 1918, bad schemes.
    let strict = TestApp::new().await;
    for (url, want) in [
        (
            "http://169.254.169.254/latest/meta-data/",
            "fetch.discovery.address_forbidden",
        ),
        ("http://2852039166/", "fetch.discovery.address_forbidden"),
        (
            "http://127.0.0.1:22/",
            "fetch.discovery.address_not_allowed",
        ),
        (
            "http://10.0.0.1/.well-known/openid-configuration",
            "fetch.discovery.address_not_allowed",
        ),
        ("http://[::1]/", "fetch.discovery.address_not_allowed"),
        ("file:///etc/passwd", "request.invalid_field"),
        ("gopher://example.com/", "request.invalid_field"),
    ] {
        let res =
            oidc_connection(&strict, "https://op.example", json!({"discovery_url": url})).await;
        assert_eq!(res.code(), want, "{url}: {}", res.text());
    }
    assert_eq!(
        strict
            .lanyard
            .store
            .list_connections(&strict.lanyard.tenant("acme").await.unwrap().id)
            .await
            .unwrap()
            .len(),
        0
    );
    // Settings refused at save: HS algorithms, `none`, scopes without openid.
    for extra in [
        json!({"allowed_algorithms": ["HS256"]}),
        json!({"allowed_algorithms": ["none"]}),
        json!({"scopes": "profile"}),
    ] {
        let res = oidc_connection(&app, &issuer, extra.clone()).await;
        assert_eq!(res.code(), "request.invalid_field", "{extra}");
    }
}

/// Entra ID: `oid` is the key claim; an unverified `email` equal to an existing user's never
/// links (nOAuth); a groups overage is reported as a warning. Google: `hd` must match.
#[tokio::test]
async fn provider_specifics_entra_okta_google() {
    let (app, _issuer, op) = setup(json!({"key_claim": "oid", "use_userinfo": false})).await;
    op.lock().unwrap().patch = json!({"oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": "4f1c7a2e",
        "email": "jo@acme.test", "email_verified": null, "preferred_username": "jo@acme.test",
        "_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let s = session_json(&app, &res, "acme").await;
    // The unverified preferred_username looks like jo's email: not taken (it would pass for
    // jo in lists and the audit log); the account is named after the key claim.
    assert_eq!(
        s["user"]["username"], "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username: {s}"
    );
    assert_ne!(
        s["user"]["id"],
        app.user_id("acme", "jo").await,
        "not jo: {s}"
    );
    assert!(
        s["user"]["email"].is_null(),
        "an unverified email is not kept: {s}"
    );
    let warn = app
        .lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("login.warning".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(warn.len(), 2);
    let all: String = warn.iter().map(|w| w.details.to_string()).collect();
    assert!(all.contains("overage"), "{all}");
    assert!(
        all.contains("looks like an email address"),
        "the username refusal says why: {all}"
    );
    // Missing key claim.
    op.lock().unwrap().patch = json!({"oid": null});
    let before = counts(&app).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.missing_claim", before).await;

    // Google Workspace hosted domain.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/oidc-connections/op",
        Some(json!({"key_claim": "sub", "hosted_domain": "acme.test"})),
        None,
    )
    .await;
    op.lock().unwrap().patch = json!({"sub": "g-1", "hd": "gmail.com"});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_refused(&app, &res, "oidc.hosted_domain_mismatch", before).await;
    op.lock().unwrap().patch =
        json!({"sub": "g-1", "hd": "acme.test", "email": "g@acme.test", "groups": ["okta-admins"]});
    let (state, code) = authorize(&app, &op).await;
    let res = callback(&app, &format!("code={code}&state={state}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let created = app
        .lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("user.created".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        created[0].details.to_string().contains("okta-admins"),
        "groups recorded: {}",
        created[0].details
    );
}

/// RP-initiated logout: signing out of a session that came from an OpenID provider sends the
/// browser to the provider's logoff URL with client_id and a way back; local sessions do not.
#[tokio::test]
async fn logout_of_an_oidc_session_continues_at_the_providers_logoff_url() {
    let (app, issuer, op) =
        setup(json!({"logoff_url": "https://op.example.test/logout?x=1"})).await;
    let (state, code) = authorize(&app, &op).await;
    let res = callback(
        &app,
        &format!("code={code}&state={state}&iss={}", urlencode(&issuer)),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("lanyard_session_acme="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let csrf = app.get("/t/acme/session", Some(&cookie)).await.json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .form("/t/acme/logout", &cookie, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let loc = url::Url::parse(out.headers[header::LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        (loc.host_str(), loc.path()),
        (Some("op.example.test"), "/logout")
    );
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["x"], "1");
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(
        q["post_logout_redirect_uri"],
        "http://127.0.0.1:8080/t/acme/login"
    );
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.code(),
        "session.revoked",
        "ended locally first"
    );

    // A local password session still lands on the sign-in page.
    let local = app.sign_in("acme", "jo", crate::harness::PW).await;
    let csrf = app.get("/t/acme/session", Some(&local)).await.json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .form("/t/acme/logout", &local, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(out.headers[header::LOCATION], "/t/acme/login");
}
