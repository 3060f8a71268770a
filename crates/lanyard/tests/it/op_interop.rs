//! Interop: Lanyard as the OpenID provider of a SaaS's apps, proven with real client libraries
//! against the real `lanyard` binary: panva/openid-client v6 (node) and Authlib (Python), each a
//! relying party (tests/peers/openid-client/rp.mjs, tests/peers/authlib/rp.py) running the code
//! flow with PKCE S256 + state + nonce, while the person signs in through a real SAML IdP
//! (`saml-idp`) or through `oidc-provider` behind Lanyard (the SAML-to-OIDC bridge). Per client:
//! the ID token verified by the library, UserInfo, refresh with rotation and reuse detection,
//! revocation, introspection (active:false after revocation and after logout), RP-initiated
//! logout back to the registered URI, and back-channel logout received by a listener in the test
//! that verifies the logout token with panva/jose against the JWKS.
//!
//! Apps: registered with `lanyard admin create-app` (confidential RS256 and ES256, and a public
//! PKCE-only app) and, for openid-client in the bridge test, through Dynamic Client Registration
//! (RFC 7591) by the library itself with an operator API key as the initial access token.
//!
//! Skips (with a message) when node/npm or Authlib are missing; under `CI` it fails instead.

pub(crate) mod browser;
mod peers;

use crate::harness::{Server, bin, free_port};
use crate::oidc_interop::{CLIENT_ID, CLIENT_SECRET, Jar, peer_dir, start_op};
use crate::saml_interop::{Peer, api, saml_idp, start_saml_idp};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use browser::{BackChannel, Idp, browse_get, follow};
use peers::{Rp, verify_logout_token};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const SCOPE: &str = "openid profile email offline_access";

/// A running server whose outbound policy lets it reach the IdPs and the back-channel listener
/// on loopback.
pub(crate) fn start_server() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("lanyard.toml");
    std::fs::write(
        &conf,
        "outbound_allow_networks = [\"127.0.0.0/8\", \"::1/128\"]\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", conf.to_str().unwrap()],
    );
    let key = server.field("API key:").expect("demo API key");
    (dir, server, key)
}

/// One app of the SaaS, registered with `lanyard admin create-app --json`.
struct App {
    client_id: String,
    /// None for a public app (PKCE only).
    client_secret: Option<String>,
    alg: String,
    redirect_uri: String,
    post_logout: String,
    backchannel_path: String,
}

