//! Sessions, admin API keys, per-user API tokens and the sign-in failure counters.

use super::*;

pub(super) const API_TOKEN_COLUMNS: &str =
    "id, tenant_id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    // --- sessions ---

    pub async fn insert_session(
        &self,
        s: &Session,
        token_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = "INSERT INTO sessions (id, tenant_id, user_id, token_hash, auth_method, created_at, expires_at, revoked_at, ip, user_agent, connection_id, idp_groups) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q)
                .bind(&s.id).bind(&s.tenant_id).bind(&s.user_id).bind(token_hash).bind(&s.auth_method)
                .bind(s.created_at).bind(s.expires_at).bind(s.revoked_at).bind(&s.ip).bind(&s.user_agent).bind(&s.connection_id).bind(&s.idp_groups)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    /// The hot path of every authenticated request: one indexed lookup, joined with user and tenant.
    pub async fn session_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<SessionView>> {
        let q = format!("{SESSION_VIEW} WHERE s.token_hash = $1");
        Ok(match self {
            Self::Sqlite(s) => s.readers().one(&q, [token_hash], session_view_row)?,
            Self::Postgres(PgStore { pool: p, .. }) => {
                sqlx::query_as::<_, SessionView>(sqlx::AssertSqlSafe(q))
                    .bind(token_hash)
                    .fetch_optional(p)
                    .await?
            }
        })
    }

    pub async fn session_by_id(&self, tenant_id: &str, id: &str) -> Result<Option<SessionView>> {
        let q = format!("{SESSION_VIEW} WHERE s.tenant_id = $1 AND s.id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SessionView>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    /// Sessions of a tenant, newest first; `active_at` keeps only unrevoked, unexpired ones.
    pub async fn list_sessions(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        active_at: Option<UnixTime>,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SessionView>> {
        let mut sql = format!("{SESSION_VIEW} WHERE s.tenant_id = $1");
        let mut args = vec![Arg::Text(tenant_id.to_owned())];
        if let Some(u) = user_id {
            args.push(Arg::Text(u.to_owned()));
            sql.push_str(&format!(" AND s.user_id = ${}", args.len()));
        }
        if let Some(now) = active_at {
            args.push(Arg::Int(now));
            sql.push_str(&format!(
                " AND s.revoked_at IS NULL AND s.expires_at > ${}",
                args.len()
            ));
        }
        if let Some(b) = before_id {
            args.push(Arg::Text(b.to_owned()));
            sql.push_str(&format!(" AND s.id < ${}", args.len()));
        }
        args.push(Arg::Int(limit));
        sql.push_str(&format!(" ORDER BY s.id DESC LIMIT ${}", args.len()));
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, SessionView>(sqlx::AssertSqlSafe(sql));
            for a in args {
                q = match a { Arg::Text(s) => q.bind(s), Arg::Int(i) => q.bind(i) };
            }
            q.fetch_all(p).await?
        }))
    }

    /// Ends one session; `Ok(false)` if it did not exist in this tenant or had already ended.
    pub async fn revoke_session(
        &self,
        tenant_id: &str,
        id: &str,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(tenant_id).bind(id).bind(at).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query(sqlx::AssertSqlSafe(super::provider::enqueue_logouts_of_session()))
                .bind(id).bind(at).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Ends every live session of a user; returns how many ended.
    /// Flags the user to choose a new password at the next sign-in and ends their sessions,
    /// writing only that column (a concurrent edit of the user keeps its other changes).
    pub async fn require_password_change(
        &self,
        user_id: &str,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<u64> {
        let res: std::result::Result<u64, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE users SET must_change_password = TRUE, updated_at = $2 WHERE id = $1")
                .bind(user_id).bind(at).execute(&mut *tx).await?;
            let n = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(at).execute(&mut *tx).await?.rows_affected();
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n)
        }.await);
        Ok(res?)
    }

    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<u64> {
        let res: std::result::Result<u64, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(at).execute(&mut *tx).await?.rows_affected();
            sqlx::query(sqlx::AssertSqlSafe(super::provider::enqueue_logouts_of_user()))
                .bind(user_id).bind(at).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n)
        }.await);
        Ok(res?)
    }

    // --- API keys ---

    pub async fn insert_api_key(
        &self,
        k: &ApiKey,
        token_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = "INSERT INTO api_keys (id, tenant_id, name, prefix, token_hash, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q)
                .bind(&k.id).bind(&k.tenant_id).bind(&k.name).bind(&k.prefix).bind(token_hash)
                .bind(k.created_at).bind(k.last_used_at).bind(k.revoked_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn api_key_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiKey>> {
        let q = format!("{API_KEY_VIEW} WHERE k.token_hash = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(q)).bind(token_hash).fetch_optional(p).await?),
        )
    }

    pub async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKey>> {
        let q = format!("{API_KEY_VIEW} WHERE k.id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    /// Keys of one tenant, or the operator keys when `tenant_id` is `None`.
    pub async fn list_api_keys(&self, tenant_id: Option<&str>) -> Result<Vec<ApiKey>> {
        Ok(match tenant_id {
            Some(t) => {
                let q = format!("{API_KEY_VIEW} WHERE k.tenant_id = $1 ORDER BY k.id");
                on_pool!(self, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(q)).bind(t).fetch_all(p).await?)
            }
            None => {
                let q = format!("{API_KEY_VIEW} WHERE k.tenant_id IS NULL ORDER BY k.id");
                on_pool!(self, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(q)).fetch_all(p).await?)
            }
        })
    }

    pub async fn revoke_api_key(
        &self,
        id: &str,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).bind(at).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Records use of a key at most once a minute, so reads do not become writes.
    pub async fn touch_api_key(&self, id: &str, at: UnixTime) -> Result<()> {
        let q = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(at).bind(at - 60).execute(p).await?.rows_affected());
        Ok(())
    }

    // --- sign-in throttling ---

    pub async fn failures(&self, scope: &str, key: &str) -> Result<Option<FailureCount>> {
        let q = "SELECT failures, window_start, last_failure_at FROM login_failures WHERE scope = $1 AND key = $2";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, FailureCount>(q).bind(scope).bind(key).fetch_optional(p).await?),
        )
    }

    /// Counts one failure atomically (safe across nodes); a window older than `window_secs` restarts.
    pub async fn record_failure(
        &self,
        scope: &str,
        key: &str,
        now: UnixTime,
        window_secs: i64,
    ) -> Result<FailureCount> {
        let q = "INSERT INTO login_failures (scope, key, failures, window_start, last_failure_at) VALUES ($1, $2, 1, $3, $3) \
                 ON CONFLICT (scope, key) DO UPDATE SET \
                   failures = CASE WHEN login_failures.window_start < $4 THEN 1 ELSE login_failures.failures + 1 END, \
                   window_start = CASE WHEN login_failures.window_start < $4 THEN $3 ELSE login_failures.window_start END, \
                   last_failure_at = $3 \
                 RETURNING failures, window_start, last_failure_at";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, FailureCount>(q).bind(scope).bind(key).bind(now).bind(now - window_secs).fetch_one(p).await?),
        )
    }

    pub async fn clear_failures(&self, scope: &str, key: &str) -> Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND key = $2").bind(scope).bind(key).execute(p).await?.rows_affected());
        Ok(())
    }

    // --- per-user API tokens ---

    pub async fn insert_api_token(
        &self,
        t: &ApiToken,
        token_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = format!(
            "INSERT INTO api_tokens ({API_TOKEN_COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(&t.id).bind(&t.tenant_id).bind(&t.user_id).bind(&t.name).bind(&t.prefix)
                .bind(t.created_at).bind(t.expires_at).bind(t.last_used_at).bind(t.revoked_at).bind(token_hash)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn api_token_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiToken>> {
        let q = format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiToken>(sqlx::AssertSqlSafe(q)).bind(token_hash).fetch_optional(p).await?),
        )
    }

    pub async fn api_tokens_of(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let q =
            format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, ApiToken>(sqlx::AssertSqlSafe(q)).bind(user_id).fetch_all(p).await?),
        )
    }

    pub async fn revoke_api_token(
        &self,
        user_id: &str,
        id: &str,
        at: UnixTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(user_id).bind(id).bind(at).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Records use of a token at most once a minute.
    pub async fn touch_api_token(&self, id: &str, at: UnixTime) -> Result<()> {
        let q = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(at).bind(at - 60).execute(p).await?.rows_affected());
        Ok(())
    }
}

/// A [`SESSION_VIEW`] row read by SQLite's readers.
fn session_view_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionView> {
    Ok(SessionView {
        id: r.get("id")?,
        tenant_id: r.get("tenant_id")?,
        tenant_slug: r.get("tenant_slug")?,
        user_id: r.get("user_id")?,
        username: r.get("username")?,
        email: r.get("email")?,
        display_name: r.get("display_name")?,
        role: r.get("role")?,
        user_disabled: r.get("user_disabled")?,
        auth_method: r.get("auth_method")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
        ip: r.get("ip")?,
        user_agent: r.get("user_agent")?,
        connection_id: r.get("connection_id")?,
        idp_groups: r.get("idp_groups")?,
    })
}
