//! The setup portal's guided OpenID Connect flows for Okta, Microsoft Entra ID and Google
//! Workspace: the issuer the IT admin pastes is checked against the form that provider's issuers
//! take (a wrong one would only fail later, at the test sign-in's `iss` check), and the
//! provider's endpoints follow from it by the provider's documented layout, so nothing is fetched
//! to save; the settings each provider needs ride along (the attribute preset, Entra's `oid` as
//! the federation ID, Google's hosted domain).

use crate::error::ConsoleError;

/// A provider the portal guides through OpenID Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidedIdp {
    Okta,
    Entra,
    Google,
}

/// The issuer Google signs its ID tokens with.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The settings the portal fills in for a guided provider: the endpoints, and (on create) what
/// that provider needs beyond the generic defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuidedOidc {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: Option<String>,
    /// The claim that identifies a person (`key_claim`).
    pub key_claim: &'static str,
    pub use_userinfo: bool,
    pub trust_verified_domain_emails: bool,
    /// `provisioning.attribute_preset`.
    pub attribute_preset: &'static str,
}

impl GuidedIdp {
    /// The portal's IdP id (`okta-oidc`, …) of a guided provider.
    pub fn from_portal_id(id: &str) -> Option<Self> {
        match id {
            "okta-oidc" => Some(Self::Okta),
            "entra-oidc" => Some(Self::Entra),
            "google-oidc" => Some(Self::Google),
            _ => None,
        }
    }

    /// What its issuers look like (named in the refusal).
    pub fn issuer_form(self) -> &'static str {
        match self {
            Self::Okta => {
                "https://{your-org}.okta.com or https://{your-org}.okta.com/oauth2/{authorization-server-id}"
            }
            Self::Entra => "https://login.microsoftonline.com/{directory-tenant-id}/v2.0",
            Self::Google => GOOGLE_ISSUER,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Okta => "Okta",
            Self::Entra => "Microsoft Entra ID",
            Self::Google => "Google",
        }
    }

    fn refuse(self, got: &str) -> ConsoleError {
        ConsoleError::IssuerFormat {
            idp: self.name(),
            expected: self.issuer_form(),
            got: got.chars().take(200).collect(),
        }
    }

    /// Checks `issuer` (surrounding spaces and one trailing `/` ignored) and derives the
    /// provider's settings from it.
    pub fn settings(self, issuer: &str) -> Result<GuidedOidc, ConsoleError> {
        let trimmed = issuer.trim();
        let issuer = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let refuse = || self.refuse(trimmed);
        let rest = issuer.strip_prefix("https://").ok_or_else(refuse)?;
        // One trailing `/` is forgiven above; a second one, or an empty path segment anywhere,
        // is not the issuer the provider signs with (`iss` is compared exactly).
        if rest.is_empty()
            || rest.contains(['?', '#', '@', ' ', '\\'])
            || rest.ends_with('/')
            || rest.contains("//")
        {
            return Err(refuse());
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_host(host) {
            return Err(refuse());
        }
        match self {
            Self::Okta => {
                // The org authorization server (`https://{org}.okta.com`, endpoints under
                // `/oauth2/v1`) or a custom one (`…/oauth2/{id}`, endpoints under `/v1`).
                let base = if path.is_empty() {
                    format!("{issuer}/oauth2/v1")
                } else {
                    let id = path.strip_prefix("oauth2/").ok_or_else(refuse)?;
                    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                        return Err(refuse());
                    }
                    format!("{issuer}/v1")
                };
                Ok(GuidedOidc {
                    issuer: issuer.to_owned(),
                    authorization_endpoint: format!("{base}/authorize"),
                    token_endpoint: format!("{base}/token"),
                    userinfo_endpoint: format!("{base}/userinfo"),
                    jwks_uri: format!("{base}/keys"),
                    end_session_endpoint: Some(format!("{base}/logout")),
                    key_claim: "sub",
                    use_userinfo: true,
                    trust_verified_domain_emails: false,
                    attribute_preset: "okta",
                })
            }
            Self::Entra => {
                // Only a single directory's v2.0 issuer: `common`/`organizations` name no
                // issuer, a domain name is not what the tokens carry, and the v1 issuer
                // (`sts.windows.net`) comes with another token format.
                let tid = path.strip_suffix("/v2.0").ok_or_else(refuse)?;
                if host != "login.microsoftonline.com" || !is_guid(tid) {
                    return Err(refuse());
                }
                let base = format!("https://login.microsoftonline.com/{tid}");
                Ok(GuidedOidc {
                    issuer: issuer.to_owned(),
                    authorization_endpoint: format!("{base}/oauth2/v2.0/authorize"),
                    token_endpoint: format!("{base}/oauth2/v2.0/token"),
                    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo".to_owned(),
                    jwks_uri: format!("{base}/discovery/v2.0/keys"),
                    end_session_endpoint: Some(format!("{base}/oauth2/v2.0/logout")),
                    // `sub` differs per application; `oid` is the person in the directory.
                    key_claim: "oid",
                    // The ID token carries the claims (with the optional claims configured).
                    use_userinfo: false,
                    // Entra sends no `email_verified`: trust only the tenant's verified domains.
                    trust_verified_domain_emails: true,
                    attribute_preset: "entra",
                })
            }
            Self::Google => {
                if issuer != GOOGLE_ISSUER {
                    return Err(refuse());
                }
                Ok(GuidedOidc {
                    issuer: GOOGLE_ISSUER.to_owned(),
                    authorization_endpoint: "https://accounts.google.com/o/oauth2/v2/auth"
                        .to_owned(),
                    token_endpoint: "https://oauth2.googleapis.com/token".to_owned(),
                    userinfo_endpoint: "https://openidconnect.googleapis.com/v1/userinfo"
                        .to_owned(),
                    jwks_uri: "https://www.googleapis.com/oauth2/v3/certs".to_owned(),
                    end_session_endpoint: None,
                    key_claim: "sub",
                    use_userinfo: true,
                    trust_verified_domain_emails: false,
                    attribute_preset: "google",
                })
            }
        }
    }
}

