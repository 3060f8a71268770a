//! The reference command-line client of the device authorization grant (RFC 8628):
//! `lanyard login`, `whoami`, `logout` and `tokens list|revoke`. The credential is the user's
//! `lyt_` API token that the server issues as the grant's `access_token` (client `lanyard-cli`),
//! stored by [`crate::credentials`].

use crate::credentials::{self, Credentials};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

const CLIENT_ID: &str = "lanyard-cli";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// The Lanyard server's URL [env: LANYARD_SERVER] (default: the stored one, else
    /// http://127.0.0.1:8080)
    #[arg(long)]
    pub server: Option<String>,
    /// Your organisation's short name (tenant slug) [env: LANYARD_ORG] (default: the stored one)
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Do not wait for a key press or open a browser: print the URL with the code and wait, so
    /// the sign-in can be finished on another device (SSH, containers) [env: LANYARD_HEADLESS=1]
    #[arg(long)]
    pub headless: bool,
    /// The name of this machine on the token (default: the host name)
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum TokensCommand {
    /// List your API tokens (the one this machine uses is marked *)
    List(ServerArgs),
    /// Revoke one of your API tokens by its id
    Revoke {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// A failure the person can act on, with a stable code.
#[derive(Debug)]
pub enum CliError {
    Denied,
    Expired,
    Unreachable { url: String, cause: String },
    TokenRevoked { org: String },
    WrongOrganization { org: String, detail: String },
    NotLoggedIn,
    Credentials(String),
    Server(String),
}

impl CliError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Denied => "cli.denied",
            Self::Expired => "cli.expired",
            Self::Unreachable { .. } => "cli.server_unreachable",
            Self::TokenRevoked { .. } => "cli.token_revoked",
            Self::WrongOrganization { .. } => "cli.wrong_organization",
            Self::NotLoggedIn => "cli.not_logged_in",
            Self::Credentials(_) => "cli.credentials_file",
            Self::Server(_) => "cli.server_error",
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied => write!(
                f,
                "the sign-in was denied in the browser; run `lanyard login` again if that was a mistake"
            ),
            Self::Expired => write!(
                f,
                "the code expired before the sign-in was confirmed (10 minutes); run `lanyard login` again"
            ),
            Self::Unreachable { url, cause } => write!(
                f,
                "cannot reach the Lanyard server at {url} ({cause}); check --server and your network"
            ),
            Self::TokenRevoked { org } => write!(
                f,
                "the server no longer accepts this machine's token for `{org}` (revoked, expired, or your account moved to SSO); run `lanyard login` again"
            ),
            Self::WrongOrganization { org, detail } => write!(
                f,
                "the organisation `{org}` does not accept this sign-in ({detail}); check --org"
            ),
            Self::NotLoggedIn => write!(
                f,
                "not logged in; run `lanyard login --server URL --org SLUG`"
            ),
            Self::Credentials(m) => write!(f, "{m}"),
            Self::Server(m) => write!(f, "the server refused the request: {m}"),
        }
    }
}

fn finish(r: Result<(), CliError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lanyard: {}: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Server(format!("cannot start the async runtime: {e}")))
}

/// Where to talk to and with which token: flags, then env, then the stored file.
struct Target {
    server: String,
    org: String,
    token: Option<String>,
}

fn target(a: &ServerArgs, need_token: bool) -> Result<Target, CliError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let stored = credentials::load().map_err(CliError::Credentials)?;
    let server = a
        .server
        .clone()
        .or_else(|| env("LANYARD_SERVER"))
        .or_else(|| stored.as_ref().map(|c| c.server.clone()))
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim_end_matches('/')
        .to_owned();
    let org = a
        .org
        .clone()
        .or_else(|| env("LANYARD_ORG"))
        .or_else(|| stored.as_ref().map(|c| c.org.clone()));
    let token = env("LANYARD_API_TOKEN").or_else(|| stored.map(|c| c.token));
    match (org, &token) {
        (None, _) => Err(CliError::NotLoggedIn),
        (Some(_), None) if need_token => Err(CliError::NotLoggedIn),
        (Some(org), _) => Ok(Target { server, org, token }),
    }
}

fn client() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("lanyard-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::Server(e.to_string()))
}

fn unreachable(url: &str, e: &reqwest::Error) -> CliError {
    let mut cause = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        cause = c.to_string();
        cur = c.source();
    }
    CliError::Unreachable {
        url: url.to_owned(),
        cause,
    }
}

