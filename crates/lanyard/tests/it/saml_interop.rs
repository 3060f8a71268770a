//! Interop: SP-initiated SAML login against a real IdP, the `saml-idp` npm package
//! (tests/peers/saml-idp, installed by scripts/setup-test-peers), over real HTTP on loopback,
//! against the real `lanyard` binary, ending in a Lanyard session at /t/{tenant}/session.
//!
//! Skips (with a message) only when node/npm are missing; under `CI` it fails instead.

use crate::harness::{Server, free_port, http, urlencode};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn keys() -> PathBuf {
    repo_root().join("crates/lanyard-saml/tests/fixtures/keys")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The installed peer, installing it with `npm ci` if scripts/setup-test-peers has not run.
pub(crate) fn saml_idp() -> Option<PathBuf> {
    if !have("node") || !have("npm") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but node/npm are missing: the SAML interop test cannot run"
        );
        eprintln!(
            "SKIPPED saml interop: node and npm are not installed (apt-get install nodejs npm)"
        );
        return None;
    }
    let dir = repo_root().join("tests/peers/saml-idp");
    let bin = dir.join("node_modules/saml-idp/bin/run.js");
    if !bin.exists() {
        let mut child = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(300);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("npm ci in {} took over 5 minutes", dir.display());
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(
            status.success(),
            "npm ci failed in {}; run scripts/setup-test-peers",
            dir.display()
        );
    }
    Some(bin)
}

