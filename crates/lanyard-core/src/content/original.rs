//! The original request as the reverse proxy describes it to forward-auth, pure: which host and
//! which path the visitor asked for, read from the forwarding headers (nginx `Host` +
//! `X-Original-URI`; Caddy and Traefik `X-Forwarded-Host` + `X-Forwarded-Uri`).
//!
//! The URI in those headers is the raw request target the visitor sent (nginx `$request_uri`),
//! while the origin server resolves it before serving: it decodes `%XX`, merges `//` and removes
//! `.` and `..` segments. Compared as sent, `/public/../secret`, `//secret` or `/%73ecret` would
//! name no protected resource and be let through, then served as `/secret`. So the path is
//! brought to the one form the resource rules are written in (see [`request_path`]) before the
//! decision, and a target that cannot be read that way is refused, never guessed at.

/// Longest request target read (nginx's default large header buffer is 8 KiB).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Why the original request could not be read; the check then refuses (403), never allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginalRequestError {
    #[error(
        "The proxy did not say which page was asked for: send Host and X-Original-URI (nginx) or X-Forwarded-Host and X-Forwarded-Uri (Caddy, Traefik)."
    )]
    Missing,
    #[error(
        "The proxy sent a page address that cannot be read safely ({0}): send the request target as the visitor sent it, a path starting with /."
    )]
    UriInvalid(&'static str),
}

impl OriginalRequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "content.original_request_missing",
            Self::UriInvalid(_) => "content.original_uri_invalid",
        }
    }
}

/// The forwarding headers as sent (already trimmed or not; `None` when absent or not text).
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardedHeaders<'a> {
    pub x_forwarded_host: Option<&'a str>,
    pub host: Option<&'a str>,
    pub x_original_uri: Option<&'a str>,
    pub x_forwarded_uri: Option<&'a str>,
    pub x_forwarded_proto: Option<&'a str>,
}

/// What the decision reads from the original request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRequest {
    /// The first host named (not yet normalised: see [`super::normalize_host`]).
    pub host: String,
    /// The request target as sent (path and query), for the return address after sign-in.
    pub uri: String,
    /// The path in canonical form ([`request_path`]), what resource rules are matched against.
    pub path: String,
    pub https: bool,
}

/// Reads the original request from the proxy's headers: the host from `X-Forwarded-Host`
/// (first entry) or `Host`, the target from `X-Original-URI` or `X-Forwarded-Uri`.
pub fn original_request(h: &ForwardedHeaders<'_>) -> Result<OriginalRequest, OriginalRequestError> {
    let host = h
        .x_forwarded_host
        .map(str::trim)
        .or(h.host.map(str::trim))
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(OriginalRequestError::Missing)?;
    let uri = h
        .x_original_uri
        .or(h.x_forwarded_uri)
        .map(str::trim)
        .ok_or(OriginalRequestError::Missing)?;
    let path = request_path(uri)?;
    let https = h
        .x_forwarded_proto
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Ok(OriginalRequest {
        host: host.to_owned(),
        uri: uri.to_owned(),
        path,
        https,
    })
}

