//! The admin console and the setup portal in a real browser: headless Chromium (Debian's
//! `chromium`) driven by `playwright-core` (tests/peers/browser/console.mjs), against the real
//! `lanyard` binary and two real `saml-idp` peers. Sign in, create a SAML connection by metadata
//! import, save and test (success page with the claims), the same with a certificate the IdP
//! does not sign with (error page with the code), a page in Japanese, and the setup portal from
//! link to a successful test and finish; then an OpenID Connect connection by discovery URL
//! against the real `oidc-provider` (sign-in at its interaction pages, the report with its
//! claims) and with a wrong client secret (the error page with the token endpoint's
//! `invalid_client`). Every Lanyard page is checked for console errors, page errors and CSP
//! violations; screenshots are kept in tests/artifacts/console/ (git-ignored).
//!
//! Skips (with a message) when node or chromium is missing; under `CI` it fails instead.

use crate::harness::{Server, browser_driver, free_port, repo_root};
use crate::oidc_interop::{CLIENT_ID, CLIENT_SECRET, peer_dir, start_op};
use crate::saml_interop::{api, keys, saml_idp, start_saml_idp};
use std::process::Command;

#[test]
fn the_console_and_the_setup_portal_in_headless_chromium() {
    let Some(script) = browser_driver("console.mjs") else {
        return;
    };
    let Some(idp_bin) = saml_idp() else { return };
    let Some(op_dir) = peer_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("lanyard.toml");
    std::fs::write(&conf, "outbound_allow_networks = [\"127.0.0.0/8\"]\n").unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", conf.to_str().unwrap()],
    );
    let key = server.field("API key:").expect("API key in the banner");
    let password = server.field("Password:").expect("password in the banner");
    let base = format!("http://127.0.0.1:{}", server.port);

    // The IdP of the console's connection `test-idp` of `demo`.
    let (_idp, idp_port) = start_saml_idp(
        &idp_bin,
        &format!("{base}/t/demo/saml/test-idp/acs"),
        &format!("{base}/t/demo/saml/test-idp/metadata"),
    );
    // The portal's: tenant `acme`, the generic SAML connection (slug `saml`).
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants",
        r#"{"slug": "acme", "name": "Acme"}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let (_idp2, idp2_port) = start_saml_idp(
        &idp_bin,
        &format!("{base}/t/acme/saml/saml/acs"),
        &format!("{base}/t/acme/saml/saml/metadata"),
    );
    // The OpenID provider of the console's OIDC connection `op` of `demo`.
    let op_port = free_port();
    let op_issuer = format!("http://127.0.0.1:{op_port}");
    let _op = start_op(
        &op_dir,
        op_port,
        &format!("{base}/t/demo/oidc/op/callback"),
        &[("k1", "rsa.key")],
    );
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/acme/setup-links",
        r#"{"note": "IT"}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let link: serde_json::Value = serde_json::from_str(&res.body).unwrap();

    let shots = repo_root().join("tests/artifacts/console");
    std::fs::create_dir_all(&shots).unwrap();
    let cfg = serde_json::json!({
        "base": base, "tenant": "demo", "username": "admin", "password": password,
        "idp": {"port": idp_port, "metadata": format!("http://127.0.0.1:{idp_port}/metadata")},
        "portal": {"url": link["url"], "metadata": format!("http://127.0.0.1:{idp2_port}/metadata")},
        "attackerCert": std::fs::read_to_string(keys().join("attacker.crt")).unwrap(),
        "op": {
            "issuer": op_issuer,
            "discovery": format!("{op_issuer}/.well-known/openid-configuration"),
            "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        },
        "shots": shots,
    });
    let out = Command::new("node")
        .arg(&script)
        .arg(cfg.to_string())
        .current_dir(script.parent().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no `{name}` step: {stdout}"))
    };
    assert!(steps.iter().all(|s| s["step"] != "error"), "{stdout}");
    assert!(
        step("signed_in")["url"]
            .as_str()
            .unwrap()
            .contains("/admin"),
        "{stdout}"
    );
    let ok = step("test_success");
    assert_eq!(ok["ok"], true, "{stdout}");
    assert_eq!(ok["email"], "saml.jackson@example.com", "{stdout}");
    assert_eq!(ok["jit"], "create", "{stdout}");
    assert!(
        !ok["federation_id"].as_str().unwrap_or_default().is_empty(),
        "{stdout}"
    );
    assert!(
        step("connection_page")["copy_buttons"].as_u64().unwrap() >= 4,
        "{stdout}"
    );
    assert!(
        step("test_failure")["code"]
            .as_str()
            .unwrap_or_default()
            .starts_with("saml."),
        "{stdout}"
    );
    let ja = step("japanese");
    assert_eq!(
        (ja["h1"].as_str(), ja["lang"].as_str()),
        (Some("接続"), Some("ja")),
        "{stdout}"
    );
    let portal = step("portal");
    assert_eq!(portal["test_ok"], true, "{stdout}");
    assert_eq!(portal["finished"], "Setup finished", "{stdout}");
    assert_eq!(
        portal["reopen_status"], 404,
        "a finished link stops working: {stdout}"
    );
    // OpenID Connect: the report with the provider's claims, then its refusal of the secret.
    let op = step("oidc_test_success");
    assert_eq!(op["ok"], true, "{stdout}");
    assert_eq!(op["federation_id"], "carol", "{stdout}");
    assert_eq!(op["email"], "carol@op.test", "{stdout}");
    assert_eq!(op["jit"], "create", "{stdout}");
    assert_eq!(
        op["claims"],
        serde_json::json!(["preferred_username", "email_verified", "User carol"]),
        "the provider's claims on the report: {stdout}"
    );
    let bad = step("oidc_test_failure");
    assert_eq!(bad["code"], "fetch.token.http_error", "{stdout}");
    assert_eq!(
        bad["invalid_client"], true,
        "the provider's invalid_client: {stdout}"
    );
    let done = steps
        .iter()
        .find(|s| s["done"] == true)
        .expect("the driver finished");
    assert_eq!(
        done["problems"],
        serde_json::json!([]),
        "console errors or CSP violations: {stdout}"
    );

    // Nothing of the tests created a user; the connections made in the console exist.
    let res = api(&server, &key, "GET", "/api/v1/tenants/demo/users", "");
    assert!(!res.body.contains("saml.jackson"), "{}", res.body);
    assert!(!res.body.contains("carol@op.test"), "{}", res.body);
    let res = api(
        &server,
        &key,
        "GET",
        "/api/v1/tenants/demo/connections/op",
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let op_conn: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(op_conn["kind"], "oidc", "{}", res.body);
    assert_eq!(
        op_conn["oidc"]["issuer"],
        op_issuer.as_str(),
        "{}",
        res.body
    );
    let res = api(
        &server,
        &key,
        "GET",
        "/api/v1/tenants/acme/connections/saml",
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
}
