//! The refusals of JWT remote login, with the codes customers know.

/// Why a JWT remote login (or its settings) was refused. `code()` is exactly the code customers
/// know; the Display text says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("no JWT remote-login settings exist for this tenant and connection")]
    NoSettings,
    #[error("the token's header could not be parsed: {0}")]
    CouldNotParseHeader(&'static str),
    #[error("the token's header has typ `{0}`; only JWT is accepted")]
    WrongTypeInHeader(String),
    #[error("the token's header has no alg")]
    AlgorithmMissingInHeader,
    #[error("the token is unsigned (alg none); unsigned tokens are never accepted")]
    NoneAlgorithmProvided,
    #[error("the token could not be verified: {0}")]
    TokenVerificationFailed(String),
    #[error("the token has no usable `email` claim")]
    MissingEmailInToken,
    #[error("the key is not usable: {0}")]
    InvalidKey(String),
    #[error("the shared secret for {alg} must be at least {min} bytes (it has {got})")]
    InvalidKeyLength {
        alg: &'static str,
        min: usize,
        got: usize,
    },
    #[error(
        "the RSA public key has {bits} bits; {alg} needs an RSA key of 2048 to 8192 bits: generate a new key pair of at least 2048 bits and paste its public key"
    )]
    InvalidRsaKeyLength { alg: &'static str, bits: usize },
    #[error(
        "a private key was pasted where the public key belongs; it was not stored: paste the public key and rotate the exposed private key"
    )]
    PrivateKeyProvided,
    #[error("the remote login URL {0}")]
    InvalidLoginUrl(&'static str),
    #[error("the token's jti {0}")]
    JtiClaimInvalid(&'static str),
    #[error("the request's {part} has {got} bytes; at most {max} are accepted")]
    RequestTooLarge {
        part: &'static str,
        max: usize,
        got: usize,
    },
}

impl JwtError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSettings => "NO_SETTINGS",
            Self::CouldNotParseHeader(_) => "COULD_NOT_PARSE_HEADER",
            Self::WrongTypeInHeader(_) => "WRONG_TYPE_IN_HEADER",
            Self::AlgorithmMissingInHeader => "ALGORITHM_MISSING_IN_HEADER",
            Self::NoneAlgorithmProvided => "NONE_ALGORITHM_PROVIDED",
            Self::TokenVerificationFailed(_) => "TOKEN_VERIFICATION_FAILED",
            Self::MissingEmailInToken => "MISSING_EMAIL_IN_TOKEN",
            Self::InvalidKey(_) => "INVALID_KEY",
            Self::InvalidKeyLength { .. } | Self::InvalidRsaKeyLength { .. } => {
                "INVALID_KEY_LENGTH"
            }
            Self::PrivateKeyProvided => "PRIVATE_KEY_PROVIDED",
            Self::InvalidLoginUrl(_) => "INVALID_LOGIN_URL",
            Self::JtiClaimInvalid(_) => "JTI_CLAIM_INVALID",
            Self::RequestTooLarge { .. } => "REQUEST_TOO_LARGE",
        }
    }

    /// Settings problems (found when an admin saves) as opposed to refused tokens.
    pub fn is_settings_error(&self) -> bool {
        matches!(
            self,
            Self::InvalidKey(_)
                | Self::InvalidKeyLength { .. }
                | Self::InvalidRsaKeyLength { .. }
                | Self::PrivateKeyProvided
                | Self::InvalidLoginUrl(_)
        )
    }

    pub fn help(&self) -> &'static str {
        match self {
            Self::NoSettings => {
                "Check the sign-in link; the administrator must set up JWT remote login for this connection."
            }
            Self::MissingEmailInToken => {
                "The remote login must put the visitor's email address in the token's `email` claim."
            }
            Self::JtiClaimInvalid(_) => {
                "Each token can be used once; sign in again so the remote login issues a new one."
            }
            Self::RequestTooLarge { .. } => {
                "The remote login sent more than Lanyard accepts: its administrator should keep the token small (only the claims Lanyard reads: email, sub, name, exp, jti and the role claim) and the redirect URL short; a browser extension or proxy adding large headers can also cause this."
            }
            Self::InvalidKey(_)
            | Self::InvalidKeyLength { .. }
            | Self::InvalidRsaKeyLength { .. }
            | Self::PrivateKeyProvided
            | Self::InvalidLoginUrl(_) => {
                "Correct the connection's JWT settings (login URL, algorithm and key) and save again."
            }
            _ => {
                "The remote login sent a token this connection does not accept; its administrator should compare the token's algorithm, key and claims with the connection's settings."
            }
        }
    }
}
