//! The built-in test identity provider (`lanyard serve --demo`, `lanyard dev-idp`): a SAML 2.0
//! IdP and an OpenID provider for trying Lanyard without an Okta or Entra tenant, with a page to
//! pick a test person and a fault to inject ([`faults::FAULTS`]).
//!
//! Test tooling, kept apart from the real surfaces: mounted under [`PREFIX`] only when the
//! binary is asked for it, on a loopback public URL unless explicitly overridden. It signs with
//! Lanyard's own code (`lanyard_saml::signing::sign_enveloped`, `jsonwebtoken`/aws-lc-rs). Its
//! keys are generated on first start and kept in the data directory ([`KeyFile`]).

pub mod faults;
mod oidc;
mod saml;

use crate::pages;
use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use lanyard_core::Clock;
use lanyard_proto as proto;
use lanyard_saml::SigningKey;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the test IdP's routes live on the server.
pub const PREFIX: &str = "/dev-idp";
/// The OIDC client the demo connection uses.
pub const CLIENT_ID: &str = "lanyard-demo";
/// Slugs of the demo tenant's connections to the test IdP.
pub const SAML_CONNECTION: &str = "test-idp-saml";
pub const OIDC_CONNECTION: &str = "test-idp-oidc";

/// Why the test IdP refused a request (it is a tool: its messages speak to the developer).
#[derive(Debug, thiserror::Error)]
pub enum DevIdpError {
    #[error("the test IdP could not read the request: {0}")]
    BadRequest(String),
    #[error("unknown fault `{0}`; the page lists the faults the test IdP knows")]
    UnknownFault(String),
    #[error("the test IdP's keys are unusable: {0}; delete the key file to make new ones")]
    Keys(String),
    #[error("the test IdP failed: {0}")]
    Internal(String),
}

impl DevIdpError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "dev_idp.bad_request",
            Self::UnknownFault(_) => "dev_idp.unknown_fault",
            Self::Keys(_) => "dev_idp.keys",
            Self::Internal(_) => "dev_idp.internal",
        }
    }
}

impl IntoResponse for DevIdpError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BadRequest(_) | Self::UnknownFault(_) => StatusCode::BAD_REQUEST,
            Self::Keys(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        pages::error_page(status, self.code(), &self.to_string())
    }
}

/// The test IdP's secrets as kept on disk (mode 0600, in the data directory): the current
/// signing key, a "rotated" one the demo connections do not know, and the OIDC client secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// PKCS#8 PEM.
    pub current_key: String,
    pub current_cert: String,
    pub rotated_key: String,
    pub rotated_cert: String,
    pub client_secret: String,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFile(..)")
    }
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn generate_pair(cn: &str) -> Result<(String, String), DevIdpError> {
    let fail = |e: rcgen::Error| DevIdpError::Keys(e.to_string());
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    dn.push(rcgen::DnType::OrganizationName, "Lanyard Test IdP");
    params.distinguished_name = dn;
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_before = start;
    params.not_after = start + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok((
        to_pem("PRIVATE KEY", &key.serialize_der()),
        to_pem("CERTIFICATE", cert.der()),
    ))
}

impl KeyFile {
    /// Two fresh RSA-2048 keys and a client secret. Blocking (key generation).
    pub fn generate() -> Result<Self, DevIdpError> {
        let (current_key, current_cert) = generate_pair("Lanyard Test IdP")?;
        let (rotated_key, rotated_cert) = generate_pair("Lanyard Test IdP (rotated)")?;
        Ok(Self {
            current_key,
            current_cert,
            rotated_key,
            rotated_cert,
            client_secret: lanyard_core::secret::random_token(),
        })
    }

    /// Reads the key file, or generates one and writes it (0600) when there is none.
    pub fn load_or_generate(path: &std::path::Path) -> Result<Self, DevIdpError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| DevIdpError::Keys(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate()?;
                let text = serde_json::to_string_pretty(&keys)
                    .map_err(|e| DevIdpError::Internal(e.to_string()))?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                use std::io::Write as _;
                opts.open(path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .map_err(|e| {
                        DevIdpError::Keys(format!("cannot write {}: {e}", path.display()))
                    })?;
                Ok(keys)
            }
            Err(e) => Err(DevIdpError::Keys(format!("{}: {e}", path.display()))),
        }
    }
}

