//! PostgreSQL's group commit of returning sign-ins: the sign-ins queued while the previous group
//! was committing go to the database as ONE statement (arrays unnested into data-modifying
//! CTEs), in one implicit transaction — one round trip, one plan start and one WAL flush for the
//! group instead of one each. Under load that is most of the database's work per sign-in that
//! is not the rows themselves (BENCHMARKS.md, stop 27).
//!
//! Only the usual shape of a returning sign-in is grouped ([`groupable`]): the replay record,
//! the pending login it answers, its link's login time, the session and audit events. Anything
//! else (a first sign-in, a profile update, revocations) keeps its own statement or transaction
//! ([`super::signin`]).
//!
//! Each sign-in of a group is judged alone: its replay record must be new (or renew an expired
//! one) and its pending login must still be there; a sign-in refused on either writes no session,
//! no link time and no event, while the others of the group commit. Unlike the one-statement
//! form, a refused sign-in of a group may leave its own replay record or spend its own pending
//! login; either only makes that answer unusable, which its refusal already did. A group that
//! fails as a whole (a foreign key — the user was deleted meanwhile —, a deadlock with another
//! node's group, a lost connection) is rerun one sign-in at a time, so each gets its own verdict.
//!
//! One task runs the groups of a node, so a node's groups never wait on each other's row locks;
//! groups of two nodes on one database lock link rows in key order (each group is sorted), and
//! should they still deadlock PostgreSQL aborts one and it is rerun alone.

use super::group_commit::{Counters, SignInGroups};
use super::signin::SignInWrite;
use super::*;
use tokio::sync::{mpsc, oneshot};

/// The most sign-ins one statement carries (the arrays stay small; a longer queue makes several
/// groups in a row).
const MAX_GROUP: usize = 64;

/// One queued sign-in, owned (the caller's borrowed [`SignInWrite`] copied).
#[derive(Debug)]
struct Queued {
    now: UnixTime,
    replay: Option<(String, String, UnixTime)>,
    pending: Option<(String, String, String)>,
    touch: Option<(String, String, UnixTime)>,
    session: Session,
    token_hash: Vec<u8>,
    /// The provisioning events, then the session's `login.succeeded`.
    audit: Vec<AuditRecord>,
    done: oneshot::Sender<Result<Verdict, sqlx::Error>>,
}

/// How one sign-in of a group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Committed,
    Replayed,
    PendingGone,
}

/// The queue of a PostgreSQL store's grouped sign-ins and what it has done.
#[derive(Clone, Debug)]
pub struct PgSignInGroups {
    queue: mpsc::UnboundedSender<Queued>,
    stats: Arc<Counters>,
}

/// Whether a sign-in's writes have the usual returning shape this module groups: a session,
/// at most one link's login time, audit events and nothing else. (Destructured whole, so a new
/// kind of change is not grouped until it is considered here.)
pub(super) fn groupable(w: &SignInWrite<'_>) -> bool {
    let Changes {
        insert_users,
        update_users,
        unlink,
        link,
        touch_links,
        revoke_sessions_of,
        revoke_api_tokens_of,
        new_links,
        use_links,
        decline_links,
        close_open_links,
        sso_state_none,
        sso_exempt_on,
        password_change_done,
        outbox,
        audit: _,
        at: _,
    } = w.changes;
    w.session.is_some()
        && touch_links.len() <= 1
        && insert_users.is_empty()
        && update_users.is_empty()
        && unlink.is_empty()
        && link.is_empty()
        && revoke_sessions_of.is_empty()
        && revoke_api_tokens_of.is_empty()
        && new_links.is_empty()
        && use_links.is_empty()
        && decline_links.is_empty()
        && close_open_links.is_empty()
        && sso_state_none.is_empty()
        && sso_exempt_on.is_empty()
        && password_change_done.is_empty()
        && outbox.is_empty()
}

