//! Apps (OAuth clients): registration checks, exact redirect-URI matching, client
//! authentication, and which tenants may use an app.

use crate::Lanyard;
use crate::audit::Ctx;
use crate::clock::rfc3339;
use crate::error::{Error, ProviderError, Result};
use crate::model::new_id;
pub use crate::provider::device::GRANT_DEVICE_CODE;
use crate::secret::{constant_time_eq, random_token, token_hash};
use crate::store::AppRow;
use lanyard_proto as proto;
use serde_json::json;

/// Client secrets carry a recognisable prefix so secret scanners and people can spot them.
pub const CLIENT_SECRET_PREFIX: &str = "lnc_";
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;

/// An app with its JSON columns parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub id_token_alg: String,
    /// `None`: every tenant; otherwise tenant ids.
    pub tenant_ids: Option<Vec<String>>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn parse_list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

fn list_json(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

impl App {
    pub fn from_row(r: AppRow, tenant_ids: Vec<String>) -> Self {
        Self {
            redirect_uris: parse_list(&r.redirect_uris),
            post_logout_redirect_uris: parse_list(&r.post_logout_redirect_uris),
            grant_types: parse_list(&r.grant_types),
            tenant_ids: (!r.all_tenants).then_some(tenant_ids),
            id: r.id,
            name: r.name,
            secret_hash: r.secret_hash,
            backchannel_logout_uri: r.backchannel_logout_uri,
            id_token_alg: r.id_token_alg,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    fn to_row(&self) -> AppRow {
        AppRow {
            id: self.id.clone(),
            name: self.name.clone(),
            secret_hash: self.secret_hash.clone(),
            redirect_uris: list_json(&self.redirect_uris),
            post_logout_redirect_uris: list_json(&self.post_logout_redirect_uris),
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            grant_types: list_json(&self.grant_types),
            id_token_alg: self.id_token_alg.clone(),
            all_tenants: self.tenant_ids.is_none(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Exact, character-for-character comparison (no prefix, case, port or slash leeway).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether the tenant `tenant_id` may use the app.
    pub fn allows_tenant(&self, tenant_id: &str) -> bool {
        match &self.tenant_ids {
            None => true,
            Some(ids) => ids.iter().any(|t| t == tenant_id),
        }
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Checks a presented secret in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(h) => constant_time_eq(h, &token_hash(secret)),
            None => false,
        }
    }
}

/// A redirect, post-logout or back-channel URI an app registers: absolute, no fragment, no
/// credentials; https, or http on a loopback host (development and native apps, RFC 8252), or a
/// private-use scheme with a dot (`com.example.app:/cb`) for native apps.
pub fn check_uri(field: &'static str, raw: &str, allow_custom_scheme: bool) -> Result<()> {
    if raw.len() > MAX_URI_LEN || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            format!("`{raw}` is not a usable URI"),
        ));
    }
    let u = url::Url::parse(raw)
        .map_err(|e| Error::invalid(field, format!("`{raw}` is not an absolute URI: {e}")))?;
    if u.fragment().is_some() || raw.contains('#') {
        return Err(Error::invalid(
            field,
            format!("`{raw}` must not have a fragment"),
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Error::invalid(
            field,
            format!("`{raw}` must not carry credentials"),
        ));
    }
    let loopback = matches!(
        u.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(Error::invalid(
            field,
            format!("`{raw}`: http is allowed only on a loopback host; use https"),
        )),
        s if allow_custom_scheme && s.contains('.') => Ok(()),
        _ => Err(Error::invalid(
            field,
            format!("`{raw}` must be https (or a private-use scheme like com.example.app:/cb)"),
        )),
    }
}

fn check_uris(field: &'static str, list: &[String], custom: bool) -> Result<()> {
    if list.len() > MAX_URIS {
        return Err(Error::invalid(field, format!("at most {MAX_URIS} URIs")));
    }
    list.iter().try_for_each(|u| check_uri(field, u, custom))
}

/// The grant types an app may be given.
pub const GRANT_TYPES: [&str; 3] = [
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_DEVICE_CODE,
];

fn check_grants(list: &[String]) -> Result<()> {
    if list.is_empty() {
        return Err(Error::invalid(
            "grant_types",
            "name at least authorization_code or the device grant",
        ));
    }
    for g in list {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(Error::invalid(
                "grant_types",
                format!(
                    "`{g}` is not supported (authorization_code, refresh_token, {GRANT_DEVICE_CODE})"
                ),
            ));
        }
    }
    if list.iter().any(|g| g == GRANT_REFRESH_TOKEN)
        && !list.iter().any(|g| g == GRANT_AUTHORIZATION_CODE)
    {
        return Err(Error::invalid(
            "grant_types",
            "refresh_token needs authorization_code (refresh tokens come only from it)",
        ));
    }
    Ok(())
}

/// Redirect URIs are needed by the authorization code grant; a device-grant-only app may have none.
fn check_redirects_for(grants: &[String], redirect_uris: &[String]) -> Result<()> {
    if redirect_uris.is_empty() && grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err(Error::invalid("redirect_uris", "register at least one"));
    }
    Ok(())
}

fn check_alg(alg: &str) -> Result<()> {
    match alg {
        "RS256" | "ES256" => Ok(()),
        _ => Err(Error::invalid("id_token_alg", "must be RS256 or ES256")),
    }
}

impl Lanyard {
    /// The app behind `client_id`, or `oauth.unknown_client`.
    pub async fn app(&self, client_id: &str) -> Result<App> {
        if client_id.is_empty() || client_id.len() > 64 {
            return Err(ProviderError::UnknownClient(client_id.chars().take(64).collect()).into());
        }
        let row = self
            .store
            .app_by_id(client_id)
            .await?
            .ok_or_else(|| ProviderError::UnknownClient(client_id.to_owned()))?;
        let tenants = if row.all_tenants {
            Vec::new()
        } else {
            self.store.app_tenant_ids(&row.id).await?
        };
        Ok(App::from_row(row, tenants))
    }

    /// Client authentication at the token, revocation and introspection endpoints:
    /// `client_secret_basic`, `client_secret_post`, or `none` for public apps (client_id only).
    /// Exactly one method; a confidential app must present its secret.
    pub async fn authenticate_client(
        &self,
        basic: Option<(String, String)>,
        form_id: Option<&str>,
        form_secret: Option<&str>,
    ) -> Result<App> {
        let fail = || Error::from(ProviderError::ClientAuthFailed);
        let (id, secret) = match (basic, form_secret) {
            (Some(_), Some(_)) => return Err(fail()),
            (Some((id, secret)), None) => {
                if form_id.is_some_and(|f| f != id) {
                    return Err(fail());
                }
                (id, Some(secret))
            }
            (None, secret) => (
                form_id.ok_or_else(fail)?.to_owned(),
                secret.map(str::to_owned),
            ),
        };
        let app = self.app(&id).await.map_err(|e| match e {
            Error::Provider(ProviderError::UnknownClient(_)) => fail(),
            other => other,
        })?;
        match (app.is_public(), secret) {
            (true, None) => Ok(app),
            (false, Some(s)) if app.secret_matches(&s) => Ok(app),
            _ => Err(fail()),
        }
    }

    async fn tenant_ids_of(&self, list: Option<&[String]>) -> Result<Option<Vec<String>>> {
        let Some(list) = list else { return Ok(None) };
        let mut ids = Vec::new();
        for t in list {
            let tenant = match self.store.tenant_by_slug(t).await? {
                Some(t) => t,
                None => self
                    .store
                    .tenant_by_id(t)
                    .await?
                    .ok_or_else(|| Error::TenantNotFound(t.clone()))?,
            };
            if !ids.contains(&tenant.id) {
                ids.push(tenant.id);
            }
        }
        Ok(Some(ids))
    }

    /// Registers an app (operators only); returns it and, for a confidential app, its secret.
    pub async fn create_app(
        &self,
        ctx: &Ctx,
        req: proto::CreateApp,
    ) -> Result<(App, Option<String>)> {
        self.authorize_operator(ctx)?;
        crate::validate::key_name(&req.name)?;
        check_uris("redirect_uris", &req.redirect_uris, true)?;
        check_uris(
            "post_logout_redirect_uris",
            &req.post_logout_redirect_uris,
            true,
        )?;
        if let Some(b) = &req.backchannel_logout_uri {
            check_uri("backchannel_logout_uri", b, false)?;
        }
        let grant_types = req.grant_types.unwrap_or_else(|| {
            vec![
                GRANT_AUTHORIZATION_CODE.to_owned(),
                GRANT_REFRESH_TOKEN.to_owned(),
            ]
        });
        check_grants(&grant_types)?;
        check_redirects_for(&grant_types, &req.redirect_uris)?;
        let alg = req.id_token_alg.unwrap_or_else(|| "RS256".into());
        check_alg(&alg)?;
        let tenant_ids = self.tenant_ids_of(req.tenants.as_deref()).await?;
        let secret = (!req.public).then(|| format!("{CLIENT_SECRET_PREFIX}{}", random_token()));
        let now = self.now();
        let app = App {
            id: new_id(),
            name: req.name,
            secret_hash: secret.as_deref().map(token_hash),
            redirect_uris: req.redirect_uris,
            post_logout_redirect_uris: req.post_logout_redirect_uris,
            backchannel_logout_uri: req.backchannel_logout_uri,
            grant_types,
            id_token_alg: alg,
            tenant_ids,
            created_at: now,
            updated_at: now,
        };
        let ev = ctx
            .event(now, None, "app.created")
            .details(json!({"client_id": app.id, "name": app.name, "public": app.is_public()}));
        self.store
            .insert_app(
                &app.to_row(),
                app.tenant_ids.as_deref().unwrap_or_default(),
                &ev,
            )
            .await?;
        Ok((app, secret))
    }

    pub async fn get_app(&self, ctx: &Ctx, id: &str) -> Result<App> {
        self.authorize_operator(ctx)?;
        self.app(id).await.map_err(|e| match e {
            Error::Provider(ProviderError::UnknownClient(_)) => ProviderError::AppNotFound.into(),
            other => other,
        })
    }

    pub async fn list_apps(
        &self,
        ctx: &Ctx,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<App>, Option<String>)> {
        self.authorize_operator(ctx)?;
        let limit = crate::admin::page_limit(limit)?;
        let rows = self.store.list_apps(cursor, limit + 1).await?;
        let (rows, next) = crate::admin::paginate(rows, limit, |r| r.id.clone());
        let mut apps = Vec::with_capacity(rows.len());
        for r in rows {
            let tenants = if r.all_tenants {
                Vec::new()
            } else {
                self.store.app_tenant_ids(&r.id).await?
            };
            apps.push(App::from_row(r, tenants));
        }
        Ok((apps, next))
    }

    pub async fn update_app(&self, ctx: &Ctx, id: &str, req: proto::UpdateApp) -> Result<App> {
        let mut app = self.get_app(ctx, id).await?;
        if let Some(n) = req.name {
            crate::validate::key_name(&n)?;
            app.name = n;
        }
        if let Some(r) = req.redirect_uris {
            check_uris("redirect_uris", &r, true)?;
            app.redirect_uris = r;
        }
        if let Some(r) = req.post_logout_redirect_uris {
            check_uris("post_logout_redirect_uris", &r, true)?;
            app.post_logout_redirect_uris = r;
        }
        if let Some(b) = req.backchannel_logout_uri {
            if let Some(u) = &b {
                check_uri("backchannel_logout_uri", u, false)?;
            }
            app.backchannel_logout_uri = b;
        }
        if let Some(g) = req.grant_types {
            check_grants(&g)?;
            app.grant_types = g;
        }
        if let Some(a) = req.id_token_alg {
            check_alg(&a)?;
            app.id_token_alg = a;
        }
        if let Some(t) = req.tenants {
            app.tenant_ids = self.tenant_ids_of(t.as_deref()).await?;
        }
        check_redirects_for(&app.grant_types, &app.redirect_uris)?;
        app.updated_at = self.now();
        let ev = ctx
            .event(app.updated_at, None, "app.updated")
            .details(json!({"client_id": app.id}));
        if !self
            .store
            .update_app(
                &app.to_row(),
                app.tenant_ids.as_deref().unwrap_or_default(),
                &ev,
            )
            .await?
        {
            return Err(ProviderError::AppNotFound.into());
        }
        Ok(app)
    }

    /// A new secret for a confidential app (operators only), shown once; the old one stops
    /// working at once. Audited `app.secret_rotated`. A public app has none
    /// (`app.public_has_no_secret`).
    pub async fn rotate_app_secret(&self, ctx: &Ctx, id: &str) -> Result<(App, String)> {
        let mut app = self.get_app(ctx, id).await?;
        if app.is_public() {
            return Err(ProviderError::AppIsPublic.into());
        }
        let secret = format!("{CLIENT_SECRET_PREFIX}{}", random_token());
        let hash = token_hash(&secret);
        app.updated_at = self.now();
        let ev = ctx
            .event(app.updated_at, None, "app.secret_rotated")
            .details(json!({"client_id": app.id}));
        if !self
            .store
            .set_app_secret(&app.id, &hash, app.updated_at, &ev)
            .await?
        {
            return Err(ProviderError::AppNotFound.into());
        }
        app.secret_hash = Some(hash);
        Ok((app, secret))
    }

    pub async fn delete_app(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.authorize_operator(ctx)?;
        let ev = ctx
            .event(self.now(), None, "app.deleted")
            .details(json!({"client_id": id}));
        if self.store.delete_app(id, &ev).await? {
            Ok(())
        } else {
            Err(ProviderError::AppNotFound.into())
        }
    }

    /// The wire form, with tenant ids turned back into slugs.
    pub async fn app_to_wire(&self, app: &App) -> Result<proto::App> {
        let tenants = match &app.tenant_ids {
            None => None,
            Some(ids) => {
                let mut slugs = Vec::new();
                for id in ids {
                    if let Some(t) = self.store.tenant_by_id(id).await? {
                        slugs.push(t.slug);
                    }
                }
                Some(slugs)
            }
        };
        Ok(proto::App {
            client_id: app.id.clone(),
            name: app.name.clone(),
            public: app.is_public(),
            redirect_uris: app.redirect_uris.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: app.backchannel_logout_uri.clone(),
            grant_types: app.grant_types.clone(),
            id_token_alg: app.id_token_alg.clone(),
            tenants,
            created_at: rfc3339(app.created_at),
            updated_at: rfc3339(app.updated_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_uris_are_absolute_https_or_loopback_without_fragment() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8123/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_uri("r", ok, true).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#x",
            "/relative",
            "javascript:alert(1)",
            "https://user:pw@app.example/cb",
            "https://app.example/a b",
        ] {
            assert!(check_uri("r", bad, true).is_err(), "{bad}");
        }
        assert!(check_uri("b", "com.example.app:/oauth", false).is_err());
    }

    #[test]
    fn redirect_uri_match_is_exact() {
        let app = App {
            id: "a".into(),
            name: "a".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![],
            id_token_alg: "RS256".into(),
            tenant_ids: None,
            created_at: 0,
            updated_at: 0,
        };
        assert!(app.has_redirect_uri("https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb/x",
            "https://app.example/c",
            "https://APP.example/cb",
            "https://app.example:444/cb",
            "https://app.example/cb#f",
            "https://app.example/cb?x=1",
            "https://app.example/CB",
        ] {
            assert!(!app.has_redirect_uri(near), "{near}");
        }
    }
}
