//! "Save and test": a test sign-in is verified exactly as a real one (the same verifier, the same
//! pending-login and replay checks), then, instead of provisioning, reported: what the IdP sent
//! (raw and as mapped), the federation ID, what just-in-time provisioning would do (a dry run
//! that reads the store and writes nothing but the audit event `connection.tested`), the role and
//! why, and warnings for the IT admin. No session is opened and no user changes.

use crate::Lanyard;
use crate::audit::{Actor, Ctx, RequestMeta};
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::model::{Connection, Tenant, User};
use serde_json::{Value, json};

/// A certificate expiring within this many days is warned about.
pub const CERT_WARN_DAYS: i64 = 30;

/// What provisioning would do with the tested identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitPreview {
    /// The identity is linked to this user; these fields would change (field, from, to).
    Update {
        username: String,
        changes: Vec<(String, String, String)>,
    },
    /// A new account would be created.
    Create {
        username: String,
        email: Option<String>,
        display_name: Option<String>,
    },
    /// The sign-in would be refused, with this code and sentence.
    Refused { code: String, message: String },
}

/// The result of a successful test sign-in.
#[derive(Debug, Clone)]
pub struct TestReport {
    pub connection_slug: String,
    pub connection_name: String,
    pub method: &'static str,
    pub federation_id: String,
    /// The claims or attributes as received, pretty-printed JSON.
    pub raw_claims: String,
    /// What Lanyard read from them: (field, value).
    pub mapped: Vec<(&'static str, String)>,
    pub jit: JitPreview,
    /// The role a sign-in would give, and why (`role_mapping`, `claim_names_role`,
    /// `default_role`, `none`, or `unchanged` for a linked user whose role is not synced).
    pub role: Option<String>,
    pub role_source: &'static str,
    /// The role table's row that matched (`value => role`), when one did.
    pub role_row: Option<String>,
    pub warnings: Vec<String>,
}

/// Subject, SHA-256 fingerprint and expiry of a PEM (or bare base64 DER) certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub sha256: String,
    pub not_after: UnixTime,
}

impl CertInfo {
    pub fn expires_within(&self, now: UnixTime, days: i64) -> bool {
        self.not_after - now < days * 86_400
    }
}

