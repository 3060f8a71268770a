//! Outbound fetches (IdP metadata, OIDC discovery, JWKS, token and userinfo endpoints): http(s) only, a 10 s timeout, a 1 MiB cap, no
//! redirects, no proxies, and (unless the server allows it) no loopback, private, link-local or
//! otherwise non-public targets. The address checked is the address connected to: the host is
//! resolved once and the client is pinned to those addresses (no DNS rebinding in between).

use lanyard_core::Error;
use lanyard_core::connection::{MAX_METADATA_BYTES, validate_http_url};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `ip` is a public unicast address (what an IdP's metadata URL may point at).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b)) // NAT64 onto any IPv4
        }
    }
}

fn fetch_error(e: impl std::fmt::Display) -> Error {
    Error::MetadataFetch(e.to_string())
}

/// A client pinned to the checked addresses of `url`'s host (no redirects, no proxies).
async fn pinned_client(
    field: &'static str,
    url: &str,
    allow_private: bool,
) -> Result<(reqwest::Client, url::Url), Error> {
    let parsed = validate_http_url(field, url)?;
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::invalid(field, "has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| fetch_error("resolving the host timed out"))?
            .map_err(|e| fetch_error(format!("cannot resolve {host}: {e}")))?
            .collect();
    if addrs.is_empty() {
        return Err(fetch_error(format!("{host} has no addresses")));
    }
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Error::MetadataUrlForbidden);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .resolve_to_addrs(&host, &addrs)
        .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(fetch_error)?;
    Ok((client, parsed))
}

/// Reads a response body of at most `max` bytes.
async fn read_capped(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, Error> {
    let limit = if max.is_multiple_of(1024 * 1024) {
        format!("{} MiB", max / (1024 * 1024))
    } else {
        format!("{} KiB", max / 1024)
    };
    let too_big = || fetch_error(format!("the response is larger than {limit}"));
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(fetch_error)? {
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
    field: &'static str,
    url: &str,
    bearer: Option<&str>,
    allow_private: bool,
    max: usize,
) -> Result<Vec<u8>, Error> {
    let (client, parsed) = pinned_client(field, url, allow_private).await?;
    let mut req = client.get(parsed);
    if let Some(t) = bearer {
        req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = req.send().await.map_err(fetch_error)?;
    if !res.status().is_success() {
        return Err(fetch_error(format!(
            "the server answered HTTP {} (redirects are not followed)",
            res.status().as_u16()
        )));
    }
    read_capped(res, max).await
}

/// POSTs an `application/x-www-form-urlencoded` body; returns the status and the body (at most
/// `max` bytes), whatever the status.
pub async fn post_form(
    field: &'static str,
    url: &str,
    form: &[(&str, &str)],
    authorization: Option<&str>,
    allow_private: bool,
    max: usize,
) -> Result<(u16, Vec<u8>), Error> {
    let (client, parsed) = pinned_client(field, url, allow_private).await?;
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
    let res = req.send().await.map_err(fetch_error)?;
    let status = res.status().as_u16();
    Ok((status, read_capped(res, max).await?))
}

/// GETs the metadata document at `url` and returns it as text.
pub async fn metadata(url: &str, allow_private: bool) -> Result<String, Error> {
    let body = get("metadata_url", url, None, allow_private, MAX_METADATA_BYTES).await?;
    String::from_utf8(body).map_err(|_| fetch_error("the document is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn refuses_loopback_and_bad_schemes_without_connecting() {
        let e = metadata("http://127.0.0.1:9/metadata", false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "connection.metadata_url_forbidden");
        let e = metadata("file:///etc/passwd", false).await.unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
    }
}
