//! The IdP's trusted signing keys, taken only from configuration (pasted certificates or
//! metadata), parsed once per connection into [`TrustedKeys`] and reused for every response.
//!
//! Several certificates may be configured at once (rollover): a signature is accepted if any of
//! them verifies it. RSA keys must have at least 2048 bits; ECDSA keys must be on P-256 or P-384.
//! Certificate validity dates are not enforced: in SAML the metadata is the trust anchor, and IdPs
//! commonly use long-expired self-signed certificates.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::error::{Error, Result};
use crate::xml;

/// Minimum accepted RSA modulus size.
pub const MIN_RSA_BITS: usize = 2048;

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// A signature algorithm on the allow-list (see `dsig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// `rsa-sha1`, only with an explicit opt-in.
    RsaSha1,
    /// `rsa-sha256`.
    RsaSha256,
    /// `rsa-sha384`.
    RsaSha384,
    /// `rsa-sha512`.
    RsaSha512,
    /// `ecdsa-sha256` (P-256 keys).
    EcdsaSha256,
    /// `ecdsa-sha384` (P-384 keys).
    EcdsaSha384,
}

enum KeyMaterial {
    Rsa {
        sha1: ParsedPublicKey,
        sha256: ParsedPublicKey,
        sha384: ParsedPublicKey,
        sha512: ParsedPublicKey,
    },
    EcP256(ParsedPublicKey),
    EcP384(ParsedPublicKey),
}

/// One configured certificate and its parsed public key.
pub struct TrustedKey {
    der: Vec<u8>,
    fingerprint: [u8; 32],
    fingerprint_hex: String,
    description: String,
    key: KeyMaterial,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("description", &self.description)
            .field("sha256", &self.fingerprint_hex())
            .finish()
    }
}

impl TrustedKey {
    /// Parses one DER certificate, refusing weak or unsupported keys.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::BadCertificate(format!("not an X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::BadCertificate(
                "trailing bytes after the certificate".into(),
            ));
        }
        let spki = cert.public_key();
        let parsed = spki
            .parsed()
            .map_err(|e| Error::BadCertificate(format!("unreadable public key: {e}")))?;
        let bad =
            |_| Error::BadCertificate("the public key was rejected by the crypto library".into());
        let (key, description) = match parsed {
            PublicKey::RSA(rsa) => {
                let bits = rsa_bits(rsa.modulus);
                if bits < MIN_RSA_BITS {
                    return Err(Error::WeakKey(format!(
                        "RSA key of {bits} bits (at least {MIN_RSA_BITS} required)"
                    )));
                }
                let raw = spki.raw;
                (
                    KeyMaterial::Rsa {
                        sha1: ParsedPublicKey::new(
                            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                            raw,
                        )
                        .map_err(bad)?,
                        sha256: ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, raw)
                            .map_err(bad)?,
                        sha384: ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA384, raw)
                            .map_err(bad)?,
                        sha512: ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA512, raw)
                            .map_err(bad)?,
                    },
                    format!("RSA-{bits}"),
                )
            }
            PublicKey::EC(_) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => (
                        KeyMaterial::EcP256(
                            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, spki.raw)
                                .map_err(bad)?,
                        ),
                        "ECDSA P-256".to_string(),
                    ),
                    OID_P384 => (
                        KeyMaterial::EcP384(
                            ParsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, spki.raw)
                                .map_err(bad)?,
                        ),
                        "ECDSA P-384".to_string(),
                    ),
                    other => {
                        return Err(Error::WeakKey(format!(
                            "unsupported elliptic curve {other:?}"
                        )));
                    }
                }
            }
            _ => {
                return Err(Error::WeakKey(
                    "unsupported key type (use RSA or ECDSA)".into(),
                ));
            }
        };
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
        Ok(TrustedKey {
            der: der.to_vec(),
            fingerprint,
            fingerprint_hex: fingerprint
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            description: format!("{description}, subject {}", cert.subject()),
            key,
        })
    }

    /// The certificate as configured (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 fingerprint of the certificate, lowercase hex with colons.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint_hex.clone()
    }

    /// SHA-256 fingerprint of the certificate (raw bytes).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Key type and certificate subject, for display.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// True if `sig` is a valid `alg` signature of `msg` under this key.
    pub fn verify(&self, alg: SignatureAlgorithm, msg: &[u8], sig: &[u8]) -> bool {
        let key = match (&self.key, alg) {
            (KeyMaterial::Rsa { sha1, .. }, SignatureAlgorithm::RsaSha1) => sha1,
            (KeyMaterial::Rsa { sha256, .. }, SignatureAlgorithm::RsaSha256) => sha256,
            (KeyMaterial::Rsa { sha384, .. }, SignatureAlgorithm::RsaSha384) => sha384,
            (KeyMaterial::Rsa { sha512, .. }, SignatureAlgorithm::RsaSha512) => sha512,
            (KeyMaterial::EcP256(k), SignatureAlgorithm::EcdsaSha256) => k,
            (KeyMaterial::EcP384(k), SignatureAlgorithm::EcdsaSha384) => k,
            _ => return false,
        };
        key.verify_sig(msg, sig).is_ok()
    }
}

