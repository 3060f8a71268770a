//! A test IdP for the in-process SAML tests: the committed test keys of lanyard-saml
//! (crates/lanyard-saml/tests/fixtures/keys, made by its gen.sh) and an enveloped-signature
//! signer, the same approach as lanyard-saml's tests/it/common.rs (copied, trimmed).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub const IDP: &str = "https://idp.example.test/metadata";
pub const SSO_URL: &str = "https://idp.example.test/sso";

const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

pub fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lanyard-saml/tests/fixtures/keys")
}

/// A certificate file's PEM text (`idp`, `attacker`, `weak`, …).
pub fn cert_pem(name: &str) -> String {
    std::fs::read_to_string(keys_dir().join(format!("{name}.crt"))).unwrap()
}

fn pem_der(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `xs:dateTime` of the test clock's start plus `offset` seconds.
pub fn ts(offset: i64) -> String {
    let t = crate::harness::T0 + offset;
    lanyard_saml::time::format_datetime(SystemTime::UNIX_EPOCH + Duration::from_secs(t as u64))
}

pub struct Key {
    pair: RsaKeyPair,
}

impl Key {
    /// `idp` (the configured IdP) or `attacker`.
    pub fn load(name: &str) -> Self {
        let pk8 =
            pem_der(&std::fs::read_to_string(keys_dir().join(format!("{name}.pk8.pem"))).unwrap());
        Self {
            pair: RsaKeyPair::from_pkcs8(&pk8).unwrap(),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .unwrap();
        sig
    }
}

/// Inserts an enveloped signature into the element whose ID is `id`, right after its Issuer.
fn sign_element(doc_text: &str, id: &str, key: &Key) -> String {
    use lanyard_saml::c14n::{Options as C14n, canonicalize};
    use lanyard_saml::xml::{Limits, parse};
    let doc = parse(doc_text.as_bytes(), &Limits::default()).unwrap();
    let el = doc
        .descendants()
        .find(|n| n.attribute("ID") == Some(id))
        .unwrap();
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &canonicalize(el, &C14n::default()),
    );
    let signed_info = format!(
        r##"<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC}"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{RSA_SHA256}"></ds:SignatureMethod><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"></ds:Transform><ds:Transform Algorithm="{EXC}"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
        b64(digest.as_ref())
    );
    let sig = key.sign(signed_info.as_bytes());
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{DS}">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue></ds:Signature>"#,
        b64(&sig)
    );
    let issuer = el
        .children()
        .find(|c| c.tag_name().name() == "Issuer")
        .unwrap();
    let at = issuer.range().end;
    format!("{}{signature}{}", &doc_text[..at], &doc_text[at..])
}

/// A response; every field is one knob a test can turn. Times are relative to the test clock.
#[derive(Clone)]
pub struct Resp {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub destination: String,
    pub in_response_to: Option<String>,
    pub name_id: String,
    pub recipient: String,
    pub audience: String,
    pub not_on_or_after: String,
    pub session_not_on_or_after: Option<String>,
    /// (Name, value) attributes.
    pub attributes: Vec<(String, String)>,
    /// The AuthnStatement's AuthnContextClassRef.
    pub authn_context: String,
}

impl Resp {
    /// A response for connection `conn` of `tenant` on the harness's public URL.
    pub fn new(tenant: &str, conn: &str, in_response_to: Option<&str>) -> Self {
        Self::at("http://127.0.0.1:8080", tenant, conn, in_response_to)
    }

    /// For a server whose public URL is `public`.
    pub fn at(public: &str, tenant: &str, conn: &str, in_response_to: Option<&str>) -> Self {
        let base = format!("{public}/t/{tenant}/saml/{conn}");
        Self {
            response_id: format!("_resp_{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_assert_{}", uuid::Uuid::new_v4().simple()),
            issuer: IDP.into(),
            destination: format!("{base}/acs"),
            in_response_to: in_response_to.map(str::to_owned),
            name_id: "00u-alice".into(),
            recipient: format!("{base}/acs"),
            audience: format!("{base}/metadata"),
            not_on_or_after: ts(300),
            session_not_on_or_after: None,
            authn_context: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
                .into(),
            attributes: vec![
                ("email".into(), "alice@acme.example".into()),
                ("displayName".into(), "Alice Doe".into()),
            ],
        }
    }

    fn unsigned(&self) -> String {
        let irt = self
            .in_response_to
            .as_ref()
            .map(|v| format!(r#" InResponseTo="{v}""#))
            .unwrap_or_default();
        let snoa = self
            .session_not_on_or_after
            .as_ref()
            .map(|v| format!(r#" SessionNotOnOrAfter="{v}""#))
            .unwrap_or_default();
        let attrs: String = self
            .attributes
            .iter()
            .map(|(n, v)| format!(r#"<saml:Attribute Name="{n}"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>"#))
            .collect();
        let assertion = format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" IssueInstant="{now}" Version="2.0">"#,
                r#"<saml:Issuer>{iss}</saml:Issuer>"#,
                r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{nameid}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{noa}" Recipient="{rcpt}"/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_sess_1"{snoa}><saml:AuthnContext><saml:AuthnContextClassRef>{actx}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                r#"<saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#
            ),
            aid = self.assertion_id,
            now = ts(0),
            iss = self.issuer,
            nameid = self.name_id,
            irt = irt,
            noa = self.not_on_or_after,
            rcpt = self.recipient,
            nb = ts(-300),
            aud = self.audience,
            snoa = snoa,
            actx = self.authn_context,
            attrs = attrs,
        );
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}"{irt}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            self.response_id,
            ts(0),
            self.destination,
            self.issuer
        )
    }

    /// Assertion and Response both signed with `key`; base64 as the POST binding carries it.
    pub fn signed_by(&self, key: &str) -> String {
        let key = Key::load(key);
        let doc = sign_element(&self.unsigned(), &self.assertion_id, &key);
        b64(sign_element(&doc, &self.response_id, &key).as_bytes())
    }

    pub fn signed(&self) -> String {
        self.signed_by("idp")
    }

    /// Only the Response signed (OneLogin, PingFederate, Auth0 can do this), as the POST binding
    /// carries it.
    pub fn response_signed_only(&self) -> String {
        let key = Key::load("idp");
        b64(sign_element(&self.unsigned(), &self.response_id, &key).as_bytes())
    }

    /// Both signed, as XML (for tests that encode it themselves).
    pub fn signed_xml(&self) -> String {
        let key = Key::load("idp");
        let doc = sign_element(&self.unsigned(), &self.assertion_id, &key);
        sign_element(&doc, &self.response_id, &key)
    }

    /// Signed, then the NameID changed (the signatures no longer match).
    pub fn tampered(&self) -> String {
        let key = Key::load("idp");
        let doc = sign_element(&self.unsigned(), &self.assertion_id, &key);
        let doc = sign_element(&doc, &self.response_id, &key);
        b64(doc.replace(&self.name_id, "00u-admin").as_bytes())
    }
}
