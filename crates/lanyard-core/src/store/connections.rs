//! Connections, the single-use state of logins in flight (pending logins, replay cache) and
//! federated identities.

use super::*;

/// A pending login with the OIDC columns SAML's leave NULL.
#[derive(sqlx::FromRow)]
pub(super) struct OidcPendingRow {
    #[sqlx(flatten)]
    login: PendingLogin,
    oidc_nonce: Option<String>,
    oidc_code_verifier: Option<String>,
}

/// The columns of an OIDC login state ([`OidcPendingRow`]).
macro_rules! oidc_state_columns {
    () => {
        "id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, oidc_nonce, oidc_code_verifier, invitation_id, purpose"
    };
}

/// PostgreSQL's grouped form of [`Store::oidc_pending`]'s statement ([`pg_lookups`]): state
/// `a` of tenant `b` and connection `c`.
pub(super) fn oidc_state_lookup_sql() -> String {
    pg_lookups::lookup_sql(concat!(
        "SELECT ",
        oidc_state_columns!(),
        " FROM pending_logins WHERE id = q.a AND tenant_id = q.b AND connection_id = q.c AND oidc_nonce IS NOT NULL"
    ))
}

/// Every pending login's insert; SAML's leave the OIDC columns NULL.
const PENDING_INSERT: &str = "INSERT INTO pending_logins (id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, oidc_nonce, oidc_code_verifier, invitation_id, purpose) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Binds a pending login, its OIDC nonce and verifier (`Option<&str>` or `&Option<String>`)
/// onto [`PENDING_INSERT`].
macro_rules! bind_pending {
    ($q:expr, $l:expr, $nonce:expr, $verifier:expr) => {
        $q.bind(&$l.id)
            .bind(&$l.tenant_id)
            .bind(&$l.connection_id)
            .bind(&$l.relay_state)
            .bind(&$l.browser_binding)
            .bind(&$l.return_to)
            .bind($l.created_at)
            .bind($l.expires_at)
            .bind($nonce)
            .bind($verifier)
            .bind(&$l.invitation_id)
            .bind(&$l.purpose)
    };
}

impl Store {
    // --- connections ---

