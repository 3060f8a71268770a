//! Private content (`content_*`): sites, resources, lists and members, sign-in handoffs and
//! site sessions.

use super::*;

const SITE_COLUMNS: &str =
    "id, tenant_id, host, connection_id, sso_enabled, identity_jwt, created_at, updated_at";
const RESOURCE_COLUMNS: &str =
    "id, tenant_id, site_id, kind, path, audience, list_ids, created_at, updated_at";

/// A one-time handoff consumed: the site and session it carries, and where to return.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Handoff {
    pub site_id: String,
    pub session_id: String,
    pub return_path: String,
}

impl Store {
    pub async fn insert_site(&self, s: &ContentSite, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO content_sites (id, tenant_id, host, connection_id, sso_enabled, identity_jwt, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(&s.id).bind(&s.tenant_id).bind(&s.host).bind(&s.connection_id).bind(s.sso_enabled).bind(s.identity_jwt)
                .bind(s.created_at).bind(s.updated_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::SiteHostTaken(s.host.clone())
            } else if is_fk_violation(&e) {
                Error::ConnectionNotFound(s.connection_id.clone().unwrap_or_default())
            } else {
                e.into()
            }
        })
    }

    /// Sets a site's SSO connection and switch; resources keep their audiences.
    pub async fn update_site(&self, s: &ContentSite, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE content_sites SET connection_id = $2, sso_enabled = $3, updated_at = $4, identity_jwt = $5 WHERE id = $1")
                .bind(&s.id).bind(&s.connection_id).bind(s.sso_enabled).bind(s.updated_at).bind(s.identity_jwt)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if is_fk_violation(&e) {
                Error::ConnectionNotFound(s.connection_id.clone().unwrap_or_default())
            } else {
                e.into()
            }
        })
    }

    pub async fn site_by_host(&self, host: &str) -> Result<Option<ContentSite>> {
        let q = format!("SELECT {SITE_COLUMNS} FROM content_sites WHERE host = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ContentSite>(sqlx::AssertSqlSafe(q)).bind(host).fetch_optional(p).await?),
        )
    }

    pub async fn site_by_id(&self, id: &str) -> Result<Option<ContentSite>> {
        let q = format!("SELECT {SITE_COLUMNS} FROM content_sites WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ContentSite>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn list_sites(&self, tenant_id: &str) -> Result<Vec<ContentSite>> {
        let q =
            format!("SELECT {SITE_COLUMNS} FROM content_sites WHERE tenant_id = $1 ORDER BY host");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ContentSite>(sqlx::AssertSqlSafe(q)).bind(tenant_id).fetch_all(p).await?),
        )
    }

    /// Creates the resource at (site, path) or replaces its kind, audience and lists: two
    /// admins saving the same path at once leave one row (the later write).
    pub async fn upsert_resource(&self, r: &ContentResource, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO content_resources (id, tenant_id, site_id, kind, path, audience, list_ids, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (site_id, path) DO UPDATE SET kind = excluded.kind, audience = excluded.audience, list_ids = excluded.list_ids, updated_at = excluded.updated_at")
                .bind(&r.id).bind(&r.tenant_id).bind(&r.site_id).bind(&r.kind).bind(&r.path)
                .bind(&r.audience).bind(&r.list_ids).bind(r.created_at).bind(r.updated_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn site_resources(&self, site_id: &str) -> Result<Vec<ContentResource>> {
        let q = format!(
            "SELECT {RESOURCE_COLUMNS} FROM content_resources WHERE site_id = $1 ORDER BY path"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ContentResource>(sqlx::AssertSqlSafe(q)).bind(site_id).fetch_all(p).await?),
        )
    }

    /// Creates a list; the name is unique per tenant.
    pub async fn insert_list(&self, l: &ContentList, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO content_lists (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&l.id).bind(&l.tenant_id).bind(&l.name).bind(l.created_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::invalid("name", "a list of this name already exists")
            } else {
                e.into()
            }
        })
    }

    pub async fn lists_of_tenant(&self, tenant_id: &str) -> Result<Vec<ContentList>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, ContentList>(
            "SELECT id, tenant_id, name, created_at FROM content_lists WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant_id).fetch_all(p).await?))
    }

    /// Adds (`true`) or removes (`false`) a member; adding twice is a no-op. Returns whether
    /// a row changed (the audit event is written only then).
    pub async fn set_list_member(
        &self,
        list_id: &str,
        email: &str,
        add: bool,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = if add {
                sqlx::query("INSERT INTO content_list_members (list_id, email, added_at) VALUES ($1, $2, $3) ON CONFLICT (list_id, email) DO NOTHING")
                    .bind(list_id).bind(email).bind(at).execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query("DELETE FROM content_list_members WHERE list_id = $1 AND email = $2")
                    .bind(list_id).bind(email).execute(&mut *tx).await?.rows_affected()
            };
            if n > 0 {
                bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        }.await);
        Ok(res?)
    }

    /// The ids of the tenant's lists `email` (case folded) is on.
    pub async fn lists_with_member(&self, tenant_id: &str, email: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT l.id FROM content_lists l JOIN content_list_members m ON m.list_id = l.id WHERE l.tenant_id = $1 AND m.email = $2")
            .bind(tenant_id).bind(email).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn insert_handoff(
        &self,
        code_hash: &[u8],
        h: &Handoff,
        expires_at: UnixTime,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query("INSERT INTO content_handoffs (code_hash, site_id, session_id, return_path, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(code_hash).bind(&h.site_id).bind(&h.session_id).bind(&h.return_path).bind(expires_at)
            .execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Consumes a handoff code once, atomically, if it is unexpired; then opens the site
    /// session `token_hash` in the same transaction.
    pub async fn redeem_handoff(
        &self,
        code_hash: &[u8],
        site_id: &str,
        token_hash: &[u8],
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<Option<Handoff>> {
        let res: std::result::Result<Option<Handoff>, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let h: Option<Handoff> = sqlx::query_as("UPDATE content_handoffs SET used_at = $2 WHERE code_hash = $1 AND site_id = $3 AND used_at IS NULL AND expires_at > $2 RETURNING site_id, session_id, return_path")
                .bind(code_hash).bind(now).bind(site_id).fetch_optional(&mut *tx).await?;
            let Some(h) = h else { return Ok(None) };
            sqlx::query("INSERT INTO content_site_sessions (token_hash, site_id, session_id, created_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash).bind(&h.site_id).bind(&h.session_id).bind(now)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(h))
        }.await);
        Ok(res?)
    }

    /// The Lanyard session behind a site cookie of `site_id` (one indexed lookup, joined).
    pub async fn site_session(
        &self,
        token_hash: &[u8],
        site_id: &str,
    ) -> Result<Option<SessionView>> {
        let q = format!(
            "{SESSION_VIEW} JOIN content_site_sessions c ON c.session_id = s.id WHERE c.token_hash = $1 AND c.site_id = $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SessionView>(sqlx::AssertSqlSafe(q)).bind(token_hash).bind(site_id).fetch_optional(p).await?),
        )
    }
}
