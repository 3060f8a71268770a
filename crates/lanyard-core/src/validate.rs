//! Checks on admin-supplied names and on redirect targets taken from requests.

use crate::error::{Error, Result};

/// Tenant slugs appear in URLs and cookie names: lowercase letters, digits, inner hyphens.
pub fn slug(s: &str) -> Result<()> {
    let ok = (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "slug",
            "use 1-63 lowercase letters, digits and single inner hyphens, e.g. `acme-corp`",
        ))
    }
}

pub fn role_name(s: &str) -> Result<()> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "role",
            "use 1-64 lowercase letters, digits, `_` or `-`",
        ))
    }
}

fn printable(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

pub fn username(s: &str) -> Result<()> {
    printable("username", s, 128)?;
    if s.trim() != s {
        return Err(Error::invalid(
            "username",
            "must not start or end with spaces",
        ));
    }
    Ok(())
}

pub fn display_name(s: &str) -> Result<()> {
    printable("display_name", s, 256)
}

pub fn tenant_name(s: &str) -> Result<()> {
    printable("name", s, 256)
}

/// A deliberately loose shape check: the IdP or the mail server is the authority on addresses.
pub fn email(s: &str) -> Result<()> {
    let bad = || Error::invalid("email", "must look like name@example.com");
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// NIST SP 800-63B asks for at least 8; an admin console deserves more.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Bounds the work an attacker can make us do per attempt.
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn password(s: &str) -> Result<()> {
    if s.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("must be at least {} characters", MIN_PASSWORD_CHARS),
        ));
    }
    if s.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(
            "password",
            format!("must be at most {} bytes", MAX_PASSWORD_BYTES),
        ));
    }
    Ok(())
}

/// Session lifetimes from 5 minutes to 30 days.
pub fn session_lifetime(secs: i64) -> Result<()> {
    if (300..=30 * 86_400).contains(&secs) {
        Ok(())
    } else {
        Err(Error::invalid(
            "session_lifetime_secs",
            "must be between 300 (5 minutes) and 2592000 (30 days)",
        ))
    }
}

/// Accepts a `return_to` only when it is a same-origin relative path, and returns it normalised.
///
/// Everything a browser could resolve to another origin is refused: scheme-relative `//host`,
/// backslashes (browsers treat `/\host` as `//host`), absolute URLs, `javascript:`, and control
/// characters (header splitting). The value is parsed by a real URL parser against a placeholder
/// origin and must stay on it.
pub fn return_to(raw: &str) -> Option<String> {
    if raw.len() > 2048 || !raw.starts_with('/') || raw.starts_with("//") {
        return None;
    }
    if raw.contains('\\') || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let base = url::Url::parse("https://lanyard.invalid/").ok()?;
    let joined = base.join(raw).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let mut out = joined.path().to_owned();
    // Dot segments can leave an empty first segment behind (`/%2e//evil.test` resolves to the
    // path `//evil.test`), which a browser reads as another host.
    if out.starts_with("//") {
        return None;
    }
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = joined.fragment() {
        out.push('#');
        out.push_str(f);
    }
    // The URL parser percent-encodes (`"` becomes `%22`): the limit holds for the normalised
    // form too, so it is a fixed point (found by the `redirects` fuzz target).
    if out.len() > 2048 {
        return None;
    }
    Some(out)
}

/// The name of an API key or token: printable, 1-128 characters.
pub fn key_name(s: &str) -> Result<()> {
    printable("name", s, 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "acme-corp", "a1", "x"] {
            assert!(slug(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Demo",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a b",
            "ä",
            &"a".repeat(64),
        ] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("jo@example.com").is_ok());
        for bad in [
            "jo",
            "@example.com",
            "jo@example",
            "jo@@example.com",
            "jo @example.com",
            "jo@.example.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn return_to_keeps_same_origin_paths() {
        assert_eq!(
            return_to("/t/demo/app?x=1#top").as_deref(),
            Some("/t/demo/app?x=1#top")
        );
        assert_eq!(return_to("/a/../b").as_deref(), Some("/b"));
        assert_eq!(
            return_to("/%2F%2Fevil.test").as_deref(),
            Some("/%2F%2Fevil.test")
        );
    }

    /// SECURITY.md 4.1: every payload that could leave the origin is refused.
    #[test]
    fn return_to_refuses_open_redirect_payloads() {
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "https:evil.test",
            "https://app.example@evil.test",
            "https://app.example.evil.test",
            "%2F%2Fevil.test",
            "javascript:alert(1)",
            "data:text/html,x",
            "/ok\r\nSet-Cookie: x=y",
            "/\t/evil.test",
            "",
            "evil.test",
        ] {
            assert_eq!(return_to(bad), None, "{bad:?}");
        }
    }

    /// Found by the `redirects` fuzz target (issue 18): the URL parser resolves `.` segments
    /// after the `//` check, so `/%2e//evil.test` came back as `//evil.test`, a redirect to
    /// another host. Attack: open redirect through dot segments.
    #[test]
    fn fuzz_regression_dot_segments_never_make_a_scheme_relative_path() {
        for bad in [
            "/%2e//p\u{8b}\u{8c}%2e\u{ff}\u{ff}/%2ea/dmi\u{b3}\u{b3}\u{b3}\u{b3}n",
            "/%2e//evil.test",
            "/.//evil.test",
            "/%2E//evil.test/x?y#z",
            "/a/..//evil.test",
            "/a/%2e%2e//evil.test",
            "/./%2e//evil.test",
        ] {
            assert_eq!(return_to(bad), None, "{bad:?}");
        }
        assert_eq!(return_to("/a/..///b"), None);
        // 2,047 bytes as sent, 4,093 once the parser encodes the quotes: refused.
        let grows = format!("/{}", "\"".repeat(2046));
        assert_eq!(return_to(&grows), None);
        assert_eq!(return_to("/./b").as_deref(), Some("/b"));
        assert_eq!(return_to("/a//b").as_deref(), Some("/a//b"));
    }
}
