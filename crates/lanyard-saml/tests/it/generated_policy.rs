//! Negative suite, continued: the policy checks after the signatures verified — audience,
//! recipient, destination, issuer, time windows, subject confirmation, status, InResponseTo,
//! and what may (not) stand where the assertion is expected.

use std::time::Duration;

use lanyard_saml::xml::Limits;
use lanyard_saml::{Error, IdentityProvider, verify_response};

use crate::common::*;
use crate::generated::*;

#[test]
fn wrong_audience() {
    let r = Resp {
        audience: "https://sso.example.test/t/other/saml/okta".into(),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_audience");
}

#[test]
fn audience_list_containing_ours() {
    let r = Resp {
        audience: format!("https://other.example</saml:Audience><saml:Audience>{SP}"),
        ..Resp::default()
    };
    let doc = r.signed();
    check(&doc).unwrap();
    // Stricter policy, per connection.
    let mut o = opts();
    o.exclusive_audience = true;
    assert_eq!(code(check_with(&doc, &o)), "saml.bad_audience");
}

#[test]
fn wrong_recipient() {
    let r = Resp {
        recipient: "https://sso.example.test/t/other/saml/okta/acs".into(),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_recipient");
}

#[test]
fn wrong_or_missing_destination() {
    let r = Resp {
        destination: Some("https://evil.example/acs".into()),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_destination");
    // Required when the Response is signed ...
    let r = Resp {
        destination: None,
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_destination");
    // ... optional when only the Assertion is.
    let key = TestKey::load("idp");
    check(&r.signed_with(true, false, &SignSpec::new(&key))).unwrap();
}

#[test]
fn wrong_issuer() {
    let r = Resp {
        assertion_issuer: "https://other-idp.example".into(),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_issuer");
    let r = Resp {
        response_issuer: Some("https://other-idp.example".into()),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_issuer");
    // Another tenant's IdP, validly signed by its own (configured there) key: refused here.
    let other = IdentityProvider {
        entity_id: "https://tenant-b-idp.example".into(),
        keys: idp_with(&["idp"]).keys,
    };
    let err =
        verify_response(Resp::default().signed().as_bytes(), &sp(), &other, &opts()).unwrap_err();
    assert_eq!(err.code(), "saml.bad_issuer");
}

#[test]
fn expiry_boundaries() {
    let signed = Resp::default().signed(); // NotOnOrAfter 12:05:00 (Conditions and confirmation)
    let mut o = opts();
    o.clock_skew = Duration::ZERO;
    o.now = at("2026-01-01T12:05:00Z");
    assert_eq!(
        check_with(&signed, &o).unwrap_err(),
        Error::Expired("the assertion")
    );
    o.now = at("2026-01-01T12:04:59.999Z");
    check_with(&signed, &o).unwrap();
    let mut o = opts(); // 90 s skew
    o.now = at("2026-01-01T12:06:29Z");
    check_with(&signed, &o).unwrap();
    o.now = at("2026-01-01T12:06:30Z");
    assert_eq!(code(check_with(&signed, &o)), "saml.expired");
    o.now = at("2026-01-01T12:06:31Z");
    assert_eq!(code(check_with(&signed, &o)), "saml.expired");
}

#[test]
fn not_yet_valid_boundaries() {
    let signed = Resp::default().signed(); // NotBefore 11:55:00
    let mut o = opts();
    o.now = at("2026-01-01T11:53:29Z");
    assert_eq!(
        check_with(&signed, &o).unwrap_err(),
        Error::NotYetValid("the assertion")
    );
    o.now = at("2026-01-01T11:53:31Z");
    check_with(&signed, &o).unwrap();
}

#[test]
fn subject_confirmation_expired() {
    let r = Resp {
        sc_not_on_or_after: "2026-01-01T11:58:00Z".into(),
        ..Resp::default()
    };
    assert_eq!(
        check(&r.signed()).unwrap_err(),
        Error::Expired("the subject confirmation")
    );
}

#[test]
fn idp_session_already_over() {
    let r = Resp {
        session_not_on_or_after: Some("2026-01-01T11:00:00Z".into()),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.expired");
}

#[test]
fn malformed_times() {
    let r = Resp {
        not_on_or_after: "2025-13-40T99:00:00Z".into(),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_time");
}

#[test]
fn non_success_status() {
    let r = Resp {
        status: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
        status_message: Some("User is not assigned to this application".into()),
        ..Resp::default()
    };
    let err = check(&r.signed()).unwrap_err();
    assert_eq!(
        err,
        Error::StatusNotSuccess {
            status: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
            sub_status: None,
            message: Some("User is not assigned to this application".into()),
        }
    );
    assert_eq!(err.code(), "saml.status_not_success");
}

#[test]
fn no_bearer_confirmation() {
    let r = Resp {
        method: "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches".into(),
        ..Resp::default()
    };
    assert_eq!(check(&r.signed()).unwrap_err(), Error::NoBearerConfirmation);
}

#[test]
fn unsolicited_and_in_response_to() {
    let r = Resp {
        in_response_to: None,
        ..Resp::default()
    };
    let doc = r.signed();
    let mut o = opts();
    o.expected_in_response_to = None;
    assert_eq!(check_with(&doc, &o).unwrap_err(), Error::Unsolicited);
    o.allow_idp_initiated = true;
    assert_eq!(check_with(&doc, &o).unwrap().in_response_to, None);
    // A pending request exists but the response answers none.
    assert_eq!(code(check(&doc)), "saml.in_response_to_mismatch");
    // Answers another request.
    let r = Resp {
        in_response_to: Some("_req_other".into()),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.in_response_to_mismatch");
    // A solicited response when nothing is pending (e.g. replayed into another browser).
    let mut o = opts();
    o.expected_in_response_to = None;
    o.allow_idp_initiated = true;
    assert_eq!(
        code(check_with(&Resp::default().signed(), &o)),
        "saml.in_response_to_mismatch"
    );
}

#[test]
fn in_response_to_only_trusted_from_signed_content() {
    // IdP-initiated assertion (no InResponseTo in the signed Assertion); an attacker adds the
    // victim's pending request ID to the unsigned Response envelope: still unsolicited.
    let key = TestKey::load("idp");
    let r = Resp {
        in_response_to: None,
        ..Resp::default()
    };
    let doc = r.signed_with(true, false, &SignSpec::new(&key));
    let attack = replace_once(
        &doc,
        r#"Version="2.0" IssueInstant="2026-01-01T12:00:00Z" Destination"#,
        &format!(
            r#"Version="2.0" IssueInstant="2026-01-01T12:00:00Z" InResponseTo="{REQ}" Destination"#
        ),
    );
    assert_eq!(code(check(&attack)), "saml.in_response_to_mismatch");
    // A signed Response's InResponseTo counts when the confirmation carries none.
    let spec = SignSpec::new(&key);
    let unsigned = Resp::default().unsigned().replace(
        &format!(r#" InResponseTo="{REQ}" NotOnOrAfter"#),
        " NotOnOrAfter",
    );
    let doc = sign_element(
        &sign_element(&unsigned, "_assert_1", &spec),
        "_resp_1",
        &spec,
    );
    assert_eq!(check(&doc).unwrap().in_response_to.as_deref(), Some(REQ));
}

#[test]
fn signed_advice_assertion_is_refused() {
    // Closed profile: signatures only on the Response and its one Assertion.
    let key = TestKey::load("idp");
    let inner_resp = Resp {
        assertion_id: "_advice_1".into(),
        ..Resp::default()
    };
    let inner = assertion_of(&sign_element(
        &inner_resp.unsigned(),
        "_advice_1",
        &SignSpec::new(&key),
    ));
    let r = Resp {
        assertion_extra: format!("<saml:Advice>{inner}</saml:Advice>"),
        ..Resp::default()
    };
    assert_eq!(code(check(&r.signed())), "saml.bad_signature");
}

#[test]
fn multiple_and_missing_assertions() {
    let key = TestKey::load("idp");
    let one = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let second = Resp {
        assertion_id: "_assert_2".into(),
        ..Resp::default()
    }
    .assertion_xml();
    let second = sign_element(
        &Resp::default().response_xml(&second),
        "_assert_2",
        &SignSpec::new(&key),
    );
    let second = assertion_of(&second);
    // Two validly signed assertions: still refused.
    let attack = replace_once(
        &one,
        "</samlp:Response>",
        &format!("{second}</samlp:Response>"),
    );
    assert_eq!(check(&attack).unwrap_err(), Error::MultipleAssertions(2));
    let none = Resp::default().response_xml("");
    assert_eq!(check(&none).unwrap_err(), Error::NoAssertion);
}

#[test]
fn encrypted_assertion_is_unsupported() {
    let doc = Resp::default().response_xml(
        r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#,
    );
    assert_eq!(
        check(&doc).unwrap_err(),
        Error::EncryptedUnsupported("assertion")
    );
}

#[test]
fn not_a_response() {
    assert_eq!(
        code(check(
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"
        )),
        "saml.malformed_xml"
    );
    assert_eq!(code(check("not xml")), "saml.malformed_xml");
    assert_eq!(code(check("")), "saml.malformed_xml");
}

#[test]
fn post_binding_end_to_end() {
    let doc = Resp::default().signed();
    let field = b64(doc.as_bytes());
    let bytes = lanyard_saml::decode_post_binding(&field, &Limits::default()).unwrap();
    let v = verify_response(&bytes, &sp(), &idp_with(&["idp"]), &opts()).unwrap();
    assert_eq!(v.name_id.value, "alice@acme.example");
}

#[test]
fn signature_copied_into_status_detail() {
    // CVE-2025-25292 shape (without its DTD part, refused elsewhere): a signature copied into
    // StatusDetail, where a loose lookup might find it.
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let start = signed.find("<ds:Signature ").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = signed[start..end].to_string();
    let unsigned = Resp::default().unsigned();
    let attack = replace_once(
        &unsigned,
        "</samlp:Status>",
        &format!("<samlp:StatusDetail>{sig}</samlp:StatusDetail></samlp:Status>"),
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("a Signature appears outside the Response and its Assertion")
    );
}

#[test]
fn digest_of_the_empty_string() {
    // A SignedInfo validly signed by the IdP key whose DigestValue is SHA-256(""): what
    // libxml2-based verifiers compare against when their c14n fails and returns ""
    // (CVE-2025-66568 class). Our c14n of an element is never empty.
    let key = TestKey::load("idp");
    let empty = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"")
        .as_ref()
        .to_vec();
    let spec = SignSpec {
        digest_override: Some(empty),
        ..SignSpec::new(&key)
    };
    let attack = evil_resp().signed_with(true, false, &spec);
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("digest mismatch: the signed element was modified")
    );
}
