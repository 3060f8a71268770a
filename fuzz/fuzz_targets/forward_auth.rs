//! Forward-auth's reading of the proxy's headers (`original_request`) and the decision on the
//! path it yields (`match_resource`, `decide`), on arbitrary header values, for a site with a
//! protected page, a protected blog, a list-only article and a public page.
//!
//! Invariants: the canonical path is a fixed point of `request_path`, starts with `/` and holds
//! no empty, `.` or `..` segment, no query or fragment, and no escape of a character that may
//! stand for itself; a target that an origin server would resolve to a protected path (decoded
//! once, slashes merged, dot segments removed: an independent reference) is decided by that
//! path's rule, so an anonymous visitor is never let through to it, however it is spelled; and
//! a refused target is never decided at all (the check answers 403).
#![no_main]

use arbitrary::Arbitrary;
use lanyard_core::content::decide::{
    Audience, Decision, ResourceKind, Rule, decide, match_resource,
};
use lanyard_core::content::normalize_host;
use lanyard_core::content::original::{ForwardedHeaders, original_request, request_path};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    x_forwarded_host: Option<String>,
    host: Option<String>,
    x_original_uri: Option<String>,
    x_forwarded_uri: Option<String>,
    x_forwarded_proto: Option<String>,
    /// Builds the URI from spellings of the protected paths instead.
    spelled: Option<Vec<Piece>>,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Slash,
    Dot,
    DotDot,
    EncodedDot,
    Literal(u8),
    Encoded(u8),
    Text(String),
    Query(String),
}

struct R(ResourceKind, &'static str, Audience);
impl Rule for R {
    fn kind(&self) -> ResourceKind {
        self.0
    }
    fn path(&self) -> &str {
        self.1
    }
}

const RULES: &[R] = &[
    R(ResourceKind::Page, "/secret", Audience::Sso),
    R(ResourceKind::Blog, "/private/", Audience::Sso),
    R(ResourceKind::Article, "/kb/caf%C3%A9", Audience::SsoLists),
    R(ResourceKind::Page, "/pricing", Audience::Public),
];

/// What an origin server does with a request target: query dropped, `%XX` decoded once,
/// slashes merged, dot segments removed (`None` when it would refuse: bad escape, above root).
fn reference(uri: &str) -> Option<String> {
    let raw = uri.split(['?', '#']).next()?;
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    let mut stack: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop()?;
            }
            s => stack.push(s),
        }
    }
    Some(format!("/{}", stack.join("/")))
}

fn spelled(pieces: &[Piece]) -> String {
    let mut s = String::from("/");
    for p in pieces {
        match p {
            Piece::Slash => s.push('/'),
            Piece::Dot => s.push('.'),
            Piece::DotDot => s.push_str(".."),
            Piece::EncodedDot => s.push_str("%2e"),
            Piece::Literal(i) => s.push_str(
                ["secret", "private", "kb", "caf\u{e9}", "pricing", "x"][usize::from(*i) % 6],
            ),
            Piece::Encoded(b) => s.push_str(&format!("%{b:02x}")),
            Piece::Text(t) => s.push_str(t),
            Piece::Query(q) => {
                s.push('?');
                s.push_str(q);
            }
        }
    }
    s
}

fuzz_target!(|i: Input| {
    let built = i.spelled.as_deref().map(spelled);
    let h = ForwardedHeaders {
        x_forwarded_host: i.x_forwarded_host.as_deref(),
        host: i.host.as_deref(),
        x_original_uri: built.as_deref().or(i.x_original_uri.as_deref()),
        x_forwarded_uri: i.x_forwarded_uri.as_deref(),
        x_forwarded_proto: i.x_forwarded_proto.as_deref(),
    };
    let Ok(o) = original_request(&h) else {
        return;
    };
    let _ = normalize_host(&o.host);
    let p = &o.path;
    assert_eq!(
        request_path(p).as_deref(),
        Ok(p.as_str()),
        "not a fixed point"
    );
    assert!(p.starts_with('/') && !p.contains("//") && !p.contains(['?', '#', '\\']));
    assert!(!p.split('/').any(|s| s == "." || s == ".."), "{p}");
    for (n, _) in p.match_indices('%') {
        let hex = p.get(n + 1..n + 3).expect("two hex digits after %");
        let b = u8::from_str_radix(hex, 16).expect("hex");
        assert!(hex.bytes().all(|c| !c.is_ascii_lowercase()), "{p}");
        assert!(
            b <= 0x20 || b >= 0x7f || b"\"#<>?`{}%".contains(&b),
            "{p}: %{hex} may stand for itself"
        );
    }
    // However the target was spelled, the path the origin serves decides.
    let served = reference(&o.uri);
    let decoded_rule = |r: &R| reference(r.1).unwrap_or_default();
    let protected = RULES.iter().filter(|r| r.2 != Audience::Public).find(|r| {
        served.as_deref().is_some_and(|s| {
            let rule = decoded_rule(r);
            let rule = rule.trim_end_matches('/');
            s == rule || (r.0 == ResourceKind::Blog && s.starts_with(&format!("{rule}/")))
        })
    });
    let decision = match match_resource(RULES, p) {
        Some(r) => decide(r.2, &["list-1".to_owned()], true, None),
        None => Decision::Allow(None),
    };
    if let Some(rule) = protected {
        assert!(
            !matches!(decision, Decision::Allow(_)),
            "{:?} reaches protected {} anonymously (path {p})",
            o.uri,
            rule.1
        );
    }
});
