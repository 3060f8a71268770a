//! Lanyard as the OpenID provider, over HTTP: the code flow through the sign-in page and the
//! resume URL, tokens, UserInfo, refresh, revocation, introspection; each refusal asserts the
//! error and that nothing was issued.

use crate::harness::{Res, TestApp, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use lanyard_core::Ctx;
use lanyard_core::provider::pkce::challenge_of;
use lanyard_proto as proto;
use serde_json::Value;

pub const REDIRECT: &str = "https://app.example/cb";
pub const VERIFIER: &str = "verifier-verifier-verifier-verifier-verifier-0001";
pub const ISSUER: &str = "http://127.0.0.1:8080";

pub struct Client {
    pub id: String,
    pub secret: Option<String>,
}

pub async fn create_app(t: &TestApp, public: bool, tenants: Option<Vec<&str>>) -> Client {
    let (app, secret) = t
        .lanyard
        .create_app(
            &Ctx::cli(),
            proto::CreateApp {
                name: "App".into(),
                redirect_uris: vec![REDIRECT.into()],
                public,
                post_logout_redirect_uris: vec!["https://app.example/bye".into()],
                backchannel_logout_uri: None,
                grant_types: None,
                id_token_alg: None,
                tenants: tenants.map(|v| v.into_iter().map(str::to_owned).collect()),
            },
        )
        .await
        .unwrap();
    Client { id: app.id, secret }
}

pub fn authorize_path(c: &Client, extra: &[(&str, &str)]) -> String {
    let challenge = challenge_of(VERIFIER);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("client_id", &c.id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("organization", "acme"),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    format!("/oauth2/authorize?{}", q.join("&"))
}

pub fn location(r: &Res) -> String {
    r.headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn query_of(loc: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A code for a signed-in browser (`cookie`), straight from /oauth2/authorize.
pub async fn code(t: &TestApp, c: &Client, cookie: &str, extra: &[(&str, &str)]) -> String {
    let r = t.get(&authorize_path(c, extra), Some(cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let loc = location(&r);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["iss"], ISSUER);
    assert_eq!(q["state"], "st-1");
    q["code"].clone()
}

pub async fn token(t: &TestApp, c: &Client, fields: &[(&str, &str)]) -> Res {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let body = match &c.secret {
        Some(s) => {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{s}", c.id));
            b = b.header(header::AUTHORIZATION, format!("Basic {basic}"));
            body
        }
        None => format!("{body}&client_id={}", urlencode(&c.id)),
    };
    t.send(b.body(Body::from(body)).unwrap()).await
}

pub async fn redeem(t: &TestApp, c: &Client, code: &str) -> Res {
    token(
        t,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

pub async fn userinfo(t: &TestApp, access: &str) -> Res {
    let req = Request::get("/oauth2/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    t.send(req).await
}

pub async fn post_client(t: &TestApp, path: &str, c: &Client, fields: &[(&str, &str)]) -> Res {
    let mut body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if let Some(s) = &c.secret {
        body.push_str(&format!(
            "&client_id={}&client_secret={}",
            urlencode(&c.id),
            urlencode(s)
        ));
    } else {
        body.push_str(&format!("&client_id={}", urlencode(&c.id)));
    }
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    t.send(req).await
}

pub async fn introspect(t: &TestApp, c: &Client, tok: &str) -> Value {
    let r = post_client(t, "/oauth2/introspect", c, &[("token", tok)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Verifies an ID token with the published JWKS, as a client library would.
pub async fn verify_id_token(t: &TestApp, c: &Client, id_token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&t.get("/oauth2/jwks", None).await.body).unwrap();
    let h = jsonwebtoken::decode_header(id_token).unwrap();
    let jwk = jwks.find(h.kid.as_deref().unwrap()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(h.alg);
    v.set_audience(&[&c.id]);
    v.set_issuer(&[ISSUER]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(id_token, &key, &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    let t = TestApp::new().await;
    let d = t
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(d["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    // UserInfo answers plain JSON, so no signing algorithms are advertised for it.
    assert!(d.get("userinfo_signing_alg_values_supported").is_none());
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("groups"))
    );
    let jwks = t.get("/oauth2/jwks", None).await.json();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(
        algs.contains(&"RS256") && algs.contains(&"ES256"),
        "{algs:?}"
    );
    for k in jwks["keys"].as_array().unwrap() {
        assert!(k.get("d").is_none(), "private part published: {k}");
    }
}

#[tokio::test]
async fn code_flow_through_the_sign_in_page_issues_verifiable_tokens() {
    let t = TestApp::new().await;
    let c = create_app(&t, false, None).await;
    // Not signed in: to the tenant's sign-in page, with a return_to that resumes the request.
    let r = t.get(&authorize_path(&c, &[]), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = location(&r);
    assert!(
        loc.starts_with("/t/acme/login?return_to=%2Foauth2%2Fauthorize%2Fresume"),
        "{loc}"
    );
    let resume = url::form_urlencoded::parse(loc.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    // Without a session the resume URL sends the browser back to sign in.
    let again = t.get(&resume, None).await;
    assert!(
        location(&again).starts_with("/t/acme/login?"),
        "{}",
        location(&again)
    );
    let cookie = t.sign_in("acme", "jo", crate::harness::PW).await;
    let r = t.get(&resume, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let q = query_of(&location(&r));
    assert_eq!(q["iss"], ISSUER);
    assert_eq!(q["state"], "st-1");
    // The resume URL is single use.
    let twice = t.get(&resume, Some(&cookie)).await;
    assert!(!location(&twice).contains("code="), "{}", location(&twice));

    let res = redeem(&t, &c, &q["code"]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    let id = verify_id_token(&t, &c, body["id_token"].as_str().unwrap()).await;
    let uid = t.user_id("acme", "jo").await;
    assert_eq!(id["sub"], uid);
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["org"], "acme");
    assert_eq!(id["email"], "jo@acme.test");
    assert_eq!(id["preferred_username"], "jo");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert!(id["auth_time"].as_i64().is_some() && id["sid"].as_str().is_some());
    let access = body["access_token"].as_str().unwrap();
    let h = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(h.typ.as_deref(), Some("at+jwt"));
    let ui = userinfo(&t, access).await;
    assert_eq!(ui.status, StatusCode::OK, "{}", ui.text());
    assert_eq!(ui.json()["sub"], uid);
    assert_eq!(ui.json()["org_id"], id["org_id"]);
    assert!(body["refresh_token"].as_str().is_some());
    assert_eq!(introspect(&t, &c, access).await["active"], true);
}

#[tokio::test]
async fn an_existing_session_is_reused_and_es256_apps_get_es256_id_tokens() {
    let t = TestApp::new().await;
    let (app, secret) = t
        .lanyard
        .create_app(
            &Ctx::cli(),
            proto::CreateApp {
                name: "EC".into(),
                redirect_uris: vec![REDIRECT.into()],
                id_token_alg: Some("ES256".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let c = Client { id: app.id, secret };
    let cookie = t.sign_in("acme", "jo", crate::harness::PW).await;
    let code = code(&t, &c, &cookie, &[]).await;
    let body = redeem(&t, &c, &code).await.json();
    let idt = body["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(idt).unwrap().alg,
        jsonwebtoken::Algorithm::ES256
    );
    verify_id_token(&t, &c, idt).await;
}

#[tokio::test]
async fn the_sign_in_form_returns_to_the_resume_url_and_then_to_the_app() {
    let t = TestApp::new().await;
    let c = create_app(&t, true, None).await;
    let login = location(&t.get(&authorize_path(&c, &[]), None).await);
    let page = t.get(&login, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf_name = t.csrf_cookie_name();
    let csrf = page.cookie_value(csrf_name).unwrap();
    let return_to = url::form_urlencoded::parse(login.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    assert!(
        page.text().contains("/oauth2/authorize/resume?request="),
        "{}",
        page.text()
    );
    let r = t
        .form(
            "/t/acme/login",
            &format!("{csrf_name}={csrf}"),
            &[
                ("username", "jo"),
                ("password", crate::harness::PW),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), return_to);
    let name = t.session_cookie_name("acme");
    let cookie = format!("{name}={}", r.cookie_value(&name).unwrap());
    let back = t.get(&return_to, Some(&cookie)).await;
    let q = query_of(&location(&back));
    assert_eq!((q["iss"].as_str(), q["state"].as_str()), (ISSUER, "st-1"));
    // A public client redeems with PKCE and no secret.
    let r = redeem(&t, &c, &q["code"]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn browser_apps_may_call_the_token_and_userinfo_endpoints_cross_origin() {
    let t = TestApp::new().await;
    for path in ["/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke"] {
        let req = Request::options(path)
            .header(header::ORIGIN, "https://spa.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .unwrap();
        let r = t.send(req).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(
            r.headers
                .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                .is_none()
        );
    }
    let c = create_app(&t, true, None).await;
    let r = redeem(&t, &c, "unknown").await;
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    // The authorization endpoint is a page for the browser, not an API: no CORS there.
    let r = t.get(&authorize_path(&c, &[]), None).await;
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
