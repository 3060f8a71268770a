//! JWT remote login: the pure verifier against every JWT case of SECURITY.md §7 (J-*), the
//! settings checks at save time, and the login through the store on SQLite and PostgreSQL
//! (jti replay, linking, no user or session on any refusal).

use crate::harness::T0;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use lanyard_core::error::JwtError;
use lanyard_core::signin::jwt::token::{JwtVerifier, decoding_key, pick_token};
use lanyard_proto::JwtAlgorithm;
use serde_json::{Value, json};

pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/jwt")
            .join(name),
    )
    .unwrap()
}

pub(crate) fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

pub(crate) fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// A token with exactly this header and claims text, signed with `key` as `alg`.
pub fn sign_raw(header: &str, claims: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let msg = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).unwrap();
    format!("{msg}.{sig}")
}

pub fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), key, alg)
}

pub fn claims(now: i64) -> Value {
    json!({"email": "ada@example.com", "sub": "user-1", "iat": now, "exp": now + 300, "name": "Ada"})
}

pub(crate) fn hs() -> EncodingKey {
    EncodingKey::from_secret(SECRET.as_bytes())
}

pub(crate) fn verifier(alg: JwtAlgorithm, key: &[u8]) -> JwtVerifier {
    JwtVerifier::new(alg, key, None, None, None, 60).unwrap()
}

pub(crate) fn hs256() -> JwtVerifier {
    verifier(JwtAlgorithm::HS256, SECRET.as_bytes())
}

pub(crate) fn rs256() -> JwtVerifier {
    verifier(JwtAlgorithm::RS256, &fixture("rsa.pub"))
}

pub(crate) fn code(
    r: Result<lanyard_core::signin::jwt::token::JwtClaims, JwtError>,
) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

#[test]
fn every_algorithm_verifies_with_its_configured_key() {
    let c = claims(T0);
    let cases: Vec<(JwtAlgorithm, Algorithm, EncodingKey, Vec<u8>)> = vec![
        (
            JwtAlgorithm::HS256,
            Algorithm::HS256,
            hs(),
            SECRET.as_bytes().to_vec(),
        ),
        (
            JwtAlgorithm::HS384,
            Algorithm::HS384,
            hs(),
            SECRET.as_bytes().to_vec(),
        ),
        (
            JwtAlgorithm::HS512,
            Algorithm::HS512,
            hs(),
            SECRET.as_bytes().to_vec(),
        ),
        (
            JwtAlgorithm::RS256,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap(),
            fixture("rsa.pub"),
        ),
        (
            JwtAlgorithm::RS384,
            Algorithm::RS384,
            EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap(),
            fixture("rsa_pkcs1.pub"),
        ),
        (
            JwtAlgorithm::RS512,
            Algorithm::RS512,
            EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap(),
            fixture("rsa.pub"),
        ),
        (
            JwtAlgorithm::ES256,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&fixture("ec256.key")).unwrap(),
            fixture("ec256.pub"),
        ),
        (
            JwtAlgorithm::ES384,
            Algorithm::ES384,
            EncodingKey::from_ec_pem(&fixture("ec384.key")).unwrap(),
            fixture("ec384.pub"),
        ),
    ];
    for (ours, theirs, enc, key) in cases {
        let v = verifier(ours, &key);
        let t = sign(
            &json!({"alg": ours.as_str(), "typ": "JWT"}),
            &c,
            &enc,
            theirs,
        );
        let got = v.verify(&t, T0).unwrap_or_else(|e| panic!("{ours:?}: {e}"));
        assert_eq!(got.email, "ada@example.com");
        assert_eq!(got.federation_id(), "user-1");
        assert_eq!(got.name.as_deref(), Some("Ada"));
        // A token of another algorithm never verifies here.
        let other = sign(&json!({"alg": "HS256"}), &c, &hs(), Algorithm::HS256);
        if ours != JwtAlgorithm::HS256 {
            assert_eq!(code(v.verify(&other, T0)), "TOKEN_VERIFICATION_FAILED");
        }
    }
}

