//! OpenID Connect RP, the pure part: discovery import, JWKS parsing and the rate-limited
//! refetch, and ID-token verification against the O-* cases of SECURITY.md §7.

use crate::harness::T0;
use crate::jwt_login::{fixture, sign};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use lanyard_core::error::OidcError;
use lanyard_core::signin::oidc::checks::{
    DEFAULT_ALGORITHMS, IdTokenCheck, Jwks, JwksCache, at_hash, parse_algorithm, parse_discovery,
    pkce_challenge, verify_id_token,
};
use serde_json::{Value, json};

const ISS: &str = "https://op.example/tenant-a";
const CLIENT: &str = "lanyard-client";

fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut j = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    j["kid"] = json!(kid);
    j["use"] = json!("sig");
    j
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap()
}

fn jwks() -> Jwks {
    let ec = EncodingKey::from_ec_pem(&fixture("ec256.key")).unwrap();
    Jwks::parse(
        json!({"keys": [
            public_jwk(&rsa(), Algorithm::RS256, "k1"),
            public_jwk(&ec, Algorithm::ES256, "e1"),
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hs"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

fn algs() -> Vec<Algorithm> {
    DEFAULT_ALGORITHMS
        .iter()
        .filter_map(|a| parse_algorithm(a))
        .collect()
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": CLIENT, "sub": "u-1", "nonce": "n-1", "iat": T0, "exp": T0 + 300,
           "email": "ada@example.com", "email_verified": true})
}

fn check<'a>(algs: &'a [Algorithm], extra: &'a [String]) -> IdTokenCheck<'a> {
    IdTokenCheck {
        issuer: ISS,
        client_id: CLIENT,
        extra_audiences: extra,
        allowed_algorithms: algs,
        nonce: "n-1",
        access_token: Some("at-1"),
        skew_secs: 60,
        now: T0,
    }
}

fn rs(claims: &Value, kid: Option<&str>) -> String {
    let mut h = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(k) = kid {
        h["kid"] = json!(k);
    }
    sign(&h, claims, &rsa(), Algorithm::RS256)
}

fn code(r: Result<serde_json::Map<String, Value>, OidcError>) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

#[test]
fn a_good_id_token_verifies_with_and_without_kid() {
    let a = algs();
    let j = jwks();
    assert_eq!(
        j.keys.len(),
        2,
        "unusable, symmetric and encryption keys are skipped"
    );
    let mut c = claims();
    c["at_hash"] = json!(at_hash(Algorithm::RS256, "at-1"));
    let got = verify_id_token(&rs(&c, Some("k1")), &j, &check(&a, &[])).unwrap();
    assert_eq!(got["sub"], "u-1");
    // kid absent: every key of the right type is tried.
    assert_eq!(
        code(verify_id_token(&rs(&c, None), &j, &check(&a, &[]))),
        "accepted"
    );
    let ec = EncodingKey::from_ec_pem(&fixture("ec256.key")).unwrap();
    let t = sign(
        &json!({"alg": "ES256", "kid": "e1"}),
        &c,
        &ec,
        Algorithm::ES256,
    );
    assert_eq!(code(verify_id_token(&t, &j, &check(&a, &[]))), "accepted");
}

#[test]
fn o_signature_and_algorithm_cases() {
    let a = algs();
    let j = jwks();
    let c = claims();
    let pem = fixture("rsa.pub");
    let cases = [
        // alg none / HS with the public key as secret: never allowed.
        (
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&c.to_string())),
            "oidc.algorithm_not_allowed",
        ),
        (
            sign(
                &json!({"alg": "HS256", "kid": "k1"}),
                &c,
                &EncodingKey::from_secret(&pem),
                Algorithm::HS256,
            ),
            "oidc.algorithm_not_allowed",
        ),
        (
            sign(
                &json!({"alg": "HS256", "kid": "hs"}),
                &c,
                &EncodingKey::from_secret(b"secret"),
                Algorithm::HS256,
            ),
            "oidc.algorithm_not_allowed",
        ),
        // attacker key with our kid, with an unknown kid, with a header jwk.
        (
            sign(
                &json!({"alg": "RS256", "kid": "k1"}),
                &c,
                &EncodingKey::from_rsa_pem(&fixture("rsa_other.key")).unwrap(),
                Algorithm::RS256,
            ),
            "oidc.bad_signature",
        ),
        (
            sign(
                &json!({"alg": "RS256", "kid": "k9"}),
                &c,
                &rsa(),
                Algorithm::RS256,
            ),
            "oidc.unknown_kid",
        ),
        (
            sign(
                &json!({"alg": "RS256", "jwk": public_jwk(&EncodingKey::from_rsa_pem(&fixture("rsa_other.key")).unwrap(), Algorithm::RS256, "x")}),
                &c,
                &EncodingKey::from_rsa_pem(&fixture("rsa_other.key")).unwrap(),
                Algorithm::RS256,
            ),
            "oidc.bad_signature",
        ),
        // ES256 r=s=0
        (
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":"ES256","kid":"e1"}"#),
                b64(&c.to_string()),
                b64_bytes(&[0u8; 64])
            ),
            "oidc.bad_signature",
        ),
        (
            format!("{}.{}", rs(&c, Some("k1")).rsplit_once('.').unwrap().0, ""),
            "oidc.bad_signature",
        ),
        (r#"{"alg":"RS256"}"#.to_owned(), "oidc.id_token_malformed"),
        (
            sign(
                &json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
                &c,
                &rsa(),
                Algorithm::RS256,
            ),
            "oidc.id_token_malformed",
        ),
        (
            sign(
                &json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}),
                &c,
                &rsa(),
                Algorithm::RS256,
            ),
            "oidc.id_token_malformed",
        ),
    ];
    for (t, want) in cases {
        assert_eq!(
            code(verify_id_token(&t, &j, &check(&a, &[]))),
            want,
            "{}",
            &t[..t.len().min(60)]
        );
    }
    // A connection that allows only ES256 refuses RS256.
    let only_es = [Algorithm::ES256];
    assert_eq!(
        code(verify_id_token(
            &rs(&c, Some("k1")),
            &j,
            &check(&only_es, &[])
        )),
        "oidc.algorithm_not_allowed"
    );
}

