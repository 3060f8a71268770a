//! Interop: OpenID Connect sign-in against a real, certified OpenID Provider, the
//! `oidc-provider` npm package (tests/peers/oidc-provider, installed by
//! scripts/setup-test-peers, started by its op.mjs on a loopback port with a test client and the
//! JWKS passed in), through its real /auth, login form and consent, to a Lanyard session at
//! /t/{tenant}/session, against the real `lanyard` binary; then again after the provider
//! restarts with a rotated signing key (new key first), which Lanyard picks up by one refetch.
//!
//! Skips (with a message) only when node/npm are missing; under `CI` it fails instead.

use crate::harness::{HttpResponse, Server, free_port, http, urlencode};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key(name: &str) -> PathBuf {
    repo_root()
        .join("crates/lanyard-core/tests/fixtures/jwt")
        .join(name)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn peer_dir() -> Option<PathBuf> {
    if !have("node") || !have("npm") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but node/npm are missing: the OIDC interop test cannot run"
        );
        eprintln!(
            "SKIPPED oidc interop: node and npm are not installed (apt-get install nodejs npm)"
        );
        return None;
    }
    let dir = repo_root().join("tests/peers/oidc-provider");
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "npm ci failed in {}; run scripts/setup-test-peers",
            dir.display()
        );
    }
    Some(dir)
}

/// The provider process, killed when dropped.
pub(crate) struct Op(Child);

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) const CLIENT_ID: &str = "lanyard-interop";
pub(crate) const CLIENT_SECRET: &str = "interop-client-secret-4f9d2c";

pub(crate) fn start_op(dir: &Path, port: u16, redirect_uri: &str, keys: &[(&str, &str)]) -> Op {
    let mut cmd = Command::new("node");
    cmd.arg("op.mjs")
        .args(["--port", &port.to_string()])
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
        .args(["--redirect-uri", redirect_uri]);
    for (kid, file) in keys {
        cmd.arg("--key")
            .arg(format!("{kid}={}", key(file).display()));
    }
    let mut child = cmd
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Keep what the provider says on stderr, so a failed start explains itself.
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("listening ") {
                let _ = tx.send(());
            }
        }
    });
    let mut op = Op(child);
    if let Err(e) = rx.recv_timeout(Duration::from_secs(30)) {
        let _ = op.0.kill();
        let _ = op.0.wait();
        let stderr = said.join().unwrap_or_default();
        panic!("oidc-provider did not start within 30 s ({e}) on port {port}:\n{stderr}");
    }
    op
}

/// A browser's cookie jar for the provider (one origin; paths ignored).
#[derive(Default)]
pub(crate) struct Jar(BTreeMap<String, String>);

impl Jar {
    pub(crate) fn take(&mut self, res: &HttpResponse) {
        for l in res.head.lines() {
            if !l.to_ascii_lowercase().starts_with("set-cookie:") {
                continue;
            }
            let Some((_, v)) = l.split_once(':') else {
                continue;
            };
            if let Some((name, value)) = v.trim().split(';').next().and_then(|p| p.split_once('='))
            {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    pub(crate) fn header(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let v: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("Cookie: {}\r\n", v.join("; "))
    }
}

fn op_get(port: u16, path: &str, jar: &mut Jar) -> HttpResponse {
    let res = http(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{}\r\n",
            jar.header()
        ),
    );
    jar.take(&res);
    res
}

fn op_post(port: u16, path: &str, body: &str, jar: &mut Jar) -> HttpResponse {
    let res = http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            jar.header()
        ),
    );
    jar.take(&res);
    res
}

fn path_of(location: &str, port: u16) -> String {
    location
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap_or(location)
        .to_owned()
}

/// Drives the provider from Lanyard's redirect to the redirect back: /auth → login form →
/// /auth/{uid} → consent → /auth/{uid} → redirect_uri?code&state&iss. Returns that URL.
pub(crate) fn through_the_provider(op_port: u16, authorize_url: &str, user: &str) -> String {
    let mut jar = Jar::default();
    let mut next = path_of(authorize_url, op_port);
    let deadline = Instant::now() + Duration::from_secs(60);
    for _ in 0..12 {
        assert!(
            Instant::now() < deadline,
            "the provider flow took over 60 s"
        );
        let res = op_get(op_port, &next, &mut jar);
        let loc = match res.status {
            302 | 303 => res.header("location").unwrap(),
            200 => {
                // An interaction page: login first, then consent.
                let uid_path = next.clone();
                let body = if res.body.contains("name=\"login\"") {
                    format!("prompt=login&login={}&password=anything", urlencode(user))
                } else {
                    "prompt=consent".to_owned()
                };
                let posted = op_post(op_port, &uid_path, &body, &mut jar);
                assert!(
                    matches!(posted.status, 302 | 303),
                    "interaction POST {uid_path}: {} {}",
                    posted.status,
                    posted.body
                );
                posted.header("location").unwrap()
            }
            s => panic!("provider answered {s} at {next}: {}", res.body),
        };
        if !loc.starts_with('/') && !loc.starts_with(&format!("http://127.0.0.1:{op_port}")) {
            return loc;
        }
        next = path_of(&loc, op_port);
    }
    panic!("the provider never redirected back");
}