fn pem_der(pem: &str) -> Result<Vec<u8>, DevIdpError> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| DevIdpError::Keys(e.to_string()))
}

fn saml_key(key_pem: &str, cert_pem: &str) -> Result<SigningKey, DevIdpError> {
    SigningKey::from_pkcs8_der(&pem_der(key_pem)?, Some(pem_der(cert_pem)?))
        .map_err(|e| DevIdpError::Keys(e.to_string()))
}

fn jwt_key(key_pem: &str) -> Result<jsonwebtoken::EncodingKey, DevIdpError> {
    jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes())
        .map_err(|e| DevIdpError::Keys(e.to_string()))
}

/// A test person on the picker page.
pub struct Person {
    pub id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    /// Sent as `groups`; the demo connections read a group naming a tenant role as that role.
    pub groups: &'static str,
}

pub const PEOPLE: &[Person] = &[
    Person {
        id: "alice",
        name: "Alice Admin",
        email: "alice@demo.example",
        groups: "admin",
    },
    Person {
        id: "bob",
        name: "Bob Builder",
        email: "bob@demo.example",
        groups: "standard",
    },
    Person {
        id: "vic",
        name: "Vic Viewer",
        email: "vic@demo.example",
        groups: "viewer",
    },
];

/// Who signs in and with which fault: the picker form's common fields.
#[derive(Debug, Default, Deserialize)]
pub struct Pick {
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub groups: Option<String>,
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(default)]
    pub skew: Option<String>,
}

/// The person and fault a login carries, resolved from a [`Pick`].
pub struct Subject {
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub fault: &'static faults::Fault,
    /// Seconds added to every instant the IdP writes (its clock is off by this much).
    pub clock_offset: i64,
}

impl Pick {
    pub fn resolve(&self) -> Result<Subject, DevIdpError> {
        let fault_id = self
            .fault
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or("none");
        let fault =
            faults::find(fault_id).ok_or_else(|| DevIdpError::UnknownFault(fault_id.to_owned()))?;
        let skew_text = self.skew.as_deref().map(str::trim).unwrap_or("");
        let given = if skew_text.is_empty() {
            None
        } else {
            Some(
                skew_text
                    .parse::<i64>()
                    .map_err(|_| {
                        DevIdpError::BadRequest(format!(
                            "skew `{skew_text}` is not a whole number of minutes"
                        ))
                    })?
                    .clamp(-1440, 1440),
            )
        };
        let minutes = given
            .map(i64::abs)
            .filter(|m| *m != 0)
            .unwrap_or(faults::DEFAULT_SKEW_MINUTES);
        let clock_offset = match fault.id {
            "clock_ahead" => minutes * 60,
            "clock_behind" => -minutes * 60,
            _ => given.unwrap_or(0) * 60,
        };
        let person = self.person.as_deref().unwrap_or("alice");
        let (email, name, groups) = match PEOPLE.iter().find(|p| p.id == person) {
            Some(p) => (p.email.to_owned(), p.name.to_owned(), p.groups.to_owned()),
            None => {
                let email = self.email.clone().unwrap_or_default().trim().to_owned();
                if email.is_empty() || !email.contains('@') {
                    return Err(DevIdpError::BadRequest(
                        "\"Someone else\" needs an email address".into(),
                    ));
                }
                let name = self.name.clone().unwrap_or_default().trim().to_owned();
                (email, name, self.groups.clone().unwrap_or_default())
            }
        };
        Ok(Subject {
            email,
            name,
            groups: groups
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            fault,
            clock_offset,
        })
    }
}

