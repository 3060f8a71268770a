//! Device-grant user codes as people type them (`normalize_user_code`) on arbitrary text.
//!
//! Invariants: a normalised code is 8 letters of the code alphabet; normalising is idempotent
//! and ignores the display dash, case and spaces (`format_user_code` round-trips); a text with
//! any other character, or of the wrong length, is never a code.
#![no_main]

use lanyard_core::provider::device::{
    USER_CODE_ALPHABET, USER_CODE_LEN, format_user_code, normalize_user_code,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|typed: &str| {
    let Some(code) = normalize_user_code(typed) else {
        return;
    };
    assert_eq!(code.len(), USER_CODE_LEN);
    assert!(
        code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
        "{code}"
    );
    assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
    let shown = format_user_code(&code);
    assert_eq!(normalize_user_code(&shown).as_deref(), Some(code.as_str()));
    assert_eq!(
        normalize_user_code(&shown.to_lowercase()).as_deref(),
        Some(code.as_str())
    );
    // Every character typed was a code letter (any case), a dash or whitespace.
    assert!(typed.chars().all(|c| c == '-'
        || c.is_whitespace()
        || (c.is_ascii() && USER_CODE_ALPHABET.contains(&(c.to_ascii_uppercase() as u8)))));
});
