//! The console's user pages in a real browser: headless Chromium driven by `playwright-core`
//! (tests/peers/browser/users.mjs) against the real `lanyard` binary. An administrator edits a
//! user's federation ID, sends an invitation, and revokes the user's session (signed in from
//! another browser, which is then signed out); the audit log shows each action. Every Lanyard
//! page is checked for console errors, page errors and CSP violations; screenshots are kept in
//! tests/artifacts/console-users/ (git-ignored).
//!
//! Skips (with a message) when node or chromium is missing; under `CI` it fails instead.

use crate::harness::{Server, browser_driver, repo_root};
use crate::saml_interop::api;
use std::process::Command;

#[test]
fn an_admin_edits_a_federation_id_invites_and_revokes_a_session_in_chromium() {
    let Some(script) = browser_driver("users.mjs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let key = server.field("API key:").expect("API key in the banner");
    let password = server.field("Password:").expect("password in the banner");
    let base = format!("http://127.0.0.1:{}", server.port);

    let member_pw = "a member's long password";
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/users",
        &serde_json::json!({"username": "pat", "email": "pat@demo.example", "role": "standard", "password": member_pw}).to_string(),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let member: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/jwt-connections",
        r#"{"slug": "portal", "name": "Portal", "login_url": "https://portal.example/login", "algorithm": "HS256", "secret_key": "a-shared-secret-of-at-least-32-bytes!!", "jit": true}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);

    let shots = repo_root().join("tests/artifacts/console-users");
    std::fs::create_dir_all(&shots).unwrap();
    let cfg = serde_json::json!({
        "base": base, "tenant": "demo",
        "admin": {"username": "admin", "password": password},
        "member": {"username": "pat", "password": member_pw, "id": member["id"]},
        "connection": "portal", "federationId": "portal|pat-0042",
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
    assert_eq!(step("member_signed_in")["status"], 200, "{stdout}");
    assert_eq!(step("users_list")["listed"], 1, "{stdout}");
    let fed = step("federation");
    assert_eq!(fed["value"], "portal|pat-0042", "{stdout}");
    assert_eq!(fed["sso_state"], "linked", "{stdout}");
    let inv = step("invitation");
    assert_eq!(inv["status"], "pending", "{stdout}");
    assert_eq!(inv["notice"], "Invitation sent.", "{stdout}");
    let sess = step("session");
    assert!(sess["listed"].as_u64().unwrap() >= 1, "{stdout}");
    assert_eq!(
        sess["left"].as_u64().unwrap() + 1,
        sess["listed"].as_u64().unwrap(),
        "{stdout}"
    );
    assert_eq!(
        sess["member_status"], 401,
        "the revoked session no longer works: {stdout}"
    );
    let kinds: Vec<String> = serde_json::from_value(step("audit")["kinds"].clone()).unwrap();
    for k in [
        "federated_identity.set",
        "federated_identity.removed",
        "invitation.sent",
        "session.revoked",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let done = steps
        .iter()
        .find(|s| s["done"] == true)
        .expect("the driver finished");
    assert_eq!(
        done["problems"],
        serde_json::json!([]),
        "console errors or CSP violations: {stdout}"
    );

    // The server agrees: the invitation is pending and pat has no live session.
    let res = api(&server, &key, "GET", "/api/v1/tenants/demo/invitations", "");
    assert!(res.body.contains("\"status\":\"pending\""), "{}", res.body);
    let res = api(
        &server,
        &key,
        "GET",
        &format!(
            "/api/v1/tenants/demo/sessions?user_id={}",
            member["id"].as_str().unwrap()
        ),
        "",
    );
    assert!(res.body.contains("\"items\":[]"), "{}", res.body);
}
