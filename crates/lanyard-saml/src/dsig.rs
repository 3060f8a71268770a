//! XML-DSig verification, closed profile.
//!
//! Accepted shape, and nothing else:
//!
//! ```text
//! <E ID="x">                                  the signed element
//!   <ds:Signature>                            exactly one, a direct child of E
//!     <ds:SignedInfo>
//!       <ds:CanonicalizationMethod Algorithm="exc-c14n"/>   (optional InclusiveNamespaces)
//!       <ds:SignatureMethod Algorithm="rsa-sha256|384|512 | ecdsa-sha256|384"/>
//!       <ds:Reference URI="#x">               exactly one, pointing at E itself
//!         <ds:Transforms>
//!           <ds:Transform Algorithm="enveloped-signature"/>
//!           <ds:Transform Algorithm="exc-c14n"/>             (optional InclusiveNamespaces)
//!         </ds:Transforms>
//!         <ds:DigestMethod Algorithm="sha256|384|512"/>
//!         <ds:DigestValue>base64</ds:DigestValue>
//!       </ds:Reference>
//!     </ds:SignedInfo>
//!     <ds:SignatureValue>base64</ds:SignatureValue>
//!     <ds:KeyInfo>…</ds:KeyInfo>              optional, never used as a key
//!   </ds:Signature>
//! </E>
//! ```
//!
//! `rsa-sha1` / `sha1` only with [`Policy::allow_sha1`]. Comments and processing instructions
//! anywhere inside the Signature are refused (CVE-2025-29775 class), as is `ds:Object`.
//! The key always comes from [`TrustedKeys`]; a `KeyInfo` certificate is only used to explain a
//! failure ("signed with a certificate that is not configured").

use std::collections::HashSet;

use aws_lc_rs::digest;
use roxmltree::{Document, Node};

use crate::c14n;
use crate::error::{Error, Result};
use crate::keys::{SignatureAlgorithm, TrustedKey, TrustedKeys};
use crate::xml::{self, NS_DSIG, NS_EXC_C14N};

const ALG_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ALG_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Algorithm policy for one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Accept `rsa-sha1` signatures and `sha1` digests (legacy IdPs only; off by default).
    pub allow_sha1: bool,
}

/// Digest algorithms on the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// SHA-1, only with an explicit opt-in.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    fn ring(self) -> &'static digest::Algorithm {
        match self {
            DigestAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlgorithm::Sha256 => &digest::SHA256,
            DigestAlgorithm::Sha384 => &digest::SHA384,
            DigestAlgorithm::Sha512 => &digest::SHA512,
        }
    }
}

fn signature_algorithm(uri: &str, policy: Policy) -> Result<SignatureAlgorithm> {
    Ok(match uri {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => SignatureAlgorithm::RsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => SignatureAlgorithm::RsaSha384,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => SignatureAlgorithm::RsaSha512,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => SignatureAlgorithm::EcdsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => SignatureAlgorithm::EcdsaSha384,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" if policy.allow_sha1 => {
            SignatureAlgorithm::RsaSha1
        }
        other => {
            return Err(Error::BadSignatureAlgorithm(
                other.chars().take(128).collect(),
            ));
        }
    })
}

fn digest_algorithm(uri: &str, policy: Policy) -> Result<DigestAlgorithm> {
    Ok(match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlgorithm::Sha256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlgorithm::Sha384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlgorithm::Sha512,
        "http://www.w3.org/2000/09/xmldsig#sha1" if policy.allow_sha1 => DigestAlgorithm::Sha1,
        other => return Err(Error::BadDigestAlgorithm(other.chars().take(128).collect())),
    })
}

