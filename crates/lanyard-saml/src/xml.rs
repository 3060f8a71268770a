//! Parsing untrusted XML: one parser (roxmltree), limits before and while parsing, no DTDs.
//!
//! Also the small tree helpers the rest of the crate shares (namespaced child lookup, text
//! content without comments, the element's qualified name as written).

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::{Error, Result};

/// SAML 2.0 assertion namespace.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 protocol namespace.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 metadata namespace.
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive c14n namespace (for `InclusiveNamespaces`).
pub const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Limits applied to every untrusted document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of the XML in bytes, checked before parsing.
    pub max_bytes: usize,
    /// Maximum number of nodes (elements, text, comments…), enforced while parsing.
    pub max_nodes: u32,
    /// Maximum element nesting depth.
    pub max_depth: usize,
    /// Maximum number of attributes on one element.
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_nodes: 20_000,
            max_depth: 64,
            max_attributes: 64,
        }
    }
}

/// Parses `bytes` as UTF-8 XML under `limits`. DOCTYPEs are always refused.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Document<'a>> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::MalformedXml("the document is not valid UTF-8".into()))?;
    // roxmltree refuses DTDs with content but accepts an empty `<!DOCTYPE x>`; SAML never needs
    // one, so any DOCTYPE (even inside a comment or CDATA, where it only hides something) is refused.
    if text.contains("<!DOCTYPE") {
        return Err(Error::DtdForbidden);
    }
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Error::DtdForbidden,
        roxmltree::Error::NodesLimitReached => Error::LimitExceeded("too many nodes"),
        roxmltree::Error::AttributesLimitReached => Error::LimitExceeded("too many attributes"),
        roxmltree::Error::NamespacesLimitReached => Error::LimitExceeded("too many namespaces"),
        other => Error::MalformedXml(other.to_string()),
    })?;
    check_shape(&doc, limits)?;
    check_processing_instructions(&doc)?;
    Ok(doc)
}

