//! Refusals of the admin console and of the setup portal: who may see a console page, and what
//! a setup link still allows.

use super::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    #[error(
        "you are signed in, but not as an administrator of this organisation; the admin console is for administrators"
    )]
    NotAdmin,
    #[error("a setup link can only set up its own organisation's identity provider connection")]
    SetupLinkScope,
    #[error("this setup link does not exist")]
    SetupLinkNotFound,
    #[error("this setup link has expired")]
    SetupLinkExpired,
    #[error("this setup link was revoked by an administrator")]
    SetupLinkRevoked,
    #[error("this setup link was already used to finish the setup")]
    SetupLinkUsed,
    #[error("this setup link is already being used by someone else (in another browser)")]
    SetupLinkClaimed,
    #[error("the setup link's lifetime must be between 1 hour and 30 days ({0} hours asked)")]
    SetupLinkLifetime(i64),
    #[error("this test sign-in must be started again from the console or the setup page")]
    TestNotPending,
    #[error("this is not a {idp} issuer (`{got}`); it has the form {expected}")]
    IssuerFormat {
        idp: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error(
        "Google Workspace needs your organisation's domain (hosted domain); without it any Google account could sign in"
    )]
    HostedDomainMissing,
}

impl ConsoleError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAdmin => "console.not_admin",
            Self::SetupLinkScope => "setup_link.scope",
            Self::SetupLinkNotFound => "setup_link.not_found",
            Self::SetupLinkExpired => "setup_link.expired",
            Self::SetupLinkRevoked => "setup_link.revoked",
            Self::SetupLinkUsed => "setup_link.used",
            Self::SetupLinkClaimed => "setup_link.claimed",
            Self::SetupLinkLifetime(_) => "setup_link.lifetime_invalid",
            Self::TestNotPending => "connection.test_not_pending",
            Self::IssuerFormat { .. } => "setup_link.issuer_format",
            Self::HostedDomainMissing => "setup_link.hosted_domain_missing",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAdmin | Self::SetupLinkScope | Self::SetupLinkClaimed => ErrorKind::Forbidden,
            Self::SetupLinkNotFound
            | Self::SetupLinkExpired
            | Self::SetupLinkRevoked
            | Self::SetupLinkUsed => ErrorKind::NotFound,
            Self::SetupLinkLifetime(_) | Self::IssuerFormat { .. } | Self::HostedDomainMissing => {
                ErrorKind::Invalid
            }
            Self::TestNotPending => ErrorKind::Unauthenticated,
        }
    }

    /// What the person can do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::NotAdmin => {
                "Sign in with an administrator account, or ask an administrator of your organisation to give you the admin role."
            }
            Self::SetupLinkScope => {
                "Ask the administrator who sent the link for what you need; the link covers the SSO connection only."
            }
            Self::SetupLinkNotFound
            | Self::SetupLinkExpired
            | Self::SetupLinkRevoked
            | Self::SetupLinkUsed => "Ask the administrator who sent you the link for a new one.",
            Self::SetupLinkClaimed => {
                "Open the link in the browser it was first opened in, or ask the administrator for a link of your own."
            }
            Self::SetupLinkLifetime(_) => "Choose a lifetime between 1 and 720 hours.",
            Self::TestNotPending => {
                "Press \"Save and test\" again; a test sign-in is valid for one use and ten minutes."
            }
            Self::IssuerFormat { .. } => {
                "Copy the issuer exactly as the guide above shows it (for Microsoft Entra ID, with the Directory (tenant) ID from the app's Overview page)."
            }
            Self::HostedDomainMissing => {
                "Enter your Google Workspace domain (such as example.com) in the hosted domain field."
            }
        }
    }
}
