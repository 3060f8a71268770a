//! Store operations of provisioning: the multi-row changes a login or an admin action makes in one
//! transaction (user, federated identity, sessions, API tokens, emailed links, outbox, audit), and
//! the user listings it needs.

use super::*;

/// Everything one provisioning step writes, applied in one transaction in this order: users
/// created, users updated, identities unlinked, identities linked, link login times, sessions
/// revoked, API tokens revoked, emailed links created and closed, mail queued, audit events.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub insert_users: Vec<User>,
    pub update_users: Vec<User>,
    /// (connection ID, user ID)
    pub unlink: Vec<(String, String)>,
    pub link: Vec<FederatedIdentity>,
    /// (connection ID, federation ID, at)
    pub touch_links: Vec<(String, String, UnixTime)>,
    /// Users whose sessions all end now.
    pub revoke_sessions_of: Vec<String>,
    /// Users whose API tokens are all revoked now.
    pub revoke_api_tokens_of: Vec<String>,
    /// New emailed links with the SHA-256 of their token.
    pub new_links: Vec<(UserLink, Vec<u8>)>,
    /// Links used up now (accepted invitation, confirmed email, password reset done).
    pub use_links: Vec<String>,
    /// Invitations declined now (they stay usable).
    pub decline_links: Vec<String>,
    /// Open links of (user, purpose) closed now, so an older reset link stops working.
    pub close_open_links: Vec<(String, LinkPurpose)>,
    /// Users taken off SSO now (their only identity went with a removed connection): writes
    /// `sso_state = none` and nothing else, so a concurrent edit of the user keeps its changes.
    pub sso_state_none: Vec<String>,
    /// Users whose password is allowed despite SSO required until they link again (issue 12):
    /// writes `sso_exempt = TRUE` and nothing else.
    pub sso_exempt_on: Vec<String>,
    /// Users who chose a new password now: "change at next sign-in" is done. (Whole-row
    /// updates never clear that flag, so a concurrent edit cannot undo an admin's request.)
    pub password_change_done: Vec<String>,
    pub outbox: Vec<OutboxMessage>,
    pub audit: Vec<AuditRecord>,
    /// The time every revocation and link state change is stamped with.
    pub at: UnixTime,
}

