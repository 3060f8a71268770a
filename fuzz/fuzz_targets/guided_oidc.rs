//! The setup portal's guided OpenID Connect issuer check (`console::guided_oidc`): the issuer an
//! IT admin pastes for Okta, Entra ID or Google, from which the provider's endpoints are derived
//! and saved without fetching anything.
//!
//! Invariants: an accepted issuer is an absolute `https` URL without user info, query or
//! fragment; every derived endpoint is one too, and those under the issuer's host are on the
//! same host as the issuer; Entra's issuer is a single directory's v2.0 issuer and Google's is
//! Google's own; checking the derived issuer again gives the same settings; a refusal names at
//! most 200 characters of what was pasted; Google without a hosted domain is refused.
#![no_main]

use lanyard_core::console::guided_oidc::{GOOGLE_ISSUER, GuidedIdp, check_hosted_domain};
use lanyard_core::error::ConsoleError;
use libfuzzer_sys::fuzz_target;

fn https_url(s: &str) -> url::Url {
    let u = url::Url::parse(s).unwrap_or_else(|e| panic!("{s:?} is not a URL: {e}"));
    assert_eq!(u.scheme(), "https", "{s}");
    assert!(u.username().is_empty() && u.password().is_none(), "{s}");
    assert!(u.query().is_none() && u.fragment().is_none(), "{s}");
    assert!(u.host_str().is_some_and(|h| !h.is_empty()), "{s}");
    u
}

fuzz_target!(|input: (u8, &str)| {
    let (which, issuer) = input;
    let idp = match which % 3 {
        0 => GuidedIdp::Okta,
        1 => GuidedIdp::Entra,
        _ => GuidedIdp::Google,
    };
    match idp.settings(issuer) {
        Ok(s) => {
            let iss = https_url(&s.issuer);
            assert!(!s.issuer.ends_with('/'), "{}", s.issuer);
            let own_host = [&s.authorization_endpoint, &s.token_endpoint, &s.jwks_uri];
            for e in own_host
                .iter()
                .copied()
                .chain(s.end_session_endpoint.as_ref())
            {
                let u = https_url(e);
                if idp != GuidedIdp::Google {
                    assert_eq!(u.host_str(), iss.host_str(), "{e} leaves {}", s.issuer);
                    assert!(e.starts_with(&s.issuer) || idp == GuidedIdp::Entra, "{e}");
                }
            }
            https_url(&s.userinfo_endpoint);
            match idp {
                GuidedIdp::Entra => {
                    assert_eq!(iss.host_str(), Some("login.microsoftonline.com"));
                    assert!(s.issuer.ends_with("/v2.0"));
                }
                GuidedIdp::Google => assert_eq!(s.issuer, GOOGLE_ISSUER),
                GuidedIdp::Okta => {}
            }
            assert_eq!(idp.settings(&s.issuer).as_ref(), Ok(&s), "not idempotent");
        }
        Err(ConsoleError::IssuerFormat { got, .. }) => assert!(got.chars().count() <= 200),
        Err(e) => panic!("unexpected refusal {e:?}"),
    }
    let hd = issuer.get(..issuer.len().min(64)).unwrap_or("");
    let res = check_hosted_domain(idp, Some(hd));
    if idp == GuidedIdp::Google && hd.trim().is_empty() {
        assert!(res.is_err());
    }
    assert_eq!(
        check_hosted_domain(idp, None).is_err(),
        idp == GuidedIdp::Google
    );
});
