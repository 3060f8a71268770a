//! Integration tests of the domain and its store, run against SQLite and (when
//! `LANYARD_TEST_DATABASE_URL` is set) PostgreSQL, each test in its own database or schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

mod admin;
mod app_secrets;
mod auth;
mod console;
mod content;
mod content_contacts;
mod device;
mod domains;
mod harness;
mod idp_identities;
mod jwt_keys;
mod jwt_login;
mod jwt_login_flow;
mod mail;
mod oidc;
mod provider;
mod provisioning;
mod provisioning_access;
mod provisioning_races;
mod provisioning_roles;
mod saml;
mod session_cache;
mod settings_cache;
mod signin_txn;
mod store;
mod tenant_language;
mod user_races;
