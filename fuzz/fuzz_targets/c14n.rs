//! The XML parser (limits, DOCTYPE refusal) and exclusive c14n of every element of whatever
//! parses, with and without an InclusiveNamespaces list and an excluded child. Checks that the
//! canonical form is UTF-8, re-parses (it is well-formed XML), and is a fixed point.
//! (IdP metadata, pasted certificates and the Redirect binding have their own targets.)
#![no_main]

use lanyard_saml::c14n::{Options, canonicalize};
use lanyard_saml::xml::{Limits, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse(data, &Limits::default()) else {
        return;
    };
    let prefixes = vec!["#default".to_string(), "xs".to_string(), "saml".to_string()];
    for (i, el) in doc
        .descendants()
        .filter(|n| n.is_element())
        .enumerate()
        .take(64)
    {
        let plain = canonicalize(el, &Options::default());
        let text = std::str::from_utf8(&plain).expect("canonical form is UTF-8");
        // The canonical form of an element is itself a well-formed document whose own
        // canonical form is the same bytes (exclusive c14n renders every namespace it uses).
        let again = parse(
            text.as_bytes(),
            &Limits {
                max_bytes: usize::MAX,
                ..Limits::default()
            },
        )
        .unwrap_or_else(|e| panic!("canonical form does not re-parse: {e}\n{text}"));
        let twice = canonicalize(again.root_element(), &Options::default());
        assert_eq!(plain, twice, "c14n is not idempotent");
        let exclude = el.first_element_child().map(|c| c.id());
        let with = Options {
            inclusive_prefixes: if i % 2 == 0 { &prefixes } else { &[] },
            exclude,
        };
        let _ = canonicalize(el, &with);
    }
});
