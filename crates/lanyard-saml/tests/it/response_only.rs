//! IdPs that sign only the Response (OneLogin, PingFederate, Auth0 offer it): accepted by default,
//! refused with `saml.unsigned_assertion` under `require_signed_assertions`, and the signature
//! wrapping family replayed against Response-only signing. Every attack starts from a Response
//! validly signed by the test IdP whose Assertion is not signed itself; the victim identity is
//! `admin@acme.example`, the genuine user `alice@acme.example`.

use lanyard_saml::Error;

use crate::common::*;

const VICTIM: &str = "admin@acme.example";

fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert!(s.contains(from), "{from:?} not found");
    s.replacen(from, to, 1)
}

/// The Response signed by the IdP key, its Assertion unsigned.
fn response_signed(r: &Resp) -> String {
    let key = TestKey::load("idp");
    r.signed_with(false, true, &SignSpec::new(&key))
}

/// The outermost `<saml:Assertion …>…</saml:Assertion>` of `doc`.
fn assertion_of(doc: &str) -> String {
    let start = doc.find("<saml:Assertion ").unwrap();
    let end = doc.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    doc[start..end].to_string()
}

/// The first `<ds:Signature …>…</ds:Signature>` of `doc`.
fn signature_of(doc: &str) -> String {
    let start = doc.find("<ds:Signature ").unwrap();
    let end = doc.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    doc[start..end].to_string()
}

/// The same response claiming the victim, under new IDs, unsigned.
fn evil() -> Resp {
    Resp {
        response_id: "_evilR".into(),
        assertion_id: "_evilA".into(),
        name_id: VICTIM.into(),
        ..Resp::default()
    }
}

fn strict() -> lanyard_saml::Options<'static> {
    let mut o = opts();
    o.require_signed_assertions = true;
    o
}

#[test]
fn accepted_by_default_and_claims_come_from_the_covered_assertion() {
    let doc = response_signed(&Resp::default());
    let v = check(&doc).unwrap();
    assert!(v.response_signed && !v.assertion_signed);
    assert_eq!(v.name_id.value, "alice@acme.example");
    assert_eq!(v.attribute_values("groups"), ["admins", "dev & ops"]);
    assert_eq!(v.session_index.as_deref(), Some("_sess_9"));
    assert_eq!(v.assertion_id, "_assert_1");
}

#[test]
fn refused_with_unsigned_assertion_under_the_strict_setting() {
    let doc = response_signed(&Resp::default());
    assert_eq!(
        check_with(&doc, &strict()).unwrap_err(),
        Error::UnsignedAssertion {
            response_signed: true
        }
    );
    // Nothing signed at all: refused under either setting.
    for o in [opts(), strict()] {
        assert_eq!(
            check_with(&Resp::default().unsigned(), &o).unwrap_err(),
            Error::UnsignedAssertion {
                response_signed: false
            }
        );
    }
}

#[test]
fn assertion_edited_in_place_breaks_the_response_digest() {
    let doc = response_signed(&Resp::default());
    for (from, to) in [
        (
            ">alice@acme.example</saml:NameID>",
            ">admin@acme.example</saml:NameID>",
        ),
        (
            ">admins</saml:AttributeValue>",
            ">root</saml:AttributeValue>",
        ),
        (
            r#"NotOnOrAfter="2026-01-01T12:05:00Z" Recipient"#,
            r#"NotOnOrAfter="2027-01-01T12:05:00Z" Recipient"#,
        ),
    ] {
        let attack = replace_once(&doc, from, to);
        assert_eq!(
            check(&attack).unwrap_err(),
            Error::BadSignature("digest mismatch: the signed element was modified"),
            "{to}"
        );
    }
}

#[test]
fn evil_assertion_added_before_or_after_the_covered_one() {
    let doc = response_signed(&Resp::default());
    let bad = evil().assertion_xml();
    let before = replace_once(&doc, "<saml:Assertion ", &format!("{bad}<saml:Assertion "));
    assert_eq!(check(&before).unwrap_err(), Error::MultipleAssertions(2));
    let after = replace_once(
        &doc,
        "</samlp:Response>",
        &format!("{bad}</samlp:Response>"),
    );
    assert_eq!(check(&after).unwrap_err(), Error::MultipleAssertions(2));
}

