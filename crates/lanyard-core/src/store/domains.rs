//! Verified email domains (`tenant_domains`).

use super::*;
use crate::model::TenantDomain;

const DOMAIN_COLUMNS: &str = "id, tenant_id, domain, state, challenge_token, verified_at, verified_by, created_at, updated_at";

impl Store {
    /// Records a pending claim; a second claim of the domain by the same tenant is refused.
    pub async fn insert_tenant_domain(&self, d: &TenantDomain, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO tenant_domains (id, tenant_id, domain, state, challenge_token, verified_at, verified_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&d.id).bind(&d.tenant_id).bind(&d.domain).bind(&d.state).bind(&d.challenge_token)
                .bind(d.verified_at).bind(&d.verified_by).bind(d.created_at).bind(d.updated_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::DomainAlreadyClaimed(d.domain.clone())
            } else {
                e.into()
            }
        })
    }

    /// Marks a pending claim verified. The store's unique index on verified domains decides
    /// between two tenants verifying at once: the loser gets `domain.verified_elsewhere`.
    pub async fn verify_tenant_domain(&self, d: &TenantDomain, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<u64, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE tenant_domains SET state = 'verified', verified_at = $2, verified_by = $3, updated_at = $4 WHERE id = $1 AND state = 'pending'")
                .bind(&d.id).bind(d.verified_at).bind(&d.verified_by).bind(d.updated_at)
                .execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n)
        }.await);
        match res {
            Ok(_) => Ok(()),
            Err(e) if unique_violation(&e).is_some() => {
                Err(Error::DomainVerifiedElsewhere(d.domain.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn tenant_domain(
        &self,
        tenant_id: &str,
        domain: &str,
    ) -> Result<Option<TenantDomain>> {
        let q = format!(
            "SELECT {DOMAIN_COLUMNS} FROM tenant_domains WHERE tenant_id = $1 AND domain = $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, TenantDomain>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(domain).fetch_optional(p).await?),
        )
    }

    pub async fn list_tenant_domains(&self, tenant_id: &str) -> Result<Vec<TenantDomain>> {
        let q = format!(
            "SELECT {DOMAIN_COLUMNS} FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, TenantDomain>(sqlx::AssertSqlSafe(q)).bind(tenant_id).fetch_all(p).await?),
        )
    }

    /// The tenant holding `domain` (normalised) verified, if any.
    pub async fn verified_domain_tenant(&self, domain: &str) -> Result<Option<Tenant>> {
        let cols = TENANT_COLUMNS
            .split(',')
            .map(|c| format!("t.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let q = format!(
            "SELECT {cols} FROM tenants t JOIN tenant_domains d ON d.tenant_id = t.id WHERE d.domain = $1 AND d.state = 'verified'"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(domain).fetch_optional(p).await?),
        )
    }

    /// Deletes a claim; `Ok(false)` when there was none.
    pub async fn delete_tenant_domain(
        &self,
        tenant_id: &str,
        domain: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM tenant_domains WHERE tenant_id = $1 AND domain = $2")
                .bind(tenant_id).bind(domain).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }
}
