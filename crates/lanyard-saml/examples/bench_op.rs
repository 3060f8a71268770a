//! A minimal OpenID provider for the OIDC-callback runs of the sign-in load harness
//! (`bench/signin-load`): discovery, JWKS and a token endpoint on 127.0.0.1, nothing else.
//!
//! Load-test tooling, not a provider: there is no authorization page. The load script makes the
//! authorization code itself from what Lanyard's start put in the redirect to this provider:
//! `code = <subject>.<nonce>`, so the token endpoint can sign an ID token for that subject and
//! that nonce without keeping any state, and one host can drive the whole sign-in (start,
//! callback, and Lanyard's back-channel token request here). PKCE's verifier and the
//! redirect_uri are not checked (there is no stored grant to check them against); the client's
//! credentials (client_secret_basic or _post) are.
//!
//! ID tokens signed at the token request are ES256 (P-256, the committed test key
//! `lanyard-core/tests/fixtures/jwt/ec256.key`, `kid` `bench-es256`): an ECDSA signature costs
//! this process tens of microseconds where an RSA-2048 one costs about a millisecond and, on the
//! same two cores as Lanyard, would measure the provider rather than Lanyard.
//!
//! `POST /presign` (one code a line) signs ID tokens before a timed run, as the SAML responses
//! are minted before theirs: RS256 (the committed `rsa.key`, `kid` `bench-rs256`, the algorithm
//! Entra ID, Okta and Google sign with), kept by code and answered by the token endpoint for
//! that code once (a code without one is signed then, ES256). The run then measures what a
//! relying party pays per callback — the back-channel request and the verification of the
//! token — and not the provider's signing, which a real provider does on its own machines.
//! The JWKS lists both keys; Lanyard's RP accepts both (`checks::parse_algorithm`).
//!
//! People are `<subject>@oidc.bench.example`: their own domain, so they never collide with the
//! SAML and JWT runs' accounts on the same server (Lanyard never links by email, so the same
//! address from a second connection is refused as taken).
//!
//! Bounded: one thread per connection, at most `--max-conns` at once (more are closed at
//! once), and the process exits after `--max-secs`. `GET /stats` answers the counts (token
//! requests, ID tokens answered, signed at the request and presigned, JWKS and discovery
//! fetches, refusals) so the harness can show that the JWKS was fetched once and cached and
//! which tokens were signed when.
//!
//! ```text
//! cargo run --release -p lanyard-saml --example bench_op -- \
//!   --port 0 --client-id lanyard-bench --client-secret bench-secret --max-secs 1800
//! ```
//!
//! Prints `listening http://127.0.0.1:<port>` (the issuer) on standard output once bound.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

#[path = "common/mint.rs"]
#[allow(dead_code)] // only `parallel` is used here
mod mint;

type Res<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

const ES_KID: &str = "bench-es256";
const RS_KID: &str = "bench-rs256";
/// Largest request head or body read (a token request is a few hundred bytes).
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Largest `/presign` body (one code a line; tens of thousands of codes).
const MAX_PRESIGN_BYTES: usize = 64 * 1024 * 1024;
/// Threads that sign a `/presign` batch.
const PRESIGN_THREADS: usize = 2;

struct Args {
    port: u16,
    client_id: String,
    client_secret: String,
    max_secs: u64,
    max_conns: usize,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        port: 0,
        client_id: "lanyard-bench".into(),
        client_secret: "bench-secret".into(),
        max_secs: 1800,
        max_conns: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => a.port = value.parse()?,
            "--client-id" => a.client_id = value,
            "--client-secret" => a.client_secret = value,
            "--max-secs" => a.max_secs = value.parse()?,
            "--max-conns" => a.max_conns = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(a)
}

#[derive(Default)]
struct Stats {
    token_requests: AtomicU64,
    id_tokens: AtomicU64,
    signed_at_request: AtomicU64,
    presigned: AtomicU64,
    presigned_used: AtomicU64,
    jwks: AtomicU64,
    discovery: AtomicU64,
    refused: AtomicU64,
}

