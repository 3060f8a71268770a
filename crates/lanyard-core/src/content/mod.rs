//! Private content behind SSO (issue 13): a tenant's sites (host names, each with its own SSO
//! connection and on/off switch), their protected resources (pages, landing pages, blogs,
//! knowledge-base articles) with an audience, and lists of contacts by email. The reverse
//! proxy asks [`Lanyard::content_check`] whether a request may through (forward-auth); the
//! decision itself is the pure [`decide::decide`].
//!
//! Sites, resources and list memberships come from this node's [`cache::DecisionCache`]
//! (staleness bound [`cache::DEFAULT_STALENESS`] unless configured; a change through this node
//! clears it); sessions never do, so a revocation takes effect on the next request. A visitor
//! counts as signed in on a site through a session the site's own SSO connection opened, or —
//! for registration content only — as a registered contact through an emailed link
//! ([`contacts`]).

pub mod admin;
pub mod cache;
pub mod codes;
pub mod contacts;
pub mod csv;
pub mod decide;
pub mod identity;
pub mod lists;
pub mod original;

use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{ContentResource, ContentSite, SessionView};
use crate::secret::{random_token, token_hash};
use crate::store::Handoff;
use cache::SiteRules;
use decide::{Audience, Decision, ResourceKind, Rule, Visitor, VisitorKind};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

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
    /// A [`codes::WarningCode`]'s code.
    pub code: &'static str,
    pub message: String,
    pub paths: Vec<String>,
    /// How many registered contacts lose access (with the registration warning).
    pub contacts: Option<u64>,
}

/// A change of a site's settings; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SiteChange<'a> {
    /// The slug of the connection that signs visitors in; `None`: no connection.
    pub connection: Option<&'a str>,
    pub sso_enabled: bool,
    pub identity_jwt: Option<bool>,
    /// Only compute the warnings; change nothing.
    pub dry_run: bool,
}

impl Lanyard {
    /// The site at `host` and its resources, through this node's cache.
    async fn site_rules(&self, host: &str) -> Result<Option<Arc<SiteRules>>> {
        let cache = self.content_cache();
        if let Some(hit) = cache.site(host) {
            return Ok(hit);
        }
        let at = Instant::now();
        let rules = match self.store.site_by_host(host).await? {
            Some(site) => {
                let resources = self.store.site_resources(&site.id).await?;
                Some(Arc::new(SiteRules { site, resources }))
            }
            None => None,
        };
        cache.put_site(host, rules.clone(), at);
        Ok(rules)
    }

    /// The ids of the tenant's lists `email` is on, through this node's cache.
    async fn member_lists(&self, tenant_id: &str, email: &str) -> Result<Vec<String>> {
        let cache = self.content_cache();
        if let Some(hit) = cache.lists(tenant_id, email) {
            return Ok(hit.as_ref().clone());
        }
        let at = Instant::now();
        let lists = self.store.lists_with_member(tenant_id, email).await?;
        cache.put_lists(tenant_id, email, Arc::new(lists.clone()), at);
        Ok(lists)
    }

    /// Decides a request for `path` on `host` carrying the site cookie `token` (if any).
    pub async fn content_check(
        &self,
        host: &str,
        path: &str,
        token: Option<&str>,
    ) -> Result<Check> {
        let Some(rules) = self.site_rules(&normalize_host(host)).await? else {
            return Ok(Check {
                site: None,
                decision: Decision::Deny(decide::DenyReason::UnknownSite),
                gated: false,
            });
        };
        let site = &rules.site;
        let Some(r) = decide::match_resource(&rules.resources, path) else {
            return Ok(Check {
                site: Some(site.clone()),
                decision: Decision::Allow(None),
                gated: false,
            });
        };
        let (audience, lists) = (r.audience(), r.lists());
        let gated = decide::needs_visitor(audience, site.sso_enabled);
        let visitor = match (gated, token) {
            (true, Some(t)) => self.site_visitor(site, t).await?,
            _ => None,
        };
        let decision = decide::decide(audience, &lists, site.sso_enabled, visitor);
        let gated = gated || matches!(decision, Decision::Deny(_));
        Ok(Check {
            site: Some(site.clone()),
            decision,
            gated,
        })
    }

    async fn site_visitor(&self, site: &ContentSite, token: &str) -> Result<Option<Visitor>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        if let Some(t) = token.strip_prefix(contacts::TOKEN_PREFIX) {
            return self.contact_visitor(site, t).await;
        }
        let Some(v) = self.site_session_row(&site.id, token).await? else {
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
        let (user_id, role) = (v.user_id.clone(), v.role.clone());
        let lists = match &email {
            Some(e) => self.member_lists(&site.tenant_id, e).await?,
            None => Vec::new(),
        };
        Ok(Some(Visitor {
            kind: VisitorKind::Sso,
            user_id,
            email,
            role,
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
}
