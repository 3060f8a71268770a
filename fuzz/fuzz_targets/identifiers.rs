//! Identifiers people and IdPs send: email domains for domain claims and home-realm discovery
//! (`normalize_domain`: trimming, IDNA, label rules) and email shape (`validate::email`).
//!
//! Invariants: a normalised domain is lowercase ASCII DNS labels (1-63 characters, letters,
//! digits and inner hyphens), at least two, at most 253 bytes, not ending in a numeric label,
//! and normalising it again gives the same; an accepted email has one `@` before a dotted
//! domain and no white space.
#![no_main]

use lanyard_core::domain::normalize_domain;
use lanyard_core::validate::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(d) = normalize_domain(s) {
        assert!(d.len() <= 253);
        let labels: Vec<&str> = d.split('.').collect();
        assert!(labels.len() >= 2);
        for l in &labels {
            assert!((1..=63).contains(&l.len()), "{d}");
            assert!(
                l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
            assert!(!l.starts_with('-') && !l.ends_with('-'));
        }
        assert!(
            !labels
                .last()
                .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
        );
        assert_eq!(
            normalize_domain(&d).as_deref().ok(),
            Some(d.as_str()),
            "not idempotent"
        );
    }
    if email(s).is_ok() {
        let (local, domain) = s.split_once('@').expect("an @");
        assert!(!local.is_empty() && domain.contains('.') && !domain.contains('@'));
        assert!(!s.chars().any(char::is_whitespace));
    }
});
