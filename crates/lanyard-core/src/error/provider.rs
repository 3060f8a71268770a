//! The refusals of Lanyard as an OpenID provider: each has a stable Lanyard code (`oauth.*`),
//! the RFC 6749 / OpenID Connect error name it is answered with, and whether it may be sent back
//! to the app's redirect URI (only once the client and its redirect URI are known to be good).

/// Why an authorization, token, UserInfo, introspection, revocation or logout request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("no app has the client_id `{0}`; check the app's client_id in Lanyard")]
    UnknownClient(String),
    #[error(
        "the client could not be authenticated (unknown client, wrong secret, or the wrong method)"
    )]
    ClientAuthFailed,
    #[error(
        "the redirect_uri is not one of the app's registered redirect URIs (they must match exactly)"
    )]
    RedirectUriMismatch,
    #[error("the request is malformed: {0}")]
    InvalidRequest(String),
    #[error("response_type must be `code`")]
    UnsupportedResponseType,
    #[error("the scope `{0}` is not supported (openid, profile, email, offline_access)")]
    InvalidScope(String),
    #[error("the scope must include `openid`")]
    OpenidScopeMissing,
    #[error("this app is public, so it must send a PKCE code_challenge (S256)")]
    PkceRequired,
    #[error("PKCE method `{0}` is refused; use S256")]
    PkceMethod(String),
    #[error(
        "the PKCE code_challenge or code_verifier is malformed (43-128 characters of [A-Za-z0-9-._~])"
    )]
    PkceMalformed,
    #[error("the code_verifier does not match the code_challenge of the authorization request")]
    PkceMismatch,
    #[error("the code_verifier is missing, but the authorization request had a code_challenge")]
    PkceVerifierMissing,
    #[error("no organisation named `{0}` exists")]
    UnknownOrganization(String),
    #[error("this app may not be used by the organisation `{0}`")]
    TenantNotAllowed(String),
    #[error("the person is not signed in and prompt=none forbids asking them")]
    LoginRequired,
    #[error("the authorization request is unknown or has expired; start again from the app")]
    AuthRequestUnknown,
    #[error("the authorization code is unknown or has expired")]
    CodeInvalid,
    #[error("the authorization code was already used; everything issued from it is revoked")]
    CodeReplayed,
    #[error("the authorization code was issued to another client")]
    CodeWrongClient,
    #[error("the redirect_uri does not match the one of the authorization request")]
    CodeRedirectMismatch,
    #[error("the refresh token is unknown, expired or belongs to another client")]
    RefreshInvalid,
    #[error("the refresh token was already used; the whole grant is revoked")]
    RefreshReused,
    #[error("the grant was revoked or its Lanyard session has ended")]
    GrantRevoked,
    #[error(
        "the grant_type `{0}` is not supported (authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:device_code)"
    )]
    UnsupportedGrantType(String),
    #[error("this app may not use the grant_type `{0}`")]
    GrantTypeNotAllowed(String),
    #[error("the access token is missing, malformed, expired or revoked")]
    InvalidToken,
    #[error("the post_logout_redirect_uri is not registered for this app")]
    PostLogoutRedirectUnregistered,
    #[error("the id_token_hint is not an ID token this provider issued: {0}")]
    IdTokenHintInvalid(&'static str),
    #[error("no app with this id")]
    AppNotFound,
    #[error(
        "this app is public (a browser, mobile or command-line app): it has no secret to rotate"
    )]
    AppIsPublic,
    #[error("the initial access token must be an operator API key (`Authorization: Bearer lny_…`)")]
    RegistrationUnauthorized,
    #[error("the provider's signing key is unusable: {0}")]
    SigningKey(String),
    #[error("the person has not yet approved this device; keep polling at the interval")]
    AuthorizationPending,
    #[error(
        "the device polls too fast; wait at least the interval between polls (RFC 8628: add 5 seconds)"
    )]
    SlowDown,
    #[error("the person denied this device's sign-in in the browser")]
    DeviceDenied,
    #[error("the device code has expired (10 minutes); start the sign-in again")]
    DeviceExpired,
    #[error("the device code is unknown or was already used")]
    DeviceCodeInvalid,
    #[error("this code is unknown or has expired; check the code the command line shows")]
    UserCodeUnknown,
    #[error("too many wrong codes from this address; try again in {0} seconds")]
    UserCodeThrottled(i64),
    #[error("this device asked to sign in to the organisation `{0}`; sign in to that organisation")]
    DeviceWrongOrganization(String),
}

