//! Integration tests of the domain and its store, run against SQLite and (when
//! `LANYARD_TEST_DATABASE_URL` is set) PostgreSQL, each test in its own database or schema.

mod admin;
mod auth;
mod harness;
mod store;