impl Subject {
    /// A stable opaque identifier for the person (the OIDC `sub`, the persistent NameID).
    pub fn opaque_id(&self) -> String {
        let d = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.email.to_lowercase().as_bytes(),
        );
        let hex: String = d
            .as_ref()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("u-{hex}")
    }
}

/// What one fault's outcome reads like on the pages.
pub fn describe(o: faults::Outcome) -> &'static str {
    match o {
        faults::Outcome::SignedIn => "signed in",
        faults::Outcome::SignedInWithWarning => "signed in, with a login.warning audit event",
        faults::Outcome::Refused(code) => code,
        faults::Outcome::NotApplicable => "not applicable",
    }
}

pub(crate) struct FaultRow {
    pub id: &'static str,
    pub label: &'static str,
    pub explain: &'static str,
    pub expect: &'static str,
}

#[derive(Template)]
#[template(path = "dev_idp_pick.html")]
pub(crate) struct PickPage<'a> {
    pub protocol: &'a str,
    pub action: String,
    pub hidden: Vec<(&'static str, String)>,
    pub people: &'static [Person],
    pub faults: Vec<FaultRow>,
    pub selected: String,
    pub skew: String,
}

impl PickPage<'_> {
    pub(crate) fn faults_for(oidc: bool) -> Vec<FaultRow> {
        faults::FAULTS
            .iter()
            .filter_map(|f| {
                let o = if oidc { f.oidc } else { f.saml };
                (o != faults::Outcome::NotApplicable).then_some(FaultRow {
                    id: f.id,
                    label: f.label,
                    explain: f.explain,
                    expect: describe(o),
                })
            })
            .collect()
    }
}

