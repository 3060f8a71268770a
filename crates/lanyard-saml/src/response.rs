//! The assertion consumer: [`verify_response`] turns the bytes posted to the ACS into a
//! [`VerifiedAssertion`] or an [`Error`].
//!
//! Order of checks (each failure has its own code):
//! 1. limits, UTF-8, no DOCTYPE, well-formed; root is `samlp:Response` version 2.0; IDs unique;
//! 2. `StatusCode` is Success (else the IdP's status and message are returned);
//! 3. exactly one `saml:Assertion` as a direct child (no `EncryptedAssertion`), and no other
//!    Assertion anywhere in the document except inside that Assertion's `Advice` (never read);
//! 4. every `ds:Signature` in the document is the direct child of the Response or of that
//!    Assertion; each present signature is checked against the closed profile (algorithms first,
//!    so a weak algorithm is reported as such);
//! 5. signing requirement: a signed Response (whose digest covers the Assertion) or a signed
//!    Assertion; with `require_signed_assertions` (off by default) the Assertion itself must be
//!    signed. At least one signature is always required;
//! 6. every present signature must verify with a configured key (a broken Response signature is
//!    fatal even when the Assertion's is good);
//! 7. Response `Issuer` (if present) and Assertion `Issuer` equal the IdP entity ID; `Destination`
//!    equals the ACS URL (required when the Response is signed);
//! 8. `Conditions` NotBefore / NotOnOrAfter with the clock skew, each `AudienceRestriction`
//!    contains the SP entity ID;
//! 9. a bearer `SubjectConfirmation` with Recipient = ACS URL, NotOnOrAfter in the future and
//!    InResponseTo matching the pending request (or none, for allowed IdP-initiated logins);
//!    an `AuthnStatement` as a direct child of the verified Assertion (SAML profiles 4.1.4.2;
//!    one inside Advice or anywhere else does not count);
//! 10. claims (NameID, attributes, AuthnStatement) are then read from the verified Assertion node
//!     itself — the same roxmltree node whose canonical form was digested — never by searching the
//!     document again.

use std::time::{Duration, SystemTime};

use roxmltree::Node;

use crate::dsig::{self, Policy};
use crate::error::{Error, Result};
use crate::keys::TrustedKeys;
use crate::time::{self, UnixMillis};
use crate::xml::{self, Limits, NS_ASSERTION, NS_DSIG, NS_PROTOCOL};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// This connection as a SAML service provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    /// The SP entity ID (the Audience the IdP must name).
    pub entity_id: String,
    /// The Assertion Consumer Service URL (Destination and Recipient).
    pub acs_url: String,
}

/// The identity provider configured on this connection.
#[derive(Debug)]
pub struct IdentityProvider {
    /// The IdP entity ID (the Issuer).
    pub entity_id: String,
    /// Its signing certificates, parsed once.
    pub keys: TrustedKeys,
}

/// Per-verification options. Build with [`Options::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The instant to verify at (the server passes its clock; tests and the debugger a fixed time).
    pub now: SystemTime,
    /// Allowed clock difference with the IdP (default 90 s).
    pub clock_skew: Duration,
    /// Require the Assertion itself to be signed (default false: a verified signature on the
    /// Response, whose digest covers the Assertion, is enough).
    pub require_signed_assertions: bool,
    /// Accept responses without InResponseTo when no request is pending (default false).
    pub allow_idp_initiated: bool,
    /// The ID of the AuthnRequest this browser's pending login sent, if any.
    pub expected_in_response_to: Option<&'a str>,
    /// Accept rsa-sha1 / sha1 (default false).
    pub allow_sha1: bool,
    /// Refuse an AudienceRestriction that names other audiences besides this SP (default false:
    /// the SP entity ID only has to be among them, as SAML Core 2.5.1.4 says).
    pub exclusive_audience: bool,
    /// Parser limits.
    pub limits: Limits,
}

impl Options<'_> {
    /// Defaults at `now`: 90 s skew, a signed Response or Assertion, no IdP-initiated login, no SHA-1.
    #[must_use]
    pub fn new(now: SystemTime) -> Self {
        Options {
            now,
            clock_skew: Duration::from_secs(90),
            require_signed_assertions: false,
            allow_idp_initiated: false,
            expected_in_response_to: None,
            allow_sha1: false,
            exclusive_audience: false,
            limits: Limits::default(),
        }
    }
}

