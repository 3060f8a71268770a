//! Connections to identity providers (SAML 2.0 for now): their settings, validated once when an
//! admin saves them, and the SP URLs derived from the server's public URL.

pub mod sp_credentials;

use crate::audit::Ctx;
use crate::connection::sp_credentials::SpCredentials;
use crate::error::{Error, Result};
use crate::model::{Connection, Tenant, new_id};
use crate::{Lanyard, validate};
use base64::Engine as _;
use lanyard_proto as proto;
use lanyard_saml::metadata::{BINDING_POST, BINDING_REDIRECT, IdpMetadata, parse_idp_metadata};
use lanyard_saml::xml::Limits;
use lanyard_saml::{TrustedKeys, keys::certificates_from_text};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const KIND_SAML: &str = "saml";
pub const KIND_OIDC: &str = "oidc";
pub const KIND_JWT: &str = "jwt";
/// Certificates per connection: enough for a rollover with room to spare.
pub const MAX_CERTIFICATES: usize = 10;
/// Largest IdP metadata document accepted (pasted or fetched).
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
pub const MAX_CLOCK_SKEW_SECS: u32 = 600;
pub const DEFAULT_CLOCK_SKEW_SECS: u32 = 90;

/// The stored SAML settings of a connection (the `settings` JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSettings {
    pub idp_entity_id: String,
    pub sso_url: String,
    /// PEM, one certificate per entry, as normalised at save time.
    pub certificates: Vec<String>,
    #[serde(default)]
    pub idp_metadata_url: Option<String>,
    #[serde(default)]
    pub request_binding: proto::RequestBinding,
    #[serde(default)]
    pub allow_idp_initiated: bool,
    #[serde(default)]
    pub allow_sha1: bool,
    /// Require the Assertion itself to be signed; off by default (a verified Response
    /// signature covers the Assertion). Stored settings always carry the field, so connections
    /// saved while the default was on keep it on.
    #[serde(default)]
    pub require_signed_assertions: bool,
    #[serde(default = "default_skew")]
    pub clock_skew_secs: u32,
    #[serde(default)]
    pub jit: bool,
    #[serde(default)]
    pub username_attribute: Option<String>,
    #[serde(default)]
    pub email_attribute: Option<String>,
    #[serde(default)]
    pub display_name_attribute: Option<String>,
    /// Sign AuthnRequests with the SP key below (for IdPs that require it).
    #[serde(default)]
    pub sign_requests: bool,
    /// Generated when request signing is first turned on; kept when it is turned off again.
    #[serde(default)]
    pub sp_credentials: Option<SpCredentials>,
    /// Where the browser goes after signing out of a session from this connection.
    #[serde(default)]
    pub logoff_url: Option<String>,
}

fn default_skew() -> u32 {
    DEFAULT_CLOCK_SKEW_SECS
}

/// The URLs an IdP administrator copies: derived, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpUrls {
    /// The SP entity ID: the metadata URL, which is unique per tenant and connection.
    pub entity_id: String,
    pub acs_url: String,
    pub metadata_url: String,
    pub login_url: String,
}

pub fn sp_urls(public_url: &str, tenant_slug: &str, connection_slug: &str) -> SpUrls {
    let base = public_url.trim_end_matches('/');
    let saml = format!("{base}/t/{tenant_slug}/saml/{connection_slug}");
    SpUrls {
        entity_id: format!("{saml}/metadata"),
        acs_url: format!("{saml}/acs"),
        metadata_url: format!("{saml}/metadata"),
        login_url: format!("{base}/t/{tenant_slug}/sso/{connection_slug}/start"),
    }
}

/// Where a JWT connection's remote login sends the visitor back with the token.
pub fn verify_url(public_url: &str, tenant_slug: &str, conn_slug: &str) -> String {
    format!(
        "{}/t/{tenant_slug}/jwt/{conn_slug}/verify",
        public_url.trim_end_matches('/')
    )
}

/// The OIDC redirect URI of a connection (registered at the provider).
pub fn callback_url(public_url: &str, tenant_slug: &str, conn_slug: &str) -> String {
    format!(
        "{}/t/{tenant_slug}/oidc/{conn_slug}/callback",
        public_url.trim_end_matches('/')
    )
}

