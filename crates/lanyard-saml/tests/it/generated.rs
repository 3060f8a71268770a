//! Negative suite on responses signed in the test itself (see `common`): each case starts from
//! a validly signed response, changes one thing, and asserts the specific error code.
//! The victim identity is `admin@acme.example`; the genuine user is `alice@acme.example`.

use std::time::Duration;

use lanyard_saml::keys::TrustedKeys;
use lanyard_saml::xml::Limits;
use lanyard_saml::{Error, verify_response};

use crate::common::*;

const VICTIM: &str = "admin@acme.example";

pub(crate) fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert!(s.contains(from), "{from:?} not found");
    s.replacen(from, to, 1)
}

/// The `<saml:Assertion …>…</saml:Assertion>` text in `doc` (the first, outermost one).
pub(crate) fn assertion_of(doc: &str) -> String {
    let start = doc.find("<saml:Assertion ").unwrap();
    let end = doc.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    doc[start..end].to_string()
}

pub(crate) fn response_only_opts() -> lanyard_saml::Options<'static> {
    let mut o = opts();
    o.require_signed_assertions = false;
    o
}

pub(crate) fn evil_resp() -> Resp {
    Resp {
        name_id: VICTIM.into(),
        assertion_id: "_evilA".into(),
        ..Resp::default()
    }
}

// ----- the good cases ---------------------------------------------------------------------------

