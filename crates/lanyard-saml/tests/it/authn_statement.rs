//! SAML profiles 4.1.4.2: an SSO response's Assertion must carry an `AuthnStatement`, and only
//! one that is a direct child of the verified Assertion counts. Each case signs the response
//! after the change (a genuine IdP sending an assertion without authentication), under every
//! signing shape (Assertion, Response, both).

use lanyard_saml::Error;

use crate::common::*;

const AUTHN_START: &str = "<saml:AuthnStatement ";
const AUTHN_END: &str = "</saml:AuthnStatement>";

/// The default response's unsigned XML without its AuthnStatement, and that statement.
fn without_authn(r: &Resp) -> (String, String) {
    let doc = r.unsigned();
    let start = doc.find(AUTHN_START).unwrap();
    let end = doc.find(AUTHN_END).unwrap() + AUTHN_END.len();
    let statement = doc[start..end].to_string();
    (format!("{}{}", &doc[..start], &doc[end..]), statement)
}

/// `doc` signed as `shape` says: (sign the Assertion, sign the Response).
fn sign(doc: &str, r: &Resp, shape: (bool, bool)) -> String {
    let key = TestKey::load("idp");
    let spec = SignSpec::new(&key);
    let mut out = doc.to_string();
    if shape.0 {
        out = sign_element(&out, &r.assertion_id, &spec);
    }
    if shape.1 {
        out = sign_element(&out, &r.response_id, &spec);
    }
    out
}

const SHAPES: [(bool, bool); 3] = [(true, false), (false, true), (true, true)];

#[test]
fn assertion_without_any_authn_statement_is_refused() {
    let r = Resp::default();
    let (doc, _) = without_authn(&r);
    for shape in SHAPES {
        let signed = sign(&doc, &r, shape);
        assert_eq!(
            check(&signed).unwrap_err(),
            Error::MissingAuthnStatement,
            "{shape:?}"
        );
    }
    let e = Error::MissingAuthnStatement;
    assert_eq!(e.code(), "saml.missing_authn_statement");
    assert!(e.help().contains("AuthnStatement"));
}

#[test]
fn authn_statement_only_in_advice_does_not_count() {
    // An attribute-only assertion carrying, in its Advice, another assertion that has one.
    let r = Resp::default();
    let (doc, _) = without_authn(&r);
    let advice_assertion = Resp {
        assertion_id: "_advice_1".into(),
        ..Resp::default()
    }
    .assertion_xml();
    assert!(advice_assertion.contains(AUTHN_START));
    let with_advice = doc.replacen(
        "</saml:AttributeStatement></saml:Assertion>",
        &format!(
            "</saml:AttributeStatement><saml:Advice>{advice_assertion}</saml:Advice></saml:Assertion>"
        ),
        1,
    );
    assert_ne!(doc, with_advice);
    for shape in SHAPES {
        let signed = sign(&with_advice, &r, shape);
        assert_eq!(
            check(&signed).unwrap_err(),
            Error::MissingAuthnStatement,
            "{shape:?}"
        );
    }
}

#[test]
fn authn_statement_outside_the_verified_assertion_does_not_count() {
    // The statement placed in Response Extensions, in StatusDetail, nested inside another
    // element of the Assertion (Subject, Conditions, an AttributeValue), or in another namespace.
    let r = Resp::default();
    let (doc, statement) = without_authn(&r);
    let foreign_ns = statement
        .replace(
            "<saml:AuthnStatement ",
            "<x:AuthnStatement xmlns:x=\"urn:example:not-saml\" ",
        )
        .replace("</saml:AuthnStatement>", "</x:AuthnStatement>");
    // Outside the Assertion the saml prefix has to be declared again.
    let declared = statement.replacen(
        "<saml:AuthnStatement ",
        "<saml:AuthnStatement xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
        1,
    );
    let placements = [
        doc.replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{declared}</samlp:Extensions><samlp:Status>"),
            1,
        ),
        doc.replacen(
            "</samlp:Status>",
            &format!("<samlp:StatusDetail>{declared}</samlp:StatusDetail></samlp:Status>"),
            1,
        ),
        doc.replacen("</saml:Subject>", &format!("{statement}</saml:Subject>"), 1),
        doc.replacen(
            "</saml:Conditions>",
            &format!("{statement}</saml:Conditions>"),
            1,
        ),
        doc.replacen(
            ">admins</saml:AttributeValue>",
            &format!(">admins{statement}</saml:AttributeValue>"),
            1,
        ),
        doc.replacen(
            "</saml:Conditions>",
            &format!("</saml:Conditions>{foreign_ns}"),
            1,
        ),
    ];
    for (i, placed) in placements.iter().enumerate() {
        assert_ne!(placed, &doc, "placement {i} did not apply");
        for shape in SHAPES {
            let signed = sign(placed, &r, shape);
            assert_eq!(
                check(&signed).unwrap_err(),
                Error::MissingAuthnStatement,
                "placement {i}, {shape:?}"
            );
        }
    }
}

#[test]
fn authn_statement_added_after_signing_is_refused_as_tampering() {
    // Adding the missing statement to a signed attribute-only assertion breaks its digest.
    let r = Resp::default();
    let (doc, statement) = without_authn(&r);
    for shape in SHAPES {
        let signed = sign(&doc, &r, shape);
        let attack = signed.replacen(
            "<saml:AttributeStatement>",
            &format!("{statement}<saml:AttributeStatement>"),
            1,
        );
        assert_eq!(
            check(&attack).unwrap_err(),
            Error::BadSignature("digest mismatch: the signed element was modified"),
            "{shape:?}"
        );
    }
}

#[test]
fn a_direct_authn_statement_is_read_from_the_verified_assertion() {
    let v = check(&Resp::default().signed()).unwrap();
    assert_eq!(v.session_index.as_deref(), Some("_sess_9"));
    assert_eq!(v.authn_instant, Some(at("2026-01-01T11:59:00Z")));
}