#[test]
fn covered_assertion_replaced_and_moved_elsewhere_in_the_signed_response() {
    // The genuine Assertion hidden in Extensions, StatusDetail, inside the Signature or its
    // Object, or in the evil Assertion's Advice; the evil Assertion takes its place.
    let doc = response_signed(&Resp::default());
    let original = assertion_of(&doc);
    let bad = evil().assertion_xml();
    let sig = signature_of(&doc);
    let cases = [
        replace_once(
            &replace_once(&doc, &original, &bad),
            "<samlp:Status>",
            &format!("<samlp:Extensions>{original}</samlp:Extensions><samlp:Status>"),
        ),
        replace_once(
            &replace_once(&doc, &original, &bad),
            "</samlp:Status>",
            &format!("<samlp:StatusDetail>{original}</samlp:StatusDetail></samlp:Status>"),
        ),
        replace_once(
            &replace_once(&doc, &original, &bad),
            "</ds:Signature>",
            &format!("{original}</ds:Signature>"),
        ),
        replace_once(
            &replace_once(&doc, &original, &bad),
            "</ds:Signature>",
            &format!("<ds:Object>{original}</ds:Object></ds:Signature>"),
        ),
    ];
    for attack in &cases {
        assert_eq!(code(check(attack)), "saml.multiple_assertions", "{attack}");
    }
    // In the evil Assertion's Advice (which is never read): the Response digest no longer
    // matches, and Advice never supplies claims.
    let wrapped = Resp {
        assertion_extra: format!("<saml:Advice>{original}</saml:Advice>"),
        ..evil()
    }
    .assertion_xml();
    let attack = replace_once(&doc, &original, &wrapped);
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("digest mismatch: the signed element was modified")
    );
    assert!(sig.contains(r##"URI="#_resp_1""##));
}

#[test]
fn signed_response_wrapped_in_an_evil_response() {
    // A new unsigned root Response with the victim's Assertion; the genuine signed Response
    // hidden inside it (Extensions, StatusDetail, after the Assertion, inside its Advice).
    let doc = response_signed(&Resp::default());
    let outer = |placement: &dyn Fn(&str) -> String| -> String {
        let e = evil();
        let inner = placement(&doc);
        replace_once(
            &e.unsigned(),
            "<samlp:Status>",
            &format!("{inner}<samlp:Status>"),
        )
    };
    let in_extensions = outer(&|d| format!("<samlp:Extensions>{d}</samlp:Extensions>"));
    assert_eq!(code(check(&in_extensions)), "saml.multiple_assertions");
    let bare_child = outer(&|d| d.to_string());
    assert_eq!(code(check(&bare_child)), "saml.multiple_assertions");
    let in_advice = {
        let e = Resp {
            assertion_extra: format!("<saml:Advice>{doc}</saml:Advice>"),
            ..evil()
        };
        e.unsigned()
    };
    assert!(matches!(
        code(check(&in_advice)),
        "saml.multiple_assertions" | "saml.bad_signature"
    ));
    // Two Response elements side by side are not one XML document.
    assert_eq!(
        code(check(&format!("{doc}{}", evil().unsigned()))),
        "saml.malformed_xml"
    );
}

#[test]
fn genuine_signature_moved_onto_an_evil_response() {
    // The Response signature (Reference "#_resp_1") copied onto a Response with another ID: the
    // reference does not name the element it sits in.
    let doc = response_signed(&Resp::default());
    let sig = signature_of(&doc);
    let e = evil();
    let attack = replace_once(
        &e.unsigned(),
        "</saml:Issuer><samlp:Status>",
        &format!("</saml:Issuer>{sig}<samlp:Status>"),
    );
    assert_eq!(code(check(&attack)), "saml.bad_reference");
    // Same ID as the genuine Response, victim's Assertion: the digest does not match.
    let attack = replace_once(&attack, r#"ID="_evilR""#, r#"ID="_resp_1""#);
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("digest mismatch: the signed element was modified")
    );
}

#[test]
fn response_signature_referencing_another_element() {
    // A signature the IdP made over the Assertion, moved up to sit on the Response: it names the
    // Assertion, not the Response that contains it.
    let key = TestKey::load("idp");
    let assertion_signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let sig = signature_of(&assertion_signed);
    let unsigned_assertion = replace_once(&assertion_signed, &sig, "");
    let attack = replace_once(
        &unsigned_assertion,
        "</saml:Issuer><samlp:Status>",
        &format!("</saml:Issuer>{sig}<samlp:Status>"),
    );
    assert_eq!(code(check(&attack)), "saml.bad_reference");
    // The Response signature's Reference edited to the Assertion, the whole document, or
    // nothing that exists.
    let doc = response_signed(&Resp::default());
    for uri in [r##"URI="#_assert_1""##, r#"URI="""#, r##"URI="#nowhere""##] {
        let attack = replace_once(&doc, r##"URI="#_resp_1""##, uri);
        assert_eq!(code(check(&attack)), "saml.bad_reference", "{uri}");
    }
}

#[test]
fn signature_moved_off_the_response() {
    // The genuine Response signature relocated into Extensions or StatusDetail, or into the
    // Assertion (where its Reference does not match): never honoured.
    let doc = response_signed(&Resp::default());
    let sig = signature_of(&doc);
    let stripped = replace_once(&doc, &sig, "");
    let ext = replace_once(
        &stripped,
        "<samlp:Status>",
        &format!("<samlp:Extensions>{sig}</samlp:Extensions><samlp:Status>"),
    );
    assert_eq!(code(check(&ext)), "saml.bad_signature");
    let detail = replace_once(
        &stripped,
        "</samlp:Status>",
        &format!("<samlp:StatusDetail>{sig}</samlp:StatusDetail></samlp:Status>"),
    );
    assert_eq!(code(check(&detail)), "saml.bad_signature");
    let into_assertion = replace_once(
        &stripped,
        &format!("<saml:Issuer>{IDP}</saml:Issuer><saml:Subject>"),
        &format!("<saml:Issuer>{IDP}</saml:Issuer>{sig}<saml:Subject>"),
    );
    assert_eq!(code(check(&into_assertion)), "saml.bad_reference");
    assert_eq!(
        check(&stripped).unwrap_err(),
        Error::UnsignedAssertion {
            response_signed: false
        }
    );
}

#[test]
fn second_signature_on_the_assertion_must_verify_too() {
    // An attacker-key signature added to the Assertion of a Response-only signed response: every
    // present signature must verify (and adding it breaks the Response digest anyway).
    let doc = response_signed(&Resp::default());
    let attacker = TestKey::load("attacker");
    let a = Resp::default().signed_with(true, false, &SignSpec::new(&attacker));
    let attacker_sig = signature_of(&a);
    let attack = replace_once(
        &doc,
        &format!("<saml:Issuer>{IDP}</saml:Issuer><saml:Subject>"),
        &format!("<saml:Issuer>{IDP}</saml:Issuer>{attacker_sig}<saml:Subject>"),
    );
    assert!(matches!(
        code(check(&attack)),
        "saml.bad_signature" | "saml.bad_certificate"
    ));
    // The whole Response signed by the attacker's key.
    let forged = Resp::default().signed_with(false, true, &SignSpec::new(&attacker));
    assert_eq!(code(check(&forged)), "saml.bad_certificate");
}

#[test]
fn comment_injection_reads_the_full_signed_text() {
    // Comments are outside the exclusive c14n digest, so inserting one keeps the signature valid:
    // NameID, Issuer and Audience must still be read whole.
    let r = Resp {
        name_id: "admin@acme.example.evil.test".into(),
        ..Resp::default()
    };
    let doc = response_signed(&r);
    let attack = replace_once(
        &doc,
        ">admin@acme.example.evil.test<",
        ">admin@acme.example<!---->.evil.test<",
    );
    let v = check(&attack).unwrap();
    assert_eq!(v.name_id.value, "admin@acme.example.evil.test");
    // An Audience the IdP signed for another SP whose URL extends ours.
    let r = Resp {
        audience: format!("{SP}.evil"),
        ..Resp::default()
    };
    let doc = response_signed(&r);
    let attack = replace_once(
        &doc,
        &format!(">{SP}.evil<"),
        &format!(">{SP}<!---->.evil<"),
    );
    assert_eq!(code(check(&attack)), "saml.bad_audience");
}

#[test]
fn name_id_tricks_inside_the_covered_assertion() {
    let doc = response_signed(&Resp::default());
    // A second NameID, a processing instruction or a nested element in the NameID: all change
    // the digested content.
    for (from, to) in [
        (
            "</saml:NameID>",
            "</saml:NameID><saml:NameID>admin@acme.example</saml:NameID>",
        ),
        (">alice@acme.example<", ">alice@acme.example<?x admin?><"),
        (
            ">alice@acme.example<",
            "><x>admin@acme.example</x>alice@acme.example<",
        ),
    ] {
        let attack = replace_once(&doc, from, to);
        assert_eq!(
            check(&attack).unwrap_err(),
            Error::BadSignature("digest mismatch: the signed element was modified"),
            "{to}"
        );
    }
}

#[test]
fn unsigned_in_response_to_on_a_response_only_signature() {
    // The signed Response names the request; the covered confirmation must agree. Editing either
    // breaks the digest; a response for another request is a mismatch.
    let doc = response_signed(&Resp {
        in_response_to: Some("_other_req".into()),
        ..Resp::default()
    });
    assert_eq!(code(check(&doc)), "saml.in_response_to_mismatch");
    let attack = doc.replace("_other_req", REQ);
    assert_eq!(code(check(&attack)), "saml.bad_signature");
}
