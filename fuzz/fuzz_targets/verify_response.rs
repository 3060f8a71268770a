//! `verify_response` on arbitrary bytes, with a fixed SP, the test IdP's certificate and a fixed
//! instant (the one the generated fixtures are valid at). Anything may be refused; nothing may
//! panic, and anything accepted must have been signed by the test key (the fuzzer cannot sign,
//! so an acceptance is only possible from a seed that already verifies).
#![no_main]

use std::sync::OnceLock;

use lanyard_saml::{IdentityProvider, Options, ServiceProvider, TrustedKeys, verify_response};
use libfuzzer_sys::fuzz_target;

const IDP_CERT: &str = include_str!("../../crates/lanyard-saml/tests/fixtures/keys/idp.crt");

struct Fixed {
    sp: ServiceProvider,
    idp: IdentityProvider,
    now: std::time::SystemTime,
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| Fixed {
        sp: ServiceProvider {
            entity_id: "https://sso.example.test/t/acme/saml/okta".into(),
            acs_url: "https://sso.example.test/t/acme/saml/okta/acs".into(),
        },
        idp: IdentityProvider {
            entity_id: "https://idp.example.test/metadata".into(),
            keys: TrustedKeys::from_pem(IDP_CERT).expect("test certificate"),
        },
        now: lanyard_saml::time::from_millis(
            lanyard_saml::time::parse_datetime("2026-01-01T12:00:00Z").expect("time"),
        ),
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixed();
    let mut opts = Options::new(f.now);
    opts.expected_in_response_to = Some("_req_7f3a");
    if let Ok(v) = verify_response(data, &f.sp, &f.idp, &opts) {
        assert!(v.assertion_signed || v.response_signed);
        assert!(!v.name_id.value.is_empty());
    }
    // The same bytes as a POST-binding field (base64 path).
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lanyard_saml::decode_post_binding(text, &opts.limits);
    }
});
