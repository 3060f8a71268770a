//! The built-in test IdP (`serve --demo`) through the real HTTP path: the demo connections it
//! creates sign a person in over SAML and over OIDC, and every fault of its table produces the
//! outcome the table documents (the code on Lanyard's error page and in the audit log, or a
//! session). The IdP's OIDC back channel (token, JWKS) runs on a real loopback port, reached
//! through `outbound_allow_networks` as `serve --demo` allows it.

use crate::harness::{Res, TestApp};
use crate::saml::{assert_refused, counts, post_acs, session_json};
use axum::http::{StatusCode, header};
use lanyard_core::model::AuditFilter;
use lanyard_server::dev_idp::faults::{FAULTS, Outcome};
use lanyard_server::dev_idp::{self, DevIdp, KeyFile, OIDC_CONNECTION, SAML_CONNECTION};
use std::sync::{Arc, OnceLock};

/// RSA key generation is slow: one key file for the whole module.
fn keys() -> KeyFile {
    static KEYS: OnceLock<KeyFile> = OnceLock::new();
    KEYS.get_or_init(|| KeyFile::generate().unwrap()).clone()
}

async fn setup() -> (TestApp, Arc<DevIdp>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = TestApp::new().await.with_outbound_allow(&["127.0.0.1/32"]);
    let keys = tokio::task::spawn_blocking(keys).await.unwrap();
    let idp = Arc::new(
        DevIdp::new(
            &format!("http://127.0.0.1:{port}").parse().unwrap(),
            keys,
            Arc::new(app.clock.clone()),
        )
        .unwrap(),
    );
    let back_channel: axum::Router = dev_idp::router(idp.clone());
    tokio::spawn(async move { axum::serve(listener, back_channel).await });
    let app = app.with_dev_idp(idp.clone());
    let created = idp.wire_tenant(&app.lanyard, "acme").await.unwrap();
    assert_eq!(created, [SAML_CONNECTION, OIDC_CONNECTION]);
    // Idempotent: a second start creates nothing.
    assert!(
        idp.wire_tenant(&app.lanyard, "acme")
            .await
            .unwrap()
            .is_empty()
    );
    (app, idp)
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of a hidden form field on a page.
fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let rest = html.get(start..)?;
    Some(unescape(rest.get(..rest.find('"')?)?))
}

