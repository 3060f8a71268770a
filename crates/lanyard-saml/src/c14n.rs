//! Exclusive XML Canonicalization 1.0, without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>), of one element subtree, optionally with an
//! `InclusiveNamespaces PrefixList` and with one descendant excluded (the enveloped-signature
//! transform).
//!
//! Rules implemented (Canonical XML 1.0 §2.3 and Exclusive C14N §3):
//! - empty elements become start/end pairs; the XML declaration and DTD are gone (there is none);
//! - comments are removed; processing instructions inside the subtree are kept;
//! - a namespace declaration is output on an element only if it is *visibly utilized* there (the
//!   element's own prefix, or a prefix of one of its attributes; the default namespace for an
//!   unprefixed element) or listed in the PrefixList and in scope, and only if the nearest output
//!   ancestor did not already output the same binding; `xmlns=""` is output only to undo a
//!   non-empty default namespace output by an ancestor;
//! - namespace declarations come first, sorted by prefix (default first); then attributes sorted by
//!   (namespace URI, local name), unqualified attributes first;
//! - text escapes `&`, `<`, `>`, CR; attribute values escape `&`, `<`, `"`, TAB, LF, CR.
//!
//! The traversal is iterative, so deeply nested input cannot exhaust the stack.

use roxmltree::{Node, NodeId};

use crate::xml;

/// Options for [`canonicalize`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// `InclusiveNamespaces PrefixList` entries; `"#default"` stands for the default namespace.
    pub inclusive_prefixes: &'a [String],
    /// A descendant to leave out entirely (the `Signature` element, for enveloped signatures).
    pub exclude: Option<NodeId>,
}

enum Step<'a, 'i> {
    Open(Node<'a, 'i>),
    Close(&'i str),
}

/// Canonicalizes the subtree rooted at the element `apex`.
pub fn canonicalize(apex: Node<'_, '_>, options: &Options<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(apex.range().len());
    // Bindings output so far, one frame per open output element: (prefix, uri), "" = default.
    let mut rendered: Vec<Vec<(String, String)>> = Vec::new();
    let mut steps = vec![Step::Open(apex)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Close(qname) => {
                out.push_str("</");
                out.push_str(qname);
                out.push('>');
                rendered.pop();
            }
            Step::Open(node) => {
                if Some(node.id()) == options.exclude {
                    continue;
                }
                if node.is_text() {
                    escape_text(&mut out, node.text().unwrap_or_default());
                } else if node.is_pi() {
                    if let Some(pi) = node.pi() {
                        out.push_str("<?");
                        out.push_str(pi.target);
                        if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                            out.push(' ');
                            out.push_str(value);
                        }
                        out.push_str("?>");
                    }
                } else if node.is_element() {
                    let qname = xml::element_qname(node);
                    let frame = open_tag(&mut out, node, qname, &rendered, options);
                    rendered.push(frame);
                    steps.push(Step::Close(qname));
                    let children: Vec<_> = node.children().collect();
                    steps.extend(children.into_iter().rev().map(Step::Open));
                }
                // Comments are dropped (the "without comments" variant).
            }
        }
    }
    out.into_bytes()
}

/// The binding currently output for `prefix` by the nearest output ancestor.
fn rendered_uri<'r>(rendered: &'r [Vec<(String, String)>], prefix: &str) -> Option<&'r str> {
    rendered.iter().rev().find_map(|frame| {
        frame
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    })
}

fn in_scope_uri<'a>(node: Node<'a, '_>, prefix: &str) -> Option<&'a str> {
    node.namespaces()
        .find(|ns| ns.name().unwrap_or("") == prefix)
        .map(|ns| ns.uri())
}