    pub async fn insert_connection(&self, c: &Connection, audit: &AuditRecord) -> Result<()> {
        let q = "INSERT INTO connections (id, tenant_id, slug, name, kind, enabled, settings, created_at, updated_at, provisioning) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q)
                .bind(&c.id).bind(&c.tenant_id).bind(&c.slug).bind(&c.name).bind(&c.kind)
                .bind(c.enabled).bind(&c.settings).bind(c.created_at).bind(c.updated_at).bind(&c.provisioning)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::ConnectionSlugTaken(c.slug.clone())
            } else {
                e.into()
            }
        })
    }

    /// Writes a connection; `fallout` (password resets when it is disabled) commits with it.
    pub async fn update_connection(
        &self,
        c: &Connection,
        audit: &AuditRecord,
        fallout: &Changes,
    ) -> Result<()> {
        let q = "UPDATE connections SET name = $3, enabled = $4, settings = $5, updated_at = $6, provisioning = $7 WHERE tenant_id = $1 AND id = $2";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q)
                .bind(&c.tenant_id).bind(&c.id).bind(&c.name).bind(c.enabled).bind(&c.settings).bind(c.updated_at).bind(&c.provisioning)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            apply_changes!(tx, fallout);
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_changes_conflict(e, fallout))
    }

    pub async fn connection_by_id(&self, tenant_id: &str, id: &str) -> Result<Option<Connection>> {
        let q = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Connection>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn connection_by_slug(
        &self,
        tenant_id: &str,
        slug: &str,
    ) -> Result<Option<Connection>> {
        let q = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE tenant_id = $1 AND slug = $2"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Connection>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(slug).fetch_optional(p).await?),
        )
    }

    pub async fn list_connections(&self, tenant_id: &str) -> Result<Vec<Connection>> {
        let q = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE tenant_id = $1 ORDER BY slug"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Connection>(sqlx::AssertSqlSafe(q)).bind(tenant_id).fetch_all(p).await?),
        )
    }

    /// Deletes a connection with its pending logins and federated identities (the users stay).
    pub async fn delete_connection(
        &self,
        tenant_id: &str,
        id: &str,
        audit: &AuditRecord,
        fallout: &Changes,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM connections WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id).bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM replay_cache WHERE connection_id = $1").bind(id).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            apply_changes!(tx, fallout);
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    // --- single-use login state (safe across nodes) ---

    /// Stores a pending login (SAML's request ID). On SQLite it goes through the sign-in writer
    /// ([`group_commit`]): under load the writer holds the one writing connection from group to
    /// group, and a write from outside waited for its turn behind whole groups.
    pub async fn insert_pending_login(&self, l: &PendingLogin) -> Result<()> {
        self.insert_pending(l, None).await
    }

    /// Stores an OIDC pending login (the id is the `state`) with its sealed nonce and PKCE
    /// verifier.
    pub async fn insert_oidc_pending(
        &self,
        l: &PendingLogin,
        nonce: &str,
        code_verifier: &str,
    ) -> Result<()> {
        self.insert_pending(l, Some((nonce, code_verifier))).await
    }

    async fn insert_pending(&self, l: &PendingLogin, oidc: Option<(&str, &str)>) -> Result<()> {
        let (nonce, verifier) = oidc.unzip();
        match self {
            Self::Sqlite(s) => {
                let mut b = batch::SqliteBatch::default();
                bind_pending!(b.stmt(PENDING_INSERT), l, nonce, verifier);
                s.group_commit()
                    .commit(b)
                    .await
                    .map_err(group_commit::GroupError::into_error)
            }
            Self::Postgres(PgStore { pool: p, .. }) => {
                bind_pending!(sqlx::query(PENDING_INSERT), l, nonce, verifier)
                    .execute(p)
                    .await?;
                Ok(())
            }
        }
    }

    /// Consumes the pending login `id` of this tenant and connection: one `DELETE … RETURNING`,
    /// so of two concurrent answers (on any nodes) exactly one gets it. Expiry is the caller's
    /// check (an expired row is consumed too, which is its cleanup).
    pub async fn take_pending_login(
        &self,
        id: &str,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<PendingLogin>> {
        let q = "DELETE FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3 \
                 RETURNING id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, invitation_id, purpose";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, PendingLogin>(q).bind(id).bind(tenant_id).bind(connection_id).fetch_optional(p).await?),
        )
    }

    /// The OIDC pending login `state` of this tenant and connection: the login, its sealed
    /// nonce and sealed PKCE verifier. A read: the callback's sign-in consumes the row in its
    /// own transaction ([`crate::store::PendingRef`]: of two answers to one state exactly one
    /// commits), and a refused callback consumes it with [`Store::take_pending_login`]. No write
    /// before the code is redeemed, so an OIDC sign-in is one commit, as a SAML one is.
    pub async fn oidc_pending(
        &self,
        state: &str,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<(PendingLogin, String, String)>> {
        const Q: &str = concat!(
            "SELECT ",
            oidc_state_columns!(),
            " FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3 AND oidc_nonce IS NOT NULL"
        );
        let row: Option<OidcPendingRow> = match self {
            Self::Sqlite(s) => s.readers().one(Q, [state, tenant_id, connection_id], |r| {
                Ok(OidcPendingRow {
                    login: signin::pending_login_row(r)?,
                    oidc_nonce: r.get("oidc_nonce")?,
                    oidc_code_verifier: r.get("oidc_code_verifier")?,
                })
            })?,
            Self::Postgres(pg) => match pg.oidc_states.get(state, tenant_id, connection_id).await {
                Some(found) => found?,
                // The lookup task is gone with its runtime: alone.
                None => {
                    sqlx::query_as::<_, OidcPendingRow>(Q)
                        .bind(state)
                        .bind(tenant_id)
                        .bind(connection_id)
                        .fetch_optional(&pg.pool)
                        .await?
                }
            },
        };
        Ok(row.map(|r| {
            (
                r.login,
                r.oidc_nonce.unwrap_or_default(),
                r.oidc_code_verifier.unwrap_or_default(),
            )
        }))
    }

    /// Records that `assertion_id` was accepted on `connection_id` until `expires_at`. Returns
    /// `false` when it was already recorded and has not expired (a replay). One atomic
    /// statement: the primary key decides between concurrent nodes.
    pub async fn remember_assertion(
        &self,
        connection_id: &str,
        assertion_id: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool> {
        let q = "INSERT INTO replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (connection_id, assertion_id) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE replay_cache.expires_at <= $4";
        let n = on_pool!(self, p => sqlx::query(q).bind(connection_id).bind(assertion_id).bind(expires_at).bind(now).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// Drops pending logins and replay-cache entries that expired before `now`.
    pub async fn purge_expired_login_state(&self, now: UnixTime) -> Result<u64> {
        let n = on_pool!(self, p => {
            let a = sqlx::query("DELETE FROM pending_logins WHERE expires_at <= $1").bind(now).execute(p).await?.rows_affected();
            let b = sqlx::query("DELETE FROM replay_cache WHERE expires_at <= $1").bind(now).execute(p).await?.rows_affected();
            a + b
        });
        Ok(n)
    }

    // --- federated identities ---

    /// The user linked to `federation_id` on this connection, if any (on PostgreSQL grouped with
    /// the lookups queued beside it: [`pg_lookups`]).
    pub async fn federated_user(
        &self,
        tenant_id: &str,
        connection_id: &str,
        federation_id: &str,
    ) -> Result<Option<User>> {
        let cols = user_columns_of("u");
        let q = format!(
            "SELECT {cols} FROM federated_identities f JOIN users u ON u.id = f.user_id \
             WHERE f.tenant_id = $1 AND f.connection_id = $2 AND f.federation_id = $3"
        );
        Ok(match self {
            Self::Sqlite(s) => {
                s.readers()
                    .one(&q, [tenant_id, connection_id, federation_id], user_row)?
            }
            Self::Postgres(pg) => {
                match pg.links.get(tenant_id, connection_id, federation_id).await {
                    Some(found) => found?,
                    // The lookup task is gone with its runtime: alone.
                    None => {
                        sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q))
                            .bind(tenant_id)
                            .bind(connection_id)
                            .bind(federation_id)
                            .fetch_optional(&pg.pool)
                            .await?
                    }
                }
            }
        })
    }

    pub async fn federated_identities_of(&self, user_id: &str) -> Result<Vec<FederatedIdentity>> {
        let q = "SELECT tenant_id, connection_id, federation_id, user_id, created_at, last_login_at FROM federated_identities WHERE user_id = $1 ORDER BY connection_id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, FederatedIdentity>(q).bind(user_id).fetch_all(p).await?),
        )
    }

    /// Creates a user (just in time) and links the identity to it, in one transaction.
    pub async fn insert_federated_user(
        &self,
        u: &User,
        f: &FederatedIdentity,
        audit: &AuditRecord,
    ) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            bind_user_insert!(sqlx::query(USER_INSERT), u).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO federated_identities (tenant_id, connection_id, federation_id, user_id, created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&f.tenant_id).bind(&f.connection_id).bind(&f.federation_id).bind(&f.user_id).bind(f.created_at).bind(f.last_login_at)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| match unique_violation(&e) {
            Some(c) if c.contains("federated_identities") => Error::IdentityAlreadyLinked,
            _ => Self::map_user_conflict(e, u),
        })
    }
}
