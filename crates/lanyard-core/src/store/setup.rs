//! Setup links (`setup_links`).

use super::*;
use crate::model::SetupLink;

const SETUP_COLUMNS: &str = "id, tenant_id, token_hash, note, created_by, created_at, expires_at, claim_hash, claimed_at, connection_id, used_at, revoked_at";

impl Store {
    pub async fn insert_setup_link(&self, l: &SetupLink, audit: &AuditRecord) -> Result<()> {
        on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO setup_links (id, tenant_id, token_hash, note, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&l.id).bind(&l.tenant_id).bind(&l.token_hash).bind(&l.note).bind(&l.created_by)
                .bind(l.created_at).bind(l.expires_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await)?;
        Ok(())
    }

    pub async fn list_setup_links(&self, tenant_id: &str) -> Result<Vec<SetupLink>> {
        let q = format!(
            "SELECT {SETUP_COLUMNS} FROM setup_links WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SetupLink>(sqlx::AssertSqlSafe(q)).bind(tenant_id).fetch_all(p).await?),
        )
    }

    pub async fn setup_link(&self, tenant_id: &str, id: &str) -> Result<Option<SetupLink>> {
        let q = format!("SELECT {SETUP_COLUMNS} FROM setup_links WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SetupLink>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn setup_link_by_hash(&self, hash: &[u8]) -> Result<Option<SetupLink>> {
        let q = format!("SELECT {SETUP_COLUMNS} FROM setup_links WHERE token_hash = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SetupLink>(sqlx::AssertSqlSafe(q)).bind(hash).fetch_optional(p).await?),
        )
    }

    /// Revokes a link of the tenant; the audit event is written only when this call revoked it.
    pub async fn revoke_setup_link(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let n: u64 = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE setup_links SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(tenant_id).bind(id).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }.await)?;
        Ok(n > 0)
    }

    /// Claims an unclaimed, live link for one browser: one conditional update, so of two
    /// browsers exactly one wins.
    pub async fn claim_setup_link(
        &self,
        id: &str,
        claim_hash: &[u8],
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let n: u64 = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE setup_links SET claim_hash = $2, claimed_at = $3 WHERE id = $1 AND claim_hash IS NULL AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $3")
                .bind(id).bind(claim_hash).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }.await)?;
        Ok(n > 0)
    }

    /// Records the link's connection, once.
    pub async fn bind_setup_connection(&self, id: &str, connection_id: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE setup_links SET connection_id = $2 WHERE id = $1 AND connection_id IS NULL")
            .bind(id).bind(connection_id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Marks a live link used (finished); false when it was no longer live.
    pub async fn finish_setup_link(&self, id: &str, now: i64, audit: &AuditRecord) -> Result<bool> {
        let n: u64 = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE setup_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2")
                .bind(id).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }.await)?;
        Ok(n > 0)
    }
}
