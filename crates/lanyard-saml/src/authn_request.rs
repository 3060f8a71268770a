//! `AuthnRequest` building for the HTTP-Redirect (DEFLATE) and HTTP-POST bindings, and the
//! size-capped inflate for inbound HTTP-Redirect messages.
//!
//! The caller supplies the request ID (from the OS CSPRNG, stored single-use with the pending
//! login) and the instant; nothing here reads a clock or a random source. Signed variants are in
//! [`crate::signing`].

use std::io::{Read as _, Write as _};
use std::time::SystemTime;

use base64::Engine as _;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use crate::error::{Error, Result};
use crate::metadata::{BINDING_POST, escape};
use crate::time;
use crate::xml::{NS_ASSERTION, NS_PROTOCOL};

/// An AuthnRequest to one IdP.
#[derive(Debug, Clone)]
pub struct AuthnRequest<'a> {
    /// Unique request ID; must be an XML NCName (start with a letter or `_`). Keep it to check
    /// InResponseTo.
    pub id: &'a str,
    /// IssueInstant.
    pub issue_instant: SystemTime,
    /// The IdP's SSO URL (Destination, and where the browser is sent).
    pub destination: &'a str,
    /// This SP's entity ID (Issuer).
    pub sp_entity_id: &'a str,
    /// This SP's ACS URL (responses by HTTP-POST).
    pub acs_url: &'a str,
    /// Requested NameID format, if any (`AllowCreate="true"` is sent with it).
    pub name_id_format: Option<&'a str>,
    /// Ask the IdP to re-authenticate the user.
    pub force_authn: bool,
}

