//! `lanyard`: the SSO server (`serve`), its administration commands (`admin …`) and the
//! command-line client (`login`, `whoami`, `logout`, `tokens`).

mod admin;
mod admin_apps;
mod config;
mod credentials;
mod dev_idp;
mod login;
mod saml;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a sign-in allocates and frees across the runtime's
/// threads, and glibc's per-thread arenas spent ≈ 10 % of the server's samples there under load
/// (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`; BENCHMARKS.md, issue 17).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Log this command line in through the browser (your organisation's sign-in); stores a
    /// token for this machine in the config directory
    Login(login::LoginArgs),
    /// Show who the stored token (or LANYARD_API_TOKEN) signs in as
    Whoami(login::ServerArgs),
    /// Revoke this machine's token on the server, then forget it
    Logout(login::ServerArgs),
    /// List or revoke your API tokens
    #[command(subcommand)]
    Tokens(login::TokensCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cli = match cli {
        Cli {
            command: Command::Saml(cmd),
            ..
        } => return saml::run(cmd),
        // The command-line client needs no server configuration.
        Cli {
            command: Command::Login(a),
        } => return login::login(a),
        Cli {
            command: Command::Whoami(a),
        } => return login::whoami(a),
        Cli {
            command: Command::Logout(a),
        } => return login::logout(a),
        Cli {
            command: Command::Tokens(c),
        } => return login::tokens(c),
        cli => cli,
    };
    let args = match &cli.command {
        Command::Serve(a) => a.to_config_args(),
        Command::Admin(a) => a.store.to_config_args(),
        Command::DevIdp(a) => a.to_config_args(),
        Command::Saml(_)
        | Command::Login(_)
        | Command::Whoami(_)
        | Command::Logout(_)
        | Command::Tokens(_) => config::ConfigArgs::default(),
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
            Command::Saml(_)
            | Command::Login(_)
            | Command::Whoami(_)
            | Command::Logout(_)
            | Command::Tokens(_) => Ok(()),
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