/// Writes `<qname ns… attrs…>` and returns the namespace frame output on this element.
fn open_tag(
    out: &mut String,
    node: Node<'_, '_>,
    qname: &str,
    rendered: &[Vec<(String, String)>],
    options: &Options<'_>,
) -> Vec<(String, String)> {
    // Candidate prefixes: visibly utilized ones, then the inclusive list.
    let mut candidates: Vec<&str> = vec![xml::element_prefix(node).unwrap_or("")];
    let mut attrs: Vec<(&str, &str, &str, &str)> = Vec::new(); // (uri, local, qname, value)
    for attr in node.attributes() {
        let aq = xml::attribute_qname(node, &attr);
        if let Some((p, _)) = aq.split_once(':') {
            candidates.push(p);
        }
        attrs.push((
            attr.namespace().unwrap_or(""),
            attr.name(),
            aq,
            attr.value(),
        ));
    }
    for p in options.inclusive_prefixes {
        candidates.push(if p == "#default" { "" } else { p.as_str() });
    }

    let mut frame: Vec<(String, String)> = Vec::new();
    for prefix in &candidates {
        if *prefix == "xml" || frame.iter().any(|(p, _)| p == prefix) {
            continue;
        }
        let uri = match in_scope_uri(node, prefix) {
            Some(u) => u,
            // A visibly utilized default namespace that is not declared is "no namespace".
            None if prefix.is_empty() => "",
            // Inclusive-list prefixes not in scope are simply not output (a utilized prefix is
            // always bound, or the parser would have refused the document).
            None => continue,
        };
        let already = rendered_uri(rendered, prefix);
        let needed = if prefix.is_empty() {
            already.unwrap_or("") != uri
        } else {
            already != Some(uri)
        };
        if needed {
            frame.push(((*prefix).to_string(), uri.to_string()));
        }
    }
    frame.sort_by(|a, b| a.0.cmp(&b.0));
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    out.push('<');
    out.push_str(qname);
    for (prefix, uri) in &frame {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attr(out, uri);
        out.push('"');
    }
    for (_, _, aq, value) in attrs {
        out.push(' ');
        out.push_str(aq);
        out.push_str("=\"");
        escape_attr(out, value);
        out.push('"');
    }
    out.push('>');
    frame
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn c14n(input: &str, prefixes: &[String]) -> String {
        let doc = parse(input.as_bytes(), &Limits::default()).unwrap();
        let opts = Options {
            inclusive_prefixes: prefixes,
            exclude: None,
        };
        String::from_utf8(canonicalize(doc.root_element(), &opts)).unwrap()
    }

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            c14n(
                "<a b='x&amp;&lt;&quot;&#9;&#10;&#13;>'>&amp;&lt;&gt;&#13;\"'</a>",
                &[]
            ),
            "<a b=\"x&amp;&lt;&quot;&#x9;&#xA;&#xD;>\">&amp;&lt;&gt;&#xD;\"'</a>"
        );
    }

    #[test]
    fn drops_comments_keeps_pis() {
        assert_eq!(
            c14n("<a><!-- c -->x<?p d?><?q?></a>", &[]),
            "<a>x<?p d?><?q?></a>"
        );
    }

    #[test]
    fn subtree_only_utilized_namespaces() {
        let doc = parse(
            b"<r xmlns='urn:d' xmlns:a='urn:a' xmlns:b='urn:b'><a:x b:y='1'><z/></a:x></r>",
            &Limits::default(),
        )
        .unwrap();
        let x = doc.root_element().first_element_child().unwrap();
        let got = String::from_utf8(canonicalize(x, &Options::default())).unwrap();
        assert_eq!(
            got,
            "<a:x xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" b:y=\"1\"><z xmlns=\"urn:d\"></z></a:x>"
        );
    }

    #[test]
    fn inclusive_prefix_list() {
        let doc = parse(
            b"<r xmlns:xs='urn:xs' xmlns:a='urn:a'><a:x/></r>",
            &Limits::default(),
        )
        .unwrap();
        let x = doc.root_element().first_element_child().unwrap();
        let list = vec!["xs".to_string(), "nope".to_string()];
        let got = String::from_utf8(canonicalize(
            x,
            &Options {
                inclusive_prefixes: &list,
                exclude: None,
            },
        ))
        .unwrap();
        assert_eq!(got, "<a:x xmlns:a=\"urn:a\" xmlns:xs=\"urn:xs\"></a:x>");
    }

    #[test]
    fn excludes_a_subtree() {
        let doc = parse(b"<r><s><t/></s><u/></r>", &Limits::default()).unwrap();
        let s = doc.root_element().first_element_child().unwrap();
        let got = String::from_utf8(canonicalize(
            doc.root_element(),
            &Options {
                inclusive_prefixes: &[],
                exclude: Some(s.id()),
            },
        ))
        .unwrap();
        assert_eq!(got, "<r><u></u></r>");
    }
}
