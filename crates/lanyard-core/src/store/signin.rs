//! Store operation of a federated sign-in: everything one accepted SAML response, OIDC callback
//! or JWT remote login writes, in ONE transaction — the replay record, the pending login it
//! answers, the provisioning [`Changes`], the session and the audit events. Either all of it
//! commits or none of it: a crash never leaves a session without its replay record, nor a
//! replay record or an account behind a sign-in that failed.

use super::group_commit::GroupError;
use super::pg_group::{self, Verdict};
use super::*;

/// The replay record of an accepted assertion (or `jti:` of a JWT): refused while a live one
/// exists (the same statement as [`Store::remember_assertion`]).
#[derive(Debug, Clone, Copy)]
pub struct ReplayRecord<'a> {
    pub connection_id: &'a str,
    pub assertion_id: &'a str,
    pub expires_at: UnixTime,
}

/// The pending login a sign-in answers: deleted in the transaction; refused when it is gone
/// (another answer to the same request committed first).
#[derive(Debug, Clone, Copy)]
pub struct PendingRef<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub connection_id: &'a str,
}

/// The session a sign-in opens, with its `login.succeeded` event.
#[derive(Debug, Clone, Copy)]
pub struct SessionWrite<'a> {
    pub session: &'a Session,
    pub token_hash: &'a [u8],
    pub audit: &'a AuditRecord,
}

/// One sign-in's writes, committed together by [`Store::commit_sign_in`].
#[derive(Debug, Clone, Copy)]
pub struct SignInWrite<'a> {
    pub replay: Option<ReplayRecord<'a>>,
    pub pending: Option<PendingRef<'a>>,
    pub changes: &'a Changes,
    pub session: Option<SessionWrite<'a>>,
    pub now: UnixTime,
}

/// How [`Store::commit_sign_in`] ended. Only `Committed` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInCommit {
    Committed,
    /// A live replay record for this assertion exists (committed by another sign-in).
    Replayed,
    /// The pending login is gone (consumed by another answer).
    PendingGone,
}

/// Why the transaction stopped before its commit (rolled back).
enum Stop {
    Refused(SignInCommit),
    Sql(sqlx::Error),
    /// A statement of the SQLite batch bound the wrong number of arguments (a defect).
    Batch(String),
    /// SQLite's group commit could not run the sign-in (the writing connection failed).
    Writer(String),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

/// The replay record's upsert: a live record blocks it (no row changes), an expired one is renewed.
macro_rules! replay_insert_sql {
    () => {
        "INSERT INTO replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connection_id, assertion_id) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE replay_cache.expires_at <= $4"
    };
}

macro_rules! pending_delete_sql {
    () => {
        "DELETE FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3"
    };
}

const REPLAY_INSERT: &str = replay_insert_sql!();
const PENDING_DELETE: &str = pending_delete_sql!();

/// Binds a [`SessionWrite`]'s session onto [`SESSION_INSERT`].
macro_rules! bind_session {
    ($q:expr, $sw:expr) => {{
        let s = $sw.session;
        $q.bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.user_id)
            .bind($sw.token_hash)
            .bind(&s.auth_method)
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(s.revoked_at)
            .bind(&s.ip)
            .bind(&s.user_agent)
            .bind(&s.connection_id)
            .bind(&s.idp_groups)
    }};
}

/// Appends one statement of [`changes_statements!`] to the batch `$b`.
macro_rules! batch_statement {
    ($b:expr, $sql:expr, $q:ident => $bind:expr) => {{
        let $q = $b.stmt($sql);
        $bind;
    }};
}

