//! JWT remote login: `JwtVerifier::verify` on tokens whose header and payload the fuzzer writes
//! member by member (structure-aware, so the claim checks behind a good signature are reached),
//! signed rightly, wrongly, or with the verifier's public key as an HMAC secret (algorithm
//! confusion); and on arbitrary strings. Two connections: HS256 with a shared secret (issuer
//! and audience configured) and ES256 with a public key.
//!
//! Invariant: an accepted token was signed by the configured key with the configured
//! algorithm (re-checked here independently of the verifier), names that algorithm in its
//! header, is not expired at the verification time (skew included), and carries a valid email.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use arbitrary::Arbitrary;
use aws_lc_rs::{hmac, rand::SystemRandom, signature};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Member, NOW, SigMode, b64, object};
use lanyard_core::signin::jwt::token::{JwtVerifier, pick_token};
use lanyard_proto::JwtAlgorithm;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

const SECRET: &[u8] = b"fuzz-shared-secret-0123456789abcdef";
const OTHER_SECRET: &[u8] = b"another-secret-of-enough-length-0123";
const ISSUER: &str = "https://app.example";
const AUDIENCE: &str = "lanyard";
const SKEW: i64 = 60;

const HEADER_NAMES: &[&str] = &[
    "alg", "typ", "kid", "crit", "enc", "zip", "b64", "jwk", "cty",
];
const PAYLOAD_NAMES: &[&str] = &[
    "exp", "nbf", "iat", "iss", "sub", "aud", "jti", "email", "name",
];
const KNOWN: &[&str] = &[
    "HS256",
    "ES256",
    "HS384",
    "RS256",
    "none",
    "nOnE",
    "JWT",
    "jwt",
    "at+jwt",
    "",
    " HS256",
    ISSUER,
    AUDIENCE,
    "other",
    "ann@example.com",
    " ann@example.com ",
    "not-an-email",
    "Ann",
];

struct Keys {
    hs: JwtVerifier,
    es: JwtVerifier,
    es_pem: String,
    es_key: signature::EcdsaKeyPair,
    es_other: signature::EcdsaKeyPair,
    es_public: Vec<u8>,
}

fn ec_key() -> (signature::EcdsaKeyPair, rcgen::KeyPair) {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("EC key");
    let signing = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &kp.serialize_der(),
    )
    .expect("pkcs8");
    (signing, kp)
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let (es_key, kp) = ec_key();
        let (es_other, _) = ec_key();
        use rcgen::PublicKeyData as _;
        let es_pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(kp.subject_public_key_info())
        );
        use signature::KeyPair as _;
        Keys {
            hs: JwtVerifier::new(
                JwtAlgorithm::HS256,
                SECRET,
                Some(ISSUER.into()),
                None,
                Some(AUDIENCE.into()),
                SKEW as u32,
            )
            .expect("HS256 verifier"),
            es: JwtVerifier::new(
                JwtAlgorithm::ES256,
                es_pem.as_bytes(),
                None,
                None,
                None,
                SKEW as u32,
            )
            .expect("ES256 verifier"),
            es_public: es_key.public_key().as_ref().to_vec(),
            es_pem,
            es_key,
            es_other,
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw {
        token: String,
        es: bool,
    },
    Built {
        es: bool,
        header: Vec<Member>,
        payload: Vec<Member>,
        /// Replaces the payload JSON with these bytes (not JSON, BOMs, …).
        raw_payload: Option<Vec<u8>>,
        sig: SigMode,
        padded: bool,
    },
}

fn hmac_sign(key: &[u8], msg: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg)
        .as_ref()
        .to_vec()
}

fn es_sign(key: &signature::EcdsaKeyPair, msg: &[u8]) -> Vec<u8> {
    key.sign(&SystemRandom::new(), msg)
        .map(|s| s.as_ref().to_vec())
        .unwrap_or_default()
}

