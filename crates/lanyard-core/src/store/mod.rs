//! The store: one SQL text per operation, run on SQLite (embedded default) or PostgreSQL.
//!
//! Both drivers accept `$N` placeholders, and the two schemas are column-for-column the same
//! (BIGINT seconds, TEXT ids, BLOB/BYTEA hashes), so every method is written once and the
//! [`on_pool!`] macro instantiates it for whichever pool is configured. The compiler checks both.
//! Each mutation takes the audit record that describes it and writes both in one transaction.
//!
//! This file holds the pool, the macros and the shared column lists; the operations are grouped
//! by what they keep: [`tenants`] (tenants, roles, users), [`sessions`] (sessions, API keys and
//! tokens, sign-in failures), [`connections`] (connections, logins in flight, replay cache,
//! federated identities), [`links`] (emailed links, outbox), [`audit`] and [`provisioning`]
//! (multi-row [`Changes`]).

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::model::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The PostgreSQL store: sqlx's pool, the group commit of returning sign-ins ([`pg_group`])
/// and the grouped lookups of the sign-in path ([`pg_lookups`]).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    groups: pg_group::PgSignInGroups,
    links: pg_lookups::PgLookups<User>,
    oidc_states: pg_lookups::PgLookups<connections::OidcPendingRow>,
}

impl PgStore {
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How the returning sign-ins were grouped into statements so far.
    pub fn sign_in_groups(&self) -> SignInGroups {
        self.groups.stats()
    }
}

/// The SQLite store's connections: ONE that writes (every write and every transaction: SQLite
/// admits one writer at a time) in sqlx's pool, the sign-in writer's own connection
/// ([`group_commit`]), which takes the pool's connection as its lock while it writes, and a few
/// read-only ones for the lookups on the sign-in and session paths ([`readers`]). In WAL mode
/// readers run beside the writer and see every transaction committed before they start, so a
/// read there never waits for the writer's queue.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: Arc<readers::Readers>,
    /// Sign-ins are written by one thread in groups ([`group_commit`]).
    group: group_commit::GroupCommit,
}

impl SqliteStore {
    /// The one writing connection (use it for anything that writes).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn readers(&self) -> &readers::Readers {
        &self.readers
    }

    fn group_commit(&self) -> &group_commit::GroupCommit {
        &self.group
    }

    /// How the sign-ins were grouped into transactions so far.
    pub fn sign_in_groups(&self) -> SignInGroups {
        self.group.stats()
    }
}

/// Read-only connections beside the writer: lookups run on the runtime's workers (one per core)
/// and a few blocking threads, so with this many a lookup seldom waits for a connection.
const SQLITE_READERS: usize = 8;

/// Runs `$body` with `$pool` bound to the concrete pool: one text, two instantiations.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite(s) => {
                let $pool = s.writer();
                $body
            }
            Store::Postgres(pg) => {
                let $pool = &pg.pool;
                $body
            }
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
     sso_state, collaborator, email_confirmed, sso_exempt, must_change_password, created_at, updated_at";

const USER_INSERT: &str = "INSERT INTO users (id, tenant_id, username, username_key, email, email_key, display_name, role, password_hash, \
     super_admin, disabled, password_changed_at, created_at, updated_at, sso_state, collaborator, email_confirmed, sso_exempt, must_change_password) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

const USER_UPDATE: &str = "UPDATE users SET username = $3, username_key = $4, email = $5, email_key = $6, display_name = $7, role = $8, \
     password_hash = $9, super_admin = $10, disabled = $11, password_changed_at = $12, updated_at = $13, \
     sso_state = $14, collaborator = $15, email_confirmed = $16, sso_exempt = $17, must_change_password = (must_change_password OR $18) \
     WHERE tenant_id = $1 AND id = $2";

