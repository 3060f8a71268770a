//! `lanyard saml verify`: the offline debugger. It runs exactly the verifier the ACS runs
//! (`lanyard_saml::verify_response` with the options the ACS derives from a connection's stored
//! settings, `lanyard_core::signin::saml::verify_options`) on a captured response.

use anyhow::{Context, Result};
use clap::Subcommand;
use lanyard_core::connection::SamlSettings;
use lanyard_saml::metadata::parse_idp_metadata;
use lanyard_saml::xml::Limits;
use lanyard_saml::{IdentityProvider, ServiceProvider, VerifiedAssertion};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

#[derive(Subcommand)]
pub enum SamlCommand {
    /// Verify a captured SAML response offline, as the ACS would
    ///
    /// The IdP, the SP and the policy come from --connection (the connection's JSON as
    /// `GET /api/v1/tenants/{tenant}/connections/{connection}` returns it), or from --metadata with
    /// --sp-entity-id and --acs-url (then the policy is a new connection's defaults); the other
    /// flags override single settings, so a refusal can be replayed under exactly the policy that
    /// refused it.
    ///
    /// InResponseTo: with --request-id the response must answer that AuthnRequest. Without it, a
    /// response that claims an InResponseTo is checked as the ACS checks it, taking the claimed ID
    /// as the browser's pending request (the ACS looks that request up by this ID; its expiry,
    /// relay state and browser binding cannot be checked offline): the Response's and the
    /// SubjectConfirmation's InResponseTo must agree. A response without InResponseTo is
    /// unsolicited and refused (saml.unsolicited), as the ACS refuses it, unless the connection
    /// allows IdP-initiated login or --allow-unsolicited is given.
    #[command(verbatim_doc_comment)]
    Verify {
        /// The connection as JSON (GET .../connections/{connection}): SP entity ID, ACS URL, IdP
        /// entity ID, certificates and policy
        #[arg(
            long,
            value_name = "CONNECTION.json",
            required_unless_present = "metadata"
        )]
        connection: Option<PathBuf>,
        /// The IdP's metadata XML (entity ID and signing certificates), instead of --connection
        #[arg(long, value_name = "IDP.xml", conflicts_with = "connection")]
        metadata: Option<PathBuf>,
        /// The SP entity ID of the connection (the Audience) [default with --connection: its sp_entity_id]
        #[arg(long, value_name = "ID", required_unless_present = "connection")]
        sp_entity_id: Option<String>,
        /// The ACS URL of the connection (Destination and Recipient) [default with --connection: its acs_url]
        #[arg(long, value_name = "URL", required_unless_present = "connection")]
        acs_url: Option<String>,
        /// Verify at this instant (RFC 3339), e.g. when the response was captured [default: now]
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
        /// The AuthnRequest ID the response must answer [default: the InResponseTo it claims]
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// Accept unsolicited (IdP-initiated) responses, as a connection with allow_idp_initiated
        #[arg(long, visible_alias = "allow-idp-initiated", value_name = "BOOL",
              num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        allow_unsolicited: Option<bool>,
        /// Require the Assertion itself to be signed, as a connection with require_signed_assertions
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        require_signed_assertions: Option<bool>,
        /// Accept rsa-sha1 / sha1, as a connection with allow_sha1
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        allow_sha1: Option<bool>,
        /// Allowed clock skew in seconds, as the connection's clock_skew_secs [default: 90]
        #[arg(long, visible_alias = "clock-skew", value_name = "SECS")]
        clock_skew_secs: Option<u32>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// File holding the response as XML or base64 (as posted in SAMLResponse); `-` for stdin
        response: PathBuf,
    },
}

/// The connection to verify against: the SP, the IdP and the stored settings whose policy the
/// ACS applies (read with the same defaults as the server's stored settings).
struct Target {
    sp_entity_id: Option<String>,
    acs_url: Option<String>,
    settings: SamlSettings,
    idp: IdentityProvider,
}

