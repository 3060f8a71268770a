//! SAML 2.0 service-provider protocol for Lanyard: pure, bytes and a time in, typed values or
//! typed errors out. No I/O, no clock reads, no storage.
//!
//! - [`xml`]: one parser (roxmltree), size/node/depth limits, DOCTYPE refused.
//! - [`c14n`]: exclusive XML canonicalization 1.0 (without comments), written in-project.
//! - [`dsig`]: XML-DSig verification, closed profile (enveloped, exc-c14n, one Reference).
//! - [`keys`]: the IdP's configured certificates, parsed once into [`TrustedKeys`].
//! - [`response`]: [`verify_response`], the ACS verifier; claims are read only from verified nodes.
//! - [`metadata`]: IdP metadata parsing and SP metadata generation.
//! - [`authn_request`]: AuthnRequest building for the HTTP-Redirect and HTTP-POST bindings.
//! - [`error`]: [`Error`] with stable `code()`s and admin-facing `help()`.
//! - [`time`]: `xs:dateTime` parsing and formatting (no clock reads).
//!
//! # Use at the ACS
//!
//! ```no_run
//! use std::time::SystemTime;
//! use lanyard_saml::{IdentityProvider, Options, ServiceProvider, TrustedKeys, decode_post_binding, verify_response};
//!
//! # fn acs(saml_response_field: &str, pem: &str, pending_request_id: &str) -> Result<(), lanyard_saml::Error> {
//! // Once per connection (cache it): certificates are parsed and checked here, not per login.
//! let idp = IdentityProvider { entity_id: "https://idp.example/".into(), keys: TrustedKeys::from_pem(pem)? };
//! let sp = ServiceProvider {
//!     entity_id: "https://sso.example/t/acme/saml/okta".into(),
//!     acs_url: "https://sso.example/t/acme/saml/okta/acs".into(),
//! };
//! // Per login.
//! let mut opts = Options::new(SystemTime::now());
//! opts.expected_in_response_to = Some(pending_request_id);
//! let xml = decode_post_binding(saml_response_field, &opts.limits)?;
//! match verify_response(&xml, &sp, &idp, &opts) {
//!     Ok(a) => {
//!         // Consume a.assertion_id in the replay cache until a.replay_expires_at, then build
//!         // the Identity from a.name_id, a.attributes, a.session_not_on_or_after ...
//!         println!("{} via {}", a.name_id.value, a.issuer);
//!     }
//!     Err(e) => eprintln!("{}: {} ({})", e.code(), e.help(), e),
//! }
//! # Ok(()) }
//! ```

pub mod authn_request;
pub mod c14n;
pub mod dsig;
pub mod error;
pub mod keys;
pub mod metadata;
mod post_binding;
pub mod response;
pub mod signing;
pub mod time;
pub mod xml;

pub use error::{Error, Result};
pub use keys::{SignatureAlgorithm, TrustedKey, TrustedKeys};
pub use response::{
    Attribute, IdentityProvider, NameId, Options, ParsedResponse, ServiceProvider,
    VerifiedAssertion, decode_post_binding, verify_response,
};
pub use signing::SigningKey;
