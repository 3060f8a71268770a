//! SAML connections through the router: the admin API's validation and tenant isolation, the
//! browser binding over https, metadata URL fetching, and signed AuthnRequests.

use crate::harness::{Res, TestApp, urlencode};
use crate::saml::*;
use crate::saml_idp::{IDP, Resp, SSO_URL, cert_pem};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn connection_admin_api_validates_and_isolates_tenants() {
    let app = TestApp::new().await;
    let api = |m: Method, p: &str, b: Option<Value>| {
        let app = &app;
        let p = p.to_owned();
        async move { app.api(m, &p, b, None).await }
    };
    let base = json!({"slug": "okta", "name": "Okta", "idp_entity_id": IDP, "sso_url": SSO_URL, "certificates": [cert_pem("idp")]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("certificates", json!([])), "request.invalid_field"),
        (
            with("certificates", json!([cert_pem("weak")])),
            "saml.weak_key",
        ),
        (
            with(
                "certificates",
                json!(["-----BEGIN CERTIFICATE-----
AAAA\n-----END CERTIFICATE-----"]),
            ),
            "saml.bad_certificate",
        ),
        (
            with("sso_url", json!("javascript:alert(1)")),
            "request.invalid_field",
        ),
        (with("idp_entity_id", json!("")), "request.invalid_field"),
        (with("slug", json!("Bad Slug")), "request.invalid_field"),
        (
            with("clock_skew_secs", json!(3600)),
            "request.invalid_field",
        ),
        (
            with("request_binding", json!("artifact")),
            "request.invalid_body",
        ),
        (with("colour", json!("red")), "request.invalid_body"),
        (
            with("metadata_xml", json!("<!DOCTYPE x><x/>")),
            "saml.dtd_forbidden",
        ),
        (
            with("metadata_url", json!("http://127.0.0.1:9/metadata")),
            "fetch.saml_metadata.address_not_allowed",
        ),
        (
            with("metadata_url", json!("http://169.254.169.254/latest")),
            "fetch.saml_metadata.address_forbidden",
        ),
    ];
    for (body, code) in cases {
        let res = api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(body.clone()),
        )
        .await;
        assert_eq!(res.code(), code, "{body}: {}", res.text());
    }
    assert_eq!(
        api(Method::GET, "/api/v1/tenants/acme/connections", None)
            .await
            .json(),
        json!({"items": [], "next_cursor": null}),
        "bad input created nothing"
    );

    // Import from metadata XML: entity ID, SSO URL and certificate come from the document.
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://md.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://md.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        cert_pem("idp")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    );
    let res = api(
        Method::POST,
        "/api/v1/tenants/acme/connections",
        Some(json!({"slug": "md", "name": "From metadata", "metadata_xml": md})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let c = res.json();
    assert_eq!(c["saml"]["idp_entity_id"], "https://md.example/idp");
    assert_eq!(c["saml"]["sso_url"], "https://md.example/sso");
    assert_eq!(
        c["saml"]["request_binding"], "post",
        "the only binding the IdP offers"
    );
    assert_eq!(
        c["saml"]["certificate_fingerprints"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(c["saml"]["clock_skew_secs"], 90);
    assert_eq!(c["saml"]["allow_idp_initiated"], false);
    assert_eq!(c["saml"]["allow_sha1"], false);
    assert_eq!(
        c["saml"]["require_signed_assertions"], false,
        "a signed Response is enough by default"
    );
    assert_eq!(c["saml"]["logoff_url"], Value::Null);

    // Rollover: two certificates; a bad PATCH changes nothing.
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"certificates": [cert_pem("idp"), cert_pem("attacker")]})),
    )
    .await;
    assert_eq!(
        res.json()["saml"]["certificates"].as_array().unwrap().len(),
        2
    );
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"name": "Renamed", "certificates": [cert_pem("weak")]})),
    )
    .await;
    assert_eq!(res.code(), "saml.weak_key");
    let res = api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/md",
        Some(json!({"slug": "renamed"})),
    )
    .await;
    assert_eq!(res.code(), "request.invalid_field");
    let c = api(Method::GET, "/api/v1/tenants/acme/connections/md", None)
        .await
        .json();
    assert_eq!(c["name"], "From metadata");
    assert_eq!(c["saml"]["certificates"].as_array().unwrap().len(), 2);

    let dup = api(
        Method::POST,
        "/api/v1/tenants/acme/connections",
        Some(json!({"slug": "md", "name": "Again", "metadata_xml": md})),
    )
    .await;
    assert_eq!(
        (dup.status, dup.code().as_str()),
        (StatusCode::CONFLICT, "connection.slug_taken")
    );

    // A key bound to tenant `other` sees nothing of acme's connections.
    let (_, other_key) = app
        .lanyard
        .create_api_key(&lanyard_core::Ctx::cli(), Some("other"), "other")
        .await
        .unwrap();
    let res = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/md",
            None,
            Some(&other_key),
        )
        .await;
    assert_eq!(res.code(), "auth.api_key_wrong_tenant");
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(base.clone()),
            Some(&other_key),
        )
        .await;
    assert_eq!(res.code(), "auth.api_key_wrong_tenant");

    assert_eq!(
        api(Method::DELETE, "/api/v1/tenants/acme/connections/md", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api(Method::GET, "/api/v1/tenants/acme/connections/md", None)
            .await
            .code(),
        "connection.not_found"
    );
    let kinds = app.audit_kinds().await;
    for k in [
        "connection.created",
        "connection.updated",
        "connection.deleted",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k}: {kinds:?}");
    }

    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/v1/tenants/{tenant}/connections/{connection}"]["patch"].is_object());
}

