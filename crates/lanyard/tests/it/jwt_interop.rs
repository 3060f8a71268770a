//! Interop: JWT remote login with tokens minted by an independent library, node's `jose`
//! (tests/peers/jose, installed by scripts/setup-test-peers), for every algorithm Lanyard
//! offers (HS256/384/512, RS256/384/512, ES256/384), each delivered in each of the four query
//! parameters, against the real `lanyard` binary, ending in a Lanyard session.
//!
//! Skips (with a message) only when node/npm are missing; under `CI` it fails instead.

use crate::harness::{Server, urlencode};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key(name: &str) -> String {
    std::fs::read_to_string(
        repo_root()
            .join("crates/lanyard-core/tests/fixtures/jwt")
            .join(name),
    )
    .unwrap()
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The jose peer directory, installed (`npm ci`) if scripts/setup-test-peers has not run.
fn jose() -> Option<PathBuf> {
    if !have("node") || !have("npm") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but node/npm are missing: the JWT interop test cannot run"
        );
        eprintln!(
            "SKIPPED jwt interop: node and npm are not installed (apt-get install nodejs npm)"
        );
        return None;
    }
    let dir = repo_root().join("tests/peers/jose");
    if !dir.join("node_modules/jose/package.json").exists() {
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

/// Runs mint.mjs on `specs`; at most 30 s.
fn mint(dir: &Path, specs: &serde_json::Value) -> Vec<String> {
    let mut child = Command::new("node")
        .arg("mint.mjs")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(specs.to_string().as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("node mint.mjs took over 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "mint.mjs failed");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    serde_json::from_str(&out).unwrap()
}

fn api(
    server: &Server,
    key: &str,
    path: &str,
    body: &serde_json::Value,
) -> crate::harness::HttpResponse {
    let body = body.to_string();
    server.request(&format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

const SECRET: &str = "interop-shared-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG";

#[test]
fn tokens_minted_by_jose_sign_in_for_every_algorithm_and_parameter() {
    let Some(dir) = jose() else { return };
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&data.path().join("data"), &[]);
    let api_key = server
        .field("API key:")
        .expect("demo API key in the banner");

    // (algorithm, verification key saved in Lanyard, signing key given to jose)
    let algs = [
        ("HS256", SECRET.to_owned(), SECRET.to_owned()),
        ("HS384", SECRET.to_owned(), SECRET.to_owned()),
        ("HS512", SECRET.to_owned(), SECRET.to_owned()),
        ("RS256", key("rsa.pub"), key("rsa.key")),
        ("RS384", key("rsa_pkcs1.pub"), key("rsa.key")),
        ("RS512", key("rsa.pub"), key("rsa.key")),
        ("ES256", key("ec256.pub"), key("ec256.key")),
        ("ES384", key("ec384.pub"), key("ec384.key")),
    ];
    for (alg, public, _) in &algs {
        let slug = format!("portal-{}", alg.to_lowercase());
        let res = api(
            &server,
            &api_key,
            "/api/v1/tenants/demo/jwt-connections",
            &serde_json::json!({
                "slug": slug, "name": format!("Portal {alg}"),
                // Plain http is accepted: the server runs on loopback http (development).
                "login_url": "http://127.0.0.1:9/login", "algorithm": alg, "secret_key": public,
                "issuer": "https://portal.interop.test", "audience": "lanyard-demo", "jit": true,
            }),
        );
        assert_eq!(res.status, 201, "{alg}: {}", res.body);
    }

    // Explicit times (the binary uses the real clock): issued now, valid five minutes.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let params = ["jwt", "code", "id_token", "access_token"];
    let mut specs = Vec::new();
    for (alg, _, signing) in &algs {
        for p in params {
            specs.push(serde_json::json!({
                "alg": alg, "key": signing, "header": {"typ": "JWT"},
                "claims": {
                    "iss": "https://portal.interop.test", "aud": "lanyard-demo",
                    "sub": format!("member-{alg}"), "email": format!("member-{}@portal.test", alg.to_lowercase()),
                    "name": "Interop Member", "iat": now, "nbf": now - 5, "exp": now + 300,
                    "jti": format!("{alg}-{p}"),
                },
            }));
        }
    }
    // One more HS256 token with the wrong issuer, and one with no email.
    specs.push(serde_json::json!({"alg": "HS256", "key": SECRET,
        "claims": {"iss": "https://evil.test", "aud": "lanyard-demo", "email": "x@portal.test", "exp": now + 300}}));
    specs.push(serde_json::json!({"alg": "HS256", "key": SECRET,
        "claims": {"iss": "https://portal.interop.test", "aud": "lanyard-demo", "sub": "n", "exp": now + 300}}));
    let tokens = mint(&dir, &serde_json::Value::Array(specs));
    assert_eq!(tokens.len(), algs.len() * params.len() + 2);

    let mut i = 0;
    for (alg, _, _) in &algs {
        let slug = format!("portal-{}", alg.to_lowercase());
        // The start redirect points the remote login back at the verify URL.
        let start = server.get(
            &format!("/t/demo/sso/{slug}/start?return_to=%2Ft%2Fdemo%2Fsession"),
            "",
        );
        assert_eq!(start.status, 302, "{}", start.body);
        let loc = start.header("location").unwrap();
        assert!(
            loc.starts_with("http://127.0.0.1:9/login?redirect_url=")
                && loc.contains(&urlencode(&format!(
                    "/t/demo/jwt/{slug}/verify?redirect_url="
                ))),
            "{loc}"
        );
        for p in params {
            let token = &tokens[i];
            i += 1;
            let res = server.get(
                &format!(
                    "/t/demo/jwt/{slug}/verify?{p}={token}&redirect_url=%2Ft%2Fdemo%2Fsession"
                ),
                "",
            );
            assert_eq!(res.status, 303, "{alg} in {p}: {}", res.body);
            assert_eq!(res.header("location").as_deref(), Some("/t/demo/session"));
            let cookie = res.cookie("lanyard_session_demo").expect("session cookie");
            let session = server.get(
                "/t/demo/session",
                &format!("Cookie: lanyard_session_demo={cookie}\r\n"),
            );
            assert_eq!(session.status, 200, "{}", session.body);
            let s: serde_json::Value = serde_json::from_str(&session.body).unwrap();
            assert_eq!(s["auth_method"], "jwt");
            assert_eq!(
                s["user"]["username"],
                format!("member-{}@portal.test", alg.to_lowercase())
            );
            // The same jose token again is a replay.
            let again = server.get(&format!("/t/demo/jwt/{slug}/verify?{p}={token}"), "");
            assert_eq!(again.status, 401, "{}", again.body);
            assert!(again.body.contains("JTI_CLAIM_INVALID"), "{}", again.body);
            assert!(again.cookie("lanyard_session_demo").is_none());
        }
    }
    let wrong_iss = server.get(
        &format!("/t/demo/jwt/portal-hs256/verify?jwt={}", tokens[i]),
        "",
    );
    assert_eq!(wrong_iss.status, 401);
    assert!(
        wrong_iss.body.contains("TOKEN_VERIFICATION_FAILED"),
        "{}",
        wrong_iss.body
    );
    let no_email = server.get(
        &format!("/t/demo/jwt/portal-hs256/verify?jwt={}", tokens[i + 1]),
        "",
    );
    assert_eq!(no_email.status, 401);
    assert!(
        no_email.body.contains("MISSING_EMAIL_IN_TOKEN"),
        "{}",
        no_email.body
    );
    // A jose RS256 token at the HS256 connection (algorithm confusion) is refused.
    let rs_at_hs = server.get(
        &format!("/t/demo/jwt/portal-hs256/verify?jwt={}", tokens[12]),
        "",
    );
    assert_eq!(rs_at_hs.status, 401);
    assert!(
        rs_at_hs.body.contains("TOKEN_VERIFICATION_FAILED"),
        "{}",
        rs_at_hs.body
    );
}
