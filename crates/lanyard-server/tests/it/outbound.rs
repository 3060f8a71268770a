//! Requests to the identity provider during an OIDC sign-in, through the router: the address
//! policy (SSRF to cloud metadata refused whatever the allow-list, before anything is sent) and
//! each failure kind answered with its own code, message and help on the page, audited.

use crate::harness::TestApp;
use crate::oidc::{Op, authorize, callback, fake_op, oidc_connection};
use crate::saml::{assert_refused, counts};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn app_with(allow: &[&str]) -> (TestApp, String, Op) {
    let app = TestApp::new()
        .await
        .with_outbound_allow(allow)
        .with_outbound_timeout(Duration::from_secs(1));
    let (issuer, op) = fake_op().await;
    let res = oidc_connection(&app, &issuer, json!({})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    (app, issuer, op)
}

async fn patch(app: &TestApp, body: Value) {
    let res = app
        .api(
            Method::PATCH,
            "/api/v1/tenants/acme/oidc-connections/op",
            Some(body),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

/// A loopback server that reads the request, then answers `answer` (None: never answers).
async fn peer(answer: Option<Vec<u8>>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let _ = sock.read(&mut buf).await;
                match answer {
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                    Some(a) => {
                        let _ = sock.write_all(&a).await;
                        let _ = sock.shutdown().await;
                    }
                }
            });
        }
    });
    url
}

fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// SSRF: a token endpoint (which receives the code and the client credentials) or a JWKS URI
/// pointing at the cloud metadata service, in several spellings, is refused with its code, on
/// the page and in the audit log, even when the allow-list covers every address.
#[tokio::test]
async fn metadata_addresses_are_refused_at_sign_in_whatever_the_allow_list() {
    let (app, issuer, op) = app_with(&["0.0.0.0/0", "::/0"]).await;
    let cases = [
        (
            "token_endpoint",
            "http://169.254.169.254/token",
            "fetch.token.address_forbidden",
        ),
        (
            "token_endpoint",
            "http://2852039166/token",
            "fetch.token.address_forbidden",
        ),
        (
            "token_endpoint",
            "http://[64:ff9b::a9fe:a9fe]/token",
            "fetch.token.address_forbidden",
        ),
        (
            "jwks_uri",
            "http://[::ffff:a9fe:a9fe]/jwks",
            "fetch.jwks.address_forbidden",
        ),
        (
            "jwks_uri",
            "http://[fd00:ec2::254]/jwks",
            "fetch.jwks.address_forbidden",
        ),
        (
            "jwks_uri",
            "http://100.100.100.200/jwks",
            "fetch.jwks.address_forbidden",
        ),
    ];
    for (field, url, want) in cases {
        patch(
            &app,
            json!({"token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/jwks"), field: url}),
        )
        .await;
        let calls = op.lock().unwrap().token_calls;
        let before = counts(&app).await;
        let (state, code) = authorize(&app, &op).await;
        let res = callback(&app, &format!("code={code}&state={state}")).await;
        assert_refused(&app, &res, want, before).await;
        let page = res.text();
        assert!(page.contains("is never fetched"), "{page}");
        assert!(!page.contains("compare issuer"), "{page}");
        if field == "token_endpoint" {
            assert_eq!(op.lock().unwrap().token_calls, calls, "nothing was sent");
        }
    }
}

/// Each failure kind of the token, JWKS and userinfo calls has its own code and a message
/// that says what happened (status and OAuth error, timeout and its length, size limit).
#[tokio::test]
async fn token_jwks_and_userinfo_failures_say_what_happened() {
    let (app, issuer, op) = app_with(&["127.0.0.0/8"]).await;
    let silent = peer(None).await;
    let broken = peer(Some(http("500 Internal Server Error", b"{}"))).await;
    let huge = peer(Some(http("200 OK", &vec![b' '; 300 * 1024]))).await;
    let not_json = peer(Some(http("200 OK", b"<html>login</html>"))).await;
    let good = json!({"token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/me"), "use_userinfo": false, "client_secret": "client-secret-1"});
    let cases: Vec<(Value, &str, &[&str])> = vec![
        (
            json!({"client_secret": "wrong"}),
            "fetch.token.http_error",
            &["HTTP 401", "invalid_client", "client secret"],
        ),
        (
            json!({"token_endpoint": format!("{silent}/token")}),
            "fetch.token.timeout",
            &["within 1 second", "timed out", "did not answer in time"],
        ),
        (
            json!({"token_endpoint": format!("{not_json}/token")}),
            "fetch.token.malformed",
            &["not a JSON object"],
        ),
        (
            json!({"jwks_uri": format!("{broken}/jwks")}),
            "fetch.jwks.http_error",
            &["HTTP 500", "JWKS URI"],
        ),
        (
            json!({"jwks_uri": format!("{huge}/jwks")}),
            "fetch.jwks.too_large",
            &["256 KiB"],
        ),
        (
            json!({"use_userinfo": true, "userinfo_endpoint": format!("{silent}/me")}),
            "fetch.userinfo.timeout",
            &["userinfo endpoint", "timed out"],
        ),
        (
            json!({"jwks_uri": "http://10.0.0.5/jwks"}),
            "fetch.jwks.address_not_allowed",
            &["10.0.0.5 is a private address; add it to outbound_allow_networks"],
        ),
    ];
    for (change, want, texts) in cases {
        patch(&app, good.clone()).await;
        patch(&app, change).await;
        let before = counts(&app).await;
        let (state, code) = authorize(&app, &op).await;
        let res = callback(&app, &format!("code={code}&state={state}")).await;
        assert_refused(&app, &res, want, before).await;
        let page = res.text();
        for t in texts {
            assert!(page.contains(t), "{want}: `{t}` not in {page}");
        }
        assert!(!page.contains("metadata could not be fetched"), "{page}");
        assert!(!page.contains("compare issuer"), "{want}: {page}");
    }
}
