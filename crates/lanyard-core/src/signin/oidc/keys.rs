//! Signing keys an administrator pastes into an OIDC connection (`signing_certificates`): PEM
//! X.509 certificates (`BEGIN CERTIFICATE`) or public keys (`BEGIN PUBLIC KEY`, `BEGIN RSA
//! PUBLIC KEY`). When a connection has them, ID tokens are verified with these keys only and the
//! JWKS URI is never fetched. Checked when saved: RSA of at least 2048 bits, EC on P-256 or
//! P-384, Ed25519; private keys and other types are refused, each with its own code. Only the
//! public key of a certificate counts (like a JWKS entry; its dates and issuer are not read).

use crate::signin::oidc::checks::{Jwk, Jwks};
use jsonwebtoken::DecodingKey;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

pub use crate::error::{MAX_SIGNING_CERTIFICATES, SigningKeyError};
use crate::signin::pem::{OID_EC, OID_ED25519, OID_RSA, bit_length, pem_blocks, pkcs1_to_spki};

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// One checked key: kty, crv, the verification key.
fn key_of_spki(index: usize, spki_der: &[u8]) -> Result<Jwk, SigningKeyError> {
    let unreadable = |why: &str| SigningKeyError::Unreadable(index, why.to_owned());
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| unreadable("not a SubjectPublicKeyInfo"))?;
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        OID_RSA => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let bits = bit_length(rsa.modulus);
                if bits < 2048 {
                    return Err(SigningKeyError::RsaTooShort { index, bits });
                }
                // DER integers carry a leading zero byte when the top bit is set.
                let strip =
                    |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
                Ok(Jwk::pasted(
                    "RSA",
                    None,
                    DecodingKey::from_rsa_raw_components(&strip(rsa.modulus), &strip(rsa.exponent)),
                ))
            }
            _ => Err(unreadable("the RSA key does not parse")),
        },
        OID_EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let (crv, len) = match curve.as_str() {
                OID_P256 => ("P-256", 65),
                OID_P384 => ("P-384", 97),
                other => {
                    return Err(SigningKeyError::UnsupportedCurve {
                        index,
                        curve: if other.is_empty() {
                            "an unnamed curve".into()
                        } else {
                            format!("the curve {other}")
                        },
                    });
                }
            };
            let point: &[u8] = &spki.subject_public_key.data;
            if point.len() != len || point.first() != Some(&4) {
                return Err(unreadable(
                    "the EC point is not an uncompressed point of its curve",
                ));
            }
            Ok(Jwk::pasted(
                "EC",
                Some(crv),
                DecodingKey::from_ec_der(point),
            ))
        }
        OID_ED25519 => {
            let raw: &[u8] = &spki.subject_public_key.data;
            if raw.len() != 32 {
                return Err(unreadable("the Ed25519 key is not 32 bytes"));
            }
            Ok(Jwk::pasted(
                "OKP",
                Some("Ed25519"),
                DecodingKey::from_ed_der(raw),
            ))
        }
        "1.3.101.113" => Err(SigningKeyError::UnsupportedType {
            index,
            kind: "Ed448".into(),
        }),
        "1.2.840.10040.4.1" => Err(SigningKeyError::UnsupportedType {
            index,
            kind: "DSA".into(),
        }),
        other => Err(SigningKeyError::UnsupportedType {
            index,
            kind: format!("`{other}`"),
        }),
    }
}

