//! The protocol-neutral identity every login ends in (DESIGN §1). Each verifier turns what it
//! verified into an [`Identity`]; provisioning ([`crate::identity::provisioning`]) never knows which
//! protocol ran. The builders here are pure: verified claims and settings in, an identity out.

pub mod links;
pub mod provisioning;
pub mod settings;
pub(crate) mod sign_in;

use crate::clock::UnixTime;
use crate::connection::SamlSettings;
use crate::error::{Error, Result};
use crate::identity::provisioning::ProvisioningSettings;
use lanyard_proto::AttributePreset;
use lanyard_saml::VerifiedAssertion;
use serde_json::{Map, Value, json};

/// Longest federation ID, claim value or attribute value provisioning reads.
pub const MAX_CLAIM_LEN: usize = 512;

/// What an identity provider vouched for, once verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `saml`, `oidc` or `jwt`: the session's auth method and an audit label, nothing else.
    pub method: &'static str,
    /// The value of the connection's key claim; with the connection, the lookup key.
    pub federation_id: String,
    pub email: Option<String>,
    /// Whether the IdP vouches for the email. An unverified email is never used for matching,
    /// never stored and never mailed.
    pub email_verified: bool,
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// Values of the role claim and of group claims, matched against the role table.
    pub role_claims: Vec<String>,
    /// The IdP's session limit (SAML SessionNotOnOrAfter).
    pub session_not_after: Option<UnixTime>,
    /// The claims as received, for the audit log.
    pub raw_claims: Value,
    /// Names the email was looked for under (for the error when it is missing).
    pub email_sources: Vec<String>,
    /// How the IdP authenticated the person: the SAML AuthnContextClassRef, or the OIDC `acr`
    /// and `amr` values (checked against a connection's `required_authn_contexts`).
    pub authn_contexts: Vec<String>,
}

impl Identity {
    /// The email provisioning may use: present and verified.
    pub fn verified_email(&self) -> Option<&str> {
        self.email.as_deref().filter(|_| self.email_verified)
    }

    /// The username the IdP sent, if provisioning may use it, and otherwise why not.
    ///
    /// The rule (against a username that impersonates someone else's email address in user
    /// lists and the audit log): a username that looks like an email address (it holds `@` or a
    /// character that reads as one) is taken only when it equals this identity's verified email,
    /// ignoring case. Otherwise it is treated as if no username had been sent (a new account
    /// is named after the verified email, else the federation ID; a linked account keeps its
    /// username), and the returned warning says why. This holds for every protocol.
    pub fn claimed_username(&self) -> (Option<&str>, Option<String>) {
        let Some(name) = self.username.as_deref() else {
            return (None, None);
        };
        if !looks_like_email(name) {
            return (Some(name), None);
        }
        match self.verified_email() {
            Some(e) if e.to_lowercase() == name.to_lowercase() => (Some(name), None),
            _ => (
                None,
                Some(format!(
                    "username `{}` from the IdP looks like an email address but is not this identity's verified email; it was not used (a username with @ must equal the verified email)",
                    name.chars().take(128).collect::<String>()
                )),
            ),
        }
    }

    /// The username of an account created for this identity, and the warnings about the
    /// username claim: the claimed username (see [`Self::claimed_username`]), else the verified
    /// email, else the federation ID (which, when it looks like an email that is not the
    /// verified one, is replaced by a neutral `{method}-{hash}` name).
    pub fn new_account_username(&self) -> (String, Vec<String>) {
        let (claimed, warning) = self.claimed_username();
        let mut warnings: Vec<String> = warning.into_iter().collect();
        if let Some(n) = claimed {
            return (n.to_owned(), warnings);
        }
        if let Some(e) = self.verified_email() {
            return (e.to_owned(), warnings);
        }
        let fid = &self.federation_id;
        if looks_like_email(fid) {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, fid.as_bytes());
            let hash: String = d
                .as_ref()
                .iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect();
            warnings.push(format!(
                "the federation ID looks like an email address that is not verified; the username is `{}-{hash}` instead",
                self.method
            ));
            return (format!("{}-{hash}", self.method), warnings);
        }
        (fid.clone(), warnings)
    }
}

/// `@` and the characters that read as one (fullwidth U+FF20, small U+FE6B).
const AT_SIGNS: [char; 3] = ['@', '\u{FF20}', '\u{FE6B}'];

/// Whether a name could pass for an email address in a user list.
pub fn looks_like_email(name: &str) -> bool {
    name.contains(AT_SIGNS)
}

