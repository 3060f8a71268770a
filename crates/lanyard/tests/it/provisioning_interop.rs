//! Interop: a password account moves to SSO through an upgrade invitation, end to end, against
//! the real `lanyard` binary and the real third-party IdPs of the suite: the `saml-idp` npm
//! package (tests/peers/saml-idp) and the `oidc-provider` npm package
//! (tests/peers/oidc-provider), over real HTTP on loopback.
//!
//! SAML: invite → emailed link → accept → the IdP's login → ACS → the account is linked, its
//! password, API tokens and other sessions stop working; then the connection is deleted, the
//! user is mailed a password reset, follows it, and signs in with the new password.
//!
//! OIDC: the user first answers "not now", then resumes from the same link and is linked.
//!
//! Skips (with a message) only when node/npm are missing; under `CI` it fails instead.

use crate::harness::{HttpResponse, Server, free_port, http, sign_in, urlencode};
use crate::oidc_interop::{
    CLIENT_ID, CLIENT_SECRET, Jar, peer_dir, start_op, through_the_provider,
};
use crate::saml_interop::{api, form_action, input_value, saml_idp, start_saml_idp};
use serde_json::{Value, json};

const PASSWORD: &str = "first password, long enough";
const NEW_PASSWORD: &str = "a brand new password after the reset";

