//! In-process tests of every HTTP surface, driving the router with `oneshot`.

mod api;
mod harness;
mod health;
mod login;