#[test]
fn both_signed_verifies_and_reads_claims() {
    let v = check(&Resp::default().signed()).unwrap();
    assert_eq!(v.name_id.value, "alice@acme.example");
    assert_eq!(
        v.name_id.format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(v.issuer, IDP);
    assert_eq!(v.attribute_values("mail"), ["alice@acme.example"]);
    assert_eq!(
        v.attribute_values("urn:oid:0.9.2342.19200300.100.1.3"),
        ["alice@acme.example"]
    );
    assert_eq!(v.attribute_values("groups"), ["admins", "dev & ops"]);
    assert_eq!(v.session_index.as_deref(), Some("_sess_9"));
    assert_eq!(v.session_not_on_or_after, Some(at("2026-01-01T20:00:00Z")));
    assert_eq!(
        v.authn_context_class_ref.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    );
    assert_eq!(v.assertion_id, "_assert_1");
    assert_eq!(v.replay_expires_at, at("2026-01-01T12:06:30Z"));
    assert_eq!(v.in_response_to.as_deref(), Some(REQ));
    assert!(v.assertion_signed && v.response_signed);
    assert_eq!(
        v.signing_certificate_sha256,
        idp_with(&["idp"]).keys.keys()[0].fingerprint_hex()
    );
}

#[test]
fn assertion_only_signed_verifies() {
    let key = TestKey::load("idp");
    let doc = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let v = check(&doc).unwrap();
    assert!(v.assertion_signed && !v.response_signed);
}

#[test]
fn response_only_signed_is_accepted_by_default() {
    // OneLogin, PingFederate and Auth0 can sign only the Response; its verified signature
    // covers the Assertion, and claims are read from that covered Assertion.
    let key = TestKey::load("idp");
    let doc = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let v = check(&doc).unwrap();
    assert!(!v.assertion_signed && v.response_signed);
    assert_eq!(v.name_id.value, "alice@acme.example");
    assert_eq!(v.in_response_to.as_deref(), Some(REQ));
    // The ECDSA key as well.
    let ec = TestKey::load("ec");
    let doc = Resp::default().signed_with(false, true, &SignSpec::new(&ec));
    let v = verify_response(doc.as_bytes(), &sp(), &idp_with(&["ec"]), &opts()).unwrap();
    assert!(!v.assertion_signed && v.response_signed);
}

#[test]
fn response_only_signed_is_refused_when_signed_assertions_are_required() {
    let key = TestKey::load("idp");
    let doc = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let mut strict = opts();
    strict.require_signed_assertions = true;
    assert_eq!(
        check_with(&doc, &strict).unwrap_err(),
        Error::UnsignedAssertion {
            response_signed: true
        }
    );
    assert_eq!(code(check_with(&doc, &strict)), "saml.unsigned_assertion");
    // Both signed, or the Assertion alone: fine under the strict setting.
    check_with(&Resp::default().signed(), &strict).unwrap();
    check_with(
        &Resp::default().signed_with(true, false, &SignSpec::new(&key)),
        &strict,
    )
    .unwrap();
}

#[test]
fn ecdsa_p256_signatures_verify() {
    let key = TestKey::load("ec");
    let doc = Resp::default().signed_with(true, true, &SignSpec::new(&key));
    let r = verify_response(doc.as_bytes(), &sp(), &idp_with(&["ec"]), &opts()).unwrap();
    assert_eq!(r.name_id.value, "alice@acme.example");
    // The RSA IdP key does not verify an ECDSA signature.
    assert_eq!(code(check(&doc)), "saml.bad_certificate");
}

#[test]
fn key_rollover_any_configured_certificate() {
    let doc = Resp::default().signed();
    let v = verify_response(doc.as_bytes(), &sp(), &idp_with(&["ec", "idp"]), &opts()).unwrap();
    assert_eq!(
        v.signing_certificate_sha256,
        idp_with(&["idp"]).keys.keys()[0].fingerprint_hex()
    );
}

#[test]
fn keyinfo_is_optional() {
    let key = TestKey::load("idp");
    let spec = SignSpec {
        key_info_cert: None,
        ..SignSpec::new(&key)
    };
    check(&Resp::default().signed_with(true, true, &spec)).unwrap();
}

// ----- XML signature wrapping ---------------------------------------------------------------------

#[test]
fn xsw1_signed_response_copied_into_its_own_signature() {
    let key = TestKey::load("idp");
    let original = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let evil = replace_once(&original, r#"ID="_resp_1""#, r#"ID="_evil""#);
    let evil = replace_once(&evil, r#"ID="_assert_1""#, r#"ID="_evilA""#)
        .replace("alice@acme.example", VICTIM);
    let attack = replace_once(
        &evil,
        "</ds:Signature>",
        &format!("{original}</ds:Signature>"),
    );
    assert_eq!(
        code(check_with(&attack, &response_only_opts())),
        "saml.multiple_assertions"
    );
}

#[test]
fn xsw2_signed_response_copied_before_the_signature() {
    let key = TestKey::load("idp");
    let original = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let evil = replace_once(&original, r#"ID="_resp_1""#, r#"ID="_evil""#);
    let evil = replace_once(&evil, r#"ID="_assert_1""#, r#"ID="_evilA""#)
        .replace("alice@acme.example", VICTIM);
    let attack = replace_once(
        &evil,
        "<ds:Signature ",
        &format!("{original}<ds:Signature "),
    );
    assert_eq!(
        code(check_with(&attack, &response_only_opts())),
        "saml.multiple_assertions"
    );
}

#[test]
fn xsw3_evil_assertion_before_the_signed_one() {
    let signed = Resp::default().signed();
    let evil = evil_resp().assertion_xml();
    let attack = replace_once(
        &signed,
        "<saml:Assertion ",
        &format!("{evil}<saml:Assertion "),
    );
    assert_eq!(check(&attack).unwrap_err(), Error::MultipleAssertions(2));
}

#[test]
fn xsw3b_evil_assertion_after_the_signed_one() {
    let signed = Resp::default().signed();
    let evil = evil_resp().assertion_xml();
    let attack = replace_once(
        &signed,
        "</samlp:Response>",
        &format!("{evil}</samlp:Response>"),
    );
    assert_eq!(check(&attack).unwrap_err(), Error::MultipleAssertions(2));
}

#[test]
fn xsw4_evil_assertion_wraps_the_signed_one() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let original = assertion_of(&signed);
    let wrapper = Resp {
        assertion_extra: original.clone(),
        ..evil_resp()
    }
    .assertion_xml();
    let attack = replace_once(&signed, &original, &wrapper);
    assert_eq!(code(check(&attack)), "saml.multiple_assertions");
}

#[test]
fn xsw5_edited_assertion_plus_clean_copy_appended() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let original = assertion_of(&signed);
    // Same ID kept: duplicate IDs.
    let edited = original.replace("alice@acme.example", VICTIM);
    let attack = replace_once(&signed, &original, &format!("{edited}{original}"));
    assert_eq!(code(check(&attack)), "saml.duplicate_id");
    // ID changed so the copy is the only "#_assert_1": two assertions.
    let edited = replace_once(&edited, r#"ID="_assert_1""#, r#"ID="_evilA""#);
    let attack = replace_once(&signed, &original, &format!("{edited}{original}"));
    assert_eq!(code(check(&attack)), "saml.multiple_assertions");
}

#[test]
fn xsw6_clean_copy_inside_the_signature() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let original = assertion_of(&signed);
    let edited = replace_once(
        &original.replace("alice@acme.example", VICTIM),
        r#"ID="_assert_1""#,
        r#"ID="_evilA""#,
    );
    let edited = replace_once(
        &edited,
        "</ds:Signature>",
        &format!("{original}</ds:Signature>"),
    );
    let attack = replace_once(&signed, &original, &edited);
    assert_eq!(code(check(&attack)), "saml.multiple_assertions");
}

#[test]
fn xsw7_signed_assertion_hidden_in_extensions() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let original = assertion_of(&signed);
    let evil = evil_resp().assertion_xml();
    let attack = replace_once(
        &signed,
        &original,
        &format!("<samlp:Extensions>{original}</samlp:Extensions>{evil}"),
    );
    assert_eq!(code(check(&attack)), "saml.multiple_assertions");
}

#[test]
fn xsw8_clean_copy_inside_ds_object() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let original = assertion_of(&signed);
    let edited = replace_once(
        &original.replace("alice@acme.example", VICTIM),
        r#"ID="_assert_1""#,
        r#"ID="_evilA""#,
    );
    let edited = replace_once(
        &edited,
        "</ds:Signature>",
        &format!("<ds:Object>{original}</ds:Object></ds:Signature>"),
    );
    let attack = replace_once(&signed, &original, &edited);
    assert_eq!(code(check(&attack)), "saml.multiple_assertions");
}

#[test]
fn signature_moved_to_another_element_reference_mismatch() {
    // No copies at all: the edited assertion keeps the signature made for "#_assert_1".
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let attack = replace_once(&signed, r#"ID="_assert_1""#, r#"ID="_evilA""#)
        .replace("alice@acme.example", VICTIM);
    assert_eq!(code(check(&attack)), "saml.bad_reference");
}

#[test]
fn signed_assertion_edited_in_place() {
    let signed = Resp::default().signed();
    let attack = signed.replace(
        ">alice@acme.example</saml:NameID>",
        &format!(">{VICTIM}</saml:NameID>"),
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("digest mismatch: the signed element was modified")
    );
}

#[test]
fn signature_wrapped_in_extensions_is_refused() {
    let key = TestKey::load("idp");
    let signed = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let start = signed.find("<ds:Signature ").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &signed[start..end];
    let attack = signed.replacen(sig, "", 1).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{sig}</samlp:Extensions><samlp:Status>"),
        1,
    );
    assert_eq!(
        check_with(&attack, &response_only_opts()).unwrap_err(),
        Error::BadSignature("a Signature appears outside the Response and its Assertion")
    );
}

#[test]
fn advice_assertion_is_never_read() {
    let inner = Resp {
        assertion_id: "_advice_1".into(),
        name_id: VICTIM.into(),
        ..Resp::default()
    }
    .assertion_xml();
    let r = Resp {
        assertion_extra: format!("<saml:Advice>{inner}</saml:Advice>"),
        ..Resp::default()
    };
    let v = check(&r.signed()).unwrap();
    assert_eq!(v.name_id.value, "alice@acme.example");
    assert_eq!(v.assertion_id, "_assert_1");
}

// ----- signature exclusion and structure ----------------------------------------------------------

#[test]
fn both_signatures_stripped() {
    assert_eq!(
        check(&Resp::default().unsigned()).unwrap_err(),
        Error::UnsignedAssertion {
            response_signed: false
        }
    );
    assert_eq!(
        check_with(&Resp::default().unsigned(), &response_only_opts())
            .unwrap_err()
            .code(),
        "saml.unsigned_assertion"
    );
}

#[test]
fn empty_signature_value() {
    let signed = Resp::default().signed();
    let start = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let end = signed[start..].find("</ds:SignatureValue>").unwrap() + start;
    let attack = format!("{}{}", &signed[..start], &signed[end..]);
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("empty SignatureValue")
    );
}

