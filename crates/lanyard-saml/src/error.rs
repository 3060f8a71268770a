//! The one error type of this crate.
//!
//! Every variant has a stable machine-readable [`Error::code`] (shown on the user's error page,
//! in the audit log, in API errors and as a metric label) and a [`Error::help`] sentence that
//! tells an IdP administrator what to change. `Display` gives the specific detail.

/// Everything that can go wrong while verifying or parsing SAML messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input exceeded the configured byte size.
    #[error("message is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The document has more nodes, attributes or nesting than allowed.
    #[error("XML document exceeds a structural limit: {0}")]
    LimitExceeded(&'static str),
    /// The document contains a DOCTYPE / DTD / entity declaration.
    #[error("XML document contains a DOCTYPE declaration")]
    DtdForbidden,
    /// Not well-formed XML, not UTF-8, or not the expected SAML element structure.
    #[error("malformed message: {0}")]
    MalformedXml(String),
    /// A base64 field (SAMLResponse, DigestValue, SignatureValue, certificate) did not decode.
    #[error("invalid base64 in {0}")]
    BadBase64(&'static str),
    /// The `SAMLResponse` posted to the ACS is base64 of DEFLATE-compressed data (raw DEFLATE,
    /// zlib or gzip): the HTTP-Redirect binding's encoding used on the HTTP-POST binding.
    #[error(
        "the SAMLResponse is {0}-compressed before base64 (HTTP-Redirect binding encoding), but the HTTP-POST binding sends plain base64"
    )]
    DeflatedResponse(&'static str),
    /// The `SAMLResponse` uses the URL-safe base64 alphabet (`-` and `_`).
    #[error(
        "the SAMLResponse is in URL-safe base64 (with - and _), not the standard alphabet the HTTP-POST binding uses"
    )]
    UrlSafeBase64,
    /// The `SAMLResponse` is base64 of base64 of the response.
    #[error("the SAMLResponse is base64-encoded twice")]
    DoubleBase64,
    /// The `SAMLResponse` is still percent-encoded after form decoding (URL-encoded twice).
    #[error(
        "the SAMLResponse is still percent-encoded (%XX) after form decoding: it was URL-encoded twice"
    )]
    PercentEncoded,
    /// The `SAMLResponse` had its `+` characters turned into spaces (sent without form encoding).
    #[error(
        "the SAMLResponse contains spaces where base64 has '+': it was posted without form (URL) encoding"
    )]
    PlusAsSpace,
    /// The `SAMLResponse` is XML as is, not base64.
    #[error("the SAMLResponse is raw XML, not base64-encoded")]
    UnencodedXml,
    /// Inflating an HTTP-Redirect binding message failed.
    #[error("could not inflate the DEFLATE-compressed message: {0}")]
    BadDeflate(String),
    /// An xs:dateTime value could not be parsed.
    #[error("invalid xs:dateTime {0:?}")]
    BadTime(String),
    /// Two elements carry the same ID.
    #[error("duplicate ID {0:?} in the document")]
    DuplicateId(String),
    /// More than one Assertion (or none) where exactly one is required.
    #[error("the response must contain exactly one Assertion, found {0}")]
    MultipleAssertions(usize),
    /// The response contains no Assertion.
    #[error("the response contains no Assertion")]
    NoAssertion,
    /// EncryptedAssertion / EncryptedID are not supported.
    #[error("encrypted {0} is not supported")]
    EncryptedUnsupported(&'static str),
    /// Neither the Assertion nor (when allowed) the Response is signed.
    #[error("the Assertion is not signed{}", if *.response_signed { " (only the Response is)" } else { "" })]
    UnsignedAssertion { response_signed: bool },
    /// A signature is structurally wrong or does not verify.
    #[error("signature invalid: {0}")]
    BadSignature(&'static str),
    /// The Reference does not point at the element that contains the Signature.
    #[error("signature reference invalid: {0}")]
    BadReference(&'static str),
    /// A Transform other than enveloped-signature followed by exclusive c14n.
    #[error("unsupported transform or canonicalization {0:?}")]
    BadTransform(String),
    /// SignatureMethod not on the allow-list.
    #[error("signature algorithm {0:?} is not allowed")]
    BadSignatureAlgorithm(String),
    /// DigestMethod not on the allow-list.
    #[error("digest algorithm {0:?} is not allowed")]
    BadDigestAlgorithm(String),
    /// No certificate configured for the identity provider.
    #[error("no signing certificate is configured for the identity provider")]
    NoCertificate,
    /// A configured certificate is unusable, or the message was signed with a certificate that is
    /// not configured.
    #[error("certificate problem: {0}")]
    BadCertificate(String),
    /// A configured key is too weak (RSA under 2048 bits, unsupported curve).
    #[error("weak or unsupported key: {0}")]
    WeakKey(String),
    /// The verified Assertion has no `AuthnStatement` (SAML profiles 4.1.4.2 requires one in a
    /// Web Browser SSO response; one in Advice or elsewhere in the document does not count).
    #[error("the Assertion has no AuthnStatement")]
    MissingAuthnStatement,
    /// Issuer differs from the configured IdP entity ID.
    #[error("issuer {found:?} is not the configured identity provider {expected:?}")]
    BadIssuer { expected: String, found: String },
    /// Destination differs from the ACS URL (or is missing on a signed Response).
    #[error("destination {found:?} is not this ACS URL {expected:?}")]
    BadDestination { expected: String, found: String },
    /// No bearer SubjectConfirmation has the ACS URL as Recipient.
    #[error("subject confirmation recipient {found:?} is not this ACS URL {expected:?}")]
    BadRecipient { expected: String, found: String },
    /// AudienceRestriction does not name this service provider.
    #[error("audience {found:?} does not include this service provider {expected:?}")]
    BadAudience {
        expected: String,
        found: Vec<String>,
    },
    /// The assertion (or confirmation, or session) has expired.
    #[error("{0} has expired")]
    Expired(&'static str),
    /// The assertion is not yet valid.
    #[error("{0} is not yet valid")]
    NotYetValid(&'static str),
    /// InResponseTo does not match the request we sent.
    #[error("InResponseTo {found:?} does not match the pending request {expected:?}")]
    InResponseToMismatch {
        expected: Option<String>,
        found: Option<String>,
    },
    /// An IdP-initiated (unsolicited) response arrived and those are not allowed.
    #[error("unsolicited (IdP-initiated) response, and IdP-initiated login is not allowed")]
    Unsolicited,
    /// The IdP reported a failure. Status and message are read before any signature check (a
    /// failed login is refused either way): show them as the IdP's unverified words, escaped.
    #[error("the identity provider returned status {status}{}{}",
        sub_status.as_ref().map(|s| format!(" / {s}")).unwrap_or_default(),
        message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    StatusNotSuccess {
        status: String,
        sub_status: Option<String>,
        message: Option<String>,
    },
    /// The Subject has no bearer SubjectConfirmation.
    #[error("the Subject has no bearer SubjectConfirmation")]
    NoBearerConfirmation,
    /// A required element is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// Invalid input to a builder (AuthnRequest, metadata).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl Error {
    /// The stable error code (`saml.*`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::TooLarge { .. } => "saml.too_large",
            Error::LimitExceeded(_) => "saml.too_large",
            Error::DtdForbidden => "saml.dtd_forbidden",
            Error::MalformedXml(_) => "saml.malformed_xml",
            Error::BadBase64(_) => "saml.bad_base64",
            Error::BadDeflate(_) => "saml.bad_deflate",
            Error::DeflatedResponse(_) => "saml.deflated_response",
            Error::UrlSafeBase64 => "saml.url_safe_base64",
            Error::DoubleBase64 => "saml.double_base64",
            Error::PercentEncoded => "saml.percent_encoded",
            Error::PlusAsSpace => "saml.plus_as_space",
            Error::UnencodedXml => "saml.unencoded_xml",
            Error::MissingAuthnStatement => "saml.missing_authn_statement",
            Error::BadTime(_) => "saml.bad_time",
            Error::DuplicateId(_) => "saml.duplicate_id",
            Error::MultipleAssertions(_) => "saml.multiple_assertions",
            Error::NoAssertion => "saml.no_assertion",
            Error::EncryptedUnsupported(_) => "saml.encrypted_unsupported",
            Error::UnsignedAssertion { .. } => "saml.unsigned_assertion",
            Error::BadSignature(_) => "saml.bad_signature",
            Error::BadReference(_) => "saml.bad_reference",
            Error::BadTransform(_) => "saml.bad_transform",
            Error::BadSignatureAlgorithm(_) => "saml.bad_signature_algorithm",
            Error::BadDigestAlgorithm(_) => "saml.bad_digest_algorithm",
            Error::NoCertificate => "saml.no_certificate",
            Error::BadCertificate(_) => "saml.bad_certificate",
            Error::WeakKey(_) => "saml.weak_key",
            Error::BadIssuer { .. } => "saml.bad_issuer",
            Error::BadDestination { .. } => "saml.bad_destination",
            Error::BadRecipient { .. } => "saml.bad_recipient",
            Error::BadAudience { .. } => "saml.bad_audience",
            Error::Expired(_) => "saml.expired",
            Error::NotYetValid(_) => "saml.not_yet_valid",
            Error::InResponseToMismatch { .. } => "saml.in_response_to_mismatch",
            Error::Unsolicited => "saml.unsolicited",
            Error::StatusNotSuccess { .. } => "saml.status_not_success",
            Error::NoBearerConfirmation => "saml.no_bearer_confirmation",
            Error::Missing(_) => "saml.missing_element",
            Error::InvalidArgument(_) => "saml.invalid_argument",
        }
    }

    /// One sentence for the IdP administrator: what to fix.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Error::TooLarge { .. } | Error::LimitExceeded(_) => {
                "The SAML message is larger or more deeply nested than allowed; configure the IdP to send a smaller response (fewer attributes or groups)."
            }
            Error::DtdForbidden => {
                "SAML messages must not contain a DOCTYPE; the message was refused as a possible XML entity attack."
            }
            Error::MalformedXml(_) | Error::BadBase64(_) | Error::BadDeflate(_) => {
                "The message is not a well-formed SAML 2.0 message; check that the IdP posts a SAML Response (base64 of UTF-8 XML) to this ACS URL."
            }
            Error::DeflatedResponse(_) => {
                "The IdP (or a proxy in front of this server) compressed the response with DEFLATE as the HTTP-Redirect binding does, but posted it to the ACS, which uses the HTTP-POST binding: configure the IdP to send the response with the HTTP-POST binding (plain base64, no compression)."
            }
            Error::UrlSafeBase64 => {
                "The response was encoded with the URL-safe base64 alphabet; the HTTP-POST binding requires standard base64 (with + and /): check the IdP's or the proxy's SAML binding settings."
            }
            Error::DoubleBase64 => {
                "The response was base64-encoded twice; the IdP or a proxy in front of this server encodes it once too often: check its SAML binding settings."
            }
            Error::PercentEncoded => {
                "The response was URL-encoded twice (it still contains %XX sequences after form decoding); the IdP or a proxy in front of this server encodes it once too often."
            }
            Error::PlusAsSpace => {
                "The response was posted without URL-encoding the form field, so its '+' characters arrived as spaces; the IdP or a proxy in front of this server must post it as application/x-www-form-urlencoded."
            }
            Error::UnencodedXml => {
                "The response was posted as raw XML; the HTTP-POST binding requires the SAMLResponse field to be the base64 of the XML: check the IdP's or the proxy's SAML binding settings."
            }
            Error::MissingAuthnStatement => {
                "The assertion has no AuthnStatement, which a sign-in response must carry; configure the IdP to send an authentication (sign-in) assertion, not an attribute-only assertion, for this application."
            }
            Error::BadTime(_) => {
                "A timestamp in the message is not a valid xs:dateTime; check the IdP's SAML implementation."
            }
            Error::DuplicateId(_) => {
                "The message contains two elements with the same ID, a sign of a signature-wrapping attack; it was refused."
            }
            Error::MultipleAssertions(_) | Error::NoAssertion => {
                "The response must carry exactly one Assertion; configure the IdP to send one assertion per response."
            }
            Error::EncryptedUnsupported(_) => {
                "Encrypted assertions are not supported; turn off assertion encryption for this application in the IdP."
            }
            Error::UnsignedAssertion { .. } => {
                "Configure the IdP to sign the assertion (for example 'Sign assertion' or 'Sign response and assertion')."
            }
            Error::BadSignature(_) | Error::BadReference(_) => {
                "The signature does not verify with the configured certificate; make sure the certificate configured here is the IdP's current signing certificate and that nothing modifies the response in transit."
            }
            Error::BadTransform(_) => {
                "The signature uses an unsupported transform; configure the IdP to use exclusive canonicalization (xml-exc-c14n#) with an enveloped signature."
            }
            Error::BadSignatureAlgorithm(_) => {
                "Configure the IdP to sign with RSA-SHA256 (or stronger: RSA-SHA384/512, ECDSA-SHA256/384); SHA-1 is refused unless explicitly allowed on this connection."
            }
            Error::BadDigestAlgorithm(_) => {
                "Configure the IdP to use the SHA-256 digest algorithm (or SHA-384/512); SHA-1 is refused unless explicitly allowed on this connection."
            }
            Error::NoCertificate => {
                "Add the IdP's signing certificate to this connection (paste it or import the IdP metadata)."
            }
            Error::BadCertificate(_) => {
                "The response was signed with a certificate that is not configured on this connection; upload the IdP's current signing certificate (or re-import its metadata)."
            }
            Error::WeakKey(_) => {
                "The IdP's signing key is too weak or unsupported; use an RSA key of at least 2048 bits or an ECDSA P-256/P-384 key."
            }
            Error::BadIssuer { .. } => {
                "The Issuer does not match the IdP entity ID configured on this connection; copy the exact entity ID (issuer) from the IdP metadata."
            }
            Error::BadDestination { .. } => {
                "The response's Destination is not this connection's ACS URL; set the ACS (reply) URL in the IdP to exactly the one shown for this connection."
            }
            Error::BadRecipient { .. } => {
                "The assertion's Recipient is not this connection's ACS URL; set the ACS (reply) URL in the IdP to exactly the one shown for this connection."
            }
            Error::BadAudience { .. } => {
                "The assertion's Audience is not this connection's SP entity ID; set the Audience / SP entity ID in the IdP to exactly the one shown for this connection."
            }
            Error::Expired(_) => {
                "The assertion has expired; check that the IdP's clock is correct and retry the login."
            }
            Error::NotYetValid(_) => {
                "The assertion is not valid yet; the IdP's clock is probably ahead, correct it (or raise the allowed clock skew)."
            }
            Error::InResponseToMismatch { .. } => {
                "The response does not answer the login request this browser started; start the login again from this application."
            }
            Error::Unsolicited => {
                "IdP-initiated login is not enabled for this connection; start the login from this application, or allow IdP-initiated login in the connection settings."
            }
            Error::StatusNotSuccess { .. } => {
                "The IdP refused the login; check the status and message shown and the IdP's logs (user not assigned to the application, for example)."
            }
            Error::NoBearerConfirmation => {
                "The assertion has no bearer SubjectConfirmation; configure the IdP for the Web Browser SSO profile (HTTP-POST binding)."
            }
            Error::Missing(_) => {
                "A required SAML element is missing from the response; check the IdP's SAML application configuration."
            }
            Error::InvalidArgument(_) => {
                "A setting on this connection is invalid; check the connection settings."
            }
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_prefixed() {
        let samples = [
            Error::DtdForbidden,
            Error::Unsolicited,
            Error::BadSignature("x"),
            Error::Expired("assertion"),
            Error::StatusNotSuccess {
                status: "s".into(),
                sub_status: None,
                message: Some("m".into()),
            },
        ];
        for e in samples {
            assert!(e.code().starts_with("saml."), "{}", e.code());
            assert!(e.help().ends_with('.'));
        }
        assert_eq!(Error::DtdForbidden.code(), "saml.dtd_forbidden");
        assert_eq!(
            Error::StatusNotSuccess {
                status: "s".into(),
                sub_status: Some("t".into()),
                message: Some("m".into())
            }
            .to_string(),
            "the identity provider returned status s / t: m"
        );
    }
}