/// Appends a sign-in's statements for SQLite's writer (which wraps them in `SAVEPOINT
/// sign_in` … `RELEASE sign_in`): the same statements in the same order as PostgreSQL's
/// transaction. The checks that refuse a sign-in are statements that fail: the replay record
/// is a plain INSERT after an expired record of the same assertion is deleted (a live one is a
/// unique violation), and the pending login's DELETE is followed by a guard row whose CHECK
/// fails unless exactly one row went (`sign_in_guard`, see [`SQLITE_SIGN_IN_GUARD`]).
fn sqlite_statements(w: &SignInWrite<'_>, b: &mut batch::SqliteBatch) {
    if let Some(r) = &w.replay {
        b.stmt("DELETE FROM replay_cache WHERE connection_id = $1 AND assertion_id = $2 AND expires_at <= $3")
            .bind(r.connection_id)
            .bind(r.assertion_id)
            .bind(w.now);
        b.stmt("INSERT INTO replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3)")
            .bind(r.connection_id)
            .bind(r.assertion_id)
            .bind(r.expires_at);
    }
    if let Some(p) = &w.pending {
        b.stmt(PENDING_DELETE)
            .bind(p.id)
            .bind(p.tenant_id)
            .bind(p.connection_id);
        b.stmt(SQLITE_GUARD_CONSUMED);
    }
    changes_statements!(w.changes, batch_statement, b);
    if let Some(sw) = &w.session {
        bind_session!(b.stmt(SESSION_INSERT), sw);
        bind_audit!(b.stmt(AUDIT_INSERT), sw.audit);
    }
}

/// The SQLite form of [`Store::commit_sign_in`]: the sign-in's statements
/// ([`sqlite_statements`]) queued for the store's group commit ([`group_commit`]): one writer
/// commits the sign-ins queued meanwhile in one transaction, each in its own savepoint. A
/// refusal (replay, consumed pending login) is a failing statement: the writer rolls back to
/// the savepoint and the other sign-ins of the group are not affected.
///
/// Once queued, the sign-in commits or fails whole with its group even if the request is
/// dropped half-way (the client went away).
async fn commit_sign_in_sqlite(
    s: &SqliteStore,
    w: &SignInWrite<'_>,
) -> std::result::Result<(), Stop> {
    let mut b = batch::SqliteBatch::default();
    sqlite_statements(w, &mut b);
    match s.group_commit().commit(b).await {
        Ok(()) => Ok(()),
        Err(GroupError::Writer(why)) => Err(Stop::Writer(why)),
        Err(GroupError::Sql(sqlx::Error::Database(db)))
            if db.is_unique_violation() && db.message().contains("replay_cache") =>
        {
            Err(Stop::Refused(SignInCommit::Replayed))
        }
        Err(e) if e.is_pending_gone() => Err(Stop::Refused(SignInCommit::PendingGone)),
        Err(GroupError::Sql(e)) => Err(Stop::Sql(e)),
    }
}

/// The PostgreSQL form of [`Store::commit_sign_in`] when [`one_statement_suits`]: the same
/// statements in the same order as ONE statement of data-modifying CTEs — one round trip and
/// one implicit transaction instead of `BEGIN`, five statements and `COMMIT` (each a round trip
/// to the database and back through the runtime). Its last part calls `lanyard_sign_in_check`
/// (migration 0014) with whether the replay record was written and the pending login consumed:
/// when either is not, the function raises and the statement — every write in it — aborts.
/// Constraints hold as in the transaction: a unique violation (a racing first sign-in) aborts it
/// the same way, and foreign keys are checked at the end of the statement.
async fn commit_sign_in_postgres(
    p: &sqlx::PgPool,
    w: &SignInWrite<'_>,
) -> std::result::Result<(), Stop> {
    let mut b = batch::PgCte::cte();
    let mut replay_recorded = "TRUE".to_owned();
    let mut pending_consumed = "TRUE".to_owned();
    if let Some(r) = &w.replay {
        b.stmt(concat!(replay_insert_sql!(), " RETURNING 1"))
            .bind(r.connection_id)
            .bind(r.assertion_id)
            .bind(r.expires_at)
            .bind(w.now);
        replay_recorded = format!("EXISTS (SELECT 1 FROM {})", b.name());
    }
    if let Some(pl) = &w.pending {
        b.stmt(concat!(pending_delete_sql!(), " RETURNING 1"))
            .bind(pl.id)
            .bind(pl.tenant_id)
            .bind(pl.connection_id);
        pending_consumed = format!("EXISTS (SELECT 1 FROM {})", b.name());
    }
    changes_statements!(w.changes, batch_statement, b);
    if let Some(sw) = &w.session {
        bind_session!(b.stmt(SESSION_INSERT), sw);
        bind_audit!(b.stmt(AUDIT_INSERT), sw.audit);
    }
    let (sql, args) = b
        .finish_with(&format!(
            "SELECT lanyard_sign_in_check({replay_recorded}, {pending_consumed})"
        ))
        .map_err(Stop::Batch)?;
    match sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
        .execute(p)
        .await
    {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("LY001") => {
            Err(Stop::Refused(SignInCommit::Replayed))
        }
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("LY002") => {
            Err(Stop::Refused(SignInCommit::PendingGone))
        }
        Err(e) => Err(Stop::Sql(e)),
    }
}

