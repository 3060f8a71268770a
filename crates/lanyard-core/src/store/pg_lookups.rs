//! PostgreSQL's grouped point lookups on the sign-in path: the user linked to an IdP identity
//! (`federated_user`), asked by every federated sign-in before its decision, and an OIDC
//! callback's login state (`oidc_pending`), asked before the code is redeemed. Under load a
//! separate statement per lookup cost the database about as much CPU as the sign-in's grouped
//! writes did per sign-in (a wake-up of a backend, a message each way, an executor start):
//! BENCHMARKS.md, stop 27. Lookups queued while the previous group ran go as ONE statement.
//!
//! Each identity is looked up by its own parameterised subquery (`LATERAL … OFFSET 0`, which the
//! planner keeps apart), so the plan is the single lookup's — the unique index of the link, the
//! users' primary key — at any table size; a plain join of the unnested keys was planned as a
//! sequential scan when the tables were small, and PostgreSQL keeps a prepared statement's
//! generic plan. A lookup sees the database as of its group's statement, never older than its
//! own request; it is a read outside the sign-in's transaction, as it was alone.

use super::*;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use tokio::sync::{mpsc, oneshot};

/// The most lookups one statement carries.
const MAX_GROUP: usize = 64;

/// One queued lookup: the three keys its statement takes (`q.a`, `q.b`, `q.c`).
struct Lookup<R> {
    keys: [String; 3],
    done: oneshot::Sender<Result<Option<R>, sqlx::Error>>,
}

/// The queue of one kind of grouped lookup (rows `R`, found by three text keys).
pub(super) struct PgLookups<R> {
    queue: mpsc::UnboundedSender<Lookup<R>>,
}

impl<R> Clone for PgLookups<R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<R> std::fmt::Debug for PgLookups<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgLookups")
    }
}

/// The statement of the link lookups: the user linked to identity `c` of connection `b` of
/// tenant `a`.
pub(super) fn link_sql() -> String {
    lookup_sql(&format!(
        "SELECT {} FROM federated_identities fi JOIN users u ON u.id = fi.user_id \
         WHERE fi.tenant_id = q.a AND fi.connection_id = q.b AND fi.federation_id = q.c",
        user_columns_of("u")
    ))
}

/// Wraps `inner` (which reads `q.a`, `q.b`, `q.c`) as one subquery per lookup.
pub(super) fn lookup_sql(inner: &str) -> String {
    format!(
        "SELECT q.k, x.* FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[]) AS q(k, a, b, c) \
         CROSS JOIN LATERAL ({inner} OFFSET 0) x"
    )
}

impl<R> PgLookups<R>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    /// Starts the node's task for this kind of lookup on the current runtime (`sql` from
    /// [`lookup_sql`]); it ends with the store.
    pub(super) fn start(pool: PgPool, sql: String) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, sql, rx));
        Self { queue }
    }

    /// The row for keys `a`, `b`, `c`, looked up with the lookups queued beside it. `None` when
    /// the task is gone (its runtime ended): the caller looks it up alone.
    pub(super) async fn get(
        &self,
        a: &str,
        b: &str,
        c: &str,
    ) -> Option<Result<Option<R>, sqlx::Error>> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Lookup {
                keys: [a.to_owned(), b.to_owned(), c.to_owned()],
                done,
            })
            .ok()?;
        Some(answer.await.unwrap_or(Err(sqlx::Error::WorkerCrashed)))
    }
}

/// Waits for the first queued item, then takes what else is queued, up to `max` in all;
/// `None` once every sender is gone. (The batching of this module and of [`super::pg_group`].)
pub(super) async fn next_batch<T>(
    rx: &mut mpsc::UnboundedReceiver<T>,
    max: usize,
) -> Option<Vec<T>> {
    let mut batch = vec![rx.recv().await?];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn run<R>(pool: PgPool, sql: String, mut rx: mpsc::UnboundedReceiver<Lookup<R>>)
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static,
{
    while let Some(mut group) = next_batch(&mut rx, MAX_GROUP).await {
        match look_up::<R>(&pool, &sql, &group).await {
            Ok(rows) => {
                for (l, r) in group.drain(..).zip(rows) {
                    let _ = l.done.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, lookups = group.len(), "a group of lookups failed; each is asked alone");
                for l in group.drain(..) {
                    let one = look_up::<R>(&pool, &sql, std::slice::from_ref(&l))
                        .await
                        .map(|mut r| r.pop().flatten());
                    let _ = l.done.send(one);
                }
            }
        }
    }
}

/// One statement for `group`; each lookup's row in the group's order.
async fn look_up<R>(
    pool: &PgPool,
    sql: &str,
    group: &[Lookup<R>],
) -> Result<Vec<Option<R>>, sqlx::Error>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let n = group.len();
    let k: Vec<i32> = (0..n)
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let key = |i: usize| -> Vec<&str> {
        group
            .iter()
            .map(|l| l.keys.get(i).map_or("", String::as_str))
            .collect()
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(&k)
        .bind(key(0))
        .bind(key(1))
        .bind(key(2))
        .fetch_all(pool)
        .await?;
    let mut found: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for row in rows {
        let k: i32 = row.try_get("k")?;
        let r = R::from_row(&row)?;
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| found.get_mut(k)) {
            *slot = Some(r);
        }
    }
    Ok(found)
}