/// POSTs a form; the status and the JSON body.
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> Result<(u16, Value), CliError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(url, &e))?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| unreachable(url, &e))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

async fn with_token(
    http: &reqwest::Client,
    method: reqwest::Method,
    t: &Target,
    path: &str,
) -> Result<(u16, Value), CliError> {
    let url = format!("{}{path}", t.server);
    let token = t.token.as_deref().ok_or(CliError::NotLoggedIn)?;
    let r = http
        .request(method, &url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| unreachable(&t.server, &e))?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| unreachable(&t.server, &e))?;
    if status == 401 {
        return Err(CliError::TokenRevoked { org: t.org.clone() });
    }
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cli".into())
}

/// Reads one key without waiting for Enter on a terminal (`stty raw` around the read).
fn read_key() -> Option<u8> {
    let tty = std::io::stdin().is_terminal();
    let stty = |args: &[&str]| {
        let _ = std::process::Command::new("stty")
            .args(args)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        stty(&["raw", "-echo"]);
    }
    let mut b = [0u8; 1];
    let n = std::io::stdin().read(&mut b).ok();
    if tty {
        stty(&["-raw", "echo"]);
    }
    match n {
        Some(1) => b.first().copied(),
        _ => None,
    }
}

fn open_browser(url: &str) {
    let program = std::env::var("LANYARD_BROWSER")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
            .into()
        });
    if let Err(e) = std::process::Command::new(&program)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!(
            "lanyard: could not start the browser ({program}: {e}); open the URL above yourself"
        );
    }
}

pub fn login(a: LoginArgs) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(run_login(a))))
}