/// Whether a sign-in's changes can go as one PostgreSQL statement. The parts of one statement
/// all read the database as it was before it and none sees another's writes, so changes where
/// a later statement depends on an earlier one, or two statements write one row, keep the
/// transaction: revoking sessions (the back-channel logouts are queued from the revoked rows),
/// unlinking (a new link of the same identity would collide with the unlinked row), the
/// single-column user updates next to a whole-row one, and more than one write to links or
/// users. What a sign-in usually writes — the link's login time, or a new user and link, an
/// updated profile, links used, mail and events — suits.
fn one_statement_suits(c: &Changes) -> bool {
    let link_writes = [
        !c.use_links.is_empty(),
        !c.decline_links.is_empty(),
        !c.close_open_links.is_empty(),
    ];
    c.unlink.is_empty()
        && c.revoke_sessions_of.is_empty()
        && c.revoke_api_tokens_of.is_empty()
        && c.password_change_done.is_empty()
        && c.sso_state_none.is_empty()
        && c.sso_exempt_on.is_empty()
        && c.insert_users.len() + c.update_users.len() <= 1
        && (c.link.is_empty() || c.touch_links.is_empty())
        && link_writes.iter().filter(|w| **w).count() <= 1
}

/// Follows a pending login's `DELETE` in a SQLite batch: fails (CHECK) unless it removed exactly
/// one row, i.e. unless this answer is the one that consumed it.
pub(super) const SQLITE_GUARD_CONSUMED: &str =
    "INSERT OR REPLACE INTO temp.sign_in_guard (id, pending_login_consumed) VALUES (1, changes())";

/// The temporary table (one per SQLite connection, created when it opens) whose CHECK turns "the
/// pending login was already consumed" into an error inside a sign-in's batch. It holds at most
/// one row (`id` 1, replaced each time).
pub(super) const SQLITE_SIGN_IN_GUARD: &str = "CREATE TEMP TABLE IF NOT EXISTS sign_in_guard (\
     id INTEGER PRIMARY KEY CHECK (id = 1), \
     pending_login_consumed INTEGER NOT NULL CHECK (pending_login_consumed = 1))";

const SESSION_INSERT: &str = "INSERT INTO sessions (id, tenant_id, user_id, token_hash, auth_method, created_at, expires_at, revoked_at, ip, user_agent, connection_id, idp_groups) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

