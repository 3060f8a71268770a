//! Lanyard as the OpenID provider: apps, signing keys, authorization requests waiting for a
//! sign-in, grants (codes), refresh tokens and the back-channel logout queue.

use super::*;

/// An app as the store keeps it; the JSON columns are parsed by `provider::apps`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: String,
    pub id_token_alg: String,
    pub all_tenants: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub id: String,
    pub alg: String,
    pub sealed_private_key: String,
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
    pub expires_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthRequestRow {
    pub id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub params: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRow {
    pub id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub session_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_expires_at: UnixTime,
    pub code_consumed_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// First use: the grant it belongs to.
    Redeemed(GrantRow),
    /// Used before: the grant is now revoked.
    Replayed(GrantRow),
    Unknown,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was live; it is now used and the next one stored.
    Rotated(GrantRow),
    /// The token had been used already: the grant is now revoked.
    Reused(GrantRow),
    /// The token died with its grant, revoked before (replay, revocation, session end).
    Revoked(GrantRow),
    Unknown,
}

/// A back-channel logout to deliver.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogoutJob {
    pub id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub session_id: String,
    pub user_id: String,
    pub uri: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

const APP_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, grant_types, id_token_alg, all_tenants, created_at, updated_at";
const KEY_COLUMNS: &str =
    "id, alg, sealed_private_key, public_jwk, created_at, retired_at, expires_at";
const GRANT_COLUMNS: &str = "id, app_id, tenant_id, user_id, session_id, scope, nonce, auth_time, redirect_uri, code_challenge, code_expires_at, code_consumed_at, created_at, revoked_at";
const LOGOUT_COLUMNS: &str =
    "id, app_id, tenant_id, session_id, user_id, uri, status, attempts, last_error";

/// Queues a back-channel logout for every app that received tokens from the sessions just
/// revoked at `$2` (`{filter}` selects them by `$1`). Run inside each revocation's transaction.
fn enqueue_logouts(filter: &str) -> String {
    format!(
        "INSERT INTO provider_logout_queue (id, app_id, tenant_id, session_id, user_id, uri, status, created_at, next_attempt_at, attempts) \
         SELECT DISTINCT g.session_id || ':' || a.id, a.id, g.tenant_id, g.session_id, g.user_id, a.backchannel_logout_uri, 'queued', \
           CAST($2 AS BIGINT), CAST($2 AS BIGINT), CAST(0 AS BIGINT) \
         FROM provider_grants g JOIN provider_apps a ON a.id = g.app_id JOIN sessions s ON s.id = g.session_id \
         WHERE {filter} AND s.revoked_at = $2 AND g.code_consumed_at IS NOT NULL AND a.backchannel_logout_uri IS NOT NULL \
         ON CONFLICT (id) DO NOTHING"
    )
}

/// [`enqueue_logouts`] for one session (`$1` = session id).
pub(super) fn enqueue_logouts_of_session() -> String {
    enqueue_logouts("g.session_id = $1")
}

/// [`enqueue_logouts`] for every session of one user (`$1` = user id).
pub(super) fn enqueue_logouts_of_user() -> String {
    enqueue_logouts("g.user_id = $1")
}

impl Store {
    // --- apps ---

    pub async fn insert_app(
        &self,
        a: &AppRow,
        tenant_ids: &[String],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = format!(
            "INSERT INTO provider_apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(&a.id).bind(&a.name).bind(&a.secret_hash).bind(&a.redirect_uris).bind(&a.post_logout_redirect_uris)
                .bind(&a.backchannel_logout_uri).bind(&a.grant_types).bind(&a.id_token_alg).bind(a.all_tenants)
                .bind(a.created_at).bind(a.updated_at)
                .execute(&mut *tx).await?;
            for t in tenant_ids {
                sqlx::query("INSERT INTO provider_app_tenants (app_id, tenant_id) VALUES ($1, $2) ON CONFLICT (app_id, tenant_id) DO NOTHING")
                    .bind(&a.id).bind(t).execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    /// Replaces an app's settings (and, when `tenant_ids` is given, its tenant list).
    pub async fn update_app(
        &self,
        a: &AppRow,
        tenant_ids: &[String],
        audit: &AuditRecord,
    ) -> Result<bool> {
        // The secret is not written here (`set_app_secret` is the only writer), so a settings
        // update racing a secret rotation cannot put the old secret back.
        let q = "UPDATE provider_apps SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, \
                 backchannel_logout_uri = $5, grant_types = $6, id_token_alg = $7, all_tenants = $8, updated_at = $9 WHERE id = $1";
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(q)
                .bind(&a.id).bind(&a.name).bind(&a.redirect_uris).bind(&a.post_logout_redirect_uris)
                .bind(&a.backchannel_logout_uri).bind(&a.grant_types).bind(&a.id_token_alg).bind(a.all_tenants).bind(a.updated_at)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM provider_app_tenants WHERE app_id = $1").bind(&a.id).execute(&mut *tx).await?;
            for t in tenant_ids {
                sqlx::query("INSERT INTO provider_app_tenants (app_id, tenant_id) VALUES ($1, $2) ON CONFLICT (app_id, tenant_id) DO NOTHING")
                    .bind(&a.id).bind(t).execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Replaces the secret of a confidential app (never makes an app public or confidential):
    /// `false` when no confidential app has this id.
    pub async fn set_app_secret(
        &self,
        id: &str,
        secret_hash: &[u8],
        updated_at: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let q = "UPDATE provider_apps SET secret_hash = $2, updated_at = $3 WHERE id = $1 AND secret_hash IS NOT NULL";
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(q).bind(id).bind(secret_hash).bind(updated_at)
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

    pub async fn delete_app(&self, id: &str, audit: &AuditRecord) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM provider_apps WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    pub async fn app_by_id(&self, id: &str) -> Result<Option<AppRow>> {
        let q = format!("SELECT {APP_COLUMNS} FROM provider_apps WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    /// The tenant ids an app is limited to (empty when `all_tenants`).
    pub async fn app_tenant_ids(&self, app_id: &str) -> Result<Vec<String>> {
        let q = "SELECT tenant_id FROM provider_app_tenants WHERE app_id = $1 ORDER BY tenant_id";
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, String>(q).bind(app_id).fetch_all(p).await?))
    }

    /// Whether `tenant_id` may use `app_id`.
    pub async fn app_allows_tenant(&self, app_id: &str, tenant_id: &str) -> Result<bool> {
        let q = "SELECT COUNT(*) FROM provider_app_tenants WHERE app_id = $1 AND tenant_id = $2";
        let n = on_pool!(self, p => sqlx::query_scalar::<_, i64>(q).bind(app_id).bind(tenant_id).fetch_one(p).await?);
        Ok(n > 0)
    }

    pub async fn list_apps(&self, after_id: Option<&str>, limit: i64) -> Result<Vec<AppRow>> {
        let q = format!(
            "SELECT {APP_COLUMNS} FROM provider_apps WHERE ($1 = '' OR id > $1) ORDER BY id LIMIT $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, AppRow>(sqlx::AssertSqlSafe(q)).bind(after_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }

    // --- signing keys ---

    /// Keys still published at `now` (signing, or retired but not yet expired), newest first.
    pub async fn signing_keys(&self, now: UnixTime) -> Result<Vec<SigningKeyRow>> {
        let q = format!(
            "SELECT {KEY_COLUMNS} FROM provider_signing_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY id DESC"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SigningKeyRow>(sqlx::AssertSqlSafe(q)).bind(now).fetch_all(p).await?),
        )
    }

    /// Stores a new key; with `retire`, the keys of the same algorithm that still sign stop
    /// signing at `retire.0` and leave the JWKS at `retire.1`.
    pub async fn insert_signing_key(
        &self,
        k: &SigningKeyRow,
        retire: Option<(UnixTime, UnixTime)>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = format!(
            "INSERT INTO provider_signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            if let Some((retired_at, expires_at)) = retire {
                sqlx::query("UPDATE provider_signing_keys SET retired_at = $2, expires_at = $3 WHERE alg = $1 AND retired_at IS NULL")
                    .bind(&k.alg).bind(retired_at).bind(expires_at).execute(&mut *tx).await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(&k.id).bind(&k.alg).bind(&k.sealed_private_key).bind(&k.public_jwk)
                .bind(k.created_at).bind(k.retired_at).bind(k.expires_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    // --- authorization requests waiting for a sign-in ---

    pub async fn insert_auth_request(&self, r: &AuthRequestRow, token_hash: &[u8]) -> Result<()> {
        let q = "INSERT INTO provider_auth_requests (id, token_hash, app_id, tenant_id, params, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_pool!(self, p => sqlx::query(q)
            .bind(&r.id).bind(token_hash).bind(&r.app_id).bind(&r.tenant_id).bind(&r.params).bind(r.created_at).bind(r.expires_at)
            .execute(p).await?.rows_affected());
        // Expired requests go as new ones come (bounded table without a sweeper).
        on_pool!(self, p => sqlx::query("DELETE FROM provider_auth_requests WHERE expires_at < $1")
            .bind(r.created_at).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn auth_request_by_token_hash(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<AuthRequestRow>> {
        let q = "SELECT id, app_id, tenant_id, params, created_at, expires_at FROM provider_auth_requests WHERE token_hash = $1";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, AuthRequestRow>(q).bind(token_hash).fetch_optional(p).await?),
        )
    }

    /// Removes a finished request; `false` if another request already finished it.
    pub async fn delete_auth_request(&self, id: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM provider_auth_requests WHERE id = $1").bind(id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    // --- grants, codes, refresh tokens ---

    pub async fn insert_grant(
        &self,
        g: &GrantRow,
        code_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = format!(
            "INSERT INTO provider_grants ({GRANT_COLUMNS}, code_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(&g.id).bind(&g.app_id).bind(&g.tenant_id).bind(&g.user_id).bind(&g.session_id).bind(&g.scope)
                .bind(&g.nonce).bind(g.auth_time).bind(&g.redirect_uri).bind(&g.code_challenge).bind(g.code_expires_at)
                .bind(g.code_consumed_at).bind(g.created_at).bind(g.revoked_at).bind(code_hash)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn grant_by_id(&self, id: &str) -> Result<Option<GrantRow>> {
        let q = format!("SELECT {GRANT_COLUMNS} FROM provider_grants WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    /// Marks a code used, atomically: of two simultaneous redemptions exactly one gets
    /// `Redeemed`. A code presented again revokes its grant (`replay_audit` records it).
    /// `redeemed_audit` describes a first redemption and is written in its transaction.
    pub async fn redeem_code(
        &self,
        code_hash: &[u8],
        now: UnixTime,
        redeemed_audit: impl FnOnce(&GrantRow) -> AuditRecord,
        replay_audit: &AuditRecord,
    ) -> Result<CodeOutcome> {
        let redeem = format!(
            "UPDATE provider_grants SET code_consumed_at = $2 WHERE code_hash = $1 AND code_consumed_at IS NULL RETURNING {GRANT_COLUMNS}"
        );
        let first: std::result::Result<Option<GrantRow>, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let g = sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(redeem)).bind(code_hash).bind(now).fetch_optional(&mut *tx).await?;
            let Some(g) = g else { return Ok(None) };
            let audit = redeemed_audit(&g);
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(g))
        }.await);
        if let Some(g) = first? {
            return Ok(CodeOutcome::Redeemed(g));
        }
        let q = format!("SELECT {GRANT_COLUMNS} FROM provider_grants WHERE code_hash = $1");
        let seen = on_pool!(self, p => sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(q)).bind(code_hash).fetch_optional(p).await?);
        match seen {
            Some(g) => {
                self.revoke_grant(&g.id, now, replay_audit).await?;
                Ok(CodeOutcome::Replayed(g))
            }
            None => Ok(CodeOutcome::Unknown),
        }
    }

    /// Revokes a grant and its refresh tokens; `false` if it was revoked already.
    pub async fn revoke_grant(&self, id: &str, at: UnixTime, audit: &AuditRecord) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE provider_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).bind(at).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query("UPDATE provider_refresh_tokens SET used_at = $2 WHERE grant_id = $1 AND used_at IS NULL")
                .bind(id).bind(at).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Stores the first refresh token of a grant, with the audit of the tokens issued.
    pub async fn insert_refresh_token(
        &self,
        token_hash: &[u8],
        grant_id: &str,
        now: UnixTime,
        expires_at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = "INSERT INTO provider_refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q).bind(token_hash).bind(grant_id).bind(now).bind(expires_at).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    /// Uses a refresh token once and stores its successor in the same transaction; a token
    /// used before revokes its grant (`reuse_audit`). Of two simultaneous uses one rotates.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        now: UnixTime,
        new_expires_at: UnixTime,
        rotated_audit: impl FnOnce(&GrantRow) -> AuditRecord,
        reuse_audit: &AuditRecord,
    ) -> Result<RefreshOutcome> {
        let grant_q = format!("SELECT {GRANT_COLUMNS} FROM provider_grants WHERE id = $1");
        let res: std::result::Result<Option<GrantRow>, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let grant_id = sqlx::query_scalar::<_, String>(
                "UPDATE provider_refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING grant_id")
                .bind(old_hash).bind(now).fetch_optional(&mut *tx).await?;
            let Some(grant_id) = grant_id else {
                return Ok(None);
            };
            sqlx::query("INSERT INTO provider_refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)")
                .bind(new_hash).bind(&grant_id).bind(now).bind(new_expires_at).execute(&mut *tx).await?;
            let g = sqlx::query_as::<_, GrantRow>(sqlx::AssertSqlSafe(grant_q.clone())).bind(&grant_id).fetch_one(&mut *tx).await?;
            let audit = rotated_audit(&g);
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(g))
        }.await);
        if let Some(g) = res? {
            return Ok(RefreshOutcome::Rotated(g));
        }
        let q = "SELECT grant_id FROM provider_refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL";
        let used = on_pool!(self, p => sqlx::query_scalar::<_, String>(q).bind(old_hash).fetch_optional(p).await?);
        let Some(grant_id) = used else {
            return Ok(RefreshOutcome::Unknown);
        };
        let Some(g) = self.grant_by_id(&grant_id).await? else {
            return Ok(RefreshOutcome::Unknown);
        };
        if g.revoked_at.is_some() || !self.revoke_grant(&g.id, now, reuse_audit).await? {
            return Ok(RefreshOutcome::Revoked(g));
        }
        Ok(RefreshOutcome::Reused(g))
    }

    /// The grant a refresh token belongs to, if the token is live (for revocation/introspection).
    pub async fn grant_of_refresh_token(
        &self,
        token_hash: &[u8],
        now: UnixTime,
    ) -> Result<Option<GrantRow>> {
        let q = "SELECT grant_id FROM provider_refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        let id = on_pool!(self, p => sqlx::query_scalar::<_, String>(q).bind(token_hash).bind(now).fetch_optional(p).await?);
        match id {
            Some(id) => self.grant_by_id(&id).await,
            None => Ok(None),
        }
    }

    // --- back-channel logout queue ---

    /// Claims due logouts by pushing their next attempt to `lease_until` (as [`Self::claim_outbox`]).
    pub async fn claim_logouts(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: i64,
    ) -> Result<Vec<LogoutJob>> {
        let q = format!(
            "UPDATE provider_logout_queue SET next_attempt_at = $2 WHERE id IN (SELECT id FROM provider_logout_queue \
             WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
             AND status = 'queued' AND next_attempt_at <= $1 RETURNING {LOGOUT_COLUMNS}"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, LogoutJob>(sqlx::AssertSqlSafe(q)).bind(now).bind(lease_until).bind(limit).fetch_all(p).await?),
        )
    }

    pub async fn mark_logout_sent(&self, id: &str, at: UnixTime) -> Result<()> {
        let q = "UPDATE provider_logout_queue SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1 AND status = 'queued'";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(at).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn mark_logout_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: UnixTime,
        max_attempts: i64,
    ) -> Result<()> {
        let q = "UPDATE provider_logout_queue SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
                 status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'queued' END \
                 WHERE id = $1 AND status = 'queued'";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(error).bind(next_attempt_at).bind(max_attempts).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Every queued, sent or failed logout (tests and the admin view), oldest first.
    pub async fn list_logouts(&self) -> Result<Vec<LogoutJob>> {
        let q =
            format!("SELECT {LOGOUT_COLUMNS} FROM provider_logout_queue ORDER BY created_at, id");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, LogoutJob>(sqlx::AssertSqlSafe(q)).fetch_all(p).await?),
        )
    }
}