fn build(
    k: &Keys,
    es: bool,
    header: &[Member],
    payload: &[Member],
    raw_payload: Option<&[u8]>,
    sig: SigMode,
) -> String {
    let h = object(header, HEADER_NAMES, KNOWN);
    let p = match raw_payload {
        Some(b) => b.to_vec(),
        None => object(payload, PAYLOAD_NAMES, KNOWN).into_bytes(),
    };
    let message = format!("{}.{}", b64(h.as_bytes()), b64(&p));
    let m = message.as_bytes();
    let right = || {
        if es {
            es_sign(&k.es_key, m)
        } else {
            hmac_sign(SECRET, m)
        }
    };
    let s = match sig {
        SigMode::Right => b64(&right()),
        SigMode::OtherKey => b64(&if es {
            es_sign(&k.es_other, m)
        } else {
            hmac_sign(OTHER_SECRET, m)
        }),
        SigMode::PublicKeyAsHmacSecret => b64(&hmac_sign(k.es_pem.as_bytes(), m)),
        SigMode::Empty => String::new(),
        SigMode::Garbage => "AAAA".into(),
        SigMode::Flipped => {
            let mut s = b64(&right());
            let last = if s.ends_with('A') { 'B' } else { 'A' };
            s.pop();
            s.push(last);
            s
        }
    };
    format!("{message}.{s}")
}

/// The independent check: the signature verifies with the configured key and algorithm.
fn really_signed(k: &Keys, es: bool, token: &str) -> bool {
    let token = token.trim();
    let Some((message, sig)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    if es {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &k.es_public)
            .verify(message.as_bytes(), &sig)
            .is_ok()
    } else {
        hmac_sign(SECRET, message.as_bytes()) == sig
    }
}

fn header_alg(token: &str) -> Option<String> {
    let h = token.trim().split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(h).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg")?.as_str().map(str::to_owned)
}

/// First byte 0 or 1: the rest is a raw token for the HS256 or ES256 connection (the seed
/// corpus holds tokens signed with the test secret, see fuzz/seed-corpus); otherwise the rest
/// is read as a structured [`Input`].
fn input(data: &[u8]) -> Option<Input> {
    let (mode, rest) = data.split_first()?;
    match mode {
        0 | 1 => Some(Input::Raw {
            token: String::from_utf8_lossy(rest).into_owned(),
            es: *mode == 1,
        }),
        _ => Input::arbitrary_take_rest(arbitrary::Unstructured::new(rest)).ok(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = input(data) else { return };
    let k = keys();
    let (token, es, sig) = match &input {
        Input::Raw { token, es } => {
            // The token parameters: one token however many of them carry it.
            if !token.is_empty() && token.len() <= 16 * 1024 {
                assert_eq!(
                    pick_token([("jwt", token.as_str()), ("id_token", token.as_str())]).ok(),
                    Some(token.as_str())
                );
            }
            (token.clone(), *es, None)
        }
        Input::Built {
            es,
            header,
            payload,
            raw_payload,
            sig,
            padded,
        } => {
            let t = build(k, *es, header, payload, raw_payload.as_deref(), *sig);
            (if *padded { format!(" {t}\n") } else { t }, *es, Some(*sig))
        }
    };
    let verifier = if es { &k.es } else { &k.hs };
    let Ok(claims) = verifier.verify(&token, NOW) else {
        return;
    };
    assert!(
        really_signed(k, es, &token),
        "accepted a token the configured key did not sign"
    );
    if let Some(sig) = sig {
        assert_eq!(sig, SigMode::Right, "accepted a wrongly signed token");
    }
    let want = if es { "ES256" } else { "HS256" };
    assert_eq!(
        header_alg(&token).as_deref(),
        Some(want),
        "accepted another algorithm"
    );
    assert!(NOW < claims.exp + SKEW, "accepted an expired token");
    assert!(!claims.email.is_empty() && claims.email.contains('@'));
    if !es {
        assert_eq!(
            claims.claims.get("iss").and_then(Value::as_str),
            Some(ISSUER)
        );
        match claims.claims.get("aud") {
            Some(Value::String(a)) => assert_eq!(a, AUDIENCE),
            Some(Value::Array(l)) => assert!(l.iter().all(|a| a.as_str() == Some(AUDIENCE))),
            other => panic!("accepted aud {other:?}"),
        }
    }
});
