//! OIDC relying party: `verify_id_token` on ID tokens whose header and payload the fuzzer
//! writes member by member, signed with the provider's Ed25519 key from its JWKS (or wrongly,
//! or with a key the JWKS does not hold), and on arbitrary strings; `id_token_header` alone
//! on the same bytes.
//!
//! Invariant: an accepted ID token verifies (independently re-checked) under the JWKS key, its
//! header names an allowed algorithm, and its claims are the ones the sign-in asked for: the
//! issuer, our client ID among only allowed audiences, the nonce, and an unexpired `exp`.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use arbitrary::Arbitrary;
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Member, NOW, SigMode, b64, object};
use jsonwebtoken::Algorithm;
use lanyard_core::signin::oidc::checks::{IdTokenCheck, Jwks, id_token_header, verify_id_token};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "lanyard-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const ACCESS_TOKEN: &str = "at-123";
const SKEW: i64 = 60;
const HEADER_NAMES: &[&str] = &["alg", "typ", "kid", "crit", "b64", "jku", "jwk", "x5u"];
const PAYLOAD_NAMES: &[&str] = &[
    "iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "sub", "at_hash", "email",
];
const EXTRA_AUD: &str = "https://api.example";

struct Fixed {
    key: signature::Ed25519KeyPair,
    other: signature::Ed25519KeyPair,
    public: Vec<u8>,
    jwks: Jwks,
    at_hash: String,
    known: Vec<String>,
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| {
        let key = signature::Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("seed");
        let other = signature::Ed25519KeyPair::from_seed_unchecked(&[9; 32]).expect("seed");
        let public = key.public_key().as_ref().to_vec();
        let jwks = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": b64(&public), "kid": "k1", "use": "sig", "alg": "EdDSA"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        ]});
        let jwks = Jwks::parse(jwks.to_string().as_bytes()).expect("JWKS");
        let at_hash = lanyard_core::signin::oidc::checks::at_hash(Algorithm::EdDSA, ACCESS_TOKEN);
        let known = [
            "EdDSA", "RS256", "HS256", "none", "ES256", "JWT", "jwt", "at+jwt", "k1", "k2", "hmac",
            ISSUER, CLIENT, EXTRA_AUD, NONCE, "other", "user-1", "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([at_hash.clone()])
        .collect();
        Fixed { key, other, public, jwks, at_hash, known }
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Built {
        header: Vec<Member>,
        payload: Vec<Member>,
        raw_payload: Option<Vec<u8>>,
        sig: SigMode,
        with_access_token: bool,
    },
}

fuzz_target!(|input: Input| {
    let f = fixed();
    let known: Vec<&str> = f.known.iter().map(String::as_str).collect();
    let (token, sig, with_at) = match &input {
        Input::Raw(t) => (t.clone(), None, true),
        Input::Built {
            header,
            payload,
            raw_payload,
            sig,
            with_access_token,
        } => {
            let h = object(header, HEADER_NAMES, &known);
            let p = match raw_payload {
                Some(b) => b.clone(),
                None => object(payload, PAYLOAD_NAMES, &known).into_bytes(),
            };
            let message = format!("{}.{}", b64(h.as_bytes()), b64(&p));
            let m = message.as_bytes();
            let s = match sig {
                SigMode::Right => b64(f.key.sign(m).as_ref()),
                SigMode::OtherKey => b64(f.other.sign(m).as_ref()),
                SigMode::PublicKeyAsHmacSecret => {
                    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
                    b64(aws_lc_rs::hmac::sign(&k, m).as_ref())
                }
                SigMode::Empty => String::new(),
                SigMode::Garbage => "AAAA".into(),
                SigMode::Flipped => {
                    let mut s = b64(f.key.sign(m).as_ref());
                    let last = if s.ends_with('A') { 'B' } else { 'A' };
                    s.pop();
                    s.push(last);
                    s
                }
            };
            (format!("{message}.{s}"), Some(*sig), *with_access_token)
        }
    };
    let allowed = [Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256];
    let header = id_token_header(&token, &allowed);
    let extra = [EXTRA_AUD.to_owned()];
    let check = IdTokenCheck {
        issuer: ISSUER,
        client_id: CLIENT,
        extra_audiences: &extra,
        allowed_algorithms: &allowed,
        nonce: NONCE,
        access_token: with_at.then_some(ACCESS_TOKEN),
        skew_secs: SKEW,
        now: NOW,
    };
    let Ok(claims) = verify_id_token(&token, &f.jwks, &check) else {
        return;
    };
    // Accepted: the header was readable and allowed, and the signature is the JWKS key's.
    assert_eq!(header.map(|h| h.alg).ok(), Some(Algorithm::EdDSA));
    if let Some(sig) = sig {
        assert_eq!(sig, SigMode::Right, "accepted a wrongly signed ID token");
    }
    let (message, s) = token.rsplit_once('.').expect("three parts");
    let s = URL_SAFE_NO_PAD.decode(s).expect("base64url signature");
    signature::UnparsedPublicKey::new(&signature::ED25519, &f.public)
        .verify(message.as_bytes(), &s)
        .expect("accepted a token the JWKS key did not sign");
    assert_eq!(claims.get("iss").and_then(Value::as_str), Some(ISSUER));
    assert_eq!(claims.get("nonce").and_then(Value::as_str), Some(NONCE));
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a],
        Some(Value::Array(l)) => l
            .iter()
            .map(|a| a.as_str().expect("string audiences"))
            .collect(),
        other => panic!("accepted aud {other:?}"),
    };
    assert!(auds.contains(&CLIENT) && auds.iter().all(|a| *a == CLIENT || *a == EXTRA_AUD));
    let exp = claims.get("exp").and_then(Value::as_i64).expect("exp");
    assert!(NOW < exp + SKEW, "accepted an expired ID token");
    if let (Some(h), true) = (claims.get("at_hash"), with_at) {
        assert_eq!(h.as_str(), Some(f.at_hash.as_str()));
    }
});
