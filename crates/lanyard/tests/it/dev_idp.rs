//! The proof of issue 16 part A: a fresh data directory, `lanyard serve --demo`, and a person
//! signs in through the built-in test IdP over SAML and over OIDC to a session; every fault of
//! the IdP's table produces its documented code on Lanyard's error page (or a session). Also:
//! the test IdP refuses to run on a non-loopback URL unless explicitly allowed.

use crate::harness::{HttpResponse, Server, bin, urlencode};
use lanyard_server::dev_idp::faults::{FAULTS, Outcome};

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let rest = html.get(start..)?;
    Some(unescape(rest.get(..rest.find('"')?)?))
}

fn path_of(location: &str) -> String {
    let u = url::Url::parse(location).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

pub(crate) fn cookies(r: &HttpResponse) -> String {
    let c: Vec<String> = r
        .head
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| Some(l.split_once(':')?.1.trim().split(';').next()?.to_owned()))
        .collect();
    if c.is_empty() {
        String::new()
    } else {
        format!("Cookie: {}\r\n", c.join("; "))
    }
}

fn form(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn person(email: &str, fault: &str) -> Vec<(&'static str, String)> {
    vec![
        ("person", "custom".into()),
        ("email", email.into()),
        ("name", format!("Person {fault}")),
        ("groups", "viewer".into()),
        ("fault", fault.into()),
    ]
}

/// SP-initiated SAML through the test IdP; returns Lanyard's answer at the ACS.
pub(crate) fn saml(server: &Server, email: &str, fault: &str) -> HttpResponse {
    let start = server.get("/t/demo/sso/test-idp-saml/start", "");
    assert_eq!(start.status, 302, "{}", start.body);
    let picker = server.get(&path_of(&start.header("location").unwrap()), "");
    assert_eq!(picker.status, 200, "{}", picker.body);
    let mut fields = person(email, fault);
    for name in ["request_id", "acs_url", "sp_entity_id", "relay_state"] {
        fields.push((name, field(&picker.body, name).unwrap()));
    }
    let posted = server.post_form("/dev-idp/saml/sso", "", &form(&fields));
    assert_eq!(posted.status, 200, "{}", posted.body);
    let acs = field(&posted.body, "acs_url").unwrap_or_else(|| {
        let at = posted.body.find("action=\"").unwrap() + 8;
        unescape(&posted.body[at..at + posted.body[at..].find('"').unwrap()])
    });
    let back = vec![
        ("SAMLResponse", field(&posted.body, "SAMLResponse").unwrap()),
        ("RelayState", field(&posted.body, "RelayState").unwrap()),
    ];
    server.post_form(&path_of(&acs), "", &form(&back))
}

/// OIDC through the test IdP (Lanyard fetches its token and JWKS over loopback); returns
/// Lanyard's answer at the callback.
pub(crate) fn oidc(server: &Server, email: &str, fault: &str) -> HttpResponse {
    let start = server.get("/t/demo/sso/test-idp-oidc/start", "");
    assert_eq!(start.status, 302, "{}", start.body);
    let browser = cookies(&start);
    let picker = server.get(&path_of(&start.header("location").unwrap()), "");
    assert_eq!(picker.status, 200, "{}", picker.body);
    let mut fields = person(email, fault);
    for name in ["redirect_uri", "state", "nonce", "code_challenge"] {
        fields.push((name, field(&picker.body, name).unwrap()));
    }
    let code = server.post_form("/dev-idp/oidc/authorize", "", &form(&fields));
    assert_eq!(code.status, 303, "{}", code.body);
    server.get(&path_of(&code.header("location").unwrap()), &browser)
}

fn assert_outcome(
    server: &Server,
    protocol: &str,
    fault: &str,
    expected: Outcome,
    r: &HttpResponse,
) {
    match expected {
        Outcome::Refused(code) => {
            assert!(
                (400..500).contains(&r.status),
                "{protocol} {fault}: expected {code}, got {}: {}",
                r.status,
                r.body
            );
            assert!(
                r.body.contains(&format!("<code>{code}</code>")),
                "{protocol} {fault}: {code} not on the page: {}",
                r.body
            );
        }
        Outcome::SignedIn | Outcome::SignedInWithWarning => {
            assert_eq!(r.status, 303, "{protocol} {fault}: {}", r.body);
            let session = server.get("/t/demo/session", &cookies(r));
            assert_eq!(session.status, 200, "{protocol} {fault}: {}", session.body);
            let j: serde_json::Value = serde_json::from_str(&session.body).unwrap();
            // The person's `viewer` group names the role; with a groups overage no groups are
            // read and the connection's default role applies.
            let role = if fault == "groups_overage" {
                "standard"
            } else {
                "viewer"
            };
            assert_eq!(j["user"]["role"], role, "{protocol} {fault}: {j}");
        }
        Outcome::NotApplicable => unreachable!(),
    }
}

#[test]
fn serve_demo_signs_in_through_the_test_idp_over_saml_and_oidc_and_every_fault_shows_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--demo"]);
    assert!(
        server.banner.contains("Sign in with Test IdP:"),
        "{}",
        server.banner
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("dev-idp-keys.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "test IdP keys readable by others: {mode:o}"
    );
    let login = server.get("/t/demo/login", "");
    assert!(login.body.contains("Test IdP (SAML)"), "{}", login.body);
    assert!(login.body.contains("Test IdP (OIDC)"), "{}", login.body);

    // A correct login by a test person over each protocol.
    for (protocol, r) in [
        ("SAML", saml(&server, "sam@demo.example", "none")),
        ("OIDC", oidc(&server, "olga@demo.example", "none")),
    ] {
        assert_eq!(r.status, 303, "{protocol}: {}", r.body);
        let session = server.get("/t/demo/session", &cookies(&r));
        assert_eq!(session.status, 200, "{protocol}: {}", session.body);
    }
    // Every fault, each on a first login (a new person), as a newcomer would meet it.
    for f in FAULTS {
        let who = f.id.replace('_', "-");
        if f.saml != Outcome::NotApplicable {
            let r = saml(&server, &format!("{who}@saml.example"), f.id);
            assert_outcome(&server, "SAML", f.id, f.saml, &r);
        }
        if f.oidc != Outcome::NotApplicable {
            let r = oidc(&server, &format!("{who}@oidc.example"), f.id);
            assert_outcome(&server, "OIDC", f.id, f.oidc, &r);
        }
    }
    assert_eq!(server.terminate().code(), Some(0));

    // A restart (on another port) keeps the keys and points the existing connections at the
    // test IdP's new URLs: the same people sign in again to their accounts.
    let server = Server::start(dir.path(), &["--demo"]);
    for r in [
        saml(&server, "sam@demo.example", "none"),
        oidc(&server, "olga@demo.example", "none"),
    ] {
        assert_eq!(r.status, 303, "{}", r.body);
    }
    assert_eq!(server.terminate().code(), Some(0));
}

/// Anyone reaching the test IdP can sign in as anyone: outside loopback it needs the flag.
#[test]
fn test_idp_refuses_a_non_loopback_url_with_exit_2_and_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--demo", "--public-url", "https://sso.example.com"],
        vec!["dev-idp", "--url", "http://10.1.2.3:8090"],
        vec!["dev-idp", "--url", "http://169.254.169.254"],
    ] {
        let out = bin()
            .args(&args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("--dev-idp-allow-non-loopback"), "{err}");
    }
    // Plain serve is unaffected on the same URL (it does not run the test IdP): no exit 2.
    let help = bin().args(["dev-idp", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--dev-idp-allow-non-loopback"));
}
