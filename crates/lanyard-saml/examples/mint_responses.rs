//! Mints distinct signed SAML Responses for the sign-in load harness (`bench/signin-load`), and
//! times one bare RSA-2048 verification on this machine for the same report.
//!
//! Each response has its own Response and Assertion IDs, is about 7.3 KB and is signed on the
//! Assertion and then on the Response (RSA-2048, rsa-sha256, exclusive c14n) with the committed
//! test key `tests/fixtures/keys/idp.pk8.pem`, by the same signer the built-in test IdP uses
//! ([`lanyard_saml::signing::sign_enveloped`]). They are unsolicited (no InResponseTo), valid for
//! an hour from now, so the connection they are posted to must allow IdP-initiated sign-in —
//! unless `--in-response-to FILE` names AuthnRequest IDs (one a line, from SP-initiated starts):
//! then response `i` answers line `i` (InResponseTo on the Response and on its
//! SubjectConfirmationData) and `--count` is the number of IDs, so the reliability runs can
//! finish on one node a sign-in started on another.
//! Subjects: `--users` returning people (`user{n}@bench.example`, picked spread out) and one new
//! person every `--new-every` responses, so most sign-ins are returning users and some create
//! accounts. A person's names are the same in each response (`--profile-changes`: new in each,
//! so every returning sign-in also updates the profile).
//!
//! ```text
//! cargo run --release -p lanyard-saml --example mint_responses -- \
//!   --count 20000 --users 300 --new-every 20 --out bodies.txt \
//!   --acs URL --sp-entity-id URL --idp-entity-id URL
//! ```
//!
//! Writes one urlencoded form body (`SAMLResponse=…`) a line; prints the size of one decoded
//! response and the bare verification cost (`bare_verify_us <µs>`) on standard output.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaKeyPair};
use base64::Engine as _;
use lanyard_saml::signing::{Digest, SigningKey, sign_enveloped};
use x509_parser::prelude::{FromDer, X509Certificate};

#[path = "common/mint.rs"]
mod mint;
use mint::Res;

struct Args {
    count: usize,
    users: usize,
    new_every: usize,
    out: PathBuf,
    acs: String,
    sp_entity_id: String,
    idp_entity_id: String,
    threads: usize,
    /// AuthnRequest IDs answered, one per response (empty: unsolicited responses).
    in_response_to: Vec<String>,
    /// Each response names its person anew (`--profile-changes`): every returning sign-in is
    /// then also a profile update. By default a person's names are the same in every response,
    /// as an IdP's are (and as the bench OP's ID tokens).
    profile_changes: bool,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        count: 20_000,
        users: 300,
        new_every: 20,
        out: PathBuf::from("bodies.txt"),
        acs: String::new(),
        sp_entity_id: String::new(),
        idp_entity_id: "https://idp.bench.example/metadata".into(),
        threads: std::thread::available_parallelism().map_or(2, usize::from),
        in_response_to: Vec::new(),
        profile_changes: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--profile-changes" {
            a.profile_changes = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--count" => a.count = value.parse()?,
            "--users" => a.users = value.parse()?,
            "--new-every" => a.new_every = value.parse()?,
            "--out" => a.out = value.into(),
            "--acs" => a.acs = value,
            "--sp-entity-id" => a.sp_entity_id = value,
            "--idp-entity-id" => a.idp_entity_id = value,
            "--threads" => a.threads = value.parse()?,
            "--in-response-to" => {
                let text = std::fs::read_to_string(&value).map_err(|e| format!("{value}: {e}"))?;
                a.in_response_to = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.acs.is_empty() || a.sp_entity_id.is_empty() {
        return Err("--acs and --sp-entity-id are required".into());
    }
    if !a.in_response_to.is_empty() {
        a.count = a.in_response_to.len();
    }
    if a.users == 0 || a.threads == 0 {
        return Err("--users and --threads must be at least 1".into());
    }
    Ok(a)
}

fn fixture(rel: &str) -> Res<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(body.trim())?)
}

fn instant(t: SystemTime) -> String {
    let millis = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    lanyard_saml::time::format_datetime(lanyard_saml::time::from_millis(millis))
}

/// The subject of response `i`: a new person every `new_every`, else one of `users`, spread out.
fn subject(a: &Args, i: usize) -> String {
    if a.new_every > 0 && i.is_multiple_of(a.new_every) {
        format!("new{i}@bench.example")
    } else {
        format!("user{}@bench.example", i.wrapping_mul(7919) % a.users)
    }
}

/// What response `i` calls its person: the address's local part, or with `--profile-changes`
/// a name of its own.
fn person_name(a: &Args, email: &str, i: usize) -> String {
    if a.profile_changes {
        i.to_string()
    } else {
        email.split('@').next().unwrap_or(email).to_owned()
    }
}

