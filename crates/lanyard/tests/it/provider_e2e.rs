//! Lanyard as the OpenID provider, end to end through the real binary: an app registered with
//! `lanyard admin create-app`, the code flow with PKCE against `lanyard serve`, UserInfo, and
//! RP-initiated logout whose back-channel logout token the serve process delivers to the app.

use crate::harness::{Server, bin, sign_in, urlencode};
use base64::Engine as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const VERIFIER: &str = "e2e-verifier-e2e-verifier-e2e-verifier-e2e-verifier";

/// A loopback HTTP receiver recording request bodies (answers 200).
fn receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        g.lock().unwrap().push(body.to_owned());
                        break;
                    }
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

fn challenge(v: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            v.replace("%3A", ":")
                .replace("%2F", "/")
                .replace("%2B", "+")
                .replace("%3D", "=")
        })
    })
}

#[test]
fn an_app_signs_in_through_lanyard_and_hears_of_the_logout_on_its_back_channel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let out = bin().args(args).args(["--data-dir", d]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["admin", "create-tenant", "acme"]);
    let user: serde_json::Value = serde_json::from_str(&run(&[
        "admin",
        "create-user",
        "--tenant",
        "acme",
        "kim",
        "--json",
    ]))
    .unwrap();
    let password = user["password"].as_str().unwrap().to_owned();
    let (bcl_port, got) = receiver();
    let bcl = format!("http://127.0.0.1:{bcl_port}/bcl");
    let app: serde_json::Value = serde_json::from_str(&run(&[
        "admin",
        "create-app",
        "--name",
        "Web",
        "--redirect-uri",
        "https://app.example/cb",
        "--backchannel-logout-uri",
        &bcl,
        "--json",
    ]))
    .unwrap();
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let secret = app["client_secret"].as_str().unwrap().to_owned();

    let server = Server::start(dir.path(), &["--outbound-allow-networks", "127.0.0.0/8"]);
    let issuer = format!("http://127.0.0.1:{}", server.port);
    let disc: serde_json::Value =
        serde_json::from_str(&server.get("/.well-known/openid-configuration", "").body).unwrap();
    assert_eq!(disc["issuer"], issuer.as_str());
    let cookie =
        sign_in(&server, "acme", "kim", &password).unwrap_or_else(|r| panic!("{}", r.status));
    let path = format!(
        "/oauth2/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid%20email%20offline_access&state=s1&nonce=n1&code_challenge={}&code_challenge_method=S256&organization=acme",
        urlencode("https://app.example/cb"),
        challenge(VERIFIER)
    );
    let r = server.get(&path, &cookie);
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with("https://app.example/cb?code="), "{loc}");
    assert_eq!(query_param(&loc, "iss").as_deref(), Some(issuer.as_str()));
    let code = query_param(&loc, "code").unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let r = server.post_form(
        "/oauth2/token",
        &format!("Authorization: Basic {basic}\r\n"),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            urlencode("https://app.example/cb")
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let tokens: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let r = server.get(
        "/oauth2/userinfo",
        &format!("Authorization: Bearer {access}\r\n"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["org"],
        "acme"
    );

    let r = server.get(&format!("/oauth2/logout?id_token_hint={id_token}"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    // The serve process's sender delivers the logout token (it looks every 2 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some(b) = got.lock().unwrap().first().cloned() {
            break b;
        }
        assert!(Instant::now() < deadline, "no back-channel logout arrived");
        std::thread::sleep(Duration::from_millis(100));
    };
    let token = body.strip_prefix("logout_token=").unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["iss"], issuer.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    let r = server.get(
        "/oauth2/userinfo",
        &format!("Authorization: Bearer {access}\r\n"),
    );
    assert_eq!(r.status, 401);
    assert!(server.terminate().success());
}
