//! The stored settings of an OpenID Connect connection: validated when an admin saves them (the
//! discovery document imported, the client secret sealed), shown back without the secret.

use crate::connection::validate_http_url;
use crate::error::{Error, Result};
use crate::model::Connection;
use crate::secret::MasterKey;
use crate::signin::oidc::checks::{DEFAULT_ALGORITHMS, parse_algorithm, parse_discovery};
use lanyard_proto as proto;
use serde::{Deserialize, Serialize};

pub const DEFAULT_SCOPES: &str = "openid profile email";
pub const DEFAULT_OIDC_SKEW_SECS: u32 = 60;

/// The stored settings of an OIDC connection (the `settings` JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    pub issuer: String,
    #[serde(default)]
    pub discovery_url: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    pub jwks_uri: String,
    pub client_id: String,
    #[serde(default)]
    pub sealed_client_secret: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: proto::TokenAuthMethod,
    #[serde(default)]
    pub audience_uris: Vec<String>,
    pub scopes: String,
    pub key_claim: String,
    pub allowed_algorithms: Vec<String>,
    #[serde(default)]
    pub logoff_url: Option<String>,
    #[serde(default)]
    pub use_userinfo: bool,
    #[serde(default)]
    pub hosted_domain: Option<String>,
    #[serde(default)]
    pub username_claim: Option<String>,
    pub clock_skew_secs: u32,
    #[serde(default)]
    pub jit: bool,
    /// RFC 9207: refuse authorization responses without `iss` (set from the discovery
    /// document's `authorization_response_iss_parameter_supported` at import, or by the admin).
    #[serde(default)]
    pub require_iss: bool,
    /// Pasted PEM certificates or public keys: when present, the only keys ID tokens are
    /// verified with (the JWKS URI is then never fetched).
    #[serde(default)]
    pub signing_certificates: Vec<String>,
    /// Trust the `email` of a token without `email_verified` (Entra ID sends none) when it is
    /// in one of the tenant's verified domains. Off by default.
    #[serde(default)]
    pub trust_verified_domain_emails: bool,
}

pub fn secret_context(connection_id: &str) -> String {
    format!("connection:{connection_id}:oidc_client_secret")
}

fn claim_name(field: &'static str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            "must be a claim name of 1-128 characters",
        ));
    }
    Ok(())
}

