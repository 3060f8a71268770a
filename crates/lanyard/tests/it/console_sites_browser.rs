//! The console's private-content pages in a real browser: headless Chromium driven by
//! `playwright-core` (tests/peers/browser/sites.mjs) against the real `lanyard` binary. An
//! administrator creates a list with a member, a site on a connection (the proxy snippets name
//! `/auth/check`), protects pages and a blog for the list, turns SSO off (the warnings are shown
//! first, applied after confirming), and reads the sites page in Japanese. Every Lanyard page is
//! checked for console errors, page errors and CSP violations; screenshots are kept in
//! tests/artifacts/console-sites/ (git-ignored).
//!
//! Skips (with a message) when node or chromium is missing; under `CI` it fails instead.

use crate::harness::{Server, browser_driver, repo_root};
use crate::saml_interop::api;
use std::process::Command;

#[test]
fn an_admin_protects_a_site_and_confirms_turning_sso_off_in_chromium() {
    let Some(script) = browser_driver("sites.mjs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let key = server.field("API key:").expect("API key in the banner");
    let password = server.field("Password:").expect("password in the banner");
    let base = format!("http://127.0.0.1:{}", server.port);
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/jwt-connections",
        r#"{"slug": "portal", "name": "Portal", "login_url": "https://portal.example/login", "algorithm": "HS256", "secret_key": "a-shared-secret-of-at-least-32-bytes!!", "jit": true}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);

    let shots = repo_root().join("tests/artifacts/console-sites");
    std::fs::create_dir_all(&shots).unwrap();
    let host = "docs.demo.example";
    let cfg = serde_json::json!({
        "base": base, "tenant": "demo",
        "admin": {"username": "admin", "password": password},
        "connection": "portal", "host": host, "shots": shots,
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
    assert_eq!(step("list")["members"], 1, "{stdout}");
    let site = step("site");
    assert_eq!(site["nginx_check"], true, "{stdout}");
    assert_eq!(site["caddy_check"], true, "{stdout}");
    assert_eq!(step("resources")["resources"], 3, "{stdout}");
    let off = step("sso_off");
    assert_eq!(
        off["warnings"],
        serde_json::json!([
            {"code": "content.sso_off_makes_public", "count": 2},
            {"code": "content.sso_off_closes_lists", "count": 1},
        ]),
        "{stdout}"
    );
    assert_eq!(off["sso"], false, "{stdout}");
    assert_eq!(step("japanese")["title"], "サイト", "{stdout}");
    let done = steps
        .iter()
        .find(|s| s["done"] == true)
        .expect("the driver finished");
    assert_eq!(
        done["problems"],
        serde_json::json!([]),
        "console errors or CSP violations: {stdout}"
    );

    // The server agrees: SSO is off, the three resources kept their audiences.
    let res = api(&server, &key, "GET", "/api/v1/tenants/demo/sites", "");
    assert!(res.body.contains("\"sso_enabled\":false"), "{}", res.body);
    let res = api(
        &server,
        &key,
        "GET",
        &format!("/api/v1/tenants/demo/sites/{host}/resources"),
        "",
    );
    assert_eq!(
        res.body.matches("\"audience\":\"sso\"").count(),
        2,
        "{}",
        res.body
    );
    assert!(
        res.body.contains("\"audience\":\"sso_lists\""),
        "{}",
        res.body
    );
}