impl Changes {
    pub fn at(at: UnixTime) -> Self {
        Self {
            at,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.insert_users.is_empty()
            && self.update_users.is_empty()
            && self.unlink.is_empty()
            && self.link.is_empty()
            && self.touch_links.is_empty()
            && self.revoke_sessions_of.is_empty()
            && self.revoke_api_tokens_of.is_empty()
            && self.new_links.is_empty()
            && self.use_links.is_empty()
            && self.decline_links.is_empty()
            && self.close_open_links.is_empty()
            && self.password_change_done.is_empty()
            && self.sso_state_none.is_empty()
            && self.sso_exempt_on.is_empty()
            && self.outbox.is_empty()
            && self.audit.is_empty()
    }

    pub fn merge(&mut self, other: Changes) {
        self.insert_users.extend(other.insert_users);
        self.update_users.extend(other.update_users);
        self.unlink.extend(other.unlink);
        self.link.extend(other.link);
        self.touch_links.extend(other.touch_links);
        self.revoke_sessions_of.extend(other.revoke_sessions_of);
        self.revoke_api_tokens_of.extend(other.revoke_api_tokens_of);
        self.new_links.extend(other.new_links);
        self.use_links.extend(other.use_links);
        self.decline_links.extend(other.decline_links);
        self.close_open_links.extend(other.close_open_links);
        self.password_change_done.extend(other.password_change_done);
        self.sso_state_none.extend(other.sso_state_none);
        self.sso_exempt_on.extend(other.sso_exempt_on);
        self.outbox.extend(other.outbox);
        self.audit.extend(other.audit);
    }
}

/// Every statement of a [`Changes`], in order, each handed to `$emit!($ctx, SQL, q => BINDS)`
/// (one text per statement, both pools; `BINDS` binds `$1…` onto `q` in order). The one list
/// both ways of running it share: statement by statement in a transaction ([`apply_changes!`])
/// and, on SQLite, as one batch of a sign-in (`store::signin`).
macro_rules! changes_statements {
    ($c:expr, $emit:ident, $ctx:expr) => {{
        let c: &Changes = $c;
        for u in &c.insert_users {
            $emit!($ctx, USER_INSERT, q => bind_user_insert!(q, u));
        }
        for u in &c.update_users {
            $emit!($ctx, USER_UPDATE, q => bind_user_update!(q, u));
        }
        for user in &c.password_change_done {
            $emit!($ctx, "UPDATE users SET must_change_password = FALSE WHERE id = $1", q => q.bind(user));
        }
        for user in &c.sso_state_none {
            $emit!($ctx, "UPDATE users SET sso_state = 'none', updated_at = $2 WHERE id = $1", q => q.bind(user).bind(c.at));
        }
        for user in &c.sso_exempt_on {
            $emit!($ctx, "UPDATE users SET sso_exempt = TRUE, updated_at = $2 WHERE id = $1", q => q.bind(user).bind(c.at));
        }
        for (conn, user) in &c.unlink {
            $emit!($ctx, "DELETE FROM federated_identities WHERE connection_id = $1 AND user_id = $2", q => q.bind(conn).bind(user));
        }
        for f in &c.link {
            $emit!($ctx, "INSERT INTO federated_identities (tenant_id, connection_id, federation_id, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6)",
                q => q.bind(&f.tenant_id).bind(&f.connection_id).bind(&f.federation_id).bind(&f.user_id).bind(f.created_at).bind(f.last_login_at));
        }
        for (conn, fid, at) in &c.touch_links {
            $emit!($ctx, "UPDATE federated_identities SET last_login_at = $3 WHERE connection_id = $1 AND federation_id = $2",
                q => q.bind(conn).bind(fid).bind(at));
        }
        for user in &c.revoke_sessions_of {
            $emit!($ctx, "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", q => q.bind(user).bind(c.at));
            $emit!($ctx, sqlx::AssertSqlSafe(super::provider::enqueue_logouts_of_user()), q => q.bind(user).bind(c.at));
        }
        for user in &c.revoke_api_tokens_of {
            $emit!($ctx, "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", q => q.bind(user).bind(c.at));
        }
        for (user, purpose) in &c.close_open_links {
            $emit!($ctx, "UPDATE user_links SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                q => q.bind(user).bind(purpose.as_str()).bind(c.at));
        }
        for (l, hash) in &c.new_links {
            $emit!($ctx, "INSERT INTO user_links (id, tenant_id, user_id, purpose, token_hash, sealed_token, connection_id, created_at, expires_at, used_at, declined_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                q => q.bind(&l.id).bind(&l.tenant_id).bind(&l.user_id).bind(l.purpose.as_str()).bind(hash.as_slice())
                    .bind(&l.sealed_token).bind(&l.connection_id).bind(l.created_at).bind(l.expires_at).bind(l.used_at).bind(l.declined_at));
        }
        for id in &c.use_links {
            $emit!($ctx, "UPDATE user_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL", q => q.bind(id).bind(c.at));
        }
        for id in &c.decline_links {
            $emit!($ctx, "UPDATE user_links SET declined_at = $2 WHERE id = $1 AND used_at IS NULL", q => q.bind(id).bind(c.at));
        }
        for m in &c.outbox {
            $emit!($ctx, OUTBOX_INSERT,
                q => q.bind(&m.id).bind(&m.tenant_id).bind(&m.to).bind(&m.subject).bind(&m.body)
                    .bind(m.status.as_str()).bind(m.created_at).bind(m.next_attempt_at).bind(m.attempts)
                    .bind(&m.last_error).bind(m.sent_at));
        }
        for a in &c.audit {
            $emit!($ctx, AUDIT_INSERT, q => bind_audit!(q, a));
        }
    }};
}
pub(super) use changes_statements;

/// Runs one statement of [`changes_statements!`] in the open transaction `$tx`.
macro_rules! execute_statement {
    ($tx:expr, $sql:expr, $q:ident => $bind:expr) => {{
        let $q = sqlx::query($sql);
        $bind.execute(&mut *$tx).await?;
    }};
}
pub(super) use execute_statement;

/// Executes a [`Changes`] inside the open transaction `$tx`, statement by statement.
macro_rules! apply_changes {
    ($tx:expr, $c:expr) => {
        changes_statements!($c, execute_statement, $tx)
    };
}
pub(super) use apply_changes;

/// Which users a listing returns.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub sso_state: Option<SsoState>,
    /// Users without a federated identity (`none`, `invited`, `declined`).
    pub not_on_sso: bool,
    /// Users without a role.
    pub needs_role: bool,
    /// Part of the username or email, case-insensitive (empty: everyone).
    pub search: Option<String>,
}

/// A `LIKE` pattern matching `text` anywhere, its wildcards escaped (with `\`).
fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for ch in crate::model::fold_key(text.trim()).chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl Store {
    /// Applies `c` in one transaction. A federated identity that is already linked maps to
    /// [`Error::IdentityAlreadyLinked`]; username/email conflicts to their domain errors.
    pub async fn apply(&self, c: &Changes) -> Result<()> {
        if c.is_empty() {
            return Ok(());
        }
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            apply_changes!(tx, c);
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_changes_conflict(e, c))
    }