pub fn der_to_pem(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

/// A PEM block with `label` (`CERTIFICATE`, `PRIVATE KEY`, …) around base64 lines of 64.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl SamlSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored connection settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Parses the configured certificates into verification keys.
    pub fn trusted_keys(&self) -> Result<TrustedKeys> {
        let mut ders = Vec::new();
        for pem in &self.certificates {
            ders.extend(certificates_from_text(pem).map_err(Error::Saml)?);
        }
        TrustedKeys::from_der_certs(&ders).map_err(Error::Saml)
    }

    pub fn to_wire(&self) -> proto::SamlSettings {
        let fingerprints = self
            .trusted_keys()
            .map(|k| k.keys().iter().map(|k| k.fingerprint_hex()).collect())
            .unwrap_or_default();
        proto::SamlSettings {
            idp_entity_id: self.idp_entity_id.clone(),
            sso_url: self.sso_url.clone(),
            certificates: self.certificates.clone(),
            certificate_fingerprints: fingerprints,
            idp_metadata_url: self.idp_metadata_url.clone(),
            request_binding: self.request_binding,
            allow_idp_initiated: self.allow_idp_initiated,
            allow_sha1: self.allow_sha1,
            require_signed_assertions: self.require_signed_assertions,
            clock_skew_secs: self.clock_skew_secs,
            jit: self.jit,
            username_attribute: self.username_attribute.clone(),
            email_attribute: self.email_attribute.clone(),
            display_name_attribute: self.display_name_attribute.clone(),
            sign_requests: self.sign_requests,
            sp_certificate: self.sp_credentials.as_ref().map(|c| c.certificate.clone()),
            logoff_url: self.logoff_url.clone(),
        }
    }

    /// Applies an admin's input onto `current` (None on create). Pure: validates everything
    /// and returns the new settings, or the first refusal; nothing is half-applied.
    pub fn apply(current: Option<&Self>, input: &proto::ConnectionInput) -> Result<Self> {
        let md = match &input.metadata_xml {
            Some(xml) => Some(parse_metadata(xml.as_bytes())?),
            None => None,
        };
        if input.metadata_url.is_some() && input.metadata_xml.is_none() {
            return Err(Error::invalid(
                "metadata_url",
                "the metadata at this URL was not fetched",
            ));
        }
        let idp_entity_id = input
            .idp_entity_id
            .clone()
            .or_else(|| md.as_ref().map(|m| m.entity_id.clone()))
            .or_else(|| current.map(|c| c.idp_entity_id.clone()))
            .ok_or_else(|| {
                Error::invalid(
                    "idp_entity_id",
                    "is required (or give metadata_xml / metadata_url)",
                )
            })?;
        validate_entity_id(&idp_entity_id)?;

        let mut request_binding = input
            .request_binding
            .or(current.map(|c| c.request_binding))
            .unwrap_or_default();
        let sso_url = match (&input.sso_url, &md) {
            (Some(u), _) => u.clone(),
            (None, Some(m)) => {
                let (url, binding) = metadata_sso_url(m, request_binding, input.request_binding)?;
                request_binding = binding;
                url
            }
            (None, None) => current.map(|c| c.sso_url.clone()).ok_or_else(|| {
                Error::invalid(
                    "sso_url",
                    "is required (or give metadata_xml / metadata_url)",
                )
            })?,
        };
        validate_http_url("sso_url", &sso_url)?;

        let certificates = match (&input.certificates, &md) {
            (Some(list), _) => {
                let mut ders = Vec::new();
                for text in list {
                    ders.extend(certificates_from_text(text).map_err(|e| Error::SamlConfig {
                        field: "certificates",
                        source: e,
                    })?);
                }
                ders
            }
            (None, Some(m)) => m.signing_certificates.clone(),
            (None, None) => match current {
                Some(c) => {
                    let mut ders = Vec::new();
                    for pem in &c.certificates {
                        ders.extend(certificates_from_text(pem).map_err(Error::Saml)?);
                    }
                    ders
                }
                None => Vec::new(),
            },
        };
        if certificates.is_empty() {
            return Err(Error::invalid(
                "certificates",
                "at least one IdP signing certificate is required (PEM), or give metadata_xml / metadata_url",
            ));
        }
        if certificates.len() > MAX_CERTIFICATES {
            return Err(Error::invalid(
                "certificates",
                format!("at most {MAX_CERTIFICATES} certificates"),
            ));
        }
        // Parses and checks each key (RSA under 2048 bits and unknown key types are refused).
        TrustedKeys::from_der_certs(&certificates).map_err(|e| Error::SamlConfig {
            field: "certificates",
            source: e,
        })?;

        let clock_skew_secs = input
            .clock_skew_secs
            .or(current.map(|c| c.clock_skew_secs))
            .unwrap_or(DEFAULT_CLOCK_SKEW_SECS);
        if clock_skew_secs > MAX_CLOCK_SKEW_SECS {
            return Err(Error::invalid(
                "clock_skew_secs",
                format!("must be between 0 and {MAX_CLOCK_SKEW_SECS}"),
            ));
        }
        let attr = |field: &'static str,
                    given: &Option<Option<String>>,
                    cur: Option<&Option<String>>|
         -> Result<Option<String>> {
            let v = match given {
                Some(v) => v.clone(),
                None => cur.cloned().flatten(),
            };
            if let Some(a) = &v {
                validate_attribute_name(field, a)?;
            }
            Ok(v)
        };
        let logoff_url = match &input.logoff_url {
            Some(v) => v.clone(),
            None => current.and_then(|c| c.logoff_url.clone()),
        };
        if let Some(u) = &logoff_url {
            validate_logoff_url(u)?;
        }
        let flag = |given: Option<bool>, cur: Option<bool>, default: bool| {
            given.or(cur).unwrap_or(default)
        };
        Ok(Self {
            idp_entity_id,
            sso_url,
            certificates: certificates.iter().map(|d| der_to_pem(d)).collect(),
            idp_metadata_url: if input.metadata_xml.is_some() {
                input.metadata_url.clone()
            } else {
                current.and_then(|c| c.idp_metadata_url.clone())
            },
            request_binding,
            allow_idp_initiated: flag(
                input.allow_idp_initiated,
                current.map(|c| c.allow_idp_initiated),
                false,
            ),
            allow_sha1: flag(input.allow_sha1, current.map(|c| c.allow_sha1), false),
            require_signed_assertions: flag(
                input.require_signed_assertions,
                current.map(|c| c.require_signed_assertions),
                false,
            ),
            clock_skew_secs,
            jit: flag(input.jit, current.map(|c| c.jit), false),
            username_attribute: attr(
                "username_attribute",
                &input.username_attribute,
                current.map(|c| &c.username_attribute),
            )?,
            email_attribute: attr(
                "email_attribute",
                &input.email_attribute,
                current.map(|c| &c.email_attribute),
            )?,
            display_name_attribute: attr(
                "display_name_attribute",
                &input.display_name_attribute,
                current.map(|c| &c.display_name_attribute),
            )?,
            sign_requests: flag(input.sign_requests, current.map(|c| c.sign_requests), false),
            sp_credentials: current.and_then(|c| c.sp_credentials.clone()),
            logoff_url,
        })
    }
}

