//! SAML timestamps (`xs:dateTime` in NotBefore, NotOnOrAfter, IssueInstant, AuthnInstant) on
//! arbitrary text.
//!
//! Invariants: a parsed instant formats (whole seconds, UTC) to text that parses back to the
//! same second; an instant written here from any second of years 0001-9999 parses back exactly.
#![no_main]

use arbitrary::Arbitrary;
use lanyard_saml::time::{format_datetime, from_millis, parse_datetime};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    secs: i64,
}

fuzz_target!(|i: Input| {
    if let Ok(ms) = parse_datetime(&i.text) {
        let shown = format_datetime(from_millis(ms));
        let again = parse_datetime(&shown).unwrap_or_else(|e| panic!("{shown}: {e:?}"));
        assert_eq!(again, ms.div_euclid(1000) * 1000, "{} → {shown}", i.text);
    }
    // 0001-01-01 .. 9999-12-31
    let secs = i.secs.rem_euclid(253_402_300_800 + 62_135_596_800) - 62_135_596_800;
    let shown = format_datetime(from_millis(secs * 1000));
    assert_eq!(parse_datetime(&shown).ok(), Some(secs * 1000), "{shown}");
});