fn path_of(location: &str) -> String {
    let u = url::Url::parse(location).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

fn cookies(res: &Res) -> String {
    res.set_cookies()
        .iter()
        .filter_map(|c| c.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Sign in through the test IdP's SAML side with `fault`; returns Lanyard's answer at the ACS.
async fn saml_login(app: &TestApp, fault: &str, person: &str) -> Res {
    saml_login_skewed(app, fault, person, "").await
}

/// As [`saml_login`], with `skew=` minutes given by query parameter (kept by the picker).
async fn saml_login_skewed(app: &TestApp, fault: &str, person: &str, skew: &str) -> Res {
    let res = app
        .get(&format!("/t/acme/sso/{SAML_CONNECTION}/start"), None)
        .await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let location = res.headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.contains("/dev-idp/saml/sso?SAMLRequest="),
        "{location}"
    );
    // The fault chosen by query parameter is preselected on the picker page.
    let page = app
        .get(
            &format!("{}&fault={fault}&skew={skew}", path_of(location)),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains(&format!("value=\"{fault}\" checked")),
        "{fault} preselected: {html}"
    );
    let mut form = person_fields(person, fault);
    for name in [
        "request_id",
        "acs_url",
        "sp_entity_id",
        "relay_state",
        "skew",
    ] {
        form.push((
            name,
            field(&html, name).unwrap_or_else(|| panic!("{name}: {html}")),
        ));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let posted = app.form("/dev-idp/saml/sso", "", &fields).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());
    let html = posted.text();
    let response = field(&html, "SAMLResponse").unwrap();
    let relay = field(&html, "RelayState");
    post_acs(app, "acme", SAML_CONNECTION, &response, relay.as_deref()).await
}

/// Sign in through the test IdP's OpenID provider with `fault`; returns Lanyard's answer at
/// the callback.
async fn oidc_login(app: &TestApp, fault: &str, person: &str) -> Res {
    let res = app
        .get(&format!("/t/acme/sso/{OIDC_CONNECTION}/start"), None)
        .await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    let browser = cookies(&res);
    let location = res.headers[header::LOCATION].to_str().unwrap();
    assert!(location.contains("/dev-idp/oidc/authorize?"), "{location}");
    let page = app
        .get(&format!("{}&fault={fault}", path_of(location)), None)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let mut form = person_fields(person, fault);
    for name in ["redirect_uri", "state", "nonce", "code_challenge"] {
        form.push((
            name,
            field(&html, name).unwrap_or_else(|| panic!("{name}: {html}")),
        ));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let redirect = app.form("/dev-idp/oidc/authorize", "", &fields).await;
    assert!(redirect.status.is_redirection(), "{}", redirect.text());
    let back = redirect.headers[header::LOCATION].to_str().unwrap();
    assert!(
        back.starts_with("http://127.0.0.1:8080/t/acme/oidc/"),
        "{back}"
    );
    app.get(&path_of(back), Some(&browser)).await
}

/// A test person by id (`alice`), or a new person by email address.
fn person_fields(person: &str, fault: &str) -> Vec<(&'static str, String)> {
    let mut form = vec![("fault", fault.to_owned())];
    if person.contains('@') {
        form.push(("person", "custom".into()));
        form.push(("email", person.to_owned()));
        form.push(("name", format!("New {person}")));
    } else {
        form.push(("person", person.to_owned()));
    }
    form
}

async fn warnings(app: &TestApp) -> usize {
    app.lanyard
        .store
        .list_audit(&AuditFilter {
            kind: Some("login.warning".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

async fn check(
    app: &TestApp,
    protocol: &str,
    fault: &str,
    expected: Outcome,
    res: Res,
    warned_before: usize,
) {
    match expected {
        Outcome::Refused(code) => {
            // No user or session from a refused login (the counts before are the counts now).
            let before = counts(app).await;
            assert_refused(app, &res, code, before).await;
        }
        Outcome::SignedIn | Outcome::SignedInWithWarning => {
            assert!(
                res.status.is_redirection(),
                "{protocol} {fault}: expected a session, got {}: {}",
                res.status,
                res.text()
            );
            let s = session_json(app, &res, "acme").await;
            assert_eq!(s["tenant"], "acme", "{s}");
            let warned = warnings(app).await > warned_before;
            assert_eq!(
                warned,
                expected == Outcome::SignedInWithWarning,
                "{protocol} {fault}: login.warning audit event"
            );
        }
        Outcome::NotApplicable => unreachable!(),
    }
}

#[tokio::test]
async fn saml_sign_in_through_the_test_idp_gives_a_session_with_the_picked_role() {
    let (app, _) = setup().await;
    let res = saml_login(&app, "none", "alice").await;
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["email"], "alice@demo.example", "{s}");
    assert_eq!(s["user"]["role"], "admin", "{s}");
    let res = saml_login(&app, "none", "vic").await;
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["role"], "viewer", "{s}");
}

#[tokio::test]
async fn oidc_sign_in_through_the_test_idp_gives_a_session_with_the_picked_role() {
    let (app, _) = setup().await;
    let res = oidc_login(&app, "none", "alice").await;
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["email"], "alice@demo.example", "{s}");
    assert_eq!(s["user"]["role"], "admin", "{s}");
}

/// Every SAML fault of the table: forged, expired, misaddressed, weakly or wrongly signed
/// responses are refused with the documented code; the accepted variants sign in.
#[tokio::test]
async fn every_saml_fault_produces_its_documented_outcome() {
    let (app, _) = setup().await;
    for f in FAULTS.iter().filter(|f| f.saml != Outcome::NotApplicable) {
        let warned = warnings(&app).await;
        // A new person per fault: the fault meets a first login (JIT), as a newcomer's would.
        let person = format!("{}@saml.example", f.id.replace('_', "-"));
        let res = saml_login(&app, f.id, &person).await;
        check(&app, "SAML", f.id, f.saml, res, warned).await;
    }
}

/// Every OIDC fault of the table: ID tokens with a wrong audience or issuer, outside their
/// validity, unsigned or signed by an unknown key are refused with the documented code.
#[tokio::test]
async fn every_oidc_fault_produces_its_documented_outcome() {
    let (app, _) = setup().await;
    for f in FAULTS.iter().filter(|f| f.oidc != Outcome::NotApplicable) {
        let warned = warnings(&app).await;
        let person = format!("{}@oidc.example", f.id.replace('_', "-"));
        let res = oidc_login(&app, f.id, &person).await;
        check(&app, "OIDC", f.id, f.oidc, res, warned).await;
    }
}

/// Response-only signing is accepted by default and refused once the connection demands signed
/// assertions (an attacker cannot strip the assertion's signature on such a connection).
#[tokio::test]
async fn response_only_signature_is_refused_when_the_connection_requires_signed_assertions() {
    let (app, _) = setup().await;
    let before = counts(&app).await;
    let input = lanyard_proto::ConnectionInput {
        require_signed_assertions: Some(true),
        ..Default::default()
    };
    app.lanyard
        .update_connection(&lanyard_core::Ctx::cli(), "acme", SAML_CONNECTION, input)
        .await
        .unwrap();
    let res = saml_login(&app, "response_only", "bob").await;
    assert_refused(&app, &res, "saml.unsigned_assertion", before).await;
}

/// A weak (RSA-1024) IdP key cannot even be configured: importing the test IdP's metadata with
/// `?fault=rsa_1024` is refused with saml.weak_key, the normal metadata imports.
#[tokio::test]
async fn rsa_1024_metadata_is_refused_at_setup() {
    let (app, _) = setup().await;
    for (fault, expected) in [("?fault=rsa_1024", Some("saml.weak_key")), ("", None)] {
        let md = app
            .get(&format!("/dev-idp/saml/metadata{fault}"), None)
            .await;
        assert_eq!(md.status, StatusCode::OK);
        let input = lanyard_proto::ConnectionInput {
            slug: Some(format!("md{}", fault.len())),
            name: Some("Imported".into()),
            metadata_xml: Some(md.text()),
            ..Default::default()
        };
        let r = app
            .lanyard
            .create_connection(&lanyard_core::Ctx::cli(), "acme", input)
            .await;
        let got = r.err().map(|e| (e.code(), e.to_string()));
        assert_eq!(got.as_ref().map(|g| g.0), expected, "{fault}: {got:?}");
    }
}

/// The picker refuses what it does not know instead of silently signing a correct login.
#[tokio::test]
async fn unknown_fault_and_foreign_client_are_refused_by_the_test_idp() {
    let (app, _) = setup().await;
    let res = app
        .get(&format!("/t/acme/sso/{OIDC_CONNECTION}/start"), None)
        .await;
    let location = path_of(res.headers[header::LOCATION].to_str().unwrap());
    let page = app.get(&format!("{location}&fault=bogus"), None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("dev_idp.unknown_fault"));
    let foreign = location.replace("client_id=lanyard-demo", "client_id=someone");
    let page = app.get(&foreign, None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("dev_idp.bad_request"));
}

/// The remedy the clock faults name works: an IdP clock five minutes fast (`skew=5`) is refused
/// with the default tolerance and accepted once the connection's clock_skew_secs covers it.
#[tokio::test]
async fn raising_clock_skew_accepts_the_clock_fault_the_default_refuses() {
    let (app, _) = setup().await;
    let before = counts(&app).await;
    let res = saml_login_skewed(&app, "clock_ahead", "bob", "5").await;
    assert_refused(&app, &res, "saml.not_yet_valid", before).await;
    let input = lanyard_proto::ConnectionInput {
        clock_skew_secs: Some(600),
        ..Default::default()
    };
    app.lanyard
        .update_connection(&lanyard_core::Ctx::cli(), "acme", SAML_CONNECTION, input)
        .await
        .unwrap();
    let res = saml_login_skewed(&app, "clock_ahead", "bob", "5").await;
    let s = session_json(&app, &res, "acme").await;
    assert_eq!(s["user"]["email"], "bob@demo.example", "{s}");
}