fn create_app(data: &Path, name: &str, alg: &str, public: bool, back: &BackChannel) -> App {
    let redirect_uri = back.url(&format!("/{name}/callback"));
    let post_logout = back.url(&format!("/{name}/signed-out"));
    let backchannel_path = format!("/{name}/backchannel-logout");
    let mut cmd = bin();
    cmd.args(["admin", "create-app", "--data-dir"]).arg(data);
    if public {
        cmd.arg("--public");
    }
    let out = cmd
        .args(["--name", name, "--redirect-uri", &redirect_uri])
        .args(["--post-logout-redirect-uri", &post_logout])
        .args(["--backchannel-logout-uri", &back.url(&backchannel_path)])
        .args(["--id-token-alg", alg, "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "create-app: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["public"], public, "{v}");
    assert_eq!(
        v["client_secret"].is_string(),
        !public,
        "a secret for confidential apps: {v}"
    );
    assert_eq!(v["id_token_alg"], alg, "{v}");
    assert_eq!(v["redirect_uris"], json!([redirect_uri]), "{v}");
    App {
        client_id: v["client_id"].as_str().unwrap().to_owned(),
        client_secret: v["client_secret"].as_str().map(str::to_owned),
        alg: alg.to_owned(),
        redirect_uri,
        post_logout,
        backchannel_path,
    }
}

/// An app registered by openid-client through Dynamic Client Registration (RFC 7591), with an
/// operator API key (made by `lanyard admin create-api-key`) as the initial access token.
fn register_app(server: &Server, rp: &mut Rp, data: &Path, name: &str, back: &BackChannel) -> App {
    let out = bin()
        .args([
            "admin",
            "create-api-key",
            "--name",
            "dcr",
            "--json",
            "--data-dir",
        ])
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    let redirect_uri = back.url(&format!("/{name}/callback"));
    let post_logout = back.url(&format!("/{name}/signed-out"));
    let backchannel_path = format!("/{name}/backchannel-logout");
    let metadata = json!({
        "client_name": name, "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout],
        "backchannel_logout_uri": back.url(&backchannel_path),
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "id_token_signed_response_alg": "ES256",
    });
    let issuer = format!("http://127.0.0.1:{}", server.port);
    // Without the initial access token the registration is refused.
    let refused = rp.call(json!({"cmd": "register", "issuer": issuer, "metadata": metadata}));
    assert_eq!(refused["ok"], false, "{refused}");
    let r = rp.ok(json!({
        "cmd": "register", "issuer": issuer, "metadata": metadata,
        "initial_access_token": key["token"],
    }));
    let c = &r["client"];
    assert_eq!(c["redirect_uris"], json!([redirect_uri]), "{c}");
    assert_eq!(c["id_token_signed_response_alg"], "ES256", "{c}");
    App {
        client_id: c["client_id"].as_str().unwrap().to_owned(),
        client_secret: Some(
            c["client_secret"]
                .as_str()
                .expect("an issued secret")
                .to_owned(),
        ),
        alg: "ES256".to_owned(),
        redirect_uri,
        post_logout,
        backchannel_path,
    }
}

/// The code flow through the browser; the library's validated token answer.
fn sign_in(server: &Server, rp: &mut Rp, app: &App, jar: &mut Jar, idp: Idp) -> Value {
    let a = code_flow(server, rp, app, jar, idp, None);
    assert_eq!(a["ok"], true, "{} callback: {a}", rp.name);
    a
}

/// The code flow; the exchange sends `verifier` instead of the library's own when given.
fn code_flow(
    server: &Server,
    rp: &mut Rp,
    app: &App,
    jar: &mut Jar,
    idp: Idp,
    verifier: Option<&str>,
) -> Value {
    let a = rp.ok(json!({
        "cmd": "authorize", "redirect_uri": app.redirect_uri, "scope": SCOPE,
        "params": {"organization": "demo"},
    }));
    let url = a["url"].as_str().unwrap();
    let back = follow(server, jar, url, &app.redirect_uri, idp);
    let cb = url::Url::parse(&back).unwrap();
    let q: std::collections::BTreeMap<String, String> = cb.query_pairs().into_owned().collect();
    // RFC 9207: the issuer in the authorization response (both libraries check it too).
    assert_eq!(
        q.get("iss").map(String::as_str),
        Some(format!("http://127.0.0.1:{}", server.port).as_str()),
        "{back}"
    );
    rp.call(json!({"cmd": "callback", "url": back, "code_verifier": verifier}))
}

/// Everything one client library proves, for one person signing in at `idp`.
fn exercise(
    server: &Server,
    rp: &mut Rp,
    app: &App,
    auth: &str,
    back: &BackChannel,
    idp: Idp,
    email: &str,
) {
    let issuer = format!("http://127.0.0.1:{}", server.port);
    let who = rp.name;

    // Discovery, as each library reads it.
    let d = rp.ok(json!({
        "cmd": "init", "issuer": issuer, "client_id": app.client_id,
        "client_secret": app.client_secret, "auth": auth, "id_token_alg": app.alg,
    }));
    let m = &d["metadata"];
    assert_eq!(m["issuer"], issuer.as_str(), "{who}: {m}");
    assert_eq!(
        m["code_challenge_methods_supported"],
        json!(["S256"]),
        "{m}"
    );
    assert_eq!(
        m["authorization_response_iss_parameter_supported"], true,
        "{m}"
    );
    assert_eq!(m["backchannel_logout_session_supported"], true, "{m}");
    let jwks_uri = m["jwks_uri"].as_str().unwrap().to_owned();

    // 1. The code flow; the person signs in at the IdP (a fresh browser).
    let mut jar = Jar::default();
    let t1 = sign_in(server, rp, app, &mut jar, idp);
    let c = &t1["claims"];
    // Signed with the app's registered algorithm, under a kid of the published JWKS.
    let header = t1["id_token"].as_str().unwrap().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], app.alg.as_str(), "{who}: {header}");
    assert!(header["kid"].is_string(), "{who}: {header}");
    assert_eq!(c["iss"], issuer.as_str(), "{who}: {c}");
    assert_eq!(c["aud"], app.client_id.as_str(), "{who}: {c}");
    assert_eq!(c["email"], email, "{who}: {c}");
    assert_eq!(c["org"], "demo", "{who}: {c}");
    for claim in ["sub", "sid", "auth_time", "nonce", "org_id", "amr"] {
        assert!(
            !c[claim].is_null(),
            "{who}: no {claim} in the ID token: {c}"
        );
    }
    // RFC 8176: federated; acr names the way in (saml or oidc).
    assert_eq!(c["amr"], json!(["fed"]), "{who}: {c}");
    assert!(
        c["acr"].as_str().unwrap().ends_with(idp.method()),
        "{who}: {c}"
    );
    let sub = c["sub"].as_str().unwrap().to_owned();
    let sid = c["sid"].as_str().unwrap().to_owned();
    let rt1 = t1["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    // 2. UserInfo with the access token: the same person.
    let u = rp.ok(json!({"cmd": "userinfo", "access_token": t1["access_token"], "sub": sub}));
    assert_eq!(u["claims"]["email"], email, "{who}: {u}");
    assert_eq!(u["claims"]["org"], "demo", "{who}: {u}");

    // 3. Refresh rotates; the old refresh token is then refused and its reuse revokes the family.
    let t2 = rp.ok(json!({"cmd": "refresh", "refresh_token": rt1}));
    let rt2 = t2["refresh_token"]
        .as_str()
        .expect("a rotated refresh token")
        .to_owned();
    assert_ne!(rt2, rt1, "{who}: the refresh token must rotate");
    assert_ne!(t2["access_token"], t1["access_token"], "{who}");
    rp.fails(
        json!({"cmd": "refresh", "refresh_token": rt1}),
        "invalid_grant",
    );
    rp.fails(
        json!({"cmd": "refresh", "refresh_token": rt2}),
        "invalid_grant",
    );
    // Introspection (RFC 7662) authenticates the caller: confidential apps only.
    let confidential = app.client_secret.is_some();
    if confidential {
        let i = rp.ok(json!({"cmd": "introspect", "token": rt2, "hint": "refresh_token"}));
        assert_eq!(i["body"]["active"], false, "{who}: reused family: {i}");
    }

    // A wrong PKCE verifier: the exchange is refused (the code was minted for another).
    let wrong = "a-verifier-that-was-never-hashed-into-the-challenge-0123456789";
    let a = code_flow(server, rp, app, &mut jar, Idp::Reused, Some(wrong));
    assert_eq!(a["ok"], false, "{who}: {a}");
    assert_eq!(a["error"], "invalid_grant", "{who}: {a}");

    // 4. Again in the same browser: the Lanyard session is reused (no IdP), same sid.
    let t3 = sign_in(server, rp, app, &mut jar, Idp::Reused);
    assert_eq!(t3["claims"]["sid"], sid.as_str(), "{who}");
    assert_eq!(t3["claims"]["sub"], sub.as_str(), "{who}");
    let at3 = t3["access_token"].as_str().unwrap().to_owned();
    let rt3 = t3["refresh_token"].as_str().unwrap().to_owned();
    if confidential {
        let i = rp.ok(json!({"cmd": "introspect", "token": at3, "hint": "access_token"}));
        assert_eq!(i["body"]["active"], true, "{who}: {i}");
        assert_eq!(i["body"]["sub"], sub.as_str(), "{who}: {i}");
        assert_eq!(i["body"]["client_id"], app.client_id.as_str(), "{who}: {i}");
    }

    // 5. Revocation (RFC 7009) of the refresh token: refresh refused, introspection inactive.
    rp.ok(json!({"cmd": "revoke", "token": rt3, "hint": "refresh_token"}));
    rp.fails(
        json!({"cmd": "refresh", "refresh_token": rt3}),
        "invalid_grant",
    );
    if confidential {
        let i = rp.ok(json!({"cmd": "introspect", "token": rt3, "hint": "refresh_token"}));
        assert_eq!(i["body"]["active"], false, "{who}: revoked: {i}");
    }

    // 6. A last grant, then RP-initiated logout back to the registered URI with the state.
    let t4 = sign_in(server, rp, app, &mut jar, Idp::Reused);
    let at4 = t4["access_token"].as_str().unwrap().to_owned();
    let rt4 = t4["refresh_token"].as_str().unwrap().to_owned();
    let l = rp.ok(json!({
        "cmd": "logout_url", "id_token_hint": t4["id_token"],
        "post_logout_redirect_uri": app.post_logout, "state": "bye-123",
    }));
    let landed = follow(
        server,
        &mut jar,
        l["url"].as_str().unwrap(),
        &app.post_logout,
        Idp::Reused,
    );
    let landed = url::Url::parse(&landed).unwrap();
    assert!(
        landed
            .query_pairs()
            .any(|(k, v)| k == "state" && v == "bye-123"),
        "{who}: {landed}"
    );
    let s = browse_get(server, "/t/demo/session", &mut jar);
    assert_eq!(
        s.status, 401,
        "{who}: the Lanyard session ended: {}",
        s.body
    );

    // 7. Everything issued from the session is dead at once.
    if confidential {
        let i = rp.ok(json!({"cmd": "introspect", "token": at4, "hint": "access_token"}));
        assert_eq!(i["body"]["active"], false, "{who}: after logout: {i}");
    }
    let u = rp.call(json!({"cmd": "userinfo", "access_token": at4, "sub": sub}));
    assert_eq!(u["ok"], false, "{who}: UserInfo after logout: {u}");
    rp.fails(
        json!({"cmd": "refresh", "refresh_token": rt4}),
        "invalid_grant",
    );

    // 8. Back-channel logout: a logout token for this session, signed with a published key.
    let (path, token) = back
        .next(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{who}: no back-channel logout within 30 s"));
    assert_eq!(path, app.backchannel_path, "{who}");
    let p = verify_logout_token(&token, &jwks_uri, &issuer, &app.client_id);
    assert_eq!(p["sid"], sid.as_str(), "{who}: {p}");
    assert_eq!(p["sub"], sub.as_str(), "{who}: {p}");
    assert!(p["jti"].is_string() && p["iat"].is_number(), "{who}: {p}");
    assert!(
        p["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(),
        "{who}: {p}"
    );
    assert!(p.get("nonce").is_none(), "a logout token has no nonce: {p}");
    assert!(
        back.next(Duration::from_millis(500)).is_none(),
        "{who}: one logout token per app and session"
    );
}

/// The SAML connection `test-idp` of tenant demo, imported from saml-idp's metadata; the IdP.
pub(crate) fn saml_connection(server: &Server, key: &str) -> Option<(Peer, u16)> {
    let idp_bin = saml_idp()?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let (peer, idp_port) = start_saml_idp(
        &idp_bin,
        &format!("{base}/t/demo/saml/test-idp/acs"),
        &format!("{base}/t/demo/saml/test-idp/metadata"),
    );
    let body = json!({
        "slug": "test-idp", "name": "saml-idp",
        "metadata_url": format!("http://127.0.0.1:{idp_port}/metadata"),
        "jit": true, "email_attribute": "email",
    })
    .to_string();
    let res = api(
        server,
        key,
        "POST",
        "/api/v1/tenants/demo/connections",
        &body,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    Some((peer, idp_port))
}

#[test]
fn openid_client_and_authlib_through_a_saml_idp() {
    let (data, server, key) = start_server();
    let Some((_idp, port)) = saml_connection(&server, &key) else {
        return;
    };
    let Some(mut node) = Rp::openid_client() else {
        return;
    };
    let back = BackChannel::start();
    let node_app = create_app(&data.path().join("data"), "node-app", "RS256", false, &back);
    let saml = |email| Idp::Saml { port, email };
    exercise(
        &server,
        &mut node,
        &node_app,
        "basic",
        &back,
        saml("ada@example.com"),
        "ada@example.com",
    );
    // A public app (PKCE only, no secret): the same flow without introspection.
    let public_app = create_app(&data.path().join("data"), "spa", "RS256", true, &back);
    exercise(
        &server,
        &mut node,
        &public_app,
        "none",
        &back,
        saml("linus@example.com"),
        "linus@example.com",
    );
    let Some(mut py) = Rp::authlib() else { return };
    let py_app = create_app(
        &data.path().join("data"),
        "python-app",
        "RS256",
        false,
        &back,
    );
    exercise(
        &server,
        &mut py,
        &py_app,
        "post",
        &back,
        saml("grace@example.com"),
        "grace@example.com",
    );
}

#[test]
fn openid_client_and_authlib_through_oidc_provider_behind_lanyard() {
    let Some(dir) = peer_dir() else { return };
    let (data, server, key) = start_server();
    let redirect_uri = format!("http://127.0.0.1:{}/t/demo/oidc/op/callback", server.port);
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let _op = start_op(&dir, op_port, &redirect_uri, &[("k1", "rsa.key")]);
    let body = json!({
        "slug": "op", "name": "oidc-provider", "issuer": issuer,
        "discovery_url": format!("{issuer}/.well-known/openid-configuration"),
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "use_userinfo": true, "jit": true,
    })
    .to_string();
    let res = api(
        &server,
        &key,
        "POST",
        "/api/v1/tenants/demo/oidc-connections",
        &body,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let Some(mut node) = Rp::openid_client() else {
        return;
    };
    let back = BackChannel::start();
    // op.mjs asserts `{login}@op.test`, verified.
    let node_app = register_app(
        &server,
        &mut node,
        &data.path().join("data"),
        "node-app",
        &back,
    );
    let op = |user| Idp::Op {
        port: op_port,
        user,
    };
    exercise(
        &server,
        &mut node,
        &node_app,
        "post",
        &back,
        op("alice"),
        "alice@op.test",
    );
    let Some(mut py) = Rp::authlib() else { return };
    let py_app = create_app(
        &data.path().join("data"),
        "python-app",
        "ES256",
        false,
        &back,
    );
    exercise(
        &server,
        &mut py,
        &py_app,
        "basic",
        &back,
        op("bob"),
        "bob@op.test",
    );
}