/// The test IdP: its base URL, keys and the codes it has issued (in memory).
pub struct DevIdp {
    base: String,
    keys: KeyFile,
    clock: Arc<dyn Clock>,
    saml_current: SigningKey,
    saml_rotated: SigningKey,
    jwt_current: jsonwebtoken::EncodingKey,
    jwt_rotated: jsonwebtoken::EncodingKey,
    grants: Mutex<HashMap<String, oidc::Grant>>,
    tokens: Mutex<HashMap<String, serde_json::Value>>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl DevIdp {
    /// `public_url`: where the server that mounts the IdP is reached (its routes are under
    /// [`PREFIX`]).
    pub fn new(
        public_url: &url::Url,
        keys: KeyFile,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DevIdpError> {
        Ok(Self {
            base: format!("{}{PREFIX}", public_url.as_str().trim_end_matches('/')),
            saml_current: saml_key(&keys.current_key, &keys.current_cert)?,
            saml_rotated: saml_key(&keys.rotated_key, &keys.rotated_cert)?,
            jwt_current: jwt_key(&keys.current_key)?,
            jwt_rotated: jwt_key(&keys.rotated_key)?,
            keys,
            clock,
            grants: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn entity_id(&self) -> String {
        format!("{}/saml/metadata", self.base)
    }
    pub fn sso_url(&self) -> String {
        format!("{}/saml/sso", self.base)
    }
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.base)
    }
    pub fn certificate_pem(&self) -> &str {
        &self.keys.current_cert
    }
    pub fn client_secret(&self) -> &str {
        &self.keys.client_secret
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The SAML connection to this IdP (JIT on, roles from `groups`, email required).
    pub fn saml_connection_input(&self) -> proto::ConnectionInput {
        proto::ConnectionInput {
            slug: Some(SAML_CONNECTION.into()),
            name: Some("Test IdP (SAML)".into()),
            enabled: Some(true),
            idp_entity_id: Some(self.entity_id()),
            sso_url: Some(self.sso_url()),
            certificates: Some(vec![self.keys.current_cert.clone()]),
            jit: Some(true),
            email_attribute: Some(Some("email".into())),
            display_name_attribute: Some(Some("displayName".into())),
            provisioning: Some(demo_provisioning()),
            ..Default::default()
        }
    }

    /// The OIDC connection to this IdP (endpoints set directly: nothing to fetch at setup).
    pub fn oidc_connection_input(&self) -> proto::OidcConnectionInput {
        let o = self.issuer();
        proto::OidcConnectionInput {
            slug: Some(OIDC_CONNECTION.into()),
            name: Some("Test IdP (OIDC)".into()),
            enabled: Some(true),
            issuer: Some(o.clone()),
            authorization_endpoint: Some(format!("{o}/authorize")),
            token_endpoint: Some(format!("{o}/token")),
            userinfo_endpoint: Some(format!("{o}/userinfo")),
            jwks_uri: Some(format!("{o}/jwks")),
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(self.keys.client_secret.clone()),
            use_userinfo: Some(false),
            require_iss: Some(true),
            jit: Some(true),
            provisioning: Some(demo_provisioning()),
            ..Default::default()
        }
    }

    /// Creates the tenant's connections to this IdP when they are missing, and points existing
    /// ones at this IdP's current URLs, certificate and client secret (the port may have
    /// changed since the last start); other settings stay as the admin left them. Returns the
    /// slugs created.
    pub async fn wire_tenant(
        &self,
        lanyard: &lanyard_core::Lanyard,
        tenant: &str,
    ) -> lanyard_core::Result<Vec<&'static str>> {
        let ctx = lanyard_core::Ctx::cli();
        let (_, existing) = lanyard.list_connections(&ctx, tenant).await?;
        let has = |slug: &str| existing.iter().any(|c| c.slug == slug);
        let mut created = Vec::new();
        let saml = self.saml_connection_input();
        if has(SAML_CONNECTION) {
            let endpoints = proto::ConnectionInput {
                idp_entity_id: saml.idp_entity_id,
                sso_url: saml.sso_url,
                certificates: saml.certificates,
                ..Default::default()
            };
            lanyard
                .update_connection(&ctx, tenant, SAML_CONNECTION, endpoints)
                .await?;
        } else {
            lanyard.create_connection(&ctx, tenant, saml).await?;
            created.push(SAML_CONNECTION);
        }
        let oidc = self.oidc_connection_input();
        if has(OIDC_CONNECTION) {
            let endpoints = proto::OidcConnectionInput {
                issuer: oidc.issuer,
                authorization_endpoint: oidc.authorization_endpoint,
                token_endpoint: oidc.token_endpoint,
                userinfo_endpoint: oidc.userinfo_endpoint,
                jwks_uri: oidc.jwks_uri,
                client_secret: oidc.client_secret,
                ..Default::default()
            };
            lanyard
                .update_oidc_connection(&ctx, tenant, OIDC_CONNECTION, endpoints)
                .await?;
        } else {
            lanyard.create_oidc_connection(&ctx, tenant, oidc).await?;
            created.push(OIDC_CONNECTION);
        }
        Ok(created)
    }
}

fn demo_provisioning() -> proto::ProvisioningInput {
    proto::ProvisioningInput {
        role_claim: Some(Some("groups".into())),
        role_claim_is_role_name: Some(true),
        default_role: Some(Some("standard".into())),
        jit_requires_email: Some(true),
        ..Default::default()
    }
}

/// The test IdP's routes, under [`PREFIX`].
pub fn router<S: Clone + Send + Sync + 'static>(idp: Arc<DevIdp>) -> Router<S> {
    Router::new()
        .route(&format!("{PREFIX}/saml/metadata"), get(saml::metadata))
        .route(
            &format!("{PREFIX}/saml/sso"),
            get(saml::sso_get).post(saml::sso_post),
        )
        .route(
            &format!("{PREFIX}/oidc/.well-known/openid-configuration"),
            get(oidc::discovery),
        )
        .route(&format!("{PREFIX}/oidc/jwks"), get(oidc::jwks))
        .route(
            &format!("{PREFIX}/oidc/authorize"),
            get(oidc::authorize_get).post(oidc::authorize_post),
        )
        .route(
            &format!("{PREFIX}/oidc/token"),
            axum::routing::post(oidc::token),
        )
        .route(&format!("{PREFIX}/oidc/userinfo"), get(oidc::userinfo))
        .with_state(idp)
}