struct Op {
    issuer: String,
    client_id: String,
    client_secret: String,
    key: EcdsaKeyPair,
    rsa: RsaKeyPair,
    jwks: String,
    /// ID tokens signed by `/presign`, by code; each answered once.
    presigned: Mutex<HashMap<String, String>>,
    stats: Stats,
    open: AtomicUsize,
    max_conns: usize,
}

/// How an ID token is signed.
#[derive(Clone, Copy)]
enum Alg {
    /// At the token request (cheap for this process).
    Es256,
    /// By `/presign`, before a timed run.
    Rs256,
}

/// An HTTP answer (always JSON): the status line's text and the body.
struct Answer {
    status: &'static str,
    body: String,
}

impl Answer {
    fn json(v: &Value) -> Self {
        Self {
            status: "200 OK",
            body: v.to_string(),
        }
    }
    fn error(status: &'static str, error: &str, description: &str) -> Self {
        Self {
            status,
            body: json!({"error": error, "error_description": description}).to_string(),
        }
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `%XX` and `+` decoding of one form value (what a token request's values may carry).
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| form_decode(v))
}

impl Op {
    fn discovery(&self) -> Answer {
        self.stats.discovery.fetch_add(1, Ordering::Relaxed);
        let o = &self.issuer;
        Answer::json(&json!({
            "issuer": o,
            "authorization_endpoint": format!("{o}/authorize"),
            "token_endpoint": format!("{o}/token"),
            "jwks_uri": format!("{o}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }))
    }

    /// Whether the token request carries this client's credentials (basic or post).
    fn client_ok(&self, authorization: Option<&str>, body: &str) -> bool {
        let basic = authorization
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(i, p)| (form_decode(i), form_decode(p)))
            });
        let (id, secret) = match basic {
            Some(pair) => pair,
            None => (
                form_field(body, "client_id").unwrap_or_default(),
                form_field(body, "client_secret").unwrap_or_default(),
            ),
        };
        id == self.client_id && secret == self.client_secret
    }

    fn token(&self, authorization: Option<&str>, body: &str) -> Answer {
        self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        if !self.client_ok(authorization, body) {
            return Answer::error("401 Unauthorized", "invalid_client", "wrong client");
        }
        if form_field(body, "grant_type").as_deref() != Some("authorization_code") {
            return Answer::error("400 Bad Request", "unsupported_grant_type", "code only");
        }
        let code = form_field(body, "code").unwrap_or_default();
        let Some((sub, nonce)) = code.split_once('.').filter(|(s, n)| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric())
                && !n.is_empty()
                && n.len() <= 256
        }) else {
            return Answer::error("400 Bad Request", "invalid_grant", "code is not sub.nonce");
        };
        let presigned = self
            .presigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&code);
        let signed = match presigned {
            Some(t) => {
                self.stats.presigned_used.fetch_add(1, Ordering::Relaxed);
                Ok(t)
            }
            None => {
                self.stats.signed_at_request.fetch_add(1, Ordering::Relaxed);
                self.id_token(sub, nonce, Alg::Es256)
            }
        };
        match signed {
            Ok(id_token) => {
                self.stats.id_tokens.fetch_add(1, Ordering::Relaxed);
                Answer::json(&json!({
                    "access_token": format!("bench-at-{sub}"),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }))
            }
            Err(e) => Answer::error("500 Internal Server Error", "server_error", &e.to_string()),
        }
    }

    fn id_token(&self, sub: &str, nonce: &str, alg: Alg) -> Res<String> {
        let now = now_secs();
        let (name, kid) = match alg {
            Alg::Es256 => ("ES256", ES_KID),
            Alg::Rs256 => ("RS256", RS_KID),
        };
        let header = json!({"alg": name, "typ": "JWT", "kid": kid});
        // A presigned token waits for its run: valid 15 minutes (the harness's runs take
        // seconds to a few minutes).
        let claims = json!({
            "iss": self.issuer, "aud": self.client_id, "sub": sub, "nonce": nonce,
            "iat": now, "exp": now + 900, "auth_time": now,
            "email": format!("{sub}@oidc.bench.example"), "email_verified": true,
            "name": format!("Bench Person {sub}"),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = match alg {
            Alg::Es256 => self
                .key
                .sign(&rng, input.as_bytes())
                .map_err(|e| format!("signing: {e:?}"))?
                .as_ref()
                .to_vec(),
            Alg::Rs256 => {
                let mut sig = vec![0u8; self.rsa.public_modulus_len()];
                self.rsa
                    .sign(
                        &signature::RSA_PKCS1_SHA256,
                        &rng,
                        input.as_bytes(),
                        &mut sig,
                    )
                    .map_err(|e| format!("signing: {e:?}"))?;
                sig
            }
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// `POST /presign`: an RS256 ID token for each code of the body (one a line, `sub.nonce`
    /// as the token endpoint reads it, form-encoded or not), kept for that code's token request.
    fn presign(&self, body: &str) -> Answer {
        let mut codes = Vec::new();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let code = form_decode(line);
            match code.split_once('.') {
                Some((sub, nonce)) if !sub.is_empty() && !nonce.is_empty() => {
                    codes.push((code.clone(), sub.to_owned(), nonce.to_owned()));
                }
                _ => {
                    return Answer::error(
                        "400 Bad Request",
                        "invalid_request",
                        &format!(
                            "not a sub.nonce code: {}",
                            line.chars().take(80).collect::<String>()
                        ),
                    );
                }
            }
        }
        let tokens = match mint::parallel(codes.len(), PRESIGN_THREADS, |i| {
            let (_, sub, nonce) = codes.get(i).ok_or("index out of range")?;
            self.id_token(sub, nonce, Alg::Rs256)
        }) {
            Ok(t) => t,
            Err(e) => {
                return Answer::error("500 Internal Server Error", "server_error", &e.to_string());
            }
        };
        let count = tokens.len();
        let mut kept = self
            .presigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((code, _, _), token) in codes.into_iter().zip(tokens) {
            kept.insert(code, token);
        }
        drop(kept);
        let signed = u64::try_from(count).unwrap_or(u64::MAX);
        self.stats.presigned.fetch_add(signed, Ordering::Relaxed);
        Answer::json(&json!({"presigned": count, "alg": "RS256"}))
    }

    fn stats(&self) -> Answer {
        let s = &self.stats;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Answer::json(&json!({
            "token_requests": n(&s.token_requests), "id_tokens": n(&s.id_tokens),
            "signed_at_request": n(&s.signed_at_request), "presigned": n(&s.presigned),
            "presigned_used": n(&s.presigned_used),
            "jwks": n(&s.jwks), "discovery": n(&s.discovery), "refused": n(&s.refused),
        }))
    }

    fn route(&self, method: &str, path: &str, authorization: Option<&str>, body: &str) -> Answer {
        let answer = match (method, path) {
            ("GET", "/.well-known/openid-configuration") => self.discovery(),
            ("GET", "/jwks") => {
                self.stats.jwks.fetch_add(1, Ordering::Relaxed);
                Answer {
                    status: "200 OK",
                    body: self.jwks.clone(),
                }
            }
            ("POST", "/token") => self.token(authorization, body),
            ("POST", "/presign") => self.presign(body),
            ("GET", "/stats") => self.stats(),
            _ => Answer::error(
                "404 Not Found",
                "not_found",
                "the bench OP serves discovery, /jwks and /token only (no authorization page: the load script makes the codes)",
            ),
        };
        if !answer.status.starts_with("200") {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }
}

/// One request as this server reads it.
struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    body: String,
    keep_alive: bool,
}

/// One request off the connection, or None at the end of the connection or on a request this
/// server does not read (too large, not HTTP).
fn read_request(r: &mut BufReader<TcpStream>) -> Res<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, path) = (
        method.to_owned(),
        target.split('?').next().unwrap_or_default().to_owned(),
    );
    let mut keep_alive = parts.next() == Some("HTTP/1.1");
    let (mut length, mut authorization, mut head) = (0usize, None, line.len());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        head += h.len();
        if head > MAX_REQUEST_BYTES {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse()?,
                "authorization" => authorization = Some(v.to_owned()),
                "connection" => keep_alive = !v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let max = if path == "/presign" {
        MAX_PRESIGN_BYTES
    } else {
        MAX_REQUEST_BYTES
    };
    if length > max {
        return Ok(None);
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
        keep_alive,
    }))
}

