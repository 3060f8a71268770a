//! Private content behind SSO (issue 13): a tenant's sites (host names, each with its own SSO
//! connection and on/off switch), their protected resources (pages, landing pages, blogs,
//! knowledge-base articles) with an audience, and lists of contacts by email. The reverse
//! proxy asks [`Lanyard::content_check`] whether a request may through (forward-auth); the
//! decision itself is the pure [`decide::decide`].
//!
//! No per-node cache: every check reads the site, its resources and (for gated content) the
//! site session and list memberships, so a revocation, a list change or an audience change
//! takes effect on the next request (staleness bound 0). A visitor counts as signed in on a
//! site only through a session the site's own SSO connection opened.

pub mod csv;
pub mod decide;
pub mod original;

use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{ContentList, ContentResource, ContentSite, SessionView, new_id};
use crate::secret::{random_token, token_hash};
use crate::store::Handoff;
use decide::{Audience, Decision, ResourceKind, Rule, Visitor};
use serde_json::json;

/// How long a sign-in handoff code lives (it is used at once by a redirect).
pub const HANDOFF_TTL_SECS: i64 = 60;
/// The path on a site's own host the proxy forwards to Lanyard for the handoff.
pub const CALLBACK_PATH: &str = "/_lanyard/callback";

impl Rule for ContentResource {
    fn kind(&self) -> ResourceKind {
        ResourceKind::parse(&self.kind).unwrap_or(ResourceKind::Page)
    }
    fn path(&self) -> &str {
        &self.path
    }
}

impl ContentResource {
    /// The stored audience; an unreadable one is the strictest (never looser than intended).
    pub fn audience(&self) -> Audience {
        Audience::parse(&self.audience).unwrap_or(Audience::SsoLists)
    }
    pub fn lists(&self) -> Vec<String> {
        serde_json::from_str(&self.list_ids).unwrap_or_default()
    }
}

/// A host as proxies send it: case folded, port and one trailing dot dropped.
pub fn normalize_host(raw: &str) -> String {
    let h = raw.trim();
    let h = match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => h,
    };
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

/// What the forward-auth check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub site: Option<ContentSite>,
    pub decision: Decision,
    /// Whether the answer depended on who asked (then it must not be cached).
    pub gated: bool,
}

/// A warning an admin change returns (shown before confirming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
    pub paths: Vec<String>,
}

impl Lanyard {
    /// Decides a request for `path` on `host` carrying the site cookie `token` (if any).
    pub async fn content_check(
        &self,
        host: &str,
        path: &str,
        token: Option<&str>,
    ) -> Result<Check> {
        let Some(site) = self.store.site_by_host(&normalize_host(host)).await? else {
            return Ok(Check {
                site: None,
                decision: Decision::Deny(decide::DenyReason::UnknownSite),
                gated: false,
            });
        };
        let resources = self.store.site_resources(&site.id).await?;
        let Some(r) = decide::match_resource(&resources, path) else {
            return Ok(Check {
                site: Some(site),
                decision: Decision::Allow(None),
                gated: false,
            });
        };
        let (audience, lists) = (r.audience(), r.lists());
        let gated = decide::needs_visitor(audience, site.sso_enabled);
        let visitor = match (gated, token) {
            (true, Some(t)) => self.site_visitor(&site, t).await?,
            _ => None,
        };
        let decision = decide::decide(audience, &lists, site.sso_enabled, visitor);
        let gated = gated || matches!(decision, Decision::Deny(_));
        Ok(Check {
            site: Some(site),
            decision,
            gated,
        })
    }

