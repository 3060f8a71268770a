//! What the console adds to the admin side of private content: a list's members read, a list
//! renamed or deleted (refused while a resource names it), a resource removed (its path is then
//! public, as every path without a resource is). Authorised and audited like the rest of
//! [`super::admin`]; every change clears this node's decision cache.

use crate::Lanyard;
use crate::audit::Ctx;
use crate::error::{Error, Result};
use crate::model::ContentList;
use crate::store::{ListDeleted, ListMember};
use serde_json::json;

/// At most this many members are listed on one page.
pub const MEMBERS_SHOWN: i64 = 1000;

impl Lanyard {
    /// The tenant's list `list_id`.
    pub async fn admin_list(&self, ctx: &Ctx, slug: &str, list_id: &str) -> Result<ContentList> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store
            .lists_of_tenant(&t.id)
            .await?
            .into_iter()
            .find(|l| l.id == list_id)
            .ok_or_else(|| Error::ContentListNotFound(list_id.chars().take(64).collect()))
    }

    /// The list's members (at most [`MEMBERS_SHOWN`], by email).
    pub async fn list_members(
        &self,
        ctx: &Ctx,
        slug: &str,
        list_id: &str,
    ) -> Result<Vec<ListMember>> {
        let l = self.admin_list(ctx, slug, list_id).await?;
        self.store.list_members(&l.id, MEMBERS_SHOWN).await
    }

    /// How many members each of the tenant's lists has: (list id, count).
    pub async fn list_member_counts(&self, ctx: &Ctx, slug: &str) -> Result<Vec<(String, i64)>> {
        let t = self.admin_tenant(ctx, slug).await?;
        self.store.list_member_counts(&t.id).await
    }

    /// Renames a list (names are unique per tenant).
    pub async fn rename_list(
        &self,
        ctx: &Ctx,
        slug: &str,
        list_id: &str,
        name: &str,
    ) -> Result<ContentList> {
        let mut l = self.admin_list(ctx, slug, list_id).await?;
        let name = name.trim();
        crate::validate::key_name(name)?;
        let ev = ctx
            .event(self.now(), Some(slug), "content.list_renamed")
            .details(json!({"list": l.id, "name": name, "was": l.name}));
        if !self
            .store
            .rename_list(&l.tenant_id, &l.id, name, &ev)
            .await?
        {
            return Err(Error::ContentListNotFound(l.id));
        }
        l.name = name.to_owned();
        Ok(l)
    }

    /// Deletes a list and its members; refused while a resource of the tenant names it.
    pub async fn delete_list(&self, ctx: &Ctx, slug: &str, list_id: &str) -> Result<()> {
        let l = self.admin_list(ctx, slug, list_id).await?;
        let ev = ctx
            .event(self.now(), Some(slug), "content.list_deleted")
            .details(json!({"list": l.id, "name": l.name}));
        match self.store.delete_list(&l.tenant_id, &l.id, &ev).await? {
            ListDeleted::Deleted => {
                self.content_cache().clear();
                Ok(())
            }
            ListDeleted::NotFound => Err(Error::ContentListNotFound(l.id)),
            ListDeleted::InUse(resources) => Err(Error::ContentListInUse {
                name: l.name,
                resources,
            }),
        }
    }

    /// Removes the site's resource at `path`: the path becomes public (no resource matches it)
    /// unless a blog above it covers it.
    pub async fn remove_resource(
        &self,
        ctx: &Ctx,
        slug: &str,
        host: &str,
        path: &str,
    ) -> Result<()> {
        let site = self.admin_site(ctx, slug, host).await?;
        let ev = ctx
            .event(self.now(), Some(slug), "content.resource_removed")
            .details(json!({"host": site.host, "path": path}));
        if !self.store.delete_resource(&site.id, path, &ev).await? {
            return Err(Error::ContentResourceNotFound(
                path.chars().take(256).collect(),
            ));
        }
        self.content_cache().clear();
        Ok(())
    }
}
