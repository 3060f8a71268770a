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

impl OidcError {
    /// One sentence for the provider's or the connection's administrator, per refusal.
    pub fn help(&self) -> &'static str {
        match self {
            Self::DiscoveryIssuerMismatch { .. } => {
                "The discovery document names another issuer: set the connection's issuer to exactly the document's issuer (a trailing slash counts), or use this provider's own discovery URL."
            }
            Self::DiscoveryInvalid(_) => {
                "The discovery document lacks required fields: check that the discovery URL is the provider's /.well-known/openid-configuration document."
            }
            Self::JwksInvalid(_) => {
                "The provider's keys hold no usable signing key (RSA of at least 2048 bits, EC P-256/P-384 or Ed25519): check the JWKS URI, or paste the provider's signing certificate into signing_certificates."
            }
            Self::Malformed(_) => {
                "The identity provider sent an ID token that is not a well-formed signed JWT: its administrator should check that ID tokens are signed and not encrypted."
            }
            Self::AlgorithmNotAllowed(_) => {
                "The ID token is signed with an algorithm this connection does not allow: add it to allowed_algorithms if the provider really signs with it."
            }
            Self::UnknownKid => {
                "The ID token names a signing key the provider's published keys do not have: check the JWKS URI or the pasted signing certificates; the provider may have rotated its keys."
            }
            Self::BadSignature => {
                "The ID token's signature does not verify with the provider's keys: check that the JWKS URI or the pasted signing certificates belong to this provider."
            }
            Self::IssuerMismatch => {
                "The ID token's issuer (iss) is not the connection's issuer: set the issuer to exactly the value the provider puts in its tokens."
            }
            Self::AudienceMismatch => {
                "The ID token is addressed to another client (aud): check the connection's client ID and audience URIs."
            }
            Self::AzpMismatch => {
                "The ID token was issued to another client (azp): check the connection's client ID."
            }
            Self::TimeInvalid(_) => {
                "The ID token is expired or not yet valid: check the clocks of this server and of the identity provider (or raise clock_skew_secs), then start the sign-in again."
            }
            Self::NonceMismatch => {
                "The ID token does not belong to this sign-in (nonce): start the sign-in again from this application, in one browser."
            }
            Self::AtHashMismatch => {
                "The ID token does not match the access token it came with (at_hash): start the sign-in again; if it persists, the provider's answer is being altered."
            }
            Self::MissingClaim(_) => {
                "The ID token lacks a claim this connection needs (its key claim, such as sub or oid): the provider's administrator should add it, or the connection's key_claim should name one the provider sends."
            }
        }
    }
}

/// Most signing keys an OIDC connection may hold (`signing_certificates`).
pub const MAX_SIGNING_CERTIFICATES: usize = 8;

/// Why a pasted signing key was refused (entry numbers count from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    #[error(
        "signing_certificates: entry {0} holds no PEM block (-----BEGIN CERTIFICATE----- or -----BEGIN PUBLIC KEY-----)"
    )]
    NotPem(usize),
    #[error(
        "signing_certificates: entry {0} is a private key; paste the provider's certificate or public key, never a private key"
    )]
    PrivateKey(usize),
    #[error("signing_certificates: entry {0} cannot be read: {1}")]
    Unreadable(usize, String),
    #[error(
        "signing_certificates: entry {index} is an RSA key of {bits} bits; at least 2048 are required"
    )]
    RsaTooShort { index: usize, bits: usize },
    #[error(
        "signing_certificates: entry {index} is an EC key on {curve}; only P-256 and P-384 are accepted"
    )]
    UnsupportedCurve { index: usize, curve: String },
    #[error(
        "signing_certificates: entry {index} is a {kind} key; only RSA, EC (P-256, P-384) and Ed25519 keys verify ID tokens"
    )]
    UnsupportedType { index: usize, kind: String },
    #[error("signing_certificates: at most {MAX_SIGNING_CERTIFICATES} keys")]
    TooMany,
}

impl SigningKeyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotPem(_) => "oidc.signing_certificate_not_pem",
            Self::PrivateKey(_) => "oidc.signing_certificate_private_key",
            Self::Unreadable(..) => "oidc.signing_certificate_unreadable",
            Self::RsaTooShort { .. } => "oidc.signing_key_too_short",
            Self::UnsupportedCurve { .. } => "oidc.signing_key_unsupported_curve",
            Self::UnsupportedType { .. } => "oidc.signing_key_unsupported_type",
            Self::TooMany => "oidc.signing_certificates_too_many",
        }
    }

    pub fn help(&self) -> &'static str {
        match self {
            Self::NotPem(_) => {
                "Paste each certificate or public key in PEM form, including its -----BEGIN and -----END lines."
            }
            Self::PrivateKey(_) => {
                "Remove the private key from the settings (and replace it at the provider, since it was exposed); paste only the provider's certificate or public key."
            }
            Self::Unreadable(..) => {
                "The PEM block is damaged or not a certificate or public key: copy it again from the provider's signing-certificate page."
            }
            Self::RsaTooShort { .. } => {
                "Have the provider sign with an RSA key of at least 2048 bits, then paste its new certificate."
            }
            Self::UnsupportedCurve { .. } => {
                "Have the provider sign with an EC key on P-256 or P-384 (ES256, ES384), an RSA key or Ed25519."
            }
            Self::UnsupportedType { .. } => {
                "Paste an RSA, EC (P-256, P-384) or Ed25519 key: other key types cannot sign OpenID Connect ID tokens here."
            }
            Self::TooMany => {
                "Keep only the provider's current signing certificates (and the next one during a rotation)."
            }
        }
    }
}
