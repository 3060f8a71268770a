//! OIDC discovery documents from a provider: `parse_discovery` on arbitrary bytes.
//!
//! Invariant: an accepted document is one JSON object whose `issuer` is exactly the expected
//! one, and every imported endpoint is the document's own string member of that name.
#![no_main]

use lanyard_core::signin::oidc::checks::parse_discovery;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://idp.example/realms/acme";

fuzz_target!(|data: &[u8]| {
    let Ok(d) = parse_discovery(data, ISSUER) else {
        return;
    };
    assert_eq!(d.issuer, ISSUER);
    let doc: Value = serde_json::from_slice(data).expect("accepted bytes are JSON");
    let member = |k: &str| doc.get(k).and_then(Value::as_str);
    assert_eq!(member("issuer"), Some(ISSUER));
    assert_eq!(
        member("authorization_endpoint"),
        Some(d.authorization_endpoint.as_str())
    );
    assert_eq!(member("token_endpoint"), Some(d.token_endpoint.as_str()));
    assert_eq!(member("jwks_uri"), Some(d.jwks_uri.as_str()));
    assert_eq!(member("userinfo_endpoint"), d.userinfo_endpoint.as_deref());
    assert_eq!(
        member("end_session_endpoint"),
        d.end_session_endpoint.as_deref()
    );
    assert_eq!(
        d.iss_parameter_supported,
        doc.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true))
    );
});
