//! The test IdP's SAML side: metadata, the SSO URL (HTTP-Redirect AuthnRequests in, the picker
//! page, a signed Response out through an HTTP-POST form).

use super::faults::{self, Outcome};
use super::{DevIdp, DevIdpError, Pick, PickPage, Subject, describe};
use crate::pages;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use lanyard_saml::metadata::escape;
use lanyard_saml::signing::{Digest, sign_enveloped};
use lanyard_saml::xml::{self, Limits, NS_ASSERTION, NS_PROTOCOL};
use serde::Deserialize;
use std::sync::Arc;

/// A 1024-bit RSA certificate (public only; its key was thrown away): what an IdP with a weak
/// key publishes. Importing metadata carrying it is refused with `saml.weak_key`.
const WEAK_CERT: &str = include_str!("weak_rsa1024.crt");

const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

#[derive(Deserialize)]
pub(super) struct MetadataQuery {
    #[serde(default)]
    fault: Option<String>,
}

fn cert_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// IdP metadata; `?fault=rsa_1024` publishes a 1024-bit certificate instead (a setup fault).
pub(super) async fn metadata(
    State(idp): State<Arc<DevIdp>>,
    Query(q): Query<MetadataQuery>,
) -> Response {
    let cert = if q.fault.as_deref() == Some(faults::SETUP_FAULT_RSA_1024) {
        WEAK_CERT
    } else {
        idp.certificate_pem()
    };
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        escape(&idp.entity_id()),
        cert_body(cert),
        escape(&idp.sso_url())
    );
    let mut res = xml.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    res
}

#[derive(Deserialize)]
pub(super) struct SsoQuery {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState", default)]
    relay_state: Option<String>,
    #[serde(default)]
    fault: Option<String>,
    #[serde(default)]
    skew: Option<String>,
}

struct Request {
    id: String,
    acs_url: String,
    sp_entity_id: String,
}

fn read_authn_request(b64: &str) -> Result<Request, DevIdpError> {
    let bytes = lanyard_saml::authn_request::inflate_redirect_message(b64, 64 * 1024)
        .map_err(|e| DevIdpError::BadRequest(format!("SAMLRequest: {e}")))?;
    let doc = xml::parse(&bytes, &Limits::default())
        .map_err(|e| DevIdpError::BadRequest(format!("SAMLRequest: {e}")))?;
    let root = doc.root_element();
    if !xml::is(root, NS_PROTOCOL, "AuthnRequest") {
        return Err(DevIdpError::BadRequest(
            "SAMLRequest is not an AuthnRequest".into(),
        ));
    }
    let attr = |name: &str| {
        root.attribute(name)
            .map(str::to_owned)
            .ok_or_else(|| DevIdpError::BadRequest(format!("the AuthnRequest has no {name}")))
    };
    let sp_entity_id = root
        .children()
        .find(|n| xml::is(*n, NS_ASSERTION, "Issuer"))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| DevIdpError::BadRequest("the AuthnRequest has no Issuer".into()))?;
    Ok(Request {
        id: attr("ID")?,
        acs_url: attr("AssertionConsumerServiceURL")?,
        sp_entity_id,
    })
}

