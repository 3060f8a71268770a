//! End-to-end tests: the real `lanyard` binary on a free loopback port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

mod cli;
mod console_browser;
mod console_sites_browser;
mod console_users_browser;
mod dev_idp;
mod device_login;
mod first_run;
mod forward_auth_proxy;
mod harness;
mod jwt_interop;
mod oidc_interop;
mod op_interop;
mod provider_e2e;
mod provisioning_interop;
mod routing_e2e;
mod saml_cli;
mod saml_interop;
mod serve;