fn b64(s: &str) -> String {
    b64_bytes(s.as_bytes())
}

fn b64_bytes(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[test]
fn o_claim_cases() {
    let a = algs();
    let j = jwks();
    let extra = vec!["https://api.example".to_owned()];
    let with = |patch: Value| {
        let mut c = claims();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        rs(&c, Some("k1"))
    };
    let cases = [
        (
            json!({"iss": "https://op.example/tenant-b"}),
            "oidc.issuer_mismatch",
        ),
        (json!({"iss": null}), "oidc.issuer_mismatch"),
        (json!({"aud": "other"}), "oidc.audience_mismatch"),
        (json!({"aud": []}), "oidc.audience_mismatch"),
        (json!({"aud": null}), "oidc.audience_mismatch"),
        (
            json!({"aud": [CLIENT, "untrusted"], "azp": CLIENT}),
            "oidc.audience_mismatch",
        ),
        // O-AZP
        (
            json!({"aud": [CLIENT, "https://api.example"], "azp": "https://api.example"}),
            "oidc.azp_mismatch",
        ),
        (
            json!({"aud": [CLIENT, "https://api.example"]}),
            "oidc.azp_mismatch",
        ),
        (
            json!({"aud": [CLIENT, "https://api.example"], "azp": CLIENT}),
            "accepted",
        ),
        (json!({"azp": "other"}), "oidc.azp_mismatch"),
        (json!({"exp": T0 - 61}), "oidc.id_token_time_invalid"),
        (json!({"exp": null}), "oidc.id_token_time_invalid"),
        (json!({"exp": 1.5}), "oidc.id_token_time_invalid"),
        (json!({"iat": null}), "oidc.id_token_time_invalid"),
        (json!({"iat": T0 + 3600}), "oidc.id_token_time_invalid"),
        (json!({"nbf": T0 + 3600}), "oidc.id_token_time_invalid"),
        // O-NONCE
        (json!({"nonce": "n-2"}), "oidc.nonce_mismatch"),
        (json!({"nonce": null}), "oidc.nonce_mismatch"),
        // O-ATHASH
        (
            json!({"at_hash": at_hash(Algorithm::RS256, "another")}),
            "oidc.at_hash_mismatch",
        ),
        (json!({"at_hash": 5}), "oidc.at_hash_mismatch"),
        (json!({"sub": null}), "oidc.missing_claim"),
    ];
    for (patch, want) in cases {
        assert_eq!(
            code(verify_id_token(
                &with(patch.clone()),
                &j,
                &check(&a, &extra)
            )),
            want,
            "{patch}"
        );
    }
}

#[test]
fn o_disco_issuer_must_match() {
    let doc = json!({"issuer": ISS, "authorization_endpoint": "https://op.example/auth",
        "token_endpoint": "https://op.example/token", "jwks_uri": "https://op.example/jwks",
        "userinfo_endpoint": "https://op.example/me", "end_session_endpoint": "https://op.example/logout"});
    let d = parse_discovery(doc.to_string().as_bytes(), ISS).unwrap();
    assert_eq!(d.jwks_uri, "https://op.example/jwks");
    let e = parse_discovery(doc.to_string().as_bytes(), "https://op.example/tenant-b").unwrap_err();
    assert_eq!(e.code(), "oidc.discovery_issuer_mismatch");
    let e = parse_discovery(format!("{ISS}/").as_bytes(), ISS).unwrap_err();
    assert_eq!(e.code(), "oidc.discovery_invalid");
    let mut no_jwks = doc.clone();
    no_jwks.as_object_mut().unwrap().remove("jwks_uri");
    assert_eq!(
        parse_discovery(no_jwks.to_string().as_bytes(), ISS)
            .unwrap_err()
            .code(),
        "oidc.discovery_invalid"
    );
}

/// O-KIDMISS: 100 unknown-kid tokens within one second claim at most one refetch.
#[test]
fn o_kidmiss_refetch_is_rate_limited() {
    let cache = JwksCache::default();
    assert!(cache.get("c1", "https://op/jwks", T0).is_none());
    cache.put("c1", "https://op/jwks", jwks(), T0);
    assert!(cache.get("c1", "https://op/jwks", T0 + 10).is_some());
    assert!(
        cache.get("c1", "https://other/jwks", T0 + 10).is_none(),
        "a changed jwks_uri is refetched"
    );
    // A rotation right after the first fetch is followed at once (the first refetch is free)...
    let claimed = (0..100)
        .filter(|_| cache.claim_refetch("c1", T0 + 1))
        .count();
    assert_eq!(claimed, 1);
    cache.put("c1", "https://op/jwks", jwks(), T0 + 1);
    // ...and later floods are limited to one refetch a minute.
    assert!(!cache.claim_refetch("c1", T0 + 40));
    assert!(cache.claim_refetch("c1", T0 + 61));
    assert_eq!(
        (0..100)
            .filter(|_| cache.claim_refetch("c1", T0 + 62))
            .count(),
        0
    );
    // Per connection.
    assert!(cache.claim_refetch("c2", T0));
}

#[test]
/// Expected value computed independently: base64url(sha256(verifier)) with Python's hashlib.
fn pkce_s256_is_base64url_sha256() {
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mA92QCM9HPvDGdd_gbzqv13L8h1tb4"),
        "tuipY8_2pPv1LSOZEp5XpL7uGxBmely8lrMkho_6_g8"
    );
}