/// The subject's name identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameId {
    /// The full text of the NameID (all text nodes concatenated, comments excluded, trimmed).
    pub value: String,
    /// The `Format` attribute, if any.
    pub format: Option<String>,
    /// `NameQualifier`, if any.
    pub name_qualifier: Option<String>,
    /// `SPNameQualifier`, if any.
    pub sp_name_qualifier: Option<String>,
}

/// One SAML attribute, possibly multi-valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`, if any.
    pub friendly_name: Option<String>,
    /// `NameFormat`, if any.
    pub name_format: Option<String>,
    /// Text of each `AttributeValue`, in document order.
    pub values: Vec<String>,
}

/// What a verified response says, read only from verified nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The IdP entity ID (the Assertion's Issuer).
    pub issuer: String,
    /// The subject.
    pub name_id: NameId,
    /// All attributes of all AttributeStatements.
    pub attributes: Vec<Attribute>,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// `AuthnStatement/AuthnContext/AuthnContextClassRef`.
    pub authn_context_class_ref: Option<String>,
    /// `AuthnStatement/@AuthnInstant`.
    pub authn_instant: Option<SystemTime>,
    /// `AuthnStatement/@SessionNotOnOrAfter`: caps the Lanyard session.
    pub session_not_on_or_after: Option<SystemTime>,
    /// The Assertion's ID, for the replay cache.
    pub assertion_id: String,
    /// Keep `assertion_id` in the replay cache until this instant: after it the assertion is
    /// refused as expired anyway (earliest NotOnOrAfter plus the clock skew).
    pub replay_expires_at: SystemTime,
    /// The InResponseTo that was matched, if any (None for an IdP-initiated login).
    pub in_response_to: Option<String>,
    /// Whether the Response carried a (verified) signature.
    pub response_signed: bool,
    /// Whether the Assertion carried a (verified) signature.
    pub assertion_signed: bool,
    /// SHA-256 fingerprint of the configured certificate that verified the signature(s).
    pub signing_certificate_sha256: String,
}

impl VerifiedAssertion {
    /// The first attribute whose `Name` or `FriendlyName` is `name`.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name).or_else(|| {
            self.attributes
                .iter()
                .find(|a| a.friendly_name.as_deref() == Some(name))
        })
    }

    /// All values of the attributes named `name`, merged in document order (IdPs such as Keycloak
    /// repeat an `Attribute` element per value). Matches `Name` first; if no attribute has that
    /// `Name`, matches `FriendlyName`.
    #[must_use]
    pub fn attribute_values(&self, name: &str) -> Vec<&str> {
        let by_name = self.attributes.iter().any(|a| a.name == name);
        self.attributes
            .iter()
            .filter(|a| {
                if by_name {
                    a.name == name
                } else {
                    a.friendly_name.as_deref() == Some(name)
                }
            })
            .flat_map(|a| a.values.iter().map(String::as_str))
            .collect()
    }
}

pub use crate::post_binding::decode_post_binding;

fn skew_ms(opts: &Options<'_>) -> i64 {
    i64::try_from(opts.clock_skew.as_millis()).unwrap_or(i64::MAX)
}

fn time_attr(node: Node<'_, '_>, name: &str) -> Result<Option<UnixMillis>> {
    node.attribute(name).map(time::parse_datetime).transpose()
}

/// `now` is before `not_before` by more than the skew.
fn too_early(now: UnixMillis, not_before: UnixMillis, skew: i64) -> bool {
    now.saturating_add(skew) < not_before
}

/// `now` is at or after `not_on_or_after` plus the skew.
fn too_late(now: UnixMillis, not_on_or_after: UnixMillis, skew: i64) -> bool {
    now >= not_on_or_after.saturating_add(skew)
}

fn opt_string(node: Node<'_, '_>, attr: &str) -> Option<String> {
    node.attribute(attr).map(str::to_string)
}

fn check_status(root: Node<'_, '_>) -> Result<()> {
    let status = xml::required_child(root, NS_PROTOCOL, "Status")?;
    let code = xml::required_child(status, NS_PROTOCOL, "StatusCode")?;
    let value = code.attribute("Value").unwrap_or_default();
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let sub_status = xml::single_child(code, NS_PROTOCOL, "StatusCode")
        .ok()
        .flatten()
        .and_then(|s| s.attribute("Value"))
        .map(str::to_string);
    let message = xml::single_child(status, NS_PROTOCOL, "StatusMessage")
        .ok()
        .flatten()
        .and_then(|m| xml::simple_text(m).ok())
        .map(|m| xml::trim_xml(&m).chars().take(512).collect());
    Err(Error::StatusNotSuccess {
        status: value.chars().take(256).collect(),
        sub_status,
        message,
    })
}

