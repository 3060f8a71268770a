//! Configuration: a TOML file (`--config`), overridden by `LANYARD_*` environment variables,
//! overridden by flags. Clap reads flags and environment together (a flag beats its variable);
//! the file fills whatever neither set; defaults fill the rest.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ipnet::IpNet;
use lanyard_core::mail::MailTransport;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where the data is and how to reach it: what `serve` and `admin` both need.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Configuration")]
pub struct StoreArgs {
    /// TOML configuration file
    #[arg(long, env = "LANYARD_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and the generated master key [default: ./lanyard-data]
    #[arg(long, env = "LANYARD_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://FILE` or `postgres://…` [default: SQLite in the data directory]
    #[arg(long, env = "LANYARD_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// The URL people reach Lanyard at; https turns on Secure/__Host- cookies [default: http://LISTEN]
    #[arg(long, env = "LANYARD_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// File holding the base64 master key [default: DATA_DIR/master.key, created on first start]
    #[arg(
        long,
        env = "LANYARD_MASTER_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub master_key_file: Option<PathBuf>,
    /// Log format
    #[arg(long, env = "LANYARD_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// `lanyard serve`: the store options plus what only a running server uses.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub dev: crate::dev_idp::DemoArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(
        long,
        env = "LANYARD_LISTEN",
        value_name = "ADDR",
        help_heading = "Server"
    )]
    pub listen: Option<String>,
    /// Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted
    #[arg(
        long,
        env = "LANYARD_TRUSTED_PROXIES",
        value_name = "CIDRS",
        value_delimiter = ',',
        help_heading = "Server"
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// Mail relay: `smtp://[user:pass@]host[:port][?tls=required][&from=addr]`, `smtps://…`, or
    /// `outbox:` to keep mail in the outbox (readable through the API) [default: outbox:]
    #[arg(
        long,
        env = "LANYARD_SMTP_URL",
        value_name = "URL",
        help_heading = "Server"
    )]
    pub smtp_url: Option<String>,
    /// DNS server (`IP` or `IP:PORT`) asked for the TXT records that verify tenants' email
    /// domains; `system`: the first nameserver in /etc/resolv.conf [default: system]
    #[arg(
        long,
        env = "LANYARD_DNS_RESOLVER",
        value_name = "ADDR",
        help_heading = "Server"
    )]
    pub dns_resolver: Option<String>,
    /// Comma-separated CIDRs of non-public networks (on-premises IdPs; loopback for labs) that
    /// requests to identity providers may reach. Link-local and cloud metadata addresses are
    /// never reached, whatever this lists.
    #[arg(
        long,
        env = "LANYARD_OUTBOUND_ALLOW_NETWORKS",
        value_name = "CIDRS",
        value_delimiter = ',',
        help_heading = "Server"
    )]
    pub outbound_allow_networks: Option<Vec<String>>,
    /// Do not create the demo tenant on an empty store
    #[arg(long, env = "LANYARD_NO_DEMO", help_heading = "Server")]
    pub no_demo: bool,
}

impl StoreArgs {
    /// The settings `admin` commands resolve (server-only ones come from the file or defaults).
    pub fn to_config_args(&self) -> ConfigArgs {
        ConfigArgs {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            public_url: self.public_url.clone(),
            master_key_file: self.master_key_file.clone(),
            log_format: self.log_format,
            ..ConfigArgs::default()
        }
    }
}

impl ServeArgs {
    pub fn to_config_args(&self) -> ConfigArgs {
        ConfigArgs {
            listen: self.listen.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            smtp_url: self.smtp_url.clone(),
            dns_resolver: self.dns_resolver.clone(),
            outbound_allow_networks: self.outbound_allow_networks.clone(),
            no_demo: self.no_demo,
            ..self.store.to_config_args()
        }
    }
}

/// Every setting given by flag or environment (unset: from the file, else the default).
#[derive(Debug, Clone, Default)]
pub struct ConfigArgs {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub trusted_proxies: Option<Vec<String>>,
    pub smtp_url: Option<String>,
    pub dns_resolver: Option<String>,
    pub outbound_allow_networks: Option<Vec<String>>,
    pub log_format: Option<LogFormat>,
    pub no_demo: bool,
}