fn login(server: &Server, op_port: u16, user: &str) -> serde_json::Value {
    let start = server.get("/t/demo/sso/op/start?return_to=%2Ft%2Fdemo%2Fsession", "");
    assert_eq!(start.status, 302, "{}", start.body);
    let authorize = start.header("location").unwrap();
    assert!(
        authorize.starts_with(&format!("http://127.0.0.1:{op_port}/auth?"))
            && authorize.contains("code_challenge_method=S256")
            && authorize.contains("nonce=")
            && authorize.contains("state="),
        "{authorize}"
    );
    let back = through_the_provider(op_port, &authorize, user);
    let cb = url::Url::parse(&back).unwrap();
    assert_eq!(cb.path(), "/t/demo/oidc/op/callback", "{back}");
    let q: BTreeMap<String, String> = cb.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("iss").map(String::as_str),
        Some(format!("http://127.0.0.1:{op_port}").as_str()),
        "RFC 9207 iss"
    );
    let path = format!("{}?{}", cb.path(), cb.query().unwrap());
    let done = server.get(&path, "");
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location").as_deref(), Some("/t/demo/session"));
    let cookie = done.cookie("lanyard_session_demo").expect("session cookie");
    // The same code again: the state was single-use.
    let again = server.get(&path, "");
    assert_eq!(again.status, 401, "{}", again.body);
    assert!(again.body.contains("oidc.state_unknown"), "{}", again.body);
    let session = server.get(
        "/t/demo/session",
        &format!("Cookie: lanyard_session_demo={cookie}\r\n"),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    serde_json::from_str(&session.body).unwrap()
}