fn check_issuer(
    node: Node<'_, '_>,
    idp: &IdentityProvider,
    required: bool,
) -> Result<Option<String>> {
    let Some(issuer) = xml::single_child(node, NS_ASSERTION, "Issuer")? else {
        return if required {
            Err(Error::Missing("Issuer"))
        } else {
            Ok(None)
        };
    };
    let text = xml::simple_text(issuer)?;
    let value = xml::trim_xml(&text);
    if value != idp.entity_id {
        return Err(Error::BadIssuer {
            expected: idp.entity_id.clone(),
            found: value.chars().take(256).collect(),
        });
    }
    Ok(Some(value.to_string()))
}

/// Verifies a SAML Response posted to the ACS. See the module documentation for the checks.
pub fn verify_response(
    xml_bytes: &[u8],
    sp: &ServiceProvider,
    idp: &IdentityProvider,
    opts: &Options<'_>,
) -> Result<VerifiedAssertion> {
    ParsedResponse::parse(xml_bytes, &opts.limits)?.verify(sp, idp, opts)
}

/// A posted response parsed once (step 1's limits, UTF-8, no DOCTYPE, well-formed), so the ACS
/// can read the lookup hints it needs before verification ([`Self::claimed_in_response_to`],
/// [`Self::claimed_issuer`]: unverified, never trusted for anything else) and then verify the
/// same document without parsing it again.
#[derive(Debug)]
pub struct ParsedResponse<'a> {
    doc: roxmltree::Document<'a>,
}

impl<'a> ParsedResponse<'a> {
    /// Parses `xml_bytes` under `limits` (use the same limits as the verification's options).
    pub fn parse(xml_bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        Ok(Self {
            doc: xml::parse(xml_bytes, limits)?,
        })
    }

    /// The InResponseTo the response claims (on the Response, else on the first
    /// SubjectConfirmationData), at most 256 bytes. Unverified: only to find the pending login.
    pub fn claimed_in_response_to(&self) -> Option<&str> {
        let root = self.doc.root_element();
        root.attribute("InResponseTo")
            .or_else(|| {
                root.descendants()
                    .find(|n| n.is_element() && n.tag_name().name() == "SubjectConfirmationData")
                    .and_then(|n| n.attribute("InResponseTo"))
            })
            .filter(|v| v.len() <= 256)
    }

    /// The Response's Issuer as claimed (trimmed, at most 256 characters). Unverified: only to
    /// tell an admin what arrived.
    pub fn claimed_issuer(&self) -> Option<String> {
        self.doc
            .root_element()
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "Issuer")
            .and_then(|c| c.text())
            .map(|t| t.trim().chars().take(256).collect())
    }

    /// Runs every check of the module documentation on this document.
    pub fn verify(
        &self,
        sp: &ServiceProvider,
        idp: &IdentityProvider,
        opts: &Options<'_>,
    ) -> Result<VerifiedAssertion> {
        verify_document(&self.doc, sp, idp, opts)
    }
}