/// The SSO URL (HTTP-Redirect binding): shows the person and fault picker.
pub(super) async fn sso_get(
    State(idp): State<Arc<DevIdp>>,
    Query(q): Query<SsoQuery>,
) -> Result<Response, DevIdpError> {
    let r = read_authn_request(&q.saml_request)?;
    let selected = q.fault.unwrap_or_else(|| "none".into());
    if faults::find(&selected).is_none() {
        return Err(DevIdpError::UnknownFault(selected));
    }
    let mut hidden = vec![
        ("request_id", r.id),
        ("acs_url", r.acs_url),
        ("sp_entity_id", r.sp_entity_id),
    ];
    if let Some(rs) = q.relay_state {
        hidden.push(("relay_state", rs));
    }
    let page = PickPage {
        protocol: "SAML 2.0",
        action: idp.sso_url(),
        hidden,
        people: super::PEOPLE,
        faults: PickPage::faults_for(false),
        selected,
        skew: q.skew.unwrap_or_default(),
    };
    Ok(pages::render(axum::http::StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(super) struct SsoForm {
    request_id: String,
    acs_url: String,
    sp_entity_id: String,
    #[serde(default)]
    relay_state: Option<String>,
    #[serde(flatten)]
    pick: Pick,
}

#[derive(Template)]
#[template(path = "dev_idp_post.html")]
struct PostPage<'a> {
    acs_url: &'a str,
    saml_response: &'a str,
    relay_state: Option<&'a str>,
    fault: &'a str,
    expect: &'a str,
    nonce: &'a str,
    script: &'a str,
}

/// Signs in the picked person: a Response, signed as the fault says, posted to the ACS.
pub(super) async fn sso_post(
    State(idp): State<Arc<DevIdp>>,
    Form(f): Form<SsoForm>,
) -> Result<Response, DevIdpError> {
    let subject = f.pick.resolve()?;
    if subject.fault.saml == Outcome::NotApplicable {
        return Err(DevIdpError::BadRequest(format!(
            "the fault `{}` applies to OIDC only",
            subject.fault.id
        )));
    }
    let xml = build_response(&idp, &f, &subject)?;
    let value = base64::engine::general_purpose::STANDARD.encode(xml.as_bytes());
    let nonce = lanyard_core::secret::random_token();
    let page = PostPage {
        acs_url: &f.acs_url,
        saml_response: &value,
        relay_state: f.relay_state.as_deref(),
        fault: subject.fault.label,
        expect: describe(subject.fault.saml),
        nonce: &nonce,
        script: crate::pages::SAML_POST_SCRIPT,
    };
    let origin = url::Url::parse(&f.acs_url)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| DevIdpError::BadRequest(format!("AssertionConsumerServiceURL: {e}")))?;
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action {origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    Ok(pages::render_with_csp(
        axum::http::StatusCode::OK,
        &page,
        &csp,
    ))
}

fn instant(t: i64) -> String {
    lanyard_saml::time::format_datetime(lanyard_saml::time::from_millis(t.saturating_mul(1000)))
}

fn build_response(idp: &DevIdp, f: &SsoForm, s: &Subject) -> Result<String, DevIdpError> {
    const WRONG: &str = "https://wrong-sp.example";
    let fault = s.fault.id;
    let now = idp.now() + s.clock_offset;
    let (not_before, not_on_or_after) = match fault {
        "expired" => (now - 7200, now - 3600),
        "not_yet_valid" => (now + 3600, now + 7200),
        _ => (now - 60, now + 300),
    };
    let response_id = format!(
        "_r{}",
        lanyard_core::secret::random_token().replace(['-', '_'], "")
    );
    let assertion_id = format!(
        "_a{}",
        lanyard_core::secret::random_token().replace(['-', '_'], "")
    );
    let audience = if fault == "wrong_audience" {
        format!("{WRONG}/metadata")
    } else {
        f.sp_entity_id.clone()
    };
    let recipient = if fault == "wrong_recipient" {
        format!("{WRONG}/acs")
    } else {
        f.acs_url.clone()
    };
    let destination = if fault == "wrong_destination" {
        format!("{WRONG}/acs")
    } else {
        f.acs_url.clone()
    };
    let (name_id_format, name_id) = match fault {
        "missing_email" => (lanyard_saml::metadata::NAMEID_PERSISTENT, s.opaque_id()),
        "transient_nameid" => (
            NAMEID_TRANSIENT,
            format!(
                "_t{}",
                lanyard_core::secret::random_token().replace(['-', '_'], "")
            ),
        ),
        _ => (lanyard_saml::metadata::NAMEID_EMAIL, s.email.clone()),
    };
    let mut attributes = String::new();
    let mut attribute = |name: &str, values: &[String]| {
        if values.is_empty() {
            return;
        }
        attributes.push_str(&format!(r#"<saml:Attribute Name="{}">"#, escape(name)));
        for v in values {
            attributes.push_str(&format!(
                "<saml:AttributeValue>{}</saml:AttributeValue>",
                escape(v)
            ));
        }
        attributes.push_str("</saml:Attribute>");
    };
    if fault != "missing_email" {
        attribute("email", std::slice::from_ref(&s.email));
    }
    if !s.name.is_empty() {
        attribute("displayName", std::slice::from_ref(&s.name));
    }
    if fault == "groups_overage" {
        attribute(
            "http://schemas.microsoft.com/claims/groups.link",
            &["https://graph.microsoft.com/v1.0/users/me/getMemberObjects".to_owned()],
        );
    } else {
        attribute("groups", &s.groups);
    }
    let attribute_statement = if attributes.is_empty() {
        String::new()
    } else {
        format!("<saml:AttributeStatement>{attributes}</saml:AttributeStatement>")
    };
    let assertion = format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="{ns}" ID="{aid}" IssueInstant="{now}" Version="2.0">"#,
            "<saml:Issuer>{issuer}</saml:Issuer>",
            r#"<saml:Subject><saml:NameID Format="{nif}">{nid}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{noa}" Recipient="{rcpt}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            "{attrs}</saml:Assertion>"
        ),
        ns = NS_ASSERTION,
        aid = assertion_id,
        now = instant(now),
        issuer = escape(&idp.entity_id()),
        nif = name_id_format,
        nid = escape(&name_id),
        irt = escape(&f.request_id),
        noa = instant(not_on_or_after),
        nb = instant(not_before),
        rcpt = escape(&recipient),
        aud = escape(&audience),
        attrs = attribute_statement,
    );
    let key = if fault == "rotated_key" {
        &idp.saml_rotated
    } else {
        &idp.saml_current
    };
    let digest = if fault == "sha1" {
        Digest::Sha1
    } else {
        Digest::Sha256
    };
    let sign = |doc: &str, id: &str| {
        sign_enveloped(doc, id, key, digest)
            .map_err(|e| DevIdpError::Internal(format!("signing: {e}")))
    };
    let assertion = match fault {
        "unsigned" | "response_only" => assertion,
        _ => sign(&assertion, &assertion_id)?,
    };
    let response = format!(
        r#"<samlp:Response xmlns:samlp="{NS_PROTOCOL}" xmlns:saml="{NS_ASSERTION}" ID="{response_id}" Version="2.0" IssueInstant="{}" Destination="{}" InResponseTo="{}"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        instant(now),
        escape(&destination),
        escape(&f.request_id),
        escape(&idp.entity_id()),
    );
    if fault == "response_only" {
        sign(&response, &response_id)
    } else {
        Ok(response)
    }
}
