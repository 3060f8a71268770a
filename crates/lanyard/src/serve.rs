//! `lanyard serve`: open the store, bootstrap on first start, serve until SIGTERM.

use crate::config::{Config, LogFormat, redact};
use anyhow::{Context, Result};
use lanyard_core::mail::MailTransport;
use lanyard_core::{Lanyard, MasterKey, Store, SystemClock};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("LANYARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colours only for a person at a terminal: a journal, a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The master key from `LANYARD_MASTER_KEY`, else the key file; the default file is created
/// (mode 0600) on first start, an explicitly named one must exist.
pub fn load_master_key(config: &Config) -> Result<MasterKey> {
    if let Ok(text) = std::env::var("LANYARD_MASTER_KEY") {
        return MasterKey::from_base64(&text).context("LANYARD_MASTER_KEY");
    }
    let path = &config.master_key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_base64(&text)
            .with_context(|| format!("master key file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !config.master_key_file_explicit => {
            create_key_file(path)
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the master key file {}", path.display()))
        }
    }
}

fn create_key_file(path: &Path) -> Result<MasterKey> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let key = MasterKey::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create the master key file {}", path.display()))?;
    writeln!(f, "{}", key.to_base64())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new master key; back it up with the database");
    Ok(key)
}

/// Opens the configured store (creating the data directory for SQLite) and the domain on it.
pub async fn open(config: &Config) -> Result<Lanyard> {
    if config.uses_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let master_key = load_master_key(config)?;
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.database_url)))?;
    Ok(Lanyard::new(store, Arc::new(SystemClock), master_key)
        .await
        .context("cannot start")?
        .with_public_url(config.public_url.as_str())
        .with_dns_resolver(config.dns_resolver)
        .with_content_cache(config.content_cache)
        .with_session_cache_ttl(config.session_cache_ttl)
        .with_settings_cache_ttl(config.settings_cache_ttl))
}