impl OidcSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored connection settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn to_wire(&self) -> proto::OidcSettings {
        proto::OidcSettings {
            issuer: self.issuer.clone(),
            discovery_url: self.discovery_url.clone(),
            authorization_endpoint: self.authorization_endpoint.clone(),
            token_endpoint: self.token_endpoint.clone(),
            userinfo_endpoint: self.userinfo_endpoint.clone(),
            end_session_endpoint: self.end_session_endpoint.clone(),
            jwks_uri: self.jwks_uri.clone(),
            client_id: self.client_id.clone(),
            client_secret_configured: self.sealed_client_secret.is_some(),
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            audience_uris: self.audience_uris.clone(),
            scopes: self.scopes.clone(),
            key_claim: self.key_claim.clone(),
            allowed_algorithms: self.allowed_algorithms.clone(),
            logoff_url: self.logoff_url.clone(),
            use_userinfo: self.use_userinfo,
            hosted_domain: self.hosted_domain.clone(),
            username_claim: self.username_claim.clone(),
            clock_skew_secs: self.clock_skew_secs,
            jit: self.jit,
            require_iss: self.require_iss,
            signing_certificates: self.signing_certificates.clone(),
            trust_verified_domain_emails: self.trust_verified_domain_emails,
        }
    }

    /// Applies an admin's input onto `current` (None on create); validates everything. A
    /// discovery document given in `discovery_json` must name the configured issuer.
    pub fn apply(
        current: Option<&Self>,
        input: &proto::OidcConnectionInput,
        connection_id: &str,
        master_key: &MasterKey,
    ) -> Result<Self> {
        let issuer = input
            .issuer
            .clone()
            .or_else(|| current.map(|c| c.issuer.clone()))
            .ok_or_else(|| {
                Error::invalid(
                    "issuer",
                    "is required (e.g. https://login.microsoftonline.com/{tenant-id}/v2.0)",
                )
            })?;
        validate_http_url("issuer", &issuer)?;
        let disco = match &input.discovery_json {
            Some(doc) => Some(parse_discovery(doc.as_bytes(), &issuer).map_err(Error::Oidc)?),
            None => None,
        };
        let pick = |given: &Option<String>, from_disco: Option<String>, cur: Option<String>| {
            given.clone().or(from_disco).or(cur)
        };
        let need = |field: &'static str, v: Option<String>| -> Result<String> {
            let v =
                v.ok_or_else(|| Error::invalid(field, "is required (or give discovery_url)"))?;
            validate_http_url(field, &v)?;
            Ok(v)
        };
        let authorization_endpoint = need(
            "authorization_endpoint",
            pick(
                &input.authorization_endpoint,
                disco.as_ref().map(|d| d.authorization_endpoint.clone()),
                current.map(|c| c.authorization_endpoint.clone()),
            ),
        )?;
        let token_endpoint = need(
            "token_endpoint",
            pick(
                &input.token_endpoint,
                disco.as_ref().map(|d| d.token_endpoint.clone()),
                current.map(|c| c.token_endpoint.clone()),
            ),
        )?;
        let signing_certificates: Vec<String> = match &input.signing_certificates {
            Some(list) => list
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => current
                .map(|c| c.signing_certificates.clone())
                .unwrap_or_default(),
        };
        crate::signin::oidc::keys::parse_signing_certificates(&signing_certificates)
            .map_err(Error::OidcSigningKey)?;
        let jwks_uri = pick(
            &input.jwks_uri,
            disco.as_ref().map(|d| d.jwks_uri.clone()),
            current
                .map(|c| c.jwks_uri.clone())
                .filter(|u| !u.is_empty()),
        );
        // With pasted keys the JWKS URI is optional (and never fetched).
        let jwks_uri = match jwks_uri {
            None if !signing_certificates.is_empty() => String::new(),
            v => need("jwks_uri", v)?,
        };
        let optional_url = |field: &'static str, v: Option<String>| -> Result<Option<String>> {
            if let Some(u) = &v {
                validate_http_url(field, u)?;
            }
            Ok(v)
        };
        let userinfo_endpoint = optional_url(
            "userinfo_endpoint",
            pick(
                &input.userinfo_endpoint,
                disco.as_ref().and_then(|d| d.userinfo_endpoint.clone()),
                current.and_then(|c| c.userinfo_endpoint.clone()),
            ),
        )?;
        let end_session_endpoint = optional_url(
            "end_session_endpoint",
            pick(
                &input.end_session_endpoint,
                disco.as_ref().and_then(|d| d.end_session_endpoint.clone()),
                current.and_then(|c| c.end_session_endpoint.clone()),
            ),
        )?;
        let client_id = input
            .client_id
            .clone()
            .or_else(|| current.map(|c| c.client_id.clone()))
            .ok_or_else(|| Error::invalid("client_id", "is required"))?;
        if client_id.is_empty() || client_id.len() > 512 || client_id.chars().any(char::is_control)
        {
            return Err(Error::invalid("client_id", "must be 1-512 characters"));
        }
        let sealed_client_secret = match &input.client_secret {
            Some(s) if s.is_empty() || s.len() > 4096 => {
                return Err(Error::invalid("client_secret", "must be 1-4096 characters"));
            }
            Some(s) => Some(master_key.seal(&secret_context(connection_id), s.as_bytes())),
            None => current.and_then(|c| c.sealed_client_secret.clone()),
        };
        let audience_uris = match &input.audience_uris {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => current.map(|c| c.audience_uris.clone()).unwrap_or_default(),
        };
        let scopes = input
            .scopes
            .clone()
            .or_else(|| current.map(|c| c.scopes.clone()))
            .unwrap_or_else(|| DEFAULT_SCOPES.into());
        if !scopes.split(' ').any(|s| s == "openid") || scopes.chars().any(char::is_control) {
            return Err(Error::invalid(
                "scopes",
                "must be space-separated and include `openid`",
            ));
        }
        let key_claim = input
            .key_claim
            .clone()
            .or_else(|| current.map(|c| c.key_claim.clone()))
            .unwrap_or_else(|| "sub".into());
        claim_name("key_claim", &key_claim)?;
        let allowed_algorithms = input
            .allowed_algorithms
            .clone()
            .or_else(|| current.map(|c| c.allowed_algorithms.clone()))
            .unwrap_or_else(|| DEFAULT_ALGORITHMS.iter().map(|s| (*s).to_owned()).collect());
        if allowed_algorithms.is_empty()
            || allowed_algorithms
                .iter()
                .any(|a| parse_algorithm(a).is_none())
        {
            return Err(Error::invalid(
                "allowed_algorithms",
                "must list some of RS256/384/512, PS256/384/512, ES256/384, EdDSA (unsigned and HMAC tokens are never accepted)",
            ));
        }
        let opt = |given: &Option<Option<String>>, cur: Option<&Option<String>>| match given {
            Some(v) => v.clone(),
            None => cur.cloned().flatten(),
        };
        let logoff_url = opt(&input.logoff_url, current.map(|c| &c.logoff_url));
        if let Some(u) = &logoff_url {
            validate_http_url("logoff_url", u)?;
        }
        let hosted_domain = opt(&input.hosted_domain, current.map(|c| &c.hosted_domain));
        let username_claim = opt(&input.username_claim, current.map(|c| &c.username_claim));
        if let Some(u) = &username_claim {
            claim_name("username_claim", u)?;
        }
        let clock_skew_secs = input
            .clock_skew_secs
            .or(current.map(|c| c.clock_skew_secs))
            .unwrap_or(DEFAULT_OIDC_SKEW_SECS);
        if clock_skew_secs > 600 {
            return Err(Error::invalid(
                "clock_skew_secs",
                "must be between 0 and 600",
            ));
        }
        Ok(Self {
            issuer,
            discovery_url: input
                .discovery_url
                .clone()
                .or_else(|| current.and_then(|c| c.discovery_url.clone())),
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            end_session_endpoint,
            jwks_uri,
            client_id,
            sealed_client_secret,
            token_endpoint_auth_method: input
                .token_endpoint_auth_method
                .or(current.map(|c| c.token_endpoint_auth_method))
                .unwrap_or_default(),
            audience_uris,
            scopes,
            key_claim,
            allowed_algorithms,
            logoff_url,
            use_userinfo: input
                .use_userinfo
                .or(current.map(|c| c.use_userinfo))
                .unwrap_or(false),
            hosted_domain,
            username_claim,
            clock_skew_secs,
            jit: input.jit.or(current.map(|c| c.jit)).unwrap_or(false),
            require_iss: input
                .require_iss
                .or(disco.as_ref().map(|d| d.iss_parameter_supported))
                .or(current.map(|c| c.require_iss))
                .unwrap_or(false),
            signing_certificates,
            trust_verified_domain_emails: input
                .trust_verified_domain_emails
                .or(current.map(|c| c.trust_verified_domain_emails))
                .unwrap_or(false),
        })
    }

    pub fn client_secret(
        &self,
        connection_id: &str,
        master_key: &MasterKey,
    ) -> Result<Option<String>> {
        match &self.sealed_client_secret {
            None => Ok(None),
            Some(sealed) => {
                let raw = master_key
                    .open(&secret_context(connection_id), sealed)
                    .map_err(|_| Error::Internal("stored client secret does not open".into()))?;
                String::from_utf8(raw)
                    .map(Some)
                    .map_err(|_| Error::Internal("stored client secret is not UTF-8".into()))
            }
        }
    }
}

impl Connection {
    pub fn oidc_settings(&self) -> Result<OidcSettings> {
        OidcSettings::from_json(&self.settings)
    }
}
