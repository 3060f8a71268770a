//! Shared helpers: fixture paths, IdP keys, a small SAML response signer for negative tests.

use std::path::PathBuf;
use std::time::SystemTime;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn read_str(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

pub fn at(ts: &str) -> SystemTime {
    lanyard_saml::time::from_millis(lanyard_saml::time::parse_datetime(ts).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Test IdP: keys from tests/fixtures/keys (made by tests/fixtures/gen.sh), a response template
// and an enveloped-signature signer (aws-lc-rs), so that negative cases start from a validly
// signed response and change exactly one thing.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use lanyard_saml::{IdentityProvider, Options, ServiceProvider, TrustedKeys, VerifiedAssertion};

pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

pub const IDP: &str = "https://idp.example.test/metadata";
pub const SP: &str = "https://sso.example.test/t/acme/saml/okta";
pub const ACS: &str = "https://sso.example.test/t/acme/saml/okta/acs";
pub const REQ: &str = "_req_7f3a";
/// The frozen "now" of every generated response.
pub const NOW: &str = "2026-01-01T12:00:00Z";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn pem_der(rel: &str) -> Vec<u8> {
    let text = read_str(rel);
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

pub enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A signing key and the certificate that goes with it.
pub struct TestKey {
    pub signer: Signer,
    pub cert: Vec<u8>,
}

impl TestKey {
    /// `idp`, `attacker` (RSA-2048) or `ec` (P-256).
    pub fn load(name: &str) -> TestKey {
        let pk8 = pem_der(&format!("keys/{name}.pk8.pem"));
        let cert = pem_der(&format!("keys/{name}.crt"));
        let signer = if name == "ec" {
            Signer::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pk8).unwrap())
        } else {
            Signer::Rsa(RsaKeyPair::from_pkcs8(&pk8).unwrap())
        };
        TestKey { signer, cert }
    }

    pub fn algorithm(&self) -> &'static str {
        match self.signer {
            Signer::Rsa(_) => RSA_SHA256,
            Signer::Ec(_) => ECDSA_SHA256,
        }
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig).unwrap();
                sig
            }
            Signer::Ec(k) => {
                let _ = k.public_key();
                k.sign(&rng, msg).unwrap().as_ref().to_vec()
            }
        }
    }
}

/// How to sign: algorithm URIs and the certificate to put in KeyInfo (None: no KeyInfo).
pub struct SignSpec<'a> {
    pub key: &'a TestKey,
    pub signature_method: &'a str,
    pub digest_method: &'a str,
    pub key_info_cert: Option<&'a [u8]>,
    /// Sign this DigestValue instead of the element's real digest.
    pub digest_override: Option<Vec<u8>>,
}

impl<'a> SignSpec<'a> {
    pub fn new(key: &'a TestKey) -> Self {
        SignSpec {
            key,
            signature_method: key.algorithm(),
            digest_method: SHA256,
            key_info_cert: Some(&key.cert),
            digest_override: None,
        }
    }
}

/// Inserts an enveloped signature into the element whose ID is `id`, right after its Issuer.
/// The digest and the canonical SignedInfo come from the crate's c14n (its exc-c14n output is
/// checked byte for byte against SSOReady's cases, and the real IdP responses verify with it).
pub fn sign_element(doc_text: &str, id: &str, spec: &SignSpec<'_>) -> String {
    use lanyard_saml::c14n::{Options as C14n, canonicalize};
    use lanyard_saml::xml::{Limits, parse};
    let doc = parse(doc_text.as_bytes(), &Limits::default()).unwrap();
    let el = doc
        .descendants()
        .find(|n| n.attribute("ID") == Some(id))
        .unwrap();
    let real = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &canonicalize(el, &C14n::default()),
    );
    let digest: Vec<u8> = spec
        .digest_override
        .clone()
        .unwrap_or_else(|| real.as_ref().to_vec());
    let signed_info = format!(
        r##"<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC}"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{}"></ds:SignatureMethod><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"></ds:Transform><ds:Transform Algorithm="{EXC}"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{}"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
        spec.signature_method,
        spec.digest_method,
        b64(&digest)
    );
    let sig = spec.key.sign(signed_info.as_bytes());
    let key_info = spec
        .key_info_cert
        .map(|c| format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>", b64(c)))
        .unwrap_or_default();
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{DS}">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue>{key_info}</ds:Signature>"#,
        b64(&sig)
    );
    let issuer = el
        .children()
        .find(|c| c.tag_name().name() == "Issuer")
        .unwrap();
    let at = issuer.range().end;
    format!("{}{signature}{}", &doc_text[..at], &doc_text[at..])
}

/// A response template; every field is one knob a negative test can turn.
#[derive(Clone)]
pub struct Resp {
    pub response_id: String,
    pub assertion_id: String,
    pub response_issuer: Option<String>,
    pub assertion_issuer: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
    pub status_message: Option<String>,
    pub name_id: String,
    pub method: String,
    pub recipient: String,
    pub sc_not_on_or_after: String,
    pub not_before: String,
    pub not_on_or_after: String,
    pub audience: String,
    pub session_not_on_or_after: Option<String>,
    /// Raw XML appended inside the Assertion (after AttributeStatement).
    pub assertion_extra: String,
    /// Raw XML inserted in the Response between Status and the Assertion.
    pub response_extra: String,
}

