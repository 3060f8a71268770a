//! A connection's provisioning settings (the `provisioning` JSON column, one shape for every
//! kind): attribute preset, federation-ID attribute, JIT requirements and the role rules —
//! the role table, role claims naming tenant roles, the default role and when roles sync.
//! Pure: settings and claims in, a role (and why) out; [`super::provisioning`] applies them.

use crate::error::{Error, Result};
use crate::model::Connection;
use lanyard_proto as proto;
use serde::{Deserialize, Serialize};

pub const MAX_ROLE_MAPPINGS: usize = 200;

/// A connection's provisioning settings (the `provisioning` JSON column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisioningSettings {
    pub attribute_preset: proto::AttributePreset,
    pub federation_id_attribute: Option<String>,
    pub role_claim: Option<String>,
    pub role_mapping: Vec<proto::RoleMapping>,
    pub default_role: Option<String>,
    pub role_sync: proto::RoleSync,
    /// Role-claim values may name tenant roles directly (case-insensitive), after the table.
    pub role_claim_is_role_name: bool,
    /// `None`: the kind's default (SAML requires an email to create accounts, the others not).
    pub jit_requires_email: Option<bool>,
    /// Acceptable authentication contexts (SAML AuthnContextClassRef, OIDC `acr`/`amr`
    /// values); a login with none of them is refused. Empty: no requirement.
    pub required_authn_contexts: Vec<String>,
}

/// At most this many acceptable authentication contexts per connection.
pub const MAX_AUTHN_CONTEXTS: usize = 20;

fn claim_name(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be an attribute or claim name of 1-256 characters",
        ));
    }
    Ok(())
}

