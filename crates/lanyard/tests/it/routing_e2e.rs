//! Issue 12 end to end with the real binary (`lanyard serve --demo`, the built-in test IdP):
//! the reset a removed connection sends gives a working way in even with "SSO required" on and
//! another connection still enabled (the defect), until the user links again; and the tenant
//! URL follows the network masks for a real loopback client.

use crate::dev_idp::{cookies, saml};
use crate::harness::{Server, sign_in, urlencode};
use crate::oidc_interop::Jar;
use crate::provisioning_interop::{browse_get, browse_post, json_of, local_path, outbox, url_in};
use crate::saml_interop::{api, input_value};
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new password after the reset";
const PASSWORD: &str = "first password, long enough";

fn start() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--demo"]);
    let key = server
        .field("API key:")
        .expect("demo API key in the banner");
    (dir, server, key)
}

fn patch_tenant(server: &Server, key: &str, body: serde_json::Value) {
    let res = api(
        server,
        key,
        "PATCH",
        "/api/v1/tenants/demo",
        &body.to_string(),
    );
    assert_eq!(res.status, 200, "{}", res.body);
}

#[test]
fn a_removed_connections_reset_works_with_sso_required_until_the_user_links_again() {
    let (_dir, server, key) = start();
    let email = "sam@demo.example";
    // Sam exists only through the SAML connection (just in time, no password).
    let done = saml(&server, email, "none");
    assert_eq!(done.status, 303, "{}", done.body);
    let s = server.get("/t/demo/session", &cookies(&done));
    assert_eq!(s.status, 200, "{}", s.body);
    let s = json_of(&s);
    let username = s["user"]["username"].as_str().unwrap().to_owned();
    let id = s["user"]["id"].as_str().unwrap().to_owned();

    // A regular password user, to show that SSO required really is on.
    let body = json!({"username": "pat", "email": "pat@demo.example", "password": PASSWORD});
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/users",
        &body.to_string(),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    patch_tenant(&server, &key, json!({"sso_required": true}));
    let pat = sign_in(&server, "demo", "pat", PASSWORD).expect_err("SSO required");
    assert!(pat.body.contains("login.sso_required"), "{}", pat.body);

    // The SAML connection goes; the OIDC one stays enabled. Sam is mailed a reset.
    let res = api(
        &server,
        &key,
        "DELETE",
        "/api/v1/tenants/demo/connections/test-idp-saml",
        "",
    );
    assert_eq!(res.status, 204, "{}", res.body);
    let prefix = format!("http://127.0.0.1:{}/t/demo/reset/", server.port);
    let reset = outbox(&server, &key)
        .iter()
        .filter(|m| m["to"] == email)
        .find_map(|m| url_in(m["body"].as_str().unwrap(), &prefix))
        .expect("a password reset mail");
    let path = local_path(&server, &reset);
    let mut browser = Jar::default();
    let page = browse_get(&server, &path, &mut browser);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let set = browse_post(
        &server,
        &path,
        &format!(
            "csrf_token={}&password={}&password2={}",
            urlencode(&csrf),
            urlencode(NEW_PASSWORD),
            urlencode(NEW_PASSWORD)
        ),
        &mut browser,
    );
    assert_eq!(set.status, 200, "{}", set.body);

    // The promise holds: the new password works although SSO is required (before the fix:
    // login.sso_required), on the tenant page and on the direct page.
    let back = sign_in(&server, "demo", &username, NEW_PASSWORD)
        .unwrap_or_else(|r| panic!("the reset's password: {} {}", r.status, r.body));
    let s = json_of(&server.get("/t/demo/session", &back));
    assert_eq!(s["user"]["id"], id.as_str(), "{s}");
    assert_eq!(s["auth_method"], "password", "{s}");
    let u = json_of(&api(
        &server,
        &key,
        "GET",
        &format!("/api/v1/tenants/demo/users/{id}"),
        "",
    ));
    assert_eq!(u["sso_exempt"], true, "{u}");
    let audit = api(
        &server,
        &key,
        "GET",
        "/api/v1/tenants/demo/audit-events?limit=200",
        "",
    );
    assert!(audit.body.contains("user.password_reset"), "{}", audit.body);

    // Once linked to the remaining connection, the exemption ends: SSO required applies again.
    let res = api(
        &server,
        &key,
        "PUT",
        &format!("/api/v1/tenants/demo/users/{id}/federated-identities/test-idp-oidc"),
        &json!({"federation_id": email}).to_string(),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let u = json_of(&api(
        &server,
        &key,
        "GET",
        &format!("/api/v1/tenants/demo/users/{id}"),
        "",
    ));
    assert_eq!(u["sso_exempt"], false, "{u}");
    let refused = sign_in(&server, "demo", &username, NEW_PASSWORD).expect_err("SSO again");
    assert!(
        refused.body.contains("login.sso_required"),
        "{}",
        refused.body
    );
}

#[test]
fn the_tenant_url_follows_network_masks_for_a_real_client() {
    let (_dir, server, key) = start();
    // The client is 127.0.0.1: inside 127.0.0.0/8 → SSO (two connections: their buttons only).
    patch_tenant(&server, &key, json!({"network_masks": ["127.0.0.0/8"]}));
    let page = server.get("/t/demo/login", "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("/t/demo/sso/test-idp-saml/start"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
    // Outside every mask → the direct page (username, then password).
    patch_tenant(&server, &key, json!({"network_masks": ["198.51.100.0/24"]}));
    let page = server.get("/t/demo/login", "");
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/t/demo/login/direct")
    );
    // The generic page sends everyone to the direct page while masks are set.
    let g = server.get("/login", "");
    assert_eq!(g.status, 200, "{}", g.body);
    let csrf = g.cookie("lanyard_login_csrf").unwrap();
    let res = server.post_form(
        "/login",
        &format!("Cookie: lanyard_login_csrf={csrf}\r\n"),
        &format!("identifier=admin&organisation=demo&csrf_token={csrf}"),
    );
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/t/demo/login/direct?username=admin")
    );
}