fn load_connection(path: &Path) -> Result<Target> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let conn: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let saml = conn.get("saml").filter(|v| v.is_object()).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is not a SAML connection (no \"saml\" settings): save the output of GET /api/v1/tenants/{{tenant}}/connections/{{connection}}",
            path.display()
        )
    })?;
    let settings: SamlSettings = serde_json::from_value(saml.clone())
        .with_context(|| format!("{}: unreadable SAML settings", path.display()))?;
    let keys = settings
        .trusted_keys()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let field = |name: &str| conn.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(Target {
        sp_entity_id: field("sp_entity_id"),
        acs_url: field("acs_url"),
        idp: IdentityProvider {
            entity_id: settings.idp_entity_id.clone(),
            keys,
        },
        settings,
    })
}

/// A new connection's settings (the serde defaults of the stored settings).
fn default_settings(idp_entity_id: &str) -> Result<SamlSettings> {
    serde_json::from_value(json!({
        "idp_entity_id": idp_entity_id, "sso_url": "", "certificates": [],
    }))
    .context("default connection settings")
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(16 * 1024 * 1024)
            .read_to_end(&mut buf)
            .context("cannot read the response from standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// XML as is; anything else is taken as the base64 of the POST binding's `SAMLResponse`.
fn response_xml(raw: &[u8], limits: &Limits) -> Result<Vec<u8>, lanyard_saml::Error> {
    let trimmed = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| raw.get(i..))
        .unwrap_or_default();
    if trimmed.first() == Some(&b'<') {
        return Ok(raw.to_vec());
    }
    let text =
        std::str::from_utf8(raw).map_err(|_| lanyard_saml::Error::BadBase64("SAMLResponse"))?;
    lanyard_saml::decode_post_binding(text, limits)
}

fn parse_now(s: &str) -> Result<SystemTime> {
    let ms = lanyard_saml::time::parse_datetime(s).map_err(|_| {
        anyhow::anyhow!("--now `{s}` is not an RFC 3339 time such as 2026-01-01T12:00:00Z")
    })?;
    Ok(lanyard_saml::time::from_millis(ms))
}

fn identity_json(v: &VerifiedAssertion) -> serde_json::Value {
    let attrs: Vec<_> = v
        .attributes
        .iter()
        .map(|a| json!({"name": a.name, "friendly_name": a.friendly_name, "values": a.values}))
        .collect();
    let t = |t: Option<SystemTime>| t.map(lanyard_saml::time::format_datetime);
    json!({
        "ok": true,
        "issuer": v.issuer,
        "name_id": v.name_id.value,
        "name_id_format": v.name_id.format,
        "attributes": attrs,
        "session_index": v.session_index,
        "authn_context_class_ref": v.authn_context_class_ref,
        "authn_instant": t(v.authn_instant),
        "session_not_on_or_after": t(v.session_not_on_or_after),
        "assertion_id": v.assertion_id,
        "in_response_to": v.in_response_to,
        "response_signed": v.response_signed,
        "assertion_signed": v.assertion_signed,
        "signing_certificate_sha256": v.signing_certificate_sha256,
    })
}

/// Exit 0 with the identity, or 1 with the code and its explanation; 2 for unusable arguments.
pub fn run(cmd: SamlCommand) -> ExitCode {
    match verify(cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lanyard: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn verify(cmd: SamlCommand) -> Result<ExitCode> {
    let SamlCommand::Verify {
        connection,
        metadata,
        sp_entity_id,
        acs_url,
        now,
        request_id,
        allow_unsolicited,
        require_signed_assertions,
        allow_sha1,
        clock_skew_secs,
        json,
        response,
    } = cmd;
    let now = match now {
        Some(s) => parse_now(&s)?,
        None => SystemTime::now(),
    };
    let target = match &connection {
        Some(path) => Some(load_connection(path)?),
        None => None,
    };
    let md_bytes = match &metadata {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    let sp = ServiceProvider {
        entity_id: sp_entity_id
            .or_else(|| target.as_ref().and_then(|t| t.sp_entity_id.clone()))
            .context("--sp-entity-id is required (the connection JSON has no sp_entity_id)")?,
        acs_url: acs_url
            .or_else(|| target.as_ref().and_then(|t| t.acs_url.clone()))
            .context("--acs-url is required (the connection JSON has no acs_url)")?,
    };
    let raw = read_input(&response)?;
    let limits = Limits::default();

    let outcome = (|| -> Result<VerifiedAssertion, lanyard_saml::Error> {
        let (idp, mut settings) = match (target, &md_bytes) {
            (Some(t), _) => (t.idp, t.settings),
            (None, Some(bytes)) => {
                let md = parse_idp_metadata(
                    bytes,
                    &Limits {
                        max_bytes: 1024 * 1024,
                        max_nodes: 200_000,
                        ..Limits::default()
                    },
                )?;
                let idp = IdentityProvider {
                    entity_id: md.entity_id.clone(),
                    keys: md.trusted_keys()?,
                };
                let settings = default_settings(&md.entity_id)
                    .map_err(|_| lanyard_saml::Error::InvalidArgument("default settings"))?;
                (idp, settings)
            }
            // clap requires --connection or --metadata.
            (None, None) => return Err(lanyard_saml::Error::NoCertificate),
        };
        if let Some(v) = allow_unsolicited {
            settings.allow_idp_initiated = v;
        }
        if let Some(v) = require_signed_assertions {
            settings.require_signed_assertions = v;
        }
        if let Some(v) = allow_sha1 {
            settings.allow_sha1 = v;
        }
        if let Some(v) = clock_skew_secs {
            settings.clock_skew_secs = v;
        }
        let xml = response_xml(&raw, &limits)?;
        // The ACS finds the pending request by the InResponseTo the response claims; offline,
        // --request-id stands for it, or else the claimed ID itself (see --help).
        let pending = request_id
            .clone()
            .or_else(|| lanyard_core::signin::saml::claimed_in_response_to(&xml));
        let opts = lanyard_core::signin::saml::verify_options(&settings, now, pending.as_deref());
        lanyard_saml::verify_response(&xml, &sp, &idp, &opts)
    })();

    match outcome {
        Ok(v) => {
            if json {
                let mut out = identity_json(&v);
                if let Some(o) = out.as_object_mut() {
                    o.insert("in_response_to_checked".into(), json!(request_id.is_some()));
                }
                println!("{out}");
            } else {
                println!("OK: the response verifies");
                println!("Issuer:        {}", v.issuer);
                println!("NameID:        {}", v.name_id.value);
                println!(
                    "NameID format: {}",
                    v.name_id.format.as_deref().unwrap_or("(none)")
                );
                if let Some(s) = v.session_not_on_or_after {
                    println!("Session until: {}", lanyard_saml::time::format_datetime(s));
                }
                println!("Assertion ID:  {}", v.assertion_id);
                match (&v.in_response_to, request_id.is_some()) {
                    (Some(irt), true) => println!("InResponseTo:  {irt}"),
                    (Some(irt), false) => {
                        println!(
                            "InResponseTo:  {irt} (taken as the pending request; pass --request-id to check it)"
                        )
                    }
                    (None, _) => println!("InResponseTo:  (none: IdP-initiated)"),
                }
                println!("Attributes:");
                for a in &v.attributes {
                    let label = match &a.friendly_name {
                        Some(f) => format!("{} ({f})", a.name),
                        None => a.name.clone(),
                    };
                    println!("  {label}: {}", a.values.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": false, "code": e.code(), "message": e.to_string(), "help": e.help()})
                );
            } else {
                println!("REFUSED: {}", e.code());
                println!("{e}");
                println!("{}", e.help());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