impl ProvisioningSettings {
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::Internal(format!("stored provisioning settings unreadable: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn requires_email(&self, kind: &str) -> bool {
        self.jit_requires_email
            .unwrap_or(kind == crate::connection::KIND_SAML)
    }

    pub fn to_wire(&self, kind: &str) -> proto::Provisioning {
        proto::Provisioning {
            attribute_preset: self.attribute_preset,
            federation_id_attribute: self.federation_id_attribute.clone(),
            role_claim: self.role_claim.clone(),
            role_mapping: self.role_mapping.clone(),
            default_role: self.default_role.clone(),
            role_sync: self.role_sync,
            role_claim_is_role_name: self.role_claim_is_role_name,
            jit_requires_email: self.requires_email(kind),
            required_authn_contexts: self.required_authn_contexts.clone(),
        }
    }

    /// Applies an admin's change; role names are checked against the tenant by the caller.
    pub fn apply(&self, input: &proto::ProvisioningInput, kind: &str) -> Result<Self> {
        let mut s = self.clone();
        if let Some(p) = input.attribute_preset {
            s.attribute_preset = p;
        }
        if let Some(a) = &input.federation_id_attribute {
            if let Some(a) = a {
                if kind != crate::connection::KIND_SAML {
                    return Err(Error::invalid(
                        "provisioning.federation_id_attribute",
                        "applies to SAML connections only; OIDC connections use `key_claim`, JWT remote login `sub`",
                    ));
                }
                claim_name("provisioning.federation_id_attribute", a)?;
            }
            s.federation_id_attribute = a.clone();
        }
        if let Some(c) = &input.role_claim {
            if let Some(c) = c {
                claim_name("provisioning.role_claim", c)?;
            }
            s.role_claim = c.clone();
        }
        if let Some(m) = &input.role_mapping {
            if m.len() > MAX_ROLE_MAPPINGS {
                return Err(Error::invalid(
                    "provisioning.role_mapping",
                    format!("at most {MAX_ROLE_MAPPINGS} rows"),
                ));
            }
            for row in m {
                if row.value.is_empty()
                    || row.value.len() > 512
                    || row.value.chars().any(char::is_control)
                {
                    return Err(Error::invalid(
                        "provisioning.role_mapping",
                        "each value must be 1-512 characters",
                    ));
                }
            }
            s.role_mapping = m.clone();
        }
        if let Some(r) = &input.default_role {
            s.default_role = r.clone();
        }
        if let Some(r) = input.role_sync {
            s.role_sync = r;
        }
        if let Some(r) = input.jit_requires_email {
            s.jit_requires_email = Some(r);
        }
        if let Some(r) = input.role_claim_is_role_name {
            s.role_claim_is_role_name = r;
        }
        if let Some(list) = &input.required_authn_contexts {
            if !list.is_empty() && kind == crate::connection::KIND_JWT {
                return Err(Error::invalid(
                    "provisioning.required_authn_contexts",
                    "applies to SAML (AuthnContextClassRef) and OIDC (acr/amr) connections only",
                ));
            }
            if list.len() > MAX_AUTHN_CONTEXTS
                || list
                    .iter()
                    .any(|v| v.is_empty() || v.len() > 512 || v.chars().any(char::is_control))
            {
                return Err(Error::invalid(
                    "provisioning.required_authn_contexts",
                    format!("at most {MAX_AUTHN_CONTEXTS} values of 1-512 characters"),
                ));
            }
            s.required_authn_contexts = list.clone();
        }
        Ok(s)
    }

    /// The role the claims grant through the role table (first matching row), if any.
    pub fn mapped_role(&self, role_claims: &[String]) -> Option<&str> {
        self.role_mapping
            .iter()
            .find(|m| role_claims.contains(&m.value))
            .map(|m| m.role.as_str())
    }

    /// The tenant role the first role-claim value naming one designates (in the order the IdP
    /// sent them; an exact name first, else case-insensitively), when the connection lets the
    /// claim name roles.
    pub fn named_role<'r>(
        &self,
        role_claims: &[String],
        tenant_roles: &'r [String],
    ) -> Option<&'r str> {
        if !self.role_claim_is_role_name {
            return None;
        }
        role_claims.iter().find_map(|v| {
            let v = v.trim();
            tenant_roles
                .iter()
                .find(|r| r.as_str() == v)
                .or_else(|| tenant_roles.iter().find(|r| r.eq_ignore_ascii_case(v)))
                .map(String::as_str)
        })
    }

    /// The role the claims resolve to, and from where. The order: (1) the first row of the role
    /// table matching a claim value; (2) with `role_claim_is_role_name`, the first claim value
    /// naming a tenant role; (3) the default role; (4) no role. Whether (3) and (4) apply
    /// depends on the sync mode: see [`Lanyard::provision`].
    pub fn resolve_role(
        &self,
        role_claims: &[String],
        tenant_roles: &[String],
    ) -> (Option<String>, RoleSource) {
        if let Some(r) = self.mapped_role(role_claims) {
            return (Some(r.to_owned()), RoleSource::RoleMapping);
        }
        if let Some(r) = self.named_role(role_claims, tenant_roles) {
            return (Some(r.to_owned()), RoleSource::ClaimNamesRole);
        }
        match &self.default_role {
            Some(r) => (Some(r.clone()), RoleSource::DefaultRole),
            None => (None, RoleSource::NoRole),
        }
    }

    /// Every role name the settings mention (to check they exist in the tenant).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.role_mapping
            .iter()
            .map(|m| m.role.as_str())
            .chain(self.default_role.as_deref())
    }
}

/// Where a resolved role came from (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    RoleMapping,
    ClaimNamesRole,
    DefaultRole,
    NoRole,
}

impl RoleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoleMapping => "role_mapping",
            Self::ClaimNamesRole => "claim_names_role",
            Self::DefaultRole => "default_role",
            Self::NoRole => "none",
        }
    }

    /// The claims themselves granted the role (not the fallback).
    pub fn from_claims(self) -> bool {
        matches!(self, Self::RoleMapping | Self::ClaimNamesRole)
    }
}

impl Connection {
    pub fn provisioning_settings(&self) -> Result<ProvisioningSettings> {
        ProvisioningSettings::from_json(&self.provisioning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(&str, &str)]) -> Vec<proto::RoleMapping> {
        r.iter()
            .map(|(v, role)| proto::RoleMapping {
                value: (*v).into(),
                role: (*role).into(),
            })
            .collect()
    }

