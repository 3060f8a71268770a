//! Mints distinct RS256 JWTs for the JWT-remote-login runs of the sign-in load harness
//! (`bench/signin-load`), the way a customer's login page would sign them.
//!
//! It lives next to `mint_responses` (and `bench_op`) in this crate's examples because this
//! crate's release build is the light one the harness makes anyway (aws-lc-rs, no web stack):
//! signing a JWT needs nothing more than aws-lc-rs and base64.
//!
//! Each token has its own `jti`, is valid for an hour from now and is signed with RSA-2048
//! PKCS#1 v1.5 SHA-256 — the committed test key `lanyard-core/tests/fixtures/jwt/rsa.key`, so the
//! verification cost is comparable with the SAML runs' RSA-2048. Subjects follow the SAML
//! minter: `--users` returning people (spread out) and one new person every `--new-every`.
//!
//! ```text
//! cargo run --release -p lanyard-saml --example mint_jwts -- \
//!   --count 5000 --users 300 --new-every 20 --out tokens.txt \
//!   --issuer https://portal.bench.example --audience lanyard-bench
//! ```
//!
//! Writes one `jwt=<token>` query a line (a JWT is base64url and dots: nothing to escape).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use aws_lc_rs::signature::{self, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[path = "common/mint.rs"]
mod mint;
use mint::Res;

struct Args {
    count: usize,
    users: usize,
    new_every: usize,
    out: PathBuf,
    issuer: String,
    audience: String,
    threads: usize,
    /// Each token names its person anew (see `mint_responses --profile-changes`).
    profile_changes: bool,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        count: 5_000,
        users: 300,
        new_every: 20,
        out: PathBuf::from("tokens.txt"),
        issuer: "https://portal.bench.example".into(),
        audience: "lanyard-bench".into(),
        threads: std::thread::available_parallelism().map_or(2, usize::from),
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
            "--issuer" => a.issuer = value,
            "--audience" => a.audience = value,
            "--threads" => a.threads = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.users == 0 || a.threads == 0 {
        return Err("--users and --threads must be at least 1".into());
    }
    Ok(a)
}

/// The DER inside a PEM file of the JWT test fixtures.
fn fixture_der(name: &str) -> Res<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../lanyard-core/tests/fixtures/jwt")
        .join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(body.trim())?)
}

/// The subject of token `i`: a new person every `new_every`, else one of `users`, spread out
/// (the same picking as the SAML minter, so the provisioning mix is the same). The addresses
/// are on their own domain: on a server that also ran the SAML sign-ins, the same address from a
/// second connection would be refused as taken (Lanyard never links by email).
fn subject(a: &Args, i: usize) -> (String, String) {
    if a.new_every > 0 && i.is_multiple_of(a.new_every) {
        (format!("new{i}"), format!("new{i}@jwt.bench.example"))
    } else {
        let n = i.wrapping_mul(7919) % a.users;
        (format!("user{n}"), format!("user{n}@jwt.bench.example"))
    }
}

/// 64 random bits for the jti (not a secret: uniqueness across runs).
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // A failing system RNG leaves zeros; the index part of the jti keeps it unique in the run.
    let _ = aws_lc_rs::rand::fill(&mut b);
    u64::from_le_bytes(b)
}

fn token(a: &Args, key: &RsaKeyPair, i: usize, now: i64) -> Res<String> {
    let (sub, email) = subject(a, i);
    let name = if a.profile_changes {
        format!("Bench Person {i}")
    } else {
        format!("Bench Person {sub}")
    };
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": a.issuer, "aud": a.audience, "sub": sub, "email": email,
        "name": name, "jti": format!("j{i:08}{:016x}", rand_u64()),
        "iat": now, "nbf": now - 60, "exp": now + 3600,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|e| format!("signing: {e:?}"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

fn main() -> Res<()> {
    let a = parse_args()?;
    let key = RsaKeyPair::from_pkcs8(&fixture_der("rsa.key")?).map_err(|e| format!("{e:?}"))?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let started = Instant::now();
    let tokens = mint::parallel(a.count, a.threads, |i| token(&a, &key, i, now))?;
    let first_len = tokens.first().map_or(0, String::len);
    mint::write_lines(&a.out, "jwt=", &tokens)?;
    println!(
        "minted {} RS256 tokens in {:.1} s; one is {first_len} bytes",
        a.count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