/// A structurally valid enveloped signature over one element, not yet cryptographically checked.
#[derive(Debug)]
pub struct ParsedSignature<'a, 'i> {
    /// The element the signature covers (its parent).
    pub element: Node<'a, 'i>,
    /// The `ds:Signature` element.
    pub signature: Node<'a, 'i>,
    signed_info: Node<'a, 'i>,
    signed_info_prefixes: Vec<String>,
    /// SignatureMethod.
    pub algorithm: SignatureAlgorithm,
    /// DigestMethod.
    pub digest_algorithm: DigestAlgorithm,
    reference_prefixes: Vec<String>,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    /// Decoded only to explain a failure: never used as a key.
    key_info: Option<Node<'a, 'i>>,
}

/// Refuses documents in which two elements carry the same ID (`ID`, `Id`, `id` or `xml:id`).
pub fn check_unique_ids(doc: &Document<'_>) -> Result<()> {
    let mut seen = HashSet::new();
    for node in doc.descendants().filter(Node::is_element) {
        for attr in node.attributes() {
            let is_id = match attr.namespace() {
                None => matches!(attr.name(), "ID" | "Id" | "id"),
                Some(ns) => ns == "http://www.w3.org/XML/1998/namespace" && attr.name() == "id",
            };
            if is_id && !seen.insert(attr.value()) {
                return Err(Error::DuplicateId(attr.value().chars().take(128).collect()));
            }
        }
    }
    Ok(())
}

/// The direct `ds:Signature` child of `element`: `Ok(None)` if unsigned, an error if repeated.
pub fn find_signature<'a, 'i>(element: Node<'a, 'i>) -> Result<Option<Node<'a, 'i>>> {
    let mut it = xml::children(element, NS_DSIG, "Signature");
    let first = it.next();
    if it.next().is_some() {
        return Err(Error::BadSignature(
            "more than one Signature on one element",
        ));
    }
    Ok(first)
}