impl Default for Resp {
    fn default() -> Self {
        Resp {
            response_id: "_resp_1".into(),
            assertion_id: "_assert_1".into(),
            response_issuer: Some(IDP.into()),
            assertion_issuer: IDP.into(),
            destination: Some(ACS.into()),
            in_response_to: Some(REQ.into()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            status_message: None,
            name_id: "alice@acme.example".into(),
            method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".into(),
            recipient: ACS.into(),
            sc_not_on_or_after: "2026-01-01T12:05:00Z".into(),
            not_before: "2026-01-01T11:55:00Z".into(),
            not_on_or_after: "2026-01-01T12:05:00Z".into(),
            audience: SP.into(),
            session_not_on_or_after: Some("2026-01-01T20:00:00Z".into()),
            assertion_extra: String::new(),
            response_extra: String::new(),
        }
    }
}

impl Resp {
    pub fn assertion_xml(&self) -> String {
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
        format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" IssueInstant="2026-01-01T12:00:00Z" Version="2.0">"#,
                r#"<saml:Issuer>{iss}</saml:Issuer>"#,
                r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{nameid}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{scnoa}" Recipient="{rcpt}"/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="2026-01-01T11:59:00Z" SessionIndex="_sess_9"{snoa}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                r#"<saml:AttributeStatement><saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue xsi:type="xs:string">alice@acme.example</saml:AttributeValue></saml:Attribute>"#,
                r#"<saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>dev &amp; ops</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"#,
                "{extra}</saml:Assertion>"
            ),
            aid = self.assertion_id,
            iss = self.assertion_issuer,
            nameid = self.name_id,
            method = self.method,
            irt = irt,
            scnoa = self.sc_not_on_or_after,
            rcpt = self.recipient,
            nb = self.not_before,
            noa = self.not_on_or_after,
            aud = self.audience,
            snoa = snoa,
            extra = self.assertion_extra,
        )
    }

    /// The Response around `assertion` (already signed or not).
    pub fn response_xml(&self, assertion: &str) -> String {
        let dest = self
            .destination
            .as_ref()
            .map(|v| format!(r#" Destination="{v}""#))
            .unwrap_or_default();
        let irt = self
            .in_response_to
            .as_ref()
            .map(|v| format!(r#" InResponseTo="{v}""#))
            .unwrap_or_default();
        let issuer = self
            .response_issuer
            .as_ref()
            .map(|v| format!(r#"<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{v}</saml:Issuer>"#))
            .unwrap_or_default();
        let msg = self
            .status_message
            .as_ref()
            .map(|m| format!("<samlp:StatusMessage>{m}</samlp:StatusMessage>"))
            .unwrap_or_default();
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{}" Version="2.0" IssueInstant="2026-01-01T12:00:00Z"{dest}{irt}>{issuer}<samlp:Status><samlp:StatusCode Value="{}"/>{msg}</samlp:Status>{}{assertion}</samlp:Response>"#,
            self.response_id, self.status, self.response_extra
        )
    }

    pub fn unsigned(&self) -> String {
        self.response_xml(&self.assertion_xml())
    }

    /// Signs the Assertion (first) and/or the Response with `spec`.
    pub fn signed_with(
        &self,
        sign_assertion: bool,
        sign_response: bool,
        spec: &SignSpec<'_>,
    ) -> String {
        let mut doc = self.unsigned();
        if sign_assertion {
            doc = sign_element(&doc, &self.assertion_id, spec);
        }
        if sign_response {
            doc = sign_element(&doc, &self.response_id, spec);
        }
        doc
    }

    /// Assertion and Response both signed by the test IdP key.
    pub fn signed(&self) -> String {
        let key = TestKey::load("idp");
        self.signed_with(true, true, &SignSpec::new(&key))
    }
}

pub fn sp() -> ServiceProvider {
    ServiceProvider {
        entity_id: SP.into(),
        acs_url: ACS.into(),
    }
}

pub fn idp_with(certs: &[&str]) -> IdentityProvider {
    let ders: Vec<Vec<u8>> = certs
        .iter()
        .map(|c| pem_der(&format!("keys/{c}.crt")))
        .collect();
    IdentityProvider {
        entity_id: IDP.into(),
        keys: TrustedKeys::from_der_certs(&ders).unwrap(),
    }
}

pub fn opts() -> Options<'static> {
    let mut o = Options::new(at(NOW));
    o.expected_in_response_to = Some(REQ);
    o
}

/// Verifies with the test IdP certificate and default options (plus the pending request ID).
pub fn check(xml: &str) -> Result<VerifiedAssertion, lanyard_saml::Error> {
    lanyard_saml::verify_response(xml.as_bytes(), &sp(), &idp_with(&["idp"]), &opts())
}

pub fn check_with(xml: &str, o: &Options<'_>) -> Result<VerifiedAssertion, lanyard_saml::Error> {
    lanyard_saml::verify_response(xml.as_bytes(), &sp(), &idp_with(&["idp"]), o)
}

/// The error code of a refusal (panics on success).
pub fn code(r: Result<VerifiedAssertion, lanyard_saml::Error>) -> &'static str {
    match r {
        Ok(v) => panic!("expected a refusal, got {:?}", v.name_id),
        Err(e) => e.code(),
    }
}
