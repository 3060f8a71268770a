//! Outbound fetches (IdP metadata, OIDC discovery, JWKS, token and userinfo endpoints): http(s)
//! only, a time limit (10 s by default), a size cap, no redirects, no proxies, and only the
//! addresses [`crate::address_policy`] allows (never link-local or cloud metadata addresses;
//! loopback and private ones only inside `outbound_allow_networks`). The addresses checked are
//! the addresses connected to: the host is resolved once and the client is pinned to them (no
//! DNS rebinding in between). Failures are [`lanyard_core::outbound::FetchError`]s: one code and
//! help per endpoint and failure kind.

use crate::address_policy::{AddressRefusal, OutboundPolicy};
use lanyard_core::Error;
use lanyard_core::connection::{MAX_METADATA_BYTES, validate_http_url};
use lanyard_core::outbound::{Endpoint, Failure, FetchError};
use std::net::SocketAddr;

/// The error of a request to `url` at `endpoint`.
pub fn failed(endpoint: Endpoint, url: &str, failure: Failure) -> Error {
    Error::Fetch(FetchError::new(endpoint, url, failure))
}

/// The causes of a client error, joined (reqwest's own text is only "error sending request").
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// Whether a cause is TLS's (rustls reports handshake failures as `InvalidData` I/O errors).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        cur = c.source();
    }
    false
}

/// The kind of a transport failure.
fn classify(e: &reqwest::Error, policy: &OutboundPolicy) -> Failure {
    let text = causes(e);
    let lower = text.to_ascii_lowercase();
    if e.is_timeout() || lower.contains("timed out") {
        Failure::Timeout {
            secs: policy.timeout.as_secs().max(1),
        }
    } else if (e.is_connect() && is_tls(e))
        || lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalid peer")
        || lower.contains("corrupt message")
        || lower.contains("alert")
    {
        Failure::Tls(text)
    } else {
        Failure::Unreachable(text)
    }
}

fn refusal(r: AddressRefusal) -> Failure {
    match r {
        AddressRefusal::Never { .. } => Failure::AddressForbidden(r.to_string()),
        AddressRefusal::NotAllowed { .. } => Failure::AddressNotAllowed(r.to_string()),
    }
}

/// A client pinned to the checked addresses of `url`'s host (no redirects, no proxies). Every
/// address the host resolves to must pass `policy`; nothing is connected to before that.
async fn pinned_client(
    ep: Endpoint,
    url: &str,
    policy: &OutboundPolicy,
) -> Result<(reqwest::Client, url::Url), Error> {
    let parsed = validate_http_url(ep.field(), url)?;
    let fail = |f: Failure| failed(ep, url, f);
    if let Some(ip) = OutboundPolicy::literal_ip(&parsed) {
        policy.check(ip).map_err(|r| fail(refusal(r)))?;
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::invalid(ep.field(), "has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        policy.timeout,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| {
        fail(Failure::Timeout {
            secs: policy.timeout.as_secs().max(1),
        })
    })?
    .map_err(|e| fail(Failure::Unreachable(format!("cannot resolve {host}: {e}"))))?
    .collect();
    if addrs.is_empty() {
        return Err(fail(Failure::Unreachable(format!(
            "{host} has no addresses"
        ))));
    }
    let mut refusals: Vec<AddressRefusal> = addrs
        .iter()
        .filter_map(|a| policy.check(a.ip()).err())
        .collect();
    // A refusal of tier 1 (never) is the one to report.
    refusals.sort_by_key(|r| matches!(r, AddressRefusal::NotAllowed { .. }));
    if let Some(r) = refusals.into_iter().next() {
        return Err(fail(refusal(r)));
    }
    let client = cached_client(&host, addrs, policy.timeout)?;
    Ok((client, parsed))
}

