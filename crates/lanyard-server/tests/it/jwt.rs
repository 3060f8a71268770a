//! JWT remote login through the router: the admin API (save-time codes), the start redirect,
//! the verify endpoint with the token in each of the four parameters, and refusals (each with
//! its customer code on the page and in the audit log, no session, no user).

use crate::harness::{T0, TestApp, urlencode};
use crate::saml::{assert_refused, counts, session_json};
use axum::http::{Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-core/tests/fixtures/jwt")
            .join(name),
    )
    .unwrap()
}

fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let msg = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).unwrap();
    format!("{msg}.{sig}")
}

fn hs_token(claims: &Value) -> String {
    sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
}

fn claims(sub: &str, jti: &str) -> Value {
    json!({"sub": sub, "email": format!("{sub}@portal.test"), "name": "Portal User",
           "iat": T0, "exp": T0 + 300, "jti": jti})
}

async fn jwt_connection(app: &TestApp, tenant: &str, body: Value) -> crate::harness::Res {
    app.api(
        Method::POST,
        &format!("/api/v1/tenants/{tenant}/jwt-connections"),
        Some(body),
        None,
    )
    .await
}

fn portal(slug: &str, alg: &str, key: &str) -> Value {
    json!({"slug": slug, "name": "Portal", "login_url": "https://portal.example/login",
           "algorithm": alg, "secret_key": key, "jit": true})
}

async fn verify(app: &TestApp, tenant: &str, conn: &str, query: &str) -> crate::harness::Res {
    app.get(&format!("/t/{tenant}/jwt/{conn}/verify?{query}"), None)
        .await
}

