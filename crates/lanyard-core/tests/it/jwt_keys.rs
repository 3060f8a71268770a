//! JWT remote login, the keys an admin pastes: RSA sizes and exponents, EC curves and points,
//! key types, certificates and malformed PEM — each refused at save with the code and a message
//! that says what was found and what the algorithm needs.

use crate::jwt_login::*;
use base64::Engine as _;
use lanyard_core::signin::jwt::token::decoding_key;
use lanyard_proto::JwtAlgorithm;

/// J-HSKEY / J-PRIVKEY and other key checks done when the settings are saved.
#[test]
fn j_key_checks() {
    let short = |n: usize| "k".repeat(n);
    for (alg, min) in [
        (JwtAlgorithm::HS256, 32),
        (JwtAlgorithm::HS384, 48),
        (JwtAlgorithm::HS512, 64),
    ] {
        assert_eq!(
            decoding_key(alg, short(min - 1).as_bytes())
                .unwrap_err()
                .code(),
            "INVALID_KEY_LENGTH"
        );
        assert!(decoding_key(alg, short(min).as_bytes()).is_ok());
    }
    for private in ["rsa.key", "ec256.key"] {
        for alg in [
            JwtAlgorithm::RS256,
            JwtAlgorithm::ES256,
            JwtAlgorithm::HS256,
        ] {
            assert_eq!(
                decoding_key(alg, &fixture(private)).unwrap_err().code(),
                "PRIVATE_KEY_PROVIDED"
            );
        }
    }
    let pkcs1_private = fixture_text("rsa.key").replace("PRIVATE KEY", "RSA PRIVATE KEY");
    assert_eq!(
        decoding_key(JwtAlgorithm::RS256, pkcs1_private.as_bytes())
            .unwrap_err()
            .code(),
        "PRIVATE_KEY_PROVIDED"
    );
    let private_jwk = br#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}"#;
    assert_eq!(
        decoding_key(JwtAlgorithm::ES256, private_jwk)
            .unwrap_err()
            .code(),
        "PRIVATE_KEY_PROVIDED"
    );
    for (alg, key) in [
        (JwtAlgorithm::RS256, fixture("ec256.pub")),
        (JwtAlgorithm::ES256, fixture("rsa.pub")),
        (JwtAlgorithm::ES256, fixture("ec384.pub")),
        (JwtAlgorithm::ES384, fixture("ec256.pub")),
        (JwtAlgorithm::RS256, b"not a key".to_vec()),
        (JwtAlgorithm::RS256, fixture("rsa.pub.der")),
        (
            JwtAlgorithm::RS256,
            [fixture("rsa.pub"), fixture("rsa.pub")].concat(),
        ),
    ] {
        assert_eq!(
            decoding_key(alg, &key).unwrap_err().code(),
            "INVALID_KEY",
            "{alg:?}"
        );
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
}

fn pem_der(text: &str) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..0x80 => vec![n as u8],
        0x80..0x100 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    [vec![tag], der_len(body.len()), body.to_vec()].concat()
}

/// An RSA SubjectPublicKeyInfo PEM with a made-up odd modulus of exactly `bits` bits (size
/// checks come before any arithmetic, so the modulus needs no factors).
fn synthetic_rsa(bits: usize) -> String {
    let bytes = bits.div_ceil(8);
    let mut n = vec![0xa5u8; bytes];
    let top = bits - (bytes - 1) * 8;
    n[0] = (0xffu16 >> (8 - top)) as u8;
    n[0] |= 1 << (top - 1);
    n[bytes - 1] |= 1;
    if n[0] & 0x80 != 0 {
        n.insert(0, 0);
    }
    let pkcs1 = tlv(0x30, &[tlv(0x02, &n), tlv(0x02, &[1, 0, 1])].concat());
    let alg = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let bit = tlv(0x03, &[vec![0], pkcs1].concat());
    pem("PUBLIC KEY", &tlv(0x30, &[alg, bit].concat()))
}

