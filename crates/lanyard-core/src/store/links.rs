//! Emailed links (invitations, confirmations, resets) and the mail outbox.

use super::*;

const USER_LINK_COLUMNS: &str = "id, tenant_id, user_id, purpose, sealed_token, connection_id, created_at, expires_at, used_at, declined_at";

impl Store {
    // --- emailed links ---

    pub async fn user_link_by_hash(&self, token_hash: &[u8]) -> Result<Option<UserLink>> {
        let q = format!("SELECT {USER_LINK_COLUMNS} FROM user_links WHERE token_hash = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserLink>(sqlx::AssertSqlSafe(q)).bind(token_hash).fetch_optional(p).await?),
        )
    }

    pub async fn user_link(&self, tenant_id: &str, id: &str) -> Result<Option<UserLink>> {
        let q =
            format!("SELECT {USER_LINK_COLUMNS} FROM user_links WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserLink>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    /// The invitation of `user_id` that is still open (not accepted), if any.
    pub async fn open_invitation_of(&self, user_id: &str) -> Result<Option<UserLink>> {
        let q = format!(
            "SELECT {USER_LINK_COLUMNS} FROM user_links WHERE user_id = $1 AND purpose = 'invitation' AND used_at IS NULL ORDER BY id DESC LIMIT 1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserLink>(sqlx::AssertSqlSafe(q)).bind(user_id).fetch_optional(p).await?),
        )
    }

    /// Whether `user_id` has a link of `purpose` that is neither used nor expired at `now`.
    pub async fn has_open_link(
        &self,
        user_id: &str,
        purpose: LinkPurpose,
        now: UnixTime,
    ) -> Result<bool> {
        let q = "SELECT COUNT(*) FROM user_links WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $3)";
        let n: i64 = on_pool!(self, p => sqlx::query_scalar::<_, i64>(q).bind(user_id).bind(purpose.as_str()).bind(now).fetch_one(p).await?);
        Ok(n > 0)
    }

    pub async fn list_user_links(
        &self,
        tenant_id: &str,
        purpose: LinkPurpose,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserLink>> {
        let q = format!(
            "SELECT {USER_LINK_COLUMNS} FROM user_links WHERE tenant_id = $1 AND purpose = $2 AND id > $3 ORDER BY id LIMIT $4"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserLink>(sqlx::AssertSqlSafe(q))
            .bind(tenant_id).bind(purpose.as_str()).bind(after_id.unwrap_or("")).bind(limit)
            .fetch_all(p).await?),
        )
    }

    // --- outbox ---

    pub async fn insert_outbox(&self, m: &OutboxMessage) -> Result<()> {
        let q = format!(
            "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        let res = on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(&m.id).bind(&m.tenant_id).bind(&m.to).bind(&m.subject).bind(&m.body)
            .bind(m.status.as_str()).bind(m.created_at).bind(m.next_attempt_at).bind(m.attempts)
            .bind(&m.last_error).bind(m.sent_at)
            .execute(p).await.map(|r| r.rows_affected()));
        res.map(|_| ()).map_err(|e| {
            if is_fk_violation(&e) {
                Error::TenantNotFound(m.tenant_id.clone())
            } else {
                e.into()
            }
        })
    }

    /// Claims up to `limit` queued messages due at `now` by moving their next attempt to
    /// `lease_until`: the outer WHERE repeats the due condition, so when two nodes pick the same
    /// rows, PostgreSQL re-checks it on the row the first one updated and the second gets nothing
    /// (SQLite serialises writers). A sender that dies mid-send leaves the row due again at
    /// `lease_until`, so no message is lost.
    pub async fn claim_outbox(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let q = format!(
            "UPDATE outbox SET next_attempt_at = $2 WHERE id IN (SELECT id FROM outbox \
             WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
             AND status = 'queued' AND next_attempt_at <= $1 RETURNING {OUTBOX_COLUMNS}"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, OutboxMessage>(sqlx::AssertSqlSafe(q)).bind(now).bind(lease_until).bind(limit).fetch_all(p).await?),
        )
    }

    pub async fn mark_outbox_sent(&self, id: &str, at: UnixTime) -> Result<()> {
        let q = "UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1 AND status = 'queued'";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(at).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Counts one failed attempt; at `max_attempts` the message is given up (`failed`).
    pub async fn mark_outbox_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: UnixTime,
        max_attempts: i64,
    ) -> Result<()> {
        let q = "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
                 status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'queued' END \
                 WHERE id = $1 AND status = 'queued'";
        on_pool!(self, p => sqlx::query(q).bind(id).bind(error).bind(next_attempt_at).bind(max_attempts).execute(p).await?.rows_affected());
        Ok(())
    }

    pub async fn outbox_message(&self, tenant_id: &str, id: &str) -> Result<Option<OutboxMessage>> {
        let q = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, OutboxMessage>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    /// A tenant's mail, newest first (ids are time-ordered); `before_id` = "" starts at the top.
    pub async fn list_outbox(
        &self,
        tenant_id: &str,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let q = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, OutboxMessage>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(before_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }
}