/// Reads a certificate for display; `None` when it does not parse.
pub fn cert_info(text: &str) -> Option<CertInfo> {
    use base64::Engine as _;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    let sha256 = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Some(CertInfo {
        subject: cert.subject().to_string(),
        sha256,
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Protocol facts a report warns about, beside what the identity carries.
#[derive(Debug, Clone, Default)]
pub struct TestFacts {
    /// SAML: the NameID format was transient (a new value at every sign-in).
    pub transient_name_id: bool,
    /// Seconds the IdP's clock is ahead of ours (its authentication instant lies in our future).
    pub idp_clock_ahead_secs: Option<i64>,
    /// The certificates the connection trusts (to warn about expiry).
    pub certificates: Vec<String>,
}

const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// Whether a SAML NameID format is transient.
pub fn is_transient(format: Option<&str>) -> bool {
    format == Some(TRANSIENT)
}

/// The warnings for an IT admin about a tested identity (pure).
pub fn warnings(id: &Identity, facts: &TestFacts, now: UnixTime) -> Vec<String> {
    let mut out = Vec::new();
    if id.email.is_some() && !id.email_verified {
        out.push("The email address is not marked as verified by the identity provider: Lanyard will not use it to create or match accounts, nor mail it.".to_owned());
    }
    if facts.transient_name_id {
        out.push("The NameID is transient (it changes at every sign-in): use a persistent NameID or name a stable attribute as the federation ID, otherwise every sign-in looks like a new person.".to_owned());
    }
    let raw = id.raw_claims.to_string();
    if raw.contains("http://schemas.microsoft.com/claims/groups.link")
        || raw.contains("\"_claim_names\"")
        || raw.contains("hasgroups")
    {
        out.push("Entra ID sent a groups overage (the user is in too many groups to list): role mapping by group will not see them; assign app roles or filter the groups claim to the groups assigned to the application.".to_owned());
    }
    if let Some(ahead) = facts.idp_clock_ahead_secs.filter(|s| *s > 0) {
        out.push(format!("The identity provider's clock is about {ahead} seconds ahead of this server's; keep both synchronised (NTP), or sign-ins will fail once the difference passes the allowed clock skew."));
    }
    for c in facts.certificates.iter().filter_map(|c| cert_info(c)) {
        if c.expires_within(now, CERT_WARN_DAYS) {
            out.push(format!("The IdP certificate {} ({}) expires within {CERT_WARN_DAYS} days: add its successor to the connection before then.", c.subject, c.sha256));
        }
    }
    out.extend(id.claimed_username().1);
    out
}

/// One field for the mapped list.
fn opt(v: Option<&str>) -> String {
    v.unwrap_or("—").to_owned()
}

impl Lanyard {
    /// Builds the report of a verified test identity (a dry run of provisioning) and audits it
    /// as `connection.tested`. `ctx_meta` is the request's.
    pub async fn test_report(
        &self,
        tenant: &Tenant,
        c: &Connection,
        jit: bool,
        id: &Identity,
        facts: &TestFacts,
        meta: &RequestMeta,
    ) -> Result<TestReport> {
        let p = c.provisioning_settings()?;
        let (wanted, source) = self.resolve_role_for(tenant, &p, id).await?;
        let linked = self
            .store
            .federated_user(&tenant.id, &c.id, &id.federation_id)
            .await?;
        let mut role = wanted.clone();
        let mut role_source = source.as_str();
        let jit_preview = match &linked {
            Some(u) => {
                let sync = p.role_sync != lanyard_proto::RoleSync::AtCreation;
                if !sync
                    || (p.role_sync == lanyard_proto::RoleSync::EveryLogin && !source.from_claims())
                {
                    role = u.role.clone();
                    role_source = "unchanged";
                }
                update_preview(u, id, role.as_deref())
            }
            None => self.create_preview(tenant, c, jit, id, &p).await?,
        };
        let mut mfa_refusal = None;
        if !p.required_authn_contexts.is_empty()
            && !id
                .authn_contexts
                .iter()
                .any(|a| p.required_authn_contexts.contains(a))
        {
            let e = Error::MfaRequired {
                got: id.authn_contexts.join(", "),
            };
            mfa_refusal = Some(JitPreview::Refused {
                code: e.code().to_owned(),
                message: e.to_string(),
            });
        }
        let now = self.now();
        let report = TestReport {
            connection_slug: c.slug.clone(),
            connection_name: c.name.clone(),
            method: id.method,
            federation_id: id.federation_id.clone(),
            raw_claims: serde_json::to_string_pretty(&id.raw_claims).unwrap_or_default(),
            mapped: vec![
                ("federation_id", id.federation_id.clone()),
                ("username", opt(id.username.as_deref())),
                ("email", opt(id.email.as_deref())),
                ("email_verified", id.email_verified.to_string()),
                ("display_name", opt(id.display_name.as_deref())),
                ("role_claims", id.role_claims.join(", ")),
                ("authn_contexts", id.authn_contexts.join(", ")),
            ],
            jit: mfa_refusal.unwrap_or(jit_preview),
            role_row: p
                .role_mapping
                .iter()
                .find(|m| id.role_claims.contains(&m.value))
                .filter(|_| role_source == "role_mapping")
                .map(|m| format!("{} => {}", m.value, m.role)),
            role,
            role_source,
            warnings: warnings(id, facts, now),
        };
        let outcome = match &report.jit {
            JitPreview::Update { .. } => "would_update",
            JitPreview::Create { .. } => "would_create",
            JitPreview::Refused { .. } => "would_refuse",
        };
        let ev = Ctx::new(Actor::System, meta.clone())
            .event(now, Some(&tenant.slug), "connection.tested")
            .details(json!({
                "connection": c.slug, "method": id.method, "federation_id": id.federation_id,
                "outcome": outcome, "role": report.role, "role_source": report.role_source,
                "warnings": report.warnings, "claims": bounded(&id.raw_claims),
            }));
        self.store.insert_audit(&ev).await?;
        Ok(report)
    }

    async fn create_preview(
        &self,
        tenant: &Tenant,
        c: &Connection,
        jit: bool,
        id: &Identity,
        p: &crate::identity::provisioning::ProvisioningSettings,
    ) -> Result<JitPreview> {
        let refused = |e: Error| JitPreview::Refused {
            code: e.code().to_owned(),
            message: e.to_string(),
        };
        if !jit {
            return Ok(refused(Error::FederatedUnknownUser {
                tenant: tenant.slug.clone(),
                connection: c.slug.clone(),
                federation_id: id.federation_id.chars().take(256).collect(),
            }));
        }
        let email = id.verified_email().map(str::to_owned);
        if let Some(e) = &email
            && self.store.user_by_email(&tenant.id, e).await?.is_some()
        {
            return Ok(refused(Error::AccountExistsUseInvitation));
        }
        if email.is_none() && p.requires_email(&c.kind) {
            return Ok(refused(Error::ProvisioningMissingEmail(
                id.email_sources.join(", "),
            )));
        }
        let (username, _) = id.new_account_username();
        if self
            .store
            .user_by_username(&tenant.id, &username)
            .await?
            .is_some()
        {
            return Ok(refused(Error::ProvisioningUsernameTaken(username)));
        }
        Ok(JitPreview::Create {
            username,
            email,
            display_name: id.display_name.clone(),
        })
    }
}

/// What a later sign-in of a linked user would change.
fn update_preview(u: &User, id: &Identity, role: Option<&str>) -> JitPreview {
    let mut changes = Vec::new();
    let mut diff = |field: &str, from: Option<&str>, to: Option<&str>| {
        if let Some(to) = to
            && from != Some(to)
        {
            changes.push((field.to_owned(), opt(from), to.to_owned()));
        }
    };
    diff("username", Some(&u.username), id.claimed_username().0);
    diff("email", u.email.as_deref(), id.verified_email());
    diff(
        "display_name",
        u.display_name.as_deref(),
        id.display_name.as_deref(),
    );
    if u.role.as_deref() != role {
        changes.push(("role".to_owned(), opt(u.role.as_deref()), opt(role)));
    }
    JitPreview::Update {
        username: u.username.clone(),
        changes,
    }
}

fn bounded(v: &Value) -> Value {
    if v.to_string().len() <= 8 * 1024 {
        v.clone()
    } else {
        json!({"omitted": "the claims are larger than 8 KiB"})
    }
}
