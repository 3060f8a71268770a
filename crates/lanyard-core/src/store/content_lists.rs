//! Lists of contacts managed from the console: members listed, a list renamed or deleted
//! (refused while a resource names it), a resource removed.

use super::*;

/// A member of a list: the email (case folded) and when it was added.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListMember {
    pub email: String,
    pub added_at: UnixTime,
}

/// What deleting a list found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListDeleted {
    Deleted,
    /// No such list in the tenant.
    NotFound,
    /// This many resources of the tenant still name the list; nothing was deleted.
    InUse(usize),
}

impl Store {
    /// The list's members by email, at most `limit`.
    pub async fn list_members(&self, list_id: &str, limit: i64) -> Result<Vec<ListMember>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ListMember>(
            "SELECT email, added_at FROM content_list_members WHERE list_id = $1 ORDER BY email LIMIT $2")
            .bind(list_id).bind(limit).fetch_all(p).await?))
    }

    /// How many members each list of the tenant has: (list id, count).
    pub async fn list_member_counts(&self, tenant_id: &str) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, (String, i64)>(
            "SELECT l.id, COUNT(m.email) FROM content_lists l LEFT JOIN content_list_members m ON m.list_id = l.id WHERE l.tenant_id = $1 GROUP BY l.id")
            .bind(tenant_id).fetch_all(p).await?))
    }

    /// Renames a list of the tenant; `Ok(false)` when there is none. Names stay unique.
    pub async fn rename_list(
        &self,
        tenant_id: &str,
        list_id: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE content_lists SET name = $3 WHERE id = $1 AND tenant_id = $2")
                .bind(list_id).bind(tenant_id).bind(name).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::invalid("name", "a list of this name already exists")
            } else {
                e.into()
            }
        })
    }

    /// Deletes a list of the tenant (its members with it) unless a resource names it, in one
    /// transaction.
    pub async fn delete_list(
        &self,
        tenant_id: &str,
        list_id: &str,
        audit: &AuditRecord,
    ) -> Result<ListDeleted> {
        // Ids are UUIDs: no LIKE wildcard can occur in the pattern.
        let pattern = format!("%\"{list_id}\"%");
        let res: std::result::Result<ListDeleted, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM content_resources WHERE tenant_id = $1 AND list_ids LIKE $2")
                .bind(tenant_id).bind(&pattern).fetch_one(&mut *tx).await?;
            if users > 0 {
                return Ok(ListDeleted::InUse(usize::try_from(users).unwrap_or(usize::MAX)));
            }
            let n = sqlx::query("DELETE FROM content_lists WHERE id = $1 AND tenant_id = $2")
                .bind(list_id).bind(tenant_id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(ListDeleted::NotFound);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(ListDeleted::Deleted)
        }.await);
        Ok(res?)
    }

    /// Removes the resource at (site, path); `Ok(false)` when there is none.
    pub async fn delete_resource(
        &self,
        site_id: &str,
        path: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM content_resources WHERE site_id = $1 AND path = $2")
                .bind(site_id).bind(path).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        }.await);
        Ok(res?)
    }
}
