//! The connection forms: one table of fields per kind, named exactly as the admin API's JSON
//! fields, so a form becomes the same input value (`ConnectionInput`, `OidcConnectionInput`,
//! `JwtConnectionInput`) the API takes, and goes through the same core function.

use lanyard_core::Error;
use serde_json::{Map, Value, json};

/// How a field is edited and turned into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text; left empty: unchanged (create: not given).
    Text,
    /// Text that may be cleared: left empty means `null`.
    OptText,
    /// A number of seconds (or another count).
    Number,
    /// A checkbox (a hidden `false` before it, so unchecked is sent too).
    Bool,
    /// One of the listed values.
    Select(&'static [&'static str]),
    /// A secret: never shown again; left empty: unchanged.
    Secret,
    /// PEM certificates, one after another; left empty: unchanged.
    Pems,
    /// Values separated by commas or spaces, replacing the list (empty: none).
    Words,
    /// One value per line, replacing the list (empty: none).
    Lines,
    /// Role table rows, one per line: `claim value => role`.
    RoleRows,
    /// A long text (pasted XML or JSON); left empty: not given.
    LongText,
}

/// One form field: its API name (`provisioning.x` for the nested provisioning settings).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Only on create (the slug is part of the URLs the IdP knows).
    pub create_only: bool,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        create_only: false,
    }
}

const BINDINGS: &[&str] = &["redirect", "post"];
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];
const JWT_ALGS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
];
const PRESETS: &[&str] = &["generic", "okta", "entra", "google"];
const ROLE_SYNC: &[&str] = &["at_creation", "every_login", "every_login_default"];

const SLUG: Field = Field {
    name: "slug",
    kind: Kind::Text,
    create_only: true,
};

pub const PROVISIONING: &[Field] = &[
    f("provisioning.attribute_preset", Kind::Select(PRESETS)),
    f("provisioning.federation_id_attribute", Kind::OptText),
    f("provisioning.role_claim", Kind::OptText),
    f("provisioning.role_mapping", Kind::RoleRows),
    f("provisioning.default_role", Kind::OptText),
    f("provisioning.role_sync", Kind::Select(ROLE_SYNC)),
    f("provisioning.role_claim_is_role_name", Kind::Bool),
    f("provisioning.jit_requires_email", Kind::Bool),
    f("provisioning.required_authn_contexts", Kind::Lines),
];

pub const SAML: &[Field] = &[
    SLUG,
    f("name", Kind::Text),
    f("metadata_url", Kind::Text),
    f("metadata_xml", Kind::LongText),
    f("idp_entity_id", Kind::Text),
    f("sso_url", Kind::Text),
    f("certificates", Kind::Pems),
    f("request_binding", Kind::Select(BINDINGS)),
    f("sign_requests", Kind::Bool),
    f("allow_idp_initiated", Kind::Bool),
    f("require_signed_assertions", Kind::Bool),
    f("allow_sha1", Kind::Bool),
    f("clock_skew_secs", Kind::Number),
    f("jit", Kind::Bool),
    f("username_attribute", Kind::OptText),
    f("email_attribute", Kind::OptText),
    f("display_name_attribute", Kind::OptText),
    f("logoff_url", Kind::OptText),
];

pub const OIDC: &[Field] = &[
    SLUG,
    f("name", Kind::Text),
    f("issuer", Kind::Text),
    f("discovery_url", Kind::Text),
    f("discovery_json", Kind::LongText),
    f("authorization_endpoint", Kind::Text),
    f("token_endpoint", Kind::Text),
    f("userinfo_endpoint", Kind::Text),
    f("end_session_endpoint", Kind::Text),
    f("jwks_uri", Kind::Text),
    f("client_id", Kind::Text),
    f("client_secret", Kind::Secret),
    f("token_endpoint_auth_method", Kind::Select(AUTH_METHODS)),
    f("scopes", Kind::Text),
    f("audience_uris", Kind::Text),
    f("key_claim", Kind::Text),
    f("allowed_algorithms", Kind::Words),
    f("signing_certificates", Kind::Pems),
    f("use_userinfo", Kind::Bool),
    f("require_iss", Kind::Bool),
    f("trust_verified_domain_emails", Kind::Bool),
    f("hosted_domain", Kind::OptText),
    f("username_claim", Kind::OptText),
    f("clock_skew_secs", Kind::Number),
    f("jit", Kind::Bool),
    f("logoff_url", Kind::OptText),
];

