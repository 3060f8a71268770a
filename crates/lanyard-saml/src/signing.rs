//! Signing what the SP sends: AuthnRequests, for IdPs that require signed requests.
//!
//! - HTTP-Redirect binding (SAML bindings §3.4.4.1): no XML signature; the signature covers the
//!   octets `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as they appear URL-encoded in the query.
//! - HTTP-POST binding: an enveloped XML signature inside the AuthnRequest, right after its
//!   Issuer — the same closed profile our verifier accepts (exc-c14n, one Reference to `#ID`,
//!   enveloped-signature + exc-c14n transforms, rsa-sha256, sha256 digest), canonicalized by our
//!   own [`crate::c14n`].
//!
//! Keys are RSA (2048 bits or more): every IdP that checks request signatures accepts
//! rsa-sha256. The key is the SP's, supplied by the caller; nothing here generates keys.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;

use crate::authn_request::{AuthnRequest, url_encode};
use crate::c14n;
use crate::error::{Error, Result};
use crate::keys::MIN_RSA_BITS;
use crate::xml::{self, Limits, NS_DSIG, NS_EXC_C14N};

/// `SigAlg` / `SignatureMethod` for rsa-sha256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SIGNATURE_VALUE_PLACEHOLDER: &str = "<ds:SignatureValue></ds:SignatureValue>";

/// The SP's request-signing key (RSA, PKCS#8), with the certificate the IdP knows it by.
pub struct SigningKey {
    pair: RsaKeyPair,
    /// DER of the SP certificate, sent in KeyInfo so IdPs that pick keys by certificate can.
    certificate_der: Option<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Loads an RSA private key in PKCS#8 DER; refuses keys under 2048 bits.
    pub fn from_pkcs8_der(der: &[u8], certificate_der: Option<Vec<u8>>) -> Result<Self> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| {
            Error::InvalidArgument("the SP signing key must be an RSA private key in PKCS#8")
        })?;
        let bits = pair.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(Error::WeakKey(format!(
                "the SP signing key has {bits} bits; at least {MIN_RSA_BITS} are required"
            )));
        }
        Ok(Self {
            pair,
            certificate_der,
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| Error::InvalidArgument("the SP signing key could not sign"))?;
        Ok(sig)
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl AuthnRequest<'_> {
    /// HTTP-Redirect binding with a query-string signature (`SigAlg` + `Signature`).
    pub fn signed_redirect_url(
        &self,
        relay_state: Option<&str>,
        key: &SigningKey,
    ) -> Result<String> {
        let unsigned = self.redirect_url(relay_state)?;
        // Everything after the destination's own query is ours: SAMLRequest=…[&RelayState=…].
        let start = unsigned
            .find("SAMLRequest=")
            .ok_or(Error::InvalidArgument("redirect URL without SAMLRequest"))?;
        let (prefix, ours) = unsigned.split_at(start);
        let signed_part = format!("{ours}&SigAlg={}", url_encode(RSA_SHA256));
        let signature = key.sign(signed_part.as_bytes())?;
        Ok(format!(
            "{prefix}{signed_part}&Signature={}",
            url_encode(&b64(&signature))
        ))
    }

    /// HTTP-POST binding with an enveloped XML signature: the base64 `SAMLRequest` form value.
    pub fn signed_post_form_value(&self, key: &SigningKey) -> Result<String> {
        Ok(b64(self.signed_xml(key)?.as_bytes()))
    }

    /// The AuthnRequest with an enveloped signature after its Issuer.
    pub fn signed_xml(&self, key: &SigningKey) -> Result<String> {
        sign_enveloped(&self.to_xml()?, self.id, key, Digest::Sha256)
    }
}

/// The DigestMethod of an enveloped signature. SHA-1 exists only so that test tooling can show
/// what a verifier answers to it (ours refuses it unless a connection allows SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha1,
}

impl Digest {
    fn uri(self) -> &'static str {
        match self {
            Digest::Sha256 => SHA256,
            Digest::Sha1 => SHA1,
        }
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Digest::Sha256 => &digest::SHA256,
            Digest::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        }
    }
}

