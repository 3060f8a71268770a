//! OIDC ID-token validation (`lanyard_core::signin::oidc::checks::verify_id_token`: header, kid lookup in the
//! JWKS, RS256 signature, iss/aud/azp/exp/iat/nbf/nonce/at_hash) next to one bare RS256
//! signature verification by the same library (jsonwebtoken on aws-lc-rs) of the same token,
//! in the same run. Issue 4's target: validations per second at least 0.6 of bare verifies.
//!
//! Run: `cargo bench -p lanyard-core --bench id_token` (figures in BENCHMARKS.md).
//! The token is minted once at start with the committed test keys (tests/fixtures/jwt).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use lanyard_core::signin::oidc::checks::{IdTokenCheck, Jwks, at_hash, verify_id_token};
use serde_json::json;

const NOW: i64 = 1_796_083_200;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/jwt")
            .join(name),
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let enc = EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("k1");
    let other = EncodingKey::from_ec_pem(&fixture("ec256.key")).unwrap();
    let mut jwk2 =
        serde_json::to_value(Jwk::from_encoding_key(&other, Algorithm::ES256).unwrap()).unwrap();
    jwk2["kid"] = json!("k2");
    let jwks = Jwks::parse(json!({"keys": [jwk2, jwk]}).to_string().as_bytes()).unwrap();

    // Shaped like a real provider's ID token (Entra/Okta-sized claims).
    let claims = json!({
        "iss": "https://login.example.com/4f1c7a2e-0d7b-4c2a-9e55-1b0c6a7d9e21/v2.0",
        "aud": "6731de76-14a6-49ae-97bc-6eba6914391e", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": "4f1c7a2e-0d7b-4c2a-9e55-1b0c6a7d9e21",
        "nonce": "a7f3b2c1d4e5f60718293a4b5c6d7e8f", "iat": NOW, "nbf": NOW, "exp": NOW + 3600,
        "email": "ada.lovelace@example.com", "email_verified": true, "name": "Ada Lovelace",
        "preferred_username": "ada.lovelace@example.com", "groups": ["engineering", "sso-admins", "all-staff"],
        "at_hash": at_hash(Algorithm::RS256, "access-token-value"),
    });
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "k1"});
    let msg = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &enc, Algorithm::RS256).unwrap();
    let token = format!("{msg}.{sig}");
    let algs = [Algorithm::RS256, Algorithm::ES256, Algorithm::PS256];
    let extra: Vec<String> = Vec::new();
    let check = IdTokenCheck {
        issuer: "https://login.example.com/4f1c7a2e-0d7b-4c2a-9e55-1b0c6a7d9e21/v2.0",
        client_id: "6731de76-14a6-49ae-97bc-6eba6914391e",
        extra_audiences: &extra,
        allowed_algorithms: &algs,
        nonce: "a7f3b2c1d4e5f60718293a4b5c6d7e8f",
        access_token: Some("access-token-value"),
        skew_secs: 60,
        now: NOW,
    };
    verify_id_token(&token, &jwks, &check).expect("the benchmark token verifies");
    let key = DecodingKey::from_rsa_pem(&fixture("rsa.pub")).unwrap();
    assert!(jsonwebtoken::crypto::verify(&sig, msg.as_bytes(), &key, Algorithm::RS256).unwrap());
    eprintln!(
        "benchmark ID token: {} bytes, RS256 (RSA-2048)",
        token.len()
    );

    let mut g = c.benchmark_group("oidc");
    g.sample_size(40)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("bare_rs256_verify_jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(&sig),
                black_box(msg.as_bytes()),
                &key,
                Algorithm::RS256,
            )
            .unwrap_or(false)
        });
    });
    g.bench_function("verify_id_token_rs256", |b| {
        b.iter(|| verify_id_token(black_box(&token), &jwks, &check).is_ok());
    });
    g.finish();

    // Contention-robust ratio (as in lanyard-saml's benchmark): both timed alternately in short
    // blocks; the median of the per-round ratios.
    let mut rounds: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..50 {
                black_box(
                    jsonwebtoken::crypto::verify(
                        black_box(&sig),
                        black_box(msg.as_bytes()),
                        &key,
                        Algorithm::RS256,
                    )
                    .unwrap_or(false),
                );
            }
            let bare = t.elapsed().as_secs_f64() / 50.0;
            let t = Instant::now();
            for _ in 0..50 {
                black_box(verify_id_token(black_box(&token), &jwks, &check).is_ok());
            }
            let full = t.elapsed().as_secs_f64() / 50.0;
            bare / full
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    let q = |f: f64| rounds[((rounds.len() - 1) as f64 * f) as usize];
    eprintln!(
        "paired rounds: ID-token validations per second / bare verifies per second = {:.2} (median; quartiles {:.2}-{:.2}; {} rounds)",
        q(0.5),
        q(0.25),
        q(0.75),
        rounds.len()
    );
}

criterion_group!(id_token, benches);
criterion_main!(id_token);