/// SECURITY 4.2 (login CSRF): over https the start sets a SameSite=None binding cookie, and the
/// ACS accepts the answer only in the browser that carries it.
#[tokio::test]
async fn over_https_a_response_completes_only_in_the_browser_that_started_it() {
    let app = TestApp::with_url("https://sso.example.com").await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let public = "https://sso.example.com";
    let before = counts(&app).await;

    // The attacker's own response, posted from the victim's browser (no binding cookie).
    let (id, rs, _attackers) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        None,
    )
    .await;
    assert_refused(&app, &res, "saml.browser_mismatch", before).await;

    // ... or from a browser with a binding of its own.
    let (id, rs, _) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        Some("x".repeat(43)),
    )
    .await;
    assert_refused(&app, &res, "saml.browser_mismatch", before).await;

    // The browser that started it completes it.
    let (id, rs, binding) = https_begin(&app).await;
    let res = https_post(
        &app,
        Resp::at(public, "acme", "okta", Some(&id)).signed(),
        rs,
        Some(binding),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-lanyard_session_acme="))
        .unwrap();
    assert!(
        set.contains("Secure") && set.contains("SameSite=Lax"),
        "{set}"
    );
}

async fn https_begin(app: &TestApp) -> (String, String, String) {
    let res = app.get("/t/acme/sso/okta/start", None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let set = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-lanyard_sso_binding="))
        .expect("binding cookie");
    assert!(
        set.contains("SameSite=None") && set.contains("Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    let binding = res.cookie_value("__Host-lanyard_sso_binding").unwrap();
    let url = url::Url::parse(res.headers[header::LOCATION].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let xml =
        lanyard_saml::authn_request::inflate_redirect_message(&q["SAMLRequest"], 1 << 20).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    let id = xml
        .split(" ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (id, q["RelayState"].clone(), binding)
}

async fn https_post(app: &TestApp, response: String, rs: String, cookie: Option<String>) -> Res {
    let mut b = Request::post("/t/acme/saml/okta/acs")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("__Host-lanyard_sso_binding={c}"));
    }
    let body = format!(
        "SAMLResponse={}&RelayState={}",
        urlencode(&response),
        urlencode(&rs)
    );
    app.send(b.body(Body::from(body)).unwrap()).await
}

/// Serves each of `responses` (raw HTTP) to one connection on a loopback port.
async fn one_shot_http(responses: Vec<Vec<u8>>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for r in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(&r).await;
            let _ = sock.shutdown().await;
        }
    });
    port
}

