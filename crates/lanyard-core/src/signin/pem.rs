//! What the ways in share for keys an administrator pastes (a JWT connection's public key, an
//! OIDC connection's signing certificates): PEM blocks, PKCS#1 → SPKI, RSA sizes, and the names
//! of key types and curves, so each refusal can say what was found. Pure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub const OID_RSA: &str = "1.2.840.113549.1.1.1";
pub const OID_EC: &str = "1.2.840.10045.2.1";
pub const OID_ED25519: &str = "1.3.101.112";

/// One PEM block: its label and DER bytes.
pub fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).unwrap_or_default();
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after.get(..label_end).unwrap_or_default().to_owned();
        let body_start = after.get(label_end + 5..).unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            out.push((label, Vec::new()));
            break;
        };
        let body: String = body_start
            .get(..body_end)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push((label, STANDARD.decode(body).unwrap_or_default()));
        rest = body_start
            .get(body_end + end_marker.len()..)
            .unwrap_or_default();
    }
    out
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else if n <= 0xff {
        vec![0x81, n as u8]
    } else {
        vec![0x82, (n >> 8) as u8, (n & 0xff) as u8]
    }
}

/// Wraps a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo.
pub fn pkcs1_to_spki(pkcs1: &[u8]) -> Vec<u8> {
    const ALG: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit = vec![0x03];
    bit.extend(der_len(pkcs1.len() + 1));
    bit.push(0);
    bit.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    out.extend(der_len(ALG.len() + bit.len()));
    out.extend_from_slice(&ALG);
    out.extend(bit);
    out
}

/// Names of key types an admin may paste by mistake.
pub fn key_type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        OID_RSA => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        OID_EC => "EC",
        "1.3.132.1.12" => "EC (ECDH-only)",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.10040.4.1" => "DSA",
        _ => return None,
    })
}

/// The curve and coordinate size in bytes of a named-curve OID.
pub fn curve_of(oid: &str) -> Option<(&'static str, usize)> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => ("P-256", 32),
        "1.3.132.0.34" => ("P-384", 48),
        "1.3.132.0.35" => ("P-521", 66),
        "1.3.132.0.10" => ("secp256k1", 32),
        "1.3.132.0.33" => ("P-224", 28),
        "1.2.840.10045.3.1.1" => ("P-192", 24),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 32),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 48),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 64),
        _ => return None,
    })
}

/// Bits of a big-endian unsigned integer (leading zero bytes ignored).
pub fn bit_length(be: &[u8]) -> usize {
    let trimmed: &[u8] = match be.iter().position(|b| *b != 0) {
        Some(i) => be.get(i..).unwrap_or_default(),
        None => &[],
    };
    match trimmed.first() {
        Some(first) => (trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}
