//! Store operation of a federated sign-in: everything one accepted SAML response, OIDC callback
//! or JWT remote login writes, in ONE transaction — the replay record, the pending login it
//! answers, the provisioning [`Changes`], the session and the audit events. Either all of it
//! commits or none of it: a crash never leaves a session without its replay record, nor a
//! replay record or an account behind a sign-in that failed.

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
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

const REPLAY_INSERT: &str = "INSERT INTO replay_cache (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (connection_id, assertion_id) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE replay_cache.expires_at <= $4";

const PENDING_DELETE: &str =
    "DELETE FROM pending_logins WHERE id = $1 AND tenant_id = $2 AND connection_id = $3";

const SESSION_INSERT: &str = "INSERT INTO sessions (id, tenant_id, user_id, token_hash, auth_method, created_at, expires_at, revoked_at, ip, user_agent, connection_id, idp_groups) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

impl Store {
    /// Commits one sign-in in one transaction, in this order: the replay record first (so of two
    /// posts of one assertion, on any nodes, the second waits on the first's row and then sees
    /// it), the pending login, the provisioning changes, the session and its audit event.
    /// Unique violations of the changes map as in [`Store::apply`] (a concurrent first sign-in
    /// of the same person: the caller re-reads and links).
    pub async fn commit_sign_in(&self, w: &SignInWrite<'_>) -> Result<SignInCommit> {
        let res: std::result::Result<(), Stop> = on_pool!(self, p => async {
            let mut tx = p.begin().await?;
            if let Some(r) = &w.replay {
                let n = sqlx::query(REPLAY_INSERT)
                    .bind(r.connection_id).bind(r.assertion_id).bind(r.expires_at).bind(w.now)
                    .execute(&mut *tx).await?.rows_affected();
                if n != 1 {
                    return Err(Stop::Refused(SignInCommit::Replayed));
                }
            }
            if let Some(pl) = &w.pending {
                let n = sqlx::query(PENDING_DELETE)
                    .bind(pl.id).bind(pl.tenant_id).bind(pl.connection_id)
                    .execute(&mut *tx).await?.rows_affected();
                if n != 1 {
                    return Err(Stop::Refused(SignInCommit::PendingGone));
                }
            }
            apply_changes!(tx, w.changes);
            if let Some(sw) = &w.session {
                let s = sw.session;
                sqlx::query(SESSION_INSERT)
                    .bind(&s.id).bind(&s.tenant_id).bind(&s.user_id).bind(sw.token_hash).bind(&s.auth_method)
                    .bind(s.created_at).bind(s.expires_at).bind(s.revoked_at).bind(&s.ip).bind(&s.user_agent)
                    .bind(&s.connection_id).bind(&s.idp_groups)
                    .execute(&mut *tx).await?;
                bind_audit!(sqlx::query(AUDIT_INSERT), sw.audit).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }.await);
        match res {
            Ok(()) => Ok(SignInCommit::Committed),
            Err(Stop::Refused(why)) => Ok(why),
            Err(Stop::Sql(e)) => Err(Self::map_changes_conflict(e, w.changes)),
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
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, PendingLogin>(q).bind(id).bind(tenant_id).bind(connection_id).fetch_optional(p).await?),
        )
    }
}