#[test]
fn duplicate_ids() {
    let signed = Resp::default().signed();
    let attack = replace_once(
        &signed,
        "<samlp:Status>",
        r#"<samlp:Extensions><x ID="_assert_1"/></samlp:Extensions><samlp:Status>"#,
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::DuplicateId("_assert_1".into())
    );
    // Also across ID attribute spellings.
    let attack = replace_once(
        &signed,
        "<samlp:Status>",
        r#"<samlp:Extensions><x Id="_resp_1"/></samlp:Extensions><samlp:Status>"#,
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::DuplicateId("_resp_1".into())
    );
}

#[test]
fn two_references() {
    let signed = Resp::default().signed();
    let start = signed.find("<ds:Reference ").unwrap();
    let end = signed.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = signed[start..end].to_string();
    let attack = replace_once(&signed, &reference, &format!("{reference}{reference}"));
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadReference("more than one Reference in SignedInfo")
    );
}

#[test]
fn two_signed_infos() {
    let signed = Resp::default().signed();
    let start = signed.find("<ds:SignedInfo ").unwrap();
    let end = signed.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let si = signed[start..end].to_string();
    let attack = replace_once(&signed, &si, &format!("{si}{si}"));
    assert_eq!(code(check(&attack)), "saml.bad_signature");
}