#[tokio::test]
async fn metadata_urls_are_fetched_with_limits_and_without_redirects() {
    let app = TestApp::new().await.with_private_metadata_urls();
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://fetched.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://fetched.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        cert_pem("idp")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    );
    let ok = format!(
        "HTTP/1.1 200 OK\r
Content-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{md}",
        md.len()
    );
    let redirect = b"HTTP/1.1 302 Found\r
Location: http://169.254.169.254/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        .to_vec();
    let huge = {
        let mut r = b"HTTP/1.1 200 OK\r
Connection: close\r\n\r\n"
            .to_vec();
        r.extend(std::iter::repeat_n(b' ', 1024 * 1024 + 10));
        r
    };
    let port = one_shot_http(vec![ok.into_bytes(), redirect, huge]).await;
    let url = format!("http://127.0.0.1:{port}/metadata");
    let create = |slug: &str| json!({"slug": slug, "name": slug, "metadata_url": url});

    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("fetched")),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let c = res.json();
    assert_eq!(c["saml"]["idp_entity_id"], "https://fetched.example/idp");
    assert_eq!(c["saml"]["sso_url"], "https://fetched.example/sso");
    assert_eq!(c["saml"]["idp_metadata_url"], url.as_str());

    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("redirected")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.redirect_refused",
        "{}",
        res.text()
    );
    assert!(res.text().contains("302"), "{}", res.text());
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("huge")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.too_large",
        "{}",
        res.text()
    );
    assert!(res.text().contains("1 MiB"), "{}", res.text());
    // Nothing listens any more: a plain connection failure, with its code.
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(create("gone")),
            None,
        )
        .await;
    assert_eq!(
        res.code(),
        "fetch.saml_metadata.unreachable",
        "{}",
        res.text()
    );
    let both = json!({"slug": "both", "name": "both", "metadata_url": url, "metadata_xml": md});
    let res = app
        .api(
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(both),
            None,
        )
        .await;
    assert_eq!(res.code(), "request.invalid_field");

    let listed = app
        .api(Method::GET, "/api/v1/tenants/acme/connections", None, None)
        .await
        .json();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the good import created a connection"
    );
}

