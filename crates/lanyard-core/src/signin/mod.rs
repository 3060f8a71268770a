//! The ways in: local password sign-in and each federation protocol's flow. Every flow verifies
//! what its protocol sent, hands the result to the one identity path ([`crate::identity`]) and
//! opens a session ([`crate::session`]).

pub mod jwt;
pub mod oidc;
pub mod saml;