#[test]
fn two_signatures_on_one_element() {
    let key = TestKey::load("idp");
    let once = Resp::default().signed_with(true, false, &SignSpec::new(&key));
    let twice = sign_element(&once, "_assert_1", &SignSpec::new(&key));
    assert_eq!(
        check(&twice).unwrap_err(),
        Error::BadSignature("more than one Signature on one element")
    );
}

#[test]
fn reference_uri_empty_or_foreign() {
    let signed = Resp::default().signed();
    let attack = replace_once(&signed, r##"URI="#_assert_1""##, r#"URI="""#);
    assert_eq!(code(check(&attack)), "saml.bad_reference");
    let attack = replace_once(&signed, r##"URI="#_assert_1""##, r##"URI="#_resp_1""##);
    assert_eq!(code(check(&attack)), "saml.bad_reference");
    let attack = replace_once(&signed, r##"URI="#_assert_1""##, r##"URI="#nowhere""##);
    assert_eq!(code(check(&attack)), "saml.bad_reference");
}

#[test]
fn xslt_transform_is_refused_unexecuted() {
    let signed = Resp::default().signed();
    let xslt = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:value-of select="document('http://127.0.0.1:9/x')"/></xsl:template></xsl:stylesheet></ds:Transform>"#;
    let attack = replace_once(
        &signed,
        "</ds:Transforms>",
        &format!("{xslt}</ds:Transforms>"),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadTransform("http://www.w3.org/TR/1999/REC-xslt-19991116".into())
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>"#;
    let attack = replace_once(
        &signed,
        "</ds:Transforms>",
        &format!("{xpath}</ds:Transforms>"),
    );
    assert_eq!(code(check(&attack)), "saml.bad_transform");
}

#[test]
fn with_comments_variants_are_refused() {
    let signed = Resp::default().signed();
    let attack = replace_once(
        &signed,
        &format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC}">"#),
        &format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC}WithComments">"#),
    );
    assert_eq!(code(check(&attack)), "saml.bad_transform");
    let attack = replace_once(
        &signed,
        &format!(r#"<ds:Transform Algorithm="{EXC}">"#),
        &format!(r#"<ds:Transform Algorithm="{EXC}WithComments">"#),
    );
    assert_eq!(code(check(&attack)), "saml.bad_transform");
    let inclusive = replace_once(
        &signed,
        &format!(r#"<ds:Transform Algorithm="{EXC}">"#),
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315">"#,
    );
    assert_eq!(code(check(&inclusive)), "saml.bad_transform");
}

#[test]
fn signature_object_refused() {
    let signed = Resp::default().signed();
    let attack = replace_once(
        &signed,
        "</ds:Signature>",
        "<ds:Object>x</ds:Object></ds:Signature>",
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("ds:Object is not supported")
    );
}

#[test]
fn hmac_with_the_public_key_is_refused() {
    let signed = Resp::default().signed();
    let attack = signed.replace(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1");
    assert_eq!(code(check(&attack)), "saml.bad_signature_algorithm");
}

// ----- parser attacks -----------------------------------------------------------------------------

#[test]
fn doctype_entities_and_billion_laughs() {
    let signed = Resp::default().signed();
    for prolog in [
        "<!DOCTYPE samlp:Response>",
        r#"<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>"#,
        r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>"#,
        // CVE-2025-25291 shape: a DOCTYPE whose SYSTEM literal opens a comment.
        r#"<!DOCTYPE x [<!ENTITY x SYSTEM 'x"><!--'>]>"#,
    ] {
        let attack = format!("<?xml version=\"1.0\"?>{prolog}{signed}");
        assert_eq!(check(&attack).unwrap_err(), Error::DtdForbidden, "{prolog}");
    }
    // Even hidden in a comment.
    let attack = replace_once(
        &signed,
        "<samlp:Status>",
        "<!-- <!DOCTYPE x> --><samlp:Status>",
    );
    assert_eq!(check(&attack).unwrap_err(), Error::DtdForbidden);
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let signed = Resp::default().signed();
    let mut o = opts();
    o.limits = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    assert_eq!(code(check_with(&signed, &o)), "saml.too_large");
    let big = format!("{signed}{}", " ".repeat(300 * 1024));
    assert_eq!(code(check(&big)), "saml.too_large");
}

#[test]
fn comment_injection_reads_the_full_name_id() {
    // Re-signed by the IdP with a comment in the NameID: the digest ignores the comment, and the
    // verifier must read the whole text, not the part before the comment.
    let r = Resp {
        name_id: "admin@acme.example<!---->.evil.test".into(),
        ..Resp::default()
    };
    let v = check(&r.signed()).unwrap();
    assert_eq!(v.name_id.value, "admin@acme.example.evil.test");
    // And with a comment added after signing (comments are not digested): same full string.
    let signed = Resp::default().signed();
    let attack = replace_once(
        &signed,
        "alice@acme.example</saml:NameID>",
        "alice@acme<!-- x -->.example</saml:NameID>",
    );
    assert_eq!(check(&attack).unwrap().name_id.value, "alice@acme.example");
}

#[test]
fn comment_inside_digest_value() {
    let signed = Resp::default().signed();
    let start = signed.find("<ds:DigestValue>").unwrap() + "<ds:DigestValue>".len();
    let attack = format!("{}<!-- x -->{}", &signed[..start + 4], &signed[start + 4..]);
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("comment or processing instruction inside the signature")
    );
}

// ----- keys ---------------------------------------------------------------------------------------

#[test]
fn attacker_key_with_its_own_certificate() {
    let key = TestKey::load("attacker");
    let doc = evil_resp().signed_with(true, true, &SignSpec::new(&key));
    assert_eq!(code(check(&doc)), "saml.bad_certificate");
}

#[test]
fn attacker_key_with_a_cloned_certificate() {
    let key = TestKey::load("attacker");
    let clone = pem_der("keys/clone.crt");
    let spec = SignSpec {
        key_info_cert: Some(&clone),
        ..SignSpec::new(&key)
    };
    let doc = evil_resp().signed_with(true, true, &spec);
    assert_eq!(code(check(&doc)), "saml.bad_certificate");
}

#[test]
fn attacker_key_with_the_real_idp_certificate() {
    let key = TestKey::load("attacker");
    let real = pem_der("keys/idp.crt");
    let spec = SignSpec {
        key_info_cert: Some(&real),
        ..SignSpec::new(&key)
    };
    let doc = evil_resp().signed_with(true, true, &spec);
    assert_eq!(
        check(&doc).unwrap_err(),
        Error::BadSignature("SignatureValue does not verify with any configured certificate")
    );
    let spec = SignSpec {
        key_info_cert: None,
        ..SignSpec::new(&key)
    };
    assert_eq!(
        code(check(&evil_resp().signed_with(true, true, &spec))),
        "saml.bad_signature"
    );
}

#[test]
fn weak_rsa_1024_key_refused_at_import() {
    let err = TrustedKeys::from_pem(&read_str("keys/weak.crt")).unwrap_err();
    assert_eq!(err.code(), "saml.weak_key");
    assert_eq!(
        err,
        Error::WeakKey("RSA key of 1024 bits (at least 2048 required)".into())
    );
    // One weak certificate among good ones spoils the import (the admin must remove it).
    let text = format!("{}{}", read_str("keys/idp.crt"), read_str("keys/weak.crt"));
    assert_eq!(
        TrustedKeys::from_pem(&text).unwrap_err().code(),
        "saml.weak_key"
    );
    assert_eq!(
        TrustedKeys::from_pem(&format!(
            "{}{}",
            read_str("keys/idp.crt"),
            read_str("keys/ec.crt")
        ))
        .unwrap()
        .keys()
        .len(),
        2
    );
}

#[test]
fn sha1_refused_by_default() {
    let signed = Resp::default().signed();
    let attack = signed.replace(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_eq!(code(check(&attack)), "saml.bad_signature_algorithm");
    let attack = signed.replace(SHA256, "http://www.w3.org/2000/09/xmldsig#sha1");
    assert_eq!(code(check(&attack)), "saml.bad_digest_algorithm");
    // With the opt-in the algorithm passes the allow-list (and this forged value then fails).
    let mut o = opts();
    o.allow_sha1 = true;
    let attack = signed.replace(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_eq!(code(check_with(&attack, &o)), "saml.bad_signature");
}

// ----- every signature must verify ----------------------------------------------------------------

#[test]
fn broken_response_signature_with_good_assertion_signature() {
    let signed = Resp::default().signed();
    // Destination is covered only by the Response signature.
    let attack = replace_once(
        &signed,
        &format!(r#"Destination="{ACS}""#),
        &format!(r#"Destination="{ACS}" Consent="x""#),
    );
    assert_eq!(
        check(&attack).unwrap_err(),
        Error::BadSignature("digest mismatch: the signed element was modified")
    );
}

#[test]
fn response_signature_covers_an_unsigned_assertion() {
    let key = TestKey::load("idp");
    let doc = Resp::default().signed_with(false, true, &SignSpec::new(&key));
    let attack = doc.replace(
        ">alice@acme.example</saml:NameID>",
        &format!(">{VICTIM}</saml:NameID>"),
    );
    assert_eq!(
        code(check_with(&attack, &response_only_opts())),
        "saml.bad_signature"
    );
}