/// J-NONE: `alg: none` in every spelling, with and without a signature.
#[test]
fn j_none_every_spelling() {
    let c = b64(claims(T0).to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE", " none "] {
        let h = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        for t in [format!("{h}.{c}."), format!("{h}.{c}.c2ln")] {
            assert_eq!(
                code(hs256().verify(&t, T0)),
                "NONE_ALGORITHM_PROVIDED",
                "{alg}"
            );
            assert_eq!(
                code(rs256().verify(&t, T0)),
                "NONE_ALGORITHM_PROVIDED",
                "{alg}"
            );
        }
    }
    // A real alg with an empty signature.
    let h = b64(br#"{"alg":"HS256"}"#);
    assert_eq!(
        code(hs256().verify(&format!("{h}.{c}."), T0)),
        "TOKEN_VERIFICATION_FAILED"
    );
}

/// J-NOALG, J-TYP, J-DUPKEY, J-CRIT and header parsing.
#[test]
fn j_header_checks() {
    let k = hs();
    let c = claims(T0).to_string();
    let cases = [
        (r#"{"typ":"JWT"}"#, "ALGORITHM_MISSING_IN_HEADER"),
        (r#"{"alg":""}"#, "ALGORITHM_MISSING_IN_HEADER"),
        (r#"{"alg":null}"#, "ALGORITHM_MISSING_IN_HEADER"),
        (r#"{"alg":"HS256","typ":"at+jwt"}"#, "WRONG_TYPE_IN_HEADER"),
        (
            r#"{"alg":"HS256","typ":"logout+jwt"}"#,
            "WRONG_TYPE_IN_HEADER",
        ),
        (r#"{"alg":"HS256","typ":7}"#, "WRONG_TYPE_IN_HEADER"),
        (r#"{"alg":"HS256","alg":"none"}"#, "COULD_NOT_PARSE_HEADER"),
        (r#"{"alg":"none","alg":"HS256"}"#, "COULD_NOT_PARSE_HEADER"),
        (r#"["alg","HS256"]"#, "COULD_NOT_PARSE_HEADER"),
        (r#"{"alg":"HS256""#, "COULD_NOT_PARSE_HEADER"),
        (r#"{"alg":["HS256"]}"#, "COULD_NOT_PARSE_HEADER"),
        (
            r#"{"alg":"HS256","crit":["x-foo"],"x-foo":1}"#,
            "TOKEN_VERIFICATION_FAILED",
        ),
        (
            r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
            "TOKEN_VERIFICATION_FAILED",
        ),
        (
            r#"{"alg":"HS256","zip":"DEF"}"#,
            "TOKEN_VERIFICATION_FAILED",
        ),
        (r#"{"alg":"HS256","typ":"jwt"}"#, "accepted"),
        (r#"{"alg":"HS256"}"#, "accepted"),
    ];
    for (h, want) in cases {
        let t = sign_raw(h, &c, &k, Algorithm::HS256);
        assert_eq!(code(hs256().verify(&t, T0)), want, "{h}");
    }
    // Not base64url, padded base64, JWE (five parts), JSON serialisation, empty, huge.
    let good = sign(&json!({"alg": "HS256"}), &claims(T0), &k, Algorithm::HS256);
    let mut parts: Vec<&str> = good.split('.').collect();
    let padded = format!("{}=", parts[0]);
    parts[0] = &padded;
    assert_eq!(
        code(hs256().verify(&parts.join("."), T0)),
        "COULD_NOT_PARSE_HEADER"
    );
    for t in [
        "".to_owned(),
        "a.b".to_owned(),
        format!("{good}.x.y"),
        r#"{"payload":"x","signatures":[]}"#.to_owned(),
    ] {
        assert_eq!(
            code(hs256().verify(&t, T0)),
            "TOKEN_VERIFICATION_FAILED",
            "{}",
            &t[..t.len().min(40)]
        );
    }
}

/// J-CONFUSE: HS256 keyed with the configured RSA public key (PEM with both headers, DER, JWK).
#[test]
fn j_confuse_hs_with_the_public_key() {
    let pem = fixture("rsa.pub");
    let pkcs1 = fixture("rsa_pkcs1.pub");
    let der = fixture("rsa.pub.der");
    let jwk = {
        let k = jsonwebtoken::DecodingKey::from_rsa_pem(&pem).unwrap();
        serde_json::to_vec(
            &jsonwebtoken::jwk::Jwk::from_decoding_key(&k, Some(Algorithm::RS256)).unwrap(),
        )
        .unwrap()
    };
    for (what, secret) in [
        ("pem", &pem),
        ("pkcs1", &pkcs1),
        ("der", &der),
        ("jwk", &jwk),
    ] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let t = sign(
                &json!({"alg": format!("{alg:?}"), "typ": "JWT"}),
                &claims(T0),
                &EncodingKey::from_secret(secret),
                alg,
            );
            assert_eq!(
                code(rs256().verify(&t, T0)),
                "TOKEN_VERIFICATION_FAILED",
                "{what} {alg:?}"
            );
        }
    }
    // And a public key is never accepted as an HS secret at save time.
    assert_eq!(
        decoding_key(JwtAlgorithm::HS256, &pem).unwrap_err().code(),
        "INVALID_KEY"
    );
    assert_eq!(
        decoding_key(JwtAlgorithm::HS256, &pkcs1)
            .unwrap_err()
            .code(),
        "INVALID_KEY"
    );
}

/// J-JWK / J-JKU / J-X5U / J-X5C / J-KID: key material and key references in the header are
/// never used: a token signed by the attacker's key fails whatever it points at, nothing is
/// fetched (the verifier has no I/O), and a good token with odd kids still verifies only with
/// the configured key.
#[test]
fn j_header_keys_are_ignored() {
    let attacker = EncodingKey::from_rsa_pem(&fixture("rsa_other.key")).unwrap();
    let attacker_pub = {
        let der = jsonwebtoken::DecodingKey::from_rsa_pem(&fixture("rsa_other.pub")).unwrap();
        serde_json::to_value(
            jsonwebtoken::jwk::Jwk::from_decoding_key(&der, Some(Algorithm::RS256)).unwrap(),
        )
        .unwrap()
    };
    let headers = [
        json!({"alg": "RS256", "jwk": attacker_pub}),
        json!({"alg": "RS256", "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "RS256", "jku": "file:///etc/passwd"}),
        json!({"alg": "RS256", "x5u": "http://169.254.169.254/cert.pem"}),
        json!({"alg": "RS256", "x5c": ["MIIBszCCAVmgAwIBAgIUEh"]}),
        json!({"alg": "RS256", "kid": "../../../../dev/null"}),
        json!({"alg": "RS256", "kid": "x' OR '1'='1"}),
    ];
    for h in &headers {
        let t = sign(h, &claims(T0), &attacker, Algorithm::RS256);
        assert_eq!(
            code(rs256().verify(&t, T0)),
            "TOKEN_VERIFICATION_FAILED",
            "{h}"
        );
    }
    let mine = EncodingKey::from_rsa_pem(&fixture("rsa.key")).unwrap();
    let t = sign(
        &json!({"alg": "RS256", "kid": "../../../../dev/null"}),
        &claims(T0),
        &mine,
        Algorithm::RS256,
    );
    assert_eq!(code(rs256().verify(&t, T0)), "accepted");
}

/// J-PSYCHIC: ES256/ES384 with r=s=0 and r=s=n, in P1363 and DER form.
#[test]
fn j_psychic_signatures() {
    const N256: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    const N384: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    for (alg, key, n, len) in [
        (JwtAlgorithm::ES256, "ec256.pub", N256, 32usize),
        (JwtAlgorithm::ES384, "ec384.pub", N384, 48usize),
    ] {
        let v = verifier(alg, &fixture(key));
        let msg = format!(
            "{}.{}",
            b64(json!({"alg": alg.as_str()}).to_string().as_bytes()),
            b64(claims(T0).to_string().as_bytes())
        );
        let n = hex(n);
        let der = |x: &[u8]| {
            let mut i = vec![0x02, (x.len() + 1) as u8, 0x00];
            i.extend_from_slice(x);
            let mut s = vec![0x30, (2 * i.len()) as u8];
            s.extend_from_slice(&i);
            s.extend_from_slice(&i);
            s
        };
        let sigs = [
            vec![0u8; 2 * len],
            [n.clone(), n.clone()].concat(),
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
            der(&n),
        ];
        for sig in sigs {
            let t = format!("{msg}.{}", b64(&sig));
            assert_eq!(
                code(v.verify(&t, T0)),
                "TOKEN_VERIFICATION_FAILED",
                "{alg:?} {}",
                sig.len()
            );
        }
    }
}

/// J-EXP / J-NBF / J-IAT: time claims with the skew (60 s here), and bad NumericDates.
#[test]
fn j_time_claims() {
    let k = hs();
    let h = json!({"alg": "HS256"});
    let v = hs256();
    let with = |patch: Value| {
        let mut c = claims(T0);
        for (key, val) in patch.as_object().unwrap() {
            if val.is_null() {
                c.as_object_mut().unwrap().remove(key);
            } else {
                c[key] = val.clone();
            }
        }
        sign(&h, &c, &k, Algorithm::HS256)
    };
    let cases = [
        (json!({"exp": T0 - 61}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"exp": T0 - 60}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"exp": T0 - 59}), "accepted"),
        (json!({"exp": null}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"exp": "9999999999"}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"exp": 1.5e10}), "TOKEN_VERIFICATION_FAILED"),
        (
            json!({"exp": (T0 + 300) as f64 + 0.5}),
            "TOKEN_VERIFICATION_FAILED",
        ),
        (json!({"exp": u64::MAX}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"exp": -1}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"nbf": T0 + 61}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"nbf": T0 + 60}), "accepted"),
        (json!({"nbf": "soon"}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"iat": T0 + 86_400}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"iat": T0 + 61}), "TOKEN_VERIFICATION_FAILED"),
        (json!({"iat": null}), "accepted"),
    ];
    for (patch, want) in cases {
        assert_eq!(code(v.verify(&with(patch.clone()), T0)), want, "{patch}");
    }
}

/// J-AUD / J-ISS / sub: exact matches when configured; a list must contain only us.
#[test]
fn j_aud_iss_sub() {
    let k = hs();
    let h = json!({"alg": "HS256"});
    let v = JwtVerifier::new(
        JwtAlgorithm::HS256,
        SECRET.as_bytes(),
        Some("https://idp.example".into()),
        Some("user-1".into()),
        Some("https://sso.example/t/a".into()),
        60,
    )
    .unwrap();
    let base = || {
        let mut c = claims(T0);
        c["iss"] = json!("https://idp.example");
        c["aud"] = json!("https://sso.example/t/a");
        c
    };
    assert_eq!(
        code(v.verify(&sign(&h, &base(), &k, Algorithm::HS256), T0)),
        "accepted"
    );
    let mut list_ok = base();
    list_ok["aud"] = json!(["https://sso.example/t/a"]);
    assert_eq!(
        code(v.verify(&sign(&h, &list_ok, &k, Algorithm::HS256), T0)),
        "accepted"
    );
    for (key, val) in [
        ("aud", json!(["other"])),
        ("aud", json!([])),
        ("aud", Value::Null),
        ("aud", json!(["other", "https://sso.example/t/a"])),
        ("aud", json!("https://sso.example/t/a ")),
        ("iss", json!("https://evil.example")),
        ("iss", json!(["https://idp.example"])),
        ("iss", Value::Null),
        ("sub", json!("user-2")),
        ("sub", Value::Null),
    ] {
        let mut c = base();
        if val.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = val.clone();
        }
        assert_eq!(
            code(v.verify(&sign(&h, &c, &k, Algorithm::HS256), T0)),
            "TOKEN_VERIFICATION_FAILED",
            "{key}={val}"
        );
    }
}

/// J-NOEMAIL, jti shape, duplicate claims.
#[test]
fn j_claims_shape() {
    let k = hs();
    let h = json!({"alg": "HS256"});
    for email in [
        Value::Null,
        json!(""),
        json!("not-an-email"),
        json!(["ada@example.com"]),
        json!(42),
    ] {
        let mut c = claims(T0);
        if email.is_null() {
            c.as_object_mut().unwrap().remove("email");
        } else {
            c["email"] = email.clone();
        }
        assert_eq!(
            code(hs256().verify(&sign(&h, &c, &k, Algorithm::HS256), T0)),
            "MISSING_EMAIL_IN_TOKEN",
            "{email}"
        );
    }
    for jti in [json!(""), json!(7), json!("x".repeat(300))] {
        let mut c = claims(T0);
        c["jti"] = jti;
        assert_eq!(
            code(hs256().verify(&sign(&h, &c, &k, Algorithm::HS256), T0)),
            "JTI_CLAIM_INVALID"
        );
    }
    let dup = format!(
        r#"{{"email":"ada@example.com","email":"admin@example.com","exp":{}}}"#,
        T0 + 300
    );
    assert_eq!(
        code(hs256().verify(
            &sign_raw(r#"{"alg":"HS256"}"#, &dup, &k, Algorithm::HS256),
            T0
        )),
        "TOKEN_VERIFICATION_FAILED"
    );
    // Without `sub` the email is the federation ID.
    let mut c = claims(T0);
    c.as_object_mut().unwrap().remove("sub");
    let got = hs256()
        .verify(&sign(&h, &c, &k, Algorithm::HS256), T0)
        .unwrap();
    assert_eq!(got.federation_id(), "ada@example.com");
}

/// Issue 15: an oversized token gets its own code (REQUEST_TOO_LARGE, saying which parameter,
/// the size and the limit), in every parameter it may arrive in and at the verifier itself.
#[test]
fn j_oversized_tokens_get_request_too_large() {
    use lanyard_core::signin::jwt::token::{MAX_TOKEN_BYTES, TOKEN_PARAMS};
    let big = "A".repeat(MAX_TOKEN_BYTES + 1);
    for p in TOKEN_PARAMS {
        let e = pick_token([(p, big.as_str())]).unwrap_err();
        assert_eq!(e.code(), "REQUEST_TOO_LARGE");
        assert!(
            e.to_string()
                .contains(&format!("{p} has {} bytes", MAX_TOKEN_BYTES + 1)),
            "{e}"
        );
        // Also when a normal token comes first.
        assert_eq!(
            pick_token([("jwt", "a.b.c"), (p, big.as_str())])
                .unwrap_err()
                .code(),
            "REQUEST_TOO_LARGE"
        );
    }
    let exact = "A".repeat(MAX_TOKEN_BYTES);
    assert_eq!(pick_token([("jwt", exact.as_str())]).unwrap(), exact);
    assert_eq!(code(hs256().verify(&big, T0)), "REQUEST_TOO_LARGE");
}

#[test]
fn j_param_one_token_only() {
    assert_eq!(
        pick_token([("jwt", "a"), ("redirect_url", "/x")]).unwrap(),
        "a"
    );
    for p in ["jwt", "code", "id_token", "access_token"] {
        assert_eq!(pick_token([(p, "tok")]).unwrap(), "tok");
    }
    assert_eq!(pick_token([("jwt", "a"), ("code", "a")]).unwrap(), "a");
    assert_eq!(
        pick_token([("jwt", "a"), ("code", "b")])
            .unwrap_err()
            .code(),
        "TOKEN_VERIFICATION_FAILED"
    );
    assert_eq!(
        pick_token([("jwt", "a"), ("jwt", "b")]).unwrap_err().code(),
        "TOKEN_VERIFICATION_FAILED"
    );
    assert_eq!(
        pick_token([("token", "a")]).unwrap_err().code(),
        "TOKEN_VERIFICATION_FAILED"
    );
}

#[test]
fn redirect_urls_stay_on_our_origin() {
    use lanyard_core::signin::jwt::landing_page;
    let public = "https://sso.example.com/";
    assert_eq!(
        landing_page("/t/a/app?x=1", public).as_deref(),
        Some("/t/a/app?x=1")
    );
    assert_eq!(
        landing_page("https://sso.example.com/t/a/app", public).as_deref(),
        Some("/t/a/app")
    );
    for bad in [
        "https://evil.test",
        "//evil.test",
        "/\\evil.test",
        "https:evil.test",
        "https://sso.example.com@evil.test",
        "https://sso.example.com.evil.test/",
        "%2F%2Fevil.test",
        "javascript:alert(1)",
        "data:text/html,x",
        "/x\r\nSet-Cookie: a=b",
        "http://sso.example.com/t/a/app",
    ] {
        assert_eq!(landing_page(bad, public), None, "{bad}");
    }
}

// --- through the store ---
