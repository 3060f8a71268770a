//! Where a person is sent after signing in: `validate::return_to` (login pages, content
//! sign-in, OAuth resume) and the JWT remote login's `landing_page` (`redirect_url`), on
//! arbitrary text.
//!
//! Invariants (open redirect): an accepted target is a path on our own origin whatever base
//! it is resolved against (no `//host`, no backslash, no scheme, no control or white space a
//! browser would strip), and it is a fixed point of the check.
#![no_main]

use arbitrary::Arbitrary;
use lanyard_core::signin::jwt::landing_page;
use lanyard_core::validate::return_to;
use libfuzzer_sys::fuzz_target;

const PUBLIC_URL: &str = "https://sso.example:8443/base";

#[derive(Arbitrary, Debug)]
struct Input {
    target: String,
    absolute: bool,
}

fn same_origin(path: &str) {
    assert!(path.starts_with('/') && !path.starts_with("//"), "{path}");
    assert!(!path.contains('\\') && !path.chars().any(|c| c.is_control() || c.is_whitespace()));
    for base in ["https://a.example/", "http://b.example:81/x/y", PUBLIC_URL] {
        let b = url::Url::parse(base).expect("base");
        let joined = b.join(path).expect("a checked target resolves");
        assert_eq!(joined.origin(), b.origin(), "{path} leaves {base}");
    }
    assert_eq!(return_to(path).as_deref(), Some(path), "not a fixed point");
}

fuzz_target!(|i: Input| {
    if let Some(p) = return_to(&i.target) {
        same_origin(&p);
    }
    let target = if i.absolute {
        format!("https://sso.example:8443{}", i.target)
    } else {
        i.target.clone()
    };
    if let Some(p) = landing_page(&target, PUBLIC_URL) {
        same_origin(&p);
    }
});
