//! The admin side of private content: sites (SSO switch, identity JWT), resources (bulk
//! audience for pages), lists and members. Changes that open or close content return
//! [`Warning`]s; with `dry_run` they only return them, so the API and UI show them before the
//! admin confirms. Every change clears this node's decision cache.

use super::codes::WarningCode;
use super::decide::{Audience, ResourceKind};
use super::{SiteChange, Warning, normalize_host};
use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::{ContentList, ContentResource, ContentSite, new_id};
use serde_json::json;

impl Lanyard {
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
        self.create_site_with(ctx, slug, host, connection, sso_enabled, false)
            .await
    }

    /// Creates a site; `identity_jwt` turns on the signed identity JWT on its 200 answers.
    pub async fn create_site_with(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        connection: Option<&str>,
        sso_enabled: bool,
        identity_jwt: bool,
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
            identity_jwt,
            created_at: now,
            updated_at: now,
        };
        let ev = ctx
            .event(now, Some(&t.slug), "content.site_created")
            .details(
                json!({"host": host, "sso_enabled": sso_enabled, "identity_jwt": identity_jwt}),
            );
        self.store.insert_site(&s, &ev).await?;
        self.content_cache().clear();
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

    /// Changes a site's SSO setting (see [`Lanyard::change_site`]).
    pub async fn update_site(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        connection: Option<&str>,
        sso_enabled: bool,
    ) -> Result<(ContentSite, Vec<Warning>)> {
        let change = SiteChange {
            connection,
            sso_enabled,
            ..SiteChange::default()
        };
        self.change_site(ctx, slug, host, &change).await
    }

    /// Changes a site's settings. Turning SSO off warns which SSO-required resources become
    /// public (and suggests SSO + lists) and which list resources become inaccessible. With
    /// `dry_run` nothing changes: the answer is the site as it would be and the warnings.
    pub async fn change_site(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        change: &SiteChange<'_>,
    ) -> Result<(ContentSite, Vec<Warning>)> {
        let mut s = self.admin_site(ctx, slug, host).await?;
        let connection_id = self
            .site_connection(&s.tenant_id, change.connection)
            .await?;
        let sso_enabled = change.sso_enabled;
        let mut warnings = Vec::new();
        if s.sso_enabled && !sso_enabled {
            let rs = self.store.site_resources(&s.id).await?;
            let of = |a: Audience| -> Vec<String> {
                rs.iter()
                    .filter(|r| r.audience() == a)
                    .map(|r| r.path.clone())
                    .collect()
            };
            let (public, closed) = (of(Audience::Sso), of(Audience::SsoLists));
            if !public.is_empty() {
                warnings.push(Warning {
                    code: WarningCode::SsoOffMakesPublic.code(),
                    message: format!(
                        "{} SSO-required resource(s) become public while SSO is off; to keep them private, give them the audience SSO + lists instead",
                        public.len()
                    ),
                    paths: public,
                    contacts: None,
                });
            }
            if !closed.is_empty() {
                warnings.push(Warning {
                    code: WarningCode::SsoOffClosesLists.code(),
                    message: format!(
                        "{} list-restricted resource(s) become inaccessible to everyone while SSO is off; turn SSO on again to restore them",
                        closed.len()
                    ),
                    paths: closed,
                    contacts: None,
                });
            }
        }
        let now = self.now();
        s.connection_id = connection_id;
        s.sso_enabled = sso_enabled;
        if let Some(j) = change.identity_jwt {
            s.identity_jwt = j;
        }
        s.updated_at = now;
        if change.dry_run {
            return Ok((s, warnings));
        }
        let ev = ctx.event(now, Some(slug), "content.site_updated").details(
            json!({"host": s.host, "sso_enabled": sso_enabled, "identity_jwt": s.identity_jwt}),
        );
        self.store.update_site(&s, &ev).await?;
        self.content_cache().clear();
        Ok((s, warnings))
    }

    /// Sets the audience (and lists) of the resources at `paths` of one kind, creating them
    /// as needed (see [`Lanyard::change_resources`]).
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
        self.change_resources(ctx, slug, host, kind, paths, audience, list_ids, false)
            .await
    }

    /// Sets the audience (and lists) of the resources at `paths` of one kind, creating them
    /// as needed. Only pages (website and landing) take more than one path at once. Requiring
    /// SSO where the audience was registration warns that registered contacts lose access,
    /// with how many they are. With `dry_run` nothing is written: the answer is the resources
    /// as they would be and the warnings.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_resources(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        kind: ResourceKind,
        paths: &[String],
        audience: Audience,
        list_ids: &[String],
        dry_run: bool,
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
            if !dry_run {
                let ev = ctx
                    .event(now, Some(slug), "content.resource_set")
                    .details(json!({"host": site.host, "path": path, "kind": r.kind, "audience": r.audience, "lists": list_ids}));
                self.store.upsert_resource(&r, &ev).await?;
            }
            out.push(r);
        }
        if !dry_run {
            self.content_cache().clear();
        }
        let mut warnings = Vec::new();
        if !losing.is_empty() {
            let n = self.store.count_contacts(&site.id).await?;
            warnings.push(Warning {
                code: WarningCode::RegistrationContactsLoseAccess.code(),
                message: format!(
                    "{} registered contact(s) lose access to {} resource(s) that had the registration audience: only people signing in through SSO can read them now; keep the registration audience if those contacts should still read them",
                    n,
                    losing.len()
                ),
                paths: losing,
                contacts: Some(n),
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
        self.content_cache().clear();
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
        let changed = self
            .store
            .set_list_member(list_id, &email, add, now, &ev)
            .await?;
        self.content_cache().clear();
        Ok(changed)
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
        let cells = super::csv::member_cells(csv).ok_or_else(too_many_lines)?;
        for (i, cell) in cells {
            match self.set_member(ctx, slug, list_id, cell, true).await {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(e @ Error::Invalid { .. }) => errors.push((i, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok((added, errors))
    }
}

/// An import longer than [`super::csv::MAX_CSV_LINES`] is refused whole, never cut.
pub(crate) fn too_many_lines() -> Error {
    Error::invalid("csv", "at most 100000 lines in one import: split the file")
}