/// A DNS name of two or more labels (letters, digits, inner hyphens; at most 63 bytes each, 253
/// in all) whose last label is not all digits, and that a URL parser reads as a domain: an
/// address (`https://10.0.0.5`) or a name a URL parser refuses (`https://a.5`, read as a broken
/// IPv4 address) is no provider's issuer, and the endpoints derived from it would not parse.
fn valid_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit()))
        && matches!(url::Host::parse(host), Ok(url::Host::Domain(_)))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hexadecimal).
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Google Workspace needs the hosted domain (`hd`): without it any Google account could sign in.
pub fn check_hosted_domain(
    idp: GuidedIdp,
    hosted_domain: Option<&str>,
) -> Result<(), ConsoleError> {
    match (idp, hosted_domain.map(str::trim)) {
        (GuidedIdp::Google, None | Some("")) => Err(ConsoleError::HostedDomainMissing),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn each_providers_issuer_gives_its_endpoints() {
        let o = GuidedIdp::Okta.settings("https://acme.okta.com/").unwrap();
        assert_eq!(o.issuer, "https://acme.okta.com");
        assert_eq!(o.jwks_uri, "https://acme.okta.com/oauth2/v1/keys");
        let o = GuidedIdp::Okta
            .settings("https://acme.okta.com/oauth2/default")
            .unwrap();
        assert_eq!(
            o.authorization_endpoint,
            "https://acme.okta.com/oauth2/default/v1/authorize"
        );
        let e = GuidedIdp::Entra
            .settings(&format!(" https://login.microsoftonline.com/{TID}/v2.0 "))
            .unwrap();
        assert_eq!(
            e.token_endpoint,
            format!("https://login.microsoftonline.com/{TID}/oauth2/v2.0/token")
        );
        assert_eq!((e.key_claim, e.attribute_preset), ("oid", "entra"));
        assert!(e.trust_verified_domain_emails && !e.use_userinfo);
        let g = GuidedIdp::Google
            .settings("https://accounts.google.com")
            .unwrap();
        assert_eq!(g.attribute_preset, "google");
    }

    #[test]
    fn fuzz_regression_numeric_or_unparsable_hosts_are_refused() {
        // Found by the `guided_oidc` fuzz target: accepted, yet no URL parser reads them as a
        // host name (`a.5` is a malformed IPv4 address to WHATWG URL parsing).
        for bad in [
            "https://a.5",
            "https://aame.47",
            "https://10.0.0.5",
            "https://acme-.okta.com",
            "https://-acme.okta.com",
            "https://xn--.okta.com",
            "https://h.311dea//",
            "https://acme.okta.com//oauth2/default",
            "https://acme.okta.com/oauth2//default",
        ] {
            assert!(GuidedIdp::Okta.settings(bad).is_err(), "{bad}");
        }
        let long = format!("https://{}.okta.com", "a".repeat(64));
        assert!(GuidedIdp::Okta.settings(&long).is_err());
        assert!(
            GuidedIdp::Okta
                .settings("https://sso.acme-corp.example")
                .is_ok()
        );
    }

    #[test]
    fn a_wrong_issuer_is_refused_with_the_form_expected() {
        for (idp, bad) in [
            (GuidedIdp::Okta, "http://acme.okta.com"),
            (
                GuidedIdp::Okta,
                "https://acme.okta.com/.well-known/openid-configuration",
            ),
            (GuidedIdp::Okta, "acme.okta.com"),
            (
                GuidedIdp::Entra,
                "https://login.microsoftonline.com/common/v2.0",
            ),
            (
                GuidedIdp::Entra,
                "https://login.microsoftonline.com/acme.onmicrosoft.com/v2.0",
            ),
            (GuidedIdp::Entra, &format!("https://sts.windows.net/{TID}/")),
            (
                GuidedIdp::Entra,
                &format!("https://login.microsoftonline.com/{TID}"),
            ),
            (GuidedIdp::Google, "accounts.google.com"),
            (GuidedIdp::Google, "https://accounts.google.com/o/oauth2"),
        ] {
            let e = idp.settings(bad).unwrap_err();
            assert_eq!(e.code(), "setup_link.issuer_format", "{bad}");
            assert!(e.to_string().contains(idp.issuer_form()), "{e}");
        }
    }

    #[test]
    fn google_needs_its_hosted_domain() {
        assert_eq!(
            check_hosted_domain(GuidedIdp::Google, Some(" "))
                .unwrap_err()
                .code(),
            "setup_link.hosted_domain_missing"
        );
        assert!(check_hosted_domain(GuidedIdp::Google, Some("example.com")).is_ok());
        assert!(check_hosted_domain(GuidedIdp::Entra, None).is_ok());
    }
}