/// Attribute names a preset looks under when the connection names none (first present wins).
struct PresetNames {
    email: &'static [&'static str],
    username: &'static [&'static str],
    display_name: &'static [&'static str],
    given_name: &'static [&'static str],
    surname: &'static [&'static str],
    roles: &'static [&'static str],
}

fn preset_names(p: AttributePreset) -> PresetNames {
    match p {
        AttributePreset::Okta => PresetNames {
            email: &["email", "Email", "mail"],
            username: &["username", "Name", "name", "login"],
            display_name: &["displayName", "display_name"],
            given_name: &["firstName", "given_name"],
            surname: &["lastName", "family_name"],
            roles: &["role", "Role", "roles", "groups"],
        },
        AttributePreset::Entra => PresetNames {
            email: &[
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "email",
                "mail",
            ],
            username: &[
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "preferred_username",
                "upn",
            ],
            display_name: &[
                "http://schemas.microsoft.com/identity/claims/displayname",
                "name",
            ],
            given_name: &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"],
            surname: &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"],
            roles: &[
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                "roles",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                "groups",
            ],
        },
        AttributePreset::Google => PresetNames {
            email: &["email", "Email"],
            username: &["username", "Name", "name"],
            display_name: &["displayName", "name"],
            given_name: &["firstName", "given_name"],
            surname: &["lastName", "family_name"],
            roles: &["role", "Role", "groups"],
        },
        AttributePreset::Generic => PresetNames {
            email: &[
                "email",
                "Email",
                "mail",
                "emailAddress",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "urn:oid:0.9.2342.19200300.100.1.3",
            ],
            username: &[
                "username",
                "Name",
                "name",
                "uid",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                "urn:oid:0.9.2342.19200300.100.1.1",
            ],
            display_name: &[
                "displayName",
                "display_name",
                "http://schemas.microsoft.com/identity/claims/displayname",
                "urn:oid:2.16.840.1.113730.3.1.241",
                "cn",
            ],
            given_name: &[
                "firstName",
                "givenName",
                "given_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                "urn:oid:2.5.4.42",
            ],
            surname: &[
                "lastName",
                "surname",
                "sn",
                "family_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                "urn:oid:2.5.4.4",
            ],
            roles: &[
                "role",
                "Role",
                "roles",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                "groups",
                "memberOf",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            ],
        },
    }
}

fn usable(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && v.len() <= MAX_CLAIM_LEN && !v.chars().any(char::is_control))
        .then(|| v.to_owned())
}

/// First usable value under `configured`, else under the first of `defaults` that has one.
fn first_of<'a>(
    configured: Option<&'a str>,
    defaults: &[&'a str],
    values: &impl Fn(&str) -> Vec<String>,
) -> Option<String> {
    let names: Vec<&str> = match configured {
        Some(c) => vec![c],
        None => defaults.to_vec(),
    };
    names
        .into_iter()
        .find_map(|n| values(n).iter().find_map(|v| usable(v)))
}

fn all_of(names: &[&str], values: &impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        for v in values(n) {
            if let Some(v) = usable(&v)
                && !out.contains(&v)
            {
                out.push(v);
            }
        }
    }
    out
}

fn role_claims(p: &ProvisioningSettings, values: &impl Fn(&str) -> Vec<String>) -> Vec<String> {
    match &p.role_claim {
        Some(c) => all_of(&[c.as_str()], values),
        None => all_of(preset_names(p.attribute_preset).roles, values),
    }
}

fn display_name(
    configured: Option<&str>,
    names: &PresetNames,
    values: &impl Fn(&str) -> Vec<String>,
) -> Option<String> {
    first_of(configured, names.display_name, values).or_else(|| {
        if configured.is_some() {
            return None;
        }
        let given = first_of(None, names.given_name, values);
        let sur = first_of(None, names.surname, values);
        match (given, sur) {
            (Some(g), Some(s)) => Some(format!("{g} {s}")),
            (g, s) => g.or(s),
        }
    })
}

