//! The error codes' own tests: every refusal has help, codes are dotted and stable.

use super::*;

/// One of every `login.*` refusal (add new ones here: the test below checks each has help).
fn login_refusals() -> Vec<Error> {
    vec![
        Error::InvalidCredentials,
        Error::Throttled {
            retry_after_secs: 30,
        },
        Error::FederatedUnknownUser {
            tenant: "acme".into(),
            connection: "okta".into(),
            federation_id: "00u1abc".into(),
        },
        Error::FederatedUserDisabled,
        Error::AccountExistsUseInvitation,
        Error::ProvisioningUsernameTaken("ada".into()),
        Error::ProvisioningMissingEmail("email, mail".into()),
        Error::ProvisioningMissingClaim("username".into()),
        Error::EmailUnconfirmed,
        Error::SsoRequired,
    ]
}

/// Issue 15: a sign-in refusal whose page shows a code but no sentence saying what to do
/// leaves the user and their IT admin stuck. Every login.* code has its own actionable help.
#[test]
fn every_login_refusal_has_its_own_help() {
    let all = login_refusals();
    let mut seen = std::collections::HashSet::new();
    for e in &all {
        assert!(e.code().starts_with("login."), "{}", e.code());
        let help = e
            .help_text()
            .unwrap_or_else(|| panic!("{} has no help", e.code()));
        assert!(
            help.len() > 40 && help.ends_with('.'),
            "{}: {help}",
            e.code()
        );
        assert!(
            seen.insert(help.clone()),
            "{} shares its help text",
            e.code()
        );
        assert_ne!(
            help,
            e.to_string(),
            "{}: help repeats the message",
            e.code()
        );
    }
    let codes: std::collections::HashSet<_> = all.iter().map(Error::code).collect();
    assert_eq!(codes.len(), all.len(), "one sample per code");
}

/// Issue 15: the unknown-user page says why (JIT off, no identity with this federation ID)
/// and the two ways out, naming the real tenant, connection and federation ID.
#[test]
fn unknown_user_help_names_the_federation_id_and_both_fixes() {
    let e = Error::FederatedUnknownUser {
        tenant: "acme".into(),
        connection: "okta".into(),
        federation_id: "00u1abc".into(),
    };
    let msg = e.to_string();
    assert!(
        msg.contains("`00u1abc`") && msg.contains("`okta`") && msg.contains("JIT) is off"),
        "{msg}"
    );
    let help = e.help_text().unwrap();
    assert!(help.contains("\"jit\": true"), "{help}");
    assert!(
        help.contains("PUT /api/v1/tenants/acme/users/{user_id}/federated-identities/okta with {\"federation_id\": \"00u1abc\"}"),
        "{help}"
    );
}

/// Every OIDC refusal gets a help sentence of its own: none sends an admin to compare
/// "issuer, client ID, keys and algorithms" for a problem that is about something else.
#[test]
fn every_oidc_refusal_has_its_own_help() {
    use crate::error::OidcError as O;
    let all = [
        Error::Oidc(O::DiscoveryIssuerMismatch {
            expected: "a".into(),
            found: "b".into(),
        }),
        Error::Oidc(O::DiscoveryInvalid("x".into())),
        Error::Oidc(O::JwksInvalid("x".into())),
        Error::Oidc(O::Malformed("x")),
        Error::Oidc(O::AlgorithmNotAllowed("HS256".into())),
        Error::Oidc(O::UnknownKid),
        Error::Oidc(O::BadSignature),
        Error::Oidc(O::IssuerMismatch),
        Error::Oidc(O::AudienceMismatch),
        Error::Oidc(O::AzpMismatch),
        Error::Oidc(O::TimeInvalid("has expired")),
        Error::Oidc(O::NonceMismatch),
        Error::Oidc(O::AtHashMismatch),
        Error::Oidc(O::MissingClaim("sub".into())),
        Error::OidcIssuerMixUp,
        Error::OidcIssuerMissing,
        Error::OidcTokenRequest("x".into()),
        Error::OidcUserinfoSubMismatch,
        Error::OidcHostedDomainMismatch,
        Error::OidcProviderError("access_denied".into()),
    ];
    let mut seen = std::collections::HashMap::new();
    for e in &all {
        let help = e
            .help()
            .unwrap_or_else(|| panic!("{} has no help", e.code()));
        assert!(!help.contains("compare issuer"), "{}", e.code());
        assert!(help.ends_with('.'), "{}", e.code());
        if let Some(other) = seen.insert(help, e.code()) {
            panic!("{} and {other} share a help text", e.code());
        }
    }
}

#[test]
fn codes_are_dotted_and_stable() {
    let samples = [
        Error::invalid("slug", "bad"),
        Error::InvalidCredentials,
        Error::Throttled {
            retry_after_secs: 3,
        },
        Error::ApiKeyWrongTenant("b".into()),
    ];
    let codes: Vec<_> = samples.iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [
            "request.invalid_field",
            "login.invalid_credentials",
            "login.throttled",
            "auth.api_key_wrong_tenant"
        ]
    );
    assert_eq!(
        Error::Throttled {
            retry_after_secs: 3
        }
        .to_string(),
        "too many failed sign-in attempts; try again in 3 seconds"
    );
}
