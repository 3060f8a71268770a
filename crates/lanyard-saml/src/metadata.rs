//! SAML 2.0 metadata: reading an IdP's `EntityDescriptor`, writing this SP's.
//!
//! The IdP metadata's own signature is not verified here: the trust anchor is the administrator
//! pasting the document, or the server fetching it over HTTPS from a configured URL.

use crate::error::{Error, Result};
use crate::keys::{self, TrustedKeys};
use crate::xml::{self, Limits, NS_DSIG, NS_METADATA};

/// HTTP-Redirect binding URI.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST binding URI.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Email-address NameID format.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// Persistent NameID format.
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// Unspecified NameID format.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// One `SingleSignOnService` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Binding URI.
    pub binding: String,
    /// Location URL.
    pub location: String,
}

/// What Lanyard needs from an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// `entityID`.
    pub entity_id: String,
    /// SSO endpoints in document order.
    pub sso_services: Vec<Endpoint>,
    /// Every signing certificate (DER), from `KeyDescriptor use="signing"` or without `use`.
    pub signing_certificates: Vec<Vec<u8>>,
    /// `WantAuthnRequestsSigned`.
    pub want_authn_requests_signed: bool,
    /// Advertised NameID formats.
    pub name_id_formats: Vec<String>,
}

impl IdpMetadata {
    /// The first SSO endpoint for `binding`.
    #[must_use]
    pub fn sso_url(&self, binding: &str) -> Option<&str> {
        self.sso_services
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }

    /// Parses the signing certificates into verification keys (refusing weak ones).
    pub fn trusted_keys(&self) -> Result<TrustedKeys> {
        TrustedKeys::from_der_certs(&self.signing_certificates)
    }
}

/// Parses IdP metadata: an `EntityDescriptor`, or an `EntitiesDescriptor` holding exactly one
/// entity with an `IDPSSODescriptor`.
pub fn parse_idp_metadata(bytes: &[u8], limits: &Limits) -> Result<IdpMetadata> {
    let doc = xml::parse(bytes, limits)?;
    let root = doc.root_element();
    let entity = if xml::is(root, NS_METADATA, "EntityDescriptor") {
        root
    } else if xml::is(root, NS_METADATA, "EntitiesDescriptor") {
        let idps: Vec<_> = root
            .descendants()
            .filter(|n| xml::is(*n, NS_METADATA, "EntityDescriptor"))
            .filter(|n| {
                xml::children(*n, NS_METADATA, "IDPSSODescriptor")
                    .next()
                    .is_some()
            })
            .collect();
        match idps.as_slice() {
            [one] => *one,
            [] => return Err(Error::Missing("IDPSSODescriptor")),
            _ => {
                return Err(Error::MalformedXml(
                    "the metadata describes several identity providers; paste only one".into(),
                ));
            }
        }
    } else {
        return Err(Error::MalformedXml(
            "the root element is not a metadata EntityDescriptor".into(),
        ));
    };
    let entity_id = entity
        .attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or(Error::Missing("entityID"))?;
    let idp = xml::children(entity, NS_METADATA, "IDPSSODescriptor")
        .next()
        .ok_or(Error::Missing("IDPSSODescriptor"))?;

    let mut signing_certificates: Vec<Vec<u8>> = Vec::new();
    for kd in xml::children(idp, NS_METADATA, "KeyDescriptor") {
        if !matches!(kd.attribute("use"), None | Some("signing")) {
            continue;
        }
        for cert in kd
            .descendants()
            .filter(|n| xml::is(*n, NS_DSIG, "X509Certificate"))
        {
            let der = xml::decode_base64_ws(&xml::simple_text(cert)?, "X509Certificate")?;
            if !signing_certificates.contains(&der) {
                signing_certificates.push(der);
            }
        }
    }
    let sso_services = xml::children(idp, NS_METADATA, "SingleSignOnService")
        .map(|s| {
            Ok(Endpoint {
                binding: s
                    .attribute("Binding")
                    .ok_or(Error::Missing("SingleSignOnService Binding"))?
                    .to_string(),
                location: s
                    .attribute("Location")
                    .ok_or(Error::Missing("SingleSignOnService Location"))?
                    .to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let name_id_formats = xml::children(idp, NS_METADATA, "NameIDFormat")
        .map(|n| xml::simple_text(n).map(|t| xml::trim_xml(&t).to_string()))
        .collect::<Result<Vec<_>>>()?;
    Ok(IdpMetadata {
        entity_id: entity_id.to_string(),
        sso_services,
        signing_certificates,
        want_authn_requests_signed: matches!(
            idp.attribute("WantAuthnRequestsSigned"),
            Some("true" | "1")
        ),
        name_id_formats,
    })
}

/// Escapes text for use in XML content or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            _ => out.push(c),
        }
    }
    out
}

/// This connection's SP metadata, as served at `/t/{tenant}/saml/{connection}/metadata`.
#[derive(Debug, Clone)]
pub struct SpMetadata<'a> {
    /// SP entity ID.
    pub entity_id: &'a str,
    /// ACS URL (HTTP-POST binding).
    pub acs_url: &'a str,
    /// NameID formats to advertise (may be empty).
    pub name_id_formats: &'a [&'a str],
    /// Advertise `WantAssertionsSigned`.
    pub want_assertions_signed: bool,
    /// Advertise `AuthnRequestsSigned` (with `signing_certificate`).
    pub authn_requests_signed: bool,
    /// The SP's request-signing certificate (DER), if any.
    pub signing_certificate: Option<&'a [u8]>,
}