impl Store {
    /// Commits one sign-in in one transaction, in this order: the replay record first (so of two
    /// posts of one assertion, on any nodes, the second waits on the first's row and then sees
    /// it), the pending login, the provisioning changes, the session and its audit event.
    /// Unique violations of the changes map as in [`Store::apply`] (a concurrent first sign-in
    /// of the same person: the caller re-reads and links).
    pub async fn commit_sign_in(&self, w: &SignInWrite<'_>) -> Result<SignInCommit> {
        let res: std::result::Result<(), Stop> = match self {
            Self::Sqlite(s) => commit_sign_in_sqlite(s, w).await,
            Self::Postgres(pg) if pg_group::groupable(w) => match pg.groups.commit(w).await {
                Some(Ok(Verdict::Committed)) => Ok(()),
                Some(Ok(Verdict::Replayed)) => Err(Stop::Refused(SignInCommit::Replayed)),
                Some(Ok(Verdict::PendingGone)) => Err(Stop::Refused(SignInCommit::PendingGone)),
                Some(Err(e)) => Err(Stop::Sql(e)),
                // The group task is gone (its runtime ended): alone, as one statement.
                None => commit_sign_in_postgres(&pg.pool, w).await,
            },
            Self::Postgres(PgStore { pool: p, .. }) if one_statement_suits(w.changes) => {
                commit_sign_in_postgres(p, w).await
            }
            Self::Postgres(PgStore { pool: p, .. }) => {
                async {
                    let mut tx = p.begin().await?;
                    if let Some(r) = &w.replay {
                        let n = sqlx::query(REPLAY_INSERT)
                            .bind(r.connection_id)
                            .bind(r.assertion_id)
                            .bind(r.expires_at)
                            .bind(w.now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        if n != 1 {
                            return Err(Stop::Refused(SignInCommit::Replayed));
                        }
                    }
                    if let Some(pl) = &w.pending {
                        let n = sqlx::query(PENDING_DELETE)
                            .bind(pl.id)
                            .bind(pl.tenant_id)
                            .bind(pl.connection_id)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        if n != 1 {
                            return Err(Stop::Refused(SignInCommit::PendingGone));
                        }
                    }
                    apply_changes!(tx, w.changes);
                    if let Some(sw) = &w.session {
                        bind_session!(sqlx::query(SESSION_INSERT), sw)
                            .execute(&mut *tx)
                            .await?;
                        bind_audit!(sqlx::query(AUDIT_INSERT), sw.audit)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }
                .await
            }
        };
        match res {
            Ok(()) => Ok(SignInCommit::Committed),
            Err(Stop::Refused(why)) => Ok(why),
            Err(Stop::Sql(e)) => Err(Self::map_changes_conflict(e, w.changes)),
            Err(Stop::Batch(why)) => Err(Error::Internal(format!(
                "the sign-in's statements do not match their arguments: {why}"
            ))),
            Err(Stop::Writer(why)) => Err(Error::Internal(why)),
        }
    }

    /// The pending login `id` of this tenant and connection, read without consuming it (the
    /// sign-in's transaction consumes it; a refused answer consumes it with
    /// [`Store::take_pending_login`]).
    pub async fn pending_login(
        &self,
        id: &str,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<PendingLogin>> {
        let q = "SELECT id, tenant_id, connection_id, relay_state, browser_binding, return_to, created_at, expires_at, invitation_id, purpose \
                 FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3";
        Ok(match self {
            Self::Sqlite(s) => {
                s.readers()
                    .one(q, [id, tenant_id, connection_id], pending_login_row)?
            }
            Self::Postgres(PgStore { pool: p, .. }) => {
                sqlx::query_as::<_, PendingLogin>(q)
                    .bind(id)
                    .bind(tenant_id)
                    .bind(connection_id)
                    .fetch_optional(p)
                    .await?
            }
        })
    }
}

/// A pending login's row read by SQLite's readers (the columns of [`Store::pending_login`]).
pub(super) fn pending_login_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingLogin> {
    Ok(PendingLogin {
        id: r.get("id")?,
        tenant_id: r.get("tenant_id")?,
        connection_id: r.get("connection_id")?,
        relay_state: r.get("relay_state")?,
        browser_binding: r.get("browser_binding")?,
        return_to: r.get("return_to")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        invitation_id: r.get("invitation_id")?,
        purpose: r.get("purpose")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_sign_in_usually_writes_goes_as_one_postgres_statement_and_dependent_changes_do_not() {
        let returning = Changes {
            touch_links: vec![("c".into(), "f".into(), 1)],
            ..Changes::at(1)
        };
        assert!(one_statement_suits(&returning));
        let mut revoking = returning.clone();
        revoking.revoke_sessions_of.push("u".into());
        assert!(
            !one_statement_suits(&revoking),
            "logouts are queued from the revoked rows"
        );
        let mut unlinking = returning.clone();
        unlinking.unlink.push(("c".into(), "u".into()));
        assert!(!one_statement_suits(&unlinking));
        let mut two_link_writes = returning;
        two_link_writes.use_links.push("l".into());
        two_link_writes
            .close_open_links
            .push(("u".into(), LinkPurpose::Invitation));
        assert!(
            !one_statement_suits(&two_link_writes),
            "both may write one row"
        );
    }
}