fn verify_document(
    doc: &roxmltree::Document<'_>,
    sp: &ServiceProvider,
    idp: &IdentityProvider,
    opts: &Options<'_>,
) -> Result<VerifiedAssertion> {
    let root = doc.root_element();
    if !xml::is(root, NS_PROTOCOL, "Response") {
        return Err(Error::MalformedXml(
            "the root element is not a samlp:Response".into(),
        ));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(Error::MalformedXml(
            "the Response is not SAML version 2.0".into(),
        ));
    }
    dsig::check_unique_ids(doc)?;
    check_status(root)?;

    // Exactly one Assertion, a direct child of the Response.
    if xml::children(root, NS_ASSERTION, "EncryptedAssertion")
        .next()
        .is_some()
    {
        return Err(Error::EncryptedUnsupported("assertion"));
    }
    let assertions: Vec<Node<'_, '_>> = xml::children(root, NS_ASSERTION, "Assertion").collect();
    let assertion = match assertions.as_slice() {
        [] => return Err(Error::NoAssertion),
        [one] => *one,
        many => return Err(Error::MultipleAssertions(many.len())),
    };
    // No Assertion hidden anywhere else (Extensions, StatusDetail, Signature/Object, wrappers):
    // only the chosen one and those inside its own Advice (which are never read).
    let advice = xml::single_child(assertion, NS_ASSERTION, "Advice")?;
    let stray = doc
        .descendants()
        .filter(|n| {
            xml::is(*n, NS_ASSERTION, "Assertion")
                || xml::is(*n, NS_ASSERTION, "EncryptedAssertion")
        })
        .filter(|n| *n != assertion && !advice.is_some_and(|a| n.ancestors().any(|x| x == a)))
        .count();
    if stray > 0 {
        return Err(Error::MultipleAssertions(stray + 1));
    }

    // Every signature in the document must be one we verify.
    for sig in doc
        .descendants()
        .filter(|n| xml::is(*n, NS_DSIG, "Signature"))
    {
        let parent = sig.parent_element();
        if parent != Some(root) && parent != Some(assertion) {
            return Err(Error::BadSignature(
                "a Signature appears outside the Response and its Assertion",
            ));
        }
    }
    let policy = Policy {
        allow_sha1: opts.allow_sha1,
    };
    let response_sig = dsig::find_signature(root)?
        .map(|s| dsig::parse_signature(root, s, policy))
        .transpose()?;
    let assertion_sig = dsig::find_signature(assertion)?
        .map(|s| dsig::parse_signature(assertion, s, policy))
        .transpose()?;
    let response_signed = response_sig.is_some();
    let assertion_signed = assertion_sig.is_some();
    if !assertion_signed && (opts.require_signed_assertions || !response_signed) {
        return Err(Error::UnsignedAssertion { response_signed });
    }
    // Every present signature must verify.
    let mut signing_key = None;
    if let Some(sig) = &response_sig {
        signing_key = Some(sig.verify(&idp.keys)?);
    }
    if let Some(sig) = &assertion_sig {
        signing_key = Some(sig.verify(&idp.keys)?);
    }
    let fingerprint = signing_key
        .map(crate::keys::TrustedKey::fingerprint_hex)
        .unwrap_or_default();

    // From here on, only `root` (covered by its signature, if signed) and `assertion` (covered by
    // its own signature or by the Response's) are read, by node identity.
    let now = time::to_millis(opts.now);
    let skew = skew_ms(opts);

    check_issuer(root, idp, false)?;
    match root.attribute("Destination") {
        Some(d) if d == sp.acs_url => {}
        None if !response_signed => {}
        other => {
            return Err(Error::BadDestination {
                expected: sp.acs_url.clone(),
                found: other.unwrap_or_default().chars().take(256).collect(),
            });
        }
    }

    if assertion.attribute("Version") != Some("2.0") {
        return Err(Error::MalformedXml(
            "the Assertion is not SAML version 2.0".into(),
        ));
    }
    let assertion_id = assertion
        .attribute("ID")
        .filter(|v| !v.is_empty())
        .ok_or(Error::Missing("Assertion ID"))?;
    let issuer = check_issuer(assertion, idp, true)?.unwrap_or_default();

    // Conditions: validity window and audience.
    let conditions = xml::required_child(assertion, NS_ASSERTION, "Conditions")?;
    if let Some(nb) = time_attr(conditions, "NotBefore")?
        && too_early(now, nb, skew)
    {
        return Err(Error::NotYetValid("the assertion"));
    }
    let conditions_noa = time_attr(conditions, "NotOnOrAfter")?;
    if let Some(noa) = conditions_noa
        && too_late(now, noa, skew)
    {
        return Err(Error::Expired("the assertion"));
    }
    let mut restrictions = 0;
    for restriction in xml::children(conditions, NS_ASSERTION, "AudienceRestriction") {
        restrictions += 1;
        let audiences = xml::children(restriction, NS_ASSERTION, "Audience")
            .map(|a| xml::simple_text(a).map(|t| xml::trim_xml(&t).to_string()))
            .collect::<Result<Vec<_>>>()?;
        let foreign = audiences.iter().any(|a| *a != sp.entity_id);
        if !audiences.contains(&sp.entity_id) || (opts.exclusive_audience && foreign) {
            return Err(Error::BadAudience {
                expected: sp.entity_id.clone(),
                found: audiences,
            });
        }
    }
    if restrictions == 0 {
        return Err(Error::Missing("AudienceRestriction"));
    }

    // Subject and bearer confirmation.
    let subject = xml::required_child(assertion, NS_ASSERTION, "Subject")?;
    if xml::children(subject, NS_ASSERTION, "EncryptedID")
        .next()
        .is_some()
    {
        return Err(Error::EncryptedUnsupported("NameID"));
    }
    let name_id_el = xml::required_child(subject, NS_ASSERTION, "NameID")?;
    let name_id_text = xml::simple_text(name_id_el)?;
    let name_id_value = xml::trim_xml(&name_id_text);
    if name_id_value.is_empty() {
        return Err(Error::Missing("NameID value"));
    }
    // The Response's InResponseTo is only trusted when the Response itself is signed.
    let response_irt = if response_signed {
        root.attribute("InResponseTo")
    } else {
        None
    };
    let (in_response_to, confirmation_noa) =
        check_bearer(subject, response_irt, sp, opts, now, skew)?;

    // AuthnStatement: required in a Web Browser SSO response (SAML profiles 4.1.4.2), and only a
    // direct child of the verified Assertion counts (never one in Advice or elsewhere).
    let authn = xml::children(assertion, NS_ASSERTION, "AuthnStatement")
        .next()
        .ok_or(Error::MissingAuthnStatement)?;
    let session_not_on_or_after = time_attr(authn, "SessionNotOnOrAfter")?;
    if let Some(t) = session_not_on_or_after
        && too_late(now, t, skew)
    {
        return Err(Error::Expired("the IdP session (SessionNotOnOrAfter)"));
    }
    let authn_instant = time_attr(authn, "AuthnInstant")?;
    let authn_context_class_ref = match xml::single_child(authn, NS_ASSERTION, "AuthnContext")? {
        Some(ctx) => xml::single_child(ctx, NS_ASSERTION, "AuthnContextClassRef")?
            .map(|r| xml::simple_text(r).map(|t| xml::trim_xml(&t).to_string()))
            .transpose()?,
        None => None,
    };

    let attributes = read_attributes(assertion)?;
    let earliest_end = conditions_noa.map_or(confirmation_noa, |c| c.min(confirmation_noa));

    Ok(VerifiedAssertion {
        issuer,
        name_id: NameId {
            value: name_id_value.to_string(),
            format: opt_string(name_id_el, "Format"),
            name_qualifier: opt_string(name_id_el, "NameQualifier"),
            sp_name_qualifier: opt_string(name_id_el, "SPNameQualifier"),
        },
        attributes,
        session_index: opt_string(authn, "SessionIndex"),
        authn_context_class_ref,
        authn_instant: authn_instant.map(time::from_millis),
        session_not_on_or_after: session_not_on_or_after.map(time::from_millis),
        assertion_id: assertion_id.to_string(),
        replay_expires_at: time::from_millis(earliest_end.saturating_add(skew)),
        in_response_to,
        response_signed,
        assertion_signed,
        signing_certificate_sha256: fingerprint,
    })
}

