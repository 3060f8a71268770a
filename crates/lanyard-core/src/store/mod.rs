//! The store: one SQL text per operation, run on SQLite (embedded default) or PostgreSQL.
//!
//! Both drivers accept `$N` placeholders, and the two schemas are column-for-column the same
//! (BIGINT seconds, TEXT ids, BLOB/BYTEA hashes), so every method is written once and the
//! [`on_pool!`] macro instantiates it for whichever pool is configured. The compiler checks both.
//! Each mutation takes the audit record that describes it and writes both in one transaction.

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::model::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: one text, two instantiations.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Turns a unique-constraint violation into the domain error the caller names.
fn unique_violation(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(
            db.constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned()),
        ),
        _ => None,
    }
}

fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The failure counter kept for one throttling key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureCount {
    pub failures: i64,
    pub window_start: UnixTime,
    pub last_failure_at: UnixTime,
}

const AUDIT_INSERT: &str = "INSERT INTO audit_events (id, at, tenant, actor, kind, code, user_id, ip, request_id, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const USER_COLUMNS: &str = "id, tenant_id, username, email, display_name, role, password_hash, super_admin, disabled, password_changed_at, \
     sso_state, collaborator, email_confirmed, created_at, updated_at";

const USER_INSERT: &str = "INSERT INTO users (id, tenant_id, username, username_key, email, email_key, display_name, role, password_hash, \
     super_admin, disabled, password_changed_at, created_at, updated_at, sso_state, collaborator, email_confirmed) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

const USER_UPDATE: &str = "UPDATE users SET username = $3, username_key = $4, email = $5, email_key = $6, display_name = $7, role = $8, \
     password_hash = $9, super_admin = $10, disabled = $11, password_changed_at = $12, updated_at = $13, \
     sso_state = $14, collaborator = $15, email_confirmed = $16 \
     WHERE tenant_id = $1 AND id = $2";