fn invalid(why: &'static str) -> OriginalRequestError {
    OriginalRequestError::UriInvalid(why)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes the canonical form keeps percent-encoded: what the URL parser encodes in a path (the
/// form resource rules are stored in: controls, space, `"#<>?` `` ` `` `{}` and non-ASCII),
/// plus `%` itself so that a decoded `%` never reads as an escape.
fn stays_encoded(b: u8) -> bool {
    b <= 0x20
        || b >= 0x7f
        || matches!(
            b,
            b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'%'
        )
}

/// The path of a request target in canonical form: query and fragment dropped, `%XX` decoded
/// once (as the origin server does), empty segments merged, `.` and `..` resolved, then the
/// characters a URL path cannot hold literally encoded again (uppercase hex). Refused: a target
/// not starting with `/` (absolute-form `http://…`, `*`), a malformed escape, a path that is not
/// UTF-8 once decoded, control characters, backslashes (a separator on some servers), and `..`
/// above the root. The result is a fixed point: `request_path(p) == Ok(p)` for every result `p`.
pub fn request_path(uri: &str) -> Result<String, OriginalRequestError> {
    if uri.len() > MAX_URI_BYTES {
        return Err(invalid("longer than 8 KiB"));
    }
    let raw = uri.split(['?', '#']).next().unwrap_or_default();
    if !raw.starts_with('/') {
        return Err(invalid("it does not start with /"));
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(invalid("a % is not followed by two hex digits"));
            };
            decoded.push(hi * 16 + lo);
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| invalid("it is not UTF-8 once decoded"))?;
    if text.chars().any(char::is_control) {
        return Err(invalid("it holds control characters"));
    }
    if text.contains('\\') {
        return Err(invalid("it holds a backslash"));
    }
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for seg in text.split('/') {
        trailing_slash = false;
        match seg {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                if segments.pop().is_none() {
                    return Err(invalid("it climbs above the root with .."));
                }
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(raw.len());
    for seg in &segments {
        out.push('/');
        for b in seg.bytes() {
            if stays_encoded(b) {
                out.push_str(&format!("%{b:02X}"));
            } else {
                out.push(char::from(b));
            }
        }
    }
    if trailing_slash || segments.is_empty() {
        out.push('/');
    }
    // Encoding can lengthen the path (`>` becomes `%3E`): the limit holds for the canonical
    // form too, or it would not be a fixed point (found by the `forward_auth` fuzz target).
    if out.len() > MAX_URI_BYTES {
        return Err(invalid("longer than 8 KiB"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn path(s: &str) -> String {
        request_path(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// The forward-auth bypasses this stops: each spelling reaches the origin as `/secret`, so
    /// it must be matched as `/secret` (a rule there then decides), never as an unknown path.
    #[test]
    fn spellings_of_a_protected_path_are_matched_as_the_path() {
        for spelled in [
            "/secret",
            "/public/../secret",
            "/public/%2e%2e/secret",
            "/public/%2E./secret",
            "//secret",
            "///secret?x=1",
            "/./secret",
            "/%73ecret",
            "/%73%65%63%72%65%74#frag",
            "/a/b/../../secret",
            "/secret?//../x",
        ] {
            assert_eq!(path(spelled), "/secret", "{spelled}");
        }
        assert_eq!(path("/blog/"), "/blog/");
        assert_eq!(path("/blog/x/.."), "/blog/");
        assert_eq!(path("/blog/."), "/blog/");
        assert_eq!(path("/"), "/");
        assert_eq!(path("/?q"), "/");
    }

    #[test]
    fn characters_are_encoded_as_resource_rules_are_stored() {
        // Rules are stored as the URL parser writes them (validate::return_to).
        for rule in [
            "/caf\u{e9}",
            "/100%25",
            "/q%3F",
            "/x{y}",
            "/a;b=c",
            "/~u/!$&'()*+,:@",
        ] {
            let stored = crate::validate::return_to(rule).expect(rule);
            let stored = stored.split('?').next().unwrap().to_owned();
            assert_eq!(path(&stored), stored, "{rule}");
        }
        assert_eq!(path("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(path("/a%20b"), "/a%20b");
        assert_eq!(
            path("/a%2fb"),
            "/a/b",
            "an encoded slash is a slash to the origin"
        );
        assert_eq!(path("/100%2525"), "/100%2525", "decoded once only");
    }

    #[test]
    fn unreadable_targets_are_refused() {
        for bad in [
            "",
            "secret",
            "*",
            "http://site.example/secret",
            "/..",
            "/../secret",
            "/a/../../secret",
            "/%2e%2e/secret",
            "/bad%",
            "/bad%4",
            "/bad%zz",
            "/%ff",
            "/%00",
            "/a%0d%0aSet-Cookie:x",
            "/a\\b",
            "/a%5cb",
        ] {
            let e = request_path(bad).unwrap_err();
            assert_eq!(e.code(), "content.original_uri_invalid", "{bad}");
        }
        assert!(request_path(&format!("/{}", "a".repeat(MAX_URI_BYTES))).is_err());
        // Under the limit as sent, over it once `>` is encoded: refused, not returned too long.
        let grows = format!("/{}", ">".repeat(MAX_URI_BYTES / 2));
        assert!(grows.len() <= MAX_URI_BYTES);
        assert!(request_path(&grows).is_err());
    }

    #[test]
    fn headers_are_read_in_order_and_never_guessed() {
        let h = ForwardedHeaders {
            x_forwarded_host: Some(" docs.example, evil.example "),
            host: Some("lanyard.internal"),
            x_original_uri: Some("/a/../b?x"),
            x_forwarded_uri: Some("/ignored"),
            x_forwarded_proto: Some("HTTPS"),
        };
        let o = original_request(&h).unwrap();
        assert_eq!(
            o,
            OriginalRequest {
                host: "docs.example".into(),
                uri: "/a/../b?x".into(),
                path: "/b".into(),
                https: true,
            }
        );
        let nginx = ForwardedHeaders {
            host: Some("docs.example"),
            x_original_uri: Some("/p"),
            ..ForwardedHeaders::default()
        };
        assert_eq!(original_request(&nginx).unwrap().host, "docs.example");
        assert!(!original_request(&nginx).unwrap().https);
        for missing in [
            ForwardedHeaders {
                host: Some("docs.example"),
                ..ForwardedHeaders::default()
            },
            ForwardedHeaders {
                x_original_uri: Some("/p"),
                ..ForwardedHeaders::default()
            },
            ForwardedHeaders {
                host: Some(" , x"),
                x_original_uri: Some("/p"),
                ..ForwardedHeaders::default()
            },
        ] {
            assert_eq!(
                original_request(&missing),
                Err(OriginalRequestError::Missing)
            );
        }
        let absolute = ForwardedHeaders {
            x_original_uri: Some("http://docs.example/secret"),
            ..nginx
        };
        assert_eq!(
            original_request(&absolute).unwrap_err().code(),
            "content.original_uri_invalid"
        );
    }
}