/// Refuses processing instructions whose target XML reserves or namespaces forbid, wherever they
/// are (before, inside or after the root element). XML 1.0 §2.6 reserves targets beginning with
/// `xml` in any case (and the parser would otherwise take `<?xml$?>` for a PI named `xml`, whose
/// canonical form `<?xml $?>` is an XML declaration out of place); Namespaces in XML §7 forbids
/// colons in PI targets.
fn check_processing_instructions(doc: &Document<'_>) -> Result<()> {
    for pi in doc.descendants().filter_map(|n| n.pi()) {
        let reserved = pi
            .target
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("xml"));
        if reserved || pi.target.contains(':') {
            return Err(Error::MalformedXml(format!(
                "processing instruction target {:?} is reserved or not allowed",
                pi.target.chars().take(64).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// Depth and per-element attribute limits (roxmltree has no option for these).
fn check_shape(doc: &Document<'_>, limits: &Limits) -> Result<()> {
    // Iterative walk with an explicit depth counter (no recursion on untrusted input).
    let mut depth = 0usize;
    let mut stack: Vec<Node<'_, '_>> = vec![doc.root()];
    let mut levels: Vec<usize> = vec![0];
    while let (Some(node), Some(level)) = (stack.pop(), levels.pop()) {
        depth = depth.max(level);
        if depth > limits.max_depth {
            return Err(Error::LimitExceeded("elements nested too deeply"));
        }
        if node.is_element() && node.attributes().len() > limits.max_attributes {
            return Err(Error::LimitExceeded("too many attributes on one element"));
        }
        for child in node.children().filter(Node::is_element) {
            stack.push(child);
            levels.push(level + 1);
        }
    }
    Ok(())
}

/// True if `node` is the element `{ns}local`.
pub fn is(node: Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

/// Element children named `{ns}local`.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The only element child `{ns}local`: `Ok(None)` when absent, error when repeated.
pub fn single_child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    local: &'static str,
) -> Result<Option<Node<'a, 'i>>> {
    let mut it = children(node, ns, local);
    let first = it.next();
    if it.next().is_some() {
        return Err(Error::MalformedXml(format!(
            "more than one {local} element"
        )));
    }
    Ok(first)
}

/// Like [`single_child`] but the element is required.
pub fn required_child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    local: &'static str,
) -> Result<Node<'a, 'i>> {
    single_child(node, ns, local)?.ok_or(Error::Missing(local))
}

/// The concatenation of all text of the element's *direct* text children, comments and
/// processing instructions excluded. Errors if the element has element children: simple-content
/// SAML fields (Issuer, NameID, Audience, DigestValue…) never do.
///
/// This is the comment-injection defence: `a@b.example<!---->.evil` reads as the full string.
pub fn simple_text(node: Node<'_, '_>) -> Result<String> {
    let mut out = String::new();
    for child in node.children() {
        if child.is_element() {
            return Err(Error::MalformedXml(format!(
                "unexpected child element in {}",
                node.tag_name().name()
            )));
        }
        if child.is_text() {
            out.push_str(child.text().unwrap_or_default());
        }
    }
    Ok(out)
}

/// All descendant text (for AttributeValue, which may carry complex content), comments excluded.
pub fn deep_text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

/// True for the four XML whitespace characters.
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Trims XML whitespace from both ends.
pub fn trim_xml(s: &str) -> &str {
    s.trim_matches(is_xml_space)
}

/// The element's qualified name as written in the source (`prefix:local` or `local`).
pub fn element_qname<'i>(node: Node<'_, 'i>) -> &'i str {
    let input = node.document().input_text();
    let start = node.range().start.saturating_add(1);
    let rest = input.get(start..).unwrap_or_default();
    let end = rest
        .bytes()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>'))
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

/// The element's namespace prefix as written (`None` for an unprefixed name).
pub fn element_prefix<'i>(node: Node<'_, 'i>) -> Option<&'i str> {
    element_qname(node).split_once(':').map(|(p, _)| p)
}

/// An attribute's qualified name as written in the source.
pub fn attribute_qname<'i>(node: Node<'_, 'i>, attr: &roxmltree::Attribute<'_, 'i>) -> &'i str {
    node.document()
        .input_text()
        .get(attr.range_qname())
        .unwrap_or_default()
}

/// Decodes base64 that may contain XML whitespace (as in DigestValue, SignatureValue, certificates).
pub fn decode_base64_ws(text: &str, what: &'static str) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let engine = &base64::engine::general_purpose::STANDARD;
    // In blocks without an early exit inside, which the compiler turns into vector compares:
    // the usual field has no whitespace at all, so the whole of it is scanned.
    let has_space = text
        .as_bytes()
        .chunks(64)
        .any(|block| block.iter().fold(false, |seen, b| seen | is_space(b)));
    let decoded = if has_space {
        let compact: Vec<u8> = text.bytes().filter(|b| !is_space(b)).collect();
        engine.decode(compact)
    } else {
        engine.decode(text)
    };
    decoded.map_err(|_| Error::BadBase64(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_doctype_entities_and_billion_laughs() {
        let l = Limits::default();
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>"#;
        assert_eq!(parse(xxe, &l).unwrap_err(), Error::DtdForbidden);
        let empty = b"<!DOCTYPE r><r/>";
        assert_eq!(parse(empty, &l).unwrap_err(), Error::DtdForbidden);
        let lol = br#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert_eq!(parse(lol, &l).unwrap_err(), Error::DtdForbidden);
    }

    #[test]
    fn size_nodes_depth_limits() {
        let l = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"<r>0123456789</r>", &l).unwrap_err().code(),
            "saml.too_large"
        );
        let l = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let many = format!("<r>{}</r>", "<a/>".repeat(50));
        assert_eq!(
            parse(many.as_bytes(), &l).unwrap_err(),
            Error::LimitExceeded("too many nodes")
        );
        let l = Limits {
            max_depth: 5,
            ..Limits::default()
        };
        let deep = format!("{}{}", "<a>".repeat(10), "</a>".repeat(10));
        assert_eq!(
            parse(deep.as_bytes(), &l).unwrap_err(),
            Error::LimitExceeded("elements nested too deeply")
        );
        assert!(parse(b"<a><a><a/></a></a>", &l).is_ok());
        // Deep nesting within the node limit: refused without exhausting the stack.
        let deep = format!("{}{}", "<a>".repeat(19_000), "</a>".repeat(19_000));
        assert_eq!(
            parse(deep.as_bytes(), &Limits::default()).unwrap_err(),
            Error::LimitExceeded("elements nested too deeply")
        );
    }

    #[test]
    fn malformed_and_non_utf8() {
        let l = Limits::default();
        assert_eq!(
            parse(b"\x00\n", &l).unwrap_err().code(),
            "saml.malformed_xml"
        );
        assert_eq!(
            parse(b"\xff\xfe<a/>", &l).unwrap_err().code(),
            "saml.malformed_xml"
        );
        assert_eq!(
            parse(b"<a><b></a>", &l).unwrap_err().code(),
            "saml.malformed_xml"
        );
    }

    #[test]
    fn text_without_comments_and_qnames() {
        let doc = parse(
            b"<p:a xmlns:p='u' p:x='1'>admin@t1.example<!---->.evil.test</p:a>",
            &Limits::default(),
        )
        .unwrap();
        let root = doc.root_element();
        assert_eq!(simple_text(root).unwrap(), "admin@t1.example.evil.test");
        assert_eq!(element_qname(root), "p:a");
        assert_eq!(element_prefix(root), Some("p"));
        let attr = root.attributes().next().unwrap();
        assert_eq!(attribute_qname(root, &attr), "p:x");
        assert_eq!(decode_base64_ws(" aGk=\n", "x").unwrap(), b"hi");
    }
}