/// "Require a password change at next sign-in" and the recovery link, with the real binary.
#[test]
fn password_change_at_next_sign_in_and_the_recovery_link() {
    let (_dir, server, key) = start();
    let body = json!({"username": "pat", "email": "pat@demo.example", "password": PASSWORD});
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/users",
        &body.to_string(),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let id = json_of(&res)["id"].as_str().unwrap().to_owned();
    let session = sign_in(&server, "demo", "pat", PASSWORD)
        .unwrap_or_else(|r| panic!("signed in: {} {}", r.status, r.body));
    let res = api(
        &server,
        &key,
        "POST",
        &format!("/api/v1/tenants/demo/users/{id}/require-password-change"),
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(server.get("/t/demo/session", &session).status, 401);

    // The sign-in page under the ended session: the notice and the one-time recovery link.
    let page = server.get("/t/demo/login", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-notice=\"session_ended\""),
        "{}",
        page.body
    );
    let token = page.cookie("lanyard_recover").expect("the recovery cookie");
    let href = format!("/t/demo/recover?token={token}");
    assert!(page.body.contains(&href), "{}", page.body);
    let forged = server.get(&href, &session);
    assert_eq!(forged.status, 403, "without the cookie: {}", forged.body);
    let both = format!(
        "{}; lanyard_recover={token}\r\n",
        session.trim_end().trim_end_matches("\r\n")
    );
    let out = server.get(&href, &both);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location").as_deref(), Some("/t/demo/login"));
    assert!(
        out.head.contains("lanyard_session_demo=;") && out.head.contains("Max-Age=0"),
        "{}",
        out.head
    );

    // The old password leads to a reset, not a session; the new one then signs in.
    let r = sign_in(&server, "demo", "pat", PASSWORD).expect_err("no session yet");
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap();
    let path = local_path(&server, &to);
    assert!(path.starts_with("/t/demo/reset/"), "{path}");
    let mut browser = Jar::default();
    let page = browse_get(&server, &path, &mut browser);
    let csrf = input_value(&page.body, "csrf_token").unwrap();
    let set = browse_post(
        &server,
        &path,
        &format!(
            "csrf_token={}&password={}&password2={}",
            urlencode(&csrf),
            urlencode(NEW_PASSWORD),
            urlencode(NEW_PASSWORD)
        ),
        &mut browser,
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let back = sign_in(&server, "demo", "pat", NEW_PASSWORD)
        .unwrap_or_else(|r| panic!("the new password: {} {}", r.status, r.body));
    assert_eq!(server.get("/t/demo/session", &back).status, 200);
}

/// The MFA requirement against the built-in test IdP's OIDC provider (its `amr_without_mfa`
/// fault sends `amr: ["pwd"]`).
#[test]
fn a_connection_requiring_mfa_refuses_a_login_without_it() {
    let (_dir, server, key) = start();
    let res = api(
        &server,
        &key,
        "PATCH",
        "/api/v1/tenants/demo/oidc-connections/test-idp-oidc",
        &json!({"provisioning": {"required_authn_contexts": ["mfa"]}}).to_string(),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let r = crate::dev_idp::oidc(&server, "olga@demo.example", "amr_without_mfa");
    assert!((400..500).contains(&r.status), "{}", r.body);
    assert!(
        r.body.contains("<code>login.mfa_required</code>"),
        "{}",
        r.body
    );
    let ok = crate::dev_idp::oidc(&server, "olga@demo.example", "none");
    assert_eq!(ok.status, 303, "{}", ok.body);
}

/// The CLI finds the tenant from a verified email domain (and only a verified one).
#[test]
fn the_cli_resolves_the_tenant_from_a_verified_domain() {
    let (dir, server, key) = start();
    let body = json!({"username": "kim", "email": "kim@corp.example", "password": PASSWORD});
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/users",
        &body.to_string(),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let claim = json!({"domain": "corp.example"}).to_string();
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/domains",
        &claim,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let admin = |args: &[&str]| {
        crate::harness::bin()
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = admin(&["reset-password", "kim@corp.example", "--link"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unverified domain names nobody"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tenant"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/domains/corp.example/override",
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let out = admin(&["reset-password", "Kim@CORP.example.", "--link", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["tenant"], "demo");
    assert_eq!(j["username"], "kim");
    assert!(
        j["reset_url"].as_str().unwrap().contains("/t/demo/reset/"),
        "{j}"
    );
}
