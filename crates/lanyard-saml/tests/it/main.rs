//! Integration tests for lanyard-saml (one test binary, one module per surface).
//!
//! Test code may panic on unexpected results (clippy.toml allows it inside `#[test]` functions;
//! the helpers shared by the modules need the same allowance).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod authn_statement;
mod c14n_fixtures;
mod common;
mod generated;
mod generated_policy;
mod idp_fixtures;
mod metadata;
mod post_binding;
mod response_only;
mod robustness;
mod xmlsec_differential;
