//! The ways in: password login, SAML, OpenID Connect and JWT remote login, one module each.

pub mod jwt;
pub mod login;
pub mod oidc;
pub mod saml;