/// Realistic IdP attributes (Okta/Entra style names) that bring a response to about 7.3 KB;
/// `n` names the person.
fn attributes(email: &str, n: &str) -> String {
    let attrs: [(&str, &str, String); 6] = [
        ("email", "mail", email.to_owned()),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            "givenName",
            format!("Given{n}"),
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            "sn",
            format!("Surname{n}"),
        ),
        ("displayName", "displayName", format!("Bench Person {n}")),
        (
            "http://schemas.microsoft.com/identity/claims/tenantid",
            "tid",
            "7c1a3d52-3b0e-4b5f-9a51-0d7d2b0c9e11".to_owned(),
        ),
        ("groups", "groups", "engineering".to_owned()),
    ];
    let mut s = String::from("<saml:AttributeStatement>");
    for (name, friendly, value) in attrs {
        s.push_str(&format!(
            r#"<saml:Attribute Name="{name}" FriendlyName="{friendly}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">{value}</saml:AttributeValue></saml:Attribute>"#
        ));
    }
    s.push_str("</saml:AttributeStatement>");
    s
}

fn response(a: &Args, key: &SigningKey, i: usize, now: SystemTime) -> Res<String> {
    let email = subject(a, i);
    let rid = format!("_r{i:08}{:016x}", rand_u64());
    let aid = format!("_a{i:08}{:016x}", rand_u64());
    let issued = instant(now);
    let not_before = instant(now - Duration::from_secs(60));
    let not_after = instant(now + Duration::from_secs(3600));
    // Only attribute-safe IDs come from the file: they were read from our own AuthnRequests.
    let irt = a
        .in_response_to
        .get(i)
        .map(|id| format!(r#" InResponseTo="{id}""#))
        .unwrap_or_default();
    let assertion = format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" IssueInstant="{now}" Version="2.0">"#,
            "<saml:Issuer>{idp}</saml:Issuer>",
            r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{noa}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{sp}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            "{attrs}</saml:Assertion>"
        ),
        aid = aid,
        irt = irt,
        now = issued,
        idp = a.idp_entity_id,
        email = email,
        noa = not_after,
        acs = a.acs,
        nb = not_before,
        sp = a.sp_entity_id,
        attrs = attributes(&email, &person_name(a, &email, i)),
    );
    let assertion = sign_enveloped(&assertion, &aid, key, Digest::Sha256)?;
    let response = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{rid}"{irt} Version="2.0" IssueInstant="{issued}" Destination="{acs}"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{idp}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        acs = a.acs,
        idp = a.idp_entity_id,
    );
    Ok(sign_enveloped(&response, &rid, key, Digest::Sha256)?)
}

/// 64 random bits for IDs (not a secret: uniqueness across runs).
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // A failing system RNG leaves zeros; the index part of the ID keeps it unique in the run.
    let _ = aws_lc_rs::rand::fill(&mut b);
    u64::from_le_bytes(b)
}

/// Form-urlencodes a base64 value (only `+`, `/` and `=` need it).
fn form_value(b64: &str) -> String {
    let mut s = String::with_capacity(b64.len() + b64.len() / 8);
    for c in b64.chars() {
        match c {
            '+' => s.push_str("%2B"),
            '/' => s.push_str("%2F"),
            '=' => s.push_str("%3D"),
            c => s.push(c),
        }
    }
    s
}

/// Median time of one bare RSA-2048 PKCS#1 v1.5 SHA-256 verification (key parsed once, as
/// `TrustedKeys` does), over 20 rounds of 200.
fn bare_verify_us(pk8: &[u8], cert_der: &[u8]) -> Res<f64> {
    let pair = RsaKeyPair::from_pkcs8(pk8).map_err(|e| format!("{e:?}"))?;
    let msg = vec![b'x'; 700];
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        &msg,
        &mut sig,
    )
    .map_err(|e| format!("{e:?}"))?;
    let (_, cert) = X509Certificate::from_der(cert_der)?;
    let parsed = ParsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        cert.public_key().raw,
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut rounds: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let ok = (0..200)
                .filter(|_| parsed.verify_sig(&msg, &sig).is_ok())
                .count();
            (t.elapsed().as_secs_f64() * 1e6 / 200.0, ok)
        })
        .filter(|(_, ok)| *ok == 200)
        .map(|(us, _)| us)
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds
        .get(rounds.len() / 2)
        .copied()
        .ok_or_else(|| "the bare verification failed".into())
}

fn main() -> Res<()> {
    let a = parse_args()?;
    let pk8 = fixture("idp.pk8.pem")?;
    let cert = fixture("idp.crt")?;
    let key = SigningKey::from_pkcs8_der(&pk8, Some(cert.clone()))?;
    let now = SystemTime::now();
    let started = Instant::now();
    let bodies = mint::parallel(a.count, a.threads, |i| {
        let xml = response(&a, &key, i, now)?;
        Ok(form_value(
            &base64::engine::general_purpose::STANDARD.encode(xml),
        ))
    })?;
    let first_len = response(&a, &key, 1, now)?.len();
    mint::write_lines(&a.out, "SAMLResponse=", &bodies)?;
    println!(
        "minted {} responses in {:.1} s; one is {first_len} bytes of XML",
        a.count,
        started.elapsed().as_secs_f64()
    );
    println!("bare_verify_us {:.2}", bare_verify_us(&pk8, &cert)?);
    Ok(())
}