const EMAIL_NAME_ID: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The identity in a verified SAML assertion. The federation ID is the NameID, or the value of
/// the connection's federation ID attribute; the IdP's attribute statements are trusted for the
/// email (SAML has no "verified" flag: the tenant's IdP is the authority), falling back to an
/// emailAddress-format NameID.
pub fn from_saml(
    v: &VerifiedAssertion,
    s: &SamlSettings,
    p: &ProvisioningSettings,
    session_not_after: Option<UnixTime>,
) -> Result<Identity> {
    let values = |n: &str| -> Vec<String> {
        v.attribute_values(n)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let federation_id =
        match &p.federation_id_attribute {
            Some(a) => first_of(Some(a), &[], &values)
                .ok_or_else(|| Error::SamlMissingAttribute(a.clone()))?,
            None => usable(&v.name_id.value)
                .ok_or_else(|| Error::SamlMissingAttribute("NameID".into()))?,
        };
    let names = preset_names(p.attribute_preset);
    let mut email_sources: Vec<String> = match &s.email_attribute {
        Some(a) => vec![a.clone()],
        None => names.email.iter().map(|n| (*n).to_owned()).collect(),
    };
    // An emailAddress NameID is an email; so is Google Workspace's default NameID (the primary
    // email, sent with the `unspecified` format) under the Google preset.
    let nameid_is_email = v.name_id.format.as_deref() == Some(EMAIL_NAME_ID)
        || p.attribute_preset == AttributePreset::Google;
    let name_id_email = nameid_is_email.then(|| usable(&v.name_id.value)).flatten();
    email_sources.push("an emailAddress NameID".into());
    let email = first_of(s.email_attribute.as_deref(), names.email, &values)
        .or(name_id_email)
        .filter(|e| crate::validate::email(e).is_ok());
    let username = first_of(s.username_attribute.as_deref(), names.username, &values);
    let display_name = display_name(s.display_name_attribute.as_deref(), &names, &values);
    let mut raw = Map::new();
    raw.insert(
        "name_id".into(),
        json!({"value": v.name_id.value, "format": v.name_id.format}),
    );
    for a in &v.attributes {
        raw.insert(a.name.clone(), json!(a.values));
    }
    Ok(Identity {
        method: "saml",
        federation_id,
        email,
        email_verified: true,
        username,
        display_name,
        role_claims: role_claims(p, &values),
        session_not_after,
        raw_claims: Value::Object(raw),
        email_sources,
        authn_contexts: v.authn_context_class_ref.iter().cloned().collect(),
    })
}

fn json_values(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// The identity in verified OIDC claims (ID token merged with userinfo). The email counts only
/// when `email_verified` is `true` (Entra's `email` may be unverified: the nOAuth takeover).
pub fn from_oidc(
    claims: &Map<String, Value>,
    federation_id: String,
    username_claim: Option<&str>,
    p: &ProvisioningSettings,
) -> Identity {
    let values = |n: &str| json_values(claims, n);
    let email = first_of(Some("email"), &[], &values).filter(|e| crate::validate::email(e).is_ok());
    let email_verified = claims.get("email_verified") == Some(&Value::Bool(true));
    let username = first_of(username_claim, &["preferred_username"], &values);
    let display_name = first_of(Some("name"), &[], &values).or_else(|| {
        match (
            first_of(Some("given_name"), &[], &values),
            first_of(Some("family_name"), &[], &values),
        ) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (g, f) => g.or(f),
        }
    });
    Identity {
        method: "oidc",
        federation_id,
        email,
        email_verified,
        username,
        display_name,
        role_claims: role_claims(p, &values),
        session_not_after: None,
        raw_claims: Value::Object(claims.clone()),
        email_sources: vec!["email (with email_verified: true)".into()],
        authn_contexts: values("acr").into_iter().chain(values("amr")).collect(),
    }
}

/// The identity in a verified JWT remote-login token: the customer's own signed statement, so
/// its email is taken as verified unless the token says `email_verified: false`. Federation ID:
/// `sub`, else the email.
pub fn from_jwt(
    email: &str,
    federation_id: &str,
    name: Option<&str>,
    claims: &Map<String, Value>,
    p: &ProvisioningSettings,
) -> Identity {
    let values = |n: &str| json_values(claims, n);
    Identity {
        method: "jwt",
        federation_id: federation_id.to_owned(),
        email: Some(email.to_owned()).filter(|e| crate::validate::email(e).is_ok()),
        email_verified: claims.get("email_verified") != Some(&Value::Bool(false)),
        username: first_of(None, &["username", "preferred_username"], &values),
        display_name: name.and_then(usable),
        role_claims: role_claims(p, &values),
        session_not_after: None,
        raw_claims: Value::Object(claims.clone()),
        email_sources: vec!["email".into()],
        authn_contexts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn oidc_unverified_email_is_not_verified() {
        let p = ProvisioningSettings::default();
        let c = claims(json!({"sub": "s", "email": "a@x.test", "email_verified": "true"}));
        let id = from_oidc(&c, "s".into(), None, &p);
        assert_eq!(id.email.as_deref(), Some("a@x.test"));
        assert_eq!(
            id.verified_email(),
            None,
            "a string \"true\" is not verified"
        );
        let c = claims(json!({"sub": "s", "email": "a@x.test", "email_verified": true}));
        assert_eq!(
            from_oidc(&c, "s".into(), None, &p).verified_email(),
            Some("a@x.test")
        );
    }

    #[test]
    fn oidc_names_and_roles() {
        let p = ProvisioningSettings::default();
        let c = claims(json!({
            "sub": "s", "preferred_username": "ada", "given_name": "Ada", "family_name": "Lovelace",
            "roles": ["eng", "eng", " ", "admins"], "groups": "staff"
        }));
        let id = from_oidc(&c, "s".into(), None, &p);
        assert_eq!(id.username.as_deref(), Some("ada"));
        assert_eq!(id.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(id.role_claims, ["eng", "admins", "staff"]);
        let p = ProvisioningSettings {
            role_claim: Some("groups".into()),
            ..ProvisioningSettings::default()
        };
        assert_eq!(from_oidc(&c, "s".into(), None, &p).role_claims, ["staff"]);
    }

    #[test]
    fn jwt_email_is_verified_unless_the_token_says_otherwise() {
        let p = ProvisioningSettings::default();
        let c = claims(json!({"email": "a@x.test", "roles": ["admins"]}));
        let id = from_jwt("a@x.test", "a@x.test", None, &c, &p);
        assert_eq!(id.verified_email(), Some("a@x.test"));
        assert_eq!(id.role_claims, ["admins"]);
        let c = claims(json!({"email": "a@x.test", "email_verified": false}));
        assert_eq!(
            from_jwt("a@x.test", "s", None, &c, &p).verified_email(),
            None
        );
    }

    /// The username rule holds for the identity of every protocol: OIDC's unverified
    /// `preferred_username`, a JWT's `username`, whatever the case or the look-alike `@`.
    #[test]
    fn usernames_that_look_like_another_email_are_not_claimed() {
        let p = ProvisioningSettings::default();
        for name in [
            "victim@x.test",
            "VICTIM@X.TEST",
            "victim+tag@x.test",
            "victim\u{FF20}x.test",
            "victim\u{FE6B}x.test",
        ] {
            let c = claims(
                json!({"sub": "s", "email": "me@x.test", "email_verified": true, "preferred_username": name}),
            );
            let id = from_oidc(&c, "s".into(), None, &p);
            let (claimed, warning) = id.claimed_username();
            assert_eq!(claimed, None, "{name}");
            assert!(
                warning.is_some_and(|w| w.contains("verified email")),
                "{name}"
            );
            assert_eq!(id.new_account_username().0, "me@x.test", "{name}");
            let c = claims(json!({"username": name, "email": "me@x.test"}));
            let id = from_jwt("me@x.test", "s", None, &c, &p);
            assert_eq!(id.claimed_username().0, None, "{name}");
        }
        // The own verified email, in any case, is taken; an unverified one is not.
        let c = claims(
            json!({"sub": "s", "email": "Me@X.test", "email_verified": true, "preferred_username": "me@x.TEST"}),
        );
        let id = from_oidc(&c, "s".into(), None, &p);
        assert_eq!(id.claimed_username(), (Some("me@x.TEST"), None));
        let c = claims(
            json!({"sub": "s", "email": "me@x.test", "email_verified": false, "preferred_username": "me@x.test"}),
        );
        let id = from_oidc(&c, "s".into(), None, &p);
        assert_eq!(id.claimed_username().0, None);
        assert_eq!(id.new_account_username().0, "s");
        // A plain username is taken as before.
        let c = claims(json!({"sub": "s", "preferred_username": "ada"}));
        assert_eq!(
            from_oidc(&c, "s".into(), None, &p).claimed_username(),
            (Some("ada"), None)
        );
    }

    #[test]
    fn control_characters_and_oversized_values_are_not_used() {
        assert_eq!(usable("a\u{0}b"), None);
        assert_eq!(usable(&"x".repeat(MAX_CLAIM_LEN + 1)), None);
        assert_eq!(usable("  ada  ").as_deref(), Some("ada"));
    }
}