impl ProviderError {
    /// The stable Lanyard code (also in `error_description`, before a colon).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownClient(_) => "oauth.unknown_client",
            Self::ClientAuthFailed => "oauth.client_auth_failed",
            Self::RedirectUriMismatch => "oauth.redirect_uri_mismatch",
            Self::InvalidRequest(_) => "oauth.invalid_request",
            Self::UnsupportedResponseType => "oauth.unsupported_response_type",
            Self::InvalidScope(_) => "oauth.invalid_scope",
            Self::OpenidScopeMissing => "oauth.openid_scope_missing",
            Self::PkceRequired => "oauth.pkce_required",
            Self::PkceMethod(_) => "oauth.pkce_method",
            Self::PkceMalformed => "oauth.pkce_malformed",
            Self::PkceMismatch => "oauth.pkce_mismatch",
            Self::PkceVerifierMissing => "oauth.pkce_verifier_missing",
            Self::UnknownOrganization(_) => "oauth.unknown_organization",
            Self::TenantNotAllowed(_) => "oauth.tenant_not_allowed",
            Self::LoginRequired => "oauth.login_required",
            Self::AuthRequestUnknown => "oauth.auth_request_unknown",
            Self::CodeInvalid => "oauth.code_invalid",
            Self::CodeReplayed => "oauth.code_replayed",
            Self::CodeWrongClient => "oauth.code_wrong_client",
            Self::CodeRedirectMismatch => "oauth.code_redirect_mismatch",
            Self::RefreshInvalid => "oauth.refresh_invalid",
            Self::RefreshReused => "oauth.refresh_reused",
            Self::GrantRevoked => "oauth.grant_revoked",
            Self::UnsupportedGrantType(_) => "oauth.unsupported_grant_type",
            Self::GrantTypeNotAllowed(_) => "oauth.grant_type_not_allowed",
            Self::InvalidToken => "oauth.invalid_token",
            Self::PostLogoutRedirectUnregistered => "oauth.post_logout_redirect_unregistered",
            Self::IdTokenHintInvalid(_) => "oauth.id_token_hint_invalid",
            Self::AppNotFound => "app.not_found",
            Self::AppIsPublic => "app.public_has_no_secret",
            Self::RegistrationUnauthorized => "oauth.registration_unauthorized",
            Self::SigningKey(_) => "oauth.signing_key",
            Self::AuthorizationPending => "oauth.authorization_pending",
            Self::SlowDown => "oauth.slow_down",
            Self::DeviceDenied => "oauth.device_denied",
            Self::DeviceExpired => "oauth.device_expired",
            Self::DeviceCodeInvalid => "oauth.device_code_invalid",
            Self::UserCodeUnknown => "oauth.user_code_unknown",
            Self::UserCodeThrottled(_) => "oauth.user_code_throttled",
            Self::DeviceWrongOrganization(_) => "oauth.device_wrong_organization",
        }
    }

    /// The error name of RFC 6749 §4.1.2.1 / §5.2, OIDC Core §3.1.2.6, RFC 6750 §3.1.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            Self::UnknownClient(_) | Self::ClientAuthFailed => "invalid_client",
            Self::RedirectUriMismatch
            | Self::InvalidRequest(_)
            | Self::PkceRequired
            | Self::PkceMethod(_)
            | Self::PkceMalformed
            | Self::UnknownOrganization(_)
            | Self::AuthRequestUnknown
            | Self::PostLogoutRedirectUnregistered
            | Self::IdTokenHintInvalid(_)
            | Self::AppNotFound
            | Self::AppIsPublic
            | Self::PkceVerifierMissing => "invalid_request",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope(_) | Self::OpenidScopeMissing => "invalid_scope",
            Self::TenantNotAllowed(_) => "access_denied",
            Self::LoginRequired => "login_required",
            Self::PkceMismatch
            | Self::CodeInvalid
            | Self::CodeReplayed
            | Self::CodeWrongClient
            | Self::CodeRedirectMismatch
            | Self::RefreshInvalid
            | Self::RefreshReused
            | Self::GrantRevoked => "invalid_grant",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::GrantTypeNotAllowed(_) => "unauthorized_client",
            Self::InvalidToken | Self::RegistrationUnauthorized => "invalid_token",
            Self::SigningKey(_) => "server_error",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown | Self::UserCodeThrottled(_) => "slow_down",
            Self::DeviceDenied | Self::DeviceWrongOrganization(_) => "access_denied",
            Self::DeviceExpired => "expired_token",
            Self::DeviceCodeInvalid => "invalid_grant",
            Self::UserCodeUnknown => "invalid_request",
        }
    }

    /// `error_description`: the Lanyard code, then the sentence.
    pub fn description(&self) -> String {
        format!("{}: {self}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ProviderError as P;

    fn all() -> Vec<P> {
        vec![
            P::UnknownClient("x".into()),
            P::ClientAuthFailed,
            P::RedirectUriMismatch,
            P::InvalidRequest("x".into()),
            P::UnsupportedResponseType,
            P::InvalidScope("x".into()),
            P::OpenidScopeMissing,
            P::PkceRequired,
            P::PkceMethod("plain".into()),
            P::PkceMalformed,
            P::PkceMismatch,
            P::PkceVerifierMissing,
            P::UnknownOrganization("x".into()),
            P::TenantNotAllowed("x".into()),
            P::LoginRequired,
            P::AuthRequestUnknown,
            P::CodeInvalid,
            P::CodeReplayed,
            P::CodeWrongClient,
            P::CodeRedirectMismatch,
            P::RefreshInvalid,
            P::RefreshReused,
            P::GrantRevoked,
            P::UnsupportedGrantType("x".into()),
            P::GrantTypeNotAllowed("x".into()),
            P::InvalidToken,
            P::PostLogoutRedirectUnregistered,
            P::IdTokenHintInvalid("x"),
            P::AppNotFound,
            P::AppIsPublic,
            P::RegistrationUnauthorized,
            P::SigningKey("x".into()),
            P::AuthorizationPending,
            P::SlowDown,
            P::DeviceDenied,
            P::DeviceExpired,
            P::DeviceCodeInvalid,
            P::UserCodeUnknown,
            P::UserCodeThrottled(3),
            P::DeviceWrongOrganization("x".into()),
        ]
    }

    #[test]
    fn codes_are_unique_and_errors_are_the_rfcs_names() {
        let mut seen = std::collections::HashSet::new();
        let names = [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "unsupported_response_type",
            "invalid_scope",
            "access_denied",
            "login_required",
            "invalid_token",
            "server_error",
            "authorization_pending",
            "slow_down",
            "expired_token",
        ];
        for e in all() {
            assert!(seen.insert(e.code()), "{} twice", e.code());
            assert!(
                e.code().starts_with("oauth.") || e.code().starts_with("app."),
                "{}",
                e.code()
            );
            assert!(names.contains(&e.oauth_error()), "{}", e.oauth_error());
            assert!(e.description().starts_with(&format!("{}: ", e.code())));
        }
    }
}