#[test]
fn code_flow_with_oidc_provider_then_key_rotation() {
    let Some(dir) = peer_dir() else { return };
    let data = tempfile::tempdir().unwrap();
    let conf = data.path().join("lanyard.toml");
    std::fs::write(
        &conf,
        "outbound_allow_networks = [\"127.0.0.0/8\", \"::1/128\"]\n",
    )
    .unwrap();
    let server = Server::start(
        &data.path().join("data"),
        &["--config", conf.to_str().unwrap()],
    );
    let api_key = server.field("API key:").expect("demo API key");
    let redirect_uri = format!("http://127.0.0.1:{}/t/demo/oidc/op/callback", server.port);
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let op = start_op(&dir, op_port, &redirect_uri, &[("k1", "rsa.key")]);

    // Import from the discovery document; a wrong configured issuer is refused.
    let create = |issuer: &str| {
        let body = serde_json::json!({
            "slug": "op", "name": "oidc-provider", "issuer": issuer,
            "discovery_url": format!("http://127.0.0.1:{op_port}/.well-known/openid-configuration"),
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "use_userinfo": true, "jit": true,
        })
        .to_string();
        server.request(&format!(
            "POST /api/v1/tenants/demo/oidc-connections HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {api_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    };
    let wrong = create("http://127.0.0.1:1/other");
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(
        wrong.body.contains("oidc.discovery_issuer_mismatch"),
        "{}",
        wrong.body
    );
    let res = create(&issuer);
    assert_eq!(res.status, 201, "{}", res.body);
    let conn: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(conn["callback_url"], redirect_uri.as_str());
    assert_eq!(conn["oidc"]["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(conn["oidc"]["client_secret_configured"], true);
    assert!(!res.body.contains(CLIENT_SECRET));

    let s = login(&server, op_port, "alice");
    assert_eq!(s["auth_method"], "oidc", "{s}");
    // preferred_username → username, the verified email → email, name → display name.
    assert_eq!(s["user"]["username"], "alice", "{s}");
    assert_eq!(s["user"]["email"], "alice@op.test", "{s}");
    assert_eq!(s["user"]["display_name"], "User alice", "{s}");

    // Rotation: the provider restarts with a new signing key first; Lanyard's cached JWKS lacks
    // its kid, so it refetches once and the sign-in succeeds.
    drop(op);
    let _op = start_op(
        &dir,
        op_port,
        &redirect_uri,
        &[("k2", "rsa_other.key"), ("k1", "rsa.key")],
    );
    let s = login(&server, op_port, "alice");
    assert_eq!(s["user"]["username"], "alice", "{s}");
    let s = login(&server, op_port, "bob");
    assert_eq!(s["user"]["username"], "bob", "{s}");
}

/// Runs a console test of the connection `op` through the real provider as `user`; returns
/// Lanyard's answer at the callback.
fn console_test(server: &Server, admin: &str, op_port: u16, user: &str) -> HttpResponse {
    let start = server.get("/admin/t/demo/connections/op/test", admin);
    assert_eq!(start.status, 302, "{}", start.body);
    let authorize = start.header("location").unwrap();
    let back = through_the_provider(op_port, &authorize, user);
    let cb = url::Url::parse(&back).unwrap();
    assert_eq!(cb.path(), "/t/demo/oidc/op/callback", "{back}");
    server.get(&format!("{}?{}", cb.path(), cb.query().unwrap()), "")
}

/// "Save and test" against the real provider: a connection not yet enabled is tested from the
/// console; the report shows the claims and what a sign-in would do, and nobody is signed in
/// or created. With a wrong client secret, the test shows the token request's refusal code.
#[test]
fn save_and_test_with_oidc_provider() {
    let Some(dir) = peer_dir() else { return };
    let data = tempfile::tempdir().unwrap();
    let conf = data.path().join("lanyard.toml");
    std::fs::write(
        &conf,
        "outbound_allow_networks = [\"127.0.0.0/8\", \"::1/128\"]\n",
    )
    .unwrap();
    let server = Server::start(
        &data.path().join("data"),
        &["--config", conf.to_str().unwrap()],
    );
    let api_key = server.field("API key:").expect("demo API key");
    let password = server.field("Password:").expect("admin password");
    let admin = crate::harness::sign_in(&server, "demo", "admin", &password)
        .unwrap_or_else(|r| panic!("admin sign-in: {} {}", r.status, r.body));
    let redirect_uri = format!("http://127.0.0.1:{}/t/demo/oidc/op/callback", server.port);
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let _op = start_op(&dir, op_port, &redirect_uri, &[("k1", "rsa.key")]);
    let api = |method: &str, path: &str, body: serde_json::Value| {
        let body = body.to_string();
        server.request(&format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {api_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    };
    let res = api(
        "POST",
        "/api/v1/tenants/demo/oidc-connections",
        serde_json::json!({
            "slug": "op", "name": "oidc-provider", "issuer": issuer, "enabled": false,
            "discovery_url": format!("{issuer}/.well-known/openid-configuration"),
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "use_userinfo": true, "jit": true,
        }),
    );
    assert_eq!(res.status, 201, "{}", res.body);

    let done = console_test(&server, &admin, op_port, "carol");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("data-test-result=\"ok\""),
        "{}",
        done.body
    );
    assert!(
        done.body.contains("data-federation-id>carol</code>"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains("data-mapped=\"email\">carol@op.test"),
        "{}",
        done.body
    );
    assert!(done.body.contains("data-jit=\"create\""), "{}", done.body);
    assert!(done.body.contains("preferred_username"), "{}", done.body);
    assert!(done.cookie("lanyard_session_demo").is_none(), "no session");
    let users = api(
        "GET",
        "/api/v1/tenants/demo/users?search=carol",
        serde_json::json!({}),
    );
    assert!(
        !users.body.contains("carol@op.test"),
        "nobody created: {}",
        users.body
    );

    // Misconfigured: the client secret the provider does not know.
    let res = api(
        "PATCH",
        "/api/v1/tenants/demo/oidc-connections/op",
        serde_json::json!({"client_secret": "not-the-secret"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let failed = console_test(&server, &admin, op_port, "carol");
    assert!(failed.status >= 400, "{}", failed.body);
    assert!(
        failed
            .body
            .contains("Error code <code>fetch.token.http_error</code>"),
        "{}",
        failed.body
    );
    assert!(failed.body.contains("invalid_client"), "{}", failed.body);
    assert!(
        failed.cookie("lanyard_session_demo").is_none(),
        "no session"
    );
}