/// Issue 15: a short RSA key gets INVALID_KEY_LENGTH with the size found and the size needed
/// (not a parser's "not an RSA public key"), for every encoding of the key; an RSA key too big
/// for the verifier is refused at save rather than failing every login.
#[test]
fn j_rsa_key_sizes_are_checked_and_reported() {
    let rs = [
        JwtAlgorithm::RS256,
        JwtAlgorithm::RS384,
        JwtAlgorithm::RS512,
    ];
    for (file, bits) in [
        ("rsa512.pub", 512),
        ("rsa1024.pub", 1024),
        ("rsa1536.pub", 1536),
        ("rsa2047.pub", 2047),
        ("rsa1024.crt", 1024),
    ] {
        for alg in rs {
            let e = decoding_key(alg, &fixture(file)).unwrap_err();
            assert_eq!(e.code(), "INVALID_KEY_LENGTH", "{file} {alg:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("has {bits} bits")) && msg.contains("2048"),
                "{file}: {msg}"
            );
        }
    }
    // The same 1024-bit key as PKCS#1 (`RSA PUBLIC KEY`).
    let spki = pem_der(&fixture_text("rsa1024.pub"));
    let pkcs1 = &spki[spki.len() - 140..];
    assert_eq!(pkcs1[0], 0x30, "the PKCS#1 key ends the SPKI");
    assert_eq!(
        decoding_key(JwtAlgorithm::RS256, pem("RSA PUBLIC KEY", pkcs1).as_bytes())
            .unwrap_err()
            .code(),
        "INVALID_KEY_LENGTH"
    );
    for bits in [1, 512, 2047, 8193, 16384] {
        let e = decoding_key(JwtAlgorithm::RS256, synthetic_rsa(bits).as_bytes()).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY_LENGTH", "{bits}");
        assert!(e.to_string().contains(&format!("has {bits} bits")), "{e}");
    }
    for file in ["rsa.pub", "rsa_pkcs1.pub", "rsa4096.pub", "rsa.crt"] {
        for alg in rs {
            assert!(decoding_key(alg, &fixture(file)).is_ok(), "{file} {alg:?}");
        }
    }
}