impl PgSignInGroups {
    /// Starts the node's group task on the current runtime. It ends when the last handle of the
    /// store is dropped.
    pub(super) fn start(pool: PgPool) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Counters::default());
        tokio::spawn(run(pool, rx, stats.clone()));
        Self { queue, stats }
    }

    pub(super) fn stats(&self) -> SignInGroups {
        self.stats.snapshot()
    }

    /// Queues a [`groupable`] sign-in and waits for its group's verdict. `None` when it could
    /// not be queued (the group task is gone with its runtime): the caller then commits it
    /// alone. An answer lost after it was queued is an error, never a second attempt (its group
    /// may have committed).
    pub(super) async fn commit(&self, w: &SignInWrite<'_>) -> Option<Result<Verdict, sqlx::Error>> {
        let sw = w.session?;
        let (done, verdict) = oneshot::channel();
        let mut audit = w.changes.audit.clone();
        audit.push(sw.audit.clone());
        let q = Queued {
            now: w.now,
            replay: w.replay.map(|r| {
                (
                    r.connection_id.to_owned(),
                    r.assertion_id.to_owned(),
                    r.expires_at,
                )
            }),
            pending: w.pending.map(|p| {
                (
                    p.id.to_owned(),
                    p.tenant_id.to_owned(),
                    p.connection_id.to_owned(),
                )
            }),
            touch: w.changes.touch_links.first().cloned(),
            session: sw.session.clone(),
            token_hash: sw.token_hash.to_vec(),
            audit,
            done,
        };
        self.queue.send(q).ok()?;
        Some(verdict.await.unwrap_or(Err(sqlx::Error::WorkerCrashed)))
    }
}

/// The group task: takes what is queued (up to [`MAX_GROUP`]), commits it, answers, repeats.
async fn run(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Queued>, stats: Arc<Counters>) {
    while let Some(waiting) = pg_lookups::next_batch(&mut rx, MAX_GROUP).await {
        for group in split_repeats(waiting) {
            stats.record(group.len() as u64);
            commit_group(&pool, group).await;
        }
    }
}

/// Splits a batch so no group holds two sign-ins with one replay record or one pending login
/// (one statement cannot write a row twice; the later one goes in a later group and is judged
/// against the earlier one's commit), each group sorted by link and replay key so two nodes'
/// groups take their row locks in one order.
fn split_repeats(batch: Vec<Queued>) -> Vec<Vec<Queued>> {
    let mut groups: Vec<Vec<Queued>> = Vec::new();
    for q in batch {
        let clashes = |g: &Vec<Queued>| {
            g.iter().any(|o| {
                (q.replay.is_some()
                    && o.replay.as_ref().map(|r| (&r.0, &r.1))
                        == q.replay.as_ref().map(|r| (&r.0, &r.1)))
                    || (q.pending.is_some()
                        && o.pending.as_ref().map(|p| &p.0) == q.pending.as_ref().map(|p| &p.0))
            })
        };
        match groups.iter().position(|g| !clashes(g)) {
            Some(i) => {
                if let Some(g) = groups.get_mut(i) {
                    g.push(q);
                }
            }
            None => groups.push(vec![q]),
        }
    }
    for g in &mut groups {
        g.sort_by(|a, b| (&a.touch, &a.replay).cmp(&(&b.touch, &b.replay)));
    }
    groups
}

/// Commits one group and answers each sign-in; a group that fails whole is rerun one by one.
async fn commit_group(pool: &PgPool, group: Vec<Queued>) {
    if group.len() > 1 {
        let refs: Vec<&Queued> = group.iter().collect();
        match run_statement(pool, &refs).await {
            Ok(verdicts) => {
                for (q, v) in group.into_iter().zip(verdicts) {
                    let _ = q.done.send(Ok(v));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, sign_ins = refs.len(), "a sign-in group failed; each is committed alone");
            }
        }
    }
    for q in group {
        let verdict = run_statement(pool, &[&q]).await.and_then(|v| {
            v.first()
                .copied()
                .ok_or_else(|| sqlx::Error::Protocol("no verdict".into()))
        });
        let _ = q.done.send(verdict);
    }
}