pub async fn run(config: Config, args: crate::dev_idp::DemoArgs) -> Result<()> {
    init_logging(config.log_format);
    // Bind first: when the port is taken, nothing (data directory, master key, demo secrets)
    // is created, so the next start is still a first start and shows the secrets.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? choose another with --listen)",
                config.listen
            )
        })?;
    let lanyard = open(&config).await?;
    let demo = if config.demo {
        lanyard
            .bootstrap_demo()
            .await
            .context("cannot create the demo tenant")?
    } else {
        None
    };

    let local = listener.local_addr().context("listener address")?;
    let mut server_config = lanyard_server::ServerConfig::new(config.public_url.clone());
    server_config.trusted_proxies = config.trusted_proxies.clone();
    server_config.client_ip_header = config.client_ip_header;
    server_config.request_timeout = config.request_timeout;
    server_config.outbound.allow_networks = config.outbound_allow_networks.clone();
    let dev_idp = if args.demo {
        // The demo's own outbound requests (token, JWKS) go to the test IdP on this server.
        server_config
            .outbound
            .allow_networks
            .extend(crate::dev_idp::loopback_networks(&config.public_url));
        Some(crate::dev_idp::for_serve(&config, &lanyard).await?)
    } else {
        None
    };
    server_config.dev_idp = dev_idp.clone();
    let outbound = server_config.outbound.clone();
    // The OpenID provider's signing keys exist before the first request needs them.
    lanyard
        .provider_keys()
        .await
        .context("cannot prepare the OpenID provider's signing keys")?;
    for d in &config.deprecations {
        tracing::warn!("{d}");
    }
    let app = lanyard_server::app(lanyard.clone(), server_config);

    // Signal handlers are installed before the banner says "Stop with Ctrl-C": a SIGTERM sent
    // the moment the banner appears must drain, not kill the process with the default action.
    let shutdown = shutdown_signal()?;
    let extra = dev_idp.as_ref().map(|_| crate::dev_idp::banner(&config));
    print_banner(&config, local, demo.as_ref(), &lanyard, extra.as_deref()).await;
    tracing::info!(listen = %local, store = ?lanyard.store.backend(), mail = ?config.mail, "lanyard is serving");
    let (stop_mail, mail_stopped) = tokio::sync::watch::channel(false);
    let sender = config.mail.delivers().then(|| {
        tokio::spawn(send_mail(
            lanyard.clone(),
            config.mail.clone(),
            mail_stopped,
        ))
    });

    let provider_task = tokio::spawn(run_provider_jobs(
        lanyard.clone(),
        outbound,
        config.signing_key_rotation_secs,
        stop_mail.subscribe(),
    ));

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server failed")?;
    let _ = stop_mail.send(true);
    let mut provider_task = provider_task;
    if tokio::time::timeout(MAIL_STOP_GRACE, &mut provider_task)
        .await
        .is_err()
    {
        provider_task.abort();
    }
    if let Some(mut task) = sender {
        // A step in progress may finish its current batch; one that hangs is abandoned (its
        // messages stay leased and are retried, by any node, when the lease ends).
        if tokio::time::timeout(MAIL_STOP_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
    tracing::info!("in-flight requests drained; closing the store");
    lanyard.store.close().await;
    Ok(())
}

async fn print_banner(
    config: &Config,
    local: std::net::SocketAddr,
    demo: Option<&lanyard_core::admin::DemoSecrets>,
    lanyard: &Lanyard,
    extra: Option<&str>,
) {
    let base = config.public_url.as_str().trim_end_matches('/');
    let store = if config.uses_sqlite() {
        format!(
            "SQLite {}",
            config.database_url.trim_start_matches("sqlite://")
        )
    } else {
        format!("PostgreSQL {}", redact(&config.database_url))
    };
    let mut out = String::new();
    out.push_str(&format!(
        "\nLanyard {} is listening on http://{local} ({store})\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    match demo {
        Some(d) => {
            out.push_str(&format!("  Sign in:    {base}/t/{}/login\n", d.tenant));
            out.push_str(&format!("  Username:   {}\n", d.username));
            out.push_str(&format!("  Password:   {}\n", d.password));
            out.push_str(&format!("  API key:    {}\n", d.api_key));
            out.push_str(&format!(
                "              curl -H 'Authorization: Bearer {}' {base}/api/v1/tenants\n\n",
                d.api_key
            ));
            out.push_str(
                "  These credentials are shown once and stored only as hashes. Keep them now.\n",
            );
        }
        None => {
            if lanyard
                .store
                .tenant_by_slug("demo")
                .await
                .ok()
                .flatten()
                .is_some()
            {
                out.push_str(&format!(
                    "  Sign in:    {base}/t/demo/login  (credentials were printed on first start)\n"
                ));
                out.push_str("  Lost it?    lanyard admin reset-password --tenant demo admin\n");
            }
            out.push_str("  Admin API:  ");
            out.push_str(&format!(
                "{base}/api/v1/openapi.json  (create keys with `lanyard admin create-api-key`)\n"
            ));
        }
    }
    if let Some(extra) = extra {
        out.push_str(extra);
    }
    out.push_str("  Stop with Ctrl-C; in-flight requests finish first.\n");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}");
    let _ = stdout.flush();
}

/// How often the mail sender looks for due messages.
const MAIL_INTERVAL: Duration = Duration::from_secs(5);
const MAIL_STOP_GRACE: Duration = Duration::from_secs(10);

/// Delivers due outbox messages every few seconds until `stop` turns true. Every node may run
/// this: claims are atomic in the store, so each message goes out from one node only.
async fn send_mail(
    lanyard: Lanyard,
    transport: MailTransport,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(MAIL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match lanyard.send_due_mail(&transport).await {
            Ok(r) if r.sent + r.failed > 0 => {
                tracing::info!(sent = r.sent, failed = r.failed, "mail sending step")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code(), error = %e, "mail sending step failed"),
        }
    }
}

/// How often the back-channel logout sender looks for due logouts.
const LOGOUT_INTERVAL: Duration = Duration::from_secs(2);
/// How often the signing-key schedule checks the keys' age.
const ROTATION_CHECK: Duration = Duration::from_secs(3600);

/// The OpenID provider's background work until `stop` turns true: back-channel logouts (every
/// node may run this; claims are atomic in the store) and the signing-key rotation schedule
/// (rotates keys older than `signing_key_rotation_days`).
async fn run_provider_jobs(
    lanyard: Lanyard,
    outbound: lanyard_server::address_policy::OutboundPolicy,
    rotation_secs: i64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(LOGOUT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_rotation_check: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match lanyard_server::provider::send_due_logouts(&lanyard, &outbound).await {
            Ok(r) if r.sent + r.failed > 0 => {
                tracing::info!(sent = r.sent, failed = r.failed, "back-channel logout step")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "back-channel logout step failed")
            }
        }
        if last_rotation_check.is_none_or(|t| t.elapsed() >= ROTATION_CHECK) {
            last_rotation_check = Some(tokio::time::Instant::now());
            match lanyard.rotate_signing_keys_if_due(rotation_secs).await {
                Ok(true) => tracing::info!("the OpenID provider's signing keys were rotated"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(code = e.code(), error = %e, "signing-key rotation failed")
                }
            }
        }
    }
}

/// Registers SIGINT and SIGTERM now and returns the future that completes on either.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; draining");
    })
}