/// The file form: every key optional, unknown keys refused (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    master_key_file: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    /// Which header the trusted proxies write: `x-forwarded-for` (default) or `forwarded`.
    client_ip_header: Option<String>,
    smtp_url: Option<String>,
    /// The DNS server domain verification asks (`IP` or `IP:PORT`).
    dns_resolver: Option<String>,
    log_format: Option<LogFormat>,
    demo: Option<bool>,
    /// Allow a plain-http public URL on a non-loopback host (development only).
    dev_allow_http: Option<bool>,
    request_timeout_secs: Option<u64>,
    /// This node's session-cache staleness bound in milliseconds (0: no cache).
    session_cache_ms: Option<u64>,
    /// This node's staleness bound for the tenants and connections the sign-in path reads,
    /// in milliseconds (0: no cache).
    settings_cache_ms: Option<u64>,
    /// Age at which the OpenID provider's signing keys are replaced (days).
    signing_key_rotation_days: Option<u64>,
    /// Staleness bound of forward-auth's per-node cache of sites, resources and list
    /// memberships, in milliseconds (0: no cache).
    content_cache_ms: Option<u64>,
    /// Non-public networks requests to identity providers may reach.
    outbound_allow_networks: Option<Vec<String>>,
    /// Deprecated: `true` stands for the loopback and private ranges in
    /// `outbound_allow_networks` (never link-local or metadata addresses).
    allow_private_metadata_urls: Option<bool>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: url::Url,
    pub master_key_file: PathBuf,
    /// Whether the master key file was named explicitly (then it must exist).
    pub master_key_file_explicit: bool,
    pub trusted_proxies: Vec<IpNet>,
    /// The forwarding header the trusted proxies write (only that one is read).
    pub client_ip_header: lanyard_core::access::client_ip::ForwardedHeader,
    /// Where mail goes; the outbox alone unless an SMTP relay is configured.
    pub mail: MailTransport,
    /// The DNS server domain verification asks (none: checks fail with `domain.dns_failed`).
    pub dns_resolver: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub demo: bool,
    pub request_timeout: Duration,
    /// How long this node may serve a cached session lookup (`session_cache_ms`): a session
    /// ended on another node is still accepted here for at most this long. Zero: no cache.
    pub session_cache_ttl: Duration,
    /// How long this node may use a cached tenant or connection on the sign-in path
    /// (`settings_cache_ms`): a change made on another node applies here within it. Zero: no cache.
    pub settings_cache_ttl: Duration,
    /// Age at which `serve` replaces the OpenID provider's signing keys, in seconds.
    pub signing_key_rotation_secs: i64,
    /// Staleness bound of forward-auth's per-node decision cache (`content_cache_ms`).
    pub content_cache: Duration,
    /// Non-public networks requests to identity providers may reach (`outbound_allow_networks`,
    /// plus the loopback and private ranges when the deprecated switch is on).
    pub outbound_allow_networks: Vec<IpNet>,
    /// Warnings about deprecated settings, logged at start-up.
    pub deprecations: Vec<String>,
}

