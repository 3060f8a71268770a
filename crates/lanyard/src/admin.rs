//! `lanyard admin …`: direct administration of the store, for bootstrap and automation.

use crate::config::{Config, StoreArgs};
use crate::serve;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use lanyard_core::Ctx;
use lanyard_proto as proto;
use std::io::Read;

/// `lanyard admin`: the store options, then one command.
#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Apply the embedded database migrations (also done by `serve` on start)
    Migrate,
    /// Create a tenant (with the roles admin, standard, support, viewer)
    CreateTenant {
        /// URL identifier, e.g. acme-corp
        slug: String,
        /// Display name [default: the slug]
        #[arg(long)]
        name: Option<String>,
        /// Session lifetime in seconds [default: 28800 = 8 hours]
        #[arg(long, value_name = "SECS")]
        session_lifetime: Option<i64>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Create a user; prints a generated password unless --password-stdin or --no-password
    CreateUser {
        /// Tenant slug
        #[arg(long)]
        tenant: String,
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Role name (admin, standard, support, viewer or a custom one)
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        super_admin: bool,
        /// Read the password from standard input
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create an SSO-only account without a local password
        #[arg(long)]
        no_password: bool,
        #[arg(long)]
        json: bool,
    },
    /// Invite password users to move to single sign-on; prints each invitation link (also
    /// emailed to users with an email)
    Invite {
        /// Tenant slug
        #[arg(long)]
        tenant: String,
        /// Usernames or user IDs to invite
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        users: Vec<String>,
        /// Invite every enabled password user who is not on SSO yet (super admins excepted)
        #[arg(long)]
        all: bool,
        /// The connection to sign in with [default: the tenant's only enabled one]
        #[arg(long)]
        connection: Option<String>,
        /// Print the invitations as JSON
        #[arg(long)]
        json: bool,
    },
    /// Give a user who lost their password a new one (printed once; their sessions end), or
    /// with --link a one-use password-reset link to pass on
    ResetPassword {
        /// Tenant slug
        #[arg(long)]
        tenant: String,
        /// Username or user ID
        user: String,
        /// Print a one-use reset link (valid 3 days) instead of setting a new password
        #[arg(long)]
        link: bool,
        #[arg(long)]
        json: bool,
    },
    /// Create an admin API key; without --tenant it is an operator key for every tenant
    CreateApiKey {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Register an app that signs people in with Lanyard (OpenID Connect); prints its
    /// client_id and, for a confidential app, its client_secret (shown once)
    CreateApp(crate::admin_apps::CreateAppArgs),
    /// Replace the OpenID provider's signing keys (the previous ones stay in the JWKS until
    /// the tokens they signed have expired)
    RotateSigningKey {
        #[arg(long)]
        json: bool,
    },
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn run(config: Config, cmd: AdminCommand) -> Result<()> {
    serve::init_logging(config.log_format);
    let lanyard = serve::open(&config).await?;
    let ctx = Ctx::cli();
    let result = match cmd {
        AdminCommand::Migrate => {
            let versions = lanyard.store.applied_migrations().await?;
            println!("database is up to date; applied migrations: {versions:?}");
            Ok(())
        }
        AdminCommand::CreateTenant {
            slug,
            name,
            session_lifetime,
            json,
        } => {
            let req = proto::CreateTenant {
                name: name.unwrap_or_else(|| slug.clone()),
                slug,
                session_lifetime_secs: session_lifetime,
            };
            let t = lanyard.create_tenant(&ctx, req).await?;
            if json {
                print_json(&t.to_wire())
            } else {
                println!(
                    "created tenant `{}` ({}); sign-in page: {}t/{}/login",
                    t.slug, t.name, config.public_url, t.slug
                );
                Ok(())
            }
        }
        AdminCommand::CreateUser {
            tenant,
            username,
            email,
            display_name,
            role,
            super_admin,
            password_stdin,
            no_password,
            json,
        } => {
            let (password, generated) = if no_password {
                (None, false)
            } else if password_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the password from standard input")?;
                let s = s.trim_end_matches(['\r', '\n']).to_owned();
                if s.is_empty() {
                    bail!("no password on standard input");
                }
                (Some(s), false)
            } else {
                (
                    Some(
                        lanyard_core::secret::random_token()
                            .chars()
                            .take(20)
                            .collect::<String>(),
                    ),
                    true,
                )
            };
            let req = proto::CreateUser {
                collaborator: false,
                username,
                email,
                display_name,
                role,
                password: password.clone(),
                super_admin,
            };
            let u = lanyard.create_user(&ctx, &tenant, req).await?;
            if json {
                let mut v = serde_json::to_value(u.to_wire(&tenant))?;
                if let (true, Some(p), Some(obj)) = (generated, &password, v.as_object_mut()) {
                    obj.insert("password".into(), p.clone().into());
                }
                print_json(&v)
            } else {
                println!(
                    "created user `{}` in tenant `{tenant}` (id {})",
                    u.username, u.id
                );
                if let (true, Some(p)) = (generated, password) {
                    println!("password: {p}   (shown once)");
                }
                Ok(())
            }
        }
        AdminCommand::Invite {
            tenant,
            users,
            all,
            connection,
            json,
        } => {
            let req = proto::CreateInvitations {
                connection,
                users: (!all).then_some(users),
                all,
            };
            let (_, invitations) = lanyard.create_invitations(&ctx, &tenant, req).await?;
            if json {
                print_json(&invitations)
            } else {
                if invitations.is_empty() {
                    println!("nobody to invite: every password user of `{tenant}` is on SSO");
                }
                for i in &invitations {
                    let mailed = if i.emailed {
                        "emailed"
                    } else {
                        "no email: send it yourself"
                    };
                    println!("{}  {}  ({mailed})", i.username, i.url);
                }
                Ok(())
            }
        }
        AdminCommand::ResetPassword {
            tenant,
            user,
            link,
            json,
        } => reset_password(&lanyard, &ctx, &tenant, &user, link, json).await,
        AdminCommand::CreateApp(a) => crate::admin_apps::create_app(&lanyard, &ctx, a).await,
        AdminCommand::RotateSigningKey { json } => {
            crate::admin_apps::rotate_signing_key(&lanyard, &ctx, json).await
        }
        AdminCommand::CreateApiKey { tenant, name, json } => {
            let (key, token) = lanyard
                .create_api_key(&ctx, tenant.as_deref(), &name)
                .await?;
            if json {
                print_json(&proto::CreatedApiKey {
                    api_key: key.to_wire(),
                    token,
                })
            } else {
                let scope = key.tenant_slug.map_or_else(
                    || "every tenant (operator key)".to_owned(),
                    |t| format!("tenant `{t}`"),
                );
                println!("created API key `{}` for {scope}", key.name);
                println!("token: {token}   (shown once; send as `Authorization: Bearer <token>`)");
                Ok(())
            }
        }
    };
    lanyard.store.close().await;
    result
}

async fn reset_password(
    lanyard: &lanyard_core::Lanyard,
    ctx: &Ctx,
    tenant: &str,
    user: &str,
    link: bool,
    json: bool,
) -> Result<()> {
    let result = if link {
        lanyard.password_reset_link(ctx, tenant, user).await
    } else {
        lanyard.reset_password_to_random(ctx, tenant, user).await
    };
    let (u, secret) = match result {
        Ok(r) => r,
        Err(lanyard_core::Error::UserNotFound) => bail!(
            "no user `{user}` in tenant `{tenant}`; give the username (or the user ID) as it appears in GET /api/v1/tenants/{tenant}/users"
        ),
        Err(e) => return Err(e.into()),
    };
    let field = if link { "reset_url" } else { "password" };
    if json {
        print_json(
            &serde_json::json!({"tenant": tenant, "user_id": u.id, "username": u.username, field: secret}),
        )
    } else if link {
        println!(
            "password-reset link for `{}` in `{tenant}` (one use, valid 3 days; the current password works until it is used):",
            u.username
        );
        println!("{secret}");
        Ok(())
    } else {
        println!(
            "new password for `{}` in `{tenant}`; their sessions were ended:",
            u.username
        );
        println!("password: {secret}   (shown once)");
        Ok(())
    }
}
