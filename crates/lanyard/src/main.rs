//! `lanyard`: the SSO server (`serve`) and its administration commands (`admin …`).

mod admin;
mod admin_apps;
mod config;
mod dev_idp;
mod saml;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lanyard",
    version,
    about = "Self-hostable enterprise single sign-on",
    long_about = None,
    after_help = "Settings come from a TOML file (--config, LANYARD_CONFIG), then LANYARD_* variables \
                  (LANYARD_LISTEN, LANYARD_DATA_DIR, LANYARD_DATABASE_URL, LANYARD_PUBLIC_URL, …), \
                  then flags; `lanyard serve --help` lists them all."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with no configuration: SQLite in ./lanyard-data, 127.0.0.1:8080, a demo tenant)
    Serve(config::ServeArgs),
    /// Administer the store directly (run on the server, with its configuration)
    Admin(admin::AdminArgs),
    /// SAML tools for support engineers and IT admins (offline; no server or database needed)
    #[command(subcommand)]
    Saml(saml::SamlCommand),
    /// Run the built-in test identity provider alone (SAML 2.0 IdP and OpenID provider with
    /// test people and injectable faults), for connecting an SP; never for real accounts
    DevIdp(dev_idp::DevIdpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cli = match cli {
        Cli {
            command: Command::Saml(cmd),
            ..
        } => return saml::run(cmd),
        cli => cli,
    };
    let args = match &cli.command {
        Command::Serve(a) => a.to_config_args(),
        Command::Admin(a) => a.store.to_config_args(),
        Command::DevIdp(a) => a.to_config_args(),
        Command::Saml(_) => config::ConfigArgs::default(),
    };
    let config = match config::resolve(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lanyard: configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let refusal = match &cli.command {
        Command::Serve(a) if a.dev.demo => {
            dev_idp::loopback_refusal(&config.public_url, a.dev.allow_non_loopback)
        }
        Command::DevIdp(a) => {
            let url = a
                .url
                .clone()
                .unwrap_or_else(|| format!("http://{}", a.bind));
            match url::Url::parse(&url) {
                Ok(u) => dev_idp::loopback_refusal(&u, a.allow_non_loopback),
                Err(e) => Some(format!("--url {url}: {e}")),
            }
        }
        _ => None,
    };
    if let Some(why) = refusal {
        eprintln!("lanyard: {why}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lanyard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(a) => serve::run(config, a.dev).await,
            Command::DevIdp(a) => dev_idp::run(config, a).await,
            Command::Admin(a) => admin::run(config, a.command).await,
            // Handled above, before configuration: the debugger needs no server or store.
            Command::Saml(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("lanyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap checks a command line's definition only when it is built: two flattened argument
    /// structs with one name, or a flag defined twice, would make every `lanyard` call panic.
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