/// [`USER_COLUMNS`] qualified by a table alias, for joins.
/// A [`USER_COLUMNS`] row read by SQLite's readers.
fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get("id")?,
        tenant_id: r.get("tenant_id")?,
        username: r.get("username")?,
        email: r.get("email")?,
        display_name: r.get("display_name")?,
        role: r.get("role")?,
        password_hash: r.get("password_hash")?,
        super_admin: r.get("super_admin")?,
        disabled: r.get("disabled")?,
        password_changed_at: r.get("password_changed_at")?,
        sso_state: readers::parsed(r, "sso_state")?,
        collaborator: r.get("collaborator")?,
        email_confirmed: r.get("email_confirmed")?,
        sso_exempt: r.get("sso_exempt")?,
        must_change_password: r.get("must_change_password")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn user_columns_of(alias: &str) -> String {
    USER_COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

const TENANT_COLUMNS: &str = "id, slug, name, session_lifetime_secs, sso_required, sso_default_role, require_email_confirmation, network_masks, language, created_at, updated_at";

const CONNECTION_COLUMNS: &str =
    "id, tenant_id, slug, name, kind, enabled, settings, provisioning, created_at, updated_at";

const SESSION_VIEW: &str = "SELECT s.id, s.tenant_id, t.slug AS tenant_slug, s.user_id, u.username, u.email, u.display_name, u.role, \
     u.disabled AS user_disabled, s.auth_method, s.created_at, s.expires_at, s.revoked_at, s.ip, s.user_agent, s.connection_id, s.idp_groups \
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
            .bind($u.sso_exempt)
            .bind($u.must_change_password)
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
            .bind($u.sso_exempt)
            .bind($u.must_change_password)
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

/// How long the first connection to PostgreSQL may take before start-up gives up.
const PG_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens and closes one connection, so a failure carries its cause.
async fn probe_postgres(opts: &PgConnectOptions) -> Result<()> {
    use sqlx::{ConnectOptions, Connection};
    match tokio::time::timeout(PG_PROBE_TIMEOUT, opts.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(Error::StoreUnavailable(e)),
        Err(_) => Err(Error::StoreUnavailable(sqlx::Error::Io(
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer from the PostgreSQL server within {} s (is the host reachable, or a firewall dropping the connection?)",
                    PG_PROBE_TIMEOUT.as_secs()
                ),
            ),
        ))),
    }
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
        let path = opts.get_filename().to_path_buf();
        // The sign-in writer and the readers open the file again ([`group_commit`]); a private
        // in-memory database (`sqlite::memory:`, which sqlx names `file:sqlx-in-memory-…`)
        // exists only in the connection that made it.
        let not_a_file = || {
            Error::invalid(
                "database_url",
                "an in-memory SQLite database is not supported: name a file (sqlite://lanyard.db)",
            )
        };
        let name = path.to_string_lossy();
        if name.contains(":memory:") || name.starts_with("file:sqlx-in-memory-") {
            return Err(not_a_file());
        }
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Temporary tables (the sign-in guard) in memory, never in a file.
            .pragma("temp_store", "memory")
            // Checkpoints run on a thread of their own (`group_commit::CHECKPOINT_EVERY`), never
            // inside a commit of this connection, which is the write lock.
            .pragma("wal_autocheckpoint", "0")
            .busy_timeout(Duration::from_secs(5));
        // One writing connection: SQLite lets one writer in at a time, and with several
        // connections the others spin in SQLite's busy handler (sleeps of 1, 2, 5, 10… ms) —
        // the sign-in ceiling issue 17 measured. With one, statements queue in the pool (async,
        // in order) and never sleep. No store method takes a second connection while it holds
        // one (each transaction runs inside one method), so one cannot deadlock. The busy
        // timeout still covers other processes (`lanyard admin` beside `serve`).
        // No ping before each use: sqlx tests a pooled connection with a round trip to its
        // thread on every acquire (and again on every release); for a local file that is one
        // wasted round trip per store call (issue 17).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query(signin::SQLITE_SIGN_IN_GUARD)
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(opts)
            .await?;
        // Any other way to a database that is not a file (a `file:` URI with `mode=memory`).
        if !path.is_file() {
            return Err(not_a_file());
        }
        // Opened after the pool's writer created the file and set WAL mode.
        let readers = Arc::new(readers::Readers::open(&path, SQLITE_READERS).map_err(|e| {
            Error::Internal(format!(
                "could not open {} for reading: {e}",
                path.display()
            ))
        })?);
        let db = group_commit::open_writer(&path).map_err(|e| {
            Error::Internal(format!(
                "could not open {} for the sign-in writer: {e}",
                path.display()
            ))
        })?;
        let checkpoints = group_commit::open_writer(&path).map_err(|e| {
            Error::Internal(format!(
                "could not open {} for checkpoints: {e}",
                path.display()
            ))
        })?;
        let group =
            group_commit::GroupCommit::start(writer.clone(), db, checkpoints).map_err(|e| {
                Error::Internal(format!("could not start the sign-in writer thread: {e}"))
            })?;
        Ok(Self::Sqlite(SqliteStore {
            writer,
            readers,
            group,
        }))
    }

    pub async fn connect_postgres(opts: PgConnectOptions) -> Result<Self> {
        let opts = opts.application_name("lanyard");
        // One direct connection first: the pool retries until its timeout and then reports
        // only "pool timed out", hiding the cause an operator needs (connection refused, the
        // password or database refused, TLS).
        probe_postgres(&opts).await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        let groups = pg_group::PgSignInGroups::start(pool.clone());
        let links = pg_lookups::PgLookups::start(pool.clone(), pg_lookups::link_sql());
        let oidc_states =
            pg_lookups::PgLookups::start(pool.clone(), connections::oidc_state_lookup_sql());
        Ok(Self::Postgres(PgStore {
            pool,
            groups,
            links,
            oidc_states,
        }))
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
            Self::Sqlite(s) => SQLITE_MIGRATIONS
                .run(s.writer())
                .await
                .map_err(Error::Migration),
            Self::Postgres(p) => POSTGRES_MIGRATIONS
                .run(&p.pool)
                .await
                .map_err(Error::Migration),
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
}

mod audit;
mod batch;
mod connections;
mod content;
mod content_contacts;
mod content_lists;
mod device;
mod group_commit;
mod pg_group;
mod pg_lookups;
mod readers;
pub use content::Handoff;
pub use content_contacts::{ContactLink, ContactSession};
pub use content_lists::{ListDeleted, ListMember};
pub use group_commit::SignInGroups;
mod domains;
mod links;
mod provider;
mod provisioning;
mod sessions;
mod setup;
mod signin;
pub use signin::{PendingRef, ReplayRecord, SessionWrite, SignInCommit, SignInWrite};
mod tenants;
pub use device::{DeviceConsume, DeviceGrantRow};
pub use provider::{
    AppRow, AuthRequestRow, CodeOutcome, GrantRow, LogoutJob, RefreshOutcome, SigningKeyRow,
};
pub use provisioning::{Changes, UserFilter};
use provisioning::{apply_changes, changes_statements, execute_statement};