// --- through the store ---

fn oidc_input(slug: &str) -> lanyard_proto::OidcConnectionInput {
    lanyard_proto::OidcConnectionInput {
        slug: Some(slug.into()),
        name: Some("Provider".into()),
        issuer: Some(ISS.into()),
        authorization_endpoint: Some("https://op.example/auth".into()),
        token_endpoint: Some("https://op.example/token".into()),
        jwks_uri: Some("https://op.example/jwks".into()),
        client_id: Some(CLIENT.into()),
        client_secret: Some("s3cret-value".into()),
        jit: Some(true),
        ..Default::default()
    }
}

async fn start_state(l: &lanyard_core::Lanyard, conn: &str) -> String {
    start_state_nonce(l, conn).await.0
}

/// The `state` and `nonce` of a fresh start at `conn` of tenant `a`.
async fn start_state_nonce(l: &lanyard_core::Lanyard, conn: &str) -> (String, String) {
    let url = l
        .oidc_start(
            "a",
            conn,
            lanyard_core::model::LoginStart {
                return_to: Some("/t/a/app"),
                ..Default::default()
            },
            "https://sso.example.com",
            &crate::harness::meta("203.0.113.7"),
        )
        .await
        .unwrap();
    let u = url::Url::parse(&url).unwrap();
    let param = |name: &str| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    (param("state"), param("nonce"))
}

