//! The one list of injectable faults: the picker page, the `fault=` query parameter, the
//! README's table and the tests all read it.

/// What Lanyard answers to a login carrying the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The login succeeds (the page says what an admin should still know).
    SignedIn,
    /// The login succeeds and a `login.warning` audit event says why.
    SignedInWithWarning,
    /// The login is refused with this code on the error page and in the audit log.
    Refused(&'static str),
    /// The fault does not apply to this protocol.
    NotApplicable,
}

/// One fault the test IdP can inject into a login.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// The value of `fault=` and of the page's radio button.
    pub id: &'static str,
    pub label: &'static str,
    /// What it simulates, for the IT admin reading the page.
    pub explain: &'static str,
    pub saml: Outcome,
    pub oidc: Outcome,
}

use Outcome::{NotApplicable, Refused, SignedIn, SignedInWithWarning};

/// Minutes the IdP's clock is off by for `clock_ahead` / `clock_behind` (when no `skew=` is given).
pub const DEFAULT_SKEW_MINUTES: i64 = 10;

pub const FAULTS: &[Fault] = &[
    Fault {
        id: "none",
        label: "No fault: a correct login",
        explain: "A signed assertion / ID token with every check passing.",
        saml: SignedIn,
        oidc: SignedIn,
    },
    Fault {
        id: "clock_ahead",
        label: "IdP clock ahead (+10 minutes, or skew=N)",
        explain: "The IdP's clock runs fast: the assertion is not valid yet when it arrives. Fix the IdP's time (NTP) or raise the connection's clock_skew_secs.",
        saml: Refused("saml.not_yet_valid"),
        oidc: Refused("oidc.id_token_time_invalid"),
    },
    Fault {
        id: "clock_behind",
        label: "IdP clock behind (-10 minutes, or skew=N)",
        explain: "The IdP's clock runs slow: the assertion has already expired when it arrives.",
        saml: Refused("saml.expired"),
        oidc: Refused("oidc.id_token_time_invalid"),
    },
    Fault {
        id: "expired",
        label: "Expired assertion / ID token",
        explain: "Validity ended an hour ago (a replayed or long-delayed response).",
        saml: Refused("saml.expired"),
        oidc: Refused("oidc.id_token_time_invalid"),
    },
    Fault {
        id: "not_yet_valid",
        label: "Not yet valid",
        explain: "Validity starts in an hour.",
        saml: Refused("saml.not_yet_valid"),
        oidc: Refused("oidc.id_token_time_invalid"),
    },
    Fault {
        id: "wrong_audience",
        label: "Wrong audience",
        explain: "The assertion / ID token is meant for another application (the IdP app has the wrong SP entity ID or client ID).",
        saml: Refused("saml.bad_audience"),
        oidc: Refused("oidc.audience_mismatch"),
    },
    Fault {
        id: "wrong_recipient",
        label: "Wrong recipient",
        explain: "SubjectConfirmationData Recipient names another ACS URL (the IdP app has the wrong ACS URL).",
        saml: Refused("saml.bad_recipient"),
        oidc: NotApplicable,
    },
    Fault {
        id: "wrong_destination",
        label: "Wrong destination",
        explain: "The Response's Destination names another ACS URL.",
        saml: Refused("saml.bad_destination"),
        oidc: NotApplicable,
    },
    Fault {
        id: "wrong_issuer",
        label: "Wrong issuer",
        explain: "The ID token's iss is not the issuer the connection was set up with.",
        saml: NotApplicable,
        oidc: Refused("oidc.issuer_mismatch"),
    },
    Fault {
        id: "unsigned",
        label: "Unsigned",
        explain: "No signature at all (SAML), or alg=none (OIDC).",
        saml: Refused("saml.unsigned_assertion"),
        oidc: Refused("oidc.algorithm_not_allowed"),
    },
    Fault {
        id: "response_only",
        label: "Only the Response signed",
        explain: "The Response is signed, the Assertion inside is not. Accepted by default (the signature covers the assertion); refused as saml.unsigned_assertion when the connection sets require_signed_assertions.",
        saml: SignedIn,
        oidc: NotApplicable,
    },
    Fault {
        id: "rotated_key",
        label: "Rotated signing key",
        explain: "The IdP signs with a new key while the connection still holds only the old certificate (an IdP certificate rotation nobody copied into Lanyard).",
        saml: Refused("saml.bad_certificate"),
        oidc: Refused("oidc.unknown_kid"),
    },
    Fault {
        id: "sha1",
        label: "SHA-1 digest",
        explain: "The signature's digest is SHA-1; refused unless the connection sets allow_sha1.",
        saml: Refused("saml.bad_digest_algorithm"),
        oidc: NotApplicable,
    },
    Fault {
        id: "missing_email",
        label: "No email",
        explain: "No email attribute or claim, and an opaque NameID / sub. The demo connections require an email to create an account.",
        saml: Refused("login.missing_email"),
        oidc: Refused("login.missing_email"),
    },
    Fault {
        id: "unverified_email",
        label: "Unverified email",
        explain: "email_verified is false: Lanyard does not take an address the IdP did not vouch for, so a connection that needs an email to create the account refuses the first login.",
        saml: NotApplicable,
        oidc: Refused("login.missing_email"),
    },
    Fault {
        id: "transient_nameid",
        label: "Transient NameID",
        explain: "A new random NameID at every login. The first login works; but the federation ID is the NameID by default, so the next login is a different identity to Lanyard and cannot reuse the account. With such an IdP, set federation_id_attribute to a stable attribute.",
        saml: SignedIn,
        oidc: NotApplicable,
    },
    Fault {
        id: "groups_overage",
        label: "Groups overage (Entra ID)",
        explain: "Over 200 groups: Entra ID sends a pointer (_claim_names / groups.link) instead of the groups. No roles are read; OIDC logins record a login.warning audit event.",
        saml: SignedIn,
        oidc: SignedInWithWarning,
    },
    Fault {
        id: "amr_without_mfa",
        label: "amr without MFA",
        explain: "The ID token's amr is [\"pwd\"] only. The demo connection requires no authentication context, so the login succeeds; a connection listing `mfa` in required_authn_contexts refuses it with login.mfa_required.",
        saml: NotApplicable,
        oidc: SignedIn,
    },
];

/// A fault that concerns the connection's setup, not one login.
pub const SETUP_FAULT_RSA_1024: &str = "rsa_1024";

pub fn find(id: &str) -> Option<&'static Fault> {
    FAULTS.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_fault_applies_somewhere() {
        let mut ids: Vec<_> = FAULTS.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FAULTS.len());
        for f in FAULTS {
            assert!(
                f.saml != NotApplicable || f.oidc != NotApplicable,
                "{} applies to no protocol",
                f.id
            );
            assert!(find(f.id).is_some());
        }
        assert!(find(SETUP_FAULT_RSA_1024).is_none());
    }

    /// The README's faults table is this table: every fault has its row with its codes.
    #[test]
    fn readme_documents_every_fault_with_its_codes() {
        let readme = include_str!("../../../../README.md");
        for f in FAULTS {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", f.id)))
                .unwrap_or_else(|| panic!("README has no row for fault {}", f.id));
            for o in [f.saml, f.oidc] {
                if let Refused(code) = o {
                    assert!(row.contains(&format!("`{code}`")), "{row}");
                }
            }
        }
    }
}
