//! Writes freshly signed test responses (the test IdP key, as `tests/it/common.rs` signs them)
//! into the directory given as the first argument: seeds for the `fuzz/` targets, so the fuzzer
//! starts from responses that verify and mutates its way through every later check.
//!
//! `cargo run -p lanyard-saml --example fuzz_seeds -- fuzz/seeds` (committed; `fuzz/seed-corpus`
//! copies them into the corpus).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[allow(dead_code)]
#[path = "../tests/it/common.rs"]
mod common;

use common::{Resp, SignSpec, TestKey};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: fuzz_seeds DIR");
    std::fs::create_dir_all(&dir).unwrap();
    let key = TestKey::load("idp");
    let spec = SignSpec::new(&key);
    let base = Resp::default();
    let with_advice = Resp {
        assertion_extra:
            r#"<saml:Advice><saml:AssertionIDRef>_a</saml:AssertionIDRef></saml:Advice>"#.into(),
        ..Resp::default()
    };
    let comment = Resp {
        name_id: "admin@acme.example<!---->.evil.test".into(),
        ..Resp::default()
    };
    let seeds = [
        ("signed_both.xml", base.signed_with(true, true, &spec)),
        ("signed_assertion.xml", base.signed_with(true, false, &spec)),
        ("signed_response.xml", base.signed_with(false, true, &spec)),
        ("unsigned.xml", base.unsigned()),
        ("signed_comment.xml", comment.signed_with(true, true, &spec)),
        (
            "signed_advice.xml",
            with_advice.signed_with(true, true, &spec),
        ),
    ];
    for (name, xml) in seeds {
        std::fs::write(std::path::Path::new(&dir).join(name), xml).unwrap();
    }
    println!("wrote {} signed seeds to {dir}", 6);
}
