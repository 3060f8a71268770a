//! `lanyard serve --demo` and `lanyard dev-idp`: the built-in test identity provider
//! (`lanyard_server::dev_idp`), refused on a non-loopback public URL unless explicitly allowed.

use crate::config::Config;
use anyhow::{Context, Result};
use ipnet::IpNet;
use lanyard_core::{Lanyard, SystemClock};
use lanyard_server::dev_idp::{DevIdp, KeyFile, PREFIX};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// The flag that lets the test IdP run on a public URL that is not loopback.
pub const ALLOW_FLAG: &str = "--dev-idp-allow-non-loopback";
const KEY_FILE: &str = "dev-idp-keys.json";

#[derive(clap::Args, Debug, Default, Clone)]
#[command(next_help_heading = "Demo")]
pub struct DemoArgs {
    /// Also run the built-in test identity provider under /dev-idp and give the demo tenant a
    /// SAML and an OIDC connection to it ("Sign in with Test IdP"). Loopback public URLs only.
    #[arg(long)]
    pub demo: bool,
    /// Allow --demo on a public URL that is not loopback (anyone who reaches the server can
    /// then sign in to the demo tenant as any test person).
    #[arg(long = "dev-idp-allow-non-loopback")]
    pub allow_non_loopback: bool,
}

#[derive(clap::Args, Debug)]
pub struct DevIdpArgs {
    /// TOML configuration file (the test IdP reads only its `data_dir`)
    #[arg(long, env = "LANYARD_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Directory of the test IdP's keys (dev-idp-keys.json) [default: ./lanyard-data]
    #[arg(long, env = "LANYARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Address the test IdP listens on (its own port, apart from `serve`'s --listen).
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// The URL the test IdP is reached at (default: http://ADDR of --bind).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Allow a URL that is not loopback (anyone who reaches it can sign in as any test person
    /// to every SP that trusts it).
    #[arg(long = "dev-idp-allow-non-loopback")]
    pub allow_non_loopback: bool,
}

impl DevIdpArgs {
    /// The settings the test IdP uses: where its keys live, nothing of the server's.
    pub fn to_config_args(&self) -> crate::config::ConfigArgs {
        crate::config::ConfigArgs {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            ..crate::config::ConfigArgs::default()
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The one line printed (exit status 2) when the test IdP would run on a non-loopback URL.
pub fn loopback_refusal(url: &url::Url, allowed: bool) -> Option<String> {
    (!allowed && !is_loopback(url)).then(|| {
        format!(
            "the built-in test IdP signs anyone in as any test person, so it runs only on a loopback URL; {url} is not loopback (pass {ALLOW_FLAG} to run it there anyway)"
        )
    })
}

/// The loopback networks of the public URL's host, which the demo's outbound requests (token,
/// JWKS of the test IdP) must reach. Never link-local: only loopback addresses are returned.
pub fn loopback_networks(url: &url::Url) -> Vec<IpNet> {
    let ips: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(d)) if d == "localhost" || d.ends_with(".localhost") => {
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        }
        _ => Vec::new(),
    };
    ips.into_iter().map(IpNet::from).collect()
}

fn key_path(config: &Config) -> PathBuf {
    config.data_dir.join(KEY_FILE)
}

async fn load_keys(config: &Config) -> Result<KeyFile> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let path = key_path(config);
    tokio::task::spawn_blocking(move || KeyFile::load_or_generate(&path))
        .await
        .context("test IdP key task")?
        .context("test IdP keys")
}

/// For `serve --demo`: the test IdP on the server's public URL, and the demo tenant's
/// connections to it (created when missing).
pub async fn for_serve(config: &Config, lanyard: &Lanyard) -> Result<Arc<DevIdp>> {
    let keys = load_keys(config).await?;
    let idp =
        Arc::new(DevIdp::new(&config.public_url, keys, Arc::new(SystemClock)).context("test IdP")?);
    if lanyard
        .store
        .tenant_by_slug("demo")
        .await
        .ok()
        .flatten()
        .is_some()
    {
        let created = idp
            .wire_tenant(lanyard, "demo")
            .await
            .context("cannot create the demo tenant's connections to the test IdP")?;
        for slug in created {
            tracing::info!(
                connection = slug,
                "created the demo connection to the test IdP"
            );
        }
    } else {
        tracing::warn!("no `demo` tenant: the test IdP runs, but no tenant has a connection to it");
    }
    Ok(idp)
}

/// What `serve --demo` adds to the start banner.
pub fn banner(config: &Config) -> String {
    let base = config.public_url.as_str().trim_end_matches('/');
    format!(
        "  Sign in with Test IdP: {base}/t/demo/login  (buttons \"Test IdP (SAML)\" and \"Test IdP (OIDC)\")\n  Test IdP:   {base}{PREFIX}/saml/metadata and {base}{PREFIX}/oidc (test people, injectable faults; never for real accounts)\n\n"
    )
}

/// `lanyard dev-idp`: the test IdP alone, for connecting another SP (or another Lanyard).
pub async fn run(config: Config, args: DevIdpArgs) -> Result<()> {
    let url = match &args.url {
        Some(u) => url::Url::parse(u).with_context(|| format!("--url {u}"))?,
        None => url::Url::parse(&format!("http://{}", args.bind)).context("--bind")?,
    };
    let keys = load_keys(&config).await?;
    let idp = Arc::new(DevIdp::new(&url, keys, Arc::new(SystemClock)).context("test IdP")?);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let base = format!("{}{PREFIX}", url.as_str().trim_end_matches('/'));
    let shutdown = crate::serve::shutdown_signal()?;
    println!(
        "\nLanyard Test IdP is listening on http://{}\n\n  SAML metadata:   {}/saml/metadata\n  SAML SSO URL:    {}\n  OIDC issuer:     {}\n  OIDC client:     {} / {}\n  Keys:            {}\n\n  Never use it for real accounts. Stop with Ctrl-C.\n",
        args.bind,
        base,
        idp.sso_url(),
        idp.issuer(),
        lanyard_server::dev_idp::CLIENT_ID,
        idp.client_secret(),
        key_path(&config).display(),
    );
    let app: axum::Router = lanyard_server::dev_idp::router(idp);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("test IdP failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_loopback_urls_unless_allowed_and_never_opens_link_local() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://127.1.2.3",
        ] {
            let u = url::Url::parse(ok).unwrap();
            assert!(loopback_refusal(&u, false).is_none(), "{ok}");
            assert!(!loopback_networks(&u).is_empty(), "{ok}");
        }
        for bad in [
            "https://sso.example.com",
            "http://169.254.169.254",
            "http://10.0.0.5:8080",
            "http://[fe80::1]:8080",
            "http://0.0.0.0:8080",
            "http://localhost.example.com",
        ] {
            let u = url::Url::parse(bad).unwrap();
            let msg = loopback_refusal(&u, false).unwrap();
            assert!(msg.contains(ALLOW_FLAG), "{msg}");
            assert!(loopback_refusal(&u, true).is_none());
            // Allowed or not, the outbound allow-list never grows beyond loopback.
            assert!(loopback_networks(&u).is_empty(), "{bad}");
        }
    }
}
