//! The "browser" of the OpenID provider interop test (plain HTTP with a cookie jar, following
//! redirects by hand, through the tenant's sign-in page and a real IdP) and the relying parties'
//! back-channel logout endpoint (a loopback HTTP listener in the test).

use crate::harness::{HttpResponse, Server};
use crate::oidc_interop::{Jar, through_the_provider};
use crate::provisioning_interop::through_saml_idp;
use crate::saml_interop::unescape;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// Where the person signs in when Lanyard has no session for the tenant yet.
#[derive(Clone, Copy)]
pub(crate) enum Idp<'a> {
    /// saml-idp on this port, through the connection `test-idp`, as this email.
    Saml { port: u16, email: &'a str },
    /// oidc-provider on this port, through the connection `op`, as this login name.
    Op { port: u16, user: &'a str },
    /// The browser must not reach an IdP (an existing Lanyard session is reused).
    Reused,
}

impl Idp<'_> {
    /// The session's `auth_method` after signing in there.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            Idp::Saml { .. } => "saml",
            Idp::Op { .. } => "oidc",
            Idp::Reused => "",
        }
    }

    fn connection(&self) -> &'static str {
        match self {
            Idp::Saml { .. } => "test-idp",
            Idp::Op { .. } => "op",
            Idp::Reused => "",
        }
    }
}

pub(crate) fn browse_get(server: &Server, path: &str, jar: &mut Jar) -> HttpResponse {
    let res = server.get(path, &jar.header());
    jar.take(&res);
    res
}

/// The path (and query) of a URL on the server, or the URL as it is when it points elsewhere.
pub(crate) fn local(server: &Server, url: &str) -> String {
    url.strip_prefix(&format!("http://127.0.0.1:{}", server.port))
        .unwrap_or(url)
        .to_owned()
}

/// The `href` of the tenant sign-in page's button for `connection`.
fn sso_button(page: &str, connection: &str) -> Option<String> {
    page.split("href=\"").skip(1).find_map(|rest| {
        let href = unescape(&rest[..rest.find('"')?]).replace("&#x2f;", "/");
        href.contains(&format!("/sso/{connection}/start"))
            .then_some(href)
    })
}

/// Follows the browser from an authorization (or logout) URL until Lanyard redirects it to a URL
/// starting with `until` (the app's redirect URI, or the page the sign-in returns to), signing
/// in at `idp` on the way when Lanyard asks for it. Returns that final URL.
pub(crate) fn follow(server: &Server, jar: &mut Jar, start: &str, until: &str, idp: Idp) -> String {
    let origin = format!("http://127.0.0.1:{}", server.port);
    let mut path = local(server, start);
    assert!(
        path.starts_with('/'),
        "{start} is not on Lanyard ({origin})"
    );
    for _ in 0..16 {
        let res = browse_get(server, &path, jar);
        let loc = match res.status {
            301 | 302 | 303 | 307 => res.header("location").unwrap(),
            200 if path.contains("/login") => {
                assert!(
                    !matches!(idp, Idp::Reused),
                    "an existing session should have been reused, got the sign-in page at {path}"
                );
                // The person picks the tenant's SSO button.
                sso_button(&res.body, idp.connection()).unwrap_or_else(|| {
                    panic!("no {} button on {path}: {}", idp.connection(), res.body)
                })
            }
            s => panic!("Lanyard answered {s} at {path}: {}", res.body),
        };
        if loc.starts_with(until) {
            return loc;
        }
        if loc.starts_with('/') || loc.starts_with(&origin) {
            path = local(server, &loc);
            continue;
        }
        // Off to the IdP, back to Lanyard's ACS or callback.
        let back = match idp {
            Idp::Saml { port, email } => {
                let res = through_saml_idp(server, port, &loc, email);
                jar.take(&res);
                res
            }
            Idp::Op { port, user } => {
                let cb = through_the_provider(port, &loc, user);
                browse_get(server, &local(server, &cb), jar)
            }
            Idp::Reused => panic!("the browser was sent to an IdP ({loc}) despite a session"),
        };
        assert!(
            matches!(back.status, 302 | 303),
            "after the IdP: {} {}",
            back.status,
            back.body
        );
        let next = back.header("location").unwrap();
        if next.starts_with(until) {
            return next;
        }
        path = local(server, &next);
    }
    panic!("the browser never reached {until}");
}

/// A relying party's back-channel logout endpoint: accepts every POST, answers 200, and hands
/// (path, logout_token) to the test.
pub(crate) struct BackChannel {
    pub(crate) port: u16,
    received: mpsc::Receiver<(String, String)>,
}

impl BackChannel {
    pub(crate) fn start() -> Self {
        // Bound here and kept: no other process can take the port between choosing and binding.
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Some(got) = serve_one(stream)
                    && tx.send(got).is_err()
                {
                    break;
                }
            }
        });
        Self { port, received }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next logout token delivered (Lanyard sends them from a background queue).
    pub(crate) fn next(&self, within: Duration) -> Option<(String, String)> {
        self.received.recv_timeout(within).ok()
    }
}

fn serve_one(mut stream: TcpStream) -> Option<(String, String)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut len = 0usize;
    let mut form = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        if l.starts_with("content-type:") && l.contains("application/x-www-form-urlencoded") {
            form = true;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next()?, parts.next()?.to_owned());
    if method != "POST" || !form {
        return Some((path, format!("(not a form POST: {method})")));
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    Some((path, token))
}