fn serve(op: &Op, stream: TcpStream) -> Res<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // The answer goes out in one write, and without Nagle's delay: written piece by piece (as
    // `write!` on a bare socket does), every piece after the first waited for the client's
    // delayed ACK, ≈ 40 ms per token request — the bench then measured this OP, not Lanyard.
    stream.set_nodelay(true)?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    while let Some(q) = read_request(&mut r)? {
        let keep_alive = q.keep_alive;
        let a = op.route(&q.method, &q.path, q.authorization.as_deref(), &q.body);
        let answer = format!(
            "HTTP/1.1 {}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{}",
            a.status,
            a.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
            a.body
        );
        w.write_all(answer.as_bytes())?;
        if !keep_alive {
            break;
        }
    }
    Ok(())
}

/// Counts an open connection for as long as it lives.
struct Slot(Arc<Op>);
impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The DER inside a PEM file of the JWT test fixtures.
fn fixture_der(name: &str) -> Res<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../lanyard-core/tests/fixtures/jwt")
        .join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(STANDARD.decode(
        text.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
    )?)
}

/// One DER TLV at the start of `der`: (tag, contents, rest). Short and long lengths.
fn der_tlv(der: &[u8]) -> Res<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first().ok_or("DER: empty")?;
    let (&first, mut rest) = rest.split_first().ok_or("DER: no length")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        let (bytes, after) = rest.split_at_checked(n).ok_or("DER: short length")?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (body, rest) = rest.split_at_checked(len).ok_or("DER: short contents")?;
    Ok((tag, body, rest))
}

