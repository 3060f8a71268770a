//! Failures of the requests Lanyard makes to identity providers (SAML metadata, OIDC discovery,
//! JWKS, token and userinfo endpoints). Each (endpoint, failure kind) pair has its own stable
//! code (`fetch.<endpoint>.<kind>`) and its own help sentence, so an administrator is sent the
//! right way: a timeout is a network question, an HTTP 401 from the token endpoint a credentials
//! question, an address refusal a server-setting question.

/// The provider endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Discovery,
    Jwks,
    Token,
    Userinfo,
    SamlMetadata,
    /// An app's back-channel logout URI (Lanyard as the OpenID provider).
    BackchannelLogout,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Self::Discovery,
        Self::Jwks,
        Self::Token,
        Self::Userinfo,
        Self::SamlMetadata,
        Self::BackchannelLogout,
    ];

    /// How the endpoint is named in messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Discovery => "the OpenID Connect discovery URL",
            Self::Jwks => "the provider's JWKS URI",
            Self::Token => "the provider's token endpoint",
            Self::Userinfo => "the provider's userinfo endpoint",
            Self::SamlMetadata => "the IdP metadata URL",
            Self::BackchannelLogout => "the app's back-channel logout URI",
        }
    }

    /// The settings field holding the endpoint's URL.
    pub fn field(self) -> &'static str {
        match self {
            Self::Discovery => "discovery_url",
            Self::Jwks => "jwks_uri",
            Self::Token => "token_endpoint",
            Self::Userinfo => "userinfo_endpoint",
            Self::SamlMetadata => "metadata_url",
            Self::BackchannelLogout => "backchannel_logout_uri",
        }
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the time limit.
    Timeout { secs: u64 },
    /// DNS failure, connection refused, reset or closed before an answer.
    Unreachable(String),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// A non-2xx, non-redirect status; for the token endpoint with the OAuth `error` and
    /// `error_description` (RFC 6749 §5.2), shortened.
    HttpStatus {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
    /// The answer is larger than the limit (e.g. `256 KiB`).
    TooLarge { limit: String },
    /// The answer is not the expected document (not JSON, not UTF-8, fields missing).
    Malformed(String),
    /// A 3xx answer (redirects are never followed).
    Redirect { status: u16 },
    /// A link-local or cloud metadata address: never contacted, whatever the settings.
    AddressForbidden(String),
    /// A loopback/private/internal address outside `outbound_allow_networks`.
    AddressNotAllowed(String),
}

impl Failure {
    /// Every kind (with sample data), for table tests and documentation.
    pub fn samples() -> Vec<Failure> {
        vec![
            Self::Timeout { secs: 10 },
            Self::Unreachable("connection refused".into()),
            Self::Tls("invalid peer certificate".into()),
            Self::HttpStatus {
                status: 500,
                error: None,
                description: None,
            },
            Self::TooLarge {
                limit: "256 KiB".into(),
            },
            Self::Malformed("not JSON".into()),
            Self::Redirect { status: 302 },
            Self::AddressForbidden("link-local address 169.254.169.254 is never fetched".into()),
            Self::AddressNotAllowed("10.0.0.5 is private".into()),
        ]
    }
}

/// A failed request to an identity provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct FetchError {
    pub endpoint: Endpoint,
    /// The URL requested, as shown in messages (no query, no credentials).
    pub url: String,
    pub failure: Failure,
}

/// `scheme://host[:port]/path` of `url`: what a message may show.
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.chars().take(200).collect(),
    }
}