fn is_ncname(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl AuthnRequest<'_> {
    /// The request XML.
    pub fn to_xml(&self) -> Result<String> {
        if !is_ncname(self.id) || self.id.len() > 256 {
            return Err(Error::InvalidArgument(
                "the request ID must be an XML NCName (letters, digits, _-.; not starting with a digit)",
            ));
        }
        let mut x = format!(
            "<samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{BINDING_POST}\"{}>",
            self.id,
            time::format_datetime(self.issue_instant),
            escape(self.destination),
            escape(self.acs_url),
            if self.force_authn {
                " ForceAuthn=\"true\""
            } else {
                ""
            },
        );
        x.push_str(&format!(
            "<saml:Issuer>{}</saml:Issuer>",
            escape(self.sp_entity_id)
        ));
        if let Some(f) = self.name_id_format {
            x.push_str(&format!(
                "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
                escape(f)
            ));
        }
        x.push_str("</samlp:AuthnRequest>");
        Ok(x)
    }

    /// HTTP-Redirect binding: the URL to send the browser to (`SAMLRequest` = base64 of raw
    /// DEFLATE, then `RelayState`, both URL-encoded; appended with `?` or `&`).
    pub fn redirect_url(&self, relay_state: Option<&str>) -> Result<String> {
        let xml = self.to_xml()?;
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(xml.as_bytes())
            .map_err(|e| Error::BadDeflate(e.to_string()))?;
        let deflated = enc.finish().map_err(|e| Error::BadDeflate(e.to_string()))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(deflated);
        let sep = if self.destination.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut url = format!("{}{sep}SAMLRequest={}", self.destination, url_encode(&b64));
        if let Some(rs) = relay_state {
            if rs.len() > 80 {
                // SAML bindings §3.4.3: RelayState MUST NOT exceed 80 bytes.
                return Err(Error::InvalidArgument("RelayState longer than 80 bytes"));
            }
            url.push_str("&RelayState=");
            url.push_str(&url_encode(rs));
        }
        Ok(url)
    }

    /// HTTP-POST binding: the base64 value of the `SAMLRequest` form field (the server renders the
    /// auto-submitting form to [`Self::destination`], with `RelayState` beside it).
    pub fn post_form_value(&self) -> Result<String> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.to_xml()?))
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
#[must_use]
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes an HTTP-Redirect binding message (the already URL-decoded `SAMLRequest` /
/// `SAMLResponse` parameter): base64, then raw DEFLATE, refusing output larger than `max_bytes`
/// (DEFLATE bombs stop after `max_bytes + 1` bytes of output).
pub fn inflate_redirect_message(b64: &str, max_bytes: usize) -> Result<Vec<u8>> {
    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > max_bytes.saturating_mul(2) {
        return Err(Error::TooLarge {
            size: compact.len(),
            limit: max_bytes,
        });
    }
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| Error::BadBase64("SAMLRequest"))?;
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::BadDeflate(e.to_string()))?;
    if out.len() > max_bytes {
        return Err(Error::TooLarge {
            size: out.len(),
            limit: max_bytes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{self, Limits};

    fn req() -> AuthnRequest<'static> {
        AuthnRequest {
            id: "_lanyard_0123456789abcdef",
            issue_instant: time::from_millis(1_714_077_115_494),
            destination: "https://idp.example/sso?tenant=1",
            sp_entity_id: "https://sso.example/t/a/saml/c",
            acs_url: "https://sso.example/t/a/saml/c/acs",
            name_id_format: Some(crate::metadata::NAMEID_EMAIL),
            force_authn: false,
        }
    }

    fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
        url.split_once('?')?
            .1
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    fn url_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn redirect_binding_round_trip() {
        let url = req().redirect_url(Some("k/1+2")).unwrap();
        assert!(url.starts_with("https://idp.example/sso?tenant=1&SAMLRequest="));
        assert_eq!(query_param(&url, "RelayState"), Some("k%2F1%2B2"));
        let msg = url_decode(query_param(&url, "SAMLRequest").unwrap());
        let xml_bytes = inflate_redirect_message(&msg, 64 * 1024).unwrap();
        let doc = xml::parse(&xml_bytes, &Limits::default()).unwrap();
        let root = doc.root_element();
        assert!(xml::is(root, NS_PROTOCOL, "AuthnRequest"));
        assert_eq!(root.attribute("ID"), Some("_lanyard_0123456789abcdef"));
        assert_eq!(root.attribute("IssueInstant"), Some("2024-04-25T20:31:55Z"));
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some("https://sso.example/t/a/saml/c/acs")
        );
        assert_eq!(
            root.attribute("Destination"),
            Some("https://idp.example/sso?tenant=1")
        );
    }

    #[test]
    fn post_binding_is_plain_base64() {
        let v = req().post_form_value().unwrap();
        let xml_bytes = base64::engine::general_purpose::STANDARD.decode(v).unwrap();
        assert!(
            String::from_utf8(xml_bytes)
                .unwrap()
                .contains("<saml:Issuer>https://sso.example/t/a/saml/c</saml:Issuer>")
        );
    }

    #[test]
    fn refuses_bad_ids_and_long_relay_state() {
        let mut r = req();
        r.id = "1abc";
        assert_eq!(r.to_xml().unwrap_err().code(), "saml.invalid_argument");
        r.id = "a\"><x";
        assert_eq!(r.to_xml().unwrap_err().code(), "saml.invalid_argument");
        assert_eq!(
            req()
                .redirect_url(Some(&"x".repeat(81)))
                .unwrap_err()
                .code(),
            "saml.invalid_argument"
        );
    }

    #[test]
    fn deflate_bomb_is_capped() {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&vec![b'a'; 4 * 1024 * 1024]).unwrap();
        let bomb = base64::engine::general_purpose::STANDARD.encode(enc.finish().unwrap());
        assert!(bomb.len() < 16 * 1024);
        assert_eq!(
            inflate_redirect_message(&bomb, 1024 * 1024)
                .unwrap_err()
                .code(),
            "saml.too_large"
        );
        assert_eq!(
            inflate_redirect_message("!!", 1024).unwrap_err().code(),
            "saml.bad_base64"
        );
        assert_eq!(
            inflate_redirect_message("AAAA", 1024).unwrap_err().code(),
            "saml.bad_deflate"
        );
    }
}
