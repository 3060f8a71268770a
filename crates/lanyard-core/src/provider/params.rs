//! The request forms the provider endpoints read from the outside, pure: the
//! `application/x-www-form-urlencoded` body or query (a repeated parameter is refused, RFC 6749
//! §3.1), the authorization request's parameters, and HTTP Basic client credentials (RFC 6749
//! §2.3.1). The server hands the raw bytes here; nothing in this module panics on any input.

use super::authorize::AuthorizeParams;
use crate::error::ProviderError;
use base64::Engine as _;
use std::collections::HashMap;

/// A form body or query as a map; a parameter sent twice is refused (which one would count?).
pub fn single_params(raw: &[u8]) -> Result<HashMap<String, String>, ProviderError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ProviderError::InvalidRequest(format!(
                "the parameter `{}` is repeated",
                k.chars().take(32).collect::<String>()
            )));
        }
    }
    Ok(out)
}

/// The query of `/oauth2/authorize`: the parameters Lanyard reads, and every pair sent (sorted,
/// to carry the request through a sign-in and back).
pub fn authorize_params(
    raw: &str,
) -> Result<(AuthorizeParams, Vec<(String, String)>), ProviderError> {
    let mut map = single_params(raw.as_bytes())?;
    let mut pairs: Vec<(String, String)> = map.clone().into_iter().collect();
    pairs.sort();
    let mut take = |name: &str| map.remove(name);
    let p = AuthorizeParams {
        client_id: take("client_id"),
        redirect_uri: take("redirect_uri"),
        response_type: take("response_type"),
        scope: take("scope"),
        state: take("state"),
        nonce: take("nonce"),
        code_challenge: take("code_challenge"),
        code_challenge_method: take("code_challenge_method"),
        prompt: take("prompt"),
        max_age: take("max_age"),
        organization: take("organization"),
        login_hint: take("login_hint"),
        response_mode: take("response_mode"),
        request: take("request"),
        request_uri: take("request_uri"),
    };
    Ok((p, pairs))
}

/// HTTP Basic client credentials from an `Authorization` header value: `None` for another
/// scheme, the client ID and secret (each form-urlencoded, RFC 6749 §2.3.1) for `Basic`, and a
/// refusal for a Basic value that is not base64 of UTF-8 `id:secret`.
pub fn basic_credentials(value: &[u8]) -> Result<Option<(String, String)>, ProviderError> {
    let v = std::str::from_utf8(value).map_err(|_| ProviderError::ClientAuthFailed)?;
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| ProviderError::ClientAuthFailed)?;
    let text = String::from_utf8(raw).map_err(|_| ProviderError::ClientAuthFailed)?;
    let (id, secret) = text
        .split_once(':')
        .ok_or(ProviderError::ClientAuthFailed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// One form-urlencoded value (`+` is a space, `%XX` a byte; invalid UTF-8 is replaced).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_naming_them() {
        let e = single_params(b"a=1&b=2&a=3").unwrap_err();
        assert_eq!(e.code(), "oauth.invalid_request");
        assert!(e.description().contains("`a` is repeated"), "{e:?}");
        // The same name percent-encoded is the same parameter.
        assert!(single_params(b"scope=a&%73cope=b").is_err());
        assert_eq!(single_params(b"a=1&b=").unwrap().len(), 2);
        assert!(single_params(b"").unwrap().is_empty());
    }

    #[test]
    fn authorize_params_reads_every_known_field() {
        let (p, pairs) = authorize_params(
            "client_id=app&redirect_uri=https%3A%2F%2Fa.example%2Fcb&response_type=code\
             &scope=openid+email&state=s&max_age=0&extra=1",
        )
        .unwrap();
        assert_eq!(p.client_id.as_deref(), Some("app"));
        assert_eq!(p.redirect_uri.as_deref(), Some("https://a.example/cb"));
        assert_eq!(p.scope.as_deref(), Some("openid email"));
        assert_eq!(p.max_age.as_deref(), Some("0"));
        assert_eq!(p.nonce, None);
        assert_eq!(pairs.len(), 7);
        assert_eq!(pairs.first().map(|p| p.0.as_str()), Some("client_id"));
        assert!(authorize_params("state=a&state=b").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%20app:p%3Ass+w" → id "my app", secret "p:ss w"
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20app:p%3Ass+w")
        );
        assert_eq!(
            basic_credentials(v.as_bytes()).unwrap(),
            Some(("my app".to_owned(), "p:ss w".to_owned()))
        );
        assert_eq!(basic_credentials(b"Bearer x").unwrap(), None);
        for bad in [
            &b"Basic !!!"[..],
            b"Basic bm9jb2xvbg==", // "nocolon"
            b"Basic /w==",         // not UTF-8
            b"Basic \xff",
        ] {
            assert_eq!(
                basic_credentials(bad),
                Err(ProviderError::ClientAuthFailed),
                "{bad:?}"
            );
        }
    }
}
