//! IdP metadata from real IdPs, and SP metadata produced for a connection.

use lanyard_saml::metadata::{
    BINDING_POST, BINDING_REDIRECT, NAMEID_EMAIL, SpMetadata, parse_idp_metadata,
};
use lanyard_saml::xml::Limits;

use crate::common::{b64, pem_der, read};

fn md(idp: &str) -> lanyard_saml::metadata::IdpMetadata {
    parse_idp_metadata(
        &read(&format!("ssoready/testdata/assertions/{idp}/metadata.xml")),
        &Limits::default(),
    )
    .unwrap()
}

#[test]
fn entra_adfs_metadata_uses_only_the_idp_descriptor_keys() {
    let m = md("adfs");
    assert_eq!(
        m.entity_id,
        "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/"
    );
    assert_eq!(
        m.sso_url(BINDING_REDIRECT),
        Some("https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2")
    );
    assert_eq!(
        m.sso_url(BINDING_POST),
        Some("https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2")
    );
    assert_eq!(m.signing_certificates.len(), 1);
    assert_eq!(m.trusted_keys().unwrap().keys().len(), 1);
}

#[test]
fn google_okta_keycloak_metadata() {
    let g = md("google");
    assert_eq!(
        g.entity_id,
        "https://accounts.google.com/o/saml2?idpid=C029op2ga"
    );
    assert_eq!(
        g.sso_url(BINDING_REDIRECT),
        Some("https://accounts.google.com/o/saml2/idp?idpid=C029op2ga")
    );
    assert!(!g.want_authn_requests_signed);
    assert_eq!(g.signing_certificates.len(), 1);

    let k = md("keycloak");
    assert_eq!(k.entity_id, "http://localhost:8085/realms/master");
    assert!(k.want_authn_requests_signed);
    assert_eq!(k.sso_services.len(), 4);
    assert_eq!(
        k.sso_url("urn:oasis:names:tc:SAML:2.0:bindings:SOAP"),
        Some("http://localhost:8085/realms/master/protocol/saml")
    );

    let o = md("okta");
    assert_eq!(o.entity_id, "http://www.okta.com/exkdoocxa1VmjpXmX697");
    assert_eq!(o.name_id_formats, [NAMEID_EMAIL]);
    assert_eq!(
        o.sso_url(BINDING_POST),
        Some(
            "https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml"
        )
    );
    let keys = o.trusted_keys().unwrap();
    assert!(keys.keys()[0].description().starts_with("RSA-2048"));
}

#[test]
fn every_signing_certificate_for_rollover() {
    let a = b64(&pem_der("keys/idp.crt"));
    let b = b64(&pem_der("keys/ec.crt"));
    let enc = b64(&pem_der("keys/attacker.crt"));
    let text = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{a}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{b}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{enc}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="{BINDING_POST}" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let m = parse_idp_metadata(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(
        m.signing_certificates,
        [pem_der("keys/idp.crt"), pem_der("keys/ec.crt")]
    );
    let keys = m.trusted_keys().unwrap();
    assert!(keys.keys()[1].description().starts_with("ECDSA P-256"));
}

#[test]
fn weak_certificate_in_metadata_is_refused() {
    let weak = b64(&pem_der("keys/weak.crt"));
    let text = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{weak}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let m = parse_idp_metadata(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(m.trusted_keys().unwrap_err().code(), "saml.weak_key");
}

#[test]
fn metadata_with_doctype_is_refused() {
    let text = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&e;"/>"#;
    assert_eq!(
        parse_idp_metadata(text.as_bytes(), &Limits::default())
            .unwrap_err()
            .code(),
        "saml.dtd_forbidden"
    );
}

#[test]
fn sp_metadata_for_a_connection() {
    let cert = pem_der("keys/idp.crt");
    let x = SpMetadata {
        entity_id: "https://sso.example.test/t/acme/saml/okta",
        acs_url: "https://sso.example.test/t/acme/saml/okta/acs",
        name_id_formats: &[NAMEID_EMAIL],
        want_assertions_signed: true,
        authn_requests_signed: true,
        signing_certificate: Some(&cert),
    }
    .to_xml();
    assert!(x.contains(r#"entityID="https://sso.example.test/t/acme/saml/okta""#));
    assert!(x.contains(&format!(r#"<md:AssertionConsumerService Binding="{BINDING_POST}" Location="https://sso.example.test/t/acme/saml/okta/acs" index="0" isDefault="true"/>"#)));
    assert!(x.contains(&b64(&cert)));
    assert!(x.contains(r#"AuthnRequestsSigned="true" WantAssertionsSigned="true""#));
    lanyard_saml::xml::parse(x.as_bytes(), &Limits::default()).unwrap();
}