#[tokio::test]
async fn admin_api_saves_jwt_connections_with_the_customer_codes() {
    let app = TestApp::with_url("https://sso.example.com").await;
    let res = jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let c = res.json();
    assert_eq!(c["kind"], "jwt");
    assert_eq!(
        c["verify_url"],
        "https://sso.example.com/t/acme/jwt/portal/verify"
    );
    assert_eq!(
        c["login_url"],
        "https://sso.example.com/t/acme/sso/portal/start"
    );
    assert_eq!(c["jwt"]["secret_configured"], true);
    assert!(!res.text().contains(SECRET), "the secret is never returned");
    assert!(c.get("saml").is_none() && c.get("acs_url").is_none());

    let cases = [
        (portal("a", "HS256", &"k".repeat(31)), "INVALID_KEY_LENGTH"),
        (portal("a", "HS384", &"k".repeat(47)), "INVALID_KEY_LENGTH"),
        (
            portal("a", "RS256", &fixture("rsa.key")),
            "PRIVATE_KEY_PROVIDED",
        ),
        (
            portal("a", "ES256", &fixture("ec256.key")),
            "PRIVATE_KEY_PROVIDED",
        ),
        // Issue 15: a short RSA key is a key-length problem, also inside a certificate; an EC
        // key of another curve, or a key of another type, is refused at save.
        (
            portal("a", "RS256", &fixture("rsa1024.pub")),
            "INVALID_KEY_LENGTH",
        ),
        (
            portal("a", "RS256", &fixture("rsa1024.crt")),
            "INVALID_KEY_LENGTH",
        ),
        (
            portal("a", "ES256", &fixture("secp256k1.pub")),
            "INVALID_KEY",
        ),
        (portal("a", "ES384", &fixture("ec256.crt")), "INVALID_KEY"),
        (portal("a", "ES256", &fixture("ed25519.pub")), "INVALID_KEY"),
        (portal("a", "HS256", &fixture("rsa.pub")), "INVALID_KEY"),
        (
            json!({"slug": "a", "name": "A", "login_url": "http://portal.example/login", "algorithm": "HS256", "secret_key": SECRET}),
            "INVALID_LOGIN_URL",
        ),
        (
            json!({"slug": "a", "name": "A", "login_url": "portal.example/login", "algorithm": "HS256", "secret_key": SECRET}),
            "INVALID_LOGIN_URL",
        ),
        (
            json!({"slug": "a", "name": "A", "login_url": "https://portal.example/login", "algorithm": "none", "secret_key": SECRET}),
            "request.invalid_body",
        ),
    ];
    for (body, code) in cases {
        let res = jwt_connection(&app, "acme", body.clone()).await;
        assert!(res.status.is_client_error(), "{body}: {}", res.text());
        assert_eq!(res.code(), code, "{body}");
    }
    let res = jwt_connection(&app, "acme", portal("a", "RS256", &fixture("rsa1024.pub"))).await;
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("has 1024 bits") && m.contains("2048")),
        "{}",
        res.text()
    );
    // Issue 15: a pasted certificate is accepted for RS*/ES* and its key is used; an expired
    // one too (the dates do not matter to a JWT signature), with a warning in the audit log.
    for (slug, alg, cert) in [
        ("rs-cert", "RS256", "rsa.crt"),
        ("es-cert", "ES256", "ec256.crt"),
        ("es-expired", "ES256", "ec256_expired.crt"),
    ] {
        let res = jwt_connection(&app, "acme", portal(slug, alg, &fixture(cert))).await;
        assert_eq!(res.status, StatusCode::CREATED, "{cert}: {}", res.text());
    }
    let audit = app
        .api(
            Method::GET,
            "/api/v1/audit-events?kind=connection.created&limit=200",
            None,
            None,
        )
        .await
        .json();
    let warned: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["connection"] == "es-expired")
        .collect();
    assert_eq!(warned.len(), 1, "{audit}");
    assert!(
        warned[0]["details"]["key_warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("expired on 2001-01-01")),
        "{}",
        warned[0]
    );
    for current in ["rs-cert", "es-cert"] {
        let ev = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["details"]["connection"] == current)
            .unwrap();
        assert_eq!(
            ev["details"]["key_warnings"],
            json!([]),
            "a current certificate carries no warning: {ev}"
        );
    }
    let signed = [
        (
            "rs-cert",
            EncodingKey::from_rsa_pem(fixture("rsa.key").as_bytes()).unwrap(),
            Algorithm::RS256,
        ),
        (
            "es-cert",
            EncodingKey::from_ec_pem(fixture("ec256.key").as_bytes()).unwrap(),
            Algorithm::ES256,
        ),
        (
            "es-expired",
            EncodingKey::from_ec_pem(fixture("ec256.key").as_bytes()).unwrap(),
            Algorithm::ES256,
        ),
    ];
    for (slug, key, alg) in signed {
        let t = sign(
            &json!({"alg": format!("{alg:?}"), "typ": "JWT"}),
            &claims(slug, slug),
            &key,
            alg,
        );
        let res = verify(&app, "acme", slug, &format!("jwt={t}")).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{slug}: {}", res.text());
    }
    // The refused private keys were stored nowhere.
    let list = app
        .api(Method::GET, "/api/v1/tenants/acme/connections", None, None)
        .await;
    // `portal` and the three certificate connections above.
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 4);
    assert!(!list.text().contains("PRIVATE KEY"));
    let audit = app
        .api(Method::GET, "/api/v1/audit-events?limit=200", None, None)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text());
    assert!(
        audit.json()["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty()),
        "{}",
        audit.text()
    );
    assert!(!audit.text().contains("PRIVATE KEY"), "{}", audit.text());

    // PATCH rotates the key; the SAML PATCH does not apply to a JWT connection.
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/jwt-connections/portal",
            Some(json!({"algorithm": "RS256", "secret_key": fixture("rsa.pub")})),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["jwt"]["secret_configured"], false);
    assert_eq!(res.json()["jwt"]["public_key"], fixture("rsa.pub"));
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/portal",
            Some(json!({"name": "x"})),
            None,
        )
        .await;
    assert_eq!(res.code(), "request.invalid_field");
    // Another tenant's key cannot reach it.
    let res = app
        .api(
            Method::GET,
            "/api/v1/tenants/other/connections/portal",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Plain-http login URLs only when the server itself runs in development mode (http).
    let dev = TestApp::new().await;
    let res = jwt_connection(
        &dev,
        "acme",
        json!({"slug": "a", "name": "A", "login_url": "http://127.0.0.1:3000/login", "algorithm": "HS256", "secret_key": SECRET}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());

    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/v1/tenants/{tenant}/jwt-connections"]["post"].is_object());
    assert!(
        doc["paths"]["/api/v1/tenants/{tenant}/jwt-connections/{connection}"]["patch"].is_object()
    );
}

#[tokio::test]
async fn start_sends_the_visitor_to_the_remote_login_and_verify_opens_a_session() {
    let app = TestApp::with_url("https://sso.example.com").await;
    jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;

    let res = app
        .get(
            &format!(
                "/t/acme/sso/portal/start?return_to={}",
                urlencode("/t/acme/app?x=1")
            ),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let loc = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(loc.origin().ascii_serialization(), "https://portal.example");
    let back: String = loc
        .query_pairs()
        .find(|(k, _)| k == "redirect_url")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        back,
        "https://sso.example.com/t/acme/jwt/portal/verify?redirect_url=%2Ft%2Facme%2Fapp%3Fx%3D1"
    );
    // The same through the JWT start route.
    let res2 = app
        .get(
            "/t/acme/jwt/portal/start?redirect_url=%2Ft%2Facme%2Fapp%3Fx%3D1",
            None,
        )
        .await;
    assert_eq!(
        res2.headers[header::LOCATION],
        res.headers[header::LOCATION]
    );

    // The token in each of the four parameters.
    for (i, param) in ["jwt", "code", "id_token", "access_token"]
        .iter()
        .enumerate()
    {
        let t = hs_token(&claims("visitor", &format!("jti-{i}")));
        let res = verify(
            &app,
            "acme",
            "portal",
            &format!("{param}={t}&redirect_url=%2Ft%2Facme%2Fapp%3Fx%3D1"),
        )
        .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{param}: {}", res.text());
        assert_eq!(res.headers[header::LOCATION], "/t/acme/app?x=1");
        assert_eq!(res.headers[header::REFERRER_POLICY], "no-referrer");
        let s = session_json(&app, &res, "acme").await;
        assert_eq!(s["user"]["username"], "visitor@portal.test", "{s}");
        assert_eq!(s["auth_method"], "jwt", "{s}");
    }
    // One user (linked by sub), four sessions.
    assert_eq!(counts(&app).await, (2 + 1, 4));
    // An absolute redirect_url on our own origin lands too.
    let t = hs_token(&claims("visitor", "jti-abs"));
    let res = verify(
        &app,
        "acme",
        "portal",
        &format!(
            "jwt={t}&redirect_url={}",
            urlencode("https://sso.example.com/t/acme/app")
        ),
    )
    .await;
    assert_eq!(res.headers[header::LOCATION], "/t/acme/app");
}

#[tokio::test]
async fn redirect_url_open_redirects_land_on_the_default_page() {
    let app = TestApp::with_url("https://sso.example.com").await;
    jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;
    let payloads = [
        "https://evil.test",
        "//evil.test",
        "/\\evil.test",
        "https:evil.test",
        "https://sso.example.com@evil.test",
        "https://sso.example.com.evil.test/",
        "%2F%2Fevil.test",
        "javascript:alert(1)",
        "data:text/html,x",
        "/ok\r\nSet-Cookie: a=b",
    ];
    for (i, p) in payloads.iter().enumerate() {
        let t = hs_token(&claims("visitor", &format!("r-{i}")));
        let res = verify(
            &app,
            "acme",
            "portal",
            &format!("jwt={t}&redirect_url={}", urlencode(p)),
        )
        .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{p}: {}", res.text());
        assert_eq!(res.headers[header::LOCATION], "/t/acme/login", "{p}");
    }
    // The start route drops them as well.
    let res = app
        .get(
            &format!(
                "/t/acme/sso/portal/start?return_to={}",
                urlencode("//evil.test")
            ),
            None,
        )
        .await;
    let loc = res.headers[header::LOCATION].to_str().unwrap();
    assert!(!loc.contains("evil"), "{loc}");
}

#[tokio::test]
async fn refusals_show_their_code_audit_it_and_change_nothing() {
    let app = TestApp::with_url("https://sso.example.com").await;
    jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;
    let rs = jwt_connection(&app, "acme", portal("rs", "RS256", &fixture("rsa.pub"))).await;
    assert_eq!(rs.status, StatusCode::CREATED, "{}", rs.text());
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    let c = claims("visitor", "once");
    let good = hs_token(&c);
    let before = counts(&app).await;

    let none = |alg: &str| {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        )
    };
    let rs_pub = fixture("rsa.pub");
    let attacker = EncodingKey::from_rsa_pem(fixture("rsa_other.key").as_bytes()).unwrap();
    let mut no_email = c.clone();
    no_email.as_object_mut().unwrap().remove("email");
    let mut expired = c.clone();
    expired["exp"] = json!(T0 - 120);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "portal",
            format!("jwt={}", none("none")),
            "NONE_ALGORITHM_PROVIDED",
        ),
        (
            "portal",
            format!("code={}", none("NONE")),
            "NONE_ALGORITHM_PROVIDED",
        ),
        (
            "portal",
            format!("id_token={}", none("nOnE")),
            "NONE_ALGORITHM_PROVIDED",
        ),
        (
            "portal",
            format!("access_token={}", none("None")),
            "NONE_ALGORITHM_PROVIDED",
        ),
        (
            "portal",
            format!(
                "jwt={}",
                sign(&json!({"typ": "JWT"}), &c, &hs, Algorithm::HS256)
            ),
            "ALGORITHM_MISSING_IN_HEADER",
        ),
        (
            "portal",
            format!(
                "jwt={}",
                sign(
                    &json!({"alg": "HS256", "typ": "at+jwt"}),
                    &c,
                    &hs,
                    Algorithm::HS256
                )
            ),
            "WRONG_TYPE_IN_HEADER",
        ),
        (
            "portal",
            "jwt=bm90LWpzb24.e30.e30".to_owned(),
            "COULD_NOT_PARSE_HEADER",
        ),
        ("portal", "jwt=".to_owned(), "TOKEN_VERIFICATION_FAILED"),
        ("portal", String::new(), "TOKEN_VERIFICATION_FAILED"),
        (
            "portal",
            format!("jwt={good}&code={}", hs_token(&claims("other", "x"))),
            "TOKEN_VERIFICATION_FAILED",
        ),
        (
            "portal",
            format!("jwt={}", hs_token(&no_email)),
            "MISSING_EMAIL_IN_TOKEN",
        ),
        (
            "portal",
            format!("jwt={}", hs_token(&expired)),
            "TOKEN_VERIFICATION_FAILED",
        ),
        // J-CONFUSE over HTTP: HS256 keyed with the RS connection's public key.
        (
            "rs",
            format!(
                "jwt={}",
                sign(
                    &json!({"alg": "HS256"}),
                    &c,
                    &EncodingKey::from_secret(rs_pub.as_bytes()),
                    Algorithm::HS256
                )
            ),
            "TOKEN_VERIFICATION_FAILED",
        ),
        // J-JWK / J-JKU over HTTP: the attacker's key in the header is not used (nothing fetched).
        (
            "rs",
            format!(
                "jwt={}",
                sign(
                    &json!({"alg": "RS256", "jku": "http://127.0.0.1:9/jwks"}),
                    &c,
                    &attacker,
                    Algorithm::RS256
                )
            ),
            "TOKEN_VERIFICATION_FAILED",
        ),
        ("nope", format!("jwt={good}"), "NO_SETTINGS"),
    ];
    for (conn, query, code) in cases {
        let res = verify(&app, "acme", conn, &query).await;
        assert_refused(&app, &res, code, before).await;
    }
    // A SAML connection is no JWT connection.
    let saml = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(json!({"slug": "okta", "name": "Okta", "idp_entity_id": "https://idp.example/",
                        "sso_url": "https://idp.example/sso",
                        "certificates": [std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lanyard-saml/tests/fixtures/keys/idp.crt")).unwrap()]})),
            None,
        )
        .await;
    assert_eq!(saml.status, StatusCode::CREATED, "{}", saml.text());
    let res = verify(&app, "acme", "okta", &format!("jwt={good}")).await;
    assert_refused(&app, &res, "NO_SETTINGS", before).await;
    // A JWT connection has no SAML metadata or ACS.
    let res = app.get("/t/acme/saml/portal/metadata", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // J-JTI: first use signs in, the replay is refused.
    let res = verify(&app, "acme", "portal", &format!("jwt={good}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let after = counts(&app).await;
    let res = verify(&app, "acme", "portal", &format!("jwt={good}")).await;
    assert_refused(&app, &res, "JTI_CLAIM_INVALID", after).await;
    // Tenant isolation: acme's token at the other tenant.
    let res = verify(
        &app,
        "other",
        "portal",
        &format!("jwt={}", hs_token(&claims("v", "iso"))),
    )
    .await;
    assert_refused(&app, &res, "NO_SETTINGS", after).await;

    // A disabled connection.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/jwt-connections/portal",
        Some(json!({"enabled": false})),
        None,
    )
    .await;
    let res = verify(
        &app,
        "acme",
        "portal",
        &format!("jwt={}", hs_token(&claims("visitor", "d"))),
    )
    .await;
    assert_refused(&app, &res, "connection.disabled", after).await;

    let metrics = app.get("/metrics", None).await.text();
    assert!(
        metrics.contains(r#"method="jwt""#) && metrics.contains("JTI_CLAIM_INVALID"),
        "{metrics}"
    );
}

/// Issue 15: every oversize part of the verify URL gets Lanyard's own refusal, below hyper's
/// limits: an error page with REQUEST_TOO_LARGE, a `login.failed` audit event and the
/// `lanyard_logins_total` failure metric; never a bare 414/431 and never a session.
#[tokio::test]
async fn oversize_verify_requests_get_a_page_a_code_a_metric_and_an_audit_event() {
    use lanyard_core::signin::jwt::token::{
        MAX_HEADER_BYTES, MAX_QUERY_BYTES, MAX_REDIRECT_URL_BYTES, MAX_TOKEN_BYTES,
    };
    let app = TestApp::with_url("https://sso.example.com").await;
    jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;
    let before = counts(&app).await;
    let check = |res: crate::harness::Res, part: &'static str| {
        let app = &app;
        async move {
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{part}: {}",
                res.text()
            );
            assert_refused(app, &res, "REQUEST_TOO_LARGE", before).await;
            assert!(
                res.text().contains(&format!("request&#39;s {part} has")),
                "{part}: {}",
                res.text()
            );
        }
    };
    let big_token = "A".repeat(MAX_TOKEN_BYTES + 1);
    for p in ["jwt", "code", "id_token", "access_token"] {
        check(
            verify(&app, "acme", "portal", &format!("{p}={big_token}")).await,
            p,
        )
        .await;
    }
    // A good token does not help an oversize redirect URL through.
    let good = hs_token(&claims("visitor", "r1"));
    let long_page = format!("/{}", "a".repeat(MAX_REDIRECT_URL_BYTES));
    check(
        verify(
            &app,
            "acme",
            "portal",
            &format!("jwt={good}&redirect_url={long_page}"),
        )
        .await,
        "redirect_url",
    )
    .await;
    // The whole query, whatever parameter carries the bulk.
    let pad = "x".repeat(MAX_QUERY_BYTES);
    check(
        verify(&app, "acme", "portal", &format!("jwt={good}&pad={pad}")).await,
        "query",
    )
    .await;
    // The header section (cookies or any header).
    for name in ["cookie", "x-padding"] {
        let req = axum::http::Request::get(format!("/t/acme/jwt/portal/verify?jwt={good}"))
            .header(name, "v".repeat(MAX_HEADER_BYTES))
            .body(axum::body::Body::empty())
            .unwrap();
        check(app.send(req).await, "header section").await;
    }
    // Just under every limit the same good token still signs in.
    let res = verify(
        &app,
        "acme",
        "portal",
        &format!("jwt={good}&redirect_url=/t/acme/session"),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let metrics = app.get("/metrics", None).await.text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("lanyard_logins_total")
                && l.contains(r#"method="jwt""#)
                && l.contains(r#"outcome="failure""#)
                && l.contains(r#"code="REQUEST_TOO_LARGE""#)),
        "{metrics}"
    );
}

/// Issue 15: roles through a real JWT remote login: the token's `groups` claim names a tenant
/// role (case-insensitively) and `every_login_default` re-resolves it at every sign-in, falling
/// back to the default role when the claim no longer names one.
#[tokio::test]
async fn a_jwt_role_claim_naming_a_role_is_applied_in_arcs_order() {
    let app = TestApp::with_url("https://sso.example.com").await;
    let mut body = portal("portal", "HS256", SECRET);
    body["provisioning"] = json!({"role_claim": "groups", "role_claim_is_role_name": true,
        "role_sync": "every_login_default", "default_role": "viewer",
        "role_mapping": [{"value": "Portal-Admins", "role": "admin"}]});
    let res = jwt_connection(&app, "acme", body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(
        res.json()["provisioning"]["role_sync"],
        "every_login_default",
        "{}",
        res.text()
    );
    assert_eq!(res.json()["provisioning"]["role_claim_is_role_name"], true);
    let login = |groups: Value, jti: &'static str| {
        let app = &app;
        async move {
            let mut c = claims("visitor", jti);
            c["groups"] = groups;
            let res = verify(app, "acme", "portal", &format!("jwt={}", hs_token(&c))).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
            session_json(app, &res, "acme").await["user"]["role"].clone()
        }
    };
    assert_eq!(login(json!(["Staff", "Support"]), "1").await, "support");
    assert_eq!(
        login(json!(["support", "Portal-Admins"]), "2").await,
        "admin"
    );
    assert_eq!(login(json!(["no-such-role"]), "3").await, "viewer");
    assert_eq!(login(json!("STANDARD"), "4").await, "standard");
}

/// A JWT remote login has no pending-login row, so an accepted invitation rides in a MAC'd,
/// SameSite=Lax cookie to the verify URL: the invited password account is linked there. A
/// forged cookie carries nothing.
#[tokio::test]
async fn an_accepted_invitation_is_carried_through_a_jwt_remote_login() {
    use crate::provisioning::{assert_password_refused, invite, open_page, password_login, submit};
    let app = TestApp::new().await;
    let res = jwt_connection(&app, "acme", portal("portal", "HS256", SECRET)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let jo = app.user_id("acme", "jo").await;
    let path = invite(&app, "jo", "jo@acme.test").await;
    let token = |jti: &str| {
        hs_token(
            &json!({"sub": "portal-jo", "email": "jo@acme.test", "iat": T0,
                         "exp": T0 + 300, "jti": jti}),
        )
    };

    // Forged: the invitation's cookie with a wrong MAC is ignored, so the email is refused.
    let before = counts(&app).await;
    let res = app
        .get(
            &format!("/t/acme/jwt/portal/verify?jwt={}", token("j1")),
            Some("lanyard_invitation=01900000-0000-7000-8000-000000000000.forged"),
        )
        .await;
    assert_refused(&app, &res, "login.account_exists_use_invitation", before).await;

    let (_, csrf) = open_page(&app, &path).await;
    let res = submit(&app, &path, &csrf, &[("action", "accept")]).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    assert!(
        res.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("https://portal.example/login?redirect_url="),
        "{:?}",
        res.headers
    );
    let carried = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("lanyard_invitation="))
        .expect("the invitation cookie");
    assert!(
        carried.contains("HttpOnly") && carried.contains("SameSite=Lax"),
        "{carried}"
    );
    let value = res.cookie_value("lanyard_invitation").unwrap();

    let res = app
        .get(
            &format!("/t/acme/jwt/portal/verify?jwt={}", token("j2")),
            Some(&format!("lanyard_invitation={value}")),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(
        res.set_cookies()
            .iter()
            .any(|c| c.starts_with("lanyard_invitation=;") && c.contains("Max-Age=0")),
        "the cookie is used once: {:?}",
        res.set_cookies()
    );
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["id"], jo.as_str(), "{s}");
    assert_eq!(s["auth_method"], "jwt");
    assert_password_refused(
        &password_login(&app, "jo", crate::harness::PW).await,
        "login.invalid_credentials",
    );
    // Later remote logins of that subject are jo, without any invitation.
    let res = verify(&app, "acme", "portal", &format!("jwt={}", token("j3"))).await;
    assert_eq!(
        session_json(&app, &res, "acme").await["user"]["id"],
        jo.as_str()
    );
}
