//! Every `content.*` code forward-auth answers with and every warning an admin change returns:
//! one enum variant each, a stable dotted code and a sentence the person who sees it can act on.
//! (Admin API failures — unknown site, list or contact, a used link — are [`crate::Error`]
//! variants with `content.*` codes too.)

/// Why `/auth/check` does not answer 200, or why it sends the visitor to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The socket peer is not in `trusted_proxies`.
    #[error(
        "This check did not come from a trusted proxy: add the reverse proxy's address to trusted_proxies."
    )]
    UntrustedProxy,
    /// Neither nginx's nor Caddy/Traefik's headers name the original request.
    #[error(
        "The proxy did not say which page was asked for: send Host and X-Original-URI (nginx) or X-Forwarded-Host and X-Forwarded-Uri (Caddy, Traefik)."
    )]
    OriginalRequestMissing,
    /// The host is no site of any tenant.
    #[error(
        "This host is not a site of any organisation in Lanyard: an administrator adds it under the tenant's sites."
    )]
    UnknownSite,
    /// SSO content without a visitor: the answer carries the SSO sign-in URL.
    #[error("Sign in with your organisation's single sign-on to read this page.")]
    SignInRequired,
    /// Registration content without a visitor: the answer carries the emailed-link page's URL.
    #[error(
        "This page is for registered contacts: enter your email on the sign-in page and open the link we send you."
    )]
    RegistrationSignIn,
    /// Signed in, but on none of the resource's lists.
    #[error(
        "You are signed in, but this page is only for people on its lists: ask the site's owner to add your email."
    )]
    NotOnList,
    /// List-restricted content while the site's SSO is off.
    #[error(
        "This page is for list members, and single sign-on is turned off for this site: an administrator turns it on again."
    )]
    SsoOff,
    /// The site has no usable SSO connection to send the visitor to.
    #[error(
        "This page needs single sign-on, but the site has no enabled SSO connection: an administrator sets one on the site."
    )]
    SsoUnavailable,
}

impl Refusal {
    pub const ALL: [Refusal; 8] = [
        Self::UntrustedProxy,
        Self::OriginalRequestMissing,
        Self::UnknownSite,
        Self::SignInRequired,
        Self::RegistrationSignIn,
        Self::NotOnList,
        Self::SsoOff,
        Self::SsoUnavailable,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::UntrustedProxy => "content.untrusted_proxy",
            Self::OriginalRequestMissing => "content.original_request_missing",
            Self::UnknownSite => "content.unknown_site",
            Self::SignInRequired => "content.sign_in_required",
            Self::RegistrationSignIn => "content.registration_sign_in",
            Self::NotOnList => "content.not_on_list",
            Self::SsoOff => "content.sso_off",
            Self::SsoUnavailable => "content.sso_unavailable",
        }
    }
}

/// What an admin change does that the admin should see before confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningCode {
    /// Turning SSO off makes SSO-required resources public.
    SsoOffMakesPublic,
    /// Turning SSO off makes list-restricted resources inaccessible.
    SsoOffClosesLists,
    /// Requiring SSO where the audience was registration locks registered contacts out.
    RegistrationContactsLoseAccess,
}

impl WarningCode {
    pub fn code(self) -> &'static str {
        match self {
            Self::SsoOffMakesPublic => "content.sso_off_makes_public",
            Self::SsoOffClosesLists => "content.sso_off_closes_lists",
            Self::RegistrationContactsLoseAccess => "content.registration_contacts_lose_access",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dotted_distinct_and_messages_say_what_to_do() {
        let mut seen = std::collections::HashSet::new();
        for r in Refusal::ALL {
            assert!(r.code().starts_with("content."), "{r:?}");
            assert!(seen.insert(r.code()), "duplicate {}", r.code());
            assert!(r.to_string().ends_with('.'), "{r:?}");
        }
        assert_eq!(Refusal::SsoOff.code(), "content.sso_off");
        assert_eq!(
            WarningCode::RegistrationContactsLoseAccess.code(),
            "content.registration_contacts_lose_access"
        );
    }
}
