//! `lanyard saml verify`: the offline debugger. It runs exactly the verifier the ACS runs
//! (`lanyard_saml::verify_response` with a connection's default options) on a captured response.

use anyhow::{Context, Result};
use clap::Subcommand;
use lanyard_saml::metadata::parse_idp_metadata;
use lanyard_saml::xml::Limits;
use lanyard_saml::{IdentityProvider, Options, ServiceProvider, VerifiedAssertion};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

#[derive(Subcommand)]
pub enum SamlCommand {
    /// Verify a captured SAML response offline, as the ACS would
    Verify {
        /// The IdP's metadata XML (entity ID and signing certificates)
        #[arg(long, value_name = "IDP.xml")]
        metadata: PathBuf,
        /// The SP entity ID of the connection (the Audience)
        #[arg(long, value_name = "ID")]
        sp_entity_id: String,
        /// The ACS URL of the connection (Destination and Recipient)
        #[arg(long, value_name = "URL")]
        acs_url: String,
        /// Verify at this instant (RFC 3339), e.g. when the response was captured [default: now]
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
        /// The AuthnRequest ID the response must answer; without it InResponseTo is not checked
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// Allowed clock skew in seconds
        #[arg(long, value_name = "SECS", default_value_t = 90)]
        clock_skew: u64,
        /// Accept rsa-sha1 / sha1 (as a connection with allow_sha1)
        #[arg(long)]
        allow_sha1: bool,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// File holding the response as XML or base64 (as posted in SAMLResponse); `-` for stdin
        response: PathBuf,
    },
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
        metadata,
        sp_entity_id,
        acs_url,
        now,
        request_id,
        clock_skew,
        allow_sha1,
        json,
        response,
    } = cmd;
    let now = match now {
        Some(s) => parse_now(&s)?,
        None => SystemTime::now(),
    };
    let md_bytes =
        std::fs::read(&metadata).with_context(|| format!("cannot read {}", metadata.display()))?;
    let raw = read_input(&response)?;
    let limits = Limits::default();

    let outcome = (|| {
        let md = parse_idp_metadata(
            &md_bytes,
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
        let xml = response_xml(&raw, &limits)?;
        // Without --request-id the debugger cannot know the request: accept what the response
        // claims (and unsolicited responses), and say so.
        let claimed = lanyard_core::signin::saml::claimed_in_response_to(&xml);
        let expected = request_id.clone().or(claimed);
        let mut opts = Options::new(now);
        opts.clock_skew = Duration::from_secs(clock_skew);
        opts.allow_sha1 = allow_sha1;
        opts.expected_in_response_to = expected.as_deref();
        opts.allow_idp_initiated = request_id.is_none();
        let sp = ServiceProvider {
            entity_id: sp_entity_id.clone(),
            acs_url: acs_url.clone(),
        };
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
                        println!("InResponseTo:  {irt} (not checked; pass --request-id)")
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