fn parse_metadata(bytes: &[u8]) -> Result<IdpMetadata> {
    let limits = Limits {
        max_bytes: MAX_METADATA_BYTES,
        max_nodes: 200_000,
        ..Limits::default()
    };
    parse_idp_metadata(bytes, &limits).map_err(|e| Error::SamlConfig {
        field: "metadata_xml",
        source: e,
    })
}

/// The SSO endpoint of the wanted binding; when the binding was not chosen explicitly and the
/// IdP offers only the other one, that one (and its binding) is taken.
fn metadata_sso_url(
    m: &IdpMetadata,
    wanted: proto::RequestBinding,
    explicit: Option<proto::RequestBinding>,
) -> Result<(String, proto::RequestBinding)> {
    let uri = |b| match b {
        proto::RequestBinding::Redirect => BINDING_REDIRECT,
        proto::RequestBinding::Post => BINDING_POST,
    };
    if let Some(u) = m.sso_url(uri(wanted)) {
        return Ok((u.to_owned(), wanted));
    }
    let other = match wanted {
        proto::RequestBinding::Redirect => proto::RequestBinding::Post,
        proto::RequestBinding::Post => proto::RequestBinding::Redirect,
    };
    match (explicit, m.sso_url(uri(other))) {
        (None, Some(u)) => Ok((u.to_owned(), other)),
        _ => Err(Error::invalid(
            "metadata_xml",
            "the metadata has no SingleSignOnService for the chosen request binding; set sso_url",
        )),
    }
}

