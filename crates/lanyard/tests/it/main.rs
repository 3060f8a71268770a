//! End-to-end tests: the real `lanyard` binary on a free loopback port.

mod cli;
mod harness;
mod serve;