pub const JWT: &[Field] = &[
    SLUG,
    f("name", Kind::Text),
    f("login_url", Kind::Text),
    f("algorithm", Kind::Select(JWT_ALGS)),
    f("secret_key", Kind::Secret),
    f("issuer", Kind::OptText),
    f("subject", Kind::OptText),
    f("audience", Kind::OptText),
    f("clock_skew_secs", Kind::Number),
    f("jit", Kind::Bool),
];

/// The fields of a connection kind (`saml`, `oidc`, `jwt`), then the provisioning fields.
pub fn fields(kind: &str) -> impl Iterator<Item = &'static Field> {
    let own: &'static [Field] = match kind {
        lanyard_core::connection::KIND_OIDC => OIDC,
        lanyard_core::connection::KIND_JWT => JWT,
        _ => SAML,
    };
    own.iter().chain(PROVISIONING.iter())
}

/// The last value posted for `name` (a checkbox's `true` follows its hidden `false`).
fn last<'a>(posted: &'a [(String, String)], name: &str) -> Option<&'a str> {
    posted
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Splits pasted PEM text into one string per certificate.
pub fn split_pems(text: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some(i) = rest.find(END) {
        let (block, tail) = rest.split_at(i + END.len());
        out.push(block.trim().to_owned());
        rest = tail.trim();
    }
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// A posted form as the API's JSON input for `kind`; `create` keeps the slug and omits empty
/// optional fields.
pub fn to_input(kind: &str, posted: &[(String, String)], create: bool) -> Result<Value, Error> {
    let mut top = Map::new();
    let mut prov = Map::new();
    for field in fields(kind) {
        if field.create_only && !create {
            continue;
        }
        let Some(raw) = last(posted, field.name) else {
            continue;
        };
        let v = raw.trim();
        let value = match field.kind {
            Kind::Text | Kind::Secret | Kind::LongText if v.is_empty() => continue,
            Kind::Pems if v.is_empty() => continue,
            Kind::Text | Kind::Secret | Kind::LongText => json!(v),
            Kind::OptText if v.is_empty() && create => continue,
            Kind::OptText if v.is_empty() => Value::Null,
            Kind::OptText => json!(v),
            Kind::Number if v.is_empty() => continue,
            Kind::Number => json!(v.parse::<u32>().map_err(|_| {
                Error::invalid(field.name, "must be a whole number of seconds")
            })?),
            Kind::Bool => json!(v == "true"),
            Kind::Select(allowed) => {
                if !allowed.contains(&v) {
                    return Err(Error::invalid(
                        field.name,
                        "choose one of the listed values",
                    ));
                }
                json!(v)
            }
            Kind::Pems => json!(split_pems(v)),
            // Left empty on create: the API's default list (an empty list is refused).
            Kind::Words if v.is_empty() && create => continue,
            Kind::Words => json!(
                v.split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
            Kind::Lines => json!(
                v.lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            ),
            Kind::RoleRows => {
                let mut rows = Vec::new();
                for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let (value, role) = line.split_once("=>").ok_or_else(|| {
                        Error::invalid(
                            "provisioning.role_mapping",
                            "write one row per line as `claim value => role`",
                        )
                    })?;
                    rows.push(json!({"value": value.trim(), "role": role.trim()}));
                }
                Value::Array(rows)
            }
        };
        match field.name.strip_prefix("provisioning.") {
            Some(n) => {
                prov.insert(n.to_owned(), value);
            }
            None => {
                top.insert(field.name.to_owned(), value);
            }
        }
    }
    if !prov.is_empty() {
        top.insert("provisioning".into(), Value::Object(prov));
    }
    Ok(Value::Object(top))
}

/// Parses the JSON input into the API's input type, with the API's error for unknown shapes.
pub fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, Error> {
    serde_json::from_value(v).map_err(|e| Error::invalid("form", e.to_string()))
}

/// What the form shows for a field of an existing connection (its wire form as JSON); secrets
/// and pasted documents are never shown.
pub fn current_value(wire: &Value, kind: &str, field: &Field) -> String {
    if matches!(field.kind, Kind::Secret | Kind::LongText) {
        // A JWT public key is not secret: it is shown so that it can be checked.
        if field.name == "secret_key" {
            return wire
                .pointer("/jwt/public_key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
        }
        return String::new();
    }
    let section = match kind {
        lanyard_core::connection::KIND_OIDC => "oidc",
        lanyard_core::connection::KIND_JWT => "jwt",
        _ => "saml",
    };
    let v = match field.name.strip_prefix("provisioning.") {
        Some(n) => wire.get("provisioning").and_then(|p| p.get(n)),
        None => match field.name {
            "slug" | "name" => wire.get(field.name),
            "metadata_url" => wire.pointer("/saml/idp_metadata_url"),
            n => wire.get(section).and_then(|s| s.get(n)),
        },
    };
    match (field.kind, v) {
        (_, None | Some(Value::Null)) => String::new(),
        (Kind::RoleRows, Some(Value::Array(rows))) => rows
            .iter()
            .map(|r| {
                format!(
                    "{} => {}",
                    r.get("value").and_then(Value::as_str).unwrap_or_default(),
                    r.get("role").and_then(Value::as_str).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (Kind::Words, Some(Value::Array(a))) => join(a, ", "),
        (Kind::Text, Some(Value::Array(a))) => join(a, ","),
        (Kind::Lines | Kind::Pems, Some(Value::Array(a))) => join(a, "\n"),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(other)) => other.to_string(),
    }
}

fn join(a: &[Value], sep: &str) -> String {
    a.iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_saml_form_becomes_the_apis_input() {
        let p = posted(&[
            ("slug", "okta"),
            ("name", "Okta"),
            ("jit", "false"),
            ("jit", "true"),
            ("allow_sha1", "false"),
            ("clock_skew_secs", "120"),
            ("username_attribute", ""),
            (
                "provisioning.role_mapping",
                "Admins => admin\nStaff=>standard",
            ),
            ("provisioning.required_authn_contexts", ""),
            ("request_binding", "post"),
        ]);
        let v = to_input("saml", &p, true).unwrap();
        let input: lanyard_proto::ConnectionInput = parse(v).unwrap();
        assert_eq!(input.slug.as_deref(), Some("okta"));
        assert_eq!(input.jit, Some(true));
        assert_eq!(input.allow_sha1, Some(false));
        assert_eq!(input.clock_skew_secs, Some(120));
        assert_eq!(input.username_attribute, None);
        assert_eq!(
            input.request_binding,
            Some(lanyard_proto::RequestBinding::Post)
        );
        let prov = input.provisioning.unwrap();
        let rows = prov.role_mapping.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[1].value.as_str(), rows[1].role.as_str()),
            ("Staff", "standard")
        );
        assert_eq!(prov.required_authn_contexts, Some(vec![]));
        // On update, an emptied optional field clears and the slug is never sent.
        let v = to_input("saml", &p, false).unwrap();
        let input: lanyard_proto::ConnectionInput = parse(v).unwrap();
        assert_eq!(input.slug, None);
        assert_eq!(input.username_attribute, Some(None));
    }

    #[test]
    fn bad_values_are_refused_with_the_field() {
        let e = to_input("saml", &posted(&[("clock_skew_secs", "soon")]), true).unwrap_err();
        assert_eq!(e.code(), "request.invalid_field");
        assert!(e.to_string().starts_with("clock_skew_secs"));
        let e = to_input("saml", &posted(&[("request_binding", "artifact")]), true).unwrap_err();
        assert!(e.to_string().starts_with("request_binding"));
        let e = to_input(
            "saml",
            &posted(&[("provisioning.role_mapping", "Admins")]),
            true,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("provisioning.role_mapping"));
    }

    #[test]
    fn oidc_and_jwt_forms_parse_into_their_inputs() {
        let p = posted(&[
            ("slug", "entra"),
            ("name", "Entra"),
            ("allowed_algorithms", "RS256, ES256"),
            ("client_secret", ""),
            ("use_userinfo", "false"),
        ]);
        let i: lanyard_proto::OidcConnectionInput =
            parse(to_input("oidc", &p, true).unwrap()).unwrap();
        assert_eq!(
            i.allowed_algorithms,
            Some(vec!["RS256".into(), "ES256".into()])
        );
        assert_eq!(i.client_secret, None);
        // A new connection's empty algorithm list is the API's default, not an empty list.
        let p = posted(&[("slug", "op"), ("allowed_algorithms", " ")]);
        let i: lanyard_proto::OidcConnectionInput =
            parse(to_input("oidc", &p, true).unwrap()).unwrap();
        assert_eq!(i.allowed_algorithms, None);
        let p = posted(&[("slug", "portal"), ("algorithm", "HS256"), ("issuer", "x")]);
        let i: lanyard_proto::JwtConnectionInput =
            parse(to_input("jwt", &p, true).unwrap()).unwrap();
        assert_eq!(i.algorithm, Some(lanyard_proto::JwtAlgorithm::HS256));
        assert_eq!(i.issuer, Some(Some("x".into())));
    }

    #[test]
    fn pasted_certificates_are_split() {
        let two = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
        assert_eq!(split_pems(two).len(), 2);
        assert_eq!(split_pems("MIIB"), vec!["MIIB".to_owned()]);
    }
}