/// Inserts an enveloped signature (exc-c14n, rsa-sha256, one Reference to `#id`) into the
/// element of `xml_text` whose `ID` is `id`, right after that element's `Issuer` (schema order).
/// The profile is the one [`crate::dsig`] verifies: used for signed AuthnRequests and by the
/// built-in test identity provider to sign Responses and Assertions.
pub fn sign_enveloped(
    xml_text: &str,
    id: &str,
    key: &SigningKey,
    digest_alg: Digest,
) -> Result<String> {
    let limits = Limits::default();
    // Digest: the canonical element, which is the signed element minus its Signature.
    let (digest_value, issuer_end) = {
        let doc = xml::parse(xml_text.as_bytes(), &limits)?;
        let el = doc
            .descendants()
            .find(|n| n.is_element() && n.attribute("ID") == Some(id))
            .ok_or(Error::InvalidArgument("no element with the ID to sign"))?;
        let canonical = c14n::canonicalize(el, &c14n::Options::default());
        let issuer = el
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "Issuer")
            .ok_or(Error::InvalidArgument("the element to sign has no Issuer"))?;
        (
            b64(digest::digest(digest_alg.algorithm(), &canonical).as_ref()),
            issuer.range().end,
        )
    };
    let key_info = key
        .certificate_der
        .as_ref()
        .map(|der| format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>", b64(der)))
        .unwrap_or_default();
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{NS_DSIG}\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{NS_EXC_C14N}\"/><ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"/><ds:Reference URI=\"#{id}\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/><ds:Transform Algorithm=\"{NS_EXC_C14N}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{}\"/><ds:DigestValue>{digest_value}</ds:DigestValue></ds:Reference></ds:SignedInfo>{SIGNATURE_VALUE_PLACEHOLDER}{key_info}</ds:Signature>",
        digest_alg.uri()
    );
    let head = xml_text
        .get(..issuer_end)
        .ok_or(Error::InvalidArgument("Issuer end outside the document"))?;
    let tail = xml_text
        .get(issuer_end..)
        .ok_or(Error::InvalidArgument("Issuer end outside the document"))?;
    let with_placeholder = format!("{head}{signature}{tail}");
    // SignatureValue: over the canonical SignedInfo, in the document's namespace context.
    let signature_value = {
        let doc = xml::parse(with_placeholder.as_bytes(), &limits)?;
        let signed_info = doc
            .descendants()
            .find(|n| {
                xml::is(*n, NS_DSIG, "SignedInfo")
                    && n.descendants().any(|r| {
                        xml::is(r, NS_DSIG, "Reference")
                            && r.attribute("URI") == Some(&format!("#{id}"))
                    })
            })
            .ok_or(Error::Missing("SignedInfo"))?;
        let canonical = c14n::canonicalize(signed_info, &c14n::Options::default());
        b64(&key.sign(&canonical)?)
    };
    Ok(with_placeholder.replacen(
        SIGNATURE_VALUE_PLACEHOLDER,
        &format!("<ds:SignatureValue>{signature_value}</ds:SignatureValue>"),
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsig::{self, Policy};
    use crate::keys::{SignatureAlgorithm, TrustedKeys};
    use crate::time;

    const KEY_PEM: &str = include_str!("../tests/fixtures/keys/idp.pk8.pem");
    const CERT_PEM: &str = include_str!("../tests/fixtures/keys/idp.crt");

    fn pem_body(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn key() -> SigningKey {
        SigningKey::from_pkcs8_der(&pem_body(KEY_PEM), Some(pem_body(CERT_PEM))).unwrap()
    }

    fn req() -> AuthnRequest<'static> {
        AuthnRequest {
            id: "_lanyard_signed_1",
            issue_instant: time::from_millis(1_714_077_115_494),
            destination: "https://idp.example/sso",
            sp_entity_id: "https://sso.example/t/a/saml/c/metadata",
            acs_url: "https://sso.example/t/a/saml/c/acs",
            name_id_format: Some(crate::metadata::NAMEID_EMAIL),
            force_authn: false,
        }
    }

    #[test]
    fn post_binding_signature_verifies_with_our_own_verifier() {
        let xml_text = req().signed_xml(&key()).unwrap();
        let doc = xml::parse(xml_text.as_bytes(), &Limits::default()).unwrap();
        let root = doc.root_element();
        // Schema order: Issuer, Signature, NameIDPolicy.
        let names: Vec<_> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(names, ["Issuer", "Signature", "NameIDPolicy"]);
        let sig = dsig::find_signature(root).unwrap().unwrap();
        let parsed = dsig::parse_signature(root, sig, Policy { allow_sha1: false }).unwrap();
        parsed
            .verify(&TrustedKeys::from_pem(CERT_PEM).unwrap())
            .unwrap();
        // Any change to the request breaks it.
        let tampered = xml_text.replace(
            "https://sso.example/t/a/saml/c/acs",
            "https://evil.test/acs",
        );
        let doc = xml::parse(tampered.as_bytes(), &Limits::default()).unwrap();
        let root = doc.root_element();
        let sig = dsig::find_signature(root).unwrap().unwrap();
        let err = dsig::parse_signature(root, sig, Policy { allow_sha1: false })
            .unwrap()
            .verify(&TrustedKeys::from_pem(CERT_PEM).unwrap())
            .unwrap_err();
        assert_eq!(err.code(), "saml.bad_signature");
        let form = req().signed_post_form_value(&key()).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(form)
                .unwrap(),
            xml_text.as_bytes()
        );
    }

    fn param<'a>(url: &'a str, name: &str) -> &'a str {
        url.split_once('?')
            .unwrap()
            .1
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap()
    }

    fn url_decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn redirect_binding_signature_covers_request_relay_state_and_alg() {
        let url = req()
            .signed_redirect_url(Some("relay-key"), &key())
            .unwrap();
        let query = url.split_once('?').unwrap().1;
        let signed = query.split("&Signature=").next().unwrap();
        assert!(
            signed.starts_with("SAMLRequest=") && signed.contains("&RelayState=relay-key&SigAlg="),
            "{signed}"
        );
        assert_eq!(url_decode(param(&url, "SigAlg")), RSA_SHA256.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD
            .decode(url_decode(param(&url, "Signature")))
            .unwrap();
        let keys = TrustedKeys::from_pem(CERT_PEM).unwrap();
        assert!(
            keys.verify(SignatureAlgorithm::RsaSha256, signed.as_bytes(), &sig)
                .is_some()
        );
        let other = signed.replace("relay-key", "relay-kez");
        assert!(
            keys.verify(SignatureAlgorithm::RsaSha256, other.as_bytes(), &sig)
                .is_none()
        );
        // Without RelayState the signed octets are SAMLRequest and SigAlg only.
        let url = req().signed_redirect_url(None, &key()).unwrap();
        assert!(!url.contains("RelayState"));
        let signed = url
            .split_once('?')
            .unwrap()
            .1
            .split("&Signature=")
            .next()
            .unwrap()
            .to_owned();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(url_decode(param(&url, "Signature")))
            .unwrap();
        assert!(
            keys.verify(SignatureAlgorithm::RsaSha256, signed.as_bytes(), &sig)
                .is_some()
        );
    }

    /// The test IdP signs Responses and Assertions with this: both verify with our verifier; a
    /// SHA-1 digest (a downgrade) is refused unless the policy allows SHA-1, and a tampered
    /// element fails.
    #[test]
    fn sign_enveloped_signs_nested_elements_and_sha1_needs_the_legacy_policy() {
        let assertion = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"><saml:Issuer>https://idp.example/</saml:Issuer><saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion>"#;
        let check = |xml_text: &str, id: &str, allow_sha1: bool| {
            let doc = xml::parse(xml_text.as_bytes(), &Limits::default()).unwrap();
            let el = doc
                .descendants()
                .find(|n| n.attribute("ID") == Some(id))
                .unwrap();
            let sig = dsig::find_signature(el).unwrap().unwrap();
            dsig::parse_signature(el, sig, Policy { allow_sha1 }).and_then(|p| {
                p.verify(&TrustedKeys::from_pem(CERT_PEM).unwrap())
                    .map(|_| ())
            })
        };
        let signed = sign_enveloped(assertion, "_a1", &key(), Digest::Sha256).unwrap();
        check(&signed, "_a1", false).unwrap();
        // The signed assertion inside a Response that is signed too: both signatures hold.
        let response = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Issuer>https://idp.example/</saml:Issuer>{signed}</samlp:Response>"#
        );
        let both = sign_enveloped(&response, "_r1", &key(), Digest::Sha256).unwrap();
        check(&both, "_r1", false).unwrap();
        check(&both, "_a1", false).unwrap();
        let tampered = both.replace("alice@example.com", "mallory@example.com");
        assert_eq!(
            check(&tampered, "_a1", false).unwrap_err().code(),
            "saml.bad_signature"
        );
        let sha1 = sign_enveloped(assertion, "_a1", &key(), Digest::Sha1).unwrap();
        assert_eq!(
            check(&sha1, "_a1", false).unwrap_err().code(),
            "saml.bad_digest_algorithm"
        );
        check(&sha1, "_a1", true).unwrap();
        assert_eq!(
            sign_enveloped(assertion, "_missing", &key(), Digest::Sha256)
                .unwrap_err()
                .code(),
            "saml.invalid_argument"
        );
    }

    #[test]
    fn refuses_non_rsa_and_garbage_keys() {
        assert_eq!(
            SigningKey::from_pkcs8_der(b"garbage", None)
                .unwrap_err()
                .code(),
            "saml.invalid_argument"
        );
        let ec = pem_body(include_str!("../tests/fixtures/keys/ec.pk8.pem"));
        assert_eq!(
            SigningKey::from_pkcs8_der(&ec, None).unwrap_err().code(),
            "saml.invalid_argument"
        );
    }
}