/// The callback's first half at tenant `a`, without a browser binding.
async fn begin(
    l: &lanyard_core::Lanyard,
    conn: &str,
    p: &lanyard_core::signin::oidc::CallbackParams,
    m: &lanyard_core::RequestMeta,
) -> lanyard_core::error::Result<lanyard_core::signin::oidc::CallbackBegun> {
    l.oidc_callback_begin("a", conn, p, None, "https://sso.example.com", m)
        .await
}

/// Tenant `a`.
async fn tenant_a(l: &lanyard_core::Lanyard) {
    l.create_tenant(
        &lanyard_core::Ctx::cli(),
        lanyard_proto::CreateTenant {
            slug: "a".into(),
            name: "A".into(),
            session_lifetime_secs: None,
        },
    )
    .await
    .unwrap();
}

/// Tenant `a` with the OIDC connection `op` ([`oidc_input`]).
async fn tenant_a_with_provider(l: &lanyard_core::Lanyard) -> lanyard_core::model::Connection {
    use lanyard_core::Ctx;
    tenant_a(l).await;
    l.create_oidc_connection(&Ctx::cli(), "a", oidc_input("op"))
        .await
        .unwrap()
        .1
}

#[tokio::test]
async fn oidc_state_is_single_use_per_connection_on_both_backends() {
    use lanyard_core::Ctx;
    use lanyard_core::signin::oidc::CallbackParams;
    crate::harness::each_backend(|e| async move {
        let l = &e.lanyard;
        let c = tenant_a_with_provider(l).await;
        assert!(
            !c.settings.contains("s3cret-value"),
            "the client secret is sealed"
        );
        assert_eq!(
            c.oidc_settings()
                .unwrap()
                .client_secret(&c.id, l.master_key())
                .unwrap()
                .as_deref(),
            Some("s3cret-value")
        );
        l.create_oidc_connection(&Ctx::cli(), "a", oidc_input("op2"))
            .await
            .unwrap();
        let m = crate::harness::meta("203.0.113.7");
        let params = |state: &str, iss: Option<&str>| CallbackParams {
            code: Some("code-1".into()),
            state: Some(state.into()),
            iss: iss.map(str::to_owned),
            ..Default::default()
        };
        let state = start_state(l, "op").await;
        // At another connection of the same tenant, the state is unknown (and stays pending).
        let err = begin(l, "op2", &params(&state, None), &m)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "oidc.state_unknown", "{}", e.name);
        let b = begin(l, "op", &params(&state, Some(ISS)), &m)
            .await
            .unwrap();
        assert_eq!(b.code, "code-1");
        assert_eq!(
            b.redirect_uri,
            "https://sso.example.com/t/a/oidc/op/callback"
        );
        assert_eq!(
            lanyard_core::signin::oidc::checks::pkce_challenge(&b.code_verifier).len(),
            43
        );
        // Pending until the callback ends (the sign-in consumes it in its transaction); a
        // callback that fails after the checks — here its token request — spends it, and a
        // second use is refused.
        let again = begin(l, "op", &params(&state, Some(ISS)), &m)
            .await
            .unwrap();
        l.oidc_callback_abandon(
            &again,
            &lanyard_core::error::Error::Internal("token endpoint unreachable".into()),
            &m,
        )
        .await;
        let err = begin(l, "op", &params(&state, None), &m).await.unwrap_err();
        assert_eq!(err.code(), "oidc.state_unknown");
        // Mix-up: consumed and refused.
        let state = start_state(l, "op").await;
        let err = begin(
            l,
            "op",
            &params(&state, Some("https://op.example/tenant-b")),
            &m,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "oidc.issuer_mix_up");
        let err = begin(l, "op", &params(&state, None), &m).await.unwrap_err();
        assert_eq!(err.code(), "oidc.state_unknown");
        // A SAML-side consumer never takes an OIDC state.
        let state = start_state(l, "op").await;
        let op_id = c.id.clone();
        let t = l.tenant("a").await.unwrap();
        assert!(
            l.store
                .take_pending_login(&state, &t.id, "other-connection")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            l.store
                .oidc_pending(&state, &t.id, &op_id)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

/// The callback of `state` with the code `code-1` and the provider's `iss`.
fn code_1_callback(state: &str) -> lanyard_core::signin::oidc::CallbackParams {
    lanyard_core::signin::oidc::CallbackParams {
        code: Some("code-1".into()),
        state: Some(state.into()),
        iss: Some(ISS.into()),
        ..Default::default()
    }
}

/// A fresh RS256 ID token (`k1`) for `sub` answering the start with `nonce`.
fn id_token_for(l: &lanyard_core::Lanyard, nonce: &str, sub: &str) -> String {
    let mut claims = claims();
    claims["nonce"] = json!(nonce);
    claims["sub"] = json!(sub);
    claims["email"] = json!(format!("{sub}@example.com"));
    claims["iat"] = json!(l.now());
    claims["exp"] = json!(l.now() + 300);
    rs(&claims, Some("k1"))
}

/// The attack: one `state` answered twice — a replayed or double-submitted callback, or one
/// sent to both nodes at once. Both pass the checks (the state is only read there, no write
/// before the code is redeemed), both tokens verify, and the sign-in transaction that consumes
/// the state lets exactly one through: one session, the other `oidc.state_unknown`, nothing
/// half-written. A refused verdict after the checks (here a token for another nonce) spends
/// the state too, so it cannot be tried again with a better token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_state_answered_twice_at_once_signs_in_once() {
    use lanyard_core::signin::oidc::{OidcOutcome, TokenResult};
    crate::harness::each_backend(|e| async move {
        let l = &e.lanyard;
        let c = tenant_a_with_provider(l).await;
        let t = l.tenant("a").await.unwrap();
        let m = crate::harness::meta("203.0.113.7");
        let params = |state: &str| code_1_callback(state);
        let token = |nonce: &str, sub: &str| id_token_for(l, nonce, sub);
        for round in 0..6 {
            let (state, nonce) = start_state_nonce(l, "op").await;
            let mut begun = Vec::new();
            for _ in 0..2 {
                begun.push(begin(l, "op", &params(&state), &m).await.unwrap());
            }
            let id_token = token(&nonce, &format!("racer{round}"));
            let outcomes = crate::signin_txn::at_once(begun, |b| {
                let (l, m, id_token) = (l.clone(), m.clone(), id_token.clone());
                async move {
                    let tokens = TokenResult {
                        id_token: &id_token,
                        access_token: None,
                        userinfo: None,
                    };
                    l.oidc_callback_finish(&b, &tokens, &jwks(), &m, true).await
                }
            })
            .await;
            let signed = outcomes
                .iter()
                .filter(|o| matches!(o, Ok(OidcOutcome::SignedIn(_))))
                .count();
            let refused: Vec<_> = outcomes
                .iter()
                .filter_map(|o| o.as_ref().err())
                .map(|e| e.code())
                .collect();
            assert_eq!(
                (signed, refused.as_slice()),
                (1, ["oidc.state_unknown"].as_slice()),
                "{}: round {round}",
                e.name
            );
            assert!(
                l.store
                    .oidc_pending(&state, &t.id, &c.id)
                    .await
                    .unwrap()
                    .is_none(),
                "{}: consumed",
                e.name
            );
        }
        let sessions = crate::signin_txn::count(&l.store, "SELECT COUNT(*) FROM sessions").await;
        assert_eq!(sessions, 6, "{}: one session per state", e.name);
        // A verdict after the checks spends the state: a token minted for another start's
        // nonce is refused, and the same state with the right token is refused afterwards.
        let (state, _) = start_state_nonce(l, "op").await;
        let b = begin(l, "op", &params(&state), &m).await.unwrap();
        let wrong = token("another-nonce", "late");
        let tokens = TokenResult {
            id_token: &wrong,
            access_token: None,
            userinfo: None,
        };
        let err = l
            .oidc_callback_finish(&b, &tokens, &jwks(), &m, true)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "oidc.nonce_mismatch", "{}", e.name);
        let err = begin(l, "op", &params(&state), &m).await.unwrap_err();
        assert_eq!(
            err.code(),
            "oidc.state_unknown",
            "{}: spent by the refusal",
            e.name
        );
    })
    .await;
}

/// The node's memory of the states it issued (`signin/oidc/issued.rs`) never makes a state
/// reusable. Two `Lanyard` values on one store stand for two nodes. The attack: a callback
/// replayed to the node that started the login after it finished on the other node — the
/// state is still in the first node's memory. It passes the checks there (answered from
/// memory: the store no longer has it) and is refused at the commit, with no second session.
/// A callback on the starting node itself is answered from memory once; its replay there reads
/// the store and is refused before any token request.
#[tokio::test]
async fn a_state_kept_on_the_node_that_issued_it_is_still_single_use() {
    use lanyard_core::signin::oidc::{CallbackBegun, OidcOutcome, TokenResult};
    crate::harness::each_backend(|e| async move {
        let a = &e.lanyard;
        let c = tenant_a_with_provider(a).await;
        let t = a.tenant("a").await.unwrap();
        let b = lanyard_core::Lanyard::new(
            a.store.clone(),
            std::sync::Arc::new(e.clock.clone()),
            a.master_key().clone(),
        )
        .await
        .unwrap();
        let m = crate::harness::meta("203.0.113.7");
        let params = |state: &str| code_1_callback(state);
        let token = |nonce: &str, sub: &str| id_token_for(a, nonce, sub);
        let finish = |l: &lanyard_core::Lanyard, begun: CallbackBegun, id_token: String| {
            let (l, m) = (l.clone(), m.clone());
            async move {
                let tokens = TokenResult {
                    id_token: &id_token,
                    access_token: None,
                    userinfo: None,
                };
                l.oidc_callback_finish(&begun, &tokens, &jwks(), &m, true)
                    .await
            }
        };
        // Started on A, finished on B (which reads the store).
        let (state, nonce) = start_state_nonce(a, "op").await;
        let on_b = begin(&b, "op", &params(&state), &m).await.unwrap();
        let id_token = token(&nonce, "roamer");
        assert!(
            matches!(
                finish(&b, on_b, id_token.clone()).await,
                Ok(OidcOutcome::SignedIn(_))
            ),
            "{}: finished on the other node",
            e.name
        );
        assert!(
            a.store
                .oidc_pending(&state, &t.id, &c.id)
                .await
                .unwrap()
                .is_none(),
            "{}: consumed in the store",
            e.name
        );
        // Replayed to A: still in A's memory, so the checks pass…
        let on_a = begin(a, "op", &params(&state), &m)
            .await
            .expect("answered from the memory of the node that issued it");
        // …and the commit refuses it.
        let err = finish(a, on_a, id_token).await.unwrap_err();
        assert_eq!(err.code(), "oidc.state_unknown", "{}: replay", e.name);

        // Started and finished on A: from memory once; the replay reads the store.
        let (state, nonce) = start_state_nonce(a, "op").await;
        let begun = begin(a, "op", &params(&state), &m).await.unwrap();
        assert!(
            matches!(
                finish(a, begun, token(&nonce, "stayer")).await,
                Ok(OidcOutcome::SignedIn(_))
            ),
            "{}: finished where it started",
            e.name
        );
        let err = begin(a, "op", &params(&state), &m).await.unwrap_err();
        assert_eq!(err.code(), "oidc.state_unknown", "{}: replay here", e.name);
        let sessions = crate::signin_txn::count(&a.store, "SELECT COUNT(*) FROM sessions").await;
        assert_eq!(sessions, 2, "{}: one session per state", e.name);
    })
    .await;
}

/// RFC 9207 §2.4 (mix-up): a provider whose discovery document announces
/// `authorization_response_iss_parameter_supported` must send `iss`; a response without it is
/// refused (the attacker's provider would not send the honest one's issuer). A wrong `iss` is
/// the mix-up code with or without the flag; without the flag a missing `iss` is accepted as
/// before, unless the admin sets `require_iss`.
#[tokio::test]
async fn rfc9207_missing_iss_is_refused_when_the_provider_announces_it() {
    use lanyard_core::Ctx;
    use lanyard_core::signin::oidc::CallbackParams;
    crate::harness::each_backend(|e| async move {
        let l = &e.lanyard;
        tenant_a(l).await;
        let doc = |flag: Value| {
            let mut d = json!({"issuer": ISS, "authorization_endpoint": "https://op.example/auth",
                "token_endpoint": "https://op.example/token", "jwks_uri": "https://op.example/jwks"});
            if !flag.is_null() {
                d["authorization_response_iss_parameter_supported"] = flag;
            }
            d.to_string()
        };
        let with_doc = |slug: &str, flag: Value| lanyard_proto::OidcConnectionInput {
            discovery_json: Some(doc(flag)),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_uri: None,
            ..oidc_input(slug)
        };
        let (_, c) = l
            .create_oidc_connection(&Ctx::cli(), "a", with_doc("flagged", json!(true)))
            .await
            .unwrap();
        assert!(c.oidc_settings().unwrap().require_iss, "recorded at import");
        assert!(c.oidc_settings().unwrap().to_wire().require_iss, "shown");
        for (slug, flag) in [("unflagged", json!(false)), ("absent", Value::Null), ("string", json!("true"))] {
            let (_, c) = l
                .create_oidc_connection(&Ctx::cli(), "a", with_doc(slug, flag))
                .await
                .unwrap();
            assert!(!c.oidc_settings().unwrap().require_iss, "{slug}");
        }
        l.create_oidc_connection(&Ctx::cli(), "a", oidc_input("manual"))
            .await
            .unwrap();
        let begin = |conn: &'static str, iss: Option<&'static str>| async move {
            let state = start_state(l, conn).await;
            l.oidc_callback_begin(
                "a",
                conn,
                &CallbackParams {
                    code: Some("code-1".into()),
                    state: Some(state),
                    iss: iss.map(str::to_owned),
                    ..Default::default()
                },
                None,
                "https://sso.example.com",
                &crate::harness::meta("203.0.113.7"),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.code())
        };
        assert_eq!(begin("flagged", None).await, Err("oidc.issuer_missing"), "{}", e.name);
        assert_eq!(
            begin("flagged", Some("https://evil.example")).await,
            Err("oidc.issuer_mix_up")
        );
        assert_eq!(begin("flagged", Some(ISS)).await, Ok(()));
        // Without the flag: missing iss accepted as before, a present one still checked.
        for conn in ["unflagged", "absent", "manual"] {
            assert_eq!(begin(conn, None).await, Ok(()), "{conn}");
            assert_eq!(
                begin(conn, Some("https://evil.example")).await,
                Err("oidc.issuer_mix_up"),
                "{conn}"
            );
        }
        // An admin may require iss on a connection configured without discovery.
        l.update_oidc_connection(
            &Ctx::cli(),
            "a",
            "manual",
            lanyard_proto::OidcConnectionInput {
                require_iss: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(begin("manual", None).await, Err("oidc.issuer_missing"));
        // A PATCH that does not re-import keeps the recorded flag; a re-import updates it.
        l.update_oidc_connection(
            &Ctx::cli(),
            "a",
            "flagged",
            lanyard_proto::OidcConnectionInput {
                name: Some("Renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(begin("flagged", None).await, Err("oidc.issuer_missing"));
        l.update_oidc_connection(
            &Ctx::cli(),
            "a",
            "flagged",
            lanyard_proto::OidcConnectionInput {
                discovery_json: Some(doc(json!(false))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(begin("flagged", None).await, Ok(()));
        // The refusals are audited with their code.
        let ev = l
            .store
            .list_audit(&lanyard_core::model::AuditFilter {
                kind: Some("login.failed".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(ev.iter().any(|r| r.code.as_deref() == Some("oidc.issuer_missing")), "{}", e.name);
    })
    .await;
}

/// Expired pending logins are deleted by a node's periodic purge, not by every start: a start
/// within the period leaves an expired row (harmless: the callback checks expiry itself), the
/// first start after it deletes every expired row and no live one.
#[tokio::test]
async fn expired_login_state_is_purged_once_a_period_not_at_every_start() {
    use lanyard_core::signin::LOGIN_STATE_PURGE_EVERY_SECS as PERIOD;
    use lanyard_core::signin::oidc::PENDING_OIDC_TTL_SECS as TTL;
    crate::harness::each_backend(|e| async move {
        let l = &e.lanyard;
        let c = tenant_a_with_provider(l).await;
        let t = l.store.tenant_by_slug("a").await.unwrap().unwrap();
        let stored = |state: String| {
            let (t, c) = (t.id.clone(), c.id.clone());
            async move {
                l.store
                    .pending_login(&state, &t, &c)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        // The first start purges (nothing yet) and sets the next purge one period on.
        let first = start_state(l, "op").await;
        e.clock.advance(TTL - 10);
        let second = start_state(l, "op").await; // due: purges, nothing expired yet
        e.clock.advance(15); // `first` has expired; the next purge is PERIOD - 15 s away
        let third = start_state(l, "op").await;
        assert!(
            stored(first.clone()).await,
            "{}: a start within the period does not purge",
            e.name
        );
        e.clock.advance(PERIOD - 15);
        let fourth = start_state(l, "op").await;
        assert!(
            !stored(first).await,
            "{}: the first start after the period deletes the expired pending login",
            e.name
        );
        for live in [second, third, fourth] {
            assert!(stored(live).await, "{}: live pending logins stay", e.name);
        }
    })
    .await;
}