/// Checks the pasted entries and returns their keys.
pub fn parse_signing_certificates(entries: &[String]) -> Result<Vec<Jwk>, SigningKeyError> {
    let mut keys = Vec::new();
    for (i, text) in entries.iter().enumerate() {
        let index = i + 1;
        if text.contains("PRIVATE KEY") {
            return Err(SigningKeyError::PrivateKey(index));
        }
        let blocks = pem_blocks(text);
        if blocks.is_empty() {
            return Err(SigningKeyError::NotPem(index));
        }
        for (label, der) in blocks {
            if der.is_empty() {
                return Err(SigningKeyError::Unreadable(
                    index,
                    "the PEM block is not complete base64".into(),
                ));
            }
            let spki = match label.as_str() {
                "CERTIFICATE" => {
                    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|_| {
                        SigningKeyError::Unreadable(index, "not an X.509 certificate".into())
                    })?;
                    cert.tbs_certificate.subject_pki.raw.to_vec()
                }
                "PUBLIC KEY" => der,
                "RSA PUBLIC KEY" => pkcs1_to_spki(&der),
                other => {
                    return Err(SigningKeyError::Unreadable(
                        index,
                        format!("a `{other}` PEM block is not a certificate or public key"),
                    ));
                }
            };
            keys.push(key_of_spki(index, &spki)?);
            if keys.len() > MAX_SIGNING_CERTIFICATES {
                return Err(SigningKeyError::TooMany);
            }
        }
    }
    Ok(keys)
}

