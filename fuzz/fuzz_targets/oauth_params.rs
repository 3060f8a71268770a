//! The OpenID provider's request forms: `single_params` (token, revocation, introspection and
//! logout bodies, the authorize query), `authorize_params` + `validate` (the authorization
//! request, for a public and a confidential app), `error_redirect` (what goes back to the
//! app), and `basic_credentials` (the client's `Authorization` header), on arbitrary bytes.
//!
//! Invariants: a parsed form re-serialises to the same map; an accepted authorization request
//! asks for `openid`, only known scopes, once each, has PKCE S256 when the app is public,
//! never both prompt=none and prompt=login, and carries `state` unchanged; an error redirect
//! stays on the registered redirect URI and hands back exactly the `state` sent; Basic
//! credentials round-trip through their encoding.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use lanyard_core::error::ProviderError;
use lanyard_core::provider::SCOPES;
use lanyard_core::provider::apps::App;
use lanyard_core::provider::authorize::{error_redirect, validate};
use lanyard_core::provider::params::{authorize_params, basic_credentials, single_params};
use libfuzzer_sys::fuzz_target;
use url::form_urlencoded;

const REDIRECT: &str = "https://app.example/cb?tenant=a";
const ISSUER: &str = "https://sso.example";

#[derive(Arbitrary, Debug)]
struct Input {
    form: Vec<u8>,
    /// Pairs for the authorize query (names picked from the known ones, so checks are reached).
    pairs: Vec<(u8, String)>,
    raw_query: Option<String>,
    public: bool,
    authorization: Vec<u8>,
}

const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "organization",
    "login_hint",
    "response_mode",
    "request",
    "request_uri",
    "other",
];

fn app(public: bool) -> App {
    App {
        id: "app-1".into(),
        name: "App".into(),
        secret_hash: (!public).then(|| vec![1; 32]),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: "RS256".into(),
        tenant_ids: None,
        created_at: 0,
        updated_at: 0,
    }
}

fuzz_target!(|i: Input| {
    if let Ok(map) = single_params(&i.form) {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &map {
            ser.append_pair(k, v);
        }
        assert_eq!(single_params(ser.finish().as_bytes()).ok(), Some(map));
    }

    let query = i.raw_query.clone().unwrap_or_else(|| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (n, v) in &i.pairs {
            let name = NAMES
                .get(usize::from(*n) % NAMES.len())
                .copied()
                .unwrap_or("other");
            ser.append_pair(name, v);
        }
        ser.finish()
    });
    if let Ok((p, pairs)) = authorize_params(&query) {
        assert!(pairs.windows(2).all(|w| w[0] <= w[1]), "pairs are sorted");
        match validate(&app(i.public), REDIRECT, &p) {
            Ok(v) => {
                assert!(v.scope.iter().any(|s| s == "openid"));
                assert!(v.scope.iter().all(|s| SCOPES.contains(&s.as_str())));
                let mut dedup = v.scope.clone();
                dedup.sort();
                dedup.dedup();
                assert_eq!(dedup.len(), v.scope.len());
                assert_eq!(p.response_type.as_deref(), Some("code"));
                assert!(p.request.is_none() && p.request_uri.is_none());
                if i.public {
                    assert!(v.code_challenge.is_some());
                }
                if v.code_challenge.is_some() {
                    assert_eq!(p.code_challenge_method.as_deref(), Some("S256"));
                }
                assert!(!(v.prompt_none && v.prompt_login));
                assert_eq!(v.state, p.state);
                assert!(v.max_age.is_none_or(|m| m >= 0));
                assert_eq!(v.redirect_uri, REDIRECT);
            }
            Err(e) => check_error_redirect(&e, p.state.as_deref()),
        }
    }

    if let Ok(Some((id, secret))) = basic_credentials(&i.authorization) {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let again = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(&id),
                enc(&secret)
            ))
        );
        assert_eq!(basic_credentials(again.as_bytes()), Ok(Some((id, secret))));
    }
});

fn check_error_redirect(e: &ProviderError, state: Option<&str>) {
    let to = error_redirect(REDIRECT, e, state, ISSUER);
    let u = url::Url::parse(&to).expect("an error redirect is a URL");
    let registered = url::Url::parse(REDIRECT).expect("redirect");
    assert_eq!(u.origin(), registered.origin());
    assert_eq!(u.path(), registered.path());
    assert!(u.fragment().is_none());
    let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    let states: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(states, state.into_iter().collect::<Vec<_>>());
    let isses: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "iss")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(isses, vec![ISSUER]);
    assert_eq!(
        q.first().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(("tenant", "a"))
    );
}