fn validate_entity_id(s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 1024 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "idp_entity_id",
            "must be 1-1024 characters without spaces, exactly as in the IdP metadata's entityID",
        ));
    }
    Ok(())
}

/// An absolute http(s) URL without credentials or fragment.
pub fn validate_http_url(field: &'static str, s: &str) -> Result<url::Url> {
    let bad = || Error::invalid(field, "must be an absolute http:// or https:// URL");
    if s.len() > 2048 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad());
    }
    let u = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none_or(str::is_empty)
        || !u.username().is_empty()
        || u.password().is_some()
        || u.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(u)
}

/// A logoff URL: https, or http only on a loopback host (development).
fn validate_logoff_url(s: &str) -> Result<()> {
    let u = validate_http_url("logoff_url", s)?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if u.scheme() != "https" && !loopback {
        return Err(Error::invalid(
            "logoff_url",
            "must be an https:// URL (http:// only on localhost or a loopback address)",
        ));
    }
    Ok(())
}

fn validate_attribute_name(field: &'static str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > 256 || s.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be 1-256 characters: the attribute's Name or FriendlyName",
        ));
    }
    Ok(())
}

pub(crate) fn validate_name(s: &str) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must be 1-256 characters without control characters",
        ));
    }
    Ok(())
}

impl Connection {
    pub fn saml_settings(&self) -> Result<SamlSettings> {
        SamlSettings::from_json(&self.settings)
    }

    pub fn to_wire(&self, tenant_slug: &str, public_url: &str) -> Result<proto::Connection> {
        let urls = sp_urls(public_url, tenant_slug, &self.slug);
        let mut w = proto::Connection {
            id: self.id.clone(),
            tenant: tenant_slug.to_owned(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            enabled: self.enabled,
            sp_entity_id: None,
            acs_url: None,
            metadata_url: None,
            verify_url: None,
            login_url: urls.login_url,
            saml: None,
            jwt: None,
            callback_url: None,
            oidc: None,
            provisioning: self.provisioning_settings()?.to_wire(&self.kind),
            created_at: crate::clock::rfc3339(self.created_at),
            updated_at: crate::clock::rfc3339(self.updated_at),
        };
        match self.kind.as_str() {
            KIND_JWT => {
                w.verify_url = Some(verify_url(public_url, tenant_slug, &self.slug));
                w.jwt = Some(self.jwt_settings()?.to_wire());
            }
            KIND_OIDC => {
                w.callback_url = Some(callback_url(public_url, tenant_slug, &self.slug));
                w.oidc = Some(self.oidc_settings()?.to_wire());
            }
            _ => {
                w.sp_entity_id = Some(urls.entity_id);
                w.acs_url = Some(urls.acs_url);
                w.metadata_url = Some(urls.metadata_url);
                w.saml = Some(self.saml_settings()?.to_wire());
            }
        }
        Ok(w)
    }
}

/// What the audit log keeps of a settings change (certificates by fingerprint, no metadata).
fn audit_details(c: &Connection, s: &SamlSettings, changed: &[&str]) -> serde_json::Value {
    let w = s.to_wire();
    json!({
        "connection": c.slug, "connection_id": c.id, "name": c.name, "enabled": c.enabled,
        "changed": changed, "idp_entity_id": w.idp_entity_id, "sso_url": w.sso_url,
        "certificate_fingerprints": w.certificate_fingerprints, "idp_metadata_url": w.idp_metadata_url,
        "request_binding": w.request_binding, "allow_idp_initiated": w.allow_idp_initiated,
        "allow_sha1": w.allow_sha1, "require_signed_assertions": w.require_signed_assertions,
        "clock_skew_secs": w.clock_skew_secs, "jit": w.jit, "sign_requests": w.sign_requests,
        "logoff_url": w.logoff_url,
    })
}

/// The names of the input fields that were given, for the audit record.
fn given_fields(i: &proto::ConnectionInput) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut add = |present: bool, name| {
        if present {
            v.push(name);
        }
    };
    add(i.name.is_some(), "name");
    add(i.enabled.is_some(), "enabled");
    add(i.idp_entity_id.is_some(), "idp_entity_id");
    add(i.sso_url.is_some(), "sso_url");
    add(i.certificates.is_some(), "certificates");
    add(i.metadata_xml.is_some(), "metadata_xml");
    add(i.metadata_url.is_some(), "metadata_url");
    add(i.request_binding.is_some(), "request_binding");
    add(i.allow_idp_initiated.is_some(), "allow_idp_initiated");
    add(i.allow_sha1.is_some(), "allow_sha1");
    add(
        i.require_signed_assertions.is_some(),
        "require_signed_assertions",
    );
    add(i.clock_skew_secs.is_some(), "clock_skew_secs");
    add(i.jit.is_some(), "jit");
    add(i.username_attribute.is_some(), "username_attribute");
    add(i.email_attribute.is_some(), "email_attribute");
    add(i.display_name_attribute.is_some(), "display_name_attribute");
    add(i.sign_requests.is_some(), "sign_requests");
    add(i.logoff_url.is_some(), "logoff_url");
    v
}