/// The JWK `n` and `e` of an RSA key pair (its public key is a DER `RSAPublicKey`: a SEQUENCE
/// of two INTEGERs), base64url without the sign byte.
fn rsa_jwk_parts(key: &RsaKeyPair) -> Res<(String, String)> {
    let (_, seq, _) = der_tlv(key.public_key().as_ref())?;
    let (_, n, rest) = der_tlv(seq)?;
    let (_, e, _) = der_tlv(rest)?;
    let strip = |b: &[u8]| -> String {
        let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        URL_SAFE_NO_PAD.encode(b.get(i..).unwrap_or_default())
    };
    Ok((strip(n), strip(e)))
}

fn main() -> Res<()> {
    let a = parse_args()?;
    let key = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &fixture_der("ec256.key")?,
    )
    .map_err(|e| format!("ec256.key: {e:?}"))?;
    let rsa =
        RsaKeyPair::from_pkcs8(&fixture_der("rsa.key")?).map_err(|e| format!("rsa.key: {e:?}"))?;
    let point = key.public_key().as_ref();
    let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
        return Err("ec256.key: not an uncompressed P-256 point".into());
    };
    let (n, e) = rsa_jwk_parts(&rsa)?;
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": ES_KID,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    }, {
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": RS_KID, "n": n, "e": e,
    }]})
    .to_string();
    let listener = TcpListener::bind(("127.0.0.1", a.port))?;
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let op = Arc::new(Op {
        issuer: issuer.clone(),
        client_id: a.client_id,
        client_secret: a.client_secret,
        key,
        rsa,
        jwks,
        presigned: Mutex::default(),
        stats: Stats::default(),
        open: AtomicUsize::new(0),
        max_conns: a.max_conns,
    });
    let max = Duration::from_secs(a.max_secs);
    std::thread::spawn(move || {
        std::thread::sleep(max);
        eprintln!("bench_op: --max-secs reached, exiting");
        std::process::exit(0);
    });
    println!("listening {issuer}");
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if op.open.fetch_add(1, Ordering::Relaxed) >= op.max_conns {
            op.open.fetch_sub(1, Ordering::Relaxed);
            continue; // dropped: closed at once
        }
        let slot = Slot(op.clone());
        std::thread::spawn(move || {
            if let Err(e) = serve(&slot.0, stream) {
                // A client that closes or idles out is normal; anything else is worth a line.
                if e.downcast_ref::<std::io::Error>().is_none() {
                    eprintln!("bench_op: {e}");
                }
            }
        });
    }
    Ok(())
}
