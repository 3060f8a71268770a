//! SAML 2.0 service-provider protocol (placeholder until the verifier lands).
