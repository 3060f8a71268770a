//! `lanyard admin create-app` and `lanyard admin rotate-signing-key`: apps of Lanyard as the
//! OpenID provider, and its signing keys.

use anyhow::Result;
use clap::ValueEnum;
use lanyard_core::{Ctx, Lanyard};
use lanyard_proto as proto;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum IdTokenAlg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

impl IdTokenAlg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// The flags of `create-app`.
#[derive(clap::Args, Debug)]
pub struct CreateAppArgs {
    /// The app's display name
    #[arg(long)]
    pub name: String,
    /// An exact redirect URI (repeat for several)
    #[arg(long = "redirect-uri", required = true, value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A public app (SPA, CLI, mobile): no secret, PKCE required
    #[arg(long)]
    pub public: bool,
    /// Where the app may send the browser after logout (repeat for several)
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are POSTed when a session ends
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// A tenant (slug) that may use the app (repeat for several) [default: every tenant]
    #[arg(long = "tenant", value_name = "SLUG")]
    pub tenants: Vec<String>,
    /// The ID-token signature algorithm
    #[arg(long, value_enum, default_value = "RS256")]
    pub id_token_alg: IdTokenAlg,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn create_app(lanyard: &Lanyard, ctx: &Ctx, a: CreateAppArgs) -> Result<()> {
    let req = proto::CreateApp {
        name: a.name,
        redirect_uris: a.redirect_uris,
        public: a.public,
        post_logout_redirect_uris: a.post_logout_redirect_uris,
        backchannel_logout_uri: a.backchannel_logout_uri,
        grant_types: None,
        id_token_alg: Some(a.id_token_alg.as_str().to_owned()),
        tenants: (!a.tenants.is_empty()).then_some(a.tenants),
    };
    let (app, secret) = lanyard.create_app(ctx, req).await?;
    let wire = lanyard.app_to_wire(&app).await?;
    if a.json {
        return print_json(&proto::CreatedApp {
            app: wire,
            client_secret: secret,
        });
    }
    println!(
        "created {} app `{}`",
        if wire.public {
            "public"
        } else {
            "confidential"
        },
        wire.name
    );
    println!("client_id: {}", wire.client_id);
    if let Some(s) = secret {
        println!("client_secret: {s}   (shown once)");
    }
    println!("issuer: {}", lanyard.public_url());
    Ok(())
}

pub async fn rotate_signing_key(lanyard: &Lanyard, ctx: &Ctx, json: bool) -> Result<()> {
    let keys = lanyard.rotate_signing_keys(ctx).await?;
    if json {
        let list: Vec<_> = keys
            .iter()
            .map(|(kid, alg)| serde_json::json!({"kid": kid, "alg": alg}))
            .collect();
        return print_json(&serde_json::json!({ "keys": list }));
    }
    for (kid, alg) in keys {
        println!("new {alg} signing key {kid}; the previous one stays in the JWKS for an hour");
    }
    Ok(())
}
