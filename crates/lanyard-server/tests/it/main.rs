//! In-process tests of every HTTP surface, driving the router with `oneshot`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

mod api;
mod api_outbox;
mod api_routes;
mod console;
mod console_apps;
mod console_oidc;
mod console_portal_oidc;
mod console_settings;
mod console_setup;
mod console_sites;
mod console_users;
mod dev_idp;
mod device;
mod domains;
mod forward_auth;
mod forward_auth_contacts;
mod forward_auth_paths;
mod harness;
mod health;
mod home;
mod i18n_pages;
mod jwt;
mod login;
mod mfa;
mod oidc;
mod oidc_pasted_keys;
mod oidc_rfc9207;
mod outbound;
mod provider;
mod provider_admin;
mod provider_errors;
mod provider_logout;
mod provisioning;
mod provisioning_access;
mod recovery;
mod routing;
mod saml;
mod saml_connections;
mod saml_idp;