/// Finds a bearer SubjectConfirmation that satisfies Recipient, time and InResponseTo.
/// Returns the matched InResponseTo and the confirmation's NotOnOrAfter. When no bearer
/// confirmation passes, the first one's failure is returned.
fn check_bearer(
    subject: Node<'_, '_>,
    response_irt: Option<&str>,
    sp: &ServiceProvider,
    opts: &Options<'_>,
    now: UnixMillis,
    skew: i64,
) -> Result<(Option<String>, UnixMillis)> {
    let mut first_error = None;
    let mut any = false;
    for sc in xml::children(subject, NS_ASSERTION, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(CM_BEARER) {
            continue;
        }
        any = true;
        match check_one_bearer(sc, response_irt, sp, opts, now, skew) {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if !any {
        return Err(Error::NoBearerConfirmation);
    }
    Err(first_error.unwrap_or(Error::NoBearerConfirmation))
}

fn check_one_bearer(
    sc: Node<'_, '_>,
    response_irt: Option<&str>,
    sp: &ServiceProvider,
    opts: &Options<'_>,
    now: UnixMillis,
    skew: i64,
) -> Result<(Option<String>, UnixMillis)> {
    let data = xml::required_child(sc, NS_ASSERTION, "SubjectConfirmationData")?;
    let recipient = data.attribute("Recipient").unwrap_or_default();
    if recipient != sp.acs_url {
        return Err(Error::BadRecipient {
            expected: sp.acs_url.clone(),
            found: recipient.chars().take(256).collect(),
        });
    }
    let noa = time_attr(data, "NotOnOrAfter")?
        .ok_or(Error::Missing("SubjectConfirmationData NotOnOrAfter"))?;
    if too_late(now, noa, skew) {
        return Err(Error::Expired("the subject confirmation"));
    }
    if let Some(nb) = time_attr(data, "NotBefore")?
        && too_early(now, nb, skew)
    {
        return Err(Error::NotYetValid("the subject confirmation"));
    }
    let sc_irt = data.attribute("InResponseTo");
    if let (Some(a), Some(b)) = (sc_irt, response_irt)
        && a != b
    {
        return Err(Error::InResponseToMismatch {
            expected: Some(b.to_string()),
            found: Some(a.to_string()),
        });
    }
    let found = sc_irt.or(response_irt);
    match (opts.expected_in_response_to, found) {
        (Some(expected), Some(f)) if expected == f => Ok((Some(f.to_string()), noa)),
        (None, None) if opts.allow_idp_initiated => Ok((None, noa)),
        (None, None) => Err(Error::Unsolicited),
        (expected, found) => Err(Error::InResponseToMismatch {
            expected: expected.map(str::to_string),
            found: found.map(|f| f.chars().take(256).collect()),
        }),
    }
}

fn read_attributes(assertion: Node<'_, '_>) -> Result<Vec<Attribute>> {
    let mut out = Vec::new();
    for statement in xml::children(assertion, NS_ASSERTION, "AttributeStatement") {
        if xml::children(statement, NS_ASSERTION, "EncryptedAttribute")
            .next()
            .is_some()
        {
            return Err(Error::EncryptedUnsupported("attribute"));
        }
        for attr in xml::children(statement, NS_ASSERTION, "Attribute") {
            let name = attr
                .attribute("Name")
                .ok_or(Error::Missing("Attribute Name"))?;
            let values = xml::children(attr, NS_ASSERTION, "AttributeValue")
                .map(|v| xml::deep_text(v))
                .collect();
            out.push(Attribute {
                name: name.to_string(),
                friendly_name: opt_string(attr, "FriendlyName"),
                name_format: opt_string(attr, "NameFormat"),
                values,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_window_boundaries() {
        // Exactly at NotOnOrAfter with no skew: expired. One millisecond before: fine.
        assert!(too_late(1000, 1000, 0));
        assert!(!too_late(999, 1000, 0));
        // Within the skew: fine; at NotOnOrAfter + skew: expired.
        assert!(!too_late(1089, 1000, 90));
        assert!(too_late(1090, 1000, 90));
        assert!(too_early(899, 1000, 100));
        assert!(!too_early(900, 1000, 100));
    }

    #[test]
    fn post_binding_decoding() {
        let limits = Limits {
            max_bytes: 8,
            ..Limits::default()
        };
        assert_eq!(
            decode_post_binding("PGEv\r\nPg==", &limits).unwrap(),
            b"<a/>"
        );
        assert_eq!(
            decode_post_binding("PGEvPjxhLz48YS8+", &limits)
                .unwrap_err()
                .code(),
            "saml.too_large"
        );
        assert_eq!(
            decode_post_binding(&"A".repeat(1000), &limits)
                .unwrap_err()
                .code(),
            "saml.too_large"
        );
        assert_eq!(
            decode_post_binding("%%%", &limits).unwrap_err().code(),
            "saml.bad_base64"
        );
    }

    #[test]
    fn attribute_lookup_by_name_or_friendly_name() {
        let v = VerifiedAssertion {
            issuer: "i".into(),
            name_id: NameId {
                value: "n".into(),
                format: None,
                name_qualifier: None,
                sp_name_qualifier: None,
            },
            attributes: vec![Attribute {
                name: "urn:oid:0.9.2342.19200300.100.1.3".into(),
                friendly_name: Some("mail".into()),
                name_format: None,
                values: vec!["a@b".into(), "c@d".into()],
            }],
            session_index: None,
            authn_context_class_ref: None,
            authn_instant: None,
            session_not_on_or_after: None,
            assertion_id: "x".into(),
            replay_expires_at: SystemTime::UNIX_EPOCH,
            in_response_to: None,
            response_signed: false,
            assertion_signed: true,
            signing_certificate_sha256: String::new(),
        };
        assert_eq!(v.attribute_values("mail"), ["a@b", "c@d"]);
        assert_eq!(
            v.attribute_values("urn:oid:0.9.2342.19200300.100.1.3")
                .len(),
            2
        );
        assert!(v.attribute_values("nope").is_empty());
    }
}