    #[test]
    fn first_matching_row_wins() {
        let p = ProvisioningSettings {
            role_mapping: rows(&[("Admins", "admin"), ("Staff", "standard")]),
            default_role: Some("viewer".into()),
            ..Default::default()
        };
        let claims = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(p.mapped_role(&claims(&["Staff", "Admins"])), Some("admin"));
        assert_eq!(p.mapped_role(&claims(&["Staff"])), Some("standard"));
        assert_eq!(
            p.mapped_role(&claims(&["admins"])),
            None,
            "values match exactly"
        );
        assert_eq!(p.mapped_role(&[]), None);
    }

    /// Issue 15: the resolution order, every branch: table row, claim naming a role (exact
    /// first, else case-insensitive; first matching value of a multi-valued claim), default,
    /// none.
    #[test]
    fn role_resolution_order() {
        let roles: Vec<String> = ["admin", "auditor", "standard", "viewer"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let claims = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut p = ProvisioningSettings {
            role_mapping: rows(&[("Okta-Admins", "admin")]),
            default_role: Some("viewer".into()),
            role_claim_is_role_name: true,
            ..Default::default()
        };
        let r = |p: &ProvisioningSettings, c: &[&str]| {
            let (role, src) = p.resolve_role(&claims(c), &roles);
            (role, src.as_str())
        };
        // The table wins over a value naming a role, wherever it is in the claim.
        assert_eq!(
            r(&p, &["standard", "Okta-Admins"]),
            (Some("admin".into()), "role_mapping")
        );
        assert_eq!(
            r(&p, &["standard"]),
            (Some("standard".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &["AUDITOR"]),
            (Some("auditor".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &[" viewer "]),
            (Some("viewer".into()), "claim_names_role")
        );
        assert_eq!(
            r(&p, &["nobody", "Standard", "admin"]),
            (Some("standard".into()), "claim_names_role"),
            "first value that names a role"
        );
        assert_eq!(
            r(&p, &["no-such-role"]),
            (Some("viewer".into()), "default_role")
        );
        assert_eq!(r(&p, &[]), (Some("viewer".into()), "default_role"));
        p.default_role = None;
        assert_eq!(r(&p, &["no-such-role"]), (None, "none"));
        assert_eq!(r(&p, &[]), (None, "none"));
        p.role_claim_is_role_name = false;
        assert_eq!(
            r(&p, &["standard"]),
            (None, "none"),
            "off: names are not roles"
        );
        assert_eq!(
            r(&p, &["Okta-Admins"]),
            (Some("admin".into()), "role_mapping")
        );
    }

    #[test]
    fn apply_validates_and_merges() {
        let p = ProvisioningSettings::default();
        let i = proto::ProvisioningInput {
            federation_id_attribute: Some(Some("employeeId".into())),
            ..Default::default()
        };
        assert!(p.apply(&i, "oidc").is_err(), "SAML only");
        let p = p.apply(&i, "saml").unwrap();
        assert_eq!(p.federation_id_attribute.as_deref(), Some("employeeId"));
        let p = p
            .apply(
                &proto::ProvisioningInput {
                    role_sync: Some(proto::RoleSync::EveryLogin),
                    ..Default::default()
                },
                "saml",
            )
            .unwrap();
        assert_eq!(
            p.federation_id_attribute.as_deref(),
            Some("employeeId"),
            "untouched"
        );
        assert_eq!(p.role_sync, proto::RoleSync::EveryLogin);
        let too_many = proto::ProvisioningInput {
            role_mapping: Some(rows(&[("x", "admin"); MAX_ROLE_MAPPINGS + 1])),
            ..Default::default()
        };
        assert!(p.apply(&too_many, "saml").is_err());
        let p = p
            .apply(
                &proto::ProvisioningInput {
                    role_claim_is_role_name: Some(true),
                    role_sync: Some(proto::RoleSync::EveryLoginDefault),
                    ..Default::default()
                },
                "jwt",
            )
            .unwrap();
        assert!(p.role_claim_is_role_name);
        assert_eq!(
            serde_json::to_value(p.to_wire("jwt")).unwrap()["role_sync"],
            "every_login_default"
        );
        assert!(p.requires_email("saml") && !p.requires_email("oidc"));
        assert_eq!(
            ProvisioningSettings::from_json("{}").unwrap(),
            ProvisioningSettings::default()
        );
    }
}
