//! The device authorization grant (RFC 8628): device codes and user codes (both kept as
//! SHA-256), the person's decision, the polling interval and the single-use consumption that
//! issues the device's API token in the same transaction.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceGrantRow {
    pub id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub machine_name: String,
    pub client_ip: Option<String>,
    pub status: String,
    pub user_id: Option<String>,
    pub api_token_id: Option<String>,
    pub interval_secs: i64,
    pub last_polled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub decided_at: Option<UnixTime>,
}

const DEVICE_COLUMNS: &str = "id, app_id, tenant_id, machine_name, client_ip, status, user_id, api_token_id, interval_secs, last_polled_at, created_at, expires_at, decided_at";

/// What consuming an approved device grant did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceConsume {
    /// This caller consumed it; the token row was inserted.
    Issued,
    /// Another caller consumed it first (or it is not approved).
    NotApproved,
}

impl Store {
    /// Inserts a device grant; `false` when the user code (or device code) collides with a
    /// stored one, so the caller draws again.
    pub async fn insert_device_grant(
        &self,
        g: &DeviceGrantRow,
        device_code_hash: &[u8],
        user_code_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<bool> {
        let q = "INSERT INTO provider_device_grants (id, app_id, tenant_id, machine_name, client_ip, status, user_id, api_token_id, interval_secs, last_polled_at, created_at, expires_at, decided_at, device_code_hash, user_code_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING";
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(q)
                .bind(&g.id).bind(&g.app_id).bind(&g.tenant_id).bind(&g.machine_name).bind(&g.client_ip)
                .bind(&g.status).bind(&g.user_id).bind(&g.api_token_id).bind(g.interval_secs).bind(g.last_polled_at)
                .bind(g.created_at).bind(g.expires_at).bind(g.decided_at).bind(device_code_hash).bind(user_code_hash)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    pub async fn device_grant_by_user_code(
        &self,
        user_code_hash: &[u8],
    ) -> Result<Option<DeviceGrantRow>> {
        let q = format!(
            "SELECT {DEVICE_COLUMNS} FROM provider_device_grants WHERE user_code_hash = $1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, DeviceGrantRow>(sqlx::AssertSqlSafe(q)).bind(user_code_hash).fetch_optional(p).await?),
        )
    }

    pub async fn device_grant_by_device_code(
        &self,
        device_code_hash: &[u8],
    ) -> Result<Option<DeviceGrantRow>> {
        let q = format!(
            "SELECT {DEVICE_COLUMNS} FROM provider_device_grants WHERE device_code_hash = $1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, DeviceGrantRow>(sqlx::AssertSqlSafe(q)).bind(device_code_hash).fetch_optional(p).await?),
        )
    }

    /// Records the person's decision on a pending, unexpired grant (`approved` or `denied`);
    /// `false` when it was decided already or has expired.
    pub async fn decide_device_grant(
        &self,
        id: &str,
        status: &str,
        user_id: &str,
        now: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let q = "UPDATE provider_device_grants SET status = $2, user_id = $3, decided_at = $4 \
                 WHERE id = $1 AND status = 'pending' AND expires_at > $4";
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(q).bind(id).bind(status).bind(user_id).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Marks a poll at `now` unless the previous one was less than the interval ago (then
    /// `false`: the device polls too fast). Atomic, so two pollers at once cannot both pass.
    pub async fn mark_device_poll(&self, id: &str, now: UnixTime) -> Result<bool> {
        let q = "UPDATE provider_device_grants SET last_polled_at = $2 \
                 WHERE id = $1 AND (last_polled_at IS NULL OR last_polled_at + interval_secs <= $2)";
        Ok(
            on_pool!(self, p => sqlx::query(q).bind(id).bind(now).execute(p).await?.rows_affected())
                == 1,
        )
    }

    /// Consumes an approved grant and inserts the device's API token, in one transaction:
    /// only the caller whose UPDATE moved the grant from `approved` to `consumed` issues it.
    pub async fn consume_device_grant(
        &self,
        id: &str,
        tok: &ApiToken,
        token_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<DeviceConsume> {
        let claim = "UPDATE provider_device_grants SET status = 'consumed', api_token_id = $2 WHERE id = $1 AND status = 'approved'";
        let insert = format!(
            "INSERT INTO api_tokens ({}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            super::sessions::API_TOKEN_COLUMNS
        );
        let res: std::result::Result<DeviceConsume, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(claim).bind(id).bind(&tok.id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(DeviceConsume::NotApproved);
            }
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind(&tok.id).bind(&tok.tenant_id).bind(&tok.user_id).bind(&tok.name).bind(&tok.prefix)
                .bind(tok.created_at).bind(tok.expires_at).bind(tok.last_used_at).bind(tok.revoked_at).bind(token_hash)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(DeviceConsume::Issued)
        }.await);
        Ok(res?)
    }
}