    async fn site_visitor(&self, site: &ContentSite, token: &str) -> Result<Option<Visitor>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(v) = self
            .store
            .site_session(&token_hash(token), &site.id)
            .await?
        else {
            return Ok(None);
        };
        if v.revoked_at.is_some() || v.user_disabled || self.now() >= v.expires_at {
            return Ok(None);
        }
        // Only a session the site's own SSO connection opened counts (not a password one).
        if v.tenant_id != site.tenant_id
            || v.connection_id.is_none()
            || v.connection_id != site.connection_id
        {
            return Ok(None);
        }
        let email = v.email.as_deref().map(str::to_lowercase);
        let lists = match &email {
            Some(e) => self.store.lists_with_member(&site.tenant_id, e).await?,
            None => Vec::new(),
        };
        Ok(Some(Visitor {
            user_id: v.user_id,
            email,
            role: v.role,
            lists,
        }))
    }

    /// After sign-in on Lanyard's host: a one-time code for the site's own host, where
    /// [`CALLBACK_PATH`] redeems it. `return_path` must be a same-origin relative path.
    pub async fn content_handoff(
        &self,
        session: &SessionView,
        site_id: &str,
        return_path: &str,
    ) -> Result<(ContentSite, String)> {
        let site = self
            .store
            .site_by_id(site_id)
            .await?
            .filter(|s| s.tenant_id == session.tenant_id)
            .ok_or_else(|| Error::SiteNotFound(site_id.chars().take(64).collect()))?;
        let ret = crate::validate::return_to(return_path).unwrap_or_else(|| "/".to_owned());
        let code = random_token();
        let h = Handoff {
            site_id: site.id.clone(),
            session_id: session.id.clone(),
            return_path: ret,
        };
        self.store
            .insert_handoff(&token_hash(&code), &h, self.now() + HANDOFF_TTL_SECS)
            .await?;
        Ok((site, code))
    }

    /// Redeems a handoff code on the site's host: a new site-session token (for a cookie
    /// scoped to that host) and the path to return to.
    pub async fn content_redeem(&self, host: &str, code: &str) -> Result<(String, String)> {
        let site = self
            .store
            .site_by_host(&normalize_host(host))
            .await?
            .ok_or(Error::ContentHandoffInvalid)?;
        if code.is_empty() || code.len() > 128 {
            return Err(Error::ContentHandoffInvalid);
        }
        let token = random_token();
        let now = self.now();
        let ev = Ctx::system()
            .event(now, None, "content.site_signed_in")
            .details(json!({"host": site.host}));
        let h = self
            .store
            .redeem_handoff(&token_hash(code), &site.id, &token_hash(&token), now, &ev)
            .await?
            .ok_or(Error::ContentHandoffInvalid)?;
        Ok((token, h.return_path))
    }

    // --- admin ---

    async fn site_connection(&self, tenant_id: &str, slug: Option<&str>) -> Result<Option<String>> {
        match slug {
            None => Ok(None),
            Some(c) => Ok(Some(
                self.store
                    .connection_by_slug(tenant_id, c)
                    .await?
                    .ok_or_else(|| Error::ConnectionNotFound(c.chars().take(64).collect()))?
                    .id,
            )),
        }
    }

    pub async fn create_site(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        connection: Option<&str>,
        sso_enabled: bool,
    ) -> Result<ContentSite> {
        let t = self.admin_tenant(ctx, slug).await?;
        let connection_id = self.site_connection(&t.id, connection).await?;
        let host = crate::domain::normalize_domain(host)?;
        let now = self.now();
        let s = ContentSite {
            id: new_id(),
            tenant_id: t.id.clone(),
            host: host.clone(),
            connection_id,
            sso_enabled,
            created_at: now,
            updated_at: now,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "content.site_created")
            .details(json!({"host": host, "sso_enabled": sso_enabled}));
        self.store.insert_site(&s, &ev).await?;
        Ok(s)
    }

    pub async fn admin_site(&self, ctx: &Ctx, slug: &str, host: &str) -> Result<ContentSite> {
        let t = self.admin_tenant(ctx, slug).await?;
        let host = normalize_host(host);
        self.store
            .site_by_host(&host)
            .await?
            .filter(|s| s.tenant_id == t.id)
            .ok_or(Error::SiteNotFound(host))
    }

    pub async fn list_sites(&self, ctx: &Ctx, slug: &str) -> Result<Vec<ContentSite>> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store.list_sites(&t.id).await
    }

    /// Changes a site's SSO setting. Turning SSO off warns which SSO-required resources become
    /// public (and suggests SSO + lists) and which list resources become inaccessible.
    pub async fn update_site(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        connection: Option<&str>,
        sso_enabled: bool,
    ) -> Result<(ContentSite, Vec<Warning>)> {
        let mut s = self.admin_site(ctx, slug, host).await?;
        let connection_id = self.site_connection(&s.tenant_id, connection).await?;
        let mut warnings = Vec::new();
        if s.sso_enabled && !sso_enabled {
            let rs = self.store.site_resources(&s.id).await?;
            let public: Vec<String> = rs
                .iter()
                .filter(|r| r.audience() == Audience::Sso)
                .map(|r| r.path.clone())
                .collect();
            let closed: Vec<String> = rs
                .iter()
                .filter(|r| r.audience() == Audience::SsoLists)
                .map(|r| r.path.clone())
                .collect();
            if !public.is_empty() {
                warnings.push(Warning {
                    code: "content.sso_off_makes_public",
                    message: format!(
                        "{} SSO-required resource(s) become public while SSO is off; to keep them private, give them the audience SSO + lists instead",
                        public.len()
                    ),
                    paths: public,
                });
            }
            if !closed.is_empty() {
                warnings.push(Warning {
                    code: "content.sso_off_closes_lists",
                    message: format!(
                        "{} list-restricted resource(s) become inaccessible to everyone while SSO is off",
                        closed.len()
                    ),
                    paths: closed,
                });
            }
        }
        let now = self.now();
        s.connection_id = connection_id;
        s.sso_enabled = sso_enabled;
        s.updated_at = now;
        let ev = ctx
            .event(now, Some(slug), "content.site_updated")
            .details(json!({"host": s.host, "sso_enabled": sso_enabled}));
        self.store.update_site(&s, &ev).await?;
        Ok((s, warnings))
    }

    /// Sets the audience (and lists) of the resources at `paths` of one kind, creating them
    /// as needed. Only pages (website and landing) take more than one path at once. Requiring
    /// SSO where the audience was registration warns that registered contacts lose access.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_resources(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        kind: ResourceKind,
        paths: &[String],
        audience: Audience,
        list_ids: &[String],
    ) -> Result<(Vec<ContentResource>, Vec<Warning>)> {
        let site = self.admin_site(ctx, slug, host).await?;
        if paths.is_empty() || paths.len() > 500 {
            return Err(Error::invalid("paths", "give between 1 and 500 paths"));
        }
        if paths.len() > 1 && !matches!(kind, ResourceKind::Page | ResourceKind::Landing) {
            return Err(Error::invalid(
                "paths",
                "only website and landing pages are set in bulk; blogs and articles one at a time",
            ));
        }
        if (audience == Audience::SsoLists) == list_ids.is_empty() {
            return Err(Error::invalid(
                "list_ids",
                "give lists with the audience sso_lists, and only with it",
            ));
        }
        let known: Vec<String> = self
            .store
            .lists_of_tenant(&site.tenant_id)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect();
        if let Some(bad) = list_ids.iter().find(|l| !known.contains(l)) {
            return Err(Error::ContentListNotFound(bad.chars().take(64).collect()));
        }
        let existing = self.store.site_resources(&site.id).await?;
        let mut out = Vec::new();
        let mut losing = Vec::new();
        let now = self.now();
        for p in paths {
            let path = crate::validate::return_to(p)
                .filter(|n| n == p && !n.contains(['?', '#']))
                .ok_or_else(|| {
                    Error::invalid("paths", "each path starts with / and has no query")
                })?;
            let old = existing.iter().find(|r| r.path == path);
            if old.is_some_and(|r| r.audience() == Audience::Registration)
                && matches!(audience, Audience::Sso | Audience::SsoLists)
            {
                losing.push(path.clone());
            }
            let r = ContentResource {
                id: old.map(|r| r.id.clone()).unwrap_or_else(new_id),
                tenant_id: site.tenant_id.clone(),
                site_id: site.id.clone(),
                kind: kind.as_str().to_owned(),
                path: path.clone(),
                audience: audience.as_str().to_owned(),
                list_ids: json!(list_ids).to_string(),
                created_at: old.map_or(now, |r| r.created_at),
                updated_at: now,
            };
            let ev = ctx
                .event(now, Some(slug), "content.resource_set")
                .details(json!({"host": site.host, "path": path, "kind": r.kind, "audience": r.audience, "lists": list_ids}));
            self.store.upsert_resource(&r, &ev).await?;
            out.push(r);
        }
        let mut warnings = Vec::new();
        if !losing.is_empty() {
            warnings.push(Warning {
                code: "content.registration_contacts_lose_access",
                message: format!(
                    "{} resource(s) had the registration audience; registered contacts can no longer read them, only people signing in through SSO",
                    losing.len()
                ),
                paths: losing,
            });
        }
        Ok((out, warnings))
    }

    pub async fn site_resources(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
    ) -> Result<Vec<ContentResource>> {
        let site = self.admin_site(ctx, slug, host).await?;
        self.store.site_resources(&site.id).await
    }

    pub async fn create_list(&self, ctx: &Ctx, slug: &str, name: &str) -> Result<ContentList> {
        let t = self.admin_tenant(ctx, slug).await?;
        crate::validate::key_name(name)?;
        let now = self.now();
        let l = ContentList {
            id: new_id(),
            tenant_id: t.id.clone(),
            name: name.to_owned(),
            created_at: now,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "content.list_created")
            .details(json!({"list": l.id, "name": name}));
        self.store.insert_list(&l, &ev).await?;
        Ok(l)
    }

    pub async fn list_lists(&self, ctx: &Ctx, slug: &str) -> Result<Vec<ContentList>> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store.lists_of_tenant(&t.id).await
    }

    /// Adds or removes a member by email (case folded); `Ok(false)` when nothing changed.
    pub async fn set_member(
        &self,
        ctx: &Ctx,
        slug: &str,
        list_id: &str,
        email: &str,
        add: bool,
    ) -> Result<bool> {
        let t = self.admin_tenant(ctx, slug).await?;
        if !self
            .store
            .lists_of_tenant(&t.id)
            .await?
            .iter()
            .any(|l| l.id == list_id)
        {
            return Err(Error::ContentListNotFound(
                list_id.chars().take(64).collect(),
            ));
        }
        let email = email.trim().to_lowercase();
        crate::validate::email(&email)?;
        let now = self.now();
        let kind = if add {
            "content.member_added"
        } else {
            "content.member_removed"
        };
        let ev = ctx
            .event(now, Some(&t.slug), kind)
            .details(json!({"list": list_id, "email": email}));
        self.store
            .set_list_member(list_id, &email, add, now, &ev)
            .await
    }

    /// Imports members from CSV text: one email per line (the first column; a header line
    /// `email` is skipped). Returns how many were added and the per-line errors (1-based).
    pub async fn import_members(
        &self,
        ctx: &Ctx,
        slug: &str,
        list_id: &str,
        csv: &str,
    ) -> Result<(usize, Vec<(usize, String)>)> {
        let mut added = 0;
        let mut errors = Vec::new();
        let cells = csv::member_cells(csv).ok_or_else(|| {
            Error::invalid("csv", "at most 100000 lines in one import: split the file")
        })?;
        for (line, cell) in cells {
            match self.set_member(ctx, slug, list_id, cell, true).await {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(e @ Error::Invalid { .. }) => errors.push((line, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok((added, errors))
    }
}