/// Element children of `node` in the dsig namespace, refusing foreign elements and non-whitespace text.
fn dsig_children<'a, 'i>(node: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>> {
    let mut out = Vec::new();
    for child in node.children() {
        if child.is_element() {
            if child.tag_name().namespace() != Some(NS_DSIG) {
                return Err(Error::BadSignature(
                    "unexpected element inside the signature",
                ));
            }
            out.push(child);
        } else if child.is_text() && !xml::trim_xml(child.text().unwrap_or_default()).is_empty() {
            return Err(Error::BadSignature("unexpected text inside the signature"));
        }
    }
    Ok(out)
}

fn name_is(node: Option<&Node<'_, '_>>, local: &str) -> bool {
    node.is_some_and(|n| n.tag_name().name() == local)
}

/// Parses an `InclusiveNamespaces PrefixList` child of a c14n method, if any; refuses other children.
fn inclusive_prefixes(method: Node<'_, '_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = false;
    for child in method.children().filter(Node::is_element) {
        if seen || !xml::is(child, NS_EXC_C14N, "InclusiveNamespaces") {
            return Err(Error::BadTransform(
                "unexpected parameters on the canonicalization method".into(),
            ));
        }
        seen = true;
        let list = child.attribute("PrefixList").unwrap_or_default();
        out = list
            .split(xml::is_xml_space)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    Ok(out)
}

fn c14n_method(method: Node<'_, '_>) -> Result<Vec<String>> {
    let alg = method.attribute("Algorithm").unwrap_or_default();
    if alg != ALG_EXC_C14N {
        return Err(Error::BadTransform(alg.chars().take(128).collect()));
    }
    inclusive_prefixes(method)
}

fn no_children(node: Node<'_, '_>) -> Result<()> {
    if node.children().any(|c| c.is_element()) {
        return Err(Error::BadSignature(
            "unexpected parameters on an algorithm element",
        ));
    }
    Ok(())
}

/// Checks the closed profile for `signature`, the direct `ds:Signature` child of `element`.
pub fn parse_signature<'a, 'i>(
    element: Node<'a, 'i>,
    signature: Node<'a, 'i>,
    policy: Policy,
) -> Result<ParsedSignature<'a, 'i>> {
    if signature.parent_element() != Some(element) || !xml::is(signature, NS_DSIG, "Signature") {
        return Err(Error::BadSignature(
            "the signature is not enveloped by the signed element",
        ));
    }
    if signature.descendants().any(|n| n.is_comment() || n.is_pi()) {
        return Err(Error::BadSignature(
            "comment or processing instruction inside the signature",
        ));
    }
    let parts = dsig_children(signature)?;
    let mut it = parts.iter();
    let signed_info = *it
        .next()
        .filter(|n| n.tag_name().name() == "SignedInfo")
        .ok_or(Error::BadSignature("SignedInfo missing"))?;
    let sig_value = *it
        .next()
        .filter(|n| n.tag_name().name() == "SignatureValue")
        .ok_or(Error::BadSignature("SignatureValue missing"))?;
    let mut key_info = None;
    for extra in it {
        match extra.tag_name().name() {
            "KeyInfo" if key_info.is_none() => key_info = Some(*extra),
            "Object" => return Err(Error::BadSignature("ds:Object is not supported")),
            _ => {
                return Err(Error::BadSignature(
                    "unexpected element inside the signature",
                ));
            }
        }
    }

    // SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference.
    let si = dsig_children(signed_info)?;
    let (Some(c14n_el), Some(method_el)) = (si.first(), si.get(1)) else {
        return Err(Error::BadSignature("SignedInfo is incomplete"));
    };
    if c14n_el.tag_name().name() != "CanonicalizationMethod"
        || method_el.tag_name().name() != "SignatureMethod"
    {
        return Err(Error::BadSignature("SignedInfo elements out of order"));
    }
    let references: Vec<_> = si.iter().skip(2).collect();
    if references
        .iter()
        .any(|r| r.tag_name().name() != "Reference")
    {
        return Err(Error::BadSignature("unexpected element in SignedInfo"));
    }
    let reference = match references.as_slice() {
        [one] => **one,
        [] => return Err(Error::BadReference("no Reference in SignedInfo")),
        _ => return Err(Error::BadReference("more than one Reference in SignedInfo")),
    };
    let signed_info_prefixes = c14n_method(*c14n_el)?;
    let algorithm =
        signature_algorithm(method_el.attribute("Algorithm").unwrap_or_default(), policy)?;
    no_children(*method_el)?;

    // Reference URI must be "#" + ID of the element containing the Signature.
    let id = element
        .attribute("ID")
        .filter(|v| !v.is_empty())
        .ok_or(Error::BadReference("the signed element has no ID"))?;
    match reference.attribute("URI") {
        Some(uri) if uri.strip_prefix('#') == Some(id) => {}
        Some("") => {
            return Err(Error::BadReference(
                "Reference URI=\"\" (whole document) is not accepted",
            ));
        }
        _ => {
            return Err(Error::BadReference(
                "Reference URI does not point at the enclosing element",
            ));
        }
    }
    let rc = dsig_children(reference)?;
    let [transforms, digest_method, digest_value] = rc.as_slice() else {
        return Err(Error::BadSignature(
            "Reference must hold Transforms, DigestMethod, DigestValue",
        ));
    };
    if !name_is(Some(transforms), "Transforms")
        || !name_is(Some(digest_method), "DigestMethod")
        || !name_is(Some(digest_value), "DigestValue")
    {
        return Err(Error::BadSignature("Reference elements out of order"));
    }
    let tr = dsig_children(*transforms)?;
    if tr.iter().any(|t| t.tag_name().name() != "Transform") {
        return Err(Error::BadSignature("unexpected element in Transforms"));
    }
    let algs: Vec<&str> = tr
        .iter()
        .map(|t| t.attribute("Algorithm").unwrap_or_default())
        .collect();
    let reference_prefixes = match (algs.as_slice(), tr.as_slice()) {
        ([ALG_ENVELOPED, ALG_EXC_C14N], [env, exc]) => {
            no_children(*env)?;
            inclusive_prefixes(*exc)?
        }
        _ => {
            let bad = algs
                .iter()
                .find(|a| **a != ALG_ENVELOPED && **a != ALG_EXC_C14N)
                .copied();
            let shown = bad
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} transforms", algs.len()));
            return Err(Error::BadTransform(shown.chars().take(128).collect()));
        }
    };
    let digest_algorithm = digest_algorithm(
        digest_method.attribute("Algorithm").unwrap_or_default(),
        policy,
    )?;
    no_children(*digest_method)?;
    let digest_bytes = xml::decode_base64_ws(&xml::simple_text(*digest_value)?, "DigestValue")?;
    if digest_bytes.len() != digest_algorithm.ring().output_len() {
        return Err(Error::BadSignature("DigestValue has the wrong length"));
    }
    let signature_value = xml::decode_base64_ws(&xml::simple_text(sig_value)?, "SignatureValue")?;
    if signature_value.is_empty() {
        return Err(Error::BadSignature("empty SignatureValue"));
    }
    Ok(ParsedSignature {
        element,
        signature,
        signed_info,
        signed_info_prefixes,
        algorithm,
        digest_algorithm,
        reference_prefixes,
        digest_value: digest_bytes,
        signature_value,
        key_info,
    })
}

impl<'a, 'i> ParsedSignature<'a, 'i> {
    /// The decodable `X509Certificate`s of the KeyInfo (to explain a failure only).
    fn key_info_certs(&self) -> Vec<Vec<u8>> {
        let Some(ki) = self.key_info else {
            return Vec::new();
        };
        ki.descendants()
            .filter(|n| xml::is(*n, NS_DSIG, "X509Certificate"))
            .filter_map(|cert| {
                xml::simple_text(cert)
                    .and_then(|t| xml::decode_base64_ws(&t, "X509Certificate"))
                    .ok()
            })
            .collect()
    }

    /// Verifies the SignatureValue over the canonical SignedInfo with the trusted keys, then the
    /// digest of the canonical element (Signature excluded). Returns the key that verified.
    pub fn verify<'k>(&self, keys: &'k TrustedKeys) -> Result<&'k TrustedKey> {
        let si_opts = c14n::Options {
            inclusive_prefixes: &self.signed_info_prefixes,
            exclude: None,
        };
        let signed_info = c14n::canonicalize(self.signed_info, &si_opts);
        let Some(key) = keys.verify(self.algorithm, &signed_info, &self.signature_value) else {
            let key_info_certs = self.key_info_certs();
            if !key_info_certs.is_empty()
                && !key_info_certs.iter().any(|c| keys.contains_certificate(c))
            {
                return Err(Error::BadCertificate(
                    "the message was signed with a certificate that is not configured for this identity provider".into(),
                ));
            }
            return Err(Error::BadSignature(
                "SignatureValue does not verify with any configured certificate",
            ));
        };
        let opts = c14n::Options {
            inclusive_prefixes: &self.reference_prefixes,
            exclude: Some(self.signature.id()),
        };
        let canonical = c14n::canonicalize(self.element, &opts);
        let digest = digest::digest(self.digest_algorithm.ring(), &canonical);
        if digest.as_ref() != self.digest_value.as_slice() {
            return Err(Error::BadSignature(
                "digest mismatch: the signed element was modified",
            ));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn sig_doc(reference_body: &str, extra_si: &str) -> String {
        format!(
            r##"<r ID="a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#a">{reference_body}</ds:Reference>{extra_si}</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></r>"##
        )
    }
    const GOOD_REF: &str = r#"<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ds:DigestValue>"#;

    fn check(xml_text: &str) -> Result<()> {
        let doc = parse(xml_text.as_bytes(), &Limits::default()).unwrap();
        let root = doc.root_element();
        let sig = find_signature(root)?.unwrap();
        parse_signature(root, sig, Policy::default()).map(|_| ())
    }

    #[test]
    fn closed_profile_accepts_the_canonical_shape() {
        check(&sig_doc(GOOD_REF, "")).unwrap();
    }

    #[test]
    fn closed_profile_refusals() {
        let two_refs = sig_doc(
            GOOD_REF,
            &format!(r##"<ds:Reference URI="#a">{GOOD_REF}</ds:Reference>"##),
        );
        assert_eq!(check(&two_refs).unwrap_err().code(), "saml.bad_reference");
        let xslt = GOOD_REF.replace("xml-exc-c14n#\"/></ds:Transforms>", "xml-exc-c14n#\"/><ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/></ds:Transforms>");
        assert_eq!(
            check(&sig_doc(&xslt, "")).unwrap_err().code(),
            "saml.bad_transform"
        );
        let comments = GOOD_REF.replace(
            "xml-exc-c14n#\"/></ds:Transforms>",
            "xml-exc-c14n#WithComments\"/></ds:Transforms>",
        );
        assert_eq!(
            check(&sig_doc(&comments, "")).unwrap_err().code(),
            "saml.bad_transform"
        );
        let digest_comment = GOOD_REF.replace("47DEQ", "47<!-- x -->DEQ");
        assert_eq!(
            check(&sig_doc(&digest_comment, "")).unwrap_err().code(),
            "saml.bad_signature"
        );
        let sha1 = GOOD_REF.replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        );
        assert_eq!(
            check(&sig_doc(&sha1, "")).unwrap_err().code(),
            "saml.bad_digest_algorithm"
        );
        let empty_uri = sig_doc(GOOD_REF, "").replace("URI=\"#a\"", "URI=\"\"");
        assert_eq!(check(&empty_uri).unwrap_err().code(), "saml.bad_reference");
        let hmac = sig_doc(GOOD_REF, "").replace("xmldsig-more#rsa-sha256", "xmldsig#hmac-sha1");
        assert_eq!(
            check(&hmac).unwrap_err().code(),
            "saml.bad_signature_algorithm"
        );
        let object =
            sig_doc(GOOD_REF, "").replace("</ds:Signature>", "<ds:Object/></ds:Signature>");
        assert_eq!(check(&object).unwrap_err().code(), "saml.bad_signature");
        let empty_sv = sig_doc(GOOD_REF, "").replace(
            "<ds:SignatureValue>AAAA</ds:SignatureValue>",
            "<ds:SignatureValue/>",
        );
        assert_eq!(check(&empty_sv).unwrap_err().code(), "saml.bad_signature");
    }

    #[test]
    fn sha1_only_with_opt_in() {
        let sha1 = sig_doc(
            &GOOD_REF
                .replace(
                    "http://www.w3.org/2001/04/xmlenc#sha256",
                    "http://www.w3.org/2000/09/xmldsig#sha1",
                )
                .replace(
                    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                    "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                ),
            "",
        )
        .replace(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        );
        let doc = parse(sha1.as_bytes(), &Limits::default()).unwrap();
        let root = doc.root_element();
        let sig = find_signature(root).unwrap().unwrap();
        assert_eq!(
            parse_signature(root, sig, Policy::default())
                .unwrap_err()
                .code(),
            "saml.bad_signature_algorithm"
        );
        let parsed = parse_signature(root, sig, Policy { allow_sha1: true }).unwrap();
        assert_eq!(parsed.algorithm, SignatureAlgorithm::RsaSha1);
        assert_eq!(parsed.digest_algorithm, DigestAlgorithm::Sha1);
    }

    #[test]
    fn duplicate_ids() {
        let doc = parse(b"<r ID='a'><x Id='b'/><y ID='a'/></r>", &Limits::default()).unwrap();
        assert_eq!(
            check_unique_ids(&doc).unwrap_err(),
            Error::DuplicateId("a".into())
        );
        let doc = parse(b"<r ID='a'><x ID='b'/></r>", &Limits::default()).unwrap();
        check_unique_ids(&doc).unwrap();
    }
}