impl SpMetadata<'_> {
    /// Renders the `EntityDescriptor`.
    #[must_use]
    pub fn to_xml(&self) -> String {
        use base64::Engine as _;
        let mut x = String::new();
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!(
            "<md:EntityDescriptor xmlns:md=\"{NS_METADATA}\" entityID=\"{}\">\n",
            escape(self.entity_id)
        ));
        x.push_str(&format!(
            "  <md:SPSSODescriptor AuthnRequestsSigned=\"{}\" WantAssertionsSigned=\"{}\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
            self.authn_requests_signed, self.want_assertions_signed
        ));
        if let Some(cert) = self.signing_certificate {
            let b64 = base64::engine::general_purpose::STANDARD.encode(cert);
            x.push_str(&format!(
                "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"{NS_DSIG}\"><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n"
            ));
        }
        for f in self.name_id_formats {
            x.push_str(&format!(
                "    <md:NameIDFormat>{}</md:NameIDFormat>\n",
                escape(f)
            ));
        }
        x.push_str(&format!(
            "    <md:AssertionConsumerService Binding=\"{BINDING_POST}\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\n",
            escape(self.acs_url)
        ));
        x.push_str("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
        x
    }
}

/// Convenience for pasted certificates in settings: PEM blocks or bare base64 to DER.
pub fn certificates_from_text(text: &str) -> Result<Vec<Vec<u8>>> {
    keys::certificates_from_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_metadata_round_trips_through_the_parser() {
        let md = SpMetadata {
            entity_id: "https://sso.example/t/a&b/saml/c\"1",
            acs_url: "https://sso.example/t/a/saml/c/acs?x=<1>",
            name_id_formats: &[NAMEID_EMAIL, NAMEID_PERSISTENT],
            want_assertions_signed: true,
            authn_requests_signed: false,
            signing_certificate: None,
        };
        let text = md.to_xml();
        let doc = xml::parse(text.as_bytes(), &Limits::default()).unwrap();
        let root = doc.root_element();
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sso.example/t/a&b/saml/c\"1")
        );
        let acs = root
            .descendants()
            .find(|n| xml::is(*n, NS_METADATA, "AssertionConsumerService"))
            .unwrap();
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sso.example/t/a/saml/c/acs?x=<1>")
        );
        assert_eq!(acs.attribute("Binding"), Some(BINDING_POST));
        let formats: Vec<_> = root
            .descendants()
            .filter(|n| xml::is(*n, NS_METADATA, "NameIDFormat"))
            .map(|n| n.text().unwrap())
            .collect();
        assert_eq!(formats, [NAMEID_EMAIL, NAMEID_PERSISTENT]);
    }

    #[test]
    fn idp_metadata_without_certificate_gives_no_certificate() {
        let text = format!(
            r#"<md:EntityDescriptor xmlns:md="{NS_METADATA}" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        );
        let md = parse_idp_metadata(text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(md.entity_id, "https://idp.example");
        assert_eq!(
            md.sso_url(BINDING_REDIRECT),
            Some("https://idp.example/sso")
        );
        assert_eq!(md.sso_url(BINDING_POST), None);
        assert_eq!(md.trusted_keys().unwrap_err().code(), "saml.no_certificate");
    }

    #[test]
    fn refuses_non_metadata() {
        assert_eq!(
            parse_idp_metadata(b"<a/>", &Limits::default())
                .unwrap_err()
                .code(),
            "saml.malformed_xml"
        );
    }
}