/// Issue 15 (same class): an RSA key whose public exponent makes signatures forgeable or
/// meaningless (e = 1: every message is its own signature; even, zero or huge exponents) is
/// refused at save, not accepted and left to the verifier.
#[test]
fn j_rsa_exponents_that_break_signatures_are_refused() {
    let spki = pem_der(&fixture_text("rsa.pub"));
    // The 2048-bit modulus: INTEGER 0x00 || 256 bytes, inside the PKCS#1 SEQUENCE.
    let at = spki
        .windows(4)
        .position(|w| w == [0x02, 0x82, 0x01, 0x01])
        .unwrap();
    let modulus = &spki[at + 4..at + 4 + 257];
    let with_exponent = |e: &[u8]| {
        let pkcs1 = tlv(0x30, &[tlv(0x02, modulus), tlv(0x02, e)].concat());
        pem("RSA PUBLIC KEY", &pkcs1)
    };
    assert!(decoding_key(JwtAlgorithm::RS256, with_exponent(&[1, 0, 1]).as_bytes()).is_ok());
    for e in [
        &[1u8][..],
        &[0],
        &[2],
        &[1, 0, 0],
        &[0x01, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ] {
        let got = decoding_key(JwtAlgorithm::RS256, with_exponent(e).as_bytes());
        assert_eq!(
            got.map(|_| ()).unwrap_err().code(),
            "INVALID_KEY",
            "e = {e:?}"
        );
    }
}

/// Issue 15: an EC key must be on the algorithm's curve (ES256: P-256, ES384: P-384), a valid
/// point of it, uncompressed and with a named curve; each refusal says what was found.
#[test]
fn j_ec_keys_are_checked_for_curve_and_point() {
    let cases = [
        ("ec256.pub", "P-256"),
        ("ec384.pub", "P-384"),
        ("ec521.pub", "P-521"),
        ("secp256k1.pub", "secp256k1"),
        ("brainpool256.pub", "brainpoolP256r1"),
        ("brainpool384.pub", "brainpoolP384r1"),
        ("ec256.crt", "P-256"),
    ];
    for (alg, curve) in [
        (JwtAlgorithm::ES256, "P-256"),
        (JwtAlgorithm::ES384, "P-384"),
    ] {
        for (file, found) in cases {
            let got = decoding_key(alg, &fixture(file));
            if found == curve {
                assert!(got.is_ok(), "{file} for {alg:?}");
                continue;
            }
            let e = got.unwrap_err();
            assert_eq!(e.code(), "INVALID_KEY", "{file} for {alg:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("on {found}"))
                    && msg.contains(&format!("needs a {curve} key")),
                "{file} for {alg:?}: {msg}"
            );
        }
    }
    for (file, why) in [
        ("ec256_compressed.pub", "compressed"),
        ("ec256_explicit.pub", "explicit curve parameters"),
    ] {
        let e = decoding_key(JwtAlgorithm::ES256, &fixture(file)).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY", "{file}");
        assert!(e.to_string().contains(why), "{file}: {e}");
    }
    // Invalid-curve attacks: points that are not on P-256 / P-384 (y changed, x and y swapped,
    // all zero, all ones) and the point at infinity.
    for (file, alg) in [
        ("ec256.pub", JwtAlgorithm::ES256),
        ("ec384.pub", JwtAlgorithm::ES384),
    ] {
        let spki = pem_der(&fixture_text(file));
        let coord = if alg == JwtAlgorithm::ES256 { 32 } else { 48 };
        let head = spki.len() - (1 + 2 * coord);
        assert_eq!(spki[head], 0x04);
        let with_point = |point: &[u8]| {
            let mut d = spki[..head].to_vec();
            d.extend_from_slice(point);
            pem("PUBLIC KEY", &d)
        };
        let point = &spki[head..];
        let mut y_changed = point.to_vec();
        *y_changed.last_mut().unwrap() ^= 0x01;
        let swapped = [&[4u8][..], &point[1 + coord..], &point[1..1 + coord]].concat();
        let zeros = [vec![4u8], vec![0; 2 * coord]].concat();
        let ones = [vec![4u8], vec![0xff; 2 * coord]].concat();
        for bad in [y_changed, swapped, zeros, ones] {
            let e = decoding_key(alg, with_point(&bad).as_bytes()).unwrap_err();
            assert_eq!(e.code(), "INVALID_KEY");
            assert!(e.to_string().contains("not on the"), "{e}");
        }
        // The point at infinity (one zero byte): the BIT STRING shrinks, so rebuild the SPKI.
        let alg_id_end = spki.len() - (1 + 2 * coord) - 3;
        let alg_id = &spki[2..alg_id_end];
        let infinity = tlv(0x30, &[alg_id.to_vec(), tlv(0x03, &[0, 0])].concat());
        let e = decoding_key(alg, pem("PUBLIC KEY", &infinity).as_bytes()).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY");
        assert!(e.to_string().contains("infinity"), "{e}");
        // A truncated point.
        let e = decoding_key(alg, with_point(&point[..point.len() - 1]).as_bytes()).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY");
    }
}

/// Issue 15: a key of the wrong type for the algorithm, and anything that is not one clean
/// public key or certificate, gets INVALID_KEY saying what was found.
#[test]
fn j_wrong_key_types_and_malformed_pem() {
    for (alg, file, found) in [
        (JwtAlgorithm::RS256, "ec256.pub", "EC key"),
        (JwtAlgorithm::RS512, "ec256.crt", "EC key"),
        (JwtAlgorithm::ES256, "rsa.pub", "RSA key"),
        (JwtAlgorithm::ES384, "rsa.crt", "RSA key"),
        (JwtAlgorithm::RS256, "ed25519.pub", "Ed25519 key"),
        (JwtAlgorithm::ES256, "ed25519.pub", "Ed25519 key"),
        (JwtAlgorithm::ES256, "ed448.pub", "Ed448 key"),
        (JwtAlgorithm::RS256, "rsapss.pub", "RSA-PSS key"),
    ] {
        let e = decoding_key(alg, &fixture(file)).unwrap_err();
        assert_eq!(e.code(), "INVALID_KEY", "{file} {alg:?}");
        assert!(e.to_string().contains(found), "{file}: {e}");
    }
    let good = fixture_text("rsa.pub");
    let body: Vec<&str> = good.lines().collect();
    let garbage = [
        String::new(),
        "garbage".into(),
        "-----BEGIN PUBLIC KEY-----\nnot base64 at all!\n-----END PUBLIC KEY-----\n".into(),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(),
        good.replace("-----END PUBLIC KEY-----", ""),
        good.replace("PUBLIC KEY", "CERTIFICATE"),
        good.replace("PUBLIC KEY", "EC PARAMETERS"),
        fixture_text("rsa.crt")
            .replace("-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----")
            .replace("-----END CERTIFICATE-----", "-----END PUBLIC KEY-----"),
        format!(
            "{}\nextra-inside\n{}",
            body[..2].join("\n"),
            body[2..].join("\n")
        ),
        format!("{good}{good}"),
        format!("{good}{}", fixture_text("rsa.crt")),
        // A certificate chain: paste the remote login's own certificate only.
        format!("{}{}", fixture_text("rsa.crt"), fixture_text("ec256.crt")),
    ];
    for (i, g) in garbage.iter().enumerate() {
        assert_eq!(
            decoding_key(JwtAlgorithm::RS256, g.as_bytes())
                .unwrap_err()
                .code(),
            "INVALID_KEY",
            "case {i}: {g}"
        );
    }
    // Explanatory text around one PEM block (as `openssl x509 -text` prints) is ignored.
    let chatty = format!("Here is our key:\n{good}\nRegards, IT\n");
    assert!(decoding_key(JwtAlgorithm::RS256, chatty.as_bytes()).is_ok());
}