impl Lanyard {
    /// Generates the SP signing key the first time request signing is turned on.
    async fn ensure_sp_credentials(
        &self,
        connection_id: &str,
        tenant: &str,
        conn: &str,
        s: &mut SamlSettings,
    ) -> Result<()> {
        if !s.sign_requests || s.sp_credentials.is_some() {
            return Ok(());
        }
        let (master, id, cn, now) = (
            self.master_key().clone(),
            connection_id.to_owned(),
            format!("{tenant} / {conn}"),
            self.now(),
        );
        let creds =
            tokio::task::spawn_blocking(move || SpCredentials::generate(&master, &id, &cn, now))
                .await
                .map_err(|e| Error::Internal(format!("key generation task failed: {e}")))??;
        s.sp_credentials = Some(creds);
        Ok(())
    }

    pub async fn create_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        input: proto::ConnectionInput,
    ) -> Result<(Tenant, Connection)> {
        let t = self.connection_tenant(ctx, slug).await?;
        let n = NewConnection::from_input(
            input.slug.as_ref(),
            input.name.as_ref(),
            input.enabled,
            ("okta", "Okta"),
        )?;
        let mut settings = SamlSettings::apply(None, &input)?;
        self.ensure_sp_credentials(&n.id, &t.slug, &n.slug, &mut settings)
            .await?;
        let c = self
            .insert_new_connection(
                ctx,
                &t,
                n,
                (KIND_SAML, settings.to_json()),
                input.provisioning.as_ref(),
                |c| audit_details(c, &settings, &given_fields(&input)),
            )
            .await?;
        Ok((t, c))
    }

    pub async fn list_connections(
        &self,
        ctx: &Ctx,
        slug: &str,
    ) -> Result<(Tenant, Vec<Connection>)> {
        let t = self.admin_tenant(ctx, slug).await?;
        let rows = self.store.list_connections(&t.id).await?;
        Ok((t, rows))
    }

    pub async fn get_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        conn_slug: &str,
    ) -> Result<(Tenant, Connection)> {
        let t = self.connection_tenant(ctx, slug).await?;
        let c = self
            .store
            .connection_by_slug(&t.id, conn_slug)
            .await?
            .ok_or_else(|| Error::ConnectionNotFound(conn_slug.to_owned()))?;
        Ok((t, c))
    }

    pub async fn update_connection(
        &self,
        ctx: &Ctx,
        slug: &str,
        conn_slug: &str,
        input: proto::ConnectionInput,
    ) -> Result<(Tenant, Connection)> {
        let (t, mut c) = self.get_connection(ctx, slug, conn_slug).await?;
        if let Some(s) = &input.slug
            && *s != c.slug
        {
            return Err(Error::invalid(
                "slug",
                "cannot change: it is part of the SP entity ID and ACS URL the IdP knows; create a new connection instead",
            ));
        }
        if c.kind != KIND_SAML {
            return Err(Error::invalid(
                "kind",
                "this connection is not a SAML connection; update it at its own kind's endpoint (e.g. /jwt-connections/{connection})",
            ));
        }
        if let Some(n) = &input.name {
            validate_name(n)?;
        }
        let current = c.saml_settings()?;
        let mut settings = SamlSettings::apply(Some(&current), &input)?;
        self.ensure_sp_credentials(&c.id, &t.slug, &c.slug, &mut settings)
            .await?;
        if let Some(n) = &input.name {
            c.name = n.clone();
        }
        let was_enabled = self
            .apply_common_update(&t, &mut c, input.enabled, input.provisioning.as_ref())
            .await?;
        c.settings = settings.to_json();
        c.updated_at = self.now();
        let ev = ctx
            .event(c.updated_at, Some(&t.slug), "connection.updated")
            .details(audit_details(&c, &settings, &given_fields(&input)));
        self.save_connection_update(ctx, &t, &c, was_enabled, ev)
            .await?;
        Ok((t, c))
    }

    pub async fn delete_connection(&self, ctx: &Ctx, slug: &str, conn_slug: &str) -> Result<()> {
        self.admin_tenant(ctx, slug).await?;
        let (t, c) = self.get_connection(ctx, slug, conn_slug).await?;
        let ev = ctx
            .event(self.now(), Some(&t.slug), "connection.deleted")
            .details(json!({"connection": c.slug, "connection_id": c.id}));
        let fallout = if c.enabled {
            self.connection_fallout(ctx, &t, &c, true).await?
        } else {
            crate::store::Changes::at(self.now())
        };
        let deleted = self
            .store
            .delete_connection(&t.id, &c.id, &ev, &fallout)
            .await?;
        self.settings_cache().clear();
        if !deleted {
            return Err(Error::ConnectionNotFound(conn_slug.to_owned()));
        }
        self.changes_seen(&fallout);
        Ok(())
    }
}

