//! Every error code a person can meet has its Japanese text: the list of codes is read from the
//! source itself (the string literals of every `fn code(` body in the core, the SAML crate and
//! the server, and the `fetch.{endpoint}.{failure}` codes the outbound module composes), so a
//! new code cannot be added without its `err-{code}` line in ja.ftl. English pages keep the
//! core's own message (it may name the value at fault), so en.ftl needs only the codes whose
//! page reads the catalogue in English too: the console's own refusals (`ConsoleError`).
//!
//! Left out on purpose: the test IdP's codes (`dev_idp.*`, English only like the rest of the
//! test IdP), and functions named `code` that return a language code. A Japanese text may hold
//! `{ $detail }`, where the core's English message (the value at fault) goes.

use super::{Lang, shape};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Source files whose `fn code(` is not an error code.
const NOT_ERROR_CODES: &[&str] = &[
    "lanyard-server/src/i18n.rs",
    "lanyard-core/src/mail_text.rs",
    "lanyard-server/src/dev_idp/mod.rs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The body of the function starting at `from` (its first `{` to the matching `}`).
fn body(text: &str, from: usize) -> &str {
    let rest = text.get(from..).unwrap_or_default();
    let Some(open) = rest.find('{') else {
        return "";
    };
    let mut depth = 0usize;
    for (i, c) in rest.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return rest.get(open..=i).unwrap_or_default();
                }
            }
            _ => {}
        }
    }
    ""
}

/// The string literals of `text` (no escapes occur in codes).
fn literals(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

fn is_code(s: &str) -> bool {
    let dotted = s.contains('.')
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    // The JWT remote-login codes are upper case (`TOKEN_VERIFICATION_FAILED`).
    let shouting =
        s.len() > 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_') && s.contains('_');
    dotted || shouting || s == "internal"
}

/// Every error code, with the file it comes from.
fn all_codes() -> BTreeSet<(String, String)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for c in ["lanyard-core", "lanyard-saml", "lanyard-server"] {
        rust_files(&crates.join(c).join("src"), &mut files);
    }
    let mut codes = BTreeSet::new();
    for f in files {
        let name = f.to_string_lossy().replace('\\', "/");
        if NOT_ERROR_CODES.iter().any(|n| name.ends_with(n)) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let short = name.split("/crates/").last().unwrap_or(&name).to_owned();
        for (at, _) in text.match_indices("fn code(") {
            let b = body(&text, at);
            for l in literals(b) {
                if is_code(l) {
                    codes.insert((l.to_owned(), short.clone()));
                }
            }
            // `per_endpoint!(ep, "timeout")`: one code per endpoint prefix of the macro.
            if b.contains("per_endpoint!") {
                let prefixes: Vec<&str> = text
                    .split("concat!(\"fetch.")
                    .skip(1)
                    .filter_map(|r| r.split_once('"').map(|(p, _)| p))
                    .collect();
                for kind in b
                    .split("per_endpoint!(ep, \"")
                    .skip(1)
                    .filter_map(|r| r.split_once('"').map(|(k, _)| k))
                {
                    for p in &prefixes {
                        codes.insert((format!("fetch.{p}{kind}"), short.clone()));
                    }
                }
            }
        }
    }
    codes
}

fn key(code: &str) -> String {
    format!("err-{}", code.replace('.', "-"))
}

#[test]
fn the_code_list_finds_each_kind_of_code() {
    let codes: BTreeSet<String> = all_codes().into_iter().map(|(c, _)| c).collect();
    for c in [
        "login.invalid_credentials",
        "saml.bad_signature",
        "oidc.hosted_domain_mismatch",
        "setup_link.issuer_format",
        "fetch.jwks.timeout",
        "fetch.backchannel_logout.address_forbidden",
        "TOKEN_VERIFICATION_FAILED",
        "content.not_on_list",
        "internal",
    ] {
        assert!(
            codes.contains(c),
            "{c} not found among {} codes",
            codes.len()
        );
    }
    assert!(!codes.contains("en") && !codes.contains("dev_idp.keys"));
    assert!(codes.len() > 200, "{}", codes.len());
}

#[test]
fn every_error_code_has_its_japanese_text() {
    let ja: BTreeSet<&str> = shape(Lang::Ja).into_iter().map(|(k, _)| k).collect();
    let en: BTreeSet<&str> = shape(Lang::En).into_iter().map(|(k, _)| k).collect();
    let mut missing = Vec::new();
    for (code, file) in all_codes() {
        let k = key(&code);
        if !ja.contains(k.as_str()) {
            missing.push(format!("{k} (ja.ftl; {file})"));
        }
        // The console's error page reads its own refusals from the catalogue in English too.
        if file.ends_with("error/console.rs") {
            for k in [k.clone(), format!("{k}-help")] {
                if !en.contains(k.as_str()) || !ja.contains(k.as_str()) {
                    missing.push(format!("{k} (en.ftl and ja.ftl; {file})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} error texts missing:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn no_japanese_error_text_names_a_code_that_does_not_exist() {
    let codes: BTreeSet<String> = all_codes().into_iter().map(|(c, _)| key(&c)).collect();
    // Codes the server answers itself, outside an error enum.
    let server_own = [
        "err-request-unknown_route",
        "err-request-body_too_large",
        "err-oauth-user_code_unknown",
    ];
    for (k, _) in shape(Lang::Ja) {
        let Some(base) = k.strip_prefix("err-") else {
            continue;
        };
        let k = format!("err-{}", base.strip_suffix("-help").unwrap_or(base));
        assert!(
            codes.contains(&k) || server_own.contains(&k.as_str()),
            "{k} names no error code"
        );
    }
}
