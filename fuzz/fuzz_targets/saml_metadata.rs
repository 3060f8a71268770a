//! IdP metadata (imported from a URL or pasted by an administrator): `parse_idp_metadata` and
//! the keys it yields, and pasted certificates (`TrustedKeys::from_pem`,
//! `certificates_from_text`), on arbitrary bytes.
//!
//! Invariants: accepted metadata has a non-empty entityID, no certificate twice, and every
//! SSO endpoint it reports is one the document lists for that binding (the first); keys
//! parsed from the same certificates twice are the same keys.
#![no_main]

use lanyard_saml::TrustedKeys;
use lanyard_saml::metadata::{certificates_from_text, parse_idp_metadata};
use lanyard_saml::xml::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(md) = parse_idp_metadata(data, &Limits::default()) {
        assert!(!md.entity_id.is_empty());
        for (i, c) in md.signing_certificates.iter().enumerate() {
            assert!(
                !md.signing_certificates[..i].contains(c),
                "a certificate twice"
            );
        }
        for e in &md.sso_services {
            let first = md.sso_url(&e.binding).expect("a listed binding has a URL");
            let listed = md
                .sso_services
                .iter()
                .find(|x| x.binding == e.binding)
                .expect("listed");
            assert_eq!(first, listed.location);
        }
        if let Ok(keys) = md.trusted_keys() {
            let again = md
                .trusted_keys()
                .expect("the same certificates parse again");
            assert_eq!(keys.keys().len(), again.keys().len());
            for k in keys.keys() {
                assert!(again.contains_certificate(k.der()));
                assert!(
                    md.signing_certificates
                        .iter()
                        .any(|c| c.as_slice() == k.der())
                );
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(keys) = TrustedKeys::from_pem(text) {
            let ders = certificates_from_text(text).expect("what from_pem read is certificates");
            for k in keys.keys() {
                assert!(ders.iter().any(|d| d.as_slice() == k.der()));
            }
        }
    }
});