/// A connection about to be created: a fresh ID and the checked slug, name and enabled flag
/// every kind's create needs.
pub(crate) struct NewConnection {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub enabled: bool,
}

impl NewConnection {
    /// Checks `slug` and `name` (required on create); `examples` name a slug and a name for the
    /// error message, e.g. `("okta", "Okta")`.
    pub(crate) fn from_input(
        slug: Option<&String>,
        name: Option<&String>,
        enabled: Option<bool>,
        examples: (&str, &str),
    ) -> Result<Self> {
        let slug = slug
            .cloned()
            .ok_or_else(|| Error::invalid("slug", format!("is required, e.g. `{}`", examples.0)))?;
        validate::slug(&slug)?;
        let name = name
            .cloned()
            .ok_or_else(|| Error::invalid("name", format!("is required, e.g. `{}`", examples.1)))?;
        validate_name(&name)?;
        Ok(Self {
            id: new_id(),
            slug,
            name,
            enabled: enabled.unwrap_or(true),
        })
    }
}

impl Lanyard {
    /// Stores a new connection of `kind` with `settings` (its protocol JSON), its provisioning
    /// settings, and the `connection.created` audit event `details` describes.
    pub(crate) async fn insert_new_connection(
        &self,
        ctx: &Ctx,
        t: &Tenant,
        n: NewConnection,
        (kind, settings): (&str, String),
        provisioning: Option<&proto::ProvisioningInput>,
        details: impl FnOnce(&Connection) -> serde_json::Value,
    ) -> Result<Connection> {
        let now = self.now();
        let c = Connection {
            id: n.id,
            tenant_id: t.id.clone(),
            slug: n.slug,
            name: n.name,
            kind: kind.to_owned(),
            enabled: n.enabled,
            settings,
            provisioning: self.provisioning_json(t, kind, None, provisioning).await?,
            created_at: now,
            updated_at: now,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "connection.created")
            .details(details(&c));
        self.store.insert_connection(&c, &ev).await?;
        self.settings_cache().clear();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_urls_are_derived_per_tenant_and_connection() {
        let u = sp_urls("https://sso.example.com/", "acme", "okta");
        assert_eq!(
            u.entity_id,
            "https://sso.example.com/t/acme/saml/okta/metadata"
        );
        assert_eq!(u.acs_url, "https://sso.example.com/t/acme/saml/okta/acs");
        assert_eq!(u.metadata_url, u.entity_id);
        assert_eq!(u.login_url, "https://sso.example.com/t/acme/sso/okta/start");
    }

    #[test]
    fn http_urls_only() {
        assert!(validate_http_url("sso_url", "https://idp.example/sso").is_ok());
        for bad in [
            "ftp://idp.example/",
            "javascript:alert(1)",
            "/relative",
            "https://user:pw@idp.example/",
            "https://idp.example/#frag",
            "https://idp.example/ x",
        ] {
            assert!(validate_http_url("sso_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_settings_are_named() {
        let err = SamlSettings::apply(None, &proto::ConnectionInput::default()).unwrap_err();
        assert_eq!(err.code(), "request.invalid_field");
        assert!(err.to_string().starts_with("idp_entity_id"), "{err}");
    }
}