impl Config {
    pub fn uses_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// `IP` (port 53) or `IP:PORT` / `[IPv6]:PORT`.
fn parse_resolver(s: &str) -> Result<SocketAddr> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Ok(s.parse::<SocketAddr>()?)
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let msg = e.message().to_owned();
        anyhow::anyhow!("configuration file {}: {msg}", path.display())
    })
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub fn resolve(args: &ConfigArgs) -> Result<Config> {
    let file = match &args.config {
        Some(p) => read_file(p)?,
        None => FileConfig::default(),
    };
    let listen_text = args
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text.parse().with_context(|| {
        format!("listen address `{listen_text}` is not IP:PORT (e.g. 127.0.0.1:8080)")
    })?;
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("./lanyard-data"));
    let database_url = args
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("lanyard.db").display()));
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        bail!(
            "database URL must start with sqlite:// or postgres:// (got `{}`)",
            redact(&database_url)
        );
    }
    let default_public = {
        let host = if listen.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else if listen.is_ipv6() {
            format!("[{}]", listen.ip())
        } else {
            listen.ip().to_string()
        };
        format!("http://{host}:{}", listen.port())
    };
    let public_text = args
        .public_url
        .clone()
        .or(file.public_url)
        .unwrap_or(default_public);
    let public_url = url::Url::parse(&public_text)
        .with_context(|| format!("public URL `{public_text}` is not a URL"))?;
    match public_url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&public_url) || file.dev_allow_http.unwrap_or(false) => {}
        "http" => bail!(
            "public URL `{public_text}` must be https (plain http is only for localhost; set dev_allow_http = true in the config file for development)"
        ),
        other => bail!("public URL `{public_text}` has scheme `{other}`; use https"),
    }
    if public_url.path() != "/" || public_url.query().is_some() {
        bail!(
            "public URL `{public_text}` must be an origin without a path (e.g. https://sso.example.com)"
        );
    }
    // A key file named explicitly must exist; naming the default place (as the example file
    // does) still lets the first start create it.
    let default_key = data_dir.join("master.key");
    let (master_key_file, explicit) = match args.master_key_file.clone().or(file.master_key_file) {
        Some(p) => {
            let explicit = p != default_key;
            (p, explicit)
        }
        None => (default_key, false),
    };
    let mut trusted_proxies = Vec::new();
    for p in args
        .trusted_proxies
        .clone()
        .or(file.trusted_proxies)
        .unwrap_or_default()
    {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let net = p
            .parse::<IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
            .with_context(|| format!("trusted proxy `{p}` is not an IP address or CIDR"))?;
        trusted_proxies.push(net);
    }
    let client_ip_header = match file.client_ip_header.as_deref() {
        None => lanyard_core::access::client_ip::ForwardedHeader::default(),
        Some(h) => {
            lanyard_core::access::client_ip::ForwardedHeader::parse(h).with_context(|| {
                format!("client_ip_header `{h}` must be `x-forwarded-for` or `forwarded`")
            })?
        }
    };
    // Checked here, so a bad relay URL stops start-up like any other bad setting.
    let mail = MailTransport::from_url(args.smtp_url.as_deref().or(file.smtp_url.as_deref()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dns_resolver = match args.dns_resolver.clone().or(file.dns_resolver) {
        Some(a) if a != "system" => Some(parse_resolver(&a).with_context(|| {
            format!("dns_resolver `{a}` is not `system`, an IP address or IP:PORT")
        })?),
        _ => std::fs::read_to_string("/etc/resolv.conf")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    let rest = l.trim().strip_prefix("nameserver")?;
                    parse_resolver(rest.trim()).ok()
                })
            }),
    };
    let timeout = file.request_timeout_secs.unwrap_or(30);
    if timeout == 0 || timeout > 600 {
        bail!("request_timeout_secs must be between 1 and 600");
    }
    let session_cache_ms = file.session_cache_ms.unwrap_or(1000);
    if session_cache_ms > 10_000 {
        bail!(
            "session_cache_ms must be between 0 (no cache) and 10000: it is how long a session ended on another node may still be accepted here"
        );
    }
    let settings_cache_ms = file.settings_cache_ms.unwrap_or(1000);
    if settings_cache_ms > 10_000 {
        bail!(
            "settings_cache_ms must be between 0 (no cache) and 10000: it is how long a connection disabled or changed on another node may still be used for sign-in here"
        );
    }
    let rotation_days = file.signing_key_rotation_days.unwrap_or(90);
    if rotation_days == 0 || rotation_days > 3650 {
        bail!("signing_key_rotation_days must be between 1 and 3650");
    }
    let content_cache_ms = file.content_cache_ms.unwrap_or(
        u64::try_from(lanyard_core::content::cache::DEFAULT_STALENESS.as_millis()).unwrap_or(2000),
    );
    if content_cache_ms > 60_000 {
        bail!("content_cache_ms must be between 0 (no cache) and 60000");
    }
    let mut outbound = args
        .outbound_allow_networks
        .clone()
        .or(file.outbound_allow_networks)
        .unwrap_or_default();
    let mut deprecations = Vec::new();
    if file.allow_private_metadata_urls == Some(true) {
        deprecations.push(format!(
            "allow_private_metadata_urls is deprecated: it now stands for outbound_allow_networks = {:?} (link-local and cloud metadata addresses are never reached); list your IdPs' networks in outbound_allow_networks instead",
            lanyard_server::address_policy::LEGACY_PRIVATE_NETWORKS
        ));
        outbound.extend(
            lanyard_server::address_policy::LEGACY_PRIVATE_NETWORKS
                .iter()
                .map(|s| (*s).to_owned()),
        );
    }
    let outbound_allow_networks =
        lanyard_server::address_policy::OutboundPolicy::parse_networks(&outbound)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Config {
        listen,
        data_dir,
        database_url,
        public_url,
        master_key_file,
        master_key_file_explicit: explicit,
        trusted_proxies,
        client_ip_header,
        mail,
        dns_resolver,
        log_format: args.log_format.or(file.log_format).unwrap_or_default(),
        demo: !args.no_demo && file.demo.unwrap_or(true),
        request_timeout: Duration::from_secs(timeout),
        session_cache_ttl: Duration::from_millis(session_cache_ms),
        settings_cache_ttl: Duration::from_millis(settings_cache_ms),
        signing_key_rotation_secs: i64::try_from(rotation_days).unwrap_or(90) * 86_400,
        content_cache: Duration::from_millis(content_cache_ms),
        outbound_allow_networks,
        deprecations,
    })
}