/// IdPs that require signed AuthnRequests: turning signing on generates the SP key, publishes
/// its certificate in the metadata and the API, and signs both bindings verifiably.
#[tokio::test]
async fn signed_authn_requests_on_both_bindings() {
    use lanyard_saml::keys::{SignatureAlgorithm, TrustedKeys};
    let app = TestApp::new().await;
    let c = connection(&app, "acme", "entra", json!({})).await;
    assert!(
        c["saml"]["sp_certificate"].is_null(),
        "no key until signing is turned on"
    );
    assert_eq!(c["saml"]["sign_requests"], false);
    let patched = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/entra",
            Some(json!({"sign_requests": true})),
            None,
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let cert = patched.json()["saml"]["sp_certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !patched.text().contains("sealed_private_key") && !patched.text().contains("PRIVATE KEY")
    );
    let keys = TrustedKeys::from_pem(&cert).unwrap();

    let md = app.get("/t/acme/saml/entra/metadata", None).await.text();
    assert!(md.contains(r#"AuthnRequestsSigned="true""#), "{md}");
    let b64: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(
        md.contains(&b64),
        "the metadata publishes the SP certificate"
    );

    // HTTP-Redirect: the query signature covers SAMLRequest, RelayState and SigAlg.
    let res = app.get("/t/acme/sso/entra/start", None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    let (signed, sig) = query.split_once("&Signature=").unwrap();
    assert!(
        signed.starts_with("SAMLRequest=")
            && signed.contains("&RelayState=")
            && signed.contains("&SigAlg=")
    );
    let sig = urlencoding_decode(sig);
    let sig = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
    assert!(
        keys.verify(SignatureAlgorithm::RsaSha256, signed.as_bytes(), &sig)
            .is_some()
    );
    assert!(
        keys.verify(
            SignatureAlgorithm::RsaSha256,
            format!("{signed}x").as_bytes(),
            &sig
        )
        .is_none()
    );

    // HTTP-POST: an enveloped XML signature our verifier accepts with the published certificate.
    app.api(
        Method::PATCH,
        "/api/v1/tenants/acme/connections/entra",
        Some(json!({"request_binding": "post"})),
        None,
    )
    .await;
    let page = app.get("/t/acme/sso/entra/start", None).await.text();
    let value = page
        .split(r#"name="SAMLRequest" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let xml = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, value).unwrap();
    let doc = lanyard_saml::xml::parse(&xml, &lanyard_saml::xml::Limits::default()).unwrap();
    let root = doc.root_element();
    let sig = lanyard_saml::dsig::find_signature(root)
        .unwrap()
        .expect("signed");
    lanyard_saml::dsig::parse_signature(
        root,
        sig,
        lanyard_saml::dsig::Policy { allow_sha1: false },
    )
    .unwrap()
    .verify(&keys)
    .unwrap();

    // Turning signing off keeps the key (the IdP still has the certificate) but stops signing.
    let off = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/entra",
            Some(json!({"sign_requests": false, "request_binding": "redirect"})),
            None,
        )
        .await;
    assert_eq!(
        off.json()["saml"]["sp_certificate"].as_str(),
        Some(cert.as_str())
    );
    let loc = app.get("/t/acme/sso/entra/start", None).await.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!loc.contains("Signature="));
}

fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}

/// IdPs that sign only the Response are accepted by default; a connection that requires signed
/// assertions refuses them with saml.unsigned_assertion, audited, no session.
#[tokio::test]
async fn response_only_signing_is_accepted_unless_the_connection_requires_signed_assertions() {
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let doc = Resp::new("acme", "okta", Some(&id)).response_signed_only();
    let res = post_acs(&app, "acme", "okta", &doc, Some(&rs)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(
        session_json(&app, &res, "acme").await["auth_method"],
        "saml"
    );

    let c = connection(
        &app,
        "acme",
        "strict",
        json!({"jit": true, "require_signed_assertions": true}),
    )
    .await;
    assert_eq!(c["saml"]["require_signed_assertions"], true);
    let before = counts(&app).await;
    let (id, rs) = start(&app, "acme", "strict", None).await;
    let doc = Resp::new("acme", "strict", Some(&id)).response_signed_only();
    let res = post_acs(&app, "acme", "strict", &doc, Some(&rs)).await;
    assert_refused(&app, &res, "saml.unsigned_assertion", before).await;
}

/// A response DEFLATE-compressed (the Redirect binding's encoding) posted to the ACS is refused
/// with its own code, audited, no session.
#[tokio::test]
async fn a_deflated_response_at_the_acs_is_named() {
    use std::io::Write as _;
    let app = TestApp::new().await;
    connection(&app, "acme", "okta", json!({"jit": true})).await;
    let before = counts(&app).await;
    let (id, rs) = start(&app, "acme", "okta", None).await;
    let xml = Resp::new("acme", "okta", Some(&id)).signed_xml();
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(xml.as_bytes()).unwrap();
    let deflated = crate::saml_idp::b64(&e.finish().unwrap());
    let res = post_acs(&app, "acme", "okta", &deflated, Some(&rs)).await;
    assert_refused(&app, &res, "saml.deflated_response", before).await;
}

/// CData Arc-style logoff URL: signing out of a session from a SAML connection continues at the
/// connection's logoff URL; it is validated (https, http only on loopback) and can be cleared.
#[tokio::test]
async fn logout_of_a_saml_session_continues_at_the_connections_logoff_url() {
    let app = TestApp::new().await;
    let c = connection(
        &app,
        "acme",
        "arc",
        json!({"jit": true, "logoff_url": "https://arc.example.test/logoff?app=1"}),
    )
    .await;
    assert_eq!(
        c["saml"]["logoff_url"],
        "https://arc.example.test/logoff?app=1"
    );
    let got = app
        .api(
            Method::GET,
            "/api/v1/tenants/acme/connections/arc",
            None,
            None,
        )
        .await;
    assert_eq!(
        got.json()["saml"]["logoff_url"],
        "https://arc.example.test/logoff?app=1"
    );

    let (id, rs) = start(&app, "acme", "arc", None).await;
    let res = post_acs(
        &app,
        "acme",
        "arc",
        &Resp::new("acme", "arc", Some(&id)).signed(),
        Some(&rs),
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
    assert_eq!(
        out.headers[header::LOCATION],
        "https://arc.example.test/logoff?app=1"
    );
    assert_eq!(
        app.get("/t/acme/session", Some(&cookie)).await.code(),
        "session.revoked",
        "ended locally first"
    );

    // Validation: plain http only on loopback, no other schemes, no credentials.
    for bad in [
        "http://arc.example.test/logoff",
        "javascript:alert(1)",
        "https://user:pw@arc.example.test/logoff",
        "/relative",
        "ftp://arc.example.test/",
    ] {
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme/connections/arc",
                Some(json!({"logoff_url": bad})),
                None,
            )
            .await;
        assert_eq!(res.code(), "request.invalid_field", "{bad}");
    }
    for dev in [
        "http://localhost:8081/bye",
        "http://127.0.0.1/bye",
        "http://[::1]/bye",
    ] {
        let res = app
            .api(
                Method::PATCH,
                "/api/v1/tenants/acme/connections/arc",
                Some(json!({"logoff_url": dev})),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{dev}: {}", res.text());
        assert_eq!(res.json()["saml"]["logoff_url"], dev);
    }

    // Cleared: sign-out lands on the tenant's sign-in page again.
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/connections/arc",
            Some(json!({"logoff_url": null})),
            None,
        )
        .await;
    assert_eq!(res.json()["saml"]["logoff_url"], Value::Null);
    let (id, rs) = start(&app, "acme", "arc", None).await;
    let res = post_acs(
        &app,
        "acme",
        "arc",
        &Resp::new("acme", "arc", Some(&id)).signed(),
        Some(&rs),
    )
    .await;
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
    assert_eq!(out.headers[header::LOCATION], "/t/acme/login");
}