/// The group's statement. `s` is one row per sign-in (`k` its place in the group); `r` the
/// replay records written (new, or an expired one renewed: a live one is left alone and not
/// returned); `p` the pending logins deleted (a group holds each at most once); `ok` the
/// sign-ins that got both; the link times, sessions and events are written for `ok` only.
///
/// The rows to delete and update are found through `= ANY(array)` on their keys, not only by
/// joining `s`: sqlx prepares the statement once per connection and PostgreSQL keeps a generic
/// plan, and one made while `pending_logins` was empty joined it by a sequential scan that it
/// kept when the table filled (an OIDC callback cost 1.7 × a SAML sign-in on the database).
/// `= ANY` on the primary key or unique index is an index scan at any table size.
const GROUP_SQL: &str = "WITH s AS (\
    SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], \
        $8::text[], $9::text[], $10::int8[], \
        $11::text[], $12::text[], $13::text[], $14::bytea[], $15::text[], $16::int8[], $17::int8[], $18::int8[], \
        $19::text[], $20::text[], $21::text[], $22::text[]) \
    AS s(k, rc, ra, rx, pid, pt, pc, tc, tf, tat, \
        sid, stenant, suser, shash, smethod, screated, sexpires, srevoked, sip, sagent, sconn, sgroups)), \
r AS (INSERT INTO replay_cache (connection_id, assertion_id, expires_at) \
    SELECT rc, ra, rx FROM s WHERE rc IS NOT NULL \
    ON CONFLICT (connection_id, assertion_id) DO UPDATE SET expires_at = excluded.expires_at \
    WHERE replay_cache.expires_at <= $23 \
    RETURNING connection_id, assertion_id), \
p AS (DELETE FROM pending_logins pl WHERE pl.id = ANY($5::text[]) \
    AND (pl.id, pl.tenant_id, pl.connection_id) IN (SELECT pid, pt, pc FROM s) RETURNING pl.id), \
v AS (SELECT s.k, \
        (s.rc IS NULL OR EXISTS (SELECT 1 FROM r WHERE r.connection_id = s.rc AND r.assertion_id = s.ra)) AS replay_ok, \
        (s.pid IS NULL OR EXISTS (SELECT 1 FROM p WHERE p.id = s.pid)) AS pending_ok \
    FROM s), \
ok AS (SELECT k FROM v WHERE replay_ok AND pending_ok), \
t AS (UPDATE federated_identities f SET last_login_at = s.tat FROM s \
    WHERE f.connection_id = ANY($8::text[]) AND f.federation_id = ANY($9::text[]) \
    AND f.connection_id = s.tc AND f.federation_id = s.tf AND s.k IN (SELECT k FROM ok)), \
ss AS (INSERT INTO sessions (id, tenant_id, user_id, token_hash, auth_method, created_at, expires_at, revoked_at, ip, user_agent, connection_id, idp_groups) \
    SELECT sid, stenant, suser, shash, smethod, screated, sexpires, srevoked, sip, sagent, sconn, sgroups \
    FROM s WHERE s.k IN (SELECT k FROM ok)), \
a AS (INSERT INTO audit_events (id, at, tenant, actor, kind, code, user_id, ip, request_id, details) \
    SELECT id, at, tenant, actor, kind, code, user_id, ip, request_id, details \
    FROM unnest($24::int4[], $25::text[], $26::int8[], $27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[]) \
        WITH ORDINALITY AS e(k, id, at, tenant, actor, kind, code, user_id, ip, request_id, details, n) \
    WHERE e.k IN (SELECT k FROM ok) ORDER BY e.n) \
SELECT k, replay_ok, pending_ok FROM v";

/// One array per column: `f` of each sign-in of the group, in order.
fn column<'a, T>(group: &[&'a Queued], f: impl Fn(&'a Queued) -> T) -> Vec<T> {
    group.iter().map(|q| f(q)).collect()
}

/// One array per audit column: `f` of each event of the group, sign-in by sign-in.
fn event_column<'a, T>(group: &[&'a Queued], f: impl Fn(&'a AuditRecord) -> T) -> Vec<T> {
    group.iter().flat_map(|q| q.audit.iter()).map(f).collect()
}