/// A database URL safe to print: any password replaced.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let c = resolve(&ConfigArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./lanyard-data/lanyard.db");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(c.demo && c.uses_sqlite());
        assert!(
            c.outbound_allow_networks.is_empty(),
            "requests to private addresses are opt-in"
        );
    }

    #[test]
    fn outbound_allow_networks_from_file_env_form_and_flag() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.toml");
        std::fs::write(
            &f,
            "outbound_allow_networks = [\"10.20.0.0/16\", \"::1\"]\n",
        )
        .unwrap();
        let from_file = ConfigArgs {
            config: Some(f),
            ..Default::default()
        };
        let c = resolve(&from_file).unwrap();
        let nets: Vec<String> = c
            .outbound_allow_networks
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.20.0.0/16", "::1/128"]);
        assert!(c.deprecations.is_empty());
        let flag_wins = ConfigArgs {
            outbound_allow_networks: Some(vec!["127.0.0.0/8".into()]),
            ..from_file
        };
        let c = resolve(&flag_wins).unwrap();
        assert_eq!(c.outbound_allow_networks.len(), 1);
        let err = resolve(&ConfigArgs {
            outbound_allow_networks: Some(vec!["intranet".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("outbound_allow_networks"),
            "{err:#}"
        );
    }

    /// The old switch still starts the server, warns, and means loopback + private ranges:
    /// never the link-local metadata service it used to open as well.
    #[test]
    fn allow_private_metadata_urls_is_a_deprecated_alias() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.toml");
        std::fs::write(&f, "allow_private_metadata_urls = true\n").unwrap();
        let c = resolve(&ConfigArgs {
            config: Some(f),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.deprecations.len(), 1);
        assert!(c.deprecations[0].contains("deprecated"));
        let policy = lanyard_server::address_policy::OutboundPolicy {
            allow_networks: c.outbound_allow_networks.clone(),
            ..Default::default()
        };
        for ok in ["127.0.0.1", "10.1.2.3", "192.168.1.1", "::1"] {
            assert!(policy.check(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for never in ["169.254.169.254", "fe80::1", "100.100.100.200"] {
            assert!(policy.check(never.parse().unwrap()).is_err(), "{never}");
        }
    }

    #[test]
    fn flags_beat_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/l\"\ndemo = false\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(f.clone()),
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let c = resolve(&args).unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.data_dir, PathBuf::from("/srv/l"));
        assert_eq!(c.database_url, "sqlite:///srv/l/lanyard.db");
        assert!(!c.demo);
    }

    #[test]
    fn bad_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.toml");
        std::fs::write(&f, "lisen = \"x\"\n").unwrap();
        let err = resolve(&ConfigArgs {
            config: Some(f),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `lisen`"),
            "{err:#}"
        );
        let err = resolve(&ConfigArgs {
            listen: Some("nope".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("listen address `nope`"));
        let err = resolve(&ConfigArgs {
            public_url: Some("http://sso.example.com".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("must be https"));
        let err = resolve(&ConfigArgs {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("sqlite:// or postgres://"));
        let err = resolve(&ConfigArgs {
            trusted_proxies: Some(vec!["10.0.0.0/33".into()]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("trusted proxy"));
        assert!(
            resolve(&ConfigArgs {
                public_url: Some("https://sso.example.com".into()),
                ..Default::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn mail_stays_in_the_outbox_unless_a_relay_is_configured() {
        let c = resolve(&ConfigArgs::default()).unwrap();
        assert!(!c.mail.delivers(), "the embedded default sends nothing");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l.toml");
        std::fs::write(&f, "smtp_url = \"smtp://mail.internal:25\"\n").unwrap();
        let from_file = ConfigArgs {
            config: Some(f),
            ..Default::default()
        };
        assert!(resolve(&from_file).unwrap().mail.delivers());
        let flag_wins = ConfigArgs {
            smtp_url: Some("outbox:".into()),
            ..from_file
        };
        assert!(!resolve(&flag_wins).unwrap().mail.delivers());
        let err = resolve(&ConfigArgs {
            smtp_url: Some("imap://mail.internal".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("smtp_url"), "{err:#}");
    }

    /// `lanyard.example.toml` names every key the loader knows, with its default, and loads:
    /// the example cannot drift from the code.
    #[test]
    fn the_example_file_loads_and_lists_every_key_with_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lanyard.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let from_example = resolve(&ConfigArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        let defaults = resolve(&ConfigArgs::default()).unwrap();
        assert_eq!(
            format!("{from_example:?}"),
            format!("{defaults:?}"),
            "the example's values are the defaults"
        );
        // Every field of the file form appears as a key (FileConfig refuses unknown ones, so
        // a key in the example that the loader lacks already failed above).
        let table: toml::Table = toml::from_str(&text).unwrap();
        let keys: Vec<&str> = table.keys().map(String::as_str).collect();
        let all = format!("{:?}", FileConfig::default());
        let fields: Vec<&str> = all
            .trim_start_matches("FileConfig {")
            .trim_end_matches('}')
            .split(',')
            .filter_map(|f| f.split(':').next())
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        assert!(fields.len() >= 13, "{fields:?}");
        for f in &fields {
            assert!(keys.contains(f), "lanyard.example.toml lacks `{f}`");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://u:***@db/x");
    }
}