/// The IdP process, killed when the test ends however it ends.
pub(crate) struct Peer(pub(crate) Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the `saml-idp` peer on a free loopback port and waits until it listens. A start that
/// exits before listening (a port another process took between the probe and node's bind, a
/// slow start on a loaded machine) is retried on a new port, up to three times.
pub(crate) fn start_saml_idp(idp_bin: &Path, acs: &str, audience: &str) -> (Peer, u16) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let mut peer = Peer(
            Command::new("node")
                .arg(idp_bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .arg("--cert")
                .arg(keys().join("idp.crt"))
                .arg("--key")
                .arg(keys().join("idp.pk8.pem"))
                .args(["--issuer", "urn:lanyard:interop:saml-idp"])
                .args(["--acsUrl", acs, "--audience", audience])
                .current_dir(idp_bin.parent().unwrap().parent().unwrap())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        match wait_for_port(port, &mut peer) {
            Ok(()) => return (peer, port),
            Err(e) => failures.push(format!("port {port}: {e}")),
        }
    }
    panic!(
        "saml-idp did not start in three tries (its stderr is above): {}",
        failures.join("; ")
    );
}

/// Waits until `peer` listens on `port`; an early exit or 30 s of silence is an error.
fn wait_for_port(port: u16, peer: &mut Peer) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = peer.0.try_wait().unwrap() {
            return Err(format!("exited early: {status}"));
        }
        if Instant::now() >= deadline {
            return Err("did not listen within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Undoes the HTML escaping handlebars applies to attribute values.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the form input named `name` (attribute order as saml-idp renders it).
pub(crate) fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=")? + "value=".len();
    let quote = rest[v..].chars().next()?;
    let body = &rest[v + 1..];
    let end = body.find(quote)?;
    Some(unescape(&body[..end]))
}

pub(crate) fn form_action(html: &str) -> Option<String> {
    let at = html.find("action=\"")? + "action=\"".len();
    let end = html[at..].find('"')?;
    Some(unescape(&html[at..at + end]))
}

pub(crate) fn api(
    server: &Server,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> crate::harness::HttpResponse {
    server.request(&format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

#[test]
fn sp_initiated_login_with_the_saml_idp_npm_package() {
    let Some(idp_bin) = saml_idp() else { return };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("lanyard.toml");
    // The deprecated switch (loopback + private ranges) still starts the server.
    std::fs::write(&conf, "allow_private_metadata_urls = true\n").unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", conf.to_str().unwrap()],
    );
    let key = server
        .field("API key:")
        .expect("demo API key in the banner");
    let base = format!("http://127.0.0.1:{}", server.port);
    let sp_entity = format!("{base}/t/demo/saml/test-idp/metadata");
    let acs = format!("{base}/t/demo/saml/test-idp/acs");

    let (_peer, idp_port) = start_saml_idp(&idp_bin, &acs, &sp_entity);

    // The connection, imported from the IdP's own metadata URL (loopback allowed by the config).
    let body = serde_json::json!({
        "slug": "test-idp", "name": "saml-idp",
        "metadata_url": format!("http://127.0.0.1:{idp_port}/metadata"),
        "jit": true, "email_attribute": "email",
    })
    .to_string();
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/connections",
        &body,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let conn: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(conn["sp_entity_id"], sp_entity.as_str());
    assert_eq!(conn["acs_url"], acs.as_str());
    assert_eq!(
        conn["saml"]["idp_entity_id"],
        "urn:lanyard:interop:saml-idp"
    );

    // 1. Lanyard sends the browser to the IdP with an AuthnRequest.
    let res = server.get(
        "/t/demo/sso/test-idp/start?return_to=%2Ft%2Fdemo%2Fsession",
        "",
    );
    assert_eq!(res.status, 302, "{}", res.body);
    let location = res.header("location").unwrap();
    let idp_prefix = format!("http://127.0.0.1:{idp_port}");
    let idp_path = location
        .strip_prefix(&idp_prefix)
        .unwrap_or_else(|| panic!("redirect to {location}, not the IdP"));
    assert!(
        idp_path.contains("SAMLRequest=") && idp_path.contains("RelayState="),
        "{idp_path}"
    );

    // 2. The IdP shows its user form for that request.
    let page = http(
        idp_port,
        &format!(
            "GET {idp_path} HTTP/1.1\r\nHost: 127.0.0.1:{idp_port}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let authn = input_value(&page.body, "_authnRequest").expect("the IdP parsed our AuthnRequest");

    // 3. The user signs in at the IdP; it answers with an auto-posting form to our ACS.
    let form = format!(
        "_authnRequest={}&userName={}&email={}&firstName=Saml&lastName=Jackson",
        urlencode(&authn),
        urlencode("saml.jackson@example.com"),
        urlencode("saml.jackson@example.com")
    );
    let signed = http(
        idp_port,
        &format!(
            "POST /signin HTTP/1.1\r\nHost: 127.0.0.1:{idp_port}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(form_action(&signed.body).as_deref(), Some(acs.as_str()));
    let saml_response =
        input_value(&signed.body, "SAMLResponse").expect("SAMLResponse in the IdP's form");
    let relay_state = input_value(&signed.body, "RelayState").unwrap_or_default();
    assert!(!relay_state.is_empty(), "the IdP returns our RelayState");

    // 4. The browser posts it to the ACS (cross-site: no cookies at all).
    let acs_body = format!(
        "SAMLResponse={}&RelayState={}",
        urlencode(&saml_response),
        urlencode(&relay_state)
    );
    let done = server.post_form("/t/demo/saml/test-idp/acs", "", &acs_body);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location").as_deref(), Some("/t/demo/session"));
    let cookie = done.cookie("lanyard_session_demo").expect("session cookie");

    // 5. The session exists, for the JIT-created user, authenticated by SAML.
    let session = server.get(
        "/t/demo/session",
        &format!("Cookie: lanyard_session_demo={cookie}\r\n"),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    let s: serde_json::Value = serde_json::from_str(&session.body).unwrap();
    assert_eq!(s["auth_method"], "saml");
    assert_eq!(s["user"]["username"], "saml.jackson@example.com");
    assert_eq!(s["user"]["email"], "saml.jackson@example.com");

    // 6. The same response again is refused: its request was single-use.
    let again = server.post_form("/t/demo/saml/test-idp/acs", "", &acs_body);
    assert_eq!(again.status, 401, "{}", again.body);
    assert!(
        again.body.contains("saml.unknown_request"),
        "{}",
        again.body
    );
    assert!(again.cookie("lanyard_session_demo").is_none());
}