/// [`USER_COLUMNS`] qualified by a table alias, for joins.
fn user_columns_of(alias: &str) -> String {
    USER_COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

const TENANT_COLUMNS: &str = "id, slug, name, session_lifetime_secs, sso_required, sso_default_role, require_email_confirmation, created_at, updated_at";

const CONNECTION_COLUMNS: &str =
    "id, tenant_id, slug, name, kind, enabled, settings, provisioning, created_at, updated_at";

const SESSION_VIEW: &str = "SELECT s.id, s.tenant_id, t.slug AS tenant_slug, s.user_id, u.username, u.email, u.display_name, u.role, \
     u.disabled AS user_disabled, s.auth_method, s.created_at, s.expires_at, s.revoked_at, s.ip, s.user_agent, s.connection_id \
     FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id";

const OUTBOX_COLUMNS: &str = "id, tenant_id, to_address, subject, body_text, status, created_at, next_attempt_at, attempts, last_error, sent_at";

const OUTBOX_INSERT: &str = "INSERT INTO outbox (id, tenant_id, to_address, subject, body_text, status, created_at, next_attempt_at, attempts, last_error, sent_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const API_KEY_VIEW: &str = "SELECT k.id, k.tenant_id, t.slug AS tenant_slug, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at \
     FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id";

/// Binds a user onto [`USER_INSERT`].
macro_rules! bind_user_insert {
    ($q:expr, $u:expr) => {
        $q.bind(&$u.id)
            .bind(&$u.tenant_id)
            .bind(&$u.username)
            .bind(fold_key(&$u.username))
            .bind(&$u.email)
            .bind($u.email.as_deref().map(fold_key))
            .bind(&$u.display_name)
            .bind(&$u.role)
            .bind(&$u.password_hash)
            .bind($u.super_admin)
            .bind($u.disabled)
            .bind($u.password_changed_at)
            .bind($u.created_at)
            .bind($u.updated_at)
            .bind($u.sso_state.as_str())
            .bind($u.collaborator)
            .bind($u.email_confirmed)
    };
}

/// Binds a user onto [`USER_UPDATE`].
macro_rules! bind_user_update {
    ($q:expr, $u:expr) => {
        $q.bind(&$u.tenant_id)
            .bind(&$u.id)
            .bind(&$u.username)
            .bind(fold_key(&$u.username))
            .bind(&$u.email)
            .bind($u.email.as_deref().map(fold_key))
            .bind(&$u.display_name)
            .bind(&$u.role)
            .bind(&$u.password_hash)
            .bind($u.super_admin)
            .bind($u.disabled)
            .bind($u.password_changed_at)
            .bind($u.updated_at)
            .bind($u.sso_state.as_str())
            .bind($u.collaborator)
            .bind($u.email_confirmed)
    };
}

/// Binds an audit record onto an INSERT of [`AUDIT_INSERT`].
macro_rules! bind_audit {
    ($q:expr, $a:expr) => {
        $q.bind(&$a.id)
            .bind($a.at)
            .bind(&$a.tenant)
            .bind(&$a.actor)
            .bind(&$a.kind)
            .bind(&$a.code)
            .bind(&$a.user_id)
            .bind(&$a.ip)
            .bind(&$a.request_id)
            .bind($a.details.to_string())
    };
}

#[derive(sqlx::FromRow)]
struct OidcPendingRow {
    id: String,
    tenant_id: String,
    connection_id: String,
    relay_state: String,
    browser_binding: Option<String>,
    return_to: Option<String>,
    created_at: UnixTime,
    expires_at: UnixTime,
    oidc_nonce: Option<String>,
    oidc_code_verifier: Option<String>,
    invitation_id: Option<String>,
}

/// A value bound in a query assembled at run time (filters).
enum Arg {
    Text(String),
    Int(i64),
}

impl Store {
    /// Opens the store named by `url` (`sqlite://path` or `postgres://…`) and runs migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| Error::Internal(format!("bad database URL: {e}")))?;
            Self::connect_postgres(opts).await?
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| Error::Internal(format!("bad database URL: {e}")))?;
            Self::connect_sqlite(opts).await?
        } else {
            return Err(Error::invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn connect_sqlite(opts: SqliteConnectOptions) -> Result<Self> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        Ok(Self::Sqlite(pool))
    }

    pub async fn connect_postgres(opts: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts.application_name("lanyard"))
            .await?;
        Ok(Self::Postgres(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend; idempotent.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await.map_err(Error::Migration),
            Self::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await.map_err(Error::Migration),
        }
    }

    /// Versions of the migrations applied to this database, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let q = "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version";
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(q).fetch_all(p).await?))
    }

    /// Readiness: one round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(p).await?);
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }

    // --- instance metadata ---

    pub async fn meta_get(&self, key: &str) -> Result<Option<String>> {
        let q = "SELECT value FROM instance_meta WHERE key = $1";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, String>(q).bind(key).fetch_optional(p).await?),
        )
    }

    /// Stores `value` unless the key exists; returns the value now stored.
    pub async fn meta_put_if_absent(&self, key: &str, value: &str) -> Result<String> {
        let q =
            "INSERT INTO instance_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
        on_pool!(self, p => sqlx::query(q).bind(key).bind(value).execute(p).await?.rows_affected());
        self.meta_get(key)
            .await?
            .ok_or_else(|| Error::Internal("instance_meta row vanished".into()))
    }

    // --- tenants and roles ---

    pub async fn count_tenants(&self) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tenants").fetch_one(p).await?),
        )
    }

    /// Creates a tenant with its seeded roles.
    pub async fn insert_tenant(
        &self,
        t: &Tenant,
        roles: &[Role],
        audit: &AuditRecord,
    ) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO tenants (id, slug, name, session_lifetime_secs, created_at, updated_at, sso_required, sso_default_role, require_email_confirmation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&t.id).bind(&t.slug).bind(&t.name).bind(t.session_lifetime_secs).bind(t.created_at).bind(t.updated_at)
                .bind(t.sso_required).bind(&t.sso_default_role).bind(t.require_email_confirmation)
                .execute(&mut *tx).await?;
            for r in roles {
                sqlx::query("INSERT INTO roles (tenant_id, name, description, builtin) VALUES ($1, $2, $3, $4)")
                    .bind(&r.tenant_id).bind(&r.name).bind(&r.description).bind(r.builtin)
                    .execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::TenantSlugTaken(t.slug.clone())
            } else {
                e.into()
            }
        })
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(slug).fetch_optional(p).await?),
        )
    }

    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(p).await?),
        )
    }

    pub async fn list_tenants(&self, after_id: Option<&str>, limit: i64) -> Result<Vec<Tenant>> {
        let q = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Tenant>(sqlx::AssertSqlSafe(q)).bind(after_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }

    pub async fn update_tenant(&self, t: &Tenant, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE tenants SET name = $2, session_lifetime_secs = $3, updated_at = $4, sso_required = $5, sso_default_role = $6, require_email_confirmation = $7 WHERE id = $1")
                .bind(&t.id).bind(&t.name).bind(t.session_lifetime_secs).bind(t.updated_at)
                .bind(t.sso_required).bind(&t.sso_default_role).bind(t.require_email_confirmation)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    pub async fn list_roles(&self, tenant_id: &str) -> Result<Vec<Role>> {
        let q = "SELECT tenant_id, name, description, builtin FROM roles WHERE tenant_id = $1 ORDER BY name";
        Ok(on_pool!(self, p => sqlx::query_as::<_, Role>(q).bind(tenant_id).fetch_all(p).await?))
    }

    pub async fn role(&self, tenant_id: &str, name: &str) -> Result<Option<Role>> {
        let q = "SELECT tenant_id, name, description, builtin FROM roles WHERE tenant_id = $1 AND name = $2";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Role>(q).bind(tenant_id).bind(name).fetch_optional(p).await?),
        )
    }

    pub async fn insert_role(&self, r: &Role, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO roles (tenant_id, name, description, builtin) VALUES ($1, $2, $3, $4)")
                .bind(&r.tenant_id).bind(&r.name).bind(&r.description).bind(r.builtin)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| {
            if unique_violation(&e).is_some() {
                Error::RoleExists(r.name.clone())
            } else {
                e.into()
            }
        })
    }

    /// Deletes a role that no user holds; `Ok(false)` when there was no such role.
    pub async fn delete_role(
        &self,
        tenant_id: &str,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id).bind(name).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        res.map_err(|e| {
            if is_fk_violation(&e) {
                Error::RoleInUse(name.to_owned())
            } else {
                e.into()
            }
        })
    }

    // --- users ---

    fn map_user_conflict(e: sqlx::Error, u: &User) -> Error {
        match unique_violation(&e) {
            Some(c) if c.contains("email") => {
                Error::EmailTaken(u.email.clone().unwrap_or_default())
            }
            Some(_) => Error::UsernameTaken(u.username.clone()),
            None if is_fk_violation(&e) => Error::RoleNotFound(u.role.clone().unwrap_or_default()),
            None => e.into(),
        }
    }

    pub async fn insert_user(&self, u: &User, audit: &AuditRecord) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            bind_user_insert!(sqlx::query(USER_INSERT), u).execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_user_conflict(e, u))
    }

    /// Writes every mutable field of `u`; with `revoke_sessions_at` also ends all of the user's
    /// sessions in the same transaction (password change, disabling).
    pub async fn update_user(
        &self,
        u: &User,
        revoke_sessions_at: Option<UnixTime>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            bind_user_update!(sqlx::query(USER_UPDATE), u).execute(&mut *tx).await?;
            if let Some(at) = revoke_sessions_at {
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(&u.id).bind(at).execute(&mut *tx).await?;
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        res.map_err(|e| Self::map_user_conflict(e, u))
    }

    pub async fn delete_user(
        &self,
        tenant_id: &str,
        id: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id).bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    pub async fn user_by_id(&self, tenant_id: &str, id: &str) -> Result<Option<User>> {
        let q = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(id).fetch_optional(p).await?),
        )
    }

    /// Case-insensitive lookup by username.
    pub async fn user_by_username(&self, tenant_id: &str, username: &str) -> Result<Option<User>> {
        let q =
            format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username_key = $2");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(fold_key(username)).fetch_optional(p).await?),
        )
    }

    pub async fn list_users(
        &self,
        tenant_id: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let q = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(after_id.unwrap_or("")).bind(limit).fetch_all(p).await?),
        )
    }

    // --- sessions ---

    pub async fn insert_session(
        &self,
        s: &Session,
        token_hash: &[u8],
        audit: &AuditRecord,
    ) -> Result<()> {
        let q = "INSERT INTO sessions (id, tenant_id, user_id, token_hash, auth_method, created_at, expires_at, revoked_at, ip, user_agent, connection_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        let res: std::result::Result<(), sqlx::Error> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            sqlx::query(q)
                .bind(&s.id).bind(&s.tenant_id).bind(&s.user_id).bind(token_hash).bind(&s.auth_method)
                .bind(s.created_at).bind(s.expires_at).bind(s.revoked_at).bind(&s.ip).bind(&s.user_agent).bind(&s.connection_id)
                .execute(&mut *tx).await?;
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await
        }.await);
        Ok(res?)
    }

    /// The hot path of every authenticated request: one indexed lookup, joined with user and tenant.
    pub async fn session_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<SessionView>> {
        let q = format!("{SESSION_VIEW} WHERE s.token_hash = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SessionView>(sqlx::AssertSqlSafe(q)).bind(token_hash).fetch_optional(p).await?),
        )
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
            bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }.await);
        Ok(res?)
    }

    /// Ends every live session of a user; returns how many ended.
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

    // --- audit ---

    pub async fn insert_audit(&self, audit: &AuditRecord) -> Result<()> {
        on_pool!(self, p => bind_audit!(sqlx::query(AUDIT_INSERT), audit).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Audit events, newest first, narrowed by every filter that is set.
    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT seq, id, at, tenant, actor, kind, code, user_id, ip, request_id, details FROM audit_events WHERE 1 = 1",
        );
        let mut args = Vec::new();
        let mut add = |sql: &mut String, cond: &str, a: Arg| {
            args.push(a);
            sql.push_str(&format!(" AND {cond} ${}", args.len()));
        };
        if let Some(t) = &f.tenant {
            add(&mut sql, "tenant =", Arg::Text(t.clone()));
        }
        if let Some(u) = &f.user_id {
            add(&mut sql, "user_id =", Arg::Text(u.clone()));
        }
        if let Some(k) = &f.kind {
            add(&mut sql, "kind =", Arg::Text(k.clone()));
        }
        if let Some(s) = f.since {
            add(&mut sql, "at >=", Arg::Int(s));
        }
        if let Some(u) = f.until {
            add(&mut sql, "at <", Arg::Int(u));
        }
        if let Some(b) = f.before_seq {
            add(&mut sql, "seq <", Arg::Int(b));
        }
        args.push(Arg::Int(f.limit));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", args.len()));
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql));
            for a in args {
                q = match a { Arg::Text(s) => q.bind(s), Arg::Int(i) => q.bind(i) };
            }
            q.fetch_all(p).await?
        }))
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

    pub async fn insert_pending_login(&self, l: &PendingLogin) -> Result<()> {
        let q = "INSERT INTO pending_logins (id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, invitation_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on_pool!(self, p => sqlx::query(q)
            .bind(&l.id).bind(&l.tenant_id).bind(&l.connection_id).bind(&l.relay_state)
            .bind(&l.browser_binding).bind(&l.return_to).bind(l.created_at).bind(l.expires_at).bind(&l.invitation_id)
            .execute(p).await?.rows_affected());
        Ok(())
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
                 RETURNING id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, invitation_id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, PendingLogin>(q).bind(id).bind(tenant_id).bind(connection_id).fetch_optional(p).await?),
        )
    }

    /// Stores an OIDC pending login (the id is the `state`) with its sealed nonce and PKCE
    /// verifier.
    pub async fn insert_oidc_pending(
        &self,
        l: &PendingLogin,
        nonce: &str,
        code_verifier: &str,
    ) -> Result<()> {
        let q = "INSERT INTO pending_logins (id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, oidc_nonce, oidc_code_verifier, invitation_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        on_pool!(self, p => sqlx::query(q)
            .bind(&l.id).bind(&l.tenant_id).bind(&l.connection_id).bind(&l.relay_state)
            .bind(&l.browser_binding).bind(&l.return_to).bind(l.created_at).bind(l.expires_at)
            .bind(nonce).bind(code_verifier).bind(&l.invitation_id)
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// Consumes the OIDC pending login `state` of this tenant and connection (one atomic
    /// `DELETE … RETURNING`): the login, its sealed nonce and sealed PKCE verifier.
    pub async fn take_oidc_pending(
        &self,
        state: &str,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<(PendingLogin, String, String)>> {
        let q = "DELETE FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3 AND oidc_nonce IS NOT NULL \
                 RETURNING id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, oidc_nonce, oidc_code_verifier, invitation_id";
        let row: Option<OidcPendingRow> = on_pool!(self, p => sqlx::query_as::<_, OidcPendingRow>(q).bind(state).bind(tenant_id).bind(connection_id).fetch_optional(p).await?);
        Ok(row.map(|r| {
            (
                PendingLogin {
                    id: r.id,
                    tenant_id: r.tenant_id,
                    connection_id: r.connection_id,
                    relay_state: r.relay_state,
                    browser_binding: r.browser_binding,
                    return_to: r.return_to,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    invitation_id: r.invitation_id,
                },
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

    /// The user linked to `federation_id` on this connection, if any.
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
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(q)).bind(tenant_id).bind(connection_id).bind(federation_id).fetch_optional(p).await?),
        )
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

mod provisioning;
use provisioning::apply_changes;
pub use provisioning::{Changes, UserFilter};