/// Runs [`GROUP_SQL`] for `group` and returns each sign-in's verdict, in the group's order.
async fn run_statement(pool: &PgPool, group: &[&Queued]) -> Result<Vec<Verdict>, sqlx::Error> {
    let n = group.len();
    let place = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    let k: Vec<i32> = (0..n).map(place).collect();
    let event_k: Vec<i32> = group
        .iter()
        .enumerate()
        .flat_map(|(i, q)| q.audit.iter().map(move |_| place(i)))
        .collect();
    let oldest_now = group.iter().map(|q| q.now).min().unwrap_or(UnixTime::MAX);
    let rows: Vec<(i32, bool, bool)> = sqlx::query_as(GROUP_SQL)
        .bind(&k)
        .bind(column(group, |q| q.replay.as_ref().map(|r| r.0.as_str())))
        .bind(column(group, |q| q.replay.as_ref().map(|r| r.1.as_str())))
        .bind(column(group, |q| q.replay.as_ref().map(|r| r.2)))
        .bind(column(group, |q| q.pending.as_ref().map(|p| p.0.as_str())))
        .bind(column(group, |q| q.pending.as_ref().map(|p| p.1.as_str())))
        .bind(column(group, |q| q.pending.as_ref().map(|p| p.2.as_str())))
        .bind(column(group, |q| q.touch.as_ref().map(|t| t.0.as_str())))
        .bind(column(group, |q| q.touch.as_ref().map(|t| t.1.as_str())))
        .bind(column(group, |q| q.touch.as_ref().map(|t| t.2)))
        .bind(column(group, |q| q.session.id.as_str()))
        .bind(column(group, |q| q.session.tenant_id.as_str()))
        .bind(column(group, |q| q.session.user_id.as_str()))
        .bind(column(group, |q| q.token_hash.as_slice()))
        .bind(column(group, |q| q.session.auth_method.as_str()))
        .bind(column(group, |q| q.session.created_at))
        .bind(column(group, |q| q.session.expires_at))
        .bind(column(group, |q| q.session.revoked_at))
        .bind(column(group, |q| q.session.ip.as_deref()))
        .bind(column(group, |q| q.session.user_agent.as_deref()))
        .bind(column(group, |q| q.session.connection_id.as_deref()))
        .bind(column(group, |q| q.session.idp_groups.as_deref()))
        .bind(oldest_now)
        .bind(&event_k)
        .bind(event_column(group, |a| a.id.as_str()))
        .bind(event_column(group, |a| a.at))
        .bind(event_column(group, |a| a.tenant.as_deref()))
        .bind(event_column(group, |a| a.actor.as_str()))
        .bind(event_column(group, |a| a.kind.as_str()))
        .bind(event_column(group, |a| a.code.as_deref()))
        .bind(event_column(group, |a| a.user_id.as_deref()))
        .bind(event_column(group, |a| a.ip.as_deref()))
        .bind(event_column(group, |a| a.request_id.as_deref()))
        .bind(event_column(group, |a| a.details.to_string()))
        .fetch_all(pool)
        .await?;
    let mut verdicts = vec![None; n];
    for (k, replay_ok, pending_ok) in rows {
        let v = match (replay_ok, pending_ok) {
            (true, true) => Verdict::Committed,
            (false, _) => Verdict::Replayed,
            (true, false) => Verdict::PendingGone,
        };
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| verdicts.get_mut(k)) {
            *slot = Some(v);
        }
    }
    verdicts
        .into_iter()
        .map(|v| {
            v.ok_or_else(|| sqlx::Error::Protocol("a sign-in of the group has no verdict".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(replay: Option<&str>, pending: Option<&str>, link: &str) -> Queued {
        let (done, _) = oneshot::channel();
        Queued {
            now: 0,
            replay: replay.map(|r| ("c".to_owned(), r.to_owned(), 10)),
            pending: pending.map(|p| (p.to_owned(), "t".to_owned(), "c".to_owned())),
            touch: Some(("c".to_owned(), link.to_owned(), 0)),
            session: Session {
                id: format!("s-{link}-{replay:?}"),
                tenant_id: "t".into(),
                user_id: "u".into(),
                auth_method: "saml".into(),
                created_at: 0,
                expires_at: 1,
                revoked_at: None,
                ip: None,
                user_agent: None,
                connection_id: None,
                idp_groups: None,
            },
            token_hash: Vec::new(),
            audit: Vec::new(),
            done,
        }
    }

    fn shape(groups: &[Vec<Queued>]) -> Vec<Vec<(String, Option<String>)>> {
        groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|q| {
                        let link = q.touch.as_ref().map(|t| t.1.clone()).unwrap_or_default();
                        (link, q.replay.as_ref().map(|r| r.1.clone()))
                    })
                    .collect()
            })
            .collect()
    }

    /// One statement cannot write one replay record or delete one pending login twice: a repeat
    /// goes to a later group (judged after the first commits), the rest stay together, each
    /// group in link order (two nodes' groups lock link rows in one order).
    #[test]
    fn repeats_go_to_a_later_group_and_each_group_is_in_link_order() {
        let batch = vec![
            queued(Some("a1"), None, "bob"),
            queued(Some("a2"), Some("req"), "amy"),
            queued(Some("a1"), None, "bob"),
            queued(Some("a3"), Some("req"), "cat"),
            queued(Some("a1"), None, "bob"),
            queued(None, None, "dan"),
        ];
        let s = |x: &str| x.to_owned();
        assert_eq!(
            shape(&split_repeats(batch)),
            vec![
                vec![
                    (s("amy"), Some(s("a2"))),
                    (s("bob"), Some(s("a1"))),
                    (s("dan"), None),
                ],
                vec![(s("bob"), Some(s("a1"))), (s("cat"), Some(s("a3")))],
                vec![(s("bob"), Some(s("a1")))],
            ]
        );
    }
}
