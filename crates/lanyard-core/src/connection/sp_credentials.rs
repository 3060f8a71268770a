//! The SP's own signing credentials, per SAML connection, for IdPs that require signed
//! AuthnRequests: an RSA-2048 key, sealed with the master key (never stored in the clear), and
//! a self-signed certificate that the IdP administrator uploads (it is also in the SP metadata).

use crate::clock::UnixTime;
use crate::connection::der_to_pem;
use crate::error::{Error, Result};
use crate::secret::MasterKey;
use base64::Engine as _;
use lanyard_saml::SigningKey;
use lanyard_saml::keys::certificates_from_text;
use serde::{Deserialize, Serialize};

/// Self-signed SP certificates are only a key container for the IdP; ten years avoids
/// surprise expiry in IdPs that check dates.
const VALIDITY_DAYS: i64 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpCredentials {
    /// The SP certificate (PEM) to upload to the IdP.
    pub certificate: String,
    /// PKCS#8 DER of the private key, base64, sealed with the master key.
    pub sealed_private_key: String,
}

fn context(connection_id: &str) -> String {
    format!("connection:{connection_id}:sp_private_key")
}

impl SpCredentials {
    /// A fresh key pair and certificate. Blocking (RSA key generation): call off the runtime.
    pub fn generate(
        master: &MasterKey,
        connection_id: &str,
        common_name: &str,
        now: UnixTime,
    ) -> Result<Self> {
        let fail =
            |e: rcgen::Error| Error::Internal(format!("cannot generate the SP signing key: {e}"));
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(fail)?;
        let mut params = rcgen::CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(
            rcgen::DnType::CommonName,
            common_name.chars().take(64).collect::<String>(),
        );
        dn.push(rcgen::DnType::OrganizationName, "Lanyard SSO");
        params.distinguished_name = dn;
        let start = time::OffsetDateTime::from_unix_timestamp(now - 86_400)
            .map_err(|e| Error::Internal(e.to_string()))?;
        params.not_before = start;
        params.not_after = start + time::Duration::days(VALIDITY_DAYS);
        let cert = params.self_signed(&key).map_err(fail)?;
        let pkcs8 = base64::engine::general_purpose::STANDARD.encode(key.serialize_der());
        Ok(Self {
            certificate: der_to_pem(cert.der()),
            sealed_private_key: master.seal(&context(connection_id), pkcs8.as_bytes()),
        })
    }

    /// The certificate as DER (for metadata and KeyInfo).
    pub fn certificate_der(&self) -> Result<Vec<u8>> {
        certificates_from_text(&self.certificate)
            .map_err(Error::Saml)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("stored SP certificate is empty".into()))
    }

    /// Opens the sealed key for signing.
    pub fn signing_key(&self, master: &MasterKey, connection_id: &str) -> Result<SigningKey> {
        let b64 = master
            .open(&context(connection_id), &self.sealed_private_key)
            .map_err(|_| Error::MasterKeyMismatch)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| Error::Internal("stored SP signing key is corrupt".into()))?;
        SigningKey::from_pkcs8_der(&der, Some(self.certificate_der()?)).map_err(Error::Saml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_saml::TrustedKeys;

    #[test]
    fn generated_credentials_sign_and_stay_bound_to_their_connection() {
        let master = MasterKey::generate();
        let creds = SpCredentials::generate(&master, "c1", "acme / okta", 1_796_083_200).unwrap();
        assert!(creds.certificate.starts_with("-----BEGIN CERTIFICATE-----"));
        // Not "MII" alone: a sealed (random-looking base64) text contains those three letters
        // about once in 150 keys, which made this test fail now and then. What an RSA-2048
        // PKCS#8 key in the clear always starts with, in PEM or in base64:
        for clear in [
            "PRIVATE KEY",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC",
        ] {
            assert!(
                !creds.sealed_private_key.contains(clear),
                "the key is sealed, not stored in the clear"
            );
        }
        // The certificate is a valid RSA-2048 certificate our own verifier accepts as a key.
        TrustedKeys::from_pem(&creds.certificate).unwrap();
        creds.signing_key(&master, "c1").unwrap();
        // Copied into another connection's row, or opened with another master key: refused.
        assert_eq!(
            creds.signing_key(&master, "c2").unwrap_err().code(),
            "config.master_key_mismatch"
        );
        assert!(creds.signing_key(&MasterKey::generate(), "c1").is_err());
    }
}