async fn run_login(a: LoginArgs) -> Result<(), CliError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let server = a
        .server
        .server
        .clone()
        .or_else(|| env("LANYARD_SERVER"))
        .or_else(|| credentials::load().ok().flatten().map(|c| c.server))
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim_end_matches('/')
        .to_owned();
    let org = a
        .server
        .org
        .clone()
        .or_else(|| env("LANYARD_ORG"))
        .or_else(|| credentials::load().ok().flatten().map(|c| c.org))
        .ok_or(CliError::NotLoggedIn)?;
    let headless = a.headless || env("LANYARD_HEADLESS").is_some_and(|v| v == "1" || v == "true");
    let name = a.name.clone().unwrap_or_else(host_name);
    let http = client()?;
    let (status, d) = post_form(
        &http,
        &format!("{server}/oauth2/device"),
        &[
            ("client_id", CLIENT_ID),
            ("organization", &org),
            ("name", &name),
        ],
    )
    .await?;
    if status != 200 {
        let desc = str_of(&d, "error_description").to_owned();
        if desc.starts_with("oauth.unknown_organization")
            || desc.starts_with("oauth.tenant_not_allowed")
        {
            return Err(CliError::WrongOrganization { org, detail: desc });
        }
        return Err(CliError::Server(format!("HTTP {status} {desc}")));
    }
    let url = str_of(&d, "verification_uri_complete").to_owned();
    let user_code = str_of(&d, "user_code").to_owned();
    let device_code = str_of(&d, "device_code").to_owned();
    let mut interval = d
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .max(1);
    let mut out = std::io::stdout();
    if headless {
        println!("To log in, open this URL on any device and confirm the code {user_code}:");
        println!("{url}");
    } else {
        println!("Your code is {user_code}.");
        println!("Press any key to open up the browser to login or q to exit:");
        println!("Warning: If browser does not open, visit");
        println!("{url}");
        let _ = out.flush();
        match read_key() {
            Some(b'q' | b'Q') | None => {
                println!("Login cancelled.");
                return Ok(());
            }
            Some(_) => open_browser(&url),
        }
    }
    let spinner = out.is_terminal();
    print!("Waiting for login...");
    let _ = out.flush();
    let frames = ['|', '/', '-', '\\'];
    let mut tick = 0usize;
    let token = loop {
        // Wait the interval, animating on a terminal.
        let steps = interval * 4;
        for _ in 0..steps {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if spinner {
                tick = tick.wrapping_add(1);
                print!(
                    "\rWaiting for login... {}",
                    frames.get(tick % 4).unwrap_or(&'|')
                );
                let _ = out.flush();
            }
        }
        if !spinner {
            print!(".");
            let _ = out.flush();
        }
        let (status, r) = post_form(
            &http,
            &format!("{server}/oauth2/token"),
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", &device_code),
                ("client_id", CLIENT_ID),
            ],
        )
        .await?;
        if status == 200 {
            break r;
        }
        match str_of(&r, "error") {
            "authorization_pending" => {}
            "slow_down" => interval += 5,
            "access_denied" => {
                println!();
                let desc = str_of(&r, "error_description");
                if desc.starts_with("oauth.device_wrong_organization") {
                    return Err(CliError::WrongOrganization {
                        org,
                        detail: desc.to_owned(),
                    });
                }
                return Err(CliError::Denied);
            }
            "expired_token" => {
                println!();
                return Err(CliError::Expired);
            }
            _ => {
                println!();
                return Err(CliError::Server(format!(
                    "HTTP {status} {}",
                    str_of(&r, "error_description")
                )));
            }
        }
    };
    println!();
    println!("Logging in... done");
    let user = token.get("user").cloned().unwrap_or(Value::Null);
    let email = user
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| user.get("username").and_then(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let c = Credentials {
        server,
        org,
        token: str_of(&token, "access_token").to_owned(),
        token_id: token
            .get("api_token_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        email: Some(email.clone()),
    };
    credentials::save(&c).map_err(CliError::Credentials)?;
    println!("Logged in as {email}");
    Ok(())
}

pub fn whoami(a: ServerArgs) -> ExitCode {
    finish(runtime().and_then(|rt| {
        rt.block_on(async {
            let t = target(&a, true)?;
            let (status, v) = with_token(
                &client()?,
                reqwest::Method::GET,
                &t,
                &format!("/t/{}/session", t.org),
            )
            .await?;
            if status != 200 {
                return Err(CliError::Server(format!("HTTP {status}")));
            }
            let u = v.get("user").cloned().unwrap_or(Value::Null);
            let who = u
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or_else(|| str_of(&u, "username"));
            println!(
                "{who} ({}, {}) on {}",
                str_of(&u, "username"),
                t.org,
                t.server
            );
            Ok(())
        })
    }))
}

pub fn logout(a: ServerArgs) -> ExitCode {
    finish(runtime().and_then(|rt| {
        rt.block_on(async {
            let t = target(&a, true)?;
            let res = with_token(
                &client()?,
                reqwest::Method::DELETE,
                &t,
                &format!("/t/{}/api-tokens/current", t.org),
            )
            .await;
            match res {
                Ok((204, _)) => {}
                // Already revoked: forgetting it is all that is left to do.
                Err(CliError::TokenRevoked { .. }) => {}
                Ok((status, v)) => {
                    return Err(CliError::Server(format!(
                        "HTTP {status} {}",
                        str_of(&v, "message")
                    )));
                }
                Err(e) => return Err(e),
            }
            credentials::forget().map_err(CliError::Credentials)?;
            println!("Logged out of {} on {}", t.org, t.server);
            Ok(())
        })
    }))
}

pub fn tokens(cmd: TokensCommand) -> ExitCode {
    finish(runtime().and_then(|rt| {
        rt.block_on(async {
            match cmd {
                TokensCommand::List(a) => {
                    let t = target(&a, true)?;
                    let (_, v) = with_token(
                        &client()?,
                        reqwest::Method::GET,
                        &t,
                        &format!("/t/{}/api-tokens", t.org),
                    )
                    .await?;
                    println!(
                        "  {:<28} {:<24} {:<22} {:<22}",
                        "ID", "NAME", "EXPIRES", "REVOKED"
                    );
                    for i in v
                        .get("items")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let mark = if i.get("current").and_then(Value::as_bool) == Some(true) {
                            "*"
                        } else {
                            " "
                        };
                        println!(
                            "{mark} {:<28} {:<24} {:<22} {:<22}",
                            str_of(i, "id"),
                            str_of(i, "name"),
                            str_of(i, "expires_at"),
                            i.get("revoked_at").and_then(Value::as_str).unwrap_or("-")
                        );
                    }
                    Ok(())
                }
                TokensCommand::Revoke { id, server } => {
                    let t = target(&server, true)?;
                    let (status, v) = with_token(
                        &client()?,
                        reqwest::Method::DELETE,
                        &t,
                        &format!("/t/{}/api-tokens/{id}", t.org),
                    )
                    .await?;
                    if status != 204 {
                        return Err(CliError::Server(format!(
                            "HTTP {status} {}",
                            str_of(&v, "message")
                        )));
                    }
                    println!("Revoked {id}");
                    Ok(())
                }
            }
        })
    }))
}