fn short(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

macro_rules! per_endpoint {
    ($ep:expr, $kind:literal) => {
        match $ep {
            Endpoint::Discovery => concat!("fetch.discovery.", $kind),
            Endpoint::Jwks => concat!("fetch.jwks.", $kind),
            Endpoint::Token => concat!("fetch.token.", $kind),
            Endpoint::Userinfo => concat!("fetch.userinfo.", $kind),
            Endpoint::SamlMetadata => concat!("fetch.saml_metadata.", $kind),
            Endpoint::BackchannelLogout => concat!("fetch.backchannel_logout.", $kind),
        }
    };
}

macro_rules! help_text {
    ($ep:expr, $tail:literal) => {
        match $ep {
            Endpoint::Discovery => concat!("The OpenID Connect discovery URL ", $tail),
            Endpoint::Jwks => concat!(
                "The identity provider's JWKS URI (where its signing keys are published) ",
                $tail
            ),
            Endpoint::Token => concat!("The identity provider's token endpoint ", $tail),
            Endpoint::Userinfo => concat!("The identity provider's userinfo endpoint ", $tail),
            Endpoint::SamlMetadata => concat!("The IdP metadata URL ", $tail),
            Endpoint::BackchannelLogout => {
                concat!("The app's back-channel logout URI ", $tail)
            }
        }
    };
}

impl FetchError {
    pub fn new(endpoint: Endpoint, url: &str, failure: Failure) -> Self {
        Self {
            endpoint,
            url: display_url(url),
            failure,
        }
    }

    pub fn code(&self) -> &'static str {
        let ep = self.endpoint;
        match self.failure {
            Failure::Timeout { .. } => per_endpoint!(ep, "timeout"),
            Failure::Unreachable(_) => per_endpoint!(ep, "unreachable"),
            Failure::Tls(_) => per_endpoint!(ep, "tls_failed"),
            Failure::HttpStatus { .. } => per_endpoint!(ep, "http_error"),
            Failure::TooLarge { .. } => per_endpoint!(ep, "too_large"),
            Failure::Malformed(_) => per_endpoint!(ep, "malformed"),
            Failure::Redirect { .. } => per_endpoint!(ep, "redirect_refused"),
            Failure::AddressForbidden(_) => per_endpoint!(ep, "address_forbidden"),
            Failure::AddressNotAllowed(_) => per_endpoint!(ep, "address_not_allowed"),
        }
    }

    pub fn message(&self) -> String {
        let what = self.endpoint.label();
        let url = &self.url;
        match &self.failure {
            Failure::Timeout { secs } => format!(
                "{what} ({url}) did not answer within {secs} second{}: the request timed out",
                if *secs == 1 { "" } else { "s" }
            ),
            Failure::Unreachable(d) => {
                format!("{what} ({url}) could not be reached: {}", short(d, 300))
            }
            Failure::Tls(d) => format!(
                "the TLS connection to {what} ({url}) failed: {}",
                short(d, 300)
            ),
            Failure::HttpStatus {
                status,
                error,
                description,
            } => {
                let mut m = format!("{what} ({url}) answered HTTP {status}");
                if let Some(e) = error {
                    m.push_str(&format!(": {}", short(e, 64)));
                    if let Some(d) = description {
                        m.push_str(&format!(" ({})", short(d, 256)));
                    }
                }
                m
            }
            Failure::TooLarge { limit } => {
                format!("the answer of {what} ({url}) is larger than {limit}; it was not read")
            }
            Failure::Malformed(d) => format!(
                "the answer of {what} ({url}) is not usable: {}",
                short(d, 300)
            ),
            Failure::Redirect { status } => format!(
                "{what} ({url}) answered with a redirect (HTTP {status}); redirects are not followed"
            ),
            Failure::AddressForbidden(r) | Failure::AddressNotAllowed(r) => {
                format!("{what} ({url}) was not requested: {r}")
            }
        }
    }

    /// Whether the failure happened while an administrator saved settings (400) rather than
    /// during a sign-in (401).
    pub fn is_settings_error(&self) -> bool {
        matches!(self.endpoint, Endpoint::Discovery | Endpoint::SamlMetadata)
    }

    /// One sentence for the administrator, specific to the endpoint and the failure kind.
    pub fn help(&self) -> &'static str {
        let ep = self.endpoint;
        match &self.failure {
            Failure::Timeout { .. } => help_text!(
                ep,
                "did not answer in time: check that the host is up and reachable from this server (DNS, firewall, outbound proxy), then try again."
            ),
            Failure::Unreachable(_) => help_text!(
                ep,
                "could not be reached (unknown host name, connection refused or closed): check the URL in the connection's settings and that the host accepts connections from this server."
            ),
            Failure::Tls(_) => help_text!(
                ep,
                "failed the TLS handshake: its server must present a certificate for its host name from a public certificate authority; check the URL's host name and the server's certificate chain."
            ),
            Failure::HttpStatus { .. } => match ep {
                Endpoint::Token => {
                    "The identity provider's token endpoint refused to redeem the sign-in code: for invalid_client check the client ID, client secret and authentication method; for invalid_grant check the redirect URI registered at the provider, then start the sign-in again."
                }
                Endpoint::Userinfo => {
                    "The identity provider's userinfo endpoint refused the access token: check that the connection's scopes are allowed for this client, or turn off the userinfo call in the connection's settings."
                }
                _ => help_text!(
                    ep,
                    "answered with an HTTP error status: check the URL in the connection's settings and the identity provider's logs for the reason."
                ),
            },
            Failure::TooLarge { .. } => help_text!(
                ep,
                "sent an answer larger than this server reads: check that the URL points at the document itself, not at a web page or a download."
            ),
            Failure::Malformed(_) => match ep {
                Endpoint::SamlMetadata => {
                    "The IdP metadata URL did not return UTF-8 XML metadata: check that it points at the metadata document itself (not the IdP's sign-in page)."
                }
                Endpoint::Token => {
                    "The identity provider's token endpoint answered without a JSON body holding an id_token: check that the connection's scopes include openid and that the endpoint is the provider's OpenID Connect token endpoint."
                }
                _ => help_text!(
                    ep,
                    "answered with something other than the expected JSON document: check that the URL points at the endpoint itself (not a sign-in or web page)."
                ),
            },
            Failure::Redirect { .. } => help_text!(
                ep,
                "answered with a redirect, which this server does not follow: put the final URL (the redirect's target) in the connection's settings."
            ),
            Failure::AddressForbidden(_) => help_text!(
                ep,
                "points at a link-local or cloud metadata address, which this server never contacts whatever its settings: use the provider's real address."
            ),
            Failure::AddressNotAllowed(_) => help_text!(
                ep,
                "points at a loopback, private or otherwise internal address: if the provider really runs on premises, the server's operator adds its network to outbound_allow_networks."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn all() -> Vec<FetchError> {
        Endpoint::ALL
            .iter()
            .flat_map(|ep| {
                Failure::samples()
                    .into_iter()
                    .map(|f| FetchError::new(*ep, "https://idp.example/x?secret=1", f))
            })
            .collect()
    }

    /// The defect: one generic code and the SAML "metadata could not be fetched" text for every
    /// failure of every endpoint, with a help sentence about issuers and keys for timeouts.
    #[test]
    fn every_endpoint_and_kind_has_its_own_code_and_help() {
        let errors = all();
        let codes: HashSet<_> = errors.iter().map(FetchError::code).collect();
        let helps: HashSet<_> = errors.iter().map(FetchError::help).collect();
        assert_eq!(codes.len(), errors.len(), "codes are unique per pair");
        assert_eq!(helps.len(), errors.len(), "help texts are unique per pair");
        for e in &errors {
            let code = e.code();
            let help = e.help();
            assert!(code.starts_with("fetch."), "{code}");
            assert!(help.ends_with('.'), "{code}: {help}");
            assert!(
                !help.contains("compare issuer"),
                "{code} must not send the admin to issuer/key settings"
            );
            let msg = e.to_string();
            assert!(msg.contains(e.endpoint.label()), "{code}: {msg}");
            assert!(
                !msg.contains("metadata could not be fetched"),
                "{code}: {msg}"
            );
            assert!(!msg.contains("secret=1"), "the query is not shown: {msg}");
        }
    }

    #[test]
    fn messages_say_what_happened() {
        let e = FetchError::new(
            Endpoint::Token,
            "https://idp.example/token",
            Failure::Timeout { secs: 10 },
        );
        assert_eq!(e.code(), "fetch.token.timeout");
        assert!(e.to_string().contains("within 10 seconds"), "{e}");
        assert!(e.to_string().contains("timed out"), "{e}");
        let e = FetchError::new(
            Endpoint::Token,
            "https://idp.example/token",
            Failure::HttpStatus {
                status: 401,
                error: Some("invalid_client".into()),
                description: Some("bad secret\n".into()),
            },
        );
        assert_eq!(e.code(), "fetch.token.http_error");
        assert_eq!(
            e.to_string(),
            "the provider's token endpoint (https://idp.example/token) answered HTTP 401: invalid_client (bad secret)"
        );
        assert!(e.help().contains("client secret"));
    }
}
