//! The refusals of the OpenID Connect verifier (ID token, JWKS, discovery document).

/// Why an ID token, a JWKS or a discovery document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("the discovery document's issuer `{found}` is not the configured issuer `{expected}`")]
    DiscoveryIssuerMismatch { expected: String, found: String },
    #[error("the discovery document is unusable: {0}")]
    DiscoveryInvalid(String),
    #[error("the JWKS is unusable: {0}")]
    JwksInvalid(String),
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the ID token is signed with `{0}`, which this connection does not allow")]
    AlgorithmNotAllowed(String),
    #[error("no key of the provider's JWKS has the ID token's kid")]
    UnknownKid,
    #[error("the ID token's signature does not verify with the provider's keys")]
    BadSignature,
    #[error("the ID token's issuer is not this connection's issuer")]
    IssuerMismatch,
    #[error("the ID token is not addressed to this client (aud)")]
    AudienceMismatch,
    #[error("the ID token's azp is not this client")]
    AzpMismatch,
    #[error("the ID token {0}")]
    TimeInvalid(&'static str),
    #[error("the ID token's nonce is not the one this sign-in sent")]
    NonceMismatch,
    #[error("the ID token's at_hash does not match the access token")]
    AtHashMismatch,
    #[error("the ID token lacks the claim `{0}`")]
    MissingClaim(String),
}

impl OidcError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::DiscoveryIssuerMismatch { .. } => "oidc.discovery_issuer_mismatch",
            Self::DiscoveryInvalid(_) => "oidc.discovery_invalid",
            Self::JwksInvalid(_) => "oidc.jwks_invalid",
            Self::Malformed(_) => "oidc.id_token_malformed",
            Self::AlgorithmNotAllowed(_) => "oidc.algorithm_not_allowed",
            Self::UnknownKid => "oidc.unknown_kid",
            Self::BadSignature => "oidc.bad_signature",
            Self::IssuerMismatch => "oidc.issuer_mismatch",
            Self::AudienceMismatch => "oidc.audience_mismatch",
            Self::AzpMismatch => "oidc.azp_mismatch",
            Self::TimeInvalid(_) => "oidc.id_token_time_invalid",
            Self::NonceMismatch => "oidc.nonce_mismatch",
            Self::AtHashMismatch => "oidc.at_hash_mismatch",
            Self::MissingClaim(_) => "oidc.missing_claim",
        }
    }
}
