//! The domain's errors. Every variant has a stable `code()` that appears on error pages, in API
//! responses, in the audit log and as a metric label; the Display text tells a person what to do.

mod console;
mod jwt;
mod oidc;
mod provider;

pub use console::ConsoleError;
pub use jwt::JwtError;
pub use oidc::{MAX_SIGNING_CERTIFICATES, OidcError, SigningKeyError};
pub use provider::ProviderError;

/// How a refusal maps onto a protocol status (the server turns this into HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Throttled,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    #[error("no tenant named `{0}` exists")]
    TenantNotFound(String),
    #[error("the tenant slug `{0}` is already taken; choose another")]
    TenantSlugTaken(String),
    #[error(
        "this connection requires a stronger sign-in at the identity provider (such as multi-factor authentication) than this one ({got})"
    )]
    MfaRequired { got: String },
    /// Carries the URL of the password reset that replaces the session (never shown).
    #[error("you must choose a new password before you can sign in")]
    PasswordChangeRequired(String),
    #[error("the domain `{domain}` is refused: {reason}")]
    DomainInvalid {
        domain: String,
        reason: &'static str,
    },
    #[error("this tenant has already claimed `{0}`; check it or delete the claim")]
    DomainAlreadyClaimed(String),
    #[error(
        "`{0}` is verified for another tenant; that tenant must delete it before anyone else can verify it"
    )]
    DomainVerifiedElsewhere(String),
    #[error(
        "this tenant has not claimed the domain `{0}`; claim it with POST /api/v1/tenants/{{tenant}}/domains"
    )]
    DomainNotFound(String),
    #[error(
        "no TXT record at `{record}` holds this claim's challenge token ({found} TXT records found); publish it, wait for DNS to update, then check again"
    )]
    DomainChallengeNotFound { record: String, found: usize },
    #[error(
        "no site with the host `{0}` exists; create it with POST /api/v1/tenants/{{tenant}}/sites"
    )]
    SiteNotFound(String),
    #[error("the host `{0}` already belongs to a site; one host belongs to one tenant")]
    SiteHostTaken(String),
    #[error("no list `{0}` exists in this tenant; create it first")]
    ContentListNotFound(String),
    #[error("this sign-in link for the site is unknown, used or expired; open the page again")]
    ContentHandoffInvalid,
    #[error(
        "this emailed sign-in link is unknown, already used or expired; open the page again and ask for a new link"
    )]
    ContentLinkInvalid,
    #[error("`{0}` is not a registered contact of this site")]
    ContentContactNotFound(String),
    #[error(
        "the list `{name}` is used by {resources} resource(s); give them other lists or another audience before deleting it"
    )]
    ContentListInUse { name: String, resources: usize },
    #[error("no resource at `{0}` on this site")]
    ContentResourceNotFound(String),
    #[error("the DNS lookup failed: {0}; check the `dns_resolver` setting and try again")]
    DnsLookupFailed(String),
    #[error("the language `{0}` is not offered; use `en` (English) or `ja` (Japanese)")]
    TenantLanguageInvalid(String),
    #[error("the network mask `{entry}` is refused: {reason}")]
    NetworkMaskInvalid { entry: String, reason: String },
    #[error(
        "{count} network masks is too many; a tenant may list at most 500 (merge adjacent ranges)"
    )]
    NetworkMasksTooMany { count: usize },
    #[error("no such user in this tenant")]
    UserNotFound,
    #[error("the username `{0}` is already used in this tenant")]
    UsernameTaken(String),
    #[error("the email address `{0}` is already used by another user in this tenant")]
    EmailTaken(String),
    #[error(
        "no role named `{0}` exists in this tenant; list roles with GET /api/v1/tenants/{{tenant}}/roles"
    )]
    RoleNotFound(String),
    #[error("a role named `{0}` already exists in this tenant")]
    RoleExists(String),
    #[error("the role `{0}` is built in and cannot be deleted")]
    RoleBuiltin(String),
    #[error("the role `{0}` is still assigned to users; give them another role first")]
    RoleInUse(String),
    #[error("no such session in this tenant")]
    SessionNotFound,
    #[error("no such API key")]
    ApiKeyNotFound,

    #[error("the username or password is incorrect")]
    InvalidCredentials,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: i64 },
    #[error("you are not signed in")]
    NoSession,
    #[error("your session has expired; sign in again")]
    SessionExpired,
    #[error("your session was ended; sign in again")]
    SessionRevoked,
    #[error("this session belongs to another tenant")]
    SessionWrongTenant,
    #[error("the form has expired or was not sent by this site; reload the page and try again")]
    CsrfInvalid,

    #[error("send an admin API key as `Authorization: Bearer <key>`")]
    ApiKeyMissing,
    #[error("the API key is unknown or has been revoked")]
    ApiKeyInvalid,
    #[error("this API key may not administer tenant `{0}`")]
    ApiKeyWrongTenant(String),
    #[error("only an operator API key (one not bound to a tenant) may do this")]
    OperatorOnly,

    #[error("no connection named `{0}` exists in this tenant")]
    ConnectionNotFound(String),
    #[error("a connection named `{0}` already exists in this tenant")]
    ConnectionSlugTaken(String),
    #[error("this sign-in connection is disabled; ask your administrator")]
    ConnectionDisabled,
    /// An admin-supplied SAML setting (certificate, metadata) that the protocol crate refused.
    #[error("{field}: {source}")]
    SamlConfig {
        field: &'static str,
        source: lanyard_saml::Error,
    },
    #[error("the IdP metadata could not be fetched: {0}")]
    MetadataFetch(String),
    /// A request to an identity provider failed (per endpoint and failure kind).
    #[error("{0}")]
    Fetch(crate::outbound::FetchError),
    #[error(
        "the metadata URL points at a loopback, private or otherwise internal address, which this server does not fetch"
    )]
    MetadataUrlForbidden,
    /// The verifier refused the SAML response.
    #[error("{0}")]
    Saml(lanyard_saml::Error),
    #[error("this sign-in response does not answer a sign-in request pending here")]
    SamlUnknownRequest,
    #[error("the sign-in request this response answers has expired")]
    SamlRequestExpired,
    #[error("the RelayState does not belong to the sign-in request this response answers")]
    SamlRelayStateMismatch,
    #[error("this sign-in was started in another browser")]
    SamlBrowserMismatch,
    #[error("this assertion was already used to sign in")]
    SamlReplayed,
    #[error("the assertion lacks a usable `{0}` attribute for creating the user")]
    SamlMissingAttribute(String),
    #[error("this identity was linked to a user at the same moment; sign in again")]
    IdentityAlreadyLinked,
    /// JWT remote login refused the token or the settings (codes exactly as customers know them).
    #[error("{0}")]
    Jwt(JwtError),
    /// The OIDC verifier refused the ID token or the discovery document.
    #[error("{0}")]
    Oidc(OidcError),
    /// Lanyard as the OpenID provider refused a request of an app.
    #[error("{0}")]
    Provider(ProviderError),
    /// The admin console or the setup portal refused (`console.*`, `setup_link.*`).
    #[error("{0}")]
    Console(#[from] ConsoleError),
    #[error("this sign-in response does not answer a sign-in pending here (unknown or used state)")]
    OidcStateUnknown,
    #[error("the sign-in this response answers has expired")]
    OidcStateExpired,
    #[error("this sign-in was started in another browser")]
    OidcBrowserMismatch,
    #[error("the authorization response comes from another issuer than this connection's (mix-up)")]
    OidcIssuerMixUp,
    #[error(
        "the authorization response has no `iss`, although this connection's provider announces that it always sends one (RFC 9207)"
    )]
    OidcIssuerMissing,
    /// A pasted signing certificate or key of an OIDC connection was refused.
    #[error("{0}")]
    OidcSigningKey(SigningKeyError),
    #[error("the provider refused the sign-in: {0}")]
    OidcProviderError(String),
    #[error("the authorization response has no code")]
    OidcMissingCode,
    #[error("the token request failed: {0}")]
    OidcTokenRequest(String),
    #[error("the userinfo `sub` is not the ID token's `sub`")]
    OidcUserinfoSubMismatch,
    #[error("the account's hosted domain (hd) is not the one this connection requires")]
    OidcHostedDomainMismatch,
    #[error(
        "no user of this tenant has a federated identity with federation ID `{federation_id}` on connection `{connection}`, and just-in-time account creation (JIT) is off for this connection"
    )]
    FederatedUnknownUser {
        tenant: String,
        connection: String,
        federation_id: String,
    },
    #[error("the user linked to this identity is disabled")]
    FederatedUserDisabled,

    #[error(
        "an account with this email already exists in this tenant; it joins single sign-on through the upgrade invitation its administrator sends, never by a matching email"
    )]
    AccountExistsUseInvitation,
    #[error("the username `{0}` sent by the identity provider is already used by another account")]
    ProvisioningUsernameTaken(String),
    #[error(
        "the identity provider sent no usable email (tried {0}); this connection needs one to create accounts"
    )]
    ProvisioningMissingEmail(String),
    #[error("the identity provider sent no usable value for `{0}`")]
    ProvisioningMissingClaim(String),
    #[error(
        "this account's email address is not confirmed yet; follow the link in the welcome email"
    )]
    EmailUnconfirmed,
    #[error("password sign-in is turned off for this organisation; sign in with single sign-on")]
    SsoRequired,
    #[error("this invitation link is unknown or was replaced by a newer one")]
    InvitationNotFound,
    #[error("this invitation was already accepted; sign in with single sign-on")]
    InvitationUsed,
    #[error("the identity you signed in with is already linked to another account")]
    InvitationIdentityInUse,
    #[error("the identity provider's verified email is not the invited account's email")]
    InvitationEmailMismatch,
    #[error("the tenant has no enabled SSO connection to invite users with{0}")]
    InvitationNoConnection(String),
    #[error("this link is unknown, expired or already used; ask for a new one")]
    LinkInvalid,
    #[error("you cannot disconnect your own account from single sign-on; ask an administrator")]
    SelfDisconnectForbidden,
    #[error("the user has no identity on this connection")]
    FederatedIdentityNotFound,
    #[error(
        "this federation ID is already linked to another user on this connection; disconnect it there first"
    )]
    FederationIdTaken,
    #[error("no such API token")]
    ApiTokenNotFound,
    #[error("the API token is unknown, expired or revoked")]
    ApiTokenInvalid,

    #[error(
        "the master key does not match the one this database was created with; restore the right key file or LANYARD_MASTER_KEY"
    )]
    MasterKeyMismatch,
    #[error("the database is unavailable; try again shortly")]
    StoreUnavailable(#[source] sqlx::Error),
    #[error("the database schema could not be migrated: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    #[error("internal error; the server log has the details")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "request.invalid_field",
            Self::TenantNotFound(_) => "tenant.not_found",
            Self::TenantSlugTaken(_) => "tenant.slug_taken",
            Self::NetworkMaskInvalid { .. } => "tenant.network_mask_invalid",
            Self::TenantLanguageInvalid(_) => "tenant.language_invalid",
            Self::PasswordChangeRequired(_) => "login.password_change_required",
            Self::MfaRequired { .. } => "login.mfa_required",
            Self::DomainInvalid { .. } => "domain.invalid",
            Self::DomainAlreadyClaimed(_) => "domain.already_claimed",
            Self::DomainVerifiedElsewhere(_) => "domain.verified_elsewhere",
            Self::DomainNotFound(_) => "domain.not_found",
            Self::SiteNotFound(_) => "content.site_not_found",
            Self::SiteHostTaken(_) => "content.host_taken",
            Self::ContentListNotFound(_) => "content.list_not_found",
            Self::ContentHandoffInvalid => "content.handoff_invalid",
            Self::ContentLinkInvalid => "content.link_invalid",
            Self::ContentContactNotFound(_) => "content.contact_not_found",
            Self::ContentListInUse { .. } => "content.list_in_use",
            Self::ContentResourceNotFound(_) => "content.resource_not_found",
            Self::DomainChallengeNotFound { .. } => "domain.challenge_not_found",
            Self::DnsLookupFailed(_) => "domain.dns_failed",
            Self::NetworkMasksTooMany { .. } => "tenant.network_masks_too_many",
            Self::UserNotFound => "user.not_found",
            Self::UsernameTaken(_) => "user.username_taken",
            Self::EmailTaken(_) => "user.email_taken",
            Self::RoleNotFound(_) => "role.not_found",
            Self::RoleExists(_) => "role.exists",
            Self::RoleBuiltin(_) => "role.builtin",
            Self::RoleInUse(_) => "role.in_use",
            Self::SessionNotFound => "session.not_found",
            Self::ApiKeyNotFound => "api_key.not_found",
            Self::InvalidCredentials => "login.invalid_credentials",
            Self::Throttled { .. } => "login.throttled",
            Self::NoSession => "session.missing",
            Self::SessionExpired => "session.expired",
            Self::SessionRevoked => "session.revoked",
            Self::SessionWrongTenant => "session.wrong_tenant",
            Self::CsrfInvalid => "request.csrf_invalid",
            Self::ApiKeyMissing => "auth.api_key_missing",
            Self::ApiKeyInvalid => "auth.api_key_invalid",
            Self::ApiKeyWrongTenant(_) => "auth.api_key_wrong_tenant",
            Self::OperatorOnly => "auth.operator_only",
            Self::ConnectionNotFound(_) => "connection.not_found",
            Self::ConnectionSlugTaken(_) => "connection.slug_taken",
            Self::ConnectionDisabled => "connection.disabled",
            Self::SamlConfig { source, .. } => source.code(),
            Self::MetadataFetch(_) => "connection.metadata_fetch_failed",
            Self::Fetch(e) => e.code(),
            Self::MetadataUrlForbidden => "connection.metadata_url_forbidden",
            Self::Saml(e) => e.code(),
            Self::SamlUnknownRequest => "saml.unknown_request",
            Self::SamlRequestExpired => "saml.request_expired",
            Self::SamlRelayStateMismatch => "saml.relay_state_mismatch",
            Self::SamlBrowserMismatch => "saml.browser_mismatch",
            Self::SamlReplayed => "saml.replayed_assertion",
            Self::SamlMissingAttribute(_) => "saml.missing_attribute",
            Self::IdentityAlreadyLinked => "saml.identity_already_linked",
            Self::Jwt(e) => e.code(),
            Self::Oidc(e) => e.code(),
            Self::Provider(e) => e.code(),
            Self::Console(e) => e.code(),
            Self::OidcStateUnknown => "oidc.state_unknown",
            Self::OidcStateExpired => "oidc.state_expired",
            Self::OidcBrowserMismatch => "oidc.browser_mismatch",
            Self::OidcIssuerMixUp => "oidc.issuer_mix_up",
            Self::OidcIssuerMissing => "oidc.issuer_missing",
            Self::OidcSigningKey(e) => e.code(),
            Self::OidcProviderError(_) => "oidc.provider_error",
            Self::OidcMissingCode => "oidc.missing_code",
            Self::OidcTokenRequest(_) => "oidc.token_request_failed",
            Self::OidcUserinfoSubMismatch => "oidc.userinfo_sub_mismatch",
            Self::OidcHostedDomainMismatch => "oidc.hosted_domain_mismatch",
            Self::FederatedUnknownUser { .. } => "login.unknown_user",
            Self::FederatedUserDisabled => "login.user_disabled",
            Self::AccountExistsUseInvitation => "login.account_exists_use_invitation",
            Self::ProvisioningUsernameTaken(_) => "login.username_taken",
            Self::ProvisioningMissingEmail(_) => "login.missing_email",
            Self::ProvisioningMissingClaim(_) => "login.missing_claim",
            Self::EmailUnconfirmed => "login.email_unconfirmed",
            Self::SsoRequired => "login.sso_required",
            Self::InvitationNotFound => "invitation.not_found",
            Self::InvitationUsed => "invitation.already_accepted",
            Self::InvitationIdentityInUse => "invitation.identity_in_use",
            Self::InvitationEmailMismatch => "invitation.email_mismatch",
            Self::InvitationNoConnection(_) => "invitation.no_connection",
            Self::LinkInvalid => "link.invalid",
            Self::SelfDisconnectForbidden => "sso.self_disconnect_forbidden",
            Self::FederatedIdentityNotFound => "federated_identity.not_found",
            Self::FederationIdTaken => "federated_identity.taken",
            Self::ApiTokenNotFound => "api_token.not_found",
            Self::ApiTokenInvalid => "auth.api_token_invalid",
            Self::MasterKeyMismatch => "config.master_key_mismatch",
            Self::StoreUnavailable(_) => "store.unavailable",
            Self::Migration(_) => "store.migration_failed",
            Self::Internal(_) => "internal",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. }
            | Self::NetworkMaskInvalid { .. }
            | Self::TenantLanguageInvalid(_)
            | Self::DomainInvalid { .. }
            | Self::DomainChallengeNotFound { .. }
            | Self::NetworkMasksTooMany { .. }
            | Self::SamlConfig { .. }
            | Self::MetadataFetch(_)
            | Self::MetadataUrlForbidden => ErrorKind::Invalid,
            Self::Fetch(e) if e.is_settings_error() => ErrorKind::Invalid,
            Self::OidcSigningKey(_) => ErrorKind::Invalid,
            Self::Console(e) => e.kind(),
            Self::Provider(ProviderError::AppNotFound) => ErrorKind::NotFound,
            Self::Provider(ProviderError::SigningKey(_)) => ErrorKind::Internal,
            Self::Provider(
                ProviderError::UnknownClient(_)
                | ProviderError::ClientAuthFailed
                | ProviderError::InvalidToken
                | ProviderError::RegistrationUnauthorized
                | ProviderError::LoginRequired,
            ) => ErrorKind::Unauthenticated,
            Self::Provider(
                ProviderError::TenantNotAllowed(_) | ProviderError::DeviceWrongOrganization(_),
            ) => ErrorKind::Forbidden,
            Self::Provider(ProviderError::UserCodeThrottled(_)) => ErrorKind::Throttled,
            Self::Provider(_) => ErrorKind::Invalid,
            Self::Fetch(_) => ErrorKind::Unauthenticated,
            Self::Saml(_)
            | Self::SamlUnknownRequest
            | Self::SamlRequestExpired
            | Self::SamlRelayStateMismatch
            | Self::SamlBrowserMismatch
            | Self::SamlReplayed
            | Self::SamlMissingAttribute(_) => ErrorKind::Unauthenticated,
            Self::Jwt(e) if e.is_settings_error() => ErrorKind::Invalid,
            Self::Jwt(JwtError::NoSettings) => ErrorKind::NotFound,
            Self::Jwt(_) => ErrorKind::Unauthenticated,
            Self::Oidc(
                OidcError::DiscoveryIssuerMismatch { .. } | OidcError::DiscoveryInvalid(_),
            ) => ErrorKind::Invalid,
            Self::Oidc(_)
            | Self::OidcStateUnknown
            | Self::OidcStateExpired
            | Self::OidcBrowserMismatch
            | Self::OidcIssuerMixUp
            | Self::OidcIssuerMissing
            | Self::OidcProviderError(_)
            | Self::OidcMissingCode
            | Self::OidcTokenRequest(_)
            | Self::OidcUserinfoSubMismatch => ErrorKind::Unauthenticated,
            Self::OidcHostedDomainMismatch => ErrorKind::Forbidden,
            Self::FederatedUnknownUser { .. }
            | Self::FederatedUserDisabled
            | Self::AccountExistsUseInvitation
            | Self::ProvisioningUsernameTaken(_)
            | Self::ProvisioningMissingEmail(_)
            | Self::ProvisioningMissingClaim(_)
            | Self::EmailUnconfirmed
            | Self::SsoRequired
            | Self::InvitationUsed
            | Self::InvitationIdentityInUse
            | Self::InvitationEmailMismatch
            | Self::SelfDisconnectForbidden
            | Self::ConnectionDisabled => ErrorKind::Forbidden,
            Self::InvitationNotFound
            | Self::LinkInvalid
            | Self::FederatedIdentityNotFound
            | Self::ApiTokenNotFound => ErrorKind::NotFound,
            Self::InvitationNoConnection(_) => ErrorKind::Invalid,
            Self::ApiTokenInvalid => ErrorKind::Unauthenticated,
            Self::IdentityAlreadyLinked
            | Self::FederationIdTaken
            | Self::ConnectionSlugTaken(_) => ErrorKind::Conflict,
            Self::ConnectionNotFound(_) => ErrorKind::NotFound,
            Self::TenantNotFound(_)
            | Self::UserNotFound
            | Self::RoleNotFound(_)
            | Self::SessionNotFound
            | Self::ApiKeyNotFound => ErrorKind::NotFound,
            Self::TenantSlugTaken(_)
            | Self::UsernameTaken(_)
            | Self::EmailTaken(_)
            | Self::RoleExists(_)
            | Self::RoleBuiltin(_)
            | Self::RoleInUse(_) => ErrorKind::Conflict,
            Self::InvalidCredentials
            | Self::NoSession
            | Self::SessionExpired
            | Self::SessionRevoked
            | Self::SessionWrongTenant
            | Self::ApiKeyMissing
            | Self::ApiKeyInvalid => ErrorKind::Unauthenticated,
            Self::ApiKeyWrongTenant(_) | Self::OperatorOnly | Self::CsrfInvalid => {
                ErrorKind::Forbidden
            }
            Self::DomainAlreadyClaimed(_) | Self::DomainVerifiedElsewhere(_) => ErrorKind::Conflict,
            Self::DomainNotFound(_)
            | Self::SiteNotFound(_)
            | Self::ContentListNotFound(_)
            | Self::ContentContactNotFound(_)
            | Self::ContentResourceNotFound(_) => ErrorKind::NotFound,
            Self::SiteHostTaken(_) | Self::ContentListInUse { .. } => ErrorKind::Conflict,
            Self::ContentHandoffInvalid | Self::ContentLinkInvalid => ErrorKind::Unauthenticated,
            Self::PasswordChangeRequired(_) | Self::MfaRequired { .. } => ErrorKind::Forbidden,
            Self::DnsLookupFailed(_) => ErrorKind::Unavailable,
            Self::Throttled { .. } => ErrorKind::Throttled,
            Self::StoreUnavailable(_) => ErrorKind::Unavailable,
            Self::MasterKeyMismatch | Self::Migration(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl Error {
    /// For sign-in refusals: one sentence telling the user or the IdP administrator what to do.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            Self::Console(e) => e.help(),
            Self::Saml(e) | Self::SamlConfig { source: e, .. } => e.help(),
            Self::SamlUnknownRequest => {
                "The response was already used, or the sign-in was started in another browser or with another connection; start the sign-in again from this application."
            }
            Self::SamlRequestExpired => {
                "The sign-in took too long to complete; start it again from this application."
            }
            Self::SamlRelayStateMismatch => {
                "The IdP returned a RelayState that does not belong to this sign-in; check that the IdP returns RelayState unchanged, then start the sign-in again."
            }
            Self::SamlBrowserMismatch => {
                "Finish the sign-in in the browser you started it in (and allow its cookies); start the sign-in again."
            }
            Self::SamlReplayed => {
                "Each SAML assertion can be used once; start the sign-in again so that the IdP issues a new one."
            }
            Self::Jwt(e) => e.help(),
            Self::Fetch(e) => e.help(),
            Self::OidcSigningKey(e) => e.help(),
            Self::Oidc(e) => e.help(),
            Self::OidcIssuerMixUp => {
                "The response names another issuer than this connection's, so it may come from another provider (mix-up): start the sign-in again from this application; the administrator should check the connection's issuer."
            }
            Self::OidcTokenRequest(_) => {
                "The identity provider's token endpoint did not redeem the sign-in code: its administrator should check the client ID, client secret and token endpoint."
            }
            Self::OidcUserinfoSubMismatch => {
                "The userinfo endpoint describes another user than the ID token: check that the connection's userinfo endpoint belongs to this provider."
            }
            Self::OidcIssuerMissing => {
                "The response lacks the issuer the identity provider promised to include, so it may come from another provider: start the sign-in again; if it persists, the connection's administrator should re-import the provider's discovery document or turn off require_iss."
            }
            Self::OidcStateUnknown
            | Self::OidcStateExpired
            | Self::OidcBrowserMismatch
            | Self::OidcMissingCode => {
                "Start the sign-in again from this application, in one browser."
            }
            Self::OidcProviderError(_) => {
                "The identity provider refused the sign-in; try again or ask your administrator."
            }
            Self::OidcHostedDomainMismatch => {
                "Sign in with an account of your organisation's domain."
            }
            Self::FederatedUnknownUser { .. } => {
                "Your account has not been set up for this sign-in method. An administrator can turn on just-in-time account creation (jit) for this connection, or link your existing user to this federation ID through the admin API (PUT /api/v1/tenants/{tenant}/users/{user_id}/federated-identities/{connection})."
            }
            Self::InvalidCredentials => {
                "Check your username and password (passwords are case-sensitive) and try again; if you have forgotten your password, ask your administrator to reset it."
            }
            Self::Throttled { .. } => {
                "Wait for the time shown before trying again; if you have forgotten your password, ask your administrator to reset it rather than guessing."
            }
            Self::FederatedUserDisabled => "Your account is disabled; ask your administrator.",
            Self::SamlMissingAttribute(_) => {
                "Configure the IdP to send the attribute named in this connection's settings, or change the setting."
            }
            Self::IdentityAlreadyLinked => "Start the sign-in again.",
            Self::AccountExistsUseInvitation => {
                "You already have an account here: open the invitation to single sign-on your administrator sent you (or ask for one) to connect it."
            }
            Self::ProvisioningUsernameTaken(_) => {
                "Another account already has this username; ask your administrator to link your identity to your account or to rename one of them."
            }
            Self::ProvisioningMissingEmail(_) => {
                "The identity provider must send an email address it vouches for (one of the attributes or claims named above) to create accounts through this connection; its administrator should add it, or an administrator can turn off provisioning.jit_requires_email for this connection."
            }
            Self::ProvisioningMissingClaim(_) => {
                "The identity provider must send the attribute or claim named above; its administrator should add it, or an administrator can change which attribute this connection reads (username_attribute, username_claim)."
            }
            Self::EmailUnconfirmed => {
                "Open the confirmation link in the welcome email we sent you, then sign in again."
            }
            Self::SsoRequired => {
                "Your organisation signs in with single sign-on: use the button for your identity provider instead of a password."
            }
            Self::MfaRequired { .. } => {
                "Sign in again and complete the identity provider's multi-factor step; if it never asks for one, its administrator should require it for this application (or send the authentication context this connection lists)."
            }
            Self::PasswordChangeRequired(_) => {
                "Choose a new password on the page you are sent to, then sign in with it."
            }
            Self::InvitationUsed => "Your account is already on single sign-on; sign in with it.",
            Self::InvitationIdentityInUse => {
                "Sign in to your identity provider as yourself (not a colleague), or ask your administrator."
            }
            Self::InvitationEmailMismatch => {
                "Sign in to your identity provider with the account of the invited email address, or ask your administrator for a new invitation."
            }
            Self::InvitationNotFound | Self::LinkInvalid => {
                "Ask your administrator for a new link."
            }
            Self::ConnectionDisabled | Self::ConnectionNotFound(_) => {
                "Check the sign-in link, or ask your administrator which sign-in method to use."
            }
            _ => return None,
        })
    }
}

impl From<JwtError> for Error {
    fn from(e: JwtError) -> Self {
        Self::Jwt(e)
    }
}

impl From<OidcError> for Error {
    fn from(e: OidcError) -> Self {
        Self::Oidc(e)
    }
}

impl Error {
    /// [`Error::help`] with this refusal's particulars filled in (e.g. the exact admin API call
    /// that links an unknown federation ID); what the error page shows.
    pub fn help_text(&self) -> Option<String> {
        match self {
            Self::FederatedUnknownUser {
                tenant,
                connection,
                federation_id,
            } => Some(format!(
                "For the IT administrator: either turn on just-in-time account creation for connection `{connection}` (\"jit\": true) so that this first sign-in creates the user, or link the existing user to this identity: PUT /api/v1/tenants/{tenant}/users/{{user_id}}/federated-identities/{connection} with {{\"federation_id\": \"{federation_id}\"}}. Then sign in again."
            )),
            other => other.help().map(str::to_owned),
        }
    }
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Self {
        Self::Provider(e)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::StoreUnavailable(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