/// Clients already built, by the host and the exact (checked) addresses they are pinned to.
/// Building one loads the system's root certificates (≈ 2 ms, most of an OIDC callback's cost
/// under load), and a kept client reuses its connections to the IdP. The addresses are still
/// resolved and checked on every request; only a client pinned to exactly those is reused.
type ClientKey = (String, Vec<SocketAddr>, std::time::Duration);
static CLIENTS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<ClientKey, reqwest::Client>>,
> = std::sync::LazyLock::new(Default::default);

/// At most this many clients are kept (then the cache starts again empty): IdPs of every tenant,
/// each at a few addresses.
const MAX_CACHED_CLIENTS: usize = 1024;

fn cached_client(
    host: &str,
    mut addrs: Vec<SocketAddr>,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, Error> {
    addrs.sort_unstable();
    addrs.dedup();
    let key: ClientKey = (host.to_owned(), addrs, timeout);
    // A poisoned lock only means another request panicked mid-insert; the map is still whole.
    let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .resolve_to_addrs(host, &key.1)
        .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
    if clients.len() >= MAX_CACHED_CLIENTS {
        clients.clear();
    }
    clients.insert(key, client.clone());
    Ok(client)
}

/// `256 KiB`, `1 MiB`.
fn limit_text(max: usize) -> String {
    if max.is_multiple_of(1024 * 1024) {
        format!("{} MiB", max / (1024 * 1024))
    } else {
        format!("{} KiB", max / 1024)
    }
}

/// Reads a response body of at most `max` bytes.
async fn read_capped(
    ep: Endpoint,
    url: &str,
    mut res: reqwest::Response,
    max: usize,
    policy: &OutboundPolicy,
) -> Result<Vec<u8>, Error> {
    let too_big = || {
        failed(
            ep,
            url,
            Failure::TooLarge {
                limit: limit_text(max),
            },
        )
    };
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| failed(ep, url, classify(&e, policy)))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GETs `url` (the SSRF guard of this module), with an optional bearer token; the body of a
/// 2xx answer, at most `max` bytes.
pub async fn get(
    ep: Endpoint,
    url: &str,
    bearer: Option<&str>,
    policy: &OutboundPolicy,
    max: usize,
) -> Result<Vec<u8>, Error> {
    let (client, parsed) = pinned_client(ep, url, policy).await?;
    let mut req = client.get(parsed);
    if let Some(t) = bearer {
        req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = req
        .send()
        .await
        .map_err(|e| failed(ep, url, classify(&e, policy)))?;
    let status = res.status();
    if status.is_redirection() {
        return Err(failed(
            ep,
            url,
            Failure::Redirect {
                status: status.as_u16(),
            },
        ));
    }
    if !status.is_success() {
        return Err(failed(
            ep,
            url,
            Failure::HttpStatus {
                status: status.as_u16(),
                error: None,
                description: None,
            },
        ));
    }
    read_capped(ep, url, res, max, policy).await
}

/// POSTs an `application/x-www-form-urlencoded` body; returns the status and the body (at most
/// `max` bytes) of a non-redirect answer, whatever its status.
pub async fn post_form(
    ep: Endpoint,
    url: &str,
    form: &[(&str, &str)],
    authorization: Option<&str>,
    policy: &OutboundPolicy,
    max: usize,
) -> Result<(u16, Vec<u8>), Error> {
    let (client, parsed) = pinned_client(ep, url, policy).await?;
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = client
        .post(parsed)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body);
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    let res = req
        .send()
        .await
        .map_err(|e| failed(ep, url, classify(&e, policy)))?;
    let status = res.status();
    if status.is_redirection() {
        return Err(failed(
            ep,
            url,
            Failure::Redirect {
                status: status.as_u16(),
            },
        ));
    }
    Ok((
        status.as_u16(),
        read_capped(ep, url, res, max, policy).await?,
    ))
}

/// GETs the metadata document at `url` and returns it as text.
pub async fn metadata(url: &str, policy: &OutboundPolicy) -> Result<String, Error> {
    let body = get(
        Endpoint::SamlMetadata,
        url,
        None,
        policy,
        MAX_METADATA_BYTES,
    )
    .await?;
    String::from_utf8(body).map_err(|_| {
        failed(
            Endpoint::SamlMetadata,
            url,
            Failure::Malformed("the document is not UTF-8".into()),
        )
    })
}

/// Fetches a SAML connection input's `metadata_url` (if given) into `metadata_xml`, so the
/// domain sees only the document (the admin API and the console both import this way).
pub async fn resolve_metadata(
    policy: &OutboundPolicy,
    input: &mut lanyard_proto::ConnectionInput,
) -> Result<(), Error> {
    let Some(url) = input.metadata_url.clone() else {
        return Ok(());
    };
    if input.metadata_xml.is_some() {
        return Err(Error::invalid(
            "metadata_url",
            "give either metadata_xml or metadata_url, not both",
        ));
    }
    input.metadata_xml = Some(metadata(&url, policy).await?);
    Ok(())
}

/// The OIDC Import action: fetches `discovery_url` (if given) into `discovery_json`.
pub async fn resolve_discovery(
    policy: &OutboundPolicy,
    input: &mut lanyard_proto::OidcConnectionInput,
) -> Result<(), Error> {
    let Some(url) = input.discovery_url.clone() else {
        return Ok(());
    };
    if input.discovery_json.is_some() {
        return Err(Error::invalid(
            "discovery_url",
            "give either discovery_json or discovery_url, not both",
        ));
    }
    let ep = Endpoint::Discovery;
    let body = get(ep, &url, None, policy, crate::signin::MAX_RESPONSE_BYTES).await?;
    let malformed = |why: &str| failed(ep, &url, Failure::Malformed(why.into()));
    let text = String::from_utf8(body).map_err(|_| malformed("the document is not UTF-8"))?;
    if !matches!(
        serde_json::from_str::<serde_json::Value>(&text),
        Ok(serde_json::Value::Object(_))
    ) {
        return Err(malformed("the document is not a JSON object"));
    }
    input.discovery_json = Some(text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn lab(timeout_ms: u64) -> OutboundPolicy {
        OutboundPolicy {
            allow_networks: OutboundPolicy::parse_networks(&["127.0.0.0/8".into()]).unwrap(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    /// A one-trick TCP server on loopback: reads the request head, then `answer`s (None:
    /// never answers; Some(b""): closes at once). Counts the connections it accepts.
    async fn server(answer: Option<Vec<u8>>) -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
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
        (format!("http://127.0.0.1:{port}"), hits)
    }

    fn http(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
            body.len()
        )
        .into_bytes();
        v.extend_from_slice(body);
        v
    }

    /// The defect: a timeout read "error sending request for url", under the SAML metadata
    /// wording, with help about issuers and keys. Now each endpoint and failure kind has its
    /// own code; the text says what happened, and for a timeout after how long.
    #[tokio::test]
    async fn live_failures_have_their_own_codes() {
        let (silent, _) = server(None).await;
        let (broken, _) = server(Some(http("500 Internal Server Error", "", b"oops"))).await;
        let (huge, _) = server(Some(http("200 OK", "", &vec![b'x'; 300 * 1024]))).await;
        let (closing, _) = server(Some(Vec::new())).await;
        let (moved, _) = server(Some(http(
            "302 Found",
            "location: http://10.0.0.1/\r\n",
            b"",
        )))
        .await;
        let p = lab(1000);
        for ep in [Endpoint::Jwks, Endpoint::Userinfo, Endpoint::Discovery] {
            let e = get(ep, &format!("{silent}/x"), None, &p, 256 * 1024)
                .await
                .unwrap_err();
            let Error::Fetch(f) = &e else { panic!("{e:?}") };
            assert_eq!(f.endpoint, ep);
            assert!(e.code().ends_with(".timeout"), "{}: {e}", e.code());
            assert!(e.to_string().contains("timed out"), "{e}");
            assert!(e.to_string().contains("within 1 second:"), "{e}");
            let e = get(ep, &format!("{broken}/x"), None, &p, 256 * 1024)
                .await
                .unwrap_err();
            assert!(e.code().ends_with(".http_error"), "{}: {e}", e.code());
            assert!(e.to_string().contains("HTTP 500"), "{e}");
            let e = get(ep, &format!("{huge}/x"), None, &p, 256 * 1024)
                .await
                .unwrap_err();
            assert!(e.code().ends_with(".too_large"), "{}: {e}", e.code());
            assert!(e.to_string().contains("256 KiB"), "{e}");
            let e = get(ep, &format!("{closing}/x"), None, &p, 256 * 1024)
                .await
                .unwrap_err();
            assert!(e.code().ends_with(".unreachable"), "{}: {e}", e.code());
            let e = get(ep, &format!("{moved}/x"), None, &p, 256 * 1024)
                .await
                .unwrap_err();
            assert!(e.code().ends_with(".redirect_refused"), "{}: {e}", e.code());
        }
        let e = post_form(
            Endpoint::Token,
            &format!("{silent}/token"),
            &[("code", "c")],
            None,
            &p,
            1024,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "fetch.token.timeout");
        let e = metadata(&format!("{closing}/md"), &p).await.unwrap_err();
        assert_eq!(e.code(), "fetch.saml_metadata.unreachable");
        // Nothing listens: connection refused.
        let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let e = get(
            Endpoint::Jwks,
            &format!("http://127.0.0.1:{port}/"),
            None,
            &p,
            1024,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "fetch.jwks.unreachable", "{e}");
        // TLS to a plain-HTTP server fails the handshake.
        let (plain, _) = server(Some(http("200 OK", "", b"{}"))).await;
        let e = get(
            Endpoint::Jwks,
            &plain.replace("http://", "https://"),
            None,
            &p,
            1024,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "fetch.jwks.tls_failed", "{e}");
    }

    /// SSRF: the JWKS and token URLs (the token request carries the code and the client
    /// secret) pointing at the cloud metadata service, in any spelling, are refused with the
    /// code before anything is sent, even with an allow-list that covers everything.
    #[tokio::test]
    async fn metadata_addresses_are_refused_before_connecting() {
        let everything = OutboundPolicy {
            allow_networks: OutboundPolicy::parse_networks(&["0.0.0.0/0".into(), "::/0".into()])
                .unwrap(),
            timeout: Duration::from_secs(5),
        };
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",
            "http://0xa9fea9fe/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
        ] {
            let started = std::time::Instant::now();
            let e = get(Endpoint::Jwks, url, None, &everything, 1024)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "fetch.jwks.address_forbidden", "{url}: {e}");
            assert!(e.to_string().contains("is never fetched"), "{e}");
            let e = post_form(
                Endpoint::Token,
                url,
                &[("client_secret", "s")],
                Some("Basic x"),
                &everything,
                1024,
            )
            .await
            .unwrap_err();
            assert_eq!(e.code(), "fetch.token.address_forbidden", "{url}: {e}");
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "no connection attempt"
            );
        }
    }

    /// Internal addresses outside the allow-list, by literal or by a host name resolving to
    /// them (the check runs on the resolved addresses), get no connection at all.
    #[tokio::test]
    async fn internal_addresses_outside_the_allow_list_get_no_connection() {
        let (url, hits) = server(Some(http("200 OK", "", b"{}"))).await;
        let strict = OutboundPolicy::default();
        let port = url.rsplit(':').next().unwrap();
        for u in [
            url.clone(),
            format!("http://localhost:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://2130706433:{port}/"),
        ] {
            let e = get(Endpoint::Userinfo, &u, None, &strict, 1024)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "fetch.userinfo.address_not_allowed", "{u}: {e}");
            assert!(e.to_string().contains("outbound_allow_networks"), "{e}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(
            get(Endpoint::Userinfo, &url, None, &lab(2000), 1024)
                .await
                .unwrap(),
            b"{}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let e = metadata("file:///etc/passwd", &strict).await.unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
    }
}