/// The pasted keys as the key set ID tokens are verified with.
pub fn pasted_jwks(entries: &[String]) -> Result<Jwks, SigningKeyError> {
    Ok(Jwks {
        keys: parse_signing_certificates(entries)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn spki_pem(der: &[u8], label: &str) -> String {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            STANDARD.encode(der)
        )
    }

    #[test]
    fn rsa_bits_counts_significant_bits() {
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[]), 0);
    }

    fn codes(entries: &[&str]) -> Result<usize, &'static str> {
        let owned: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        parse_signing_certificates(&owned)
            .map(|k| k.len())
            .map_err(|e| e.code())
    }

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap()
    }

    /// Every accepted form: RSA/EC certificates, SPKI and PKCS#1 public keys, Ed25519.
    #[test]
    fn accepted_keys() {
        for f in [
            "../lanyard-saml/tests/fixtures/keys/idp.crt",
            "../lanyard-saml/tests/fixtures/keys/ec.crt",
        ] {
            assert_eq!(codes(&[&fixture(f)]), Ok(1), "{f}");
        }
        for f in ["rsa.pub", "rsa_pkcs1.pub", "ec256.pub", "ec384.pub"] {
            assert_eq!(
                codes(&[&fixture(&format!("tests/fixtures/jwt/{f}"))]),
                Ok(1),
                "{f}"
            );
        }
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(kp.public_key_raw());
        assert_eq!(codes(&[&spki_pem(&spki, "PUBLIC KEY")]), Ok(1));
        let cert = rcgen::CertificateParams::new(vec!["idp.example".into()])
            .unwrap()
            .self_signed(&kp)
            .unwrap();
        assert_eq!(codes(&[&spki_pem(cert.der(), "CERTIFICATE")]), Ok(1));
        // Two blocks in one entry, or two entries: two keys.
        let two = format!(
            "{}{}",
            fixture("tests/fixtures/jwt/rsa.pub"),
            fixture("tests/fixtures/jwt/ec256.pub")
        );
        assert_eq!(codes(&[&two]), Ok(2));
    }

    /// Every refusal at save, with its own code: weak RSA (key and certificate), other curves
    /// and key types, private keys, garbage, too many keys.
    #[test]
    fn refused_keys() {
        let secp256k1 = "-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEeXCkR8flG9ZPExHM75WSTOMiVo3FfCMD\nsPsRjSEHSKGKHtzqIoQVCp1eC+3PpI7ORnVDzsF/k1pYzSkycxc+qQ==\n-----END PUBLIC KEY-----\n";
        let ed448 = "-----BEGIN PUBLIC KEY-----\nMEMwBQYDK2VxAzoAKENH1s87DJoPN0tuhoIr/w1ZuXNaVM3N+u5dGNmnvfTQlHh5\nLLJ4H6D4BAQ2zheTF6AaHXhBqE8A\n-----END PUBLIC KEY-----\n";
        let cases: Vec<(String, &str)> = vec![
            (
                fixture("tests/fixtures/jwt/rsa1024.pub"),
                "oidc.signing_key_too_short",
            ),
            (
                fixture("../lanyard-saml/tests/fixtures/keys/weak.crt"),
                "oidc.signing_key_too_short",
            ),
            (secp256k1.into(), "oidc.signing_key_unsupported_curve"),
            (ed448.into(), "oidc.signing_key_unsupported_type"),
            (
                fixture("tests/fixtures/jwt/rsa.key"),
                "oidc.signing_certificate_private_key",
            ),
            (
                fixture("../lanyard-saml/tests/fixtures/keys/idp.pk8.pem"),
                "oidc.signing_certificate_private_key",
            ),
            ("not a key".into(), "oidc.signing_certificate_not_pem"),
            (
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----".into(),
                "oidc.signing_certificate_unreadable",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
                "oidc.signing_certificate_unreadable",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA".into(),
                "oidc.signing_certificate_unreadable",
            ),
        ];
        for (pem, want) in &cases {
            assert_eq!(codes(&[pem]), Err(*want), "{pem}");
            // Also when it follows a good key.
            assert_eq!(
                codes(&[&fixture("tests/fixtures/jwt/rsa.pub"), pem]),
                Err(*want),
                "{pem}"
            );
        }
        let many: Vec<String> = (0..=MAX_SIGNING_CERTIFICATES)
            .map(|_| fixture("tests/fixtures/jwt/ec256.pub"))
            .collect();
        assert_eq!(
            parse_signing_certificates(&many)
                .map(|k| k.len())
                .map_err(|e| e.code()),
            Err("oidc.signing_certificates_too_many")
        );
    }

    #[test]
    fn every_refusal_has_its_own_code_and_help() {
        let all = [
            SigningKeyError::NotPem(1),
            SigningKeyError::PrivateKey(1),
            SigningKeyError::Unreadable(1, "x".into()),
            SigningKeyError::RsaTooShort {
                index: 1,
                bits: 1024,
            },
            SigningKeyError::UnsupportedCurve {
                index: 1,
                curve: "secp256k1".into(),
            },
            SigningKeyError::UnsupportedType {
                index: 1,
                kind: "DSA".into(),
            },
            SigningKeyError::TooMany,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|e| e.code()).collect();
        let helps: std::collections::HashSet<_> = all.iter().map(|e| e.help()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(helps.len(), all.len());
    }

    /// The pasted key verifies signatures of its private key, and only those (a DER integer's
    /// leading zero once made every RSA key fail).
    #[test]
    fn pasted_keys_verify_their_signatures_only() {
        use jsonwebtoken::{Algorithm, EncodingKey};
        let read = |f: &str| fixture(&format!("tests/fixtures/jwt/{f}"));
        let cases = [
            ("rsa.key", "rsa.pub", Algorithm::RS256, "rsa_other.pub"),
            (
                "rsa.key",
                "rsa_pkcs1.pub",
                Algorithm::PS256,
                "rsa_other.pub",
            ),
            (
                "rsa_other.key",
                "rsa_other.pub",
                Algorithm::RS512,
                "rsa.pub",
            ),
            ("ec256.key", "ec256.pub", Algorithm::ES256, "ec384.pub"),
            ("ec384.key", "ec384.pub", Algorithm::ES384, "ec256.pub"),
        ];
        for (k, good, alg, other) in cases {
            let pem = read(k);
            let key = match alg {
                Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
                _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
            }
            .unwrap();
            let sig = jsonwebtoken::crypto::sign(b"h.p", &key, alg).unwrap();
            let verifies = |p: &str| {
                pasted_jwks(&[read(p)])
                    .unwrap()
                    .keys
                    .iter()
                    .any(|j| j.verify_for_test(&sig, b"h.p", alg))
            };
            assert!(verifies(good), "{k} with {good}");
            assert!(!verifies(other), "{k} with {other}");
        }
    }
}