    pub(super) fn map_changes_conflict(e: sqlx::Error, c: &Changes) -> Error {
        match unique_violation(&e) {
            Some(k) if k.contains("federated_identities") => Error::IdentityAlreadyLinked,
            Some(_) | None => match c.insert_users.first().or(c.update_users.first()) {
                Some(u) => Self::map_user_conflict(e, u),
                None => e.into(),
            },
        }
    }

    pub async fn user_by_email(&self, tenant_id: &str, email: &str) -> Result<Option<User>> {
        let q = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email_key = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(fold_key(email)).fetch_optional(p).await?),
        )
    }

    /// A page of users matching `f`, by id.
    pub async fn list_users_filtered(
        &self,
        tenant_id: &str,
        f: &UserFilter,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let q = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id > $2 \
             AND ($3 = '' OR sso_state = $3) AND ($4 = 0 OR sso_state <> 'linked') AND ($5 = 0 OR role IS NULL) \
             AND ($7 = '' OR username_key LIKE $7 ESCAPE '\\' OR email_key LIKE $7 ESCAPE '\\') \
             ORDER BY id LIMIT $6"
        );
        let state = f.sso_state.map(SsoState::as_str).unwrap_or("");
        let search = f
            .search
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(contains_pattern)
            .unwrap_or_default();
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q))
            .bind(tenant_id).bind(after_id.unwrap_or("")).bind(state)
            .bind(i64::from(f.not_on_sso)).bind(i64::from(f.needs_role)).bind(limit).bind(search)
            .fetch_all(p).await?),
        )
    }

    /// Users of `tenant_id` that can only sign in through `connection_id`: linked to it, no
    /// password, no other connection. They get a password reset when it goes away.
    pub async fn users_only_on_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Vec<User>> {
        let cols = user_columns_of("u");
        let q = format!(
            "SELECT {cols} FROM users u JOIN federated_identities f ON f.user_id = u.id \
             WHERE u.tenant_id = $1 AND f.connection_id = $2 AND u.password_hash IS NULL \
             AND NOT EXISTS (SELECT 1 FROM federated_identities o JOIN connections c ON c.id = o.connection_id \
                             WHERE o.user_id = u.id AND o.connection_id <> $2 AND c.enabled = TRUE) \
             ORDER BY u.id"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(connection_id).fetch_all(p).await?),
        )
    }

    /// Users of `tenant_id` linked to `connection_id` and to no other connection: removing the
    /// connection takes them off SSO.
    pub async fn users_linked_only_to(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Vec<User>> {
        let cols = user_columns_of("u");
        let q = format!(
            "SELECT {cols} FROM users u JOIN federated_identities f ON f.user_id = u.id \
             WHERE u.tenant_id = $1 AND f.connection_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM federated_identities o WHERE o.user_id = u.id AND o.connection_id <> $2) \
             ORDER BY u.id"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(connection_id).fetch_all(p).await?),
        )
    }
}