/// Bit length of a big-endian unsigned integer.
fn rsa_bits(modulus: &[u8]) -> usize {
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => modulus.get(i..).unwrap_or_default(),
        None => &[],
    };
    match trimmed.first() {
        Some(first) => trimmed.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// The set of keys trusted for one IdP connection. Never empty.
#[derive(Debug)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

impl TrustedKeys {
    /// From DER certificates. Errors if none is given, or if any is unusable.
    pub fn from_der_certs<I, B>(certs: I) -> Result<Self>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let keys = certs
            .into_iter()
            .map(|c| TrustedKey::from_der(c.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(Error::NoCertificate);
        }
        Ok(TrustedKeys { keys })
    }

    /// From pasted text: one or more PEM `CERTIFICATE` blocks, or a bare base64 certificate
    /// (as found in metadata `X509Certificate` elements).
    pub fn from_pem(text: &str) -> Result<Self> {
        Self::from_der_certs(certificates_from_text(text)?)
    }

    /// The configured keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// True if `der` is byte-equal to one of the configured certificates.
    pub fn contains_certificate(&self, der: &[u8]) -> bool {
        self.keys.iter().any(|k| k.der == der)
    }

    /// The first configured key that verifies `sig` over `msg` with `alg`, if any.
    pub fn verify(&self, alg: SignatureAlgorithm, msg: &[u8], sig: &[u8]) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.verify(alg, msg, sig))
    }
}

/// Extracts DER certificates from PEM text or bare base64.
pub fn certificates_from_text(text: &str) -> Result<Vec<Vec<u8>>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    if text.contains(BEGIN) {
        let mut rest = text;
        while let Some(start) = rest.find(BEGIN) {
            let after = rest.get(start + BEGIN.len()..).unwrap_or_default();
            let end = after
                .find(END)
                .ok_or(Error::BadCertificate("unterminated PEM block".into()))?;
            out.push(xml::decode_base64_ws(
                after.get(..end).unwrap_or_default(),
                "certificate",
            )?);
            rest = after.get(end + END.len()..).unwrap_or_default();
        }
    } else if !xml::trim_xml(text).is_empty() {
        out.push(xml::decode_base64_ws(text, "certificate")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bit_length() {
        assert_eq!(rsa_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(rsa_bits(&[0x01, 0x00]), 9);
        assert_eq!(rsa_bits(&[]), 0);
    }

    #[test]
    fn refuses_empty_and_garbage() {
        assert_eq!(TrustedKeys::from_pem("").unwrap_err(), Error::NoCertificate);
        assert_eq!(
            TrustedKeys::from_pem("aGVsbG8=").unwrap_err().code(),
            "saml.bad_certificate"
        );
        assert_eq!(
            TrustedKeys::from_pem("-----BEGIN CERTIFICATE-----\nAAAA")
                .unwrap_err()
                .code(),
            "saml.bad_certificate"
        );
        assert_eq!(
            TrustedKeys::from_pem("!!!").unwrap_err().code(),
            "saml.bad_base64"
        );
    }
}