pub(crate) fn json_of(res: &HttpResponse) -> Value {
    serde_json::from_str(&res.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", res.status, res.body))
}

/// A browser request to Lanyard, keeping its cookies in `jar`.
pub(crate) fn browse_get(server: &Server, path: &str, jar: &mut Jar) -> HttpResponse {
    let res = server.get(path, &jar.header());
    jar.take(&res);
    res
}

pub(crate) fn browse_post(server: &Server, path: &str, body: &str, jar: &mut Jar) -> HttpResponse {
    let res = server.post_form(path, &jar.header(), body);
    jar.take(&res);
    res
}

/// The user's session at /t/demo/session, given the headers that authenticate it.
fn session(server: &Server, headers: &str) -> HttpResponse {
    server.get("/t/demo/session", headers)
}

pub(crate) fn outbox(server: &Server, key: &str) -> Vec<Value> {
    let res = api(
        server,
        key,
        "GET",
        "/api/v1/tenants/demo/outbox?limit=100",
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    json_of(&res)["items"].as_array().unwrap().clone()
}

/// The first URL starting with `prefix` in a mail body.
pub(crate) fn url_in(body: &str, prefix: &str) -> Option<String> {
    let at = body.find(prefix)?;
    let rest = &body[at..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// A password user of the demo tenant; returns its id.
fn create_password_user(server: &Server, key: &str, username: &str, email: &str) -> String {
    let body = json!({"username": username, "email": email, "password": PASSWORD}).to_string();
    let res = api(server, key, "POST", "/api/v1/tenants/demo/users", &body);
    assert_eq!(res.status, 201, "{}", res.body);
    let u = json_of(&res);
    assert_eq!(u["has_password"], true, "{u}");
    assert_eq!(u["sso_state"], "none", "{u}");
    u["id"].as_str().unwrap().to_owned()
}

/// Invites `user` (id or username) and checks the answer and the queued email; returns the
/// invitation's link.
fn invite(server: &Server, key: &str, user: &str, email: &str, connection: Option<&str>) -> String {
    let mut req = json!({"users": [user]});
    if let Some(c) = connection {
        req["connection"] = json!(c);
    }
    let res = api(
        server,
        key,
        "POST",
        "/api/v1/tenants/demo/invitations",
        &req.to_string(),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let rows = json_of(&res);
    let rows = rows["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let inv = &rows[0];
    assert_eq!(inv["status"], "pending", "{inv}");
    assert_eq!(inv["emailed"], true, "{inv}");
    let url = inv["url"].as_str().unwrap().to_owned();
    let prefix = format!("http://127.0.0.1:{}/t/demo/invite/", server.port);
    assert!(url.starts_with(&prefix), "{url}");
    // The same link, by email.
    let mails = outbox(server, key);
    let mail = mails
        .iter()
        .find(|m| m["to"] == email && m["body"].as_str().unwrap().contains(&url))
        .unwrap_or_else(|| panic!("no invitation email to {email} with {url}: {mails:?}"));
    assert_eq!(
        url_in(mail["body"].as_str().unwrap(), &prefix).as_deref(),
        Some(url.as_str())
    );
    url
}

pub(crate) fn local_path(server: &Server, url: &str) -> String {
    url.strip_prefix(&format!("http://127.0.0.1:{}", server.port))
        .unwrap_or_else(|| panic!("{url} is not on this server"))
        .to_owned()
}

/// Opens the invitation page and submits one of its two forms; returns the answer.
fn answer_invitation(server: &Server, path: &str, action: &str, jar: &mut Jar) -> HttpResponse {
    let page = browse_get(server, path, jar);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("value=\"accept\"") && page.body.contains("value=\"decline\""),
        "{}",
        page.body
    );
    assert!(
        page.cookie("lanyard_login_csrf").is_some(),
        "the page sets the login-CSRF cookie"
    );
    let csrf = input_value(&page.body, "csrf_token").expect("csrf_token in the form");
    let form = format!("csrf_token={}&action={action}", urlencode(&csrf));
    // Without the cookie, the form is refused (double submit).
    let forged = server.post_form(path, "", &form);
    assert!(
        matches!(forged.status, 400 | 403),
        "{} {}",
        forged.status,
        forged.body
    );
    browse_post(server, path, &form, jar)
}

/// The user's way through saml-idp, from Lanyard's redirect to the IdP to the ACS answer.
pub(crate) fn through_saml_idp(
    server: &Server,
    idp_port: u16,
    location: &str,
    email: &str,
) -> HttpResponse {
    let acs = format!("http://127.0.0.1:{}/t/demo/saml/test-idp/acs", server.port);
    let idp_path = location
        .strip_prefix(&format!("http://127.0.0.1:{idp_port}"))
        .unwrap_or_else(|| panic!("redirect to {location}, not the IdP"));
    assert!(
        idp_path.contains("SAMLRequest=") && idp_path.contains("RelayState="),
        "{idp_path}"
    );
    let page = http(
        idp_port,
        &format!(
            "GET {idp_path} HTTP/1.1\r\nHost: 127.0.0.1:{idp_port}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let authn = input_value(&page.body, "_authnRequest").expect("the IdP parsed our AuthnRequest");
    let form = format!(
        "_authnRequest={}&userName={}&email={}&firstName=Saml&lastName=Jackson",
        urlencode(&authn),
        urlencode(email),
        urlencode(email)
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
    // The browser posts it to the ACS (cross-site: no cookies at all).
    let acs_body = format!(
        "SAMLResponse={}&RelayState={}",
        urlencode(&saml_response),
        urlencode(&relay_state)
    );
    server.post_form("/t/demo/saml/test-idp/acs", "", &acs_body)
}

/// The session cookie header a successful SSO answer set, checked to belong to `user_id`.
fn sso_session(server: &Server, done: &HttpResponse, user_id: &str, method: &str) -> String {
    assert_eq!(done.status, 303, "{}", done.body);
    let cookie = done.cookie("lanyard_session_demo").expect("session cookie");
    let header = format!("Cookie: lanyard_session_demo={cookie}\r\n");
    let s = session(server, &header);
    assert_eq!(s.status, 200, "{}", s.body);
    let s = json_of(&s);
    assert_eq!(s["auth_method"], method, "{s}");
    assert_eq!(s["user"]["id"], user_id, "{s}");
    header
}

fn user(server: &Server, key: &str, id: &str) -> Value {
    let res = api(
        server,
        key,
        "GET",
        &format!("/api/v1/tenants/demo/users/{id}"),
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    json_of(&res)
}

fn invitation_status(server: &Server, key: &str, user_id: &str) -> Value {
    let res = api(server, key, "GET", "/api/v1/tenants/demo/invitations", "");
    assert_eq!(res.status, 200, "{}", res.body);
    let page = json_of(&res);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == user_id)
        .unwrap_or_else(|| panic!("no invitation of {user_id}: {page}"))
        .clone()
}

fn start_server() -> (tempfile::TempDir, Server, String) {
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
    let key = server
        .field("API key:")
        .expect("demo API key in the banner");
    (dir, server, key)
}

#[test]
fn password_user_moves_to_saml_by_invitation_then_back_by_reset() {
    let Some(idp_bin) = saml_idp() else { return };
    let (_dir, server, key) = start_server();
    let base = format!("http://127.0.0.1:{}", server.port);
    let sp_entity = format!("{base}/t/demo/saml/test-idp/metadata");
    let acs = format!("{base}/t/demo/saml/test-idp/acs");

    let (_peer, idp_port) = start_saml_idp(&idp_bin, &acs, &sp_entity);

    let body = json!({
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

    // 1. A password user whose email is the one saml-idp asserts (its NameID is that address
    // too, in emailAddress format), signed in with the password, with a working API token.
    let email = "saml.jackson@example.com";
    let id = create_password_user(&server, &key, "sam", email);
    let old_session = sign_in(&server, "demo", "sam", PASSWORD)
        .unwrap_or_else(|r| panic!("password login: {} {}", r.status, r.body));
    let s = session(&server, &old_session);
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(json_of(&s)["user"]["id"], id.as_str());
    let res = api(
        &server,
        &key,
        "POST",
        &format!("/api/v1/tenants/demo/users/{id}/api-tokens"),
        r#"{"name":"x"}"#,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let token = json_of(&res)["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("lyt_"), "{token}");
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let s = session(&server, &bearer);
    assert_eq!(s.status, 200, "{}", s.body);
    let s = json_of(&s);
    assert_eq!(s["auth_method"], "api_token", "{s}");
    assert_eq!(s["user"]["id"], id.as_str(), "{s}");

    // Without an invitation, SSO does not take over the existing account.
    let start = server.get("/t/demo/sso/test-idp/start", "");
    assert_eq!(start.status, 302, "{}", start.body);
    let refused = through_saml_idp(&server, idp_port, &start.header("location").unwrap(), email);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("login.account_exists_use_invitation"),
        "{}",
        refused.body
    );
    assert!(refused.cookie("lanyard_session_demo").is_none());

    // 2. The invitation: link in the answer and in the email; accept → the IdP → ACS.
    let url = invite(&server, &key, "sam", email, None);
    assert_eq!(user(&server, &key, &id)["sso_state"], "invited");
    let path = local_path(&server, &url);
    let mut browser = Jar::default();
    let accepted = answer_invitation(&server, &path, "accept", &mut browser);
    assert!(
        matches!(accepted.status, 302 | 303),
        "{} {}",
        accepted.status,
        accepted.body
    );
    let location = accepted.header("location").unwrap();
    let done = through_saml_idp(&server, idp_port, &location, email);
    let new_session = sso_session(&server, &done, &id, "saml");

    // 3. What joining SSO did.
    let old = session(&server, &old_session);
    assert_eq!(old.status, 401, "the password session ended: {}", old.body);
    let tok = session(&server, &bearer);
    assert_eq!(tok.status, 401, "{}", tok.body);
    assert_eq!(
        json_of(&tok)["error"]["code"],
        "auth.api_token_invalid",
        "{}",
        tok.body
    );
    let pw = sign_in(&server, "demo", "sam", PASSWORD).expect_err("the password was removed");
    assert_eq!(pw.status, 401, "{}", pw.body);
    assert!(pw.body.contains("login.invalid_credentials"), "{}", pw.body);
    let u = user(&server, &key, &id);
    assert_eq!(u["sso_state"], "linked", "{u}");
    assert_eq!(u["has_password"], false, "{u}");
    let res = api(
        &server,
        &key,
        "GET",
        &format!("/api/v1/tenants/demo/users/{id}/federated-identities"),
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let fed = json_of(&res);
    let fed = fed["items"].as_array().unwrap();
    assert_eq!(fed.len(), 1, "{fed:?}");
    assert_eq!(fed[0]["connection"], "test-idp");
    assert_eq!(fed[0]["federation_id"], email, "the IdP's NameID");
    let inv = invitation_status(&server, &key, &id);
    assert_eq!(inv["status"], "accepted", "{inv}");
    assert!(inv["accepted_at"].is_string(), "{inv}");
    // The new session survives the upgrade; the used link answers, but starts nothing.
    assert_eq!(session(&server, &new_session).status, 200);
    let again = browse_get(&server, &path, &mut browser);
    assert_eq!(again.status, 403, "{}", again.body);
    assert!(
        again.body.contains("invitation.already_accepted"),
        "{}",
        again.body
    );
    // A later SSO login (no invitation) is the same user.
    let start = server.get("/t/demo/sso/test-idp/start", "");
    assert_eq!(start.status, 302, "{}", start.body);
    let later = through_saml_idp(&server, idp_port, &start.header("location").unwrap(), email);
    sso_session(&server, &later, &id, "saml");

    // 4. The connection goes away: the user, who could only sign in through it, is mailed a
    // password reset, follows it and signs in with the new password.
    let before = outbox(&server, &key).len();
    let res = api(
        &server,
        &key,
        "DELETE",
        "/api/v1/tenants/demo/connections/test-idp",
        "",
    );
    assert_eq!(res.status, 204, "{}", res.body);
    let mails = outbox(&server, &key);
    assert_eq!(mails.len(), before + 1, "{mails:?}");
    let reset_prefix = format!("{base}/t/demo/reset/");
    let reset = mails
        .iter()
        .filter(|m| m["to"] == email)
        .find_map(|m| url_in(m["body"].as_str().unwrap(), &reset_prefix))
        .unwrap_or_else(|| panic!("no password reset mail to {email}: {mails:?}"));
    let reset_path = local_path(&server, &reset);
    let mut browser = Jar::default();
    let page = browse_get(&server, &reset_path, &mut browser);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"password2\""), "{}", page.body);
    let csrf = input_value(&page.body, "csrf_token").expect("csrf_token in the reset form");
    let form = |a: &str, b: &str| {
        format!(
            "csrf_token={}&password={}&password2={}",
            urlencode(&csrf),
            urlencode(a),
            urlencode(b)
        )
    };
    let differ = browse_post(
        &server,
        &reset_path,
        &form(NEW_PASSWORD, "something else entirely"),
        &mut browser,
    );
    assert_eq!(differ.status, 400, "{}", differ.body);
    let short = browse_post(&server, &reset_path, &form("short", "short"), &mut browser);
    assert_eq!(short.status, 400, "{}", short.body);
    let set = browse_post(
        &server,
        &reset_path,
        &form(NEW_PASSWORD, NEW_PASSWORD),
        &mut browser,
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(set.body.contains("Password set"), "{}", set.body);
    let used = browse_post(
        &server,
        &reset_path,
        &form(NEW_PASSWORD, NEW_PASSWORD),
        &mut browser,
    );
    assert!(
        matches!(used.status, 400 | 403 | 404 | 410),
        "a used reset link: {} {}",
        used.status,
        used.body
    );
    assert!(sign_in(&server, "demo", "sam", PASSWORD).is_err());
    let back = sign_in(&server, "demo", "sam", NEW_PASSWORD)
        .unwrap_or_else(|r| panic!("login with the new password: {} {}", r.status, r.body));
    let s = session(&server, &back);
    assert_eq!(s.status, 200, "{}", s.body);
    let s = json_of(&s);
    assert_eq!(s["auth_method"], "password", "{s}");
    assert_eq!(s["user"]["id"], id.as_str(), "{s}");
    assert_eq!(user(&server, &key, &id)["has_password"], true);
}

#[test]
fn declined_invitation_resumed_later_through_oidc_provider() {
    let Some(dir) = peer_dir() else { return };
    let (_data, server, key) = start_server();
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

    // op.mjs asserts `{login}@op.test` (verified) with sub = the login name.
    let email = "alice@op.test";
    let id = create_password_user(&server, &key, "alice", email);
    let old_session = sign_in(&server, "demo", "alice", PASSWORD)
        .unwrap_or_else(|r| panic!("password login: {} {}", r.status, r.body));
    let url = invite(&server, &key, &id, email, Some("op"));
    let path = local_path(&server, &url);

    // "Not now": the password keeps working, the invitation is declined but stays usable.
    let mut browser = Jar::default();
    let declined = answer_invitation(&server, &path, "decline", &mut browser);
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert!(
        declined.body.contains(&path),
        "a way back: {}",
        declined.body
    );
    assert_eq!(user(&server, &key, &id)["sso_state"], "declined");
    let inv = invitation_status(&server, &key, &id);
    assert_eq!(inv["status"], "declined", "{inv}");
    assert_eq!(session(&server, &old_session).status, 200);
    sign_in(&server, "demo", "alice", PASSWORD)
        .unwrap_or_else(|r| panic!("password after declining: {} {}", r.status, r.body));

    // Resumed from the same link: accept → the provider's login and consent → callback.
    let accepted = answer_invitation(&server, &path, "accept", &mut browser);
    assert!(
        matches!(accepted.status, 302 | 303),
        "{} {}",
        accepted.status,
        accepted.body
    );
    let authorize = accepted.header("location").unwrap();
    assert!(
        authorize.starts_with(&format!("{issuer}/auth?")),
        "{authorize}"
    );
    let back = through_the_provider(op_port, &authorize, "alice");
    let cb = url::Url::parse(&back).unwrap();
    assert_eq!(cb.path(), "/t/demo/oidc/op/callback", "{back}");
    let done = server.get(&format!("{}?{}", cb.path(), cb.query().unwrap()), "");
    sso_session(&server, &done, &id, "oidc");

    assert_eq!(session(&server, &old_session).status, 401);
    let pw = sign_in(&server, "demo", "alice", PASSWORD).expect_err("the password was removed");
    assert_eq!(pw.status, 401, "{}", pw.body);
    let u = user(&server, &key, &id);
    assert_eq!(u["sso_state"], "linked", "{u}");
    assert_eq!(u["has_password"], false, "{u}");
    let res = api(
        &server,
        &key,
        "GET",
        &format!("/api/v1/tenants/demo/users/{id}/federated-identities"),
        "",
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let fed = &json_of(&res)["items"];
    assert_eq!(fed[0]["connection"], "op", "{fed}");
    assert_eq!(
        fed[0]["federation_id"], "alice",
        "the provider's sub: {fed}"
    );
    let inv = invitation_status(&server, &key, &id);
    assert_eq!(inv["status"], "accepted", "{inv}");
}
